#include <doctest/doctest.h>

#include "core/time_zone.hpp"
#include "playbooks/freeze_window.hpp"

using namespace flotilla;

namespace {

std::int64_t at(const char* iso) { return parse_iso8601(iso, "UTC").value(); }

FreezeWindow weekly(int start, int end, const char* tz, const char* reason) {
  FreezeWindow w;
  w.kind = FreezeWindow::Kind::kWeekly;
  w.start_minute = start;
  w.end_minute = end;
  w.tz = tz;
  w.reason = reason;
  return w;
}

}  // namespace

TEST_CASE("time zones: ISO-8601 with and without offsets, wall clocks in named zones") {
  CHECK(at("2026-12-04T09:00:00Z") == 1796374800);
  CHECK(parse_iso8601("2026-12-04T18:00:00+09:00", "UTC") == at("2026-12-04T09:00:00Z"));
  CHECK(parse_iso8601("2026-12-04T18:00", "Asia/Seoul") == at("2026-12-04T09:00:00Z"));
  CHECK(parse_iso8601("2026-07-01T12:00", "Europe/Berlin") == at("2026-07-01T10:00:00Z"));  // CEST
  CHECK_FALSE(parse_iso8601("next friday", "UTC"));
  CHECK_FALSE(parse_iso8601("2026-13-01T00:00", "UTC"));
  ZonedTime seoul = zoned_time(at("2026-12-04T09:00:00Z"), "Asia/Seoul");
  CHECK(seoul.weekday == 4);  // Friday
  CHECK(seoul.hour == 18);
  CHECK(seoul.abbreviation == "KST");
  CHECK(format_zoned(at("2026-12-04T09:00:00Z"), "Asia/Seoul") == "2026-12-04 18:00 KST");
  CHECK(valid_time_zone("Asia/Seoul"));
  CHECK(valid_time_zone("UTC"));
  CHECK_FALSE(valid_time_zone("Mars/Olympus"));
  CHECK_FALSE(valid_time_zone("leapseconds"));  // a table under zoneinfo, not a zone
  CHECK_FALSE(valid_time_zone("zone.tab"));
  CHECK_FALSE(valid_time_zone("../../etc/passwd"));
}

TEST_CASE("freeze windows: weekly in Seoul, seen from anywhere; once; the next opening") {
  Environment prod;
  prod.name = "prod";
  // Fri 18:00 - Mon 09:00, Asia/Seoul.
  prod.freeze.push_back(weekly(4 * 1440 + 18 * 60, 0 * 1440 + 9 * 60, "Asia/Seoul", "weekend"));
  CHECK_FALSE(freeze_at(prod, at("2026-12-04T08:59:00Z")));  // Fri 17:59 KST
  auto next = next_freeze(prod, at("2026-12-04T08:59:00Z"));
  REQUIRE(next);
  CHECK(next->from == at("2026-12-04T09:00:00Z"));
  CHECK(next->to == at("2026-12-07T00:00:00Z"));  // Mon 09:00 KST
  CHECK(describe_span(*next) == "weekend: 2026-12-04 18:00 KST to 2026-12-07 09:00 KST");

  auto open = freeze_at(prod, at("2026-12-05T12:34:56Z"));
  REQUIRE(open);
  CHECK(open->from == at("2026-12-04T09:00:00Z"));
  CHECK(open->to == at("2026-12-07T00:00:00Z"));
  CHECK(freeze_at(prod, at("2026-12-06T23:59:59Z")));
  CHECK_FALSE(freeze_at(prod, at("2026-12-07T00:00:00Z")));  // the end is open
  // While one is open, the next is a week later.
  CHECK(next_freeze(prod, at("2026-12-05T12:00:00Z"))->from == at("2026-12-11T09:00:00Z"));

  FreezeWindow christmas;
  christmas.from = at("2026-12-24T00:00:00Z");
  christmas.to = at("2026-12-26T00:00:00Z");
  christmas.reason = "christmas";
  prod.freeze.push_back(christmas);
  auto xmas = freeze_at(prod, at("2026-12-24T12:00:00Z"));  // a Thursday
  REQUIRE(xmas);
  CHECK(xmas->window->reason == "christmas");
  // Friday 18:00 KST inside Christmas: the one that closes last is named.
  CHECK(freeze_at(prod, at("2026-12-25T10:00:00Z"))->window->reason == "weekend");
  CHECK_FALSE(next_freeze(prod, at("2026-12-27T00:00:00Z"))->window->reason.empty());
}

TEST_CASE("freeze windows: across midnight, and across a DST change in Frankfurt") {
  Environment env;
  // Sat 23:00 - Sun 04:00, Europe/Berlin. On 2026-03-29 clocks go 02:00 CET -> 03:00 CEST.
  env.freeze.push_back(weekly(5 * 1440 + 23 * 60, 6 * 1440 + 4 * 60, "Europe/Berlin", "night"));
  auto open = freeze_at(env, at("2026-03-29T00:30:00Z"));  // 01:30 CET, Sunday
  REQUIRE(open);
  CHECK(open->from == at("2026-03-28T22:00:00Z"));  // Sat 23:00 CET
  CHECK(open->to == at("2026-03-29T02:00:00Z"));    // Sun 04:00 CEST: four hours on the clock
  CHECK(freeze_at(env, at("2026-03-29T01:59:00Z")));
  CHECK_FALSE(freeze_at(env, at("2026-03-29T02:00:00Z")));
  // A week later, no DST change: five hours again.
  auto next = next_freeze(env, at("2026-03-29T12:00:00Z"));
  REQUIRE(next);
  CHECK(next->from == at("2026-04-04T21:00:00Z"));
  CHECK(next->to == at("2026-04-05T02:00:00Z"));
}
