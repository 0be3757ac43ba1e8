#pragma once

#include <libssh2.h>

namespace flotilla::ssh {

// Restricts a session, before its handshake, to strong key exchanges, host
// keys, ciphers and MACs (libssh2 1.10 still offers group1-sha1 and
// hmac-md5); 1.11's additions are used when the library has them.
void set_method_preferences(LIBSSH2_SESSION* session);

}  // namespace flotilla::ssh
