// OTLP/JSON: the JSON mapping of OTLP messages, as the OTLP specification defines it.
//
// Rules (OTLP specification, "JSON Protobuf Encoding"):
//  - the proto3 JSON mapping, with field names in lowerCamelCase; parsers also accept the
//    original snake_case names;
//  - `traceId`, `spanId` and `parentSpanId` (in spans, links, log records and exemplars) are
//    hex strings, not base64 (case-insensitive on input, lower-case on output); all other bytes
//    fields (AnyValue.bytesValue) are base64;
//  - enums are integers on output; input accepts integers or the enum value names;
//  - 64-bit integers are decimal strings on output; input accepts strings or numbers;
//  - doubles accept numbers and "NaN", "Infinity", "-Infinity";
//  - unknown fields are ignored on input; fields with default values are omitted on output
//    (fields with explicit presence, `optional` and oneof members, are written when set);
//  - `null` for a field means absent;
//  - google.protobuf.Any is {"@type": url, ...fields}, google.protobuf.Duration is "1.5s".
//
// Thread-safety: pure functions over the messages passed in.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace google::protobuf {
class Message;
}

namespace sprout::otlp {

// Parses `json` into `message` (cleared first, and cleared again on error). Works for every
// OTLP message and for google.rpc.Status. Errors are InvalidArgument with a message naming the
// field path and the problem, e.g.
// `resourceSpans[0].scopeSpans[0].spans[1].traceId: invalid hex string "zz"`. Messages nested
// deeper than 100 levels are rejected. ID lengths are not checked here (any even-length hex).
absl::Status ParseJson(std::string_view json, google::protobuf::Message* message);

// Serialises `message` as OTLP/JSON (compact, no whitespace; keys in field number order).
std::string ToJson(const google::protobuf::Message& message);

// Departures from OTLP/JSON for writers that must match another producer. The defaults are
// OTLP/JSON. Tempo's trace JSON (gogo jsonpb, the plain proto3 JSON mapping) is
// {.hex_ids = false, .enum_names = true}: trace/span IDs base64 like every other bytes field,
// enums by their value names (numbers without a name stay numbers).
struct JsonOptions {
  bool hex_ids = true;      // false: trace/span/parent IDs as base64
  bool enum_names = false;  // true: enum value names instead of numbers
};
std::string ToJson(const google::protobuf::Message& message, const JsonOptions& options);

}  // namespace sprout::otlp
