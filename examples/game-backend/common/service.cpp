#include "common/service.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#ifndef GAME_VERSION
#define GAME_VERSION "dev"
#endif
#ifndef GAME_COMMIT
#define GAME_COMMIT "unknown"
#endif

namespace game {
namespace {

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

[[noreturn]] void usage(const std::string& name, const std::string& problem) {
  std::cerr << name << ": " << problem << "\nusage: " << name
            << " [--host ADDR] [--port N] [--root DEPLOY_TO] [--check-config DIR]\n";
  std::exit(64);
}

}  // namespace

ServiceOptions parse_options(int argc, char** argv, const std::string& name, int default_port) {
  ServiceOptions o;
  o.name = name;
  o.port = default_port;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) usage(name, "missing value for " + arg);
    std::string value = argv[++i];
    if (arg == "--host") {
      o.host = value;
    } else if (arg == "--port") {
      char* end = nullptr;
      long port = std::strtol(value.c_str(), &end, 10);
      if (*end != '\0' || port <= 0 || port > 65535) usage(name, "bad --port " + value);
      o.port = static_cast<int>(port);
    } else if (arg == "--root") {
      o.root = value;
    } else if (arg == "--check-config") {
      o.check_config = value;
    } else {
      usage(name, "unknown option " + arg);
    }
  }
  return o;
}

namespace {
// When the request this worker thread answers arrived (httplib answers a
// request on one thread, start to finish).
thread_local std::chrono::steady_clock::time_point request_started;
}  // namespace

Service::Service(ServiceOptions options) : options_(std::move(options)) {
  // Signals go to one thread (run()'s), never to the HTTP workers.
  sigset_t set = handled_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  server_.set_keep_alive_max_count(100);
  server_.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    std::string problem = draining_ ? "draining" : health_ ? health_() : "";
    reply(res, problem.empty() ? 200 : 503,
          {{"ok", problem.empty()}, {"service", options_.name}, {"problem", problem}});
  });
  // Every request timed and counted (metrics_), /metrics included.
  server_.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    request_started = std::chrono::steady_clock::now();
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server_.set_logger([this](const httplib::Request&, const httplib::Response& res) {
    metrics_.observe(res.status, std::chrono::steady_clock::now() - request_started);
  });
  server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.exposition(options_.name, release_id(), build_commit()),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  server_.Get("/version", [this](const httplib::Request&, httplib::Response& res) {
    nlohmann::json body = {{"service", options_.name},
                           {"version", GAME_VERSION},
                           {"release", release_id()},
                           {"commit", build_commit()},
                           {"pid", static_cast<long>(::getpid())}};
    if (version_) body.update(version_());
    reply(res, 200, body);
  });
}

std::string Service::data_dir() const {
  std::string dir = options_.root + "/shared/data";
  std::filesystem::create_directories(dir);
  return dir;
}

void Service::log(const std::string& line) {
  std::lock_guard lock(log_mutex_);
  std::cerr << format_utc(now_utc()) << " " << options_.name << ": " << line << std::endl;
}

int Service::run() {
  std::atomic<bool> listening_done{false};
  std::thread signals([this, &listening_done] {
    sigset_t set = handled_signals();
    while (true) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (sig == SIGHUP) {
        log("SIGHUP: reloading");
        if (reload_) reload_();
        continue;
      }
      draining_ = true;
      log("draining: no new connections; finishing requests in flight");
      // stop() only acts on a running server: repeat until listen() returned.
      while (!listening_done) {
        server_.stop();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      return;
    }
  });
  log(std::string("version ") + GAME_VERSION + ", release " + release_id() + " (commit " +
      build_commit().substr(0, 12) + ") listening on " + options_.host + ":" +
      std::to_string(options_.port));
  bool ok = server_.listen(options_.host, options_.port);  // returns once drained
  listening_done = true;
  if (!ok && !draining_) {
    log("cannot listen on " + options_.host + ":" + std::to_string(options_.port));
    pthread_kill(signals.native_handle(), SIGTERM);
    signals.join();
    return 1;
  }
  signals.join();
  log("drained; exiting");
  return 0;
}

std::string release_id() {
  std::error_code ec;
  auto here = std::filesystem::canonical(".", ec);
  if (ec || here.parent_path().filename() != "releases") return "dev";
  return here.filename().string();
}

std::string build_commit() { return GAME_COMMIT; }

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string read_secret(const std::string& secrets_dir, const std::string& name) {
  return read_file(secrets_dir + "/" + name).value_or("");
}

std::optional<long long> parse_utc(const std::string& text) {
  std::tm tm{};
  std::istringstream in(text);
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
  if (in.fail()) return std::nullopt;
  return static_cast<long long>(timegm(&tm));
}

std::string format_utc(long long seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

long long now_utc() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void reply(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

}  // namespace game
