#include "core/remote_file.hpp"

#include <fmt/format.h>

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

RemoteCommand read_file_command(const std::string& path, Duration timeout) {
  return RemoteCommand{"cat -- " + shell_quote(path), "", timeout};
}

}  // namespace flotilla
