#include "playbooks/change/approvals.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/base64.hpp"
#include "core/duration.hpp"
#include "core/local_command.hpp"
#include "core/reporter.hpp"
#include "core/script_command.hpp"
#include "core/sha256.hpp"
#include "core/ssh_signature.hpp"
#include "playbooks/lock_host/lock_host.hpp"

namespace flotilla {
namespace {

constexpr const char* kNamespace = "flotilla-approval";
namespace fs = std::filesystem;

}  // namespace

std::string approval_payload(const std::string& environment, const std::string& ticket,
                             const std::string& digest, const std::string& unit,
                             const std::string& message) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  nlohmann::json doc = {{"type", "flotilla-approval/v1"},
                        {"environment", environment},
                        {"ticket", ticket},
                        {"plan_digest", digest},
                        {"units", {unit}},
                        {"message", message},
                        {"time", iso_time_now()},
                        {"controller", host}};
  return doc.dump(2) + "\n";
}

Result<Approval> sign_approval(const std::string& payload, const std::string& key_file) {
  auto signatures = ssh_sign(key_file, kNamespace, {payload});
  if (!signatures) return tl::unexpected(signatures.error());
  return Approval{payload, signatures->front()};
}

ApprovalStatus check_approvals(const std::vector<Approval>& approvals, long required,
                               const std::string& approvers, const std::string& environment,
                               const std::string& ticket, const std::string& digest,
                               const std::vector<std::string>& requester_keys) {
  ApprovalStatus status;
  status.required = required;
  std::set<std::string> principals;
  for (const auto& approval : approvals) {
    CheckedApproval checked;
    auto refuse = [&](std::string why) {
      checked.refused = std::move(why);
      status.checked.push_back(checked);
    };
    auto doc = nlohmann::json::parse(approval.payload, nullptr, false);
    // Read by type, and only once the signature is known good: a planted
    // record ({"time": 1}) is refused, never thrown on.
    auto field = [&doc](const char* key) {
      if (!doc.is_object()) return std::string();
      auto it = doc.find(key);
      return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    std::error_code ec;
    if (approvers.empty() || !fs::is_regular_file(approvers, ec)) {
      refuse(approvers.empty() ? "no approvers file (project key `approvers:`) to check it against"
                               : fmt::format("the approvers file {} cannot be read", approvers));
      continue;
    }
    SignatureCheck verified =
        ssh_verify(approvers, kNamespace, approval.payload, approval.signature);
    if (verified.problem == SignatureCheck::Problem::kUnknownSigner) {
      refuse("signed by a key that is not in the approvers file");
      continue;
    }
    checked.principal = verified.principal;
    checked.time = field("time");
    checked.message = field("message");
    if (!verified.ok()) {
      checked.principal.clear();
      refuse(
          fmt::format("the signature by {} does not verify (tampered, or made for another "
                      "namespace)",
                      verified.principal));
      continue;
    }
    const std::string& principal = checked.principal;
    checked.key = verified.key;
    if (!doc.is_object() || field("type") != "flotilla-approval/v1") {
      refuse("not a flotilla approval");
    } else if (field("environment") != environment) {
      refuse(fmt::format("approves environment {}, not {}", field("environment"), environment));
    } else if (field("ticket") != ticket) {
      refuse(fmt::format("approves ticket {}, not {}", field("ticket"), ticket));
    } else if (field("plan_digest") != digest) {
      refuse(fmt::format("approves plan {}, and the plan is now {} (it changed since)",
                         field("plan_digest").substr(0, 12), digest.substr(0, 12)));
    } else if (std::find(requester_keys.begin(), requester_keys.end(), checked.key) !=
               requester_keys.end()) {
      refuse(
          fmt::format("signed with the requester's own key ({}): nobody approves their own "
                      "change",
                      checked.key));
    } else if (!principals.insert(principal).second) {
      refuse(fmt::format("{} approved already: approvals count distinct signers", principal));
    } else {
      status.checked.push_back(checked);
      status.principals.push_back(principal);
    }
  }
  return status;
}

std::vector<std::string> requester_key_fingerprints(
    const std::vector<std::string>& identity_files) {
  std::vector<std::string> out;
  for (const auto& file : identity_files) {
    std::error_code ec;
    std::string listed = fs::exists(file + ".pub", ec) ? file + ".pub" : file;
    if (auto r = run_local({"ssh-keygen", "-l", "-f", listed}); r && r->exit_status == 0) {
      for (auto& f : key_fingerprints(r->out)) out.push_back(f);
    }
  }
  if (std::getenv("SSH_AUTH_SOCK") != nullptr) {
    if (auto r = run_local({"ssh-add", "-l"}); r && r->exit_status == 0) {
      for (auto& f : key_fingerprints(r->out)) out.push_back(f);
    }
  }
  return out;
}

Result<void> keep_approval(const ChangeContext& context, const std::string& ticket,
                           const Approval& approval) {
  auto host = lock_host_of(context.targets);
  if (!host) return tl::unexpected(host.error());
  auto transport = context.connect(context.targets, {*host});
  if (!transport) return tl::unexpected(transport.error());
  return store_approval(**transport, context.targets.environment->name, ticket, approval);
}

Result<ApprovalStatus> read_approvals(const ChangeContext& context, const std::string& ticket,
                                      const std::string& digest) {
  const Targets& targets = context.targets;
  auto host = lock_host_of(targets);
  if (!host) return tl::unexpected(host.error());
  auto transport = context.connect(targets, {*host});
  if (!transport) return tl::unexpected(transport.error());
  auto stored = load_approvals(**transport, targets.environment->name, ticket);
  if (!stored) return tl::unexpected(stored.error());
  return check_approvals(*stored, targets.environment->approvals,
                         targets.project->approvers.value_or(""), targets.environment->name, ticket,
                         digest, context.requester_keys());
}

nlohmann::json KeptApproval::to_json() const {
  return {{"ticket", ticket},
          {"principal", checked.principal},
          {"key", checked.key},
          {"plan_digest", plan_digest},
          {"units", units},
          {"time", checked.time},
          {"message", checked.message},
          {"valid", checked.refused.empty()},
          {"refused", checked.refused}};
}

Result<std::vector<KeptApproval>> kept_approvals(const ChangeContext& context,
                                                 const std::string& ticket) {
  const Targets& targets = context.targets;
  auto host = lock_host_of(targets);
  if (!host) return tl::unexpected(host.error());
  auto transport = context.connect(targets, {*host});
  if (!transport) return tl::unexpected(transport.error());
  const std::string& environment = targets.environment->name;
  auto stored = load_approvals(**transport, environment, ticket);
  if (!stored) return tl::unexpected(stored.error());
  std::vector<KeptApproval> out;
  for (const auto& approval : *stored) {
    // What it approves comes from the signed bytes only, checked by its signature.
    auto doc = nlohmann::json::parse(approval.payload, nullptr, false);
    if (!doc.is_object()) continue;
    KeptApproval kept;
    kept.ticket = approval_field(approval.payload, "ticket");
    kept.plan_digest = approval_field(approval.payload, "plan_digest");
    auto units = doc.find("units");
    kept.units = units != doc.end() && units->is_array() ? *units : nlohmann::json::array();
    ApprovalStatus status = check_approvals({approval}, 1, targets.project->approvers.value_or(""),
                                            environment, kept.ticket, kept.plan_digest, {});
    kept.checked = status.checked.front();
    out.push_back(std::move(kept));
  }
  return out;
}

std::string approval_field(const std::string& payload, const char* key) {
  auto doc = nlohmann::json::parse(payload, nullptr, false);
  if (!doc.is_object()) return "";
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string describe_missing_approvals(const ApprovalStatus& status) {
  std::vector<std::string> parts;
  for (const auto& c : status.checked) {
    if (!c.refused.empty()) {
      parts.push_back(c.principal.empty() ? c.refused : c.principal + ": " + c.refused);
    }
  }
  return fmt::format(
      "{} of {} approvals{}{}{}", status.principals.size(), status.required,
      status.principals.empty()
          ? ""
          : " (" + fmt::format("{}", fmt::join(status.principals, ", ")) + ")",
      parts.empty() ? "" : "; not counted: ", fmt::format("{}", fmt::join(parts, "; ")));
}

}  // namespace flotilla
