#include "config/decoder.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/go_duration.h"
#include "base/status.h"
#include "config/yaml_util.h"
#include "yaml-cpp/yaml.h"

namespace sprout::config {

using internal::KindOf;
using internal::ValueKind;

struct Decoder::State {
  State(const YAML::Node& n, std::string p) : node(n), path(std::move(p)), kind(KindOf(n)) {}

  YAML::Node node;
  std::string path;
  ValueKind kind;
  std::set<std::string, std::less<>> used;  // keys read, looked up or turned into children
  // Errors and children in the order they arose, so Finish() reports in reading order with each
  // child's errors at the place the child was opened (as mapstructure does for nested structs).
  struct Entry {
    std::string error;
    std::shared_ptr<State> child;
  };
  std::vector<Entry> entries;
  std::vector<std::pair<std::string, std::shared_ptr<State>>> children;
  bool finished = false;  // Finish() was called on this decoder itself

  bool IsMapLike() const { return kind == ValueKind::kMap || kind == ValueKind::kNull; }

  // The value of `key` when present and not null; marks the key as read either way.
  std::optional<YAML::Node> Use(std::string_view key) {
    used.emplace(key);
    std::optional<YAML::Node> value = internal::FindValue(node, key);
    if (!value || KindOf(*value) == ValueKind::kNull) return std::nullopt;
    return value;
  }

  void AddError(std::string message) { entries.push_back(Entry{std::move(message), nullptr}); }

  void TypeError(std::string_view key, std::string_view expected, const YAML::Node& value) {
    AddTypeError(internal::JoinPath(path, key), expected, value);
  }

  void AddTypeError(const std::string& at, std::string_view expected, const YAML::Node& value) {
    AddError(absl::StrCat("'", at, "' expected type '", AV(expected), "', got unconvertible type '",
                          internal::GoTypeName(KindOf(value)), "', value: '",
                          internal::GoValueString(value), "'"));
  }

  // An integer of type T; `go_name` is the matching Go type, as errors name it.
  template <typename T>
  void ReadInteger(std::string_view key, std::string_view go_name, T* out) {
    std::optional<YAML::Node> value = Use(key);
    if (!value) return;
    if (KindOf(*value) != ValueKind::kInt) return TypeError(key, go_name, *value);
    const int64_t wide = *internal::ParseInt(value->Scalar());
    if (wide < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
        (wide > 0 &&
         static_cast<uint64_t>(wide) > static_cast<uint64_t>(std::numeric_limits<T>::max()))) {
      return AddError(absl::StrCat("'", internal::JoinPath(path, key), "' value ", wide,
                                   " overflows '", AV(go_name), "'"));
    }
    *out = static_cast<T>(wide);
  }

  void Collect(std::vector<std::string>* out) const {
    if (!IsMapLike()) {
      out->push_back(
          absl::StrCat("'", path, "' expected a map, got '", internal::GoKindName(kind), "'"));
    }
    for (const Entry& entry : entries) {
      if (entry.child == nullptr) {
        out->push_back(entry.error);
      } else if (!entry.child->finished) {
        entry.child->Collect(out);
      }
    }
    if (kind != ValueKind::kMap) return;
    std::vector<std::string> unknown;
    for (auto it = node.begin(); it != node.end(); ++it) {
      std::string key = internal::KeyText(it->first);
      if (used.find(key) == used.end()) unknown.push_back(std::move(key));
    }
    if (unknown.empty()) return;
    std::sort(unknown.begin(), unknown.end());
    out->push_back(absl::StrCat("'", path, "' has invalid keys: ", absl::StrJoin(unknown, ", ")));
  }
};

Decoder::Decoder(const YAML::Node& node, std::string path)
    : state_(std::make_shared<State>(node, std::move(path))) {}

Decoder::Decoder(std::shared_ptr<State> state) : state_(std::move(state)) {}

const std::string& Decoder::path() const { return state_->path; }

const YAML::Node& Decoder::node() const { return state_->node; }

std::vector<std::string> Decoder::Keys() const {
  std::vector<std::string> keys;
  if (state_->kind != ValueKind::kMap) return keys;
  for (auto it = state_->node.begin(); it != state_->node.end(); ++it) {
    keys.push_back(internal::KeyText(it->first));
  }
  return keys;
}

bool Decoder::Has(std::string_view key) const {
  return internal::FindValue(state_->node, key).has_value();
}

bool Decoder::IsNull() const { return state_->kind == ValueKind::kNull; }

void Decoder::Read(std::string_view key, std::string* out) {
  std::optional<YAML::Node> value = state_->Use(key);
  if (!value) return;
  if (!value->IsScalar()) return state_->TypeError(key, "string", *value);
  *out = value->Scalar();
}

void Decoder::Read(std::string_view key, bool* out) {
  std::optional<YAML::Node> value = state_->Use(key);
  if (!value) return;
  if (KindOf(*value) != ValueKind::kBool) return state_->TypeError(key, "bool", *value);
  *out = *internal::ParseBool(value->Scalar());
}

void Decoder::Read(std::string_view key, int64_t* out) { state_->ReadInteger(key, "int64", out); }

void Decoder::Read(std::string_view key, int* out) { state_->ReadInteger(key, "int", out); }

void Decoder::Read(std::string_view key, uint32_t* out) { state_->ReadInteger(key, "uint32", out); }

void Decoder::Read(std::string_view key, double* out) {
  std::optional<YAML::Node> value = state_->Use(key);
  if (!value) return;
  const ValueKind kind = KindOf(*value);
  if (kind != ValueKind::kInt && kind != ValueKind::kFloat) {
    return state_->TypeError(key, "float64", *value);
  }
  *out = *internal::ParseFloat(value->Scalar());
}

void Decoder::Read(std::string_view key, absl::Duration* out) {
  std::optional<YAML::Node> value = state_->Use(key);
  if (!value) return;
  switch (KindOf(*value)) {
    case ValueKind::kString: {
      absl::StatusOr<absl::Duration> parsed = ParseGoDuration(value->Scalar());
      if (!parsed.ok()) {
        return state_->AddError(absl::StrCat("'", internal::JoinPath(state_->path, key), "' ",
                                             parsed.status().message()));
      }
      *out = *parsed;
      return;
    }
    case ValueKind::kInt:  // Go's time.Duration is an int64 of nanoseconds
      *out = absl::Nanoseconds(*internal::ParseInt(value->Scalar()));
      return;
    default:
      return state_->TypeError(key, "time.Duration", *value);
  }
}

void Decoder::Read(std::string_view key, std::vector<std::string>* out) {
  std::optional<YAML::Node> value = state_->Use(key);
  if (!value) return;
  if (value->IsScalar()) {
    // mapstructure's string-to-slice hook: split on ',' without trimming; "" is an empty list.
    const std::string& text = value->Scalar();
    if (text.empty()) {
      out->clear();
    } else {
      *out = absl::StrSplit(text, ',');
    }
    return;
  }
  if (!value->IsSequence()) return state_->TypeError(key, "[]string", *value);
  std::vector<std::string> items;
  bool ok = true;
  const std::string path = internal::JoinPath(state_->path, key);
  size_t i = 0;
  for (auto it = value->begin(); it != value->end(); ++it, ++i) {
    const YAML::Node item = *it;
    if (KindOf(item) == ValueKind::kNull) {
      items.emplace_back();
    } else if (item.IsScalar()) {
      items.push_back(item.Scalar());
    } else {
      state_->AddTypeError(absl::StrCat(path, "[", i, "]"), "string", item);
      ok = false;
    }
  }
  if (ok) *out = std::move(items);
}

void Decoder::Read(std::string_view key, std::map<std::string, std::string>* out) {
  std::optional<YAML::Node> value = state_->Use(key);
  if (!value) return;
  const std::string path = internal::JoinPath(state_->path, key);
  if (!value->IsMap()) {
    return state_->AddError(absl::StrCat("'", path, "' expected a map, got '",
                                         internal::GoKindName(KindOf(*value)), "'"));
  }
  std::map<std::string, std::string> entries;
  bool ok = true;
  for (auto it = value->begin(); it != value->end(); ++it) {
    const std::string name = internal::KeyText(it->first);
    const YAML::Node item = it->second;
    if (KindOf(item) == ValueKind::kNull) {
      entries[name] = "";
    } else if (item.IsScalar()) {
      entries[name] = item.Scalar();
    } else {
      state_->AddTypeError(internal::JoinPath(path, name), "string", item);
      ok = false;
    }
  }
  if (!ok) return;
  for (auto& [name, text] : entries) (*out)[name] = std::move(text);
}

YAML::Node Decoder::Raw(std::string_view key) {
  state_->used.emplace(key);
  std::optional<YAML::Node> value = internal::FindValue(state_->node, key);
  return value ? *value : YAML::Node(YAML::NodeType::Undefined);
}

void Decoder::Refuse(std::initializer_list<const char*> keys, std::string_view message) {
  for (const char* key : keys) {
    YAML::Node node = Raw(key);
    if (node.IsDefined() && !node.IsNull()) AddError(key, message);
  }
}

Decoder Decoder::Child(std::string_view key) {
  state_->used.emplace(key);
  for (const auto& [name, child] : state_->children) {
    if (name == key) return Decoder(child);
  }
  std::optional<YAML::Node> value = internal::FindValue(state_->node, key);
  auto child = std::make_shared<State>(value ? *value : YAML::Node(YAML::NodeType::Null),
                                       internal::JoinPath(state_->path, key));
  state_->children.emplace_back(std::string(key), child);
  state_->entries.push_back(State::Entry{"", child});
  return Decoder(child);
}

void Decoder::AddError(std::string_view key, std::string_view message) {
  const std::string at = key.empty() ? state_->path : internal::JoinPath(state_->path, key);
  state_->AddError(absl::StrCat("'", at, "' ", AV(message)));
}

absl::Status Decoder::Finish() {
  std::vector<std::string> errors;
  state_->Collect(&errors);
  state_->finished = true;
  if (errors.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
}

}  // namespace sprout::config
