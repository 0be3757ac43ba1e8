// `flotilla metrics [--unit U] [--since 30d]`: deploy frequency, lead time,
// change failure rate and time to restore, from the ledger with the
// fleet's copies folded in; --json lists the snapshot ids behind each figure.
#include <ctime>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_ledger.hpp"
#include "core/duration.hpp"
#include "snapshots/delivery_metrics.hpp"

namespace flotilla {
namespace {

struct MetricsOptions {
  LedgerOptions ledger;
  std::string since = "30d";
};

std::string seconds_text(const nlohmann::json& value) {
  if (!value.is_number()) return "-";
  return format_duration(std::chrono::seconds(static_cast<long>(value.get<double>())));
}

Result<Outcome> run_metrics(const GlobalOptions& options, const MetricsOptions& metrics,
                            Reporter& reporter) {
  auto window = parse_duration(metrics.since);
  if (!window) return fail(ErrorKind::kBadInput, "--since: expected a duration like 30d or 12h");
  auto ledger = read_ledger(options, metrics.ledger, reporter);
  if (!ledger) return tl::unexpected(ledger.error());
  std::int64_t now = std::time(nullptr);
  std::int64_t since = now - std::chrono::duration_cast<std::chrono::seconds>(*window).count();
  nlohmann::json doc = delivery_metrics(*ledger, since, now);
  reporter.document(doc);
  reporter.text(
      fmt::format("over the last {}{}:", metrics.since,
                  metrics.ledger.unit.empty() ? "" : " (unit " + metrics.ledger.unit + ")"));
  reporter.text(fmt::format("  deploys               {} ({:.2f} per day)",
                            doc["deploys"]["count"].get<std::size_t>(),
                            doc["deploy_frequency_per_day"].get<double>()));
  reporter.text(fmt::format("  lead time for changes median {}, p90 {}",
                            seconds_text(doc["lead_time_s"]["median"]),
                            seconds_text(doc["lead_time_s"]["p90"])));
  reporter.text(
      fmt::format("  change failure rate   {:.0f}% ({} of {} changes: {})",
                  100 * doc["change_failure_rate"].get<double>(), doc["failed_changes"].size(),
                  doc["changes"]["count"].get<std::size_t>(), doc["failed_changes"].dump()));
  reporter.text(fmt::format("  time to restore       median {}",
                            seconds_text(doc["time_to_restore_s"]["median"])));
  return Outcome();
}

}  // namespace

void add_metrics_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                         CommandAction& action) {
  auto metrics = std::make_shared<MetricsOptions>();
  auto* cmd = app.add_subcommand(
      "metrics",
      "Deploy frequency, lead time, change failure rate, time to restore (from the ledger)");
  cmd->add_option("--unit", metrics->ledger.unit, "Only this unit's changes");
  cmd->add_option("--since", metrics->since, "The window: 30d (default), 12h, ...");
  cmd->add_flag("--offline", metrics->ledger.offline,
                "Read only this controller's ledger; contact no host");
  cmd->callback([&options, &reporter, &action, metrics] {
    action = [&options, &reporter, metrics] { return run_metrics(options, *metrics, *reporter); };
  });
}

}  // namespace flotilla
