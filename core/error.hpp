#pragma once

#include <optional>
#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace flotilla {

// What went wrong, coarse enough to pick an exit code (DESIGN.md, "Exit codes").
enum class ErrorKind {
  kBadInput,     // usage, project file, inventory, policy: exit 2
  kFailed,       // the operation failed, fleet left consistent: exit 1
  kLocked,       // the deploy lock is held by someone else: exit 3
  kUnreachable,  // a host could not be reached or refused us: exit 4
  kTimeout,      // a deadline passed; its own kind so callers can tell it apart
  kInterrupted,  // SIGINT: stopped cleanly between atomic steps
  kAbandoned,    // a second SIGINT: stopped waiting mid-step; the host's state is unknown
};

struct Error {
  ErrorKind kind = ErrorKind::kFailed;
  std::string message;  // one line; file errors start with FILE:LINE:COL
};

template <typename T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(ErrorKind kind, std::string message) {
  return tl::unexpected<Error>(Error{kind, std::move(message)});
}

int exit_code_for(ErrorKind kind);

// How a command ended: fine, or the worst failure it met while still doing
// its work (a status with one unreachable host, a rollout that failed and
// was rolled back). Commands return it; `main` alone turns it into an exit
// code. "Worst" is the kind with the highest exit code.
class Outcome {
 public:
  Outcome() = default;
  explicit Outcome(ErrorKind kind) : worst_(kind) {}
  void add(ErrorKind kind) {
    if (!worst_ || exit_code_for(kind) > exit_code_for(*worst_)) worst_ = kind;
  }
  void add(const Outcome& other) {
    if (other.worst_) add(*other.worst_);
  }
  bool ok() const { return !worst_.has_value(); }
  const std::optional<ErrorKind>& worst() const { return worst_; }

 private:
  std::optional<ErrorKind> worst_;
};

int exit_code_for(const Outcome& outcome);

}  // namespace flotilla
