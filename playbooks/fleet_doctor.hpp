#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/transport.hpp"
#include "playbooks/change/change_context.hpp"

namespace flotilla {

// `flotilla doctor`: what would break a deploy, found before one runs. Every
// selected host of the environment answers one doctor.sh round trip; each
// finding becomes a problem with its fix.

// What one host is asked: the tools its units' steps use, the deploy_to of
// each unit it runs, and whether it keeps the environment's lock.
struct DoctorQuestion {
  std::string host;
  bool lock_host = false;
  std::vector<std::string> tools;         // "hash": sha256sum or openssl
  std::vector<std::string> dirs;          // deploy_to, one per unit (duplicates merged)
  std::vector<std::string> units_of_dir;  // by dir: the units deploying there, for messages
  std::vector<std::int64_t>
      artifact_kb;  // by dir: the newest artifact this controller built (0: none)
  std::vector<std::string> curl_because;  // why curl is asked for, when it is
  // On a balancer host: each runtime API socket, and the units it switches.
  std::vector<std::string> sockets;
  std::vector<std::string> units_of_socket;
};

struct DoctorProblem {
  std::string check;    // reach, tool, deploy_to, disk, lock, clock, answer
  std::string problem;  // one line, naming the host's part
  std::string fix;      // what to do about it
};

struct DoctorFindings {
  std::string host;
  bool lock_host = false;
  bool reachable = false;
  std::optional<std::int64_t> clock_skew;  // seconds, host minus controller
  std::vector<DoctorProblem> problems;
};

// The controller's wall clock just before and just after the round trip:
// a host's clock outside [before - tolerance, after + tolerance] is skewed.
struct RoundTripTimes {
  std::int64_t before = 0;
  std::int64_t after = 0;
};

// How far a host's clock may stray before freezes and soak gates misjudge.
inline constexpr std::int64_t kClockTolerance = 5;
// Room a deploy needs: twice the larger of the host's current release and
// the newest artifact this controller built for the unit (the new release
// and its upload); at least this much when neither is known.
inline constexpr std::int64_t kMinimumFreeKb = 64 * 1024;

// Reads one host's doctor.sh answer (a failed round trip included) into its
// problems. The host's words are read as values only: a line that does not
// parse is itself a problem, never a name.
DoctorFindings judge_doctor_answer(const DoctorQuestion& question,
                                   const Result<CommandResult>& answer, RoundTripTimes times);

// The questions for the environment's selected hosts: each unit's deploy_to
// and tools on its hosts; the lock host is asked about ~/.flotilla even when
// it runs no unit (it is added to the hosts asked).
struct DoctorRound {
  std::vector<std::size_t> hosts;  // inventory indexes, as `questions`
  std::vector<DoctorQuestion> questions;
};
Result<DoctorRound> doctor_questions(const Targets& targets);

// Asks every host at once and judges the answers, in inventory order.
Result<std::vector<DoctorFindings>> examine_fleet(const Targets& targets, const ConnectFn& connect,
                                                  Clock& clock);

nlohmann::json doctor_json(const std::vector<DoctorFindings>& findings);

}  // namespace flotilla
