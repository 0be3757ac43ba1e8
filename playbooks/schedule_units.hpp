#pragma once

#include <string>
#include <vector>

#include "playbooks/project.hpp"

namespace flotilla {

// What a host needs to run the pipeline's timed steps (`schedule:`):
// flotilla stays a command, and systemd or cron starts it.

struct ScheduleFile {
  std::string name;  // "flotilla-studio-loadtest-sync.timer", "flotilla-studio.cron"
  std::string text;
};

// The command line one entry runs: `BINARY -f PROJECT -e ENV --json RUN
// --lock-wait 30m` (a queued step waits for a person's change to end).
std::vector<std::string> scheduled_command(const Project& project, const ScheduleEntry& entry,
                                           const std::string& binary);

// A systemd service (Type=oneshot) and timer (OnCalendar in the entry's
// zone, Persistent) per entry.
std::vector<ScheduleFile> systemd_schedule(const Project& project, const std::string& binary);

// One crontab: per entry a CRON_TZ line (cronie, systemd-cron and
// busybox read it; Debian's own cron does not, and runs in the system's
// zone) and the line, its output appended to STATE_DIR/ENV/schedule.log.
ScheduleFile crontab_schedule(const Project& project, const std::string& binary);

// "ExecStart=" quoting: each word in double quotes when it needs them,
// '%' and '$' doubled (specifiers and variables are systemd's, not ours).
std::string systemd_word(const std::string& word);

}  // namespace flotilla
