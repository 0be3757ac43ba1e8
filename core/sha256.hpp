#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace flotilla {

// Lowercase hex sha256 (OpenSSL EVP: uses SHA-NI where the CPU has it).
std::string sha256_hex(std::string_view data);

// Streams a file through sha256 without loading it; sets `size`.
Result<std::string> sha256_file(const std::string& path, std::uint64_t& size);

}  // namespace flotilla
