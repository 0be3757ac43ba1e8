// Ansible's INI inventory format, as ansible-core's ini plugin reads it
// (tests/cli/test_ansible_compat.py compares whole inventories with
// ansible-inventory itself; these pin the details and the errors).
#include "inventory/ansible_ini_inventory.hpp"

#include <doctest/doctest.h>

#include "inventory/python_literal.hpp"

using namespace flotilla;

TEST_CASE("INI values are Python literals where they are one") {
  CHECK(python_literal("2222") == 2222);
  CHECK(python_literal("0x1F") == 31);
  CHECK(python_literal("1_000") == 1000);
  CHECK(python_literal("-7") == -7);
  CHECK(python_literal("1.5e3") == 1500.0);
  CHECK(python_literal("True") == true);
  CHECK(python_literal("None") == nlohmann::json());
  CHECK(python_literal("'a b'") == "a b");
  CHECK(python_literal("[1, 'x', (2, 3)]") == nlohmann::json::parse(R"([1, "x", [2, 3]])"));
  CHECK(python_literal("{'a': 1, 2: 'b',}") == nlohmann::json::parse(R"({"a": 1, "2": "b"})"));
  CHECK(python_literal("1 # a comment") == 1);
  for (const char* text : {"yes", "08", "10.0.0.5", "a b", "", "--1", "-True", "{1, 2}", "1j"}) {
    CAPTURE(text);
    CHECK_FALSE(python_literal(text));
  }
}

TEST_CASE("INI inventory: sections, children declared later, ports, quoting") {
  auto loaded = parse_ansible_ini_inventory(
      "solo\n[web]\nw[1:2] role=web\nw3:2222 note=\"a b\" c=x#comment\n[web:vars]\nport = 8080\n"
      "[app:children]\nweb\ndb\n[db]\nd1\n",
      "hosts");
  REQUIRE(loaded);
  const Inventory& inv = loaded->inventory;
  auto w3 = inv.find_host("w3");
  REQUIRE(w3);
  nlohmann::json vars = inv.resolved_vars(*w3);
  CHECK(vars["ansible_port"] == 2222);
  CHECK(vars["note"] == "a b");
  CHECK(vars["c"] == "x");
  CHECK(vars["port"] == 8080);
  CHECK(inv.group_names(*inv.find_host("d1")) == std::vector<std::string>{"app", "db"});
  CHECK(inv.group_names(*inv.find_host("solo")) == std::vector<std::string>{"ungrouped"});
}

TEST_CASE("INI inventory errors name the file, line and column") {
  auto error_of = [](const std::string& text) {
    auto loaded = parse_ansible_ini_inventory(text, "hosts");
    REQUIRE_FALSE(loaded);
    CHECK(loaded.error().kind == ErrorKind::kBadInput);
    return loaded.error().message;
  };
  CHECK(error_of("[web:other]\n") == "hosts:1:1: Section [web:other] has unknown type: other");
  CHECK(error_of("[a:children]\nnever\n") ==
        "hosts:2:1: Section [a:children] includes undefined group: never");
  CHECK(error_of("\n[ghost:vars]\nx=1\n") ==
        "hosts:2:1: Section [ghost:vars] not valid for undefined group: ghost");
  CHECK(error_of("[web]\n  h1 novalue\n") ==
        "hosts:2:3: Expected key=value host variable assignment, got: novalue");
  CHECK(error_of("[web group]\n").find("Invalid section entry") != std::string::npos);
  CHECK(error_of("[g:vars]\njustaword\n").find("Expected key=value, got: justaword") !=
        std::string::npos);
  CHECK(error_of("h1 x='unclosed\n").find("No closing quotation") != std::string::npos);
  CHECK(error_of("-oProxyCommand=x\n").find("hosts:1:1:") == 0);  // never an ssh option
}
