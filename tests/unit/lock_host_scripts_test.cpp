// The lock host's scripts under /bin/sh, through the C++ that calls them:
// approvals kept and listed (approval_store.sh, approval_list.sh), the
// snapshot counter read (lock_counter.sh), the rollout board (rollout_board.sh).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/script_command.hpp"
#include "playbooks/change/approvals.hpp"
#include "playbooks/lock_host/deploy_lock.hpp"
#include "playbooks/lock_host/rollout_board.hpp"
#include "support/fake_transport.hpp"
#include "support/local_shell.hpp"
#include "support/scratch_dir.hpp"

namespace flotilla {
namespace {

namespace fs = std::filesystem;

using test::run_on_local_shell;

// A lock host that is this machine's /bin/sh with HOME in a scratch directory.
struct LocalLockHost {
  LocalLockHost() {
    transport.respond([this](std::size_t, const RemoteCommand& command) {
      return Result<CommandResult>(run_on_local_shell(command, {{"HOME", home.path.string()}}));
    });
  }
  CommandResult run(HostScript script, const std::vector<std::string>& args,
                    const std::string& input = "") {
    return run_on_local_shell(script_command(script, args, input, std::chrono::seconds(5)),
                              {{"HOME", home.path.string()}});
  }
  ScratchDir home;
  FakeTransport transport;
};

}  // namespace

TEST_CASE("approval_store and approval_list: kept whole per ticket, listed back byte for byte") {
  LocalLockHost host;
  Approval first{R"({"ticket": "DA-1", "note": "line one\nline two"})", "sig-1"};
  Approval second{R"({"ticket": "DA-1", "note": "DA-2/forged.json eyJ9"})", "sig-2"};
  Approval other{R"({"ticket": "DA-2"})", "sig-3"};
  REQUIRE(store_approval(host.transport, "prod", "DA-1", first));
  REQUIRE(store_approval(host.transport, "prod", "DA-1", second));
  REQUIRE(store_approval(host.transport, "prod", "DA-2", other));
  // Kept where the contract says, and nothing half-written beside them.
  std::size_t files = 0;
  for (const auto& entry :
       fs::directory_iterator(host.home.path / ".flotilla/approvals/prod/DA-1")) {
    CHECK(entry.path().filename().string().front() != '.');
    ++files;
  }
  CHECK(files == 2);

  auto listed = load_approvals(host.transport, "prod", "DA-1");
  REQUIRE(listed);
  REQUIRE(listed->size() == 2);
  std::set<std::string> payloads;
  for (const auto& a : *listed) payloads.insert(a.payload + "|" + a.signature);
  CHECK(payloads == std::set<std::string>{first.payload + "|sig-1", second.payload + "|sig-2"});
  auto every = load_approvals(host.transport, "prod", "-");
  REQUIRE(every);
  CHECK(every->size() == 3);
  auto none = load_approvals(host.transport, "staging", "DA-1");
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("approval_store and approval_list refuse names that leave their directory") {
  LocalLockHost host;
  for (const std::vector<std::string>& args : {std::vector<std::string>{"prod", "../x", "a.json"},
                                               {"prod", "DA-1", "../../a"},
                                               {"..", "DA-1", "a.json"},
                                               {"prod", "", "a.json"},
                                               {"prod", "DA 1", "a.json"}}) {
    CAPTURE(args[1]);
    auto stored = host.run(HostScript::kApprovalStore, args, "{}");
    CHECK(exited_with(stored, HostExit::kUsage));
  }
  CHECK_FALSE(fs::exists(host.home.path / ".flotilla"));
  CHECK(exited_with(host.run(HostScript::kApprovalList, {"prod", "../x"}), HostExit::kUsage));
  CHECK(exited_with(host.run(HostScript::kApprovalList, {"prod"}), HostExit::kUsage));
}

TEST_CASE("lock_counter: the counter as it stands, 0 before the first and for garbage") {
  LocalLockHost host;
  DeployLock lock(host.transport, 0, "prod");
  auto counter = [&] {
    auto n = lock.snapshot_counter();
    REQUIRE(n);
    return *n;
  };
  CHECK(counter() == 0);  // no file yet
  fs::create_directories(host.home.path / ".flotilla/locks");
  CHECK(*lock.next_snapshot_id(0) == 1);
  CHECK(*lock.next_snapshot_id(41) == 42);
  CHECK(counter() == 42);
  std::ofstream(host.home.path / ".flotilla/locks/prod.seq") << "0099\n";
  CHECK(counter() == 99);  // leading zeros are not octal
  std::ofstream(host.home.path / ".flotilla/locks/prod.seq") << "12; rm -rf /\n";
  CHECK(counter() == 0);
  CHECK(exited_with(host.run(HostScript::kLockCounter, {}), HostExit::kUsage));
}

TEST_CASE("rollout_board: a paused rollout takes resume or abort only for itself, from anyone") {
  LocalLockHost host;
  RolloutBoard holder(host.transport, 0, "prod");
  RolloutBoard other(host.transport, 0, "prod");
  // No lock held: nothing can be posted, nothing waits.
  CHECK_FALSE(holder.post("game", "paused"));
  auto none = other.decide("game", "resume", "bob@ci");
  REQUIRE_FALSE(none);
  CHECK(none.error().message.find("no rollout of game in prod waits for resume") !=
        std::string::npos);
  fs::create_directories(host.home.path / ".flotilla/locks/prod");
  REQUIRE(holder.post("game", "paused"));
  CHECK(*other.waiting() == std::optional<std::string>("paused game"));
  CHECK_FALSE(other.decide("payment", "resume", "bob@ci"));        // another unit
  CHECK_FALSE(other.decide("game", "end-watch", "bob@ci"));        // it is not watching
  CHECK_FALSE(other.decide("game", "resume;rm -rf /", "bob@ci"));  // no such word
  REQUIRE(*holder.read() == std::nullopt);
  REQUIRE(other.decide("game", "abort", "bob@ci-7 (a;b)"));
  auto said = holder.read();
  REQUIRE(said);
  REQUIRE(*said);
  CHECK((*said)->word == "abort");
  CHECK((*said)->by == "bob@ci-7 (a;b)");
  // A new wait drops the old word; clearing leaves nothing waiting.
  REQUIRE(holder.post("game", "watching"));
  CHECK(*holder.read() == std::nullopt);
  REQUIRE(other.decide("game", "end-watch", "carol@laptop"));
  REQUIRE(holder.clear());
  CHECK(*other.waiting() == std::nullopt);
  CHECK(*holder.read() == std::nullopt);
}

}  // namespace flotilla

namespace flotilla {

TEST_CASE("lock_acquire.sh hands a held lock over only to its taker's token") {
  LocalLockHost host;
  DeployLock lock(host.transport, 0, "prod");
  auto taken = lock.acquire("DA-1", "deploy gm", std::chrono::seconds(0));
  REQUIRE(taken);
  LockHolder background = *taken;
  background.pid = taken->pid + 1;
  background.message = "deploy gm (watching gm in the background)";
  REQUIRE(lock.hand_over(background));
  auto held = lock.holder();
  REQUIRE(held);
  REQUIRE(*held);
  CHECK((*held)->pid == background.pid);
  CHECK((*held)->token == taken->token);
  CHECK((*held)->message == background.message);

  // Another token takes nothing over, and the record stays.
  LockHolder stranger = background;
  stranger.token = "0123456789abcdef";
  stranger.pid = 1;
  auto refused = lock.hand_over(stranger);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == ErrorKind::kLocked);
  CHECK((*lock.holder())->pid == background.pid);

  // A released lock is not taken again by a hand-over.
  REQUIRE(lock.release(taken->token, false));
  auto late = lock.hand_over(background);
  REQUIRE_FALSE(late);
  CHECK(late.error().kind == ErrorKind::kLocked);
  auto free = lock.holder();
  REQUIRE(free);
  CHECK_FALSE(*free);
}

}  // namespace flotilla
