#include "playbooks/unit_reader.hpp"

#include <algorithm>
#include <filesystem>
#include <regex>

#include <fmt/format.h>

#include "core/did_you_mean.hpp"
#include "playbooks/analysis_reader.hpp"
#include "playbooks/pipeline_reader.hpp"
#include "playbooks/project_file.hpp"
#include "playbooks/project_values.hpp"

namespace flotilla {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kUnitKeys = {
    "kind",    "hosts",    "source",   "deploy_to", "keep_releases", "run",
    "start",   "stop",     "reload",   "health",    "drain",         "config",
    "backup",  "secrets",  "hooks",    "logs",      "rollout",       "require_ticket",
    "restore", "balancer", "analysis", "watch",     "load_test"};
const std::vector<std::string> kSourceKeys = {"repo", "build", "output"};
const std::vector<std::string> kHealthKeys = {"command", "timeout", "retries", "interval"};
const std::vector<std::string> kDrainKeys = {"command", "check",   "timeout", "players",
                                             "notify",  "notices", "deadline"};
const std::vector<std::string> kConfigKeys = {"files", "check"};
const std::vector<std::string> kBackupKeys = {"command", "hosts", "verify"};
const std::vector<std::string> kHookKeys = {"before_drain", "before_stop", "after_stop",
                                            "before_start", "after_start", "after_health"};
const std::vector<std::string> kRolloutKeys = {"canary",          "bake",          "batch",
                                               "max_unavailable", "pair_key",      "pair_max_down",
                                               "max_failures",    "auto_rollback", "canary_weight"};
const std::vector<std::string> kBalancerKeys = {"type",    "hosts",  "socket",
                                                "backend", "server", "drain"};
const std::vector<std::string> kKinds = {"service", "reward", "payment", "gm"};

class UnitReader {
 public:
  UnitReader(ConfigReader& in, Project& project) : in_(in), project_(project) {}

  void apply_kind_defaults(Unit& unit) {
    switch (unit.kind) {
      case UnitKind::kPayment:
        // Money in flight: one host at a time, a long drain, a ticket always.
        unit.rollout.canary = 1;
        unit.rollout.batch = {HostCount{1, false}};
        unit.rollout.max_unavailable = HostCount{1, false};
        unit.drain.timeout = std::chrono::minutes(5);
        unit.require_ticket = true;
        break;
      case UnitKind::kReward:
        unit.drain.timeout = std::chrono::seconds(120);
        break;
      case UnitKind::kGm:
        unit.rollout.batch = {HostCount{50, true}};
        break;
      case UnitKind::kService:
        break;
    }
  }

  void read_kind(const YamlNode& n, const std::string& what, Unit& unit) {
    if (auto s = in_.string(n, what + ".kind")) {
      auto it = std::find(kKinds.begin(), kKinds.end(), *s);
      if (it == kKinds.end()) {
        in_.error(n, fmt::format("{}.kind: unknown kind '{}' (service, reward, payment or gm){}",
                                 what, *s, did_you_mean_suffix(*s, kKinds)));
      } else {
        unit.kind = static_cast<UnitKind>(it - kKinds.begin());
      }
    }
  }

  void read_deploy_to(const YamlNode& n, const std::string& what, Unit& unit) {
    if (auto s = in_.string(n, what + ".deploy_to")) {
      static const std::regex safe_path("/[A-Za-z0-9._/-]*");
      bool has_dotdot =
          fs::path(*s).lexically_normal() != fs::path(*s) || s->find("/..") != std::string::npos;
      if (!std::regex_match(*s, safe_path) || has_dotdot || *s == "/") {
        in_.error(n, fmt::format("{}.deploy_to: expected an absolute, normalized path of "
                                 "letters, digits, '.', '_', '-' and '/', found '{}'",
                                 what, *s));
      } else {
        unit.deploy_to = *s;
      }
    }
  }

  // run, or start and stop; reload.
  void read_commands(const YamlNode& node, const std::string& what, Unit& unit) {
    for (auto [field, name] : {std::pair{&unit.run, "run"}, std::pair{&unit.start, "start"},
                               std::pair{&unit.stop, "stop"}, std::pair{&unit.reload, "reload"}}) {
      if (auto* n = node.find(name)) {
        if (auto s = command(*n, what + "." + name)) *field = *s;
      }
    }
    if (!unit.run.empty() && (!unit.start.empty() || !unit.stop.empty())) {
      in_.error(*node.find("run"),
                fmt::format("{}: use either 'run' or 'start'/'stop', not both", what));
    }
    if (unit.start.empty() != unit.stop.empty()) {
      in_.error(node, fmt::format("{}: 'start' and 'stop' go together", what));
    }
  }

  void read_config_and_backup(const YamlNode& node, const std::string& what, Unit& unit) {
    if (auto* n = node.find("config")) {
      if (in_.check_mapping(*n, what + ".config", kConfigKeys)) {
        if (auto* f = n->find("files")) {
          if (auto list = in_.string_list(*f, what + ".config.files")) unit.config_files = *list;
        }
        if (auto* c = n->find("check")) {
          if (auto s = command(*c, what + ".config.check")) unit.config_check = *s;
        }
      }
    }
    if (auto* n = node.find("backup")) {
      if (in_.check_mapping(*n, what + ".backup", kBackupKeys)) {
        if (auto* c = n->find("command")) {
          if (auto s = command(*c, what + ".backup.command")) unit.backup_command = *s;
        } else {
          in_.error(*n, fmt::format("{}.backup: missing key 'command'", what));
        }
        if (auto* v = n->find("verify")) {
          if (auto s = command(*v, what + ".backup.verify")) unit.backup_verify = *s;
        }
        if (auto* h = n->find("hosts")) {
          if (auto s = in_.string(*h, what + ".backup.hosts")) unit.backup_hosts = *s;
        }
      }
    }
    if (auto* n = node.find("restore")) {
      if (auto s = command(*n, what + ".restore")) unit.restore_command = *s;
      if (!unit.backup_command) {
        in_.error(*n, fmt::format("{}.restore: needs {}.backup (what it restores)", what, what));
      }
    }
  }

  void read_hooks_and_logs(const YamlNode& node, const std::string& what, Unit& unit) {
    if (auto* n = node.find("hooks")) {
      if (in_.check_mapping(*n, what + ".hooks", kHookKeys)) {
        for (const auto& [k, v] : n->entries) {
          if (auto s = command(*v, what + ".hooks." + k->scalar)) unit.hooks[k->scalar] = *s;
        }
      }
    }
    if (auto* n = node.find("logs")) {
      // Globs reach the remote shell unquoted so it can expand them: only
      // plain path and glob characters, inside deploy_to.
      static const std::regex safe_glob(R"([A-Za-z0-9._*?\[\]-][A-Za-z0-9._/*?\[\]-]*)");
      if (auto list = in_.string_list(*n, what + ".logs")) {
        for (const auto& glob : *list) {
          if (!std::regex_match(glob, safe_glob) || glob.find("..") != std::string::npos) {
            in_.error(*n, fmt::format("{}.logs: '{}' must be a relative path or glob of letters, "
                                      "digits, '.', '_', '-', '/', '*', '?', '[]'",
                                      what, glob));
          }
        }
        unit.logs = *list;
      }
    }
  }

  void read_unit(const YamlNode& key, const YamlNode& node) {
    Unit unit;
    unit.name = key.scalar;
    unit.mark = key.mark;
    unit.hosts_mark = key.mark;
    std::string what = "units." + unit.name;
    if (!is_identifier(unit.name)) {
      in_.error(key, fmt::format("unit name '{}' must be lowercase letters, digits, '-' or '_'",
                                 unit.name));
    }
    unit.deploy_to = "/srv/" + unit.name;
    if (!in_.check_mapping(node, what, kUnitKeys)) return;

    if (auto* n = node.find("kind")) read_kind(*n, what, unit);
    apply_kind_defaults(unit);

    if (auto* n = node.find("hosts")) {
      if (auto s = in_.string(*n, what + ".hosts")) unit.hosts = *s;
      unit.hosts_mark = n->mark;
    }
    if (auto* n = node.find("source")) read_source(*n, what + ".source", unit);
    if (auto* n = node.find("deploy_to")) read_deploy_to(*n, what, unit);
    if (auto* n = node.find("keep_releases")) {
      if (auto v = in_.integer(*n, what + ".keep_releases", 2, 1000)) unit.keep_releases = *v;
    }
    read_commands(node, what, unit);
    if (auto* n = node.find("health")) read_health(*n, what + ".health", unit);
    if (auto* n = node.find("drain")) read_drain(*n, what + ".drain", unit);
    read_config_and_backup(node, what, unit);
    if (auto* n = node.find("secrets")) read_secrets(*n, what + ".secrets", unit);
    read_hooks_and_logs(node, what, unit);
    if (auto* n = node.find("require_ticket")) {
      if (auto b = in_.boolean(*n, what + ".require_ticket")) unit.require_ticket = *b;
    }
    if (auto* n = node.find("rollout")) read_rollout(*n, what + ".rollout", unit.rollout);
    if (auto* n = node.find("balancer")) read_balancer(*n, what + ".balancer", unit);
    if (unit.rollout.canary_weight && !unit.balancer) {
      in_.error(*node.find("rollout")->find("canary_weight"),
                fmt::format("{}.rollout.canary_weight: needs {}.balancer (the weights are the "
                            "balancer's)",
                            what, what));
    }
    if (auto* n = node.find("analysis")) read_analysis(in_, *n, what + ".analysis", unit);
    if (auto* n = node.find("load_test"))
      unit.load_test = read_load_test(in_, *n, what + ".load_test");
    if (auto* n = node.find("watch")) {
      read_watch(in_, *n, what + ".watch", unit);
      if (!unit.analysis) {
        in_.error(*n, fmt::format("{}.watch: needs {}.analysis (its prometheus: asks about the "
                                  "alert)",
                                  what, what));
      }
    }
    project_.units.push_back(std::move(unit));
  }

  void read_source(const YamlNode& node, const std::string& what, Unit& unit) {
    if (!in_.check_mapping(node, what, kSourceKeys)) return;
    if (auto* n = node.find("repo")) {
      if (auto s = in_.string(*n, what + ".repo")) {
        unit.source.repo = is_url(*s) ? *s : expand_path(*s, project_.dir);
      }
    } else {
      in_.error(node, fmt::format("{}: missing key 'repo'", what));
    }
    if (auto* n = node.find("build")) {
      if (auto s = in_.string(*n, what + ".build")) unit.source.build = *s;
    }
    if (auto* n = node.find("output")) {
      if (auto s = in_.string(*n, what + ".output")) {
        fs::path p(*s);
        if (p.is_absolute() || s->find("..") != std::string::npos) {
          in_.error(*n, fmt::format("{}.output: must be a path inside the checkout, found '{}'",
                                    what, *s));
        } else {
          unit.source.output = *s;
        }
      }
    }
  }

  // A unit command: a string whose {{var}}s are not inside quotes. Each
  // value is quoted for the shell when expanded; inside "..." or '...' the
  // quotes would cancel out and an inventory value would run as code.
  std::optional<std::string> command(const YamlNode& node, const std::string& what) {
    auto text = in_.string(node, what);
    if (!text) return text;
    if (auto quoted = quoted_template(*text)) {
      in_.error(node, fmt::format("{}: '{{{{{}}}}}' is inside quotes, where the shell would "
                                  "read its value as code; write {{{{{}}}}} bare: it is quoted "
                                  "for you",
                                  what, *quoted, *quoted));
      return std::nullopt;
    }
    return text;
  }

  void read_health(const YamlNode& node, const std::string& what, Unit& unit) {
    HealthCheck health;
    if (node.is_scalar()) {  // `health: curl -fsS ...` shorthand
      if (auto s = command(node, what)) health.command = *s;
      unit.health = health;
      return;
    }
    if (!in_.check_mapping(node, what, kHealthKeys)) return;
    if (auto* n = node.find("command")) {
      if (auto s = command(*n, what + ".command")) health.command = *s;
    } else {
      in_.error(node, fmt::format("{}: missing key 'command'", what));
    }
    if (auto* n = node.find("timeout")) {
      if (auto d = in_.duration(*n, what + ".timeout")) health.timeout = *d;
    }
    if (auto* n = node.find("retries")) {
      if (auto v = in_.integer(*n, what + ".retries", 0, 10000)) health.retries = *v;
    }
    if (auto* n = node.find("interval")) {
      if (auto d = in_.duration(*n, what + ".interval")) health.interval = *d;
    }
    unit.health = health;
  }

  void read_drain(const YamlNode& node, const std::string& what, Unit& unit) {
    if (!in_.check_mapping(node, what, kDrainKeys)) return;
    for (auto [field, name] :
         {std::pair{&unit.drain.command, "command"}, std::pair{&unit.drain.check, "check"},
          std::pair{&unit.drain.players, "players"}, std::pair{&unit.drain.notify, "notify"}}) {
      if (auto* n = node.find(name)) {
        if (auto s = command(*n, what + "." + name)) *field = *s;
      }
    }
    for (auto [field, name] :
         {std::pair{&unit.drain.timeout, "timeout"}, std::pair{&unit.drain.deadline, "deadline"}}) {
      if (auto* n = node.find(name)) {
        if (auto d = in_.duration(*n, what + "." + name)) *field = *d;
      }
    }
    if (auto* n = node.find("notices")) {
      if (!n->is_sequence()) {
        in_.error(*n,
                  fmt::format("{}.notices: expected a list of durations like [10m, 5m, 1m]", what));
      } else {
        for (const auto& item : n->items) {
          if (auto d = in_.duration(*item, what + ".notices")) unit.drain.notices.push_back(*d);
        }
        std::sort(unit.drain.notices.rbegin(), unit.drain.notices.rend());
      }
    }
    const YamlNode* players_node = node.find("players");
    for (const char* key : {"notify", "notices", "deadline"}) {
      if (auto* n = node.find(key); n && !players_node) {
        in_.error(*n, fmt::format("{}.{}: needs {}.players (the command that counts players)", what,
                                  key, what));
      }
    }
    if (!unit.drain.notices.empty() && unit.drain.notify.empty()) {
      in_.error(
          *node.find("notices"),
          fmt::format("{}.notices: needs {}.notify (the command that tells players)", what, what));
    }
  }

  void read_secrets(const YamlNode& node, const std::string& what, Unit& unit) {
    if (!in_.check_mapping(node, what, {})) return;
    static const std::regex name_re("[A-Za-z_][A-Za-z0-9_]{0,63}");
    for (const auto& [k, v] : node.entries) {
      if (!std::regex_match(k->scalar, name_re)) {
        in_.error(*k, fmt::format("{}: secret name '{}' must be letters, digits and '_'", what,
                                  k->scalar));
        continue;
      }
      if (auto source = secret_ref(in_, *v, what + "." + k->scalar, project_.dir))
        unit.secrets[k->scalar] = *source;
    }
  }

  std::optional<HostCount> host_count(const YamlNode& node, const std::string& what) {
    if (node.is_scalar()) {
      if (auto c = parse_host_count(node.scalar)) return c;
    }
    in_.error(node, fmt::format("{}: expected a host count like 2 or 25%", what));
    return std::nullopt;
  }

  void read_rollout(const YamlNode& node, const std::string& what, RolloutPolicy& rollout) {
    if (!in_.check_mapping(node, what, kRolloutKeys)) return;
    if (auto* n = node.find("canary")) {
      if (auto v = in_.integer(*n, what + ".canary", 0, 100000)) rollout.canary = *v;
    }
    if (auto* n = node.find("bake")) {
      if (auto d = in_.duration(*n, what + ".bake")) rollout.bake = *d;
    }
    if (auto* n = node.find("batch")) {
      std::vector<HostCount> ramp;
      if (n->is_sequence() && !n->items.empty()) {
        for (const auto& item : n->items) {
          if (auto c = host_count(*item, what + ".batch")) ramp.push_back(*c);
        }
      } else if (auto c = host_count(*n, what + ".batch")) {
        ramp.push_back(*c);
      }
      for (const auto& c : ramp) {
        if (c.value == 0)
          in_.error(*n, fmt::format("{}.batch: a batch must hold at least one host", what));
      }
      if (!ramp.empty()) rollout.batch = ramp;
    }
    if (auto* n = node.find("max_unavailable")) {
      if (auto c = host_count(*n, what + ".max_unavailable")) {
        if (c->value == 0) {
          in_.error(*n, fmt::format("{}.max_unavailable: must allow at least one host", what));
        }
        rollout.max_unavailable = *c;
      }
    }
    if (auto* n = node.find("pair_max_down")) {
      if (auto c = host_count(*n, what + ".pair_max_down")) {
        if (c->value == 0) {
          in_.error(*n, fmt::format("{}.pair_max_down: must allow at least one host", what));
        }
        rollout.pair_max_down = *c;
      }
    }
    if (auto* n = node.find("pair_key")) {
      if (auto s = in_.string(*n, what + ".pair_key")) rollout.pair_key = *s;
    }
    if (auto* n = node.find("max_failures")) {
      if (auto v = in_.integer(*n, what + ".max_failures", 0, 100000)) rollout.max_failures = *v;
    }
    if (auto* n = node.find("auto_rollback")) {
      if (auto b = in_.boolean(*n, what + ".auto_rollback")) rollout.auto_rollback = *b;
    }
    if (auto* n = node.find("canary_weight")) {
      static const std::regex percent(R"(([0-9]{1,2}(\.[0-9]+)?)%?)");
      std::smatch m;
      double value = 0;
      if (n->is_scalar() && std::regex_match(n->scalar, m, percent)) value = std::stod(m[1]);
      if (value <= 0 || value >= 100) {
        in_.error(*n, fmt::format("{}.canary_weight: expected a share of traffic like 10% "
                                  "(above 0, below 100), found '{}'",
                                  what, n->scalar));
      } else {
        rollout.canary_weight = value;
      }
    }
  }

  void read_balancer(const YamlNode& node, const std::string& what, Unit& unit) {
    if (!in_.check_mapping(node, what, kBalancerKeys)) return;
    BalancerSpec balancer;
    balancer.mark = node.mark;
    // HAProxy's names: letters, digits, '-', '_', '.', ':'.
    static const std::regex haproxy_name("[A-Za-z0-9_.:-]+");
    static const std::regex server_template(
        R"(([A-Za-z0-9_.:-]|\{\{ *[A-Za-z_][A-Za-z0-9_]* *\}\})+)");
    static const std::regex socket_path("/[A-Za-z0-9._/-]+");
    if (auto* n = node.find("type")) {
      if (auto s = in_.string(*n, what + ".type"); s && *s != "haproxy") {
        in_.error(*n, fmt::format("{}.type: unknown balancer '{}' (haproxy)", what, *s));
      }
    }
    for (const char* key : {"hosts", "backend"}) {
      if (!node.find(key)) in_.error(node, fmt::format("{}: missing key '{}'", what, key));
    }
    if (auto* n = node.find("hosts")) {
      if (auto s = in_.string(*n, what + ".hosts")) balancer.hosts = *s;
    }
    if (auto* n = node.find("backend")) {
      if (auto s = in_.string(*n, what + ".backend")) {
        if (!std::regex_match(*s, haproxy_name)) {
          in_.error(*n, fmt::format("{}.backend: '{}' is not a HAProxy name (letters, digits, "
                                    "'-', '_', '.', ':')",
                                    what, *s));
        }
        balancer.backend = *s;
      }
    }
    if (auto* n = node.find("server")) {
      if (auto s = in_.string(*n, what + ".server")) {
        if (!std::regex_match(*s, server_template)) {
          in_.error(*n, fmt::format("{}.server: expected a HAProxy name, with {{{{variables}}}}, "
                                    "like {{{{host}}}} or web-{{{{host}}}}, found '{}'",
                                    what, *s));
        }
        balancer.server = *s;
      }
    }
    if (auto* n = node.find("socket")) {
      if (auto s = in_.string(*n, what + ".socket")) {
        if (!std::regex_match(*s, socket_path) || s->find("..") != std::string::npos) {
          in_.error(*n, fmt::format("{}.socket: expected an absolute path like "
                                    "/run/haproxy/admin.sock, found '{}'",
                                    what, *s));
        }
        balancer.socket = *s;
      }
    }
    if (auto* n = node.find("drain")) {
      if (auto d = in_.duration(*n, what + ".drain")) balancer.drain = *d;
    }
    unit.balancer = balancer;
  }

 private:
  ConfigReader& in_;
  Project& project_;
};

}  // namespace

void read_unit(ConfigReader& in, Project& project, const YamlNode& key, const YamlNode& node) {
  UnitReader(in, project).read_unit(key, node);
}

}  // namespace flotilla
