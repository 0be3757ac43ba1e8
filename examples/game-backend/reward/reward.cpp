// reward: login rewards from campaign files (shared/config/campaigns.json),
// e.g. the compensation after an incident: "every player who logs in
// before Friday gets 500 gems". Campaigns reload on SIGHUP (flotilla config
// push) without a restart; grants are journaled (shared/data), so no player
// gets one campaign twice, across reloads and restarts.
#include <iostream>
#include <map>
#include <set>
#include <variant>

#include "common/journal.hpp"
#include "common/service.hpp"

namespace {

struct Campaign {
  std::string id;
  long gems = 0;
  long long starts = 0;
  long long until = 0;
  std::string message;
};

// Reads and checks campaigns.json; an error message instead when it is wrong.
std::variant<std::vector<Campaign>, std::string> read_campaigns(const std::string& dir) {
  auto text = game::read_file(dir + "/campaigns.json");
  if (!text) return std::string("cannot read ") + dir + "/campaigns.json";
  std::vector<Campaign> out;
  try {
    auto doc = nlohmann::json::parse(*text);
    std::set<std::string> ids;
    for (const auto& c : doc.at("campaigns")) {
      Campaign campaign;
      campaign.id = c.at("id").get<std::string>();
      campaign.gems = c.at("gems").get<long>();
      auto starts = game::parse_utc(c.value("starts", "1970-01-01T00:00:00Z"));
      auto until = game::parse_utc(c.at("until").get<std::string>());
      if (!starts || !until)
        return "campaign " + campaign.id + ": times must be like 2026-11-27T00:00:00Z";
      if (campaign.gems <= 0) return "campaign " + campaign.id + ": gems must be positive";
      if (!ids.insert(campaign.id).second) return "campaign " + campaign.id + " is listed twice";
      campaign.starts = *starts;
      campaign.until = *until;
      campaign.message = c.value("message", "");
      out.push_back(campaign);
    }
  } catch (const nlohmann::json::exception& e) {
    return std::string("campaigns.json: ") + e.what();
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  auto options = game::parse_options(argc, argv, "reward", 8101);
  if (!options.check_config.empty()) {
    auto checked = read_campaigns(options.check_config);
    if (auto* problem = std::get_if<std::string>(&checked)) {
      std::cerr << "reward: " << *problem << "\n";
      return 1;
    }
    std::cout << "reward: " << std::get<0>(checked).size() << " campaign(s) ok\n";
    return 0;
  }
  game::Service service(options);
  game::Journal grants_journal(service.data_dir() + "/reward-grants.jsonl");
  std::mutex mutex;
  std::vector<Campaign> campaigns;
  std::string config_problem;
  std::map<std::string, std::set<std::string>> granted;  // player -> campaign ids
  for (const auto& g : grants_journal.load())
    granted[g.value("player", "")].insert(g.value("campaign", ""));

  auto reload = [&] {
    auto read = read_campaigns(service.config_dir());
    std::lock_guard lock(mutex);
    if (auto* problem = std::get_if<std::string>(&read)) {
      config_problem = *problem;  // keep serving the campaigns we had
      service.log("campaigns not reloaded: " + *problem);
      return;
    }
    campaigns = std::get<0>(read);
    config_problem.clear();
    service.log("campaigns loaded: " + std::to_string(campaigns.size()));
  };
  reload();
  service.on_reload(reload);
  service.on_health([&] {
    std::lock_guard lock(mutex);
    return config_problem;
  });

  service.http().Post("/login", [&](const httplib::Request& req, httplib::Response& res) {
    std::string player = req.get_param_value("player");
    if (player.empty()) return game::reply(res, 400, {{"error", "player is required"}});
    std::lock_guard lock(mutex);
    long long now = game::now_utc();
    nlohmann::json grants = nlohmann::json::array();
    for (const auto& c : campaigns) {
      if (now < c.starts || now >= c.until || granted[player].count(c.id)) continue;
      nlohmann::json record = {
          {"player", player}, {"campaign", c.id}, {"gems", c.gems}, {"at", game::format_utc(now)}};
      if (!grants_journal.append(record)) {
        return game::reply(res, 500, {{"error", "grant journal write failed"}});
      }
      granted[player].insert(c.id);
      grants.push_back({{"campaign", c.id}, {"gems", c.gems}, {"message", c.message}});
    }
    game::reply(res, 200, {{"player", player}, {"granted", grants}});
  });
  service.http().Get("/campaigns", [&](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(mutex);
    long long now = game::now_utc();
    nlohmann::json active = nlohmann::json::array();
    for (const auto& c : campaigns) {
      if (now >= c.starts && now < c.until)
        active.push_back({{"id", c.id}, {"gems", c.gems}, {"until", game::format_utc(c.until)}});
    }
    game::reply(res, 200, {{"active", active}});
  });
  return service.run();
}
