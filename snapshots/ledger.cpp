#include "snapshots/ledger.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
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

Result<std::optional<Snapshot>> Ledger::get(long id) const {
  std::ifstream in(path(id));
  if (!in) return std::optional<Snapshot>();
  try {
    auto snapshot = Snapshot::from_json(nlohmann::json::parse(in), path(id));
    if (!snapshot) return tl::unexpected(snapshot.error());
    return std::optional<Snapshot>(std::move(*snapshot));
  } catch (const std::exception& e) {
    return fail(ErrorKind::kFailed, fmt::format("{}: not valid JSON: {}", path(id), e.what()));
  }
}

long Ledger::max_id() const {
  long max = 0;
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) return 0;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string stem = entry.path().stem().string();
    if (entry.path().extension() == ".json" && !stem.empty() &&
        stem.find_first_not_of("0123456789") == std::string::npos) {
      max = std::max(max, std::stol(stem));
    }
  }
  return max;
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

Result<bool> Ledger::merge(const Snapshot& from_host) const {
  auto existing = get(from_host.id);
  if (!existing) return tl::unexpected(existing.error());
  if (!*existing) {
    auto saved = save(from_host);
    if (!saved) return tl::unexpected(saved.error());
    return true;
  }
  Snapshot merged = **existing;
  bool changed = false;
  for (const auto& [host, record] : from_host.hosts) {
    if (!merged.hosts.count(host)) {
      merged.hosts[host] = record;
      changed = true;
    }
  }
  if (merged.outcome == "running" && from_host.outcome != "running") {
    merged.outcome = from_host.outcome;
    merged.finished = from_host.finished;
    changed = true;
  }
  if (!changed) return false;
  auto saved = save(merged);
  if (!saved) return tl::unexpected(saved.error());
  return true;
}

}  // namespace flotilla
