#include <doctest/doctest.h>

#include "playbooks/unit_logs.hpp"

namespace flotilla {

TEST_CASE("the patrol's answer: counts summed over files, the newest lines across them") {
  auto counted = parse_patrol(
      "count\tshared/log/a.log\t2\n"
      "line\tshared/log/a.log\t2026-11-30T03:00:02Z ERROR b\n"
      "line\tshared/log/a.log\t2026-11-30T03:00:09Z ERROR d\n"
      "count\tshared/log/b.log\t3\n"
      "line\tshared/log/b.log\t2026-11-30T03:00:01Z ERROR a\n"
      "line\tshared/log/b.log\t2026-11-30T03:00:05Z ERROR c\twith a tab\n",
      3);
  REQUIRE(counted);
  CHECK(counted->count == 5);
  CHECK(counted->lines == std::vector<std::string>{"2026-11-30T03:00:02Z ERROR b",
                                                   "2026-11-30T03:00:05Z ERROR c\twith a tab",
                                                   "2026-11-30T03:00:09Z ERROR d"});
  CHECK(parse_patrol("", 3)->count == 0);
  CHECK(!parse_patrol("count\tf\tmany\n", 3));
  CHECK(!parse_patrol("count\tf\t-1\n", 3));
  CHECK(!parse_patrol("surprise\tf\tx\n", 3));
  CHECK(!parse_patrol("no tabs at all\n", 3));
}

}  // namespace flotilla
