#pragma once

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace flotilla {

struct ReporterOptions {
  bool json = false;   // --json: stdout carries JSON only
  bool color = false;  // decided once from the TTY, NO_COLOR and --no-color
  bool quiet = false;  // -q: no progress, results and errors only
  int verbosity = 0;   // -v
  bool live = false;   // a live block may be redrawn in place (stdout is a terminal)
};

// Every byte flotilla prints goes through here, so `--json` keeps stdout
// machine-readable and humans get text and color. Thread-safe: the executor
// reports from its own thread.
class Reporter {
 public:
  enum class Color { kNone, kRed, kGreen, kYellow, kBold, kDim };

  explicit Reporter(ReporterOptions options, std::FILE* out = stdout, std::FILE* err = stderr);

  // Decides color from the terminal and the environment (NO_COLOR, TERM=dumb).
  static bool want_color(bool no_color_flag);
  // A live view needs a terminal on stdout that understands cursor moves.
  static bool want_live();

  bool json() const { return options_.json; }
  int verbosity() const { return options_.verbosity; }

  // The result of a short command: one JSON document (JSON mode only).
  void document(const nlohmann::json& doc);
  // One line of a long command's event stream (JSON mode); `time` is added,
  // and the fields tag_events() set.
  void event(std::string_view name, nlohmann::json fields);
  // From now on every event carries `key` (a release's id on all its events).
  void tag_events(const std::string& key, nlohmann::json value);
  // Human result text on stdout (text mode only).
  void text(std::string_view line);
  // Progress for humans: stderr in JSON mode, hidden with -q.
  void progress(std::string_view line);
  void verbose(std::string_view line);
  // A human summary that must never mix with stdout's result (stderr, hidden with -q).
  void note(std::string_view line);
  void warning(std::string_view message);
  void error(std::string_view message);

  std::string paint(std::string_view text, Color color) const;

  // The live block: lines redrawn in place below everything printed so far
  // (text mode on a terminal only; otherwise ignored). Other output scrolls
  // above it. An empty list removes it.
  // From now on stdout and stderr are a log file, not a terminal (a change
  // that goes on in the background): no live block, no color.
  void to_log_file();

  bool live_enabled() const { return options_.live && !options_.json && !options_.quiet; }
  void live(std::vector<std::string> lines);

  // From now on `secret` is printed as [REDACTED] wherever it appears, in
  // every stream and mode (also JSON-escaped, and each long line of a
  // multi-line value such as a PEM key).
  void redact(const std::string& secret);
  std::string redacted(std::string_view text) const;
  // Every string (keys too) redacted; a number that holds a secret becomes
  // the string "[REDACTED]".
  nlohmann::json redacted_json(const nlohmann::json& value) const;

 private:
  void write(std::FILE* stream, std::string_view line);
  void write_json(std::FILE* stream, const nlohmann::json& value, int indent);
  void write_redacted(std::FILE* stream, std::string_view line);

  ReporterOptions options_;
  std::FILE* out_;
  std::FILE* err_;
  void erase_live();  // under mutex_
  void draw_live();   // under mutex_

  mutable std::mutex mutex_;
  std::vector<std::string> live_lines_;
  std::size_t live_drawn_ = 0;        // lines of the block now on screen
  std::vector<std::string> secrets_;  // longest first
  nlohmann::json event_tags_ = nlohmann::json::object();
};

// "512 B", "3.4 kB", "20.0 MB": sizes for people.
std::string format_bytes(std::uint64_t bytes);

}  // namespace flotilla
