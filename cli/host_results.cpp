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

HostLineStream::HostLineStream(Reporter& reporter, const std::vector<HostAddress>& hosts)
    : reporter_(reporter), hosts_(hosts), partial_(hosts.size() * 2) {}

Transport::OutputFn HostLineStream::callback() {
  return [this](std::size_t host, bool is_stderr, std::string_view chunk) {
    std::string& buffer = partial_[host * 2 + (is_stderr ? 1 : 0)];
    buffer.append(chunk);
    std::size_t newline;
    while ((newline = buffer.find('\n')) != std::string::npos) {
      reporter_.text(fmt::format("{} | {}", hosts_[host].name, buffer.substr(0, newline)));
      buffer.erase(0, newline + 1);
    }
  };
}

void HostLineStream::flush() {
  for (std::size_t i = 0; i < partial_.size(); ++i) {
    if (!partial_[i].empty())
      reporter_.text(fmt::format("{} | {}", hosts_[i / 2].name, partial_[i]));
    partial_[i].clear();
  }
}

Outcome report_host_results(Reporter& reporter, const std::vector<HostAddress>& hosts,
                            const std::vector<Result<CommandResult>>& results,
                            bool output_streamed) {
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
  Outcome outcome;
  if (failed > 0) outcome.add(ErrorKind::kFailed);
  if (unreachable > 0) outcome.add(ErrorKind::kUnreachable);
  return outcome;
}

}  // namespace flotilla
