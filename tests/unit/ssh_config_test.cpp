#include "inventory/ssh_config.hpp"

#include <doctest/doctest.h>

#include "inventory/ansible_yaml_inventory.hpp"
#include "inventory/host_address.hpp"
#include "support/scratch_dir.hpp"

#include <cstdlib>

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
  CHECK(other.hostname == "gs-99.kr");  // negated: no HostName
  CHECK(other.user == "fallback");
  CHECK(other.port == 2222);
}

TEST_CASE("ssh_config: bad values and Match lines are located") {
  auto bad = SshConfig::parse("Host a\n  Port 70000\n", "cfg");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.rfind("cfg:2:3: Port", 0) == 0);
  auto named =
      SshConfig::parse("Host a\n  Port ssh\n  HostName = x.example\nHost=b\n  User\t=\tu\n", "cfg");
  REQUIRE(named);
  CHECK(named->lookup("a", "me").port == 22);  // a service name, as a2port reads it
  CHECK(named->lookup("a", "me").hostname == "x.example");
  CHECK(named->lookup("b", "me").user == "u");
  for (const char* line :
       {"Match", "Match host", "Match all host x", "Match localnetwork 10.0.0.0/8"}) {
    auto refused = SshConfig::parse(std::string(line) + "\n  Port 1\n", "cfg");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.rfind("cfg:1:1: Match", 0) == 0);
  }
}

TEST_CASE("ssh_config: Match evaluated as OpenSSH evaluates it") {
  auto config = SshConfig::parse(R"(
Host alias
    HostName Real.Example
Match host real.example !user root
    Port 2201
Match originalhost ALIAS user deploy
    IdentityFile ~/.ssh/%n-%h-%r-%p
Match localuser me
    User deploy
Match final host real.example
    Port 9
Host real.example
    ProxyJump bastion
Match all
    User nobody
)",
                                 "cfg");
  REQUIRE(config);
  auto e = config->lookup("alias", "me");
  CHECK(e.hostname == "real.example");  // lowercased, as ssh -G shows it
  CHECK(e.port == 2201);                // Match host: the HostName, case-insensitively
  CHECK(e.user == "deploy");            // localuser
  CHECK(e.proxy_jump == "bastion");     // the final pass matches Host lines against the HostName
  REQUIRE(e.identity_files.size() == 1);
  // `user deploy` holds only in the final pass (User was obtained later).
  CHECK(e.identity_files[0].ends_with("/.ssh/alias-real.example-deploy-2201"));
  auto as_root = config->lookup(SshQuery{"alias", "me", std::string("root"), std::nullopt});
  CHECK(as_root.port == 9);  // !user root vetoes the first Match; the final pass sets it
  CHECK(as_root.user == "root");
  auto other = config->lookup("other", "someone");
  CHECK(other.user == "nobody");
  CHECK_FALSE(other.port);
}

TEST_CASE("ssh_config: Include is read where it stands, relative to ~/.ssh") {
  ScratchDir home;
  const char* old_home = std::getenv("HOME");
  std::string saved = old_home != nullptr ? old_home : "";
  ::setenv("HOME", home.path.c_str(), 1);
  home.write(".ssh/conf.d/10-web.conf", "Host web*\n    User web\nHost *\n    Port 2222\n");
  home.write(".ssh/conf.d/20-all.conf", "User later\nIdentityFile ~/.ssh/k_%u\n");
  home.write(".ssh/only-db", "Port 5432\n");
  auto config = SshConfig::parse(
      "Include conf.d/*.conf\nHost db\n    Include only-db\nHost *\n    Port 22\n", "cfg");
  REQUIRE(config);
  auto web = config->lookup("web1", "me");
  ::setenv("HOME", saved.c_str(), 1);
  CHECK(web.user == "web");
  // 20-all.conf starts active again: 10-web.conf's Host * does not leak.
  CHECK(web.port == 2222);
  REQUIRE(web.identity_files.size() == 1);
  CHECK(web.identity_files[0] == home.path.string() + "/.ssh/k_me");
  auto db = config->lookup("db", "me");
  CHECK(db.user == "later");
  CHECK(db.port == 2222);  // the first Include already gave one
  auto deep = SshConfig::parse("Include /nonexistent/*.conf\n", "cfg");
  CHECK(deep);  // no match: nothing to read, as ssh
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
  // Without any ssh_config, the inventory and the jump spec still decide.
  SshDefaults bare = defaults;
  bare.config.reset();
  auto web1_bare = host_address(inv->inventory, 0, bare);
  REQUIRE(web1_bare);
  CHECK(web1_bare->port == 2201);
  CHECK(web1_bare->user == "me");
  auto web2_bare = host_address(inv->inventory, 1, bare);
  REQUIRE(web2_bare);
  REQUIRE(web2_bare->jump);
  CHECK(web2_bare->jump->port == 2022);
  CHECK(web2_bare->jump->user == "ops");
  auto web3 = host_address(inv->inventory, 2, defaults);
  REQUIRE(web3);  // a,b: through a, then b
  REQUIRE(web3->jump);
  CHECK(web3->jump->name == "b");
  REQUIRE(web3->jump->jump);
  CHECK(web3->jump->jump->name == "a");
  CHECK_FALSE(web3->jump->jump->jump);
}

TEST_CASE("host address: a ProxyJump list counts every hop, not the recursion") {
  std::string twelve = "j1";
  for (int i = 2; i <= 12; ++i) twelve += ",j" + std::to_string(i);
  auto doc = parse_yaml("all:\n  hosts:\n    far: {flotilla_proxy_jump: '" + twelve +
                            "'}\n    near: {flotilla_proxy_jump: 'j1,j2,j3'}\n",
                        "inv.yaml");
  REQUIRE(doc);
  auto inv = parse_ansible_yaml_inventory(*doc);
  REQUIRE(inv);
  SshDefaults defaults;
  defaults.user = "me";
  auto far = host_address(inv->inventory, 0, defaults);
  REQUIRE_FALSE(far);
  CHECK(far.error().message.find("more than 8 bastions") != std::string::npos);
  CHECK(host_address(inv->inventory, 1, defaults));
}
