#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/transport.hpp"
#include "playbooks/project.hpp"
#include "snapshots/host_layout.hpp"

namespace flotilla {

// A unit's secrets (store keys, database passwords), resolved on the
// controller at change time and never written anywhere but the hosts'
// `shared/.secrets/<digest>/NAME` (mode 0600), reached through the
// `shared/secrets` symlink that a change switches atomically.
struct SecretBundle {
  std::string digest;                         // secrets_digest(): safe to record
  std::map<std::string, std::string> values;  // NAME -> value
};

// One secret's value: `env:NAME` from the environment, `file:PATH` (one
// trailing newline dropped). kBadInput naming `what` and the source — never
// the value — when it is missing or empty.
Result<std::string> read_secret_value(const SecretSource& source, const std::string& what);

// Reads every declared secret: `env:NAME` from the environment, `file:PATH`
// (one trailing newline dropped). kBadInput naming the secret and its
// source — never the value — when one is missing or empty. nullopt when the
// unit declares none.
Result<std::optional<SecretBundle>> resolve_secrets(const Unit& unit);

// The values alone (NAME -> value), with the same errors: what a check that
// every secret is there needs, without paying for the digest.
Result<std::map<std::string, std::string>> read_secrets(const Unit& unit);

// Warnings for `file:` secrets that other users on the controller can read
// (group or world permissions), one per file.
std::vector<std::string> exposed_secret_files(const Unit& unit);

// Every value of every unit's secrets that can be read now (missing ones
// are skipped): what a command redacts from anything it prints, since a
// host's output — a log line, a failing check — may contain one.
std::vector<std::string> readable_secret_values(const Project& project);

// A version id for a set of values that does not reveal them: PBKDF2 over
// the names and values, salted with the unit name. A plain sha256 of a
// short password in a snapshot could be guessed offline.
std::string secrets_digest(const std::string& unit,
                           const std::map<std::string, std::string>& values);

// Receives the values (a tar on stdin — never the command line, so `ps`
// on the host never shows them) into shared/.secrets/<digest>/, files 0600
// in a 0700 directory. Idempotent.
RemoteCommand secrets_receive_command(const HostLayout& layout, const SecretBundle& bundle);

}  // namespace flotilla
