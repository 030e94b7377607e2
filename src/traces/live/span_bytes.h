// Byte-level work on serialized OTLP spans, so that the live set keeps the bytes it wrote to the
// WAL and parses only when a reader or a block needs protobuf messages.
//
//   SplitSerialized(resource_spans)   splits serialized ResourceSpans by trace ID without parsing
//                                     them into messages: per trace, one ResourceSpans "group"
//                                     per input ResourceSpans that holds spans of it (same
//                                     resource, same scopes, that trace's spans only; scopes
//                                     without a span of the trace left out), written in
//                                     protobuf's field order, so for canonical input (what
//                                     SerializeAsString writes) a group's bytes equal the
//                                     serialization of SplitByTrace's message.
//   MergeSerializedGroups(chunks)     FindTrace's merge rule (see MergeGroups in tenant_traces.h)
//                                     on framed groups: one serialized TracesData.
//
// A "chunk" is a run of groups framed as TracesData field 1 (tag 0x0a, uvarint length, bytes):
// the concatenation of any number of chunks is a serialized TracesData.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sprout::traces::live {

// A trace ID (always 16 bytes) as a fixed-size hash key. Unsigned bytes, so that operator<
// orders keys as the bytes compare (memcmp order, the block's trace-ID order); with plain
// (signed) char, IDs with a byte >= 0x80 would sort before 0x00.
using TraceKey = std::array<unsigned char, 16>;
inline TraceKey ToTraceKey(std::string_view id16) {
  TraceKey k;
  for (size_t i = 0; i < 16; ++i) k[i] = static_cast<unsigned char>(id16[i]);
  return k;
}
inline std::string TraceKeyString(const TraceKey& k) {
  return std::string(reinterpret_cast<const char*>(k.data()), k.size());
}

// The time bounds of some spans (unix ns): the least start (`start_time_unix_nano`) and the
// greatest of every span's start and end (a span ending before it starts counts at its start),
// as the store's TimeRange reads a parsed trace. Empty (no span): start UINT64_MAX, end 0.
struct SpanTimes {
  uint64_t start = UINT64_MAX;
  uint64_t end = 0;
  bool empty() const { return start == UINT64_MAX; }
  void Add(uint64_t span_start, uint64_t span_end) {
    start = span_start < start ? span_start : start;
    const uint64_t e = span_end > span_start ? span_end : span_start;
    end = e > end ? e : end;
  }
  void Add(const SpanTimes& o) {
    start = o.start < start ? o.start : start;
    end = o.end > end ? o.end : end;
  }
  // Whether a span starting in [start_ns, end_ns) may be among them.
  bool MayStartIn(uint64_t start_ns, uint64_t end_ns) const {
    return !empty() && start < end_ns && end >= start_ns;
  }
};

// One trace's part of SplitSerialized's input.
struct SplitTrace {
  TraceKey id;
  size_t offset = 0;  // its chunk in SplitResult::data: its groups, framed, in input order
  size_t size = 0;
  size_t first_group = 0;  // its groups in SplitResult::groups: [first_group, +group_count)
  size_t group_count = 0;
  int64_t bytes = 0;  // the sum of its groups' (unframed) sizes
  int64_t spans = 0;
  SpanTimes times;  // its spans' bounds
};

struct SplitResult {
  std::shared_ptr<std::string> data;  // every trace's chunk, trace after trace
  std::vector<SplitTrace> traces;     // in order of first appearance in the input
  // Every group, trace after trace.
  struct Group {
    size_t offset = 0;  // its (unframed) bytes in `data`
    size_t size = 0;
    int64_t spans = 0;
    SpanTimes times;  // its spans' bounds
  };
  std::vector<Group> groups;
  int64_t invalid_spans = 0;  // spans whose trace ID is not 16 bytes: dropped

  std::string_view chunk(const SplitTrace& t) const {
    return std::string_view(data->data() + t.offset, t.size);
  }
  std::string_view group(size_t i) const {
    return std::string_view(data->data() + groups[i].offset, groups[i].size);
  }
};

// Splits serialized ResourceSpans by trace ID (see the file comment). InvalidArgument when one
// of them is not valid protobuf wire format at the levels it reads (ResourceSpans, ScopeSpans,
// Span's top-level fields); the contents of resources, scopes and spans are copied as they are.
// What protobuf parses, it takes: unknown fields of any wire type (groups too, skipped to their
// end tag) are skipped, and a tag is the low 32 bits of its varint, as protobuf reads it.
absl::StatusOr<SplitResult> SplitSerialized(std::span<const std::string_view> resource_spans);

// The ResourceSpans (field 1) of a serialized ExportTraceServiceRequest or TracesData, as views
// into `message`. InvalidArgument on broken wire format.
absl::StatusOr<std::vector<std::string_view>> ResourceSpansOf(std::string_view message);

// Merges the groups of `chunks` (in order) as FindTrace does: one ResourceSpans per distinct
// resource (resource bytes + schema URL), one ScopeSpans per distinct scope within it (scope
// bytes + schema URL), first-appearance order, spans in order, an exact duplicate span (same
// bytes, so same span ID) kept once. Returns a serialized TracesData (canonical when the input
// groups are). InvalidArgument on broken wire format. `*spans` (when given) gets the number of
// spans kept.
absl::StatusOr<std::string> MergeSerializedGroups(std::span<const std::string_view> chunks,
                                                  int64_t* spans = nullptr);

// What a scan reads of a trace (the block reader's projected read, block.h ReadTracesProjected):
// every resource, scope and span field except the span's events and links; of the attributes
// only the resource attributes whose key is in `resource_keys` and the span attributes whose key
// is in `span_keys`, in their order; instrumentation-scope attributes left out.
struct Projection {
  std::span<const std::string> resource_keys;
  std::span<const std::string> span_keys;
};

// A serialized TracesData with only what `projection` keeps, written into `*out` (replaced):
// the kept fields' bytes as they are, in their order; fields unknown to OTLP kept. The
// messages above a dropped field get their new lengths. InvalidArgument on broken wire format
// at the levels it reads (the TracesData down to the KeyValue's key).
absl::Status ProjectSerializedTraces(std::string_view traces_data, const Projection& projection,
                                     std::string* out);

}  // namespace sprout::traces::live
