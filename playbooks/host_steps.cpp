#include "playbooks/host_steps.hpp"

#include <chrono>
#include <set>

#include <fmt/format.h>

#include "core/shell_quote.hpp"

namespace flotilla {
namespace {

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// Shell: $H hashes the files it is given, one "SHA256 NAME" line each, in
// order. OpenSSL uses the CPU's SHA extensions, about 5x faster than
// coreutils' sha256sum; hosts without the openssl tool use sha256sum.
constexpr const char* kShellHasher =
    "if command -v openssl >/dev/null 2>&1; then H='openssl dgst -sha256 -r'; else "
    "H='sha256sum --'; fi; ";

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
      "mkdir \"$in\"; tar -x{}f - -C \"$in\"; cd \"$in\"; {}"
      "if [ -n \"$(ls -A)\" ]; then $H * | while read -r sum name; do name=${{name#\\*}}; "
      "[ \"$sum\" = \"$name\" ] || {{ echo \"corrupt in transit: $name\" >&2; exit 65; }}; done; "
      "find . -maxdepth 1 -type f -exec mv -f -t \"$s\" -- {{}} +; fi",
      shell_quote(layout.store()), gzipped ? "z" : "", kShellHasher);
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
      "sums=\"$t.sums\"; : > \"$sums\"; trap 'rm -rf \"$t\" \"$sums\" \"$t.want\"' EXIT; "
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
      // Every file against the manifest, hashes compared in manifest order.
      "{}cut -c1-64 \"$sums\" > \"$t.want\"; (cd \"$t\" && cut -c67- \"$sums\" | sed 's|^|./|' | "
      "tr '\\n' '\\0' | xargs -0 -r $H | "
      "cut -c1-64 | cmp -s - \"$t.want\") || {{ "
      // A damaged store file (bit rot, a hand edit) is removed, so the
      // next survey finds it missing and the next deploy sends it again.
      "n=0; for h in $(sort -u \"$t.want\"); do [ \"$($H \"$s/$h\" | cut -c1-64)\" = \"$h\" ] || "
      "{{ "
      "rm -f -- \"$s/$h\"; n=$((n+1)); }}; done; echo \"release $id failed verification: $n "
      "damaged "
      "file(s) removed from the store; the next deploy sends them again\" >&2; exit 65; }}; "
      "mkdir -p \"$d/.flotilla/manifests\"; mv -f -- \"$sums\" "
      "\"$d/.flotilla/manifests/$id.sums\"; "
      "mv -T -- \"$t\" \"$final\"",
      shell_quote(layout.deploy_to), shell_quote(layout.store()), shell_quote(manifest.id),
      kShellHasher);
  return RemoteCommand{std::move(script), std::move(listing), std::chrono::minutes(10)};
}

Result<RemoteCommand> activate_command(const Unit& unit, const HostLayout& layout,
                                       const Activation& target,
                                       std::map<std::string, std::string> vars,
                                       const nlohmann::json& state) {
  vars["release"] = target.release;
  vars["config_dir"] = target.config.empty() ? layout.shared() + "/config"
                                             : layout.state_dir() + "/configs/" + target.config;
  auto expand = [&](const std::string& text) { return expand_command(text, vars, layout); };
  std::string script;
  Error bad;
  // Appends one step built around a unit command; a template error stops
  // the build of the script.
  auto add = [&](const std::string& format_text, const std::string& command) {
    if (command.empty() || !bad.message.empty()) return;
    auto c = expand(command);
    if (!c) {
      bad = c.error();
      return;
    }
    // The first "{}" takes the quoted command; other braces are shell's.
    std::string step = format_text;
    step.replace(step.find("{}"), 2, shell_quote(*c));
    script += step;
  };
  // Lines the controller's live view reads from stdout (kPhaseMarker).
  auto phase = [&](const char* name) {
    script += fmt::format("echo '{}{}'; ", kPhaseMarker, name);
  };
  auto hook = [&](const char* name) {
    auto it = unit.hooks.find(name);
    if (it == unit.hooks.end()) return;
    add(fmt::format("(cd \"$d/current\" 2>/dev/null || cd \"$d\"; sh -c {{}}) || {{ echo 'hook {} "
                    "failed' >&2; exit 71; }}; ",
                    name),
        it->second);
  };
  // The host finishes the step it started even if the controller is killed
  // (SIGHUP when sshd drops the session, SIGPIPE on a closed channel).
  script = fmt::format(
      "trap '' HUP PIPE; set -u; d={}; cd \"$d\" || exit 3; mkdir -p shared/log .flotilla; ",
      shell_quote(layout.deploy_to));
  if (!target.release.empty()) {
    script += fmt::format(
        "r={}; [ -d \"releases/$r\" ] || {{ echo \"release $r is not on this host\" >&2; exit 66; "
        "}}; ",
        shell_quote(target.release));
  }
  if (!target.config.empty()) {
    script += fmt::format(
        "c={}; [ -d \".flotilla/configs/$c\" ] || {{ echo \"config $c is not on this host\" >&2; "
        "exit 66; }}; ",
        shell_quote(target.config));
    // Checked by the release that will read it, before anything stops.
    if (!unit.config_check.empty()) phase("config check");
    std::string dir = target.restart && !target.release.empty() ? "releases/$r" : "current";
    add("(cd \"" + dir +
            "\" && FLOTILLA_CONFIG_DIR=\"$d/.flotilla/configs/$c\" sh -c {}) >&2 || { echo 'config "
            "check failed' >&2; exit 73; }; ",
        unit.config_check);
  }
  if (!target.secrets.empty()) {
    script += fmt::format(
        "sv={}; [ -d \"shared/.secrets/$sv\" ] || {{ echo \"secrets $sv are not on this host\" "
        ">&2; exit 66; }}; ",
        shell_quote(target.secrets));
  }
  std::string switch_config =
      target.config.empty()
          ? std::string()
          : "ln -sfn \"../.flotilla/configs/$c\" .flotilla/config.next && mv -Tf "
            ".flotilla/config.next shared/config || { echo 'cannot switch shared/config' >&2; exit "
            "75; }; ";
  if (!target.secrets.empty()) {
    switch_config +=
        "ln -sfn \".secrets/$sv\" .flotilla/secrets.next && mv -Tf .flotilla/secrets.next "
        "shared/secrets || { echo 'cannot switch shared/secrets' >&2; exit 75; }; ";
  }
  long drain_tenths = static_cast<long>(seconds(unit.drain.timeout) * 10);

  if (!target.restart) {
    // Config only: the running process stays (same pid), it reloads.
    phase("reloading");
    script += switch_config;
    if (!unit.reload.empty()) {
      add("(cd current && sh -c {}) || { echo 'reload failed' >&2; exit 74; }; ", unit.reload);
    } else {
      script +=
          "kill -HUP \"$(cat .flotilla/pid 2>/dev/null)\" 2>/dev/null || { echo 'reload failed: no "
          "running process' >&2; exit 74; }; ";
    }
  } else {
    // Drain: tell the service, wait until it says it is drained (or the timeout).
    phase("draining");
    hook("before_drain");
    add("(cd current 2>/dev/null && sh -c {}) || true; ", unit.drain.command);
    add(fmt::format(
            "i=0; until (cd current 2>/dev/null && sh -c {{}}); do i=$((i+1)); [ $i -ge {} ] "
            "&& break; sleep 0.1; done; ",
            drain_tenths),
        unit.drain.check);
    // Stop.
    phase("stopping");
    hook("before_stop");
    if (!unit.run.empty()) {
      // The supervised process leads its own process group: the whole group
      // gets SIGTERM, and SIGKILL once the drain timeout has passed.
      script += fmt::format(
          "{}if [ -f .flotilla/pid ] && p=$(cat .flotilla/pid) && alive \"$p\"; then "
          "kill -TERM -- \"-$p\" 2>/dev/null || kill -TERM \"$p\"; i=0; "
          "while alive \"$p\"; do i=$((i+1)); "
          "if [ $i -ge {} ]; then kill -KILL -- \"-$p\" 2>/dev/null || kill -KILL \"$p\"; fi; "
          "sleep "
          "0.1; done; fi; "
          "rm -f .flotilla/pid; ",
          kShellAlive, std::max(drain_tenths, 1L));
    } else {
      add("(cd current 2>/dev/null || cd \"$d\"; sh -c {}) || true; ", unit.stop);
    }
    hook("after_stop");
    if (!bad.message.empty()) return tl::unexpected(bad);
    if (target.release.empty()) {
      // Back to nothing: the host ran no release before this deploy.
      script += "rm -f current .flotilla/state.json; cat > /dev/null; exit 0";
      return RemoteCommand{std::move(script), "", std::chrono::minutes(10)};
    }
    script += switch_config;
    phase("switching");
    // Switch: a new symlink under a temp name, renamed over `current`;
    // readers see the old release or the new one, never nothing.
    script +=
        "ln -sfn \"releases/$r\" .flotilla/current.next && mv -Tf .flotilla/current.next current; ";
    // Start.
    phase("starting");
    hook("before_start");
    if (!unit.run.empty()) {
      add(fmt::format("cd current && setsid -f sh -c 'echo $$ > \"$1\"; exec sh -c \"$2\"' "
                      "flotilla-run \"$d/.flotilla/pid\" {{}} >> \"$d/shared/log/{}.log\" 2>&1 < "
                      "/dev/null; i=0; while [ ! -s \"$d/.flotilla/pid\" ] && [ $i -lt 50 ]; do "
                      "i=$((i+1)); sleep 0.02; done; cd \"$d\"; ",
                      unit.name),
          unit.run);
    } else {
      add("(cd current && sh -c {}) || { echo 'start failed' >&2; exit 72; }; ", unit.start);
    }
    hook("after_start");
  }
  // Health.
  if (unit.health) {
    // The last try's output (a few lines) says why it failed.
    add(fmt::format("i=0; until echo \"{}health check $((i+1))/{}\"; out=$(cd current && timeout "
                    "{:.3f} sh -c {{}} 2>&1 </dev/null); do "
                    "i=$((i+1)); if [ $i -gt {} ]; then printf '%s\\n' \"$out\" | tail -n 5 | "
                    "sed 's/^/  | /' >&2; echo {} >&2; exit 70; fi; sleep {:.3f}; done; ",
                    kPhaseMarker, unit.health->retries + 1, seconds(unit.health->timeout),
                    unit.health->retries,
                    shell_quote(fmt::format("health check failed after {} tries: {}",
                                            unit.health->retries + 1, unit.health->command)),
                    seconds(unit.health->interval)),
        unit.health->command);
  }
  hook("after_health");
  if (!bad.message.empty()) return tl::unexpected(bad);
  phase("recording");
  script +=
      "cat > .flotilla/state.json.next && mv -f .flotilla/state.json.next .flotilla/state.json";
  return RemoteCommand{std::move(script), state.dump(1) + "\n", std::chrono::minutes(30)};
}

RemoteCommand finish_command(const HostLayout& layout, const std::string& history_line,
                             const std::vector<std::string>& keep_releases,
                             const std::vector<std::string>& keep_configs) {
  auto words = [](const std::vector<std::string>& ids) {
    std::string out = " ";
    for (const auto& id : ids) out += id + " ";
    return shell_quote(out);
  };
  // Store files are kept by the checksum lists of kept releases; a release
  // without one (assembled by an older flotilla) keeps the whole store.
  std::string script = fmt::format(
      "trap '' HUP PIPE; d={}; cd \"$d\" 2>/dev/null || {{ cat >/dev/null; exit 0; }}; "
      "mkdir -p .flotilla; cat >> .flotilla/history.jsonl; "
      "if [ \"$(wc -l < .flotilla/history.jsonl)\" -gt 1000 ]; then tail -n 500 "
      ".flotilla/history.jsonl > .flotilla/history.next && mv -f .flotilla/history.next "
      ".flotilla/history.jsonl; fi; ",
      shell_quote(layout.deploy_to));
  if (keep_releases.empty()) {
    script += "exit 0";
    return RemoteCommand{std::move(script), history_line + "\n", std::chrono::minutes(5)};
  }
  script += fmt::format(
      "kr={}; kc={}; cur=$(readlink current 2>/dev/null); cfg=$(readlink shared/config "
      "2>/dev/null); "
      "for p in releases/*; do [ -d \"$p\" ] || continue; id=${{p#releases/}}; case \"$kr\" in *\" "
      "$id \"*) continue;; esac; [ \"$cur\" = \"$p\" ] && continue; rm -rf -- \"$p\" "
      "\".flotilla/manifests/$id.sums\"; done; "
      "for p in .flotilla/configs/*; do [ -d \"$p\" ] || continue; id=${{p#.flotilla/configs/}}; "
      "case \"$kc\" in *\" $id \"*) continue;; esac; [ \"$cfg\" = \"../$p\" ] && continue; rm -rf "
      "-- "
      "\"$p\"; done; "
      "all=1; for p in releases/*; do [ -d \"$p\" ] || continue; [ -f "
      "\".flotilla/manifests/${{p#releases/}}.sums\" ] "
      "|| all=0; done; "
      "if [ $all = 1 ] && [ -d .flotilla/store ]; then k=.flotilla/keep.$$; "
      "cat .flotilla/manifests/*.sums 2>/dev/null | cut -c1-64 | LC_ALL=C sort -u > \"$k\"; "
      "ls -1 .flotilla/store | LC_ALL=C sort | LC_ALL=C comm -23 - \"$k\" | (cd .flotilla/store && "
      "xargs -r rm -f --); rm -f \"$k\"; fi; "
      // Old secret versions go as soon as a change succeeded: no rollback
      // goes back to a secret (a rotated key may have been revoked).
      "sl=$(readlink shared/secrets 2>/dev/null); for p in shared/.secrets/*; do [ -d \"$p\" ] || "
      "continue; [ \"$sl\" = \".secrets/${{p#shared/.secrets/}}\" ] || rm -rf -- \"$p\"; done; "
      "exit 0",
      words(keep_releases), words(keep_configs));
  return RemoteCommand{std::move(script), history_line + "\n", std::chrono::minutes(5)};
}

}  // namespace flotilla
