#include "playbooks/schedule_units.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "core/shell_quote.hpp"
#include "playbooks/schedule_time.hpp"

namespace flotilla {
namespace {

std::string absolute(const std::string& path) { return std::filesystem::absolute(path).string(); }

std::string unit_word(const std::string& text) {
  std::string out;
  for (char c : text) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_';
    out += keep ? c : '-';
  }
  return out;
}

std::string base_name(const Project& project) {
  return project.name.empty() ? "flotilla" : "flotilla-" + unit_word(project.name);
}

std::string describe(const Project& project, std::size_t i) {
  const ScheduleEntry& e = project.schedule[i];
  return fmt::format("{} {} ({}; schedule[{}] of {})", e.run, e.env, e.at, i,
                     absolute(project.path));
}

}  // namespace

std::vector<std::string> scheduled_command(const Project& project, const ScheduleEntry& entry,
                                           const std::string& binary) {
  // A timer starts in no particular directory: every path absolute.
  return {binary,   "-f",      absolute(project.path), "-e", entry.env,
          "--json", entry.run, "--lock-wait",          "30m"};
}

std::string systemd_word(const std::string& word) {
  std::string escaped;
  bool quote = word.empty();
  for (char c : word) {
    if (c == '%' || c == '$') escaped += c;  // %% and $$: literal
    if (c == '"' || c == '\\') escaped += '\\';
    if (c == ' ' || c == '\t' || c == '"' || c == '\'' || c == ';' || c == '\\') quote = true;
    escaped += c;
  }
  return quote ? "\"" + escaped + "\"" : escaped;
}

std::vector<ScheduleFile> systemd_schedule(const Project& project, const std::string& binary) {
  std::vector<ScheduleFile> files;
  for (std::size_t i = 0; i < project.schedule.size(); ++i) {
    const ScheduleEntry& e = project.schedule[i];
    std::string name = fmt::format("{}-{}-{}", base_name(project), unit_word(e.env), e.run);
    std::vector<std::string> words;
    for (const auto& w : scheduled_command(project, e, binary)) words.push_back(systemd_word(w));
    std::string service = fmt::format(
        "[Unit]\n"
        "Description=flotilla: {}\n"
        "Wants=network-online.target\n"
        "After=network-online.target\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        "WorkingDirectory={}\n"
        "# Exit 0: synced, already in sync, or skipped in a freeze; 2: refused; 1: failed.\n"
        "ExecStart={}\n",
        describe(project, i), systemd_word(absolute(project.dir)), fmt::join(words, " "));
    std::string timer = fmt::format(
        "[Unit]\n"
        "Description=flotilla: {}\n"
        "\n"
        "[Timer]\n"
        "OnCalendar={}\n"
        "# A run missed while the host was off starts when it is back.\n"
        "Persistent=true\n"
        "Unit={}.service\n"
        "\n"
        "[Install]\n"
        "WantedBy=timers.target\n",
        describe(project, i), systemd_calendar(e.time), name);
    files.push_back({name + ".service", service});
    files.push_back({name + ".timer", timer});
  }
  return files;
}

ScheduleFile crontab_schedule(const Project& project, const std::string& binary) {
  std::string text = fmt::format(
      "# flotilla's timed steps for {}\n"
      "# CRON_TZ is read by cronie, systemd-cron and busybox crond; Debian's cron\n"
      "# ignores it and runs these in the system's zone.\n"
      "SHELL=/bin/sh\n",
      absolute(project.path));
  for (std::size_t i = 0; i < project.schedule.size(); ++i) {
    const ScheduleEntry& e = project.schedule[i];
    std::vector<std::string> words;
    for (const auto& w : scheduled_command(project, e, binary)) words.push_back(shell_quote(w));
    std::string log = fmt::format("{}/{}/schedule.log", absolute(project.state_dir), e.env);
    std::string command = fmt::format("cd {} && {} >>{} 2>&1", shell_quote(absolute(project.dir)),
                                      fmt::join(words, " "), shell_quote(log));
    // In a crontab command an unescaped % ends the command.
    std::string escaped;
    for (char c : command) {
      if (c == '%') escaped += '\\';
      escaped += c;
    }
    text += fmt::format("\n# {}\nCRON_TZ={}\n{} {}\n", describe(project, i), e.time.tz,
                        cron_fields(e.time), escaped);
  }
  return {base_name(project) + ".cron", text};
}

}  // namespace flotilla
