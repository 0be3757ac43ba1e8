#include "core/shell_quote.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <string>

#include "core/did_you_mean.hpp"

using namespace flotilla;

namespace {
// What /bin/sh makes of a quoted value: the real shell is the oracle.
std::string through_shell(const std::string& value) {
  std::string cmd = "printf '%s' " + shell_quote(value);
  FILE* pipe = ::popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  std::array<char, 256> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  ::pclose(pipe);
  return out;
}
}  // namespace

TEST_CASE("shell_quote: hostile values arrive literally") {
  for (const std::string value :
       {"plain", "it's", "$(id)", "`id`", "a\nb", "-n", "--", "*", "~root", "a b\tc", "\\", "''",
        "\"", "$HOME", ";rm -rf /", "!x", ""}) {
    CHECK(through_shell(value) == value);
  }
  CHECK(shell_join({"a b", "c"}) == "'a b' 'c'");
}

TEST_CASE("did_you_mean suggests only plausible typos") {
  CHECK(did_you_mean("require_tiket", {"require_ticket", "branches"}) == "require_ticket");
  CHECK(did_you_mean("zzz", {"inventory", "branches"}).empty());
}
