// What a HAProxy says through balancer.sh, read as values; the weights that
// give a canary its share of traffic.
#include "playbooks/haproxy_answer.hpp"

#include <doctest/doctest.h>

using namespace flotilla;

namespace {

// Captured from HAProxy 2.6.12 (balancer.sh show), columns cut after check_status.
const char* kShow =
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,"
    "wredis,status,weight,act,bck\n"
    "game_http,h01,0,0,3,5,,40,0,0,,0,,0,0,0,0,UP,1,1,0\n"
    "game_http,h02,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0\n"
    "game_http,h03,0,0,1,1,,2,0,0,,0,,0,0,0,0,DRAIN 1/3,0,1,0\n"
    "game_http,h04,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP 1/3,3,1,0\n"
    "\n--\n1\n"
    "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
    "srv_iweight srv_time_since_last_change\n"
    "3 game_http 1 h01 127.0.73.1 2 0 1 1 5\n"
    "3 game_http 2 h02 127.0.73.2 2 1 1 1 5\n"
    "3 game_http 3 h03 127.0.73.3 2 8 1 1 5\n"
    "3 game_http 4 h04 127.0.73.4 2 0 3 3 5\n\n";

HaproxyServer server(const std::string& name, const std::string& status, long weight) {
  return {name, status, 0, weight, weight};
}

}  // namespace

TEST_CASE("haproxy: show is read by column name, weights joined by server") {
  auto servers = parse_haproxy_show(kShow);
  REQUIRE(servers);
  REQUIRE(servers->size() == 4);
  CHECK((*servers)[0].name == "h01");
  CHECK((*servers)[0].sessions == 3);
  CHECK((*servers)[2].status == "DRAIN 1/3");
  CHECK((*servers)[3].weight == 3);
  CHECK((*servers)[3].initial_weight == 3);
  CHECK(rotation_word((*servers)[0].status) == "UP");
  CHECK(rotation_word((*servers)[2].status) == "DRAIN");
  CHECK(rotation_word((*servers)[3].status) == "UP");
  CHECK(rotation_word("no check") == "UP");
  CHECK(rotation_word("MAINT (via game_http/h01)") == "MAINT");
}

TEST_CASE("haproxy: a malformed answer is an error, never a guess") {
  CHECK_FALSE(parse_haproxy_show(""));
  CHECK_FALSE(parse_haproxy_show("No such proxy.\n"));
  std::string bad_count = kShow;
  bad_count.replace(bad_count.find(",3,5,"), 5, ",-3,5,");
  CHECK_FALSE(parse_haproxy_show(bad_count));
  std::string no_state = std::string(kShow).substr(0, std::string(kShow).find("\n--\n") + 4);
  CHECK_FALSE(parse_haproxy_show(no_state));
}

TEST_CASE(
    "haproxy: a canary's weight gives it the share asked, the others keep their proportions") {
  std::vector<HaproxyServer> four = {server("h1", "MAINT", 1), server("h2", "UP", 1),
                                     server("h3", "UP", 1), server("h4", "UP", 1)};
  for (double percent : {1.0, 5.0, 10.0, 25.0, 50.0, 90.0}) {
    auto weights = canary_weights(four, {"h1"}, percent);
    CAPTURE(percent);
    REQUIRE(weights.contains("h1"));
    CHECK(std::abs(canary_share(four, {"h1"}, weights) - percent) < 0.5);
    for (const auto& [name, w] : weights) CHECK((w >= 1 && w <= 256));
    if (weights.contains("h2")) CHECK(weights["h2"] == weights["h3"]);
  }
  // Weighted servers keep their ratio; out-of-rotation ones are neither counted nor changed.
  std::vector<HaproxyServer> mixed = {server("c", "MAINT", 2), server("a", "UP", 1),
                                      server("b", "UP 1/3", 3), server("d", "DOWN", 1)};
  auto weights = canary_weights(mixed, {"c"}, 10);
  CHECK(std::abs(canary_share(mixed, {"c"}, weights) - 10) < 0.5);
  CHECK_FALSE(weights.contains("d"));
  if (weights.contains("a")) CHECK(weights["b"] == 3 * weights["a"]);
  // Nobody else takes traffic: no weights to give.
  CHECK(canary_weights({server("c", "MAINT", 1), server("d", "DOWN", 1)}, {"c"}, 10).empty());
}
