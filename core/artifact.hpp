#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace flotilla {

struct ManifestEntry {
  enum class Type { kFile, kDirectory, kSymlink };
  std::string path;  // relative, '/'-separated, no '..', never absolute
  Type type = Type::kFile;
  unsigned mode = 0644;  // normalized: 0644/0755 files, 0755 dirs, 0777 links
  std::uint64_t size = 0;
  std::string sha256;  // files
  std::string target;  // symlinks: relative, inside the tree
};

// What an artifact holds, file by file. Its id is the sha256 of the
// canonical file list, so the same content always has the same id.
struct Manifest {
  std::string id;
  std::vector<ManifestEntry> entries;  // sorted by path
  std::uint64_t total_size = 0;
  nlohmann::json provenance = nlohmann::json::object();  // commit, branch, unit, build, tool

  nlohmann::json to_json() const;
  static Result<Manifest> from_json(const nlohmann::json& doc);
};

// Reads a build output (a directory, or a single file) into a manifest,
// refusing what must never reach a host: symlinks that are absolute or
// escape the tree, device files, sockets, FIFOs, names with control characters.
Result<Manifest> scan_output(const std::string& root);

// Writes the tree as a zstd-compressed tar with normalized metadata (mtime 0,
// owner 0:0, no names, normalized modes, sorted): two builds of the same
// files are byte-identical.
Result<void> write_artifact_archive(const std::string& root, const Manifest& manifest,
                                    const std::string& archive_path);

// A path from an archive or manifest that is safe to create under a root.
bool is_safe_relative_path(const std::string& path);

}  // namespace flotilla
