#include "snapshots/ledger.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

namespace flotilla {
namespace fs = std::filesystem;

Ledger::Ledger(const std::string& state_dir, const std::string& environment)
    : dir_(state_dir + "/snapshots/" + environment) {}

std::string Ledger::path(long id) const { return fmt::format("{}/{}.json", dir_, id); }

Result<std::vector<Snapshot>> Ledger::list(const std::string& unit) const {
  std::vector<Snapshot> out;
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) return out;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 6 || name.substr(name.size() - 5) != ".json" ||
        name.find_first_not_of("0123456789") != name.size() - 5) {
      continue;
    }
    std::ifstream in(entry.path());
    nlohmann::json doc;
    try {
      doc = nlohmann::json::parse(in);
    } catch (const std::exception& e) {
      return fail(ErrorKind::kFailed,
                  fmt::format("{}: not valid JSON: {}", entry.path().string(), e.what()));
    }
    auto snapshot = Snapshot::from_json(doc, entry.path().string());
    if (!snapshot) return tl::unexpected(snapshot.error());
    if (unit.empty() || snapshot->unit == unit) out.push_back(std::move(*snapshot));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

Result<void> Ledger::save(const Snapshot& snapshot) const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return fail(ErrorKind::kFailed, fmt::format("cannot create {}: {}", dir_, ec.message()));
  std::string tmp = fmt::format("{}.tmp.{}", path(snapshot.id), ::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << snapshot.to_json().dump(1) << "\n";
    out.flush();
    if (!out) return fail(ErrorKind::kFailed, fmt::format("cannot write {}", tmp));
  }
  fs::rename(tmp, path(snapshot.id), ec);
  if (ec) {
    fs::remove(tmp);
    return fail(ErrorKind::kFailed,
                fmt::format("cannot write {}: {}", path(snapshot.id), ec.message()));
  }
  return {};
}

namespace {

// What a change was, as every host's copy of its record must say alike.
bool same_change(const Snapshot& a, const Snapshot& b) {
  return a.environment == b.environment && a.unit == b.unit && a.kind == b.kind &&
         a.artifact == b.artifact && a.config == b.config && a.commit == b.commit &&
         a.outcome == b.outcome && a.restores == b.restores;
}

}  // namespace

Result<std::vector<Snapshot>> Ledger::merge(const std::vector<Snapshot>& from_hosts,
                                            std::optional<long> highest_id) const {
  auto all = list();
  if (!all) return tl::unexpected(all.error());
  std::map<long, Snapshot> by_id;
  for (auto& s : *all) by_id.emplace(s.id, std::move(s));
  std::map<long, std::vector<const Snapshot*>> copies_of;
  for (const auto& copy : from_hosts) {
    if (highest_id && copy.id > *highest_id) continue;  // no counter ever gave that id
    copies_of[copy.id].push_back(&copy);
  }
  std::set<long> changed;
  for (const auto& [id, copies] : copies_of) {
    auto [it, added] = by_id.emplace(id, *copies.front());
    Snapshot& mine = it->second;
    if (added) {
      changed.insert(id);
      mine.hosts.clear();
      mine.signature.clear();
      mine.signed_hosts.clear();
      for (const Snapshot* copy : copies) {
        if (!copy->disputed.empty() && mine.disputed.empty()) mine.disputed = copy->disputed;
        if (!same_change(*copy, *copies.front()) && mine.disputed.empty()) {
          mine.disputed = "the hosts' copies disagree on what the change was";
        }
      }
      if (!mine.disputed.empty()) mine.outcome = "disputed";
    }
    for (const Snapshot* copy : copies) {
      for (const auto& [host, record] : copy->hosts) {
        auto known = mine.hosts.find(host);
        if (known == mine.hosts.end() ||
            (known->second.outcome == "running" && record.outcome != "running")) {
          mine.hosts[host] = record;
          changed.insert(id);
        }
      }
    }
    // How a change that never finished here ended: only when every host's
    // copy says the same, and every host it was changing has one (hosts
    // record themselves as they finish, so a controller killed mid-change
    // leaves some hosts without a copy).
    if (!added && mine.outcome == "running") {
      const Snapshot& first = *copies.front();
      bool agreed = first.outcome != "running";
      for (const Snapshot* copy : copies) {
        agreed = agreed && copy->outcome == first.outcome && copy->disputed.empty();
      }
      for (const auto& [host, record] : mine.hosts) agreed = agreed && record.outcome != "running";
      if (agreed) {
        mine.outcome = first.outcome;
        mine.finished = first.finished;
        changed.insert(id);
      }
    }
  }
  std::vector<Snapshot> out;
  for (auto& [id, snapshot] : by_id) {
    if (changed.count(id)) {
      if (auto saved = save(snapshot); !saved) return tl::unexpected(saved.error());
    }
    out.push_back(std::move(snapshot));
  }
  return out;
}

}  // namespace flotilla
