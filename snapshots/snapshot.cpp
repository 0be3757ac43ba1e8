#include "snapshots/snapshot.hpp"

#include <fmt/format.h>

#include "snapshots/change_kind.hpp"

namespace flotilla {

nlohmann::json Snapshot::to_json() const { return document(hosts); }

nlohmann::json Snapshot::document(const std::map<std::string, HostRecord>& records) const {
  nlohmann::json host_map = nlohmann::json::object();
  for (const auto& [name, h] : records) {
    host_map[name] = {{"before", h.before},
                      {"after", h.after},
                      {"config_before", h.config_before},
                      {"config_after", h.config_after},
                      {"outcome", h.outcome}};
  }
  nlohmann::json doc = {{"id", id},
                        {"environment", environment},
                        {"unit", unit},
                        {"kind", change_kind_name(kind)},
                        {"artifact", artifact},
                        {"config", config},
                        {"secrets", secrets},
                        {"commit", commit},
                        {"branch", branch},
                        {"ref", ref},
                        {"ticket", ticket},
                        {"user", user},
                        {"controller", controller},
                        {"started", started},
                        {"finished", finished},
                        {"outcome", outcome},
                        {"restores", restores ? nlohmann::json(*restores) : nlohmann::json()},
                        {"commit_time", commit_time},
                        {"plan_digest", plan_digest},
                        {"approvals", approvals},
                        {"override_freeze", override_freeze},
                        {"backup", backup},
                        {"release", release > 0 ? nlohmann::json(release) : nlohmann::json()},
                        {"promoted_from", promoted_from},
                        {"rehearsal", rehearsal},
                        {"hosts", host_map}};
  // Only when there are any: older records' signatures cover no such keys.
  if (!analysis.empty()) doc["analysis"] = analysis;
  if (!cause.empty()) doc["cause"] = cause;
  if (!load_test.empty()) doc["load_test"] = load_test;
  if (!signature.empty()) {
    doc["signature"] = signature;
    doc["signed_hosts"] = signed_hosts;
  }
  if (!disputed.empty()) doc["disputed"] = disputed;
  if (!signer.empty()) doc["signer"] = signer;
  return doc;
}

nlohmann::json Snapshot::for_host(const std::string& host) const {
  std::map<std::string, HostRecord> mine;
  if (auto it = hosts.find(host); it != hosts.end()) mine.insert(*it);
  return document(mine);
}

Result<Snapshot> Snapshot::from_json(const nlohmann::json& doc, const std::string& where) {
  try {
    Snapshot s;
    s.id = doc.at("id").get<long>();
    if (s.id <= 0 || s.id > kMaxSnapshotId) {
      return fail(ErrorKind::kFailed,
                  fmt::format("{}: snapshot id must be between 1 and {}", where, kMaxSnapshotId));
    }
    s.environment = doc.at("environment").get<std::string>();
    s.unit = doc.at("unit").get<std::string>();
    auto kind_name = doc.at("kind").get<std::string>();
    auto kind = parse_change_kind(kind_name);
    if (!kind) {
      return fail(ErrorKind::kFailed,
                  fmt::format("{}: unknown snapshot kind '{}'", where, kind_name));
    }
    s.kind = *kind;
    s.artifact = doc.value("artifact", "");
    s.config = doc.value("config", "");
    s.secrets = doc.value("secrets", "");
    s.commit = doc.value("commit", "");
    s.branch = doc.value("branch", "");
    s.ref = doc.value("ref", "");
    s.ticket = doc.value("ticket", "");
    s.user = doc.value("user", "");
    s.controller = doc.value("controller", "");
    s.started = doc.value("started", "");
    s.finished = doc.value("finished", "");
    s.outcome = doc.value("outcome", "running");
    if (auto r = doc.find("restores"); r != doc.end() && r->is_number_integer())
      s.restores = r->get<long>();
    s.backup = doc.value("backup", nlohmann::json());
    if (auto t = doc.find("commit_time"); t != doc.end() && t->is_number_integer())
      s.commit_time = t->get<std::int64_t>();
    s.plan_digest = doc.value("plan_digest", "");
    if (auto a = doc.find("approvals"); a != doc.end() && a->is_array()) s.approvals = *a;
    s.override_freeze = doc.value("override_freeze", "");
    if (auto r = doc.find("release"); r != doc.end() && r->is_number_integer()) {
      s.release = r->get<long>();
      if (s.release < 0 || s.release > s.id) {
        return fail(ErrorKind::kFailed, fmt::format("{}: release {} cannot follow snapshot {}",
                                                    where, s.release, s.id));
      }
    }
    s.promoted_from = doc.value("promoted_from", "");
    if (auto r = doc.find("rehearsal"); r != doc.end() && r->is_object()) s.rehearsal = *r;
    if (auto a = doc.find("analysis"); a != doc.end() && a->is_array()) s.analysis = *a;
    if (auto c = doc.find("cause"); c != doc.end() && c->is_string()) s.cause = *c;
    if (auto l = doc.find("load_test"); l != doc.end() && l->is_array()) s.load_test = *l;
    // Bounded: a signature is a few hundred bytes, a digest 64 hex digits.
    if (auto sig = doc.find("signature");
        sig != doc.end() && sig->is_string() && sig->get_ref<const std::string&>().size() < 8192) {
      s.signature = sig->get<std::string>();
    }
    if (auto signed_hosts = doc.find("signed_hosts");
        signed_hosts != doc.end() && signed_hosts->is_object()) {
      for (const auto& [name, digest] : signed_hosts->items()) {
        if (digest.is_string() && digest.get_ref<const std::string&>().size() <= 64) {
          s.signed_hosts[name] = digest.get<std::string>();
        }
      }
    }
    if (auto d = doc.find("disputed"); d != doc.end() && d->is_string()) s.disputed = *d;
    if (auto d = doc.find("signer"); d != doc.end() && d->is_string()) s.signer = *d;
    auto host_map = doc.find("hosts");
    if (host_map == doc.end() || !host_map->is_object()) return s;
    for (const auto& [name, h] : host_map->items()) {
      s.hosts[name] = {h.value("before", ""), h.value("after", ""), h.value("config_before", ""),
                       h.value("config_after", ""), h.value("outcome", "")};
    }
    return s;
  } catch (const std::exception& e) {
    return fail(ErrorKind::kFailed, fmt::format("{}: not a snapshot record: {}", where, e.what()));
  }
}

}  // namespace flotilla
