#include "core/ssh/algorithms.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flotilla::ssh {
namespace {

// Strong algorithms only; names libssh2 does not know are dropped by it, so
// 1.11's additions (GCM, ETM MACs, rsa-sha2) are used when present.
constexpr const char* kKex =
    "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
    "ecdh-sha2-nistp521,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
    "diffie-hellman-group14-sha256";
constexpr const char* kHostKeys =
    "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521"
#if LIBSSH2_VERSION_NUM >= 0x010b00
    ",rsa-sha2-512,rsa-sha2-256"
#endif
    ;
constexpr const char* kCiphers =
    "aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr";
constexpr const char* kMacs =
    "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512";

// Keeps the names of `wanted` this libssh2 supports, in our order. libssh2
// 1.10 would drop unknown names itself, but does so with an overlapping
// memcpy (ASan reports it), so it only ever sees names it knows.
std::string supported_subset(LIBSSH2_SESSION* session, int method, const char* wanted) {
  const char** algs = nullptr;
  int n = libssh2_session_supported_algs(session, method, &algs);
  std::vector<std::string> known;
  for (int i = 0; i < n; ++i) known.emplace_back(algs[i]);
  if (algs != nullptr) libssh2_free(session, static_cast<void*>(algs));
  std::string out;
  std::string_view list(wanted);
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string name(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (std::find(known.begin(), known.end(), name) == known.end()) continue;
    if (!out.empty()) out += ',';
    out += name;
  }
  return out;
}

}  // namespace

void set_method_preferences(LIBSSH2_SESSION* session) {
  const std::pair<int, const char*> prefs[] = {
      {LIBSSH2_METHOD_KEX, kKex},          {LIBSSH2_METHOD_HOSTKEY, kHostKeys},
      {LIBSSH2_METHOD_CRYPT_CS, kCiphers}, {LIBSSH2_METHOD_CRYPT_SC, kCiphers},
      {LIBSSH2_METHOD_MAC_CS, kMacs},      {LIBSSH2_METHOD_MAC_SC, kMacs}};
  for (auto [method, wanted] : prefs) {
    std::string list = supported_subset(session, method, wanted);
    if (!list.empty()) libssh2_session_method_pref(session, method, list.c_str());
  }
}

}  // namespace flotilla::ssh
