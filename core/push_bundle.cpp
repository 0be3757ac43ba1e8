#include "core/push_bundle.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <map>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "core/sha256.hpp"

namespace flotilla {
namespace {

la_ssize_t append_to_string(archive*, void* client, const void* buffer, size_t length) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

}  // namespace

Result<std::string> make_push_bundle(const std::string& archive_path, const Manifest& manifest,
                                     const std::set<std::string>& missing) {
  std::map<std::string, std::string> sha_of_path;
  for (const auto& e : manifest.entries) {
    if (e.type == ManifestEntry::Type::kFile) sha_of_path[e.path] = e.sha256;
  }
  std::unique_ptr<archive, decltype(&archive_read_free)> in(archive_read_new(), archive_read_free);
  archive_read_support_filter_zstd(in.get());
  archive_read_support_format_tar(in.get());
  if (archive_read_open_filename(in.get(), archive_path.c_str(), 1 << 16) != ARCHIVE_OK) {
    return fail(ErrorKind::kFailed,
                fmt::format("cannot read {}: {}", archive_path, archive_error_string(in.get())));
  }
  std::string bundle;
  std::unique_ptr<archive, decltype(&archive_write_free)> out(archive_write_new(),
                                                              archive_write_free);
  archive_write_add_filter_gzip(out.get());
  archive_write_set_filter_option(out.get(), "gzip", "compression-level", "1");
  archive_write_set_format_pax_restricted(out.get());
  archive_write_set_bytes_in_last_block(out.get(), 1);
  archive_write_open(out.get(), &bundle, nullptr, append_to_string, nullptr);

  std::set<std::string> added;
  archive_entry* entry = nullptr;
  std::vector<char> data;
  while (archive_read_next_header(in.get(), &entry) == ARCHIVE_OK) {
    auto it = sha_of_path.find(archive_entry_pathname(entry));
    if (it == sha_of_path.end() || !missing.count(it->second) || added.count(it->second)) continue;
    data.resize(static_cast<std::size_t>(archive_entry_size(entry)));
    std::size_t got = 0;
    while (got < data.size()) {
      la_ssize_t n = archive_read_data(in.get(), data.data() + got, data.size() - got);
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    // The stored archive is checked on the way out, as the host checks it on the way in.
    if (got != data.size() ||
        sha256_hex(std::string_view(data.data(), data.size())) != it->second) {
      return fail(ErrorKind::kFailed,
                  fmt::format("artifact {} is damaged: {} does not match its manifest",
                              manifest.id.substr(0, 12), it->first));
    }
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> item(archive_entry_new(),
                                                                       archive_entry_free);
    archive_entry_set_pathname(item.get(), it->second.c_str());
    archive_entry_set_filetype(item.get(), AE_IFREG);
    archive_entry_set_perm(item.get(), 0644);
    archive_entry_set_size(item.get(), static_cast<la_int64_t>(data.size()));
    archive_write_header(out.get(), item.get());
    archive_write_data(out.get(), data.data(), data.size());
    added.insert(it->second);
  }
  archive_write_close(out.get());
  if (added.size() != missing.size()) {
    return fail(ErrorKind::kFailed,
                fmt::format("artifact {} lacks {} of the files its manifest lists",
                            manifest.id.substr(0, 12), missing.size() - added.size()));
  }
  return bundle;
}

}  // namespace flotilla
