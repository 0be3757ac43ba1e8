#include "playbooks/registry_publish.hpp"

#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "core/sha256.hpp"
#include "playbooks/secret_bundle.hpp"

namespace flotilla {
namespace {

constexpr const char* kManifestType = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* kConfigType = "application/vnd.flotilla.artifact.manifest.v1+json";
constexpr const char* kFileType = "application/octet-stream";

// A string's bytes, as one chunk.
ChunkReader chunks_of(const std::string& bytes) {
  auto sent = std::make_shared<bool>(false);
  return [&bytes, sent]() -> Result<std::string_view> {
    if (*sent) return std::string_view();
    *sent = true;
    return std::string_view(bytes);
  };
}

}  // namespace

Result<RegistryAccess> registry_access(const RegistrySettings& settings) {
  RegistryAccess access;
  access.url = settings.url;
  access.repository = settings.repository;
  access.username = settings.username;
  access.ca_file = settings.ca_file.value_or("");
  access.plain_http = settings.plain_http;
  if (settings.password) {
    auto value = read_secret_value(*settings.password, "artifacts.password");
    if (!value) return tl::unexpected(value.error());
    access.password = std::move(*value);
  }
  if (settings.token) {
    auto value = read_secret_value(*settings.token, "artifacts.token");
    if (!value) return tl::unexpected(value.error());
    access.token = std::move(*value);
  }
  return access;
}

Result<PublishReport> publish_release(OciRegistry& registry, const ReleaseSource& release) {
  PublishReport report;
  const Manifest& manifest = release.manifest;
  std::map<std::string, const ManifestEntry*> files;    // sha256 -> its first entry
  std::map<std::string, const ManifestEntry*> by_path;  // path -> entry
  for (const auto& e : manifest.entries) {
    if (e.type != ManifestEntry::Type::kFile) continue;
    files.emplace(e.sha256, &e);
    by_path.emplace(e.path, &e);
  }
  std::set<std::string> lacking;
  for (const auto& [sha, entry] : files) {
    auto present = registry.has_blob(sha);
    if (!present) return tl::unexpected(present.error());
    if (!*present) lacking.insert(sha);
  }
  report.blobs = files.size() + 1;
  std::uint64_t before = registry.bytes_uploaded();
  if (!lacking.empty()) {
    std::set<std::string> sent;
    auto read = read_stored_files(
        release.archive_path,
        [&](const std::string& path, std::uint64_t size, const ChunkReader& chunk) -> Result<void> {
          auto found = by_path.find(path);
          if (found == by_path.end()) return {};
          const ManifestEntry* it = found->second;
          if (!lacking.count(it->sha256) || sent.count(it->sha256)) return {};
          if (size != it->size) {
            return fail(ErrorKind::kFailed,
                        fmt::format("artifact {} is damaged: {} does not match its manifest",
                                    manifest.id.substr(0, 12), path));
          }
          // The registry checks the digest of what arrives: a damaged
          // stored file fails here, never on a host.
          if (auto put = registry.put_blob(it->sha256, size, chunk); !put) return put;
          sent.insert(it->sha256);
          return {};
        });
    if (!read) return tl::unexpected(read.error());
    if (sent.size() != lacking.size()) {
      return fail(ErrorKind::kFailed,
                  fmt::format("artifact {} lacks {} of the files its manifest lists",
                              manifest.id.substr(0, 12), lacking.size() - sent.size()));
    }
    report.uploaded = sent.size();
  }

  std::string config = manifest.to_json().dump();
  std::string config_sha = sha256_hex(config);
  auto config_present = registry.has_blob(config_sha);
  if (!config_present) return tl::unexpected(config_present.error());
  if (!*config_present) {
    if (auto put = registry.put_blob(config_sha, config.size(), chunks_of(config)); !put) {
      return tl::unexpected(put.error());
    }
    ++report.uploaded;
  }
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& [sha, entry] : files) {
    layers.push_back({{"mediaType", kFileType},
                      {"digest", "sha256:" + sha},
                      {"size", entry->size},
                      {"annotations", {{"org.opencontainers.image.title", entry->path}}}});
  }
  nlohmann::json oci = {
      {"schemaVersion", 2},
      {"mediaType", kManifestType},
      {"config",
       {{"mediaType", kConfigType}, {"digest", "sha256:" + config_sha}, {"size", config.size()}}},
      {"layers", layers},
      {"annotations", {{"dev.flotilla.release", manifest.id}}}};
  if (auto put = registry.put_manifest(manifest.id, kManifestType, oci.dump()); !put) {
    return tl::unexpected(put.error());
  }
  report.bytes_uploaded = registry.bytes_uploaded() - before;
  return report;
}

Result<RegistryPull> publish_for_plan(const RegistrySettings& settings, const DeployPlan& plan,
                                      const RolloutSources& sources, Reporter& reporter) {
  std::set<std::string> releases;
  for (const auto& h : plan.hosts) {
    if (h.change && h.send_release && !h.missing.empty()) releases.insert(h.target.release);
  }
  auto access = registry_access(settings);
  if (!access) return tl::unexpected(access.error());
  RegistryPull pull{settings.url, settings.repository, "", ""};
  if (releases.empty()) return pull;  // nothing to pull: no need to ask the registry
  if (!access->ca_file.empty()) {
    std::ifstream in(access->ca_file);
    if (!in) {
      return fail(ErrorKind::kBadInput,
                  fmt::format("artifacts.ca_file: cannot read {}", access->ca_file));
    }
    std::ostringstream pem;
    pem << in.rdbuf();
    pull.ca_pem = pem.str();
  }
  reporter.progress(fmt::format("publishing to {}/{}", settings.url, settings.repository));
  auto registry = OciRegistry::open(*access);
  if (!registry) return tl::unexpected(registry.error());
  for (const auto& id : releases) {
    auto source = sources.releases.find(id);
    if (source == sources.releases.end()) {
      return fail(ErrorKind::kFailed, fmt::format("internal: release {} has no source", id));
    }
    auto report = publish_release(**registry, source->second);
    if (!report) return tl::unexpected(report.error());
    reporter.event("registry_publish", {{"release", id},
                                        {"registry", settings.url},
                                        {"repository", settings.repository},
                                        {"blobs", report->blobs},
                                        {"uploaded", report->uploaded},
                                        {"bytes_uploaded", report->bytes_uploaded}});
    reporter.progress(fmt::format(
        "  release {}: {} of {} blob(s) uploaded ({}), the rest were "
        "there",
        id.substr(0, 12), report->uploaded, report->blobs, format_bytes(report->bytes_uploaded)));
  }
  auto authorization = (*registry)->pull_authorization();
  if (!authorization) return tl::unexpected(authorization.error());
  pull.authorization = std::move(*authorization);
  reporter.redact(pull.authorization);
  return pull;
}

}  // namespace flotilla
