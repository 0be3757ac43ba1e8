#include "core/artifact.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "core/sha256.hpp"

namespace flotilla {
namespace {

namespace fs = std::filesystem;

const char* type_name(ManifestEntry::Type t) {
  switch (t) {
    case ManifestEntry::Type::kFile:
      return "file";
    case ManifestEntry::Type::kDirectory:
      return "dir";
    case ManifestEntry::Type::kSymlink:
      return "link";
  }
  return "file";
}

std::string content_id(const std::vector<ManifestEntry>& entries) {
  std::string canonical;
  for (const auto& e : entries) {
    canonical +=
        fmt::format("{} {:o} {} {} {}", type_name(e.type), e.mode, e.size, e.sha256, e.path);
    if (e.type == ManifestEntry::Type::kSymlink) canonical += " -> " + e.target;
    canonical += '\n';
  }
  return sha256_hex(canonical);
}

}  // namespace

bool is_safe_relative_path(const std::string& path) {
  if (path.empty() || path[0] == '/' || path.size() > 4096) return false;
  for (char c : path) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '\\') return false;
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string_view part(path.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

namespace {

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end > start) out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

// Whether every link of the tree, followed through the tree's other links
// as the host's kernel will, stays inside it: `c -> .` then `l -> c/..`
// passes a link-by-link check and still reaches the parent. The link's
// error, if one leaves.
Result<void> links_stay_inside(const std::vector<ManifestEntry>& entries) {
  std::map<std::string, const ManifestEntry*> tree;
  for (const auto& e : entries) tree[e.path] = &e;
  for (const auto& link : entries) {
    if (link.type != ManifestEntry::Type::kSymlink) continue;
    auto leaves = [&] {
      return fail(ErrorKind::kFailed, fmt::format("a symlink leaves the tree (following the "
                                                  "tree's links): {} -> {}",
                                                  link.path, link.target));
    };
    if (link.target.empty() || link.target[0] == '/') return leaves();
    std::vector<std::string> at = components(link.path);
    at.pop_back();  // the link's directory: a real one
    std::vector<std::string> rest = components(link.target);
    std::reverse(rest.begin(), rest.end());
    int hops = 0;
    while (!rest.empty()) {
      std::string part = rest.back();
      rest.pop_back();
      if (part == ".") continue;
      if (part == "..") {
        if (at.empty()) return leaves();
        at.pop_back();
        continue;
      }
      at.push_back(part);
      auto found = tree.find(joined(at));
      if (found == tree.end() || found->second->type != ManifestEntry::Type::kSymlink) continue;
      if (++hops > 40) return leaves();  // a loop: refused as the kernel would (ELOOP)
      const std::string& target = found->second->target;
      if (target.empty() || target[0] == '/') return leaves();
      at.pop_back();
      auto more = components(target);
      for (auto it = more.rbegin(); it != more.rend(); ++it) rest.push_back(*it);
    }
  }
  return {};
}

bool is_sha256_hex(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

Result<Manifest> scan_output(const std::string& root_text) {
  fs::path root(root_text);
  std::error_code ec;
  auto status = fs::symlink_status(root, ec);
  if (ec || !fs::exists(status)) {
    return fail(ErrorKind::kFailed, fmt::format("build output {} does not exist", root_text));
  }
  Manifest manifest;
  auto add = [&](const fs::path& full, const std::string& rel) -> Result<void> {
    if (!is_safe_relative_path(rel)) {
      return fail(ErrorKind::kFailed,
                  fmt::format("build output has an unsafe file name: '{}'", rel));
    }
    ManifestEntry e;
    e.path = rel;
    auto st = fs::symlink_status(full);
    if (fs::is_symlink(st)) {
      std::string target = fs::read_symlink(full).string();
      fs::path resolved = (fs::path(rel).parent_path() / target).lexically_normal();
      if (target.empty() || target[0] == '/') {
        return fail(ErrorKind::kFailed,
                    fmt::format("build output has an absolute symlink: {} -> {}", rel, target));
      }
      if (resolved.empty() || *resolved.begin() == "..") {
        return fail(
            ErrorKind::kFailed,
            fmt::format("build output has a symlink leaving the tree: {} -> {}", rel, target));
      }
      e.type = ManifestEntry::Type::kSymlink;
      e.mode = 0777;
      e.target = target;
    } else if (fs::is_directory(st)) {
      e.type = ManifestEntry::Type::kDirectory;
      e.mode = 0755;
    } else if (fs::is_regular_file(st)) {
      e.type = ManifestEntry::Type::kFile;
      e.mode = (st.permissions() & fs::perms::owner_exec) != fs::perms::none ? 0755 : 0644;
      auto sha = sha256_file(full.string(), e.size);
      if (!sha) return tl::unexpected(sha.error());
      e.sha256 = *sha;
      manifest.total_size += e.size;
    } else {
      return fail(ErrorKind::kFailed,
                  fmt::format("build output has a special file (device, socket or FIFO): {}", rel));
    }
    manifest.entries.push_back(std::move(e));
    return {};
  };

  if (fs::is_directory(status)) {
    for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::none, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec)
        return fail(ErrorKind::kFailed, fmt::format("reading build output: {}", ec.message()));
      auto r = add(it->path(), it->path().lexically_relative(root).generic_string());
      if (!r) return tl::unexpected(r.error());
    }
  } else {
    auto r = add(root, root.filename().string());
    if (!r) return tl::unexpected(r.error());
  }
  std::sort(manifest.entries.begin(), manifest.entries.end(),
            [](const ManifestEntry& a, const ManifestEntry& b) { return a.path < b.path; });
  if (auto inside = links_stay_inside(manifest.entries); !inside) {
    return fail(ErrorKind::kFailed, "build output: " + inside.error().message);
  }
  manifest.id = content_id(manifest.entries);
  return manifest;
}

Result<void> write_artifact_archive(const std::string& root_text, const Manifest& manifest,
                                    const std::string& archive_path) {
  fs::path root(root_text);
  bool single_file = !fs::is_directory(fs::symlink_status(root));
  std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(),
                                                            archive_write_free);
  archive_write_add_filter_zstd(a.get());
  archive_write_set_filter_option(a.get(), "zstd", "compression-level", "3");
  archive_write_set_format_pax_restricted(a.get());
  if (archive_write_open_filename(a.get(), archive_path.c_str()) != ARCHIVE_OK) {
    return fail(ErrorKind::kFailed,
                fmt::format("cannot write {}: {}", archive_path, archive_error_string(a.get())));
  }
  std::vector<char> buffer(1 << 16);
  for (const auto& e : manifest.entries) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(),
                                                                        archive_entry_free);
    archive_entry_set_pathname(entry.get(), e.path.c_str());
    archive_entry_set_perm(entry.get(), e.mode);
    archive_entry_set_uid(entry.get(), 0);
    archive_entry_set_gid(entry.get(), 0);
    archive_entry_set_mtime(entry.get(), 0, 0);
    switch (e.type) {
      case ManifestEntry::Type::kDirectory:
        archive_entry_set_filetype(entry.get(), AE_IFDIR);
        break;
      case ManifestEntry::Type::kSymlink:
        archive_entry_set_filetype(entry.get(), AE_IFLNK);
        archive_entry_set_symlink(entry.get(), e.target.c_str());
        break;
      case ManifestEntry::Type::kFile:
        archive_entry_set_filetype(entry.get(), AE_IFREG);
        archive_entry_set_size(entry.get(), static_cast<la_int64_t>(e.size));
        break;
    }
    if (archive_write_header(a.get(), entry.get()) != ARCHIVE_OK) {
      return fail(ErrorKind::kFailed,
                  fmt::format("archive {}: {}", e.path, archive_error_string(a.get())));
    }
    if (e.type == ManifestEntry::Type::kFile) {
      std::ifstream in(single_file ? root : root / e.path, std::ios::binary);
      std::uint64_t written = 0;
      while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        auto n = in.gcount();
        if (n <= 0) break;
        if (archive_write_data(a.get(), buffer.data(), static_cast<std::size_t>(n)) < 0) {
          return fail(ErrorKind::kFailed,
                      fmt::format("archive {}: {}", e.path, archive_error_string(a.get())));
        }
        written += static_cast<std::uint64_t>(n);
      }
      if (written != e.size) {
        return fail(ErrorKind::kFailed,
                    fmt::format("{} changed while it was being packaged", e.path));
      }
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    return fail(ErrorKind::kFailed,
                fmt::format("cannot finish {}: {}", archive_path, archive_error_string(a.get())));
  }
  return {};
}

nlohmann::json Manifest::to_json() const {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& e : entries) {
    nlohmann::json f = {
        {"path", e.path}, {"type", type_name(e.type)}, {"mode", fmt::format("{:04o}", e.mode)}};
    if (e.type == ManifestEntry::Type::kFile) {
      f["size"] = e.size;
      f["sha256"] = e.sha256;
    }
    if (e.type == ManifestEntry::Type::kSymlink) f["target"] = e.target;
    files.push_back(std::move(f));
  }
  return {{"format", 1},
          {"id", id},
          {"total_size", total_size},
          {"provenance", provenance},
          {"files", files}};
}

Result<Manifest> Manifest::from_json(const nlohmann::json& doc) {
  try {
    Manifest m;
    m.id = doc.at("id").get<std::string>();
    m.total_size = doc.at("total_size").get<std::uint64_t>();
    m.provenance = doc.value("provenance", nlohmann::json::object());
    for (const auto& f : doc.at("files")) {
      ManifestEntry e;
      e.path = f.at("path").get<std::string>();
      if (!is_safe_relative_path(e.path))
        return fail(ErrorKind::kFailed, "manifest has an unsafe path: " + e.path);
      std::string type = f.at("type").get<std::string>();
      e.type = type == "dir"    ? ManifestEntry::Type::kDirectory
               : type == "link" ? ManifestEntry::Type::kSymlink
                                : ManifestEntry::Type::kFile;
      e.mode = static_cast<unsigned>(std::stoul(f.at("mode").get<std::string>(), nullptr, 8));
      e.size = f.value("size", std::uint64_t{0});
      e.sha256 = f.value("sha256", "");
      e.target = f.value("target", "");
      // Only what scan_output makes: normalized modes (never setuid, setgid
      // or sticky) and real digests (a digest is a file name on hosts).
      bool mode_ok = e.type == ManifestEntry::Type::kFile        ? e.mode == 0644 || e.mode == 0755
                     : e.type == ManifestEntry::Type::kDirectory ? e.mode == 0755
                                                                 : e.mode == 0777;
      if (!mode_ok) {
        return fail(ErrorKind::kFailed,
                    fmt::format("manifest has an unexpected mode {:o} for {}", e.mode, e.path));
      }
      if (e.type == ManifestEntry::Type::kFile && !is_sha256_hex(e.sha256)) {
        return fail(ErrorKind::kFailed, "manifest has a malformed sha256 for " + e.path);
      }
      m.entries.push_back(std::move(e));
    }
    if (auto inside = links_stay_inside(m.entries); !inside) {
      return fail(ErrorKind::kFailed, "manifest: " + inside.error().message);
    }
    if (content_id(m.entries) != m.id)
      return fail(ErrorKind::kFailed, "manifest does not match its id");
    return m;
  } catch (const std::exception& e) {
    return fail(ErrorKind::kFailed, fmt::format("malformed manifest: {}", e.what()));
  }
}

}  // namespace flotilla
