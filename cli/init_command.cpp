// `flotilla init`: a commented flotilla.yaml from the Ansible inventories in
// the current directory (or -i), or `--from-example launch`. Never overwrites.
#include <filesystem>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/targets.hpp"
#include "inventory/inventory_source.hpp"
#include "playbooks/project_init.hpp"

namespace flotilla {
namespace {

namespace fs = std::filesystem;

// Where the example projects are: beside an installed binary
// (PREFIX/bin/flotilla -> PREFIX/share/flotilla/examples), else the source
// tree this binary was built from.
std::string examples_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path installed = exe.parent_path().parent_path() / "share" / "flotilla" / "examples";
    if (fs::is_directory(installed, ec)) return installed.string();
  }
  return FLOTILLA_SOURCE_EXAMPLES;
}

Result<Outcome> run_init_from_example(const std::string& name, Reporter& reporter) {
  auto written = copy_example(examples_dir(), name, ".");
  if (!written) return tl::unexpected(written.error());
  reporter.document({{"example", name}, {"files", *written}});
  reporter.note(
      fmt::format("copied the '{}' example project ({} files); its flotilla.yaml says "
                  "how to run it",
                  name, written->size()));
  return Outcome{};
}

Result<Outcome> run_init(const GlobalOptions& options, const std::string& example,
                         Reporter& reporter) {
  if (!example.empty()) return run_init_from_example(example, reporter);
  std::string project = options.file.empty() ? "flotilla.yaml" : options.file;
  std::error_code ec;
  if (fs::exists(project, ec))
    return fail(ErrorKind::kBadInput,
                fmt::format("{}: already exists; init never overwrites a file", project));
  std::vector<std::string> sources;
  if (!options.inventory.empty()) {
    sources.push_back(options.inventory);
  } else {
    auto found = find_inventories(".");
    if (!found) return tl::unexpected(found.error());
    sources = *found;
  }
  auto secrets = vault_secrets(options);
  if (!secrets) return tl::unexpected(secrets.error());
  std::vector<LoadedInventory> loaded;
  loaded.reserve(sources.size());
  for (const auto& source : sources) {
    auto inventory = load_inventory(source, *secrets);
    if (!inventory) return tl::unexpected(inventory.error());
    for (const auto& warning : inventory->warnings) reporter.warning(warning);
    loaded.push_back(std::move(*inventory));
  }
  std::vector<InitEnvironment> environments;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    std::string name = environment_name_of(sources[i]);
    for (const auto& e : environments)
      if (e.name == name) name += "-" + std::to_string(i + 1);
    environments.push_back({name, sources[i], &loaded[i].inventory});
  }
  if (auto written = write_new_file(project, initial_project_text(environments)); !written)
    return tl::unexpected(written.error());
  nlohmann::json envs = nlohmann::json::array();
  std::vector<std::string> names;
  for (const auto& e : environments) {
    envs.push_back({{"name", e.name}, {"inventory", e.inventory}});
    names.push_back(e.name);
  }
  reporter.document({{"file", project},
                     {"environments", envs},
                     {"unit_hosts", guess_unit_hosts(environments)},
                     {"pair_key", guess_pair_key(environments)}});
  reporter.note(fmt::format(
      "wrote {}: environments {}; unit 'app' on hosts '{}'. Check its guesses, then run "
      "`flotilla doctor -e {}`",
      project, fmt::join(names, ", "), guess_unit_hosts(environments), names.front()));
  return Outcome{};
}

}  // namespace

void add_init_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                      CommandAction& action) {
  auto example = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "init",
      "Write a commented flotilla.yaml from the Ansible inventories here (inventories/, "
      "ansible.cfg, inventory or hosts; or -i); never overwrites");
  cmd->add_option("--from-example", *example, "Copy an example project instead (launch)");
  on_parsed(cmd, action,
            [&options, &reporter, example] { return run_init(options, *example, *reporter); });
}

}  // namespace flotilla
