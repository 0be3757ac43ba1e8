#include "playbooks/push_progress.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "unit/captured_stream.hpp"

using namespace flotilla;

namespace {

constexpr std::size_t kMB = 1 << 20;

std::vector<nlohmann::json> events_named(const std::string& json_lines, const std::string& name) {
  std::vector<nlohmann::json> out;
  std::size_t start = 0;
  while (start < json_lines.size()) {
    std::size_t end = json_lines.find('\n', start);
    auto event = nlohmann::json::parse(json_lines.substr(start, end - start));
    if (event["event"] == name) out.push_back(event);
    start = end + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("push progress: sent of total, rate, time left, and the hosts still receiving") {
  auto lines =
      PushProgress::render({{"h01", 10 * kMB, 20 * kMB}, {"h02", 20 * kMB, 20 * kMB}}, 2.0);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "push  (2.0s)  30.0 of 40.0 MB · 15.0 MB/s · 1s left");
  CHECK(lines[1] == "  h01                 10.0 of    20.0 MB   50%");

  auto done = PushProgress::render({{"h01", 20 * kMB, 20 * kMB}}, 4.0);
  CHECK(done == std::vector<std::string>{"push  (4.0s)  20.0 of 20.0 MB · sent; hosts checking"});

  auto starting = PushProgress::render({{"h01", 0, 20 * kMB}}, 0.0);
  CHECK(starting[0] == "push  (0.0s)  0.0 of 20.0 MB · starting");

  // A slow push: minutes left.
  auto slow = PushProgress::render({{"h01", 1 * kMB, 200 * kMB}}, 1.0);
  CHECK(slow[0] == "push  (1.0s)  1.0 of 200.0 MB · 1.0 MB/s · 3m19s left");
}

TEST_CASE("push progress: a big fleet shows a bounded block") {
  std::vector<PushProgress::Figures> many;
  for (int i = 0; i < 500; ++i) many.push_back({"h" + std::to_string(i), kMB, 2 * kMB});
  auto lines = PushProgress::render(many, 1.0, 10);
  REQUIRE(lines.size() == 12);
  CHECK(lines.back() == "  … and 490 more host(s)");
}

TEST_CASE("push progress: --json has progress events while it runs and the total at the end") {
  CapturedStream out, err;
  Reporter reporter({.json = true}, out.stream, err.stream);
  auto sent = std::make_shared<std::atomic<std::size_t>>(0);
  {
    PushProgress progress(reporter, {{"h01", sent, 4 * kMB}});
    sent->store(2 * kMB);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    sent->store(4 * kMB);
    progress.finish();
  }
  auto ticks = events_named(out.text(), "push_progress");
  REQUIRE_FALSE(ticks.empty());  // one a second
  CHECK(ticks[0]["sent"] == 2 * kMB);
  CHECK(ticks[0]["total"] == 4 * kMB);
  auto total = events_named(out.text(), "push_sent");
  REQUIRE(total.size() == 1);
  CHECK(total[0]["bytes"] == 4 * kMB);
  CHECK(total[0]["hosts"] == 1);
}
