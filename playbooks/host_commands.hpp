#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/artifact.hpp"
#include "core/push_bundle.hpp"
#include "core/transport.hpp"
#include "playbooks/project.hpp"
#include "snapshots/host_layout.hpp"
#include "snapshots/host_state.hpp"

namespace flotilla {

// One typed builder per host script: the only place a host command is made
// (script_command), each value a positional argument. Two are built beneath
// this layer, beside what reads their answer: survey.sh
// (snapshots/host_state: survey_command) and upload.sh, read_file.sh,
// receive_directory.sh (core/remote_file).

// What the host script itself sets for one command, from its arguments: a
// host's output or a count is never pasted into command text.
enum class HostValues {
  kNone,
  kBackup,  // {{backup}}: $FLOTILLA_BACKUP (a backup's verify, a restore)
  kNotice,  // {{minutes}}, {{seconds}}: time left before a restart (drain.notify)
};

// Expands {{name}} in a unit's command: host variables and host, release,
// deploy_to — each shell-quoted — and {{pid}}, the supervised process id
// ($FLOTILLA_PID, which the host script sets only while the pid file names
// the process flotilla started), plus the `host_values` the script sets.
// An unknown name is an error (kBadInput).
Result<std::string> expand_command(const std::string& text,
                                   const std::map<std::string, std::string>& vars,
                                   HostValues host_values = HostValues::kNone);

// The {{name}}s a unit's commands use (run/start/stop/reload, health,
// drain, config check, backup, restore, hooks): the host variables it needs.
std::set<std::string> unit_template_variables(const Unit& unit);

// What a host needs to pull an artifact's blobs from a registry.
struct RegistryPull {
  std::string url;            // https://host[:port]
  std::string repository;     // OCI repository name
  std::string authorization;  // the Authorization header value: a secret, sent on stdin only
  std::string ca_pem;         // the registry's private CA; "" for the system's
};

// Through a registry, before assemble_command: the host pulls the blobs (sha256s) its store
// lacks with curl, checks each against its digest, and moves it into the
// store. Credentials and the CA travel on stdin.
RemoteCommand fetch_command(const HostLayout& layout, const RegistryPull& pull,
                            const std::vector<std::string>& missing);

// A release reaches the host in one round trip: the files it lacks (the
// bundle, when given: each checked against the sha256 it is named by) enter
// the store, then releases/<id> is built from the store (hard links;
// executables are copied so modes never leak between releases), every file
// not checked on arrival is checked against the manifest, and it is renamed
// into place. Idempotent; never touches `current`.
RemoteCommand assemble_command(const HostLayout& layout, const Manifest& manifest,
                               const PushBundle* bundle = nullptr);

// A host's own record of a change, which its activation writes once the
// host is healthy (activate.sh --record): a change that succeeds on every
// host it activates needs no round trip after its last batch to record it.
struct ActivationRecord {
  std::string line;                        // its part of the snapshot, one JSON line
  std::vector<std::string> keep_releases;  // what it keeps from then on
  std::vector<std::string> keep_configs;
};

// Where an activation takes a host.
struct Activation {
  std::string release;  // "" with `restart`: stop and remove `current` (it ran nothing before)
  std::string config;   // config digest for shared/config; "" leaves it as it is
  std::string secrets;  // secrets digest for shared/secrets; "" leaves it as it is
  // true: drain, stop, switch, start. false: only the config changes: check
  // it, switch it, reload the running service (no restart).
  bool restart = true;
  // The drain waits for players (drain.players). A rollback does not: the
  // release it leaves is the reason for it.
  bool wait_for_players = true;
  // A restore: with the service stopped, unit.restore runs with {{backup}} =
  // this location before the release starts again.
  std::string restore_backup;
  // Set for a change's forward step, never for a rollback of a batch.
  std::optional<ActivationRecord> record = std::nullopt;
};

// Each step of an activation announces itself on stdout with a line
// "<kPhaseMarker><phase>" (draining, stopping, health check 3/21...):
// host_scripts/lib.sh's `phase`.
inline constexpr const char* kPhaseMarker = "@flotilla:phase ";
// While the drain waits for players: "<kPlayersMarker>COUNT SECONDS_LEFT"
// (COUNT "?" when it cannot be read), and "<kNoticeMarker>SECONDS_LEFT"
// when a notice goes out.
inline constexpr const char* kPlayersMarker = "@flotilla:players ";
inline constexpr const char* kNoticeMarker = "@flotilla:notice ";

// host_scripts/activate.sh with the unit's commands expanded for this host:
// drain, stop, switch `current` atomically (symlink + rename), start, health
// check, then record `state` (stdin) as .flotilla/state.json. The unit's
// hooks run around each step; a new config is checked before anything
// stops. Its exit codes are HostExit's (kHealth, kMissing, kConfigCheck...).
Result<RemoteCommand> activate_command(const Unit& unit, const HostLayout& layout,
                                       const Activation& target,
                                       std::map<std::string, std::string> vars,
                                       const nlohmann::json& state);

// What retention keeps on a host after a succeeded change.
struct RetainedVersions {
  std::vector<std::string> releases;
  std::vector<std::string> configs;
};

// The unit's health command for one host, bounded by its timeout: `status`
// asks for one try of it within its survey (survey_command). The unit must
// have a health check.
Result<HealthProbe> health_probe(const Unit& unit, const std::map<std::string, std::string>& vars);

// After a change: appends this host's part of the snapshot to
// .flotilla/history.jsonl (stdin); with `retained`, then removes releases
// and configs not in it (never what `current` or `shared/config` point to)
// and store files no kept release uses. Without: prune nothing (after a
// failed change, so a retry need not push again).
RemoteCommand finish_command(const HostLayout& layout, const std::string& history_line,
                             const std::optional<RetainedVersions>& retained);

// ---- The lock host (lock_host/): lock, counter, approvals. ----

// lock_acquire.sh: takes the lock by mkdir; the holder's record on stdin.
RemoteCommand lock_acquire_command(const std::string& environment, const std::string& holder);
// lock_acquire.sh with the taker's `token` line: rewrites a held lock's record
// (a background process takes it over), only while that token holds it.
RemoteCommand lock_hand_over_command(const std::string& environment, const std::string& holder,
                                     const std::string& token_line);
RemoteCommand lock_holder_command(const std::string& environment);
// lock_release.sh: only by the holder's `token` line; without one, whoever holds it.
RemoteCommand lock_release_command(const std::string& environment,
                                   const std::optional<std::string>& token_line);
RemoteCommand lock_counter_command(const std::string& environment);
// rollout_board.sh ACTION ENV ARGS...: what waits under the lock, and decisions for it.
RemoteCommand rollout_board_command(const std::string& action, const std::string& environment,
                                    const std::vector<std::string>& args = {});
// snapshot_id.sh: the next snapshot id, above the counter and `at_least_above`.
RemoteCommand snapshot_id_command(const std::string& environment, long at_least_above);
// approval_store.sh keeps `text` as NAME; approval_list.sh lists a ticket's ("-": all).
RemoteCommand approval_store_command(const std::string& environment, const std::string& ticket,
                                     const std::string& name, std::string text);
RemoteCommand approval_list_command(const std::string& environment, const std::string& ticket);

// ---- A unit's data and releases. ----

// backup.sh: the unit's backup command (expanded) in the running release.
RemoteCommand backup_command(const Unit& unit, const std::string& expanded);
// backup_verify.sh: its verify command, with the backup's location as FLOTILLA_BACKUP.
RemoteCommand backup_verify_command(const Unit& unit, const std::string& location,
                                    const std::string& expanded);
// release_export.sh: releases/ID as a tar on stdout.
RemoteCommand release_export_command(const std::string& deploy_to, const std::string& id);

// ---- Before a first deploy (fleet_doctor reads its answer). ----

// balancer.sh on a balancer host: `action` (show, state, weight, drain,
// ready) on the unit's backend, each name and number an argument.
RemoteCommand balancer_command(const BalancerSpec& balancer, const std::string& action,
                               const std::vector<std::string>& args, Duration timeout);

// doctor.sh: the host's clock, whether each of `tools` is there, each of
// `dirs` (deploy_to) writable and with room; with `lock_host`, ~/.flotilla;
// each of `sockets` (a balancer's runtime API) there, and a client for it.
RemoteCommand doctor_command(bool lock_host, const std::vector<std::string>& tools,
                             const std::vector<std::string>& dirs,
                             const std::vector<std::string>& sockets = {});

// ---- A unit's logs (unit_logs reads their answers). ----

// logs.sh: the last `lines` lines (of matches with `grep`) of each log file.
RemoteCommand logs_tail_command(const Unit& unit, long lines, const std::string& grep,
                                Duration timeout);
// logs_follow.sh: new matching lines until the controller goes away.
RemoteCommand logs_follow_command(const Unit& unit, const std::string& grep);
// logs_count.sh: the patrol's count of stamped matching lines in a window.
RemoteCommand logs_count_command(const Unit& unit, long seconds, std::size_t top,
                                 const std::string& grep, Duration timeout);

}  // namespace flotilla
