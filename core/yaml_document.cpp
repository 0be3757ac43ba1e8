#include "core/yaml_document.hpp"

#include <sys/stat.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

namespace flotilla {

const YamlNode* YamlNode::find(std::string_view key) const {
  if (kind != Kind::kMapping) return nullptr;
  for (const auto& [k, v] : entries) {
    if (k->kind == Kind::kScalar && k->scalar == key) return v.get();
  }
  return nullptr;
}

std::string_view YamlNode::kind_name() const {
  switch (kind) {
    case Kind::kNull:
      return "null";
    case Kind::kScalar:
      return "scalar";
    case Kind::kSequence:
      return "sequence";
    case Kind::kMapping:
      return "mapping";
  }
  return "node";
}

namespace {

// Thrown inside the event handler to stop yaml-cpp's parser at once.
struct LoadError : std::runtime_error {
  LoadError(SourceMark m, const std::string& message) : std::runtime_error(message), mark(m) {}
  SourceMark mark;
};

SourceMark to_mark(const YAML::Mark& mark) {
  if (mark.is_null()) return {};
  return {mark.line + 1, mark.column + 1};
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

bool is_merge_key(const YamlNode& key) {
  return key.kind == YamlNode::Kind::kScalar && key.scalar == "<<" &&
         (key.tag == "?" || key.tag == "tag:yaml.org,2002:merge");
}

// Builds the YamlNode tree from yaml-cpp's parser events, so yaml-cpp never
// builds its own (cyclic for `&a [*a]`) node graph.
class TreeBuilder : public YAML::EventHandler {
 public:
  TreeBuilder(const YamlLimits& limits, std::vector<DuplicateKey>& duplicates)
      : limits_(limits), duplicates_(duplicates) {}

  YamlNodePtr root() const { return root_; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto node = std::make_shared<YamlNode>();
    node->mark = to_mark(mark);
    finish(std::move(node), anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (open_anchors_.count(anchor)) {
      throw LoadError(to_mark(mark), "alias refers to a node that contains it (recursive alias)");
    }
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) throw LoadError(to_mark(mark), "alias to an unknown anchor");
    attach(it->second);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    auto node = std::make_shared<YamlNode>();
    node->kind = YamlNode::Kind::kScalar;
    node->mark = to_mark(mark);
    node->tag = tag;
    node->scalar = value;
    finish(std::move(node), anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(YamlNode::Kind::kSequence, mark, tag, anchor);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(YamlNode::Kind::kMapping, mark, tag, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Open {
    std::shared_ptr<YamlNode> node;
    YAML::anchor_t anchor;
    std::vector<YamlNodePtr> children;  // mapping: key, value, key, value...
  };

  void open(YamlNode::Kind kind, const YAML::Mark& mark, const std::string& tag,
            YAML::anchor_t anchor) {
    auto node = std::make_shared<YamlNode>();
    node->kind = kind;
    node->mark = to_mark(mark);
    node->tag = tag;
    if (anchor != YAML::NullAnchor) open_anchors_.insert(anchor);
    stack_.push_back(Open{std::move(node), anchor, {}});
  }

  void close() {
    Open top = std::move(stack_.back());
    stack_.pop_back();
    auto& node = top.node;
    if (node->kind == YamlNode::Kind::kSequence) {
      node->items = std::move(top.children);
    } else {
      build_mapping(*node, top.children);
    }
    std::uint64_t weight = 1;
    for (const auto& item : node->items) weight = saturating_add(weight, item->weight);
    for (const auto& [k, v] : node->entries) {
      weight = saturating_add(weight, saturating_add(k->weight, v->weight));
    }
    node->weight = weight;
    open_anchors_.erase(top.anchor);
    finish(std::move(node), top.anchor);
  }

  // Applies `<<` merge keys the way PyYAML does (explicit keys win, then the
  // earlier mapping of a merge list) and records duplicate explicit keys.
  void build_mapping(YamlNode& node, const std::vector<YamlNodePtr>& flat) {
    std::vector<std::pair<YamlNodePtr, YamlNodePtr>> explicit_entries;
    std::vector<const YamlNode*> merge_sources;
    std::map<std::string, std::size_t> seen;  // scalar key -> index in explicit_entries
    for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
      const auto& key = flat[i];
      const auto& value = flat[i + 1];
      if (is_merge_key(*key)) {
        if (value->is_mapping()) {
          merge_sources.push_back(value.get());
        } else if (value->is_sequence()) {
          for (const auto& item : value->items) {
            if (!item->is_mapping()) {
              throw LoadError(item->mark, "merge key '<<' expects a mapping or a list of mappings");
            }
            merge_sources.push_back(item.get());
          }
        } else {
          throw LoadError(value->mark, "merge key '<<' expects a mapping or a list of mappings");
        }
        continue;
      }
      if (key->is_scalar() || key->is_null()) {
        auto [it, inserted] = seen.emplace(key->scalar, explicit_entries.size());
        if (!inserted) {
          duplicates_.push_back({key->scalar, explicit_entries[it->second].first->mark, key->mark});
          explicit_entries[it->second].second = value;  // last one wins, first position kept
          continue;
        }
      }
      explicit_entries.emplace_back(key, value);
    }
    std::set<std::string> taken;
    for (const auto& [k, v] : explicit_entries) taken.insert(k->scalar);
    for (const YamlNode* source : merge_sources) {
      for (const auto& [k, v] : source->entries) {
        if (taken.insert(k->scalar).second) node.entries.emplace_back(k, v);
      }
    }
    for (auto& entry : explicit_entries) node.entries.push_back(std::move(entry));
  }

  void finish(std::shared_ptr<YamlNode> node, YAML::anchor_t anchor) {
    if (node->weight > limits_.max_weight) {
      throw LoadError(node->mark, "document too large when aliases are expanded (more than " +
                                      std::to_string(limits_.max_weight) + " nodes)");
    }
    YamlNodePtr done = std::move(node);
    if (anchor != YAML::NullAnchor) anchors_[anchor] = done;
    attach(done);
  }

  void attach(const YamlNodePtr& node) {
    if (stack_.empty()) {
      root_ = node;
      return;
    }
    auto& top = stack_.back();
    top.children.push_back(node);
    // Fail early: an open container whose children alone exceed the budget.
    std::uint64_t sum = 0;
    if (node->weight > limits_.max_weight / 4) {
      for (const auto& child : top.children) sum = saturating_add(sum, child->weight);
      if (sum > limits_.max_weight) {
        throw LoadError(top.node->mark, "document too large when aliases are expanded (more than " +
                                            std::to_string(limits_.max_weight) + " nodes)");
      }
    }
  }

  const YamlLimits& limits_;
  std::vector<DuplicateKey>& duplicates_;
  std::vector<Open> stack_;
  std::map<YAML::anchor_t, YamlNodePtr> anchors_;
  std::set<YAML::anchor_t> open_anchors_;
  YamlNodePtr root_;
};

}  // namespace

Result<YamlDocument> parse_yaml(const std::string& text, const std::string& path,
                                const YamlLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return fail(ErrorKind::kBadInput,
                located(path, {},
                        fmt::format("file too large ({} bytes; the limit is {})", text.size(),
                                    limits.max_bytes)));
  }
  YamlDocument doc;
  doc.path = path;
  std::istringstream in(text);
  try {
    YAML::Parser parser(in);
    TreeBuilder builder(limits, doc.duplicate_keys);
    if (!parser.HandleNextDocument(builder)) return doc;
    doc.root = builder.root();
    TreeBuilder rest(limits, doc.duplicate_keys);
    if (parser.HandleNextDocument(rest)) {
      SourceMark mark = rest.root() ? rest.root()->mark : SourceMark{};
      return fail(ErrorKind::kBadInput,
                  located(path, mark, "expected a single YAML document, found another"));
    }
  } catch (const LoadError& e) {
    return fail(ErrorKind::kBadInput, located(path, e.mark, e.what()));
  } catch (const YAML::DeepRecursion& e) {
    return fail(ErrorKind::kBadInput, located(path, to_mark(e.mark), "nesting too deep"));
  } catch (const YAML::Exception& e) {
    return fail(ErrorKind::kBadInput, located(path, to_mark(e.mark), e.msg));
  }
  return doc;
}

Result<std::string> read_config_text(const std::string& path, const YamlLimits& limits) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return fail(ErrorKind::kBadInput,
                fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(ErrorKind::kBadInput, fmt::format("{}: not a regular file", path));
  }
  // Check the size before reading, so a 100 MB file costs nothing.
  if (static_cast<std::uint64_t>(st.st_size) > limits.max_bytes) {
    return fail(ErrorKind::kBadInput,
                located(path, {},
                        fmt::format("file too large ({} bytes; the limit is {})", st.st_size,
                                    limits.max_bytes)));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fail(ErrorKind::kBadInput,
                fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

Result<YamlDocument> load_yaml_file(const std::string& path, const YamlLimits& limits) {
  auto text = read_config_text(path, limits);
  if (!text) return tl::unexpected(text.error());
  return parse_yaml(*text, path, limits);
}

}  // namespace flotilla
