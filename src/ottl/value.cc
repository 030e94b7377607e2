#include "ottl/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "base/go_format.h"
#include "base/json_escape.h"
#include "base/status.h"

namespace sprout::ottl {

using otlp::pb::common::AnyValue;

Value FromAnyValue(const AnyValue& any) {
  switch (any.value_case()) {
    case AnyValue::kStringValue:
      return Value::Str(any.string_value());
    case AnyValue::kBoolValue:
      return Value::Bool(any.bool_value());
    case AnyValue::kIntValue:
      return Value::Int(any.int_value());
    case AnyValue::kDoubleValue:
      return Value::Double(any.double_value());
    case AnyValue::kArrayValue:
      return Value::PbList(&any.array_value().values());
    case AnyValue::kKvlistValue:
      return Value::PbMap(&any.kvlist_value().values());
    case AnyValue::kBytesValue:
      return Value::View(Type::kBytes, any.bytes_value());
    case AnyValue::VALUE_NOT_SET:
      break;
  }
  return Value::Nil();
}

size_t MapSize(const Value& map) {
  return map.pb ? static_cast<size_t>(map.u.pb_map->size()) : map.u.map->entries.size();
}

bool MapFind(const Value& map, std::string_view key, Value* out) {
  if (map.pb) {
    for (const auto& kv : *map.u.pb_map) {
      if (kv.key() == key) {
        *out = FromAnyValue(kv.value());
        return true;
      }
    }
    return false;
  }
  for (const auto& [k, v] : map.u.map->entries) {
    if (k == key) {
      *out = v;
      return true;
    }
  }
  return false;
}

size_t ListSize(const Value& list) {
  return list.pb ? static_cast<size_t>(list.u.pb_list->size()) : list.u.list->items.size();
}

Value ListAt(const Value& list, size_t index) {
  return list.pb ? FromAnyValue(list.u.pb_list->Get(static_cast<int>(index)))
                 : list.u.list->items[index];
}

std::string_view GoTypeName(const Value& v) {
  switch (v.type) {
    case Type::kNil:
      return "<nil>";
    case Type::kBool:
      return "bool";
    case Type::kInt:
      return "int64";
    case Type::kDouble:
      return "float64";
    case Type::kString:
      return "string";
    case Type::kBytes:
      return "[]uint8";
    case Type::kMap:
      return "pcommon.Map";
    case Type::kList:
      return v.pb ? "pcommon.Slice" : "[]interface {}";
    case Type::kTime:
      return "time.Time";
    case Type::kDuration:
      return "time.Duration";
    case Type::kTraceId:
      return "pcommon.TraceID";
    case Type::kSpanId:
      return "pcommon.SpanID";
  }
  return "?";
}

std::string_view PcommonTypeName(const Value& v) {
  switch (v.type) {
    case Type::kNil:
      return "Empty";
    case Type::kBool:
      return "Bool";
    case Type::kInt:
      return "Int";
    case Type::kDouble:
      return "Double";
    case Type::kString:
      return "Str";
    case Type::kBytes:
      return "Bytes";
    case Type::kMap:
      return "Map";
    case Type::kList:
      return "Slice";
    default:
      return GoTypeName(v);
  }
}

namespace {

// Empty bytes are Go's []byte(nil): they compare like nil.
bool IsNilLike(const Value& v) {
  return v.type == Type::kNil || (v.type == Type::kBytes && v.s.empty());
}

template <typename T>
bool Ordered(const T& a, const T& b, CompareOp op) {
  switch (op) {
    case CompareOp::kEq:
      return a == b;
    case CompareOp::kNe:
      return a != b;
    case CompareOp::kLt:
      return a < b;
    case CompareOp::kLe:
      return a <= b;
    case CompareOp::kGt:
      return a > b;
    case CompareOp::kGe:
      return a >= b;
  }
  return false;
}

bool EqualityOnly(bool equal, CompareOp op) {
  if (op == CompareOp::kEq) return equal;
  if (op == CompareOp::kNe) return !equal;
  return false;
}

}  // namespace

bool Compare(const Value& a, const Value& b, CompareOp op) {
  const bool a_nil = IsNilLike(a), b_nil = IsNilLike(b);
  if (a_nil && b_nil) return op == CompareOp::kEq || op == CompareOp::kLe || op == CompareOp::kGe;
  if (a_nil || b_nil) return op == CompareOp::kNe;
  switch (a.type) {
    case Type::kBool:
      if (b.type == Type::kBool) return Ordered(a.u.b, b.u.b, op);
      break;
    case Type::kInt:
      if (b.type == Type::kInt) return Ordered(a.u.i, b.u.i, op);
      if (b.type == Type::kDouble) return Ordered(static_cast<double>(a.u.i), b.u.d, op);
      break;
    case Type::kDouble:
      if (b.type == Type::kDouble) return Ordered(a.u.d, b.u.d, op);
      if (b.type == Type::kInt) return Ordered(a.u.d, static_cast<double>(b.u.i), op);
      break;
    case Type::kString:
    case Type::kBytes:
      // std::string_view compares bytes as unsigned char, like Go.
      if (b.type == a.type) return Ordered(a.s, b.s, op);
      break;
    case Type::kTime:
    case Type::kDuration:
      if (b.type == a.type) return Ordered(a.u.i, b.u.i, op);
      break;
    case Type::kMap:
    case Type::kList:
    case Type::kTraceId:
    case Type::kSpanId:
      if (b.type == a.type) return EqualityOnly(DeepEqual(a, b), op);
      break;
    case Type::kNil:
      break;
  }
  return op == CompareOp::kNe;
}

bool DeepEqual(const Value& a, const Value& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case Type::kNil:
      return true;
    case Type::kBool:
      return a.u.b == b.u.b;
    case Type::kInt:
    case Type::kTime:
    case Type::kDuration:
      return a.u.i == b.u.i;
    case Type::kDouble:
      return a.u.d == b.u.d;
    case Type::kString:
    case Type::kBytes:
    case Type::kTraceId:
    case Type::kSpanId:
      return a.s == b.s;
    case Type::kMap: {
      if (MapSize(a) != MapSize(b)) return false;
      bool equal = true;
      MapForEach(a, [&](std::string_view key, const Value& value) {
        if (!equal) return;
        Value other;
        equal = MapFind(b, key, &other) && DeepEqual(value, other);
      });
      return equal;
    }
    case Type::kList: {
      const size_t n = ListSize(a);
      if (n != ListSize(b)) return false;
      for (size_t i = 0; i < n; ++i) {
        if (!DeepEqual(ListAt(a, i), ListAt(b, i))) return false;
      }
      return true;
    }
  }
  return false;
}

void AppendJson(const Value& v, std::string* out) {
  switch (v.type) {
    case Type::kNil:
      out->append("null");
      return;
    case Type::kBool:
      out->append(v.u.b ? "true" : "false");
      return;
    case Type::kInt:
    case Type::kDuration:
      out->append(std::to_string(v.u.i));
      return;
    case Type::kDouble:
      // Go refuses NaN and infinities; null keeps the text valid JSON.
      if (!AppendGoJsonFloat(v.u.d, out)) out->append("null");
      return;
    case Type::kString:
      AppendJsonString(v.s, out);
      return;
    case Type::kBytes:
    case Type::kTraceId:
    case Type::kSpanId:
      out->push_back('"');
      out->append(absl::Base64Escape(AV(v.s)));
      out->push_back('"');
      return;
    case Type::kTime:
      AppendJsonString(FormatTime(v.u.i), out);
      return;
    case Type::kMap: {
      std::vector<std::pair<std::string_view, Value>> entries;
      MapForEach(v,
                 [&](std::string_view k, const Value& value) { entries.emplace_back(k, value); });
      std::stable_sort(entries.begin(), entries.end(),
                       [](const auto& x, const auto& y) { return x.first < y.first; });
      out->push_back('{');
      bool first = true;
      for (size_t i = 0; i < entries.size(); ++i) {
        // Go maps hold one value per key: the last duplicate wins after AsRaw().
        if (i + 1 < entries.size() && entries[i + 1].first == entries[i].first) continue;
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(entries[i].first, out);
        out->push_back(':');
        AppendJson(entries[i].second, out);
      }
      out->push_back('}');
      return;
    }
    case Type::kList: {
      out->push_back('[');
      const size_t n = ListSize(v);
      for (size_t i = 0; i < n; ++i) {
        if (i > 0) out->push_back(',');
        AppendJson(ListAt(v, i), out);
      }
      out->push_back(']');
      return;
    }
  }
}

bool StringLike(const Value& v, std::string* out) {
  switch (v.type) {
    case Type::kNil:
      return false;
    case Type::kString:
      out->assign(v.s);
      return true;
    case Type::kBool:
      out->assign(v.u.b ? "true" : "false");
      return true;
    case Type::kInt:
      out->assign(std::to_string(v.u.i));
      return true;
    case Type::kDouble:
      out->clear();
      AppendGoFloat(v.u.d, 'f', -1, out);  // strconv.FormatFloat(f, 'f', -1, 64)
      return true;
    case Type::kBytes:
    case Type::kTraceId:
    case Type::kSpanId:
      out->assign(absl::Base64Escape(AV(v.s)));
      return true;
    case Type::kTime:
      out->assign(FormatTime(v.u.i));
      return true;
    case Type::kDuration:
      out->assign(std::to_string(v.u.i));
      return true;
    case Type::kMap:
    case Type::kList:
      out->clear();
      AppendJson(v, out);
      return true;
  }
  return false;
}

std::string FormatTime(int64_t unix_nanos) {
  const absl::Time t = absl::FromUnixNanos(unix_nanos);
  std::string s = absl::FormatTime("%Y-%m-%d %H:%M:%E*S +0000 UTC", t, absl::UTCTimeZone());
  return s;
}

}  // namespace sprout::ottl
