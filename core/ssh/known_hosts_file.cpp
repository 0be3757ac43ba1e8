#include "core/ssh/known_hosts_file.hpp"

#include <fstream>

#include <fmt/format.h>

#include "core/ssh/known_hosts.hpp"
#include "core/ssh/libssh2_support.hpp"

namespace flotilla::ssh {

int known_host_key_type(int hostkey_type) {
  switch (hostkey_type) {
    case LIBSSH2_HOSTKEY_TYPE_RSA:
      return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
      return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
      return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
      return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
    case LIBSSH2_HOSTKEY_TYPE_ED25519:
      return LIBSSH2_KNOWNHOST_KEY_ED25519;
    default:
      return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
  }
}

std::string fingerprint(LIBSSH2_SESSION* session) {
  const char* hash = libssh2_hostkey_hash(session, LIBSSH2_HOSTKEY_HASH_SHA256);
  if (hash == nullptr) return "(unknown)";
  static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* bytes = reinterpret_cast<const unsigned char*>(hash);
  std::string out = "SHA256:";
  for (int i = 0; i < 32; i += 3) {
    unsigned v = static_cast<unsigned>(bytes[i]) << 16;
    if (i + 1 < 32) v |= static_cast<unsigned>(bytes[i + 1]) << 8;
    if (i + 2 < 32) v |= bytes[i + 2];
    out += b64[(v >> 18) & 63];
    out += b64[(v >> 12) & 63];
    if (i + 1 < 32) out += b64[(v >> 6) & 63];
    if (i + 2 < 32) out += b64[v & 63];
  }
  return out;
}

void read_known_hosts(LIBSSH2_KNOWNHOSTS* known, const std::string& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    libssh2_knownhost_readline(known, line.c_str(), line.size(), LIBSSH2_KNOWNHOST_FILE_OPENSSH);
  }
}

std::string known_hosts_name(const HostAddress& host) {
  return host.port == 22 ? host.address : fmt::format("[{}]:{}", host.address, host.port);
}

}  // namespace flotilla::ssh

namespace flotilla {

KnownHostVerdict check_known_host(const std::vector<std::string>& known_hosts_files,
                                  const std::string& host, int port, const std::string& key_type,
                                  const char* key, std::size_t key_length) {
  ssh::init_libssh2_once();
  static const std::pair<const char*, int> kTypes[] = {
      {"ssh-ed25519", LIBSSH2_KNOWNHOST_KEY_ED25519},
      {"ecdsa-sha2-nistp256", LIBSSH2_KNOWNHOST_KEY_ECDSA_256},
      {"ecdsa-sha2-nistp384", LIBSSH2_KNOWNHOST_KEY_ECDSA_384},
      {"ecdsa-sha2-nistp521", LIBSSH2_KNOWNHOST_KEY_ECDSA_521},
      {"ssh-rsa", LIBSSH2_KNOWNHOST_KEY_SSHRSA}};
  int type = LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
  for (auto [name, value] : kTypes) {
    if (key_type == name) type = value;
  }
  if (type == LIBSSH2_KNOWNHOST_KEY_UNKNOWN || key == nullptr) return KnownHostVerdict::kFailure;
  LIBSSH2_SESSION* session = libssh2_session_init();
  LIBSSH2_KNOWNHOSTS* known = libssh2_knownhost_init(session);
  for (const auto& path : known_hosts_files) ssh::read_known_hosts(known, path);
  libssh2_knownhost* entry = nullptr;
  int check = libssh2_knownhost_checkp(
      known, host.c_str(), port, key, key_length,
      LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | type, &entry);
  libssh2_knownhost_free(known);
  libssh2_session_free(session);
  switch (check) {
    case LIBSSH2_KNOWNHOST_CHECK_MATCH:
      return KnownHostVerdict::kMatch;
    case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
      return KnownHostVerdict::kMismatch;
    case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
      return KnownHostVerdict::kNotFound;
    default:
      return KnownHostVerdict::kFailure;
  }
}
}  // namespace flotilla
