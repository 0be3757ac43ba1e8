#include "snapshots/delivery_metrics.hpp"

#include <algorithm>
#include <cmath>

#include "core/time_zone.hpp"

namespace flotilla {
namespace {

constexpr std::int64_t kFollowUpWindow = 24 * 3600;

std::int64_t time_of(const std::string& iso) { return parse_iso8601(iso, "UTC").value_or(0); }

// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<std::size_t>(rank, 1)) - 1];
}

nlohmann::json summary(std::vector<double> values, const std::vector<long>& ids) {
  std::sort(values.begin(), values.end());
  if (values.empty()) return {{"median", nullptr}, {"p90", nullptr}, {"ids", ids}};
  return {{"median", percentile(values, 0.5)}, {"p90", percentile(values, 0.9)}, {"ids", ids}};
}

}  // namespace

nlohmann::json delivery_metrics(const std::vector<Snapshot>& ledger, std::int64_t since,
                                std::int64_t now) {
  std::vector<const Snapshot*> in_window;
  for (const auto& s : ledger) {
    // A disputed record (learned from hosts, not trusted) is no evidence of anything.
    if (!s.disputed.empty()) continue;
    std::int64_t started = time_of(s.started);
    if (started >= since && started < now) in_window.push_back(&s);
  }
  std::vector<long> deploys, lead_ids, failed, changes, restore_ids;
  std::vector<double> lead_times, restore_times;
  for (const Snapshot* s : in_window) {
    if (!rules_of(s->kind).counts_in_metrics || s->outcome == "running") continue;
    changes.push_back(s->id);
    std::int64_t finished = time_of(s->finished);
    if (s->succeeded()) {
      deploys.push_back(s->id);
      if (s->commit_time > 0 && finished >= s->commit_time) {
        lead_times.push_back(static_cast<double>(finished - s->commit_time));
        lead_ids.push_back(s->id);
      }
    }
    // Failed, or undone soon after: the unit's very next change is a
    // rollback or a hotfix within 24 h.
    bool bad = !s->succeeded();
    std::int64_t failed_at = finished;
    if (!bad) {
      const Snapshot* next = nullptr;
      for (const auto& later : ledger) {
        if (later.id > s->id && later.unit == s->unit && later.environment == s->environment &&
            later.disputed.empty() && (next == nullptr || later.id < next->id)) {
          next = &later;
        }
      }
      std::int64_t at = next != nullptr ? time_of(next->started) : 0;
      if (next != nullptr && rules_of(next->kind).remedies_failure && at >= finished &&
          at - finished <= kFollowUpWindow) {
        bad = true;
        failed_at = at;
      }
    }
    if (!bad) continue;
    failed.push_back(s->id);
    // Restored by the unit's next succeeded change after the failure.
    for (const auto& later : ledger) {
      if (later.id <= s->id || later.unit != s->unit || !later.succeeded()) continue;
      std::int64_t restored = time_of(later.finished);
      if (restored < failed_at) continue;
      restore_times.push_back(static_cast<double>(restored - failed_at));
      restore_ids.push_back(s->id);
      break;
    }
  }
  double days = std::max<double>(1.0, static_cast<double>(now - since) / 86400.0);
  nlohmann::json restore = summary(restore_times, restore_ids);
  restore.erase("p90");
  return {{"since", since},
          {"until", now},
          {"deploys", {{"count", deploys.size()}, {"ids", deploys}}},
          {"deploy_frequency_per_day", static_cast<double>(deploys.size()) / days},
          {"lead_time_s", summary(lead_times, lead_ids)},
          {"change_failure_rate", changes.empty() ? 0.0
                                                  : static_cast<double>(failed.size()) /
                                                        static_cast<double>(changes.size())},
          {"changes", {{"count", changes.size()}, {"ids", changes}}},
          {"failed_changes", failed},
          {"time_to_restore_s", restore}};
}

}  // namespace flotilla
