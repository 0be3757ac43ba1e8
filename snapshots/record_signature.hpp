#pragma once

#include <map>
#include <string>

#include "core/error.hpp"
#include "snapshots/snapshot.hpp"

namespace flotilla {

// The namespace of a record's `ssh-keygen -Y` signature: a signature made
// for an approval (or for git) never passes for a record.
inline constexpr const char* kRecordNamespace = "flotilla-record";

// Each host's part of `snapshot` by its sha256: what a signature covers of
// the hosts, so a host keeps only its own part and still proves the rest.
std::map<std::string, std::string> host_digests(const Snapshot& snapshot);

// What a controller signs: every field of the record (rehearsal, backup,
// approvals, outcome, times...) and the hosts by `signed_hosts` digests.
std::string record_payload(const Snapshot& snapshot,
                           const std::map<std::string, std::string>& signed_hosts);

// The payload a copy learned from a host was signed over. Fails (naming
// why) when the copy is unsigned, or when a host's part in it does not
// match the digest that was signed for it.
Result<std::string> signed_payload_of(const Snapshot& copy);

}  // namespace flotilla
