#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace flotilla {

// One server of a backend as one HAProxy reports it (balancer.sh show).
struct HaproxyServer {
  std::string name;
  std::string status;  // show stat's words: UP, DOWN, MAINT, DRAIN, NOLB, no check, UP 1/3...
  long sessions = 0;   // scur: current sessions
  long weight = 0;     // the user weight now (uweight)
  long initial_weight = 0;
};

// Parses balancer.sh's `show` answer: `show stat` CSV, "--", `show
// servers state`. Columns are found by their header names, so a HAProxy
// that adds columns reads the same. A balancer's words are values only:
// malformed lines are an error (kFailed), never guessed at.
Result<std::vector<HaproxyServer>> parse_haproxy_show(std::string_view answer);

// The status word a person reads: UP, DOWN, MAINT, DRAIN (a transition
// "UP 1/3" is still UP; "no check" counts as UP: HAProxy sends it traffic).
std::string rotation_word(const std::string& status);

// Weights giving `canaries` `percent` of the backend's traffic, the other
// servers in rotation keeping their proportions: integers in HAProxy's
// 1..256, the closest share found. Servers out of rotation (MAINT, DRAIN,
// DOWN) keep theirs. Empty when no other server takes traffic.
std::map<std::string, long> canary_weights(const std::vector<HaproxyServer>& servers,
                                           const std::set<std::string>& canaries, double percent);

// The share of traffic `canaries` get with `weights` (others: as reported).
double canary_share(const std::vector<HaproxyServer>& servers,
                    const std::set<std::string>& canaries,
                    const std::map<std::string, long>& weights);

}  // namespace flotilla
