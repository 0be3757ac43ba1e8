// Every host script, run with /bin/sh against a temporary directory exactly
// as a host runs it (the embedded text, arguments quoted by script_command).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/push_bundle.hpp"
#include "core/remote_file.hpp"
#include "core/script_command.hpp"
#include "core/sha256.hpp"
#include "core/shell_quote.hpp"
#include "playbooks/config_bundle.hpp"
#include "playbooks/host_commands.hpp"
#include "playbooks/secret_bundle.hpp"
#include "snapshots/host_state.hpp"
#include "support/local_shell.hpp"
#include "support/scratch_dir.hpp"

using namespace flotilla;
using flotilla::test::run_on_local_shell;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool exited(const CommandResult& r, HostExit code) { return exited_with(r, code); }

// A manifest for `files` (path -> content), plus their store.
Manifest manifest_of(const std::map<std::string, std::string>& files, const fs::path& store) {
  Manifest m;
  m.id = "rel-" + sha256_hex(files.begin()->second).substr(0, 8);
  fs::create_directories(store);
  for (const auto& [path, content] : files) {
    ManifestEntry e;
    e.path = path;
    e.sha256 = sha256_hex(content);
    e.mode = path.rfind("bin/", 0) == 0 ? 0755 : 0644;
    if (path.find('/') != std::string::npos) {
      std::string dir = path.substr(0, path.find('/'));
      bool have = false;
      for (const auto& x : m.entries) have = have || x.path == dir;
      if (!have) m.entries.push_back({dir, ManifestEntry::Type::kDirectory, 0755, 0, "", ""});
    }
    m.entries.push_back(e);
    std::ofstream(store / e.sha256, std::ios::binary) << content;
  }
  std::sort(m.entries.begin(), m.entries.end(),
            [](const auto& a, const auto& b) { return a.path < b.path; });
  return m;
}

Unit service_unit(const fs::path& deploy_to) {
  Unit u;
  u.name = "svc";
  u.deploy_to = deploy_to.string();
  u.start = "echo started >> \"$HOME_LOG\"";
  u.stop = "echo stopped >> \"$HOME_LOG\"";
  u.drain.timeout = std::chrono::milliseconds(100);
  u.health =
      HealthCheck{"test -f VERSION", std::chrono::seconds(2), 2, std::chrono::milliseconds(10)};
  return u;
}

// A host with release `id` assembled under deploy_to.
void place_release(const fs::path& deploy_to, const std::string& id, const std::string& version) {
  fs::create_directories(deploy_to / "releases" / id);
  std::ofstream(deploy_to / "releases" / id / "VERSION") << version;
}

}  // namespace

TEST_CASE("script_command: values are arguments, never script text") {
  ScratchDir dir;
  std::string hostile = (dir.path / "a b $(touch pwned) `touch pwned2`; 'q'").string();
  auto r = run_on_local_shell(read_file_command(hostile, std::chrono::seconds(5)));
  CHECK(r.exit_status != 0);
  CHECK_FALSE(fs::exists("pwned"));
  CHECK_FALSE(fs::exists("pwned2"));
  dir.write("a b $(touch pwned) `touch pwned2`; 'q'", "literal\n");
  r = run_on_local_shell(read_file_command(hostile, std::chrono::seconds(5)));
  CHECK(r.ok());
  CHECK(r.out == "literal\n");
  RemoteCommand c = script_command(HostScript::kReadFile, {"$(id)"}, "", std::chrono::seconds(1));
  CHECK(c.label == "read_file");
  CHECK(c.command.find("'$(id)'") != std::string::npos);
}

TEST_CASE("every script refuses a wrong argument count with HostExit::kUsage") {
  for (HostScript s : {HostScript::kAssemble, HostScript::kFinish, HostScript::kSurvey,
                       HostScript::kLockAcquire, HostScript::kSnapshotId, HostScript::kUpload,
                       HostScript::kBackup, HostScript::kFetchBlobs}) {
    CAPTURE(host_script_name(s));
    auto r = run_on_local_shell(script_command(s, {}, "", std::chrono::seconds(5)));
    CHECK(exited(r, HostExit::kUsage));
    CHECK(r.err.find("usage:") != std::string::npos);
  }
}

PushBundle bundle_of(const std::map<std::string, std::string>& files, bool gzipped = false) {
  std::string tar = make_plain_tar(files);
  if (gzipped) {
    ScratchDir work;
    work.write("b.tar", tar);
    REQUIRE(std::system(("gzip -n " + (work.path / "b.tar").string()).c_str()) == 0);
    tar = slurp(work.path / "b.tar.gz");
  }
  return PushBundle{std::make_shared<const std::string>(std::move(tar)), gzipped};
}

TEST_CASE("assemble with a bundle: the files arrive checked, in the same round trip") {
  ScratchDir dir;
  HostLayout layout{(dir.path / "srv").string()};
  // The manifest's files exist only on the controller's side.
  Manifest m = manifest_of({{"VERSION", "1.0\n"}, {"data.bin", "payload"}}, dir.path / "built");
  for (bool gzipped : {false, true}) {
    CAPTURE(gzipped);
    fs::remove_all(layout.deploy_to);
    auto bundle =
        bundle_of({{sha256_hex("1.0\n"), "1.0\n"}, {sha256_hex("payload"), "payload"}}, gzipped);
    auto r = run_on_local_shell(assemble_command(layout, m, &bundle));
    REQUIRE(r.ok());
    CHECK(slurp(fs::path(layout.release(m.id)) / "data.bin") == "payload");
    CHECK(slurp(fs::path(layout.store()) / sha256_hex("payload")) == "payload");
    std::size_t entries = 0;
    for ([[maybe_unused]] auto& e : fs::directory_iterator(layout.store())) ++entries;
    CHECK(entries == 2);  // no .incoming.* left behind
  }

  // A file that is not what its name says: refused, nothing enters the store.
  Manifest other = manifest_of({{"VERSION", "three"}}, dir.path / "built");
  auto tampered = bundle_of({{sha256_hex("three"), "tampered"}});
  auto r = run_on_local_shell(assemble_command(layout, other, &tampered));
  CHECK(exited(r, HostExit::kCorrupt));
  CHECK(r.err.find("corrupt in transit") != std::string::npos);
  CHECK_FALSE(fs::exists(fs::path(layout.store()) / sha256_hex("three")));
  CHECK_FALSE(fs::exists(layout.release(other.id)));
  std::size_t entries = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(layout.store())) ++entries;
  CHECK(entries == 2);
}

TEST_CASE("assemble: a release placed first by another writer of the same deploy_to is kept") {
  // Hosts sharing a deploy_to (NFS) assemble the same release at once: the
  // loser's `mv -T` finds it there. A shim runs the other writer just before.
  ScratchDir dir;
  HostLayout layout{(dir.path / "srv").string()};
  Manifest m = manifest_of({{"VERSION", "1.0\n"}}, dir.path / "built");
  dir.write("shim/mv",
            "#!/bin/sh\n"
            "if [ \"$1\" = -T ]; then mkdir -p \"$4\" && echo theirs > \"$4/VERSION\"; fi\n"
            "exec /bin/mv \"$@\"\n");
  fs::permissions(dir.path / "shim/mv", fs::perms::owner_all);
  auto bundle = bundle_of({{sha256_hex("1.0\n"), "1.0\n"}});
  auto r = run_on_local_shell(assemble_command(layout, m, &bundle),
                              {{"PATH", (dir.path / "shim").string() + ":" + std::getenv("PATH")}});
  CHECK(r.ok());
  CHECK(slurp(fs::path(layout.release(m.id)) / "VERSION") == "theirs\n");
  for (auto& e : fs::directory_iterator(fs::path(layout.deploy_to) / "releases"))
    CHECK(e.path().filename().string().find("partial") == std::string::npos);
}

TEST_CASE("assemble with a bundle: a file taken from the store is still checked") {
  ScratchDir dir;
  HostLayout layout{(dir.path / "srv").string()};
  // VERSION is in the host's store already, and rotten; data.bin arrives.
  Manifest m = manifest_of({{"VERSION", "2.0\n"}, {"data.bin", "fresh"}}, layout.store());
  fs::remove(fs::path(layout.store()) / sha256_hex("fresh"));
  std::ofstream(fs::path(layout.store()) / sha256_hex("2.0\n")) << "rot";
  auto bundle = bundle_of({{sha256_hex("fresh"), "fresh"}});
  auto r = run_on_local_shell(assemble_command(layout, m, &bundle));
  CHECK(exited(r, HostExit::kCorrupt));
  CHECK(r.err.find("1 damaged file(s) removed") != std::string::npos);
  CHECK_FALSE(fs::exists(layout.release(m.id)));
  // What arrived stays: the retry sends only the damaged file.
  CHECK(slurp(fs::path(layout.store()) / sha256_hex("fresh")) == "fresh");
  CHECK_FALSE(fs::exists(fs::path(layout.store()) / sha256_hex("2.0\n")));
}

TEST_CASE("assemble: builds the release from the store; a damaged store file fails it") {
  ScratchDir dir;
  HostLayout layout{(dir.path / "srv").string()};
  Manifest m = manifest_of({{"VERSION", "1.0\n"}, {"bin/run", "#!/bin/sh\n"}}, layout.store());
  ManifestEntry link{"latest", ManifestEntry::Type::kSymlink, 0777, 0, "", "VERSION"};
  m.entries.insert(m.entries.begin() + 1, link);
  auto r = run_on_local_shell(assemble_command(layout, m));
  REQUIRE(r.ok());
  fs::path release = layout.release(m.id);
  CHECK(slurp(release / "VERSION") == "1.0\n");
  CHECK(fs::read_symlink(release / "latest") == "VERSION");
  struct stat st {};
  ::stat((release / "bin/run").c_str(), &st);
  CHECK((st.st_mode & 0777) == 0755);
  CHECK(fs::exists(fs::path(layout.state_dir()) / "manifests" / (m.id + ".sums")));
  // Idempotent.
  CHECK(run_on_local_shell(assemble_command(layout, m)).ok());

  // A store file damaged on disk: refused, removed from the store, no release.
  Manifest other = manifest_of({{"VERSION", "2.0\n"}}, layout.store());
  std::ofstream(fs::path(layout.store()) / sha256_hex("2.0\n")) << "rot";
  r = run_on_local_shell(assemble_command(layout, other));
  CHECK(exited(r, HostExit::kCorrupt));
  CHECK(r.err.find("1 damaged file(s) removed") != std::string::npos);
  CHECK_FALSE(fs::exists(layout.release(other.id)));
  CHECK_FALSE(fs::exists(fs::path(layout.store()) / sha256_hex("2.0\n")));
  for (auto& e : fs::directory_iterator(layout.releases()))
    CHECK(e.path().filename().string().find("partial") == std::string::npos);
}

TEST_CASE("activate: stop, switch current atomically, start, health, record the state") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  place_release(d, "r1", "1");
  place_release(d, "r2", "2");
  Unit unit = service_unit(d);
  std::map<std::string, std::string> env = {{"HOME_LOG", (dir.path / "log").string()}};
  HostLayout layout{d.string()};
  auto cmd = activate_command(unit, layout, {"r1", "", "", true, true, ""}, {}, {{"current", 1}});
  REQUIRE(cmd);
  auto r = run_on_local_shell(*cmd, env);
  REQUIRE(r.ok());
  CHECK(fs::read_symlink(d / "current") == "releases/r1");
  CHECK(slurp(d / ".flotilla/state.json").find("\"current\": 1") != std::string::npos);
  CHECK(r.out.find(std::string(kPhaseMarker) + "switching") != std::string::npos);
  CHECK(r.out.find(std::string(kPhaseMarker) + "health check 1/3") != std::string::npos);

  cmd = activate_command(unit, layout, {"r2", "", "", true, true, ""}, {}, {{"current", 2}});
  REQUIRE(cmd);
  REQUIRE(run_on_local_shell(*cmd, env).ok());
  CHECK(fs::read_symlink(d / "current") == "releases/r2");
  CHECK(slurp(dir.path / "log") == "stopped\nstarted\nstopped\nstarted\n");
  CHECK_FALSE(fs::exists(d / ".flotilla/current.next"));
}

TEST_CASE("activate: a failing health check exits kHealth with the check's last output") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  fs::create_directories(d / "releases/r1");  // no VERSION: the health check fails
  Unit unit = service_unit(d);
  unit.health->command = "echo not ready; false";
  auto cmd = activate_command(unit, HostLayout{d.string()}, {"r1", "", "", true, true, ""}, {}, {});
  REQUIRE(cmd);
  auto r = run_on_local_shell(*cmd, {{"HOME_LOG", "/dev/null"}});
  CHECK(exited(r, HostExit::kHealth));
  CHECK(r.err.find("  | not ready") != std::string::npos);
  CHECK(r.err.find("health check failed after 3 tries: echo not ready; false") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(d / ".flotilla/state.json"));
}

TEST_CASE("activate: a release not on the host is refused before anything stops") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  fs::create_directories(d);
  Unit unit = service_unit(d);
  fs::path log = dir.path / "log";
  auto cmd =
      activate_command(unit, HostLayout{d.string()}, {"nope", "", "", true, true, ""}, {}, {});
  REQUIRE(cmd);
  auto r = run_on_local_shell(*cmd, {{"HOME_LOG", log.string()}});
  CHECK(exited(r, HostExit::kMissing));
  CHECK_FALSE(fs::exists(log));  // never stopped
}

TEST_CASE("activate: a failing hook stops the activation with kHook") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  place_release(d, "r1", "1");
  Unit unit = service_unit(d);
  unit.hooks["before_start"] = "exit 3";
  auto cmd = activate_command(unit, HostLayout{d.string()}, {"r1", "", "", true, true, ""}, {}, {});
  REQUIRE(cmd);
  auto r = run_on_local_shell(*cmd, {{"HOME_LOG", "/dev/null"}});
  CHECK(exited(r, HostExit::kHook));
  CHECK(r.err.find("hook before_start failed") != std::string::npos);
}

TEST_CASE("activate: config only switches shared/config and reloads, no restart") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  place_release(d, "r1", "1");
  fs::create_directories(d / ".flotilla/configs/c1");
  fs::create_directories(d / "shared");
  fs::create_symlink("releases/r1", d / "current");
  Unit unit = service_unit(d);
  unit.reload = "echo reloaded >> \"$HOME_LOG\"";
  unit.config_check = "test -d \"$FLOTILLA_CONFIG_DIR\"";
  fs::path log = dir.path / "log";
  auto cmd =
      activate_command(unit, HostLayout{d.string()}, {"r1", "c1", "", false, true, ""}, {}, {});
  REQUIRE(cmd);
  auto r = run_on_local_shell(*cmd, {{"HOME_LOG", log.string()}});
  REQUIRE(r.ok());
  CHECK(fs::read_symlink(d / "shared/config") == "../.flotilla/configs/c1");
  CHECK(slurp(log) == "reloaded\n");

  unit.config_check = "false";
  fs::create_directories(d / ".flotilla/configs/c2");
  cmd = activate_command(unit, HostLayout{d.string()}, {"r1", "c2", "", false, true, ""}, {}, {});
  REQUIRE(cmd);
  r = run_on_local_shell(*cmd, {{"HOME_LOG", log.string()}});
  CHECK(exited(r, HostExit::kConfigCheck));
  CHECK(fs::read_symlink(d / "shared/config") == "../.flotilla/configs/c1");
}

TEST_CASE("activate: back to nothing removes current and the state") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  place_release(d, "r1", "1");
  fs::create_directories(d / ".flotilla");
  fs::create_symlink("releases/r1", d / "current");
  std::ofstream(d / ".flotilla/state.json") << "{}";
  Unit unit = service_unit(d);
  auto cmd = activate_command(unit, HostLayout{d.string()}, {"", "", "", true, true, ""}, {}, {});
  REQUIRE(cmd);
  REQUIRE(run_on_local_shell(*cmd, {{"HOME_LOG", "/dev/null"}}).ok());
  CHECK_FALSE(fs::exists(fs::symlink_status(d / "current")));
  CHECK_FALSE(fs::exists(d / ".flotilla/state.json"));
}

TEST_CASE("finish: records history; prunes only what retention allows") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  HostLayout layout{d.string()};
  Manifest keep = manifest_of({{"VERSION", "keep\n"}}, layout.store());
  Manifest old = manifest_of({{"VERSION", "old\n"}}, layout.store());
  Manifest live = manifest_of({{"VERSION", "live\n"}}, layout.store());
  for (const Manifest* m : {&keep, &old, &live})
    REQUIRE(run_on_local_shell(assemble_command(layout, *m)).ok());
  fs::create_symlink("releases/" + live.id, d / "current");

  // A failed change: recorded, nothing pruned.
  REQUIRE(run_on_local_shell(finish_command(layout, "{\"id\":1}", std::nullopt)).ok());
  CHECK(fs::exists(layout.release(old.id)));
  REQUIRE(run_on_local_shell(finish_command(layout, "{\"id\":2}", RetainedVersions{{keep.id}, {}}))
              .ok());
  CHECK(slurp(d / ".flotilla/history.jsonl") == "{\"id\":1}\n{\"id\":2}\n");
  CHECK(fs::exists(layout.release(keep.id)));
  CHECK(fs::exists(layout.release(live.id)));  // current is never pruned
  CHECK_FALSE(fs::exists(layout.release(old.id)));
  CHECK_FALSE(fs::exists(fs::path(layout.store()) / sha256_hex("old\n")));
  CHECK(fs::exists(fs::path(layout.store()) / sha256_hex("keep\n")));
}

TEST_CASE("activate --record: a healthy host records itself and prunes; a failed one does not") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  HostLayout layout{d.string()};
  Manifest before = manifest_of({{"VERSION", "before\n"}}, layout.store());
  Manifest old = manifest_of({{"VERSION", "old\n"}}, layout.store());
  Manifest next = manifest_of({{"VERSION", "next\n"}}, layout.store());
  for (const Manifest* m : {&before, &old, &next})
    REQUIRE(run_on_local_shell(assemble_command(layout, *m)).ok());
  fs::create_symlink("releases/" + before.id, d / "current");
  Unit unit = service_unit(d);
  std::map<std::string, std::string> env = {{"HOME_LOG", (dir.path / "log").string()}};

  // The record keeps only `next`, and `before` (a later batch may still
  // send this host back): `old` goes, with its store file.
  Activation target{next.id, "", "", true, true, ""};
  target.record =
      ActivationRecord{"{\"id\":7,\"outcome\":\"succeeded\"}", {next.id, before.id}, {}};
  auto cmd = activate_command(unit, layout, target, {}, {{"current", 1}});
  REQUIRE(cmd);
  REQUIRE(run_on_local_shell(*cmd, env).ok());
  CHECK(slurp(d / ".flotilla/history.jsonl") == "{\"id\":7,\"outcome\":\"succeeded\"}\n");
  CHECK(fs::exists(layout.release(next.id)));
  CHECK(fs::exists(layout.release(before.id)));
  CHECK_FALSE(fs::exists(layout.release(old.id)));
  CHECK_FALSE(fs::exists(fs::path(layout.store()) / sha256_hex("old\n")));
  CHECK(fs::exists(fs::path(layout.store()) / sha256_hex("before\n")));

  // A host that fails its health check writes no record and prunes nothing.
  fs::remove(d / ".flotilla/history.jsonl");
  unit.health->command = "false";
  target = Activation{before.id, "", "", true, true, ""};
  target.record = ActivationRecord{"{\"id\":8}", {before.id}, {}};
  cmd = activate_command(unit, layout, target, {}, {{"current", 2}});
  REQUIRE(cmd);
  CHECK(exited(run_on_local_shell(*cmd, env), HostExit::kHealth));
  CHECK_FALSE(fs::exists(d / ".flotilla/history.jsonl"));
  CHECK(fs::exists(layout.release(next.id)));
}

TEST_CASE("survey: one read of the host, parsed back") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  HostLayout layout{d.string()};
  place_release(d, "r1", "1");
  fs::create_directories(d / ".flotilla/store");
  std::ofstream(d / ".flotilla/store" / sha256_hex("have")) << "have";
  fs::create_symlink("releases/r1", d / "current");
  std::ofstream(d / ".flotilla/state.json")
      << R"({"current": {"release": "r1", "commit": "abc", "snapshot": 4}})";
  auto r = run_on_local_shell(survey_command(layout, {sha256_hex("have"), sha256_hex("lack")}));
  REQUIRE(r.ok());
  auto survey = parse_survey(r.out, layout);
  REQUIRE(survey);
  CHECK(survey->state.release == "r1");
  CHECK(survey->state.snapshot == 4);
  CHECK(survey->state.current_link == "releases/r1");
  CHECK(survey->state.releases == std::set<std::string>{"r1"});
  CHECK(survey->missing == std::vector<std::string>{sha256_hex("lack")});
}

TEST_CASE("lock scripts: one taker, the holder recorded, release only by the holder") {
  ScratchDir home;
  std::map<std::string, std::string> env = {{"HOME", home.path.string()}};
  auto run = [&](HostScript s, std::vector<std::string> args, std::string in = "") {
    return run_on_local_shell(script_command(s, args, in, std::chrono::seconds(5)), env);
  };
  CHECK(run(HostScript::kLockAcquire, {"prod"}, R"({"token": "t1"})").ok());
  CHECK(exited(run(HostScript::kLockAcquire, {"prod"}, R"({"token": "t2"})"), HostExit::kLockHeld));
  CHECK(run(HostScript::kLockHolder, {"prod"}).out == R"({"token": "t1"})");
  CHECK(exited(run(HostScript::kLockRelease, {"prod", "\"token\": \"t2\""}), HostExit::kNotHolder));
  CHECK(run(HostScript::kLockRelease, {"prod", "\"token\": \"t1\""}).ok());
  CHECK(run(HostScript::kLockHolder, {"prod"}).out.empty());
  CHECK(run(HostScript::kLockRelease, {"prod", "anything"}).ok());  // free: released already
  // Forced: whoever holds it.
  CHECK(run(HostScript::kLockAcquire, {"prod"}, "{}").ok());
  CHECK(run(HostScript::kLockRelease, {"prod"}).ok());
}

TEST_CASE("snapshot_id: counts up from the counter, never below what was seen") {
  ScratchDir home;
  std::map<std::string, std::string> env = {{"HOME", home.path.string()}};
  auto next = [&](long seen) {
    return run_on_local_shell(script_command(HostScript::kSnapshotId, {"int", std::to_string(seen)},
                                             "", std::chrono::seconds(5)),
                              env)
        .out;
  };
  fs::create_directories(home.path / ".flotilla/locks");
  CHECK(next(0) == "1\n");
  CHECK(next(0) == "2\n");
  CHECK(next(10) == "11\n");
  CHECK(next(3) == "12\n");
}

TEST_CASE("receive_directory: config by digest, secrets by count and private modes") {
  ScratchDir dir;
  HostLayout layout{(dir.path / "srv").string()};
  ConfigBundle config;
  config.files = {{"a.yaml", "a: 1\n"}, {"b.yaml", "b: 2\n"}};
  config.digest = config_digest(config.files);
  REQUIRE(run_on_local_shell(config_receive_command(layout, config)).ok());
  CHECK(slurp(fs::path(layout.state_dir()) / "configs" / config.digest / "a.yaml") == "a: 1\n");

  ConfigBundle wrong = config;
  wrong.digest = std::string(64, 'f');
  auto r = run_on_local_shell(config_receive_command(layout, wrong));
  CHECK(exited(r, HostExit::kCorrupt));
  CHECK_FALSE(fs::exists(fs::path(layout.state_dir()) / "configs" / wrong.digest));

  SecretBundle secrets;
  secrets.values = {{"KEY", "s3cret"}};
  secrets.digest = "d1";
  REQUIRE(run_on_local_shell(secrets_receive_command(layout, secrets)).ok());
  struct stat st {};
  ::stat((fs::path(layout.secret_versions()) / "d1" / "KEY").c_str(), &st);
  CHECK((st.st_mode & 0777) == 0600);
  ::stat(layout.secret_versions().c_str(), &st);
  CHECK((st.st_mode & 0777) == 0700);
}

TEST_CASE("logs, backup, a survey's health probe") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  dir.write("srv/shared/log/a.log", "one\nERROR two\nthree\n");
  auto logs = [&](std::string lines, std::string grep, std::string glob) {
    return run_on_local_shell(script_command(HostScript::kLogs, {d.string(), lines, grep, glob}, "",
                                             std::chrono::seconds(5)));
  };
  CHECK(logs("2", "", "shared/log/*.log").out ==
        "shared/log/a.log:ERROR two\nshared/log/a.log:three\n");
  CHECK(logs("5", "ERR", "shared/log/*.log").out == "shared/log/a.log:2:ERROR two\n");
  auto none = logs("5", "", "nothing/*.log");
  CHECK(exited(none, HostExit::kNoLogs));
  CHECK(none.err == "no log files match nothing/*.log\n");

  auto backup = run_on_local_shell(script_command(
      HostScript::kBackup, {d.string(), "pwd; echo /backups/1"}, "", std::chrono::seconds(5)));
  CHECK(backup.out == "/\n/backups/1\n");  // no current yet: runs in /
  place_release(d, "r1", "1");
  fs::create_symlink("releases/r1", d / "current");
  auto healthy = [&](std::string command) {
    HostLayout layout{d.string()};
    auto r = run_on_local_shell(survey_command(layout, {}, HealthProbe{command, 1}));
    REQUIRE(r.ok());
    auto survey = parse_survey(r.out, layout);
    REQUIRE(survey);
    return survey->healthy;
  };
  CHECK(healthy("test -f VERSION") == std::optional(true));
  CHECK(healthy("sleep 5") == std::optional(false));  // bounded by its timeout
}

namespace {

// A process in its own group that flotilla did not start (what a reused pid
// would name), killed when the test ends.
struct Bystander {
  pid_t pid = 0;
  Bystander() {
    pid = ::fork();
    if (pid == 0) {
      ::setsid();
      ::execl("/bin/sleep", "sleep", "30", static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~Bystander() {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  bool alive() const { return ::kill(pid, 0) == 0 && ::waitpid(pid, nullptr, WNOHANG) == 0; }
};

Unit supervised_unit(const fs::path& deploy_to) {
  Unit u = service_unit(deploy_to);
  u.start.clear();
  u.stop.clear();
  u.run = "exec sleep 30";
  u.health.reset();
  return u;
}

void stop_supervised(const fs::path& d) {
  std::ifstream in(d / ".flotilla/pid");
  long pid = 0;
  if (in >> pid && pid > 0) ::kill(-static_cast<pid_t>(pid), SIGKILL);
}

}  // namespace

TEST_CASE("activate: a stale pid file never gets another process group signalled") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  place_release(d, "r1", "1");
  fs::create_directories(d / ".flotilla");
  Bystander other;
  // Left by a process that died (or a reboot): the number now names another.
  std::ofstream(d / ".flotilla/pid") << other.pid << "\n";
  Unit unit = supervised_unit(d);
  auto cmd = activate_command(unit, HostLayout{d.string()}, {"r1", "", "", true, true, ""}, {},
                              {{"current", {{"release", "r1"}}}});
  REQUIRE(cmd);
  REQUIRE(run_on_local_shell(*cmd).ok());
  CHECK(other.alive());
  // The process it started is recorded with its identity, and is stopped
  // by the next activation; a recorded identity that no longer matches is not.
  std::string started = slurp(d / ".flotilla/pid");
  CHECK(std::stol(started) != other.pid);
  CHECK(fs::exists(d / ".flotilla/pid.start"));
  auto survey = parse_survey(run_on_local_shell(survey_command(HostLayout{d.string()}, {})).out,
                             HostLayout{d.string()});
  REQUIRE(survey);
  CHECK_FALSE(survey->state.stopped);
  std::ofstream(d / ".flotilla/pid") << other.pid << "\n";  // pid.start is the other process's
  REQUIRE(run_on_local_shell(*cmd).ok());
  CHECK(other.alive());
  stop_supervised(d);
  std::ofstream(d / ".flotilla/pid") << started;
  stop_supervised(d);
}

TEST_CASE("activate: a `current` that is a real directory is refused before anything stops") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  place_release(d, "r1", "1");
  fs::create_directories(d / "current");  // put there by hand
  Unit unit = service_unit(d);
  fs::path log = dir.path / "log";
  auto cmd = activate_command(unit, HostLayout{d.string()}, {"r1", "", "", true, true, ""}, {}, {});
  REQUIRE(cmd);
  auto r = run_on_local_shell(*cmd, {{"HOME_LOG", log.string()}});
  CHECK(exited_with(r, HostExit::kSwitch));
  CHECK(r.err.find("is not a symlink") != std::string::npos);
  CHECK_FALSE(fs::exists(log));  // nothing was stopped
  CHECK(fs::is_directory(fs::symlink_status(d / "current")));
}

TEST_CASE("activate: a failed health check records what current runs, and that it failed") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  place_release(d, "r1", "1");
  fs::create_directories(d / "releases/r2");  // no VERSION: unhealthy
  Unit unit = service_unit(d);
  HostLayout layout{d.string()};
  auto ok = activate_command(unit, layout, {"r1", "", "", true, true, ""}, {},
                             {{"current", {{"release", "r1"}}}});
  REQUIRE(run_on_local_shell(*ok, {{"HOME_LOG", "/dev/null"}}).ok());
  auto bad = activate_command(unit, layout, {"r2", "", "", true, true, ""}, {},
                              {{"current", {{"release", "r2"}}}});
  auto r = run_on_local_shell(*bad, {{"HOME_LOG", "/dev/null"}});
  CHECK(exited_with(r, HostExit::kHealth));
  auto survey = parse_survey(run_on_local_shell(survey_command(layout, {})).out, layout);
  REQUIRE(survey);
  CHECK(survey->state.release == "r2");  // what `current` really points to...
  CHECK(survey->state.current_link == "releases/r2");
  CHECK(survey->state.failed);  // ...and that it failed
}

TEST_CASE("survey: nothing in a host's files can forge a section") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  HostLayout layout{d.string()};
  place_release(d, "r1", "1");
  fs::create_directories(d / "releases/--flotilla:history--");
  fs::create_directories(d / ".flotilla");
  std::ofstream(d / ".flotilla/state.json")
      << "{\"current\": {\"release\": \"r1\"}, \"x\": \"\\n--flotilla:missing--\\n\"}";
  std::ofstream(d / ".flotilla/history.jsonl") << "--flotilla:releases--\nevil\nstate AAAA\n";
  auto r = run_on_local_shell(survey_command(layout, {}));
  REQUIRE(r.ok());
  auto survey = parse_survey(r.out, layout);
  REQUIRE(survey);
  CHECK(survey->state.release == "r1");
  CHECK(survey->state.releases == std::set<std::string>{"r1"});  // the odd name is dropped
  CHECK(survey->state.history.empty());
  CHECK(survey->missing.empty());
}

TEST_CASE("snapshot_id: a counter of 099 is ninety-nine, a huge one is refused") {
  ScratchDir home;
  fs::create_directories(home.path / ".flotilla/locks");
  std::ofstream(home.path / ".flotilla/locks/int.seq") << "099\n";
  auto next = [&] {
    return run_on_local_shell(
        script_command(HostScript::kSnapshotId, {"int", "0"}, "", std::chrono::seconds(5)),
        {{"HOME", home.path.string()}});
  };
  CHECK(next().out == "100\n");
  std::ofstream(home.path / ".flotilla/locks/int.seq") << "99999999999999999999\n";
  auto r = next();
  CHECK(exited_with(r, HostExit::kUsage));
  CHECK(r.err.find("out of range") != std::string::npos);
}

TEST_CASE("finish: what a killed receive or assemble left behind is removed") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  HostLayout layout{d.string()};
  fs::create_directories(d / ".flotilla/store/.incoming.999999");
  fs::create_directories(d / "releases/.r9.partial.999999");
  std::string live = ".incoming." + std::to_string(::getpid());  // its shell still runs
  fs::create_directories(d / ".flotilla/store" / live);
  REQUIRE(run_on_local_shell(finish_command(layout, "{}", std::nullopt)).ok());
  CHECK_FALSE(fs::exists(d / ".flotilla/store/.incoming.999999"));
  CHECK_FALSE(fs::exists(d / "releases/.r9.partial.999999"));
  CHECK(fs::exists(d / ".flotilla/store" / live));
}

TEST_CASE("assemble: a release directory that is a link elsewhere is rebuilt, not trusted") {
  ScratchDir dir;
  HostLayout layout{(dir.path / "srv").string()};
  Manifest m = manifest_of({{"VERSION", "1.0\n"}}, layout.store());
  fs::create_directories(dir.path / "elsewhere");
  std::ofstream(dir.path / "elsewhere/VERSION") << "evil\n";
  fs::create_directories(layout.releases());
  fs::create_directory_symlink(dir.path / "elsewhere", layout.release(m.id));
  REQUIRE(run_on_local_shell(assemble_command(layout, m)).ok());
  CHECK_FALSE(fs::is_symlink(layout.release(m.id)));
  CHECK(slurp(fs::path(layout.release(m.id)) / "VERSION") == "1.0\n");
  CHECK(slurp(dir.path / "elsewhere/VERSION") == "evil\n");  // untouched
}

TEST_CASE("fetch_blobs: pulls what the store lacks over HTTP, verifies each, refuses the rest") {
  // A plain HTTP server with the registry's blob paths as files:
  // /v2/studio/web/blobs/sha256:HEX.
  ScratchDir dir;
  std::string good = "good blob", tampered_sha = sha256_hex("original");
  dir.write("www/v2/studio/web/blobs/sha256:" + sha256_hex(good), good);
  dir.write("www/v2/studio/web/blobs/sha256:" + tampered_sha, "tampered");
  int port = 20000 + static_cast<int>(::getpid() % 20000);
  pid_t server = ::fork();
  if (server == 0) {
    ::setpgid(0, 0);
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    std::string root = (dir.path / "www").string(), port_text = std::to_string(port);
    ::execlp("python3", "python3", "-m", "http.server", port_text.c_str(), "--bind", "127.0.0.1",
             "--directory", root.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  for (int i = 0; i < 100; ++i) {
    if (run_on_local_shell({"curl -fsS -o /dev/null " + url + "/", "", std::chrono::seconds(2)})
            .ok())
      break;
    ::usleep(50'000);
  }
  HostLayout layout{(dir.path / "srv").string()};
  RegistryPull pull{url, "studio/web", "Basic c2VjcmV0", ""};

  auto r = run_on_local_shell(fetch_command(layout, pull, {sha256_hex(good)}));
  CHECK_MESSAGE(r.ok(), r.err);
  CHECK(slurp(fs::path(layout.store()) / sha256_hex(good)) == good);

  r = run_on_local_shell(fetch_command(layout, pull, {tampered_sha}));
  CHECK(exited(r, HostExit::kCorrupt));
  CHECK(r.err.find("does not match its digest") != std::string::npos);
  CHECK_FALSE(fs::exists(fs::path(layout.store()) / tampered_sha));

  r = run_on_local_shell(fetch_command(layout, pull, {sha256_hex("absent")}));
  CHECK(exited(r, HostExit::kFetch));
  CHECK(r.err.find("could not pull") != std::string::npos);

  RegistryPull hostile = pull;
  hostile.url = url + "\"\nheader = \"X-Evil: 1";
  CHECK(exited(run_on_local_shell(fetch_command(layout, hostile, {sha256_hex(good)})),
               HostExit::kUsage));
  CHECK(exited(run_on_local_shell(fetch_command(layout, pull, {"../../etc/passwd"})),
               HostExit::kUsage));
  hostile = pull;
  hostile.authorization = "Basic x\"\nurl = \"http://elsewhere";
  CHECK(exited(run_on_local_shell(fetch_command(layout, hostile, {sha256_hex(good)})),
               HostExit::kUsage));
  std::size_t entries = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(layout.store())) ++entries;
  CHECK(entries == 1);  // the good blob; no .incoming.* left behind
  ::kill(-server, SIGTERM);
  ::waitpid(server, nullptr, 0);
}

namespace {

// The unit's processes as the host's /proc shows them (a survey's answer).
RunningProcesses processes_of(const fs::path& d) {
  HostLayout layout{d.string()};
  auto answer = run_on_local_shell(survey_command(layout, {}));
  auto survey = parse_survey(answer.out, layout);
  REQUIRE_MESSAGE(survey, answer.out, answer.err);
  return survey->state.processes;
}

// Alive and not a zombie (a started process is reparented to init, which
// reaps it; a zombie has already exited).
bool process_alive(long pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

void kill_marked(const fs::path& d) {
  for (const auto& [pid, run] : processes_of(d).marked) ::kill(static_cast<pid_t>(pid), SIGKILL);
}

// Activates `unit` on the host at `d` to `release` (a full restart) and
// returns what the host script said.
CommandResult activate_to(const Unit& unit, const fs::path& d, const std::string& release) {
  auto cmd = activate_command(unit, HostLayout{d.string()}, {release, "", "", true, true, ""}, {},
                              {{"current", {{"release", release}}}});
  REQUIRE(cmd);
  return run_on_local_shell(*cmd);
}

bool sh_is_dash() {
  std::error_code ec;
  return fs::read_symlink("/bin/sh", ec).string().find("dash") != std::string::npos;
}

}  // namespace

TEST_CASE(
    "activate under dash: every run form is stopped whole, and what runs is the new release") {
  // Debian's /bin/sh is dash, whose kill refuses `--`: the form that hid v2's
  // orphans. CI runs on Debian; elsewhere the test still runs under /bin/sh.
  if (!sh_is_dash()) MESSAGE("/bin/sh is not dash here");
  for (const std::string run : {"exec sleep 30", "sleep 30", "sleep 30 & wait",
                                "setsid sleep 30 >/dev/null 2>&1 </dev/null &",
                                "sh -c 'sleep 30; :'", "trap '' TERM; sleep 30"}) {
    CAPTURE(run);
    ScratchDir dir;
    fs::path d = dir.path / "srv";
    place_release(d, "r1", "1");
    place_release(d, "r2", "2");
    Unit unit = supervised_unit(d);
    unit.run = run;
    HostLayout layout{d.string()};
    auto r = activate_to(unit, d, "r1");
    REQUIRE_MESSAGE(r.ok(), r.err);
    auto before = processes_of(d);
    auto seen = observe_release(before, true);
    CHECK(seen.running);
    CHECK(seen.release == std::optional<std::string>("r1"));
    CHECK(seen.problems.empty());
    // Every process of the first start: by its mark, and by where it runs.
    std::set<long> first_pids;
    for (const auto& [pid, start] : before.marked) first_pids.insert(pid);
    for (const auto& [pid, from] : before.from) first_pids.insert(pid);
    REQUIRE_FALSE(first_pids.empty());

    r = activate_to(unit, d, "r2");
    REQUIRE_MESSAGE(r.ok(), r.err);
    for (long pid : first_pids) {
      CHECK_MESSAGE(!process_alive(pid), "pid ", pid, " of the first start survived its stop");
    }
    auto after = processes_of(d);
    seen = observe_release(after, true);
    CHECK(seen.running);
    CHECK(seen.release == std::optional<std::string>("r2"));
    CHECK(seen.problems.empty());
    kill_marked(d);
  }
}

TEST_CASE("activate: a start that exits fails the activation though its health check passes") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  place_release(d, "r1", "1");
  Unit unit = supervised_unit(d);
  unit.run = "echo cannot bind port 8080; exit 1";
  unit.health = HealthCheck{"true", std::chrono::seconds(2), 0, std::chrono::milliseconds(10)};
  auto cmd = activate_command(unit, HostLayout{d.string()}, {"r1", "", "", true, true, ""}, {},
                              {{"current", {{"release", "r1"}}}});
  REQUIRE(cmd);
  auto r = run_on_local_shell(*cmd);
  CHECK(exited(r, HostExit::kNotRunning));
  CHECK(r.err.find("health passed but the started process exited") != std::string::npos);
  CHECK(r.err.find("cannot bind port 8080") != std::string::npos);  // its log's last line
}

TEST_CASE("activate: a process running from a release without the unit's mark is refused first") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  place_release(d, "r1", "1");
  place_release(d, "r2", "2");
  Unit unit = supervised_unit(d);
  HostLayout layout{d.string()};
  REQUIRE(activate_to(unit, d, "r1").ok());
  auto started = processes_of(d).marked;
  // What v2's stop left behind on real fleets: the service outside the unit's tree.
  pid_t orphan = ::fork();
  if (orphan == 0) {
    ::setsid();
    if (::chdir((d / "releases/r1").c_str()) != 0) ::_exit(127);
    ::execl("/bin/sleep", "sleep", "30", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  for (int i = 0; i < 100 && !process_alive(orphan); ++i) ::usleep(10000);
  auto seen = observe_release(processes_of(d), true);
  REQUIRE(seen.problems.size() == 1);
  CHECK(seen.problems[0].find("flotilla did not start it") != std::string::npos);

  auto r = activate_to(unit, d, "r2");
  CHECK(exited(r, HostExit::kStop));
  CHECK(r.err.find("pid " + std::to_string(orphan) + " (sleep)") != std::string::npos);
  // Nothing changed: the supervised start still runs, current still r1.
  CHECK(fs::read_symlink(d / "current") == "releases/r1");
  for (const auto& [pid, start] : started) CHECK(process_alive(pid));
  ::kill(orphan, SIGKILL);
  ::waitpid(orphan, nullptr, 0);
  kill_marked(d);
}

TEST_CASE("activate: a stop command that leaves the service running fails before the switch") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  place_release(d, "r1", "1");
  place_release(d, "r2", "2");
  Unit unit = service_unit(d);
  unit.start = "setsid sleep 30 >/dev/null 2>&1 </dev/null &";
  unit.stop = "true";  // a stop that stops nothing
  unit.health.reset();
  HostLayout layout{d.string()};
  REQUIRE(activate_to(unit, d, "r1").ok());
  auto seen = observe_release(processes_of(d), false);
  CHECK(seen.running);
  CHECK(seen.release == std::optional<std::string>("r1"));
  auto r = activate_to(unit, d, "r2");
  CHECK(exited(r, HostExit::kStop));
  CHECK(r.err.find("the stop left pid") != std::string::npos);
  CHECK(fs::read_symlink(d / "current") == "releases/r1");
  for (long pid : seen.pids) ::kill(static_cast<pid_t>(pid), SIGKILL);
}

TEST_CASE("activate: {{pid}} and the default reload name the service, not the shell around it") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  place_release(d, "r1", "1");
  fs::create_directories(d / ".flotilla/configs/c1");
  Unit unit = supervised_unit(d);
  unit.run = "sleep 30";  // dash keeps `sh -c 'sleep 30'` as the started process
  HostLayout layout{d.string()};
  REQUIRE(activate_to(unit, d, "r1").ok());
  long sleeper = 0;
  for (const auto& [pid, from] : processes_of(d).from) {
    if (from.command == "sleep") sleeper = pid;
  }
  REQUIRE(sleeper != 0);
  unit.reload = "echo {{pid}} > \"$PID_SEEN\"";
  fs::path seen = dir.path / "seen";
  auto reload = activate_command(unit, layout, {"r1", "c1", "", false, true, ""}, {},
                                 {{"current", {{"release", "r1"}}}});
  REQUIRE(reload);
  REQUIRE(run_on_local_shell(*reload, {{"PID_SEEN", seen.string()}}).ok());
  CHECK(std::stol(slurp(seen)) == sleeper);
  kill_marked(d);
}

TEST_CASE("activate: a slow players command never carries the wait past its deadline") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  place_release(d, "r1", "1");
  place_release(d, "r2", "2");
  Unit unit = supervised_unit(d);
  HostLayout layout{d.string()};
  REQUIRE(activate_to(unit, d, "r1").ok());
  // Each read of the count takes 10 s; the deadline is 3 s, the notice at 2 s.
  unit.drain.players = "sleep 10; echo 3";
  unit.drain.notices = {std::chrono::seconds(2)};
  unit.drain.deadline = std::chrono::seconds(3);
  auto started = std::chrono::steady_clock::now();
  auto r = activate_to(unit, d, "r2");
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  REQUIRE_MESSAGE(r.ok(), r.err);
  CHECK(took < 8);  // before: one 10 s read past the deadline
  CHECK(r.out.find("@flotilla:notice") != std::string::npos);  // the due notice was sent
  CHECK(fs::read_symlink(d / "current") == "releases/r2");
  kill_marked(d);
}

namespace {

// A host clock that moves only when slept on: `date +%s%3N` and `date +%s`
// read FAKE_CLOCK (milliseconds); `sleep N` adds N seconds to it and
// returns at once (a fraction of a second really sleeps: the loops that
// wait for a process to exit need real time). Everything else is the real
// command. What activate.sh decides by its clock is then tested in
// milliseconds of real time.
struct HostClock {
  explicit HostClock(ScratchDir& dir) : file(dir.path / "clock-ms") {
    std::ofstream(file) << "1800000000000\n";
    fs::path bin = dir.path / "fake-bin";
    fs::create_directories(bin);
    std::ofstream(bin / "date") << "#!/bin/sh\n"
                                   "ms=$(cat \"$FAKE_CLOCK\")\n"
                                   "case $* in\n"
                                   "  +%s%3N) echo \"$ms\" ;;\n"
                                   "  +%s) echo $((ms / 1000)) ;;\n"
                                   "  *) exec /bin/date \"$@\" ;;\n"
                                   "esac\n";
    std::ofstream(bin / "sleep") << "#!/bin/sh\n"
                                    "case $1 in *.*) exec /bin/sleep \"$1\" ;; esac\n"
                                    "ms=$(cat \"$FAKE_CLOCK\")\n"
                                    "echo $((ms + $1 * 1000)) > \"$FAKE_CLOCK\"\n";
    fs::permissions(bin / "date", fs::perms::owner_all);
    fs::permissions(bin / "sleep", fs::perms::owner_all);
    env = {{"FAKE_CLOCK", file.string()}, {"PATH", bin.string() + ":/usr/bin:/bin"}};
  }
  long elapsed_seconds() const {
    std::ifstream in(file);
    long long ms = 0;
    in >> ms;
    return static_cast<long>((ms - 1'800'000'000'000LL) / 1000);
  }
  fs::path file;
  std::map<std::string, std::string> env;
};

CommandResult activate_on_clock(const Unit& unit, const fs::path& d, const std::string& release,
                                const HostClock& clock) {
  auto cmd = activate_command(unit, HostLayout{d.string()}, {release, "", "", true, true, ""}, {},
                              {{"current", {{"release", release}}}});
  REQUIRE(cmd);
  return run_on_local_shell(*cmd, clock.env);
}

}  // namespace

TEST_CASE(
    "activate: the player drain's deadline, on the host's clock: two minutes of players "
    "who never leave, each notice once, then the restart") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  place_release(d, "r1", "1");
  place_release(d, "r2", "2");
  Unit unit = supervised_unit(d);
  unit.run = "exec /bin/sleep 30";  // the service sleeps in real time
  HostClock clock(dir);
  REQUIRE(activate_on_clock(unit, d, "r1", clock).ok());
  unit.drain.players = "echo 3";
  unit.drain.notices = {std::chrono::seconds(60), std::chrono::seconds(30)};
  unit.drain.deadline = std::chrono::minutes(2);
  auto started = std::chrono::steady_clock::now();
  auto r = activate_on_clock(unit, d, "r2", clock);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  REQUIRE_MESSAGE(r.ok(), r.err);
  CHECK(clock.elapsed_seconds() >= 120);
  CHECK(clock.elapsed_seconds() < 125);
  CHECK(took < 60);  // two minutes of the host's clock, not of ours
  auto count = [&](const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = r.out.find(what); at != std::string::npos; at = r.out.find(what, at + 1))
      ++n;
    return n;
  };
  CHECK(count("@flotilla:notice ") == 2);
  CHECK(r.out.find("@flotilla:notice 60\n") != std::string::npos);
  CHECK(r.out.find("@flotilla:notice 30\n") != std::string::npos);
  CHECK(r.out.find("@flotilla:players 3 0\n") != std::string::npos);
  CHECK(r.err.find("drain deadline reached with 3 player(s)") != std::string::npos);
  CHECK(fs::read_symlink(d / "current") == "releases/r2");
  kill_marked(d);
}

TEST_CASE("activate: players who leave end the drain at once, before any notice is due") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  place_release(d, "r1", "1");
  place_release(d, "r2", "2");
  Unit unit = supervised_unit(d);
  unit.run = "exec /bin/sleep 30";
  HostClock clock(dir);
  REQUIRE(activate_on_clock(unit, d, "r1", clock).ok());
  // 3, 2, 1, 0 players, one fewer each second of the host's clock.
  dir.write("players", "3\n");
  unit.drain.players =
      fmt::format("n=$(cat {0}); echo \"$n\"; [ \"$n\" -gt 0 ] && echo $((n - 1)) > {0}; true",
                  shell_quote((dir.path / "players").string()));
  unit.drain.notices = {std::chrono::seconds(60)};
  unit.drain.deadline = std::chrono::minutes(10);
  auto r = activate_on_clock(unit, d, "r2", clock);
  REQUIRE_MESSAGE(r.ok(), r.err);
  CHECK(clock.elapsed_seconds() >= 3);
  CHECK(clock.elapsed_seconds() < 10);
  CHECK(r.out.find("@flotilla:players 0 ") != std::string::npos);
  CHECK(r.out.find("@flotilla:notice") == std::string::npos);
  CHECK(r.err.find("drain deadline") == std::string::npos);
  kill_marked(d);
}
