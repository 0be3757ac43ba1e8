#include "playbooks/artifact_build.hpp"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "core/build_runner.hpp"
#include "core/sha256.hpp"
#include "playbooks/branch_policy.hpp"

namespace flotilla {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kArtifactsKept = 50;

// A build is identified by what decides its bytes: the commit and the recipe.
std::string recipe_key(const Unit& unit, const std::string& commit) {
  return sha256_hex(fmt::format("flotilla-recipe-v1\n{}\n{}\n{}\n", commit, unit.source.build,
                                unit.source.output));
}

// Removes a directory tree when it goes out of scope.
struct ScratchDir {
  fs::path path;
  ~ScratchDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

}  // namespace

ArtifactStore artifact_store(const Project& project) {
  return ArtifactStore(project.state_dir + "/artifacts");
}

namespace {

// A build already in the store for this recipe and commit, if it is whole.
bool from_cache(const ArtifactStore& store, const std::string& key, BuildOutcome& outcome) {
  auto record = store.lookup(key);
  if (!record) return false;
  outcome.id = (*record)["id"].get<std::string>();
  auto manifest = store.manifest(outcome.id);
  if (!manifest) return false;
  outcome.cached = true;
  outcome.files = manifest->entries.size();
  outcome.content_bytes = manifest->total_size;
  outcome.archive_path = store.archive_path(outcome.id);
  outcome.archive_bytes = fs::file_size(outcome.archive_path);
  return true;
}

// Runs the unit's build in `work` in a controlled environment: nothing from
// the caller (its secrets included) leaks into the build, and timestamps
// can be pinned.
Result<void> run_unit_build(const Unit& unit, const ResolvedRef& ref, const fs::path& work,
                            const std::string& builds, const std::string& log_path,
                            Duration timeout, Reporter& reporter) {
  reporter.note(fmt::format("building {}: {}", unit.name, unit.source.build));
  std::map<std::string, std::string> env_vars = {
      {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
      {"HOME", builds + "/home"},
      {"LANG", "C.UTF-8"},
      {"LC_ALL", "C.UTF-8"},
      {"TZ", "UTC"},
      {"SOURCE_DATE_EPOCH", std::to_string(ref.time)},
      {"FLOTILLA_UNIT", unit.name},
      {"FLOTILLA_COMMIT", ref.commit},
      {"FLOTILLA_REF", ref.given},
      {"FLOTILLA_BRANCH", ref.branch.value_or("")},
  };
  auto run = run_build(unit.source.build, work.string(), env_vars, log_path, timeout);
  if (!run) return tl::unexpected(run.error());
  if (run->exit_status != 0) {
    return fail(
        ErrorKind::kFailed,
        fmt::format("build of {} at {} failed (exit {}) after {:.1f}s; log {}, last lines:\n{}",
                    unit.name, ref.commit.substr(0, 12), run->exit_status,
                    std::chrono::duration<double>(run->elapsed).count(), log_path,
                    tail_of_file(log_path, 20)));
  }
  return {};
}

// The build's output, scanned, archived and added to the store.
Result<void> store_output(ArtifactStore& store, const Unit& unit, const ResolvedRef& ref,
                          const fs::path& work, const std::string& key, double seconds,
                          BuildOutcome& outcome) {
  auto manifest = scan_output((work / unit.source.output).string());
  if (!manifest) return tl::unexpected(manifest.error());
  manifest->provenance = {{"unit", unit.name},
                          {"commit", ref.commit},
                          {"branch", ref.branch.value_or("")},
                          {"tag", ref.tag.value_or("")},
                          {"build", unit.source.build},
                          {"output", unit.source.output},
                          {"tool", std::string("flotilla ") + FLOTILLA_VERSION}};
  std::string archive_tmp = store.temp_path(key.substr(0, 12) + ".tar.zst");
  auto written =
      write_artifact_archive((work / unit.source.output).string(), *manifest, archive_tmp);
  if (!written) {
    fs::remove(archive_tmp);
    return tl::unexpected(written.error());
  }
  outcome.archive_bytes = fs::file_size(archive_tmp);
  nlohmann::json record = manifest->provenance;
  record["id"] = manifest->id;
  record["built_at"] = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  record["seconds"] = seconds;
  auto stored = store.add(key, *manifest, archive_tmp, record);
  if (!stored) {
    fs::remove(archive_tmp);
    return tl::unexpected(stored.error());
  }
  store.prune(kArtifactsKept, {manifest->id});
  outcome.id = manifest->id;
  outcome.files = manifest->entries.size();
  outcome.content_bytes = manifest->total_size;
  outcome.archive_path = store.archive_path(manifest->id);
  return {};
}

}  // namespace

Result<BuildOutcome> build_artifact(const Project& project, const Unit& unit,
                                    const Environment* env, const BuildRequest& request,
                                    const GitAccess& access, Reporter& reporter) {
  auto started = std::chrono::steady_clock::now();
  auto seconds_since = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  if (unit.source.repo.empty()) {
    return fail(ErrorKind::kBadInput,
                fmt::format("unit '{}' has no source.repo to build from", unit.name));
  }
  auto git = GitSource::open(unit.source.repo, project.state_dir + "/git", access);
  if (!git) return tl::unexpected(git.error());
  auto ref = git->resolve(request.ref);
  if (!ref) return tl::unexpected(ref.error());
  if (env != nullptr) {
    auto allowed = check_branch_policy(project, *env, *ref, *git);
    if (!allowed) return tl::unexpected(allowed.error());
  }

  ArtifactStore store = artifact_store(project);
  std::string key = recipe_key(unit, ref->commit);
  BuildOutcome outcome;
  outcome.ref = *ref;
  if (!request.rebuild && from_cache(store, key, outcome)) {
    outcome.seconds = seconds_since();
    return outcome;
  }

  std::string builds = project.state_dir + "/builds";
  fs::create_directories(builds + "/home");
  ScratchDir work{fmt::format("{}/{}-{}", builds, key.substr(0, 12), ::getpid())};
  fs::remove_all(work.path);
  reporter.note(fmt::format("checking out {} at {} ({})", unit.name, ref->commit.substr(0, 12),
                            ref->branch.value_or(ref->tag.value_or("commit"))));
  auto checked_out = git->checkout(ref->commit, work.path.string());
  if (!checked_out) return tl::unexpected(checked_out.error());
  if (!unit.source.build.empty()) {
    std::string log_path = fmt::format("{}/{}.log", builds, key.substr(0, 12));
    if (auto built =
            run_unit_build(unit, *ref, work.path, builds, log_path, request.timeout, reporter);
        !built) {
      return tl::unexpected(built.error());
    }
  }
  if (auto kept = store_output(store, unit, *ref, work.path, key, seconds_since(), outcome);
      !kept) {
    return tl::unexpected(kept.error());
  }
  outcome.seconds = seconds_since();
  return outcome;
}

}  // namespace flotilla
