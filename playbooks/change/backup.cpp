#include "playbooks/change/backup.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/terminal_text.hpp"
#include "inventory/host_pattern.hpp"
#include "playbooks/host_commands.hpp"

namespace flotilla {
namespace {

// The restore drill: each backup's `verify` on the host that made it, with
// {{backup}} = the location it printed. A backup that cannot be restored
// is no backup: the change stops here, before any host changes.
Result<void> verify_backups(const PreparedChange& prepared, const std::vector<HostTask>& backups,
                            const std::vector<std::string>& names,
                            const std::vector<std::string>& locations, nlohmann::json& record,
                            Reporter& reporter) {
  const Unit& unit = prepared.unit();
  std::vector<HostTask> tasks;
  for (std::size_t i = 0; i < backups.size(); ++i) {
    auto command = expand_command(*unit.backup_verify, prepared.fleet.by_name.at(names[i]).vars,
                                  HostValues::kBackup);
    if (!command) return tl::unexpected(command.error());
    tasks.push_back({backups[i].host, backup_verify_command(unit, locations[i], *command)});
  }
  reporter.progress(fmt::format("verifying the backup on {}", fmt::join(names, " ")));
  auto results = prepared.fleet.transport->run(tasks);
  std::vector<std::string> failures;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    bool ok = r && r->ok();
    std::string error = !r ? r.error().message : ok ? "" : (r->err.empty() ? r->out : r->err);
    error = valid_utf8(reporter.redacted(error));
    while (!error.empty() && error.back() == '\n') error.pop_back();
    if (error.size() > 500) error = error.substr(error.size() - 500);
    record[i]["verified"] = ok;
    if (!ok) {
      record[i]["verify_error"] = error;
      failures.push_back(fmt::format("{} ({})", names[i],
                                     !error.empty() ? error
                                     : r            ? fmt::format("exit {}", r->exit_status)
                                                    : "failed"));
    }
    reporter.event("backup_verified", {{"host", names[i]}, {"ok", ok}});
  }
  if (!failures.empty()) {
    return fail(ErrorKind::kFailed,
                fmt::format("backup verify failed on {}: that backup could not be restored",
                            fmt::join(failures, ", ")));
  }
  return {};
}

}  // namespace

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
    tasks.push_back({index, backup_command(unit, *command)});
    names.push_back(name);
  }
  reporter.progress(fmt::format("backup on {}", fmt::join(names, " ")));
  auto results = fleet.transport->run(tasks);
  nlohmann::json record = nlohmann::json::array();
  std::vector<std::string> raw_locations;  // as each host printed it: its verify's argument
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
    raw_locations.push_back(location);
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
  if (unit.backup_verify) {
    if (auto verified = verify_backups(prepared, tasks, names, raw_locations, record, reporter);
        !verified) {
      return tl::unexpected(verified.error());
    }
  }
  return record;
}

}  // namespace flotilla
