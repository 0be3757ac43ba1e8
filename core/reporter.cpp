#include "core/reporter.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "core/terminal_text.hpp"

namespace flotilla {
namespace {

constexpr std::string_view kRedacted = "[REDACTED]";

}  // namespace

Reporter::Reporter(ReporterOptions options, std::FILE* out, std::FILE* err)
    : options_(options), out_(out), err_(err) {}

bool Reporter::want_color(bool no_color_flag) {
  if (no_color_flag) return false;
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && no_color[0] != '\0') return false;
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::string_view(term) == "dumb") return false;
  return ::isatty(STDOUT_FILENO) == 1;
}

void Reporter::redact(const std::string& secret) {
  std::vector<std::string> forms;
  auto add = [&forms](const std::string& s) {
    // Shorter strings would turn ordinary words into [REDACTED].
    if (s.size() >= 4) forms.push_back(s);
  };
  add(secret);
  // A secret need not be UTF-8 (a raw key file): its JSON form is the one
  // output carries, with invalid bytes as U+FFFD.
  std::string escaped =
      nlohmann::json(secret).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  add(escaped.substr(1, escaped.size() - 2));
  // A multi-line value (a PEM key) may be printed a line at a time.
  if (secret.find('\n') != std::string::npos) {
    for (std::size_t start = 0; start < secret.size();) {
      std::size_t end = std::min(secret.find('\n', start), secret.size());
      if (end - start >= 8) add(secret.substr(start, end - start));
      start = end + 1;
    }
  }
  std::lock_guard lock(mutex_);
  for (auto& f : forms) {
    if (std::find(secrets_.begin(), secrets_.end(), f) == secrets_.end()) secrets_.push_back(f);
  }
  std::sort(secrets_.begin(), secrets_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Reporter::redacted(std::string_view text) const {
  std::string out(text);
  std::lock_guard lock(mutex_);
  for (const auto& secret : secrets_) {
    for (std::size_t at = out.find(secret); at != std::string::npos;
         at = out.find(secret, at + kRedacted.size())) {
      out.replace(at, secret.size(), kRedacted);
    }
  }
  return out;
}

nlohmann::json Reporter::redacted_json(const nlohmann::json& value) const {
  switch (value.type()) {
    case nlohmann::json::value_t::string:
      return redacted(value.get_ref<const std::string&>());
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float: {
      // A number that holds a secret becomes the marker, a string: the
      // document stays JSON ("port": 2222 never prints as "port": [REDACTED]).
      std::string digits = value.dump();
      return redacted(digits) == digits ? value : nlohmann::json(kRedacted);
    }
    case nlohmann::json::value_t::array: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : value) out.push_back(redacted_json(item));
      return out;
    }
    case nlohmann::json::value_t::object: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& [key, item] : value.items()) out[redacted(key)] = redacted_json(item);
      return out;
    }
    default:
      return value;
  }
}

void Reporter::write(std::FILE* stream, std::string_view text) {
  write_redacted(stream, redacted(text));
}

void Reporter::write_json(std::FILE* stream, const nlohmann::json& value, int indent) {
  // Redacted value by value, never as printed text, so the output stays JSON.
  write_redacted(stream, redacted_json(value).dump(indent, ' ', false,
                                                   nlohmann::json::error_handler_t::replace));
}

void Reporter::write_redacted(std::FILE* stream, std::string_view text) {
  // Host output may hold any bytes: never a terminal control, always UTF-8.
  std::string line = terminal_safe(text);
  std::lock_guard lock(mutex_);
  erase_live();
  std::fwrite(line.data(), 1, line.size(), stream);
  std::fputc('\n', stream);
  std::fflush(stream);
  draw_live();
}

bool Reporter::want_live() {
  const char* term = std::getenv("TERM");
  if (term == nullptr || std::string_view(term) == "dumb" || std::string_view(term).empty())
    return false;
  return ::isatty(STDOUT_FILENO) == 1;
}

void Reporter::live(std::vector<std::string> lines) {
  if (!live_enabled()) return;
  for (auto& l : lines) l = redacted(l);
  std::lock_guard lock(mutex_);
  erase_live();
  live_lines_ = std::move(lines);
  draw_live();
}

void Reporter::to_log_file() {
  std::lock_guard lock(mutex_);
  live_lines_.clear();
  live_drawn_ = 0;
  options_.live = false;
  options_.color = false;
}

void Reporter::erase_live() {
  if (live_drawn_ == 0) return;
  // Up to the block's first line, then clear to the end of the screen.
  std::fprintf(out_, "\033[%zuA\r\033[J", live_drawn_);
  std::fflush(out_);
  live_drawn_ = 0;
}

void Reporter::draw_live() {
  if (live_lines_.empty()) return;
  // A wrapped line would break the count of lines to move up over.
  std::size_t width = 120;
  winsize size{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 1) width = size.ws_col - 1;
  for (const auto& line : live_lines_) {
    std::string shown = line.size() > width ? line.substr(0, width) : line;
    std::fwrite(shown.data(), 1, shown.size(), out_);
    std::fputc('\n', out_);
  }
  std::fflush(out_);
  live_drawn_ = live_lines_.size();
}

void Reporter::document(const nlohmann::json& doc) {
  if (options_.json) write_json(out_, doc, 2);
}

void Reporter::event(std::string_view name, nlohmann::json fields) {
  if (!options_.json) return;
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  nlohmann::json line = {
      {"event", name},
      {"time", fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z",
                           fmt::gmtime(std::chrono::system_clock::to_time_t(now)), ms.count())}};
  {
    std::lock_guard lock(mutex_);
    line.update(event_tags_);
  }
  line.update(fields);
  write_json(out_, line, -1);
}

void Reporter::tag_events(const std::string& key, nlohmann::json value) {
  std::lock_guard lock(mutex_);
  event_tags_[key] = std::move(value);
}

void Reporter::text(std::string_view line) {
  if (!options_.json) write(out_, line);
}

void Reporter::progress(std::string_view line) {
  if (!options_.quiet) write(options_.json ? err_ : out_, line);
}

void Reporter::note(std::string_view line) {
  if (!options_.quiet) write(err_, line);
}

void Reporter::verbose(std::string_view line) {
  if (options_.verbosity > 0) write(err_, line);
}

void Reporter::warning(std::string_view message) {
  write(err_, fmt::format("{} {}", paint("warning:", Color::kYellow), message));
}

void Reporter::error(std::string_view message) {
  // One "error:" per line: a file with three problems prints three lines.
  std::size_t start = 0;
  while (start <= message.size()) {
    std::size_t end = message.find('\n', start);
    if (end == std::string_view::npos) end = message.size();
    write(err_,
          fmt::format("{} {}", paint("error:", Color::kRed), message.substr(start, end - start)));
    start = end + 1;
  }
}

std::string Reporter::paint(std::string_view text, Color color) const {
  if (!options_.color || color == Color::kNone) return std::string(text);
  const char* code = "";
  switch (color) {
    case Color::kRed:
      code = "31";
      break;
    case Color::kGreen:
      code = "32";
      break;
    case Color::kYellow:
      code = "33";
      break;
    case Color::kBold:
      code = "1";
      break;
    case Color::kDim:
      code = "2";
      break;
    case Color::kNone:
      break;
  }
  return fmt::format("\033[{}m{}\033[0m", code, text);
}

std::string format_bytes(std::uint64_t bytes) {
  if (bytes >= (1u << 20)) return fmt::format("{:.1f} MB", static_cast<double>(bytes) / (1 << 20));
  if (bytes >= 1024) return fmt::format("{:.1f} kB", static_cast<double>(bytes) / 1024);
  return fmt::format("{} B", bytes);
}

}  // namespace flotilla
