#include "playbooks/freeze_window.hpp"

#include <fmt/format.h>

#include "core/time_zone.hpp"

namespace flotilla {
namespace {

constexpr int kWeekMinutes = 7 * 24 * 60;

int positive_mod(int a, int m) { return ((a % m) + m) % m; }

// The weekly window's occurrence that is open at `now`, else the next one.
// Its ends are wall-clock times in the window's zone, converted one by one,
// so a window across a DST change keeps its local times (and is an hour
// shorter or longer, as the clock on the wall is).
FreezeSpan weekly_span(const FreezeWindow& w, std::int64_t now) {
  ZonedTime local = zoned_time(now, w.tz);
  int minute = local.weekday * 1440 + local.hour * 60 + local.minute;
  int since_start = positive_mod(minute - w.start_minute, kWeekMinutes);
  int length = positive_mod(w.end_minute - w.start_minute, kWeekMinutes);
  // The most recent start, as a wall-clock time (mktime normalizes the
  // day and minute arithmetic).
  ZonedTime start = local;
  start.second = 0;
  start.minute = local.minute - since_start;
  auto span_from = [&](const ZonedTime& s) {
    ZonedTime end = s;
    end.minute += length;
    return FreezeSpan{&w, utc_of(s, w.tz), utc_of(end, w.tz)};
  };
  FreezeSpan span = span_from(start);
  if (now >= span.to) {
    start.day += 7;
    span = span_from(start);
  }
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
