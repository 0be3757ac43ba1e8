#include "playbooks/push_progress.hpp"

#include <fmt/format.h>

namespace flotilla {
namespace {

std::string megabytes(std::size_t bytes) {
  return fmt::format("{:.1f}", static_cast<double>(bytes) / (1 << 20));
}

std::string duration_text(double seconds) {
  long s = static_cast<long>(seconds + 0.5);
  return s >= 60 ? fmt::format("{}m{:02}s", s / 60, s % 60) : fmt::format("{}s", s);
}

}  // namespace

PushProgress::PushProgress(Reporter& reporter, std::vector<Host> hosts)
    : reporter_(reporter), hosts_(std::move(hosts)) {
  // Nothing to watch when nobody sees it redrawn or reads its events.
  if (reporter_.live_enabled() || reporter_.json()) ticker_ = std::thread([this] { tick(); });
}

PushProgress::~PushProgress() { stop(); }

void PushProgress::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (ticker_.joinable()) {
    ticker_.join();
    reporter_.live({});
  }
}

void PushProgress::finish() {
  stop();
  double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
  std::size_t sent = 0;
  for (const auto& f : figures()) sent += f.sent;
  double rate = seconds > 0 ? static_cast<double>(sent) / seconds : 0;
  reporter_.event("push_sent", {{"bytes", sent},
                                {"hosts", hosts_.size()},
                                {"seconds", seconds},
                                {"bytes_per_second", static_cast<std::size_t>(rate)}});
  if (!reporter_.json()) {
    reporter_.progress(fmt::format("pushed {} MB to {} host(s) in {:.1f}s ({} MB/s)",
                                   megabytes(sent), hosts_.size(), seconds,
                                   megabytes(static_cast<std::size_t>(rate))));
  }
}

std::vector<PushProgress::Figures> PushProgress::figures() const {
  std::vector<Figures> out;
  out.reserve(hosts_.size());
  for (const auto& h : hosts_) {
    out.push_back({h.name, h.sent ? h.sent->load(std::memory_order_relaxed) : 0, h.total});
  }
  return out;
}

std::vector<std::string> PushProgress::render(const std::vector<Figures>& figures, double seconds,
                                              std::size_t rows) {
  std::size_t sent = 0, total = 0;
  for (const auto& f : figures) {
    sent += std::min(f.sent, f.total);
    total += f.total;
  }
  double rate = seconds > 0 ? static_cast<double>(sent) / seconds : 0;
  std::string pace = "starting";
  if (sent >= total) {
    pace = "sent; hosts checking";
  } else if (rate > 0) {
    pace = fmt::format("{} MB/s · {} left", megabytes(static_cast<std::size_t>(rate)),
                       duration_text(static_cast<double>(total - sent) / rate));
  }
  std::vector<std::string> lines;
  lines.push_back(fmt::format("push  ({:.1f}s)  {} of {} MB · {}", seconds, megabytes(sent),
                              megabytes(total), pace));
  std::size_t receiving = 0;
  for (const auto& f : figures) {
    if (f.sent >= f.total) continue;
    if (++receiving > rows) continue;
    int percent =
        f.total > 0
            ? static_cast<int>(100.0 * static_cast<double>(f.sent) / static_cast<double>(f.total))
            : 100;
    lines.push_back(fmt::format("  {:<16} {:>7} of {:>7} MB {:>4}%", f.host, megabytes(f.sent),
                                megabytes(f.total), percent));
  }
  if (receiving > rows) lines.push_back(fmt::format("  … and {} more host(s)", receiving - rows));
  return lines;
}

void PushProgress::tick() {
  auto next_event = started_;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::milliseconds(250));
    if (stopping_) break;
    auto now = Clock::now();
    double seconds = std::chrono::duration<double>(now - started_).count();
    auto now_figures = figures();
    if (reporter_.live_enabled()) reporter_.live(render(now_figures, seconds));
    if (reporter_.json() && now - next_event >= std::chrono::seconds(1)) {
      next_event = now;
      std::size_t sent = 0, total = 0;
      for (const auto& f : now_figures) {
        sent += f.sent;
        total += f.total;
      }
      reporter_.event("push_progress", {{"sent", sent},
                                        {"total", total},
                                        {"seconds", seconds},
                                        {"bytes_per_second", seconds > 0 ? sent / seconds : 0}});
    }
  }
}

}  // namespace flotilla
