#include "playbooks/project_init.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>

namespace flotilla {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool named_like_environment(const std::string& name) {
  static const std::set<std::string> names = {
      "dev",      "development", "test",        "testing",    "qa",      "sandbox",
      "local",    "int",         "integration", "stage",      "staging", "preprod",
      "loadtest", "perf",        "prod",        "production", "live",    "uat"};
  return names.count(lower(name)) > 0;
}

const char* branches_of(EnvironmentStage stage) {
  switch (stage) {
    case EnvironmentStage::kDev:
      return R"(["*"])";
    case EnvironmentStage::kInt:
      return R"(["release/*", master])";
    case EnvironmentStage::kProd:
      return "[master, stable]";
  }
  return R"(["*"])";
}

// A YAML plain scalar when safe, else double-quoted.
std::string yaml_scalar(const std::string& text) {
  static const std::regex plain(R"(^[A-Za-z0-9_/][A-Za-z0-9_./-]*$)");  // no leading - or .
  if (std::regex_match(text, plain)) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

}  // namespace

EnvironmentStage stage_of(const std::string& environment_name) {
  std::string name = lower(environment_name);
  for (const char* prod : {"prod", "live"})
    if (name.find(prod) != std::string::npos) return EnvironmentStage::kProd;
  for (const char* stage : {"int", "stag", "loadtest", "perf", "uat"})
    if (name.find(stage) != std::string::npos) return EnvironmentStage::kInt;
  return EnvironmentStage::kDev;
}

std::string environment_name_of(const std::string& path) {
  std::string name = path;
  while (!name.empty() && name.back() == '/') name.pop_back();
  name = name.substr(name.rfind('/') + 1);
  for (const char* ext : {".yaml", ".yml", ".ini", ".json", ".cfg"}) {
    std::string e = ext;
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0) {
      name.resize(name.size() - e.size());
      break;
    }
  }
  std::string cleaned;
  for (char c : lower(name)) cleaned += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  static const std::set<std::string> generic = {"hosts",   "inventory", "inventories",
                                                "ansible", "servers",   ""};
  return generic.count(cleaned) ? "prod" : cleaned;
}

std::string guess_pair_key(const std::vector<InitEnvironment>& environments) {
  static const std::regex pairish(R"((^|_)(pair|redundan\w*|partner|twin|buddy|ha_group)(_|$))",
                                  std::regex::icase);
  for (const auto& env : environments) {
    for (std::size_t h = 0; h < env.hosts->hosts().size(); ++h) {
      nlohmann::json vars = env.hosts->resolved_vars(h);  // items() does not keep it alive
      for (const auto& [key, value] : vars.items()) {
        if (value.is_string() && std::regex_search(key, pairish)) return key;
      }
    }
  }
  return "";
}

std::string guess_unit_hosts(const std::vector<InitEnvironment>& environments) {
  for (const auto& env : environments) {
    const auto& groups = env.hosts->groups();
    for (std::size_t g = 0; g < groups.size(); ++g) {
      if (g == Inventory::kAll || g == Inventory::kUngrouped) continue;
      if (named_like_environment(groups[g].name)) continue;
      if (groups[g].name.rfind("flotilla_", 0) == 0) continue;
      if (env.hosts->hosts_in_group(g).empty()) continue;
      return groups[g].name;
    }
  }
  return "all";
}

std::string initial_project_text(const std::vector<InitEnvironment>& environments) {
  std::string pair_key = guess_pair_key(environments);
  std::string hosts = guess_unit_hosts(environments);
  std::string text =
      "# flotilla.yaml, written by `flotilla init` from your Ansible inventories.\n"
      "# Every line below is a guess to check; the reference is docs/ (units.md,\n"
      "# rollouts.md, change-control.md). Next: `flotilla doctor -e ENV`, then\n"
      "# `flotilla plan app --ref master -e ENV`.\n"
      "state_dir: .flotilla\n"
      "ssh:\n"
      "  # Host keys are checked strictly: ~/.ssh/known_hosts unless named here.\n"
      "  # known_hosts: known_hosts\n"
      "  connect_timeout: 10s\n"
      "\n"
      "# One environment per inventory. Branch policy by the studio's process:\n"
      "# dev takes any branch, int release/* and master, prod master and stable.\n"
      "environments:\n";
  for (const auto& env : environments) {
    EnvironmentStage stage = stage_of(env.name);
    text += fmt::format("  {}:\n    inventory: {}\n    branches: {}\n", yaml_scalar(env.name),
                        yaml_scalar(env.inventory), branches_of(stage));
    if (stage == EnvironmentStage::kProd) {
      text +=
          "    # require_ticket: true          # every change names its ticket\n"
          "    # approvals: 1                  # signed approvals (see docs/change-control.md)\n";
      for (const auto& other : environments) {
        if (stage_of(other.name) == EnvironmentStage::kInt) {
          text += fmt::format(
              "    # require_rehearsal: {{in: {}, max_age: 7d}}  # replayed on {} first\n",
              yaml_scalar(other.name), yaml_scalar(other.name));
          break;
        }
      }
    }
  }
  text += fmt::format(
      "\n"
      "units:\n"
      "  # Your service: built from git, pushed to `hosts`, started and checked.\n"
      "  app:\n"
      "    hosts: {}\n"
      "    deploy_to: /srv/app\n"
      "    source: {{repo: ., build: make, output: dist}}   # the repository and its build\n"
      "    # How it runs, from its release directory (flotilla supervises it;\n"
      "    # or give start: and stop: for systemd).\n"
      "    run: ./server --port 8080\n"
      "    health: {{command: 'curl -fsS http://{{{{ansible_host}}}}:8080/health', timeout: 5s}}\n"
      "    drain: {{timeout: 30s}}\n"
      "    rollout:\n"
      "      canary: 1            # one host first, then batches\n"
      "      bake: 10s            # how long the canary serves before the rest\n"
      "      batch: 25%\n"
      "      max_unavailable: 25%\n",
      yaml_scalar(hosts));
  if (!pair_key.empty()) {
    text += fmt::format(
        "      # Hosts with the same '{}' are a redundant pair: never down together.\n"
        "      pair_key: {}\n",
        pair_key, yaml_scalar(pair_key));
  } else {
    text +=
        "      # Redundant pairs: give each pair's hosts the same host variable and\n"
        "      # name it here (default: flotilla_pair).\n"
        "      # pair_key: flotilla_pair\n";
  }
  text += "      auto_rollback: true\n";
  return text;
}

namespace fs = std::filesystem;

namespace {

// [defaults] inventory = PATH[,PATH] in ansible.cfg: the first path.
std::string ansible_cfg_inventory(const fs::path& cfg) {
  std::ifstream in(cfg);
  std::string line, section;
  static const std::regex key(R"(^\s*inventory\s*[=:]\s*([^,#;\s]+))");
  while (std::getline(in, line)) {
    std::smatch m;
    if (!line.empty() && line[0] == '[') {
      section = line.substr(0, line.find(']') + 1);
    } else if (section == "[defaults]" && std::regex_search(line, m, key)) {
      return m[1];
    }
  }
  return "";
}

bool is_inventory_entry(const fs::directory_entry& entry) {
  std::string name = entry.path().filename().string();
  if (name.empty() || name[0] == '.' || name == "group_vars" || name == "host_vars") return false;
  if (entry.is_directory()) return true;
  for (const char* skipped : {".md", ".txt", ".retry", ".cfg", "~"}) {
    std::string s = skipped;
    if (name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0)
      return false;
  }
  return entry.is_regular_file();
}

}  // namespace

Result<std::vector<std::string>> find_inventories(const std::string& dir) {
  fs::path base(dir);
  std::error_code ec;
  if (fs::is_directory(base / "inventories", ec)) {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(base / "inventories", ec))
      if (is_inventory_entry(entry))
        found.push_back("inventories/" + entry.path().filename().string());
    std::sort(found.begin(), found.end());
    if (!found.empty()) return found;
  }
  if (std::string configured = ansible_cfg_inventory(base / "ansible.cfg"); !configured.empty()) {
    if (fs::exists(base / configured, ec)) return std::vector<std::string>{configured};
  }
  for (const char* name : {"inventory", "inventory.yml", "inventory.yaml", "inventory.ini", "hosts",
                           "hosts.yml", "hosts.yaml", "hosts.ini"}) {
    if (fs::exists(base / name, ec)) return std::vector<std::string>{name};
  }
  return fail(ErrorKind::kBadInput,
              fmt::format("no Ansible inventory in {} (looked for inventories/, ansible.cfg's "
                          "inventory, inventory and hosts files); name one with -i",
                          dir));
}

Result<void> write_new_file(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST)
      return fail(ErrorKind::kBadInput, fmt::format("{}: already exists; init never overwrites a "
                                                    "file (move it away to start again)",
                                                    path));
    return fail(ErrorKind::kFailed,
                fmt::format("{}: cannot create: {}", path, std::strerror(errno)));
  }
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      ::close(fd);
      return fail(ErrorKind::kFailed, fmt::format("{}: cannot write", path));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) return fail(ErrorKind::kFailed, fmt::format("{}: cannot write", path));
  return {};
}

Result<std::vector<std::string>> copy_example(const std::string& examples_dir,
                                              const std::string& name, const std::string& dir) {
  std::error_code ec;
  fs::path from = fs::path(examples_dir) / name;
  if (name.find('/') != std::string::npos || name.find("..") != std::string::npos ||
      !fs::is_regular_file(from / "flotilla.yaml", ec)) {
    std::vector<std::string> known;
    for (const auto& entry : fs::directory_iterator(examples_dir, ec))
      if (fs::is_regular_file(entry.path() / "flotilla.yaml"))
        known.push_back(entry.path().filename());
    std::sort(known.begin(), known.end());
    return fail(ErrorKind::kBadInput,
                fmt::format("no example project '{}' (examples: {})", name,
                            known.empty() ? std::string("none installed")
                                          : fmt::format("{}", fmt::join(known, ", "))));
  }
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(from, ec);
       it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_regular_file()) files.push_back(fs::relative(it->path(), from));
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    if (fs::exists(fs::path(dir) / file, ec) || fs::is_symlink(fs::path(dir) / file, ec))
      return fail(ErrorKind::kBadInput,
                  fmt::format("{}: already exists; init never overwrites a file (nothing was "
                              "copied)",
                              (fs::path(dir) / file).string()));
  }
  std::vector<std::string> written;
  for (const auto& file : files) {
    fs::path to = fs::path(dir) / file;
    fs::create_directories(to.parent_path(), ec);
    std::ifstream in(from / file, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    if (auto w = write_new_file(to.string(), bytes.str()); !w) return tl::unexpected(w.error());
    written.push_back(file.string());
  }
  return written;
}

}  // namespace flotilla
