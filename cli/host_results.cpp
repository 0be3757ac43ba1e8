#include "cli/host_results.hpp"

#include <fmt/format.h>

namespace flotilla {
namespace {

void print_block(Reporter& reporter, const std::string& text) {
  if (text.empty()) return;
  std::string body = text;
  if (body.back() == '\n') body.pop_back();
  reporter.text(body);
}

}  // namespace

int report_host_results(Reporter& reporter, const std::vector<HostAddress>& hosts,
                        const std::vector<Result<CommandResult>>& results, bool output_streamed) {
  std::size_t ok = 0, failed = 0, unreachable = 0;
  nlohmann::json json_hosts = nlohmann::json::object();
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& name = hosts[i].name;
    const auto& r = results[i];
    nlohmann::json entry;
    std::string status;
    if (r) {
      bool success = r->ok();
      success ? ++ok : ++failed;
      entry = {
          {"ok", success}, {"exit_status", r->exit_status}, {"stdout", r->out}, {"stderr", r->err}};
      if (!r->exit_signal.empty()) entry["signal"] = r->exit_signal;
      status = success ? reporter.paint("ok", Reporter::Color::kGreen)
                       : reporter.paint(r->exit_signal.empty()
                                            ? fmt::format("exit {}", r->exit_status)
                                            : fmt::format("killed by SIG{}", r->exit_signal),
                                        Reporter::Color::kRed);
    } else {
      bool is_unreachable = r.error().kind == ErrorKind::kUnreachable;
      is_unreachable ? ++unreachable : ++failed;
      entry = {{"ok", false}, {"error", r.error().message}, {"unreachable", is_unreachable}};
      status = reporter.paint(is_unreachable ? "UNREACHABLE" : "FAILED", Reporter::Color::kRed) +
               ": " + r.error().message;
    }
    json_hosts[name] = entry;
    reporter.text(fmt::format(
        "{} {}", reporter.paint(fmt::format("== {}", name), Reporter::Color::kBold), status));
    if (r && !output_streamed) {
      print_block(reporter, r->out);
      print_block(reporter, r->err);
    }
  }
  reporter.document({{"hosts", json_hosts},
                     {"summary", {{"ok", ok}, {"failed", failed}, {"unreachable", unreachable}}}});
  reporter.progress(fmt::format("{} ok, {} failed, {} unreachable", ok, failed, unreachable));
  if (unreachable > 0) return 4;
  return failed > 0 ? 1 : 0;
}

}  // namespace flotilla
