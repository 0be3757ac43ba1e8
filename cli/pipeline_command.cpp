// `flotilla pipeline [--offline]`: per unit, what each environment runs,
// for how long, and which gates the next step into it still lacks; then
// each environment's last pipeline step. Each environment's history is
// first folded in from its fleet (the hosts' copies), so a controller that
// ran none of it sees what the one that did saw.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_connection.hpp"
#include "cli/targets.hpp"
#include "playbooks/change/unit_fleet.hpp"
#include "playbooks/pipeline_view.hpp"
#include "playbooks/project_file.hpp"

namespace flotilla {
namespace {

Result<Outcome> run_pipeline(const GlobalOptions& global, bool offline, Reporter& reporter) {
  GlobalOptions options = global;
  auto path = find_project_file(options.file);
  if (!path) return tl::unexpected(path.error());
  auto project = load_project_file(*path);
  if (!project) return tl::unexpected(project.error());
  if (project->environments.empty()) {
    return fail(ErrorKind::kBadInput, fmt::format("{}: no environments defined", *path));
  }
  if (options.env.empty()) options.env = project->environments.front().name;
  if (!offline) {
    auto targets = load_targets(options, reporter, true);
    if (!targets) return tl::unexpected(targets.error());
    ChangeContext context = change_context(options, *targets, reporter);
    for (const auto& env : project->environments) {
      auto other = context.other_environment(env.name);
      Result<void> folded =
          other ? sync_ledger((*other)->context()) : Result<void>(tl::unexpected(other.error()));
      if (!folded) {
        reporter.warning(
            fmt::format("could not read {}'s history from its hosts ({}); showing "
                        "this controller's ledger of it",
                        env.name, folded.error().message));
      }
    }
  }
  nlohmann::json view = pipeline_view(*project, system_clock().wall_seconds());
  if (reporter.json()) {
    reporter.document(view);
  } else {
    reporter.text(pipeline_text(view));
  }
  return Outcome();
}

}  // namespace

void add_pipeline_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                          CommandAction& action) {
  auto offline = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand(
      "pipeline",
      "Per unit: what each environment runs, how long, and the gates its next step lacks");
  cmd->add_flag("--offline", *offline, "Only this controller's ledgers (no host is read)");
  on_parsed(cmd, action,
            [&options, &reporter, offline] { return run_pipeline(options, *offline, *reporter); });
}

}  // namespace flotilla
