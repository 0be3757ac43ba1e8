// balancer.sh under /bin/sh, through HaproxySwitch, against a stand-in for
// HAProxy's runtime API: a `socat` on PATH that answers from a state file
// the way HAProxy 2.6 does (the real one runs in test_balancer). Sessions
// end one per `show stat`; a server named in `stuck` never comes UP.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "playbooks/haproxy_switch.hpp"
#include "support/fake_transport.hpp"
#include "support/local_shell.hpp"
#include "support/recording_observer.hpp"
#include "support/scratch_dir.hpp"

namespace flotilla {
namespace {

const char* kFakeSocat = R"(#!/bin/sh
IFS= read -r line
printf '%s\n' "$line" >> "$FAKE_HAPROXY/log"
st=$FAKE_HAPROXY/servers
rewrite() { awk "$@" "$st" > "$st.new" && mv "$st.new" "$st"; }
case $line in
  "show stat game_http 4 -1")
    echo "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight"
    while read -r n s c w i; do echo "game_http,$n,0,0,$c,0,,0,0,0,,0,,0,0,0,0,$(echo "$s" | tr _ ' '),$w"; done < "$st"
    rewrite '{ if ($3 > 0) $3 = $3 - 1; print }' ;;
  "show servers state game_http")
    echo 1
    echo "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight"
    while read -r n s c w i; do echo "3 game_http 1 $n 127.0.0.1 2 0 $w $i"; done < "$st" ;;
  "set server game_http/"*" state "*)
    name=${line#set server game_http/}; name=${name%% *}
    grep -q "^$name " "$st" || { echo "No such server."; exit 0; }
    case ${line##* } in ready) word=UP ;; drain) word=DRAIN ;; maint) word=MAINT ;; esac
    grep -qx "$name" "$FAKE_HAPROXY/stuck" 2>/dev/null && [ "$word" = UP ] && word=DOWN
    rewrite -v n="$name" -v w="$word" '$1 == n { $2 = w } { print }' ;;
  "set weight game_http/"*)
    name=${line#set weight game_http/}; name=${name%% *}
    rewrite -v n="$name" -v w="${line##* }" '$1 == n { $4 = w } { print }' ;;
  *) echo "Unknown command." ;;
esac
)";

// One balancer host, lb1: this machine's /bin/sh with the fake socat first on PATH.
struct FakeBalancer {
  FakeBalancer() {
    dir.write("bin/socat", kFakeSocat);
    std::filesystem::permissions(dir.path / "bin/socat", std::filesystem::perms::owner_all);
    dir.write("servers", "h1 UP 3 1 1\nh2 UP 0 1 1\nh3 UP 0 1 1\nh4 UP 0 1 1\n");
    // balancer.sh wants a socket there, as HAProxy's would be.
    socket_path = (dir.path / "admin.sock").string();
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    socket_path.copy(address.sun_path, sizeof address.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    ::close(fd);
    auto transport = std::make_unique<FakeTransport>();
    fake = transport.get();
    std::string path = (dir.path / "bin").string() + ":" + std::getenv("PATH");
    std::string state = dir.path.string();
    transport->respond([path, state](std::size_t, const RemoteCommand& command) {
      return Result<CommandResult>(
          test::run_on_local_shell(command, {{"PATH", path}, {"FAKE_HAPROXY", state}}));
    });
    BalancerSpec spec;
    spec.hosts = "lb";
    spec.socket = socket_path;
    spec.backend = "game_http";
    spec.drain = std::chrono::seconds(5);
    std::map<std::string, std::string> servers;
    for (const char* h : {"h1", "h2", "h3", "h4"}) servers[h] = h;
    balancer =
        std::make_unique<HaproxySwitch>(spec, std::vector<std::string>{"lb1"}, std::move(transport),
                                        servers, std::chrono::seconds(1));
  }
  std::string read(const char* name) const {
    std::ifstream in(dir.path / name);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  std::vector<std::string> sent() const {
    std::vector<std::string> lines;
    std::istringstream in(read("log"));
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("show ", 0) != 0) lines.push_back(line);
    }
    return lines;
  }

  ScratchDir dir;
  std::string socket_path;
  FakeTransport* fake = nullptr;
  std::unique_ptr<HaproxySwitch> balancer;
};

// Records the balancer steps the switch reports.
struct StepObserver final : RolloutObserver {
  void balancer(const BalancerStep& step) override {
    steps.push_back(fmt::format("{} {} {}{}", step.host, step.action,
                                step.sessions >= 0 ? std::to_string(step.sessions) : "",
                                step.status));
  }
  std::vector<std::string> steps;
};

}  // namespace

TEST_CASE(
    "balancer.sh: take out drains until the sessions end, then maint; put back waits for UP") {
  FakeBalancer lb;
  StepObserver observer;
  CHECK(lb.balancer->take_out({"h1", "h2"}, observer).empty());
  CHECK(lb.sent() == std::vector<std::string>{"set server game_http/h1 state drain",
                                              "set server game_http/h2 state drain",
                                              "set server game_http/h1 state maint",
                                              "set server game_http/h2 state maint"});
  // h1's three sessions end one by one; each count is said as it changes.
  CHECK(observer.steps == std::vector<std::string>{"h1 drain 3", "h2 drain 0", "h1 drain 2",
                                                   "h1 drain 1", "h1 drain 0", "h1 maint ",
                                                   "h2 maint "});
  CHECK(lb.read("servers").find("h1 MAINT 0") != std::string::npos);
  observer.steps.clear();
  CHECK(lb.balancer->put_back({"h1", "h2"}, observer).empty());
  CHECK(lb.read("servers").find("h1 UP") != std::string::npos);
  CHECK(observer.steps == std::vector<std::string>{"h1 ready UP", "h2 ready UP"});
}

TEST_CASE("balancer.sh: a server that never comes UP fails by name; an unknown one is refused") {
  FakeBalancer lb;
  StepObserver observer;
  lb.dir.write("stuck", "h2\n");
  auto failures = lb.balancer->put_back({"h1", "h2"}, observer);
  CHECK(failures.size() == 1);
  CHECK(failures["h2"] == "not UP on balancer lb1 (DOWN)");
  auto checked = lb.balancer->check({"h1", "h4"});
  REQUIRE(checked);
  CHECK(checked->empty());
  lb.dir.write("servers", "h1 MAINT 0 1 1\nh2 UP 0 1 1\n");
  checked = lb.balancer->check({"h1", "h2", "h3"});
  REQUIRE_FALSE(checked);
  CHECK(checked.error().message == "balancer lb1: backend game_http has no server for h3");
  checked = lb.balancer->check({"h1", "h2"});
  REQUIRE(checked);
  CHECK((*checked)["h1"] == "MAINT on lb1");
}

TEST_CASE("balancer.sh: the canary's weights are set, then restored as they were") {
  FakeBalancer lb;
  StepObserver observer;
  REQUIRE(lb.balancer->weigh_canaries({"h1"}, 10, observer));
  // (the read of show stat ended one of h1's sessions: the stand-in's clock)
  CHECK(lb.read("servers") == "h1 UP 2 1 1\nh2 UP 0 3 1\nh3 UP 0 3 1\nh4 UP 0 3 1\n");
  REQUIRE(lb.balancer->restore_weights(observer));
  CHECK(lb.read("servers") == "h1 UP 2 1 1\nh2 UP 0 1 1\nh3 UP 0 1 1\nh4 UP 0 1 1\n");
}

TEST_CASE("balancer.sh: a name that could end a runtime API line never reaches the socket") {
  FakeBalancer lb;
  for (std::string hostile : {"h1;shutdown sessions server game_http/h2", "h1 h2", "h1\nh2", ""}) {
    auto r = test::run_on_local_shell(
        balancer_command(BalancerSpec{"haproxy", "lb", lb.socket_path, "game_http", "", {}, {}},
                         "state", {"maint", hostile}, std::chrono::seconds(5)));
    CHECK(r.exit_status == 64);
  }
  auto r = test::run_on_local_shell(
      balancer_command(BalancerSpec{"haproxy", "lb", lb.socket_path, "game;b", "", {}, {}}, "show",
                       {}, std::chrono::seconds(5)));
  CHECK(r.exit_status == 64);
  CHECK(lb.read("log").empty());
  // And the C++ never builds one from an inventory value.
  BalancerSpec spec;
  spec.server = "web-{{host}}";
  CHECK_FALSE(balancer_servers(spec, {{"h1;x", {{"host", "h1;x"}}}}));
  auto named = balancer_servers(spec, {{"h1", {{"host", "h1"}}}});
  REQUIRE(named);
  CHECK((*named)["h1"] == "web-h1");
}

}  // namespace flotilla
