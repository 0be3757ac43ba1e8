#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "core/reporter.hpp"
#include "playbooks/rollout_view.hpp"
#include "unit/captured_stream.hpp"

using namespace flotilla;

namespace {

std::vector<std::string> phases_in(const std::string& json_lines) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < json_lines.size()) {
    std::size_t end = json_lines.find('\n', start);
    auto event = nlohmann::json::parse(json_lines.substr(start, end - start));
    if (event["event"] == "host_phase")
      out.push_back(event["host"].get<std::string>() + " " + event["phase"].get<std::string>());
    start = end + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("phase lines become one event per new phase, however the output is split") {
  CapturedStream out, err;
  Reporter reporter({.json = true}, out.stream, err.stream);
  {
    RolloutView view(reporter);
    view.start_batch("batch 1/1", {"h01", "h02"});
    view.output("h01", "@flotilla:phase drain");
    view.output("h01", "ing\nhook said hello\n@flotilla:phase health check 1/21\n");
    view.output("h02", "@flotilla:phase stopping\n");
    view.output("h01", "@flotilla:phase health check 2/21\n@flotilla:phase recording\n");
    view.output("h03", "@flotilla:phase draining\n");  // not in this batch: ignored
    view.finish_host("h01", true);
    view.end_batch();
  }
  CHECK(phases_in(out.text()) == std::vector<std::string>{"h01 draining", "h01 health check",
                                                          "h02 stopping", "h01 recording"});
}

TEST_CASE("without a terminal the view draws nothing in text mode") {
  CapturedStream out, err;
  Reporter reporter({.live = false}, out.stream, err.stream);
  RolloutView view(reporter);
  view.start_batch("batch 1/1", {"h01"});
  view.output("h01", "@flotilla:phase draining\n");
  view.end_batch();
  CHECK(out.text().empty());
}

TEST_CASE("a host waiting for players: count and time left as events, never more than a number") {
  CapturedStream out, err;
  Reporter reporter({.json = true}, out.stream, err.stream);
  {
    RolloutView view(reporter);
    view.start_batch("batch 1/1", {"gs3"});
    view.output("gs3", "@flotilla:phase waiting for players\n@flotilla:players 2 65\n");
    view.output("gs3", "@flotilla:players 2 64\n@flotilla:notice 60\n");
    view.output("gs3", "@flotilla:players \x1b[2Jlots 30\n@flotilla:players 0 12\n");
    view.end_batch();
  }
  std::vector<nlohmann::json> players, notices;
  std::string text = out.text();
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = text.find('\n', start);
    auto event = nlohmann::json::parse(text.substr(start, end - start));
    if (event["event"] == "host_players") players.push_back(event);
    if (event["event"] == "host_notice") notices.push_back(event);
    start = end + 1;
  }
  REQUIRE(players.size() == 3);  // on each change of the count
  CHECK(players[0]["players"] == 2);
  CHECK(players[0]["seconds_left"] == 65);
  CHECK(players[1]["players"].is_null());  // unreadable: shown as "?"
  CHECK(players[2]["players"] == 0);
  REQUIRE(notices.size() == 1);
  CHECK(notices[0]["minutes"] == 1);
}

TEST_CASE("a host that writes without end and without a newline costs a bounded line") {
  CapturedStream out, err;
  Reporter reporter({.json = true}, out.stream, err.stream);
  {
    RolloutView view(reporter);
    view.start_batch("batch 1/1", {"h01"});
    view.output("h01", "@flotilla:phase draining\n");
    const std::string flood(64 * 1024, 'x');
    // 64 MiB without a newline: quadratic scanning made this minutes of CPU.
    for (int i = 0; i < 1024; ++i) {
      view.output("h01", flood);
      REQUIRE(view.buffered("h01") <= RolloutView::kMaxLine);
    }
    view.output("h01", "still the flood\n@flotilla:phase stopping\n");
    view.finish_host("h01", true);
    view.end_batch();
  }
  CHECK(phases_in(out.text()) == std::vector<std::string>{"h01 draining", "h01 stopping"});
}
