// `flotilla schedule print [--format systemd|cron] [--dir DIR]`: what a
// host needs to run the project's `schedule:` (systemd timer and service
// pairs, or a crontab). Printed, or written into DIR for
// `systemctl link`/`crontab FILE`; flotilla itself stays a command.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "playbooks/project_file.hpp"
#include "playbooks/schedule_units.hpp"

namespace flotilla {
namespace {

struct ScheduleOptions {
  std::string format = "systemd";
  std::string dir;
};

// The binary the timers should start: this one, by its real path.
std::string this_binary() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("/usr/bin/flotilla") : path.string();
}

Result<Outcome> run_schedule_print(const GlobalOptions& options, const ScheduleOptions& schedule,
                                   Reporter& reporter) {
  auto path = find_project_file(options.file);
  if (!path) return tl::unexpected(path.error());
  auto project = load_project_file(*path);
  if (!project) return tl::unexpected(project.error());
  if (project->schedule.empty()) {
    return fail(ErrorKind::kBadInput,
                fmt::format("{} has no schedule: (add `schedule: [{{env: loadtest, run: sync, "
                            "at: \"daily 04:00 Asia/Seoul\"}}]`)",
                            *path));
  }
  std::vector<ScheduleFile> files;
  if (schedule.format == "systemd") {
    files = systemd_schedule(*project, this_binary());
  } else {
    files = {crontab_schedule(*project, this_binary())};
  }
  nlohmann::json written = nlohmann::json::array();
  for (const auto& f : files) {
    if (!schedule.dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(schedule.dir, ec);
      std::string target = schedule.dir + "/" + f.name;
      std::ofstream out(target, std::ios::trunc);
      out << f.text;
      if (!out.flush()) return fail(ErrorKind::kFailed, fmt::format("could not write {}", target));
      reporter.text(fmt::format("wrote {}", target));
      written.push_back({{"name", f.name}, {"path", target}});
    } else if (!reporter.json()) {
      reporter.text(fmt::format("# {}\n{}", f.name, f.text));
    } else {
      written.push_back({{"name", f.name}, {"text", f.text}});
    }
  }
  if (reporter.json()) reporter.document({{"format", schedule.format}, {"files", written}});
  return Outcome();
}

}  // namespace

void add_schedule_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                          CommandAction& action) {
  auto* cmd = app.add_subcommand("schedule", "The pipeline's timed steps (`schedule:`)");
  cmd->require_subcommand(1);
  auto schedule = std::make_shared<ScheduleOptions>();
  auto* print = cmd->add_subcommand(
      "print", "Systemd timer and service pairs (or a crontab) that run the schedule");
  print->add_option("--format", schedule->format, "systemd (the default) or cron")
      ->check(CLI::IsMember({"systemd", "cron"}));
  print->add_option("--dir", schedule->dir, "Write the files into DIR instead of printing them");
  on_parsed(print, action, [&options, &reporter, schedule] {
    return run_schedule_print(options, *schedule, *reporter);
  });
}

}  // namespace flotilla
