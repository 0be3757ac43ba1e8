#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace flotilla {

// Yields a file's bytes chunk by chunk, an empty view at its end. A view
// stays valid until the next call.
using ChunkReader = std::function<Result<std::string_view>()>;

// Reads a stored artifact (the zstd tar `write_archive` makes) one regular
// file at a time, in archive order, without holding a whole file in memory:
// `visit(path, size, read)`; a visit may read all, some or none of it.
Result<void> read_stored_files(
    const std::string& archive_path,
    const std::function<Result<void>(const std::string& path, std::uint64_t size,
                                     const ChunkReader& read)>& visit);

}  // namespace flotilla
