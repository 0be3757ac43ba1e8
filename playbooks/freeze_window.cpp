#include "playbooks/freeze_window.hpp"

#include <fmt/format.h>

#include "core/time_zone.hpp"

namespace flotilla {
namespace {

constexpr int kWeekMinutes = 7 * 24 * 60;

int positive_mod(int a, int m) { return ((a % m) + m) % m; }

// The weekly window's occurrence that is open at `now`, else the next one.
FreezeSpan weekly_span(const FreezeWindow& w, std::int64_t now) {
  ZonedTime local = zoned_time(now, w.tz);
  int minute = local.weekday * 1440 + local.hour * 60 + local.minute;
  int length = positive_mod(w.end_minute - w.start_minute, kWeekMinutes);
  int since_start = positive_mod(minute - w.start_minute, kWeekMinutes);
  std::int64_t minute_start = now - local.second;
  FreezeSpan span{&w, 0, 0};
  if (since_start < length) {
    span.from = minute_start - static_cast<std::int64_t>(since_start) * 60;
  } else {
    span.from = minute_start + static_cast<std::int64_t>(kWeekMinutes - since_start) * 60;
  }
  span.to = span.from + static_cast<std::int64_t>(length) * 60;
  return span;
}

}  // namespace

std::optional<FreezeSpan> freeze_at(const Environment& env, std::int64_t now) {
  std::optional<FreezeSpan> found;
  for (const auto& w : env.freeze) {
    FreezeSpan span =
        w.kind == FreezeWindow::Kind::kOnce ? FreezeSpan{&w, w.from, w.to} : weekly_span(w, now);
    if (span.from <= now && now < span.to && (!found || span.to > found->to)) found = span;
  }
  return found;
}

std::optional<FreezeSpan> next_freeze(const Environment& env, std::int64_t now) {
  std::optional<FreezeSpan> found;
  for (const auto& w : env.freeze) {
    FreezeSpan span =
        w.kind == FreezeWindow::Kind::kOnce ? FreezeSpan{&w, w.from, w.to} : weekly_span(w, now);
    if (span.from <= now) {
      if (w.kind == FreezeWindow::Kind::kOnce) continue;
      span = weekly_span(w, span.to + 60);  // the occurrence after the open one
    }
    if (!found || span.from < found->from) found = span;
  }
  return found;
}

std::string describe_span(const FreezeSpan& span) {
  const FreezeWindow& w = *span.window;
  return fmt::format("{}{} to {}", w.reason.empty() ? "" : w.reason + ": ",
                     format_zoned(span.from, w.tz), format_zoned(span.to, w.tz));
}

}  // namespace flotilla
