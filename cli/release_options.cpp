#include "cli/release_options.hpp"

#include <CLI/CLI.hpp>

namespace flotilla {

void add_units_option(CLI::App* cmd, ReleaseSpec& spec) {
  cmd->add_option("units", spec.units, "Units, in the order they are released");
}

void add_all_flag(CLI::App* cmd, ReleaseSpec& spec) {
  cmd->add_flag("--all", spec.all,
                "Every unit, in the project's release_order (else the file's order)");
}

CLI::Option* add_ref_option(CLI::App* cmd, ReleaseSpec& spec) {
  return cmd->add_option("--ref", spec.ref, "Branch, tag or commit id");
}

CLI::Option* add_from_option(CLI::App* cmd, ReleaseSpec& spec, const char* help) {
  return cmd->add_option("--from", spec.from, help);
}

void add_ticket_option(CLI::App* cmd, ReleaseSpec& spec) {
  cmd->add_option("--ticket", spec.base.ticket,
                  "Change ticket (required where the environment says so)");
}

void add_override_freeze_option(CLI::App* cmd, ReleaseSpec& spec) {
  cmd->add_option("--override-freeze", spec.base.override_freeze,
                  "Change inside a freeze window; the reason is recorded in the snapshot");
}

}  // namespace flotilla
