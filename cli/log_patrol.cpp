#include "cli/log_patrol.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace flotilla {

Result<PatrolCount> parse_patrol(const std::string& output, std::size_t top) {
  PatrolCount out;
  for (std::size_t start = 0; start < output.size();) {
    std::size_t end = std::min(output.find('\n', start), output.size());
    std::string_view line(output.data() + start, end - start);
    start = end + 1;
    std::size_t tab1 = line.find('\t');
    std::size_t tab2 = tab1 == std::string_view::npos ? tab1 : line.find('\t', tab1 + 1);
    if (tab2 == std::string_view::npos) {
      return fail(ErrorKind::kFailed, "unexpected answer from the patrol");
    }
    std::string_view kind = line.substr(0, tab1);
    std::string_view rest = line.substr(tab2 + 1);
    if (kind == "count") {
      std::uint64_t n = 0;
      auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
      if (ec != std::errc() || ptr != rest.data() + rest.size()) {
        return fail(ErrorKind::kFailed, "unexpected count from the patrol");
      }
      out.count += n;
    } else if (kind == "line") {
      out.lines.emplace_back(rest);
    } else {
      return fail(ErrorKind::kFailed, "unexpected answer from the patrol");
    }
  }
  // The newest across files: each line starts with its ISO-8601 stamp.
  std::stable_sort(out.lines.begin(), out.lines.end());
  if (out.lines.size() > top) {
    out.lines.erase(out.lines.begin(), out.lines.end() - static_cast<long>(top));
  }
  return out;
}

}  // namespace flotilla
