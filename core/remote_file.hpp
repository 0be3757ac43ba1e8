#pragma once

#include <string>
#include <string_view>

#include "core/sha256.hpp"
#include "core/transport.hpp"

namespace flotilla {

// Remote file operations built as commands (building a command is separate
// from running it), so any Transport runs them.

// Writes `data` (sent on stdin) to `path`: parents created, a temp file
// beside it, its sha256 checked on the host against ours, mode set, then
// renamed over `path` — a reader sees the old file or the new one. Exit 65
// means the bytes that arrived were not the bytes sent.
RemoteCommand upload_command(const std::string& path, std::string data, int mode, Duration timeout);

// Prints the file; exit non-zero if it cannot be read.
RemoteCommand read_file_command(const std::string& path, Duration timeout);

}  // namespace flotilla
