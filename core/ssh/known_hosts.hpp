#pragma once

#include <string>
#include <vector>

namespace flotilla {

// The answer of known_hosts for one host key (OpenSSH files, hashed entries too).
enum class KnownHostVerdict { kMatch, kMismatch, kNotFound, kFailure };

// `key_type` uses OpenSSH's names: "ssh-ed25519", "ecdsa-sha2-nistp256",
// "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa".
KnownHostVerdict check_known_host(const std::vector<std::string>& known_hosts_files,
                                  const std::string& host, int port, const std::string& key_type,
                                  const char* key, std::size_t key_length);

}  // namespace flotilla
