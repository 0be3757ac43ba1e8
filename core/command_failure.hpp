#pragma once

#include <string>

#include <fmt/format.h>

#include "core/transport.hpp"

namespace flotilla {

// Why a host command failed, in one line: the last line it wrote on stderr
// and its exit status, or how the transport failed.
inline std::string command_failure(const Result<CommandResult>& r) {
  if (!r) return r.error().message;
  std::string err = r->err;
  while (!err.empty() && err.back() == '\n') err.pop_back();
  if (auto nl = err.rfind('\n'); nl != std::string::npos) err = err.substr(nl + 1);
  return err.empty() ? fmt::format("exit {}", r->exit_status)
                     : fmt::format("{} (exit {})", err, r->exit_status);
}

}  // namespace flotilla
