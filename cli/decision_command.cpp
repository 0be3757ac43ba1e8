// `flotilla resume [ENV] UNIT` and `flotilla abort [ENV] UNIT`: the word a
// rollout paused on an inconclusive analysis waits for, from any
// controller. Exit 1 when no rollout of UNIT waits in ENV.
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_connection.hpp"
#include "cli/targets.hpp"
#include "playbooks/change/rollout_decision.hpp"

namespace flotilla {
namespace {

Result<Outcome> run_decision(const GlobalOptions& global, const std::vector<std::string>& names,
                             const std::string& word, Reporter& reporter) {
  GlobalOptions options = global;
  auto unit = environment_and_unit(options, names, word);
  if (!unit) return tl::unexpected(unit.error());
  auto targets = load_targets(options, reporter, true);
  if (!targets) return tl::unexpected(targets.error());
  ChangeContext context = change_context(options, *targets, reporter);
  return decide_paused_rollout(context, *unit, word);
}

void add_decision(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                  CommandAction& action, const std::string& word, const std::string& help) {
  auto names = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand(word, help);
  cmd->add_option("names", *names, "[ENV] UNIT")->required()->expected(1, 2);
  on_parsed(cmd, action, [&options, &reporter, names, word] {
    return run_decision(options, *names, word, *reporter);
  });
}

}  // namespace

void add_decision_commands(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                           CommandAction& action) {
  add_decision(
      app, options, reporter, action, "resume",
      "A rollout of UNIT paused on an inconclusive analysis goes on (from any controller)");
  add_decision(app, options, reporter, action, "abort",
               "A rollout of UNIT paused on an inconclusive analysis sends its batch back (from "
               "any controller)");
}

}  // namespace flotilla
