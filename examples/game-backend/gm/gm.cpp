// gm: the operators' admin service. Schedules events from
// shared/config/events.json, announces each one (log and /announcements)
// when it goes live, and reloads the schedule on SIGHUP — a `flotilla
// config push` puts an event live without a restart. POST /announce tells
// players that a game server restarts soon.
#include <iostream>
#include <map>
#include <set>
#include <thread>
#include <variant>

#include "common/service.hpp"

namespace {

struct Event {
  std::string id;
  std::string title;
  long long starts = 0;
  long long ends = 0;
  std::string announce;
};

std::variant<std::vector<Event>, std::string> read_events(const std::string& dir) {
  auto text = game::read_file(dir + "/events.json");
  if (!text) return std::string("cannot read ") + dir + "/events.json";
  std::vector<Event> out;
  try {
    auto doc = nlohmann::json::parse(*text);
    for (const auto& e : doc.at("events")) {
      Event event;
      event.id = e.at("id").get<std::string>();
      event.title = e.at("title").get<std::string>();
      auto starts = game::parse_utc(e.at("starts").get<std::string>());
      auto ends = game::parse_utc(e.at("ends").get<std::string>());
      if (!starts || !ends || *ends <= *starts)
        return "event " + event.id + ": needs starts < ends, like 2026-11-27T00:00:00Z";
      event.starts = *starts;
      event.ends = *ends;
      event.announce = e.value("announce", event.title);
      out.push_back(event);
    }
  } catch (const nlohmann::json::exception& e) {
    return std::string("events.json: ") + e.what();
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  auto options = game::parse_options(argc, argv, "gm", 8103);
  if (!options.check_config.empty()) {
    auto checked = read_events(options.check_config);
    if (auto* problem = std::get_if<std::string>(&checked)) {
      std::cerr << "gm: " << *problem << "\n";
      return 1;
    }
    std::cout << "gm: " << std::get<0>(checked).size() << " event(s) ok\n";
    return 0;
  }
  game::Service service(options);
  std::mutex mutex;
  std::vector<Event> events;
  std::string config_problem;
  std::set<std::string> announced;
  nlohmann::json announcements = nlohmann::json::array();

  auto reload = [&] {
    auto read = read_events(service.config_dir());
    std::lock_guard lock(mutex);
    if (auto* problem = std::get_if<std::string>(&read)) {
      config_problem = *problem;
      service.log("events not reloaded: " + *problem);
      return;
    }
    events = std::get<0>(read);
    config_problem.clear();
    service.log("events loaded: " + std::to_string(events.size()));
  };
  // Announces events as they go live: at a reload, or when their time comes.
  auto announce_due = [&] {
    std::lock_guard lock(mutex);
    long long now = game::now_utc();
    for (const auto& e : events) {
      if (now < e.starts || now >= e.ends || announced.count(e.id)) continue;
      announced.insert(e.id);
      announcements.push_back(
          {{"event", e.id}, {"text", e.announce}, {"at", game::format_utc(now)}});
      service.log("ANNOUNCE " + e.id + ": " + e.announce);
    }
  };
  reload();
  announce_due();
  service.on_reload([&] {
    reload();
    announce_due();
  });
  service.on_health([&] {
    std::lock_guard lock(mutex);
    return config_problem;
  });
  std::atomic<bool> stopping{false};
  std::thread scheduler([&] {
    while (!stopping) {
      announce_due();
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  });

  service.http().Get("/events/active", [&](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(mutex);
    long long now = game::now_utc();
    nlohmann::json active = nlohmann::json::array();
    for (const auto& e : events) {
      if (now >= e.starts && now < e.ends)
        active.push_back({{"id", e.id}, {"title", e.title}, {"ends", game::format_utc(e.ends)}});
    }
    game::reply(res, 200, {{"active", active}});
  });
  // A game server's restart notice (flotilla's drain.notify): told to the
  // players like any announcement.
  service.http().Post("/announce", [&](const httplib::Request& req, httplib::Response& res) {
    std::string server = req.get_param_value("server");
    std::string minutes = req.get_param_value("minutes");
    if (server.empty() || minutes.empty() ||
        minutes.find_first_not_of("0123456789") != std::string::npos) {
      return game::reply(res, 400, {{"error", "server and minutes (a number) are required"}});
    }
    std::string text = "Server " + server + " restarts for an update in " + minutes +
                       (minutes == "1" ? " minute" : " minutes");
    std::lock_guard lock(mutex);
    announcements.push_back({{"event", "restart-" + server},
                             {"text", text},
                             {"server", server},
                             {"minutes", std::stol(minutes)},
                             {"at", game::format_utc(game::now_utc())}});
    service.log("ANNOUNCE restart-" + server + ": " + text);
    game::reply(res, 200, {{"announced", text}});
  });
  service.http().Get("/announcements", [&](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(mutex);
    game::reply(res, 200, {{"announcements", announcements}});
  });
  int status = service.run();
  stopping = true;
  scheduler.join();
  return status;
}
