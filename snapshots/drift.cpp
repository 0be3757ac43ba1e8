#include "snapshots/drift.hpp"
#include "snapshots/short_id.hpp"

#include <fmt/format.h>

namespace flotilla {
namespace {}  // namespace

std::vector<std::string> drift_of(const HostState& state, const HostPosition* expected,
                                  bool supervised) {
  std::vector<std::string> drift;
  std::string release = state.release.value_or("");
  ObservedRelease seen = observe_release(state.processes, supervised);
  drift.insert(drift.end(), seen.problems.begin(), seen.problems.end());
  if (seen.release && *seen.release != release) {
    drift.push_back(fmt::format("its process runs {} but current is {}", short_id(*seen.release),
                                short_id(release)));
  }
  if (state.current_not_link) drift.push_back("current is not a symlink (replaced by hand?)");
  if (state.failed)
    drift.push_back(fmt::format("its last activation ({}) failed", short_id(release)));
  if (!release.empty() && state.current_link != "releases/" + release) {
    drift.push_back(fmt::format("current -> {} but the state says {}",
                                state.current_link.empty() ? "(nothing)" : state.current_link,
                                short_id(release)));
  }
  if (!state.config.empty() && state.config_link != "../.flotilla/configs/" + state.config) {
    drift.push_back(fmt::format("shared/config -> {} but the state says {}",
                                state.config_link.empty() ? "(nothing)" : state.config_link,
                                short_id(state.config)));
  }
  std::string secrets = state.raw.value("current", nlohmann::json::object()).value("secrets", "");
  if (!secrets.empty() && state.secrets != secrets) {
    drift.push_back(fmt::format("shared/secrets -> {} but the state says {}",
                                state.secrets.empty() ? "(nothing)" : short_id(state.secrets),
                                short_id(secrets)));
  }
  if (expected != nullptr) {
    if (expected->release != release) {
      drift.push_back(fmt::format("runs {}, snapshot {} says {}", short_id(release),
                                  expected->snapshot, short_id(expected->release)));
    }
    if (!expected->config.empty() && expected->config != state.config) {
      drift.push_back(fmt::format("config {}, snapshot {} says {}", short_id(state.config),
                                  expected->snapshot, short_id(expected->config)));
    }
  }
  return drift;
}

}  // namespace flotilla
