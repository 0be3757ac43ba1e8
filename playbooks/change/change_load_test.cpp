#include "playbooks/change/change_load_test.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "playbooks/change/change_record.hpp"
#include "playbooks/change/record_signing.hpp"
#include "playbooks/change/unit_fleet.hpp"
#include "playbooks/load_test.hpp"

namespace flotilla {
namespace {

// One load test and the units it covers.
struct Coverage {
  const LoadTestSpec* spec = nullptr;
  std::vector<std::size_t> runs;  // indexes into the release's runs
};

const PreparedChange* prepared_of(const std::vector<PreparedChange>& prepared,
                                  const std::string& unit) {
  for (const auto& p : prepared) {
    if (p.plan.unit == unit) return &p;
  }
  return nullptr;
}

// Into the snapshot, signed again, saved, and onto every host of the unit.
void record_result(const ChangeContext& context, const PreparedChange& prepared, Snapshot& snapshot,
                   const nlohmann::json& result) {
  snapshot.load_test.push_back(result);
  const RecordSigner sign = [&context](Snapshot& s) { return sign_record(context, s); };
  if (auto signed_again = sign(snapshot); !signed_again) {
    context.reporter.warning(
        fmt::format("the load test's result is not signed: {}", signed_again.error().message));
  }
  if (auto saved = ledger_of(context.targets).save(snapshot); !saved) {
    context.reporter.error(fmt::format("could not save the load test's result in snapshot {}: {}",
                                       snapshot.id, saved.error().message));
  }
  std::vector<Snapshot> history = prepared.history;
  history.push_back(snapshot);
  record_on_hosts(prepared, snapshot, history, context.reporter, sign);
}

}  // namespace

bool runs_load_tests(const Project& project, const Environment& env) {
  if (env.load_test) return true;
  return std::any_of(
      project.environments.begin(), project.environments.end(), [&env](const Environment& e) {
        return e.require_soak && e.require_soak->in == env.name && e.require_soak->load_test_passed;
      });
}

const LoadTestSpec* load_test_for(const Project& project, const Environment& env,
                                  const Unit& unit) {
  if (!runs_load_tests(project, env)) return nullptr;
  if (unit.load_test) return &*unit.load_test;
  if (env.load_test) return &*env.load_test;
  return nullptr;
}

Outcome load_test_after_change(const ChangeContext& context, std::vector<UnitRun>& runs,
                               const std::vector<PreparedChange>& prepared, PhaseTimes& times) {
  const Project& project = *context.targets.project;
  const Environment& env = *context.targets.environment;
  Reporter& reporter = context.reporter;
  std::vector<Coverage> tests;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const UnitRun& run = runs[i];
    if (!run.changed || !rules_of(run.snapshot.kind).load_tested) continue;
    const Unit* unit = project.unit(run.unit);
    const LoadTestSpec* spec = unit ? load_test_for(project, env, *unit) : nullptr;
    if (spec == nullptr) {
      if (runs_load_tests(project, env)) {
        reporter.warning(
            fmt::format("{} has no load test in {} (units.{}.load_test or "
                        "environments.{}.load_test): a soak that needs one waits",
                        run.unit, env.name, run.unit, env.name));
      }
      continue;
    }
    auto same = std::find_if(tests.begin(), tests.end(),
                             [spec](const Coverage& c) { return c.spec == spec; });
    if (same == tests.end()) same = tests.insert(tests.end(), Coverage{spec, {}});
    same->runs.push_back(i);
  }
  Outcome outcome;
  for (const auto& test : tests) {
    std::vector<std::string> units;
    for (auto i : test.runs) units.push_back(runs[i].unit);
    const long first = runs[test.runs.front()].snapshot.id;
    std::string dir = project.state_dir + "/" + env.name + "/load-tests";
    std::error_code ignored;
    std::filesystem::create_directories(dir, ignored);
    std::string log = fmt::format("{}/{}.log", dir, first);
    reporter.text(fmt::format("load test of {} for {}: {}", fmt::join(units, ", "),
                              format_duration(test.spec->duration), test.spec->command));
    times.begin("load test");
    LoadTestResult result = run_load_test(
        *test.spec, env.name, fmt::format("{}", fmt::join(units, " ")), project.dir, log);
    times.end();
    nlohmann::json doc = result.to_json();
    doc["units"] = units;
    reporter.event("load_test", doc);
    std::string line = fmt::format("load test {} (log: {})", result.describe(), log);
    if (result.passed) {
      reporter.text(reporter.paint(line, Reporter::Color::kGreen));
    } else {
      reporter.error(line);
      outcome.add(Outcome(ErrorKind::kFailed));
    }
    for (auto i : test.runs) {
      if (const PreparedChange* p = prepared_of(prepared, runs[i].unit)) {
        record_result(context, *p, runs[i].snapshot, doc);
      }
    }
  }
  return outcome;
}

}  // namespace flotilla
