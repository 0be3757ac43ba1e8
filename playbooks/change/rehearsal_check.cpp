#include "playbooks/change/rehearsal_check.hpp"
#include "snapshots/short_id.hpp"

#include <set>

#include <fmt/format.h>

#include "core/source_mark.hpp"
#include "core/time_zone.hpp"
#include "snapshots/ledger.hpp"

namespace flotilla {
namespace {

bool rule_applies(const Environment& env, const ChangeRequest& change) {
  switch (rules_of(change.kind).rehearsal) {
    case RehearsalNeed::kNever:
      return false;
    case RehearsalNeed::kAlways:
      return true;
    case RehearsalNeed::kIfHotfixPolicy:
      return env.hotfix_requires_rehearsal;
  }
  return false;
}

// A release and config, as a rehearsal records them ("from", "to").
struct Version {
  std::string release;
  std::string config;
  bool operator==(const Version&) const = default;
};

std::string describe(const Version& v) {
  return v.config.empty() ? short_id(v.release, "nothing")
                          : fmt::format("{} (config {})", short_id(v.release, "nothing"),
                                        short_id(v.config, "nothing"));
}

Version version_of(const nlohmann::json& doc) {
  if (!doc.is_object()) return {};
  return {doc.value("release", ""), doc.value("config", "")};
}

// What every host of the plan runs now; nullopt when they differ.
std::optional<Version> running_now(const DeployPlan& plan) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& h : plan.hosts) seen.insert({h.current.value_or(""), h.current_config});
  if (seen.size() != 1) return std::nullopt;
  return Version{seen.begin()->first, seen.begin()->second};
}

// Why `rehearsal` does not cover this change; "" when it does.
std::string mismatch(const Snapshot& rehearsal, const Environment& env, const Version& from,
                     const Version& to, std::int64_t now) {
  if (!rehearsal.succeeded()) {
    return fmt::format("rehearsal {} {}", rehearsal.id, rehearsal.outcome);
  }
  auto finished = parse_iso8601(rehearsal.finished, "UTC");
  auto max_age = std::chrono::duration_cast<std::chrono::seconds>(env.require_rehearsal->max_age);
  if (!finished || now - *finished > max_age.count()) {
    return fmt::format("rehearsal {} finished {}, longer ago than max_age {}", rehearsal.id,
                       rehearsal.finished, format_duration(env.require_rehearsal->max_age));
  }
  Version rehearsed_from = version_of(rehearsal.rehearsal.value("from", nlohmann::json()));
  if (!(rehearsed_from == from)) {
    return fmt::format("rehearsal {} started from {}, but {} now runs {} ({} changed since)",
                       rehearsal.id, describe(rehearsed_from), env.name, describe(from), env.name);
  }
  Version rehearsed_to = version_of(rehearsal.rehearsal.value("to", nlohmann::json()));
  if (!(rehearsed_to == to)) {
    return fmt::format("rehearsal {} went to {}, this change goes to {}", rehearsal.id,
                       describe(rehearsed_to), describe(to));
  }
  return "";
}

}  // namespace

bool needs_rehearsal(const Environment& env, const std::vector<ChangeRequest>& changes) {
  if (!env.require_rehearsal) return false;
  return std::any_of(changes.begin(), changes.end(),
                     [&env](const ChangeRequest& r) { return rule_applies(env, r); });
}

RehearsalEvidence rehearsal_evidence(const Project& project, const Environment& env,
                                     const ChangeRequest& change, const DeployPlan& plan,
                                     std::int64_t now) {
  RehearsalEvidence out;
  if (!env.require_rehearsal || !rule_applies(env, change) || plan.batches.empty()) return out;
  out.required = true;
  const RehearsalRule& rule = *env.require_rehearsal;
  out.in = rule.in;
  auto from = running_now(plan);
  if (!from) {
    out.missing = fmt::format(
        "{}'s hosts run different releases now, which no rehearsal started "
        "from",
        env.name);
    return out;
  }
  Version to{plan.artifact, plan.config};
  auto history = Ledger(project.state_dir, rule.in).list(plan.unit);
  if (!history) {
    out.missing = history.error().message;
    return out;
  }
  for (auto it = history->rbegin(); it != history->rend(); ++it) {
    if (it->kind != ChangeKind::kRehearsal || it->rehearsal.value("like", "") != env.name) continue;
    std::string why = mismatch(*it, env, *from, to, now);
    if (why.empty()) {
      out.snapshot = it->id;
      out.finished = it->finished;
      out.missing.clear();
      return out;
    }
    if (out.missing.empty()) out.missing = why;  // the newest rehearsal's reason
  }
  if (out.missing.empty()) out.missing = fmt::format("never rehearsed in {}", rule.in);
  return out;
}

Result<void> check_rehearsed(const Project& project, const Environment& env,
                             const std::vector<ChangeRequest>& changes,
                             const std::vector<PreparedChange>& prepared, std::int64_t now) {
  if (!needs_rehearsal(env, changes)) return {};
  const RehearsalRule& rule = *env.require_rehearsal;
  std::vector<std::string> missing;
  std::vector<std::string> units;
  for (std::size_t i = 0; i < changes.size() && i < prepared.size(); ++i) {
    const DeployPlan& plan = prepared[i].plan;
    RehearsalEvidence evidence = rehearsal_evidence(project, env, changes[i], plan, now);
    if (!evidence.required) continue;
    units.push_back(plan.unit);
    if (evidence.snapshot == 0) missing.push_back(plan.unit + ": " + evidence.missing);
  }
  if (missing.empty()) return {};
  return fail(ErrorKind::kBadInput,
              located(project.path, rule.mark,
                      fmt::format("{} requires a rehearsal in {} (require_rehearsal): {}; nothing "
                                  "was changed. Rehearse it: flotilla -e {} rehearse {} --like {} "
                                  "(--ref REF | --from ENV)",
                                  env.name, rule.in, fmt::join(missing, "; "), rule.in,
                                  fmt::join(units, " "), env.name)));
}

}  // namespace flotilla
