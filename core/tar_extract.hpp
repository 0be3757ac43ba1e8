#pragma once

#include <cstdint>
#include <string>

#include "core/error.hpp"

namespace flotilla {

// Unpacks a tar file that came from somewhere untrusted into `dir` (which
// must exist and be empty, made by the caller): no absolute paths, no "..",
// nothing written through a symlink the stream made; only regular
// files, directories and symlinks; no owners, no setuid bits. Stops with
// kFailed past `max_bytes` of content or on anything else.
Result<void> extract_tar_securely(const std::string& tar_path, const std::string& dir,
                                  std::uint64_t max_bytes);

}  // namespace flotilla
