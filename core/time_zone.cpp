#include "core/time_zone.hpp"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>

#include <fmt/format.h>

namespace flotilla {
namespace {

// glibc converts in the zone $TZ names: set it for the duration of one
// conversion, then put back what was there.
class ScopedZone {
 public:
  explicit ScopedZone(const std::string& zone) {
    if (const char* old = std::getenv("TZ")) saved_ = old;
    ::setenv("TZ", (":" + zone).c_str(), 1);
    ::tzset();
  }
  ~ScopedZone() {
    if (saved_) {
      ::setenv("TZ", saved_->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }
  ScopedZone(const ScopedZone&) = delete;
  ScopedZone& operator=(const ScopedZone&) = delete;

 private:
  std::optional<std::string> saved_;
};

}  // namespace

bool valid_time_zone(const std::string& zone) {
  static const std::regex name("[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*");
  if (!std::regex_match(zone, name) || zone.find("..") != std::string::npos) return false;
  if (zone == "UTC") return true;
  std::error_code ec;
  for (const char* dir : {"/usr/share/zoneinfo/", "/usr/lib/zoneinfo/"}) {
    std::string path = std::string(dir) + zone;
    if (!std::filesystem::is_regular_file(path, ec)) continue;
    // A zone is a TZif file; zoneinfo also holds tables (leapseconds,
    // zone.tab, iso3166.tab) that the C library would quietly read as UTC.
    char magic[4] = {};
    std::ifstream in(path, std::ios::binary);
    return in.read(magic, sizeof magic) && std::string(magic, 4) == "TZif";
  }
  return false;
}

ZonedTime zoned_time(std::int64_t utc, const std::string& zone) {
  ScopedZone scoped(zone);
  std::time_t t = static_cast<std::time_t>(utc);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  ZonedTime out;
  out.year = tm.tm_year + 1900;
  out.month = tm.tm_mon + 1;
  out.day = tm.tm_mday;
  out.hour = tm.tm_hour;
  out.minute = tm.tm_min;
  out.second = tm.tm_sec;
  out.weekday = (tm.tm_wday + 6) % 7;
  out.utc_offset = tm.tm_gmtoff;
  out.abbreviation = tm.tm_zone != nullptr ? tm.tm_zone : "";
  return out;
}

std::int64_t utc_of(const ZonedTime& local, const std::string& zone) {
  ScopedZone scoped(zone);
  std::tm tm{};
  tm.tm_year = local.year - 1900;
  tm.tm_mon = local.month - 1;
  tm.tm_mday = local.day;
  tm.tm_hour = local.hour;
  tm.tm_min = local.minute;
  tm.tm_sec = local.second;
  tm.tm_isdst = -1;
  return static_cast<std::int64_t>(::mktime(&tm));
}

std::optional<std::int64_t> parse_iso8601(const std::string& text, const std::string& zone) {
  static const std::regex re(
      R"((\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:?\d{2})?)");
  std::smatch m;
  if (!std::regex_match(text, m, re)) return std::nullopt;
  ZonedTime t;
  t.year = std::stoi(m[1]);
  t.month = std::stoi(m[2]);
  t.day = std::stoi(m[3]);
  t.hour = std::stoi(m[4]);
  t.minute = std::stoi(m[5]);
  t.second = m[6].matched ? std::stoi(m[6]) : 0;
  if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > 31 || t.hour > 23 || t.minute > 59 ||
      t.second > 60) {
    return std::nullopt;
  }
  if (!m[7].matched) return utc_of(t, zone);
  std::int64_t as_utc = utc_of(t, "UTC");
  std::string offset = m[7];
  if (offset == "Z") return as_utc;
  offset.erase(std::remove(offset.begin(), offset.end(), ':'), offset.end());
  int sign = offset[0] == '-' ? -1 : 1;
  int hours = std::stoi(offset.substr(1, 2)), minutes = std::stoi(offset.substr(3, 2));
  return as_utc - sign * (hours * 3600 + minutes * 60);
}

std::string format_zoned(std::int64_t utc, const std::string& zone) {
  ZonedTime t = zoned_time(utc, zone);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02} {}", t.year, t.month, t.day, t.hour, t.minute,
                     t.abbreviation.empty() ? zone : t.abbreviation);
}

}  // namespace flotilla
