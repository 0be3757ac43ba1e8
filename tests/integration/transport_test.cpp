// SshTransport against real sshd hosts (scripts/fleet.sh): uploads, reads,
// connection reuse. The fleet is started here and stopped even on failure.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "core/remote_file.hpp"
#include "core/ssh/ssh_transport.hpp"

using namespace flotilla;
namespace fs = std::filesystem;

namespace {

struct LocalFleet {
  fs::path dir;
  std::vector<HostAddress> hosts;
  explicit LocalFleet(int count, const char* net = "127.0.9") {
    char pattern[] = "/tmp/flotilla-transport-XXXXXX";
    dir = ::mkdtemp(pattern);
    std::string source = std::getenv("FLOTILLA_SOURCE") ? std::getenv("FLOTILLA_SOURCE") : ".";
    std::string cmd = source + "/scripts/fleet.sh start " + dir.string() + " -n " +
                      std::to_string(count) + " --net " + net + " >/dev/null";
    REQUIRE(std::system(cmd.c_str()) == 0);
    passwd* pw = ::getpwuid(::getuid());
    const char* user = pw != nullptr ? pw->pw_name : nullptr;
    for (int i = 1; i <= count; ++i) {
      HostAddress h;
      h.name = "h0" + std::to_string(i);
      h.address = std::string(net) + "." + std::to_string(i);
      h.port = 2222;
      h.user = user != nullptr ? user : "root";
      h.identity_files = {(dir / "client_key").string()};
      hosts.push_back(h);
    }
  }
  ~LocalFleet() {
    std::string source = std::getenv("FLOTILLA_SOURCE") ? std::getenv("FLOTILLA_SOURCE") : ".";
    std::system((source + "/scripts/fleet.sh stop " + dir.string() + " >/dev/null").c_str());
    fs::remove_all(dir);
  }
  SshTransport transport() const {
    SshOptions options;
    options.known_hosts_files = {(dir / "known_hosts").string()};
    return SshTransport(hosts, options);
  }
};

std::string random_bytes(std::size_t n) {
  std::mt19937_64 rng(42);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

}  // namespace

TEST_CASE("upload and read back 8 MB on several hosts over one connection each") {
  LocalFleet fleet(3);
  SshTransport transport = fleet.transport();
  std::string data = random_bytes(8 << 20);
  fs::path remote = fleet.dir / "uploaded" / "blob.bin";
  std::vector<HostTask> tasks;
  for (std::size_t h = 0; h < 3; ++h) {
    tasks.push_back({h, upload_command(remote.string() + std::to_string(h), data, 0600,
                                       std::chrono::seconds(60))});
    tasks.push_back(
        {h, read_file_command(remote.string() + std::to_string(h), std::chrono::seconds(60))});
    tasks.push_back({h, {"echo $PPID", "", std::chrono::seconds(10)}});
  }
  auto results = transport.run(tasks);
  for (std::size_t h = 0; h < 3; ++h) {
    REQUIRE_MESSAGE(results[h * 3], (results[h * 3] ? "" : results[h * 3].error().message));
    CHECK(results[h * 3]->ok());
    REQUIRE(results[h * 3 + 1]);
    CHECK(results[h * 3 + 1]->out.size() == data.size());
    CHECK(sha256_hex(results[h * 3 + 1]->out) == sha256_hex(data));
  }
  // A later run() reuses the same SSH connection: same sshd session process.
  auto again = transport.run({{0, {"echo $PPID", "", std::chrono::seconds(10)}}});
  REQUIRE(again[0]);
  CHECK(again[0]->out == results[2]->out);
}

TEST_CASE("a paced command's output is its own: the start mark never shows") {
  LocalFleet fleet(3);
  SshTransport transport = fleet.transport();
  std::vector<HostTask> tasks;
  for (std::size_t h = 0; h < 3; ++h) {
    // Its own output begins with the mark's byte; stderr comes first.
    tasks.push_back({h, {"echo warn >&2; printf '\\036x'", "", std::chrono::seconds(10)}});
    tasks.push_back({h, {"true", "", std::chrono::seconds(10)}});
  }
  std::string streamed;
  auto results = transport.run(tasks, [&](std::size_t, bool is_stderr, std::string_view chunk) {
    if (!is_stderr) streamed += chunk;
  });
  for (std::size_t h = 0; h < 3; ++h) {
    REQUIRE(results[h * 2]);
    CHECK(results[h * 2]->out == "\036x");
    CHECK(results[h * 2]->err == "warn\n");
    REQUIRE(results[h * 2 + 1]);
    CHECK(results[h * 2 + 1]->out.empty());
  }
  CHECK(streamed == "\036x\036x\036x");
}

TEST_CASE("a tampered upload is refused by the host and nothing is replaced") {
  LocalFleet fleet(1);
  SshTransport transport = fleet.transport();
  fs::path remote = fleet.dir / "f.txt";
  auto first =
      transport.run({{0, upload_command(remote.string(), "v1", 0644, std::chrono::seconds(10))}});
  REQUIRE(first[0]);
  CHECK(first[0]->ok());
  RemoteCommand bad = upload_command(remote.string(), "v2", 0644, std::chrono::seconds(10));
  bad.stdin_data = "v2-corrupted";
  auto second =
      transport.run({{0, bad}, {0, read_file_command(remote.string(), std::chrono::seconds(10))}});
  REQUIRE(second[0]);
  CHECK(second[0]->exit_status == 65);
  REQUIRE(second[1]);
  CHECK(second[1]->out == "v1");
}

namespace {

// Uploads 3 MB to every host from `first` on, each read back by its sha256.
void check_uploads(const LocalFleet& fleet, const std::vector<HostAddress>& hosts,
                   std::size_t first, const std::string& tag) {
  SshOptions options;
  options.known_hosts_files = {(fleet.dir / "known_hosts").string()};
  SshTransport transport(hosts, options);
  std::string data = random_bytes(3 << 20);
  std::vector<HostTask> tasks;
  for (std::size_t h = first; h < hosts.size(); ++h) {
    std::string path = (fleet.dir / (tag + std::to_string(h))).string();
    tasks.push_back({h, upload_command(path, data, 0600, std::chrono::seconds(60))});
    tasks.push_back({h, {"sha256sum < " + path + " | cut -c1-64", "", std::chrono::seconds(30)}});
  }
  auto results = transport.run(tasks);
  for (std::size_t i = 0; i < results.size(); i += 2) {
    REQUIRE_MESSAGE(results[i], (results[i] ? "" : results[i].error().message));
    CHECK(results[i]->ok());
    REQUIRE(results[i + 1]);
    CHECK(results[i + 1]->out == sha256_hex(data) + "\n");
  }
}

}  // namespace

TEST_CASE("uploads to several hosts through one bastion arrive intact") {
  LocalFleet fleet(6, "127.0.12");
  std::vector<HostAddress> hosts = fleet.hosts;
  auto bastion = std::make_shared<HostAddress>(hosts[0]);
  for (std::size_t h = 1; h < hosts.size(); ++h) hosts[h].jump = bastion;
  check_uploads(fleet, hosts, 1, "via-bastion-");
}

TEST_CASE("uploads to several hosts through a chain of two bastions arrive intact") {
  // ProxyJump h0,h1: h0 tunnels to h1, h1 to every host behind it; one
  // session per bastion carries all of them.
  LocalFleet fleet(6, "127.0.14");
  std::vector<HostAddress> hosts = fleet.hosts;
  auto first = std::make_shared<HostAddress>(hosts[0]);
  auto second = std::make_shared<HostAddress>(hosts[1]);
  second->jump = first;
  hosts[1].jump = first;
  for (std::size_t h = 2; h < hosts.size(); ++h) hosts[h].jump = second;
  check_uploads(fleet, hosts, 2, "via-two-bastions-");
}

TEST_CASE("a second Ctrl-C abandons a step in flight, but not the bookkeeping held from it") {
  LocalFleet fleet(1);
  SshTransport transport = fleet.transport();
  HostTask slow{0, {"sleep 2; echo done", "", std::chrono::seconds(30)}};
  auto abandon_soon = [&] {
    return std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(700));
      transport.abandon();  // what the signal handler calls
    });
  };

  std::thread signal = abandon_soon();
  auto cut = transport.run({slow});
  signal.join();
  REQUIRE_FALSE(cut[0]);
  CHECK(cut[0].error().kind == ErrorKind::kAbandoned);

  transport.resume();
  {
    InterruptHold hold(transport);  // releasing the lock after that Ctrl-C
    signal = abandon_soon();
    auto held = transport.run({slow});
    signal.join();
    REQUIRE_MESSAGE(held[0], (held[0] ? "" : held[0].error().message));
    CHECK(held[0]->out == "done\n");
  }
  // Once the hold ends, the interrupt it kept waiting applies: nothing new starts.
  auto after = transport.run({slow});
  REQUIRE_FALSE(after[0]);
  CHECK(after[0].error().kind == ErrorKind::kInterrupted);
}
