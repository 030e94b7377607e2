#include "traces/common/attribute_text.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sprout::traces {

namespace cpb = opentelemetry::proto::common::v1;
namespace tpb = opentelemetry::proto::trace::v1;

std::string FormatDouble(double d) {
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  return buf;
}

bool TypedText(const cpb::AnyValue& v, std::string* type, std::string* text) {
  switch (v.value_case()) {
    case cpb::AnyValue::kStringValue:
      *type = "string";
      *text = v.string_value();
      return true;
    case cpb::AnyValue::kIntValue:
      *type = "int";
      *text = absl::StrCat(v.int_value());
      return true;
    case cpb::AnyValue::kDoubleValue:
      *type = "float";
      *text = FormatDouble(v.double_value());
      return true;
    case cpb::AnyValue::kBoolValue:
      *type = "bool";
      *text = v.bool_value() ? "true" : "false";
      return true;
    default:
      return false;
  }
}

bool ValueMatches(const cpb::AnyValue& v, std::string_view text) {
  switch (v.value_case()) {
    case cpb::AnyValue::kStringValue:
      return v.string_value() == text;
    case cpb::AnyValue::kIntValue: {
      int64_t n;
      return absl::SimpleAtoi(absl::string_view(text.data(), text.size()), &n) && n == v.int_value();
    }
    case cpb::AnyValue::kDoubleValue: {
      double d;
      return absl::SimpleAtod(absl::string_view(text.data(), text.size()), &d) && d == v.double_value();
    }
    case cpb::AnyValue::kBoolValue:
      return text == (v.bool_value() ? "true" : "false");
    default:
      return false;
  }
}

std::string_view StatusKeyword(tpb::Status::StatusCode code) {
  switch (code) {
    case tpb::Status::STATUS_CODE_OK:
      return "ok";
    case tpb::Status::STATUS_CODE_ERROR:
      return "error";
    default:
      return "unset";
  }
}

std::string_view KindKeyword(tpb::Span::SpanKind kind) {
  switch (kind) {
    case tpb::Span::SPAN_KIND_INTERNAL:
      return "internal";
    case tpb::Span::SPAN_KIND_SERVER:
      return "server";
    case tpb::Span::SPAN_KIND_CLIENT:
      return "client";
    case tpb::Span::SPAN_KIND_PRODUCER:
      return "producer";
    case tpb::Span::SPAN_KIND_CONSUMER:
      return "consumer";
    default:
      return "unspecified";
  }
}

}  // namespace sprout::traces
