#include "core/error.hpp"

namespace flotilla {

int exit_code_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kBadInput:
      return 2;
    case ErrorKind::kLocked:
      return 3;
    case ErrorKind::kUnreachable:
      return 4;
    case ErrorKind::kFailed:
    case ErrorKind::kTimeout:
    case ErrorKind::kInterrupted:
    case ErrorKind::kAbandoned:
      return 1;
  }
  return 1;
}

int exit_code_for(const Outcome& outcome) {
  return outcome.worst() ? exit_code_for(*outcome.worst()) : 0;
}

}  // namespace flotilla
