#include <cstdio>
#include <cstdlib>
#include <string>

#include <doctest/doctest.h>

#include "core/reporter.hpp"
#include "playbooks/secret_bundle.hpp"
#include "unit/captured_stream.hpp"

using namespace flotilla;

TEST_CASE("a redacted secret never reaches any stream, in any form") {
  CapturedStream out, err;
  Reporter reporter({.json = true, .verbosity = 1}, out.stream, err.stream);
  reporter.redact("hunter2-\"quoted\"");
  reporter.redact("-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----");
  reporter.event("host_done", {{"detail", "said hunter2-\"quoted\" twice: hunter2-\"quoted\""}});
  reporter.verbose("h01: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC");
  reporter.error("failed with hunter2-\"quoted\"");
  std::string printed = out.text() + err.text();
  CHECK(printed.find("hunter2") == std::string::npos);
  CHECK(printed.find("MIIEvQ") == std::string::npos);
  CHECK(out.text().find(R"(said [REDACTED] twice: [REDACTED])") != std::string::npos);
  CHECK(err.text().find("h01: [REDACTED]") != std::string::npos);
}

TEST_CASE("very short values are not redacted: they would hide ordinary words") {
  CapturedStream out, err;
  Reporter reporter({}, out.stream, err.stream);
  reporter.redact("on");
  reporter.text("rollout done");
  CHECK(out.text() == "rollout done\n");
}

TEST_CASE("the secrets digest names a version without revealing it") {
  std::map<std::string, std::string> values{{"DB_PASSWORD", "pw"}, {"STORE_KEY", "k1"}};
  std::string digest = secrets_digest("payment", values);
  CHECK(digest.size() == 32);
  CHECK(digest == secrets_digest("payment", values));  // stable: same values, no change
  CHECK(digest != secrets_digest("reward", values));   // salted by unit
  values["STORE_KEY"] = "k2";
  CHECK(digest != secrets_digest("payment", values));  // a rotated key is a new version
  // Moving a byte between names and values is a different set.
  CHECK(secrets_digest("u", {{"A", "bc"}}) != secrets_digest("u", {{"AB", "c"}}));
}

TEST_CASE("resolving secrets names what is missing, never a value") {
  Unit unit;
  unit.name = "payment";
  unit.secrets["STORE_KEY"] = {SecretSource::Kind::kEnv, "FLOTILLA_UNIT_TEST_UNSET_VAR"};
  ::unsetenv("FLOTILLA_UNIT_TEST_UNSET_VAR");
  auto missing = resolve_secrets(unit);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::kBadInput);
  CHECK(missing.error().message ==
        "unit 'payment': secret STORE_KEY: environment variable FLOTILLA_UNIT_TEST_UNSET_VAR is "
        "not set");

  ::setenv("FLOTILLA_UNIT_TEST_UNSET_VAR", "value-1", 1);
  auto found = resolve_secrets(unit);
  REQUIRE(found);
  REQUIRE(found->has_value());
  CHECK((*found)->values.at("STORE_KEY") == "value-1");
  ::unsetenv("FLOTILLA_UNIT_TEST_UNSET_VAR");

  unit.secrets["STORE_KEY"] = {SecretSource::Kind::kFile, "/nonexistent/flotilla/key"};
  auto unreadable = resolve_secrets(unit);
  REQUIRE_FALSE(unreadable);
  CHECK(unreadable.error().message ==
        "unit 'payment': secret STORE_KEY: cannot read /nonexistent/flotilla/key");
}

TEST_CASE("the secrets command line carries the digest, never a value") {
  SecretBundle bundle{"0123456789abcdef0123456789abcdef", {{"STORE_KEY", "sk_live_zzz"}}};
  auto command = secrets_receive_command(HostLayout{"/srv/pay"}, bundle);
  CHECK(command.command.find("sk_live_zzz") == std::string::npos);
  CHECK(command.stdin_data.find("sk_live_zzz") != std::string::npos);
}

TEST_CASE("a secret that is not UTF-8 (a raw key file) is redacted, not an internal error") {
  CapturedStream out, err;
  Reporter reporter({.json = true}, out.stream, err.stream);
  const std::string raw = "k\xff\xfe\x01raw-key-bytes";
  CHECK_NOTHROW(reporter.redact(raw));
  reporter.event("host_done", {{"detail", "leaked " + raw}});
  reporter.error("leaked " + raw);
  std::string printed = out.text() + err.text();
  CHECK(printed.find("raw-key-bytes") == std::string::npos);
  CHECK(printed.find("[REDACTED]") != std::string::npos);
}

TEST_CASE("JSON is redacted value by value: a secret that is a number leaves valid JSON") {
  CapturedStream out, err;
  Reporter reporter({.json = true}, out.stream, err.stream);
  reporter.redact("2222");
  reporter.document({{"port", 2222},
                     {"ports", {22, 2222, 12222}},
                     {"address", "db-2222.internal"},
                     {"by_port", {{"2222", true}}},
                     {"up", true}});
  reporter.event("host_done", {{"port", 2222}});
  std::string printed = out.text();
  CHECK(printed.find("2222") == std::string::npos);
  auto newline = printed.find("\n}\n");
  REQUIRE(newline != std::string::npos);
  auto doc = nlohmann::json::parse(printed.substr(0, newline + 2));
  CHECK(doc["port"] == "[REDACTED]");
  CHECK(doc["ports"] == nlohmann::json({22, "[REDACTED]", "[REDACTED]"}));
  CHECK(doc["address"] == "db-[REDACTED].internal");
  CHECK(doc["by_port"].contains("[REDACTED]"));
  CHECK(doc["up"] == true);
  auto event = nlohmann::json::parse(printed.substr(newline + 3));
  CHECK(event["port"] == "[REDACTED]");
}
