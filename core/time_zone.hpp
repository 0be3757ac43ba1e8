#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace flotilla {

// Wall-clock times in IANA zones ("Asia/Seoul", "Europe/Berlin", "UTC"),
// from the system's tz database through glibc (GCC 12's <chrono> has no
// time zones yet).
struct ZonedTime {
  int year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  int weekday = 3;           // 0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday)
  long utc_offset = 0;       // seconds east of UTC
  std::string abbreviation;  // "KST", "CET"
};

// A zone name the tz database has (and no path games: "../", absolute).
bool valid_time_zone(const std::string& zone);

ZonedTime zoned_time(std::int64_t utc, const std::string& zone);

// The UTC time of a wall-clock time in `zone` (a time skipped by a DST
// change resolves as mktime does).
std::int64_t utc_of(const ZonedTime& local, const std::string& zone);

// "2026-12-24T18:00:00+09:00", "...Z", or without an offset (then in `zone`):
// the UTC time, or nullopt when it is not ISO-8601.
std::optional<std::int64_t> parse_iso8601(const std::string& text, const std::string& zone);

// "2026-12-24 18:00 KST" in the zone.
std::string format_zoned(std::int64_t utc, const std::string& zone);

}  // namespace flotilla
