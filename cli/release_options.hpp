#pragma once

#include <CLI/App.hpp>

#include "playbooks/change/release.hpp"

namespace flotilla {

// The options that name a release, declared once for every command that
// makes one (deploy, promote, rehearse, plan, approve), so their names and
// help read the same everywhere.
void add_units_option(CLI::App* cmd, ReleaseSpec& spec);
void add_all_flag(CLI::App* cmd, ReleaseSpec& spec);
CLI::Option* add_ref_option(CLI::App* cmd, ReleaseSpec& spec);
CLI::Option* add_from_option(CLI::App* cmd, ReleaseSpec& spec, const char* help);
void add_ticket_option(CLI::App* cmd, ReleaseSpec& spec);
void add_override_freeze_option(CLI::App* cmd, ReleaseSpec& spec);

}  // namespace flotilla
