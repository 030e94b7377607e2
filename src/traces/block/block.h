// Trace blocks: the trace store's immutable, columnar storage (issue 11 item 3; the bytes are in
// docs/format/traces-block.md).
//
// A block holds whole traces sorted by trace ID and lives in an ObjectStore under
// `<tenant>/<block id>/` (block id: a ULID):
//   data        column chunks, page after page (each chunk compressed on its own with zstd)
//   index       the page directory: per page its trace-ID range, time range, row counts and the
//               offset/length of every column chunk (so a reader fetches only what it needs)
//   bloom       a bloom filter over the block's trace IDs
//   meta.json   time range, trace/span counts, sizes, format version, compaction level and
//               sources — written LAST: a block without meta.json is not a block (a crash while
//               writing leaves only objects that readers ignore and the store deletes)
//
// Rows: one per span, traces contiguous and sorted by trace ID, a trace never split over pages.
// Columns: trace-level (trace ID, first row, span count, start, end, root service and root span
// name, root flag…) and span-level (span ID, parent as an index within the trace, nested-set
// left/right, start offset, duration, name, kind, status, trace state, flags, resource and scope
// table references, events, links, dropped counts, attributes). Attributes are stored per key:
// every attribute key of a scope (resource, span, event, link, instrumentation) has its own
// typed column in each page — strings dictionary-encoded with the dictionary as its own chunk —
// so the common keys (`service.name`, `http.*`, `db.system`…) are dedicated columns and a search
// for `key=value` reads the key's dictionary, skips the page when the value is absent, and
// otherwise reads that one column. The order of a span's attributes is kept (a per-span "key
// list" reference) so a trace reads back field for field equal to what was written.
//
// Fidelity: FindTrace / ForEachTrace return, for a trace written with Add(id, td), a TracesData
// equal (protobuf MessageDifferencer::Equals) to `td` — every OTLP field, every AnyValue type
// (strings, bools, ints, doubles, bytes, arrays, key/value lists, empty), resource and scope
// schema URLs, dropped counts, events, links, trace state, flags — with the groups and spans in
// the order given.
//
// Errors: a damaged or truncated object, a checksum mismatch or an unknown newer format version
// is an error naming the block and the object (DataLoss / FailedPrecondition), never a crash or
// a wrong answer.
//
// Thread-safety: a BlockWriter is used by one thread. A BlockReader's const methods and its
// read methods may be called from many threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "objstore/object_store.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace sprout::traces::block {

// The format version written in the data and index headers and in meta.json. A reader refuses a
// larger one (FailedPrecondition "... newer format version ...").
inline constexpr uint32_t kFormatVersion = 1;

// Object names inside a block's prefix.
inline constexpr char kDataObject[] = "data";
inline constexpr char kIndexObject[] = "index";
inline constexpr char kBloomObject[] = "bloom";
inline constexpr char kMetaObject[] = "meta.json";

struct BlockMeta {
  uint32_t format_version = kFormatVersion;
  std::string block_id;  // ULID text
  std::string tenant;
  uint64_t start_unix_nano = 0;  // min span start
  uint64_t end_unix_nano = 0;    // max span end
  std::string min_trace_id;      // 16 bytes (hex in JSON)
  std::string max_trace_id;      // 16 bytes
  uint64_t trace_count = 0;
  uint64_t span_count = 0;
  uint32_t page_count = 0;
  uint64_t data_bytes = 0;  // sizes of the objects
  uint64_t index_bytes = 0;
  uint64_t bloom_bytes = 0;
  uint64_t otlp_bytes = 0;  // the spans' size as serialized OTLP TracesData (search's "bytes")
  uint32_t compaction_level = 0;     // 0: cut from the ingester; n+1: compacted from level n
  std::vector<std::string> sources;  // ULIDs of the blocks this one replaces (compaction)
  absl::Time created_at;

  uint64_t total_bytes() const { return data_bytes + index_bytes + bloom_bytes; }
};

std::string MetaToJson(const BlockMeta& meta);
// InvalidArgument for JSON that is not a meta file; FailedPrecondition for a newer version.
absl::StatusOr<BlockMeta> MetaFromJson(std::string_view json);

// `<tenant>/<block id>/` and `<tenant>/<block id>/<object>`.
std::string BlockPrefix(std::string_view tenant, std::string_view block_id);
std::string BlockKey(std::string_view tenant, std::string_view block_id, std::string_view object);

struct BlockWriterOptions {
  // A page is closed after the trace that brings it to this many spans (a trace is never split,
  // so a page may hold more).
  uint32_t page_target_spans = 16384;
  int zstd_level = 3;
  double bloom_false_positive_rate = 0.01;
  uint32_t compaction_level = 0;
  std::vector<std::string> sources;
};

// Builds one block in memory from whole traces given in strictly ascending trace-ID order, then
// writes its objects (meta.json last).
class BlockWriter {
 public:
  explicit BlockWriter(BlockWriterOptions options = {});
  ~BlockWriter();

  // Adds the trace `trace_id` (16 bytes). `trace` is the whole trace; every span in it must
  // carry `trace_id` (InvalidArgument otherwise, and for an ID not above the previous one).
  absl::Status Add(std::string_view trace_id,
                   const opentelemetry::proto::trace::v1::TracesData& trace);

  uint64_t traces() const;
  uint64_t spans() const;
  // Bytes of compressed pages so far (the block's size is about this plus the open page).
  uint64_t buffered_bytes() const;

  // Closes the open page and writes data, index, bloom and then meta.json under
  // BlockPrefix(tenant, block_id). FailedPrecondition for a writer with no trace. On error,
  // whatever objects were written are left (invisible without meta.json) for the caller to
  // delete. The writer cannot be used afterwards.
  absl::StatusOr<BlockMeta> Finish(objstore::ObjectStore* store, std::string_view tenant,
                                   std::string_view block_id);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The summary of one page (from the index: no data read).
struct PageInfo {
  std::string min_trace_id;
  std::string max_trace_id;
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = 0;
  uint32_t trace_count = 0;
  uint32_t span_count = 0;
  uint64_t otlp_bytes = 0;
  uint64_t compressed_bytes = 0;  // of all the page's column chunks
};

// One trace's summary row (the trace-level columns only).
struct TraceRow {
  std::string trace_id;          // 16 bytes
  uint64_t start_unix_nano = 0;  // min span start
  uint64_t end_unix_nano = 0;    // max span end
  uint32_t span_count = 0;
  std::string root_service_name;  // "" when the trace has no root span
  std::string root_span_name;
};

// Attribute scopes with columns.
enum class AttrScope : uint8_t { kResource = 0, kSpan = 1, kEvent = 2, kLink = 3, kScope = 4 };

struct ReadStats {
  uint64_t chunks_read = 0;
  uint64_t compressed_bytes_read = 0;
};

class BlockReader {
 public:
  // Reads meta.json, index and bloom of the block (kept in memory). NotFound when there is no
  // meta.json.
  static absl::StatusOr<std::unique_ptr<BlockReader>> Open(objstore::ObjectStore* store,
                                                           std::string_view tenant,
                                                           std::string_view block_id);
  ~BlockReader();

  const BlockMeta& meta() const;
  const std::vector<PageInfo>& pages() const;
  // False when the trace is certainly not in the block (the bloom filter).
  bool MayContain(std::string_view trace_id) const;

  // The trace, reading at most one page (only when the bloom filter and the page index allow);
  // nullopt when it is not in the block.
  absl::StatusOr<std::optional<opentelemetry::proto::trace::v1::TracesData>> FindTrace(
      std::string_view trace_id, ReadStats* stats = nullptr) const;

  // Whether the block holds the trace, exactly: the bloom filter, then the trace-ID chunk of the
  // one page whose ID range holds it (no other chunk read).
  absl::StatusOr<bool> Contains(std::string_view trace_id, ReadStats* stats = nullptr) const;

  // Every trace in trace-ID order, page by page (compaction). Stops at the first non-OK status
  // of `fn`, which it returns.
  absl::Status ForEachTrace(
      const std::function<absl::Status(std::string_view trace_id,
                                       opentelemetry::proto::trace::v1::TracesData&& trace)>& fn,
      ReadStats* stats = nullptr) const;

  // Search support (the legacy tag search now, TraceQL's pushdown later).
  // The trace rows of page `page` (reads the trace-level columns only).
  absl::StatusOr<std::vector<TraceRow>> ReadTraceRows(size_t page,
                                                      ReadStats* stats = nullptr) const;
  // Indexes (into ReadTraceRows' order) of the traces of `page` having a span whose attribute
  // `key` in `scope` (kResource: the span's resource; kScope: its instrumentation scope) equals
  // `text` by the legacy search's rule (traces/common/attribute_text.h ValueMatches: strings
  // exactly, ints and floats by number, bools true/false; arrays, lists, bytes never match). Reads
  // the key's dictionary and, only when the value can be there, the key's value column and what
  // maps values to rows. An empty result without reading data when the page has no such key.
  // With `string_or_array` (TraceQL's `key = "text"`, a superset): the traces having a span whose
  // value is the string `text` or an array, bytes or list value (which may hold it); ints,
  // floats and bools never match.
  absl::StatusOr<std::vector<uint32_t>> TracesWithAttribute(size_t page, AttrScope scope,
                                                            std::string_view key,
                                                            std::string_view text,
                                                            ReadStats* stats = nullptr,
                                                            bool string_or_array = false) const;
  // A value judged by a predicate (TracesWhereAttribute / TracesWhereSpan): `kind` says which
  // field holds it; kValueOther is a bytes, array or key/value-list value (`str` its serialized
  // AnyValue).
  enum ValueKind : uint32_t {
    kValueString = 1,
    kValueInt = 2,
    kValueDouble = 4,
    kValueBool = 8,
    kValueOther = 16,
  };
  struct ValueRef {
    ValueKind kind = kValueString;
    std::string_view str;
    int64_t i = 0;
    double d = 0;
    bool b = false;
  };
  using ValuePredicate = std::function<bool(const ValueRef&)>;
  // Indexes of the traces of `page` having a span for which `pred` holds on its attribute `key`
  // of `scope` (resource/scope: the span's resource/scope; event/link: any of the span's). Only
  // values of the kinds in `kinds` (a ValueKind mask) are judged; the others never match.
  // Strings are judged once per dictionary entry, and when none matches and no other judged
  // kind is in the page nothing else is read (a value absent from the dictionary skips the page).
  absl::StatusOr<std::vector<uint32_t>> TracesWhereAttribute(size_t page, AttrScope scope,
                                                             std::string_view key,
                                                             const ValuePredicate& pred,
                                                             uint32_t kinds,
                                                             ReadStats* stats = nullptr) const;
  // The same on a span column: the name and the status message (strings, from the dictionary
  // first; a span without a status has the message ""), the status code, the kind (OTLP's
  // numbers) and the duration (ns), as kValueInt.
  enum class SpanColumn : uint8_t { kName, kStatusMessage, kStatusCode, kKind, kDuration };
  absl::StatusOr<std::vector<uint32_t>> TracesWhereSpan(size_t page, SpanColumn which,
                                                        const ValuePredicate& pred,
                                                        ReadStats* stats = nullptr) const;

  // Indexes of the traces of `page` having a span named `name` / with status code `code`.
  absl::StatusOr<std::vector<uint32_t>> TracesWithSpanName(size_t page, std::string_view name,
                                                           ReadStats* stats = nullptr) const;
  absl::StatusOr<std::vector<uint32_t>> TracesWithStatus(
      size_t page, opentelemetry::proto::trace::v1::Status::StatusCode code,
      ReadStats* stats = nullptr) const;
  // The traces of `page` at the given indexes (ascending), whole, in that order.
  absl::StatusOr<std::vector<opentelemetry::proto::trace::v1::TracesData>> ReadTraces(
      size_t page, const std::vector<uint32_t>& trace_indexes, ReadStats* stats = nullptr) const;

  // Like ReadTraces, but each trace holds only what the legacy search judges and answers
  // (cheaper: the other attribute columns and the event and link columns are not read): every
  // resource, scope and span field except the span's events and links, and of the attributes
  // only the resource attributes whose key is in `resource_keys` and the span attributes whose
  // key is in `span_keys`, in their order; instrumentation-scope attributes are left out.
  absl::StatusOr<std::vector<opentelemetry::proto::trace::v1::TracesData>> ReadTracesProjected(
      size_t page, const std::vector<uint32_t>& trace_indexes,
      const std::vector<std::string>& resource_keys, const std::vector<std::string>& span_keys,
      ReadStats* stats = nullptr) const;

  // Span intrinsics with per-page values (SpanIntrinsicValues).
  enum class SpanIntrinsic : uint8_t { kName, kStatusMessage, kStatusCode, kKind };
  // The distinct values of `which` among the spans of `page`, sorted: span names and status
  // messages from their dictionary chunk alone (a message only for spans with a status, "" when
  // it is empty), status codes and kinds from their column as the keywords of
  // traces/common/attribute_text.h (StatusKeyword, KindKeyword).
  absl::StatusOr<std::vector<std::string>> SpanIntrinsicValues(size_t page, SpanIntrinsic which,
                                                               ReadStats* stats = nullptr) const;

  // Attribute keys of `scope` present in the block (from the index: no data read), sorted.
  std::vector<std::string> AttributeKeys(AttrScope scope) const;
  // Distinct values of attribute `key` in `scope` over every page, as typed values (for the tag
  // values API, typed as traces/common/attribute_text.h TypedText): strings from the
  // dictionaries, other types from their columns; sorted. At most `limit` (0 = all).
  struct TypedValue {
    std::string type;  // "string", "int", "float", "bool"
    std::string value;
    friend bool operator<(const TypedValue& a, const TypedValue& b) {
      return a.type != b.type ? a.type < b.type : a.value < b.value;
    }
  };
  absl::StatusOr<std::vector<TypedValue>> AttributeValues(AttrScope scope, std::string_view key,
                                                          size_t limit,
                                                          ReadStats* stats = nullptr) const;

 private:
  struct Impl;
  explicit BlockReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The block IDs under `<tenant>/` that have a meta.json (complete blocks), sorted.
absl::StatusOr<std::vector<std::string>> ListBlocks(objstore::ObjectStore* store,
                                                    std::string_view tenant);

}  // namespace sprout::traces::block
