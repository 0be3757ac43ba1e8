// `flotilla doctor`: doctor.sh under /bin/sh against a scratch directory,
// and how its answers (and failed round trips) become problems with fixes.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>

#include "playbooks/fleet_doctor.hpp"
#include "playbooks/host_commands.hpp"
#include "support/local_shell.hpp"
#include "support/scratch_dir.hpp"

namespace flotilla {
namespace {

namespace fs = std::filesystem;
using test::run_on_local_shell;

DoctorQuestion question(std::vector<std::string> dirs, bool lock_host = false) {
  DoctorQuestion q;
  q.host = "h01";
  q.lock_host = lock_host;
  q.tools = {"sh", "hash", "curl"};
  for (const auto& d : dirs) {
    q.dirs.push_back(d);
    q.units_of_dir.push_back("game");
  }
  q.curl_because = {"game's health check"};
  return q;
}

std::vector<std::string> checks_of(const DoctorFindings& f) {
  std::vector<std::string> checks;
  for (const auto& p : f.problems) checks.push_back(p.check);
  return checks;
}

constexpr RoundTripTimes kNow{.before = 1'700'000'000, .after = 1'700'000'002};

CommandResult answered(std::string out) {
  CommandResult r;
  r.exit_status = 0;
  r.out = std::move(out);
  return r;
}

}  // namespace

TEST_CASE("doctor.sh under /bin/sh: tools, a writable deploy_to and one yet to be made, the lock") {
  ScratchDir dir;
  dir.write("srv/game/current/VERSION", "v1\n");
  dir.write("home/.keep", "");
  std::string game = (dir.path / "srv/game").string();
  std::string fresh = (dir.path / "srv/new/app").string();
  auto out =
      run_on_local_shell(doctor_command(true, {"sh", "hash", "no-such-tool-here"}, {game, fresh}),
                         {{"HOME", (dir.path / "home").string()}});
  REQUIRE(out.exit_status == 0);
  CHECK(out.out.find("tool sh ok\n") != std::string::npos);
  CHECK(out.out.find("tool hash ok\n") != std::string::npos);
  CHECK(out.out.find("tool no-such-tool-here missing\n") != std::string::npos);
  CHECK(out.out.find("dir 0 ok ") != std::string::npos);
  CHECK(out.out.find("dir 1 ok ") != std::string::npos);
  CHECK(out.out.find("lock ok\n") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path / "srv/new"));  // asked about, never made
  // Nothing is left behind by the write probes.
  for (const auto& entry : fs::recursive_directory_iterator(dir.path))
    CHECK(entry.path().filename().string().find("flotilla-doctor") == std::string::npos);

  DoctorQuestion q;
  q.host = "h01";
  q.lock_host = true;
  q.tools = {"sh", "hash", "no-such-tool-here"};
  q.dirs = {game, fresh};
  q.units_of_dir = {"game", "app"};
  auto findings = judge_doctor_answer(
      q, out, {.before = std::time(nullptr) - 1, .after = std::time(nullptr) + 1});
  CHECK(findings.reachable);
  CHECK(findings.clock_skew == 0);
  REQUIRE(checks_of(findings) == std::vector<std::string>{"tool"});
  CHECK(findings.problems[0].problem.find("no-such-tool-here is missing") == 0);
}

TEST_CASE("doctor.sh: a file where deploy_to should be") {
  ScratchDir dir;
  dir.write("srv/game", "not a directory\n");
  auto out = run_on_local_shell(doctor_command(false, {}, {(dir.path / "srv/game").string()}));
  CHECK(out.out.find("dir 0 not-a-directory ") != std::string::npos);
}

TEST_CASE("doctor: every finding becomes a problem with a fix") {
  auto q = question({"/srv/game", "/srv/full"}, true);
  std::string out =
      "time 1700000001.5\n"
      "tool sh ok\ntool hash missing\ntool curl missing\n"
      "dir 0 not-writable 900000 0\n"
      "dir 1 ok 10 40000\n"
      "lock not-writable\n";
  auto f = judge_doctor_answer(q, answered(out), kNow);
  CHECK(checks_of(f) == std::vector<std::string>{"tool", "tool", "deploy_to", "disk", "lock"});
  CHECK(f.problems[0].problem.find("sha256sum (or openssl) is missing") == 0);
  CHECK(f.problems[1].problem.find("curl is missing (game's health check uses it)") == 0);
  CHECK(f.problems[1].fix == "install it: apt-get install curl");
  CHECK(f.problems[2].problem.find("/srv/game (deploy_to of game) cannot be written") == 0);
  // Twice the current release (2 x 40000 KB) is more than the 64 MiB floor.
  CHECK(f.problems[3].problem == "/srv/full has 0 MiB free; a deploy of game needs about 78 MiB");
}

TEST_CASE("doctor: a release twice its size needs room; a clock off by more than 5s") {
  auto q = question({"/srv/game"});
  auto f = judge_doctor_answer(q, answered("time 1700000100\ndir 0 ok 300000 200000\n"), kNow);
  REQUIRE(checks_of(f) == std::vector<std::string>{"clock", "disk"});
  CHECK(f.clock_skew == 98);
  CHECK(f.problems[0].problem == "its clock is 98s ahead of this controller's");
  CHECK(f.problems[1].problem.find("needs about 390 MiB") != std::string::npos);
  // Inside the round trip's window (and its tolerance), a clock is fine.
  // The newest artifact built for the unit counts when it is larger than what runs.
  q.artifact_kb = {500000};
  auto bigger = judge_doctor_answer(q, answered("time 1700000001\ndir 0 ok 900000 1000\n"), kNow);
  REQUIRE(checks_of(bigger) == std::vector<std::string>{"disk"});
  CHECK(bigger.problems[0].problem.find("needs about 976 MiB") != std::string::npos);
  q.artifact_kb = {};
  auto on_time = judge_doctor_answer(q, answered("time 1699999996\ndir 0 ok 900000 0\n"), kNow);
  CHECK(on_time.problems.empty());
  CHECK(on_time.clock_skew == -4);
}

TEST_CASE("doctor: a host's words are values, never names; a short answer is a problem") {
  auto q = question({"/srv/game"});
  auto f = judge_doctor_answer(
      q, answered("time 1700000001\ntool rm-rf missing\ndir 7 ok 1 1\ndir 0 ok x 1\n"), kNow);
  // A tool not asked about, a directory index out of range, a size not a number.
  CHECK(checks_of(f) == std::vector<std::string>{"answer", "answer", "answer", "answer"});
  CHECK(f.problems.back().problem == "its answer stopped short");
  // Numbers that would overflow the arithmetic are not numbers.
  auto huge = judge_doctor_answer(
      q, answered("time -9223372036854775808\ndir 0 ok 1 9223372036854775807\n"), kNow);
  CHECK(checks_of(huge) == std::vector<std::string>{"answer", "answer", "answer"});
  auto silent = judge_doctor_answer(q, answered(""), kNow);
  CHECK(checks_of(silent) == std::vector<std::string>{"answer"});
}

TEST_CASE("doctor: an unreachable host or an unknown key is one problem with its fix") {
  auto q = question({"/srv/game"});
  Result<CommandResult> refused = fail(
      ErrorKind::kUnreachable,
      "unknown host key for [127.0.0.1]:2222 (SHA256:x): not in known_hosts; verify it and add it");
  auto f = judge_doctor_answer(q, refused, kNow);
  CHECK_FALSE(f.reachable);
  REQUIRE(checks_of(f) == std::vector<std::string>{"reach"});
  CHECK(f.problems[0].fix.find("ssh-keyscan") != std::string::npos);
  CommandResult broken;
  broken.exit_status = 2;
  broken.err = "sh: 1: Syntax error\nmore\n";
  auto g = judge_doctor_answer(q, broken, kNow);
  REQUIRE(checks_of(g) == std::vector<std::string>{"answer"});
  CHECK(g.problems[0].problem == "the doctor's script failed (exit 2): sh: 1: Syntax error");
}

TEST_CASE("doctor.sh: a balancer's runtime API socket, missing, not a socket, or there") {
  ScratchDir dir;
  dir.write("not-a-socket", "");
  std::string there = (dir.path / "admin.sock").string();
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  there.copy(address.sun_path, sizeof address.sun_path - 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  ::close(fd);
  DoctorQuestion q;
  q.host = "lb1";
  q.tools = {"sh", "date"};
  q.sockets = {(dir.path / "missing.sock").string(), (dir.path / "not-a-socket").string(), there};
  q.units_of_socket = {"game", "game", "payment"};
  auto out = run_on_local_shell(doctor_command(false, q.tools, {}, q.sockets));
  REQUIRE(out.exit_status == 0);
  CHECK(out.out.find("socket 0 missing\n") != std::string::npos);
  CHECK(out.out.find("socket 1 not-a-socket\n") != std::string::npos);
  // This machine has socat (install-deps) or nc: the third is usable.
  CHECK(out.out.find("socket 2 ok\n") != std::string::npos);
  auto f = judge_doctor_answer(q, out,
                               {.before = std::time(nullptr) - 1, .after = std::time(nullptr) + 1});
  REQUIRE(checks_of(f) == std::vector<std::string>{"balancer", "balancer"});
  CHECK(f.problems[0].problem.find("no HAProxy runtime API socket at ") == 0);
  CHECK(f.problems[0].fix.find("stats socket ") != std::string::npos);
  // A client missing, and a host that names a socket it was not asked about.
  auto g = judge_doctor_answer(
      q, answered("time 1700000001\nsocket 0 ok\nsocket 1 ok\nsocket 2 no-client\nsocket 7 ok\n"),
      kNow);
  REQUIRE(checks_of(g) == std::vector<std::string>{"balancer", "answer"});
  CHECK(g.problems[0].fix == "install it: apt-get install socat");
  // An answer without the sockets stopped short.
  auto h = judge_doctor_answer(q, answered("time 1700000001\n"), kNow);
  CHECK(checks_of(h) == std::vector<std::string>{"answer"});
}

}  // namespace flotilla
