#include "inventory/ssh_config.hpp"

#include <doctest/doctest.h>

#include "inventory/ansible_yaml_inventory.hpp"
#include "inventory/host_address.hpp"

using namespace flotilla;

TEST_CASE("ssh_config: first value wins, IdentityFile accumulates, negation vetoes") {
  auto config = SshConfig::parse(R"(
Host gs-*.kr !gs-99.kr
    HostName %h.internal
    User deploy
    IdentityFile ~/.ssh/game
Host gs-01.kr
    User other
    Port 2200
Host *
    User fallback
    Port=2222
    IdentityFile "/keys/all keys"
    ProxyJump jump@bastion:22
)",
                                 "cfg");
  REQUIRE(config);
  auto e = config->lookup("gs-01.kr", "me");
  CHECK(e.hostname == "gs-01.kr.internal");
  CHECK(e.user == "deploy");  // the first matching block wins
  CHECK(e.port == 2200);
  REQUIRE(e.identity_files.size() == 2);
  CHECK(e.identity_files[1] == "/keys/all keys");
  CHECK(e.proxy_jump == "jump@bastion:22");
  auto other = config->lookup("gs-99.kr", "me");
  CHECK_FALSE(other.hostname);  // negated
  CHECK(other.user == "fallback");
  CHECK(other.port == 2222);
}

TEST_CASE("ssh_config: bad values are located; Match is skipped with a warning") {
  auto bad = SshConfig::parse("Host a\n  Port ssh\n", "cfg");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.rfind("cfg:2:3: Port", 0) == 0);
  auto match = SshConfig::parse("Match user x\n  Port 1\nHost *\n  Port 2\n", "cfg");
  REQUIRE(match);
  CHECK(match->lookup("h", "me").port == 2);
  CHECK(match->warnings().size() == 1);
}

TEST_CASE("host address: inventory variables over ssh_config over defaults; ProxyJump") {
  auto doc = parse_yaml(
      "all:\n  hosts:\n    web1: {ansible_port: 2201}\n    web2: {ansible_host: 10.0.0.2, "
      "flotilla_proxy_jump: 'ops@jump:2022'}\n    web3: {flotilla_proxy_jump: 'a,b'}\n",
      "inv.yaml");
  REQUIRE(doc);
  auto inv = parse_ansible_yaml_inventory(*doc);
  REQUIRE(inv);
  SshDefaults defaults;
  defaults.user = "me";
  defaults.identity_files = {"/home/me/.ssh/id_ed25519"};
  defaults.config = *SshConfig::parse(
      "Host web1\n  HostName 10.0.0.1\n  Port 22\n  User admin\nHost jump\n  HostName 10.9.9.9\n",
      "cfg");
  auto web1 = host_address(inv->inventory, 0, defaults);
  REQUIRE(web1);
  CHECK(web1->address == "10.0.0.1");
  CHECK(web1->port == 2201);
  CHECK(web1->user == "admin");
  CHECK(web1->identity_files == defaults.identity_files);
  CHECK_FALSE(web1->jump);
  auto web2 = host_address(inv->inventory, 1, defaults);
  REQUIRE(web2);
  REQUIRE(web2->jump);
  CHECK(web2->jump->address == "10.9.9.9");
  CHECK(web2->jump->port == 2022);
  CHECK(web2->jump->user == "ops");
  auto web3 = host_address(inv->inventory, 2, defaults);
  REQUIRE_FALSE(web3);
  CHECK(web3.error().message.find("only one bastion hop") != std::string::npos);
}
