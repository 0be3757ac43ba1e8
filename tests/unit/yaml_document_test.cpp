#include "core/yaml_document.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace flotilla;

TEST_CASE("yaml: marks are 1-based and errors carry FILE:LINE:COL") {
  auto doc = parse_yaml("a: 1\nb: [1, 2\n", "f.yaml");
  REQUIRE_FALSE(doc);
  CHECK(doc.error().kind == ErrorKind::kBadInput);
  CHECK(doc.error().message.rfind("f.yaml:", 0) == 0);
  auto ok = parse_yaml("a: 1\nbb: x\n", "f.yaml");
  REQUIRE(ok);
  const YamlNode* bb = ok->root->find("bb");
  REQUIRE(bb != nullptr);
  CHECK(bb->mark.line == 2);
  CHECK(bb->mark.column == 5);
}

TEST_CASE("yaml: empty documents have no root") {
  auto doc = parse_yaml("", "e.yaml");
  REQUIRE(doc);
  CHECK(doc->root == nullptr);
  auto comments = parse_yaml("# nothing\n", "e.yaml");
  REQUIRE(comments);
  CHECK(comments->root == nullptr);
}

TEST_CASE("yaml: self-referencing aliases are refused, not walked forever") {
  for (const char* text : {"&a [*a]", "a: &x {b: *x}", "- &s [1, [2, *s]]"}) {
    auto doc = parse_yaml(text, "r.yaml");
    REQUIRE_FALSE(doc);
    CHECK(doc.error().message.find("recursive alias") != std::string::npos);
  }
}

TEST_CASE("yaml: billion laughs is refused by its expanded size") {
  std::string text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'j'; ++c) {
    text += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) text += std::string(i ? ", *" : "*") + prev;
    text += "]\n";
    prev = c;
  }
  auto doc = parse_yaml(text, "lol.yaml");
  REQUIRE_FALSE(doc);
  CHECK(doc.error().message.find("too large") != std::string::npos);
}

TEST_CASE("yaml: aliases that stay small keep working") {
  auto doc = parse_yaml("base: &b {port: 22}\nweb: *b\n", "ok.yaml");
  REQUIRE(doc);
  CHECK(doc->root->find("web")->find("port")->scalar == "22");
}

TEST_CASE("yaml: deep nesting is an error, not a crash") {
  std::string text(20000, '[');
  text += std::string(20000, ']');
  auto doc = parse_yaml(text, "deep.yaml");
  REQUIRE_FALSE(doc);
  CHECK(doc.error().message.find("deep.yaml:") == 0);
}

TEST_CASE("yaml: merge keys follow PyYAML (explicit wins, earlier merge wins)") {
  auto doc =
      parse_yaml("a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n  x: 3\n", "m.yaml");
  REQUIRE(doc);
  const YamlNode* c = doc->root->find("c");
  CHECK(c->find("x")->scalar == "3");
  CHECK(c->find("y")->scalar == "1");
  CHECK(c->find("z")->scalar == "2");
}

TEST_CASE("yaml: duplicate keys are recorded with both positions") {
  auto doc = parse_yaml("a: 1\nb: 2\na: 3\n", "d.yaml");
  REQUIRE(doc);
  REQUIRE(doc->duplicate_keys.size() == 1);
  CHECK(doc->duplicate_keys[0].first.line == 1);
  CHECK(doc->duplicate_keys[0].second.line == 3);
  CHECK(doc->root->find("a")->scalar == "3");
}

TEST_CASE("yaml: a second document is refused") {
  auto doc = parse_yaml("a: 1\n---\nb: 2\n", "two.yaml");
  REQUIRE_FALSE(doc);
  CHECK(doc.error().message.find("single YAML document") != std::string::npos);
}

TEST_CASE("yaml: size limit is checked before parsing") {
  YamlLimits limits;
  limits.max_bytes = 10;
  auto doc = parse_yaml("a: 1234567890\n", "big.yaml", limits);
  REQUIRE_FALSE(doc);
  CHECK(doc.error().message.find("too large") != std::string::npos);
}
