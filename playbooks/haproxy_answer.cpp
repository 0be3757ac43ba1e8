#include "playbooks/haproxy_answer.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "core/trim.hpp"

namespace flotilla {
namespace {

std::vector<std::string> split_on(std::string_view line, char sep) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in{std::string(line)};
  while (std::getline(in, field, sep)) out.push_back(field);
  if (!line.empty() && line.back() == sep) out.emplace_back();
  return out;
}

std::vector<std::string> whitespace_words(std::string_view line) {
  std::vector<std::string> out;
  std::istringstream in{std::string(line)};
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::optional<long> haproxy_count(const std::string& text) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stol(text);
}

Result<void> malformed_answer(std::string_view what) {
  return fail(ErrorKind::kFailed, fmt::format("the balancer's answer is malformed: {}", what));
}

// The index of each named column in a header line.
std::map<std::string, std::size_t> column_positions(const std::vector<std::string>& header) {
  std::map<std::string, std::size_t> at;
  for (std::size_t i = 0; i < header.size(); ++i) at.emplace(header[i], i);
  return at;
}

}  // namespace

Result<std::vector<HaproxyServer>> parse_haproxy_show(std::string_view answer) {
  std::vector<std::string> lines;
  for (const auto& l : split_on(answer, '\n')) {
    if (!trim(l).empty()) lines.push_back(l);
  }
  auto divider = std::find(lines.begin(), lines.end(), "--");
  if (lines.empty() || divider == lines.end() || lines.front().rfind("# pxname,", 0) != 0) {
    return tl::unexpected(malformed_answer("no show stat header").error());
  }
  auto stat = column_positions(split_on(lines.front().substr(2), ','));
  for (const char* need : {"svname", "scur", "status"}) {
    if (!stat.contains(need)) return tl::unexpected(malformed_answer(need).error());
  }
  std::vector<HaproxyServer> servers;
  for (auto it = lines.begin() + 1; it != divider; ++it) {
    auto f = split_on(*it, ',');
    if (f.size() <= std::max({stat["svname"], stat["scur"], stat["status"]})) {
      return tl::unexpected(malformed_answer("a short show stat line").error());
    }
    auto sessions = haproxy_count(f[stat["scur"]]);
    if (!sessions) return tl::unexpected(malformed_answer("scur is not a count").error());
    servers.push_back({f[stat["svname"]], f[stat["status"]], *sessions, 0, 0});
  }
  // show servers state: a version line, then "# be_id be_name srv_id srv_name ...".
  auto header = std::find_if(divider, lines.end(),
                             [](const std::string& l) { return l.rfind("# be_id", 0) == 0; });
  if (header == lines.end())
    return tl::unexpected(malformed_answer("no servers state header").error());
  auto state = column_positions(whitespace_words(header->substr(2)));
  for (const char* need : {"srv_name", "srv_uweight", "srv_iweight"}) {
    if (!state.contains(need)) return tl::unexpected(malformed_answer(need).error());
  }
  for (auto it = header + 1; it != lines.end(); ++it) {
    auto f = whitespace_words(*it);
    if (f.size() <= std::max({state["srv_name"], state["srv_uweight"], state["srv_iweight"]})) {
      return tl::unexpected(malformed_answer("a short servers state line").error());
    }
    auto weight = haproxy_count(f[state["srv_uweight"]]);
    auto initial = haproxy_count(f[state["srv_iweight"]]);
    if (!weight || !initial)
      return tl::unexpected(malformed_answer("a weight is not a number").error());
    for (auto& s : servers) {
      if (s.name == f[state["srv_name"]]) {
        s.weight = *weight;
        s.initial_weight = *initial;
      }
    }
  }
  return servers;
}

std::string rotation_word(const std::string& status) {
  if (status == "no check" || status.rfind("UP", 0) == 0) return "UP";
  for (const char* word : {"MAINT", "DRAIN", "DOWN", "NOLB"}) {
    if (status.rfind(word, 0) == 0) return word;
  }
  return status.empty() ? "?" : status;
}

double canary_share(const std::vector<HaproxyServer>& servers,
                    const std::set<std::string>& canaries,
                    const std::map<std::string, long>& weights) {
  double canary = 0, total = 0;
  for (const auto& s : servers) {
    bool is_canary = canaries.contains(s.name);
    if (!is_canary && rotation_word(s.status) != "UP") continue;
    auto w = weights.find(s.name);
    double weight = static_cast<double>(w != weights.end() ? w->second : s.weight);
    total += weight;
    if (is_canary) canary += weight;
  }
  return total > 0 ? 100.0 * canary / total : 0;
}

std::map<std::string, long> canary_weights(const std::vector<HaproxyServer>& servers,
                                           const std::set<std::string>& canaries, double percent) {
  long others = 0, heaviest_other = 0, canary_total = 0;
  for (const auto& s : servers) {
    if (canaries.contains(s.name)) {
      canary_total += std::max(1L, s.weight > 0 ? s.weight : s.initial_weight);
    } else if (rotation_word(s.status) == "UP") {
      others += s.weight;
      heaviest_other = std::max(heaviest_other, s.weight);
    }
  }
  if (others == 0 || canary_total == 0) return {};
  std::map<std::string, long> best;
  double best_error = 1e9;
  // Scaling the others up by `factor` lets a small share stay a whole weight.
  for (long factor = 1; heaviest_other * factor <= 256; ++factor) {
    std::map<std::string, long> weights;
    const double target = percent / (100.0 - percent) * static_cast<double>(others * factor);
    for (const auto& s : servers) {
      if (canaries.contains(s.name)) {
        double own = static_cast<double>(std::max(1L, s.weight > 0 ? s.weight : s.initial_weight));
        weights[s.name] =
            std::clamp(std::lround(target * own / static_cast<double>(canary_total)), 1L, 256L);
      } else if (factor > 1 && rotation_word(s.status) == "UP" && s.weight > 0) {
        weights[s.name] = s.weight * factor;
      }
    }
    double error = std::abs(canary_share(servers, canaries, weights) - percent);
    if (error < best_error - 1e-9) {
      best = weights;
      best_error = error;
    }
    if (best_error < 0.5) break;
  }
  return best;
}

}  // namespace flotilla
