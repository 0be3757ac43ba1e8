#include "core/artifact_store.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace flotilla {
namespace {

namespace fs = std::filesystem;

Result<void> write_file_atomically(const fs::path& path, const std::string& text) {
  fs::path tmp = path;
  tmp += fmt::format(".tmp.{}", ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) return fail(ErrorKind::kFailed, fmt::format("cannot write {}", tmp.string()));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec)
    return fail(ErrorKind::kFailed,
                fmt::format("cannot write {}: {}", path.string(), ec.message()));
  return {};
}

std::optional<nlohmann::json> read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

ArtifactStore::ArtifactStore(std::string dir) : dir_(std::move(dir)) {}

std::string ArtifactStore::archive_path(const std::string& id) const {
  return dir_ + "/objects/" + id + ".tar.zst";
}

std::string ArtifactStore::manifest_path(const std::string& id) const {
  return dir_ + "/objects/" + id + ".manifest.json";
}

std::string ArtifactStore::temp_path(const std::string& name) const {
  fs::create_directories(dir_ + "/tmp");
  return fmt::format("{}/tmp/{}.{}", dir_, name, ::getpid());
}

std::optional<nlohmann::json> ArtifactStore::lookup(const std::string& recipe_key) const {
  auto record = read_json(dir_ + "/recipes/" + recipe_key + ".json");
  if (!record || !record->contains("id")) return std::nullopt;
  std::string id = (*record)["id"].get<std::string>();
  if (!fs::exists(archive_path(id)) || !fs::exists(manifest_path(id))) return std::nullopt;
  return record;
}

Result<Manifest> ArtifactStore::manifest(const std::string& id) const {
  auto doc = read_json(manifest_path(id));
  if (!doc) return fail(ErrorKind::kFailed, fmt::format("artifact {} is not in the store", id));
  return Manifest::from_json(*doc);
}

std::optional<std::uint64_t> ArtifactStore::newest_size(const std::string& unit) const {
  std::error_code ec;
  std::optional<std::uint64_t> size;
  fs::file_time_type newest{};
  const std::string suffix = ".manifest.json";
  for (const auto& entry : fs::directory_iterator(dir_ + "/objects", ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() <= suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    auto when = entry.last_write_time(ec);
    if (ec || (size && when <= newest)) continue;
    auto doc = read_json(entry.path().string());
    if (!doc || !doc->is_object()) continue;
    auto manifest = Manifest::from_json(*doc);
    if (!manifest || manifest->provenance.value("unit", nlohmann::json()) != unit) continue;
    newest = when;
    size = manifest->total_size;
  }
  return size;
}

Result<void> ArtifactStore::add(const std::string& recipe_key, const Manifest& manifest,
                                const std::string& archive_tmp, const nlohmann::json& record) {
  std::error_code ec;
  fs::create_directories(dir_ + "/objects", ec);
  fs::create_directories(dir_ + "/recipes", ec);
  // Manifest first, archive second: an archive is only ever found with its manifest.
  if (!fs::exists(manifest_path(manifest.id))) {
    auto r = write_file_atomically(manifest_path(manifest.id), manifest.to_json().dump(1));
    if (!r) return r;
  }
  fs::rename(archive_tmp, archive_path(manifest.id), ec);
  if (ec) return fail(ErrorKind::kFailed, fmt::format("cannot store artifact: {}", ec.message()));
  return write_file_atomically(dir_ + "/recipes/" + recipe_key + ".json", record.dump(1));
}

std::vector<std::string> ArtifactStore::prune(std::size_t keep,
                                              const std::set<std::string>& protected_ids) {
  std::vector<std::pair<fs::file_time_type, std::string>> objects;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_ + "/objects", ec)) {
    std::string name = entry.path().filename().string();
    if (!name.ends_with(".tar.zst")) continue;
    objects.emplace_back(entry.last_write_time(ec), name.substr(0, name.size() - 8));
  }
  std::sort(objects.begin(), objects.end(), std::greater<>());
  std::vector<std::string> removed;
  for (std::size_t i = keep; i < objects.size(); ++i) {
    const std::string& id = objects[i].second;
    if (protected_ids.count(id)) continue;
    fs::remove(archive_path(id), ec);
    fs::remove(manifest_path(id), ec);
    removed.push_back(id);
  }
  if (!removed.empty()) {
    for (const auto& entry : fs::directory_iterator(dir_ + "/recipes", ec)) {
      auto record = read_json(entry.path());
      if (record &&
          std::find(removed.begin(), removed.end(), record->value("id", "")) != removed.end()) {
        fs::remove(entry.path(), ec);
      }
    }
  }
  return removed;
}

}  // namespace flotilla
