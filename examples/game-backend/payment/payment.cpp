// payment: settles purchases from three stores whose receipts differ. Each
// purchase carries the client's id; the settled ledger (shared/data) is
// journaled before the answer, and a repeated id is answered from the
// ledger, never settled twice. SIGTERM drains: in-flight settlements finish
// before the process exits, so a rolling restart loses and doubles nothing.
#include <chrono>
#include <condition_variable>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "common/journal.hpp"
#include "common/service.hpp"

namespace {

struct Store {
  const char* secret;  // the store's API key, delivered by flotilla into shared/secrets
  std::chrono::milliseconds settle_time;
  // What a receipt from this store looks like.
  bool (*valid)(const nlohmann::json& receipt);
};

const std::map<std::string, Store>& stores() {
  static const std::map<std::string, Store> all = {
      // App Store: a base64 payload string.
      {"apple",
       {"APPLE_KEY", std::chrono::milliseconds(300),
        [](const nlohmann::json& r) {
          static const std::regex base64("[A-Za-z0-9+/]{16,}={0,2}");
          return r.is_string() && std::regex_match(r.get<std::string>(), base64);
        }}},
      // Google Play: an object with an order id and a purchase token.
      {"google",
       {"GOOGLE_KEY", std::chrono::milliseconds(200),
        [](const nlohmann::json& r) {
          return r.is_object() && r.contains("orderId") && r["orderId"].is_string() &&
                 r.contains("purchaseToken") && r["purchaseToken"].is_string();
        }}},
      // Steam: a numeric order id.
      {"steam",
       {"STEAM_KEY", std::chrono::milliseconds(400),
        [](const nlohmann::json& r) {
          return r.is_number_unsigned() && r.get<unsigned long>() > 0;
        }}},
  };
  return all;
}

class Ledger {
 public:
  explicit Ledger(const std::string& path) : journal_(path) {
    for (auto& record : journal_.load()) settled_[record.value("id", "")] = record;
  }

  // Settles once: a second request with the same id gets the first result;
  // one arriving while the first is still settling waits for it.
  std::pair<int, nlohmann::json> settle(const nlohmann::json& purchase, const Store& store) {
    std::string id = purchase["id"];
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return !in_flight_.count(id); });
      if (auto it = settled_.find(id); it != settled_.end()) {
        return {200, {{"id", id}, {"status", "settled"}, {"duplicate", true}}};
      }
      in_flight_.insert(id);
    }
    std::this_thread::sleep_for(store.settle_time);  // the store's round trip
    nlohmann::json record = {{"id", id},
                             {"player", purchase["player"]},
                             {"store", purchase["store"]},
                             {"product", purchase["product"]},
                             {"settled_at", game::format_utc(game::now_utc())}};
    bool durable = journal_.append(record);
    std::lock_guard lock(mutex_);
    in_flight_.erase(id);
    changed_.notify_all();
    if (!durable) return {500, {{"id", id}, {"error", "ledger write failed; not settled"}}};
    settled_[id] = record;
    return {200, {{"id", id}, {"status", "settled"}, {"duplicate", false}}};
  }

  // Every settlement as journaled on disk (re-read, so a double
  // settlement would show as a repeated id).
  nlohmann::json journaled() {
    std::lock_guard lock(mutex_);
    nlohmann::json out = nlohmann::json::array();
    for (const auto& record : journal_.load()) out.push_back(record.value("id", ""));
    return out;
  }

  std::size_t in_flight() {
    std::lock_guard lock(mutex_);
    return in_flight_.size();
  }

 private:
  game::Journal journal_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, nlohmann::json> settled_;
  std::set<std::string> in_flight_;
};

}  // namespace

int main(int argc, char** argv) {
  auto options = game::parse_options(argc, argv, "payment", 8102);
  if (!options.check_config.empty()) return 0;  // payment has no config files to check
  game::Service service(options);
  Ledger ledger(service.data_dir() + "/payment-ledger.jsonl");

  service.on_health([&service] {
    for (const auto& [name, store] : stores()) {
      if (game::read_secret(service.secrets_dir(), store.secret).empty())
        return std::string("missing secret ") + store.secret;
    }
    return std::string();
  });
  service.on_version([&ledger] { return nlohmann::json{{"in_flight", ledger.in_flight()}}; });

  service.http().Post("/purchase", [&](const httplib::Request& req, httplib::Response& res) {
    nlohmann::json p;
    try {
      p = nlohmann::json::parse(req.body);
    } catch (const nlohmann::json::exception&) {
      return game::reply(res, 400, {{"error", "body is not JSON"}});
    }
    for (const char* field : {"id", "player", "store", "product"}) {
      if (!p.contains(field) || !p[field].is_string() || p[field].get<std::string>().empty())
        return game::reply(res, 400, {{"error", std::string("missing ") + field}});
    }
    auto store = stores().find(p["store"].get<std::string>());
    if (store == stores().end()) return game::reply(res, 400, {{"error", "unknown store"}});
    if (!p.contains("receipt") || !store->second.valid(p["receipt"]))
      return game::reply(res, 400,
                         {{"error", "receipt is not a valid " + store->first + " receipt"}});
    if (service.draining()) return game::reply(res, 503, {{"error", "draining; retry"}});
    auto [status, body] = ledger.settle(p, store->second);
    game::reply(res, status, body);
  });
  service.http().Get("/ledger", [&](const httplib::Request&, httplib::Response& res) {
    game::reply(res, 200, {{"settled", ledger.journaled()}});
  });
  return service.run();
}
