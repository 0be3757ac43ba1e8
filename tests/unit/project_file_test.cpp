#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "playbooks/project_file.hpp"
#include "support/scratch_dir.hpp"

using namespace flotilla;
namespace fs = std::filesystem;

namespace {

// A project directory with one inventory, removed when the test ends.
struct ProjectDir {
  ScratchDir scratch;
  fs::path dir = scratch.path;
  ProjectDir() { scratch.write("dev.yaml", "all:\n  hosts: {gs01: , gs02: }\n"); }
  Result<Project> load(const std::string& text) {
    return load_project_file(scratch.write("flotilla.yaml", text).string());
  }
};

const char* kValid = R"(project: dragon
environments:
  dev: {inventory: dev.yaml, branches: ["*"]}
  prod: {inventory: dev.yaml, branches: [master, stable], require_ticket: true}
units:
  reward:
    kind: reward
    hosts: all
    source: {repo: ../backend, build: make reward, output: dist/reward}
    run: bin/reward --port 8080
    health: {command: "curl -fsS localhost:8080/health", timeout: 5s, retries: 20, interval: 500ms}
    rollout: {canary: 1, bake: 10s, batch: [1, 10%, 50%], max_unavailable: 25%}
    secrets: {STORE_KEY: env:PAY_STORE_KEY}
  payment:
    kind: payment
    start: systemctl start payment
    stop: systemctl stop payment
)";

}  // namespace

TEST_CASE("project file: a valid file loads with defaults per kind") {
  ProjectDir p;
  auto project = p.load(kValid);
  REQUIRE_MESSAGE(project, (project ? "" : project.error().message));
  CHECK(project->name == "dragon");
  CHECK(project->state_dir == (p.dir / ".flotilla").string());
  REQUIRE(project->environment("prod") != nullptr);
  CHECK(project->environment("prod")->require_ticket);
  const Unit* reward = project->unit("reward");
  REQUIRE(reward != nullptr);
  CHECK(reward->deploy_to == "/srv/reward");
  CHECK(reward->source.repo == (p.dir.parent_path() / "backend").string());
  CHECK(reward->rollout.batch.size() == 3);
  CHECK(reward->rollout.batch[1] == HostCount{10, true});
  CHECK(reward->health->interval == std::chrono::milliseconds(500));
  const Unit* payment = project->unit("payment");
  CHECK(payment->rollout.batch[0] == HostCount{1, false});
  CHECK(payment->require_ticket);
  CHECK(payment->drain.timeout == std::chrono::minutes(5));
  CHECK(project->ssh.forks == 50);
  CHECK(project->ssh.pacing);
}

TEST_CASE("project file: ssh settings, pacing among them") {
  ProjectDir p;
  auto project = p.load(std::string(kValid) + "ssh: {forks: 20, pacing: false}\n");
  REQUIRE_MESSAGE(project, (project ? "" : project.error().message));
  CHECK(project->ssh.forks == 20);
  CHECK_FALSE(project->ssh.pacing);
  auto wrong = p.load(std::string(kValid) + "ssh: {pacing: sometimes}\n");
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().message.find("ssh.pacing") != std::string::npos);
}

TEST_CASE("project file: every error is FILE:LINE:COL and all are reported") {
  ProjectDir p;
  auto project = p.load(R"(environments:
  dev: {inventory: dev.yaml, require_tiket: true}
units:
  reward:
    kind: rewards
    keep_releases: many
    health: {command: x, timeout: soon}
    rollout: {batch: 0, auto_rollback: yes}
    deploy_to: /srv/../etc
    secrets: {KEY: hunter2}
)");
  REQUIRE_FALSE(project);
  const std::string& m = project.error().message;
  std::string file = (p.dir / "flotilla.yaml").string();
  CHECK(m.find(file + ":2:30: unknown key 'require_tiket' in environments.dev, did you mean "
                      "'require_ticket'?") != std::string::npos);
  CHECK(m.find(":5:11: units.reward.kind: unknown kind 'rewards'") != std::string::npos);
  CHECK(m.find(":6:20: units.reward.keep_releases: expected a whole number") != std::string::npos);
  CHECK(m.find(":7:35: units.reward.health.timeout: expected a duration") != std::string::npos);
  CHECK(m.find("batch: a batch must hold at least one host") != std::string::npos);
  CHECK(m.find("auto_rollback: expected true or false, found 'yes'") != std::string::npos);
  CHECK(m.find("deploy_to: expected an absolute, normalized path") != std::string::npos);
  CHECK(m.find("expected 'env:NAME' or 'file:PATH'") != std::string::npos);
  CHECK(m.find("hunter2") == std::string::npos);  // never echo what may be a secret
  for (std::size_t start = 0; start < m.size();) {
    std::size_t end = m.find('\n', start);
    CHECK(m.substr(start, end - start).rfind(file + ":", 0) == 0);
    start = end == std::string::npos ? m.size() : end + 1;
  }
}

TEST_CASE("project file: player-aware drain") {
  ProjectDir p;
  auto project = p.load(R"(environments: {dev: {inventory: dev.yaml}}
units:
  game:
    source: {repo: ., build: make}
    run: bin/game
    drain:
      command: curl -d '' localhost/drain
      players: curl localhost/players
      notify: announce {{minutes}}
      notices: [1m, 10m, 5m]
      deadline: 15m
)");
  REQUIRE_MESSAGE(project, project.error().message);
  const DrainSpec& drain = project->unit("game")->drain;
  CHECK(drain.players == "curl localhost/players");
  CHECK(drain.notices == std::vector<Duration>{std::chrono::minutes(10), std::chrono::minutes(5),
                                               std::chrono::minutes(1)});
  CHECK(drain.deadline == std::chrono::minutes(15));

  auto wrong = p.load(R"(environments: {dev: {inventory: dev.yaml}}
units:
  game:
    source: {repo: ., build: make}
    run: bin/game
    drain: {notify: "announce '{{minutes}}'", deadline: 5m, notices: 1m}
)");
  REQUIRE_FALSE(wrong);
  const std::string& m = wrong.error().message;
  CHECK(m.find(":6:21: units.game.drain.notify: '{{minutes}}' is inside quotes") !=
        std::string::npos);
  CHECK(m.find("units.game.drain.deadline: needs units.game.drain.players") != std::string::npos);
  CHECK(m.find("units.game.drain.notices: expected a list of durations") != std::string::npos);
}

TEST_CASE("project file: duplicate keys name both lines; missing inventory is located") {
  ProjectDir p;
  auto project = p.load("environments:\n  dev: {inventory: nope.yaml}\nunits: {}\nunits: {}\n");
  REQUIRE_FALSE(project);
  CHECK(project.error().message.find(
            ":4:1: duplicate key 'units' (first defined at line 3, column 1)") !=
        std::string::npos);
  CHECK(project.error().message.find(":2:20: environments.dev.inventory: no such file") !=
        std::string::npos);
}

TEST_CASE("project file: empty and wrong-shaped files") {
  ProjectDir p;
  auto empty = p.load("");
  REQUIRE_FALSE(empty);
  CHECK(empty.error().message.find(":1:1: empty project file") != std::string::npos);
  auto list = p.load("- a\n");
  REQUIRE_FALSE(list);
  CHECK(list.error().message.find("expected a mapping, found a list") != std::string::npos);
}

TEST_CASE("host counts and durations") {
  CHECK(parse_host_count("25%") == HostCount{25, true});
  CHECK(parse_host_count("3") == HostCount{3, false});
  CHECK_FALSE(parse_host_count("101%"));
  CHECK_FALSE(parse_host_count("-1"));
  CHECK_FALSE(parse_host_count("x"));
  CHECK(parse_duration("500ms") == std::chrono::milliseconds(500));
  CHECK(parse_duration("5m") == std::chrono::minutes(5));
  CHECK_FALSE(parse_duration("5"));
  CHECK_FALSE(parse_duration("1.5s"));
  CHECK(format_duration(std::chrono::seconds(90)) == "90s");
  CHECK(format_duration(std::chrono::minutes(2)) == "2m");
}

TEST_CASE("project file: artifacts through a registry, and what it refuses") {
  ProjectDir p;
  std::string base = std::string(kValid);
  auto good = p.load(base + R"(artifacts:
  registry: https://registry.example:5000/
  repository: studio/game-backend
  username: ci
  password: env:REGISTRY_PASSWORD
  ca_file: certs/ca.pem
)");
  REQUIRE_MESSAGE(good, (good ? "" : good.error().message));
  REQUIRE(good->artifacts);
  CHECK(good->artifacts->url == "https://registry.example:5000");
  CHECK(good->artifacts->repository == "studio/game-backend");
  CHECK(good->artifacts->password->name == "REGISTRY_PASSWORD");
  CHECK(*good->artifacts->ca_file == (p.dir / "certs/ca.pem").string());

  auto bad = p.load(base + R"(artifacts:
  registry: http://registry.example
  repository: Studio/Game
  password: hunter2
  token: file:tok
)");
  REQUIRE_FALSE(bad);
  const std::string& message = bad.error().message;
  CHECK(message.find(":19:13: artifacts.registry: http:// sends blobs and credentials in clear") !=
        std::string::npos);
  CHECK(message.find("artifacts.repository: expected an OCI repository name") != std::string::npos);
  CHECK(message.find("artifacts.password: expected 'env:NAME' or 'file:PATH'") !=
        std::string::npos);
  CHECK(message.find("hunter2") == std::string::npos);  // a pasted secret is never echoed
  auto no_user =
      p.load(base + "artifacts: {registry: 'https://r.example', repository: r, password: env:P}\n");
  REQUIRE_FALSE(no_user);
  CHECK(no_user.error().message.find("a password needs a username") != std::string::npos);

  CHECK(p.load(base + "artifacts: {registry: 'http://127.0.0.1:5000', repository: r, plain_http: "
                      "true}\n"));
  CHECK_FALSE(p.load(base + "artifacts: {registry: 'https://u:p@r.example', repository: r}\n"));
}

TEST_CASE("project file: a unit's balancer and its canary weight, and what they refuse") {
  ProjectDir p;
  auto project = p.load(R"(environments: {dev: {inventory: dev.yaml}}
units:
  game:
    source: {repo: ., build: make}
    run: bin/game
    rollout: {canary: 1, bake: 2m, canary_weight: 10%}
    balancer:
      type: haproxy
      hosts: lb
      socket: /run/haproxy/admin.sock
      backend: game_http
      server: "web-{{host}}"
      drain: 45s
)");
  REQUIRE_MESSAGE(project, project.error().message);
  const Unit& unit = *project->unit("game");
  REQUIRE(unit.balancer);
  CHECK(unit.balancer->hosts == "lb");
  CHECK(unit.balancer->backend == "game_http");
  CHECK(unit.balancer->server == "web-{{host}}");
  CHECK(unit.balancer->drain == std::chrono::seconds(45));
  CHECK(unit.rollout.canary_weight == 10.0);

  auto wrong = p.load(R"(environments: {dev: {inventory: dev.yaml}}
units:
  game:
    source: {repo: ., build: make}
    run: bin/game
    rollout: {canary_weight: 150%}
    balancer: {type: nginx, socket: relative.sock, backend: "a;b", server: "x y"}
  other:
    source: {repo: ., build: make}
    run: bin/other
    rollout: {canary_weight: 10%}
)");
  REQUIRE_FALSE(wrong);
  const std::string& m = wrong.error().message;
  CHECK(m.find(":6:30: units.game.rollout.canary_weight: expected a share of traffic like 10%") !=
        std::string::npos);
  CHECK(m.find(":7:22: units.game.balancer.type: unknown balancer 'nginx' (haproxy)") !=
        std::string::npos);
  CHECK(m.find("units.game.balancer: missing key 'hosts'") != std::string::npos);
  CHECK(m.find("units.game.balancer.socket: expected an absolute path") != std::string::npos);
  CHECK(m.find("units.game.balancer.backend: 'a;b' is not a HAProxy name") != std::string::npos);
  CHECK(m.find("units.game.balancer.server: expected a HAProxy name") != std::string::npos);
  CHECK(m.find(":11:30: units.other.rollout.canary_weight: needs units.other.balancer") !=
        std::string::npos);
}

TEST_CASE("project file: a unit's analysis and watch, and what they refuse") {
  ProjectDir p;
  auto project = p.load(R"(environments: {dev: {inventory: dev.yaml}}
units:
  game:
    source: {repo: ., build: make}
    run: bin/game
    analysis:
      prometheus: https://prometheus.studio:9090
      interval: 5s
      count: 4
      failure_limit: 1
      inconclusive: fail
      metrics:
        - name: error-rate
          query: 'sum(rate(http_requests_total{code=~"5..",host="{{host}}"}[1m]))'
          fail_if: "> 0.02"
        - name: p99
          query: 'histogram_quantile(0.99, rate(x_bucket{host=~"{{ host }}"}[1m]))'
          compare: baseline
          fail_if: "> 1.5x"
      traffic: {query: 'sum(rate(http_requests_total{host="{{host}}"}[1m]))', min: 0.5}
    watch: {for: 10m, alert: 'ALERTS{alertstate="firing"}'}
)");
  REQUIRE_MESSAGE(project, project.error().message);
  const Unit& unit = *project->unit("game");
  REQUIRE(unit.analysis);
  CHECK(unit.analysis->interval == std::chrono::seconds(5));
  CHECK(unit.analysis->count == 4);
  CHECK(unit.analysis->inconclusive == AnalysisSpec::Inconclusive::kFail);
  REQUIRE(unit.analysis->metrics.size() == 2);
  CHECK(unit.analysis->metrics[0].condition.threshold == doctest::Approx(0.02));
  CHECK(unit.analysis->metrics[1].against_baseline);
  CHECK(unit.analysis->metrics[1].condition.factor);
  REQUIRE(unit.analysis->traffic);
  CHECK(unit.analysis->traffic->min == doctest::Approx(0.5));
  CHECK(unit.analysis->traffic->query.find("{{host}}") != std::string::npos);
  REQUIRE(unit.watch);
  CHECK(unit.watch->for_ == std::chrono::minutes(10));

  auto wrong = p.load(R"(environments: {dev: {inventory: dev.yaml}}
units:
  game:
    source: {repo: ., build: make}
    run: bin/game
    analysis:
      prometheus: http://prometheus:9090
      count: 2
      failure_limit: 2
      inconclusive: maybe
      metrics:
        - name: a
          query: 'rate(x{host={{host}}}[1m])'
          fail_if: "above 3"
        - name: b
          query: 'rate(x{job="{{job}}"}[1m])'
          fail_if: "> 2x"
        - name: c
          query: 'x'
          compare: baseline
          success_if: "< 3"
      traffic: {query: 'rate(x{host=~{{host}}}[1m])', min: -1}
  other:
    source: {repo: ., build: make}
    run: bin/other
    watch: {for: 1m, alert: up}
)");
  REQUIRE_FALSE(wrong);
  const std::string& m = wrong.error().message;
  CHECK(m.find(":7:19: units.game.analysis.prometheus: 'http://prometheus:9090' is plain http") !=
        std::string::npos);
  CHECK(m.find("units.game.analysis.failure_limit: 2 of 2 measurements could fail") !=
        std::string::npos);
  CHECK(m.find("units.game.analysis.inconclusive: expected pause, fail or pass, found 'maybe'") !=
        std::string::npos);
  CHECK(m.find(":13:18: units.game.analysis.metrics[0].query: {{host}} may stand only inside a "
               "quoted label value") != std::string::npos);
  CHECK(m.find("units.game.analysis.metrics[0].fail_if: expected a comparison") !=
        std::string::npos);
  CHECK(m.find("units.game.analysis.metrics[1].query: unknown variable {{job}}") !=
        std::string::npos);
  CHECK(m.find("units.game.analysis.metrics[1].fail_if: '> 2x' is a factor of the baseline") !=
        std::string::npos);
  CHECK(m.find("units.game.analysis.metrics[2].success_if: with compare: baseline, expected a "
               "factor") != std::string::npos);
  CHECK(m.find("units.other.watch: needs units.other.analysis") != std::string::npos);
  CHECK(m.find(":22:24: units.game.analysis.traffic.query: {{host}} may stand only inside a "
               "quoted label value") != std::string::npos);
  CHECK(m.find(":22:60: units.game.analysis.traffic.min: expected a number of what the query "
               "counts (0 or more), found") != std::string::npos);
}
