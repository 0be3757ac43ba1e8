#include "core/ssh/ssh_transport_impl.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <filesystem>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "core/ssh/known_hosts_file.hpp"

namespace flotilla {

using ssh::fingerprint;
using ssh::known_host_key_type;
using ssh::known_hosts_name;

// Strict: only a MATCH proceeds to authentication. Returns why not.
std::optional<std::string> SshTransport::Impl::check_host_key(Connection& c) {
  const HostAddress& host = *c.address;
  std::size_t len = 0;
  int type = 0;
  const char* key = libssh2_session_hostkey(c.session, &len, &type);
  if (key == nullptr) return "the server sent no host key";
  int key_type = known_host_key_type(type);
  libssh2_knownhost* entry = nullptr;
  int check = libssh2_knownhost_checkp(
      known, host.address.c_str(), host.port, key, len,
      LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | key_type, &entry);
  std::string fp = fingerprint(c.session);
  switch (check) {
    case LIBSSH2_KNOWNHOST_CHECK_MATCH:
      return std::nullopt;
    case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
      return fmt::format(
          "HOST KEY CHANGED for {} (now {}): refusing to connect; if the change is expected, "
          "remove the old key from known_hosts",
          known_hosts_name(host), fp);
    case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
      if (options.accept_new_host_keys) return accept_new_key(host, key, len, key_type, fp);
      return fmt::format(
          "unknown host key for {} ({}): not in known_hosts; verify it and add it, or run "
          "with --accept-new-host-keys",
          known_hosts_name(host), fp);
    default:
      return fmt::format("cannot check the host key of {}", known_hosts_name(host));
  }
}

std::optional<std::string> SshTransport::Impl::accept_new_key(const HostAddress& host,
                                                              const char* key, std::size_t len,
                                                              int key_type, const std::string& fp) {
  std::string name = ssh::known_hosts_name(host);
  libssh2_knownhost* added = nullptr;
  if (libssh2_knownhost_addc(known, name.c_str(), nullptr, key, len, nullptr, 0,
                             LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | key_type,
                             &added) != 0) {
    return fmt::format("cannot record the host key of {}", name);
  }
  if (options.known_hosts_files.empty()) return std::nullopt;
  char line[4096];
  std::size_t out_len = 0;
  if (libssh2_knownhost_writeline(known, added, line, sizeof line, &out_len,
                                  LIBSSH2_KNOWNHOST_FILE_OPENSSH) == 0) {
    const std::string& path = options.known_hosts_files.front();
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
      [[maybe_unused]] auto n = ::write(fd, line, out_len);
      ::close(fd);
    }
  }
  (void)fp;
  return std::nullopt;
}

}  // namespace flotilla
