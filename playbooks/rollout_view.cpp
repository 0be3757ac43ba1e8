#include "playbooks/rollout_view.hpp"

#include <charconv>
#include <optional>

#include <fmt/format.h>

#include "playbooks/host_commands.hpp"

namespace flotilla {

RolloutView::RolloutView(Reporter& reporter) : reporter_(reporter) {
  // Only a terminal needs redrawing as time passes.
  if (reporter_.live_enabled()) ticker_ = std::thread([this] { tick(); });
}

RolloutView::~RolloutView() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  reporter_.live({});
}

void RolloutView::start_batch(std::string title, const std::vector<std::string>& hosts) {
  std::lock_guard lock(mutex_);
  title_ = std::move(title);
  order_ = hosts;
  rows_.clear();
  for (const auto& h : hosts) rows_[h] = Row{};
  started_ = Clock::now();
  active_ = true;
  reporter_.live(render());
}

void RolloutView::batch_started(std::size_t index, std::size_t of, const Batch& batch) {
  start_batch(fmt::format("batch {}/{}{}", index + 1, of, batch.canary ? " (canary)" : ""),
              batch.hosts);
}

void RolloutView::rollback_started(std::size_t batch, const std::vector<std::string>& hosts) {
  start_batch(fmt::format("rolling back batch {}", batch + 1), hosts);
}

void RolloutView::output(const std::string& host, std::string_view chunk) {
  std::lock_guard lock(mutex_);
  auto it = rows_.find(host);
  if (it == rows_.end()) return;
  Row& row = it->second;
  // The lines read here are short markers; a host that writes without end
  // and without a newline must not grow this (or the time to scan it).
  if (row.skipping) {
    std::size_t nl = chunk.find('\n');
    if (nl == std::string_view::npos) return;
    chunk.remove_prefix(nl + 1);
    row.skipping = false;
  }
  row.partial += chunk;
  std::size_t start = 0;
  for (std::size_t nl = row.partial.find('\n'); nl != std::string::npos;
       nl = row.partial.find('\n', start)) {
    std::string_view line(row.partial.data() + start, nl - start);
    auto after = [&](std::string_view marker) -> std::optional<std::string_view> {
      if (line.substr(0, marker.size()) != marker) return std::nullopt;
      return line.substr(marker.size());
    };
    if (auto phase = after(kPhaseMarker)) {
      set_phase(host, row, std::string(*phase));
    } else if (auto players = after(kPlayersMarker)) {
      read_players(host, row, *players);
    } else if (auto notice = after(kNoticeMarker)) {
      read_notice(host, *notice);
    }
    start = nl + 1;
  }
  row.partial.erase(0, start);
  if (row.partial.size() > kMaxLine) {
    row.partial.clear();
    row.skipping = true;
  }
}

std::size_t RolloutView::buffered(const std::string& host) const {
  std::lock_guard lock(mutex_);
  auto it = rows_.find(host);
  return it == rows_.end() ? 0 : it->second.partial.size();
}

void RolloutView::set_phase(const std::string& host, Row& row, const std::string& phase) {
  // "health check 3/21" is the same phase as "health check 2/21" for events.
  auto name = [](const std::string& p) {
    std::size_t digit = p.find_first_of("0123456789");
    return digit == std::string::npos ? p : p.substr(0, p.find_last_not_of(' ', digit - 1) + 1);
  };
  bool new_phase = name(row.phase) != name(phase);
  row.phase = phase;
  if (new_phase) reporter_.event("host_phase", {{"host", host}, {"phase", name(phase)}});
  reporter_.live(render());
}

void RolloutView::read_players(const std::string& host, Row& row, std::string_view fields) {
  std::size_t space = fields.find(' ');
  // The host's own count, shown as it says, but only ever as a number.
  std::string_view said = fields.substr(0, space);
  bool number = !said.empty() && said.size() <= 9 &&
                said.find_first_not_of("0123456789") == std::string_view::npos;
  const std::string count = number ? std::string(said) : std::string(1, '?');
  long left = 0;
  if (space != std::string_view::npos) {
    std::string_view rest = fields.substr(space + 1);
    std::from_chars(rest.data(), rest.data() + rest.size(), left);
  }
  const std::string who = fmt::format("{} player{}", count, count == "1" ? "" : "s");
  row.players = fmt::format("{}, {}m{:02}s left", who, left / 60, left % 60);
  if (count != row.last_count) {
    row.last_count = count;
    long players = -1;
    bool known =
        std::from_chars(count.data(), count.data() + count.size(), players).ec == std::errc{};
    reporter_.event("host_players",
                    {{"host", host},
                     {"players", known ? nlohmann::json(players) : nlohmann::json()},
                     {"seconds_left", left}});
    if (!reporter_.json()) {
      reporter_.progress(count == "0" ? fmt::format("{}: no players, restarting", host)
                                      : fmt::format("{}: {}; restarts when they leave or in "
                                                    "{}m{:02}s",
                                                    host, who, left / 60, left % 60));
    }
  }
  reporter_.live(render());
}

void RolloutView::read_notice(const std::string& host, std::string_view seconds_left) {
  long left = 0;
  std::from_chars(seconds_left.data(), seconds_left.data() + seconds_left.size(), left);
  reporter_.event("host_notice",
                  {{"host", host}, {"seconds_left", left}, {"minutes", (left + 59) / 60}});
  if (!reporter_.json()) {
    reporter_.progress(
        fmt::format("{}: notice sent, {}m{:02}s before the restart", host, left / 60, left % 60));
  }
}

void RolloutView::finish_host(const std::string& host, bool ok) {
  std::lock_guard lock(mutex_);
  auto it = rows_.find(host);
  if (it == rows_.end()) return;
  it->second.done = true;
  it->second.ok = ok;
  it->second.finished = Clock::now();
  reporter_.live(render());
}

void RolloutView::end_batch() {
  std::lock_guard lock(mutex_);
  active_ = false;
  reporter_.live({});
}

std::vector<std::string> RolloutView::render() {
  auto now = Clock::now();
  auto secs = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
  std::vector<std::string> lines;
  lines.push_back(fmt::format("{}  ({:.1f}s)", title_, secs(now - started_)));
  for (const auto& host : order_) {
    const Row& row = rows_.at(host);
    std::string what = row.done ? (row.ok ? "done" : "FAILED") : row.phase;
    if (!row.done && row.phase == "waiting for players" && !row.players.empty()) {
      what = row.players;
    }
    lines.push_back(fmt::format("  {:<16} {:<22} {:>6.1f}s", host, what,
                                secs((row.done ? row.finished : now) - started_)));
  }
  return lines;
}

void RolloutView::tick() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::milliseconds(250));
    if (active_ && !stopping_) reporter_.live(render());
  }
}

}  // namespace flotilla
