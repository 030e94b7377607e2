// Attribute values as label values, the way Tempo's util.StringifyAnyValue writes them (used by
// both processors: dimensions, peer and database names, service names, target info): strings as
// they are, bools `true`/`false`, ints in decimal, doubles as Go's FormatFloat(d, 'f', -1, 64)
// (shortest exact text, never an exponent), arrays `[` + the elements' texts with no separator +
// `]`, kvlists `{` + `key:value` per entry in their order with no separator + `}`, bytes and
// empty values "".
#pragma once

#include <string>

#include "base/go_format.h"
#include "opentelemetry/proto/common/v1/common.pb.h"

namespace sprout::traces::generator {

inline std::string StringifyAnyValue(const opentelemetry::proto::common::v1::AnyValue& v) {
  using opentelemetry::proto::common::v1::AnyValue;
  switch (v.value_case()) {
    case AnyValue::kStringValue:
      return v.string_value();
    case AnyValue::kBoolValue:
      return v.bool_value() ? "true" : "false";
    case AnyValue::kIntValue:
      return std::to_string(v.int_value());
    case AnyValue::kDoubleValue: {
      std::string s;
      AppendGoFloat(v.double_value(), 'f', -1, &s);
      return s;
    }
    case AnyValue::kArrayValue: {
      std::string s = "[";
      for (const AnyValue& e : v.array_value().values()) s += StringifyAnyValue(e);
      return s + "]";
    }
    case AnyValue::kKvlistValue: {
      std::string s = "{";
      for (const auto& kv : v.kvlist_value().values()) {
        s += kv.key();
        s += ':';
        s += StringifyAnyValue(kv.value());
      }
      return s + "}";
    }
    default:
      return "";
  }
}

}  // namespace sprout::traces::generator
