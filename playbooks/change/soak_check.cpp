#include "playbooks/change/soak_check.hpp"

#include <fmt/format.h>

#include "core/duration.hpp"
#include "core/source_mark.hpp"
#include "core/time_zone.hpp"
#include "playbooks/load_test.hpp"
#include "snapshots/fleet_history.hpp"
#include "snapshots/ledger.hpp"
#include "snapshots/short_id.hpp"

namespace flotilla {
namespace {

// Every host the snapshot left runs exactly this release and config.
bool left_on(const std::vector<Snapshot>& history, const Snapshot& s, const std::string& release,
             const std::string& config) {
  auto fleet = fleet_at(history, s.id);
  if (fleet.empty()) return false;
  for (const auto& [host, p] : fleet) {
    if (p.release != release || p.config != config) return false;
  }
  return true;
}

// Part of an unbroken soak: it succeeded, moved nothing off these bytes,
// and is no rollback or restore (each says something went wrong).
bool keeps_soaking(const std::vector<Snapshot>& history, const Snapshot& s,
                   const std::string& release, const std::string& config) {
  return s.succeeded() && s.kind != ChangeKind::kRollback && s.kind != ChangeKind::kRestore &&
         left_on(history, s, release, config);
}

std::string what_broke(const Snapshot& s) {
  if (!s.disputed.empty()) return fmt::format("its record {} is disputed", s.id);
  if (!s.succeeded()) return fmt::format("{} {} {}", change_kind_name(s.kind), s.id, s.outcome);
  if (s.kind == ChangeKind::kRollback) return fmt::format("rollback {} since", s.id);
  if (s.kind == ChangeKind::kRestore) return fmt::format("restore {} since", s.id);
  return fmt::format("{} {} moved it to {}", change_kind_name(s.kind), s.id,
                     short_id(s.artifact, "nothing"));
}

}  // namespace

bool needs_soak(const Environment& env, const std::vector<ChangeRequest>& changes) {
  if (!env.require_soak) return false;
  return std::any_of(changes.begin(), changes.end(),
                     [](const ChangeRequest& r) { return rules_of(r.kind).needs_soak; });
}

SoakEvidence soak_of(const SoakRule& rule, const std::vector<Snapshot>& history,
                     const std::string& release, const std::string& config, std::int64_t now) {
  SoakEvidence out;
  out.required = true;
  out.in = rule.in;
  out.min = format_duration(rule.min);
  // Newest first: the trailing run of changes that kept these bytes.
  const Snapshot* start = nullptr;
  const Snapshot* broke = nullptr;
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    if (!keeps_soaking(history, *it, release, config)) {
      broke = &*it;
      break;
    }
    start = &*it;
    if (out.load_test.is_null() && !it->load_test.empty()) {
      out.load_test = it->load_test;
      out.load_test_snapshot = it->id;
    }
  }
  if (start == nullptr) {
    out.missing.push_back(
        broke == nullptr ? fmt::format("never ran in {}", rule.in)
                         : fmt::format("{} does not run it now ({})", rule.in, what_broke(*broke)));
    return out;
  }
  out.since_snapshot = start->id;
  out.since = start->finished;
  auto finished = parse_iso8601(start->finished, "UTC");
  out.soaked_s = finished ? now - *finished : 0;
  const auto min_s = std::chrono::duration_cast<std::chrono::seconds>(rule.min).count();
  out.soaked = finished && out.soaked_s >= min_s;
  if (!out.soaked) {
    out.missing.push_back(fmt::format("in {} for {} of {}", rule.in, format_span(out.soaked_s),
                                      format_duration(rule.min)));
  }
  if (rule.load_test_passed) {
    std::vector<std::string> failed;
    if (out.load_test.is_null()) {
      failed.push_back(fmt::format("no load test ran on it in {}", rule.in));
    } else {
      for (const auto& test : out.load_test) {
        LoadTestResult result = LoadTestResult::from_json(test);
        if (result.passed) continue;
        if (result.failures.empty()) failed.push_back("load test failed");
        for (const auto& failure : result.failures) failed.push_back("load test " + failure);
      }
    }
    out.load_test_missing = fmt::format("{}", fmt::join(failed, ", "));
    out.missing.insert(out.missing.end(), failed.begin(), failed.end());
  }
  return out;
}

SoakEvidence soak_evidence(const Project& project, const Environment& env,
                           const ChangeRequest& change, const DeployPlan& plan, std::int64_t now) {
  if (!env.require_soak || !rules_of(change.kind).needs_soak || plan.batches.empty()) return {};
  const SoakRule& rule = *env.require_soak;
  auto history = Ledger(project.state_dir, rule.in).list(plan.unit);
  if (!history) {
    SoakEvidence out;
    out.required = true;
    out.in = rule.in;
    out.min = format_duration(rule.min);
    out.missing.push_back(history.error().message);
    return out;
  }
  return soak_of(rule, *history, plan.artifact, plan.config, now);
}

Result<void> check_soaked(const Project& project, const Environment& env,
                          const std::vector<ChangeRequest>& changes,
                          const std::vector<PreparedChange>& prepared, std::int64_t now) {
  if (!needs_soak(env, changes)) return {};
  const SoakRule& rule = *env.require_soak;
  std::vector<std::string> missing;
  for (std::size_t i = 0; i < changes.size() && i < prepared.size(); ++i) {
    const DeployPlan& plan = prepared[i].plan;
    SoakEvidence evidence = soak_evidence(project, env, changes[i], plan, now);
    if (!evidence.required || evidence.missing.empty()) continue;
    missing.push_back(fmt::format("{}: {}", plan.unit, fmt::join(evidence.missing, ", ")));
  }
  if (missing.empty()) return {};
  return fail(ErrorKind::kBadInput,
              located(project.path, rule.mark,
                      fmt::format("{} requires a soak of {} in {}{} (require_soak): {}; nothing "
                                  "was changed",
                                  env.name, format_duration(rule.min), rule.in,
                                  rule.load_test_passed ? " and a passed load test" : "",
                                  fmt::join(missing, "; "))));
}

nlohmann::json SoakEvidence::to_json() const {
  nlohmann::json doc = {{"required", required}, {"in", in},
                        {"min", min},           {"soaked", soaked},
                        {"soaked_s", soaked_s}, {"missing", missing}};
  if (since_snapshot != 0) {
    doc["since_snapshot"] = since_snapshot;
    doc["since"] = since;
  }
  if (!load_test.is_null()) {
    doc["load_test"] = load_test;
    doc["load_test_snapshot"] = load_test_snapshot;
  }
  return doc;
}

}  // namespace flotilla
