#include "core/ssh_signature.hpp"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/local_command.hpp"

namespace flotilla {
namespace {
namespace fs = std::filesystem;

// A private scratch directory for ssh-keygen's files, removed on scope exit.
struct ScratchFiles {
  std::string dir;
  ScratchFiles() {
    char pattern[] = "/tmp/flotilla-sign-XXXXXX";
    if (::mkdtemp(pattern) != nullptr) dir = pattern;
  }
  ~ScratchFiles() {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::string path = dir + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
};

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

Result<std::vector<std::string>> ssh_sign(const std::string& key_file,
                                          const std::string& name_space,
                                          const std::vector<std::string>& payloads) {
  if (payloads.empty()) return std::vector<std::string>{};
  ScratchFiles scratch;
  if (scratch.dir.empty()) return fail(ErrorKind::kFailed, "cannot make a scratch directory");
  std::vector<std::string> argv = {"ssh-keygen", "-q",     "-Y", "sign",
                                   "-f",         key_file, "-n", name_space};
  std::vector<std::string> files;
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    files.push_back(scratch.write(std::to_string(i), payloads[i]));
  }
  argv.insert(argv.end(), files.begin(), files.end());
  auto signed_ = run_local(argv);
  if (!signed_) return tl::unexpected(signed_.error());
  if (signed_->exit_status != 0) {
    return fail(ErrorKind::kBadInput, fmt::format("ssh-keygen could not sign with {}: {}", key_file,
                                                  first_line(signed_->err)));
  }
  std::vector<std::string> out;
  for (const auto& file : files) {
    std::ifstream in(file + ".sig", std::ios::binary);
    std::ostringstream signature;
    signature << in.rdbuf();
    if (signature.str().empty()) {
      return fail(ErrorKind::kFailed,
                  fmt::format("ssh-keygen made no signature with {}", key_file));
    }
    out.push_back(signature.str());
  }
  return out;
}

SignatureCheck ssh_verify(const std::string& allowed_signers, const std::string& name_space,
                          const std::string& payload, const std::string& signature) {
  SignatureCheck check;
  ScratchFiles scratch;
  std::string signature_file = scratch.write("payload.sig", signature);
  auto found = run_local(
      {"ssh-keygen", "-Y", "find-principals", "-s", signature_file, "-f", allowed_signers});
  if (scratch.dir.empty() || !found || found->exit_status != 0 || found->out.empty()) {
    check.problem = SignatureCheck::Problem::kUnknownSigner;
    return check;
  }
  check.principal = first_line(found->out);
  auto verified = run_local({"ssh-keygen", "-Y", "verify", "-f", allowed_signers, "-I",
                             check.principal, "-n", name_space, "-s", signature_file},
                            payload);
  if (!verified || verified->exit_status != 0) {
    check.problem = SignatureCheck::Problem::kInvalid;
    return check;
  }
  auto key_at = verified->out.rfind(" key ");
  check.key = key_at == std::string::npos ? "" : first_line(verified->out.substr(key_at + 5));
  return check;
}

std::vector<std::string> key_fingerprints(const std::string& listing) {
  std::vector<std::string> out;
  std::istringstream lines(listing);
  std::string bits, fingerprint;
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    if (words >> bits >> fingerprint && fingerprint.rfind("SHA256:", 0) == 0) {
      out.push_back(fingerprint);
    }
  }
  return out;
}

std::string default_ssh_key() {
  const char* home = std::getenv("HOME");
  for (const char* name : {"id_ed25519", "id_ecdsa", "id_rsa"}) {
    std::string path = fmt::format("{}/.ssh/{}", home != nullptr ? home : "", name);
    if (std::filesystem::exists(path)) return path;
  }
  return "";
}

}  // namespace flotilla
