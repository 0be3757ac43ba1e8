#include "playbooks/change/release.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "snapshots/fleet_history.hpp"
#include "snapshots/ledger.hpp"

namespace flotilla {
namespace {

Result<std::vector<std::string>> unit_list(const Project& project, const ReleaseSpec& spec) {
  std::vector<std::string> units = spec.units;
  if (spec.all) {
    if (!units.empty()) return fail(ErrorKind::kBadInput, "give units or --all, not both");
    units = project.release_order;
    if (units.empty()) {
      for (const auto& u : project.units) units.push_back(u.name);
    }
  }
  if (units.empty()) return fail(ErrorKind::kBadInput, "name at least one unit (or --all)");
  std::set<std::string> seen;
  for (const auto& name : units) {
    if (project.unit(name) == nullptr) {
      return fail(ErrorKind::kBadInput, fmt::format("unknown unit '{}' in {}", name, project.path));
    }
    if (!seen.insert(name).second) {
      return fail(ErrorKind::kBadInput, fmt::format("unit '{}' is named twice", name));
    }
  }
  return units;
}

Result<const Environment*> other_environment(const Project& project, const Environment& target,
                                             const std::string& name, const char* option) {
  const Environment* env = project.environment(name);
  if (env == nullptr) {
    return fail(ErrorKind::kBadInput,
                fmt::format("{} {}: unknown environment in {}", option, name, project.path));
  }
  if (env->name == target.name) {
    return fail(ErrorKind::kBadInput,
                fmt::format("{} {}: that is the environment being changed", option, name));
  }
  return env;
}

Result<StoredTarget> must_run(const Project& project, const std::string& environment,
                              const std::string& unit) {
  auto running = running_in(project, environment, unit);
  if (!running) return tl::unexpected(running.error());
  if (!*running) {
    return fail(ErrorKind::kBadInput,
                fmt::format("{} never succeeded with {} (no succeeded snapshot in this "
                            "controller's ledger): nothing to take from it",
                            environment, unit));
  }
  return **running;
}

nlohmann::json state_json(const std::optional<StoredTarget>& state) {
  if (!state) return nullptr;
  return {{"release", state->release}, {"config", state->config}, {"snapshot", state->snapshot}};
}

}  // namespace

Result<std::optional<StoredTarget>> running_in(const Project& project,
                                               const std::string& environment,
                                               const std::string& unit) {
  auto history = Ledger(project.state_dir, environment).list(unit);
  if (!history) return tl::unexpected(history.error());
  auto newest = std::find_if(history->rbegin(), history->rend(),
                             [](const Snapshot& s) { return s.succeeded(); });
  if (newest == history->rend()) return std::optional<StoredTarget>();
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> running;
  StoredTarget out;
  for (const auto& [host, p] : fleet_at(*history, newest->id)) {
    if (p.release.empty()) continue;
    running[{p.release, p.config}].push_back(host);
    out.commit = p.commit;
    out.branch = p.branch;
  }
  if (running.empty()) return std::optional<StoredTarget>();
  if (running.size() > 1) {
    std::vector<std::string> parts;
    for (const auto& [version, hosts] : running) {
      parts.push_back(fmt::format("{} on {}", version.first.substr(0, 12), fmt::join(hosts, ",")));
    }
    return fail(ErrorKind::kBadInput,
                fmt::format("{}'s hosts run different releases of {} ({}): it has no one "
                            "artifact to take",
                            environment, unit, fmt::join(parts, "; ")));
  }
  out.release = running.begin()->first.first;
  out.config = running.begin()->first.second;
  out.environment = environment;
  out.snapshot = newest->id;
  return std::optional<StoredTarget>(std::move(out));
}

Result<std::vector<ChangeRequest>> release_rollback(const std::vector<Snapshot>& ledger,
                                                    long release, const ChangeRequest& base) {
  std::vector<const Snapshot*> changes;
  for (const auto& s : ledger) {
    if (s.release == release && rules_of(s.kind).undone_with_release) changes.push_back(&s);
  }
  if (changes.empty()) {
    return fail(ErrorKind::kBadInput,
                fmt::format("no release {} in this environment's ledger (see `flotilla history`)",
                            release));
  }
  std::vector<ChangeRequest> out;
  for (auto it = changes.rbegin(); it != changes.rend(); ++it) {
    const Snapshot& change = **it;
    const Snapshot* before = nullptr;
    for (const auto& s : ledger) {
      if (s.unit == change.unit && s.id < change.id && s.succeeded()) before = &s;
    }
    if (before == nullptr) {
      return fail(ErrorKind::kBadInput,
                  fmt::format("release {} brought {} to this environment for the first time "
                              "(snapshot {}): there is nothing to go back to",
                              release, change.unit, change.id));
    }
    ChangeRequest r = base;
    r.kind = ChangeKind::kRollback;
    r.unit = change.unit;
    r.to = before->id;
    out.push_back(std::move(r));
  }
  return out;
}

namespace {

// `rollback --release ID`: every unit it changed, back, newest first.
Result<Release> release_undo(const Project& project, const Environment& target,
                             const ReleaseSpec& spec) {
  auto ledger = Ledger(project.state_dir, target.name).list();
  if (!ledger) return tl::unexpected(ledger.error());
  auto changes = release_rollback(*ledger, *spec.release, spec.base);
  if (!changes) return tl::unexpected(changes.error());
  Release release;
  release.changes = std::move(*changes);
  release.rollback_on_failure = false;  // a rollback is not undone by another
  release.description = fmt::format("rollback --release {}", *spec.release);
  return release;
}

// The rehearsal: first `like`'s state (a reset per unit that ran there),
// then the change it would get.
Result<void> add_rehearsal(const Project& project, const Environment& target,
                           const ReleaseSpec& spec, const std::vector<std::string>& units,
                           Release& release) {
  auto like = other_environment(project, target, spec.like, "--like");
  if (!like) return tl::unexpected(like.error());
  std::vector<ChangeRequest> applies;
  for (const auto& unit : units) {
    auto state = running_in(project, spec.like, unit);
    if (!state) return tl::unexpected(state.error());
    ChangeRequest apply = spec.base;
    apply.kind = ChangeKind::kRehearsal;
    apply.unit = unit;
    apply.policy_environment = spec.like;
    apply.rehearsal = {{"like", spec.like}, {"from", state_json(*state)}};
    if (!spec.from.empty()) {
      // --from may name the rehearsal environment itself: what it ran
      // before the reset (release/N, tested there) is what is rehearsed.
      if (project.environment(spec.from) == nullptr) {
        return fail(ErrorKind::kBadInput,
                    fmt::format("--from {}: unknown environment in {}", spec.from, project.path));
      }
      auto stored = must_run(project, spec.from, unit);
      if (!stored) return tl::unexpected(stored.error());
      apply.stored = std::move(*stored);
    } else {
      apply.ref = spec.ref;
    }
    applies.push_back(std::move(apply));
    if (*state) {
      ChangeRequest reset = spec.base;
      reset.kind = ChangeKind::kDeploy;
      reset.unit = unit;
      reset.stored = **state;
      reset.check_branches = false;
      release.changes.push_back(std::move(reset));
    }
  }
  for (auto& apply : applies) release.changes.push_back(std::move(apply));
  return {};
}

}  // namespace

Result<void> check_release_spec(const ReleaseSpec& spec) {
  if (spec.kind != ChangeKind::kRollback) return {};
  if (spec.release && (!spec.units.empty() || spec.to)) {
    return fail(ErrorKind::kBadInput, "rollback --release ID takes no unit and no --to");
  }
  if (!spec.release && spec.units.size() != 1) {
    return fail(ErrorKind::kBadInput, "rollback: name one unit, or give --release ID");
  }
  return {};
}

Result<Release> make_release(const Project& project, const Environment& target,
                             const ReleaseSpec& spec) {
  if (auto ok = check_release_spec(spec); !ok) return tl::unexpected(ok.error());
  if (spec.release) return release_undo(project, target, spec);
  auto units = unit_list(project, spec);
  if (!units) return tl::unexpected(units.error());
  std::string names = fmt::format("{}", fmt::join(*units, " "));
  Release release;
  release.rollback_on_failure = project.release_failure_rollback;
  std::string source = spec.from.empty() ? "--ref " + spec.ref : "--from " + spec.from;
  if (!spec.like.empty()) {
    if (auto added = add_rehearsal(project, target, spec, *units, release); !added) {
      return tl::unexpected(added.error());
    }
    release.description = fmt::format("rehearse {} like {} ({})", names, spec.like, source);
    return release;
  }
  for (const auto& unit : *units) {
    ChangeRequest r = spec.base;
    r.kind = spec.kind;
    r.unit = unit;
    r.ref = spec.ref;
    r.to = spec.to;
    if (!spec.from.empty()) {
      if (auto from = other_environment(project, target, spec.from, "--from"); !from) {
        return tl::unexpected(from.error());
      }
      auto stored = must_run(project, spec.from, unit);
      if (!stored) return tl::unexpected(stored.error());
      r.stored = std::move(*stored);
    }
    release.changes.push_back(std::move(r));
  }
  release.description = release.changes.size() == 1
                            ? describe_request(release.changes.front())
                            : fmt::format("{} {} {}", change_kind_name(spec.kind), names, source);
  return release;
}

}  // namespace flotilla
