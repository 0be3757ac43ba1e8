#pragma once

#include <CLI/App.hpp>

#include "cli/global_options.hpp"
#include "core/reporter.hpp"

namespace flotilla {

// Sets `action` to `run` once `cmd` is parsed: the one piece of wiring every
// command shares (`run` captures the options it reads by pointer).
template <class Run>
void on_parsed(CLI::App* cmd, CommandAction& action, Run run) {
  cmd->callback([&action, run] { action = run; });
}

// One function per command file: declares the command's options and sets
// `action` to what runs once parsing succeeds.
void add_inventory_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                           CommandAction& action);
void add_build_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                       CommandAction& action);
void add_deploy_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                        CommandAction& action);
void add_restore_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                         CommandAction& action);
void add_rollback_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                          CommandAction& action);
void add_config_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                        CommandAction& action);
void add_status_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                        CommandAction& action);
void add_snapshots_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                           CommandAction& action);
void add_lock_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                      CommandAction& action);
void add_plan_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                      CommandAction& action);
void add_logs_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                      CommandAction& action);
void add_approve_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                         CommandAction& action);
void add_metrics_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                         CommandAction& action);
void add_init_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                      CommandAction& action);
void add_doctor_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                        CommandAction& action);
void add_decision_commands(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                           CommandAction& action);
void add_balancer_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                          CommandAction& action);
void add_sync_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                      CommandAction& action);
void add_pipeline_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                          CommandAction& action);
void add_schedule_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                          CommandAction& action);
void add_exec_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                      CommandAction& action);

}  // namespace flotilla
