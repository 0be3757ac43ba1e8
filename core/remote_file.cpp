#include "core/remote_file.hpp"

#include <fmt/format.h>

#include "core/push_bundle.hpp"
#include "core/sha256.hpp"
#include "core/shell_quote.hpp"

namespace flotilla {

RemoteCommand upload_command(const std::string& path, std::string data, int mode,
                             Duration timeout) {
  std::string command = fmt::format(
      "set -e; umask 077; p={}; mkdir -p -- \"$(dirname -- \"$p\")\"; "
      "t=\"$p.flotilla-upload.$$\"; trap 'rm -f -- \"$t\"' EXIT; cat > \"$t\"; "
      "s=$(sha256sum -- \"$t\"); s=${{s%% *}}; "
      "if [ \"$s\" != {} ]; then echo \"upload to $p: checksum mismatch\" >&2; exit 65; fi; "
      "chmod {:o} -- \"$t\"; mv -f -- \"$t\" \"$p\"",
      shell_quote(path), sha256_hex(data), mode);
  return RemoteCommand{std::move(command), std::move(data), timeout};
}

RemoteCommand receive_directory_command(const std::string& parent, const std::string& id,
                                        const std::map<std::string, std::string>& files,
                                        const std::string& check, bool private_dir) {
  std::string script = fmt::format(
      "trap '' HUP PIPE; set -e; umask {}; p={}; id={}; [ -d \"$p/$id\" ] && {{ cat >/dev/null; "
      "exit 0; }}; mkdir -p \"$p\"; {}t=\"$p/.$id.partial.$$\"; trap 'rm -rf \"$t\"' EXIT; "
      "mkdir \"$t\"; tar -xf - -C \"$t\" --no-same-owner; {} {}mv -T -- \"$t\" \"$p/$id\"",
      private_dir ? "077" : "022", shell_quote(parent), shell_quote(id),
      private_dir ? "chmod 700 \"$p\"; " : "", check,
      private_dir ? "find \"$t\" -type f -exec chmod 600 {} +; " : "");
  return RemoteCommand{std::move(script), make_plain_tar(files, private_dir ? 0600 : 0644),
                       std::chrono::minutes(5)};
}

RemoteCommand read_file_command(const std::string& path, Duration timeout) {
  return RemoteCommand{"cat -- " + shell_quote(path), "", timeout};
}

}  // namespace flotilla
