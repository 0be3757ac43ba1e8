#pragma once

#include <cstdint>
#include <string>

#include "core/artifact_store.hpp"
#include "core/duration.hpp"
#include "core/git_source.hpp"
#include "core/reporter.hpp"
#include "playbooks/project.hpp"

namespace flotilla {

struct BuildRequest {
  std::string ref;
  bool rebuild = false;  // ignore the cache
  Duration timeout = std::chrono::minutes(30);
};

struct BuildOutcome {
  std::string id;
  ResolvedRef ref;
  std::uint64_t archive_bytes = 0;
  std::uint64_t content_bytes = 0;
  std::size_t files = 0;
  bool cached = false;
  double seconds = 0;
  std::string archive_path;
};

// The unit's artifact for a ref: resolve the ref to one commit, check the
// environment's branch policy (when `env` is given), then reuse the artifact
// this (commit, build recipe) made before, or check the commit out into a
// clean directory, run the build there and package its output. Nothing is
// stored unless everything succeeded.
Result<BuildOutcome> build_artifact(const Project& project, const Unit& unit,
                                    const Environment* env, const BuildRequest& request,
                                    const GitAccess& access, Reporter& reporter);

// The store under the project's state directory.
ArtifactStore artifact_store(const Project& project);

}  // namespace flotilla
