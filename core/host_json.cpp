#include "core/host_json.hpp"

#include <fmt/format.h>

namespace flotilla {
namespace {

struct TooDeep {};

}  // namespace

Result<nlohmann::json> parse_host_json(std::string_view text, const std::string& what,
                                       int max_depth, std::size_t max_bytes) {
  if (text.size() > max_bytes) {
    return fail(ErrorKind::kFailed,
                fmt::format("{} is larger than {} bytes; refused", what, max_bytes));
  }
  try {
    // The parser itself is iterative; refusing depth while parsing keeps
    // everything after it (copies, destruction) shallow.
    return nlohmann::json::parse(
        text, [max_depth](int depth, nlohmann::json::parse_event_t, const nlohmann::json&) {
          if (depth > max_depth) throw TooDeep{};
          return true;
        });
  } catch (const TooDeep&) {
    return fail(ErrorKind::kFailed,
                fmt::format("{} nests deeper than {} levels; refused", what, max_depth));
  } catch (const std::exception& e) {
    return fail(ErrorKind::kFailed, fmt::format("{} is not valid JSON: {}", what, e.what()));
  }
}

}  // namespace flotilla
