#include "inventory/host_range.hpp"

#include <cctype>
#include <regex>
#include <string_view>

namespace flotilla {
namespace {

constexpr std::string_view kLetters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
constexpr std::size_t kMaxHostsFromOnePattern = 100'000;

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t at = text.find(sep, start);
    parts.emplace_back(text.substr(start, at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return parts;
}

}  // namespace

HostAndPort split_host_port(const std::string& pattern) {
  static const std::regex bracketed(R"(^\[(.+)\]:(\d+)$)");
  // A name (ranges allowed) with exactly one ':' outside brackets, then digits.
  static const std::regex hostport(
      R"(^((?:[^:\[\]]|\[[a-zA-Z0-9]*:[a-zA-Z0-9]*(?::[0-9]+)?\])+):(\d+)$)");
  std::smatch m;
  if (std::regex_match(pattern, m, bracketed) || std::regex_match(pattern, m, hostport)) {
    try {
      return {m[1].str(), std::stoi(m[2].str())};
    } catch (const std::exception&) {
      return {pattern, std::nullopt};
    }
  }
  return {pattern, std::nullopt};
}

tl::expected<std::vector<std::string>, std::string> expand_host_range(const std::string& pattern) {
  std::size_t open = pattern.find('[');
  if (open == std::string::npos) return std::vector<std::string>{pattern};
  std::size_t close = pattern.find(']', open);
  if (close == std::string::npos) return tl::unexpected<std::string>("unclosed '[' in host range");
  std::string head = pattern.substr(0, open);
  std::string range = pattern.substr(open + 1, close - open - 1);
  std::string tail = pattern.substr(close + 1);

  auto bounds = split(range, ':');
  if (bounds.size() != 2 && bounds.size() != 3) {
    return tl::unexpected<std::string>("host range must be begin:end or begin:end:step");
  }
  std::string begin = bounds[0].empty() ? "0" : bounds[0];
  const std::string& end = bounds[1];
  if (end.empty()) return tl::unexpected<std::string>("host range must specify an end value");
  long step = 1;
  if (bounds.size() == 3) {
    if (!all_digits(bounds[2]) || bounds[2].size() > 6 || std::stol(bounds[2]) == 0) {
      return tl::unexpected<std::string>("host range step must be a positive number");
    }
    step = std::stol(bounds[2]);
  }

  std::vector<std::string> items;
  std::size_t width = 0;  // zero-padded ranges keep their width: [01:50]
  if (begin.size() > 1 && begin[0] == '0') {
    if (begin.size() != end.size()) {
      return tl::unexpected<std::string>(
          "host range must specify equal-length begin and end formats");
    }
    width = begin.size();
  }
  std::size_t letter_begin = kLetters.find(begin);
  std::size_t letter_end = kLetters.find(end);
  if (begin.size() == 1 && end.size() == 1 && letter_begin != std::string_view::npos &&
      letter_end != std::string_view::npos) {
    if (letter_begin > letter_end) {
      return tl::unexpected<std::string>("host range must have begin <= end");
    }
    for (std::size_t i = letter_begin; i <= letter_end; i += static_cast<std::size_t>(step)) {
      items.emplace_back(1, kLetters[i]);
    }
  } else {
    if (!all_digits(begin) || !all_digits(end) || begin.size() > 9 || end.size() > 9) {
      return tl::unexpected<std::string>("host range bounds must be numbers or single letters");
    }
    long from = std::stol(begin), to = std::stol(end);
    if (to >= from && static_cast<std::size_t>((to - from) / step) > kMaxHostsFromOnePattern) {
      return tl::unexpected<std::string>("host range expands to too many hosts");
    }
    for (long i = from; i <= to; i += step) {
      std::string n = std::to_string(i);
      if (n.size() < width) n.insert(0, width - n.size(), '0');
      items.push_back(std::move(n));
    }
  }

  std::vector<std::string> hosts;
  for (const auto& item : items) {
    auto rest = expand_host_range(head + item + tail);
    if (!rest) return rest;
    hosts.insert(hosts.end(), rest->begin(), rest->end());
    if (hosts.size() > kMaxHostsFromOnePattern) {
      return tl::unexpected<std::string>("host range expands to too many hosts");
    }
  }
  return hosts;
}

}  // namespace flotilla
