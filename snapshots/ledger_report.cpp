#include "snapshots/ledger_report.hpp"
#include "snapshots/short_id.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace flotilla {
namespace {

std::size_t changed_hosts(const Snapshot& s) {
  std::size_t n = 0;
  for (const auto& [host, r] : s.hosts) n += r.outcome == "updated";
  return n;
}

constexpr const char* kListRow =
    "{:>4}  {:<6} {:>4} {:<20} {:<9} {:<10} {:<28} {:<12} {:<12} {:<11} {}";
constexpr const char* kBackupRow = "{:>4}  {:<20} {:<9} {:<12} {:<9} {}";

// One backup entry as a host recorded it, read by type: a malformed field
// is shown empty, never thrown on.
struct BackupEntry {
  const nlohmann::json& entry;
  std::string text(const char* key) const {
    auto field = entry.find(key);
    return field != entry.end() && field->is_string() ? field->get<std::string>() : std::string();
  }
  bool flag(const char* key) const {
    auto field = entry.find(key);
    return field != entry.end() && field->is_boolean() && field->get<bool>();
  }
  nlohmann::json verified() const {
    return entry.contains("verified") ? nlohmann::json(flag("verified")) : nlohmann::json();
  }
};

}  // namespace

std::string what_changed(const Snapshot& s) {
  switch (s.kind) {
    case ChangeKind::kRollback:
      return fmt::format("to snapshot {}", s.restores.value_or(0));
    case ChangeKind::kRestore:
      return fmt::format("backup of {}", s.restores.value_or(0));
    case ChangeKind::kConfig:
      return "config " + short_id(s.config);
    case ChangeKind::kDeploy:
    case ChangeKind::kHotfix:
    case ChangeKind::kRehearsal:
      break;
  }
  if (!s.promoted_from.empty()) {
    return fmt::format("{} from {}", short_id(s.artifact), s.promoted_from);
  }
  return fmt::format("{} @ {}", s.branch.empty() ? s.ref : s.branch, short_id(s.commit));
}

namespace {

// One line per analysis step ("analysis canary: failed (roll back): ...")
// and why flotilla started it itself, if it did.
std::vector<std::string> analysis_lines(const Snapshot& s) {
  std::vector<std::string> lines;
  if (!s.cause.empty()) lines.push_back("cause: " + s.cause);
  for (const auto& step : s.analysis) {
    if (!step.is_object()) continue;
    std::string line = fmt::format("analysis {}: {} ({})", step.value("step", std::string("?")),
                                   step.value("verdict", std::string("?")),
                                   step.value("action", std::string("?")));
    if (auto summary = step.value("summary", std::string()); !summary.empty()) {
      line += ": " + summary;
    }
    if (auto m = step.find("measurements"); m != step.end() && m->is_array()) {
      line += fmt::format(" [{} measurement(s)]", m->size());
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace

nlohmann::json report_snapshot_list(Reporter& reporter, std::vector<Snapshot> snapshots,
                                    bool as_history) {
  nlohmann::json doc = nlohmann::json::array();
  reporter.text(fmt::format(kListRow, "ID", "ENV", "REL", "STARTED", "KIND", "UNIT", "WHAT",
                            "TICKET", "WHO", "OUTCOME", "HOSTS"));
  if (as_history) std::reverse(snapshots.begin(), snapshots.end());
  for (const auto& s : snapshots) {
    doc.push_back(s.to_json());
    std::string outcome = s.outcome == "running" ? "unfinished" : s.outcome;
    reporter.text(fmt::format(
        kListRow, s.id, s.environment, s.release > 0 ? std::to_string(s.release) : "-", s.started,
        change_kind_name(s.kind), s.unit, what_changed(s), s.ticket.empty() ? "-" : s.ticket,
        s.user,
        reporter.paint(outcome, s.succeeded() ? Reporter::Color::kGreen : Reporter::Color::kRed),
        fmt::format("{}/{}", changed_hosts(s), s.hosts.size())));
    if (!s.disputed.empty()) {
      reporter.text("      " + reporter.paint("disputed: " + s.disputed, Reporter::Color::kRed));
    }
    for (const auto& line : analysis_lines(s)) reporter.text("      " + line);
  }
  if (snapshots.empty()) reporter.text("(no snapshots yet)");
  return doc;
}

void report_snapshot(Reporter& reporter, const Snapshot& s) {
  reporter.text(
      reporter.paint(fmt::format("snapshot {}: {} {} in {} — {}", s.id, change_kind_name(s.kind),
                                 s.unit, s.environment, s.outcome),
                     Reporter::Color::kBold));
  if (!s.disputed.empty()) {
    reporter.text(reporter.paint(fmt::format("  DISPUTED: {} (never a rollback target, "
                                             "evidence, restore or promote source)",
                                             s.disputed),
                                 Reporter::Color::kRed));
  }
  if (!s.signer.empty()) reporter.text(fmt::format("  signed:  by {}", s.signer));
  reporter.text(fmt::format("  what:    {}", what_changed(s)));
  if (!s.artifact.empty()) reporter.text(fmt::format("  release: {}", s.artifact));
  if (s.release > 0) reporter.text(fmt::format("  part of: release {}", s.release));
  if (!s.promoted_from.empty()) {
    reporter.text(fmt::format("  from:    {} (promoted, no build)", s.promoted_from));
  }
  if (!s.rehearsal.is_null()) reporter.text(fmt::format("  rehearsal: {}", s.rehearsal.dump()));
  reporter.text(fmt::format("  who:     {}@{}, ticket {}", s.user, s.controller,
                            s.ticket.empty() ? "-" : s.ticket));
  reporter.text(
      fmt::format("  when:    {} .. {}", s.started, s.finished.empty() ? "?" : s.finished));
  if (!s.backup.is_null()) reporter.text(fmt::format("  backup:  {}", s.backup.dump()));
  for (const auto& line : analysis_lines(s)) reporter.text("  " + line);
  reporter.text(fmt::format("  {:<16} {:<13} {:<13} {}", "HOST", "BEFORE", "AFTER", "OUTCOME"));
  for (const auto& [host, r] : s.hosts) {
    reporter.text(fmt::format("  {:<16} {:<13} {:<13} {}", host, short_id(r.before),
                              r.after.empty() && r.outcome == "failed" ? "?" : short_id(r.after),
                              r.outcome));
  }
}

nlohmann::json report_backups(Reporter& reporter, const std::vector<Snapshot>& snapshots) {
  nlohmann::json list = nlohmann::json::array();
  reporter.text(fmt::format(kBackupRow, "SNAP", "TAKEN", "KIND", "HOST", "VERIFIED", "LOCATION"));
  for (auto it = snapshots.rbegin(); it != snapshots.rend(); ++it) {
    const Snapshot& s = *it;
    if (!s.backup.is_array()) continue;
    for (const auto& b : s.backup) {
      if (!b.is_object()) continue;
      BackupEntry entry{b};
      std::string verified = !s.disputed.empty()       ? "DISPUTED"
                             : !b.contains("verified") ? "-"
                             : entry.flag("verified")  ? "yes"
                                                       : "FAILED";
      list.push_back({{"snapshot", s.id},
                      {"kind", change_kind_name(s.kind)},
                      {"started", s.started},
                      {"host", entry.text("host")},
                      {"ok", entry.flag("ok")},
                      {"location", entry.text("location")},
                      {"verified", entry.verified()}});
      if (!s.disputed.empty()) list.back()["disputed"] = s.disputed;
      reporter.text(fmt::format(kBackupRow, s.id, s.started, change_kind_name(s.kind),
                                entry.text("host"), verified, entry.text("location")));
    }
  }
  if (list.empty()) reporter.text("(no backups recorded)");
  return list;
}

}  // namespace flotilla
