// `flotilla -e ENV sync`: the pipeline's step that CI schedules and timers
// run. ENV (`follows: {env, when}`) is brought to what the followed
// environment's newest qualifying change left there, as one release of the
// same bytes; then its load test runs, when it has one. Already there:
// "already in sync", exit 0. Frozen: skipped, recorded, exit 0. The followed
// environment's hosts disagreeing: refused, exit 2. Every outcome goes into
// the environment's pipeline log.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_connection.hpp"
#include "cli/release_options.hpp"
#include "cli/targets.hpp"
#include "playbooks/change/change_workflow.hpp"
#include "playbooks/change/environment_sync.hpp"
#include "playbooks/change/prepared_change.hpp"
#include "playbooks/change/release_sources.hpp"
#include "playbooks/freeze_window.hpp"
#include "playbooks/pipeline_log.hpp"
#include "snapshots/short_id.hpp"

namespace flotilla {
namespace {

struct SyncOptions {
  ReleaseSpec spec;  // ticket, --override-freeze
  std::string lock_wait = "0s";
};

nlohmann::json units_json(const SyncPlan& plan) {
  nlohmann::json units = nlohmann::json::array();
  for (const auto& u : plan.units) {
    units.push_back({{"unit", u.unit},
                     {"release", u.target.release},
                     {"config", u.target.config},
                     {"commit", u.target.commit},
                     {"from_snapshot", u.target.snapshot}});
  }
  return units;
}

// Said on the terminal and as one `sync` event, and kept in the log.
void report_step(Reporter& reporter, const PipelineLog& log, nlohmann::json step) {
  step["step"] = "sync";
  reporter.event("sync", step);
  if (auto kept = log.append(step); !kept) reporter.warning(kept.error().message);
}

// Every plan complete and none with a host to change.
bool already_there(const std::vector<PreparedChange>& prepared) {
  return std::all_of(prepared.begin(), prepared.end(), [](const PreparedChange& p) {
    return p.plan.complete() && p.plan.batches.empty();
  });
}

Result<Outcome> run_sync(const GlobalOptions& options, const SyncOptions& sync,
                         Reporter& reporter) {
  auto wait = parse_duration(sync.lock_wait);
  if (!wait) return fail(ErrorKind::kBadInput, "--lock-wait: expected a duration like 30s or 10m");
  auto targets = load_targets(options, reporter, true);
  if (!targets) return tl::unexpected(targets.error());
  ChangeContext context = change_context(options, *targets, reporter);
  const Project& project = *targets->project;
  const Environment& env = *targets->environment;
  PipelineLog log(project.state_dir, env.name);
  const std::string from = env.follows ? env.follows->env : "";
  // A timed step that falls inside a freeze is skipped, and says why.
  if (auto span = freeze_at(env, context.clock->wall_seconds());
      span && env.follows && sync.spec.base.override_freeze.empty()) {
    std::string reason =
        fmt::format("{} is frozen ({}; {})", env.name, describe_span(*span), span->window->text);
    reporter.warning(fmt::format("sync skipped: {}; nothing was changed", reason));
    report_step(reporter, log, {{"outcome", "skipped"}, {"from", from}, {"reason", reason}});
    return Outcome();
  }
  auto plan = plan_sync(context);
  if (!plan) {
    report_step(reporter, log,
                {{"outcome", "refused"}, {"from", from}, {"reason", plan.error().message}});
    return tl::unexpected(plan.error());
  }
  for (const auto& why : plan->skipped) reporter.warning("not synced: " + why);
  ChangeRequest base = sync.spec.base;
  base.lock_wait = *wait;
  Release release = sync_release(project, *plan, base);
  if (auto fetched = fetch_missing_releases(context, release); !fetched) {
    return tl::unexpected(fetched.error());
  }
  // What this environment's hosts run, read now: nothing to change is said
  // as such, without taking the lock.
  auto preview = prepare_release(context, release.changes);
  if (!preview) return tl::unexpected(preview.error());
  if (already_there(*preview)) {
    std::vector<std::string> parts;
    for (const auto& u : plan->units) {
      parts.push_back(fmt::format("{} {}", u.unit, short_id(u.target.release, "?")));
    }
    reporter.text(fmt::format("already in sync with {}: {}", plan->source, fmt::join(parts, ", ")));
    report_step(reporter, log,
                {{"outcome", "in_sync"}, {"from", plan->source}, {"units", units_json(*plan)}});
    return Outcome();
  }
  auto outcome = run_release(context, release);
  nlohmann::json step = {{"from", plan->source}, {"units", units_json(*plan)}};
  if (!outcome) {
    step["outcome"] = "refused";
    step["reason"] = outcome.error().message;
  } else {
    step["outcome"] = outcome->ok() ? "synced" : "failed";
  }
  report_step(reporter, log, step);
  return outcome;
}

}  // namespace

void add_sync_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                      CommandAction& action) {
  auto sync = std::make_shared<SyncOptions>();
  auto* cmd = app.add_subcommand(
      "sync",
      "Bring -e ENV to what the environment it follows runs (same bytes, one release), then its "
      "load test");
  cmd->add_option("--lock-wait", sync->lock_wait,
                  "Wait this long for the deploy lock (CI queues); default: exit 3 at once");
  add_ticket_option(cmd, sync->spec);
  add_override_freeze_option(cmd, sync->spec);
  on_parsed(cmd, action,
            [&options, &reporter, sync] { return run_sync(options, *sync, *reporter); });
}

}  // namespace flotilla
