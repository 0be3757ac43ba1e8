// What flotilla reads from a host or prints from one is never trusted:
// bounded JSON, valid UTF-8, no terminal controls, ids in range, templates
// that cannot re-open a value to the shell.
#include <doctest/doctest.h>
#include <signal.h>

#include <string>

#include "core/artifact.hpp"
#include "core/base64.hpp"
#include "core/build_runner.hpp"
#include "core/host_json.hpp"
#include "core/terminal_text.hpp"
#include "core/yaml_document.hpp"
#include "inventory/ansible_yaml_inventory.hpp"
#include "playbooks/project_file.hpp"
#include "snapshots/drift.hpp"
#include "snapshots/snapshot.hpp"
#include "support/scratch_dir.hpp"

using namespace flotilla;

TEST_CASE("host JSON: a deeply nested document is refused, not a crash") {
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  auto doc = parse_host_json(deep, "h1:/srv/app/.flotilla/state.json");
  REQUIRE_FALSE(doc);
  CHECK(doc.error().message ==
        "h1:/srv/app/.flotilla/state.json nests deeper than 32 levels; refused");
  CHECK(parse_host_json(R"({"current": {"release": "r1"}})", "x"));
  CHECK_FALSE(parse_host_json(std::string(2 << 20, ' '), "x"));  // oversized
  CHECK_FALSE(parse_host_json("{\"a\": \"\xff\"}", "x"));        // not UTF-8
}

TEST_CASE("terminal text: controls become visible escapes, bad bytes U+FFFD, colors stay") {
  CHECK(terminal_safe("ok \x1b]0;pwned\x07 title") == "ok \\u001b]0;pwned\\u0007 title");
  CHECK(terminal_safe("\x1b[2J\x1b[H") == "\\u001b[2J\\u001b[H");  // no clearing the screen
  CHECK(terminal_safe("\x1b[31mred\x1b[0m") == "\x1b[31mred\x1b[0m");
  CHECK(terminal_safe("a\tb\nc\r") == "a\tb\nc\\u000d");
  CHECK(terminal_safe("\xc2\x9b"
                      "31m") == "\\u009b31m");  // an 8-bit CSI
  CHECK(terminal_safe("caf\xc3\xa9 \xe2\x9c\x93") == "caf\xc3\xa9 \xe2\x9c\x93");
  CHECK(valid_utf8("ab\xff\xfe"
                   "c") ==
        "ab\xef\xbf\xbd\xef\xbf\xbd"
        "c");
  CHECK(valid_utf8("\xc0\xaf") == "\xef\xbf\xbd\xef\xbf\xbd");  // an overlong '/'
}

TEST_CASE("base64 round trip, and refusal of what is not base64") {
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\n", 3)}) {
    CHECK(base64_decode(base64_encode(s)) == s);
  }
  CHECK_FALSE(base64_decode("abc"));
  CHECK_FALSE(base64_decode("ab!d"));
}

TEST_CASE("snapshot ids from hosts are bounded; kinds are known") {
  nlohmann::json doc = {{"id", 1}, {"environment", "prod"}, {"unit", "app"}, {"kind", "deploy"}};
  CHECK(Snapshot::from_json(doc, "h"));
  doc["id"] = 9223372036854775807L;  // would wrap to a negative id shared by every later change
  CHECK_FALSE(Snapshot::from_json(doc, "h"));
  doc["id"] = kMaxSnapshotId;
  CHECK(Snapshot::from_json(doc, "h"));
  doc["kind"] = "takeover";
  CHECK_FALSE(Snapshot::from_json(doc, "h"));
}

TEST_CASE("project file: a {{var}} inside shell quotes is refused with the fix") {
  ScratchDir dir;
  dir.write("dev.yaml", "all:\n  hosts: {gs01: }\n");
  auto load = [&](const std::string& command) {
    return load_project_file(
        dir.write("flotilla.yaml",
                  "environments:\n  dev: {inventory: dev.yaml}\nunits:\n  web:\n"
                  "    deploy_to: /srv/web\n    source: {repo: ., build: make}\n"
                  "    run: " +
                      command + "\n")
            .string());
  };
  auto refused = load(R"('echo "{{host}}"')");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == ErrorKind::kBadInput);
  CHECK(refused.error().message.find("flotilla.yaml:7:10: units.web.run: '{{host}}' is inside "
                                     "quotes") != std::string::npos);
  CHECK(refused.error().message.find("write {{host}} bare: it is quoted for you") !=
        std::string::npos);
  CHECK_FALSE(load(R"(echo '{{ host }}')"));
  CHECK_FALSE(load(R"x('echo "x $(echo y) {{host}}"')x"));
  CHECK(load("echo {{host}}"));
  CHECK(load(R"x('echo "$(cat {{deploy_to}}/f)" {{host}}')x"));  // substitution: a new context
  CHECK(load(R"('echo \"{{host}}')"));                           // an escaped quote opens nothing
}

TEST_CASE("build output: a chain of links that leaves the tree is refused") {
  ScratchDir dir;
  dir.write("out/VERSION", "1\n");
  std::filesystem::create_directory_symlink(".", dir.path / "out/c");
  std::filesystem::create_directory_symlink("c/..", dir.path / "out/l1");  // = the parent of out
  auto scanned = scan_output((dir.path / "out").string());
  REQUIRE_FALSE(scanned);
  CHECK(scanned.error().message.find("leaves the tree") != std::string::npos);
  CHECK(scanned.error().message.find("l1 -> c/..") != std::string::npos);

  ScratchDir fine;
  fine.write("out/a/VERSION", "1\n");
  std::filesystem::create_directory_symlink("a", fine.path / "out/current");
  std::filesystem::create_symlink("../current/VERSION", fine.path / "out/a/self");
  CHECK(scan_output((fine.path / "out").string()));
}

TEST_CASE("a stored manifest is validated: modes, digests, links") {
  ScratchDir dir;
  dir.write("out/bin/run", "#!/bin/sh\n");
  auto scanned = scan_output((dir.path / "out").string());
  REQUIRE(scanned);
  nlohmann::json doc = scanned->to_json();
  CHECK(Manifest::from_json(doc));
  for (auto& f : doc["files"]) {
    if (f["type"] == "file") f["mode"] = "6755";  // setuid + setgid
  }
  CHECK_FALSE(Manifest::from_json(doc));
  doc = scanned->to_json();
  for (auto& f : doc["files"]) {
    if (f["type"] == "file") f["sha256"] = "../../../../etc/passwd";
  }
  auto bad = Manifest::from_json(doc);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("malformed sha256") != std::string::npos);
}

TEST_CASE("status drift names a failed activation and a current that is not a link") {
  HostState state;
  state.release = "r2";
  state.current_link = "releases/r2";
  CHECK(drift_of(state, nullptr, true).empty());
  state.failed = true;
  CHECK(drift_of(state, nullptr, true) ==
        std::vector<std::string>{"its last activation (r2) failed"});
  state.failed = false;
  state.current_not_link = true;
  state.current_link = "";
  auto drift = drift_of(state, nullptr, true);
  REQUIRE(!drift.empty());
  CHECK(drift.front() == "current is not a symlink (replaced by hand?)");
}

TEST_CASE("inventory: a Vault value is never used as its ciphertext; unknown tags are refused") {
  auto load = [](const std::string& text) {
    auto doc = parse_yaml(text, "inv.yaml");
    REQUIRE(doc);
    return parse_ansible_yaml_inventory(*doc);
  };
  auto vault = load(
      "all:\n  hosts:\n    h1:\n      db_password: !vault |\n        $ANSIBLE_VAULT;1.1;AES256\n"
      "        6162\n");
  REQUIRE(vault);
  // Kept as Ansible's JSON form; only a password turns it into a value.
  auto value = vault->inventory.resolved_vars(0)["db_password"];
  CHECK(value.is_object());
  CHECK_FALSE(vault->inventory.reveal(value));
  auto unknown = load("all:\n  vars:\n    x: !foo bar\n");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message.find("could not determine a constructor for the tag '!foo'") !=
        std::string::npos);
  CHECK(load("all:\n  vars:\n    x: !unsafe '{{ not a template }}'\n    y: !!str 12\n"));
}

TEST_CASE("a build runs with SIGPIPE at its default even though flotilla ignores it") {
  ScratchDir dir;
  struct sigaction old {};
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &old);  // as main() does
  auto run =
      run_build("grep SigIgn /proc/self/status", dir.path.string(), {{"PATH", "/usr/bin:/bin"}},
                (dir.path / "log").string(), std::chrono::seconds(10));
  ::sigaction(SIGPIPE, &old, nullptr);
  REQUIRE(run);
  std::string log = tail_of_file((dir.path / "log").string(), 1);
  auto mask = std::stoull(log.substr(log.find_first_of("0123456789abcdef", 7)), nullptr, 16);
  CHECK((mask & (1ULL << (SIGPIPE - 1))) == 0);
}
