#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "playbooks/change/change_context.hpp"

namespace flotilla {

// `status UNIT`: per host, read live in one round trip (the survey, with
// the health check riding along): what its processes run, its state file,
// health, and drift from what the ledger says it should run. Prints the
// table, appends the unit's document to `units_doc`. Failed on drift or
// bad health, unreachable hosts worse; kBadInput when the unit has no hosts.
Result<Outcome> unit_status(const ChangeContext& context, const std::string& unit,
                            nlohmann::json& units_doc);

}  // namespace flotilla
