#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace flotilla {

using Duration = std::chrono::milliseconds;

// "500ms", "10s", "5m", "1h", "30d" -> milliseconds; nullopt for anything else.
std::optional<Duration> parse_duration(std::string_view text);

// The shortest exact spelling: 1500ms -> "1500ms", 60000ms -> "1m".
std::string format_duration(Duration d);

// A span for people, to the minute: "3h12m", "2d4h", "45m", "20s".
std::string format_span(std::int64_t seconds);

// Now, as an ISO 8601 UTC time: "2026-11-22T19:06:34Z".
std::string iso_time_now();
// Seconds since the epoch, the same way.
std::string iso_time(std::int64_t epoch_seconds);

}  // namespace flotilla
