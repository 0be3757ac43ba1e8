#include "core/artifact.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "core/artifact_store.hpp"
#include "core/sha256.hpp"
#include "support/scratch_dir.hpp"

using namespace flotilla;
namespace fs = std::filesystem;

namespace {
struct Tree {
  ScratchDir scratch;
  fs::path root = scratch.path;
  void file(const std::string& rel, const std::string& text) { scratch.write(rel, text); }
};
}  // namespace

TEST_CASE("safe relative paths") {
  CHECK(is_safe_relative_path("bin/reward"));
  CHECK(is_safe_relative_path("a/.hidden"));
  for (const char* bad :
       {"", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a/.", "a\nb", "a\\b"}) {
    CHECK_MESSAGE(!is_safe_relative_path(bad), bad);
  }
}

TEST_CASE("scan: sorted, hashed, modes normalized; id depends on content only") {
  Tree t;
  t.file("b.txt", "bee");
  t.file("a/x.sh", "#!/bin/sh\n");
  fs::permissions(t.root / "a/x.sh", fs::perms::owner_all | fs::perms::group_read);
  fs::create_symlink("a/x.sh", t.root / "link");
  auto m = scan_output(t.root.string());
  REQUIRE(m);
  REQUIRE(m->entries.size() == 4);
  CHECK(m->entries[0].path == "a");
  CHECK(m->entries[1].path == "a/x.sh");
  CHECK(m->entries[1].mode == 0755);
  CHECK(m->entries[2].sha256 == sha256_hex("bee"));
  CHECK(m->entries[2].mode == 0644);
  CHECK(m->entries[3].type == ManifestEntry::Type::kSymlink);
  CHECK(m->entries[3].target == "a/x.sh");
  auto again = scan_output(t.root.string());
  CHECK(again->id == m->id);
  t.file("b.txt", "bee2");
  CHECK(scan_output(t.root.string())->id != m->id);
  // The manifest round-trips and is checked against its id.
  auto parsed = Manifest::from_json(m->to_json());
  REQUIRE(parsed);
  CHECK(parsed->id == m->id);
  auto doc = m->to_json();
  doc["files"][2]["sha256"] = sha256_hex("tampered");
  CHECK_FALSE(Manifest::from_json(doc));
  doc = m->to_json();
  doc["files"][0]["path"] = "../escape";
  CHECK_FALSE(Manifest::from_json(doc));
}

TEST_CASE("scan: links out of the tree are refused") {
  Tree t;
  t.file("a/f", "x");
  fs::create_symlink("/etc/passwd", t.root / "a/abs");
  auto m = scan_output(t.root.string());
  REQUIRE_FALSE(m);
  CHECK(m.error().message.find("absolute symlink") != std::string::npos);
  fs::remove(t.root / "a/abs");
  fs::create_symlink("../../outside", t.root / "a/up");
  m = scan_output(t.root.string());
  REQUIRE_FALSE(m);
  CHECK(m.error().message.find("leaving the tree") != std::string::npos);
  fs::remove(t.root / "a/up");
  fs::create_symlink("../a/f", t.root / "a/ok");  // stays inside: fine
  CHECK(scan_output(t.root.string()));
}

TEST_CASE("the store: the newest artifact built for a unit and its size") {
  ScratchDir dir;
  ArtifactStore store((dir.path / "artifacts").string());
  CHECK_FALSE(store.newest_size("game"));  // no store yet
  auto put = [&](const std::string& unit, const std::string& content, int age_seconds) {
    dir.write("out/" + unit + "/data", content);
    auto m = scan_output((dir.path / "out" / unit).string());
    REQUIRE(m);
    m->provenance = {{"unit", unit}};
    fs::create_directories(dir.path / "artifacts/objects");
    std::ofstream(store.manifest_path(m->id)) << m->to_json().dump();
    fs::last_write_time(store.manifest_path(m->id),
                        fs::file_time_type::clock::now() - std::chrono::seconds(age_seconds));
    fs::remove_all(dir.path / "out" / unit);
  };
  put("game", std::string(3000, 'a'), 100);
  put("game", std::string(1000, 'b'), 10);  // newer, smaller
  put("reward", std::string(9000, 'c'), 1);
  CHECK(store.newest_size("game") == 1000);
  CHECK(store.newest_size("reward") == 9000);
  CHECK_FALSE(store.newest_size("gm"));
}
