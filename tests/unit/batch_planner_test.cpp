#include "playbooks/batch_planner.hpp"

#include <doctest/doctest.h>

#include <map>
#include <set>

using namespace flotilla;

namespace {

// 16 hosts in 8 pairs: (h01,h02), (h03,h04), ...
std::vector<PlannedHost> paired_fleet(int n) {
  std::vector<PlannedHost> hosts;
  for (int i = 1; i <= n; ++i) {
    hosts.push_back({"h" + std::string(i < 10 ? "0" : "") + std::to_string(i),
                     "p" + std::to_string((i + 1) / 2)});
  }
  return hosts;
}

std::map<std::string, std::string> pair_of(const std::vector<PlannedHost>& hosts) {
  std::map<std::string, std::string> out;
  for (const auto& h : hosts) out[h.name] = h.pair.value_or("");
  return out;
}

}  // namespace

TEST_CASE("canary first, then batches by percentage; everyone exactly once") {
  auto hosts = paired_fleet(16);
  RolloutPolicy policy;
  policy.canary = 1;
  policy.batch = {HostCount{25, true}};
  policy.max_unavailable = HostCount{25, true};
  auto batches = plan_batches(hosts, policy);
  REQUIRE(batches.size() >= 5);
  CHECK(batches[0].canary);
  CHECK(batches[0].hosts == std::vector<std::string>{"h01"});
  std::multiset<std::string> seen;
  auto pairs = pair_of(hosts);
  for (const auto& b : batches) {
    CHECK(b.hosts.size() <= 4);  // 25% of 16
    std::set<std::string> down;
    for (const auto& h : b.hosts) {
      seen.insert(h);
      CHECK_MESSAGE(down.insert(pairs[h]).second, "two members of a pair in one batch");
    }
  }
  CHECK(seen.size() == 16);
  CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 16);
}

TEST_CASE("ramp list, max_unavailable caps every batch") {
  std::vector<PlannedHost> hosts;
  for (int i = 0; i < 20; ++i) hosts.push_back({"s" + std::to_string(i), std::nullopt});
  RolloutPolicy policy;
  policy.canary = 0;
  policy.batch = {HostCount{1, false}, HostCount{10, true}, HostCount{50, true}};
  policy.max_unavailable = HostCount{6, false};
  auto batches = plan_batches(hosts, policy);
  std::vector<std::size_t> sizes;
  for (const auto& b : batches) sizes.push_back(b.hosts.size());
  CHECK(sizes == std::vector<std::size_t>{1, 2, 6, 6, 5});
}

TEST_CASE("a pair never shares a batch even when the batch could hold both") {
  std::vector<PlannedHost> hosts = {{"a1", "A"}, {"a2", "A"}, {"b1", "B"}, {"b2", "B"}};
  RolloutPolicy policy;
  policy.canary = 0;
  policy.batch = {HostCount{100, true}};
  policy.max_unavailable = HostCount{100, true};
  auto batches = plan_batches(hosts, policy);
  REQUIRE(batches.size() == 2);
  CHECK(batches[0].hosts == std::vector<std::string>{"a1", "b1"});
  CHECK(batches[1].hosts == std::vector<std::string>{"a2", "b2"});
}

TEST_CASE("pair_max_down lets a larger redundancy group lose a share at once") {
  // Four servers behind one switch (group A), two in group B.
  std::vector<PlannedHost> hosts = {{"a1", "A"}, {"a2", "A"}, {"a3", "A"},
                                    {"a4", "A"}, {"b1", "B"}, {"b2", "B"}};
  RolloutPolicy policy;
  policy.canary = 0;
  policy.batch = {HostCount{100, true}};
  policy.max_unavailable = HostCount{100, true};
  policy.pair_max_down = HostCount{50, true};
  auto batches = plan_batches(hosts, policy);
  REQUIRE(batches.size() == 2);
  CHECK(batches[0].hosts == std::vector<std::string>{"a1", "a2", "b1"});
  CHECK(batches[1].hosts == std::vector<std::string>{"a3", "a4", "b2"});
  policy.pair_max_down = HostCount{3, false};
  CHECK(plan_batches(hosts, policy)[0].hosts ==
        std::vector<std::string>{"a1", "a2", "a3", "b1", "b2"});
}

TEST_CASE("payment defaults: one host at a time; empty input: no batches") {
  RolloutPolicy policy;
  policy.canary = 1;
  policy.batch = {HostCount{1, false}};
  policy.max_unavailable = HostCount{1, false};
  auto batches = plan_batches(paired_fleet(4), policy);
  CHECK(batches.size() == 4);
  CHECK(plan_batches({}, policy).empty());
  CHECK(resolve_count(HostCount{25, true}, 3) == 1);
  CHECK(resolve_count(HostCount{34, true}, 3) == 2);
  CHECK(resolve_count(HostCount{0, true}, 10) == 1);
}
