#include "playbooks/change/backup.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/script_command.hpp"
#include "core/terminal_text.hpp"
#include "inventory/host_pattern.hpp"
#include "playbooks/host_steps.hpp"

namespace flotilla {

Result<nlohmann::json> run_backup(const PreparedChange& prepared, Reporter& reporter) {
  const Unit& unit = prepared.unit();
  const UnitFleet& fleet = prepared.fleet;
  const Inventory& inventory = fleet.targets->inventory.inventory;
  std::vector<std::size_t> chosen;  // transport indexes
  if (unit.backup_hosts.empty()) {
    chosen.push_back(0);
  } else {
    auto selected = select_hosts(inventory, unit.backup_hosts);
    if (!selected) return tl::unexpected(selected.error());
    for (std::size_t i = 0; i < fleet.hosts.size(); ++i) {
      if (std::find(selected->begin(), selected->end(), fleet.hosts[i]) != selected->end())
        chosen.push_back(i);
    }
    if (chosen.empty()) {
      return fail(ErrorKind::kBadInput,
                  fmt::format("units.{}.backup.hosts '{}' names none of the hosts being changed",
                              unit.name, unit.backup_hosts));
    }
  }
  HostLayout layout{unit.deploy_to};
  std::vector<HostTask> tasks;
  std::vector<std::string> names;
  for (std::size_t index : chosen) {
    const std::string& name = inventory.hosts()[fleet.hosts[index]].name;
    auto command = expand_command(*unit.backup_command, fleet.by_name.at(name).vars);
    if (!command) return tl::unexpected(command.error());
    tasks.push_back({index, script_command(HostScript::kBackup, {unit.deploy_to, *command}, "",
                                           std::chrono::minutes(30))});
    names.push_back(name);
  }
  reporter.progress(fmt::format("backup on {}", fmt::join(names, " ")));
  auto results = fleet.transport->run(tasks);
  nlohmann::json record = nlohmann::json::array();
  std::vector<std::string> failures;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    bool done = r && r->ok();
    std::string location;
    if (r) {
      std::string out = r->out;
      while (!out.empty() && out.back() == '\n') out.pop_back();
      location = out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
    }
    std::string error = !r ? r.error().message : done ? "" : r->err;
    // Both are kept in the snapshot, locally and on the hosts: never a
    // secret, and valid UTF-8 whatever the backup tool printed.
    location = valid_utf8(reporter.redacted(location));
    error = valid_utf8(reporter.redacted(error));
    record.push_back({{"host", names[i]}, {"ok", done}, {"location", location}, {"error", error}});
    reporter.event("backup_done", {{"host", names[i]}, {"ok", done}, {"location", location}});
    if (!done) {
      while (!error.empty() && error.back() == '\n') error.pop_back();
      failures.push_back(fmt::format("{} ({})", names[i],
                                     !error.empty() ? error
                                     : r            ? fmt::format("exit {}", r->exit_status)
                                                    : "failed"));
    }
  }
  if (!failures.empty()) {
    return fail(ErrorKind::kFailed, fmt::format("backup failed on {}", fmt::join(failures, ", ")));
  }
  return record;
}

}  // namespace flotilla
