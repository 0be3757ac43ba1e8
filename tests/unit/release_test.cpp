// Releases as values: which unit changes a command makes, what `rollback
// --release` returns to, what another environment runs, whether a
// rehearsal covers a change, and the tar streams a release is imported from.
#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>

#include "core/tar_extract.hpp"
#include "playbooks/change/rehearsal_check.hpp"
#include "playbooks/change/release.hpp"
#include "snapshots/ledger.hpp"
#include "support/scratch_dir.hpp"

namespace flotilla {
namespace {

Snapshot record(long id, const std::string& unit, const std::string& kind, const std::string& to,
                long release = 0, const std::string& outcome = "succeeded") {
  Snapshot s;
  s.id = id;
  s.environment = "prod";
  s.unit = unit;
  s.kind = *parse_change_kind(kind);
  s.outcome = outcome;
  s.release = release;
  s.artifact = to;
  s.finished = "2026-11-30T12:00:00Z";
  for (const char* host : {"a", "b"}) s.hosts[host] = {"", to, "", "cfg", "updated"};
  return s;
}

Project project_in(const ScratchDir& dir) {
  Project p;
  p.path = (dir.path / "flotilla.yaml").string();
  p.state_dir = (dir.path / "state").string();
  for (const char* name : {"int", "prod"}) {
    Environment env;
    env.name = name;
    p.environments.push_back(env);
  }
  p.environments[1].require_rehearsal = RehearsalRule{"int", std::chrono::hours(24 * 7), {3, 5}};
  for (const char* name : {"reward", "payment", "gm"}) {
    Unit u;
    u.name = name;
    p.units.push_back(u);
  }
  return p;
}

}  // namespace

TEST_CASE("rollback --release: each unit of the release back to before it, newest first") {
  std::vector<Snapshot> ledger = {
      record(1, "reward", "deploy", "r1"), record(2, "payment", "deploy", "p1"),
      record(3, "reward", "deploy", "r2", 3), record(4, "payment", "deploy", "p2", 3, "failed"),
      record(5, "reward", "rollback", "r1", 3)};
  ChangeRequest base;
  base.ticket = "INC-1";
  auto changes = release_rollback(ledger, 3, base);
  REQUIRE(changes);
  REQUIRE(changes->size() == 2);
  CHECK((*changes)[0].unit == "payment");
  CHECK((*changes)[0].to == 2);
  CHECK((*changes)[1].unit == "reward");
  CHECK((*changes)[1].to == 1);
  CHECK((*changes)[1].kind == ChangeKind::kRollback);
  CHECK((*changes)[1].ticket == "INC-1");

  CHECK(release_rollback(ledger, 9, base).error().message.find("no release 9") !=
        std::string::npos);
  ledger.push_back(record(6, "gm", "deploy", "g1", 6));
  auto first_time = release_rollback(ledger, 6, base);
  REQUIRE(!first_time);
  CHECK(first_time.error().message.find("for the first time") != std::string::npos);
}

TEST_CASE("what an environment runs: its newest succeeded snapshot, one artifact") {
  ScratchDir dir;
  Project project = project_in(dir);
  Ledger ledger(project.state_dir, "int");
  CHECK(!*running_in(project, "int", "reward"));  // never ran it
  REQUIRE(ledger.save(record(1, "reward", "deploy", "r1")));
  REQUIRE(ledger.save(record(2, "reward", "deploy", "r2", 2, "failed")));
  auto running = running_in(project, "int", "reward");
  REQUIRE(running);
  REQUIRE(*running);
  CHECK((*running)->release == "r1");  // the failed one is not where it stands
  CHECK((*running)->config == "cfg");
  CHECK((*running)->snapshot == 1);

  Snapshot split = record(3, "reward", "hotfix", "r3");
  split.hosts["b"] = {"r1", "r1", "cfg", "cfg", "unchanged"};
  REQUIRE(ledger.save(split));
  auto mixed = running_in(project, "int", "reward");
  REQUIRE(!mixed);
  CHECK(mixed.error().message.find("different releases") != std::string::npos);
}

TEST_CASE("a rehearsal resets to the rehearsed environment's state, then applies the change") {
  ScratchDir dir;
  Project project = project_in(dir);
  project.release_order = {"payment", "reward"};
  REQUIRE(Ledger(project.state_dir, "prod").save(record(1, "payment", "deploy", "p1")));
  ReleaseSpec spec;
  spec.kind = ChangeKind::kRehearsal;
  spec.all = true;
  spec.like = "prod";
  spec.ref = "master";
  auto release = make_release(project, project.environments[0], spec);
  REQUIRE(release);
  // payment is reset to what prod runs; prod never ran reward: nothing to reset to.
  REQUIRE(release->changes.size() == 3);
  CHECK(release->changes[0].unit == "payment");
  CHECK(release->changes[0].stored->release == "p1");
  CHECK(!release->changes[0].check_branches);
  CHECK(release->changes[1].kind == ChangeKind::kRehearsal);
  CHECK(release->changes[1].policy_environment == "prod");
  CHECK(release->changes[1].rehearsal["from"]["release"] == "p1");
  CHECK(release->changes[2].unit == "reward");
  CHECK(release->changes[2].rehearsal["from"].is_null());

  spec.like = "int";
  CHECK(!make_release(project, project.environments[0], spec));  // rehearsing itself
  ReleaseSpec promote;
  promote.units = {"reward"};
  promote.from = "int";
  auto never = make_release(project, project.environments[1], promote);
  REQUIRE(!never);
  CHECK(never.error().message.find("int never succeeded with reward") != std::string::npos);
}

TEST_CASE("require_rehearsal: from exactly this state, to exactly this change, recently") {
  ScratchDir dir;
  Project project = project_in(dir);
  const Environment& prod = project.environments[1];
  DeployPlan plan;
  plan.unit = "reward";
  plan.environment = "prod";
  plan.artifact = "r2";
  plan.config = "cfg";
  for (const char* host : {"a", "b"}) {
    HostPlan h;
    h.host = host;
    h.current = "r1";
    h.current_config = "cfg";
    h.change = true;
    plan.hosts.push_back(h);
  }
  plan.batches = {{true, {"a"}}, {false, {"b"}}};
  ChangeRequest deploy;
  deploy.unit = "reward";
  const std::int64_t now = 1796040000;  // 2026-11-30T12:00:00Z

  RehearsalEvidence none = rehearsal_evidence(project, prod, deploy, plan, now);
  CHECK(none.required);
  CHECK(none.missing == "never rehearsed in int");

  Ledger int_ledger(project.state_dir, "int");
  Snapshot rehearsal = record(4, "reward", "rehearsal", "r2");
  rehearsal.rehearsal = {{"like", "prod"},
                         {"from", {{"release", "r1"}, {"config", "cfg"}}},
                         {"to", {{"release", "r2"}, {"config", "cfg"}}}};
  REQUIRE(int_ledger.save(rehearsal));
  RehearsalEvidence ok = rehearsal_evidence(project, prod, deploy, plan, now);
  CHECK(ok.snapshot == 4);
  CHECK(ok.missing.empty());

  CHECK(rehearsal_evidence(project, prod, deploy, plan, now + 8 * 86400).missing.find("max_age") !=
        std::string::npos);
  DeployPlan moved = plan;
  for (auto& h : moved.hosts) h.current = "r0";
  CHECK(rehearsal_evidence(project, prod, deploy, moved, now).missing.find("prod changed since") !=
        std::string::npos);
  DeployPlan other = plan;
  other.artifact = "r3";
  CHECK(rehearsal_evidence(project, prod, deploy, other, now).missing.find("went to") !=
        std::string::npos);
  other.hosts[1].current = "r9";
  CHECK(rehearsal_evidence(project, prod, deploy, other, now).missing.find("different releases") !=
        std::string::npos);

  // Rollbacks and config pushes are never held up; a hotfix only when the rule says so.
  ChangeRequest rollback = deploy;
  rollback.kind = ChangeKind::kRollback;
  CHECK(!rehearsal_evidence(project, prod, rollback, plan, now).required);
  ChangeRequest hotfix = deploy;
  hotfix.kind = ChangeKind::kHotfix;
  CHECK(!rehearsal_evidence(project, prod, hotfix, plan, now).required);
}

TEST_CASE("a release's tar stream is unpacked only inside its directory") {
  ScratchDir dir;
  dir.write("tree/bin/game", "binary");
  dir.write("outside", "x");
  const std::string root = dir.path.string();
  auto tar = [&](const std::string& args) {
    return std::system(("cd " + root + " && tar " + args + " 2>/dev/null").c_str());
  };
  REQUIRE(tar("-C tree -cf good.tar .") == 0);
  std::filesystem::create_directories(dir.path / "good");
  REQUIRE(extract_tar_securely(root + "/good.tar", root + "/good", 1 << 20));
  CHECK(std::filesystem::exists(dir.path / "good/bin/game"));
  CHECK(!extract_tar_securely(root + "/good.tar", root + "/small", 3));  // over the size limit

  REQUIRE(tar("-C tree -cPf dotdot.tar ../outside") == 0);
  std::filesystem::create_directories(dir.path / "dotdot");
  auto dotdot = extract_tar_securely(root + "/dotdot.tar", root + "/dotdot", 1 << 20);
  CHECK(!dotdot);

  REQUIRE(tar("-cPf absolute.tar " + root + "/outside") == 0);
  std::filesystem::create_directories(dir.path / "absolute");
  CHECK(!extract_tar_securely(root + "/absolute.tar", root + "/absolute", 1 << 20));

  // A link the stream makes is never written through.
  dir.write("linked/x", "x");
  std::filesystem::create_directory_symlink("/tmp", dir.path / "linked/tmp");
  REQUIRE(tar("-C linked -cf through.tar tmp --transform=s,^x,tmp/flotilla-escape, x") == 0);
  std::filesystem::create_directories(dir.path / "through");
  CHECK(!extract_tar_securely(root + "/through.tar", root + "/through", 1 << 20));
  CHECK(!std::filesystem::exists("/tmp/flotilla-escape"));

  std::filesystem::create_hard_link(dir.path / "tree/bin/game", dir.path / "tree/bin/copy");
  REQUIRE(tar("-C tree -cf links.tar .") == 0);
  std::filesystem::create_directories(dir.path / "links");
  CHECK(!extract_tar_securely(root + "/links.tar", root + "/links", 1 << 20));
}

}  // namespace flotilla
