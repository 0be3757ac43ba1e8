#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace flotilla {

// What a --ref named, pinned to one commit.
struct ResolvedRef {
  std::string given;
  std::string commit;                 // 40 hex digits
  std::optional<std::string> branch;  // "release/1.4" when the ref is a branch
  std::optional<std::string> tag;
  std::string summary;    // first line of the commit message
  std::int64_t time = 0;  // commit time, seconds since the epoch
};

// How to reach SSH remotes: host keys are verified against these files.
struct GitAccess {
  std::vector<std::string> known_hosts_files;
  std::vector<std::string> identity_files;
  std::string user;
};

// A unit's source repository through libgit2 (never the `git` program, never
// the user's working tree). A local path is opened in place; a URL is cloned
// bare into `cache_dir` once and fetched on later opens.
class GitSource {
 public:
  static Result<GitSource> open(const std::string& repo, const std::string& cache_dir,
                                const GitAccess& access);
  GitSource(GitSource&&) noexcept;
  GitSource& operator=(GitSource&&) noexcept;
  ~GitSource();

  // A branch (of the repository, or of the remote for a URL), a tag, or a full
  // or unique short commit id. Missing or ambiguous: kBadInput.
  Result<ResolvedRef> resolve(const std::string& ref) const;
  // Names of branches whose tip is the commit or descends from it.
  Result<std::vector<std::string>> branches_containing(const std::string& commit) const;
  // The commits `to` has and `from` lacks, newest first, at most `limit`:
  // "abcdef123456 subject" each (what a change brings, for its ticket).
  // An unknown `from` (a host ran a commit this repository never had) is kBadInput.
  Result<std::vector<std::string>> log_between(const std::string& from, const std::string& to,
                                               std::size_t limit) const;
  // Writes the commit's tree into `dir` (which must not exist yet).
  Result<void> checkout(const std::string& commit, const std::string& dir) const;

 private:
  struct Impl;
  explicit GitSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace flotilla
