#include "cli/host_results.hpp"

#include <doctest/doctest.h>

#include <cstdio>

#include "support/fake_transport.hpp"

using namespace flotilla;

namespace {

struct Captured {
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  ~Captured() {
    std::fclose(out);
    std::fclose(err);
  }
  static std::string read(std::FILE* f) {
    std::rewind(f);
    std::string s;
    char buf[512];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
    return s;
  }
};

std::vector<HostAddress> three_hosts() {
  std::vector<HostAddress> hosts(3);
  for (int i = 0; i < 3; ++i) hosts[i].name = "h0" + std::to_string(i + 1);
  return hosts;
}

std::vector<HostTask> one_task_each(const std::string& command) {
  return {{0, {command, "", std::chrono::seconds(1)}},
          {1, {command, "", std::chrono::seconds(1)}},
          {2, {command, "", std::chrono::seconds(1)}}};
}

}  // namespace

TEST_CASE("exit code: 0 all ok, 1 any failed, 4 any unreachable") {
  auto hosts = three_hosts();
  FakeTransport fake;
  fake.respond([](std::size_t host, const RemoteCommand&) -> Result<CommandResult> {
    return CommandResult{host == 1 ? 2 : 0, "", "out\n", ""};
  });
  Captured c;
  Reporter reporter({.json = true}, c.out, c.err);
  auto results = fake.run(one_task_each("true"));
  CHECK(exit_code_for(report_host_results(reporter, hosts, results, false)) == 1);
  auto doc = nlohmann::json::parse(Captured::read(c.out));
  CHECK(doc["summary"]["failed"] == 1);
  CHECK(doc["hosts"]["h02"]["exit_status"] == 2);
  CHECK(fake.calls.size() == 3);
  CHECK(fake.calls[1].command.command == "true");

  fake.unreachable(2);
  Captured c2;
  Reporter reporter2({.json = true}, c2.out, c2.err);
  CHECK(exit_code_for(
            report_host_results(reporter2, hosts, fake.run(one_task_each("true")), false)) == 4);

  FakeTransport ok;
  Captured c3;
  Reporter reporter3({}, c3.out, c3.err);
  CHECK(exit_code_for(
            report_host_results(reporter3, hosts, ok.run(one_task_each("true")), false)) == 0);
  CHECK(Captured::read(c3.out).find("== h03 ok") != std::string::npos);
}

TEST_CASE("streamed lines carry their host and partial lines are flushed") {
  auto hosts = three_hosts();
  Captured c;
  Reporter reporter({}, c.out, c.err);
  HostLineStream lines(reporter, hosts);
  auto fn = lines.callback();
  fn(0, false, "one\ntw");
  fn(2, true, "err\n");
  fn(0, false, "o\nthree");
  lines.flush();
  CHECK(Captured::read(c.out) == "h01 | one\nh03 | err\nh01 | two\nh01 | three\n");
}

TEST_CASE("cancel: nothing new starts") {
  FakeTransport fake;
  fake.cancel();
  auto results = fake.run(one_task_each("true"));
  CHECK(fake.calls.empty());
  CHECK(results[0].error().kind == ErrorKind::kInterrupted);
}
