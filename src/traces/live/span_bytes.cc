#include "traces/live/span_bytes.h"

#include <cstring>
#include <optional>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "base/coding.h"

namespace sprout::traces::live {
namespace {

// Field numbers shared by TracesData/ExportTraceServiceRequest (resource_spans = 1),
// ResourceSpans (resource = 1, scope_spans = 2, schema_url = 3), ScopeSpans (scope = 1,
// spans = 2, schema_url = 3) and Span (trace_id = 1).
constexpr uint32_t kWireVarint = 0, kWireFixed64 = 1, kWireLen = 2, kWireStartGroup = 3,
                   kWireEndGroup = 4, kWireFixed32 = 5;
// Nesting limit of skipped groups (protobuf's default recursion limit).
constexpr int kMaxGroupDepth = 100;
constexpr char kTagField1Len = 0x0a;  // field 1, length-delimited
constexpr char kTagField2Len = 0x12;  // field 2, length-delimited

// One field read by WireReader: `raw` is the whole field (tag, length, value) as it lies in
// the input; `value` the bytes of a length-delimited one.
struct Field {
  uint32_t number = 0;
  uint32_t wire_type = 0;
  std::string_view raw;
  std::string_view value;
};

class WireReader {
 public:
  explicit WireReader(std::string_view in) : in_(in) {}
  bool done() const { return at_ >= in_.size(); }
  // The next field; false at the end or on broken wire format (then `ok()` turns false).
  bool Next(Field* f) {
    if (at_ >= in_.size()) return false;  // the end (ok() stays true)
    const size_t start = at_;
    uint64_t tag = 0;
    if (!Varint(&tag)) return Fail();
    tag &= 0xffffffffu;  // as protobuf reads a tag: the low 32 bits of its 5 bytes
    if ((tag >> 3) == 0) return Fail();
    f->number = static_cast<uint32_t>(tag >> 3);
    f->wire_type = static_cast<uint32_t>(tag & 7);
    switch (f->wire_type) {
      case kWireVarint: {
        uint64_t v = 0;
        if (!Varint(&v)) return Fail();
        f->value = {};
        break;
      }
      case kWireFixed64:
        if (in_.size() - at_ < 8) return Fail();
        at_ += 8;
        f->value = {};
        break;
      case kWireFixed32:
        if (in_.size() - at_ < 4) return Fail();
        at_ += 4;
        f->value = {};
        break;
      case kWireLen: {
        uint64_t len = 0;
        if (!Varint(&len) || len > in_.size() - at_) return Fail();
        f->value = in_.substr(at_, len);
        at_ += len;
        break;
      }
      case kWireStartGroup:  // not in OTLP, but valid wire format (protobuf parses it)
        if (!SkipGroup(f->number)) return Fail();
        f->value = {};
        break;
      default:  // an end-group tag outside its group, the reserved types
        return Fail();
    }
    f->raw = in_.substr(start, at_ - start);
    return true;
  }
  bool ok() const { return ok_; }

 private:
  bool Fail() {
    ok_ = false;
    at_ = in_.size();
    return false;
  }
  // Skips a group's fields up to its end-group tag (field `number`), nested groups included.
  bool SkipGroup(uint32_t number) {
    uint32_t open[kMaxGroupDepth];
    int depth = 0;
    open[depth++] = number;
    while (depth > 0) {
      uint64_t tag = 0, v = 0;
      if (!Varint(&tag)) return false;
      tag &= 0xffffffffu;
      if ((tag >> 3) == 0) return false;
      const uint32_t n = static_cast<uint32_t>(tag >> 3);
      switch (tag & 7) {
        case kWireVarint:
          if (!Varint(&v)) return false;
          break;
        case kWireFixed64:
          if (in_.size() - at_ < 8) return false;
          at_ += 8;
          break;
        case kWireFixed32:
          if (in_.size() - at_ < 4) return false;
          at_ += 4;
          break;
        case kWireLen:
          if (!Varint(&v) || v > in_.size() - at_) return false;
          at_ += v;
          break;
        case kWireStartGroup:
          if (depth == kMaxGroupDepth) return false;
          open[depth++] = n;
          break;
        case kWireEndGroup:
          if (open[depth - 1] != n) return false;
          --depth;
          break;
        default:
          return false;
      }
    }
    return true;
  }
  bool Varint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64 && at_ < in_.size(); shift += 7) {
      const uint8_t b = static_cast<uint8_t>(in_[at_++]);
      result |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80u) == 0) {
        *v = result;
        return true;
      }
    }
    return false;
  }

  std::string_view in_;
  size_t at_ = 0;
  bool ok_ = true;
};

absl::Status Broken(const char* what) {
  return absl::InvalidArgumentError(std::string("broken protobuf wire format in ") + what);
}

// Appends a field header: a one-byte tag and the uvarint length.
inline char* PutHeader(char* out, char tag, uint64_t len) {
  *out++ = tag;
  while (len >= 0x80) {
    *out++ = static_cast<char>(len | 0x80);
    len >>= 7;
  }
  *out++ = static_cast<char>(len);
  return out;
}
inline size_t Framed(size_t len) { return 1 + UvarintLength(len) + len; }
inline char* Put(char* out, std::string_view s) {
  if (!s.empty()) std::memcpy(out, s.data(), s.size());
  return out + s.size();
}

struct RsInfo {
  std::string_view resource;  // raw field, or empty
  std::string_view schema;    // raw field, or empty
};
struct ScopeInfo {
  uint32_t rs = 0;
  std::string_view scope;   // raw field, or empty
  std::string_view schema;  // raw field, or empty
};
struct SpanRef {
  uint32_t trace = 0;
  uint32_t scope = 0;  // index into the scopes
  std::string_view raw;
  uint64_t start = 0;  // start_time_unix_nano, end_time_unix_nano (0 when absent)
  uint64_t end = 0;
};

// The value of a fixed64 field read by WireReader (its last 8 bytes, little-endian).
uint64_t Fixed64(const Field& f) {
  uint64_t v = 0;
  const std::string_view b = f.raw.substr(f.raw.size() - 8);
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[static_cast<size_t>(i)]);
  return v;
}

}  // namespace

absl::StatusOr<std::vector<std::string_view>> ResourceSpansOf(std::string_view message) {
  std::vector<std::string_view> out;
  WireReader r(message);
  Field f;
  while (r.Next(&f)) {
    if (f.number == 1 && f.wire_type == kWireLen) out.push_back(f.value);
  }
  if (!r.ok()) return Broken("a TracesData");
  return out;
}

absl::StatusOr<SplitResult> SplitSerialized(std::span<const std::string_view> resource_spans) {
  SplitResult result;
  std::vector<RsInfo> rss;
  std::vector<ScopeInfo> scopes;
  std::vector<SpanRef> spans;
  absl::flat_hash_map<TraceKey, uint32_t> trace_index;
  rss.reserve(resource_spans.size());

  // Pass 1: every span's trace and scope, the raw fields around them.
  for (std::string_view rs_bytes : resource_spans) {
    const uint32_t rs_index = static_cast<uint32_t>(rss.size());
    RsInfo& rs = rss.emplace_back();
    WireReader r(rs_bytes);
    Field f;
    while (r.Next(&f)) {
      if (f.wire_type != kWireLen) continue;  // no such field in ResourceSpans: dropped
      if (f.number == 1) {
        rs.resource = f.raw;
      } else if (f.number == 3) {
        rs.schema = f.raw;
      } else if (f.number == 2) {
        const uint32_t scope_index = static_cast<uint32_t>(scopes.size());
        ScopeInfo& scope = scopes.emplace_back();
        scope.rs = rs_index;
        WireReader sr(f.value);
        Field sf;
        while (sr.Next(&sf)) {
          if (sf.wire_type != kWireLen) continue;
          if (sf.number == 1) {
            scope.scope = sf.raw;
          } else if (sf.number == 3) {
            scope.schema = sf.raw;
          } else if (sf.number == 2) {
            // A span: find its trace ID (field 1) and times (fixed64 fields 7 and 8); the last
            // one wins, as protobuf parses (a field of another wire type is an unknown field).
            std::string_view trace_id;
            bool has_id = false;
            uint64_t span_start = 0, span_end = 0;
            WireReader pr(sf.value);
            Field pf;
            while (pr.Next(&pf)) {
              if (pf.number == 1 && pf.wire_type == kWireLen) {
                trace_id = pf.value;
                has_id = true;
              } else if (pf.wire_type == kWireFixed64 && (pf.number == 7 || pf.number == 8)) {
                (pf.number == 7 ? span_start : span_end) = Fixed64(pf);
              }
            }
            if (!pr.ok()) return Broken("a Span");
            if (!has_id || trace_id.size() != 16) {
              ++result.invalid_spans;
              continue;
            }
            const auto [it, inserted] = trace_index.try_emplace(
                ToTraceKey(trace_id), static_cast<uint32_t>(result.traces.size()));
            if (inserted) result.traces.emplace_back().id = it->first;
            spans.push_back(SpanRef{it->second, scope_index, sf.raw, span_start, span_end});
          }
        }
        if (!sr.ok()) return Broken("a ScopeSpans");
      }
    }
    if (!r.ok()) return Broken("a ResourceSpans");
  }

  // Bucket the spans by trace, keeping their input order (so by resource, then scope).
  const size_t n_traces = result.traces.size();
  std::vector<uint32_t> start(n_traces + 1, 0);
  for (const SpanRef& s : spans) ++start[s.trace + 1];
  for (size_t i = 0; i < n_traces; ++i) start[i + 1] += start[i];
  std::vector<uint32_t> order(spans.size());
  {
    std::vector<uint32_t> next(start.begin(), start.end() - 1);
    for (uint32_t i = 0; i < spans.size(); ++i) order[next[spans[i].trace]++] = i;
  }

  // Pass 2: sizes. For each trace, groups are runs of its spans in one ResourceSpans; scopes
  // are runs in one ScopeSpans.
  struct Run {
    uint32_t begin, end;  // into `order`
    size_t body;          // the message body's size
  };
  std::vector<Run> group_runs, scope_runs;  // every trace's, trace after trace
  std::vector<uint32_t> trace_group_begin(n_traces + 1, 0);
  size_t total = 0;
  for (size_t t = 0; t < n_traces; ++t) {
    trace_group_begin[t] = static_cast<uint32_t>(group_runs.size());
    uint32_t i = start[t];
    const uint32_t end = start[t + 1];
    while (i < end) {
      const uint32_t rs_index = scopes[spans[order[i]].scope].rs;
      Run g{i, i, 0};
      g.body = rss[rs_index].resource.size() + rss[rs_index].schema.size();
      while (i < end && scopes[spans[order[i]].scope].rs == rs_index) {
        const uint32_t scope_index = spans[order[i]].scope;
        Run s{i, i, scopes[scope_index].scope.size() + scopes[scope_index].schema.size()};
        while (i < end && spans[order[i]].scope == scope_index)
          s.body += spans[order[i++]].raw.size();
        s.end = i;
        g.body += Framed(s.body);
        scope_runs.push_back(s);
      }
      g.end = i;
      total += Framed(g.body);
      group_runs.push_back(g);
    }
  }
  trace_group_begin[n_traces] = static_cast<uint32_t>(group_runs.size());

  // Pass 3: write every trace's chunk.
  result.data = std::make_shared<std::string>();
  result.data->resize(total);
  char* const base = result.data->data();
  char* out = base;
  result.groups.reserve(group_runs.size());
  size_t scope_run = 0;
  for (size_t t = 0; t < n_traces; ++t) {
    SplitTrace& st = result.traces[t];
    st.offset = static_cast<size_t>(out - base);
    st.first_group = trace_group_begin[t];
    st.group_count = trace_group_begin[t + 1] - trace_group_begin[t];
    st.spans = start[t + 1] - start[t];
    for (uint32_t gi = trace_group_begin[t]; gi < trace_group_begin[t + 1]; ++gi) {
      const Run& g = group_runs[gi];
      const RsInfo& rs = rss[scopes[spans[order[g.begin]].scope].rs];
      out = PutHeader(out, kTagField1Len, g.body);
      SplitResult::Group& group = result.groups.emplace_back(
          SplitResult::Group{static_cast<size_t>(out - base), g.body, g.end - g.begin, {}});
      for (uint32_t i = g.begin; i < g.end; ++i) {
        group.times.Add(spans[order[i]].start, spans[order[i]].end);
      }
      st.times.Add(group.times);
      st.bytes += static_cast<int64_t>(g.body);
      out = Put(out, rs.resource);
      while (scope_run < scope_runs.size() && scope_runs[scope_run].begin < g.end) {
        const Run& s = scope_runs[scope_run++];
        const ScopeInfo& scope = scopes[spans[order[s.begin]].scope];
        out = PutHeader(out, kTagField2Len, s.body);
        out = Put(out, scope.scope);
        for (uint32_t i = s.begin; i < s.end; ++i) out = Put(out, spans[order[i]].raw);
        out = Put(out, scope.schema);
      }
      out = Put(out, rs.schema);
    }
    st.size = static_cast<size_t>(out - base) - st.offset;
  }
  return result;
}

namespace {

// A hash of byte strings from their size and their first and last 32 bytes: a span's start holds
// its trace and span IDs, a resource's or scope's its first attributes, so distinct values
// rarely collide, and hashing a long span or resource costs no more than a short one (equality
// still compares every byte).
struct EdgeHash {
  static std::string_view Edges(std::string_view s, std::string_view* tail) {
    constexpr size_t kEdge = 32;
    if (s.size() <= 2 * kEdge) {
      *tail = {};
      return s;
    }
    *tail = s.substr(s.size() - kEdge);
    return s.substr(0, kEdge);
  }
  size_t operator()(std::string_view s) const {
    std::string_view tail;
    const std::string_view head = Edges(s, &tail);
    return absl::HashOf(s.size(), head, tail);
  }
  size_t operator()(const std::pair<std::string_view, std::string_view>& p) const {
    return absl::HashOf((*this)(p.first), p.second);
  }
  size_t operator()(const std::tuple<int32_t, std::string_view, std::string_view>& t) const {
    return absl::HashOf(std::get<0>(t), (*this)(std::get<1>(t)), std::get<2>(t));
  }
};

}  // namespace

absl::StatusOr<std::string> MergeSerializedGroups(std::span<const std::string_view> chunks,
                                                  int64_t* spans) {
  struct ScopeOut {
    std::string_view scope, schema;       // raw fields of the first appearance
    std::vector<std::string_view> spans;  // raw fields
    size_t body = 0;
  };
  struct ResourceOut {
    std::string_view resource, schema;  // raw fields of the first appearance
    std::vector<ScopeOut> scopes;
    size_t body = 0;
  };
  std::vector<ResourceOut> resources;
  // (resource bytes, schema URL) -> index; (resource index, scope bytes, schema URL) -> index.
  absl::flat_hash_map<std::pair<std::string_view, std::string_view>, int32_t, EdgeHash> resource_of;
  absl::flat_hash_map<std::tuple<int32_t, std::string_view, std::string_view>, int32_t, EdgeHash>
      scope_of;
  absl::flat_hash_set<std::string_view, EdgeHash> seen_spans;  // span bytes

  for (std::string_view chunk : chunks) {
    WireReader cr(chunk);
    Field cf;
    while (cr.Next(&cf)) {
      if (cf.number != 1 || cf.wire_type != kWireLen) continue;
      // One group: a ResourceSpans.
      std::string_view res_raw, res_body, res_schema_raw, res_schema;
      std::vector<std::string_view> scope_spans;
      WireReader r(cf.value);
      Field f;
      while (r.Next(&f)) {
        if (f.wire_type != kWireLen) continue;
        if (f.number == 1) {
          res_raw = f.raw;
          res_body = f.value;
        } else if (f.number == 2) {
          scope_spans.push_back(f.value);
        } else if (f.number == 3) {
          res_schema_raw = f.raw;
          res_schema = f.value;
        }
      }
      if (!r.ok()) return Broken("a ResourceSpans");
      int32_t resource = -1;
      for (std::string_view ss : scope_spans) {
        std::string_view scope_raw, scope_body, scope_schema_raw, scope_schema;
        std::vector<std::pair<std::string_view, std::string_view>> span_fields;  // raw, body
        WireReader sr(ss);
        Field sf;
        while (sr.Next(&sf)) {
          if (sf.wire_type != kWireLen) continue;
          if (sf.number == 1) {
            scope_raw = sf.raw;
            scope_body = sf.value;
          } else if (sf.number == 2) {
            span_fields.emplace_back(sf.raw, sf.value);
          } else if (sf.number == 3) {
            scope_schema_raw = sf.raw;
            scope_schema = sf.value;
          }
        }
        if (!sr.ok()) return Broken("a ScopeSpans");
        int32_t scope = -1;
        for (const auto& [span_raw, span_body] : span_fields) {
          // The span's bytes identify an exact duplicate (they hold its span ID).
          if (!seen_spans.insert(span_body).second) continue;
          if (resource < 0) {
            const auto [it, inserted] = resource_of.try_emplace(
                std::make_pair(res_body, res_schema), static_cast<int32_t>(resources.size()));
            if (inserted) {
              ResourceOut& ro = resources.emplace_back();
              ro.resource = res_raw;
              ro.schema = res_schema_raw;
            }
            resource = it->second;
          }
          if (scope < 0) {
            std::vector<ScopeOut>& list = resources[resource].scopes;
            const auto [it, inserted] =
                scope_of.try_emplace(std::make_tuple(resource, scope_body, scope_schema),
                                     static_cast<int32_t>(list.size()));
            if (inserted) {
              ScopeOut& so = list.emplace_back();
              so.scope = scope_raw;
              so.schema = scope_schema_raw;
            }
            scope = it->second;
          }
          resources[resource].scopes[scope].spans.push_back(span_raw);
        }
      }
    }
    if (!cr.ok()) return Broken("a TracesData");
  }

  size_t total = 0;
  for (ResourceOut& ro : resources) {
    ro.body = ro.resource.size() + ro.schema.size();
    for (ScopeOut& so : ro.scopes) {
      so.body = so.scope.size() + so.schema.size();
      for (std::string_view s : so.spans) so.body += s.size();
      ro.body += Framed(so.body);
    }
    total += Framed(ro.body);
  }
  if (spans != nullptr) *spans = static_cast<int64_t>(seen_spans.size());
  std::string out(total, '\0');
  char* p = out.data();
  for (const ResourceOut& ro : resources) {
    p = PutHeader(p, kTagField1Len, ro.body);
    p = Put(p, ro.resource);
    for (const ScopeOut& so : ro.scopes) {
      p = PutHeader(p, kTagField2Len, so.body);
      p = Put(p, so.scope);
      for (std::string_view s : so.spans) p = Put(p, s);
      p = Put(p, so.schema);
    }
    p = Put(p, ro.schema);
  }
  return out;
}

namespace {

// Appends field `number` (length-delimited) holding `body`.
void PutLenField(std::string* out, uint32_t number, std::string_view body) {
  PutUvarint(*out, (uint64_t{number} << 3) | kWireLen);
  PutUvarint(*out, body.size());
  out->append(body);
}

// Whether the KeyValue `kv` (its bytes) has a key (field 1; the last one wins) in `keys`.
// Nullopt on broken wire format.
std::optional<bool> KeyIn(std::string_view kv, std::span<const std::string> keys) {
  if (keys.empty()) return false;
  WireReader r(kv);
  Field f;
  std::string_view key;
  while (r.Next(&f)) {
    if (f.number == 1 && f.wire_type == kWireLen) key = f.value;
  }
  if (!r.ok()) return std::nullopt;
  for (const std::string& k : keys) {
    if (k == key) return true;
  }
  return false;
}

// Copies the fields of `message` to `*out`, except the length-delimited attributes (field
// `attrs_field`) whose key is not in `keys` and the length-delimited fields `drop_a`, `drop_b`
// (0: none). False on broken wire format.
bool CopyFiltered(std::string_view message, uint32_t attrs_field, std::span<const std::string> keys,
                  uint32_t drop_a, uint32_t drop_b, std::string* out) {
  WireReader r(message);
  Field f;
  while (r.Next(&f)) {
    if (f.wire_type == kWireLen) {
      if (f.number == drop_a || f.number == drop_b) continue;
      if (f.number == attrs_field) {
        const std::optional<bool> keep = KeyIn(f.value, keys);
        if (!keep.has_value()) return false;
        if (!*keep) continue;
      }
    }
    out->append(f.raw);
  }
  return r.ok();
}

}  // namespace

absl::Status ProjectSerializedTraces(std::string_view traces_data, const Projection& projection,
                                     std::string* out) {
  // Field numbers: TracesData.resource_spans 1; ResourceSpans.resource 1, .scope_spans 2;
  // Resource.attributes 1; ScopeSpans.scope 1, .spans 2; InstrumentationScope.attributes 3;
  // Span.attributes 9, .events 11, .links 13.
  out->clear();
  std::string rs_body, inner, leaf;  // the bodies being built, one per level
  WireReader td(traces_data);
  Field f;
  while (td.Next(&f)) {
    if (f.number != 1 || f.wire_type != kWireLen) {
      out->append(f.raw);
      continue;
    }
    rs_body.clear();
    WireReader rs(f.value);
    Field rf;
    while (rs.Next(&rf)) {
      if (rf.wire_type != kWireLen || (rf.number != 1 && rf.number != 2)) {
        rs_body.append(rf.raw);
        continue;
      }
      inner.clear();
      if (rf.number == 1) {  // the resource
        if (!CopyFiltered(rf.value, 1, projection.resource_keys, 0, 0, &inner)) {
          return Broken("a Resource");
        }
        PutLenField(&rs_body, 1, inner);
        continue;
      }
      WireReader ss(rf.value);  // a ScopeSpans
      Field sf;
      while (ss.Next(&sf)) {
        if (sf.wire_type != kWireLen || (sf.number != 1 && sf.number != 2)) {
          inner.append(sf.raw);
          continue;
        }
        leaf.clear();
        const bool ok = sf.number == 1
                            ? CopyFiltered(sf.value, 3, {}, 0, 0, &leaf)  // the scope
                            : CopyFiltered(sf.value, 9, projection.span_keys, 11, 13, &leaf);
        if (!ok) return Broken(sf.number == 1 ? "an InstrumentationScope" : "a Span");
        PutLenField(&inner, sf.number, leaf);
      }
      if (!ss.ok()) return Broken("a ScopeSpans");
      PutLenField(&rs_body, 2, inner);
    }
    if (!rs.ok()) return Broken("a ResourceSpans");
    PutLenField(out, 1, rs_body);
  }
  if (!td.ok()) return Broken("a TracesData");
  return absl::OkStatus();
}

}  // namespace sprout::traces::live
