#include "playbooks/branch_policy.hpp"

#include <fnmatch.h>

#include <regex>

#include <fmt/format.h>

namespace flotilla {

bool branch_allowed(const Environment& env, const std::string& branch) {
  for (const auto& pattern : env.branches) {
    if (::fnmatch(pattern.c_str(), branch.c_str(), 0) == 0) return true;
  }
  return false;
}

Result<void> check_branch_policy(const Project& project, const Environment& env,
                                 const ResolvedRef& ref, const GitSource& git) {
  std::string rule =
      fmt::format("environment '{}' takes branches {} ({}:{}:{})", env.name,
                  fmt::join(env.branches, ", "), project.path, env.mark.line, env.mark.column);
  if (ref.branch) {
    if (branch_allowed(env, *ref.branch)) return {};
    return fail(ErrorKind::kBadInput,
                fmt::format("branch '{}' may not be deployed here: {}", *ref.branch, rule));
  }
  auto containing = git.branches_containing(ref.commit);
  if (!containing) return tl::unexpected(containing.error());
  for (const auto& branch : *containing) {
    if (branch_allowed(env, branch)) return {};
  }
  return fail(
      ErrorKind::kBadInput,
      fmt::format("{} '{}' ({}) is on no allowed branch{}: {}", ref.tag ? "tag" : "commit",
                  ref.given, ref.commit.substr(0, 12),
                  containing->empty() ? std::string()
                                      : fmt::format(" (it is on {})", fmt::join(*containing, ", ")),
                  rule));
}

Result<void> check_ticket(const Project& project, const Environment& env, const Unit& unit,
                          const std::string& ticket) {
  if (!ticket.empty()) {
    static const std::regex plain("[A-Za-z0-9._/#:-]{1,64}");
    if (!std::regex_match(ticket, plain)) {
      return fail(ErrorKind::kBadInput,
                  "--ticket: use letters, digits and . _ - / # : (at most 64 characters)");
    }
    return {};
  }
  if (env.require_ticket) {
    return fail(ErrorKind::kBadInput,
                fmt::format("environment '{}' requires --ticket ({}:{}:{})", env.name, project.path,
                            env.mark.line, env.mark.column));
  }
  if (unit.require_ticket) {
    return fail(ErrorKind::kBadInput, fmt::format("unit '{}' ({}) requires --ticket ({}:{}:{})",
                                                  unit.name, unit_kind_name(unit.kind),
                                                  project.path, unit.mark.line, unit.mark.column));
  }
  return {};
}

Result<void> check_hotfix(const std::string& ref, const std::string& ticket) {
  if (ref != "stable" && ref != "master") {
    return fail(
        ErrorKind::kBadInput,
        fmt::format("hotfix: --ref must be the 'stable' or 'master' branch, not '{}'", ref));
  }
  if (ticket.empty()) return fail(ErrorKind::kBadInput, "hotfix: --ticket is required");
  return {};
}

}  // namespace flotilla
