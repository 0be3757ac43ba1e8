// The change workflow end to end — lock, prepare, snapshot, rollout,
// record, unlock — and the deploy lock, against a simulated fleet through
// an injected ConnectFn. Milliseconds, no root, no sshd.
#include "playbooks/change/change_workflow.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "core/shell_quote.hpp"
#include "playbooks/lock_host/deploy_lock.hpp"
#include "snapshots/fleet_history.hpp"
#include "snapshots/ledger.hpp"
#include "support/fault_injection.hpp"
#include "support/manual_clock.hpp"
#include "support/scratch_dir.hpp"
#include "support/simulated_fleet.hpp"

using namespace flotilla;
using namespace flotilla::test;
namespace fs = std::filesystem;

namespace {

// Four hosts in two pairs, each with a history of two succeeded deploys
// (r1, then r2): a rollback takes them back to r1.
struct WorkflowFixture {
  WorkflowFixture() : fleet(4), transport(fake) {
    fake.respond(fleet.responder());
    fleet.place("r2", {"r1"});
    auto inventory = load_ansible_yaml_inventory(
        dir.write("hosts.yaml",
                  "all:\n  hosts:\n"
                  "    h1: {flotilla_pair: a}\n    h2: {flotilla_pair: a}\n"
                  "    h3: {flotilla_pair: b}\n    h4: {flotilla_pair: b}\n")
            .string());
    REQUIRE(inventory);
    Project project;
    project.path = (dir.path / "flotilla.yaml").string();
    project.dir = dir.path.string();
    project.state_dir = (dir.path / "state").string();
    Environment env;
    env.name = "int";
    project.environments.push_back(env);
    Unit unit;
    unit.name = "app";
    unit.deploy_to = "/srv/app";
    unit.start = "start";
    unit.health = HealthCheck{"probe"};
    unit.rollout.batch = {HostCount{2, false}};
    unit.rollout.max_unavailable = HostCount{50, true};
    project.units.push_back(unit);
    targets.project = std::move(project);
    targets.environment = &targets.project->environments.front();
    targets.inventory = std::move(*inventory);
    targets.hosts = {0, 1, 2, 3};
    for (long id : {1L, 2L}) {
      Snapshot s;
      s.id = id;
      s.environment = "int";
      s.unit = "app";
      s.kind = ChangeKind::kDeploy;
      s.artifact = "r" + std::to_string(id);
      s.outcome = "succeeded";
      s.started = "2026-11-0" + std::to_string(id) + "T00:00:00Z";
      for (std::size_t h = 0; h < 4; ++h) {
        std::string name = "h" + std::to_string(h + 1);
        s.hosts[name] = {id == 1 ? "" : "r1", s.artifact, "", "", "updated"};
      }
      for (std::size_t h = 0; h < 4; ++h) {
        fleet.hosts[h].history.push_back(s.for_host("h" + std::to_string(h + 1)).dump());
      }
    }
    fleet.counter = 2;
  }
  ~WorkflowFixture() { std::fclose(events); }

  ChangeContext context() {
    return ChangeContext{
        targets,
        [this](const Targets&,
               const std::vector<std::size_t>& hosts) -> Result<std::unique_ptr<Transport>> {
          ++connections;
          return std::unique_ptr<Transport>(
              std::make_unique<IndexMappingTransport>(transport, hosts));
        },
        GitAccess{},
        reporter,
        [this] { return transport.interrupted(); },
        [] { return std::vector<std::string>(); },
        nullptr,
        &clock};
  }

  ChangeRequest rollback() {
    ChangeRequest r;
    r.kind = ChangeKind::kRollback;
    r.unit = "app";
    return r;
  }

  std::vector<Snapshot> ledger() {
    auto all = Ledger(targets.project->state_dir, "int").list("app");
    REQUIRE(all);
    return *all;
  }

  std::size_t commands_running(HostScript script) const {
    std::size_t n = 0;
    for (const auto& call : fake.calls) n += call.command.script == script;
    return n;
  }

  ScratchDir dir;
  SimulatedFleet fleet;
  FakeTransport fake;
  FaultInjectingTransport transport;
  Targets targets;
  int connections = 0;
  ManualClock clock{1'800'000'000};
  std::FILE* events = std::tmpfile();
  Reporter reporter{ReporterOptions{.json = true}, events, events};
};

}  // namespace

TEST_CASE("change workflow: a rollback under the lock, recorded locally and on every host") {
  WorkflowFixture f;
  auto outcome = run_change(f.context(), f.rollback());
  REQUIRE(outcome);
  CHECK(outcome->ok());
  for (const auto& h : f.fleet.hosts) CHECK(h.current == "r1");
  CHECK_FALSE(f.fleet.lock_holder);  // released
  auto ledger = f.ledger();
  REQUIRE(ledger.size() == 3);
  const Snapshot& s = ledger.back();
  CHECK(s.id == 3);  // from the lock host's counter
  CHECK(s.kind == ChangeKind::kRollback);
  CHECK(s.restores == 1);
  CHECK(s.outcome == "succeeded");
  CHECK(s.hosts.at("h3").after == "r1");
  // Each host recorded itself as its activation ended: no round trip after
  // the last batch.
  CHECK(f.commands_running(HostScript::kFinish) == 0);
  for (const auto& h : f.fleet.hosts) {
    CHECK(h.history.size() == 3);
    auto line = nlohmann::json::parse(h.history.back());
    CHECK(line["id"] == 3);
    CHECK(line["outcome"] == "succeeded");
  }
}

TEST_CASE("change workflow: a held lock refuses the change before any host is read") {
  WorkflowFixture f;
  f.fleet.lock_holder = R"({"user": "alice", "controller": "ci-7", "pid": 42, "token": "x"})";
  auto outcome = run_change(f.context(), f.rollback());
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().kind == ErrorKind::kLocked);
  CHECK(outcome.error().message.find("alice@ci-7") != std::string::npos);
  CHECK(f.commands_running(HostScript::kSurvey) == 0);
  CHECK(f.commands_running(HostScript::kActivate) == 0);
  CHECK(f.fleet.lock_holder->find("alice") != std::string::npos);  // still theirs
}

TEST_CASE("change workflow: a failed change is recorded as failed and the lock released") {
  WorkflowFixture f;
  f.fleet.fails_health = [](std::size_t, const std::string& release) { return release == "r1"; };
  auto outcome = run_change(f.context(), f.rollback());
  REQUIRE(outcome);
  CHECK(outcome->worst() == ErrorKind::kFailed);
  CHECK(exit_code_for(*outcome) == 1);
  CHECK_FALSE(f.fleet.lock_holder);
  CHECK(f.ledger().back().outcome == "failed");
  for (const auto& h : f.fleet.hosts) CHECK(h.current == "r2");  // the canary went back
  // Every host's last line says how the change ended.
  for (const auto& h : f.fleet.hosts) {
    CHECK(nlohmann::json::parse(h.history.back())["outcome"] == "failed");
  }
}

TEST_CASE("change workflow: an exception at any step under the lock never leaves it held") {
  // Every step a rollback takes once it holds the lock.
  for (HostScript script : {HostScript::kLockCounter, HostScript::kSurvey, HostScript::kSnapshotId,
                            HostScript::kActivate, HostScript::kFinish}) {
    const std::string label(host_script_name(script));
    CAPTURE(label);
    WorkflowFixture f;
    f.transport.throw_at(script, 1);
    if (script ==
        HostScript::kFinish) {  // a failed change: every host is finished after its batches
      f.fleet.fails_health = [](std::size_t, const std::string& release) {
        return release == "r1";
      };
    }
    Result<Outcome> outcome;
    CHECK_NOTHROW(outcome = run_change(f.context(), f.rollback()));
    if (f.fleet.lock_holder) {
      FAIL_CHECK("the lock is still held after an exception at ", label);
    }
    if (outcome) {
      CHECK(exit_code_for(*outcome) != 0);
    } else {
      CHECK(outcome.error().message.find("injected exception") != std::string::npos);
    }
  }
}

TEST_CASE("change workflow: an unreachable host stops the change before anything changes") {
  WorkflowFixture f;
  f.transport.drop_host_at(2, 1);  // h3 never answers
  auto outcome = run_change(f.context(), f.rollback());
  REQUIRE(outcome);
  CHECK(outcome->worst() == ErrorKind::kUnreachable);
  CHECK(exit_code_for(*outcome) == 4);
  CHECK(f.commands_running(HostScript::kActivate) == 0);
  CHECK_FALSE(f.fleet.lock_holder);
  CHECK(f.ledger().size() == 2);  // nothing ran, nothing recorded
}

TEST_CASE("change workflow: a host answering garbage changes nothing anywhere") {
  WorkflowFixture f;
  f.transport.garbage_from(1, HostScript::kSurvey);
  auto outcome = run_change(f.context(), f.rollback());
  REQUIRE(outcome);
  CHECK(outcome->worst() == ErrorKind::kFailed);
  CHECK(f.commands_running(HostScript::kActivate) == 0);
  CHECK_FALSE(f.fleet.lock_holder);
}

TEST_CASE("change workflow: Ctrl-C mid-rollout records 'interrupted' everywhere, unlocks") {
  WorkflowFixture f;
  f.transport.interrupt_after(HostScript::kActivate, 2);
  auto outcome = run_change(f.context(), f.rollback());
  REQUIRE(outcome);
  CHECK(outcome->worst() == ErrorKind::kFailed);
  CHECK(f.ledger().back().outcome == "interrupted");
  CHECK_FALSE(f.fleet.lock_holder);
  // The transport resumed for the bookkeeping round trip: every host recorded it.
  for (const auto& h : f.fleet.hosts) {
    CHECK(nlohmann::json::parse(h.history.back())["outcome"] == "interrupted");
  }
}

TEST_CASE("change workflow: nothing to do when every host is already there") {
  WorkflowFixture f;
  ChangeRequest request = f.rollback();
  request.to = 2;
  auto outcome = run_change(f.context(), request);
  REQUIRE(outcome);
  CHECK(outcome->ok());
  CHECK(f.commands_running(HostScript::kActivate) == 0);
  CHECK(f.ledger().size() == 2);
  CHECK_FALSE(f.fleet.lock_holder);
}

TEST_CASE("deploy lock: one holder, released only by its token, or by force") {
  SimulatedFleet fleet(1);
  FakeTransport fake;
  fake.respond(fleet.responder());
  DeployLock lock(fake, 0, "prod");
  auto mine = lock.acquire("OPS-1", "deploy app", Duration{0});
  REQUIRE(mine);
  auto theirs = lock.acquire("OPS-2", "deploy other", Duration{0});
  REQUIRE_FALSE(theirs);
  CHECK(theirs.error().kind == ErrorKind::kLocked);
  CHECK(theirs.error().message.find("OPS-1") != std::string::npos);
  auto wrong = lock.release("not-the-token", false);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().kind == ErrorKind::kLocked);
  CHECK(lock.release(mine->token, false));
  CHECK_FALSE(fleet.lock_holder);
  REQUIRE(lock.acquire("", "by hand", Duration{0}, true));
  CHECK(lock.release("", true));  // --force
  CHECK_FALSE(fleet.lock_holder);
}

TEST_CASE("deploy lock: a holder whose process is gone from this machine is shown stale") {
  LockHolder h;
  h.user = "ci";
  h.controller = controller_host();
  h.pid = 999999;  // above the default pid_max: never a live process
  CHECK(DeployLock::describe(h).find("STALE") != std::string::npos);
  h.pid = ::getpid();
  CHECK(DeployLock::describe(h).find("STALE") == std::string::npos);
  h.controller = "another-machine";
  h.pid = 999999;
  CHECK(DeployLock::describe(h).find("STALE") == std::string::npos);  // cannot judge from here
}

TEST_CASE("deploy lock: snapshot ids count up, above the highest id seen") {
  SimulatedFleet fleet(1);
  FakeTransport fake;
  fake.respond(fleet.responder());
  DeployLock lock(fake, 0, "prod");
  CHECK(lock.next_snapshot_id(0) == 1);
  CHECK(lock.next_snapshot_id(0) == 2);
  CHECK(lock.next_snapshot_id(40) == 41);
}

namespace {

// Host `index`'s copy of snapshot `id`, forged: it names every host.
std::string forged(long id, const std::string& artifact) {
  Snapshot s;
  s.id = id;
  s.environment = "int";
  s.unit = "app";
  s.kind = ChangeKind::kDeploy;
  s.artifact = artifact;
  s.outcome = "succeeded";
  for (int h = 1; h <= 4; ++h)
    s.hosts["h" + std::to_string(h)] = {"r1", artifact, "", "", "updated"};
  return s.to_json().dump();
}

}  // namespace

TEST_CASE("change workflow: one host's forged record cannot steer the fleet's rollback") {
  WorkflowFixture f;
  for (auto& h : f.fleet.hosts) h.releases.insert("evil");
  // h1 rewrites its copy of snapshot 1 to say every host ran "evil" then.
  f.fleet.hosts[0].history[0] = forged(1, "evil");
  auto outcome = run_change(f.context(), f.rollback());
  for (std::size_t i = 0; i < 4; ++i) CHECK(f.fleet.hosts[i].current != "evil");
  // The hosts disagree on what snapshot 1 was: it is no rollback target.
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().message.find("nothing to roll back to") != std::string::npos);
  CHECK(f.ledger().front().outcome == "disputed");
}

TEST_CASE("change workflow: a record numbered past the lock host's counter is ignored") {
  WorkflowFixture f;
  for (auto& h : f.fleet.hosts) h.releases.insert("evil");
  // Newer than anything: the rollback would stand "after" it and go nowhere.
  f.fleet.hosts[0].history.push_back(forged(50, "evil"));
  auto outcome = run_change(f.context(), f.rollback());
  REQUIRE(outcome);
  CHECK(outcome->ok());
  for (const auto& h : f.fleet.hosts) CHECK(h.current == "r1");
  for (const auto& s : f.ledger()) CHECK(s.id != 50);
}

TEST_CASE("change workflow: a second Ctrl-C mid-step still records the change and unlocks") {
  WorkflowFixture f;
  f.transport.abandon_at(HostScript::kActivate, 2);
  auto outcome = run_change(f.context(), f.rollback());
  REQUIRE(outcome);
  CHECK(outcome->worst() == ErrorKind::kFailed);
  CHECK_FALSE(f.fleet.lock_holder);
  const Snapshot last = f.ledger().back();
  CHECK(last.outcome == "interrupted");
  std::size_t unknown = 0;
  for (const auto& [host, record] : last.hosts) {
    if (record.outcome == "failed") {
      CHECK(record.after.empty());  // where it stands is unknown: never a rollback target
      ++unknown;
    }
  }
  CHECK(unknown == 1);
  CHECK(f.commands_running(HostScript::kActivate) ==
        1);  // nothing rolled back, nothing further started
}

TEST_CASE(
    "change workflow: --lock-wait waits on the change's clock and takes the lock once freed") {
  WorkflowFixture f;
  f.fleet.lock_holder = R"({"user": "alice", "controller": "ci-7", "pid": 42, "token": "x"})";
  f.clock.on_sleep = [&f] {
    if (f.clock.sleeps.size() == 3) f.fleet.lock_holder.reset();  // alice finishes
  };
  ChangeRequest request = f.rollback();
  request.lock_wait = std::chrono::minutes(10);
  auto outcome = run_change(f.context(), request);
  REQUIRE(outcome);
  CHECK(outcome->ok());
  CHECK(f.clock.sleeps == std::vector<Duration>(3, std::chrono::seconds(1)));
  for (const auto& h : f.fleet.hosts) CHECK(h.current == "r1");
  CHECK_FALSE(f.fleet.lock_holder);
}

TEST_CASE("change workflow: a lock held past --lock-wait refuses the change when the wait ends") {
  WorkflowFixture f;
  f.fleet.lock_holder = R"({"user": "alice", "controller": "ci-7", "pid": 42, "token": "x"})";
  ChangeRequest request = f.rollback();
  request.lock_wait = std::chrono::minutes(5);
  auto outcome = run_change(f.context(), request);
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().kind == ErrorKind::kLocked);
  CHECK(f.clock.elapsed() >= std::chrono::minutes(5));
  CHECK(f.clock.elapsed() < std::chrono::minutes(5) + std::chrono::seconds(2));
  CHECK(f.commands_running(HostScript::kSurvey) == 0);
  CHECK(f.fleet.lock_holder->find("alice") != std::string::npos);
}

TEST_CASE(
    "change workflow: a freeze window is read on the change's clock; a deploy inside it "
    "touches no host, a rollback still runs") {
  WorkflowFixture f;
  FreezeWindow window;
  window.from = f.clock.wall_seconds() - 60;
  window.to = f.clock.wall_seconds() + 3600;
  window.reason = "launch";
  f.targets.project->environments.front().freeze.push_back(window);
  ChangeRequest deploy;
  deploy.kind = ChangeKind::kDeploy;
  deploy.unit = "app";
  deploy.ref = "master";
  auto refused = run_change(f.context(), deploy);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("frozen") != std::string::npos);
  CHECK(refused.error().message.find("launch") != std::string::npos);
  CHECK(f.connections == 0);
  // Rollback is how an incident ends: never frozen.
  auto rolled = run_change(f.context(), f.rollback());
  REQUIRE(rolled);
  CHECK(rolled->ok());
  // An hour later the window has closed: the deploy is no longer refused
  // for it (it fails further on, for want of a repository here).
  f.clock.advance(std::chrono::hours(1));
  auto later = run_change(f.context(), deploy);
  if (!later) CHECK(later.error().message.find("frozen") == std::string::npos);
}

// ---- Every change kind through the workflow (rollback is above). ----

namespace {

// The unit's source: a git repository with one commit on master, whose
// build copies VERSION into out/.
void give_source(WorkflowFixture& f) {
  fs::path repo = f.dir.path / "src";
  std::string script = fmt::format(
      "set -e; git init -q -b master {0}; cd {0}; printf 'v3\\n' > VERSION; git add VERSION; "
      "git -c user.email=ci@example.com -c user.name=ci commit -q -m three",
      shell_quote(repo.string()));
  REQUIRE(std::system(script.c_str()) == 0);
  Unit& unit = f.targets.project->units.front();
  unit.source.repo = repo.string();
  unit.source.build = "mkdir -p out && cp VERSION out/";
  unit.source.output = "out";
  for (auto& env : f.targets.project->environments) env.branches = {"*"};
}

ChangeRequest change_of(ChangeKind kind, const std::string& ref = "") {
  ChangeRequest r;
  r.kind = kind;
  r.unit = "app";
  r.ref = ref;
  return r;
}

}  // namespace

TEST_CASE("change workflow: a deploy backs up, builds, pushes every host and records a deploy") {
  WorkflowFixture f;
  give_source(f);
  f.targets.project->units.front().backup_command = "dump";
  auto outcome = run_change(f.context(), change_of(ChangeKind::kDeploy, "master"));
  REQUIRE(outcome);
  CHECK(outcome->ok());
  const Snapshot s = f.ledger().back();
  CHECK(s.kind == ChangeKind::kDeploy);
  CHECK(s.id == 3);
  CHECK(s.branch == "master");
  CHECK(s.commit.size() == 40);
  REQUIRE(!s.artifact.empty());
  for (const auto& h : f.fleet.hosts) {
    CHECK(h.current == s.artifact);
    CHECK(h.releases.count("r2"));  // the release it ran stays beside the new one
  }
  CHECK(f.commands_running(HostScript::kAssemble) == 4);
  // The kind backs up first: one backup, before any host changed, recorded.
  REQUIRE(f.fleet.hosts[0].backups.size() == 1);
  REQUIRE(s.backup.is_array());
  CHECK(s.backup[0].value("location", "") == f.fleet.hosts[0].backups[0]);
  CHECK_FALSE(f.fleet.lock_holder);
}

TEST_CASE(
    "change workflow: a hotfix is recorded as a hotfix, and waits for players as a deploy "
    "does while a rollback does not") {
  WorkflowFixture f;
  give_source(f);
  f.targets.project->units.front().drain.players = "count-players";
  ChangeRequest hotfix = change_of(ChangeKind::kHotfix, "master");
  hotfix.ticket = "OPS-9";
  auto outcome = run_change(f.context(), hotfix);
  REQUIRE(outcome);
  CHECK(outcome->ok());
  CHECK(f.ledger().back().kind == ChangeKind::kHotfix);
  CHECK(f.ledger().back().ticket == "OPS-9");
  CHECK(f.fleet.hosts[2].last_activation.count("--players"));
  auto back = run_change(f.context(), f.rollback());
  REQUIRE(back);
  CHECK(back->ok());
  CHECK(f.fleet.hosts[2].current == "r2");
  CHECK_FALSE(f.fleet.hosts[2].last_activation.count("--players"));
}

TEST_CASE("change workflow: a config push sends the project's files and keeps every release") {
  WorkflowFixture f;
  f.dir.write("app.yaml", "level: 3\n");
  f.targets.project->units.front().config_files = {"app.yaml"};
  auto outcome = run_change(f.context(), change_of(ChangeKind::kConfig));
  REQUIRE(outcome);
  CHECK(outcome->ok());
  const Snapshot s = f.ledger().back();
  CHECK(s.kind == ChangeKind::kConfig);
  REQUIRE(s.config.size() == 64);
  for (const auto& h : f.fleet.hosts) {
    CHECK(h.current == "r2");
    CHECK(h.configs.count(s.config));
    CHECK(h.last_activation.at("--config") == s.config);
  }
  // Pushed again: every host has it, nothing to do, nothing recorded.
  auto again = run_change(f.context(), change_of(ChangeKind::kConfig));
  REQUIRE(again);
  CHECK(again->ok());
  CHECK(f.ledger().back().id == s.id);
}

TEST_CASE(
    "change workflow: a restore backs up first, then brings the recorded backup back on the "
    "host that took it, and is never a rollback target") {
  WorkflowFixture f;
  Unit& unit = f.targets.project->units.front();
  unit.backup_command = "dump";
  unit.restore_command = "load {{backup}}";
  // Snapshot 3: a deploy of r2 whose backup h1 took.
  Snapshot with_backup;
  with_backup.id = 3;
  with_backup.environment = "int";
  with_backup.unit = "app";
  with_backup.kind = ChangeKind::kDeploy;
  with_backup.artifact = "r2";
  with_backup.outcome = "succeeded";
  with_backup.started = "2026-11-03T00:00:00Z";
  with_backup.backup =
      nlohmann::json::array({{{"host", "h1"}, {"ok", true}, {"location", "/backups/h1-before"}}});
  for (std::size_t h = 0; h < 4; ++h) {
    std::string name = "h" + std::to_string(h + 1);
    with_backup.hosts[name] = {"r2", "r2", "", "", "unchanged"};
    f.fleet.hosts[h].history.push_back(with_backup.for_host(name).dump());
  }
  f.fleet.counter = 3;
  ChangeRequest restore = change_of(ChangeKind::kRestore);
  restore.to = 3;
  auto outcome = run_change(f.context(), restore);
  REQUIRE(outcome);
  CHECK(outcome->ok());
  const Snapshot s = f.ledger().back();
  CHECK(s.kind == ChangeKind::kRestore);
  CHECK(s.restores == 3);
  // What it replaces was backed up first; then the recorded backup came back.
  CHECK(f.fleet.hosts[0].backups.size() == 1);
  CHECK(f.fleet.hosts[0].last_activation.at("--backup") == "/backups/h1-before");
  CHECK(f.fleet.hosts[0].last_activation.count("--restore"));
  for (std::size_t h = 1; h < 4; ++h) CHECK(f.fleet.hosts[h].activations.empty());
  // A rollback looks past the restore: to the snapshot before the one it stands at.
  auto ledger = f.ledger();
  REQUIRE(ledger.back().id == 4);
  auto target = rollback_target(ledger, std::nullopt);
  REQUIRE(target);
  CHECK((*target)->id == 2);
}

TEST_CASE(
    "change workflow: a rehearsal builds under the rehearsed environment's policy and is "
    "recorded even when no host changes") {
  WorkflowFixture f;
  give_source(f);
  Environment prod;
  prod.name = "prod";
  prod.branches = {"release/*"};
  f.targets.project->environments.push_back(prod);
  f.targets.environment = &f.targets.project->environments.front();
  ChangeRequest rehearse = change_of(ChangeKind::kRehearsal, "master");
  rehearse.policy_environment = "prod";
  rehearse.rehearsal = {{"like", "prod"}, {"from", nullptr}};
  // master is not a branch prod takes: refused, nothing changed.
  auto refused = run_change(f.context(), rehearse);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("prod") != std::string::npos);
  CHECK(f.commands_running(HostScript::kActivate) == 0);
  f.targets.project->environments.back().branches = {"master"};
  auto outcome = run_change(f.context(), rehearse);
  REQUIRE(outcome);
  CHECK(outcome->ok());
  const Snapshot s = f.ledger().back();
  CHECK(s.kind == ChangeKind::kRehearsal);
  CHECK(s.rehearsal.value("like", "") == "prod");
  CHECK(s.rehearsal["to"].value("release", "") == s.artifact);
  // Again from the same state: no host changes, and still it is evidence.
  const std::size_t activations = f.commands_running(HostScript::kActivate);
  auto again = run_change(f.context(), rehearse);
  REQUIRE(again);
  CHECK(again->ok());
  CHECK(f.commands_running(HostScript::kActivate) == activations);
  CHECK(f.ledger().back().id == s.id + 1);
  CHECK(f.ledger().back().kind == ChangeKind::kRehearsal);
}

TEST_CASE(
    "change workflow: prod refuses a release that has not soaked in the environment it names, "
    "before any host changes, and takes it once the clock has moved past min") {
  WorkflowFixture f;
  Environment prod;
  prod.name = "prod";
  prod.require_soak = SoakRule{"int", std::chrono::hours(24), false, {}};
  f.targets.project->environments.push_back(prod);
  give_source(f);
  // "int" plays loadtest: the release runs there first.
  f.targets.environment = &f.targets.project->environments.front();
  auto first = run_change(f.context(), change_of(ChangeKind::kDeploy, "master"));
  REQUIRE(first);
  REQUIRE(first->ok());
  const std::string soaking = f.ledger().back().artifact;
  // prod's hosts (the same simulated machines) run r2 again.
  f.fleet.place("r2", {"r1"});
  f.targets.environment = &f.targets.project->environments.back();
  f.clock.advance(std::chrono::hours(3) + std::chrono::minutes(12));
  const std::size_t assembled = f.commands_running(HostScript::kAssemble);
  auto refused = run_change(f.context(), change_of(ChangeKind::kDeploy, "master"));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == ErrorKind::kBadInput);
  CHECK(refused.error().message.find("app: in int for 3h12m of 24h") != std::string::npos);
  CHECK(f.commands_running(HostScript::kAssemble) == assembled);
  for (const auto& h : f.fleet.hosts) CHECK(h.current == "r2");

  f.clock.advance(std::chrono::hours(21));
  auto taken = run_change(f.context(), change_of(ChangeKind::kDeploy, "master"));
  REQUIRE(taken);
  CHECK(taken->ok());
  for (const auto& h : f.fleet.hosts) CHECK(h.current == soaking);
}
