#pragma once

#include <chrono>
#include <string>

#include <libssh2.h>

namespace flotilla::ssh {

using Clock = std::chrono::steady_clock;

// libssh2_init, once per process, before any session.
void init_libssh2_once();

// The session's last error, as libssh2 words it.
std::string session_error(LIBSSH2_SESSION* session);

}  // namespace flotilla::ssh
