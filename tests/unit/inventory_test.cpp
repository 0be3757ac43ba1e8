#include <doctest/doctest.h>

#include "inventory/ansible_yaml_inventory.hpp"
#include "inventory/host_pattern.hpp"
#include "inventory/host_range.hpp"

using namespace flotilla;
using nlohmann::json;

namespace {

LoadedInventory load(const std::string& text) {
  auto doc = parse_yaml(text, "inv.yaml");
  REQUIRE(doc);
  auto inv = parse_ansible_yaml_inventory(*doc);
  REQUIRE_MESSAGE(inv, (inv ? "" : inv.error().message));
  return std::move(*inv);
}

std::string load_error(const std::string& text) {
  auto doc = parse_yaml(text, "inv.yaml");
  REQUIRE(doc);
  auto inv = parse_ansible_yaml_inventory(*doc);
  REQUIRE_FALSE(inv);
  CHECK(inv.error().kind == ErrorKind::kBadInput);
  return inv.error().message;
}

std::vector<std::string> names(const Inventory& inv, const std::string& pattern) {
  auto hosts = select_hosts(inv, pattern);
  REQUIRE_MESSAGE(hosts, (hosts ? "" : hosts.error().message));
  std::vector<std::string> out;
  for (auto h : *hosts) out.push_back(inv.hosts()[h].name);
  return out;
}

const char* kFleet = R"(
all:
  vars: {x: all, region: kr}
  hosts:
    lonely:
  children:
    game:
      vars: {x: game}
      children:
        kr:
          vars: {x: kr}
          hosts:
            gs[01:04].kr: {ansible_host: 10.0.0.1}
        jp:
          hosts:
            gs01.jp:
    reward:
      vars: {x: reward}
      hosts:
        gs01.kr: {x: host}
        rw01:
    zeta:
      vars: {x: zeta, ansible_group_priority: 0}
      hosts: {rw01: }
)";

}  // namespace

TEST_CASE("host ranges expand like Ansible") {
  CHECK(*expand_host_range("gs[01:03].kr") ==
        std::vector<std::string>{"gs01.kr", "gs02.kr", "gs03.kr"});
  CHECK(*expand_host_range("db-[a:c]") == std::vector<std::string>{"db-a", "db-b", "db-c"});
  CHECK(*expand_host_range("st[0:10:5]") == std::vector<std::string>{"st0", "st5", "st10"});
  CHECK(*expand_host_range("x[1:2]y[a:b]") ==
        std::vector<std::string>{"x1ya", "x1yb", "x2ya", "x2yb"});
  CHECK(*expand_host_range("n[:2]") == std::vector<std::string>{"n0", "n1", "n2"});
  CHECK_FALSE(expand_host_range("gs[01:100]"));  // unequal widths
  CHECK_FALSE(expand_host_range("gs[c:a]"));
  CHECK_FALSE(expand_host_range("gs[1:]"));
  CHECK_FALSE(expand_host_range("gs[0:99999999]"));  // bounded
}

TEST_CASE("host:port splits like Ansible's parse_address") {
  CHECK(split_host_port("gs01:2222").port == 2222);
  CHECK(split_host_port("gs01:2222").host == "gs01");
  CHECK(split_host_port("gs[01:03]:2222").host == "gs[01:03]");
  CHECK_FALSE(split_host_port("gs[01:03]").port);
  CHECK(split_host_port("[::1]:22").host == "::1");
  CHECK_FALSE(split_host_port("fe80::1").port);
}

TEST_CASE("inventory: membership and precedence follow Ansible") {
  auto loaded = load(kFleet);
  const Inventory& inv = loaded.inventory;
  auto host = [&](const char* n) { return *inv.find_host(n); };
  // host var > deeper child group > parent group > all
  CHECK(inv.resolved_vars(host("gs01.kr"))["x"] == "host");
  CHECK(inv.resolved_vars(host("gs02.kr"))["x"] == "kr");
  CHECK(inv.resolved_vars(host("gs01.jp"))["x"] == "game");
  CHECK(inv.resolved_vars(host("lonely"))["x"] == "all");
  CHECK(inv.resolved_vars(host("gs02.kr"))["region"] == "kr");
  // Siblings at one depth: by priority, then name; the later wins
  // (zeta's priority 0 puts it before reward).
  CHECK(inv.resolved_vars(host("rw01"))["x"] == "reward");
  CHECK_FALSE(inv.resolved_vars(host("rw01")).contains("ansible_group_priority"));
  CHECK(inv.group_names(host("gs01.kr")) == std::vector<std::string>{"game", "kr", "reward"});
  CHECK(inv.group_names(host("lonely")) == std::vector<std::string>{"ungrouped"});
  json j = inv.to_json();
  CHECK(j["groups"]["game"] ==
        json::array({"gs01.kr", "gs02.kr", "gs03.kr", "gs04.kr", "gs01.jp"}));
}

TEST_CASE("host patterns: union, intersection, exclusion, globs, regex, subscripts") {
  auto loaded = load(kFleet);
  const Inventory& inv = loaded.inventory;
  CHECK(names(inv, "reward") == std::vector<std::string>{"gs01.kr", "rw01"});
  CHECK(names(inv, "kr:&reward") == std::vector<std::string>{"gs01.kr"});
  CHECK(names(inv, "game:!kr") == std::vector<std::string>{"gs01.jp"});
  CHECK(names(inv, "jp,zeta") == std::vector<std::string>{"gs01.jp", "rw01"});
  CHECK(names(inv, "!game").size() == 2);  // all but game: lonely, rw01
  CHECK(names(inv, "gs0*.kr") ==
        std::vector<std::string>{"gs01.kr", "gs02.kr", "gs03.kr", "gs04.kr"});
  CHECK(names(inv, "~gs0[12]\\.kr") == std::vector<std::string>{"gs01.kr", "gs02.kr"});
  CHECK(names(inv, "kr[0]") == std::vector<std::string>{"gs01.kr"});
  CHECK(names(inv, "kr[1:2]") == std::vector<std::string>{"gs02.kr", "gs03.kr"});
  CHECK(names(inv, "kr[-1]") == std::vector<std::string>{"gs04.kr"});
  CHECK(names(inv, "all").size() == 7);
  CHECK(names(inv, "*").size() == 7);
  auto none = select_hosts(inv, "nosuch");
  REQUIRE_FALSE(none);
  CHECK(none.error().kind == ErrorKind::kBadInput);
  CHECK_FALSE(select_hosts(inv, "kr[9]"));
}

TEST_CASE("inventory: structure errors and Ansible's warnings") {
  CHECK(load_error("all:\n  hosts: [a, b]\n").find("inv.yaml:2:10: invalid 'hosts' entry") == 0);
  CHECK(load_error("- a\n- b\n").find("must be a mapping of groups") != std::string::npos);
  CHECK(load_error("plugin: aws_ec2\n").find("plugin configuration") != std::string::npos);
  CHECK(load_error("all:\n  hosts:\n    a: x\n").find("must be a mapping") != std::string::npos);
  CHECK(load_error("a:\n  children:\n    b:\n      children:\n        a:\n").find("loop") !=
        std::string::npos);
  auto warned = load("all:\n  hosts: {a: }\n  foo: {b: 1}\nbad: [1]\n");
  CHECK(warned.warnings.size() == 2);
}

TEST_CASE("inventory: hostile names and connection variables are refused") {
  CHECK(load_error("all:\n  hosts:\n    -oProxyCommand=x:\n").find("begins with '-'") !=
        std::string::npos);
  CHECK(load_error("all:\n  hosts:\n    \"a;rm -rf /\":\n").find("not allowed") !=
        std::string::npos);
  CHECK(load_error("all:\n  hosts:\n    \"a\\nb\":\n").find("not allowed") != std::string::npos);
  CHECK(load_error("all:\n  hosts:\n    a: {ansible_user: \"-oX\"}\n").find("inv.yaml:3:23") == 0);
  CHECK(load_error("all:\n  hosts:\n    a: {ansible_user: \"r$(id)\"}\n").find("ansible_user") !=
        std::string::npos);
  CHECK(load_error("all:\n  hosts:\n    a: {ansible_host: \"h`id`\"}\n").find("ansible_host") !=
        std::string::npos);
  CHECK(load_error("all:\n  vars: {ansible_port: 70000}\n").find("ansible_port") !=
        std::string::npos);
}

TEST_CASE("inventory: a port in the host key counts only where the host is first defined") {
  auto loaded = load("all:\n  hosts:\n    a:2222:\n    a:2300:\n");
  CHECK(loaded.inventory.resolved_vars(0)["ansible_port"] == 2222);
}
