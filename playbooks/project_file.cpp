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
#include "playbooks/environment_reader.hpp"
#include "playbooks/pipeline_reader.hpp"
#include "playbooks/project_values.hpp"
#include "playbooks/unit_reader.hpp"

namespace flotilla {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kTopKeys = {
    "project",      "state_dir", "ssh",           "artifacts",       "approvers",
    "environments", "units",     "release_order", "release_failure", "schedule"};
const std::vector<std::string> kArtifactsKeys = {"registry", "repository", "username",  "password",
                                                 "token",    "ca_file",    "plain_http"};
const std::vector<std::string> kSshKeys = {"known_hosts",     "config", "connect_timeout",
                                           "command_timeout", "forks",  "pacing"};

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
      for (const auto& [key, value] : envs->entries) {
        flotilla::read_environment(in_, project_, *key, *value);
      }
    }
    const YamlNode* units = root.find("units");
    if (units == nullptr) {
      in_.error(root, "missing key 'units'");
    } else if (in_.check_mapping(*units, "units", {})) {
      for (const auto& [key, value] : units->entries) {
        flotilla::read_unit(in_, project_, *key, *value);
      }
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
    if (auto* n = root.find("schedule")) read_schedule(in_, *n, project_);
    check_rehearsal_rules();
    check_pipeline(in_, project_);
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
    return flotilla::secret_ref(in_, node, what, project_.dir);
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
