#include "playbooks/change/record_signing.hpp"

#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "core/sha256.hpp"
#include "core/ssh_signature.hpp"
#include "snapshots/record_signature.hpp"

namespace flotilla {
namespace {
namespace fs = std::filesystem;

const std::optional<std::string>& recorders_of(const ChangeContext& context) {
  return context.targets.environment->recorders;
}

// A check already made, by this process or an earlier one on this controller.
class VerifiedCache {
 public:
  explicit VerifiedCache(const std::string& state_dir) : dir_(state_dir + "/verified-records") {}

  std::optional<std::string> principal(const std::string& key) const {
    if (auto it = memory_.find(key); it != memory_.end()) return it->second;
    std::ifstream in(dir_ + "/" + key);
    std::string principal;
    if (in && std::getline(in, principal) && !principal.empty()) return principal;
    return std::nullopt;
  }
  void remember(const std::string& key, const std::string& principal) {
    memory_[key] = principal;
    std::error_code ec;
    fs::create_directories(dir_, ec);
    std::ofstream(dir_ + "/" + key) << principal << "\n";
  }

 private:
  std::string dir_;
  std::map<std::string, std::string> memory_;
};

}  // namespace

Result<void> sign_record(const ChangeContext& context, Snapshot& snapshot) {
  snapshot.signature.clear();
  snapshot.signed_hosts.clear();
  if (!context.signing_key) return {};
  auto key = context.signing_key();
  if (!key) {
    if (recorders_of(context)) return tl::unexpected(key.error());
    return {};  // an environment without recorders takes unsigned records
  }
  auto digests = host_digests(snapshot);
  auto signatures = ssh_sign(*key, kRecordNamespace, {record_payload(snapshot, digests)});
  if (!signatures) return tl::unexpected(signatures.error());
  snapshot.signature = signatures->front();
  snapshot.signed_hosts = std::move(digests);
  return {};
}

Result<void> check_recorder(const ChangeContext& context) {
  const auto& recorders = recorders_of(context);
  if (!recorders) return {};
  std::string where =
      fmt::format("environments.{}.recorders ({})", context.targets.environment->name, *recorders);
  if (!context.signing_key) return fail(ErrorKind::kBadInput, where + ": no key to sign with");
  auto key = context.signing_key();
  if (!key) {
    return fail(ErrorKind::kBadInput,
                fmt::format("{}: records here must be signed, and {}", where, key.error().message));
  }
  const std::string probe = "flotilla-record/v1 recorder check\n";
  auto signatures = ssh_sign(*key, kRecordNamespace, {probe});
  if (!signatures) return tl::unexpected(signatures.error());
  SignatureCheck check = ssh_verify(*recorders, kRecordNamespace, probe, signatures->front());
  if (!check.ok()) {
    return fail(ErrorKind::kBadInput,
                fmt::format("{}: the key this controller signs records with ({}) is not listed "
                            "there, so its records would count for nobody; add it, or sign with "
                            "--signing-key",
                            where, *key));
  }
  return {};
}

void verify_copies(const ChangeContext& context, std::vector<Snapshot>& copies,
                   const std::vector<std::string>& hosts_of_copies) {
  const auto& recorders = recorders_of(context);
  VerifiedCache cache(context.targets.project->state_dir);
  for (std::size_t i = 0; i < copies.size(); ++i) {
    Snapshot& copy = copies[i];
    copy.disputed.clear();  // never taken from a host
    copy.signer.clear();
    if (!recorders) continue;
    const std::string& host = hosts_of_copies[i];
    auto payload = signed_payload_of(copy);
    if (!payload) {
      copy.disputed = fmt::format("{}'s copy: {}", host, payload.error().message);
      continue;
    }
    std::string key = sha256_hex(*recorders + "\n" + *payload + copy.signature);
    if (auto known = cache.principal(key)) {
      copy.signer = *known;
      continue;
    }
    SignatureCheck check = ssh_verify(*recorders, kRecordNamespace, *payload, copy.signature);
    switch (check.problem) {
      case SignatureCheck::Problem::kNone:
        copy.signer = check.principal;
        cache.remember(key, check.principal);
        break;
      case SignatureCheck::Problem::kUnknownSigner:
        copy.disputed = fmt::format("{}'s copy: signed by a key not in {}", host, *recorders);
        break;
      case SignatureCheck::Problem::kInvalid:
        copy.disputed = fmt::format(
            "{}'s copy: the signature by {} does not match the record "
            "(altered)",
            host, check.principal);
        break;
    }
  }
}

std::string record_trust(const ChangeContext& context) {
  const auto& recorders = recorders_of(context);
  if (recorders) {
    return fmt::format("records from hosts count only when signed by a recorder in {}", *recorders);
  }
  return "no recorders: records from hosts are unsigned and trusted when the hosts' copies "
         "agree (set environments." +
         context.targets.environment->name + ".recorders to require signatures)";
}

}  // namespace flotilla
