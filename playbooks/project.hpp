#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/duration.hpp"
#include "core/source_mark.hpp"
#include "playbooks/analysis_spec.hpp"
#include "playbooks/pipeline_spec.hpp"

namespace flotilla {

// A host count: absolute, or a percentage of the hosts being deployed.
struct HostCount {
  long value = 0;
  bool percent = false;
  bool operator==(const HostCount&) const = default;
};

struct SshSettings {
  std::optional<std::string> known_hosts;  // default: ~/.ssh/known_hosts
  std::optional<std::string> config;       // OpenSSH client config; default ~/.ssh/config
  Duration connect_timeout = std::chrono::seconds(10);
  Duration command_timeout = std::chrono::minutes(10);
  long forks = 50;
  bool pacing = true;  // SshOptions::pace_starts
};

struct SecretSource {
  enum class Kind { kEnv, kFile };
  Kind kind = Kind::kEnv;
  std::string name;  // variable name or file path (absolute)
};

// Artifacts through an OCI distribution registry (project key `artifacts:`):
// the controller uploads each file once as a blob, hosts pull the blobs they
// lack. Absent: the controller pushes over SSH.
struct RegistrySettings {
  std::string url;         // "https://registry.example:5000" (no path)
  std::string repository;  // OCI repository name, "game/reward"
  std::string username;    // with `password`: basic credentials (or a token service's)
  std::optional<SecretSource> password;
  std::optional<SecretSource> token;   // a bearer token instead
  std::optional<std::string> ca_file;  // a private CA (PEM); default: the system's
  bool plain_http = false;             // http:// only when this says so
  SourceMark mark;
};

// A time when changes to an environment are refused (`freeze:`): once, from
// one instant to another, or every week in a named time zone.
struct FreezeWindow {
  enum class Kind { kOnce, kWeekly };
  Kind kind = Kind::kOnce;
  std::int64_t from = 0, to = 0;         // kOnce: UTC seconds, [from, to)
  int start_minute = 0, end_minute = 0;  // kWeekly: minutes after Monday 00:00 in `tz`
  std::string tz = "UTC";
  std::string reason;
  std::string text;  // as written, for messages
  SourceMark mark;
};

// `require_rehearsal: {in: ENV, max_age: 7d}`: changes here need a recent
// rehearsal in ENV of exactly this change from exactly this state.
struct RehearsalRule {
  std::string in;
  Duration max_age = std::chrono::hours(24 * 7);
  SourceMark mark;
};

struct Environment {
  std::string name;
  std::string inventory;              // absolute path
  std::vector<std::string> branches;  // glob patterns; default ["*"]
  bool require_ticket = false;
  std::optional<std::string> lock_host;
  long approvals = 0;  // signed approvals a change needs (rollback never does)
  std::vector<FreezeWindow> freeze;
  std::optional<RehearsalRule> require_rehearsal;
  bool hotfix_requires_rehearsal = false;
  // allowed_signers of who may record changes: a record learned from hosts
  // counts only when its signature verifies against it (absent: records
  // are compared between hosts, unsigned, as before).
  std::optional<std::string> recorders;
  // The pipeline: `sync` takes `follows.env`'s state; a change here runs
  // `load_test` once in; a change here needs `require_soak` in another.
  std::optional<FollowRule> follows;
  std::optional<LoadTestSpec> load_test;
  std::optional<SoakRule> require_soak;
  SourceMark mark;
};

struct HealthCheck {
  std::string command;
  Duration timeout = std::chrono::seconds(5);
  long retries = 20;
  Duration interval = std::chrono::milliseconds(500);
};

struct DrainSpec {
  std::string command;  // tell the service to drain; empty: SIGTERM
  std::string check;    // exits 0 once drained
  Duration timeout = std::chrono::seconds(60);
  // Player-aware drain: `players` prints the host's player count; a host
  // with players is told (`notify`, {{minutes}} left) at each notice and
  // restarts when they reach 0 or at `deadline`. Empty: no wait.
  std::string players;
  std::string notify;
  std::vector<Duration> notices;  // longest first
  Duration deadline = std::chrono::minutes(15);
};

struct RolloutPolicy {
  long canary = 1;
  Duration bake{0};
  std::vector<HostCount> batch{HostCount{25, true}};  // ramp; the last size repeats
  HostCount max_unavailable{25, true};
  std::string pair_key = "flotilla_pair";
  // Members of one redundancy group out of rotation at once: a count, or a
  // percentage of the group's hosts in the rollout (rounded up, at least 1).
  HostCount pair_max_down{1, false};
  long max_failures = 0;
  bool auto_rollback = true;
  // With a balancer: the canary hosts' share of their backend's traffic
  // during the bake, in percent (HAProxy weights); absent: their own weights.
  std::optional<double> canary_weight;
};

// `balancer:`: the L7 switch in front of the unit's hosts, driven through
// HAProxy's runtime API socket on each balancer host (reached over SSH).
struct BalancerSpec {
  std::string type = "haproxy";
  std::string hosts;  // inventory pattern of the balancer hosts
  std::string socket = "/run/haproxy/admin.sock";
  std::string backend;
  std::string server = "{{host}}";            // the host's server name in the backend
  Duration drain = std::chrono::seconds(30);  // at most this long for its sessions to end
  SourceMark mark;
};

enum class UnitKind { kService, kReward, kPayment, kGm };

struct Unit {
  std::string name;
  UnitKind kind = UnitKind::kService;
  std::string hosts = "all";
  struct Source {
    std::string repo;  // path (absolute) or URL
    std::string build;
    std::string output = ".";
  } source;
  std::string deploy_to;
  long keep_releases = 5;
  std::string run;    // built-in supervisor command, or:
  std::string start;  // start/stop commands (e.g. systemctl)
  std::string stop;
  std::string reload;
  std::optional<HealthCheck> health;
  DrainSpec drain;
  std::vector<std::string> config_files;
  std::string config_check;
  std::optional<std::string> backup_command;
  std::optional<std::string> backup_verify;  // the restore drill; {{backup}} = the location
  // `restore`: brings a backup back while the service is stopped; {{backup}} = its location
  std::optional<std::string> restore_command;
  std::string backup_hosts;
  std::map<std::string, SecretSource> secrets;
  std::map<std::string, std::string> hooks;
  std::vector<std::string> logs;  // log file globs, relative to deploy_to
  bool require_ticket = false;
  RolloutPolicy rollout;
  std::optional<BalancerSpec> balancer;
  std::optional<AnalysisSpec> analysis;
  std::optional<WatchSpec> watch;  // needs analysis.prometheus
  // This unit's own load test, where load tests run (an environment with
  // `load_test:`, or one a `require_soak` with `load_test: passed` names).
  std::optional<LoadTestSpec> load_test;
  SourceMark mark;
  SourceMark hosts_mark;
};

struct Project {
  std::string path;  // the project file
  std::string dir;   // its directory: relative paths start here
  std::string name;
  std::string state_dir;
  SshSettings ssh;
  std::optional<RegistrySettings> artifacts;
  std::optional<std::string> approvers;  // an OpenSSH allowed_signers file (`approvers:`)
  std::vector<Environment> environments;
  std::vector<Unit> units;
  std::vector<std::string> release_order;  // `deploy --all`: this order (else file order)
  bool release_failure_rollback = true;    // `release_failure: rollback` (or `stop`)
  std::vector<ScheduleEntry> schedule;     // the pipeline's timed steps (`schedule print`)

  const Environment* environment(const std::string& name) const;
  const Unit* unit(const std::string& name) const;
};

const char* unit_kind_name(UnitKind kind);

// The project's state directory (ledger, artifacts, config copies, build
// logs), created if missing, readable by its owner only (an older one that
// was world-readable is closed).
void secure_state_dir(const Project& project);

}  // namespace flotilla
