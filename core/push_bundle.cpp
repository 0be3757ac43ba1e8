#include "core/push_bundle.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
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

// A tar being written into memory, gzip'd or not.
class BundleWriter {
 public:
  explicit BundleWriter(bool gzip) {
    if (gzip) {
      archive_write_add_filter_gzip(a_.get());
      archive_write_set_filter_option(a_.get(), "gzip", "compression-level", "1");
    }
    archive_write_set_format_pax_restricted(a_.get());
    archive_write_set_bytes_in_last_block(a_.get(), 1);
    archive_write_open(a_.get(), &data_, nullptr, append_to_string, nullptr);
  }

  void add(const std::string& name, std::string_view bytes, int mode = 0644) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> item(archive_entry_new(),
                                                                       archive_entry_free);
    archive_entry_set_pathname(item.get(), name.c_str());
    archive_entry_set_filetype(item.get(), AE_IFREG);
    archive_entry_set_perm(item.get(), static_cast<mode_t>(mode));
    archive_entry_set_size(item.get(), static_cast<la_int64_t>(bytes.size()));
    archive_write_header(a_.get(), item.get());
    archive_write_data(a_.get(), bytes.data(), bytes.size());
  }

  std::string finish() {
    archive_write_close(a_.get());
    return std::move(data_);
  }

 private:
  // Declared first, destroyed last: freeing the archive flushes into it.
  std::string data_;
  std::unique_ptr<archive, decltype(&archive_write_free)> a_{archive_write_new(),
                                                             archive_write_free};
};

// Whether gzip saves a tenth of these bytes, judged from the first 16 kB of
// each file, so a build of already-compressed assets costs no compression
// pass over all of it.
bool gzip_pays(const std::vector<std::pair<std::string, std::string>>& files) {
  constexpr std::size_t kSample = 16 * 1024;
  auto gzipped_size = [](const std::string& name, std::string_view bytes) {
    BundleWriter probe(true);
    probe.add(name, bytes);
    return static_cast<double>(probe.finish().size());
  };
  double total = 0;
  double packed = 0;
  for (const auto& [sha, bytes] : files) {
    if (bytes.empty()) continue;
    std::string_view sample(bytes.data(), std::min(bytes.size(), kSample));
    // Less the tar header and end blocks around the sample, compressed alone.
    double sample_packed = gzipped_size(sha, sample) - gzipped_size(sha, {});
    double ratio = std::clamp(sample_packed / static_cast<double>(sample.size()), 0.0, 1.0);
    total += static_cast<double>(bytes.size());
    packed += static_cast<double>(bytes.size()) * ratio;
  }
  return total > 0 && packed * 10 < total * 9;
}

}  // namespace

std::string make_plain_tar(const std::map<std::string, std::string>& files, int mode) {
  BundleWriter writer(false);
  for (const auto& [name, bytes] : files) writer.add(name, bytes, mode);
  return writer.finish();
}

Result<PushBundle> make_push_bundle(const std::string& archive_path, const Manifest& manifest,
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
  std::vector<std::pair<std::string, std::string>> files;  // sha256 -> bytes, archive order
  std::set<std::string> added;
  archive_entry* entry = nullptr;
  while (archive_read_next_header(in.get(), &entry) == ARCHIVE_OK) {
    auto it = sha_of_path.find(archive_entry_pathname(entry));
    if (it == sha_of_path.end() || !missing.count(it->second) || added.count(it->second)) continue;
    std::string data(static_cast<std::size_t>(archive_entry_size(entry)), '\0');
    std::size_t got = 0;
    while (got < data.size()) {
      la_ssize_t n = archive_read_data(in.get(), data.data() + got, data.size() - got);
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    // The stored archive is checked on the way out, as the host checks it on the way in.
    if (got != data.size() || sha256_hex(data) != it->second) {
      return fail(ErrorKind::kFailed,
                  fmt::format("artifact {} is damaged: {} does not match its manifest",
                              manifest.id.substr(0, 12), it->first));
    }
    added.insert(it->second);
    files.emplace_back(it->second, std::move(data));
  }
  if (added.size() != missing.size()) {
    return fail(ErrorKind::kFailed,
                fmt::format("artifact {} lacks {} of the files its manifest lists",
                            manifest.id.substr(0, 12), missing.size() - added.size()));
  }
  PushBundle bundle;
  bundle.gzipped = gzip_pays(files);
  BundleWriter writer(bundle.gzipped);
  for (const auto& [sha, bytes] : files) writer.add(sha, bytes);
  bundle.data = std::make_shared<const std::string>(writer.finish());
  return bundle;
}

}  // namespace flotilla
