#pragma once

#include <map>
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

// What the host checks before a received directory is renamed into place.
enum class ReceivedCheck {
  kDigest,     // ID is the sha256 over the files' "SHA256  NAME" lines (config)
  kFileCount,  // every file arrived (secrets: their digest cannot be recomputed there)
};

// Receives `files` (a tar on stdin) as the directory PARENT/ID, once: into
// a partial directory beside it, refused by `check` (exit 65), then renamed
// into place. Nothing is written when PARENT/ID exists. `private_dir`:
// PARENT and ID are 0700 and the files 0600 (secrets); else 0755 and 0644.
RemoteCommand receive_directory_command(const std::string& parent, const std::string& id,
                                        const std::map<std::string, std::string>& files,
                                        ReceivedCheck check, bool private_dir);

// Prints the file; exit non-zero if it cannot be read.
RemoteCommand read_file_command(const std::string& path, Duration timeout);

}  // namespace flotilla
