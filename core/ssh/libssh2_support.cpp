#include "core/ssh/libssh2_support.hpp"

#include <mutex>

namespace flotilla::ssh {

void init_libssh2_once() {
  static std::once_flag once;
  std::call_once(once, [] { libssh2_init(0); });
}

std::string session_error(LIBSSH2_SESSION* session) {
  char* message = nullptr;
  libssh2_session_last_error(session, &message, nullptr, 0);
  return message != nullptr ? message : "unknown error";
}

}  // namespace flotilla::ssh
