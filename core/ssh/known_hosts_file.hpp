#pragma once

#include <string>

#include <libssh2.h>

#include "core/transport.hpp"

namespace flotilla::ssh {

// libssh2's known_host key type for a session's host key type.
int known_host_key_type(int hostkey_type);

// OpenSSH's fingerprint format of the session's host key: SHA256:<unpadded base64>.
std::string fingerprint(LIBSSH2_SESSION* session);

// Adds a known_hosts file's entries to `known`, line by line, so one entry
// libssh2 cannot parse (a certificate authority, a security-key type) does
// not drop the rest of the file. A missing file adds nothing.
void read_known_hosts(LIBSSH2_KNOWNHOSTS* known, const std::string& path);

// How known_hosts names the host: "addr", or "[addr]:port" off port 22.
std::string known_hosts_name(const HostAddress& host);

}  // namespace flotilla::ssh
