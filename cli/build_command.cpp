// `flotilla build UNIT --ref REF`: the unit's artifact for a branch, tag or
// commit, built once and reused; prints its id.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_connection.hpp"
#include "cli/targets.hpp"
#include "playbooks/artifact_build.hpp"
#include "playbooks/branch_policy.hpp"

namespace flotilla {
namespace {

struct BuildOptions {
  std::string unit;
  std::string ref;
  std::string ticket;
  std::string timeout = "30m";
  bool rebuild = false;
};

Result<Outcome> run_build_command(const GlobalOptions& options, const BuildOptions& build,
                                  Reporter& reporter) {
  auto timeout = parse_duration(build.timeout);
  if (!timeout) return fail(ErrorKind::kBadInput, "--timeout: expected a duration like 30m");
  auto loaded = load_project_environment(options);
  if (!loaded) return tl::unexpected(loaded.error());
  const Project& project = loaded->project;
  secure_state_dir(project);
  const Environment* env = loaded->environment;
  const Unit* unit = project.unit(build.unit);
  if (unit == nullptr) {
    return fail(ErrorKind::kBadInput,
                fmt::format("unknown unit '{}' in {}", build.unit, project.path));
  }
  // No ticket check: a build changes no fleet, and production builds are
  // made ahead of time, before the change has its ticket.
  GitAccess access = git_access(options, &project);
  auto outcome =
      build_artifact(project, *unit, env, {build.ref, build.rebuild, *timeout}, access, reporter);
  if (!outcome) return tl::unexpected(outcome.error());

  const ResolvedRef& ref = outcome->ref;
  if (reporter.json()) {
    reporter.document({{"id", outcome->id},
                       {"unit", unit->name},
                       {"environment", env->name},
                       {"ref", ref.given},
                       {"commit", ref.commit},
                       {"branch", ref.branch ? nlohmann::json(*ref.branch) : nlohmann::json()},
                       {"tag", ref.tag ? nlohmann::json(*ref.tag) : nlohmann::json()},
                       {"size", outcome->archive_bytes},
                       {"content_size", outcome->content_bytes},
                       {"files", outcome->files},
                       {"cached", outcome->cached},
                       {"seconds", outcome->seconds},
                       {"archive", outcome->archive_path}});
    return Outcome();
  }
  reporter.text(outcome->id);
  reporter.note(
      fmt::format("{} {} {} from {} @ {} ({} files, {} packed) in {:.2f}s",
                  outcome->cached ? "reused" : "built", unit->name, outcome->id.substr(0, 12),
                  ref.branch.value_or(ref.tag.value_or(ref.given)), ref.commit.substr(0, 12),
                  outcome->files, format_bytes(outcome->archive_bytes), outcome->seconds));
  return Outcome();
}

}  // namespace

void add_build_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                       CommandAction& action) {
  auto build = std::make_shared<BuildOptions>();
  auto* cmd = app.add_subcommand("build",
                                 "Build (or reuse) a unit's artifact from a git ref; print its id");
  cmd->add_option("unit", build->unit, "Unit name")->required();
  cmd->add_option("--ref", build->ref, "Branch, tag or commit id")->required();
  cmd->add_option("--ticket", build->ticket, "Accepted for old scripts; a build needs no ticket");
  cmd->add_flag("--rebuild", build->rebuild,
                "Build even if this commit and recipe were built before");
  cmd->add_option("--timeout", build->timeout, "Give up on a build after this long (default 30m)");
  cmd->callback([&options, &reporter, &action, build] {
    action = [&options, &reporter, build] { return run_build_command(options, *build, *reporter); };
  });
}

}  // namespace flotilla
