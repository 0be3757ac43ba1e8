#include "playbooks/release_import.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "core/script_command.hpp"
#include "core/tar_extract.hpp"
#include "playbooks/host_commands.hpp"

namespace flotilla {
namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kMaxImportBytes = 64ull << 30;

// Removes a scratch path when it goes out of scope.
struct Scratch {
  fs::path path;
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// One host's copy of the release, unpacked into `dir` and checked.
Result<Manifest> take_from(Transport& transport, std::size_t host, const std::string& deploy_to,
                           const std::string& id, const std::string& dir) {
  const std::string tar_path = dir + ".tar";
  Scratch tar{tar_path};
  std::ofstream file(tar_path, std::ios::binary | std::ios::trunc);
  bool too_big = false;
  std::uint64_t received = 0;
  auto results =
      transport.run({{host, release_export_command(deploy_to, id)}},
                    [&](std::size_t, bool is_stderr, std::string_view chunk) {
                      if (is_stderr || too_big) return;
                      received += chunk.size();
                      too_big = received > kMaxImportBytes;
                      if (!too_big)
                        file.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
                    });
  file.close();
  if (!results.front()) return tl::unexpected(results.front().error());
  const CommandResult& r = *results.front();
  if (!r.ok()) {
    return fail(ErrorKind::kFailed,
                fmt::format("could not read it: {}",
                            r.err.empty() ? "exit " + std::to_string(r.exit_status) : r.err));
  }
  if (too_big || !file) return fail(ErrorKind::kFailed, "the stream could not be kept");
  fs::create_directories(dir);
  if (auto ok = extract_tar_securely(tar_path, dir, kMaxImportBytes); !ok) {
    return tl::unexpected(ok.error());
  }
  auto manifest = scan_output(dir);
  if (!manifest) return tl::unexpected(manifest.error());
  if (manifest->id != id) {
    return fail(ErrorKind::kFailed,
                fmt::format("its files are not release {} (their content id is {})",
                            id.substr(0, 12), manifest->id.substr(0, 12)));
  }
  return manifest;
}

}  // namespace

Result<Manifest> import_release(Transport& transport, const std::vector<std::size_t>& hosts,
                                const std::vector<std::string>& host_names,
                                const std::string& deploy_to, const std::string& id,
                                ArtifactStore& store, const nlohmann::json& provenance,
                                Reporter& reporter) {
  std::vector<std::string> failures;
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    const std::string& name = host_names[i];
    Scratch dir{store.temp_path("import-" + id.substr(0, 12))};
    auto manifest = take_from(transport, hosts[i], deploy_to, id, dir.path.string());
    if (!manifest) {
      // Said at once: a host whose copy is not what it claims to run is
      // news to whoever keeps that fleet.
      failures.push_back(fmt::format("{}: {}", name, manifest.error().message));
      reporter.warning(
          fmt::format("release {} from {}: {}", id.substr(0, 12), name, manifest.error().message));
      continue;
    }
    manifest->provenance = provenance;
    manifest->provenance["imported_from"] = name;
    const std::string archive_tmp = store.temp_path("import-" + id.substr(0, 12) + ".tar.zst");
    Scratch archive{archive_tmp};
    if (auto written = write_artifact_archive(dir.path.string(), *manifest, archive_tmp);
        !written) {
      return tl::unexpected(written.error());
    }
    nlohmann::json record = manifest->provenance;
    record["id"] = id;
    if (auto stored = store.add("import-" + id, *manifest, archive_tmp, record); !stored) {
      return tl::unexpected(stored.error());
    }
    reporter.progress(fmt::format("release {} taken from {} (its content checked against the id)",
                                  id.substr(0, 12), name));
    return manifest;
  }
  return fail(ErrorKind::kFailed,
              fmt::format("release {} could not be taken from any host that runs it: {}",
                          id.substr(0, 12), fmt::join(failures, "; ")));
}

}  // namespace flotilla
