#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include "core/artifact.hpp"
#include "core/error.hpp"

namespace flotilla {

// The files a host lacks, as a tar whose entries are named by their sha256
// (the host's content store names), read out of a stored artifact. Only
// these bytes cross the wire in a push. Gzip'd when that saves a tenth or
// more; already-compressed game assets go as they are, so hosts do not
// spend CPU unpacking nothing.
struct PushBundle {
  std::shared_ptr<const std::string> data;  // shared by every host that lacks the same files
  bool gzipped = false;
};

Result<PushBundle> make_push_bundle(const std::string& archive_path, const Manifest& manifest,
                                    const std::set<std::string>& missing_sha256s);

// A plain tar of small files (name -> content), each with `mode`.
std::string make_plain_tar(const std::map<std::string, std::string>& files, int mode = 0644);

}  // namespace flotilla
