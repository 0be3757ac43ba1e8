// The scripts that read a unit's hosts, under /bin/sh: the log patrol
// (logs_count.sh), following logs (logs_follow.sh), the restore drill
// (backup_verify.sh) and a release taken from a host (release_export.sh).
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "core/script_command.hpp"
#include "core/shell_quote.hpp"
#include "playbooks/host_commands.hpp"
#include "playbooks/unit_logs.hpp"
#include "support/fake_transport.hpp"
#include "support/local_shell.hpp"
#include "support/scratch_dir.hpp"

namespace flotilla {
namespace {

namespace fs = std::filesystem;

using test::run_on_local_shell;

std::string stamp(int seconds_ago) {
  std::time_t t = std::time(nullptr) - seconds_ago;
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return text;
}

Unit unit_at(const fs::path& deploy_to) {
  Unit unit;
  unit.name = "app";
  unit.deploy_to = deploy_to.string();
  return unit;
}

}  // namespace

TEST_CASE("logs_count: only stamped lines inside the window that match, the newest few") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  dir.write("srv/shared/log/a.log",
            fmt::format("{} ERROR old\n{} ERROR one\nERROR unstamped\n"
                        "{} INFO fine\n{} ERROR two\n{} ERROR three\n",
                        "2020-01-01T00:00:00Z", stamp(300), stamp(200), stamp(100), stamp(5)));
  auto out = run_on_local_shell(
      script_command(HostScript::kLogsCount, {d.string(), "600", "2", "ERROR", "shared/log/*.log"},
                     "", std::chrono::seconds(5)));
  REQUIRE(out.ok());
  auto counted = parse_patrol(out.out, 2);
  REQUIRE(counted);
  CHECK(counted->count == 3);
  REQUIRE(counted->lines.size() == 2);
  CHECK(counted->lines[0].find("ERROR two") != std::string::npos);
  CHECK(counted->lines[1].find("ERROR three") != std::string::npos);

  // The patrol over a fleet of one: over --max is a failure, at it is not.
  FakeTransport host;
  host.respond([](std::size_t, const RemoteCommand& command) {
    return Result<CommandResult>(run_on_local_shell(command));
  });
  std::FILE* sink = std::tmpfile();
  Reporter reporter{ReporterOptions{.json = true}, sink, sink};
  PatrolQuery query{"ERROR", std::chrono::minutes(10), 3, 3, std::chrono::seconds(5)};
  CHECK(patrol_logs(host, {"h1"}, unit_at(d), query, reporter).ok());
  query.max = 2;
  CHECK_FALSE(patrol_logs(host, {"h1"}, unit_at(d), query, reporter).ok());
  std::fclose(sink);

  auto none = run_on_local_shell(script_command(HostScript::kLogsCount,
                                                {d.string(), "600", "2", "", "nothing/*.log"}, "",
                                                std::chrono::seconds(5)));
  CHECK(exited_with(none, HostExit::kNoLogs));
  CHECK(exited_with(run_on_local_shell(script_command(HostScript::kLogsCount,
                                                      {d.string(), "6m", "2", "", "*.log"}, "",
                                                      std::chrono::seconds(5))),
                    HostExit::kUsage));
}

TEST_CASE("logs_follow: says when it follows, then only new matching lines, named by file") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  fs::path log = dir.write("srv/shared/log/a.log", "ERROR before\n");
  RemoteCommand follow = logs_follow_command(unit_at(d), "ERROR");
  // Lines arrive while it follows; it is stopped after a second and a half.
  follow.command = fmt::format(
      "(sleep 0.5; printf 'INFO skip\\nERROR after\\n' >> {}) & "
      "timeout 1.5 sh -c {}; wait",
      shell_quote(log.string()), shell_quote(follow.command));
  auto out = run_on_local_shell(follow);
  CHECK(out.out == "#flotilla-follow\nshared/log/a.log\tERROR after\n");
}

TEST_CASE("backup_verify: the backup's location is a value, never script text; its exit is kept") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  fs::create_directories(d / "releases/r1");
  fs::create_directory_symlink("releases/r1", d / "current");
  std::string location = "/backups/1'; touch pwned; echo '$(touch pwned2)";
  auto verify = [&](const std::string& command) {
    return run_on_local_shell(script_command(
        HostScript::kBackupVerify, {d.string(), location, command}, "", std::chrono::seconds(5)));
  };
  auto out = verify("pwd; printf '%s\\n' \"$FLOTILLA_BACKUP\"");
  REQUIRE(out.ok());
  CHECK(out.out == (d / "current").string() + "\n" + location + "\n");  // in the running release
  CHECK_FALSE(fs::exists(d / "releases/r1/pwned"));
  CHECK_FALSE(fs::exists("pwned2"));
  CHECK(verify("exit 3").exit_status == 3);
  CHECK(exited_with(run_on_local_shell(script_command(HostScript::kBackupVerify, {d.string()}, "",
                                                      std::chrono::seconds(5))),
                    HostExit::kUsage));
}

TEST_CASE("release_export: only a release assembled here leaves as a tar, file for file") {
  ScratchDir dir;
  fs::path d = dir.path / "srv";
  const std::string id = "0123abcd";
  dir.write("srv/releases/" + id + "/bin/app", "#!/bin/sh\n");
  dir.write("srv/releases/" + id + "/VERSION", "7\n");
  auto export_release = [&](const std::string& which) {
    return run_on_local_shell(script_command(HostScript::kReleaseExport, {d.string(), which}, "",
                                             std::chrono::seconds(5)));
  };
  // Not verified here yet (no checksum list): refused.
  CHECK(exited_with(export_release(id), HostExit::kMissing));
  dir.write("srv/.flotilla/manifests/" + id + ".sums", "");
  auto out = export_release(id);
  REQUIRE(out.ok());
  fs::path tar = dir.write("out.tar", out.out);
  RemoteCommand list;
  list.command = fmt::format("tar -tf {} | sort", shell_quote(tar.string()));
  auto listing = run_on_local_shell(list);
  CHECK(listing.out == "./\n./VERSION\n./bin/\n./bin/app\n");
  // A release that is a link elsewhere, or a name that is not an id: refused.
  fs::create_directory_symlink("/etc", d / "releases/feedf00d");
  dir.write("srv/.flotilla/manifests/feedf00d.sums", "");
  CHECK(exited_with(export_release("feedf00d"), HostExit::kMissing));
  CHECK(exited_with(export_release("../" + id), HostExit::kUsage));
  CHECK(exited_with(export_release(""), HostExit::kUsage));
}

}  // namespace flotilla
