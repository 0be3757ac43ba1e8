#pragma once

#include <string>
#include <vector>

#include "core/error.hpp"

namespace flotilla {

// Signatures made and checked with OpenSSH's own tool (`ssh-keygen -Y`):
// approvals and snapshot records. A key stays in its file or in ssh-agent
// (a public key file whose private half the agent holds).

// Signs each payload with `key_file` under `name_space`, in one ssh-keygen
// run however many there are; the armored signatures, in order.
Result<std::vector<std::string>> ssh_sign(const std::string& key_file,
                                          const std::string& name_space,
                                          const std::vector<std::string>& payloads);

struct SignatureCheck {
  enum class Problem { kNone, kUnknownSigner, kInvalid };
  Problem problem = Problem::kNone;
  std::string principal;  // who signed, as `allowed_signers` names them
  std::string key;        // the key's fingerprint (SHA256:...)
  bool ok() const { return problem == Problem::kNone; }
};

// Checks `signature` over `payload` against an allowed_signers file:
// the signer must be listed (for this namespace) and the signature valid.
SignatureCheck ssh_verify(const std::string& allowed_signers, const std::string& name_space,
                          const std::string& payload, const std::string& signature);

// "256 SHA256:abc comment (ED25519)" lines (ssh-keygen -l, ssh-add -l) ->
// their fingerprints.
std::vector<std::string> key_fingerprints(const std::string& listing);

// The key a person signs with when they name none: the first of
// ~/.ssh/id_ed25519, id_ecdsa, id_rsa that exists ("" when none does).
std::string default_ssh_key();

}  // namespace flotilla
