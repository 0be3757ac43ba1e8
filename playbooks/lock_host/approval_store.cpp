#include "playbooks/lock_host/approval_store.hpp"

#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/base64.hpp"
#include "core/sha256.hpp"
#include "playbooks/host_commands.hpp"

namespace flotilla {
namespace {

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

bool safe_name(const std::string& s) {
  if (s.empty() || s.size() > 64 || s[0] == '.') return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      return false;
  }
  return true;
}

Result<void> check_names(const std::string& environment, const std::string& ticket) {
  if (!safe_name(ticket)) {
    return fail(ErrorKind::kBadInput,
                fmt::format("ticket '{}': approvals need a ticket id of letters, digits, '.', '_' "
                            "or '-' (like DA-001)",
                            ticket));
  }
  if (!safe_name(environment)) return fail(ErrorKind::kBadInput, "bad environment name");
  return {};
}

}  // namespace

Result<void> store_approval(Transport& lock_host, const std::string& environment,
                            const std::string& ticket, const Approval& approval) {
  if (auto ok = check_names(environment, ticket); !ok) return ok;
  nlohmann::json doc = {{"payload", approval.payload}, {"signature", approval.signature}};
  std::string text = doc.dump();
  std::string name = sha256_hex(text).substr(0, 32) + ".json";
  auto r = lock_host.run({{0, approval_store_command(environment, ticket, name, text)}});
  if (!r[0]) return tl::unexpected(r[0].error());
  if (!r[0]->ok()) {
    return fail(ErrorKind::kFailed, fmt::format("the lock host could not keep the approval: {}",
                                                first_line(r[0]->err)));
  }
  return {};
}

Result<std::vector<Approval>> load_approvals(Transport& lock_host, const std::string& environment,
                                             const std::string& ticket) {
  if (ticket != "-") {
    if (auto ok = check_names(environment, ticket); !ok) return tl::unexpected(ok.error());
  }
  auto r = lock_host.run({{0, approval_list_command(environment, ticket)}});
  if (!r[0]) return tl::unexpected(r[0].error());
  if (!r[0]->ok()) {
    return fail(ErrorKind::kFailed,
                fmt::format("the lock host could not list approvals: {}", first_line(r[0]->err)));
  }
  std::vector<Approval> out;
  std::istringstream lines(r[0]->out);
  std::string line;
  while (std::getline(lines, line)) {
    auto space = line.find(' ');
    if (space == std::string::npos) continue;
    auto text = base64_decode(line.substr(space + 1));
    if (!text) continue;
    // Nothing is taken from the host but these bytes: a record that does
    // not parse is skipped; one that parses is still checked by signature.
    auto doc = nlohmann::json::parse(*text, nullptr, false);
    if (!doc.is_object() || !doc["payload"].is_string() || !doc["signature"].is_string()) continue;
    out.push_back({doc["payload"].get<std::string>(), doc["signature"].get<std::string>()});
  }
  return out;
}

}  // namespace flotilla
