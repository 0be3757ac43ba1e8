#include "core/remote_file.hpp"

#include <fmt/format.h>

#include "core/push_bundle.hpp"
#include "core/script_command.hpp"
#include "core/sha256.hpp"

namespace flotilla {

RemoteCommand upload_command(const std::string& path, std::string data, int mode,
                             Duration timeout) {
  std::string sha = sha256_hex(data);
  return script_command(HostScript::kUpload, {path, sha, fmt::format("{:o}", mode)},
                        std::move(data), timeout);
}

RemoteCommand receive_directory_command(const std::string& parent, const std::string& id,
                                        const std::map<std::string, std::string>& files,
                                        ReceivedCheck check, bool private_dir) {
  return script_command(
      HostScript::kReceiveDirectory,
      {parent, id, private_dir ? "1" : "0", check == ReceivedCheck::kDigest ? "digest" : "count",
       std::to_string(files.size())},
      make_plain_tar(files, private_dir ? 0600 : 0644), std::chrono::minutes(5));
}

RemoteCommand read_file_command(const std::string& path, Duration timeout) {
  return script_command(HostScript::kReadFile, {path}, "", timeout);
}

}  // namespace flotilla
