#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace flotilla {

// A password that may open Ansible Vault data, and where it came from
// (for messages: never the password itself).
struct VaultSecret {
  std::string password;
  std::string source;  // "--vault-password-file FILE"
};

// Reads a vault password file as ansible-core does: the file's text with
// surrounding whitespace stripped; an executable file is a script whose
// standard output is the password (run with no arguments, as Ansible runs a
// plain password script). kBadInput naming the file for a missing, empty
// or failing one.
Result<VaultSecret> read_vault_password_file(const std::string& path);

// "$ANSIBLE_VAULT;1.1;AES256" or "$ANSIBLE_VAULT;1.2;AES256;ID" first.
bool is_vault_envelope(std::string_view text);

// Decrypts an Ansible Vault envelope (format 1.1 or 1.2, AES256: PBKDF2-
// SHA256 with 10,000 rounds gives the AES-256-CTR key, the HMAC-SHA256 key
// and the counter; the HMAC is checked before anything is decrypted) with
// the first secret whose HMAC matches. kBadInput when there is no secret,
// none matches, or the envelope is malformed; the message says which,
// never a value.
Result<std::string> vault_decrypt(std::string_view envelope,
                                  const std::vector<VaultSecret>& secrets);

// Ansible's JSON form of a `!vault` value: {"__ansible_vault": CIPHERTEXT}
// (how ansible-inventory --list prints it, and how flotilla keeps it until a
// command needs the plaintext).
bool is_vault_value(const nlohmann::json& value);

// A variable's value for use: a vault value decrypted to its string, any
// other value as it is. Errors as vault_decrypt's.
Result<nlohmann::json> reveal_vault_value(const nlohmann::json& value,
                                          const std::vector<VaultSecret>& secrets);

}  // namespace flotilla
