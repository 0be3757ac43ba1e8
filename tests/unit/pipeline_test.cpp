// The pipeline's logic (issue 34), fast: `at:` times and what systemd and
// cron get from them, load test reports (wrk's and a JSON line) and their
// verdicts, the soak of a release on a clock moved by hand, and the
// project keys with each error's place.
#include <doctest/doctest.h>

#include <regex>
#include <sstream>

#include "core/duration.hpp"
#include "playbooks/change/environment_sync.hpp"
#include "playbooks/change/soak_check.hpp"
#include "playbooks/load_test.hpp"
#include "playbooks/project_file.hpp"
#include "playbooks/schedule_time.hpp"
#include "playbooks/schedule_units.hpp"
#include "support/manual_clock.hpp"
#include "support/scratch_dir.hpp"

using namespace flotilla;

namespace {

ScheduleTime at(const std::string& text) {
  std::string why;
  auto time = parse_schedule_time(text, why);
  REQUIRE_MESSAGE(time, why);
  return *time;
}

// wrk 4.1's report, as Debian's package prints it with --latency.
const char* kWrkReport = R"(Running 10s test @ http://127.0.0.1:8080/
  2 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.21ms  392.60us  12.51ms   91.56%
    Req/Sec     4.18k   301.89     4.71k    72.50%
  Latency Distribution
     50%    1.13ms
     75%    1.30ms
     90%    1.55ms
     99%  310.00ms
  83279 requests in 10.00s, 12.94MB read
  Non-2xx or 3xx responses: 12
Requests/sec:   8327.25
Transfer/sec:      1.29MB
)";

// One crontab line's five time fields, each within cron's ranges.
bool valid_cron_fields(const std::string& fields) {
  static const std::regex field(R"((\*|\d+(-\d+)?(,\d+(-\d+)?)*))");
  std::istringstream in(fields);
  std::string f;
  const int max[] = {59, 23, 31, 12, 7};
  for (int i = 0; i < 5; ++i) {
    if (!(in >> f) || !std::regex_match(f, field)) return false;
    std::regex number(R"(\d+)");
    for (std::sregex_iterator it(f.begin(), f.end(), number), end; it != end; ++it) {
      if (std::stoi(it->str()) > max[i]) return false;
    }
  }
  return !(in >> f);
}

Snapshot change(long id, ChangeKind kind, const std::string& release, const std::string& outcome,
                std::int64_t finished) {
  Snapshot s;
  s.id = id;
  s.environment = "loadtest";
  s.unit = "payment";
  s.kind = kind;
  s.artifact = release;
  s.outcome = outcome;
  s.started = iso_time(finished - 60);
  s.finished = iso_time(finished);
  for (const char* host : {"lt1", "lt2"}) s.hosts[host] = {"", release, "", "", "updated"};
  return s;
}

nlohmann::json load_test(bool passed, const std::vector<std::string>& failures = {}) {
  LoadTestResult r;
  r.command = "wrk";
  r.passed = passed;
  r.failures = failures;
  LoadTestFigures figures;
  figures.format = "wrk";
  figures.p99_ms = passed ? 12.0 : 310.0;
  figures.rps = 8000;
  r.figures = figures;
  return r.to_json();
}

}  // namespace

TEST_CASE("pipeline: schedule times, as systemd's OnCalendar and cron's fields") {
  CHECK(systemd_calendar(at("daily 04:00 Asia/Seoul")) == "*-*-* 04:00:00 Asia/Seoul");
  CHECK(cron_fields(at("daily 04:00 Asia/Seoul")) == "0 4 * * *");
  CHECK(at("daily 04:00 Asia/Seoul").tz == "Asia/Seoul");
  CHECK(at("weekdays 22:30").tz == "UTC");
  CHECK(systemd_calendar(at("weekdays 22:30")) == "Mon,Tue,Wed,Thu,Fri *-*-* 22:30:00 UTC");
  CHECK(cron_fields(at("weekdays 22:30")) == "30 22 * * 1-5");
  CHECK(cron_fields(at("Mon,Thu 06:05 Europe/Berlin")) == "5 6 * * 1,4");
  CHECK(cron_fields(at("Sat-Sun 06:05")) == "5 6 * * 0,6");
  CHECK(cron_fields(at("hourly :15")) == "15 * * * *");
  CHECK(systemd_calendar(at("hourly")) == "*-*-* *:00:00 UTC");
  for (const char* text : {"daily 04:00 Asia/Seoul", "weekdays 22:30", "Mon,Thu 06:05",
                           "Sat-Sun 23:59", "hourly :15", "weekends 00:00"}) {
    CAPTURE(text);
    CHECK(valid_cron_fields(cron_fields(at(text))));
  }
  std::string why;
  for (const char* bad :
       {"daily", "daily 24:00", "daily 04:60", "Mon-Sunday 04:00", "daily 04:00 Mars/Olympus",
        "hourly 04:00", "every day at four", "daily 04:00 ../../etc/passwd", "Fri-Mon 04:00"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_schedule_time(bad, why));
    CHECK_FALSE(why.empty());
  }
}

TEST_CASE("pipeline: systemd words and crontab lines keep paths and % as written") {
  CHECK(systemd_word("/srv/game") == "/srv/game");
  CHECK(systemd_word("/srv/my game") == "\"/srv/my game\"");
  CHECK(systemd_word("50%") == "50%%");
  CHECK(systemd_word("a\"b") == "\"a\\\"b\"");
  Project project;
  project.path = "/srv/studio 1/flotilla.yaml";
  project.dir = "/srv/studio 1";
  project.state_dir = "/srv/studio 1/.flotilla";
  project.name = "dragon";
  project.schedule.push_back(
      {"loadtest", "sync", "daily 04:00 Asia/Seoul", at("daily 04:00 Asia/Seoul"), {}});
  auto files = systemd_schedule(project, "/usr/bin/flotilla");
  REQUIRE(files.size() == 2);
  CHECK(files[0].name == "flotilla-dragon-loadtest-sync.service");
  CHECK(files[0].text.find("ExecStart=/usr/bin/flotilla -f \"/srv/studio 1/flotilla.yaml\" -e "
                           "loadtest --json sync --lock-wait 30m\n") != std::string::npos);
  CHECK(files[1].name == "flotilla-dragon-loadtest-sync.timer");
  CHECK(files[1].text.find("OnCalendar=*-*-* 04:00:00 Asia/Seoul\n") != std::string::npos);
  ScheduleFile cron = crontab_schedule(project, "/usr/bin/flotilla");
  CHECK(cron.text.find(
            "CRON_TZ=Asia/Seoul\n0 4 * * * cd '/srv/studio 1' && '/usr/bin/flotilla' '-f' "
            "'/srv/studio 1/flotilla.yaml' '-e' 'loadtest' '--json' 'sync' '--lock-wait' "
            "'30m' >>'/srv/studio 1/.flotilla/loadtest/schedule.log' 2>&1\n") != std::string::npos);
  project.state_dir = "/srv/100%/.flotilla";
  cron = crontab_schedule(project, "/usr/bin/flotilla");
  CHECK(cron.text.find("/srv/100\\%/.flotilla") != std::string::npos);
}

TEST_CASE("pipeline: a load test's figures from wrk --latency or a JSON line, and its verdict") {
  auto wrk = parse_load_test_output(kWrkReport);
  REQUIRE(wrk);
  CHECK(wrk->format == "wrk");
  REQUIRE(wrk->p99_ms);
  CHECK(*wrk->p99_ms == doctest::Approx(310.0));
  CHECK(*wrk->rps == doctest::Approx(8327.25));
  CHECK(wrk->errors == 12);
  LoadTestSpec spec;
  spec.max_p99 = std::chrono::milliseconds(250);
  spec.min_rps = 500;
  auto failures = judge_load_test(spec, *wrk);
  REQUIRE(failures.size() == 1);
  CHECK(failures[0] == "p99 310 ms > 250 ms");
  spec.max_errors = 0;
  spec.min_rps = 9000;
  CHECK(judge_load_test(spec, *wrk).size() == 3);

  auto json =
      parse_load_test_output("warming up\n{\"p99_ms\": 12.5, \"rps\": 640, \"errors\": 0}\n");
  REQUIRE(json);
  CHECK(json->format == "json");
  CHECK(*json->p99_ms == doctest::Approx(12.5));
  spec = LoadTestSpec{};
  spec.max_p99 = std::chrono::milliseconds(250);
  spec.min_rps = 500;
  CHECK(judge_load_test(spec, *json).empty());
  // wrk without --latency has no p99: a limit on it cannot pass.
  auto no_latency = parse_load_test_output("Requests/sec:   812.00\n");
  REQUIRE(no_latency);
  CHECK_FALSE(no_latency->p99_ms);
  CHECK(judge_load_test(spec, *no_latency).front().find("--latency") != std::string::npos);
  // Nothing it could read: no figures at all.
  CHECK_FALSE(parse_load_test_output("Segmentation fault\n{\"p50\": 3}\n"));
  CHECK_FALSE(parse_load_test_output("{\"p99_ms\": -1, \"rps\": \"many\"}"));
  // Recorded and read back as the snapshot keeps it.
  LoadTestResult result;
  result.figures = *json;
  result.passed = true;
  LoadTestResult back = LoadTestResult::from_json(result.to_json());
  CHECK(back.passed);
  CHECK(*back.figures->rps == doctest::Approx(640));
  CHECK(back.describe() == "passed: p99 12.5 ms, 640 requests/s, 0 errors");
}

TEST_CASE(
    "pipeline: the soak opens once the release has run `min` in loadtest, on a clock "
    "moved by hand") {
  ManualClock clock(1'800'000'000);
  SoakRule rule;
  rule.in = "loadtest";
  rule.min = std::chrono::hours(24);
  rule.load_test_passed = true;
  const std::int64_t synced = clock.wall_seconds();
  Snapshot s = change(7, ChangeKind::kDeploy, "rel-b", "succeeded", synced);
  s.load_test = nlohmann::json::array({load_test(true)});
  std::vector<Snapshot> history = {
      change(5, ChangeKind::kDeploy, "rel-a", "succeeded", synced - 86400 * 3), s};
  clock.advance(std::chrono::hours(3) + std::chrono::minutes(12));
  SoakEvidence early = soak_of(rule, history, "rel-b", "", clock.wall_seconds());
  CHECK_FALSE(early.satisfied());
  REQUIRE(early.missing.size() == 1);
  CHECK(early.missing[0] == "in loadtest for 3h12m of 24h");
  CHECK(early.since_snapshot == 7);
  clock.advance(std::chrono::hours(21));
  SoakEvidence late = soak_of(rule, history, "rel-b", "", clock.wall_seconds());
  CHECK(late.satisfied());
  CHECK(late.load_test_snapshot == 7);
  // Another release never soaked: named as what loadtest runs instead.
  SoakEvidence other = soak_of(rule, history, "rel-c", "", clock.wall_seconds());
  CHECK_FALSE(other.satisfied());
  CHECK(other.missing[0].find("loadtest does not run it now") == 0);
}

TEST_CASE("pipeline: a rollback, a failure or a failed load test in between breaks the soak") {
  SoakRule rule;
  rule.in = "loadtest";
  rule.min = std::chrono::hours(24);
  rule.load_test_passed = true;
  const std::int64_t t0 = 1'800'000'000;
  const std::int64_t later = t0 + 86400 * 2;
  // rel-b, then a failed deploy of rel-c sent back to rel-b by a rollback:
  // its soak starts again at the rollback, so it has soaked nothing yet.
  Snapshot first = change(1, ChangeKind::kDeploy, "rel-b", "succeeded", t0);
  first.load_test = nlohmann::json::array({load_test(true)});
  Snapshot failed = change(2, ChangeKind::kDeploy, "rel-c", "failed", t0 + 3600);
  Snapshot back = change(3, ChangeKind::kRollback, "rel-b", "succeeded", t0 + 3700);
  SoakEvidence after_rollback = soak_of(rule, {first, failed, back}, "rel-b", "", later);
  CHECK_FALSE(after_rollback.satisfied());
  CHECK(after_rollback.missing[0] == "loadtest does not run it now (rollback 3 since)");
  // A failed load test names its figures.
  Snapshot slow = change(4, ChangeKind::kDeploy, "rel-d", "succeeded", t0);
  slow.load_test = nlohmann::json::array({load_test(false, {"p99 310 ms > 250 ms"})});
  SoakEvidence failed_test = soak_of(rule, {slow}, "rel-d", "", later);
  REQUIRE(failed_test.missing.size() == 1);
  CHECK(failed_test.missing[0] == "load test p99 310 ms > 250 ms");
  // No load test on it at all.
  SoakEvidence untested =
      soak_of(rule, {change(5, ChangeKind::kDeploy, "rel-e", "succeeded", t0)}, "rel-e", "", later);
  CHECK(untested.missing == std::vector<std::string>{"no load test ran on it in loadtest"});
  // Never there.
  CHECK(soak_of(rule, {}, "rel-f", "", later).missing ==
        std::vector<std::string>{"never ran in loadtest"});
}

TEST_CASE("pipeline: the project keys, and each mistake at its place") {
  ScratchDir dir;
  dir.write("hosts.yaml", "all:\n  hosts: {h1: }\n");
  auto project = load_project_file(dir.write("flotilla.yaml", R"(environments:
  int: {inventory: hosts.yaml}
  loadtest:
    inventory: hosts.yaml
    follows: {env: int, when: verified}
    load_test: {command: "wrk -t2 -c10 -d{{duration}} --latency http://lt/", max_p99: 250ms, min_rps: 500, duration: 30s}
  prod: {inventory: hosts.yaml, require_soak: {in: loadtest, min: 24h, load_test: passed}}
units:
  game: {run: ./server}
schedule:
  - {env: loadtest, run: sync, at: "daily 04:00 Asia/Seoul"}
)")
                                       .string());
  REQUIRE_MESSAGE(project, (project ? "" : project.error().message));
  const Environment* lt = project->environment("loadtest");
  REQUIRE(lt->follows);
  CHECK(lt->follows->env == "int");
  CHECK(lt->follows->when == FollowRule::When::kVerified);
  REQUIRE(lt->load_test);
  CHECK(lt->load_test->max_p99 == std::chrono::milliseconds(250));
  CHECK(*lt->load_test->min_rps == 500);
  CHECK(lt->load_test->duration == std::chrono::seconds(30));
  const Environment* prod = project->environment("prod");
  REQUIRE(prod->require_soak);
  CHECK(prod->require_soak->min == std::chrono::hours(24));
  CHECK(prod->require_soak->load_test_passed);
  REQUIRE(project->schedule.size() == 1);
  CHECK(project->schedule[0].time.hour == 4);

  auto bad = load_project_file(dir.write("flotilla.yaml", R"(environments:
  int: {inventory: hosts.yaml, follows: {env: loadtest}}
  loadtest: {inventory: hosts.yaml, follows: {env: int, when: sometimes}}
  prod: {inventory: hosts.yaml, require_soak: {in: staging, min: 24h, load_test: ok}}
  qa: {inventory: hosts.yaml, load_test: {max_p99: fast, min_rps: lots}}
units:
  game: {run: ./server}
schedule:
  - {env: prod, run: sync, at: "daily 04:00 Asia/Seoul"}
  - {env: loadtest, run: deploy, at: "daily 04:00"}
  - {env: loadtest, run: sync, at: "at dawn"}
)")
                                   .string());
  REQUIRE_FALSE(bad);
  const std::string& e = bad.error().message;
  CAPTURE(e);
  CHECK(e.find(":3:63: environments.loadtest.follows.when: expected 'succeeded' or 'verified'") !=
        std::string::npos);
  CHECK(e.find(":4:82: environments.prod.require_soak.load_test: expected 'passed'") !=
        std::string::npos);
  CHECK(e.find("environments.prod.require_soak.in: unknown environment 'staging'") !=
        std::string::npos);
  CHECK(e.find("follow one another in a circle") != std::string::npos);
  CHECK(e.find("environments.qa.load_test: missing key 'command'") != std::string::npos);
  CHECK(e.find("environments.qa.load_test.max_p99") != std::string::npos);
  CHECK(e.find("environments.qa.load_test.min_rps: expected a number") != std::string::npos);
  CHECK(e.find("schedule[0]: sync needs environments.prod.follows") != std::string::npos);
  CHECK(e.find(":10:26: schedule[1].run: 'deploy' is not a step") != std::string::npos);
  CHECK(e.find(":11:36: schedule[2].at: expected like") != std::string::npos);
}

TEST_CASE("pipeline: a sync carries the ticket of the change it brings, unless given one") {
  Project project;
  SyncPlan plan;
  plan.source = "int";
  plan.units.push_back({"payment", StoredTarget{"rel-p", "", "c1", "master", "int", 12}, "REL-7"});
  plan.units.push_back({"gm", StoredTarget{"rel-g", "", "c1", "master", "int", 13}, ""});
  Release carried = sync_release(project, plan, ChangeRequest{});
  REQUIRE(carried.changes.size() == 2);
  CHECK(carried.changes[0].ticket == "REL-7");
  CHECK(carried.changes[0].cause == "sync:int");
  CHECK(carried.changes[1].ticket.empty());
  ChangeRequest given;
  given.ticket = "OPS-1";
  Release overridden = sync_release(project, plan, given);
  CHECK(overridden.changes[0].ticket == "OPS-1");
}
