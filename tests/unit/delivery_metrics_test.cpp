#include "snapshots/delivery_metrics.hpp"

#include <doctest/doctest.h>

#include "core/time_zone.hpp"

using namespace flotilla;

namespace {

std::int64_t at(const char* iso) { return parse_iso8601(iso, "UTC").value(); }

Snapshot change(long id, const char* kind, const char* started, const char* finished,
                const char* outcome, const char* committed = nullptr) {
  Snapshot s;
  s.id = id;
  s.environment = "prod";
  s.unit = "reward";
  s.kind = *parse_change_kind(kind);
  s.started = started;
  s.finished = finished;
  s.outcome = outcome;
  if (committed != nullptr) s.commit_time = at(committed);
  return s;
}

}  // namespace

TEST_CASE("delivery metrics: frequency, lead time, failures (incl. fixed within 24 h), restore") {
  std::vector<Snapshot> ledger = {
      // Before the window: not counted.
      change(1, "deploy", "2026-10-01T10:00:00Z", "2026-10-01T10:05:00Z", "succeeded",
             "2026-10-01T09:00:00Z"),
      // Good: lead time 1 h.
      change(2, "deploy", "2026-11-02T10:00:00Z", "2026-11-02T11:00:00Z", "succeeded",
             "2026-11-02T10:00:00Z"),
      // Failed; restored by 4 finishing 2 h after 3 finished.
      change(3, "deploy", "2026-11-03T10:00:00Z", "2026-11-03T10:10:00Z", "failed",
             "2026-11-03T09:00:00Z"),
      // Succeeded but rolled back 30 min later: a failed change too.
      change(4, "deploy", "2026-11-03T12:00:00Z", "2026-11-03T12:10:00Z", "succeeded",
             "2026-11-03T08:10:00Z"),
      change(5, "rollback", "2026-11-03T12:40:00Z", "2026-11-03T12:45:00Z", "succeeded"),
      // Good, 3 days later.
      change(6, "hotfix", "2026-11-06T12:00:00Z", "2026-11-06T12:30:00Z", "succeeded",
             "2026-11-06T12:00:00Z"),
  };
  auto m = delivery_metrics(ledger, at("2026-11-01T00:00:00Z"), at("2026-11-11T00:00:00Z"));
  CHECK(m["deploys"]["ids"] == nlohmann::json({2, 4, 6}));
  CHECK(m["deploy_frequency_per_day"].get<double>() == doctest::Approx(0.3));
  // Lead times: 1 h (2), 4 h (4), 30 min (6): median 1 h, p90 4 h.
  CHECK(m["lead_time_s"]["median"].get<double>() == 3600);
  CHECK(m["lead_time_s"]["p90"].get<double>() == 4 * 3600);
  CHECK(m["changes"]["ids"] == nlohmann::json({2, 3, 4, 6}));
  CHECK(m["failed_changes"] == nlohmann::json({3, 4}));
  CHECK(m["change_failure_rate"].get<double>() == doctest::Approx(0.5));
  // 3: failed at 10:10, the next succeeded change (4) ended 12:10 -> 2 h;
  // 4: failed when rolled back at 12:40, restored at 12:45 by 5 -> 5 min.
  CHECK(m["time_to_restore_s"]["ids"] == nlohmann::json({3, 4}));
  CHECK(m["time_to_restore_s"]["median"].get<double>() == 300);
}
