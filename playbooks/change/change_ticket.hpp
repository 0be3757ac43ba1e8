#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "playbooks/change/approvals.hpp"
#include "playbooks/change/change_request.hpp"
#include "playbooks/change/prepared_change.hpp"
#include "playbooks/change/rehearsal_check.hpp"

namespace flotilla {

// The change record a release manager pastes into the ticket tracker
// (`plan --format markdown|json`): ticket, unit current -> target with the
// commits in between, steps (push, batches, drain and health), scope, the
// exact rollback command, backups, rehearsal, approvals, freeze status,
// what is still missing before it may run, and the plan digest.
struct ChangeTicket {
  std::string ticket;
  std::string environment;
  std::string digest;
  std::vector<std::string> commits;  // "abcdef123456 subject", newest first
  std::string commits_note;          // why there are none, when there are none
  std::string rollback_command;      // "" when there is nothing to go back to
  std::string rollback_note;
  ApprovalStatus approvals;
  RehearsalEvidence rehearsal;
  std::string freeze_now;   // "" when not frozen
  std::string freeze_next;  // the next window, "" when none
  std::string records;      // what records from hosts are trusted here (record_trust)
  std::vector<std::string> missing;
};

// Gathers it from a prepared change (reads the unit's git repository for
// the commits; changes nothing).
ChangeTicket change_ticket(const ChangeContext& context, const ChangeRequest& request,
                           const PreparedChange& prepared, const ApprovalStatus& approvals,
                           std::int64_t now);

std::string change_ticket_markdown(const ChangeTicket& ticket, const PreparedChange& prepared);
nlohmann::json change_ticket_json(const ChangeTicket& ticket, const PreparedChange& prepared);

}  // namespace flotilla
