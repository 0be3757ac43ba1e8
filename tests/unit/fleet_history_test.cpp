#include <doctest/doctest.h>

#include "core/base64.hpp"

#include "snapshots/fleet_history.hpp"
#include "snapshots/host_state.hpp"
#include "snapshots/ledger.hpp"
#include "support/scratch_dir.hpp"

namespace flotilla {
namespace {

Snapshot change(long id, const std::string& kind, const std::string& outcome,
                std::map<std::string, HostRecord> hosts, std::optional<long> restores = {}) {
  Snapshot s;
  s.id = id;
  s.environment = "prod";
  s.unit = "game";
  s.kind = *parse_change_kind(kind);
  s.outcome = outcome;
  s.hosts = std::move(hosts);
  s.restores = restores;
  if (kind != "rollback" && !s.hosts.empty()) s.artifact = s.hosts.begin()->second.after;
  return s;
}

HostRecord moved(const std::string& from, const std::string& to) {
  return {from, to, "", "", "updated"};
}

}  // namespace

TEST_CASE("rollback goes to the newest good snapshot before where the fleet stands") {
  std::vector<Snapshot> h = {change(1, "deploy", "succeeded", {{"a", moved("", "v1")}}),
                             change(2, "deploy", "succeeded", {{"a", moved("v1", "v2")}})};
  CHECK((*rollback_target(h, std::nullopt))->id == 1);

  // A failed deploy is never a target: after it, back to the last good one.
  h.push_back(change(3, "deploy", "failed", {{"a", {"v2", "", "", "", "failed"}}}));
  CHECK((*rollback_target(h, std::nullopt))->id == 2);
  CHECK(rollback_target(h, 3).error().kind == ErrorKind::kBadInput);
  CHECK(rollback_target(h, 99).error().kind == ErrorKind::kBadInput);

  // A rollback stands where it returned to: the next one goes further back.
  h.push_back(change(4, "rollback", "succeeded", {{"a", moved("v2", "v1")}}, 1));
  CHECK(rollback_target(h, std::nullopt).error().kind == ErrorKind::kBadInput);
  h.push_back(change(5, "deploy", "succeeded", {{"a", moved("v1", "v3")}}));
  CHECK((*rollback_target(h, std::nullopt))->id == 4);
}

TEST_CASE("a rollback looks past restores: they bring data back, not releases") {
  std::vector<Snapshot> h = {change(1, "deploy", "succeeded", {{"a", moved("", "v1")}}),
                             change(2, "deploy", "succeeded", {{"a", moved("v1", "v2")}}),
                             change(3, "restore", "succeeded", {{"a", moved("v2", "v2")}}, 2)};
  CHECK((*rollback_target(h, std::nullopt))->id == 1);
  h.push_back(change(4, "restore", "succeeded", {{"a", moved("v2", "v2")}}, 1));
  CHECK((*rollback_target(h, std::nullopt))->id == 1);
}

TEST_CASE("fleet_at keeps hosts a change did not touch, and skips unknown endings") {
  std::vector<Snapshot> h = {
      change(1, "deploy", "succeeded", {{"a", moved("", "v1")}, {"b", moved("", "v1")}}),
      change(2, "hotfix", "succeeded", {{"a", moved("v1", "v2")}}),
      change(3, "deploy", "failed", {{"b", {"v1", "", "", "", "failed"}}})};
  auto at2 = fleet_at(h, 2);
  CHECK(at2["a"].release == "v2");
  CHECK(at2["b"].release == "v1");
  CHECK(at2["b"].snapshot == 1);
  auto at3 = fleet_at(h, 3);
  CHECK(at3["b"].release == "v1");  // its failed step says nothing about where it is
  CHECK(fleet_at(h, 1)["a"].release == "v1");
}

TEST_CASE("retention keeps the current, the previous and the newest good releases") {
  std::vector<Snapshot> h;
  h.push_back(change(1, "deploy", "succeeded", {{"a", moved("", "v1")}}));
  h.push_back(change(2, "deploy", "succeeded", {{"a", moved("v1", "v2")}}));
  h.push_back(change(3, "deploy", "succeeded", {{"a", moved("v2", "v3")}}));
  // Failed deploys do not push good releases out.
  h.push_back(change(4, "deploy", "failed", {{"a", {"v3", "v3", "", "", "rolled back"}}}));
  h.push_back(change(5, "deploy", "failed", {{"a", {"v3", "v3", "", "", "rolled back"}}}));
  CHECK(releases_to_keep(h, "a", "v3", 2) == std::vector<std::string>{"v3", "v2"});
  CHECK(releases_to_keep(h, "a", "v3", 3) == std::vector<std::string>{"v3", "v2", "v1"});
  // After a rollback to v1, v3 (what it ran just before) stays too.
  h.push_back(change(6, "rollback", "succeeded", {{"a", moved("v3", "v1")}}, 1));
  CHECK(releases_to_keep(h, "a", "v1", 1) == std::vector<std::string>{"v1", "v3"});
}

TEST_CASE("the ledger folds in the hosts' copies: new records, missing hosts, finished outcomes") {
  ScratchDir dir;
  Ledger ledger(dir.path.string(), "prod");
  Snapshot mine = change(1, "deploy", "running", {{"a", {"", "v1", "", "", "running"}}});
  REQUIRE(ledger.save(mine));

  // Host a's copy says how #1 ended; host b's copies add b to #1, and #2.
  std::vector<Snapshot> copies = {change(1, "deploy", "succeeded", {{"a", moved("", "v1")}}),
                                  change(1, "deploy", "succeeded", {{"b", moved("", "v1")}}),
                                  change(2, "hotfix", "succeeded", {{"b", moved("v1", "v2")}})};
  auto merged = ledger.merge(copies);
  REQUIRE(merged);
  REQUIRE(merged->size() == 2);
  CHECK((*merged)[0].outcome == "succeeded");
  CHECK((*merged)[0].hosts.at("a").outcome == "updated");
  CHECK((*merged)[0].hosts.at("b").after == "v1");
  CHECK((*merged)[1].kind == ChangeKind::kHotfix);
  // ... and it was written: a fresh read sees the same.
  auto again = ledger.list();
  REQUIRE(again);
  CHECK(again->size() == 2);
  CHECK((*again)[0].hosts.size() == 2);
  CHECK(ledger.list("other-unit")->empty());
}

TEST_CASE(
    "a change this controller never finished is settled only once every host it changed says") {
  ScratchDir dir;
  Ledger ledger(dir.path.string(), "prod");
  // Killed mid-change: a and b had been told to move, c was not changing.
  REQUIRE(ledger.save(change(1, "deploy", "running",
                             {{"a", {"", "v1", "", "", "running"}},
                              {"b", {"", "v1", "", "", "running"}},
                              {"c", {"v0", "v0", "", "", "unchanged"}}})));
  // Only a got as far as recording itself (its activation's line).
  auto merged = ledger.merge({change(1, "deploy", "succeeded", {{"a", moved("", "v1")}})});
  REQUIRE(merged);
  CHECK((*merged)[0].outcome == "running");
  CHECK((*merged)[0].hosts.at("a").outcome == "updated");
  // b's copy arrives later: now every changing host has said the same.
  merged = ledger.merge({change(1, "deploy", "succeeded", {{"b", moved("", "v1")}})});
  REQUIRE(merged);
  CHECK((*merged)[0].outcome == "succeeded");
}

TEST_CASE("a survey: a later history line for a snapshot stands over an earlier one") {
  HostLayout layout{"/srv/game"};
  std::string history =
      "{\"id\": 7, \"environment\": \"prod\", \"unit\": \"game\", \"kind\": \"deploy\", "
      "\"outcome\": \"succeeded\"}\n"
      "{\"id\": 6, \"environment\": \"prod\", \"unit\": \"game\", \"kind\": \"deploy\", "
      "\"outcome\": \"succeeded\"}\n"
      "{\"id\": 7, \"environment\": \"prod\", \"unit\": \"game\", \"kind\": \"deploy\", "
      "\"outcome\": \"failed\"}\n";
  std::string answer;
  for (const auto& [name, text] :
       std::vector<std::pair<std::string, std::string>>{{"state", ""},
                                                        {"status", "current \nconfig \n"},
                                                        {"releases", ""},
                                                        {"configs", ""},
                                                        {"history", history},
                                                        {"missing", ""}}) {
    answer += name + " " + base64_encode(text) + "\n";
  }
  auto survey = parse_survey(answer, layout);
  REQUIRE(survey);
  REQUIRE(survey->state.history.size() == 2);
  CHECK(survey->state.history[0].id == 6);
  CHECK(survey->state.history[1].id == 7);
  CHECK(survey->state.history[1].outcome == "failed");
}

TEST_CASE("a survey answer is read section by section") {
  HostLayout layout{"/srv/game"};
  // As survey.sh frames it: one "NAME BASE64" line per section.
  std::string answer;
  for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
           {"state", "{\"current\": {\"release\": \"r2\", \"config\": \"c1\", \"snapshot\": 7}}\n"},
           {"status", "stopped\ncurrent releases/r2\nconfig ../.flotilla/configs/c1\n"},
           {"releases", "r1\nr2\n.r3.partial.12\n"},
           {"configs", "c1\n"},
           {"history",
            "{\"id\": 7, \"environment\": \"prod\", \"unit\": \"game\", \"kind\": \"deploy\", "
            "\"outcome\": \"succeeded\"}\n{\"id\": 8, \"environ\n"},
           {"missing", "abc\n"}}) {
    answer += name + " " + base64_encode(text) + "\n";
  }
  auto survey = parse_survey(answer, layout);
  REQUIRE(survey);
  CHECK(survey->state.release == "r2");
  CHECK(survey->state.config == "c1");
  CHECK(survey->state.snapshot == 7);
  CHECK(survey->state.stopped);
  CHECK(survey->state.current_link == "releases/r2");
  CHECK(survey->state.releases == std::set<std::string>{"r1", "r2"});
  CHECK(survey->state.history.size() == 1);  // the torn last line is skipped
  CHECK(survey->missing == std::vector<std::string>{"abc"});
  CHECK(!parse_survey("garbage", layout));
}

}  // namespace flotilla
