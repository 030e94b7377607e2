// Collections (collector.md §7.8): ContainsValue, Coalesce, Keys, ParseJSON.
#include <algorithm>

#include "ottl/funcs_internal.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"

namespace sprout::ottl::funcs {
namespace {

absl::StatusOr<Value> ContainsValue(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value target, c.arg(0, ctx));
  ASSIGN_OR_RETURN(Value item, c.arg(1, ctx));
  if (target.type != Type::kList) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected slice but got ", AV(TypeForError(target))));
  }
  const size_t n = ListSize(target);
  for (size_t i = 0; i < n; ++i) {
    if (Compare(ListAt(target, i), item, CompareOp::kEq)) return Value::Bool(true);
  }
  return Value::Bool(false);
}

absl::StatusOr<Value> Coalesce(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value list, c.arg(0, ctx));
  if (list.type != Type::kList) {
    return Err("Coalesce", absl::StrCat("values must be a list, got ", AV(TypeForError(list))));
  }
  const size_t n = ListSize(list);
  for (size_t i = 0; i < n; ++i) {
    Value v = ListAt(list, i);
    if (!v.is_nil()) {
      if (!v.hold) v.hold = list.hold;  // a borrowed item of an owned list keeps the list alive
      return v;
    }
  }
  return Value::Nil();
}

absl::StatusOr<Value> Keys(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value map, c.arg(0, ctx));
  if (map.type != Type::kMap) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected pcommon.Map but got ", AV(TypeForError(map))));
  }
  auto list = std::make_shared<OwnedList>();
  MapForEach(map, [&](std::string_view key, const Value&) {
    list->items.push_back(Value::OwnedStr(std::string(key)));
  });
  return Value::OwnedListValue(std::move(list));
}

// Deeper documents are refused rather than converted recursively.
constexpr int kMaxJsonDepth = 100;

Value FromJson(const rapidjson::Value& j) {
  if (j.IsObject()) {
    auto map = std::make_shared<OwnedMap>();
    for (auto it = j.MemberBegin(); it != j.MemberEnd(); ++it) {
      std::string key(it->name.GetString(), it->name.GetStringLength());
      // JSON objects may repeat a key; the last one wins, as in Go's map decoding.
      auto existing = std::find_if(map->entries.begin(), map->entries.end(),
                                   [&](const auto& e) { return e.first == key; });
      if (existing != map->entries.end()) {
        existing->second = FromJson(it->value);
      } else {
        map->entries.emplace_back(std::move(key), FromJson(it->value));
      }
    }
    return Value::OwnedMapValue(std::move(map));
  }
  if (j.IsArray()) {
    auto list = std::make_shared<OwnedList>();
    for (const auto& item : j.GetArray()) list->items.push_back(FromJson(item));
    return Value::OwnedListValue(std::move(list));
  }
  if (j.IsString()) return Value::OwnedStr(std::string(j.GetString(), j.GetStringLength()));
  if (j.IsBool()) return Value::Bool(j.GetBool());
  if (j.IsNumber()) return Value::Double(j.GetDouble());
  return Value::Nil();
}

// Depth of a document without recursion.
int JsonDepth(const rapidjson::Value& root) {
  std::vector<std::pair<const rapidjson::Value*, int>> stack = {{&root, 1}};
  int max_depth = 0;
  while (!stack.empty()) {
    auto [v, depth] = stack.back();
    stack.pop_back();
    max_depth = std::max(max_depth, depth);
    if (max_depth > kMaxJsonDepth) break;
    if (v->IsObject()) {
      for (auto it = v->MemberBegin(); it != v->MemberEnd(); ++it) {
        stack.emplace_back(&it->value, depth + 1);
      }
    } else if (v->IsArray()) {
      for (const auto& item : v->GetArray()) stack.emplace_back(&item, depth + 1);
    }
  }
  return max_depth;
}

absl::StatusOr<Value> ParseJSON(const FunctionCall& c, const EvalContext& ctx) {
  ASSIGN_OR_RETURN(Value v, StringArg(c, 0, ctx));
  rapidjson::Document doc;
  // The iterative parser does not recurse, so deep nesting cannot exhaust the stack.
  doc.Parse<rapidjson::kParseIterativeFlag>(v.s.data(), v.s.size());
  if (doc.HasParseError()) {
    return Err("ParseJSON", rapidjson::GetParseError_En(doc.GetParseError()));
  }
  if (!doc.IsObject() && !doc.IsArray()) {
    return Err("ParseJSON", "could not convert parsed value into pcommon.Map or pcommon.Slice");
  }
  if (JsonDepth(doc) > kMaxJsonDepth) {
    return Err("ParseJSON", absl::StrCat("nesting deeper than ", kMaxJsonDepth, " levels"));
  }
  return FromJson(doc);
}

}  // namespace

void AddCollectionFunctions(std::vector<FunctionSpec>* specs) {
  specs->insert(specs->end(), {
                                  {"ContainsValue", {kTarget, {"item"}}, ContainsValue},
                                  {"Coalesce", {{"values"}}, Coalesce},
                                  {"Keys", {kTarget}, Keys},
                                  {"ParseJSON", {kTarget}, ParseJSON},
                              });
}

}  // namespace sprout::ottl::funcs
