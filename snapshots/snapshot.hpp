#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "snapshots/change_kind.hpp"

namespace flotilla {

// Snapshot ids come from the lock host's counter; anything outside 1..this
// is not one (a forged huge id must not wrap around).
inline constexpr long kMaxSnapshotId = 999'999'999;

// What one host ran before and after one change.
struct HostRecord {
  std::string before;  // release id ("" = nothing)
  std::string after;
  std::string config_before;  // config digest ("" = none)
  std::string config_after;
  std::string outcome;  // updated, unchanged, failed, rolled back, not started
  bool operator==(const HostRecord&) const = default;
};

// One deploy, rollback, hotfix or config push: who changed what, when,
// under which ticket, and where every host ended up. The id comes from a
// counter kept on the fleet under the deploy lock, never from a clock.
struct Snapshot {
  long id = 0;
  std::string environment;
  std::string unit;
  ChangeKind kind = ChangeKind::kDeploy;
  std::string artifact;
  std::string config;   // config digest pushed ("" = none declared)
  std::string secrets;  // secrets digest delivered (secrets_digest: never the values)
  std::string commit;
  std::string branch;
  std::string ref;
  std::string ticket;
  std::string user;
  std::string controller;
  std::string started;   // ISO times
  std::string finished;  // "" while running
  // running (never finished: the controller died), succeeded, failed (the
  // fleet was left consistent), interrupted (SIGINT).
  std::string outcome = "running";
  // rollback: the snapshot it returned to; restore: the snapshot whose backup came back
  std::optional<long> restores;
  std::int64_t commit_time = 0;                        // the commit's time (lead time for changes)
  std::string plan_digest;                             // what approvals covered (plan --digest)
  nlohmann::json approvals = nlohmann::json::array();  // who approved: [{principal, key, time}]
  std::string override_freeze;  // why it ran inside a freeze window ("" = it did not)
  nlohmann::json backup;        // null, or {host, ok, location, output}
  long release = 0;             // the release this change was part of (its first snapshot's id)
  std::string promoted_from;    // promote: the environment whose artifact this is
  // rehearsal: {"like": ENV, "from": {release, config} | null, "to": {release, config}}
  nlohmann::json rehearsal;
  // Every analysis step of the rollout: verdicts and measurements
  // (playbooks/analysis_judge), or for a watch's rollback the alert that fired.
  nlohmann::json analysis = nlohmann::json::array();
  // Why a change the controller started by itself ran: "watch:GameDown" ("" = a person asked).
  std::string cause;
  // The load tests run once this change was in (playbooks/load_test):
  // figures, limits missed, passed or not.
  nlohmann::json load_test = nlohmann::json::array();
  std::map<std::string, HostRecord> hosts;
  // Signed by the controller that wrote it (snapshots/record_signature):
  // the armored `ssh-keygen -Y` signature over record_payload(), and every
  // host's part by its digest (a host keeps only its own part).
  std::string signature;
  std::map<std::string, std::string> signed_hosts;
  // A record learned from hosts that cannot be trusted: why (its outcome
  // then reads "disputed"). Never a rollback target, rehearsal evidence,
  // restore or promote source, never counted in metrics.
  std::string disputed;
  std::string signer;  // who signed it, once verified against `recorders`

  bool succeeded() const { return outcome == "succeeded" && disputed.empty(); }
  nlohmann::json to_json() const;
  // Malformed records are errors naming what is wrong; `where` says whose record.
  static Result<Snapshot> from_json(const nlohmann::json& doc, const std::string& where);
  // The part a host keeps: everything but the other hosts' records.
  nlohmann::json for_host(const std::string& host) const;

 private:
  // The record with `records` as its hosts: for_host serializes one host's,
  // not every host's to drop all but one (a change on 500 hosts makes 500).
  nlohmann::json document(const std::map<std::string, HostRecord>& records) const;
};

}  // namespace flotilla
