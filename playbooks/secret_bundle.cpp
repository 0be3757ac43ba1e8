#include "playbooks/secret_bundle.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/remote_file.hpp"
#include "core/sha256.hpp"

namespace flotilla {

Result<std::string> read_secret_value(const SecretSource& source, const std::string& what) {
  if (source.kind == SecretSource::Kind::kEnv) {
    const char* value = std::getenv(source.name.c_str());
    if (value == nullptr) {
      return fail(ErrorKind::kBadInput,
                  fmt::format("{}: environment variable {} is not set", what, source.name));
    }
    if (value[0] == '\0') {
      return fail(ErrorKind::kBadInput,
                  fmt::format("{}: environment variable {} is empty", what, source.name));
    }
    return std::string(value);
  }
  std::ifstream in(source.name, std::ios::binary);
  if (!in) return fail(ErrorKind::kBadInput, fmt::format("{}: cannot read {}", what, source.name));
  std::ostringstream text;
  text << in.rdbuf();
  std::string value = text.str();
  // Editors end files with a newline; the secret does not include it.
  if (!value.empty() && value.back() == '\n') value.pop_back();
  if (!value.empty() && value.back() == '\r') value.pop_back();
  if (value.empty())
    return fail(ErrorKind::kBadInput, fmt::format("{}: {} is empty", what, source.name));
  return value;
}

namespace {

Result<std::string> read_secret(const std::string& name, const SecretSource& source,
                                const std::string& unit) {
  return read_secret_value(source, fmt::format("unit '{}': secret {}", unit, name));
}

}  // namespace

Result<std::map<std::string, std::string>> read_secrets(const Unit& unit) {
  std::map<std::string, std::string> values;
  for (const auto& [name, source] : unit.secrets) {
    auto value = read_secret(name, source, unit.name);
    if (!value) return tl::unexpected(value.error());
    values[name] = std::move(*value);
  }
  return values;
}

Result<std::optional<SecretBundle>> resolve_secrets(const Unit& unit) {
  if (unit.secrets.empty()) return std::optional<SecretBundle>();
  auto values = read_secrets(unit);
  if (!values) return tl::unexpected(values.error());
  SecretBundle bundle{secrets_digest(unit.name, *values), std::move(*values)};
  return std::optional<SecretBundle>(std::move(bundle));
}

std::vector<std::string> exposed_secret_files(const Unit& unit) {
  std::vector<std::string> warnings;
  for (const auto& [name, source] : unit.secrets) {
    struct stat info {};
    if (source.kind != SecretSource::Kind::kFile || ::stat(source.name.c_str(), &info) != 0)
      continue;
    if ((info.st_mode & 077) != 0) {
      warnings.push_back(fmt::format(
          "unit '{}': secret {}: {} is readable by other users (mode {:04o}); chmod 600 it",
          unit.name, name, source.name, info.st_mode & 07777));
    }
  }
  return warnings;
}

std::vector<std::string> readable_secret_values(const Project& project) {
  std::vector<std::string> values;
  for (const auto& unit : project.units) {
    for (const auto& [name, source] : unit.secrets) {
      if (auto value = read_secret(name, source, unit.name)) values.push_back(std::move(*value));
    }
  }
  if (project.artifacts) {
    for (const auto& source : {project.artifacts->password, project.artifacts->token}) {
      if (!source) continue;
      if (auto value = read_secret_value(*source, "artifacts")) values.push_back(std::move(*value));
    }
  }
  return values;
}

std::string secrets_digest(const std::string& unit,
                           const std::map<std::string, std::string>& values) {
  std::string material;
  for (const auto& [name, value] : values) {
    material += name;
    material += '\0';
    material += std::to_string(value.size());
    material += '\0';
    material += value;
  }
  return pbkdf2_sha256_hex(material, "flotilla secrets v1\n" + unit, 100000, 16);
}

RemoteCommand secrets_receive_command(const HostLayout& layout, const SecretBundle& bundle) {
  // The digest cannot be recomputed on the host (it is keyed by the values
  // it must not print); a tar cut short would lack files.
  return receive_directory_command(layout.secret_versions(), bundle.digest, bundle.values,
                                   ReceivedCheck::kFileCount, true);
}

}  // namespace flotilla
