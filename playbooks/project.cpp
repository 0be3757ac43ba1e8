#include "playbooks/project.hpp"

#include <filesystem>

namespace flotilla {

const Environment* Project::environment(const std::string& env_name) const {
  for (const auto& env : environments) {
    if (env.name == env_name) return &env;
  }
  return nullptr;
}

const Unit* Project::unit(const std::string& unit_name) const {
  for (const auto& u : units) {
    if (u.name == unit_name) return &u;
  }
  return nullptr;
}

const char* unit_kind_name(UnitKind kind) {
  switch (kind) {
    case UnitKind::kService:
      return "service";
    case UnitKind::kReward:
      return "reward";
    case UnitKind::kPayment:
      return "payment";
    case UnitKind::kGm:
      return "gm";
  }
  return "service";
}

void secure_state_dir(const Project& project) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(project.state_dir, ec);
  fs::permissions(project.state_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
}

}  // namespace flotilla
