#include "playbooks/config_bundle.hpp"

#include <glob.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/remote_file.hpp"
#include "core/sha256.hpp"

namespace flotilla {
namespace fs = std::filesystem;
namespace {

// Names sha256sum prints unescaped and a shell glob lists: no dot files,
// no slashes, backslashes or control characters.
bool safe_config_name(const std::string& name) {
  if (name.empty() || name[0] == '.') return false;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f || c == '/' || c == '\\') return false;
  }
  return true;
}

Result<std::string> read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorKind::kBadInput, fmt::format("cannot read {}", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string local_dir(const Project& project, const std::string& digest) {
  return project.state_dir + "/configs/" + digest;
}

}  // namespace

std::string config_digest(const std::map<std::string, std::string>& files) {
  std::string listing;
  for (const auto& [name, content] : files) {
    listing += sha256_hex(content) + "  " + name + "\n";
  }
  return sha256_hex(listing);
}

Result<ConfigBundle> read_config_files(const Project& project, const Unit& unit) {
  ConfigBundle bundle;
  std::map<std::string, std::string> origin;
  for (const auto& pattern : unit.config_files) {
    std::string full = fs::path(pattern).is_absolute() ? pattern : project.dir + "/" + pattern;
    glob_t found{};
    int rc = ::glob(full.c_str(), GLOB_ERR, nullptr, &found);
    std::vector<std::string> paths(found.gl_pathv, found.gl_pathv + found.gl_pathc);
    ::globfree(&found);
    if (rc != 0 || paths.empty()) {
      return fail(ErrorKind::kBadInput,
                  fmt::format("{}: units.{}.config.files: '{}' matches no file", project.path,
                              unit.name, pattern));
    }
    for (const auto& path : paths) {
      if (!fs::is_regular_file(path)) continue;
      std::string name = fs::path(path).filename().string();
      if (!safe_config_name(name)) {
        return fail(
            ErrorKind::kBadInput,
            fmt::format("{}: config file name not allowed (dot file or odd characters)", path));
      }
      if (auto it = origin.find(name); it != origin.end() && it->second != path) {
        return fail(ErrorKind::kBadInput, fmt::format("{} and {} would both be shared/config/{}",
                                                      it->second, path, name));
      }
      auto content = read_whole(path);
      if (!content) return tl::unexpected(content.error());
      origin[name] = path;
      bundle.files[name] = std::move(*content);
    }
  }
  bundle.digest = config_digest(bundle.files);
  return bundle;
}

Result<void> save_config(const Project& project, const ConfigBundle& bundle) {
  std::string dir = local_dir(project, bundle.digest);
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return {};
  std::string tmp = fmt::format("{}.tmp.{}", dir, ::getpid());
  fs::create_directories(tmp, ec);
  if (ec) return fail(ErrorKind::kFailed, fmt::format("cannot create {}: {}", tmp, ec.message()));
  for (const auto& [name, content] : bundle.files) {
    std::ofstream out(tmp + "/" + name, std::ios::binary);
    out << content;
    if (!out) return fail(ErrorKind::kFailed, fmt::format("cannot write {}/{}", tmp, name));
  }
  fs::rename(tmp, dir, ec);
  if (ec) {
    fs::remove_all(tmp);
    // Another controller saving the same version first is fine; anything else is not.
    if (!fs::is_directory(dir))
      return fail(ErrorKind::kFailed, fmt::format("cannot write {}: {}", dir, ec.message()));
  }
  return {};
}

Result<ConfigBundle> load_config(const Project& project, const std::string& digest) {
  std::string dir = local_dir(project, digest);
  ConfigBundle bundle;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return fail(ErrorKind::kFailed, fmt::format("config {} is not kept on this controller ({})",
                                                digest.substr(0, 12), dir));
  }
  for (const auto& entry : fs::directory_iterator(dir)) {
    auto content = read_whole(entry.path().string());
    if (!content) return tl::unexpected(content.error());
    bundle.files[entry.path().filename().string()] = std::move(*content);
  }
  bundle.digest = config_digest(bundle.files);
  if (bundle.digest != digest) {
    return fail(ErrorKind::kFailed, fmt::format("{} was changed: its digest is now {}", dir,
                                                bundle.digest.substr(0, 12)));
  }
  return bundle;
}

RemoteCommand config_receive_command(const HostLayout& layout, const ConfigBundle& bundle) {
  // What arrived must have the digest it is named by.
  return receive_directory_command(layout.state_dir() + "/configs", bundle.digest, bundle.files,
                                   ReceivedCheck::kDigest, false);
}

}  // namespace flotilla
