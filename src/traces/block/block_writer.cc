// BlockWriter: whole traces → column buffers of the open page → zstd chunks (data) + the page
// directory (index) + bloom, then meta.json. Bytes: docs/format/traces-block.md.
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/coding.h"
#include "base/crc32c.h"
#include "base/status.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "traces/block/block.h"
#include "traces/block/bloom.h"
#include "traces/block/format.h"

namespace sprout::traces::block {
namespace {

using namespace format;  // NOLINT: the column vocabulary
using opentelemetry::proto::common::v1::AnyValue;
using opentelemetry::proto::common::v1::InstrumentationScope;
using opentelemetry::proto::common::v1::KeyValue;
using opentelemetry::proto::resource::v1::Resource;
using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::ScopeSpans;
using opentelemetry::proto::trace::v1::Span;
using opentelemetry::proto::trace::v1::TracesData;
using KeyValues = google::protobuf::RepeatedPtrField<KeyValue>;

// A page-local string dictionary: ids in order of first use; `chunk` is the dictionary chunk
// (uvarint length + bytes per entry), grown as entries are added.
struct Dict {
  absl::flat_hash_map<std::string, uint32_t> ids;
  std::string chunk;

  uint32_t Id(std::string_view s) {
    auto it = ids.find(AV(s));
    if (it != ids.end()) return it->second;
    const uint32_t id = static_cast<uint32_t>(ids.size());
    ids.emplace(std::string(s), id);
    PutBytes(chunk, s);
    return id;
  }
  void Clear() {
    ids.clear();
    chunk.clear();
  }
};

struct KeyColumn {
  std::array<std::string, kSubCount> sub;  // sub[kSubStrDict] unused: dict.chunk
  Dict dict;
};

struct ScopeAttrs {
  absl::flat_hash_map<std::string, uint32_t> key_ids;
  std::vector<std::string> keys;
  std::vector<std::unique_ptr<KeyColumn>> cols;
  absl::flat_hash_map<std::string, uint32_t> lists;  // key-list bytes → id
  std::string list_chunk;
  std::string scratch;
  uint64_t rows = 0;

  void Clear() {
    key_ids.clear();
    keys.clear();
    cols.clear();
    lists.clear();
    list_chunk.clear();
    rows = 0;
  }
};

bool ParentIsRoot(const Span& s) { return s.parent_span_id().empty(); }

}  // namespace

struct BlockWriter::Impl {
  BlockWriterOptions opts;
  bool finished = false;
  ZSTD_CCtx* cctx = nullptr;

  // Whole block.
  std::string data;        // header + chunks
  std::string index_body;  // page entries
  std::string ids;         // every trace ID, 16 bytes each (for the bloom filter)
  std::string last_id;
  uint64_t traces = 0, spans = 0, otlp_bytes = 0;
  uint64_t start = UINT64_MAX, end = 0;
  uint32_t pages = 0;

  // Open page.
  std::array<std::string, kColCount> cols;
  std::array<Dict, kColCount> dicts;  // used for the *Dict columns' value columns
  std::array<ScopeAttrs, kScopes> attrs;
  absl::flat_hash_map<std::string, uint32_t> resource_ids, scope_ids;
  std::string page_min, page_max;
  uint64_t page_start = UINT64_MAX, page_end = 0, page_otlp = 0, prev_trace_start = 0;
  uint32_t page_traces = 0, page_spans = 0;
  uint64_t page_events = 0, page_links = 0, page_resources = 0, page_scopes = 0;

  // Per-trace scratch (reused: no allocation per span once warm).
  std::vector<const Span*> span_list;
  std::vector<uint32_t> parent;  // i+1 or 0
  std::vector<uint32_t> first_child, next_sibling, left, right, stack;
  absl::flat_hash_map<absl::string_view, uint32_t> by_id;
  std::string key_scratch, value_scratch;

  explicit Impl(BlockWriterOptions o) : opts(std::move(o)) {
    cctx = ZSTD_createCCtx();
    data.assign(kDataMagic, 4);
    PutFixed32(data, kFormatVersion);
  }
  ~Impl() { ZSTD_freeCCtx(cctx); }

  void Put(Col c, uint64_t v) { PutUvarint(cols[c], v); }
  void PutZ(Col c, int64_t v) { PutUvarint(cols[c], ZigZag(v)); }
  // A dictionary-coded value: the index goes to `c`, the dictionary is dicts[c] (chunk c+1).
  void PutDict(Col c, std::string_view s) { PutUvarint(cols[c], dicts[c].Id(s)); }

  void AddValue(KeyColumn& col, const KeyValue& kv) {
    std::string* sub = col.sub.data();
    if (!kv.has_value()) {
      sub[kSubType].push_back(static_cast<char>(kTypeNone));
      return;
    }
    const AnyValue& v = kv.value();
    switch (v.value_case()) {
      case AnyValue::kStringValue:
        sub[kSubType].push_back(static_cast<char>(kTypeString));
        PutUvarint(sub[kSubStr], col.dict.Id(v.string_value()));
        return;
      case AnyValue::kBoolValue:
        sub[kSubType].push_back(static_cast<char>(kTypeBool));
        sub[kSubBool].push_back(v.bool_value() ? 1 : 0);
        return;
      case AnyValue::kIntValue:
        sub[kSubType].push_back(static_cast<char>(kTypeInt));
        PutUvarint(sub[kSubInt], ZigZag(v.int_value()));
        return;
      case AnyValue::kDoubleValue: {
        sub[kSubType].push_back(static_cast<char>(kTypeDouble));
        char b[8];
        double d = v.double_value();
        uint64_t bits;
        std::memcpy(&bits, &d, 8);
        PutU64(b, bits);
        sub[kSubDouble].append(b, 8);
        return;
      }
      default:
        sub[kSubType].push_back(static_cast<char>(kTypeRaw));
        value_scratch.clear();
        v.SerializeToString(&value_scratch);
        PutBytes(sub[kSubRaw], value_scratch);
        return;
    }
  }

  void AddAttrs(int scope, const KeyValues& kvs) {
    ScopeAttrs& sa = attrs[scope];
    std::string& list = sa.scratch;
    list.clear();
    for (const KeyValue& kv : kvs) {
      uint32_t kid;
      auto it = sa.key_ids.find(kv.key());
      if (it != sa.key_ids.end()) {
        kid = it->second;
      } else {
        kid = static_cast<uint32_t>(sa.keys.size());
        sa.key_ids.emplace(kv.key(), kid);
        sa.keys.push_back(kv.key());
        sa.cols.push_back(std::make_unique<KeyColumn>());
      }
      PutUvarint(list, kid);
      AddValue(*sa.cols[kid], kv);
    }
    uint32_t lid;
    auto it = sa.lists.find(list);
    if (it != sa.lists.end()) {
      lid = it->second;
    } else {
      lid = static_cast<uint32_t>(sa.lists.size());
      sa.lists.emplace(list, lid);
      PutUvarint(sa.list_chunk, static_cast<uint64_t>(kvs.size()));
      sa.list_chunk += list;
    }
    PutUvarint(cols[kKeyList0 + scope], lid);
    ++sa.rows;
  }

  uint32_t ResourceRef(const ResourceSpans& rs) {
    key_scratch.clear();
    key_scratch.push_back(rs.has_resource() ? 1 : 0);
    PutBytes(key_scratch, rs.schema_url());
    if (rs.has_resource()) {
      value_scratch.clear();
      google::protobuf::io::StringOutputStream sos(&value_scratch);
      {
        google::protobuf::io::CodedOutputStream cos(&sos);
        cos.SetSerializationDeterministic(true);
        rs.resource().SerializeToCodedStream(&cos);
      }
      key_scratch += value_scratch;
    }
    auto it = resource_ids.find(key_scratch);
    if (it != resource_ids.end()) return it->second;
    const uint32_t id = static_cast<uint32_t>(page_resources++);
    resource_ids.emplace(key_scratch, id);
    Put(kResBits, rs.has_resource() ? 1 : 0);
    PutDict(kResSchema, rs.schema_url());
    const Resource& r = rs.resource();
    Put(kResDropped, r.dropped_attributes_count());
    if (r.entity_refs_size() > 0) {
      Resource extra;
      *extra.mutable_entity_refs() = r.entity_refs();
      PutBytes(cols[kResExtra], extra.SerializeAsString());
    } else {
      PutBytes(cols[kResExtra], "");
    }
    AddAttrs(static_cast<int>(AttrScope::kResource), r.attributes());
    return id;
  }

  uint32_t ScopeRef(const ScopeSpans& ss) {
    key_scratch.clear();
    key_scratch.push_back(ss.has_scope() ? 1 : 0);
    PutBytes(key_scratch, ss.schema_url());
    if (ss.has_scope()) {
      value_scratch.clear();
      google::protobuf::io::StringOutputStream sos(&value_scratch);
      {
        google::protobuf::io::CodedOutputStream cos(&sos);
        cos.SetSerializationDeterministic(true);
        ss.scope().SerializeToCodedStream(&cos);
      }
      key_scratch += value_scratch;
    }
    auto it = scope_ids.find(key_scratch);
    if (it != scope_ids.end()) return it->second;
    const uint32_t id = static_cast<uint32_t>(page_scopes++);
    scope_ids.emplace(key_scratch, id);
    const InstrumentationScope& s = ss.scope();
    Put(kScopeBits, ss.has_scope() ? 1 : 0);
    PutDict(kScopeName, s.name());
    PutDict(kScopeVersion, s.version());
    PutDict(kScopeSchema, ss.schema_url());
    Put(kScopeDropped, s.dropped_attributes_count());
    AddAttrs(static_cast<int>(AttrScope::kScope), s.attributes());
    return id;
  }

  // Nested-set numbers: pre-order over the trace's span tree, children in row order; a span
  // whose parent is not in the trace starts a subtree of its own; spans only reachable through
  // a parent cycle are numbered as roots in row order. left on entry, right on exit, one
  // counter from 1 per trace.
  void NestedSet(uint32_t n) {
    first_child.assign(n, UINT32_MAX);
    next_sibling.assign(n, UINT32_MAX);
    left.assign(n, 0);
    right.assign(n, 0);
    for (uint32_t i = n; i-- > 0;) {
      if (parent[i] != 0 && parent[i] - 1 != i) {
        const uint32_t p = parent[i] - 1;
        next_sibling[i] = first_child[p];
        first_child[p] = i;
      }
    }
    uint32_t counter = 1;
    // Iterative pre-order walk: a node stays on the stack while it has unvisited children
    // (first_child is advanced past each child taken); popped, it gets its right number.
    auto visit = [&](uint32_t root) {
      stack.clear();
      stack.push_back(root);
      left[root] = counter++;
      while (!stack.empty()) {
        const uint32_t top = stack.back();
        uint32_t c = first_child[top];
        while (c != UINT32_MAX && left[c] != 0) c = next_sibling[c];
        if (c == UINT32_MAX) {
          right[top] = counter++;
          stack.pop_back();
          continue;
        }
        first_child[top] = next_sibling[c];
        left[c] = counter++;
        stack.push_back(c);
      }
    };
    for (uint32_t i = 0; i < n; ++i) {
      if (parent[i] == 0 && left[i] == 0) visit(i);
    }
    for (uint32_t i = 0; i < n; ++i) {
      if (left[i] == 0) visit(i);
    }
  }

  absl::Status Add(std::string_view trace_id, const TracesData& td) {
    if (finished) return absl::FailedPreconditionError("traces block writer already finished");
    if (trace_id.size() != 16) {
      return absl::InvalidArgumentError(
          absl::StrCat("trace ID must be 16 bytes, got ", trace_id.size()));
    }
    if (traces > 0 && trace_id <= std::string_view(last_id)) {
      return absl::InvalidArgumentError("trace IDs must be added in strictly ascending order");
    }
    span_list.clear();
    for (const ResourceSpans& rs : td.resource_spans()) {
      for (const ScopeSpans& ss : rs.scope_spans()) {
        for (const Span& s : ss.spans()) {
          if (s.trace_id() != trace_id) {
            return absl::InvalidArgumentError(
                "a span's trace_id differs from the trace ID it was added under");
          }
          span_list.push_back(&s);
        }
      }
    }
    const uint32_t n = static_cast<uint32_t>(span_list.size());
    last_id.assign(trace_id);
    ids.append(trace_id);
    ++traces;
    spans += n;

    // Trace-level values.
    uint64_t t_start = n == 0 ? 0 : UINT64_MAX, t_end = 0;
    by_id.clear();
    for (uint32_t i = 0; i < n; ++i) {
      const Span& s = *span_list[i];
      t_start = std::min<uint64_t>(t_start, s.start_time_unix_nano());
      t_end = std::max<uint64_t>(t_end, s.end_time_unix_nano());
      by_id.emplace(AV(s.span_id()), i);
    }
    if (n > 0) {
      start = std::min(start, t_start);
      end = std::max(end, t_end);
      page_start = std::min(page_start, t_start);
      page_end = std::max(page_end, t_end);
    }
    const uint64_t otlp = td.ByteSizeLong();
    otlp_bytes += otlp;
    page_otlp += otlp;
    if (page_traces == 0) page_min.assign(trace_id);
    page_max.assign(trace_id);
    ++page_traces;
    page_spans += n;

    cols[kTraceId].append(trace_id);
    Put(kTraceSpans, n);
    PutZ(kTraceStart, static_cast<int64_t>(t_start - prev_trace_start));
    prev_trace_start = t_start;
    PutZ(kTraceDuration, static_cast<int64_t>(t_end - t_start));

    // Root: the first span without a parent.
    std::string_view root_service, root_name;
    {
      bool found = false;
      for (const ResourceSpans& rs : td.resource_spans()) {
        for (const ScopeSpans& ss : rs.scope_spans()) {
          for (const Span& s : ss.spans()) {
            if (!found && ParentIsRoot(s)) {
              found = true;
              root_name = s.name();
              root_service = "";
              for (const KeyValue& kv : rs.resource().attributes()) {
                if (kv.key() == "service.name" && kv.value().has_string_value()) {
                  root_service = kv.value().string_value();
                  break;
                }
              }
            }
          }
        }
      }
    }
    PutDict(kTraceRootService, root_service);
    PutDict(kTraceRootName, root_name);

    // Groups.
    Put(kTraceGroups, static_cast<uint64_t>(td.resource_spans_size()));
    for (const ResourceSpans& rs : td.resource_spans()) {
      Put(kTraceGroups, ResourceRef(rs));
      Put(kTraceGroups, static_cast<uint64_t>(rs.scope_spans_size()));
      for (const ScopeSpans& ss : rs.scope_spans()) {
        Put(kTraceGroups, ScopeRef(ss));
        Put(kTraceGroups, static_cast<uint64_t>(ss.spans_size()));
      }
    }

    // Parents and nested sets.
    parent.assign(n, 0);
    for (uint32_t i = 0; i < n; ++i) {
      const Span& s = *span_list[i];
      if (s.parent_span_id().empty()) continue;
      auto it = by_id.find(AV(s.parent_span_id()));
      if (it != by_id.end()) parent[i] = it->second + 1;
    }
    NestedSet(n);

    // Span rows.
    for (uint32_t i = 0; i < n; ++i) {
      const Span& s = *span_list[i];
      uint32_t bits = 0;
      if (s.has_status()) bits |= kBitHasStatus;
      if (s.span_id().size() != 8) bits |= kBitIrregularId;
      if (parent[i] == 0 && !s.parent_span_id().empty()) bits |= kBitParentRaw;
      Put(kSpanBits, bits);
      if (bits & kBitIrregularId) {
        PutBytes(cols[kSpanIdExc], s.span_id());
      } else {
        cols[kSpanId].append(s.span_id());
      }
      Put(kSpanParent, parent[i]);
      if (bits & kBitParentRaw) PutBytes(cols[kSpanParentExc], s.parent_span_id());
      Put(kSpanLeft, left[i]);
      Put(kSpanRight, right[i]);
      Put(kSpanStart, s.start_time_unix_nano() - t_start);
      PutZ(kSpanDuration,
           static_cast<int64_t>(s.end_time_unix_nano() - s.start_time_unix_nano()));
      PutDict(kSpanName, s.name());
      PutZ(kSpanKind, s.kind());
      PutZ(kSpanStatusCode, s.status().code());
      if (bits & kBitHasStatus) PutDict(kSpanStatusMsg, s.status().message());
      PutDict(kSpanTraceState, s.trace_state());
      Put(kSpanFlags, s.flags());
      Put(kSpanDroppedAttrs, s.dropped_attributes_count());
      Put(kSpanDroppedEvents, s.dropped_events_count());
      Put(kSpanDroppedLinks, s.dropped_links_count());
      Put(kSpanEventCount, static_cast<uint64_t>(s.events_size()));
      Put(kSpanLinkCount, static_cast<uint64_t>(s.links_size()));
      AddAttrs(static_cast<int>(AttrScope::kSpan), s.attributes());
      for (const Span::Event& e : s.events()) {
        PutZ(kEventTime, static_cast<int64_t>(e.time_unix_nano() - s.start_time_unix_nano()));
        PutDict(kEventName, e.name());
        Put(kEventDropped, e.dropped_attributes_count());
        AddAttrs(static_cast<int>(AttrScope::kEvent), e.attributes());
        ++page_events;
      }
      for (const Span::Link& l : s.links()) {
        const bool same = l.trace_id() == trace_id;
        Put(kLinkBits, same ? 1 : 0);
        if (!same) PutBytes(cols[kLinkTraceId], l.trace_id());
        PutBytes(cols[kLinkSpanId], l.span_id());
        PutDict(kLinkTraceState, l.trace_state());
        Put(kLinkFlags, l.flags());
        Put(kLinkDropped, l.dropped_attributes_count());
        AddAttrs(static_cast<int>(AttrScope::kLink), l.attributes());
        ++page_links;
      }
    }
    if (page_spans >= opts.page_target_spans) return ClosePage();
    return absl::OkStatus();
  }

  // Compresses `raw` as one chunk and appends its directory entry to `dir`.
  absl::Status Chunk(std::string& dir, uint8_t scope, uint32_t key, uint8_t sub,
                     std::string_view raw, uint32_t* count, uint64_t* stored_total) {
    if (raw.empty()) return absl::OkStatus();
    const size_t offset = data.size();
    const size_t bound = ZSTD_compressBound(raw.size());
    data.resize(offset + bound);
    const size_t z = ZSTD_compressCCtx(cctx, data.data() + offset, bound, raw.data(), raw.size(),
                                       opts.zstd_level);
    if (ZSTD_isError(z)) {
      data.resize(offset);
      return absl::InternalError(absl::StrCat("zstd: ", ZSTD_getErrorName(z)));
    }
    data.resize(offset + z);
    dir.push_back(static_cast<char>(scope));
    if (scope != kFixedScope) PutUvarint(dir, key);
    dir.push_back(static_cast<char>(sub));
    PutUvarint(dir, offset);
    PutUvarint(dir, z);
    PutUvarint(dir, raw.size());
    PutFixed32(dir, Crc32c(std::string_view(data.data() + offset, z)));
    ++*count;
    *stored_total += z;
    return absl::OkStatus();
  }

  static bool IsDictCol(int c) {
    switch (c) {
      case kTraceRootServiceDict: case kTraceRootNameDict: case kSpanNameDict:
      case kSpanStatusMsgDict: case kSpanTraceStateDict: case kEventNameDict:
      case kLinkTraceStateDict: case kResSchemaDict: case kScopeNameDict:
      case kScopeVersionDict: case kScopeSchemaDict:
        return true;
      default:
        return false;
    }
  }

  absl::Status ClosePage() {
    if (page_traces == 0) return absl::OkStatus();
    std::string dir;
    uint32_t count = 0;
    uint64_t stored = 0;
    for (int c = 0; c < kColCount; ++c) {
      std::string_view raw;
      if (c >= kKeyListDict0 && c < kKeyListDict0 + kScopes) {
        raw = attrs[c - kKeyListDict0].list_chunk;
      } else if (IsDictCol(c)) {
        raw = dicts[c - 1].chunk;
      } else {
        raw = cols[c];
      }
      RETURN_IF_ERROR(Chunk(dir, kFixedScope, 0, static_cast<uint8_t>(c), raw, &count, &stored));
    }
    for (int s = 0; s < kScopes; ++s) {
      ScopeAttrs& sa = attrs[s];
      for (uint32_t k = 0; k < sa.cols.size(); ++k) {
        KeyColumn& kc = *sa.cols[k];
        for (int sub = 0; sub < kSubCount; ++sub) {
          std::string_view raw = sub == kSubStrDict ? kc.dict.chunk : kc.sub[sub];
          RETURN_IF_ERROR(Chunk(dir, static_cast<uint8_t>(s), k, static_cast<uint8_t>(sub), raw,
                                &count, &stored));
        }
      }
    }
    // The page entry.
    std::string& e = index_body;
    e += page_min;
    e += page_max;
    PutUvarint(e, page_traces == 0 || page_start == UINT64_MAX ? 0 : page_start);
    PutUvarint(e, page_end);
    PutUvarint(e, page_traces);
    PutUvarint(e, page_spans);
    PutUvarint(e, page_otlp);
    PutUvarint(e, stored);
    PutUvarint(e, page_resources);
    PutUvarint(e, page_scopes);
    PutUvarint(e, page_events);
    PutUvarint(e, page_links);
    for (int s = 0; s < kScopes; ++s) {
      PutUvarint(e, attrs[s].keys.size());
      for (const std::string& k : attrs[s].keys) PutBytes(e, k);
    }
    PutUvarint(e, count);
    e += dir;
    ++pages;

    for (auto& c : cols) c.clear();
    for (auto& d : dicts) d.Clear();
    for (auto& a : attrs) a.Clear();
    resource_ids.clear();
    scope_ids.clear();
    page_start = UINT64_MAX;
    page_end = page_otlp = prev_trace_start = 0;
    page_traces = page_spans = 0;
    page_events = page_links = page_resources = page_scopes = 0;
    return absl::OkStatus();
  }
};

BlockWriter::BlockWriter(BlockWriterOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
BlockWriter::~BlockWriter() = default;

absl::Status BlockWriter::Add(std::string_view trace_id, const TracesData& trace) {
  return impl_->Add(trace_id, trace);
}
uint64_t BlockWriter::traces() const { return impl_->traces; }
uint64_t BlockWriter::spans() const { return impl_->spans; }
uint64_t BlockWriter::buffered_bytes() const { return impl_->data.size(); }

absl::StatusOr<BlockMeta> BlockWriter::Finish(objstore::ObjectStore* store,
                                              std::string_view tenant,
                                              std::string_view block_id) {
  Impl& m = *impl_;
  if (m.finished) return absl::FailedPreconditionError("traces block writer already finished");
  if (m.traces == 0) return absl::FailedPreconditionError("traces block writer has no trace");
  m.finished = true;
  RETURN_IF_ERROR(m.ClosePage());

  std::string index(kIndexMagic, 4);
  PutFixed32(index, kFormatVersion);
  PutUvarint(index, m.pages);
  index += m.index_body;
  PutFixed32(index, Crc32c(index));

  Bloom bloom(m.traces, m.opts.bloom_false_positive_rate);
  for (size_t i = 0; i + 16 <= m.ids.size(); i += 16) {
    bloom.Add(std::string_view(m.ids).substr(i, 16));
  }
  const std::string bloom_bytes = bloom.Encode();

  BlockMeta meta;
  meta.block_id.assign(block_id);
  meta.tenant.assign(tenant);
  meta.start_unix_nano = m.start == UINT64_MAX ? 0 : m.start;
  meta.end_unix_nano = m.end;
  meta.min_trace_id = m.ids.substr(0, 16);
  meta.max_trace_id = m.last_id;
  meta.trace_count = m.traces;
  meta.span_count = m.spans;
  meta.page_count = m.pages;
  meta.data_bytes = m.data.size();
  meta.index_bytes = index.size();
  meta.bloom_bytes = bloom_bytes.size();
  meta.otlp_bytes = m.otlp_bytes;
  meta.compaction_level = m.opts.compaction_level;
  meta.sources = m.opts.sources;
  meta.created_at = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));

  RETURN_IF_ERROR(store->Put(BlockKey(tenant, block_id, kDataObject), m.data));
  std::string().swap(m.data);
  RETURN_IF_ERROR(store->Put(BlockKey(tenant, block_id, kIndexObject), index));
  RETURN_IF_ERROR(store->Put(BlockKey(tenant, block_id, kBloomObject), bloom_bytes));
  RETURN_IF_ERROR(store->Put(BlockKey(tenant, block_id, kMetaObject), MetaToJson(meta)));
  return meta;
}

}  // namespace sprout::traces::block
