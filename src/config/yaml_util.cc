#include "config/yaml_util.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status.h"
#include "yaml-cpp/yaml.h"

namespace sprout::config::internal {
namespace {

constexpr std::string_view kTagPrefix = "tag:yaml.org,2002:";

bool IsDigitIn(char c, int base) {
  if (base == 16) return std::isxdigit(static_cast<unsigned char>(c)) != 0;
  return c >= '0' && c < '0' + base;
}

int DigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// YAML 1.2 core schema float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool IsFloatSyntax(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - start;
  };
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  } else {
    if (digits() == 0) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      digits();
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

bool IsNullText(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

ValueKind ResolvePlain(std::string_view text) {
  if (IsNullText(text)) return ValueKind::kNull;
  if (ParseBool(text)) return ValueKind::kBool;
  if (ParseInt(text)) return ValueKind::kInt;
  if (ParseFloat(text)) return ValueKind::kFloat;
  return ValueKind::kString;
}

ValueKind ResolveTagged(std::string_view tag, std::string_view text) {
  if (tag == "?" || tag.empty()) return ResolvePlain(text);
  if (tag.substr(0, kTagPrefix.size()) != kTagPrefix) return ValueKind::kString;  // "!" = quoted
  const std::string_view type = tag.substr(kTagPrefix.size());
  // An explicit tag whose text does not fit falls back to a string rather than failing here;
  // the typed read then reports the mismatch with the value.
  if (type == "null") return ValueKind::kNull;
  if (type == "bool" && ParseBool(text)) return ValueKind::kBool;
  if (type == "int" && ParseInt(text)) return ValueKind::kInt;
  if (type == "float" && ParseFloat(text)) return ValueKind::kFloat;
  return ValueKind::kString;
}

struct CopyState {
  bool split_keys;
  bool reject_duplicate_keys;
  size_t nodes = 0;
};

// Deep enough for any real configuration; a self-referencing alias hits it quickly.
constexpr int kMaxCopyDepth = 1000;
// Bounds the expansion of nested aliases ("billion laughs").
constexpr size_t kMaxCopyNodes = 100000;

std::string LineColumn(const YAML::Mark& mark) {
  if (mark.is_null()) return "";
  return absl::StrCat("line ", mark.line + 1, ", column ", mark.column + 1, ": ");
}

// Merges freshly built `overlay` (owned, shares storage with nothing) into `base`.
void MergeOwnedNodes(YAML::Node& base, const YAML::Node& overlay);

absl::StatusOr<YAML::Node> Copy(const YAML::Node& node, int depth, CopyState& state) {
  if (depth > kMaxCopyDepth) {
    return absl::InvalidArgumentError(absl::StrCat("yaml: nesting deeper than ", kMaxCopyDepth,
                                                   " levels (or an alias refers to itself)"));
  }
  if (++state.nodes > kMaxCopyNodes) {
    return absl::InvalidArgumentError(
        absl::StrCat("yaml: document expands to more than ", kMaxCopyNodes, " nodes"));
  }
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
      return YAML::Node(YAML::NodeType::Undefined);
    case YAML::NodeType::Null:
      return YAML::Node(YAML::NodeType::Null);
    case YAML::NodeType::Scalar: {
      YAML::Node out(node.Scalar());
      out.SetTag(node.Tag());
      return out;
    }
    case YAML::NodeType::Sequence: {
      YAML::Node out(YAML::NodeType::Sequence);
      out.SetStyle(node.Style());
      for (auto it = node.begin(); it != node.end(); ++it) {
        ASSIGN_OR_RETURN(YAML::Node item, Copy(*it, depth + 1, state));
        out.push_back(item);
      }
      return out;
    }
    case YAML::NodeType::Map: {
      YAML::Node out(YAML::NodeType::Map);
      out.SetStyle(node.Style());
      std::unordered_map<std::string, YAML::Mark> seen;
      for (auto it = node.begin(); it != node.end(); ++it) {
        ASSIGN_OR_RETURN(YAML::Node value, Copy(it->second, depth + 1, state));
        if (!it->first.IsScalar()) {
          ASSIGN_OR_RETURN(YAML::Node key, Copy(it->first, depth + 1, state));
          out.force_insert(key, value);
          continue;
        }
        const std::string& key = it->first.Scalar();
        if (state.reject_duplicate_keys) {
          auto [prev, inserted] = seen.emplace(key, it->first.Mark());
          if (!inserted) {
            std::string where;
            if (!prev->second.is_null()) where = absl::StrCat(" at line ", prev->second.line + 1);
            return absl::InvalidArgumentError(absl::StrCat("yaml: ", LineColumn(it->first.Mark()),
                                                           "mapping key \"", key,
                                                           "\" already defined", where));
          }
        }
        std::vector<std::string> segments;
        if (state.split_keys && key.find("::") != std::string::npos) {
          segments = absl::StrSplit(key, "::");
        } else {
          segments.push_back(key);
        }
        for (size_t i = segments.size() - 1; i > 0; --i) {
          YAML::Node wrapper(YAML::NodeType::Map);
          wrapper.force_insert(segments[i], value);
          value.reset(wrapper);  // rebinds the handle; `=` would write through it
        }
        YAML::Node entry(YAML::NodeType::Map);
        entry.force_insert(segments[0], value);
        MergeOwnedNodes(out, entry);
      }
      return out;
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

void MergeOwnedNodes(YAML::Node& base, const YAML::Node& overlay) {
  if (!base.IsMap() || !overlay.IsMap()) {
    base = overlay;
    return;
  }
  for (auto it = overlay.begin(); it != overlay.end(); ++it) {
    if (!it->first.IsScalar()) {
      base.force_insert(it->first, it->second);
      continue;
    }
    const std::string& key = it->first.Scalar();
    std::optional<YAML::Node> existing = FindValue(base, key);
    if (existing && existing->IsMap() && it->second.IsMap()) {
      MergeOwnedNodes(*existing, it->second);
    } else {
      SetValue(base, key, it->second);
    }
  }
}

void AppendGoValue(const YAML::Node& node, std::string* out) {
  switch (KindOf(node)) {
    case ValueKind::kNull:
      out->append("<nil>");
      return;
    case ValueKind::kBool:
      out->append(*ParseBool(node.Scalar()) ? "true" : "false");
      return;
    case ValueKind::kInt:
      absl::StrAppend(out, *ParseInt(node.Scalar()));
      return;
    case ValueKind::kFloat:
    case ValueKind::kString:
      out->append(node.Scalar());
      return;
    case ValueKind::kList: {
      out->push_back('[');
      bool first = true;
      for (auto it = node.begin(); it != node.end(); ++it) {
        if (!first) out->push_back(' ');
        first = false;
        AppendGoValue(*it, out);
      }
      out->push_back(']');
      return;
    }
    case ValueKind::kMap: {
      // Go's fmt prints maps with their keys sorted.
      std::vector<std::pair<std::string, YAML::Node>> entries;
      for (auto it = node.begin(); it != node.end(); ++it) {
        entries.emplace_back(KeyText(it->first), it->second);
      }
      std::sort(entries.begin(), entries.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      out->append("map[");
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i > 0) out->push_back(' ');
        absl::StrAppend(out, entries[i].first, ":");
        AppendGoValue(entries[i].second, out);
      }
      out->push_back(']');
      return;
    }
  }
}

}  // namespace

ValueKind KindOf(const YAML::Node& node) {
  if (!node.IsDefined()) return ValueKind::kNull;
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return ValueKind::kNull;
    case YAML::NodeType::Sequence:
      return ValueKind::kList;
    case YAML::NodeType::Map:
      return ValueKind::kMap;
    case YAML::NodeType::Scalar:
      break;
  }
  return ResolveTagged(node.Tag(), node.Scalar());
}

std::optional<int64_t> ParseInt(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    base = s[1] == 'x' ? 16 : 8;
    s.remove_prefix(2);
  }
  if (s.empty()) return std::nullopt;
  // Accumulate the magnitude as unsigned so that -9223372036854775808 fits.
  constexpr uint64_t kLimit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1;
  uint64_t magnitude = 0;
  for (char c : s) {
    if (!IsDigitIn(c, base)) return std::nullopt;
    const uint64_t digit = DigitValue(c);
    if (magnitude > (kLimit - digit) / base) return std::nullopt;
    magnitude = magnitude * base + digit;
  }
  if (negative) return static_cast<int64_t>(0 - magnitude);
  if (magnitude == kLimit) return std::nullopt;
  return static_cast<int64_t>(magnitude);
}

std::optional<bool> ParseBool(std::string_view text) {
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  return std::nullopt;
}

std::optional<double> ParseFloat(std::string_view text) {
  std::string_view s = text;
  double sign = 1;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    if (s[0] == '-') sign = -1;
    s.remove_prefix(1);
  }
  if (s == ".inf" || s == ".Inf" || s == ".INF") {
    return sign * std::numeric_limits<double>::infinity();
  }
  if (text == ".nan" || text == ".NaN" || text == ".NAN") {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (std::optional<int64_t> i = ParseInt(text)) return static_cast<double>(*i);
  if (!IsFloatSyntax(text)) return std::nullopt;
  double value = 0;
  if (!absl::SimpleAtod(AV(text), &value)) return std::nullopt;
  return value;
}

std::string GoTypeName(ValueKind kind) {
  switch (kind) {
    case ValueKind::kNull:
      return "<nil>";
    case ValueKind::kBool:
      return "bool";
    case ValueKind::kInt:
      return "int";
    case ValueKind::kFloat:
      return "float64";
    case ValueKind::kString:
      return "string";
    case ValueKind::kList:
      return "[]interface {}";
    case ValueKind::kMap:
      return "map[string]interface {}";
  }
  return "";
}

std::string GoKindName(ValueKind kind) {
  switch (kind) {
    case ValueKind::kNull:
      return "invalid";
    case ValueKind::kList:
      return "slice";
    case ValueKind::kMap:
      return "map";
    default:
      return GoTypeName(kind);
  }
}

std::string GoValueString(const YAML::Node& node) {
  std::string out;
  AppendGoValue(node, &out);
  return out;
}

std::string KeyText(const YAML::Node& key) {
  return key.IsScalar() ? key.Scalar() : GoValueString(key);
}

std::optional<YAML::Node> FindValue(const YAML::Node& map, std::string_view key) {
  if (!map.IsDefined() || !map.IsMap()) return std::nullopt;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
  }
  return std::nullopt;
}

void SetValue(YAML::Node& map, const std::string& key, const YAML::Node& value) {
  if (std::optional<YAML::Node> existing = FindValue(map, key)) {
    // The handle points at the map's own entry, so assigning through it rebinds the entry.
    *existing = value;
    return;
  }
  map.force_insert(key, value);
}

absl::StatusOr<YAML::Node> DeepCopy(const YAML::Node& node, bool split_keys) {
  CopyState state{split_keys, /*reject_duplicate_keys=*/false};
  return Copy(node, 0, state);
}

absl::StatusOr<YAML::Node> CopyParsed(const YAML::Node& node) {
  CopyState state{/*split_keys=*/true, /*reject_duplicate_keys=*/true};
  return Copy(node, 0, state);
}

void MergeOwned(YAML::Node& base, const YAML::Node& overlay) { MergeOwnedNodes(base, overlay); }

std::string JoinPath(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return absl::StrCat(AV(path), "::", AV(key));
}

}  // namespace sprout::config::internal
