// The rollout through a simulated fleet and injected faults: batches,
// canary, max_failures, lost hosts, Ctrl-C, pairs. Milliseconds, no root.
#include "playbooks/rollout.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <set>

#include "support/fault_injection.hpp"
#include "support/manual_clock.hpp"
#include "support/recording_observer.hpp"
#include "support/simulated_fleet.hpp"

using namespace flotilla;
using namespace flotilla::test;

namespace {

// N hosts h1..hN in pairs (h1,h2), (h3,h4)...; every host runs r1 and keeps r2.
struct RolloutFixture {
  explicit RolloutFixture(std::size_t n) : fleet(n), transport(fake) {
    fake.respond(fleet.responder());
    fleet.place("r1", {"r2"});
    unit.name = "app";
    unit.deploy_to = "/srv/app";
    unit.start = "start";
    unit.health = HealthCheck{"probe"};
    unit.rollout.canary = 1;
    unit.rollout.batch = {HostCount{2, false}};
    unit.rollout.max_unavailable = HostCount{50, true};
    env.name = "int";
    for (std::size_t i = 0; i < n; ++i) {
      std::string name = "h" + std::to_string(i + 1);
      targets.push_back({name, "pair" + std::to_string(i / 2)});
      hosts[name] = RolloutHost{i, {{"host", name}}, {}};
    }
  }

  DeployPlan plan_to(const std::string& release) {
    std::vector<std::size_t> all;
    for (std::size_t i = 0; i < targets.size(); ++i) all.push_back(i);
    auto surveys = survey_hosts(transport, all, HostLayout{unit.deploy_to}, {});
    return make_plan(
        ChangeKind::kDeploy, unit, env, nullptr, targets, surveys, transport,
        [release](const std::string&, const HostState&) {
          return std::optional<HostTarget>(HostTarget{release, "", "", "c0ffee", "master"});
        },
        [](const std::string&) -> Result<Manifest> {
          return fail(ErrorKind::kFailed, "no artifact store in this test");
        });
  }

  RolloutResult run(
      const DeployPlan& plan, std::function<bool()> interrupted = [] { return false; }) {
    for (auto& [name, host] : hosts) {
      for (const auto& h : plan.hosts) {
        if (h.host == name) host.previous_state = h.state;
      }
    }
    RolloutIo io{transport, observer, clock, std::move(interrupted)};
    return execute_rollout(plan, unit, {}, hosts, 7, io);
  }

  std::vector<std::string> running(const std::string& release) const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < fleet.hosts.size(); ++i) {
      if (fleet.hosts[i].current == release) out.push_back(targets[i].name);
    }
    return out;
  }

  // Hosts in the order their first activation ran.
  std::vector<std::string> activated() const {
    std::vector<std::string> out;
    for (const auto& call : fake.calls) {
      if (call.command.script == HostScript::kActivate) out.push_back(targets[call.host].name);
    }
    return out;
  }

  SimulatedFleet fleet;
  FakeTransport fake;
  FaultInjectingTransport transport;
  Unit unit;
  Environment env;
  std::vector<PlanTarget> targets;
  std::map<std::string, RolloutHost> hosts;
  RecordingObserver observer;
  ManualClock clock;
};

HostOutcome::State state_of(const RolloutResult& r, const std::string& host) {
  for (const auto& h : r.hosts) {
    if (h.host == host) return h.state;
  }
  FAIL("no such host " << host);
  return HostOutcome::State::kUnchanged;
}

}  // namespace

TEST_CASE("rollout: every host updated, canary first, batches in plan order") {
  RolloutFixture f(6);
  DeployPlan plan = f.plan_to("r2");
  REQUIRE(plan.complete());
  REQUIRE(plan.batches.size() == 4);  // canary, then batches of two
  CHECK(plan.batches[0].canary);
  CHECK(plan.batches[0].hosts.size() == 1);
  RolloutResult r = f.run(plan);
  CHECK(r.ok);
  CHECK(f.running("r2").size() == 6);
  std::vector<std::string> order;
  for (const auto& b : plan.batches) order.insert(order.end(), b.hosts.begin(), b.hosts.end());
  CHECK(f.activated() == order);
  // Each host records the snapshot that put it there.
  CHECK(f.fleet.hosts[0].state["current"]["snapshot"] == 7);
  CHECK(f.fleet.hosts[0].state["previous"]["release"] == "r1");
}

TEST_CASE("rollout: a failed canary is rolled back and no other host is touched") {
  RolloutFixture f(6);
  DeployPlan plan = f.plan_to("r2");
  std::string canary = plan.batches[0].hosts[0];
  f.fleet.fails_health = [&](std::size_t host, const std::string& release) {
    return f.targets[host].name == canary && release == "r2";
  };
  RolloutResult r = f.run(plan);
  CHECK_FALSE(r.ok);
  CHECK(r.summary.find("(canary)") != std::string::npos);
  CHECK(state_of(r, canary) == HostOutcome::State::kRolledBack);
  CHECK(f.running("r1").size() == 6);
  CHECK(f.activated() == std::vector<std::string>{canary, canary});  // there and back
  for (const auto& h : plan.hosts) {
    if (h.host != canary) CHECK(state_of(r, h.host) == HostOutcome::State::kNotStarted);
  }
}

TEST_CASE("rollout: a failure in a later batch rolls back that batch only") {
  RolloutFixture f(6);
  DeployPlan plan = f.plan_to("r2");
  std::string bad = plan.batches[2].hosts[0];
  f.fleet.fails_health = [&](std::size_t host, const std::string& release) {
    return f.targets[host].name == bad && release == "r2";
  };
  RolloutResult r = f.run(plan);
  CHECK_FALSE(r.ok);
  for (int b : {0, 1}) {
    for (const auto& h : plan.batches[b].hosts) {
      CHECK(state_of(r, h) == HostOutcome::State::kUpdated);
    }
  }
  for (const auto& h : plan.batches[2].hosts) {
    CHECK(state_of(r, h) == HostOutcome::State::kRolledBack);
  }
  for (const auto& h : plan.batches[3].hosts) {
    CHECK(state_of(r, h) == HostOutcome::State::kNotStarted);
  }
  CHECK(f.running("r2").size() == 3);
}

TEST_CASE("rollout: max_failures tolerates that many failed hosts and goes on") {
  RolloutFixture f(6);
  f.unit.rollout.max_failures = 1;
  DeployPlan plan = f.plan_to("r2");
  std::string bad = plan.batches[1].hosts[0];
  f.fleet.fails_health = [&](std::size_t host, const std::string&) {
    return f.targets[host].name == bad;
  };
  RolloutResult r = f.run(plan);
  CHECK_FALSE(r.ok);  // a host failed...
  CHECK(r.summary.find("1 failed within max_failures") != std::string::npos);
  CHECK(state_of(r, bad) == HostOutcome::State::kFailed);
  CHECK(f.running("r2").size() == 6);  // ...and every batch ran (the failed host is left as is)
}

TEST_CASE("rollout: one failure past max_failures stops at once") {
  RolloutFixture f(6);
  f.unit.rollout.max_failures = 1;
  DeployPlan plan = f.plan_to("r2");
  std::set<std::string> bad = {plan.batches[1].hosts[0], plan.batches[2].hosts[0]};
  f.fleet.fails_health = [&](std::size_t host, const std::string& release) {
    return release == "r2" && bad.count(f.targets[host].name) > 0;
  };
  RolloutResult r = f.run(plan);
  CHECK_FALSE(r.ok);
  CHECK(r.summary.find("batch 3") != std::string::npos);
  for (const auto& h : plan.batches[3].hosts) {
    CHECK(state_of(r, h) == HostOutcome::State::kNotStarted);
  }
}

TEST_CASE("rollout: with auto_rollback off a failed host is left where it failed") {
  RolloutFixture f(4);
  f.unit.rollout.auto_rollback = false;
  DeployPlan plan = f.plan_to("r2");
  std::string canary = plan.batches[0].hosts[0];
  f.fleet.fails_health = [&](std::size_t host, const std::string&) {
    return f.targets[host].name == canary;
  };
  RolloutResult r = f.run(plan);
  CHECK_FALSE(r.ok);
  CHECK(r.summary.find("auto_rollback is off") != std::string::npos);
  CHECK(state_of(r, canary) == HostOutcome::State::kFailed);
  CHECK(f.activated() == std::vector<std::string>{canary});
}

TEST_CASE("rollout: a host lost mid-batch counts as failed; its batch goes back") {
  RolloutFixture f(4);
  DeployPlan plan = f.plan_to("r2");
  std::string lost = plan.batches[1].hosts[0];
  std::size_t index = f.hosts.at(lost).index;
  f.transport.drop_host_at(index, 2);  // survey answered; activation never arrives
  RolloutResult r = f.run(plan);
  CHECK_FALSE(r.ok);
  CHECK(state_of(r, plan.batches[0].hosts[0]) == HostOutcome::State::kUpdated);
  CHECK(state_of(r, lost) == HostOutcome::State::kFailed);  // unreachable: cannot roll back
  for (const auto& h : plan.batches[1].hosts) {
    if (h != lost) CHECK(state_of(r, h) == HostOutcome::State::kRolledBack);
  }
}

TEST_CASE("rollout: a timed-out activation fails the host and stops the rollout") {
  RolloutFixture f(4);
  DeployPlan plan = f.plan_to("r2");
  f.transport.time_out(HostScript::kActivate);
  RolloutResult r = f.run(plan);
  CHECK_FALSE(r.ok);
  CHECK(state_of(r, plan.batches[0].hosts[0]) == HostOutcome::State::kFailed);
  CHECK(f.running("r1").size() == 4);
}

TEST_CASE("rollout: Ctrl-C between batches starts no further batch") {
  RolloutFixture f(6);
  DeployPlan plan = f.plan_to("r2");
  int asked = 0;
  RolloutResult r = f.run(plan, [&] { return ++asked > 2; });  // after two batches
  CHECK_FALSE(r.ok);
  CHECK(r.interrupted);
  CHECK(r.summary.find("interrupted before batch 3") != std::string::npos);
  CHECK(f.running("r2").size() == 3);
  for (const auto& h : plan.batches[2].hosts) {
    CHECK(state_of(r, h) == HostOutcome::State::kNotStarted);
  }
}

TEST_CASE("rollout: Ctrl-C inside a batch finishes the host in flight, starts no other") {
  RolloutFixture f(6);
  DeployPlan plan = f.plan_to("r2");
  f.transport.interrupt_after(HostScript::kActivate, 2);  // the first host of batch 2
  RolloutResult r = f.run(plan);
  CHECK(r.interrupted);
  CHECK(r.summary.find("interrupted in batch 2") != std::string::npos);
  CHECK(state_of(r, plan.batches[1].hosts[0]) == HostOutcome::State::kUpdated);
  CHECK(state_of(r, plan.batches[1].hosts[1]) == HostOutcome::State::kNotStarted);
  CHECK(f.running("r2").size() == 2);
}

TEST_CASE("rollout: a push failure stops before any restart") {
  RolloutFixture f(4);
  f.fleet.place("r1");  // r2 is nowhere yet: every host must assemble it
  DeployPlan plan = f.plan_to("r2");
  for (auto& h : plan.hosts) h.missing.clear();  // the store has every file already
  RolloutSources sources;
  sources.releases["r2"] = {Manifest{"r2", {}, 0, {}}, ""};
  f.transport.drop_host_at(3, 2);  // h4 drops after its survey
  RolloutIo io{f.transport, f.observer, f.clock};
  RolloutResult r = execute_rollout(plan, f.unit, sources, f.hosts, 7, io);
  CHECK_FALSE(r.ok);
  CHECK(r.summary.find("no host was restarted") != std::string::npos);
  CHECK(f.activated().empty());
  CHECK(state_of(r, "h4") == HostOutcome::State::kFailed);
}

TEST_CASE("rollout: no batch holds both hosts of a pair or more than max_unavailable") {
  RolloutFixture f(8);
  f.unit.rollout.batch = {HostCount{100, true}};
  f.unit.rollout.max_unavailable = HostCount{3, false};
  DeployPlan plan = f.plan_to("r2");
  REQUIRE(f.run(plan).ok);
  std::map<std::string, std::string> pair_of;
  for (const auto& t : f.targets) pair_of[t.name] = *t.pair;
  std::size_t updated = 0;
  for (const auto& batch : plan.batches) {
    CHECK(batch.hosts.size() <= 3);
    std::set<std::string> pairs;
    for (const auto& h : batch.hosts) CHECK(pairs.insert(pair_of[h]).second);
    updated += batch.hosts.size();
  }
  CHECK(updated == 8);
}

TEST_CASE("rollout: hosts already on the target are left alone") {
  RolloutFixture f(4);
  f.fleet.hosts[1].current = "r2";
  f.fleet.hosts[1].state["current"]["release"] = "r2";
  DeployPlan plan = f.plan_to("r2");
  RolloutResult r = f.run(plan);
  CHECK(r.ok);
  CHECK(state_of(r, "h2") == HostOutcome::State::kUnchanged);
  CHECK(f.fleet.hosts[1].activations.empty());
}

TEST_CASE(
    "rollout: the canary bakes on the rollout's clock, once, between the canary and the rest") {
  RolloutFixture f(4);
  f.unit.rollout.bake = std::chrono::hours(1);
  RolloutResult r = f.run(f.plan_to("r2"));
  CHECK(r.ok);
  // An hour of bake, slept on the clock the rollout was given: no real hour.
  CHECK(f.clock.sleeps == std::vector<Duration>{std::chrono::hours(1)});
  CHECK(f.observer.said ==
        std::vector<std::string>{"batch 1 started (canary)", "h1 done ok", "batch 1 done, 0 failed",
                                 "baking 3600000ms", "batch 2 started", "h2 done ok", "h3 done ok",
                                 "batch 2 done, 0 failed", "batch 3 started", "h4 done ok",
                                 "batch 3 done, 0 failed", "done ok"});
  bool baked = false;
  for (const auto& [phase, seconds] : r.phases)
    baked = baked || (phase == "bake" && seconds == 3600);
  CHECK(baked);
}

TEST_CASE("rollout: a failed canary never bakes; its batch goes back and the rollout says so") {
  RolloutFixture f(4);
  f.unit.rollout.bake = std::chrono::hours(1);
  DeployPlan plan = f.plan_to("r2");
  REQUIRE(plan.batches[0].hosts == std::vector<std::string>{"h1"});
  f.fleet.fails_health = [&](std::size_t host, const std::string& release) {
    return host == 0 && release == "r2";
  };
  RolloutResult r = f.run(plan);
  CHECK_FALSE(r.ok);
  CHECK(f.clock.sleeps.empty());
  CHECK(f.observer.said == std::vector<std::string>{"batch 1 started (canary)", "h1 done failed",
                                                    "batch 1 done, 1 failed",
                                                    "rolling back batch 1", "h1 rolled back ok",
                                                    "done failed"});
}

TEST_CASE("rollout: a single batch never bakes (nothing follows the canary)") {
  RolloutFixture f(1);
  f.unit.rollout.bake = std::chrono::hours(1);
  CHECK(f.run(f.plan_to("r2")).ok);
  CHECK(f.clock.sleeps.empty());
}

namespace {

// A balancer that writes down each step with how many activations had run
// by then, and fails the hosts a test names.
class RecordingSwitch final : public TrafficSwitch {
 public:
  explicit RecordingSwitch(const RolloutFixture& f) : f_(f) {}
  Failures take_out(const std::vector<std::string>& hosts, RolloutObserver&) override {
    return step("out", hosts, outs++ >= refuse_out_from ? refuse_out : std::set<std::string>{});
  }
  Failures put_back(const std::vector<std::string>& hosts, RolloutObserver&) override {
    return step("back", hosts, never_up);
  }
  Result<void> weigh_canaries(const std::vector<std::string>& canaries, double percent,
                              RolloutObserver&) override {
    log.push_back(fmt::format("weigh {} {}% after {}", fmt::join(canaries, ","), percent,
                              f_.activated().size()));
    weighed = true;
    return {};
  }
  Result<void> restore_weights(RolloutObserver&) override {
    if (weighed) log.push_back(fmt::format("restore after {}", f_.activated().size()));
    weighed = false;
    return {};
  }

  std::vector<std::string> log;
  std::set<std::string> refuse_out, never_up;
  std::size_t refuse_out_from = 0, outs = 0;  // refuse_out applies from this take_out on
  bool weighed = false;

 private:
  Failures step(const char* what, const std::vector<std::string>& hosts,
                const std::set<std::string>& failing) {
    log.push_back(
        fmt::format("{} {} after {}", what, fmt::join(hosts, ","), f_.activated().size()));
    Failures failures;
    for (const auto& h : hosts) {
      if (failing.contains(h)) failures[h] = "balancer lb1: refused";
    }
    return failures;
  }
  const RolloutFixture& f_;
};

RolloutResult run_with(RolloutFixture& f, RecordingSwitch& traffic, const DeployPlan& plan) {
  for (auto& [name, host] : f.hosts) {
    for (const auto& h : plan.hosts) {
      if (h.host == name) host.previous_state = h.state;
    }
  }
  RolloutIo io{f.transport, f.observer, f.clock, [] { return false; }, &traffic};
  return execute_rollout(plan, f.unit, {}, f.hosts, 7, io);
}

}  // namespace

TEST_CASE("rollout with a balancer: each batch leaves rotation before it stops, rejoins after") {
  RolloutFixture f(4);
  RecordingSwitch traffic(f);
  DeployPlan plan = f.plan_to("r2");
  RolloutResult r = run_with(f, traffic, plan);
  CHECK(r.ok);
  CHECK(r.out_of_rotation.empty());
  INFO(fmt::format("{}", fmt::join(traffic.log, " | ")));
  // Canary h1, then h2 and h3 (one of each pair), then h4.
  CHECK(traffic.log == std::vector<std::string>{"out h1 after 0", "back h1 after 1",
                                                "out h2,h3 after 1", "back h2,h3 after 3",
                                                "out h4 after 3", "back h4 after 4"});
}

TEST_CASE("rollout with a balancer: a host it cannot take out fails before it stops") {
  RolloutFixture f(4);
  f.unit.rollout.max_failures = 1;
  RecordingSwitch traffic(f);
  DeployPlan plan = f.plan_to("r2");
  traffic.refuse_out = {"h4"};
  RolloutResult r = run_with(f, traffic, plan);
  CHECK_FALSE(r.ok);
  CHECK(state_of(r, "h4") == HostOutcome::State::kFailed);
  CHECK(f.running("r1") == std::vector<std::string>{"h4"});  // never stopped, never changed
  auto activated = f.activated();
  CHECK(std::count(activated.begin(), activated.end(), "h4") == 0);
  CHECK(r.out_of_rotation.empty());  // it was never out
}

TEST_CASE(
    "rollout with a balancer: a canary that never comes back UP is rolled back, then put back") {
  RolloutFixture f(4);
  RecordingSwitch traffic(f);
  DeployPlan plan = f.plan_to("r2");
  traffic.never_up = {"h1"};
  RolloutResult r = run_with(f, traffic, plan);
  CHECK_FALSE(r.ok);
  CHECK(state_of(r, "h1") == HostOutcome::State::kRolledBack);
  CHECK(f.running("r1").size() == 4);
  CHECK(traffic.log == std::vector<std::string>{"out h1 after 0", "back h1 after 1",
                                                "out h1 after 1", "back h1 after 2"});
  // Its second put_back failed too: said, with the command that fixes it.
  CHECK(r.out_of_rotation.contains("h1"));
  CHECK(r.summary.find("flotilla balancer ready app -l h1") != std::string::npos);
}

TEST_CASE("rollout with a balancer: a rolled-back host back UP is not reported out of rotation") {
  RolloutFixture f(4);
  RecordingSwitch traffic(f);
  DeployPlan plan = f.plan_to("r2");
  f.fleet.fails_health = [&](std::size_t host, const std::string& release) {
    return host == 0 && release == "r2";
  };
  // Only the rollback's take-out is refused: the broken canary goes back anyway.
  traffic.refuse_out = {"h1"};
  traffic.refuse_out_from = 1;
  RolloutResult r = run_with(f, traffic, plan);
  CHECK_FALSE(r.ok);
  CHECK(state_of(r, "h1") == HostOutcome::State::kRolledBack);
  CHECK(traffic.log.back() == "back h1 after 2");
  CHECK(r.out_of_rotation.empty());
  CHECK(r.summary.find("out of the balancer's rotation") == std::string::npos);
}

TEST_CASE("rollout with a balancer: a failed host nobody rolls back stays out, and says so") {
  RolloutFixture f(4);
  f.unit.rollout.auto_rollback = false;
  RecordingSwitch traffic(f);
  DeployPlan plan = f.plan_to("r2");
  f.fleet.fails_health = [&](std::size_t host, const std::string&) { return host == 0; };
  RolloutResult r = run_with(f, traffic, plan);
  CHECK_FALSE(r.ok);
  CHECK(traffic.log == std::vector<std::string>{"out h1 after 0", "back  after 1"});
  CHECK(r.out_of_rotation.contains("h1"));
  CHECK(r.summary.find("out of the balancer's rotation: h1") != std::string::npos);
}

TEST_CASE("rollout with a balancer: the canary's weight holds for the bake, then is restored") {
  RolloutFixture f(4);
  f.unit.rollout.canary_weight = 10;
  f.unit.rollout.bake = std::chrono::minutes(10);
  RecordingSwitch traffic(f);
  DeployPlan plan = f.plan_to("r2");
  RolloutResult r = run_with(f, traffic, plan);
  CHECK(r.ok);
  REQUIRE(traffic.log.size() >= 4);
  CHECK(traffic.log[0] == "out h1 after 0");
  CHECK(traffic.log[1] == "weigh h1 10% after 1");  // before it rejoins: no burst at full weight
  CHECK(traffic.log[2] == "back h1 after 1");
  CHECK(traffic.log[3] == "restore after 1");  // after the bake, before the next batch
  CHECK(f.clock.now() - Clock::TimePoint{} >= std::chrono::minutes(10));
}

namespace {

// A judge that writes down what it was asked and fails the steps a test names.
class RecordingJudge final : public BatchJudge {
 public:
  std::set<std::string> failing;  // steps
  std::vector<std::string> log;
  Judgement judge(const std::string& step, const std::vector<std::string>& changed,
                  const std::vector<std::string>& baseline, RolloutObserver&,
                  const std::function<bool()>&) override {
    log.push_back(
        fmt::format("{}: {} against {}", step, fmt::join(changed, ","), fmt::join(baseline, ",")));
    Judgement j;
    j.record = {{"step", step}};
    if (failing.contains(step)) {
      j.verdict = Judgement::Verdict::kFailed;
      j.why = "analysis of " + step + " failed: errors 0.3 on " +
              fmt::format("{}", fmt::join(changed, ","));
    }
    return j;
  }
};

RolloutResult run_judged(RolloutFixture& f, RecordingJudge& judge, const DeployPlan& plan) {
  for (auto& [name, host] : f.hosts) {
    for (const auto& h : plan.hosts) {
      if (h.host == name) host.previous_state = h.state;
    }
  }
  RolloutIo io{f.transport, f.observer, f.clock, [] { return false; }, nullptr, &judge};
  return execute_rollout(plan, f.unit, {}, f.hosts, 7, io);
}

}  // namespace

TEST_CASE("rollout with analysis: every batch is judged against the hosts not yet changed") {
  RolloutFixture f(4);
  RecordingJudge judge;
  RolloutResult r = run_judged(f, judge, f.plan_to("r2"));
  CHECK(r.ok);
  CHECK(judge.log == std::vector<std::string>{"canary: h1 against h2,h3,h4",
                                              "batch 2: h2,h3 against h4", "batch 3: h4 against "});
  CHECK(r.analysis.size() == 3);
}

TEST_CASE("rollout with analysis: a failed step sends its batch back; nothing else starts") {
  RolloutFixture f(4);
  RecordingJudge judge;
  judge.failing = {"batch 2"};
  RolloutResult r = run_judged(f, judge, f.plan_to("r2"));
  CHECK_FALSE(r.ok);
  CHECK(
      r.summary.find("analysis of batch 2 failed: errors 0.3 on h2,h3; batch 2 was rolled back") !=
      std::string::npos);
  CHECK(state_of(r, "h1") == HostOutcome::State::kUpdated);
  CHECK(state_of(r, "h2") == HostOutcome::State::kRolledBack);
  CHECK(state_of(r, "h3") == HostOutcome::State::kRolledBack);
  CHECK(state_of(r, "h4") == HostOutcome::State::kNotStarted);
  CHECK(f.running("r1") == std::vector<std::string>{"h2", "h3", "h4"});
}

TEST_CASE("rollout with analysis: the canary is judged inside its bake, which is not doubled") {
  RolloutFixture f(4);
  f.unit.rollout.bake = std::chrono::minutes(10);
  RecordingJudge judge;
  judge.failing = {"canary"};
  f.unit.rollout.auto_rollback = false;
  RolloutResult r = run_judged(f, judge, f.plan_to("r2"));
  CHECK_FALSE(r.ok);
  CHECK(r.summary.find("stopped (auto_rollback is off)") != std::string::npos);
  CHECK(state_of(r, "h1") == HostOutcome::State::kFailed);
  CHECK(f.running("r2") == std::vector<std::string>{"h1"});  // left where it failed
  CHECK(f.clock.sleeps.empty());  // a failed step never waits out the bake
}
