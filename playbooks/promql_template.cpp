#include "playbooks/promql_template.hpp"

#include <fmt/format.h>

namespace flotilla {
namespace {

// RE2's metacharacters: a value after =~ matches itself and nothing more.
std::string regex_literal(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// The inside of a PromQL (Go-style) string literal quoted with `quote`.
std::string string_literal_body(const std::string& value, char quote) {
  std::string out;
  for (unsigned char c : value) {
    if (c == '\\' || c == static_cast<unsigned char>(quote)) {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// The matcher operator before the string literal opening at `open`, if any.
std::string matcher_before(const std::string& query, std::size_t open) {
  std::size_t i = open;
  while (i > 0 && (query[i - 1] == ' ' || query[i - 1] == '\t')) --i;
  for (const char* op : {"=~", "!~", "!=", "="}) {
    std::size_t n = std::string_view(op).size();
    if (i >= n && query.compare(i - n, n, op) == 0) return op;
  }
  return "";
}

// Walks the query: text outside strings is copied; a {{var}} inside a
// quoted label value is substituted; anywhere else it is an error.
Result<std::string> walk(const std::string& query, const std::map<std::string, std::string>& values,
                         bool substitute) {
  std::string out;
  char quote = 0;       // the open string's quote, 0 outside strings
  std::string matcher;  // the operator before the open string
  for (std::size_t i = 0; i < query.size(); ++i) {
    char c = query[i];
    if (query.compare(i, 2, "{{") == 0) {
      std::size_t close = query.find("}}", i + 2);
      if (close == std::string::npos) return fail(ErrorKind::kBadInput, "an unclosed {{");
      std::string name = query.substr(i + 2, close - i - 2);
      while (!name.empty() && name.front() == ' ') name.erase(0, 1);
      while (!name.empty() && name.back() == ' ') name.pop_back();
      auto value = values.find(name);
      if (value == values.end()) {
        std::string known;
        for (const auto& [k, v] : values) known += (known.empty() ? "" : ", ") + k;
        return fail(ErrorKind::kBadInput,
                    fmt::format("unknown variable {{{{{}}}}} (known: {})", name, known));
      }
      if ((quote != '"' && quote != '\'') || matcher.empty()) {
        return fail(ErrorKind::kBadInput,
                    fmt::format("{{{{{}}}}} may stand only inside a quoted label value, like "
                                "{}=\"{{{{{}}}}}\"",
                                name, name, name));
      }
      std::string literal = matcher.back() == '~' ? regex_literal(value->second) : value->second;
      out += substitute ? string_literal_body(literal, quote) : std::string();
      i = close + 1;
      continue;
    }
    out += c;
    if (quote) {
      if (c == '\\' && quote != '`' && i + 1 < query.size()) {
        out += query[++i];
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'' || c == '`') {
      quote = c;
      matcher = matcher_before(query, i);
    }
  }
  if (quote) return fail(ErrorKind::kBadInput, "an unclosed string");
  return out;
}

}  // namespace

std::string promql_template_problem(const std::string& query,
                                    const std::map<std::string, std::string>& known) {
  auto walked = walk(query, known, false);
  return walked ? "" : walked.error().message;
}

Result<std::string> render_promql(const std::string& query,
                                  const std::map<std::string, std::string>& values) {
  return walk(query, values, true);
}

}  // namespace flotilla
