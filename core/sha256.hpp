#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace flotilla {

// Lowercase hex sha256 (OpenSSL EVP: uses SHA-NI where the CPU has it).
std::string sha256_hex(std::string_view data);

// PBKDF2-HMAC-SHA256: a digest of secret values that is slow to guess
// from, for records that must name a secret version without revealing it.
std::string pbkdf2_sha256_hex(std::string_view secret, std::string_view salt, int iterations,
                              int bytes);

// Streams a file through sha256 without loading it; sets `size`.
Result<std::string> sha256_file(const std::string& path, std::uint64_t& size);

}  // namespace flotilla
