#pragma once

#include "cli/global_options.hpp"
#include "core/reporter.hpp"

namespace flotilla {

// `inventory check`: the project file and every environment's inventory (or
// a lone -i inventory), all errors collected; no network. kBadInput listing
// every error, one per line.
Result<Outcome> check_inventory(const GlobalOptions& options, Reporter& reporter);

}  // namespace flotilla
