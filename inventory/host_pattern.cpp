#include "inventory/host_pattern.hpp"
#include "core/trim.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <optional>
#include <regex>
#include <set>

#include <fmt/format.h>

namespace flotilla {
namespace {

struct Subscript {
  long start = 0;
  std::optional<long> end;  // nullopt: a single index
};

// `web[0]`, `web[-1]`, `web[1:3]` (inclusive), `web[2:]`.
std::pair<std::string, std::optional<Subscript>> split_subscript(const std::string& pattern) {
  if (!pattern.empty() && pattern[0] == '~') return {pattern, std::nullopt};
  static const std::regex re(R"(^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$)");
  std::smatch m;
  if (!std::regex_match(pattern, m, re)) return {pattern, std::nullopt};
  Subscript sub;
  if (m[2].matched) {
    sub.start = std::stol(m[2]);
  } else {
    sub.start = std::stol(m[3]);
    sub.end = m[5].str().empty() ? -1 : std::stol(m[5]);
  }
  return {m[1].str(), sub};
}

class Matcher {
 public:
  explicit Matcher(const std::string& pattern) : pattern_(pattern) {
    if (!pattern.empty() && pattern[0] == '~') regex_.emplace(pattern.substr(1));
  }
  bool operator()(const std::string& name) const {
    if (regex_) return std::regex_search(name, *regex_, std::regex_constants::match_continuous);
    return ::fnmatch(pattern_.c_str(), name.c_str(), 0) == 0;
  }

 private:
  std::string pattern_;
  std::optional<std::regex> regex_;
};

bool has_glob_chars(const std::string& p) {
  return p[0] == '~' || p.find_first_of(".?*[") != std::string::npos;
}

std::vector<std::size_t> unique(const std::vector<std::size_t>& hosts) {
  std::vector<std::size_t> out;
  std::set<std::size_t> seen;
  for (std::size_t h : hosts) {
    if (seen.insert(h).second) out.push_back(h);
  }
  return out;
}

// Ansible's _enumerate_matches: groups by name or glob; hosts when no group
// matched or the pattern is a glob/regex.
Result<std::vector<std::size_t>> match_one(const Inventory& inventory, const std::string& term) {
  auto [pattern, subscript] = split_subscript(term);
  // As Ansible's _enumerate_matches: every matching group's hosts in turn,
  // duplicates kept until after the subscript (`g*[2]` counts a host in two
  // matching groups twice).
  std::vector<std::size_t> hosts;
  auto add = [&](std::size_t h) { hosts.push_back(h); };
  try {
    Matcher matches(pattern);
    bool matched_group = false;
    for (std::size_t g = 0; g < inventory.groups().size(); ++g) {
      if (!matches(inventory.groups()[g].name)) continue;
      matched_group = true;
      for (std::size_t h : inventory.hosts_in_group(g)) add(h);
    }
    if (!matched_group || has_glob_chars(pattern)) {
      for (std::size_t h = 0; h < inventory.hosts().size(); ++h) {
        if (matches(inventory.hosts()[h].name)) add(h);
      }
    }
  } catch (const std::regex_error& e) {
    return fail(ErrorKind::kBadInput, fmt::format("invalid host pattern '{}': {}", term, e.what()));
  }
  if (!subscript) return unique(hosts);
  long size = static_cast<long>(hosts.size());
  long start = subscript->start < 0 ? size + subscript->start : subscript->start;
  if (!subscript->end) {
    if (start < 0 || start >= size) {
      return fail(ErrorKind::kBadInput,
                  fmt::format("host pattern '{}': index out of range ({} hosts)", term, size));
    }
    return std::vector<std::size_t>{hosts[static_cast<std::size_t>(start)]};
  }
  long end = *subscript->end == -1 ? size - 1 : *subscript->end;
  std::vector<std::size_t> slice;
  for (long i = std::max(0L, start); i <= std::min(end, size - 1); ++i) {
    slice.push_back(hosts[static_cast<std::size_t>(i)]);
  }
  return unique(slice);
}

}  // namespace

std::vector<std::string> split_host_pattern(const std::string& pattern) {
  std::vector<std::string> terms;
  std::string text = trim(pattern);
  if (text.find(',') != std::string::npos) {
    std::size_t start = 0;
    while (true) {
      std::size_t at = text.find(',', start);
      std::string term = trim(text.substr(start, at - start));
      if (!term.empty()) terms.push_back(term);
      if (at == std::string::npos) break;
      start = at + 1;
    }
    return terms;
  }
  // Runs of non-space, non-':' characters, where a [...] group may hold ':'.
  std::string current;
  int depth = 0;
  for (char c : text) {
    if (c == '[') ++depth;
    if (c == ']' && depth > 0) --depth;
    if ((c == ':' && depth == 0) || (depth == 0 && std::isspace(static_cast<unsigned char>(c)))) {
      if (!current.empty()) terms.push_back(current);
      current.clear();
      continue;
    }
    current += c;
  }
  if (!current.empty()) terms.push_back(current);
  return terms;
}

Result<std::vector<std::size_t>> select_hosts(const Inventory& inventory,
                                              const std::string& pattern) {
  auto selected = match_hosts(inventory, pattern);
  if (selected && selected->empty()) {
    return fail(ErrorKind::kBadInput, fmt::format("host pattern '{}' matches no hosts", pattern));
  }
  return selected;
}

Result<std::vector<std::size_t>> match_hosts(const Inventory& inventory,
                                             const std::string& pattern) {
  std::vector<std::string> terms = split_host_pattern(pattern);
  if (terms.empty()) return fail(ErrorKind::kBadInput, "empty host pattern");
  // Ansible's order_patterns: plain terms, then '&', then '!'; 'all' if no plain term.
  std::vector<std::string> ordered;
  for (const auto& t : terms) {
    if (t[0] != '&' && t[0] != '!') ordered.push_back(t);
  }
  if (ordered.empty()) ordered.push_back("all");
  for (const auto& t : terms) {
    if (t[0] == '&') ordered.push_back(t);
  }
  for (const auto& t : terms) {
    if (t[0] == '!') ordered.push_back(t);
  }

  std::vector<std::size_t> selected;
  for (const auto& term : ordered) {
    char op = term[0] == '&' || term[0] == '!' ? term[0] : '+';
    std::string body = op == '+' ? term : term.substr(1);
    if (body.empty())
      return fail(ErrorKind::kBadInput, fmt::format("empty term in host pattern '{}'", pattern));
    std::vector<std::size_t> matched;
    if (auto exact = inventory.find_host(body)) {
      matched = {*exact};
    } else {
      auto result = match_one(inventory, body);
      if (!result) return result;
      matched = std::move(*result);
    }
    std::set<std::size_t> that(matched.begin(), matched.end());
    if (op == '!') {
      std::erase_if(selected, [&](std::size_t h) { return that.count(h) != 0; });
    } else if (op == '&') {
      std::erase_if(selected, [&](std::size_t h) { return that.count(h) == 0; });
    } else {
      std::set<std::size_t> have(selected.begin(), selected.end());
      for (std::size_t h : matched) {
        if (have.insert(h).second) selected.push_back(h);
      }
    }
  }
  return selected;
}

}  // namespace flotilla
