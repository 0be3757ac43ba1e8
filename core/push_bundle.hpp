#pragma once

#include <set>
#include <string>

#include "core/artifact.hpp"
#include "core/error.hpp"

namespace flotilla {

// The files a host lacks, as a gzip'd tar whose entries are named by their
// sha256 (the host's content store names), read out of a stored artifact.
// Only these bytes cross the wire in a push.
Result<std::string> make_push_bundle(const std::string& archive_path, const Manifest& manifest,
                                     const std::set<std::string>& missing_sha256s);

}  // namespace flotilla
