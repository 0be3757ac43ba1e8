#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "playbooks/project.hpp"

namespace flotilla {

// One occurrence of a freeze window: [from, to) in UTC seconds.
struct FreezeSpan {
  const FreezeWindow* window = nullptr;
  std::int64_t from = 0, to = 0;
};

// The window in force at `now`, if any (the one that closes last when
// several overlap).
std::optional<FreezeSpan> freeze_at(const Environment& env, std::int64_t now);

// The next occurrence that opens after `now`.
std::optional<FreezeSpan> next_freeze(const Environment& env, std::int64_t now);

// "Christmas: 2026-12-24 18:00 KST to 2026-12-26 09:00 KST", in the window's zone.
std::string describe_span(const FreezeSpan& span);

}  // namespace flotilla
