// Signed records and approvals, checked with the real ssh-keygen -Y: what a
// host can change of a record, and what a planted record can make flotilla do.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>

#include "core/ssh_signature.hpp"
#include "playbooks/change/approvals.hpp"
#include "snapshots/ledger.hpp"
#include "snapshots/record_signature.hpp"
#include "support/scratch_dir.hpp"

using namespace flotilla;

namespace {

struct Signers {
  ScratchDir dir;
  std::string key, stranger, allowed;
  Signers() {
    key = (dir.path / "key").string();
    stranger = (dir.path / "stranger").string();
    for (const auto& k : {key, stranger}) {
      REQUIRE(std::system(("ssh-keygen -q -t ed25519 -N '' -f " + k).c_str()) == 0);
    }
    std::ifstream pub(key + ".pub");
    std::string line;
    std::getline(pub, line);
    allowed =
        dir.write("recorders", "ci namespaces=\"flotilla-record,flotilla-approval\" " + line + "\n")
            .string();
  }
};

Snapshot record() {
  Snapshot s;
  s.id = 7;
  s.environment = "int";
  s.unit = "game";
  s.kind = ChangeKind::kDeploy;
  s.artifact = "r2";
  s.outcome = "succeeded";
  s.finished = "2026-12-03T09:00:00Z";
  s.hosts["h01"] = {"r1", "r2", "", "", "updated"};
  s.hosts["h02"] = {"r1", "r2", "", "", "updated"};
  return s;
}

// What host `host` keeps of a signed record, read back as a controller reads it.
Snapshot copy_on(const Snapshot& signed_record, const std::string& host) {
  auto copy = Snapshot::from_json(signed_record.for_host(host), host);
  REQUIRE(copy);
  return *copy;
}

std::string verify(const Signers& s, const Snapshot& copy) {
  auto payload = signed_payload_of(copy);
  if (!payload) return payload.error().message;
  auto check = ssh_verify(s.allowed, kRecordNamespace, *payload, copy.signature);
  return check.ok() ? "ok " + check.principal : "bad";
}

Snapshot sign(Snapshot r, const std::string& key) {
  r.signed_hosts = host_digests(r);
  auto signatures = ssh_sign(key, kRecordNamespace, {record_payload(r, r.signed_hosts)});
  REQUIRE(signatures);
  r.signature = signatures->front();
  return r;
}

}  // namespace

TEST_CASE("a signed record verifies from any one host's copy, and every field counts") {
  Signers s;
  Snapshot signed_record = sign(record(), s.key);
  CHECK(verify(s, copy_on(signed_record, "h01")) == "ok ci");
  CHECK(verify(s, copy_on(signed_record, "h02")) == "ok ci");

  // A host rewrites its copy into a rehearsal, a backup, another outcome.
  Snapshot forged = copy_on(signed_record, "h02");
  forged.kind = ChangeKind::kRehearsal;
  forged.rehearsal = {{"like", "prod"}, {"to", {{"release", "r9"}}}};
  CHECK(verify(s, forged) == "bad");
  forged = copy_on(signed_record, "h02");
  forged.backup = nlohmann::json::array({{{"host", "h01"}, {"ok", true}, {"location", "/etc"}}});
  CHECK(verify(s, forged) == "bad");
  // Its own part, or a part for another host it adds.
  forged = copy_on(signed_record, "h02");
  forged.hosts["h02"].after = "r9";
  CHECK(verify(s, forged) == "h02's part was altered after signing");
  forged = copy_on(signed_record, "h02");
  forged.hosts["h03"] = {"", "r9", "", "", "updated"};
  CHECK(verify(s, forged) == "h03 is not among the hosts it signed");
  // Unsigned, or signed by a key not listed.
  forged = copy_on(signed_record, "h02");
  forged.signature.clear();
  CHECK(verify(s, forged) == "unsigned");
  CHECK(verify(s, copy_on(sign(record(), s.stranger), "h01")) == "bad");
}

TEST_CASE("ledger: a record any host's copy of which is disputed is disputed, and never used") {
  ScratchDir dir;
  Ledger ledger(dir.path.string(), "int");
  Snapshot good = record();
  Snapshot bad = record();
  bad.hosts.erase("h01");
  bad.disputed = "h02's copy: unsigned";
  Snapshot good_copy = good;
  good_copy.hosts.erase("h02");
  auto merged = ledger.merge({good_copy, bad}, 10);
  REQUIRE(merged);
  REQUIRE(merged->size() == 1);
  CHECK(merged->front().disputed == "h02's copy: unsigned");
  CHECK(merged->front().outcome == "disputed");
  CHECK_FALSE(merged->front().succeeded());
  // Saved with its reason; what a host says of `disputed` is not read from it
  // (verify_copies clears it) but a ledger's own record keeps it.
  auto listed = ledger.list();
  REQUIRE(listed);
  CHECK(listed->front().disputed == "h02's copy: unsigned");
}

TEST_CASE("approvals: a planted record of the wrong types is refused, never thrown on") {
  Signers s;
  for (const std::string payload :
       {R"({"time": 1})", R"({"ticket": 5, "plan_digest": []})", "not json", R"([1,2])"}) {
    CAPTURE(payload);
    ApprovalStatus status;
    CHECK_NOTHROW(status = check_approvals({{payload, "garbage"}}, 1, s.allowed, "prod", "T-1",
                                           "digest", {}));
    REQUIRE(status.checked.size() == 1);
    CHECK_FALSE(status.checked.front().refused.empty());
    CHECK(approval_field(payload, "ticket").empty());
  }
}
