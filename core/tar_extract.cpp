#include "core/tar_extract.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <set>

#include <fmt/format.h>

#include "core/artifact.hpp"

namespace flotilla {

Result<void> extract_tar_securely(const std::string& tar_path, const std::string& dir,
                                  std::uint64_t max_bytes) {
  std::unique_ptr<archive, decltype(&archive_read_free)> in(archive_read_new(), archive_read_free);
  archive_read_support_format_tar(in.get());
  if (archive_read_open_filename(in.get(), tar_path.c_str(), 1 << 16) != ARCHIVE_OK) {
    return fail(ErrorKind::kFailed,
                fmt::format("cannot read {}: {}", tar_path, archive_error_string(in.get())));
  }
  std::unique_ptr<archive, decltype(&archive_write_free)> out(archive_write_disk_new(),
                                                              archive_write_free);
  // `dir` is fresh and empty, so the only symlinks below it are the
  // stream's own: an entry below one of them is refused here, which is what
  // libarchive's SECURE_SYMLINKS would do for the whole absolute path (and
  // would refuse a state directory reached through a symlink).
  archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_PERM);
  std::set<std::string> links;
  std::uint64_t total = 0;
  archive_entry* entry = nullptr;
  for (;;) {
    int r = archive_read_next_header(in.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) {
      return fail(ErrorKind::kFailed,
                  fmt::format("damaged tar stream: {}", archive_error_string(in.get())));
    }
    std::string path = archive_entry_pathname(entry);
    if (path.starts_with("./")) path = path.substr(2);
    if (path.empty() || path == ".") continue;
    if (path.ends_with("/")) path.pop_back();
    auto type = archive_entry_filetype(entry);
    if (!is_safe_relative_path(path) ||
        (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) ||
        archive_entry_hardlink(entry) != nullptr) {
      return fail(ErrorKind::kFailed, fmt::format("refused tar entry '{}'", path));
    }
    for (std::size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      if (links.count(path.substr(0, slash))) {
        return fail(ErrorKind::kFailed, fmt::format("refused tar entry '{}' (below a link)", path));
      }
    }
    if (type == AE_IFLNK) links.insert(path);
    total += static_cast<std::uint64_t>(archive_entry_size(entry));
    if (total > max_bytes) {
      return fail(ErrorKind::kFailed, fmt::format("tar stream larger than {} bytes", max_bytes));
    }
    archive_entry_set_pathname(entry, (dir + "/" + path).c_str());
    archive_entry_set_perm(entry, archive_entry_perm(entry) & 0777);
    archive_entry_set_uid(entry, 0);
    archive_entry_set_gid(entry, 0);
    if (archive_write_header(out.get(), entry) != ARCHIVE_OK) {
      return fail(ErrorKind::kFailed,
                  fmt::format("cannot unpack '{}': {}", path, archive_error_string(out.get())));
    }
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    while ((r = archive_read_data_block(in.get(), &block, &size, &offset)) == ARCHIVE_OK) {
      if (archive_write_data_block(out.get(), block, size, offset) != ARCHIVE_OK) {
        return fail(ErrorKind::kFailed,
                    fmt::format("cannot write '{}': {}", path, archive_error_string(out.get())));
      }
    }
    if (r != ARCHIVE_EOF) {
      return fail(ErrorKind::kFailed, fmt::format("damaged tar stream at '{}': {}", path,
                                                  archive_error_string(in.get())));
    }
    if (archive_write_finish_entry(out.get()) != ARCHIVE_OK) {
      return fail(ErrorKind::kFailed,
                  fmt::format("cannot finish '{}': {}", path, archive_error_string(out.get())));
    }
  }
  return {};
}

}  // namespace flotilla
