#include "engine/workflow/yaml_tree.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

namespace reel {

const YamlNode* YamlNode::Get(std::string_view key) const {
  for (const auto& [k, v] : entries) {
    if (k->IsScalar() && k->scalar == key) return v.get();
  }
  return nullptr;
}

const char* YamlNode::KindName() const {
  switch (kind) {
    case Kind::kNull:
      return "null";
    case Kind::kScalar:
      return "a scalar";
    case Kind::kSequence:
      return "a list";
    case Kind::kMap:
      return "a mapping";
  }
  return "?";
}

namespace {

SourceMark ToMark(const YAML::Mark& m) { return {m.line + 1, m.column + 1}; }

// Thrown from the event handler to stop the parse at the first limit violation.
struct LimitExceeded {
  SourceMark mark;
  std::string message;
  std::string hint;
};

class TreeBuilder : public YAML::EventHandler {
 public:
  TreeBuilder(const std::string& file, const YamlLimits& limits, Diagnostics& diags)
      : file_(file), limits_(limits), diags_(diags) {}

  YamlNodePtr root() const { return root_; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto node = std::make_shared<YamlNode>();
    node->kind = YamlNode::Kind::kNull;
    node->mark = ToMark(mark);
    Add(node, anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      throw LimitExceeded{ToMark(mark), "alias refers to an unknown anchor", {}};
    }
    Charge(it->second->weight, ToMark(mark));
    AddExisting(it->second);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    auto node = std::make_shared<YamlNode>();
    node->kind = YamlNode::Kind::kScalar;
    node->mark = ToMark(mark);
    node->scalar = value;
    // yaml-cpp reports "!" for quoted (non-specific) scalars and "?" for plain ones.
    node->quoted =
        (tag == "!") || (!tag.empty() && tag != "?" && tag.find("str") != std::string::npos);
    Add(node, anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(YamlNode::Kind::kSequence, mark, anchor);
  }
  void OnSequenceEnd() override { Close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(YamlNode::Kind::kMap, mark, anchor);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    std::shared_ptr<YamlNode> node;
    YAML::anchor_t anchor;
    YamlNodePtr pending_key;  // maps: the key waiting for its value
  };

  void Charge(size_t nodes, SourceMark mark) {
    total_ += nodes;
    if (total_ > limits_.max_nodes) {
      throw LimitExceeded{
          mark, "document expands to more than " + std::to_string(limits_.max_nodes) + " nodes",
          "anchors and aliases that multiply each other (a 'billion laughs' "
          "file) are refused; write the values out or reduce the aliasing"};
    }
  }

  void Open(YamlNode::Kind kind, const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (static_cast<int>(stack_.size()) >= limits_.max_depth) {
      throw LimitExceeded{ToMark(mark),
                          "nesting deeper than " + std::to_string(limits_.max_depth) + " levels",
                          "flatten the structure"};
    }
    Charge(1, ToMark(mark));
    auto node = std::make_shared<YamlNode>();
    node->kind = kind;
    node->mark = ToMark(mark);
    stack_.push_back({node, anchor, nullptr});
  }

  void Close() {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    if (frame.node->IsMap()) FinishMap(*frame.node);
    size_t weight = 1;
    for (const auto& item : frame.node->items) weight += item->weight;
    for (const auto& [k, v] : frame.node->entries) weight += k->weight + v->weight;
    frame.node->weight = weight;
    if (frame.anchor) anchors_[frame.anchor] = frame.node;
    AddExisting(frame.node);
  }

  // Applies merge keys and reports duplicate keys (the first occurrence wins).
  void FinishMap(YamlNode& map) {
    std::vector<std::pair<YamlNodePtr, YamlNodePtr>> entries;
    std::vector<std::pair<YamlNodePtr, YamlNodePtr>> merged;
    std::set<std::string> seen;
    std::map<std::string, SourceMark> first_mark;
    for (auto& [key, value] : map.entries) {
      if (key->IsScalar() && !key->quoted && key->scalar == "<<") {
        std::vector<const YamlNode*> sources;
        if (value->IsMap()) sources.push_back(value.get());
        if (value->IsSequence()) {
          for (const auto& item : value->items) sources.push_back(item.get());
        }
        for (const YamlNode* source : sources) {
          if (!source->IsMap()) {
            diags_.Error(file_, source->mark,
                         "a merge key '<<' takes a mapping or a list of mappings");
            continue;
          }
          for (const auto& entry : source->entries) merged.push_back(entry);
        }
        if (sources.empty()) {
          diags_.Error(file_, value->mark,
                       "a merge key '<<' takes a mapping or a list of mappings");
        }
        continue;
      }
      if (key->IsScalar()) {
        if (!seen.insert(key->scalar).second) {
          const SourceMark& first = first_mark[key->scalar];
          diags_.Error(file_, key->mark, "duplicate key '" + key->scalar + "'",
                       "first defined at line " + std::to_string(first.line) +
                           "; YAML keeps only one of them, so rename or remove one");
          continue;
        }
        first_mark[key->scalar] = key->mark;
      }
      entries.emplace_back(key, value);
    }
    // Explicit keys override merged ones; earlier merge sources win over later ones.
    for (const auto& [key, value] : merged) {
      if (key->IsScalar() && !seen.insert(key->scalar).second) continue;
      entries.emplace_back(key, value);
    }
    map.entries = std::move(entries);
  }

  void Add(const std::shared_ptr<YamlNode>& node, YAML::anchor_t anchor) {
    Charge(1, node->mark);
    if (anchor) anchors_[anchor] = node;
    AddExisting(node);
  }

  void AddExisting(YamlNodePtr node) {
    if (stack_.empty()) {
      if (!root_) root_ = std::move(node);
      return;
    }
    Frame& top = stack_.back();
    if (top.node->IsSequence()) {
      top.node->items.push_back(std::move(node));
    } else if (!top.pending_key) {
      top.pending_key = std::move(node);
    } else {
      top.node->entries.emplace_back(std::move(top.pending_key), std::move(node));
      top.pending_key = nullptr;
    }
  }

  const std::string& file_;
  const YamlLimits& limits_;
  Diagnostics& diags_;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, YamlNodePtr> anchors_;
  YamlNodePtr root_;
  size_t total_ = 0;
};

}  // namespace

YamlNodePtr ParseYaml(const std::string& file, std::string_view text, const YamlLimits& limits,
                      Diagnostics& diags) {
  if (text.size() > limits.max_bytes) {
    diags.Error(file, {1, 1},
                "file is " + std::to_string(text.size()) + " bytes; the limit is " +
                    std::to_string(limits.max_bytes),
                "a workflow file should be small; move data out of it");
    return nullptr;
  }
  std::istringstream in{std::string(text)};
  TreeBuilder builder(file, limits, diags);
  try {
    YAML::Parser parser(in);
    parser.HandleNextDocument(builder);
  } catch (const LimitExceeded& e) {
    diags.Error(file, e.mark, e.message, e.hint);
    return nullptr;
  } catch (const YAML::DeepRecursion& e) {
    diags.Error(file, ToMark(e.mark), "nesting too deep", "flatten the structure");
    return nullptr;
  } catch (const YAML::Exception& e) {
    std::string message = e.msg;
    if (!message.empty()) message[0] = static_cast<char>(std::tolower(message[0]));
    diags.Error(file, ToMark(e.mark), "YAML syntax: " + message);
    return nullptr;
  }
  if (builder.root()) return builder.root();
  auto empty = std::make_shared<YamlNode>();
  empty->kind = YamlNode::Kind::kNull;
  empty->mark = {1, 1};
  return empty;
}

Result<std::string> ReadSourceFile(const std::string& path, const YamlLimits& limits,
                                   Diagnostics& diags) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    diags.Error(path, {}, "is a directory, not a workflow file");
    return Status::InvalidArgument(path + " is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diags.Error(path, {}, "cannot open file", "check the path");
    return Status::NotFound("cannot open " + path);
  }
  in.seekg(0, std::ios::end);
  auto size = static_cast<size_t>(in.tellg());
  if (size > limits.max_bytes) {
    diags.Error(path, {1, 1},
                "file is " + std::to_string(size) + " bytes; the limit is " +
                    std::to_string(limits.max_bytes),
                "a workflow file should be small; move data out of it");
    return Status::InvalidArgument("file too large");
  }
  in.seekg(0);
  std::string text(size, '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  return text;
}

}  // namespace reel
