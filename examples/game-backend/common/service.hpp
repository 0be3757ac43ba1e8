#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/http_metrics.hpp"

namespace game {

// What every service is started with: where to listen and the unit's
// directory on the host (DEPLOY_TO), whose shared/ holds config, secrets,
// data and logs that outlive releases.
struct ServiceOptions {
  std::string name;
  std::string host = "127.0.0.1";
  int port = 0;
  std::string root = ".";
  std::string check_config;  // --check-config DIR: validate and exit
};

// Parses --host, --port, --root, --check-config; exits 64 on bad usage.
ServiceOptions parse_options(int argc, char** argv, const std::string& name, int default_port);

// The common life of a service: /health, /version and /metrics
// (HttpMetrics: every request counted and timed), SIGHUP reloads,
// SIGTERM drains (stop accepting, finish what is in flight, then exit),
// timestamped log lines on stderr (the supervisor appends them to
// shared/log/UNIT.log).
class Service {
 public:
  explicit Service(ServiceOptions options);

  httplib::Server& http() { return server_; }
  const ServiceOptions& options() const { return options_; }
  std::string config_dir() const { return options_.root + "/shared/config"; }
  std::string secrets_dir() const { return options_.root + "/shared/secrets"; }
  std::string data_dir() const;  // shared/data, created on first use

  void log(const std::string& line);
  bool draining() const { return draining_; }

  // Called on SIGHUP (and once by the service at start, as it likes).
  void on_reload(std::function<void()> reload) { reload_ = std::move(reload); }
  // "" while healthy, else why not; /health answers 503 with the reason.
  void on_health(std::function<std::string()> health) { health_ = std::move(health); }
  // Extra fields for /version.
  void on_version(std::function<nlohmann::json()> version) { version_ = std::move(version); }

  // Serves until SIGTERM/SIGINT, then drains; returns the exit status.
  int run();

 private:
  ServiceOptions options_;
  httplib::Server server_;
  std::function<void()> reload_;
  std::function<std::string()> health_;
  std::function<nlohmann::json()> version_;
  std::atomic<bool> draining_{false};
  std::mutex log_mutex_;
  HttpMetrics metrics_;
};

// The release this process runs: the directory `current` pointed to when it
// started (releases/<id>), and the commit it was built from.
std::string release_id();
std::string build_commit();

// A secret the unit declared, read from shared/secrets/NAME; "" if absent.
std::string read_secret(const std::string& secrets_dir, const std::string& name);

// The whole file, or nullopt.
std::optional<std::string> read_file(const std::string& path);

// ISO 8601 UTC ("2026-11-27T00:00:00Z") <-> seconds since the epoch.
std::optional<long long> parse_utc(const std::string& text);
std::string format_utc(long long seconds);
long long now_utc();

// Respond with JSON.
void reply(httplib::Response& res, int status, const nlohmann::json& body);

}  // namespace game
