#include "playbooks/haproxy_switch.hpp"

#include <algorithm>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "core/command_failure.hpp"
#include "core/script_command.hpp"
#include "playbooks/host_commands.hpp"

namespace flotilla {
namespace {

// Seconds for balancer.sh's waits: whole, at least 1.
std::string whole_seconds(Duration d) {
  return std::to_string(
      std::max<long long>(1, std::chrono::duration_cast<std::chrono::seconds>(d).count()));
}

}  // namespace

Result<std::map<std::string, std::string>> balancer_servers(
    const BalancerSpec& balancer,
    const std::map<std::string, std::map<std::string, std::string>>& host_vars) {
  static const std::regex haproxy_name("[A-Za-z0-9_.:-]{1,100}");
  static const std::regex variable(R"(\{\{ *([A-Za-z_][A-Za-z0-9_]*) *\}\})");
  std::map<std::string, std::string> servers;
  for (const auto& [host, vars] : host_vars) {
    std::string name;
    auto begin = std::sregex_iterator(balancer.server.begin(), balancer.server.end(), variable);
    std::size_t pos = 0;
    for (auto it = begin; it != std::sregex_iterator(); ++it) {
      name += balancer.server.substr(pos, static_cast<std::size_t>(it->position()) - pos);
      auto value = vars.find((*it)[1]);
      if (value == vars.end()) {
        return fail(
            ErrorKind::kBadInput,
            fmt::format("balancer.server: host {} has no variable '{}'", host, (*it)[1].str()));
      }
      name += value->second;
      pos = static_cast<std::size_t>(it->position() + it->length());
    }
    name += balancer.server.substr(pos);
    if (!std::regex_match(name, haproxy_name)) {
      return fail(ErrorKind::kBadInput,
                  fmt::format("balancer.server: host {} would be server '{}', which is not a "
                              "HAProxy name (letters, digits, '-', '_', '.', ':')",
                              host, name));
    }
    servers[host] = name;
  }
  return servers;
}

HaproxySwitch::HaproxySwitch(BalancerSpec spec, std::vector<std::string> balancer_hosts,
                             std::unique_ptr<Transport> transport,
                             std::map<std::string, std::string> servers, Duration up_wait)
    : spec_(std::move(spec)),
      balancers_(std::move(balancer_hosts)),
      transport_(std::move(transport)),
      servers_(std::move(servers)),
      up_wait_(std::max(up_wait, spec_.drain)) {}

std::string HaproxySwitch::host_of(const std::string& server) const {
  for (const auto& [host, name] : servers_) {
    if (name == server) return host;
  }
  return "";
}

std::vector<BalancerView> HaproxySwitch::read() {
  std::vector<HostTask> tasks;
  for (std::size_t i = 0; i < balancers_.size(); ++i) {
    tasks.push_back({i, balancer_command(spec_, "show", {}, std::chrono::seconds(30))});
  }
  auto answers = transport_->run(tasks);
  std::vector<BalancerView> views;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    if (!answers[i] || !answers[i]->ok()) {
      views.push_back(
          {balancers_[i], fail(answers[i] ? ErrorKind::kFailed : answers[i].error().kind,
                               command_failure(answers[i]))});
      continue;
    }
    views.push_back({balancers_[i], parse_haproxy_show(answers[i]->out)});
  }
  return views;
}

Result<std::map<std::string, std::string>> HaproxySwitch::check(
    const std::vector<std::string>& hosts) {
  std::map<std::string, std::string> out_of_rotation;
  for (auto& view : read()) {
    if (!view.servers) {
      return fail(view.servers.error().kind,
                  fmt::format("balancer {}: {}", view.balancer, view.servers.error().message));
    }
    std::vector<std::string> missing;
    for (const auto& host : hosts) {
      const std::string& server = servers_.at(host);
      auto it = std::find_if(view.servers->begin(), view.servers->end(),
                             [&](const HaproxyServer& s) { return s.name == server; });
      if (it == view.servers->end()) {
        missing.push_back(server == host ? host : fmt::format("{} (server {})", host, server));
        continue;
      }
      std::string word = rotation_word(it->status);
      if (word == "MAINT" || word == "DRAIN") {
        std::string& where = out_of_rotation[host];
        where += (where.empty() ? "" : ", ") + fmt::format("{} on {}", word, view.balancer);
      }
    }
    if (!missing.empty()) {
      return fail(ErrorKind::kFailed,
                  fmt::format("balancer {}: backend {} has no server for {}", view.balancer,
                              spec_.backend, fmt::join(missing, ", ")));
    }
  }
  return out_of_rotation;
}

std::vector<Result<CommandResult>> HaproxySwitch::on_every_balancer(
    const std::string& action, const std::vector<std::string>& args, Duration timeout,
    RolloutObserver& observer) {
  std::vector<HostTask> tasks;
  for (std::size_t i = 0; i < balancers_.size(); ++i) {
    tasks.push_back({i, balancer_command(spec_, action, args, timeout)});
  }
  std::map<std::size_t, std::string> partial;  // per balancer: an unfinished line
  auto on_output = [&](std::size_t index, bool is_stderr, std::string_view chunk) {
    if (is_stderr || index >= balancers_.size()) return;
    std::string& line = partial[index];
    for (char c : chunk) {
      if (c != '\n') {
        if (line.size() < 512) line += c;
        continue;
      }
      // "sessions SERVER N" (drain) or "status SERVER WORDS" (ready).
      auto first = line.find(' ');
      auto second = first == std::string::npos ? first : line.find(' ', first + 1);
      if (second != std::string::npos) {
        std::string kind = line.substr(0, first);
        std::string host = host_of(line.substr(first + 1, second - first - 1));
        std::string value = line.substr(second + 1);
        if (!host.empty() && kind == "sessions" &&
            value.find_first_not_of("0123456789") == std::string::npos && value.size() < 10) {
          observer.balancer({host, balancers_[index], "drain", std::stol(value), -1, ""});
        } else if (!host.empty() && kind == "status") {
          observer.balancer({host, balancers_[index], "ready", -1, -1, value});
        }
      }
      line.clear();
    }
  };
  return transport_->run(tasks, on_output);
}

TrafficSwitch::Failures HaproxySwitch::take_out(const std::vector<std::string>& hosts,
                                                RolloutObserver& observer) {
  std::vector<std::string> args = {whole_seconds(spec_.drain)};
  for (const auto& h : hosts) args.push_back(servers_.at(h));
  auto done = on_every_balancer("drain", args, spec_.drain + std::chrono::seconds(30), observer);
  Failures failures;
  for (std::size_t i = 0; i < done.size(); ++i) {
    if (done[i] && done[i]->ok()) {
      for (const auto& h : hosts) observer.balancer({h, balancers_[i], "maint", -1, -1, ""});
      continue;
    }
    for (const auto& h : hosts) {
      if (!failures.contains(h))
        failures[h] = fmt::format("balancer {}: {}", balancers_[i], command_failure(done[i]));
    }
  }
  // Not stopped: back into rotation wherever it left.
  if (!failures.empty()) put_back(hosts, observer);
  return failures;
}

TrafficSwitch::Failures HaproxySwitch::put_back(const std::vector<std::string>& hosts,
                                                RolloutObserver& observer) {
  Failures failures;
  if (hosts.empty()) return failures;
  // Also after a Ctrl-C: leaving a serving host out of rotation is the harm.
  transport_->resume();
  InterruptHold hold(*transport_);
  std::vector<std::string> args = {whole_seconds(up_wait_)};
  for (const auto& h : hosts) args.push_back(servers_.at(h));
  auto done = on_every_balancer("ready", args, up_wait_ + std::chrono::seconds(30), observer);
  for (std::size_t i = 0; i < done.size(); ++i) {
    if (done[i] && done[i]->ok()) continue;
    if (done[i] && exited_with(*done[i], HostExit::kNotUp)) {
      // Which ones: the last status line of each server.
      std::map<std::string, std::string> last;
      std::istringstream lines(done[i]->out);
      for (std::string line; std::getline(lines, line);) {
        auto first = line.find(' ');
        auto second = first == std::string::npos ? first : line.find(' ', first + 1);
        if (line.rfind("status ", 0) == 0 && second != std::string::npos) {
          last[line.substr(first + 1, second - first - 1)] = line.substr(second + 1);
        }
      }
      for (const auto& h : hosts) {
        std::string status = last.contains(servers_.at(h)) ? last[servers_.at(h)] : "absent";
        if (rotation_word(status) != "UP" && !failures.contains(h)) {
          failures[h] = fmt::format("not UP on balancer {} ({})", balancers_[i], status);
        }
      }
      continue;
    }
    for (const auto& h : hosts) {
      if (!failures.contains(h))
        failures[h] = fmt::format("balancer {}: {}", balancers_[i], command_failure(done[i]));
    }
  }
  return failures;
}

Result<void> HaproxySwitch::set_weights(const std::vector<std::map<std::string, long>>& by_balancer,
                                        RolloutObserver& observer) {
  std::vector<HostTask> tasks;
  for (std::size_t i = 0; i < by_balancer.size() && i < balancers_.size(); ++i) {
    std::vector<std::string> args;
    for (const auto& [server, weight] : by_balancer[i]) {
      args.push_back(server);
      args.push_back(std::to_string(weight));
    }
    if (!args.empty())
      tasks.push_back({i, balancer_command(spec_, "weight", args, std::chrono::seconds(30))});
  }
  auto done = transport_->run(tasks);
  for (std::size_t t = 0; t < done.size(); ++t) {
    std::size_t i = tasks[t].host;
    if (!done[t] || !done[t]->ok()) {
      return fail(ErrorKind::kFailed,
                  fmt::format("balancer {}: {}", balancers_[i], command_failure(done[t])));
    }
    for (const auto& [server, weight] : by_balancer[i]) {
      std::string host = host_of(server);
      observer.balancer({host.empty() ? server : host, balancers_[i], "weight", -1, weight, ""});
    }
  }
  return {};
}

Result<void> HaproxySwitch::weigh_canaries(const std::vector<std::string>& canaries, double percent,
                                           RolloutObserver& observer) {
  std::set<std::string> names;
  for (const auto& h : canaries) names.insert(servers_.at(h));
  std::vector<std::map<std::string, long>> wanted;
  replaced_weights_.assign(balancers_.size(), {});
  auto views = read();
  for (std::size_t i = 0; i < views.size(); ++i) {
    if (!views[i].servers) {
      return fail(ErrorKind::kFailed, fmt::format("balancer {}: {}", views[i].balancer,
                                                  views[i].servers.error().message));
    }
    auto weights = canary_weights(*views[i].servers, names, percent);
    for (const auto& s : *views[i].servers) {
      if (weights.contains(s.name)) replaced_weights_[i][s.name] = s.weight;
    }
    wanted.push_back(std::move(weights));
  }
  return set_weights(wanted, observer);
}

Result<void> HaproxySwitch::restore_weights(RolloutObserver& observer) {
  if (replaced_weights_.empty()) return {};
  transport_->resume();
  InterruptHold hold(*transport_);
  auto restored = set_weights(replaced_weights_, observer);
  replaced_weights_.clear();
  return restored;
}

Result<void> HaproxySwitch::reset_weights(const std::vector<std::string>& hosts,
                                          RolloutObserver& observer) {
  std::vector<std::map<std::string, long>> wanted;
  for (auto& view : read()) {
    if (!view.servers) {
      return fail(view.servers.error().kind,
                  fmt::format("balancer {}: {}", view.balancer, view.servers.error().message));
    }
    std::map<std::string, long> weights;
    for (const auto& s : *view.servers) {
      std::string host = host_of(s.name);
      bool selected = std::find(hosts.begin(), hosts.end(), host) != hosts.end();
      if (selected && s.weight != s.initial_weight) weights[s.name] = s.initial_weight;
    }
    wanted.push_back(std::move(weights));
  }
  return set_weights(wanted, observer);
}

}  // namespace flotilla
