#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/git_source.hpp"
#include "core/metrics_source.hpp"
#include "core/reporter.hpp"
#include "core/transport.hpp"
#include "playbooks/change/targets.hpp"

namespace flotilla {

struct AnalysisSpec;

// Opens a transport to `hosts` (inventory indexes) of `targets`: host i of
// the transport is hosts[i]. The CLI connects over SSH; tests inject a fake
// or a fault-injecting wrapper.
using ConnectFn = std::function<Result<std::unique_ptr<Transport>>(
    const Targets& targets, const std::vector<std::size_t>& hosts)>;

struct ChangeContext;

// Another environment of the same project, reached as the command reaches
// its own but over its whole fleet (no --limit): what a release reads for
// promote --from, rehearse --like and require_rehearsal's `in`.
class OtherEnvironment {
 public:
  virtual ~OtherEnvironment() = default;
  virtual const ChangeContext& context() const = 0;
};
using OpenEnvironmentFn =
    std::function<Result<std::unique_ptr<OtherEnvironment>>(const std::string& environment)>;

// Everything a change needs from its caller: what to act on, how to reach
// hosts and sources, where to report, and whether the user interrupted.
struct ChangeContext {
  const Targets& targets;  // with a project: the change workflow needs units
  ConnectFn connect;
  GitAccess git;
  Reporter& reporter;
  std::function<bool()> interrupted = [] { return false; };
  // Fingerprints ("SHA256:...") of the keys this controller logs in with:
  // an approval signed with one of them never counts (nobody approves their
  // own change). Called only when approvals are checked.
  std::function<std::vector<std::string>()> requester_keys = [] {
    return std::vector<std::string>();
  };
  // The key file this controller signs its records with (`--signing-key`,
  // FLOTILLA_SIGNING_KEY, the first ssh-agent key, else the lock host's
  // login identity), found when first asked. Unset: records go unsigned.
  std::function<Result<std::string>()> signing_key = nullptr;
  // Every wait and every reading of the time (the canary bake, the lock
  // wait, freeze windows, rehearsal age) goes through it; tests advance
  // their own.
  Clock* clock = &system_clock();
  // Unset: no other environment is read (their fleets' copies of their
  // ledgers are not folded in; this controller's ledger of them is used).
  OpenEnvironmentFn other_environment = nullptr;
  // Where a unit's analysis and watch ask their queries; unset: the
  // Prometheus its `analysis.prometheus` names. Tests answer themselves.
  std::function<std::unique_ptr<MetricsSource>(const AnalysisSpec&)> metrics_source = nullptr;
  // --no-wait: once the last batch is done, a unit's `watch:` (and what
  // follows it under the lock) goes on in a background process.
  bool no_wait = false;
};

}  // namespace flotilla
