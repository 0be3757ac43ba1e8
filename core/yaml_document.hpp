#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/source_mark.hpp"

namespace flotilla {

struct YamlNode;
using YamlNodePtr = std::shared_ptr<const YamlNode>;

// A parsed YAML node. Aliases share the anchored subtree (a DAG, never a
// cycle), so a billion-laughs document costs no memory; `weight` says how many
// nodes a full walk would visit and the loader refuses documents whose walk
// would be too long.
struct YamlNode {
  enum class Kind { kNull, kScalar, kSequence, kMapping };

  Kind kind = Kind::kNull;
  SourceMark mark;
  std::string tag;                 // "?" plain scalar, "!" quoted scalar, or an explicit tag
  std::string scalar;              // for kScalar
  std::vector<YamlNodePtr> items;  // for kSequence
  std::vector<std::pair<YamlNodePtr, YamlNodePtr>> entries;  // for kMapping, merges applied
  std::uint64_t weight = 1;

  bool is_null() const { return kind == Kind::kNull; }
  bool is_scalar() const { return kind == Kind::kScalar; }
  bool is_sequence() const { return kind == Kind::kSequence; }
  bool is_mapping() const { return kind == Kind::kMapping; }
  bool is_plain_scalar() const { return kind == Kind::kScalar && tag == "?"; }

  // The value under a scalar key of a mapping, or nullptr.
  const YamlNode* find(std::string_view key) const;
  // "mapping", "sequence", "string", "null": for error messages.
  std::string_view kind_name() const;
};

struct DuplicateKey {
  std::string key;
  SourceMark first;
  SourceMark second;
};

struct YamlDocument {
  std::string path;                          // as shown in error messages
  YamlNodePtr root;                          // nullptr for an empty document
  std::vector<DuplicateKey> duplicate_keys;  // last one wins, as in PyYAML
};

struct YamlLimits {
  std::uint64_t max_bytes = 16u << 20;   // inventories of 10k hosts stay far below
  std::uint64_t max_weight = 2'000'000;  // nodes a full walk may visit
};

// A config file's text: a regular file, its size checked against the limit
// before a byte is read. kBadInput, one line, naming the file.
Result<std::string> read_config_text(const std::string& path, const YamlLimits& limits = {});

// Parses one YAML document. Errors are one line, "FILE:LINE:COL: ...", kind kBadInput.
Result<YamlDocument> load_yaml_file(const std::string& path, const YamlLimits& limits = {});
Result<YamlDocument> parse_yaml(const std::string& text, const std::string& path,
                                const YamlLimits& limits = {});

}  // namespace flotilla
