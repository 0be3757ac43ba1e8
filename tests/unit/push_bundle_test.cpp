#include "core/push_bundle.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "support/scratch_dir.hpp"

using namespace flotilla;
namespace fs = std::filesystem;

namespace {

struct Built {
  ScratchDir scratch;
  fs::path dir = scratch.path;
  Manifest manifest;
  std::string archive;
  explicit Built(const std::string& noisy) {
    scratch.write("out/text.txt", std::string(200000, 'a'));
    scratch.write("out/noise.bin", noisy);
    manifest = *scan_output((dir / "out").string());
    archive = (dir / "a.tar.zst").string();
    REQUIRE(write_artifact_archive((dir / "out").string(), manifest, archive));
  }
  std::string sha(const std::string& path) const {
    for (const auto& e : manifest.entries) {
      if (e.path == path) return e.sha256;
    }
    return "";
  }
};

std::string noise(std::size_t n) {
  std::mt19937_64 rng(7);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

}  // namespace

TEST_CASE("push bundle: only the missing files; gzip only when it pays") {
  Built b(noise(300000));
  auto text_only = make_push_bundle(b.archive, b.manifest, {b.sha("text.txt")});
  REQUIRE(text_only);
  CHECK(text_only->gzipped);  // 200 kB of one letter compresses to almost nothing
  CHECK(text_only->data->size() < 10000);
  auto noise_only = make_push_bundle(b.archive, b.manifest, {b.sha("noise.bin")});
  REQUIRE(noise_only);
  CHECK_FALSE(noise_only->gzipped);  // random bytes: sent as they are
  CHECK(noise_only->data->size() > 300000);
}

TEST_CASE("push bundle: gzip is judged by where the bytes are, not by file count") {
  // 200 kB of text beside 3 MB of noise: gzip would save under a tenth.
  Built mostly_noise(noise(3000000));
  auto both = make_push_bundle(mostly_noise.archive, mostly_noise.manifest,
                               {mostly_noise.sha("text.txt"), mostly_noise.sha("noise.bin")});
  REQUIRE(both);
  CHECK_FALSE(both->gzipped);
  CHECK(both->data->size() > 3200000);
  // 200 kB of text beside 20 kB of noise: it saves most of it.
  Built mostly_text(noise(20000));
  auto again = make_push_bundle(mostly_text.archive, mostly_text.manifest,
                                {mostly_text.sha("text.txt"), mostly_text.sha("noise.bin")});
  REQUIRE(again);
  CHECK(again->gzipped);
  CHECK(again->data->size() < 40000);
}

TEST_CASE("push bundle: a damaged artifact or a missing file is refused") {
  Built b(noise(1000));
  Manifest lying = b.manifest;
  for (auto& e : lying.entries) {
    if (e.path == "text.txt") e.sha256 = std::string(64, 'f');
  }
  auto damaged = make_push_bundle(b.archive, lying, {std::string(64, 'f')});
  REQUIRE_FALSE(damaged);
  CHECK(damaged.error().message.find("damaged") != std::string::npos);
  auto absent = make_push_bundle(b.archive, b.manifest, {std::string(64, 'e')});
  REQUIRE_FALSE(absent);
  CHECK(absent.error().message.find("lacks 1") != std::string::npos);
}
