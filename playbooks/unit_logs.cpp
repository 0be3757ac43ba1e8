#include "playbooks/unit_logs.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "playbooks/host_commands.hpp"

namespace flotilla {
namespace {

Result<PatrolCount> counted_on_host(const Result<CommandResult>& result, std::size_t top) {
  if (!result) return tl::unexpected(result.error());
  if (!result->ok()) {
    std::string message =
        result->err.empty() ? fmt::format("exit {}", result->exit_status) : result->err;
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return fail(ErrorKind::kFailed, message);
  }
  return parse_patrol(result->out, top);
}

}  // namespace

Outcome patrol_logs(Transport& transport, const std::vector<std::string>& hosts, const Unit& unit,
                    const PatrolQuery& query, Reporter& reporter) {
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(query.window).count();
  RemoteCommand command = logs_count_command(unit, seconds, query.top, query.grep, query.timeout);
  std::vector<HostTask> tasks;
  for (std::size_t i = 0; i < hosts.size(); ++i) tasks.push_back({i, command});
  auto results = transport.run(tasks);

  Outcome outcome;
  nlohmann::json by_host = nlohmann::json::object();
  nlohmann::json over = nlohmann::json::array();
  std::size_t width = 4;
  for (const auto& h : hosts) width = std::max(width, h.size());
  reporter.text(fmt::format("{:<{}} {:>8}  (matching {} in the last {})", "HOST", width, "MATCHES",
                            query.grep.empty() ? "any line" : "'" + query.grep + "'",
                            format_duration(query.window)));
  for (std::size_t i = 0; i < results.size(); ++i) {
    const std::string& host = hosts[i];
    auto counted = counted_on_host(results[i], query.top);
    if (!counted) {
      const Error& error = counted.error();
      outcome.add(Outcome(error.kind == ErrorKind::kUnreachable ? ErrorKind::kUnreachable
                                                                : ErrorKind::kFailed));
      by_host[host] = {{"ok", false}, {"error", error.message}};
      reporter.text(
          fmt::format("{:<{}} {:>8}  {}", host, width, "?",
                      reporter.paint("cannot read: " + error.message, Reporter::Color::kRed)));
      continue;
    }
    bool too_many = query.max >= 0 && counted->count > static_cast<std::uint64_t>(query.max);
    if (too_many) {
      over.push_back(host);
      outcome.add(Outcome(ErrorKind::kFailed));
    }
    by_host[host] = {
        {"ok", true}, {"count", counted->count}, {"lines", counted->lines}, {"over", too_many}};
    reporter.text(fmt::format(
        "{:<{}} {:>8}{}", host, width, counted->count,
        too_many ? reporter.paint(fmt::format("  OVER {}", query.max), Reporter::Color::kRed)
                 : ""));
    for (const auto& line : counted->lines) reporter.text("    " + line);
  }
  reporter.document({{"unit", unit.name},
                     {"pattern", query.grep},
                     {"since_s", seconds},
                     {"max", query.max >= 0 ? nlohmann::json(query.max) : nlohmann::json()},
                     {"hosts", by_host},
                     {"over", over}});
  return outcome;
}

Result<PatrolCount> parse_patrol(const std::string& output, std::size_t top) {
  PatrolCount out;
  for (std::size_t start = 0; start < output.size();) {
    std::size_t end = std::min(output.find('\n', start), output.size());
    std::string_view line(output.data() + start, end - start);
    start = end + 1;
    std::size_t tab1 = line.find('\t');
    std::size_t tab2 = tab1 == std::string_view::npos ? tab1 : line.find('\t', tab1 + 1);
    if (tab2 == std::string_view::npos) {
      return fail(ErrorKind::kFailed, "unexpected answer from the patrol");
    }
    std::string_view kind = line.substr(0, tab1);
    std::string_view rest = line.substr(tab2 + 1);
    if (kind == "count") {
      std::uint64_t n = 0;
      auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
      if (ec != std::errc() || ptr != rest.data() + rest.size()) {
        return fail(ErrorKind::kFailed, "unexpected count from the patrol");
      }
      out.count += n;
    } else if (kind == "line") {
      out.lines.emplace_back(rest);
    } else {
      return fail(ErrorKind::kFailed, "unexpected answer from the patrol");
    }
  }
  // The newest across files: each line starts with its ISO-8601 stamp.
  std::stable_sort(out.lines.begin(), out.lines.end());
  if (out.lines.size() > top) {
    out.lines.erase(out.lines.begin(), out.lines.end() - static_cast<long>(top));
  }
  return out;
}

}  // namespace flotilla
