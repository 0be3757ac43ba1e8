#include "playbooks/host_commands.hpp"

#include <chrono>
#include <set>

#include <fmt/format.h>

#include "core/base64.hpp"
#include "core/script_command.hpp"
#include "core/shell_quote.hpp"

namespace flotilla {
namespace {

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

Result<std::string> expand_command(const std::string& text,
                                   const std::map<std::string, std::string>& vars,
                                   HostValues host_values) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    std::size_t open = text.find("{{", pos);
    if (open == std::string::npos) {
      out += text.substr(pos);
      return out;
    }
    std::size_t close = text.find("}}", open);
    if (close == std::string::npos)
      return fail(ErrorKind::kBadInput, fmt::format("unclosed '{{{{' in: {}", text));
    out += text.substr(pos, open - pos);
    std::string name = text.substr(open + 2, close - open - 2);
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    if (name == "backup" && host_values == HostValues::kBackup) {
      out += "\"${FLOTILLA_BACKUP:?no backup location}\"";
    } else if (name == "minutes" && host_values == HostValues::kNotice) {
      out += "\"${FLOTILLA_MINUTES:?}\"";
    } else if (name == "seconds" && host_values == HostValues::kNotice) {
      out += "\"${FLOTILLA_SECONDS:?}\"";
    } else if (name == "pid") {
      // Set by the host script that runs the command, only while the pid
      // file names the process flotilla started (host_scripts/lib.sh).
      out += "\"${FLOTILLA_PID:?no supervised process is running}\"";
    } else if (auto it = vars.find(name); it != vars.end()) {
      out += shell_quote(it->second);
    } else {
      return fail(ErrorKind::kBadInput,
                  fmt::format("unknown variable '{{{{{}}}}}' in: {}", name, text));
    }
    pos = close + 2;
  }
}

std::set<std::string> unit_template_variables(const Unit& unit) {
  std::vector<const std::string*> commands = {
      &unit.run,         &unit.start,         &unit.stop,
      &unit.reload,      &unit.config_check,  &unit.drain.command,
      &unit.drain.check, &unit.drain.players, &unit.drain.notify};
  if (unit.health) commands.push_back(&unit.health->command);
  if (unit.backup_command) commands.push_back(&*unit.backup_command);
  if (unit.backup_verify) commands.push_back(&*unit.backup_verify);
  if (unit.restore_command) commands.push_back(&*unit.restore_command);
  for (const auto& [event, hook] : unit.hooks) commands.push_back(&hook);
  if (unit.balancer) commands.push_back(&unit.balancer->server);
  std::set<std::string> names;
  for (const std::string* text : commands) {
    for (std::size_t open = text->find("{{"); open != std::string::npos;
         open = text->find("{{", open + 2)) {
      std::size_t close = text->find("}}", open);
      if (close == std::string::npos) break;
      std::string name = text->substr(open + 2, close - open - 2);
      name.erase(0, name.find_first_not_of(' '));
      name.erase(name.find_last_not_of(' ') + 1);
      names.insert(name);
    }
  }
  return names;
}

RemoteCommand fetch_command(const HostLayout& layout, const RegistryPull& pull,
                            const std::vector<std::string>& missing) {
  std::string input = pull.authorization + "\n" + base64_encode(pull.ca_pem) + "\n";
  for (const auto& sha : missing) input += sha + "\n";
  auto command =
      script_command(HostScript::kFetchBlobs, {layout.store(), pull.url, pull.repository},
                     std::move(input), std::chrono::minutes(30));
  command.paced = false;  // bound by its bytes, not by its shell's start
  return command;
}

RemoteCommand assemble_command(const HostLayout& layout, const Manifest& manifest,
                               const PushBundle* bundle) {
  // The bundle, then the manifest travel on stdin: one entry per line: TYPE MODE SHA PATH,
  // and for links a second line with the target. Paths were checked safe
  // (relative, no "..") when the manifest was made and read.
  std::string listing;
  for (const auto& e : manifest.entries) {
    switch (e.type) {
      case ManifestEntry::Type::kDirectory:
        listing += fmt::format("d {:o} - {}\n", e.mode, e.path);
        break;
      case ManifestEntry::Type::kFile:
        listing += fmt::format("f {:o} {} {}\n", e.mode, e.sha256, e.path);
        break;
      case ManifestEntry::Type::kSymlink:
        listing += fmt::format("l 777 - {}\n{}\n", e.path, e.target);
        break;
    }
  }
  std::vector<std::string> args = {layout.deploy_to, layout.store(), manifest.id};
  if (bundle != nullptr) {
    args.push_back(bundle->gzipped ? "1" : "0");
    args.push_back(std::to_string(bundle->data->size()));
  }
  auto command =
      script_command(HostScript::kAssemble, args, std::move(listing), std::chrono::minutes(10));
  if (bundle != nullptr) command.stdin_head = bundle->data;
  command.paced = false;  // bound by its bytes, not by its shell's start
  return command;
}

namespace {

// Adds `option COMMAND` with the unit command expanded for this host (each
// travels as one argument; the script runs it with `sh -c`).
Result<void> add_command(std::vector<std::string>& args, const char* option,
                         const std::string& command, const std::map<std::string, std::string>& vars,
                         HostValues allowed = HostValues::kNone) {
  if (command.empty()) return {};
  auto expanded = expand_command(command, vars, allowed);
  if (!expanded) return tl::unexpected(expanded.error());
  args.push_back(option);
  args.push_back(std::move(*expanded));
  return {};
}

// The unit's commands and hooks, as activate.sh's options.
Result<void> add_unit_commands(std::vector<std::string>& args, const Unit& unit,
                               const std::map<std::string, std::string>& vars) {
  std::vector<std::pair<const char*, const std::string*>> commands = {
      {"--run", &unit.run},
      {"--start", &unit.start},
      {"--stop", &unit.stop},
      {"--reload", &unit.reload},
      {"--config-check", &unit.config_check},
      {"--drain", &unit.drain.command},
      {"--drain-check", &unit.drain.check}};
  if (unit.health) commands.emplace_back("--health", &unit.health->command);
  for (const auto& [option, hook] :
       {std::pair{"--before-drain", "before_drain"}, std::pair{"--before-stop", "before_stop"},
        std::pair{"--after-stop", "after_stop"}, std::pair{"--before-start", "before_start"},
        std::pair{"--after-start", "after_start"}, std::pair{"--after-health", "after_health"}}) {
    if (auto it = unit.hooks.find(hook); it != unit.hooks.end()) {
      commands.emplace_back(option, &it->second);
    }
  }
  for (const auto& [option, command] : commands) {
    if (auto added = add_command(args, option, *command, vars); !added) return added;
  }
  return {};
}

// The player-aware drain: count, notify at each notice, give up at the deadline.
Result<void> add_player_wait(std::vector<std::string>& args, const Unit& unit,
                             const std::map<std::string, std::string>& vars) {
  if (auto added = add_command(args, "--players", unit.drain.players, vars); !added) return added;
  if (auto added = add_command(args, "--notify", unit.drain.notify, vars, HostValues::kNotice);
      !added) {
    return added;
  }
  std::vector<long> notices;
  for (Duration d : unit.drain.notices) notices.push_back(static_cast<long>(seconds(d)));
  args.insert(args.end(), {"--notices", fmt::format("{}", fmt::join(notices, " ")), "--deadline",
                           std::to_string(static_cast<long>(seconds(unit.drain.deadline)))});
  return {};
}

// An activation's deadline follows from the unit's own timeouts (drain,
// then the stop that waits as long again, every health try), plus room
// for hooks and start: a stuck step ends in minutes, not half an hour.
Duration activation_deadline(const Unit& unit, bool waits_for_players) {
  Duration deadline = 2 * unit.drain.timeout + std::chrono::minutes(5);
  if (waits_for_players) deadline += unit.drain.deadline;
  if (unit.health) {
    deadline += (unit.health->retries + 1) * (unit.health->timeout + unit.health->interval);
  }
  return deadline;
}

}  // namespace

Result<RemoteCommand> activate_command(const Unit& unit, const HostLayout& layout,
                                       const Activation& target,
                                       std::map<std::string, std::string> vars,
                                       const nlohmann::json& state) {
  vars["release"] = target.release;
  vars["config_dir"] = target.config.empty() ? layout.shared() + "/config"
                                             : layout.state_dir() + "/configs/" + target.config;
  std::vector<std::string> args = {"--deploy-to",  layout.deploy_to, "--unit",
                                   unit.name,      "--release",      target.release,
                                   "--config",     target.config,    "--secrets",
                                   target.secrets, "--restart",      target.restart ? "1" : "0"};
  if (auto added = add_unit_commands(args, unit, vars); !added) {
    return tl::unexpected(added.error());
  }
  args.insert(args.end(), {"--drain-tenths",
                           std::to_string(static_cast<long>(seconds(unit.drain.timeout) * 10))});
  if (!target.restore_backup.empty()) {
    if (!unit.restore_command) {
      return fail(ErrorKind::kBadInput, fmt::format("units.{} has no restore command", unit.name));
    }
    auto restore = expand_command(*unit.restore_command, vars, HostValues::kBackup);
    if (!restore) return tl::unexpected(restore.error());
    args.insert(args.end(), {"--restore", *restore, "--backup", target.restore_backup});
  }
  const bool waits = target.restart && target.wait_for_players && !unit.drain.players.empty();
  if (waits) {
    if (auto added = add_player_wait(args, unit, vars); !added) {
      return tl::unexpected(added.error());
    }
  }
  if (unit.health) {
    args.insert(args.end(),
                {"--health-label", unit.health->command, "--health-retries",
                 std::to_string(unit.health->retries), "--health-timeout",
                 fmt::format("{:.3f}", seconds(unit.health->timeout)), "--health-interval",
                 fmt::format("{:.3f}", seconds(unit.health->interval))});
  }
  // Back to nothing (an empty release) leaves no record: finish.sh writes it.
  if (target.record && !target.release.empty()) {
    args.insert(args.end(),
                {"--record", target.record->line, "--keep-releases",
                 fmt::format("{}", fmt::join(target.record->keep_releases, " ")), "--keep-configs",
                 fmt::format("{}", fmt::join(target.record->keep_configs, " "))});
  }
  if (state.contains("current") && state["current"].is_object()) {
    nlohmann::json failed = state;
    failed["current"]["failed"] = true;
    args.insert(args.end(), {"--failed-state", failed.dump()});
  }
  std::string stdin_data = target.restart && target.release.empty() ? "" : state.dump(1) + "\n";
  auto command = script_command(HostScript::kActivate, args, std::move(stdin_data),
                                activation_deadline(unit, waits));
  command.paced = false;  // the batch is the operator's choice of how many at once
  return command;
}

Result<HealthProbe> health_probe(const Unit& unit, const std::map<std::string, std::string>& vars) {
  auto command = expand_command(unit.health->command, vars);
  if (!command) return tl::unexpected(command.error());
  return HealthProbe{*command, seconds(unit.health->timeout)};
}

RemoteCommand finish_command(const HostLayout& layout, const std::string& history_line,
                             const std::optional<RetainedVersions>& retained) {
  std::vector<std::string> args = {layout.deploy_to};
  if (retained) {
    args.push_back(fmt::format("{}", fmt::join(retained->releases, " ")));
    args.push_back(fmt::format("{}", fmt::join(retained->configs, " ")));
  }
  return script_command(HostScript::kFinish, args, history_line + "\n", std::chrono::minutes(5));
}

namespace {

constexpr Duration kLockHostTimeout = std::chrono::seconds(30);

// The unit's log globs: its `logs:`, else what the supervisor writes. The
// log scripts' arguments end with them.
std::vector<std::string> with_globs(std::vector<std::string> args, const Unit& unit) {
  if (unit.logs.empty()) {
    args.emplace_back("shared/log/*.log");
  } else {
    args.insert(args.end(), unit.logs.begin(), unit.logs.end());
  }
  return args;
}

}  // namespace

RemoteCommand lock_acquire_command(const std::string& environment, const std::string& holder) {
  return script_command(HostScript::kLockAcquire, {environment}, holder, kLockHostTimeout);
}

RemoteCommand lock_hand_over_command(const std::string& environment, const std::string& holder,
                                     const std::string& token_line) {
  return script_command(HostScript::kLockAcquire, {environment, token_line}, holder,
                        kLockHostTimeout);
}

RemoteCommand lock_holder_command(const std::string& environment) {
  return script_command(HostScript::kLockHolder, {environment}, "", kLockHostTimeout);
}

RemoteCommand lock_release_command(const std::string& environment,
                                   const std::optional<std::string>& token_line) {
  std::vector<std::string> args = {environment};
  if (token_line) args.push_back(*token_line);
  return script_command(HostScript::kLockRelease, args, "", kLockHostTimeout);
}

RemoteCommand rollout_board_command(const std::string& action, const std::string& environment,
                                    const std::vector<std::string>& args) {
  std::vector<std::string> all = {action, environment};
  all.insert(all.end(), args.begin(), args.end());
  return script_command(HostScript::kRolloutBoard, all, "", kLockHostTimeout);
}

RemoteCommand lock_counter_command(const std::string& environment) {
  return script_command(HostScript::kLockCounter, {environment}, "", kLockHostTimeout);
}

RemoteCommand snapshot_id_command(const std::string& environment, long at_least_above) {
  return script_command(HostScript::kSnapshotId, {environment, std::to_string(at_least_above)}, "",
                        kLockHostTimeout);
}

RemoteCommand approval_store_command(const std::string& environment, const std::string& ticket,
                                     const std::string& name, std::string text) {
  return script_command(HostScript::kApprovalStore, {environment, ticket, name}, std::move(text),
                        kLockHostTimeout);
}

RemoteCommand approval_list_command(const std::string& environment, const std::string& ticket) {
  return script_command(HostScript::kApprovalList, {environment, ticket}, "", kLockHostTimeout);
}

RemoteCommand backup_command(const Unit& unit, const std::string& expanded) {
  return script_command(HostScript::kBackup, {unit.deploy_to, expanded}, "",
                        std::chrono::minutes(30));
}

RemoteCommand backup_verify_command(const Unit& unit, const std::string& location,
                                    const std::string& expanded) {
  return script_command(HostScript::kBackupVerify, {unit.deploy_to, location, expanded}, "",
                        std::chrono::minutes(30));
}

RemoteCommand release_export_command(const std::string& deploy_to, const std::string& id) {
  return script_command(HostScript::kReleaseExport, {deploy_to, id}, "", std::chrono::minutes(30));
}

RemoteCommand logs_tail_command(const Unit& unit, long lines, const std::string& grep,
                                Duration timeout) {
  return script_command(HostScript::kLogs,
                        with_globs({unit.deploy_to, std::to_string(lines), grep}, unit), "",
                        timeout);
}

RemoteCommand logs_follow_command(const Unit& unit, const std::string& grep) {
  return script_command(HostScript::kLogsFollow, with_globs({unit.deploy_to, grep}, unit), "",
                        std::chrono::hours(24 * 365));
}

RemoteCommand logs_count_command(const Unit& unit, long seconds, std::size_t top,
                                 const std::string& grep, Duration timeout) {
  return script_command(
      HostScript::kLogsCount,
      with_globs({unit.deploy_to, std::to_string(seconds), std::to_string(top), grep}, unit), "",
      timeout);
}

RemoteCommand balancer_command(const BalancerSpec& balancer, const std::string& action,
                               const std::vector<std::string>& args, Duration timeout) {
  std::vector<std::string> all = {balancer.socket, balancer.backend, action};
  all.insert(all.end(), args.begin(), args.end());
  return script_command(HostScript::kBalancer, all, "", timeout);
}

RemoteCommand doctor_command(bool lock_host, const std::vector<std::string>& tools,
                             const std::vector<std::string>& dirs,
                             const std::vector<std::string>& sockets) {
  std::vector<std::string> args;
  if (lock_host) args.push_back("--lock");
  for (const auto& tool : tools) args.insert(args.end(), {"--tool", tool});
  for (const auto& dir : dirs) args.insert(args.end(), {"--dir", dir});
  for (const auto& socket : sockets) args.insert(args.end(), {"--socket", socket});
  return script_command(HostScript::kDoctor, args, "", std::chrono::seconds(30));
}

}  // namespace flotilla
