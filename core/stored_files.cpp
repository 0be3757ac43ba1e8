#include "core/stored_files.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <vector>

#include <fmt/format.h>

namespace flotilla {

Result<void> read_stored_files(
    const std::string& archive_path,
    const std::function<Result<void>(const std::string& path, std::uint64_t size,
                                     const ChunkReader& read)>& visit) {
  std::unique_ptr<archive, decltype(&archive_read_free)> in(archive_read_new(), archive_read_free);
  archive_read_support_filter_zstd(in.get());
  archive_read_support_format_tar(in.get());
  if (archive_read_open_filename(in.get(), archive_path.c_str(), 1 << 16) != ARCHIVE_OK) {
    return fail(ErrorKind::kFailed,
                fmt::format("cannot read {}: {}", archive_path, archive_error_string(in.get())));
  }
  std::vector<char> buffer(1 << 20);
  archive_entry* entry = nullptr;
  int rc = ARCHIVE_OK;
  while ((rc = archive_read_next_header(in.get(), &entry)) == ARCHIVE_OK) {
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    ChunkReader read = [&]() -> Result<std::string_view> {
      la_ssize_t n = archive_read_data(in.get(), buffer.data(), buffer.size());
      if (n < 0) {
        return fail(ErrorKind::kFailed,
                    fmt::format("{}: {}", archive_path, archive_error_string(in.get())));
      }
      return std::string_view(buffer.data(), static_cast<std::size_t>(n));
    };
    auto size = static_cast<std::uint64_t>(archive_entry_size(entry));
    if (auto visited = visit(archive_entry_pathname(entry), size, read); !visited) return visited;
  }
  if (rc != ARCHIVE_EOF) {
    return fail(ErrorKind::kFailed,
                fmt::format("{}: {}", archive_path, archive_error_string(in.get())));
  }
  return {};
}

}  // namespace flotilla
