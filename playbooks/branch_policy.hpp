#pragma once

#include <string>

#include "core/error.hpp"
#include "core/git_source.hpp"
#include "playbooks/project.hpp"

namespace flotilla {

// Whether a ref may reach an environment: its branch matches one of the
// environment's `branches` patterns; a tag or a bare commit only if some
// allowed branch contains it. kBadInput naming the rule otherwise.
Result<void> check_branch_policy(const Project& project, const Environment& env,
                                 const ResolvedRef& ref, const GitSource& git);

bool branch_allowed(const Environment& env, const std::string& branch);

// Hotfixes come from the branches on-call may ship at 3 a.m. ('stable' or
// 'master'), always with a ticket. kBadInput naming the rule otherwise.
Result<void> check_hotfix(const std::string& ref, const std::string& ticket);

// A ticket is required when the environment or the unit says so; ticket ids
// are plain (letters, digits, '.', '_', '-', '/', '#', ':'), as they end up in
// ledgers and logs.
Result<void> check_ticket(const Project& project, const Environment& env, const Unit& unit,
                          const std::string& ticket);

}  // namespace flotilla
