#include "playbooks/host_steps.hpp"

#include <chrono>
#include <set>

#include <fmt/format.h>

#include "core/shell_quote.hpp"

namespace flotilla {
namespace {

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

Result<std::string> expand_command(const std::string& text,
                                   const std::map<std::string, std::string>& vars,
                                   const HostLayout& layout) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    std::size_t open = text.find("{{", pos);
    if (open == std::string::npos) {
      out += text.substr(pos);
      return out;
    }
    std::size_t close = text.find("}}", open);
    if (close == std::string::npos)
      return fail(ErrorKind::kBadInput, fmt::format("unclosed '{{{{' in: {}", text));
    out += text.substr(pos, open - pos);
    std::string name = text.substr(open + 2, close - open - 2);
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    if (name == "pid") {
      out += "\"$(cat " + shell_quote(layout.state_dir() + "/pid") + ")\"";
    } else if (auto it = vars.find(name); it != vars.end()) {
      out += shell_quote(it->second);
    } else {
      return fail(ErrorKind::kBadInput,
                  fmt::format("unknown variable '{{{{{}}}}}' in: {}", name, text));
    }
    pos = close + 2;
  }
}

RemoteCommand receive_command(const HostLayout& layout, std::string bundle, bool gzipped) {
  std::string script = fmt::format(
      "trap '' HUP PIPE; set -e; s={}; mkdir -p \"$s\"; in=\"$s/.incoming.$$\"; trap 'rm -rf "
      "\"$in\"' EXIT; "
      "mkdir \"$in\"; tar -x{}f - -C \"$in\"; cd \"$in\"; "
      "if [ -n \"$(ls -A)\" ]; then sha256sum -- * | while read -r sum name; do "
      "[ \"$sum\" = \"$name\" ] || {{ echo \"corrupt in transit: $name\" >&2; exit 65; }}; done; "
      "find . -maxdepth 1 -type f -exec mv -f -t \"$s\" -- {{}} +; fi",
      shell_quote(layout.store()), gzipped ? "z" : "");
  return RemoteCommand{std::move(script), std::move(bundle), std::chrono::minutes(10)};
}

RemoteCommand assemble_command(const HostLayout& layout, const Manifest& manifest) {
  // The manifest travels on stdin, one entry per line: TYPE MODE SHA PATH,
  // and for links a second line with the target. Paths were checked safe
  // (relative, no "..") when the manifest was made and read.
  std::string listing;
  for (const auto& e : manifest.entries) {
    switch (e.type) {
      case ManifestEntry::Type::kDirectory:
        listing += fmt::format("d {:o} - {}\n", e.mode, e.path);
        break;
      case ManifestEntry::Type::kFile:
        listing += fmt::format("f {:o} {} {}\n", e.mode, e.sha256, e.path);
        break;
      case ManifestEntry::Type::kSymlink:
        listing += fmt::format("l 777 - {}\n{}\n", e.path, e.target);
        break;
    }
  }
  std::string script = fmt::format(
      "trap '' HUP PIPE; set -e; d={}; s={}; id={}; final=\"$d/releases/$id\"; "
      "[ -d \"$final\" ] && exit 0; mkdir -p \"$d/releases\"; "
      "t=\"$d/releases/.$id.partial.$$\"; trap 'rm -rf \"$t\"' EXIT; mkdir \"$t\"; "
      "sums=\"$t.sums\"; : > \"$sums\"; trap 'rm -rf \"$t\" \"$sums\"' EXIT; "
      // Sorted paths put every directory before its contents, so one
      // process per entry suffices (a fork per file is what costs on a busy host).
      "umask 022; while IFS=' ' read -r type mode sha path; do case $type in "
      "d) mkdir -- \"$t/$path\"; [ \"$mode\" = 755 ] || chmod \"$mode\" -- \"$t/$path\";; "
      "f) if [ \"$mode\" = 644 ]; then ln -- \"$s/$sha\" \"$t/$path\" 2>/dev/null || cp -- "
      "\"$s/$sha\" \"$t/$path\"; "
      "else cp -- \"$s/$sha\" \"$t/$path\"; chmod \"$mode\" -- \"$t/$path\"; fi; "
      "printf '%s  %s\\n' \"$sha\" \"$path\" >> \"$sums\";; "
      "l) IFS= read -r target; ln -s -- \"$target\" \"$t/$path\";; "
      "*) echo \"bad manifest line\" >&2; exit 64;; esac; done; "
      "(cd \"$t\" && sha256sum --quiet --strict -c \"$sums\") >&2 || {{ echo \"release $id failed "
      "verification\" >&2; exit 65; }}; "
      "mv -T -- \"$t\" \"$final\"",
      shell_quote(layout.deploy_to), shell_quote(layout.store()), shell_quote(manifest.id));
  return RemoteCommand{std::move(script), std::move(listing), std::chrono::minutes(10)};
}

Result<RemoteCommand> activate_command(const Unit& unit, const HostLayout& layout,
                                       const std::string& release,
                                       const std::map<std::string, std::string>& vars,
                                       const nlohmann::json& state) {
  auto expand = [&](const std::string& text) { return expand_command(text, vars, layout); };
  auto hook = [&](const char* name) -> Result<std::string> {
    auto it = unit.hooks.find(name);
    if (it == unit.hooks.end()) return std::string();
    auto cmd = expand(it->second);
    if (!cmd) return cmd;
    return fmt::format(
        "(cd \"$d/current\" 2>/dev/null || cd \"$d\"; sh -c {}) || {{ echo 'hook {} failed' >&2; "
        "exit 71; }}; ",
        shell_quote(*cmd), name);
  };
  // The host finishes the step it started even if the controller is killed
  // (SIGHUP when sshd drops the session, SIGPIPE on a closed channel).
  std::string script = fmt::format(
      "trap '' HUP PIPE; set -u; d={}; cd \"$d\" || exit 3; mkdir -p shared/log .flotilla; ",
      shell_quote(layout.deploy_to));
  if (!release.empty()) {
    script += fmt::format(
        "r={}; [ -d \"releases/$r\" ] || {{ echo \"release $r is not on this host\" >&2; exit 66; "
        "}}; ",
        shell_quote(release));
  }
  // Drain: tell the service, wait until it says it is drained (or the timeout).
  long drain_tenths = static_cast<long>(seconds(unit.drain.timeout) * 10);
  for (const char* h : {"before_drain"}) {
    auto s = hook(h);
    if (!s) return tl::unexpected(s.error());
    script += *s;
  }
  if (!unit.drain.command.empty()) {
    auto c = expand(unit.drain.command);
    if (!c) return tl::unexpected(c.error());
    script += fmt::format("(cd current 2>/dev/null && sh -c {}) || true; ", shell_quote(*c));
  }
  if (!unit.drain.check.empty()) {
    auto c = expand(unit.drain.check);
    if (!c) return tl::unexpected(c.error());
    script += fmt::format(
        "i=0; until (cd current 2>/dev/null && sh -c {}); do i=$((i+1)); [ $i -ge {} ] && break; "
        "sleep 0.1; done; ",
        shell_quote(*c), drain_tenths);
  }
  // Stop.
  auto before_stop = hook("before_stop");
  if (!before_stop) return tl::unexpected(before_stop.error());
  script += *before_stop;
  if (!unit.run.empty()) {
    // The supervised process leads its own process group: the whole group
    // gets SIGTERM, and SIGKILL once the drain timeout has passed.
    script += fmt::format(
        "if [ -f .flotilla/pid ] && p=$(cat .flotilla/pid) && kill -0 \"$p\" 2>/dev/null; then "
        "kill -TERM -- \"-$p\" 2>/dev/null || kill -TERM \"$p\"; i=0; "
        "while kill -0 \"$p\" 2>/dev/null; do i=$((i+1)); "
        "if [ $i -ge {} ]; then kill -KILL -- \"-$p\" 2>/dev/null || kill -KILL \"$p\"; fi; sleep "
        "0.1; done; fi; "
        "rm -f .flotilla/pid; ",
        std::max(drain_tenths, 1L));
  } else if (!unit.stop.empty()) {
    auto c = expand(unit.stop);
    if (!c) return tl::unexpected(c.error());
    script +=
        fmt::format("(cd current 2>/dev/null || cd \"$d\"; sh -c {}) || true; ", shell_quote(*c));
  }
  auto after_stop = hook("after_stop");
  if (!after_stop) return tl::unexpected(after_stop.error());
  script += *after_stop;

  if (release.empty()) {
    // Back to nothing: the host ran no release before this deploy.
    script += "rm -f current .flotilla/state.json; cat > /dev/null; exit 0";
    return RemoteCommand{std::move(script), "", std::chrono::minutes(10)};
  }
  // Switch: a new symlink under a temp name, renamed over `current`; readers
  // see the old release or the new one, never nothing.
  script +=
      "ln -sfn \"releases/$r\" .flotilla/current.next && mv -Tf .flotilla/current.next current; ";
  // Start.
  auto before_start = hook("before_start");
  if (!before_start) return tl::unexpected(before_start.error());
  script += *before_start;
  if (!unit.run.empty()) {
    auto c = expand(unit.run);
    if (!c) return tl::unexpected(c.error());
    script += fmt::format(
        "cd current && setsid -f sh -c 'echo $$ > \"$1\"; exec sh -c \"$2\"' flotilla-run "
        "\"$d/.flotilla/pid\" {} "
        ">> \"$d/shared/log/{}.log\" 2>&1 < /dev/null; i=0; while [ ! -s \"$d/.flotilla/pid\" ] && "
        "[ $i -lt 50 ]; do "
        "i=$((i+1)); sleep 0.02; done; cd \"$d\"; ",
        shell_quote(*c), unit.name);
  } else if (!unit.start.empty()) {
    auto c = expand(unit.start);
    if (!c) return tl::unexpected(c.error());
    script += fmt::format("(cd current && sh -c {}) || {{ echo 'start failed' >&2; exit 72; }}; ",
                          shell_quote(*c));
  }
  auto after_start = hook("after_start");
  if (!after_start) return tl::unexpected(after_start.error());
  script += *after_start;
  // Health.
  if (unit.health) {
    auto c = expand(unit.health->command);
    if (!c) return tl::unexpected(c.error());
    script += fmt::format(
        "i=0; until (cd current && timeout {:.3f} sh -c {}) >/dev/null 2>&1; do i=$((i+1)); "
        "if [ $i -gt {} ]; then echo {} >&2; exit 70; fi; sleep {:.3f}; done; ",
        seconds(unit.health->timeout), shell_quote(*c), unit.health->retries,
        shell_quote(fmt::format("health check failed after {} tries: {}", unit.health->retries + 1,
                                unit.health->command)),
        seconds(unit.health->interval));
  }
  auto after_health = hook("after_health");
  if (!after_health) return tl::unexpected(after_health.error());
  script += *after_health;
  script +=
      "cat > .flotilla/state.json.next && mv -f .flotilla/state.json.next .flotilla/state.json";
  return RemoteCommand{std::move(script), state.dump(1) + "\n", std::chrono::minutes(30)};
}

}  // namespace flotilla
