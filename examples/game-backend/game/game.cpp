// game: a dedicated game server. A player's session is a connection the
// player holds open (GET /play?player=P streams a heartbeat until either
// side closes it); GET /players prints how many sessions are open, which is
// what flotilla's drain.players reads. POST /drain closes the server to new
// sessions (drain.command) while the players already in finish their match;
// SIGTERM ends every session and exits.
#include <atomic>
#include <chrono>
#include <map>
#include <thread>

#include "common/service.hpp"

int main(int argc, char** argv) {
  auto options = game::parse_options(argc, argv, "game", 8104);
  game::Service service(options);
  std::mutex mutex;
  std::map<std::string, int> sessions;  // player -> open sessions
  std::atomic<int> players{0};
  std::atomic<bool> closed{false};
  // Every open session holds a worker thread; room for a small server's players.
  service.http().new_task_queue = [] { return new httplib::ThreadPool(64); };

  service.http().Get("/play", [&](const httplib::Request& req, httplib::Response& res) {
    std::string player = req.get_param_value("player");
    if (player.empty()) return game::reply(res, 400, {{"error", "player is required"}});
    if (closed || service.draining()) {
      return game::reply(res, 503, {{"error", "draining: no new sessions"}});
    }
    {
      std::lock_guard lock(mutex);
      ++sessions[player];
    }
    ++players;
    service.log("session start: " + player + " (" + std::to_string(players.load()) + " players)");
    res.set_chunked_content_provider(
        "text/plain",
        [&service, player](std::size_t offset, httplib::DataSink& sink) {
          if (offset == 0) {
            std::string hello = "welcome " + player + "\n";
            if (!sink.write(hello.data(), hello.size())) return false;
          }
          if (service.draining()) {  // the server stops: the session ends
            sink.done();
            return true;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(250));
          return sink.is_writable() && sink.write("tick\n", 5);
        },
        [&, player](bool) {
          {
            std::lock_guard lock(mutex);
            if (--sessions[player] == 0) sessions.erase(player);
          }
          --players;
          service.log("session end: " + player + " (" + std::to_string(players.load()) +
                      " players)");
        });
  });
  service.http().Get("/players", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::to_string(players.load()) + "\n", "text/plain");
  });
  service.http().Post("/drain", [&](const httplib::Request&, httplib::Response& res) {
    if (!closed.exchange(true)) {
      service.log("closed to new sessions; " + std::to_string(players.load()) + " players in");
    }
    game::reply(res, 200, {{"closed", true}, {"players", players.load()}});
  });
  service.on_version([&] {
    return nlohmann::json{{"players", players.load()}, {"closed", closed.load()}};
  });
  return service.run();
}
