#include "snapshots/record_signature.hpp"

#include <fmt/format.h>

#include "core/sha256.hpp"

namespace flotilla {
namespace {

std::string host_digest(const std::string& host, const HostRecord& r) {
  nlohmann::json doc = {{"host", host},
                        {"before", r.before},
                        {"after", r.after},
                        {"config_before", r.config_before},
                        {"config_after", r.config_after},
                        {"outcome", r.outcome}};
  return sha256_hex(doc.dump());
}

}  // namespace

std::map<std::string, std::string> host_digests(const Snapshot& snapshot) {
  std::map<std::string, std::string> out;
  for (const auto& [host, record] : snapshot.hosts) out[host] = host_digest(host, record);
  return out;
}

std::string record_payload(const Snapshot& snapshot,
                           const std::map<std::string, std::string>& signed_hosts) {
  nlohmann::json doc = snapshot.to_json();
  for (const char* local : {"signature", "signed_hosts", "disputed", "signer"}) doc.erase(local);
  doc["hosts"] = signed_hosts;
  doc["type"] = "flotilla-record/v1";
  return doc.dump() + "\n";
}

Result<std::string> signed_payload_of(const Snapshot& copy) {
  if (copy.signature.empty()) return fail(ErrorKind::kFailed, "unsigned");
  for (const auto& [host, record] : copy.hosts) {
    auto signed_digest = copy.signed_hosts.find(host);
    if (signed_digest == copy.signed_hosts.end()) {
      return fail(ErrorKind::kFailed, fmt::format("{} is not among the hosts it signed", host));
    }
    if (signed_digest->second != host_digest(host, record)) {
      return fail(ErrorKind::kFailed, fmt::format("{}'s part was altered after signing", host));
    }
  }
  return record_payload(copy, copy.signed_hosts);
}

}  // namespace flotilla
