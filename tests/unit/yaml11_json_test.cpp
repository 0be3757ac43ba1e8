#include "core/yaml11_json.hpp"

#include <doctest/doctest.h>

using namespace flotilla;
using nlohmann::json;

namespace {
json value_of(const std::string& yaml) {
  auto doc = parse_yaml("v: " + yaml + "\n", "t.yaml");
  REQUIRE(doc);
  return yaml11_to_json(*doc->root->find("v"));
}
}  // namespace

TEST_CASE("yaml 1.1: booleans as Ansible reads them") {
  for (const char* t : {"yes", "Yes", "YES", "on", "On", "true", "True"})
    CHECK(value_of(t) == true);
  for (const char* t : {"no", "No", "off", "OFF", "false"}) CHECK(value_of(t) == false);
  CHECK(value_of("\"yes\"") == "yes");
  CHECK(value_of("y") == "y");
}

TEST_CASE("yaml 1.1: integers") {
  CHECK(value_of("0x1F") == 31);
  CHECK(value_of("017") == 15);
  CHECK(value_of("0b101") == 5);
  CHECK(value_of("1_000") == 1000);
  CHECK(value_of("190:20:30") == 685230);
  CHECK(value_of("-42") == -42);
  CHECK(value_of("+7") == 7);
  CHECK(value_of("0o17") == "0o17");  // YAML 1.2 octal is a string in 1.1
  CHECK(value_of("08") == "08");      // not octal, not decimal
}

TEST_CASE("yaml 1.1: floats, nulls, timestamps, tags") {
  CHECK(value_of("1.5") == 1.5);
  CHECK(value_of("1e3") == "1e3");  // 1.1 needs a dot and a signed exponent
  CHECK(value_of("1.0e+3") == 1000.0);
  CHECK(value_of("~").is_null());
  CHECK(value_of("null").is_null());
  CHECK(value_of("").is_null());
  CHECK(value_of("2001-12-14") == "2001-12-14");
  CHECK(value_of("2001-12-14t21:59:43.10-05:00") == "2001-12-14T21:59:43.100000-05:00");
  CHECK(value_of("!!str 123") == "123");
  CHECK(value_of("!!int \"12\"") == 12);
  CHECK(value_of("'017'") == "017");
  CHECK(value_of("!unsafe '{{ x }}'") == "{{ x }}");
}

TEST_CASE("yaml 1.1: collections") {
  CHECK(value_of("[1, yes, a]") == json::array({1, true, "a"}));
  CHECK(value_of("{1: a, yes: b}") == json({{"1", "a"}, {"true", "b"}}));
}
