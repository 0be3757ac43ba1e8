#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/transport.hpp"
#include "playbooks/change/change_context.hpp"
#include "playbooks/lock_host/approval_store.hpp"
#include "playbooks/project.hpp"

namespace flotilla {

// A checked approval: who signed (the principal `approvers` names for the
// key), with which key, and what they wrote — or why it does not count.
struct CheckedApproval {
  std::string principal;
  std::string key;  // "SHA256:..." fingerprint
  std::string time;
  std::string message;
  std::string refused;  // "" when it counts
};

struct ApprovalStatus {
  long required = 0;
  std::vector<CheckedApproval> checked;
  std::vector<std::string> principals;  // distinct signers that count
  bool satisfied() const { return static_cast<long>(principals.size()) >= required; }
};

// The payload an approver signs for this change.
std::string approval_payload(const std::string& environment, const std::string& ticket,
                             const std::string& digest, const std::string& unit,
                             const std::string& message);

// Signs with `ssh-keygen -Y sign` (a private key file, or a public key
// whose private half ssh-agent holds). kBadInput naming the key on failure.
Result<Approval> sign_approval(const std::string& payload, const std::string& key_file);

// Checks approvals against `approvers` (an OpenSSH allowed_signers file)
// with `ssh-keygen -Y find-principals` and `-Y verify`: the signature must
// verify in namespace flotilla-approval, and the signed payload must name
// this environment, ticket and digest. Keys in `requester_keys` (the
// fingerprints the requester connects with) never count.
ApprovalStatus check_approvals(const std::vector<Approval>& approvals, long required,
                               const std::string& approvers, const std::string& environment,
                               const std::string& ticket, const std::string& digest,
                               const std::vector<std::string>& requester_keys);

// The fingerprints of the keys this controller authenticates with: the
// identity files it would use, and the agent's keys.
std::vector<std::string> requester_key_fingerprints(const std::vector<std::string>& identity_files);

// Keeps `approval` on the environment's lock host.
Result<void> keep_approval(const ChangeContext& context, const std::string& ticket,
                           const Approval& approval);

// The approvals the environment's lock host keeps for `ticket`, checked
// against the project's approvers for plan `digest`.
Result<ApprovalStatus> read_approvals(const ChangeContext& context, const std::string& ticket,
                                      const std::string& digest);

// One approval as the lock host keeps it, checked on its own: what its
// signed bytes name (ticket, plan digest, units) and whether it counts.
struct KeptApproval {
  std::string ticket;
  std::string plan_digest;
  nlohmann::json units;
  CheckedApproval checked;
  nlohmann::json to_json() const;
};

// Every approval the environment's lock host keeps (for `ticket`, or "-":
// every ticket's), each checked against the project's approvers for the
// ticket and digest its own signed bytes name (`approvals list`, `history`).
Result<std::vector<KeptApproval>> kept_approvals(const ChangeContext& context,
                                                 const std::string& ticket);

// One line: what is missing and why each approval that is there does not count.
// A string field of an approval's payload, "" when absent or not a string:
// what a stored record claims is read by type, never thrown on.
std::string approval_field(const std::string& payload, const char* key);

std::string describe_missing_approvals(const ApprovalStatus& status);

}  // namespace flotilla
