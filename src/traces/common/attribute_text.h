// How the trace store's legacy search and tag APIs read attribute values as text: one rule for
// the live set and the blocks (traces/store, traces/block).
//
//   TypedText(v, &type, &text)  a scalar value as Tempo's tag-values API types it: "string",
//                               "int" (decimal), "float" (FormatDouble), "bool" (true/false);
//                               false for arrays, key/value lists, bytes and empty values.
//   ValueMatches(v, text)       the legacy `tags=` rule: strings equal exactly, ints and floats
//                               equal by number after parsing `text`, bools as true/false;
//                               arrays, lists, bytes and empty values never match.
//   FormatDouble(d)             the shortest decimal text that reads back as `d` (Go's
//                               strconv.FormatFloat(d, 'g', -1, 64) digits, printf's exponent).
//   StatusKeyword / KindKeyword TraceQL's keywords for a status code / span kind.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "opentelemetry/proto/common/v1/common.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace sprout::traces {

std::string FormatDouble(double d);
bool TypedText(const opentelemetry::proto::common::v1::AnyValue& v, std::string* type,
               std::string* text);
bool ValueMatches(const opentelemetry::proto::common::v1::AnyValue& v, std::string_view text);
std::string_view StatusKeyword(opentelemetry::proto::trace::v1::Status::StatusCode code);
std::string_view KindKeyword(opentelemetry::proto::trace::v1::Span::SpanKind kind);

}  // namespace sprout::traces
