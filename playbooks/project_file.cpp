#include "playbooks/project_file.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <regex>

#include <fmt/format.h>

#include "core/config_reader.hpp"
#include "core/did_you_mean.hpp"
#include "core/time_zone.hpp"
#include "core/yaml_document.hpp"

namespace flotilla {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kTopKeys = {"project",   "state_dir",     "ssh",
                                           "artifacts", "approvers",     "environments",
                                           "units",     "release_order", "release_failure"};
const std::vector<std::string> kRehearsalKeys = {"in", "max_age"};
const std::vector<std::string> kFreezeKeys = {"from", "to", "weekly", "tz", "reason"};
const std::vector<std::string> kArtifactsKeys = {"registry", "repository", "username",  "password",
                                                 "token",    "ca_file",    "plain_http"};
const std::vector<std::string> kSshKeys = {"known_hosts",     "config", "connect_timeout",
                                           "command_timeout", "forks",  "pacing"};
const std::vector<std::string> kEnvKeys = {
    "inventory", "branches", "require_ticket",    "lock_host",
    "approvals", "freeze",   "require_rehearsal", "hotfix_requires_rehearsal",
    "recorders"};
const std::vector<std::string> kUnitKeys = {
    "kind",  "hosts",  "source",  "deploy_to",      "keep_releases", "run",    "start",
    "stop",  "reload", "health",  "drain",          "config",        "backup", "secrets",
    "hooks", "logs",   "rollout", "require_ticket", "restore"};
const std::vector<std::string> kSourceKeys = {"repo", "build", "output"};
const std::vector<std::string> kHealthKeys = {"command", "timeout", "retries", "interval"};
const std::vector<std::string> kDrainKeys = {"command", "check",   "timeout", "players",
                                             "notify",  "notices", "deadline"};
const std::vector<std::string> kConfigKeys = {"files", "check"};
const std::vector<std::string> kBackupKeys = {"command", "hosts", "verify"};
const std::vector<std::string> kHookKeys = {"before_drain", "before_stop", "after_stop",
                                            "before_start", "after_start", "after_health"};
const std::vector<std::string> kRolloutKeys = {"canary",          "bake",         "batch",
                                               "max_unavailable", "pair_key",     "pair_max_down",
                                               "max_failures",    "auto_rollback"};
const std::vector<std::string> kKinds = {"service", "reward", "payment", "gm"};

bool is_identifier(const std::string& name) {
  static const std::regex re("[a-z0-9][a-z0-9_-]{0,62}");
  return std::regex_match(name, re);
}

std::string expand_path(const std::string& path, const std::string& base_dir) {
  if (path == "~" || path.starts_with("~/")) {
    const char* home = std::getenv("HOME");
    return std::string(home != nullptr ? home : "") + path.substr(1);
  }
  if (!path.empty() && path[0] == '/') return path;
  return (fs::path(base_dir) / path).lexically_normal().string();
}

bool is_url(const std::string& repo) {
  return repo.find("://") != std::string::npos ||
         (repo.find('@') != std::string::npos && repo.find(':') != std::string::npos);
}

// Reads the unit-level and nested keys; defaults per kind are already set.
// The name of the first {{var}} that stands inside shell quotes in `text`,
// if any. A command substitution or backticks open a fresh context, as in
// the shell: "$(cat {{dir}}/f)" keeps {{dir}} outside any quotes.
std::optional<std::string> quoted_template(std::string_view text) {
  std::vector<char> contexts = {0};  // 0 plain, '\'', '"', '(' $(...), '`'
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    char in = contexts.back();
    if (in == '\'' && c == '\'') {
      contexts.pop_back();
    } else if (in == '\'' && text.substr(i, 2) != "{{") {
      continue;  // nothing is special inside single quotes
    } else if (c == '\\') {
      ++i;  // an escaped character, never a quote
    } else if (in == '"' && c == '"') {
      contexts.pop_back();
    } else if (c == '$' && i + 1 < text.size() && text[i + 1] == '(') {
      contexts.push_back('(');
      ++i;
    } else if (c == '`') {
      if (in == '`') {
        contexts.pop_back();
      } else {
        contexts.push_back('`');
      }
    } else if (in == '(' && c == ')') {
      contexts.pop_back();
    } else if (in != '"' && (c == '\'' || c == '"')) {
      contexts.push_back(c);
    } else if ((in == '\'' || in == '"') && text.substr(i, 2) == "{{") {
      std::size_t close = text.find("}}", i);
      std::string name(text.substr(i + 2, close == std::string_view::npos ? 0 : close - i - 2));
      name.erase(0, name.find_first_not_of(' '));
      name.erase(name.find_last_not_of(' ') + 1);
      return name;
    }
  }
  return std::nullopt;
}

class ProjectReader {
 public:
  ProjectReader(const YamlDocument& doc, Project& project) : in_(doc), project_(project) {}

  Result<Project> read(const YamlNode* root) {
    if (root == nullptr) {
      in_.error(SourceMark{}, "empty project file: expected 'environments' and 'units'");
    } else if (in_.check_mapping(*root, "the project file", kTopKeys)) {
      read_top(*root);
    }
    if (!in_.ok())
      return fail(ErrorKind::kBadInput, fmt::format("{}", fmt::join(in_.errors(), "\n")));
    return std::move(project_);
  }

 private:
  void read_top(const YamlNode& root) {
    if (auto* n = root.find("project")) {
      if (auto s = in_.string(*n, "project")) project_.name = *s;
    }
    project_.state_dir = project_.dir + "/.flotilla";
    if (auto* n = root.find("state_dir")) {
      if (auto s = in_.string(*n, "state_dir")) project_.state_dir = expand_path(*s, project_.dir);
    }
    if (auto* n = root.find("ssh")) read_ssh(*n);
    if (auto* n = root.find("artifacts")) read_artifacts(*n);
    if (auto* n = root.find("approvers")) {
      if (auto s = in_.string(*n, "approvers")) project_.approvers = expand_path(*s, project_.dir);
    }
    const YamlNode* envs = root.find("environments");
    if (envs == nullptr) {
      in_.error(root, "missing key 'environments'");
    } else if (in_.check_mapping(*envs, "environments", {})) {
      for (const auto& [key, value] : envs->entries) read_environment(*key, *value);
    }
    const YamlNode* units = root.find("units");
    if (units == nullptr) {
      in_.error(root, "missing key 'units'");
    } else if (in_.check_mapping(*units, "units", {})) {
      for (const auto& [key, value] : units->entries) read_unit(*key, *value);
    }
    if (auto* n = root.find("release_order")) read_release_order(*n);
    if (auto* n = root.find("release_failure")) {
      if (auto s = in_.string(*n, "release_failure")) {
        if (*s != "rollback" && *s != "stop") {
          in_.error(*n, "release_failure: expected 'rollback' (the default) or 'stop'");
        }
        project_.release_failure_rollback = *s == "rollback";
      }
    }
    check_rehearsal_rules();
  }

  // Every unit once, each one the project declares.
  void read_release_order(const YamlNode& node) {
    auto list = in_.string_list(node, "release_order");
    if (!list) return;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string& name = (*list)[i];
      const YamlNode& at = node.is_sequence() && i < node.items.size() ? *node.items[i] : node;
      if (project_.unit(name) == nullptr) {
        in_.error(at, fmt::format("release_order: unknown unit '{}'", name));
      } else if (std::find(list->begin(), list->begin() + static_cast<long>(i), name) !=
                 list->begin() + static_cast<long>(i)) {
        in_.error(at, fmt::format("release_order: unit '{}' is listed twice", name));
      }
    }
    project_.release_order = *list;
  }

  void check_rehearsal_rules() {
    for (const auto& env : project_.environments) {
      if (!env.require_rehearsal) continue;
      const RehearsalRule& rule = *env.require_rehearsal;
      if (rule.in == env.name) {
        in_.error(rule.mark, fmt::format("environments.{}.require_rehearsal.in: an environment "
                                         "cannot rehearse its own changes",
                                         env.name));
      } else if (project_.environment(rule.in) == nullptr) {
        in_.error(rule.mark, fmt::format("environments.{}.require_rehearsal.in: unknown "
                                         "environment '{}'",
                                         env.name, rule.in));
      }
    }
  }

  void read_ssh(const YamlNode& node) {
    if (!in_.check_mapping(node, "ssh", kSshKeys)) return;
    auto& ssh = project_.ssh;
    if (auto* n = node.find("known_hosts")) {
      if (auto s = in_.string(*n, "ssh.known_hosts"))
        ssh.known_hosts = expand_path(*s, project_.dir);
    }
    if (auto* n = node.find("config")) {
      if (auto s = in_.string(*n, "ssh.config"))
        ssh.config = *s == "none" ? *s : expand_path(*s, project_.dir);
    }
    if (auto* n = node.find("connect_timeout")) {
      if (auto d = in_.duration(*n, "ssh.connect_timeout")) ssh.connect_timeout = *d;
    }
    if (auto* n = node.find("command_timeout")) {
      if (auto d = in_.duration(*n, "ssh.command_timeout")) ssh.command_timeout = *d;
    }
    if (auto* n = node.find("forks")) {
      if (auto v = in_.integer(*n, "ssh.forks", 1, 5000)) ssh.forks = *v;
    }
    if (auto* n = node.find("pacing")) {
      if (auto b = in_.boolean(*n, "ssh.pacing")) ssh.pacing = *b;
    }
  }

  void read_artifacts(const YamlNode& node) {
    if (!in_.check_mapping(node, "artifacts", kArtifactsKeys)) return;
    RegistrySettings registry;
    registry.mark = node.mark;
    if (auto* n = node.find("plain_http")) {
      if (auto b = in_.boolean(*n, "artifacts.plain_http")) registry.plain_http = *b;
    }
    const YamlNode* url = node.find("registry");
    if (url == nullptr) {
      in_.error(node, "artifacts: missing key 'registry' (https://HOST[:PORT])");
    } else if (auto s = in_.string(*url, "artifacts.registry")) {
      static const std::regex url_re(
          R"((https?)://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?/?)");
      std::smatch m;
      if (!std::regex_match(*s, m, url_re)) {
        in_.error(*url, "artifacts.registry: expected https://HOST[:PORT], no path or credentials");
      } else if (m[1] == "http" && !registry.plain_http) {
        in_.error(*url,
                  "artifacts.registry: http:// sends blobs and credentials in clear; use https://, "
                  "or say plain_http: true");
      }
      registry.url = s->ends_with("/") ? s->substr(0, s->size() - 1) : *s;
    }
    const YamlNode* repo = node.find("repository");
    if (repo == nullptr) {
      in_.error(node, "artifacts: missing key 'repository' (an OCI repository name)");
    } else if (auto s = in_.string(*repo, "artifacts.repository")) {
      // The OCI distribution spec's name grammar.
      static const std::regex name_re(
          "[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*");
      if (!std::regex_match(*s, name_re) || s->size() > 200) {
        in_.error(*repo,
                  "artifacts.repository: expected an OCI repository name like "
                  "'studio/reward' (lowercase letters, digits, '.', '_', '-', '/')");
      }
      registry.repository = *s;
    }
    if (auto* n = node.find("username")) {
      if (auto s = in_.string(*n, "artifacts.username")) {
        static const std::regex user_re("[A-Za-z0-9._@+-]{1,128}");
        if (!std::regex_match(*s, user_re)) {
          in_.error(*n, "artifacts.username: letters, digits and . _ @ + - only");
        }
        registry.username = *s;
      }
    }
    if (auto* n = node.find("password")) registry.password = secret_ref(*n, "artifacts.password");
    if (auto* n = node.find("token")) registry.token = secret_ref(*n, "artifacts.token");
    if (registry.password && registry.username.empty()) {
      in_.error(node, "artifacts: a password needs a username");
    }
    if (registry.password && registry.token) {
      in_.error(node, "artifacts: give a password or a token, not both");
    }
    if (auto* n = node.find("ca_file")) {
      if (auto s = in_.string(*n, "artifacts.ca_file")) {
        registry.ca_file = expand_path(*s, project_.dir);
      }
    }
    project_.artifacts = std::move(registry);
  }

  // `env:NAME` or `file:PATH`: where a secret is read from, never the value.
  std::optional<SecretSource> secret_ref(const YamlNode& node, const std::string& what) {
    auto ref = in_.string(node, what);
    if (!ref) return std::nullopt;
    if (ref->starts_with("env:") && ref->size() > 4) {
      return SecretSource{SecretSource::Kind::kEnv, ref->substr(4)};
    }
    if (ref->starts_with("file:") && ref->size() > 5) {
      return SecretSource{SecretSource::Kind::kFile, expand_path(ref->substr(5), project_.dir)};
    }
    // Never echo the value: it may be a secret pasted in by mistake.
    in_.error(node, fmt::format("{}: expected 'env:NAME' or 'file:PATH' (a literal value is "
                                "not allowed in the project file)",
                                what));
    return std::nullopt;
  }

  void read_environment(const YamlNode& key, const YamlNode& node) {
    Environment env;
    env.name = key.scalar;
    env.mark = key.mark;
    std::string what = "environments." + env.name;
    if (!is_identifier(env.name)) {
      in_.error(key,
                fmt::format("environment name '{}' must be lowercase letters, digits, '-' or '_'",
                            env.name));
    }
    env.branches = {"*"};
    if (!in_.check_mapping(node, what, kEnvKeys)) return;
    if (auto* n = node.find("inventory")) {
      if (auto s = in_.string(*n, what + ".inventory")) {
        env.inventory = expand_path(*s, project_.dir);
        // A file, or a directory of them as Ansible reads one.
        if (!fs::exists(env.inventory)) {
          in_.error(
              *n, fmt::format("{}.inventory: no such file or directory: {}", what, env.inventory));
        }
      }
    } else {
      in_.error(node, fmt::format("{}: missing key 'inventory'", what));
    }
    if (auto* n = node.find("branches")) {
      if (auto list = in_.string_list(*n, what + ".branches")) env.branches = *list;
    }
    if (auto* n = node.find("require_ticket")) {
      if (auto b = in_.boolean(*n, what + ".require_ticket")) env.require_ticket = *b;
    }
    if (auto* n = node.find("lock_host")) {
      if (auto s = in_.string(*n, what + ".lock_host")) env.lock_host = *s;
    }
    if (auto* n = node.find("approvals")) {
      if (auto v = in_.integer(*n, what + ".approvals", 0, 20)) env.approvals = *v;
    }
    if (auto* n = node.find("require_rehearsal")) {
      if (in_.check_mapping(*n, what + ".require_rehearsal", kRehearsalKeys)) {
        RehearsalRule rule;
        if (const YamlNode* in = n->find("in")) {
          rule.mark = in->mark;
          if (auto s = in_.string(*in, what + ".require_rehearsal.in")) rule.in = *s;
        } else {
          in_.error(*n, fmt::format("{}.require_rehearsal: missing key 'in' (the environment "
                                    "rehearsals run in)",
                                    what));
        }
        if (auto* age = n->find("max_age")) {
          if (auto d = in_.duration(*age, what + ".require_rehearsal.max_age")) rule.max_age = *d;
        }
        env.require_rehearsal = rule;
      }
    }
    if (auto* n = node.find("recorders")) {
      if (auto s = in_.string(*n, what + ".recorders")) {
        env.recorders = expand_path(*s, project_.dir);
        if (!fs::is_regular_file(*env.recorders)) {
          in_.error(*n, fmt::format("{}.recorders: no such file: {} (an allowed_signers file of "
                                    "who may record changes)",
                                    what, *env.recorders));
        }
      }
    }
    if (auto* n = node.find("hotfix_requires_rehearsal")) {
      if (auto b = in_.boolean(*n, what + ".hotfix_requires_rehearsal")) {
        env.hotfix_requires_rehearsal = *b;
      }
    }
    if (auto* n = node.find("freeze")) {
      if (n->is_sequence()) {
        for (const auto& item : n->items) read_freeze(*item, what + ".freeze", env);
      } else {
        in_.error(*n, fmt::format("{}.freeze: expected a list of windows", what));
      }
    }
    project_.environments.push_back(std::move(env));
  }

  // {from: ISO-8601, to: ISO-8601, reason} or {weekly: "Fri 18:00-Mon 09:00", tz, reason}.
  void read_freeze(const YamlNode& node, const std::string& what, Environment& env) {
    if (!in_.check_mapping(node, what, kFreezeKeys)) return;
    FreezeWindow window;
    window.mark = node.mark;
    if (auto* n = node.find("tz")) {
      if (auto s = in_.string(*n, what + ".tz")) {
        if (!valid_time_zone(*s)) {
          in_.error(*n, fmt::format("{}.tz: unknown time zone '{}' (an IANA name like "
                                    "Asia/Seoul)",
                                    what, *s));
          return;
        }
        window.tz = *s;
      }
    }
    if (auto* n = node.find("reason")) {
      if (auto s = in_.string(*n, what + ".reason")) window.reason = *s;
    }
    const YamlNode* weekly = node.find("weekly");
    const YamlNode* from = node.find("from");
    const YamlNode* to = node.find("to");
    if (weekly != nullptr && (from != nullptr || to != nullptr)) {
      in_.error(node, fmt::format("{}: a window is weekly or from/to, not both", what));
      return;
    }
    if (weekly != nullptr) {
      auto s = in_.string(*weekly, what + ".weekly");
      if (!s) return;
      static const std::regex re(
          R"((Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\d{1,2}):(\d{2}) *- *(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\d{1,2}):(\d{2}))");
      static const std::vector<std::string> days = {"Mon", "Tue", "Wed", "Thu",
                                                    "Fri", "Sat", "Sun"};
      std::smatch m;
      auto minute_of = [&](int day, int at) {
        int hour = std::stoi(m[static_cast<std::size_t>(at)]);
        int minute = std::stoi(m[static_cast<std::size_t>(at + 1)]);
        if (hour > 23 || minute > 59) return -1;
        int index = static_cast<int>(
            std::find(days.begin(), days.end(), m[static_cast<std::size_t>(day)].str()) -
            days.begin());
        return index * 1440 + hour * 60 + minute;
      };
      if (!std::regex_match(*s, m, re) || minute_of(1, 2) < 0 || minute_of(4, 5) < 0 ||
          minute_of(1, 2) == minute_of(4, 5)) {
        in_.error(*weekly, fmt::format("{}.weekly: expected like \"Fri 18:00-Mon 09:00\"", what));
        return;
      }
      window.kind = FreezeWindow::Kind::kWeekly;
      window.start_minute = minute_of(1, 2);
      window.end_minute = minute_of(4, 5);
      window.text = fmt::format("weekly {} ({})", *s, window.tz);
    } else if (from != nullptr && to != nullptr) {
      auto a = in_.string(*from, what + ".from");
      auto b = in_.string(*to, what + ".to");
      if (!a || !b) return;
      auto start = parse_iso8601(*a, window.tz);
      auto end = parse_iso8601(*b, window.tz);
      if (!start)
        in_.error(*from,
                  fmt::format("{}.from: expected ISO-8601 like 2026-12-24T18:00:00+09:00", what));
      if (!end)
        in_.error(*to,
                  fmt::format("{}.to: expected ISO-8601 like 2026-12-26T09:00:00+09:00", what));
      if (!start || !end) return;
      if (*end <= *start) {
        in_.error(*to, fmt::format("{}.to: the window ends before it starts", what));
        return;
      }
      window.from = *start;
      window.to = *end;
      window.text = fmt::format("{} to {}", *a, *b);
    } else {
      in_.error(node, fmt::format("{}: expected 'from' and 'to', or 'weekly'", what));
      return;
    }
    env.freeze.push_back(std::move(window));
  }

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

    if (auto* n = node.find("kind")) {
      if (auto s = in_.string(*n, what + ".kind")) {
        auto it = std::find(kKinds.begin(), kKinds.end(), *s);
        if (it == kKinds.end()) {
          in_.error(*n, fmt::format("{}.kind: unknown kind '{}' (service, reward, payment or gm){}",
                                    what, *s, did_you_mean_suffix(*s, kKinds)));
        } else {
          unit.kind = static_cast<UnitKind>(it - kKinds.begin());
        }
      }
    }
    apply_kind_defaults(unit);

    if (auto* n = node.find("hosts")) {
      if (auto s = in_.string(*n, what + ".hosts")) unit.hosts = *s;
      unit.hosts_mark = n->mark;
    }
    if (auto* n = node.find("source")) read_source(*n, what + ".source", unit);
    if (auto* n = node.find("deploy_to")) {
      if (auto s = in_.string(*n, what + ".deploy_to")) {
        static const std::regex safe_path("/[A-Za-z0-9._/-]*");
        bool has_dotdot =
            fs::path(*s).lexically_normal() != fs::path(*s) || s->find("/..") != std::string::npos;
        if (!std::regex_match(*s, safe_path) || has_dotdot || *s == "/") {
          in_.error(*n, fmt::format("{}.deploy_to: expected an absolute, normalized path of "
                                    "letters, digits, '.', '_', '-' and '/', found '{}'",
                                    what, *s));
        } else {
          unit.deploy_to = *s;
        }
      }
    }
    if (auto* n = node.find("keep_releases")) {
      if (auto v = in_.integer(*n, what + ".keep_releases", 2, 1000)) unit.keep_releases = *v;
    }
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
    if (auto* n = node.find("health")) read_health(*n, what + ".health", unit);
    if (auto* n = node.find("drain")) read_drain(*n, what + ".drain", unit);
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
    if (auto* n = node.find("secrets")) read_secrets(*n, what + ".secrets", unit);
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
    if (auto* n = node.find("require_ticket")) {
      if (auto b = in_.boolean(*n, what + ".require_ticket")) unit.require_ticket = *b;
    }
    if (auto* n = node.find("rollout")) read_rollout(*n, what + ".rollout", unit.rollout);
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
      if (auto source = secret_ref(*v, what + "." + k->scalar)) unit.secrets[k->scalar] = *source;
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
  }

  ConfigReader in_;
  Project& project_;
};

}  // namespace

std::optional<HostCount> parse_host_count(const std::string& text) {
  HostCount count;
  std::string digits = text;
  if (!digits.empty() && digits.back() == '%') {
    count.percent = true;
    digits.pop_back();
  }
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count.value);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() ||
      count.value < 0 || (count.percent && count.value > 100)) {
    return std::nullopt;
  }
  return count;
}

Result<std::string> find_project_file(const std::string& given) {
  if (!given.empty()) return given;
  if (fs::exists("flotilla.yaml")) return std::string("flotilla.yaml");
  return fail(ErrorKind::kBadInput,
              "no flotilla.yaml in the current directory (use -f FILE, or -i INVENTORY for "
              "inventory and exec)");
}

Result<Project> load_project_file(const std::string& path) {
  auto doc = load_yaml_file(path, YamlLimits{1u << 20, 200'000});
  if (!doc) return tl::unexpected(doc.error());
  Project project;
  project.path = path;
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  project.dir = absolute.parent_path().lexically_normal().string();
  return ProjectReader(*doc, project).read(doc->root.get());
}

}  // namespace flotilla
