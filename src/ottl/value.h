// The values OTTL expressions produce while a condition is evaluated (ottl/ internals).
//
// A Value is a small tagged union. Strings, bytes, maps and lists usually *borrow*: they point
// into the OTLP message being evaluated or into the parsed condition, both of which outlive one
// Eval(), so reading `attributes["k"]` allocates nothing. Values computed by converters
// (ToLowerCase, Split, ...) own their storage through `hold`.
//
// The types mirror what the Collector's OTTL hands around in Go, because comparisons and type
// tests depend on them: nil, bool, int64, float64, string, []byte, pcommon.Map, pcommon.Slice,
// time.Time, time.Duration, pcommon.TraceID and pcommon.SpanID (IDs compare only by `==`/`!=`
// and only with the same ID type, as Go's fallback equality does).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "otlp/signal.h"

namespace sprout::ottl {

using KeyValues = google::protobuf::RepeatedPtrField<otlp::pb::common::KeyValue>;
using AnyValues = google::protobuf::RepeatedPtrField<otlp::pb::common::AnyValue>;

enum class Type : uint8_t {
  kNil,
  kBool,
  kInt,
  kDouble,
  kString,
  kBytes,
  kMap,
  kList,
  kTime,      // i = Unix nanoseconds
  kDuration,  // i = nanoseconds
  kTraceId,   // s = 16 bytes
  kSpanId,    // s = 8 bytes
};

struct Value;
struct OwnedMap {
  std::vector<std::pair<std::string, Value>> entries;
};
struct OwnedList {
  std::vector<Value> items;
};

struct Value {
  Type type = Type::kNil;
  // For kMap and kList: whether the container is an OTLP message (pb_map/pb_list) or owned.
  bool pb = false;
  union {
    bool b;
    int64_t i;
    double d;
    const KeyValues* pb_map;
    const AnyValues* pb_list;
    const OwnedMap* map;
    const OwnedList* list;
  } u{.i = 0};
  std::string_view s;  // kString, kBytes, kTraceId, kSpanId
  // Keeps owned storage alive (null when everything is borrowed).
  std::shared_ptr<const void> hold;

  static Value Nil() { return Value(); }
  static Value Bool(bool b) {
    Value v;
    v.type = Type::kBool;
    v.u.b = b;
    return v;
  }
  static Value Int(int64_t i) {
    Value v;
    v.type = Type::kInt;
    v.u.i = i;
    return v;
  }
  static Value Double(double d) {
    Value v;
    v.type = Type::kDouble;
    v.u.d = d;
    return v;
  }
  static Value Time(int64_t unix_nanos) {
    Value v = Int(unix_nanos);
    v.type = Type::kTime;
    return v;
  }
  static Value Duration(int64_t nanos) {
    Value v = Int(nanos);
    v.type = Type::kDuration;
    return v;
  }
  // Borrowed string-like value.
  static Value View(Type type, std::string_view s) {
    Value v;
    v.type = type;
    v.s = s;
    return v;
  }
  static Value Str(std::string_view s) { return View(Type::kString, s); }
  // Owned string-like value.
  static Value Owned(Type type, std::string s) {
    auto held = std::make_shared<const std::string>(std::move(s));
    Value v = View(type, *held);
    v.hold = std::move(held);
    return v;
  }
  static Value OwnedStr(std::string s) { return Owned(Type::kString, std::move(s)); }
  static Value PbMap(const KeyValues* m) {
    Value v;
    v.type = Type::kMap;
    v.pb = true;
    v.u.pb_map = m;
    return v;
  }
  static Value PbList(const AnyValues* l) {
    Value v;
    v.type = Type::kList;
    v.pb = true;
    v.u.pb_list = l;
    return v;
  }
  // Borrowed owned-kind containers (e.g. literals held by the condition).
  static Value MapRef(const OwnedMap* m) {
    Value v;
    v.type = Type::kMap;
    v.u.map = m;
    return v;
  }
  static Value ListRef(const OwnedList* l) {
    Value v;
    v.type = Type::kList;
    v.u.list = l;
    return v;
  }
  static Value OwnedMapValue(std::shared_ptr<const OwnedMap> m) {
    Value v = MapRef(m.get());
    v.hold = std::move(m);
    return v;
  }
  static Value OwnedListValue(std::shared_ptr<const OwnedList> l) {
    Value v = ListRef(l.get());
    v.hold = std::move(l);
    return v;
  }

  bool is_nil() const { return type == Type::kNil; }
};

// An OTLP AnyValue as a native value (the Collector's "unwrapping"): an unset AnyValue is nil.
Value FromAnyValue(const otlp::pb::common::AnyValue& any);

// Map and list access over both representations.
size_t MapSize(const Value& map);
// The value of the first entry named `key`; false when absent.
bool MapFind(const Value& map, std::string_view key, Value* out);
template <typename F>
void MapForEach(const Value& map, F&& f) {
  if (map.pb) {
    for (const auto& kv : *map.u.pb_map) f(std::string_view(kv.key()), FromAnyValue(kv.value()));
  } else {
    for (const auto& [k, v] : map.u.map->entries) f(std::string_view(k), v);
  }
}
size_t ListSize(const Value& list);
Value ListAt(const Value& list, size_t index);

// Go's %T of the value as OTTL would hold it ("string", "int64", "pcommon.Map", "<nil>", ...).
std::string_view GoTypeName(const Value& v);
// pcommon.ValueType names ("Str", "Int", "Map", "Slice", "Empty", ...), for attribute values.
std::string_view PcommonTypeName(const Value& v);

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe };
// OTTL's comparison rules (team reference collector.md §7.3). Never fails.
bool Compare(const Value& a, const Value& b, CompareOp op);
// Deep equality with exact types (Go's reflect.DeepEqual / pcommon Equal).
bool DeepEqual(const Value& a, const Value& b);

// JSON text of a value (maps with sorted keys, bytes in base64, like Go's encoding/json).
void AppendJson(const Value& v, std::string* out);
// The Collector's "string-like" rendering: strings as they are, numbers and bools via strconv,
// bytes in base64 (as pcommon does), maps and lists as JSON. False (and no text) for nil.
bool StringLike(const Value& v, std::string* out);
// Formats a Time the way Go's time.Time.String() does in UTC ("2006-01-02 15:04:05.999 +0000 UTC").
std::string FormatTime(int64_t unix_nanos);

}  // namespace sprout::ottl
