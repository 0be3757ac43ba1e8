#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/artifact.hpp"
#include "core/error.hpp"

namespace flotilla {

// The controller's local store of built artifacts:
//   DIR/objects/<id>.tar.zst        the archive
//   DIR/objects/<id>.manifest.json  its manifest
//   DIR/recipes/<key>.json          which artifact a (commit, build recipe) made
// Everything appears by rename, so a crash leaves no partial artifact.
class ArtifactStore {
 public:
  explicit ArtifactStore(std::string dir);

  const std::string& dir() const { return dir_; }
  std::string archive_path(const std::string& id) const;
  std::string manifest_path(const std::string& id) const;

  // The build record of a recipe key, if its artifact is still stored.
  std::optional<nlohmann::json> lookup(const std::string& recipe_key) const;
  Result<Manifest> manifest(const std::string& id) const;
  // The size of the newest stored artifact built for `unit` (its
  // provenance), if any: how big its next release will about be.
  std::optional<std::uint64_t> newest_size(const std::string& unit) const;

  // Moves a finished archive in and records the recipe.
  Result<void> add(const std::string& recipe_key, const Manifest& manifest,
                   const std::string& archive_tmp, const nlohmann::json& record);

  // Keeps the newest `keep` artifacts and every id in `protected_ids`;
  // returns the ids removed.
  std::vector<std::string> prune(std::size_t keep, const std::set<std::string>& protected_ids);

  // A scratch path inside the store, on the same filesystem for renames.
  std::string temp_path(const std::string& name) const;

 private:
  std::string dir_;
};

}  // namespace flotilla
