#include "inventory/ansible_ini_inventory.hpp"
#include "core/trim.hpp"

#include <map>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "inventory/host_range.hpp"
#include "inventory/host_validation.hpp"
#include "inventory/python_literal.hpp"

namespace flotilla {
namespace {

// Python's shlex.split(line, comments=True): words split on whitespace,
// 'single' and "double" quotes, backslash escapes, and '#' starting a
// comment (also in the middle of a word, which it ends).
tl::expected<std::vector<std::string>, std::string> shlex_split(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote == '\'') {
      if (c == '\'') {
        quote = 0;
      } else {
        word += c;
      }
    } else if (quote == '"') {
      if (c == '"') {
        quote = 0;
      } else if (c == '\\' && i + 1 < line.size() && (line[i + 1] == '"' || line[i + 1] == '\\')) {
        word += line[++i];
      } else {
        word += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\') {
      if (i + 1 < line.size()) word += line[++i];
      in_word = true;
    } else if (c == '#') {
      break;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote != 0) return tl::unexpected(std::string("No closing quotation"));
  if (in_word) words.push_back(word);
  return words;
}

// The ini plugin's _parse_value: a Python literal if it is one, else the text.
nlohmann::json ini_value(const std::string& text) {
  if (auto literal = python_literal(text)) return *literal;
  return text;
}

class IniReader {
 public:
  IniReader(const std::string& text, const std::string& path, LoadedInventory& into)
      : text_(text), path_(path), result_(into) {}

  Result<void> read() {
    static const std::regex section(R"(^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$)");
    std::istringstream in(text_);
    std::string raw;
    std::string group = "ungrouped";
    std::string state = "hosts";
    while (std::getline(in, raw)) {
      ++line_;
      std::string line = trim(raw);
      column_ = static_cast<int>(raw.find_first_not_of(" \t")) + 1;
      if (line.empty() || line[0] == ';' || line[0] == '#') continue;
      std::smatch m;
      if (std::regex_match(line, m, section)) {
        group = m[1].str();
        state = m[2].matched ? m[2].str() : "hosts";
        if (state != "hosts" && state != "children" && state != "vars") {
          return error(fmt::format("Section [{}:{}] has unknown type: {}", group, state, state));
        }
        bool known = inventory().find_group(group).has_value();
        if (!known) {
          if (state == "vars" && !pending_.count(group)) {
            pending_[group] = Pending{line_, column_, "vars", {}};
          }
          inventory().add_group(group, {line_, column_});
        }
        if (auto p = pending_.find(group); p != pending_.end() && state != "vars") {
          if (p->second.state == "children") {
            if (auto failed = add_pending_children(group); !failed) return tl::unexpected(error_);
          } else {
            pending_.erase(p);
          }
        }
        continue;
      }
      if (line.front() == '[' && line.back() == ']') {
        return error(
            fmt::format("Invalid section entry: '{}'. Please make sure that there are no "
                        "spaces in the section entry, and that there are no other invalid "
                        "characters",
                        line));
      }
      bool ok = state == "hosts"  ? host_line(line, group)
                : state == "vars" ? vars_line(line, group)
                                  : child_line(line, group);
      if (!ok) return tl::unexpected(error_);
    }
    for (const auto& [name, p] : pending_) {
      line_ = p.line;
      column_ = p.column;
      if (p.state == "vars") {
        return error(
            fmt::format("Section [{}:vars] not valid for undefined group: {}", name, name));
      }
      return error(fmt::format("Section [{}:children] includes undefined group: {}",
                               p.parents.back(), name));
    }
    return {};
  }

 private:
  struct Pending {
    int line = 0;
    int column = 0;
    std::string state;                 // "vars" or "children"
    std::vector<std::string> parents;  // children: the groups waiting for it
  };

  Inventory& inventory() { return result_.inventory; }

  tl::unexpected<Error> error(const std::string& message) {
    error_ = Error{ErrorKind::kBadInput, located(path_, {line_, column_}, message)};
    return tl::unexpected(error_);
  }
  bool fail(const std::string& message) {
    error(message);
    return false;
  }

  std::size_t group_index(const std::string& name) {
    if (auto g = inventory().find_group(name)) return *g;
    return inventory().add_group(name, {line_, column_});
  }

  bool host_line(const std::string& line, const std::string& group) {
    auto tokens = shlex_split(line);
    if (!tokens)
      return fail(fmt::format("Error parsing host definition '{}': {}", line, tokens.error()));
    if (tokens->empty()) return true;  // only a comment
    HostAndPort split = split_host_port((*tokens)[0]);
    auto names = expand_host_range(split.host);
    if (!names) return fail(fmt::format("host '{}': {}", (*tokens)[0], names.error()));
    std::vector<std::pair<std::string, nlohmann::json>> vars;
    for (std::size_t i = 1; i < tokens->size(); ++i) {
      const std::string& t = (*tokens)[i];
      auto eq = t.find('=');
      if (eq == std::string::npos) {
        return fail(fmt::format("Expected key=value host variable assignment, got: {}", t));
      }
      vars.emplace_back(t.substr(0, eq), ini_value(t.substr(eq + 1)));
    }
    std::size_t g = group_index(group);
    for (const auto& name : *names) {
      if (auto why = check_host_name(name)) return fail(*why);
      auto [host, created] = inventory().add_host(name, {line_, column_});
      inventory().add_host_to_group(host, g);
      // As Ansible: a port in the name only counts where the host is first seen.
      if (created && split.port) inventory().set_host_variable(host, "ansible_port", *split.port);
      for (const auto& [key, value] : vars) {
        if (auto why = check_connection_variable(key, value)) return fail(*why);
        inventory().set_host_variable(host, key, value);
      }
    }
    return true;
  }

  bool vars_line(const std::string& line, const std::string& group) {
    auto eq = line.find('=');
    if (eq == std::string::npos) return fail(fmt::format("Expected key=value, got: {}", line));
    std::string key = trim(line.substr(0, eq));
    nlohmann::json value = ini_value(trim(line.substr(eq + 1)));
    if (auto why = check_connection_variable(key, value)) return fail(*why);
    inventory().set_group_variable(group_index(group), key, std::move(value));
    return true;
  }

  bool child_line(const std::string& line, const std::string& group) {
    static const std::regex name(R"(^([^:\]\s]+)\s*(?:#.*)?$)");
    std::smatch m;
    if (!std::regex_match(line, m, name))
      return fail(fmt::format("Expected group name, got: {}", line));
    std::string child = m[1].str();
    if (!inventory().find_group(child)) {
      auto [it, added] = pending_.try_emplace(child, Pending{line_, column_, "children", {}});
      it->second.parents.push_back(group);
      return true;
    }
    if (auto cycle = inventory().add_child(group_index(group), *inventory().find_group(child))) {
      return fail(*cycle);
    }
    return true;
  }

  bool add_pending_children(const std::string& group) {
    Pending pending = pending_.at(group);
    pending_.erase(group);
    for (const auto& parent : pending.parents) {
      if (auto cycle = inventory().add_child(group_index(parent), group_index(group))) {
        return fail(*cycle);
      }
      if (auto p = pending_.find(parent); p != pending_.end() && p->second.state == "children") {
        if (!add_pending_children(parent)) return false;
      }
    }
    return true;
  }

  const std::string& text_;
  std::string path_;
  LoadedInventory& result_;
  Error error_;
  int line_ = 0;
  int column_ = 1;
  std::map<std::string, Pending> pending_;
};

}  // namespace

Result<LoadedInventory> parse_ansible_ini_inventory(const std::string& text,
                                                    const std::string& path) {
  LoadedInventory out;
  out.path = path;
  if (auto read = parse_ansible_ini_inventory_into(text, path, out); !read) {
    return tl::unexpected(read.error());
  }
  out.inventory.finalize();
  return out;
}

Result<void> parse_ansible_ini_inventory_into(const std::string& text, const std::string& path,
                                              LoadedInventory& into) {
  return IniReader(text, path, into).read();
}

}  // namespace flotilla
