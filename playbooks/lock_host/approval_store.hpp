#pragma once

#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/transport.hpp"

namespace flotilla {

// One approval: the bytes that were signed (a JSON document naming the
// environment, ticket, plan digest, units, message and time) and the
// OpenSSH signature over them (namespace `flotilla-approval`).
struct Approval {
  std::string payload;
  std::string signature;
};

// Stored on the environment's lock host, under ~/.flotilla/approvals/ENV/TICKET/
// (load_approvals with ticket "-": every ticket's).
Result<void> store_approval(Transport& lock_host, const std::string& environment,
                            const std::string& ticket, const Approval& approval);
Result<std::vector<Approval>> load_approvals(Transport& lock_host, const std::string& environment,
                                             const std::string& ticket);

}  // namespace flotilla
