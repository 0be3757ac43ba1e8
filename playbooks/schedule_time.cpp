#include "playbooks/schedule_time.hpp"

#include <algorithm>
#include <regex>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "core/time_zone.hpp"

namespace flotilla {
namespace {

const std::vector<std::string> kDays = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

std::optional<int> day_index(const std::string& name) {
  auto it = std::find(kDays.begin(), kDays.end(), name);
  if (it == kDays.end()) return std::nullopt;
  return static_cast<int>(it - kDays.begin());
}

// "Mon,Thu" or "Mon-Fri" (or both: "Mon-Wed,Sat").
std::optional<std::vector<int>> parse_days(const std::string& text) {
  std::vector<int> days;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    auto dash = part.find('-');
    auto first = day_index(part.substr(0, dash));
    auto last = dash == std::string::npos ? first : day_index(part.substr(dash + 1));
    if (!first || !last || *last < *first) return std::nullopt;
    for (int d = *first; d <= *last; ++d) days.push_back(d);
  }
  std::sort(days.begin(), days.end());
  days.erase(std::unique(days.begin(), days.end()), days.end());
  if (days.empty()) return std::nullopt;
  return days;
}

// "1-5" or "1,4" in cron's numbering (0 = Sunday).
std::string cron_days(const std::vector<int>& weekdays) {
  std::vector<int> cron;
  for (int d : weekdays) cron.push_back((d + 1) % 7);
  std::sort(cron.begin(), cron.end());
  bool run = cron.size() > 2 && cron.back() - cron.front() + 1 == static_cast<int>(cron.size());
  if (run) return fmt::format("{}-{}", cron.front(), cron.back());
  return fmt::format("{}", fmt::join(cron, ","));
}

std::string systemd_days(const std::vector<int>& weekdays) {
  std::vector<std::string> names;
  for (int d : weekdays) names.push_back(kDays[static_cast<std::size_t>(d)]);
  return fmt::format("{}", fmt::join(names, ","));
}

}  // namespace

std::optional<ScheduleTime> parse_schedule_time(const std::string& text, std::string& why) {
  static const std::regex re(
      R"(^\s*(daily|weekdays|weekends|hourly|[A-Z][a-z]{2}(?:[-,][A-Z][a-z]{2})*)\s*(?:(\d{1,2}):(\d{2})|:(\d{2}))?\s*([A-Za-z_+\-/0-9]*)\s*$)");
  std::smatch m;
  why =
      "expected like \"daily 04:00 Asia/Seoul\", \"weekdays 04:00\", \"Mon,Thu 22:30 UTC\" or "
      "\"hourly :15\"";
  if (!std::regex_match(text, m, re)) return std::nullopt;
  ScheduleTime time;
  const std::string every = m[1];
  const bool clock = m[2].matched;
  if (every == "hourly") {
    if (clock) return std::nullopt;  // "hourly 04:00" says two things
    time.every = ScheduleTime::Every::kHour;
    time.minute = m[4].matched ? std::stoi(m[4]) : 0;
  } else {
    if (!clock) {
      why = fmt::format("'{}' needs a time of day, like \"{} 04:00\"", every, every);
      return std::nullopt;
    }
    time.hour = std::stoi(m[2]);
    time.minute = std::stoi(m[3]);
    if (every == "weekdays") {
      time.weekdays = {0, 1, 2, 3, 4};
    } else if (every == "weekends") {
      time.weekdays = {5, 6};
    } else if (every != "daily") {
      auto days = parse_days(every);
      if (!days) {
        why = fmt::format("'{}': expected day names like Mon,Thu or Mon-Fri", every);
        return std::nullopt;
      }
      time.weekdays = *days;
    }
  }
  if (time.hour > 23 || time.minute > 59) {
    why = "the time of day is past 23:59";
    return std::nullopt;
  }
  if (m[5].length() > 0) {
    time.tz = m[5];
    if (!valid_time_zone(time.tz)) {
      why = fmt::format("unknown time zone '{}' (an IANA name like Asia/Seoul)", time.tz);
      return std::nullopt;
    }
  }
  return time;
}

std::string systemd_calendar(const ScheduleTime& time) {
  if (time.every == ScheduleTime::Every::kHour) {
    return fmt::format("*-*-* *:{:02d}:00 {}", time.minute, time.tz);
  }
  std::string days = time.weekdays.empty() ? "" : systemd_days(time.weekdays) + " ";
  return fmt::format("{}*-*-* {:02d}:{:02d}:00 {}", days, time.hour, time.minute, time.tz);
}

std::string cron_fields(const ScheduleTime& time) {
  if (time.every == ScheduleTime::Every::kHour) return fmt::format("{} * * * *", time.minute);
  std::string days = time.weekdays.empty() ? "*" : cron_days(time.weekdays);
  return fmt::format("{} {} * * {}", time.minute, time.hour, days);
}

}  // namespace flotilla
