#pragma once

#include <optional>
#include <string>

#include "playbooks/pipeline_spec.hpp"

namespace flotilla {

// `at:` of a schedule entry: "daily 04:00 Asia/Seoul", "weekdays 04:00",
// "Mon,Thu 22:30 Europe/Berlin", "hourly", "hourly :15". The zone is an
// IANA name; absent, UTC. nullopt with `why` set when it is not one of these.
std::optional<ScheduleTime> parse_schedule_time(const std::string& text, std::string& why);

// systemd's OnCalendar= for it: "Mon..Fri *-*-* 04:00:00 Asia/Seoul".
std::string systemd_calendar(const ScheduleTime& time);

// A crontab's five fields for it, in its own zone ("0 4 * * 1-5"); the
// caller sets CRON_TZ (cronie, systemd-cron) or converts.
std::string cron_fields(const ScheduleTime& time);

}  // namespace flotilla
