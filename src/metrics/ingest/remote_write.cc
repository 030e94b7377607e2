#include "metrics/ingest/remote_write.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "metrics/ingest/mimir_text.h"
#include "metrics/ingest/validate.h"
#include "metrics/tsdb/index/labels.h"
#include "net/compression.h"
#include "otlp/wire_format.h"

namespace sprout::metrics::ingest {
namespace {

using otlp::wire::ReadTag;
using otlp::wire::ReadVarint;

// ---------------------------------------------------------------------------------------------
// Pass 1: the structural scan. Accepts exactly what protobuf's parser accepts structurally
// (string contents aside: gogo-generated code, which Prometheus and Mimir use, does not check
// UTF-8; the validation below does, where it matters).

enum class Msg : uint8_t {
  kWriteRequest,
  kTimeSeries,
  kLabel,
  kSample,
  kExemplar,
  kHistogram,
  kBucketSpan,
  kMetadata,
  // io.prometheus.write.v2 (remote write 2.0); BucketSpan is shared.
  kV2Request,
  kV2TimeSeries,
  kV2Sample,
  kV2Exemplar,
  kV2Metadata,
  kV2Histogram,
};
constexpr int kMsgCount = 14;

// The Go type names gogo's errors use (writev2's types are Request, TimeSeries, ...).
constexpr const char* kMsgNames[kMsgCount] = {
    "WriteRequest",   "TimeSeries", "Label",      "Sample", "Exemplar", "Histogram", "BucketSpan",
    "MetricMetadata", "Request",    "TimeSeries", "Sample", "Exemplar", "Metadata",  "Histogram"};

enum class Kind : uint8_t {
  kNone,
  kMessage,
  kBytes,            // wire type 2, contents not checked here
  kVarint,           // wire type 0
  kFixed64,          // wire type 1
  kRepeatedVarint,   // wire type 0, or packed in 2
  kRepeatedFixed64,  // wire type 1, or packed in 2
};

struct FieldKind {
  Kind kind = Kind::kNone;
  Msg msg = Msg::kWriteRequest;
};

constexpr uint32_t kMaxField = 18;

constexpr FieldKind FieldOf(Msg msg, uint32_t number) {
  using K = Kind;
  switch (msg) {
    case Msg::kWriteRequest:
      if (number == 1) return {K::kMessage, Msg::kTimeSeries};
      if (number == 3) return {K::kMessage, Msg::kMetadata};
      return {};
    case Msg::kTimeSeries:
      if (number == 1) return {K::kMessage, Msg::kLabel};
      if (number == 2) return {K::kMessage, Msg::kSample};
      if (number == 3) return {K::kMessage, Msg::kExemplar};
      if (number == 4) return {K::kMessage, Msg::kHistogram};
      return {};
    case Msg::kLabel:
      if (number == 1 || number == 2) return {K::kBytes};
      return {};
    case Msg::kSample:
      if (number == 1) return {K::kFixed64};
      if (number == 2) return {K::kVarint};
      return {};
    case Msg::kExemplar:
      if (number == 1) return {K::kMessage, Msg::kLabel};
      if (number == 2) return {K::kFixed64};
      if (number == 3) return {K::kVarint};
      return {};
    case Msg::kHistogram:
      switch (number) {
        case 1:
        case 4:
        case 6:
        case 14:
        case 15:
          return {K::kVarint};
        case 2:
        case 3:
        case 5:
        case 7:
          return {K::kFixed64};
        case 8:
        case 11:
          return {K::kMessage, Msg::kBucketSpan};
        case 9:
        case 12:
          return {K::kRepeatedVarint};
        case 10:
        case 13:
        case 16:
          return {K::kRepeatedFixed64};
        default:
          return {};
      }
    case Msg::kBucketSpan:
      if (number == 1 || number == 2) return {K::kVarint};
      return {};
    case Msg::kMetadata:
      if (number == 1) return {K::kVarint};
      if (number == 2 || number == 4 || number == 5) return {K::kBytes};
      return {};
    // Remote write 2.0 (io.prometheus.write.v2, spec 2.0-rc.4 and its earlier layout).
    case Msg::kV2Request:
      if (number == 4) return {K::kBytes};  // symbols
      if (number == 5) return {K::kMessage, Msg::kV2TimeSeries};
      return {};
    case Msg::kV2TimeSeries:
      if (number == 1) return {K::kRepeatedVarint};  // labels_refs
      if (number == 2) return {K::kMessage, Msg::kV2Sample};
      if (number == 3) return {K::kMessage, Msg::kV2Histogram};
      if (number == 4) return {K::kMessage, Msg::kV2Exemplar};
      if (number == 5) return {K::kMessage, Msg::kV2Metadata};
      if (number == 6) return {K::kVarint};  // created_timestamp (Prometheus 3.0–3.7)
      return {};
    case Msg::kV2Sample:
      if (number == 1) return {K::kFixed64};
      if (number == 2 || number == 3) return {K::kVarint};  // timestamp, start_timestamp
      return {};
    case Msg::kV2Exemplar:
      if (number == 1) return {K::kRepeatedVarint};
      if (number == 2) return {K::kFixed64};
      if (number == 3) return {K::kVarint};
      return {};
    case Msg::kV2Metadata:
      if (number == 1 || number == 3 || number == 4) return {K::kVarint};
      return {};
    case Msg::kV2Histogram:
      if (number == 16) return {K::kRepeatedFixed64};  // custom_values
      if (number == 17) return {K::kVarint};           // start_timestamp
      return FieldOf(Msg::kHistogram, number);
  }
  return {};
}

struct FieldTable {
  FieldKind fields[kMsgCount][kMaxField];
};

constexpr FieldTable MakeTable() {
  FieldTable t{};
  for (int m = 0; m < kMsgCount; ++m) {
    for (uint32_t n = 0; n < kMaxField; ++n) t.fields[m][n] = FieldOf(static_cast<Msg>(m), n);
  }
  return t;
}
constexpr FieldTable kTable = MakeTable();

// The field's schema kind, or kNone when the number is unknown or the wire type does not match
// (the parser then keeps the field as an unknown field).
Kind KnownKind(Msg msg, uint32_t number, uint32_t wire_type, Msg* sub) {
  if (number >= kMaxField) return Kind::kNone;
  const FieldKind& f = kTable.fields[static_cast<int>(msg)][number];
  bool matches = false;
  switch (f.kind) {
    case Kind::kNone:
      return Kind::kNone;
    case Kind::kMessage:
    case Kind::kBytes:
      matches = wire_type == 2;
      break;
    case Kind::kVarint:
      matches = wire_type == 0;
      break;
    case Kind::kFixed64:
      matches = wire_type == 1;
      break;
    case Kind::kRepeatedVarint:
      matches = wire_type == 0 || wire_type == 2;
      break;
    case Kind::kRepeatedFixed64:
      matches = wire_type == 1 || wire_type == 2;
      break;
  }
  if (!matches) return Kind::kNone;
  *sub = f.msg;
  return f.kind;
}

// The common encoding of a Label, as every sender writes it: field 1 then field 2, each with a
// one-byte length, and nothing else. Returns false for anything else (the general path decides).
inline bool FastLabel(const char* p, size_t size, Label* label) {
  if (size < 4 || p[0] != 0x0a) return false;
  const auto n1 = static_cast<uint8_t>(p[1]);
  if (n1 >= 0x80 || 4 + static_cast<size_t>(n1) > size || p[2 + n1] != 0x12) return false;
  const auto n2 = static_cast<uint8_t>(p[3 + n1]);
  if (n2 >= 0x80 || 4 + static_cast<size_t>(n1) + n2 != size) return false;
  label->name = std::string_view(p + 2, n1);
  label->value = std::string_view(p + 4 + n1, n2);
  return true;
}

constexpr int kMaxDepth = 100;  // protobuf's default recursion limit

class Scanner {
 public:
  std::string error;
  std::vector<std::string_view>* series = nullptr;    // TimeSeries payloads of the root
  std::vector<std::string_view>* metadata = nullptr;  // MetricMetadata payloads of the root
  std::vector<std::string_view>* symbols = nullptr;   // v2: the root's symbols

  bool Message(Msg msg, const char* p, const char* end, int depth) {
    while (p < end) {
      uint32_t tag;
      if (!ReadTag(&p, end, &tag)) return Truncated(p, end);
      const uint32_t number = tag >> 3;
      const uint32_t wire_type = tag & 7;
      if (number == 0) {
        return Fail(absl::StrCat("proto: ", kMsgNames[static_cast<int>(msg)],
                                 ": illegal tag 0 (wire type ", wire_type, ")"));
      }
      Msg sub = Msg::kWriteRequest;
      const Kind kind = KnownKind(msg, number, wire_type, &sub);
      if (kind == Kind::kNone) {
        if (!SkipUnknown(msg, &p, end, number, wire_type, depth)) return false;
        continue;
      }
      switch (wire_type) {
        case 0: {
          uint64_t ignored;
          if (!ReadVarint(&p, end, &ignored)) return Truncated(p, end);
          break;
        }
        case 1:
          if (end - p < 8) return Fail("unexpected EOF");
          p += 8;
          break;
        case 2: {
          uint64_t size;
          if (!ReadVarint(&p, end, &size)) return Truncated(p, end);
          if (size > 0x7fffffffu) return Fail("proto: negative length found during unmarshaling");
          if (size > static_cast<uint64_t>(end - p)) return Fail("unexpected EOF");
          const char* value = p;
          p += size;
          if (kind == Kind::kMessage) {
            Label ignored;
            if (sub == Msg::kLabel && FastLabel(value, size, &ignored)) continue;
            if (depth + 1 > kMaxDepth) return Fail("proto: exceeded maximum recursion depth");
            if (!Message(sub, value, p, depth + 1)) return false;
            if (depth == 0) {
              if (msg == Msg::kV2Request || number == 1) {
                series->emplace_back(value, size);
              } else {
                metadata->emplace_back(value, size);
              }
            }
          } else if (kind == Kind::kBytes && depth == 0 && msg == Msg::kV2Request) {
            symbols->emplace_back(value, size);
          } else if (kind == Kind::kRepeatedFixed64) {
            if (size % 8 != 0) return Fail("unexpected EOF");
          } else if (kind == Kind::kRepeatedVarint) {
            const char* q = value;
            while (q < p) {
              uint64_t ignored;
              if (!ReadVarint(&q, p, &ignored)) return Truncated(q, p);
            }
          }
          break;
        }
        default:
          return Fail("unexpected wire type");  // unreachable: KnownKind matched it
      }
    }
    return true;
  }

 private:
  bool Fail(std::string message) {
    error = std::move(message);
    return false;
  }
  // A varint that ran out of input is truncation; one with too many bytes is an overflow.
  bool Truncated(const char* p, const char* end) {
    return Fail(p >= end ? "unexpected EOF" : "proto: integer overflow");
  }

  bool SkipUnknown(Msg msg, const char** p, const char* end, uint32_t number, uint32_t wire_type,
                   int depth) {
    switch (wire_type) {
      case 0: {
        uint64_t ignored;
        if (!ReadVarint(p, end, &ignored)) return Truncated(*p, end);
        return true;
      }
      case 1:
        if (end - *p < 8) return Fail("unexpected EOF");
        *p += 8;
        return true;
      case 5:
        if (end - *p < 4) return Fail("unexpected EOF");
        *p += 4;
        return true;
      case 2: {
        uint64_t size;
        if (!ReadVarint(p, end, &size)) return Truncated(*p, end);
        if (size > static_cast<uint64_t>(end - *p)) return Fail("unexpected EOF");
        *p += size;
        return true;
      }
      case 3: {  // a group: fields until the matching end-group tag
        if (depth + 1 > kMaxDepth) return Fail("proto: exceeded maximum recursion depth");
        while (true) {
          uint32_t tag;
          if (!ReadTag(p, end, &tag)) return Truncated(*p, end);
          const uint32_t inner_number = tag >> 3;
          const uint32_t inner_type = tag & 7;
          if (inner_type == 4) {
            if (inner_number != number) {
              return Fail(absl::StrCat("proto: ", kMsgNames[static_cast<int>(msg)],
                                       ": end group for a different group"));
            }
            return true;
          }
          if (inner_number == 0) {
            return Fail(absl::StrCat("proto: ", kMsgNames[static_cast<int>(msg)],
                                     ": illegal tag 0 (wire type ", inner_type, ")"));
          }
          if (!SkipUnknown(msg, p, end, inner_number, inner_type, depth + 1)) return false;
        }
      }
      case 4:
        return Fail(absl::StrCat("proto: ", kMsgNames[static_cast<int>(msg)],
                                 ": wiretype end group for non-group"));
      default:
        return Fail(absl::StrCat("proto: ", kMsgNames[static_cast<int>(msg)], ": illegal wireType ",
                                 wire_type));
    }
  }
};

// ---------------------------------------------------------------------------------------------
// Pass 2 helpers: reading fields of bytes the scan already accepted. They stay bounds-checked
// (returning false) so that a bug here can never read outside the body.

struct Field {
  uint32_t number = 0;
  uint32_t wire_type = 0;
  uint64_t varint = 0;     // wire types 0 and 1 (the fixed64 bits)
  std::string_view bytes;  // wire type 2
};

bool SkipGroup(const char** p, const char* end, uint32_t number, int depth);

bool NextField(const char** p, const char* end, Field* f) {
  uint32_t tag;
  if (!ReadTag(p, end, &tag)) return false;
  f->number = tag >> 3;
  f->wire_type = tag & 7;
  switch (f->wire_type) {
    case 0:
      return ReadVarint(p, end, &f->varint);
    case 1:
      if (end - *p < 8) return false;
      std::memcpy(&f->varint, *p, 8);  // little-endian host (x86-64, arm64)
      *p += 8;
      return true;
    case 5:
      if (end - *p < 4) return false;
      *p += 4;
      return true;
    case 2: {
      uint64_t size;
      if (!ReadVarint(p, end, &size) || size > static_cast<uint64_t>(end - *p)) return false;
      f->bytes = std::string_view(*p, size);
      *p += size;
      return true;
    }
    case 3:
      return SkipGroup(p, end, f->number, 0);
    default:
      return false;
  }
}

// A Sample message: value (1, fixed64 bits), timestamp (2, varint); remote write 2.0 also
// start_timestamp (3, varint). Malformed bytes end the loop (the structural scan refused them).
Sample DecodeSample(std::string_view bytes, bool remote_write_2) {
  Sample s;
  const char* q = bytes.data();
  const char* const end = q + bytes.size();
  Field g;
  while (q < end && NextField(&q, end, &g)) {
    if (g.number == 1 && g.wire_type == 1) s.value_bits = g.varint;
    if (g.number == 2 && g.wire_type == 0) s.timestamp_ms = static_cast<int64_t>(g.varint);
    if (remote_write_2 && g.number == 3 && g.wire_type == 0) {
      s.start_timestamp_ms = static_cast<int64_t>(g.varint);
    }
  }
  return s;
}

bool SkipGroup(const char** p, const char* end, uint32_t number, int depth) {
  if (depth > kMaxDepth) return false;
  while (*p < end) {
    uint32_t tag;
    if (!ReadTag(p, end, &tag)) return false;
    const uint32_t inner_type = tag & 7;
    if (inner_type == 4) return (tag >> 3) == number;
    if (inner_type == 3) {
      if (!SkipGroup(p, end, tag >> 3, depth + 1)) return false;
      continue;
    }
    Field ignored;
    switch (inner_type) {
      case 0:
        if (!ReadVarint(p, end, &ignored.varint)) return false;
        break;
      case 1:
        if (end - *p < 8) return false;
        *p += 8;
        break;
      case 5:
        if (end - *p < 4) return false;
        *p += 4;
        break;
      case 2: {
        uint64_t size;
        if (!ReadVarint(p, end, &size) || size > static_cast<uint64_t>(end - *p)) return false;
        *p += size;
        break;
      }
      default:
        return false;
    }
  }
  return false;
}

inline int64_t ZigZag64(uint64_t v) { return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1)); }
inline int32_t ZigZag32(uint64_t v) {
  const auto u = static_cast<uint32_t>(v);
  return static_cast<int32_t>((u >> 1) ^ (~(u & 1) + 1));
}

// One Label message: name and value, the last occurrence winning as in protobuf.
Label ReadLabel(std::string_view payload) {
  Label label;
  if (FastLabel(payload.data(), payload.size(), &label)) return label;
  const char* p = payload.data();
  const char* end = p + payload.size();
  Field f;
  while (p < end && NextField(&p, end, &f)) {
    if (f.wire_type != 2) continue;
    if (f.number == 1) label.name = f.bytes;
    if (f.number == 2) label.value = f.bytes;
  }
  return label;
}

// Appends the values of a repeated scalar field (one value, or a packed run).
void AppendVarints(const Field& f, std::vector<int64_t>* out) {
  if (f.wire_type == 0) {
    out->push_back(ZigZag64(f.varint));
    return;
  }
  const char* p = f.bytes.data();
  const char* end = p + f.bytes.size();
  uint64_t v;
  while (p < end && ReadVarint(&p, end, &v)) out->push_back(ZigZag64(v));
}

// Appends the values of a repeated uint32 field (one value, or a packed run), as protobuf reads
// them: a longer varint keeps its low 32 bits.
void AppendRefs(const Field& f, std::vector<uint64_t>* out) {
  if (f.wire_type == 0) {
    out->push_back(static_cast<uint32_t>(f.varint));
    return;
  }
  const char* p = f.bytes.data();
  const char* end = p + f.bytes.size();
  uint64_t v;
  while (p < end && ReadVarint(&p, end, &v)) out->push_back(static_cast<uint32_t>(v));
}

// Appends a Label field (remote write 1.0's encoding) to `out`: tag, length, then name (field 1)
// and value (field 2), each left out when empty as gogo's marshalling does.
void AppendVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
void AppendLabelField(std::string_view name, std::string_view value, std::string* out) {
  size_t size = 0;
  if (!name.empty()) size += 1 + VarintSize(name.size()) + name.size();
  if (!value.empty()) size += 1 + VarintSize(value.size()) + value.size();
  out->push_back(0x0a);
  AppendVarint(size, out);
  if (!name.empty()) {
    out->push_back(0x0a);
    AppendVarint(name.size(), out);
    out->append(name);
  }
  if (!value.empty()) {
    out->push_back(0x12);
    AppendVarint(value.size(), out);
    out->append(value);
  }
}

void AppendDoubles(const Field& f, std::vector<double>* out) {
  if (f.wire_type == 1) {
    out->push_back(std::bit_cast<double>(f.varint));
    return;
  }
  for (size_t i = 0; i + 8 <= f.bytes.size(); i += 8) {
    uint64_t bits;
    std::memcpy(&bits, f.bytes.data() + i, 8);
    out->push_back(std::bit_cast<double>(bits));
  }
}

void ReadSpan(std::string_view payload, std::vector<chunkenc::BucketSpan>* out) {
  chunkenc::BucketSpan span;
  const char* p = payload.data();
  const char* end = p + payload.size();
  Field f;
  while (p < end && NextField(&p, end, &f)) {
    if (f.wire_type != 0) continue;
    if (f.number == 1) span.offset = ZigZag32(f.varint);
    if (f.number == 2) span.length = static_cast<uint32_t>(f.varint);
  }
  out->push_back(span);
}

// Decodes a Histogram message into *out (reusing its vectors) and checks it.
HistogramProblem ReadHistogram(std::string_view payload, HistogramSample* out,
                               std::vector<int64_t>* neg_deltas, std::vector<int64_t>* pos_deltas) {
  bool count_float = false;
  uint64_t count_int = 0;
  double count_f = 0;
  bool zero_float = false;
  uint64_t zero_int = 0;
  double zero_f = 0;
  double sum = 0;
  double zero_threshold = 0;
  int32_t schema = 0;
  int32_t hint = 0;
  int64_t timestamp = 0;
  std::vector<chunkenc::BucketSpan> neg_spans, pos_spans;
  std::vector<double> neg_counts, pos_counts, custom_values;
  // Reuse the capacity of the output's vectors for the spans and float counts.
  custom_values.swap(out->integer.custom_values);
  custom_values.clear();
  neg_spans.swap(out->integer.negative_spans);
  pos_spans.swap(out->integer.positive_spans);
  neg_counts.swap(out->floating.negative_buckets);
  pos_counts.swap(out->floating.positive_buckets);
  neg_spans.clear();
  pos_spans.clear();
  neg_counts.clear();
  pos_counts.clear();
  neg_deltas->clear();
  pos_deltas->clear();

  const char* p = payload.data();
  const char* end = p + payload.size();
  Field f;
  while (p < end && NextField(&p, end, &f)) {
    Msg sub;
    if (KnownKind(Msg::kHistogram, f.number, f.wire_type, &sub) == Kind::kNone) continue;
    switch (f.number) {
      case 1:
        count_float = false;
        count_int = f.varint;
        break;
      case 2:
        count_float = true;
        count_f = std::bit_cast<double>(f.varint);
        break;
      case 3:
        sum = std::bit_cast<double>(f.varint);
        break;
      case 4:
        schema = ZigZag32(f.varint);
        break;
      case 5:
        zero_threshold = std::bit_cast<double>(f.varint);
        break;
      case 6:
        zero_float = false;
        zero_int = f.varint;
        break;
      case 7:
        zero_float = true;
        zero_f = std::bit_cast<double>(f.varint);
        break;
      case 8:
        ReadSpan(f.bytes, &neg_spans);
        break;
      case 9:
        AppendVarints(f, neg_deltas);
        break;
      case 10:
        AppendDoubles(f, &neg_counts);
        break;
      case 11:
        ReadSpan(f.bytes, &pos_spans);
        break;
      case 12:
        AppendVarints(f, pos_deltas);
        break;
      case 13:
        AppendDoubles(f, &pos_counts);
        break;
      case 14:
        hint = static_cast<int32_t>(f.varint);
        break;
      case 15:
        timestamp = static_cast<int64_t>(f.varint);
        break;
      case 16:
        AppendDoubles(f, &custom_values);
        break;
      default:
        break;
    }
  }
  out->timestamp_ms = timestamp;
  out->is_float = count_float;
  const auto reset_hint = (hint >= 0 && hint <= 3) ? static_cast<chunkenc::CounterResetHint>(hint)
                                                   : chunkenc::CounterResetHint::kUnknown;
  HistogramProblem problem = HistogramProblem::kNone;
  if (count_float) {
    chunkenc::FloatHistogram& h = out->floating;
    h.reset_hint = reset_hint;
    h.schema = schema;
    h.zero_threshold = zero_threshold;
    h.zero_count = zero_float ? zero_f : 0;
    h.count = count_f;
    h.sum = sum;
    h.negative_spans = std::move(neg_spans);
    h.positive_spans = std::move(pos_spans);
    h.negative_buckets = std::move(neg_counts);
    h.positive_buckets = std::move(pos_counts);
    h.custom_values = std::move(custom_values);
    out->integer.custom_values.clear();
    out->integer.negative_spans.clear();
    out->integer.positive_spans.clear();
    out->integer.negative_buckets.clear();
    out->integer.positive_buckets.clear();
    problem = CheckFloatHistogram(h);
  } else {
    chunkenc::Histogram& h = out->integer;
    h.reset_hint = reset_hint;
    h.schema = schema;
    h.zero_threshold = zero_threshold;
    h.zero_count = zero_float ? 0 : zero_int;
    h.count = count_int;
    h.sum = sum;
    h.negative_spans = std::move(neg_spans);
    h.positive_spans = std::move(pos_spans);
    h.custom_values = std::move(custom_values);
    out->floating.custom_values.clear();
    out->floating.negative_buckets = std::move(neg_counts);  // keep the capacity
    out->floating.positive_buckets = std::move(pos_counts);
    out->floating.negative_buckets.clear();
    out->floating.positive_buckets.clear();
    out->floating.negative_spans.clear();
    out->floating.positive_spans.clear();
    problem = IntegerBucketsFromDeltas(*neg_deltas, *pos_deltas, &h);
  }
  return problem;
}

constexpr std::string_view kMetricName = "__name__";

// Mimir's refusal of a remote write 2.0 reference (its unmarshalling errors, pkg/mimirpb), with
// where and what in parentheses (Sprout's addition): `what` is e.g. "invalid label reference".
std::string RefError(std::string_view what, size_t series, std::string_view where, uint64_t value,
                     size_t symbols) {
  return absl::StrCat("proto: Remote Write 2.0 ", AV(what), " (timeseries[", series, "].",
                      AV(where), ": ", value, ", the request has ", symbols, " symbols)");
}

// A list of references (one or more fields: single values or packed runs) checked as it is read,
// without storing it: how many, and the first one outside the table.
struct RefList {
  size_t count = 0;
  size_t bad_index = SIZE_MAX;
  uint64_t bad_value = 0;
  void Add(const Field& f, size_t symbols) {
    auto one = [&](uint64_t v) {
      const uint32_t ref = static_cast<uint32_t>(v);  // protobuf keeps a uint32's low bits
      if (ref >= symbols && bad_index == SIZE_MAX) {
        bad_index = count;
        bad_value = ref;
      }
      ++count;
    };
    if (f.wire_type == 0) return one(f.varint);
    const char* p = f.bytes.data();
    const char* end = p + f.bytes.size();
    uint64_t v;
    while (p < end && ReadVarint(&p, end, &v)) one(v);
  }
};

// Checks every reference of a 2.0 TimeSeries (labels, exemplar labels, help and unit) against a
// table of `symbols` entries, and that label references come in pairs. Empty when all are good.
std::string CheckRefsV2(std::string_view ts, size_t series, size_t symbols) {
  auto check = [&](const RefList& r, std::string_view list, std::string_view odd,
                   std::string_view bad) -> std::string {
    if (r.count % 2 != 0) return RefError(odd, series, list, r.count, symbols);
    if (r.bad_index != SIZE_MAX) {
      return RefError(bad, series, absl::StrCat(AV(list), "[", r.bad_index, "]"), r.bad_value,
                      symbols);
    }
    return {};
  };
  RefList labels;
  const char* p = ts.data();
  const char* end = p + ts.size();
  size_t exemplar = 0;
  Field f;
  while (p < end && NextField(&p, end, &f)) {
    if (f.number == 1 && (f.wire_type == 0 || f.wire_type == 2)) {
      labels.Add(f, symbols);
    } else if (f.number == 4 && f.wire_type == 2) {
      RefList refs;
      const char* q = f.bytes.data();
      const char* qend = q + f.bytes.size();
      Field g;
      while (q < qend && NextField(&q, qend, &g)) {
        if (g.number == 1 && (g.wire_type == 0 || g.wire_type == 2)) refs.Add(g, symbols);
      }
      if (refs.count % 2 != 0 || refs.bad_index != SIZE_MAX) {
        return check(refs, absl::StrCat("exemplars[", exemplar, "].labels_refs"),
                     "odd number of exemplar label references", "invalid exemplar label reference");
      }
      ++exemplar;
    } else if (f.number == 5 && f.wire_type == 2) {
      const char* q = f.bytes.data();
      const char* qend = q + f.bytes.size();
      Field g;
      while (q < qend && NextField(&q, qend, &g)) {
        if (g.wire_type != 0 || static_cast<uint32_t>(g.varint) < symbols) continue;
        if (g.number == 3) {
          return RefError("invalid help reference", series, "metadata.help_ref",
                          static_cast<uint32_t>(g.varint), symbols);
        }
        if (g.number == 4) {
          return RefError("invalid unit reference", series, "metadata.unit_ref",
                          static_cast<uint32_t>(g.varint), symbols);
        }
      }
    }
  }
  return check(labels, "labels_refs", "odd number of label references", "invalid label reference");
}

}  // namespace

std::string_view RefusalLabel(Refusal reason) {
  switch (reason) {
    case Refusal::kNoLabels:
      return "no_labels";
    case Refusal::kMissingMetricName:
      return "missing_metric_name";
    case Refusal::kInvalidMetricName:
      return "metric_name_invalid";
    case Refusal::kMaxLabelNamesPerSeries:
      return "max_label_names_per_series";
    case Refusal::kMaxLabelNamesPerInfoSeries:
      return "max_label_names_per_info_series";
    case Refusal::kInvalidLabel:
      return "label_invalid";
    case Refusal::kInvalidLabelValue:
      return "label_value_invalid";
    case Refusal::kLabelNameTooLong:
      return "label_name_too_long";
    case Refusal::kLabelValueTooLong:
      return "label_value_too_long";
    case Refusal::kDuplicateLabelNames:
      return "duplicate_label_names";
    case Refusal::kLabelsNotSorted:
      return "labels_not_sorted";
    case Refusal::kTooFarInFuture:
      return "too_far_in_future";
    case Refusal::kTooFarInPast:
      return "too_far_in_past";
    case Refusal::kInvalidNativeHistogramSchema:
      return "invalid_native_histogram_schema";
    case Refusal::kNativeHistogramSpansBucketsMismatch:
      return "native_histogram_spans_buckets_mismatch";
    case Refusal::kNativeHistogramNegativeBucketCount:
      return "native_histogram_negative_bucket_count";
    case Refusal::kNativeHistogramSpanNegativeOffset:
      return "native_histogram_span_negative_offset";
    case Refusal::kExemplarLabelsMissing:
      return "exemplar_labels_missing";
    case Refusal::kExemplarLabelsBlank:
      return "exemplar_labels_blank";
    case Refusal::kExemplarLabelsTooLong:
      return "exemplar_labels_too_long";
    case Refusal::kExemplarTimestampInvalid:
      return "exemplar_timestamp_invalid";
    case Refusal::kExemplarLabelsInvalidUtf8:
      return "exemplar_labels_invalid_utf8";
    case Refusal::kMetadataMissingMetricName:
      return "missing_metric_name";
    case Refusal::kMetadataMetricNameTooLong:
      return "metric_name_too_long";
    case Refusal::kMetadataUnitTooLong:
      return "unit_too_long";
    case Refusal::kMetadataInvalidUtf8:
      return "metadata_invalid_utf8";
    case Refusal::kCount:
      break;
  }
  return "unknown";
}

std::span<const Label> Series::labels() const {
  if (decoder_ == nullptr) return labels_;
  if (!labels_decoded_) {
    decoder_->DecodeLabels(label_bytes_);
    labels_decoded_ = true;
  }
  return decoder_->labels_;
}

std::string_view Series::metric_name() const {
  for (const Label& l : labels()) {
    if (l.name == kMetricName) return l.value;
  }
  return {};
}

// The label set of `label_bytes` into labels_, without empty values, in arrival order.
void RemoteWriteDecoder::DecodeLabels(std::string_view label_bytes) {
  labels_.clear();
  const char* p = label_bytes.data();
  const char* end = p + label_bytes.size();
  Field f;
  while (p < end) {
    // Fast path: a Label field with a one-byte length.
    if (p[0] == 0x0a && static_cast<uint8_t>(p[1]) < 0x80 &&
        end - p >= 2 + static_cast<uint8_t>(p[1])) {
      const size_t n = static_cast<uint8_t>(p[1]);
      const Label label = ReadLabel(std::string_view(p + 2, n));
      p += 2 + n;
      if (!label.value.empty()) labels_.push_back(label);
      continue;
    }
    if (!NextField(&p, end, &f)) break;
    if (f.number != 1 || f.wire_type != 2) continue;
    const Label label = ReadLabel(f.bytes);
    if (!label.value.empty()) labels_.push_back(label);
  }
}

std::string MessageSizeLimitMessage(size_t size, std::string_view kind, size_t limit) {
  return absl::StrCat(
      "the incoming push request has been rejected because its message size of ", size, " bytes (",
      AV(kind), ") is larger than the allowed limit of ", limit,
      " bytes (err-mimir-distributor-max-write-message-size). To adjust the related limit, "
      "configure -distributor.max-recv-msg-size, or contact your service administrator.");
}

IngestResult RemoteWriteDecoder::DecodeSnappy(std::string_view body, int64_t now_ms,
                                              WriteVisitor& visitor, Protocol protocol) {
  IngestResult result;
  auto refuse = [&](std::string message) {
    result.http_status = 400;
    result.request_refused = true;
    result.message = std::move(message);
    return std::move(result);
  };
  const size_t limit = limits_.max_recv_msg_size;
  auto too_large = [&](size_t size, std::string_view kind) {
    return refuse(MessageSizeLimitMessage(size, kind, limit));
  };
  if (body.size() > limit) return too_large(body.size(), "compressed");
  const std::optional<size_t> length = net::SnappyUncompressedLength(body);
  if (!length) return refuse("getting snappy decoded length: snappy: corrupt input");
  if (*length > limit) return too_large(*length, "uncompressed");
  absl::StatusOr<std::string> decoded = net::Decompress(net::Codec::kSnappy, body, limit);
  if (!decoded.ok()) {
    return refuse(absl::StrCat("decompress snappy: ", decoded.status().message()));
  }
  body_ = *std::move(decoded);
  return Decode(body_, now_ms, visitor, protocol);
}

IngestResult RemoteWriteDecoder::Decode(std::string_view wire, int64_t now_ms,
                                        WriteVisitor& visitor, Protocol protocol) {
  IngestResult result;
  if (wire.size() > limits_.max_recv_msg_size) {
    result.http_status = 400;
    result.request_refused = true;
    result.message = absl::StrCat(
        "the incoming push request has been rejected because its message size of ", wire.size(),
        " bytes (uncompressed) is larger than the allowed limit of ", limits_.max_recv_msg_size,
        " bytes (err-mimir-distributor-max-write-message-size). To adjust the related limit, "
        "configure -distributor.max-recv-msg-size, or contact your service administrator.");
    return result;
  }
  series_views_.clear();
  metadata_views_.clear();
  symbols_.clear();
  Scanner scanner;
  scanner.series = &series_views_;
  scanner.metadata = &metadata_views_;
  scanner.symbols = &symbols_;
  const Msg root = protocol == Protocol::kV2 ? Msg::kV2Request : Msg::kWriteRequest;
  if (wire.size() > 0x7fffffffu ||
      !scanner.Message(root, wire.data(), wire.data() + wire.size(), 0)) {
    result.http_status = 400;
    result.request_refused = true;
    result.message = scanner.error.empty() ? "proto: message too large" : scanner.error;
    return result;
  }
  if (protocol == Protocol::kV2) {
    // The spec: "symbols array MUST start with empty string". A request without symbols holds
    // no reference that could resolve; its series are refused one by one below.
    if (!symbols_.empty() && !symbols_[0].empty()) {
      result.http_status = 400;
      result.request_refused = true;
      result.message = "proto: Remote Write 2.0 symbols must start with empty string (got ";
      text::AppendGoQuote(text::TruncateRunes(symbols_[0], 200), &result.message);
      result.message += ")";
      return result;
    }
    // A reference outside the table refuses the request before anything is delivered, as
    // Mimir's unmarshalling refuses it.
    for (size_t i = 0; i < series_views_.size(); ++i) {
      std::string problem = CheckRefsV2(series_views_[i], i, symbols_.size());
      if (!problem.empty()) {
        result.http_status = 400;
        result.request_refused = true;
        result.message = std::move(problem);
        return result;
      }
    }
    for (size_t i = 0; i < series_views_.size(); ++i) {
      series_index_ = i;
      HandleTimeSeriesV2(series_views_[i], now_ms, visitor, &result);
    }
    return result;
  }
  for (std::string_view ts : series_views_) HandleTimeSeries(ts, now_ms, visitor, &result);
  for (std::string_view md : metadata_views_) HandleMetadata(md, visitor, &result);
  return result;
}

// Fills label_bytes_, samples_, exemplars_ (labels in exemplar_labels_) and histograms_.
bool RemoteWriteDecoder::DecodeTimeSeries(std::string_view ts) {
  histogram_starts_.clear();  // 1.0 has no start timestamps
  samples_.clear();
  exemplars_.clear();
  exemplar_labels_.clear();
  exemplar_ranges_.clear();
  histogram_count_ = 0;
  label_copy_.clear();
  const char* label_begin = nullptr;
  const char* label_end = nullptr;
  bool copied = false;

  const char* p = ts.data();
  const char* end = p + ts.size();
  while (p < end) {
    const char* field_start = p;
    Field f;
    if (!NextField(&p, end, &f)) return false;
    Msg sub;
    if (KnownKind(Msg::kTimeSeries, f.number, f.wire_type, &sub) == Kind::kNone) continue;
    switch (f.number) {
      case 1:
        if (label_begin == nullptr) {
          label_begin = field_start;
          label_end = p;
        } else if (!copied && field_start == label_end) {
          label_end = p;
        } else {
          if (!copied) {
            label_copy_.assign(label_begin, label_end);
            copied = true;
          }
          label_copy_.append(field_start, p);
        }
        break;
      case 2: {
        samples_.push_back(DecodeSample(f.bytes, /*remote_write_2=*/false));
        break;
      }
      case 3: {
        Exemplar e;
        ExemplarRange range{static_cast<uint32_t>(exemplar_labels_.size()), 0};
        const char* q = f.bytes.data();
        const char* qend = q + f.bytes.size();
        Field g;
        while (q < qend && NextField(&q, qend, &g)) {
          if (g.number == 1 && g.wire_type == 2) {
            exemplar_labels_.push_back(ReadLabel(g.bytes));
            ++range.label_count;
          }
          if (g.number == 2 && g.wire_type == 1) e.value_bits = g.varint;
          if (g.number == 3 && g.wire_type == 0) e.timestamp_ms = static_cast<int64_t>(g.varint);
        }
        exemplars_.push_back(e);
        exemplar_ranges_.push_back(range);
        break;
      }
      case 4:
        if (histogram_count_ == histograms_.size()) histograms_.emplace_back();
        // Decoded (and checked) by HandleTimeSeries, once the labels are known to be good.
        histogram_payloads_.resize(histogram_count_ + 1);
        histogram_payloads_[histogram_count_] = f.bytes;
        ++histogram_count_;
        break;
      default:
        break;
    }
  }
  label_bytes_ = copied ? std::string_view(label_copy_)
                        : (label_begin ? std::string_view(label_begin, label_end - label_begin)
                                       : std::string_view());
  for (size_t i = 0; i < exemplars_.size(); ++i) {
    exemplars_[i].labels = std::span<const Label>(
        exemplar_labels_.data() + exemplar_ranges_[i].first_label, exemplar_ranges_[i].label_count);
  }
  return true;
}

void RemoteWriteDecoder::HandleTimeSeries(std::string_view ts, int64_t now_ms,
                                          WriteVisitor& visitor, IngestResult* result) {
  if (!DecodeTimeSeries(ts)) return;  // unreachable after a clean scan
  ValidateAndDeliver(now_ms, visitor, result, nullptr);
}

bool RemoteWriteDecoder::Symbol(uint64_t ref, std::string_view* out) const {
  if (ref >= symbols_.size()) return false;
  *out = symbols_[ref];
  return true;
}

std::string RemoteWriteDecoder::DecodeTimeSeriesV2(std::string_view ts) {
  samples_.clear();
  exemplars_.clear();
  exemplar_labels_.clear();
  exemplar_ranges_.clear();
  histogram_count_ = 0;
  histogram_starts_.clear();
  label_copy_.clear();
  refs_.clear();
  metadata_v2_ = MetricMetadata{};
  int64_t created = 0;
  // CheckRefsV2 passed for this series: these never trigger; they keep the reads in bounds.
  auto bad_ref = [&](std::string_view where, uint64_t ref) {
    return RefError("invalid reference", series_index_, where, ref, symbols_.size());
  };

  const char* p = ts.data();
  const char* end = p + ts.size();
  std::string problem;
  while (p < end) {
    Field f;
    if (!NextField(&p, end, &f)) return {};  // unreachable after a clean scan
    Msg sub;
    if (KnownKind(Msg::kV2TimeSeries, f.number, f.wire_type, &sub) == Kind::kNone) continue;
    switch (f.number) {
      case 1:
        AppendRefs(f, &refs_);
        break;
      case 2: {
        samples_.push_back(DecodeSample(f.bytes, /*remote_write_2=*/true));
        break;
      }
      case 3: {
        if (histogram_count_ == histograms_.size()) histograms_.emplace_back();
        histogram_payloads_.resize(histogram_count_ + 1);
        histogram_payloads_[histogram_count_] = f.bytes;
        int64_t start = 0;
        const char* q = f.bytes.data();
        const char* qend = q + f.bytes.size();
        Field g;
        while (q < qend && NextField(&q, qend, &g)) {
          if (g.number == 17 && g.wire_type == 0) start = static_cast<int64_t>(g.varint);
        }
        histogram_starts_.push_back(start);
        ++histogram_count_;
        break;
      }
      case 4: {
        Exemplar e;
        ExemplarRange range{static_cast<uint32_t>(exemplar_labels_.size()), 0};
        const size_t first_ref = refs_.size();
        const char* q = f.bytes.data();
        const char* qend = q + f.bytes.size();
        Field g;
        while (q < qend && NextField(&q, qend, &g)) {
          if (g.number == 1 && (g.wire_type == 0 || g.wire_type == 2)) AppendRefs(g, &refs_);
          if (g.number == 2 && g.wire_type == 1) e.value_bits = g.varint;
          if (g.number == 3 && g.wire_type == 0) e.timestamp_ms = static_cast<int64_t>(g.varint);
        }
        // The exemplar's references were appended after the series' own: resolve and drop them.
        const size_t n = refs_.size() - first_ref;
        if (problem.empty() && n % 2 != 0) {
          problem = bad_ref(
              absl::StrCat("exemplars[", exemplars_.size(), "].labels_refs has an odd length"), n);
        }
        for (size_t i = first_ref; i + 1 < refs_.size(); i += 2) {
          Label l;
          if (!Symbol(refs_[i], &l.name) || !Symbol(refs_[i + 1], &l.value)) {
            if (problem.empty()) {
              const size_t bad = Symbol(refs_[i], &l.name) ? i + 1 : i;
              problem = bad_ref(absl::StrCat("exemplars[", exemplars_.size(), "].labels_refs[",
                                             bad - first_ref, "]"),
                                refs_[bad]);
            }
            continue;
          }
          exemplar_labels_.push_back(l);
          ++range.label_count;
        }
        refs_.resize(first_ref);
        exemplars_.push_back(e);
        exemplar_ranges_.push_back(range);
        break;
      }
      case 5: {
        const char* q = f.bytes.data();
        const char* qend = q + f.bytes.size();
        Field g;
        while (q < qend && NextField(&q, qend, &g)) {
          if (g.wire_type != 0) continue;
          if (g.number == 1) metadata_v2_.type = static_cast<int32_t>(g.varint);
          const auto ref = static_cast<uint32_t>(g.varint);
          if (g.number == 3 && !Symbol(ref, &metadata_v2_.help) && problem.empty()) {
            problem = bad_ref("metadata.help_ref", ref);
          }
          if (g.number == 4 && !Symbol(ref, &metadata_v2_.unit) && problem.empty()) {
            problem = bad_ref("metadata.unit_ref", ref);
          }
        }
        break;
      }
      case 6:
        created = static_cast<int64_t>(f.varint);
        break;
      default:
        break;
    }
  }
  // The series' labels, encoded as remote write 1.0's Label fields.
  if (refs_.size() % 2 != 0) return bad_ref("labels_refs has an odd length", refs_.size());
  for (size_t i = 0; i < refs_.size(); i += 2) {
    std::string_view name, value;
    if (!Symbol(refs_[i], &name)) return bad_ref(absl::StrCat("labels_refs[", i, "]"), refs_[i]);
    if (!Symbol(refs_[i + 1], &value)) {
      return bad_ref(absl::StrCat("labels_refs[", i + 1, "]"), refs_[i + 1]);
    }
    AppendLabelField(name, value, &label_copy_);
  }
  if (!problem.empty()) return problem;
  label_bytes_ = label_copy_;
  for (size_t i = 0; i < exemplars_.size(); ++i) {
    exemplars_[i].labels = std::span<const Label>(
        exemplar_labels_.data() + exemplar_ranges_[i].first_label, exemplar_ranges_[i].label_count);
  }
  // The created timestamp of the earlier layout applies to every sample without its own.
  for (Sample& s : samples_) {
    if (s.start_timestamp_ms == 0) s.start_timestamp_ms = created;
  }
  for (int64_t& start : histogram_starts_) {
    if (start == 0) start = created;
  }
  return {};
}

void RemoteWriteDecoder::HandleTimeSeriesV2(std::string_view ts, int64_t now_ms,
                                            WriteVisitor& visitor, IngestResult* result) {
  if (!DecodeTimeSeriesV2(ts).empty()) return;  // unreachable after CheckRefsV2
  // Metadata is delivered with the series when the sender said anything (a type, help or unit).
  const bool has_metadata =
      metadata_v2_.type != 0 || !metadata_v2_.help.empty() || !metadata_v2_.unit.empty();
  ValidateAndDeliver(now_ms, visitor, result, has_metadata ? &metadata_v2_ : nullptr);
}

void RemoteWriteDecoder::ValidateAndDeliver(int64_t now_ms, WriteVisitor& visitor,
                                            IngestResult* result, const MetricMetadata* metadata) {
  const auto n_samples = static_cast<int64_t>(samples_.size());
  const auto n_histograms = static_cast<int64_t>(histogram_count_);
  const auto n_exemplars = static_cast<int64_t>(exemplars_.size());
  auto refuse_series = [&](Refusal reason, std::string message) {
    ++result->series_refused;
    RecordRefusal(result, Problem{reason, std::move(message)}, n_samples, n_histograms, n_exemplars,
                  0);
  };

  const bool known = visitor.KnownLabelBytes(label_bytes_);
  std::string_view metric_name;
  if (!known) {
    DecodeLabels(label_bytes_);
    if (Problem p = ValidateSeriesLabels(labels_, limits_, &metric_name)) {
      return refuse_series(p.reason, std::move(p.message));
    }
  }
  // Known labels stay undecoded; the metric name is looked up only if a message needs it.
  bool name_pending = known;
  auto metric = [&]() -> std::string_view {
    if (name_pending) {
      DecodeLabels(label_bytes_);
      for (const Label& l : labels_) {
        if (l.name == kMetricName) {
          metric_name = l.value;
          break;
        }
      }
      name_pending = false;
    }
    return metric_name;
  };

  // --- samples ---
  for (const Sample& s : samples_) {
    if (Refusal r = SampleTimeRefusal(s.timestamp_ms, now_ms, limits_); r != Refusal::kCount) {
      return refuse_series(r, SampleTimeMessage(r, s.timestamp_ms, metric()));
    }
  }

  // --- native histograms ---
  for (size_t i = 0; i < histogram_count_; ++i) {
    HistogramSample& h = histograms_[i];
    const HistogramProblem problem =
        ReadHistogram(histogram_payloads_[i], &h, &neg_deltas_, &deltas_);
    h.start_timestamp_ms = i < histogram_starts_.size() ? histogram_starts_[i] : 0;
    if (Refusal r = SampleTimeRefusal(h.timestamp_ms, now_ms, limits_); r != Refusal::kCount) {
      return refuse_series(r, SampleTimeMessage(r, h.timestamp_ms, metric()));
    }
    if (problem == HistogramProblem::kNone) continue;
    const int32_t schema = h.is_float ? h.floating.schema : h.integer.schema;
    Problem p = HistogramRefusal(problem, schema, h.timestamp_ms, metric());
    return refuse_series(p.reason, std::move(p.message));
  }

  // --- exemplars: invalid ones are dropped and counted, never failing the request ---
  size_t kept = 0;
  for (size_t i = 0; i < exemplars_.size(); ++i) {
    const Exemplar& e = exemplars_[i];
    if (Refusal reason = ExemplarRefusal(e.labels, e.timestamp_ms); reason != Refusal::kCount) {
      ++result->exemplars_refused[static_cast<size_t>(reason)];
      continue;
    }
    exemplars_[kept++] = e;
  }
  exemplars_.resize(kept);

  Series series;
  series.decoder_ = this;
  series.label_bytes_ = label_bytes_;
  series.labels_decoded_ = !known;
  series.samples_ = samples_;
  series.exemplars_ = exemplars_;
  series.histograms_ = std::span<const HistogramSample>(histograms_.data(), histogram_count_);
  ++result->series_accepted;
  result->samples_accepted += n_samples;
  result->histograms_accepted += n_histograms;
  result->exemplars_accepted += static_cast<int64_t>(kept);
  if (known) labels_.clear();  // decoded again, lazily, if the visitor asks
  visitor.OnSeries(series);
  if (metadata != nullptr) {
    // Remote write 2.0's per-series metadata, named after the series' metric.
    MetricMetadata m = *metadata;
    m.metric_family_name = metric();
    if (Problem p = ValidateMetadata(&m, limits_)) return RecordRefusal(result, p, 0, 0, 0, 1);
    ++result->metadata_accepted;
    visitor.OnMetadata(m);
  }
}

void RemoteWriteDecoder::HandleMetadata(std::string_view md, WriteVisitor& visitor,
                                        IngestResult* result) {
  MetricMetadata m;
  const char* p = md.data();
  const char* end = p + md.size();
  Field f;
  while (p < end && NextField(&p, end, &f)) {
    Msg sub;
    if (KnownKind(Msg::kMetadata, f.number, f.wire_type, &sub) == Kind::kNone) continue;
    if (f.number == 1) m.type = static_cast<int32_t>(f.varint);
    if (f.number == 2) m.metric_family_name = f.bytes;
    if (f.number == 4) m.help = f.bytes;
    if (f.number == 5) m.unit = f.bytes;
  }
  if (Problem p = ValidateMetadata(&m, limits_)) return RecordRefusal(result, p, 0, 0, 0, 1);
  ++result->metadata_accepted;
  visitor.OnMetadata(m);
}

}  // namespace sprout::metrics::ingest
