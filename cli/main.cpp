// flotilla's entry point: parse the command line, run one command, map its
// outcome to DESIGN.md's exit codes. Everything else lives in the libraries.
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>

#include <cstdio>
#include <exception>
#include <memory>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/cli_reference.hpp"
#include "cli/commands.hpp"
#include "cli/global_options.hpp"
#include "core/reporter.hpp"

namespace {

void add_global_options(CLI::App& app, flotilla::GlobalOptions& o) {
  app.add_option("-f,--file", o.file, "Project file (default: ./flotilla.yaml)");
  app.add_option("-e,--env", o.env, "Environment (dev, int, loadtest, prod, ...)");
  app.add_option("-i,--inventory", o.inventory,
                 "Use this Ansible inventory (YAML or INI file, or a directory) instead of the "
                 "environment's");
  app.add_option("-l,--limit", o.limit, "Host pattern (Ansible syntax: web:&kr:!gs03)");
  app.add_option("--known-hosts", o.known_hosts, "known_hosts file (default: ~/.ssh/known_hosts)");
  app.add_flag("--accept-new-host-keys", o.accept_new_host_keys,
               "Trust and record keys of hosts not yet in known_hosts (never changed keys)");
  app.add_option("--connect-timeout", o.connect_timeout,
                 "Give up on a host that has not completed SSH login by then (default 10s)");
  app.add_option("--ssh-config", o.ssh_config,
                 "OpenSSH client config to honour (default ~/.ssh/config; 'none' to ignore)");
  app.add_option("--vault-password-file", o.vault_password_files,
                 "Password file (or script) for Ansible Vault values in the inventory; repeatable "
                 "(default: $ANSIBLE_VAULT_PASSWORD_FILE)");
  app.add_option("--vault-id", o.vault_ids,
                 "[LABEL@]FILE: as --vault-password-file (flotilla never prompts)");
  app.add_option("--signing-key", o.signing_key,
                 "SSH key this controller signs its snapshot records with (default: "
                 "$FLOTILLA_SIGNING_KEY, else the first ssh-agent key, else the lock host's login "
                 "identity)");
  app.add_flag("--json", o.json, "Machine-readable JSON on stdout; text goes to stderr");
  app.add_option("--forks", o.forks, "Hosts worked on in parallel")->check(CLI::Range(1, 5000));
  app.add_flag("--no-pacing", o.no_pacing,
               "Start commands on all hosts at once (up to --forks), not as fast as their shells "
               "start well together");
  app.add_flag("-v,--verbose", o.verbose, "More detail (repeat for more)");
  app.add_flag("-q,--quiet", o.quiet, "Only results and errors");
  app.add_flag("--no-color", o.no_color, "No colors (also: NO_COLOR)");
  app.add_flag("-y,--yes", o.yes, "Never prompt (implied when stdin is not a terminal)");
}

}  // namespace

// A deploy tool holds secrets and leaves a ledger: its files are its user's
// alone, a crash leaves no core with secrets in it, and a closed pipe
// (`deploy | head`) is an error on write, not a death that leaves the lock held.
void harden_process() {
  ::umask(077);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  ::signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char** argv) {
  harden_process();
  flotilla::GlobalOptions options;
  flotilla::CommandAction action;
  flotilla::Reporter* reporter = nullptr;

  CLI::App app("flotilla: deploy and patch fleets of game servers", "flotilla");
  app.set_version_flag("--version", std::string("flotilla ") + FLOTILLA_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the command name
  add_global_options(app, options);
  flotilla::add_inventory_command(app, options, reporter, action);
  flotilla::add_exec_command(app, options, reporter, action);
  flotilla::add_logs_command(app, options, reporter, action);
  flotilla::add_build_command(app, options, reporter, action);
  flotilla::add_plan_command(app, options, reporter, action);
  flotilla::add_deploy_command(app, options, reporter, action);
  flotilla::add_rollback_command(app, options, reporter, action);
  flotilla::add_restore_command(app, options, reporter, action);
  flotilla::add_config_command(app, options, reporter, action);
  flotilla::add_status_command(app, options, reporter, action);
  flotilla::add_snapshots_command(app, options, reporter, action);
  flotilla::add_lock_command(app, options, reporter, action);
  flotilla::add_balancer_command(app, options, reporter, action);
  flotilla::add_decision_commands(app, options, reporter, action);
  flotilla::add_sync_command(app, options, reporter, action);
  flotilla::add_pipeline_command(app, options, reporter, action);
  flotilla::add_schedule_command(app, options, reporter, action);
  flotilla::add_approve_command(app, options, reporter, action);
  flotilla::add_metrics_command(app, options, reporter, action);
  flotilla::add_init_command(app, options, reporter, action);
  flotilla::add_doctor_command(app, options, reporter, action);
  flotilla::add_reference_commands(app, action);  // last: it describes every command above

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: %s\nRun with --help for usage.\n", e.what());
    return 2;
  }

  if (::isatty(STDIN_FILENO) != 1) options.yes = true;
  flotilla::Reporter the_reporter({.json = options.json,
                                   .color = flotilla::Reporter::want_color(options.no_color),
                                   .quiet = options.quiet,
                                   .verbosity = options.verbose,
                                   .live = flotilla::Reporter::want_live()});
  reporter = &the_reporter;

  try {
    auto result = action();
    if (!result) {
      reporter->error(result.error().message);
      return flotilla::exit_code_for(result.error().kind);
    }
    return flotilla::exit_code_for(*result);
  } catch (const std::exception& e) {
    // The one catch at the top: a bug, not an expected failure.
    reporter->error(fmt::format("internal error: {}", e.what()));
    return 1;
  }
}
