// BlockReader: meta.json, index and bloom in memory; pages' chunks fetched on demand, verified
// (crc32c), decompressed with a bound, decoded with bounds checks. Bytes:
// docs/format/traces-block.md.
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "base/coding.h"
#include "base/crc32c.h"
#include "base/status.h"
#include "traces/block/block.h"
#include "traces/block/bloom.h"
#include "traces/block/format.h"
#include "traces/common/attribute_text.h"

namespace sprout::traces::block {
namespace {

using namespace format;  // NOLINT
using opentelemetry::proto::common::v1::AnyValue;
using opentelemetry::proto::common::v1::InstrumentationScope;
using opentelemetry::proto::common::v1::KeyValue;
using opentelemetry::proto::resource::v1::Resource;
using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::ScopeSpans;
using opentelemetry::proto::trace::v1::Span;
using opentelemetry::proto::trace::v1::Status;
using opentelemetry::proto::trace::v1::TracesData;
using KeyValues = google::protobuf::RepeatedPtrField<KeyValue>;

inline std::string Str(std::string_view v) { return std::string(v); }

constexpr uint64_t kMaxRawChunk = uint64_t{1} << 30;

struct ChunkEntry {
  uint8_t scope;
  uint32_t key;
  uint8_t sub;
  uint64_t offset;
  uint64_t stored;
  uint64_t raw;
  uint32_t crc;
};

struct PageDir {
  PageInfo info;
  uint64_t resources = 0, scopes = 0, events = 0, links = 0;
  std::array<std::vector<std::string>, kScopes> keys;
  std::array<absl::flat_hash_map<std::string, uint32_t>, kScopes> key_ids;
  std::vector<ChunkEntry> chunks;
  std::array<int, kColCount> fixed;                                   // chunk index or -1
  std::array<std::vector<std::array<int, kSubCount>>, kScopes> attr;  // [scope][key][sub]
};

// A chunk list as read: each entry's bytes, decompressed.
using Loaded = std::map<int, std::string>;

// Decoded dictionary.
bool DecodeDict(std::string_view raw, std::vector<std::string_view>* out) {
  Decoder d(raw);
  while (!d.done()) {
    std::string_view s;
    if (!d.Bytes(&s)) return false;
    out->push_back(s);
  }
  return true;
}

absl::Status AnnotateStatusBlk(const absl::Status& st, std::string_view where) {
  return absl::Status(st.code(), absl::StrCat(AV(where), ": ", st.message()));
}

// What a projected read decodes (ReadTracesProjected): per attribute scope, the keys (by key
// number in the page) whose attributes are kept; events and links are left out.
struct Projection {
  std::array<std::vector<bool>, kScopes> keys;
  bool Wants(int scope, uint32_t k) const { return k < keys[scope].size() && keys[scope][k]; }
};

}  // namespace

struct BlockReader::Impl {
  objstore::ObjectStore* store;
  std::string tenant, block_id;
  BlockMeta meta;
  std::vector<PageInfo> infos;
  std::vector<PageDir> pages;
  Bloom bloom;
  uint64_t data_size = 0;

  absl::Status Loss(std::string_view object, std::string_view what) const {
    return absl::DataLossError(absl::StrCat("traces block ", AV(tenant), "/", AV(block_id),
                                            " object ", AV(object), ": ", AV(what)));
  }

  absl::Status ParseIndex(std::string_view b) {
    if (b.size() < kHeaderSize + 4 || b.substr(0, 4) != std::string_view(kIndexMagic, 4)) {
      return Loss(kIndexObject, "bad magic or too short");
    }
    const uint32_t version = GetU32(b.data() + 4);
    if (version > kFormatVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "traces block ", tenant, "/", block_id, " object index: newer format version ", version,
          " (this sprout reads up to ", kFormatVersion, ")"));
    }
    if (Crc32c(b.substr(0, b.size() - 4)) != GetU32(b.data() + b.size() - 4)) {
      return Loss(kIndexObject, "checksum mismatch");
    }
    Decoder d(b.substr(kHeaderSize, b.size() - kHeaderSize - 4));
    uint64_t n;
    if (!d.Bounded(d.left() / 32, &n)) return Loss(kIndexObject, "bad page count");
    pages.resize(n);
    std::string prev_max;
    for (PageDir& p : pages) {
      std::string_view min, max;
      PageInfo& pi = p.info;
      uint64_t tc, sc;
      if (!d.Raw(16, &min) || !d.Raw(16, &max) || !d.Uvarint(&pi.start_unix_nano) ||
          !d.Uvarint(&pi.end_unix_nano) || !d.Bounded(0xffffffffu, &tc) ||
          !d.Bounded(0xffffffffu, &sc) || !d.Uvarint(&pi.otlp_bytes) ||
          !d.Uvarint(&pi.compressed_bytes) || !d.Uvarint(&p.resources) || !d.Uvarint(&p.scopes) ||
          !d.Uvarint(&p.events) || !d.Uvarint(&p.links)) {
        return Loss(kIndexObject, "truncated page entry");
      }
      pi.min_trace_id.assign(min);
      pi.max_trace_id.assign(max);
      pi.trace_count = static_cast<uint32_t>(tc);
      pi.span_count = static_cast<uint32_t>(sc);
      if (tc == 0 || pi.min_trace_id > pi.max_trace_id ||
          (!prev_max.empty() && pi.min_trace_id <= prev_max)) {
        return Loss(kIndexObject, "page trace-ID ranges out of order");
      }
      prev_max = pi.max_trace_id;
      for (int s = 0; s < kScopes; ++s) {
        uint64_t nk;
        if (!d.Bounded(d.left(), &nk)) return Loss(kIndexObject, "bad key count");
        for (uint64_t k = 0; k < nk; ++k) {
          std::string_view key;
          if (!d.Bytes(&key)) return Loss(kIndexObject, "truncated key table");
          p.key_ids[s].emplace(std::string(key), static_cast<uint32_t>(p.keys[s].size()));
          p.keys[s].emplace_back(key);
        }
        std::array<int, kSubCount> none;
        none.fill(-1);
        p.attr[s].assign(nk, none);
      }
      p.fixed.fill(-1);
      uint64_t nc;
      if (!d.Bounded(d.left() / 8, &nc)) return Loss(kIndexObject, "bad chunk count");
      uint64_t total = 0;
      for (uint64_t c = 0; c < nc; ++c) {
        ChunkEntry e{};
        std::string_view sb;
        if (!d.Raw(1, &sb)) return Loss(kIndexObject, "truncated chunk entry");
        e.scope = static_cast<uint8_t>(sb[0]);
        uint64_t key = 0;
        if (e.scope != kFixedScope) {
          if (e.scope >= kScopes) return Loss(kIndexObject, "bad chunk scope");
          if (!d.Bounded(p.keys[e.scope].size() == 0 ? 0 : p.keys[e.scope].size() - 1, &key) ||
              p.keys[e.scope].empty()) {
            return Loss(kIndexObject, "chunk key out of range");
          }
        }
        e.key = static_cast<uint32_t>(key);
        if (!d.Raw(1, &sb)) return Loss(kIndexObject, "truncated chunk entry");
        e.sub = static_cast<uint8_t>(sb[0]);
        if (!d.Uvarint(&e.offset) || !d.Uvarint(&e.stored) || !d.Uvarint(&e.raw) ||
            !d.Fixed32(&e.crc)) {
          return Loss(kIndexObject, "truncated chunk entry");
        }
        if (e.offset < kHeaderSize || e.offset > data_size || e.stored > data_size - e.offset ||
            e.raw > kMaxRawChunk) {
          return Loss(kIndexObject, "chunk outside the data object");
        }
        int* slot;
        if (e.scope == kFixedScope) {
          if (e.sub >= kColCount) return Loss(kIndexObject, "unknown column");
          slot = &p.fixed[e.sub];
        } else {
          if (e.sub >= kSubCount) return Loss(kIndexObject, "unknown attribute sub-stream");
          slot = &p.attr[e.scope][e.key][e.sub];
        }
        if (*slot != -1) return Loss(kIndexObject, "a chunk listed twice");
        *slot = static_cast<int>(p.chunks.size());
        total += e.stored;
        p.chunks.push_back(e);
      }
      pi.compressed_bytes = total;
      infos.push_back(pi);
    }
    if (!d.done()) return Loss(kIndexObject, "trailing bytes");
    return absl::OkStatus();
  }

  // Reads, verifies and decompresses the page's chunks `which` (adjacent ones in one range).
  absl::Status Load(const PageDir& p, std::vector<int> which, Loaded* out, ReadStats* stats) const {
    which.erase(std::remove_if(which.begin(), which.end(),
                               [&](int i) { return i < 0 || out->count(i) > 0; }),
                which.end());
    std::sort(which.begin(), which.end(),
              [&](int a, int b) { return p.chunks[a].offset < p.chunks[b].offset; });
    which.erase(std::unique(which.begin(), which.end()), which.end());
    const std::string key = BlockKey(tenant, block_id, kDataObject);
    size_t i = 0;
    while (i < which.size()) {
      size_t j = i + 1;
      uint64_t begin = p.chunks[which[i]].offset;
      uint64_t endp = begin + p.chunks[which[i]].stored;
      while (j < which.size() && p.chunks[which[j]].offset == endp) {
        endp += p.chunks[which[j]].stored;
        ++j;
      }
      absl::StatusOr<std::string> bytes = store->GetRange(key, begin, endp - begin);
      if (!bytes.ok()) {
        return absl::Status(bytes.status().code(),
                            absl::StrCat("traces block ", tenant, "/", block_id,
                                         " object data: ", bytes.status().message()));
      }
      if (bytes->size() != endp - begin) return Loss(kDataObject, "truncated");
      for (size_t k = i; k < j; ++k) {
        const ChunkEntry& e = p.chunks[which[k]];
        std::string_view stored(bytes->data() + (e.offset - begin), e.stored);
        if (Crc32c(stored) != e.crc) return Loss(kDataObject, "chunk checksum mismatch");
        std::string raw;
        RETURN_IF_ERROR(Decompress(stored, e.raw, &raw));
        (*out)[which[k]] = std::move(raw);
        if (stats != nullptr) {
          ++stats->chunks_read;
          stats->compressed_bytes_read += e.stored;
        }
      }
      i = j;
    }
    return absl::OkStatus();
  }

  // The frame decompressed in steps, the output growing only as it is produced: for a chunk
  // whose stored raw length is large for its compressed size (damage must not make the reader
  // allocate what the index claims before the frame shows it).
  absl::Status DecompressStreaming(std::string_view in, uint64_t raw_len, std::string* out) const {
    ZSTD_DStream* ds = ZSTD_createDStream();
    if (ds == nullptr) return absl::ResourceExhaustedError("zstd");
    ZSTD_initDStream(ds);
    out->clear();
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    size_t cap = std::min<uint64_t>(raw_len, 64 << 10);
    absl::Status st;
    bool frame_done = false;
    while (true) {
      if (out->size() == cap) {
        if (cap >= raw_len) {
          // Output full: the frame must end here with nothing more to produce.
          char probe;
          ZSTD_outBuffer ob{&probe, 1, 0};
          const size_t r = ZSTD_decompressStream(ds, &ob, &ib);
          if (ZSTD_isError(r) || ob.pos != 0) {
            st = Loss(kDataObject, "chunk longer than its stored raw length");
          } else {
            frame_done = (r == 0);
          }
          break;
        }
        cap = std::min<uint64_t>(raw_len, cap * 2);
      }
      const size_t old = out->size();
      out->resize(cap);
      ZSTD_outBuffer ob{out->data() + old, cap - old, 0};
      const size_t r = ZSTD_decompressStream(ds, &ob, &ib);
      out->resize(old + ob.pos);
      if (ZSTD_isError(r)) {
        st = Loss(kDataObject, absl::StrCat("zstd: ", ZSTD_getErrorName(r)));
        break;
      }
      if (r == 0) {
        frame_done = true;
        break;
      }
      if (ib.pos == ib.size && ob.pos < ob.size) {
        st = Loss(kDataObject, "truncated zstd frame");
        break;
      }
    }
    ZSTD_freeDStream(ds);
    RETURN_IF_ERROR(st);
    if (!frame_done || ib.pos != ib.size || out->size() != raw_len) {
      return Loss(kDataObject, "chunk does not decompress to its stored raw length");
    }
    return absl::OkStatus();
  }

  // One zstd frame that must decompress to exactly `raw_len` bytes, in one call with a
  // decompression context kept per thread (creating one per chunk costs more than a small
  // chunk's decompression).
  absl::Status Decompress(std::string_view in, uint64_t raw_len, std::string* out) const {
    if (raw_len > (uint64_t{1} << 20) + 64 * uint64_t{in.size()}) {
      return DecompressStreaming(in, raw_len, out);
    }
    struct Ctx {
      ZSTD_DCtx* dctx = ZSTD_createDCtx();
      ~Ctx() { ZSTD_freeDCtx(dctx); }
    };
    thread_local Ctx ctx;
    if (ctx.dctx == nullptr) return absl::ResourceExhaustedError("zstd");
    const size_t frame = ZSTD_findFrameCompressedSize(in.data(), in.size());
    if (ZSTD_isError(frame)) {
      return Loss(kDataObject, absl::StrCat("zstd: ", ZSTD_getErrorName(frame)));
    }
    if (frame != in.size()) {
      return Loss(kDataObject, "chunk does not decompress to its stored raw length");
    }
    out->resize(raw_len);
    const size_t r = ZSTD_decompressDCtx(ctx.dctx, out->data(), raw_len, in.data(), in.size());
    if (ZSTD_isError(r)) {
      if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall) {
        return Loss(kDataObject, "chunk longer than its stored raw length");
      }
      return Loss(kDataObject, absl::StrCat("zstd: ", ZSTD_getErrorName(r)));
    }
    if (r != raw_len) {
      return Loss(kDataObject, "chunk does not decompress to its stored raw length");
    }
    return absl::OkStatus();
  }

  static std::string_view Get(const Loaded& l, int idx) {
    if (idx < 0) return {};
    auto it = l.find(idx);
    return it == l.end() ? std::string_view() : std::string_view(it->second);
  }

  // Decodes page `page` whole, calling `fn` for the traces at `only` (ascending; null: every
  // trace) or, with a non-empty `find_id`, for that trace only (nothing when absent).
  // With `proj`, only what it keeps is read and decoded.
  absl::Status ForEachInPage(size_t page, const std::vector<uint32_t>* only,
                             std::string_view find_id, const Projection* proj,
                             const std::function<absl::Status(std::string_view, TracesData&&)>& fn,
                             ReadStats* stats) const;

  // The traces (indexes) having a matching span, from the page's span counts (loaded in `l`).
  absl::StatusOr<std::vector<uint32_t>> TracesOfSpans(const PageDir& p, const Loaded& l,
                                                      const std::vector<bool>& span_match) const;

  // ReadTraces (proj null) and ReadTracesProjected.
  absl::StatusOr<std::vector<TracesData>> ReadSome(size_t page,
                                                   const std::vector<uint32_t>& trace_indexes,
                                                   const Projection* proj, ReadStats* stats) const;

  std::vector<int> AllChunks(const PageDir& p) const {
    std::vector<int> v(p.chunks.size());
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int>(i);
    return v;
  }
};

namespace {

// Streams one page's rows back into TracesData, trace after trace.
class PageDecoder {
 public:
  PageDecoder(const PageDir& p, const Loaded& l, const Projection* proj = nullptr)
      : p_(p), proj_(proj) {
    for (int c = 0; c < kColCount; ++c) col_[c] = Decoder(BlockReader_Get(l, p.fixed[c]));
    for (int s = 0; s < kScopes; ++s) {
      keys_[s].resize(p.keys[s].size());
      for (size_t k = 0; k < p.keys[s].size(); ++k) {
        if (proj_ != nullptr && !proj_->Wants(s, static_cast<uint32_t>(k))) continue;
        KeyCursor& kc = keys_[s][k];
        for (int sub = 0; sub < kSubCount; ++sub) {
          kc.sub[sub] = Decoder(BlockReader_Get(l, p.attr[s][k][sub]));
        }
        ok_ &= DecodeDict(BlockReader_Get(l, p.attr[s][k][kSubStrDict]), &kc.dict);
      }
      Decoder ld(BlockReader_Get(l, p.fixed[kKeyListDict0 + s]));
      while (!ld.done() && ok_) {
        uint64_t n;
        if (!ld.Bounded(ld.left(), &n)) {
          ok_ = false;
          break;
        }
        lists_[s].push_back(
            {static_cast<uint32_t>(list_keys_[s].size()), static_cast<uint32_t>(n)});
        for (uint64_t i = 0; i < n; ++i) {
          uint64_t k;
          if (!ld.Bounded(p.keys[s].size(), &k) || k >= p.keys[s].size()) {
            ok_ = false;
            break;
          }
          list_keys_[s].push_back(static_cast<uint32_t>(k));
        }
      }
    }
    for (int c : {kTraceRootServiceDict, kTraceRootNameDict, kSpanNameDict, kSpanStatusMsgDict,
                  kSpanTraceStateDict, kEventNameDict, kLinkTraceStateDict, kResSchemaDict,
                  kScopeNameDict, kScopeVersionDict, kScopeSchemaDict}) {
      ok_ &= DecodeDict(BlockReader_Get(l, p.fixed[c]), &dicts_[c]);
    }
    if (ok_) ok_ = DecodeTables();
  }

  static std::string_view BlockReader_Get(const Loaded& l, int idx) {
    if (idx < 0) return {};
    auto it = l.find(idx);
    return it == l.end() ? std::string_view() : std::string_view(it->second);
  }

  bool ok() const { return ok_; }

  // Decodes the next trace; into `out` when not null (else skipped). False on damage.
  bool Next(std::string* id, TracesData* out) {
    if (!ok_) return false;
    std::string_view tid;
    uint64_t nspans;
    int64_t dstart, dur;
    uint64_t rsvc, rname;
    if (!col_[kTraceId].Raw(16, &tid) || !col_[kTraceSpans].Bounded(p_.info.span_count, &nspans) ||
        !col_[kTraceStart].Varint(&dstart) || !col_[kTraceDuration].Varint(&dur) ||
        !DictRef(kTraceRootService, &rsvc) || !DictRef(kTraceRootName, &rname)) {
      return ok_ = false;
    }
    if (id != nullptr) id->assign(tid);
    const uint64_t t_start = prev_start_ + static_cast<uint64_t>(dstart);
    prev_start_ = t_start;
    uint64_t ngroups;
    Decoder& g = col_[kTraceGroups];
    if (!g.Bounded(g.left(), &ngroups)) return ok_ = false;
    uint64_t seen = 0;
    trace_spans_.clear();
    for (uint64_t gi = 0; gi < ngroups; ++gi) {
      uint64_t rref, nscopes;
      if (!g.Bounded(resources_.size(), &rref) || rref >= resources_.size() ||
          !g.Bounded(g.left(), &nscopes)) {
        return ok_ = false;
      }
      ResourceSpans* rs = nullptr;
      if (out != nullptr) {
        rs = out->add_resource_spans();
        const ResRow& r = resources_[rref];
        if (r.has) *rs->mutable_resource() = r.resource;
        rs->set_schema_url(r.schema);
      }
      for (uint64_t si = 0; si < nscopes; ++si) {
        uint64_t sref, n;
        if (!g.Bounded(scopes_.size(), &sref) || sref >= scopes_.size() ||
            !g.Bounded(nspans - seen, &n)) {
          return ok_ = false;
        }
        seen += n;
        ScopeSpans* ss = nullptr;
        if (rs != nullptr) {
          ss = rs->add_scope_spans();
          const ScopeRow& s = scopes_[sref];
          if (s.has) *ss->mutable_scope() = s.scope;
          ss->set_schema_url(s.schema);
        }
        for (uint64_t k = 0; k < n; ++k) {
          Span* span = ss != nullptr ? ss->add_spans() : nullptr;
          if (!NextSpan(tid, t_start, span)) return ok_ = false;
        }
      }
    }
    if (seen != nspans) return ok_ = false;
    // Parents within the trace.
    if (out != nullptr) {
      for (size_t i = 0; i < trace_spans_.size(); ++i) {
        const uint32_t pi = trace_parent_[i];
        if (pi == 0) continue;
        if (pi > trace_spans_.size()) return ok_ = false;
        trace_spans_[i]->set_parent_span_id(trace_spans_[pi - 1]->span_id());
      }
    } else {
      for (uint32_t pi : trace_parent_) {
        if (pi > nspans) return ok_ = false;
      }
    }
    trace_parent_.clear();
    (void)dur;  // the trace's end is only for ReadTraceRows
    return true;
  }

 private:
  struct ResRow {
    bool has = false;
    Resource resource;
    std::string schema;
  };
  struct ScopeRow {
    bool has = false;
    InstrumentationScope scope;
    std::string schema;
  };
  struct KeyCursor {
    std::array<Decoder, kSubCount> sub;
    std::vector<std::string_view> dict;
  };

  bool DictRef(int c, uint64_t* v) {
    if (!col_[c].Uvarint(v) || *v >= dicts_[c + 1].size()) return ok_ = false;
    return true;
  }
  bool DictStr(int c, std::string* out) {
    uint64_t v;
    if (!DictRef(c, &v)) return false;
    out->assign(dicts_[c + 1][v]);
    return true;
  }

  bool Attrs(int scope, KeyValues* out) {
    uint64_t lid;
    if (!col_[kKeyList0 + scope].Bounded(lists_[scope].size(), &lid) ||
        lid >= lists_[scope].size()) {
      return false;
    }
    const auto [first, n] = lists_[scope][lid];
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t k = list_keys_[scope][first + i];
      if (proj_ != nullptr && !proj_->Wants(scope, k)) continue;  // its column is not read
      KeyCursor& kc = keys_[scope][k];
      KeyValue* kv = out != nullptr ? out->Add() : nullptr;
      if (kv != nullptr) kv->set_key(p_.keys[scope][k]);
      std::string_view t;
      if (!kc.sub[kSubType].Raw(1, &t)) return false;
      switch (static_cast<uint8_t>(t[0])) {
        case kTypeNone:
          break;
        case kTypeString: {
          uint64_t v;
          if (!kc.sub[kSubStr].Uvarint(&v) || v >= kc.dict.size()) return false;
          if (kv != nullptr) kv->mutable_value()->set_string_value(Str(kc.dict[v]));
          break;
        }
        case kTypeBool: {
          std::string_view b;
          if (!kc.sub[kSubBool].Raw(1, &b) || static_cast<uint8_t>(b[0]) > 1) return false;
          if (kv != nullptr) kv->mutable_value()->set_bool_value(b[0] == 1);
          break;
        }
        case kTypeInt: {
          int64_t v;
          if (!kc.sub[kSubInt].Varint(&v)) return false;
          if (kv != nullptr) kv->mutable_value()->set_int_value(v);
          break;
        }
        case kTypeDouble: {
          uint64_t bits;
          if (!kc.sub[kSubDouble].Fixed64(&bits)) return false;
          double d;
          std::memcpy(&d, &bits, 8);
          if (kv != nullptr) kv->mutable_value()->set_double_value(d);
          break;
        }
        case kTypeRaw: {
          std::string_view b;
          if (!kc.sub[kSubRaw].Bytes(&b)) return false;
          if (kv != nullptr &&
              !kv->mutable_value()->ParseFromArray(b.data(), static_cast<int>(b.size()))) {
            return false;
          }
          break;
        }
        default:
          return false;
      }
    }
    return true;
  }

  bool DecodeTables() {
    resources_.resize(std::min<uint64_t>(p_.resources, col_[kResBits].left()));
    if (resources_.size() != p_.resources) return false;
    for (ResRow& r : resources_) {
      uint64_t bits, dropped;
      std::string_view extra;
      if (!col_[kResBits].Bounded(1, &bits) || !DictStr(kResSchema, &r.schema) ||
          !col_[kResDropped].Bounded(0xffffffffu, &dropped) || !col_[kResExtra].Bytes(&extra)) {
        return false;
      }
      r.has = bits == 1;
      if (!extra.empty() &&
          !r.resource.ParseFromArray(extra.data(), static_cast<int>(extra.size()))) {
        return false;
      }
      r.resource.set_dropped_attributes_count(static_cast<uint32_t>(dropped));
      if (!Attrs(static_cast<int>(AttrScope::kResource), r.resource.mutable_attributes())) {
        return false;
      }
    }
    scopes_.resize(std::min<uint64_t>(p_.scopes, col_[kScopeBits].left()));
    if (scopes_.size() != p_.scopes) return false;
    for (ScopeRow& s : scopes_) {
      uint64_t bits, dropped;
      if (!col_[kScopeBits].Bounded(1, &bits) || !DictStr(kScopeName, s.scope.mutable_name()) ||
          !DictStr(kScopeVersion, s.scope.mutable_version()) || !DictStr(kScopeSchema, &s.schema) ||
          !col_[kScopeDropped].Bounded(0xffffffffu, &dropped)) {
        return false;
      }
      s.has = bits == 1;
      s.scope.set_dropped_attributes_count(static_cast<uint32_t>(dropped));
      if (!Attrs(static_cast<int>(AttrScope::kScope), s.scope.mutable_attributes())) return false;
    }
    return true;
  }

  bool NextSpan(std::string_view tid, uint64_t t_start, Span* s) {
    uint64_t bits, parent, left, right, start_off, events, links;
    int64_t dur, kind, code;
    if (!col_[kSpanBits].Bounded(7, &bits)) return false;
    std::string_view sid, praw;
    if (bits & kBitIrregularId) {
      if (!col_[kSpanIdExc].Bytes(&sid)) return false;
    } else if (!col_[kSpanId].Raw(8, &sid)) {
      return false;
    }
    if (!col_[kSpanParent].Uvarint(&parent) || parent > 0xffffffffu) return false;
    if ((bits & kBitParentRaw) && (parent != 0 || !col_[kSpanParentExc].Bytes(&praw))) {
      return false;
    }
    if (!col_[kSpanLeft].Uvarint(&left) || !col_[kSpanRight].Uvarint(&right) ||
        !col_[kSpanStart].Uvarint(&start_off) || !col_[kSpanDuration].Varint(&dur) ||
        !col_[kSpanKind].Varint(&kind) || !col_[kSpanStatusCode].Varint(&code)) {
      return false;
    }
    trace_parent_.push_back(static_cast<uint32_t>(parent));
    const uint64_t start = t_start + start_off;
    if (s != nullptr) {
      trace_spans_.push_back(s);
      s->set_trace_id(Str(tid));
      s->set_span_id(Str(sid));
      if (bits & kBitParentRaw) s->set_parent_span_id(Str(praw));
      s->set_start_time_unix_nano(start);
      s->set_end_time_unix_nano(start + static_cast<uint64_t>(dur));
      s->set_kind(static_cast<Span::SpanKind>(kind));
    }
    uint64_t name;
    if (!DictRef(kSpanName, &name)) return false;
    if (s != nullptr) s->set_name(Str(dicts_[kSpanNameDict][name]));
    if (bits & kBitHasStatus) {
      uint64_t msg;
      if (!DictRef(kSpanStatusMsg, &msg)) return false;
      if (s != nullptr) {
        Status* st = s->mutable_status();
        st->set_code(static_cast<Status::StatusCode>(code));
        st->set_message(Str(dicts_[kSpanStatusMsgDict][msg]));
      }
    } else if (code != 0) {
      return false;
    }
    uint64_t ts, flags, da, de, dl;
    if (!DictRef(kSpanTraceState, &ts) || !col_[kSpanFlags].Bounded(0xffffffffu, &flags) ||
        !col_[kSpanDroppedAttrs].Bounded(0xffffffffu, &da) ||
        !col_[kSpanDroppedEvents].Bounded(0xffffffffu, &de) ||
        !col_[kSpanDroppedLinks].Bounded(0xffffffffu, &dl) ||
        !col_[kSpanEventCount].Bounded(p_.events, &events) ||
        !col_[kSpanLinkCount].Bounded(p_.links, &links)) {
      return false;
    }
    if (s != nullptr) {
      s->set_trace_state(Str(dicts_[kSpanTraceStateDict][ts]));
      s->set_flags(static_cast<uint32_t>(flags));
      s->set_dropped_attributes_count(static_cast<uint32_t>(da));
      s->set_dropped_events_count(static_cast<uint32_t>(de));
      s->set_dropped_links_count(static_cast<uint32_t>(dl));
    }
    if (!Attrs(static_cast<int>(AttrScope::kSpan),
               s != nullptr ? s->mutable_attributes() : nullptr)) {
      return false;
    }
    if (proj_ != nullptr) return true;  // events and links are not read
    for (uint64_t i = 0; i < events; ++i) {
      int64_t t;
      uint64_t en, ed;
      if (!col_[kEventTime].Varint(&t) || !DictRef(kEventName, &en) ||
          !col_[kEventDropped].Bounded(0xffffffffu, &ed)) {
        return false;
      }
      Span::Event* e = s != nullptr ? s->add_events() : nullptr;
      if (e != nullptr) {
        e->set_time_unix_nano(start + static_cast<uint64_t>(t));
        e->set_name(Str(dicts_[kEventNameDict][en]));
        e->set_dropped_attributes_count(static_cast<uint32_t>(ed));
      }
      if (!Attrs(static_cast<int>(AttrScope::kEvent),
                 e != nullptr ? e->mutable_attributes() : nullptr)) {
        return false;
      }
    }
    for (uint64_t i = 0; i < links; ++i) {
      uint64_t lb, lts, lf, ld;
      std::string_view ltid, lsid;
      if (!col_[kLinkBits].Bounded(1, &lb)) return false;
      if (lb == 1) {
        ltid = tid;
      } else if (!col_[kLinkTraceId].Bytes(&ltid)) {
        return false;
      }
      if (!col_[kLinkSpanId].Bytes(&lsid) || !DictRef(kLinkTraceState, &lts) ||
          !col_[kLinkFlags].Bounded(0xffffffffu, &lf) ||
          !col_[kLinkDropped].Bounded(0xffffffffu, &ld)) {
        return false;
      }
      Span::Link* l = s != nullptr ? s->add_links() : nullptr;
      if (l != nullptr) {
        l->set_trace_id(Str(ltid));
        l->set_span_id(Str(lsid));
        l->set_trace_state(Str(dicts_[kLinkTraceStateDict][lts]));
        l->set_flags(static_cast<uint32_t>(lf));
        l->set_dropped_attributes_count(static_cast<uint32_t>(ld));
      }
      if (!Attrs(static_cast<int>(AttrScope::kLink),
                 l != nullptr ? l->mutable_attributes() : nullptr)) {
        return false;
      }
    }
    (void)left;
    (void)right;
    return true;
  }

  const PageDir& p_;
  const Projection* const proj_;
  bool ok_ = true;
  std::array<Decoder, kColCount> col_;
  std::array<std::vector<std::string_view>, kColCount> dicts_;
  std::array<std::vector<KeyCursor>, kScopes> keys_;
  std::array<std::vector<std::pair<uint32_t, uint32_t>>, kScopes> lists_;
  std::array<std::vector<uint32_t>, kScopes> list_keys_;
  std::vector<ResRow> resources_;
  std::vector<ScopeRow> scopes_;
  uint64_t prev_start_ = 0;
  std::vector<Span*> trace_spans_;
  std::vector<uint32_t> trace_parent_;
};

}  // namespace

BlockReader::BlockReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BlockReader::~BlockReader() = default;

absl::StatusOr<std::unique_ptr<BlockReader>> BlockReader::Open(objstore::ObjectStore* store,
                                                               std::string_view tenant,
                                                               std::string_view block_id) {
  auto impl = std::make_unique<Impl>();
  impl->store = store;
  impl->tenant.assign(tenant);
  impl->block_id.assign(block_id);
  const std::string where = absl::StrCat("traces block ", AV(tenant), "/", AV(block_id));
  absl::StatusOr<std::string> meta_json = store->Get(BlockKey(tenant, block_id, kMetaObject));
  if (!meta_json.ok()) return AnnotateStatusBlk(meta_json.status(), where);
  absl::StatusOr<BlockMeta> meta = MetaFromJson(*meta_json);
  if (!meta.ok()) {
    const absl::StatusCode code = meta.status().code() == absl::StatusCode::kFailedPrecondition
                                      ? absl::StatusCode::kFailedPrecondition
                                      : absl::StatusCode::kDataLoss;
    return absl::Status(code, absl::StrCat(where, " object meta.json: ", meta.status().message()));
  }
  impl->meta = std::move(*meta);
  absl::StatusOr<objstore::ObjectAttributes> data_attrs =
      store->Attributes(BlockKey(tenant, block_id, kDataObject));
  if (!data_attrs.ok()) {
    return absl::DataLossError(
        absl::StrCat(where, " object data: ", data_attrs.status().message()));
  }
  impl->data_size = data_attrs->size;
  {
    absl::StatusOr<std::string> header =
        store->GetRange(BlockKey(tenant, block_id, kDataObject), 0, kHeaderSize);
    if (!header.ok()) return AnnotateStatusBlk(header.status(), where);
    if (header->size() != kHeaderSize || header->substr(0, 4) != std::string_view(kDataMagic, 4)) {
      return impl->Loss(kDataObject, "bad magic or too short");
    }
    const uint32_t v = GetU32(header->data() + 4);
    if (v > kFormatVersion) {
      return absl::FailedPreconditionError(
          absl::StrCat(where, " object data: newer format version ", v));
    }
  }
  absl::StatusOr<std::string> index = store->Get(BlockKey(tenant, block_id, kIndexObject));
  if (!index.ok()) {
    return absl::DataLossError(absl::StrCat(where, " object index: ", index.status().message()));
  }
  RETURN_IF_ERROR(impl->ParseIndex(*index));
  if (impl->pages.size() != impl->meta.page_count) {
    return impl->Loss(kIndexObject, "page count differs from meta.json");
  }
  absl::StatusOr<std::string> bloom = store->Get(BlockKey(tenant, block_id, kBloomObject));
  if (!bloom.ok()) {
    return absl::DataLossError(absl::StrCat(where, " object bloom: ", bloom.status().message()));
  }
  absl::StatusOr<Bloom> b = Bloom::Decode(*bloom);
  if (!b.ok()) {
    return absl::Status(b.status().code(),
                        absl::StrCat(where, " object bloom: ", b.status().message()));
  }
  impl->bloom = std::move(*b);
  return std::unique_ptr<BlockReader>(new BlockReader(std::move(impl)));
}

const BlockMeta& BlockReader::meta() const { return impl_->meta; }
const std::vector<PageInfo>& BlockReader::pages() const { return impl_->infos; }
bool BlockReader::MayContain(std::string_view trace_id) const {
  return impl_->bloom.MayContain(trace_id);
}

absl::StatusOr<std::optional<TracesData>> BlockReader::FindTrace(std::string_view trace_id,
                                                                 ReadStats* stats) const {
  if (trace_id.size() != 16 || !MayContain(trace_id)) return std::nullopt;
  const auto& pages = impl_->pages;
  // The first page whose max >= id.
  auto it = std::lower_bound(pages.begin(), pages.end(), trace_id,
                             [](const PageDir& p, std::string_view id) {
                               return std::string_view(p.info.max_trace_id) < id;
                             });
  if (it == pages.end() || std::string_view(it->info.min_trace_id) > trace_id) {
    return std::nullopt;
  }
  const size_t page = static_cast<size_t>(it - pages.begin());
  std::optional<TracesData> found;
  RETURN_IF_ERROR(impl_->ForEachInPage(
      page, nullptr, trace_id, nullptr,
      [&](std::string_view, TracesData&& td) {
        found = std::move(td);
        return absl::OkStatus();
      },
      stats));
  return found;
}

absl::StatusOr<bool> BlockReader::Contains(std::string_view trace_id, ReadStats* stats) const {
  if (trace_id.size() != 16 || !MayContain(trace_id)) return false;
  const auto& pages = impl_->pages;
  auto it = std::lower_bound(pages.begin(), pages.end(), trace_id,
                             [](const PageDir& p, std::string_view id) {
                               return std::string_view(p.info.max_trace_id) < id;
                             });
  if (it == pages.end() || std::string_view(it->info.min_trace_id) > trace_id) return false;
  const PageDir& p = *it;
  Loaded l;
  RETURN_IF_ERROR(impl_->Load(p, {p.fixed[kTraceId]}, &l, stats));
  const std::string_view ids = Impl::Get(l, p.fixed[kTraceId]);
  if (ids.size() != uint64_t{p.info.trace_count} * 16) {
    return impl_->Loss(kDataObject, absl::StrCat("page ", it - pages.begin(),
                                                 " trace ID column has a wrong size"));
  }
  size_t lo = 0, hi = p.info.trace_count;
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (ids.substr(mid * 16, 16) < trace_id) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo < p.info.trace_count && ids.substr(lo * 16, 16) == trace_id;
}

absl::Status BlockReader::Impl::ForEachInPage(
    size_t page, const std::vector<uint32_t>* only, std::string_view find_id,
    const Projection* proj, const std::function<absl::Status(std::string_view, TracesData&&)>& fn,
    ReadStats* stats) const {
  const PageDir& p = pages[page];
  Loaded loaded;
  std::vector<int> which;
  if (!find_id.empty()) {
    // The trace-ID column alone first: a trace the bloom filter let through by mistake costs
    // one small chunk, not the page.
    RETURN_IF_ERROR(Load(p, {p.fixed[kTraceId]}, &loaded, stats));
  }
  if (proj == nullptr) {
    which = AllChunks(p);
  } else {
    for (int c = 0; c < kColCount; ++c) {
      const bool event_or_link = (c >= kEventTime && c <= kLinkDropped) ||
                                 c == kKeyList0 + static_cast<int>(AttrScope::kEvent) ||
                                 c == kKeyList0 + static_cast<int>(AttrScope::kLink) ||
                                 c == kKeyListDict0 + static_cast<int>(AttrScope::kEvent) ||
                                 c == kKeyListDict0 + static_cast<int>(AttrScope::kLink);
      if (!event_or_link) which.push_back(p.fixed[c]);
    }
    for (int sc = 0; sc < kScopes; ++sc) {
      for (uint32_t k = 0; k < p.attr[sc].size(); ++k) {
        if (!proj->Wants(sc, k)) continue;
        for (int sub = 0; sub < kSubCount; ++sub) which.push_back(p.attr[sc][k][sub]);
      }
    }
  }
  std::vector<uint32_t> one;
  if (!find_id.empty()) {
    const std::string_view ids = Get(loaded, p.fixed[kTraceId]);
    if (ids.size() != uint64_t{p.info.trace_count} * 16) {
      return Loss(kDataObject, absl::StrCat("page ", page, " trace ID column has a wrong size"));
    }
    size_t lo = 0, hi = p.info.trace_count;
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (ids.substr(mid * 16, 16) < find_id) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    if (lo == p.info.trace_count || ids.substr(lo * 16, 16) != find_id) return absl::OkStatus();
    one.push_back(static_cast<uint32_t>(lo));
    only = &one;
  }
  RETURN_IF_ERROR(Load(p, std::move(which), &loaded, stats));
  PageDecoder dec(p, loaded, proj);
  if (!dec.ok()) return Loss(kDataObject, absl::StrCat("page ", page, " does not decode"));
  size_t next_only = 0;
  std::string id;
  for (uint32_t t = 0; t < p.info.trace_count; ++t) {
    if (only != nullptr && next_only >= only->size()) break;
    const bool take = only == nullptr || (*only)[next_only] == t;
    TracesData td;
    if (!dec.Next(&id, take ? &td : nullptr)) {
      return Loss(kDataObject, absl::StrCat("page ", page, " trace ", t, " does not decode"));
    }
    if (!take) continue;
    ++next_only;
    RETURN_IF_ERROR(fn(id, std::move(td)));
  }
  if (only != nullptr && next_only < only->size()) {
    return absl::InvalidArgumentError("trace index out of range");
  }
  return absl::OkStatus();
}

absl::Status BlockReader::ForEachTrace(
    const std::function<absl::Status(std::string_view trace_id, TracesData&& trace)>& fn,
    ReadStats* stats) const {
  for (size_t page = 0; page < impl_->pages.size(); ++page) {
    RETURN_IF_ERROR(impl_->ForEachInPage(page, nullptr, {}, nullptr, fn, stats));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TracesData>> BlockReader::ReadTraces(
    size_t page, const std::vector<uint32_t>& trace_indexes, ReadStats* stats) const {
  return impl_->ReadSome(page, trace_indexes, nullptr, stats);
}

absl::StatusOr<std::vector<TracesData>> BlockReader::ReadTracesProjected(
    size_t page, const std::vector<uint32_t>& trace_indexes,
    const std::vector<std::string>& resource_keys, const std::vector<std::string>& span_keys,
    ReadStats* stats) const {
  if (page >= impl_->pages.size()) return absl::OutOfRangeError("no such page");
  const PageDir& p = impl_->pages[page];
  Projection proj;
  for (int sc = 0; sc < kScopes; ++sc) proj.keys[sc].assign(p.keys[sc].size(), false);
  const auto want = [&](AttrScope scope, const std::vector<std::string>& keys) {
    const int sc = static_cast<int>(scope);
    for (const std::string& key : keys) {
      if (auto it = p.key_ids[sc].find(key); it != p.key_ids[sc].end()) {
        proj.keys[sc][it->second] = true;
      }
    }
  };
  want(AttrScope::kResource, resource_keys);
  want(AttrScope::kSpan, span_keys);
  return impl_->ReadSome(page, trace_indexes, &proj, stats);
}

absl::StatusOr<std::vector<TracesData>> BlockReader::Impl::ReadSome(
    size_t page, const std::vector<uint32_t>& trace_indexes, const Projection* proj,
    ReadStats* stats) const {
  if (page >= pages.size()) return absl::OutOfRangeError("no such page");
  std::vector<TracesData> out;
  if (trace_indexes.empty()) return out;
  for (size_t i = 1; i < trace_indexes.size(); ++i) {
    if (trace_indexes[i] <= trace_indexes[i - 1]) {
      return absl::InvalidArgumentError("trace indexes not ascending");
    }
  }
  RETURN_IF_ERROR(ForEachInPage(
      page, &trace_indexes, {}, proj,
      [&](std::string_view, TracesData&& td) {
        out.push_back(std::move(td));
        return absl::OkStatus();
      },
      stats));
  return out;
}

absl::StatusOr<std::vector<TraceRow>> BlockReader::ReadTraceRows(size_t page,
                                                                 ReadStats* stats) const {
  const Impl& m = *impl_;
  if (page >= m.pages.size()) return absl::OutOfRangeError("no such page");
  const PageDir& p = m.pages[page];
  Loaded l;
  RETURN_IF_ERROR(
      m.Load(p,
             {p.fixed[kTraceId], p.fixed[kTraceSpans], p.fixed[kTraceStart],
              p.fixed[kTraceDuration], p.fixed[kTraceRootService], p.fixed[kTraceRootServiceDict],
              p.fixed[kTraceRootName], p.fixed[kTraceRootNameDict]},
             &l, stats));
  std::vector<std::string_view> svc, names;
  Decoder ids(Impl::Get(l, p.fixed[kTraceId])), spans(Impl::Get(l, p.fixed[kTraceSpans])),
      starts(Impl::Get(l, p.fixed[kTraceStart])), durs(Impl::Get(l, p.fixed[kTraceDuration])),
      rs(Impl::Get(l, p.fixed[kTraceRootService])), rn(Impl::Get(l, p.fixed[kTraceRootName]));
  if (!DecodeDict(Impl::Get(l, p.fixed[kTraceRootServiceDict]), &svc) ||
      !DecodeDict(Impl::Get(l, p.fixed[kTraceRootNameDict]), &names)) {
    return m.Loss(kDataObject, absl::StrCat("page ", page, " root dictionaries do not decode"));
  }
  std::vector<TraceRow> rows;
  rows.reserve(std::min<uint64_t>(p.info.trace_count, Impl::Get(l, p.fixed[kTraceId]).size() / 16));
  uint64_t prev = 0;
  for (uint32_t t = 0; t < p.info.trace_count; ++t) {
    TraceRow r;
    std::string_view id;
    uint64_t n, si, ni;
    int64_t ds, dd;
    if (!ids.Raw(16, &id) || !spans.Bounded(p.info.span_count, &n) || !starts.Varint(&ds) ||
        !durs.Varint(&dd) || !rs.Uvarint(&si) || si >= svc.size() || !rn.Uvarint(&ni) ||
        ni >= names.size()) {
      return m.Loss(kDataObject, absl::StrCat("page ", page, " trace rows do not decode"));
    }
    r.trace_id.assign(id);
    r.start_unix_nano = prev + static_cast<uint64_t>(ds);
    prev = r.start_unix_nano;
    r.end_unix_nano = r.start_unix_nano + static_cast<uint64_t>(dd);
    r.span_count = static_cast<uint32_t>(n);
    r.root_service_name.assign(svc[si]);
    r.root_span_name.assign(names[ni]);
    rows.push_back(std::move(r));
  }
  return rows;
}

namespace {

// Maps rows of a row set to trace indexes: the per-trace span counts, then (for events and
// links) the per-span counts.
// Row ranges: bounds[i]..bounds[i+1] are the child rows of parent i, from a column of uvarint
// child counts with one value per parent (`parents` of them). Grows only as the column decodes,
// so damaged counts cannot make it allocate more than the column's bytes allow.
bool Bounds(std::string_view counts, uint64_t parents, std::vector<uint64_t>* bounds) {
  Decoder d(counts);
  bounds->assign(1, 0);
  for (uint64_t i = 0; i < parents; ++i) {
    uint64_t n;
    if (!d.Bounded(0xffffffffu, &n)) return false;
    bounds->push_back(bounds->back() + n);
  }
  return d.done();
}

// Per parent: whether any of its child rows matches. False when the rows do not add up.
bool Rollup(const std::vector<uint64_t>& bounds, const std::vector<bool>& row_match,
            std::vector<bool>* parent_match) {
  if (bounds.back() != row_match.size()) return false;
  parent_match->assign(bounds.size() - 1, false);
  for (size_t i = 0; i + 1 < bounds.size(); ++i) {
    for (uint64_t r = bounds[i]; r < bounds[i + 1]; ++r) {
      if (row_match[r]) {
        (*parent_match)[i] = true;
        break;
      }
    }
  }
  return true;
}

std::vector<uint32_t> Indexes(const std::vector<bool>& match) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < match.size(); ++i) {
    if (match[i]) out.push_back(static_cast<uint32_t>(i));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<uint32_t>> BlockReader::Impl::TracesOfSpans(
    const PageDir& p, const Loaded& l, const std::vector<bool>& span_match) const {
  std::vector<uint64_t> bounds;
  std::vector<bool> trace_match;
  if (!Bounds(Get(l, p.fixed[kTraceSpans]), p.info.trace_count, &bounds) ||
      !Rollup(bounds, span_match, &trace_match)) {
    return Loss(kDataObject, "span counts do not decode");
  }
  return Indexes(trace_match);
}

absl::StatusOr<std::vector<uint32_t>> BlockReader::TracesWhereSpan(size_t page, SpanColumn which,
                                                                   const ValuePredicate& pred,
                                                                   ReadStats* stats) const {
  const Impl& m = *impl_;
  if (page >= m.pages.size()) return absl::OutOfRangeError("no such page");
  const PageDir& p = m.pages[page];
  Loaded l;
  std::vector<bool> match;
  if (which == SpanColumn::kName || which == SpanColumn::kStatusMessage) {
    const bool name = which == SpanColumn::kName;
    const int dc = name ? kSpanNameDict : kSpanStatusMsgDict;
    const int vc = name ? kSpanName : kSpanStatusMsg;
    RETURN_IF_ERROR(m.Load(p, {p.fixed[dc]}, &l, stats));
    std::vector<std::string_view> dict;
    if (!DecodeDict(Impl::Get(l, p.fixed[dc]), &dict)) {
      return m.Loss(kDataObject, "span dictionary does not decode");
    }
    std::vector<bool> dict_match(dict.size());
    bool any = false;
    ValueRef v;
    v.kind = kValueString;
    for (size_t k = 0; k < dict.size(); ++k) {
      v.str = dict[k];
      dict_match[k] = pred(v);
      any |= dict_match[k];
    }
    // A status message exists only on spans with a status: the others are judged as "".
    bool empty_match = false;
    if (!name) {
      v.str = "";
      empty_match = pred(v);
    }
    if (!any && !empty_match) return std::vector<uint32_t>{};
    if (name) {
      RETURN_IF_ERROR(m.Load(p, {p.fixed[vc], p.fixed[kTraceSpans]}, &l, stats));
      Decoder d(Impl::Get(l, p.fixed[vc]));
      while (!d.done()) {
        uint64_t x;
        if (!d.Uvarint(&x)) return m.Loss(kDataObject, "span names do not decode");
        match.push_back(x < dict_match.size() && dict_match[x]);
      }
    } else {
      RETURN_IF_ERROR(
          m.Load(p, {p.fixed[vc], p.fixed[kSpanBits], p.fixed[kTraceSpans]}, &l, stats));
      Decoder bits(Impl::Get(l, p.fixed[kSpanBits])), d(Impl::Get(l, p.fixed[vc]));
      while (!bits.done()) {
        uint64_t b;
        if (!bits.Uvarint(&b)) return m.Loss(kDataObject, "span bits do not decode");
        if ((b & kBitHasStatus) == 0) {
          match.push_back(empty_match);
          continue;
        }
        uint64_t x;
        if (!d.Uvarint(&x)) return m.Loss(kDataObject, "status messages do not decode");
        match.push_back(x < dict_match.size() && dict_match[x]);
      }
    }
    return m.TracesOfSpans(p, l, match);
  }
  int col = kSpanStatusCode;
  if (which == SpanColumn::kKind) col = kSpanKind;
  if (which == SpanColumn::kDuration) col = kSpanDuration;
  RETURN_IF_ERROR(m.Load(p, {p.fixed[col], p.fixed[kTraceSpans]}, &l, stats));
  Decoder d(Impl::Get(l, p.fixed[col]));
  ValueRef v;
  v.kind = kValueInt;
  while (!d.done()) {
    if (!d.Varint(&v.i)) return m.Loss(kDataObject, "span column does not decode");
    if (which == SpanColumn::kDuration && v.i < 0) v.i = 0;  // an end before the start: 0
    match.push_back(pred(v));
  }
  return m.TracesOfSpans(p, l, match);
}

absl::StatusOr<std::vector<uint32_t>> BlockReader::TracesWithSpanName(size_t page,
                                                                      std::string_view name,
                                                                      ReadStats* stats) const {
  const Impl& m = *impl_;
  if (page >= m.pages.size()) return absl::OutOfRangeError("no such page");
  const PageDir& p = m.pages[page];
  Loaded l;
  RETURN_IF_ERROR(m.Load(p, {p.fixed[kSpanNameDict]}, &l, stats));
  std::vector<std::string_view> dict;
  if (!DecodeDict(Impl::Get(l, p.fixed[kSpanNameDict]), &dict)) {
    return m.Loss(kDataObject, "span name dictionary does not decode");
  }
  auto it = std::find(dict.begin(), dict.end(), name);
  if (it == dict.end()) return std::vector<uint32_t>{};
  const uint64_t want = static_cast<uint64_t>(it - dict.begin());
  RETURN_IF_ERROR(m.Load(p, {p.fixed[kSpanName], p.fixed[kTraceSpans]}, &l, stats));
  Decoder d(Impl::Get(l, p.fixed[kSpanName]));
  std::vector<bool> match;
  while (!d.done()) {
    uint64_t v;
    if (!d.Uvarint(&v)) return m.Loss(kDataObject, "span names do not decode");
    match.push_back(v == want);
  }
  return m.TracesOfSpans(p, l, match);
}

absl::StatusOr<std::vector<uint32_t>> BlockReader::TracesWithStatus(size_t page,
                                                                    Status::StatusCode code,
                                                                    ReadStats* stats) const {
  const Impl& m = *impl_;
  if (page >= m.pages.size()) return absl::OutOfRangeError("no such page");
  const PageDir& p = m.pages[page];
  Loaded l;
  RETURN_IF_ERROR(m.Load(p, {p.fixed[kSpanStatusCode], p.fixed[kTraceSpans]}, &l, stats));
  Decoder d(Impl::Get(l, p.fixed[kSpanStatusCode]));
  std::vector<bool> match;
  while (!d.done()) {
    int64_t v;
    if (!d.Varint(&v)) return m.Loss(kDataObject, "status codes do not decode");
    match.push_back(v == code);
  }
  return m.TracesOfSpans(p, l, match);
}

absl::StatusOr<std::vector<uint32_t>> BlockReader::TracesWithAttribute(size_t page, AttrScope scope,
                                                                       std::string_view key,
                                                                       std::string_view text,
                                                                       ReadStats* stats,
                                                                       bool string_or_array) const {
  if (string_or_array) {
    return TracesWhereAttribute(
        page, scope, key,
        [text](const ValueRef& v) { return v.kind != kValueString || v.str == text; },
        kValueString | kValueOther, stats);
  }
  return TracesWhereAttribute(
      page, scope, key,
      [text](const ValueRef& v) {
        AnyValue a;
        switch (v.kind) {
          case kValueString:
            return v.str == text;
          case kValueInt:
            a.set_int_value(v.i);
            break;
          case kValueDouble:
            a.set_double_value(v.d);
            break;
          case kValueBool:
            a.set_bool_value(v.b);
            break;
          default:
            return false;
        }
        return ValueMatches(a, text);
      },
      kValueString | kValueInt | kValueDouble | kValueBool, stats);
}

absl::StatusOr<std::vector<uint32_t>> BlockReader::TracesWhereAttribute(
    size_t page, AttrScope scope, std::string_view key, const ValuePredicate& pred, uint32_t kinds,
    ReadStats* stats) const {
  const Impl& m = *impl_;
  if (page >= m.pages.size()) return absl::OutOfRangeError("no such page");
  const PageDir& p = m.pages[page];
  const int s = static_cast<int>(scope);
  if (s < 0 || s >= kScopes) return absl::InvalidArgumentError("bad attribute scope");
  auto kit = p.key_ids[s].find(AV(key));
  if (kit == p.key_ids[s].end()) return std::vector<uint32_t>{};
  const uint32_t kid = kit->second;
  const std::array<int, kSubCount>& sub = p.attr[s][kid];
  Loaded l;
  // Strings: the dictionary first, each entry judged once.
  std::vector<bool> dict_match;
  bool any_string = false;
  if (sub[kSubStrDict] >= 0 && (kinds & kValueString) != 0) {
    RETURN_IF_ERROR(m.Load(p, {sub[kSubStrDict]}, &l, stats));
    std::vector<std::string_view> dict;
    if (!DecodeDict(Impl::Get(l, sub[kSubStrDict]), &dict)) {
      return m.Loss(kDataObject, "attribute dictionary does not decode");
    }
    dict_match.resize(dict.size());
    ValueRef v;
    v.kind = kValueString;
    for (size_t k = 0; k < dict.size(); ++k) {
      v.str = dict[k];
      dict_match[k] = pred(v);
      any_string |= dict_match[k];
    }
  }
  // Other types can match only when their stream exists.
  const bool others = ((kinds & kValueInt) != 0 && sub[kSubInt] >= 0) ||
                      ((kinds & kValueDouble) != 0 && sub[kSubDouble] >= 0) ||
                      ((kinds & kValueBool) != 0 && sub[kSubBool] >= 0) ||
                      ((kinds & kValueOther) != 0 && sub[kSubRaw] >= 0);
  if (!any_string && !others) return std::vector<uint32_t>{};
  RETURN_IF_ERROR(m.Load(
      p,
      {sub[kSubType], sub[kSubStr], sub[kSubInt], sub[kSubDouble], sub[kSubBool], sub[kSubRaw],
       p.fixed[kKeyList0 + s], p.fixed[kKeyListDict0 + s], p.fixed[kTraceSpans]},
      &l, stats));
  // Value ordinals that match.
  std::vector<bool> value_match;
  {
    Decoder type(Impl::Get(l, sub[kSubType])), str(Impl::Get(l, sub[kSubStr])),
        ints(Impl::Get(l, sub[kSubInt])), dbl(Impl::Get(l, sub[kSubDouble])),
        bools(Impl::Get(l, sub[kSubBool])), raw(Impl::Get(l, sub[kSubRaw]));
    ValueRef v;
    while (!type.done()) {
      std::string_view t;
      type.Raw(1, &t);
      bool match = false;
      bool ok = true;
      switch (static_cast<uint8_t>(t[0])) {
        case kTypeNone:
          break;
        case kTypeString: {
          uint64_t x;
          ok = str.Uvarint(&x);
          match = ok && x < dict_match.size() && dict_match[x];
          break;
        }
        case kTypeBool: {
          std::string_view b;
          ok = bools.Raw(1, &b);
          if (ok) {
            v.kind = kValueBool;
            v.b = b[0] == 1;
            match = (kinds & kValueBool) != 0 && pred(v);
          }
          break;
        }
        case kTypeInt: {
          int64_t x;
          ok = ints.Varint(&x);
          if (ok) {
            v.kind = kValueInt;
            v.i = x;
            match = (kinds & kValueInt) != 0 && pred(v);
          }
          break;
        }
        case kTypeDouble: {
          uint64_t bits;
          ok = dbl.Fixed64(&bits);
          if (ok) {
            double d;
            std::memcpy(&d, &bits, 8);
            v.kind = kValueDouble;
            v.d = d;
            match = (kinds & kValueDouble) != 0 && pred(v);
          }
          break;
        }
        case kTypeRaw: {
          std::string_view b;
          ok = raw.Bytes(&b);
          if (ok && (kinds & kValueOther) != 0) {
            v.kind = kValueOther;
            v.str = b;
            match = pred(v);
          }
          break;
        }
        default:
          ok = false;
      }
      if (!ok) return m.Loss(kDataObject, "attribute values do not decode");
      value_match.push_back(match);
    }
  }
  // Rows of the scope that hold a matching value.
  std::vector<std::pair<uint32_t, uint32_t>> lists;  // per list: how many values of `kid`
  {
    Decoder ld(Impl::Get(l, p.fixed[kKeyListDict0 + s]));
    while (!ld.done()) {
      uint64_t n;
      if (!ld.Bounded(ld.left(), &n)) return m.Loss(kDataObject, "key lists do not decode");
      uint32_t c = 0;
      for (uint64_t i = 0; i < n; ++i) {
        uint64_t k;
        if (!ld.Uvarint(&k)) return m.Loss(kDataObject, "key lists do not decode");
        c += k == kid;
      }
      lists.push_back({c, 0});
    }
  }
  std::vector<bool> row_match;
  {
    Decoder kl(Impl::Get(l, p.fixed[kKeyList0 + s]));
    size_t ordinal = 0;
    while (!kl.done()) {
      uint64_t lid;
      if (!kl.Bounded(lists.size(), &lid) || lid >= lists.size()) {
        return m.Loss(kDataObject, "key list references do not decode");
      }
      bool match = false;
      for (uint32_t i = 0; i < lists[lid].first; ++i, ++ordinal) {
        if (ordinal >= value_match.size()) return m.Loss(kDataObject, "attribute rows mismatch");
        match |= value_match[ordinal];
      }
      row_match.push_back(match);
    }
  }
  switch (scope) {
    case AttrScope::kSpan:
      return m.TracesOfSpans(p, l, row_match);
    case AttrScope::kEvent:
    case AttrScope::kLink: {
      const int cc = scope == AttrScope::kEvent ? kSpanEventCount : kSpanLinkCount;
      RETURN_IF_ERROR(m.Load(p, {p.fixed[cc]}, &l, stats));
      // The span count: the span-level column of the counts has one value per span.
      std::string_view counts = Impl::Get(l, p.fixed[cc]);
      uint64_t spans = 0;
      for (char c : counts) spans += (static_cast<uint8_t>(c) & 0x80) == 0;
      std::vector<uint64_t> bounds;
      std::vector<bool> span_match;
      if (!Bounds(counts, spans, &bounds) || !Rollup(bounds, row_match, &span_match)) {
        return m.Loss(kDataObject, "event/link counts do not decode");
      }
      return m.TracesOfSpans(p, l, span_match);
    }
    case AttrScope::kResource:
    case AttrScope::kScope: {
      RETURN_IF_ERROR(m.Load(p, {p.fixed[kTraceGroups]}, &l, stats));
      Decoder g(Impl::Get(l, p.fixed[kTraceGroups]));
      std::vector<uint32_t> out;
      const bool res = scope == AttrScope::kResource;
      for (uint32_t t = 0; t < p.info.trace_count; ++t) {
        uint64_t ng;
        if (!g.Bounded(g.left(), &ng)) return m.Loss(kDataObject, "groups do not decode");
        bool hit = false;
        for (uint64_t i = 0; i < ng; ++i) {
          uint64_t rref, ns;
          if (!g.Uvarint(&rref) || !g.Bounded(g.left(), &ns)) {
            return m.Loss(kDataObject, "groups do not decode");
          }
          for (uint64_t j = 0; j < ns; ++j) {
            uint64_t sref, n;
            if (!g.Uvarint(&sref) || !g.Uvarint(&n)) {
              return m.Loss(kDataObject, "groups do not decode");
            }
            const uint64_t ref = res ? rref : sref;
            if (n > 0 && ref < row_match.size() && row_match[ref]) hit = true;
          }
        }
        if (hit) out.push_back(t);
      }
      return out;
    }
  }
  return std::vector<uint32_t>{};
}

absl::StatusOr<std::vector<std::string>> BlockReader::SpanIntrinsicValues(size_t page,
                                                                          SpanIntrinsic which,
                                                                          ReadStats* stats) const {
  const Impl& m = *impl_;
  if (page >= m.pages.size()) return absl::OutOfRangeError("no such page");
  const PageDir& p = m.pages[page];
  std::set<std::string> values;
  Loaded l;
  if (which == SpanIntrinsic::kName || which == SpanIntrinsic::kStatusMessage) {
    const int c = which == SpanIntrinsic::kName ? kSpanNameDict : kSpanStatusMsgDict;
    RETURN_IF_ERROR(m.Load(p, {p.fixed[c]}, &l, stats));
    std::vector<std::string_view> dict;
    if (!DecodeDict(Impl::Get(l, p.fixed[c]), &dict)) {
      return m.Loss(kDataObject, absl::StrCat("page ", page, " span dictionary does not decode"));
    }
    values.insert(dict.begin(), dict.end());
  } else {
    const int c = which == SpanIntrinsic::kStatusCode ? kSpanStatusCode : kSpanKind;
    RETURN_IF_ERROR(m.Load(p, {p.fixed[c]}, &l, stats));
    Decoder d(Impl::Get(l, p.fixed[c]));
    std::set<int64_t> seen;
    while (!d.done()) {
      int64_t v;
      if (!d.Varint(&v)) {
        return m.Loss(kDataObject, absl::StrCat("page ", page, " span column does not decode"));
      }
      if (!seen.insert(v).second) continue;
      values.insert(which == SpanIntrinsic::kStatusCode
                        ? std::string(StatusKeyword(static_cast<Status::StatusCode>(v)))
                        : std::string(KindKeyword(static_cast<Span::SpanKind>(v))));
    }
  }
  return std::vector<std::string>(values.begin(), values.end());
}

std::vector<std::string> BlockReader::AttributeKeys(AttrScope scope) const {
  std::set<std::string> keys;
  const int s = static_cast<int>(scope);
  if (s < 0 || s >= kScopes) return {};
  for (const PageDir& p : impl_->pages) keys.insert(p.keys[s].begin(), p.keys[s].end());
  return std::vector<std::string>(keys.begin(), keys.end());
}

absl::StatusOr<std::vector<BlockReader::TypedValue>> BlockReader::AttributeValues(
    AttrScope scope, std::string_view key, size_t limit, ReadStats* stats) const {
  const Impl& m = *impl_;
  const int s = static_cast<int>(scope);
  if (s < 0 || s >= kScopes) return absl::InvalidArgumentError("bad attribute scope");
  std::set<TypedValue> values;
  for (const PageDir& p : m.pages) {
    auto kit = p.key_ids[s].find(AV(key));
    if (kit == p.key_ids[s].end()) continue;
    const std::array<int, kSubCount>& sub = p.attr[s][kit->second];
    Loaded l;
    RETURN_IF_ERROR(
        m.Load(p, {sub[kSubStrDict], sub[kSubInt], sub[kSubDouble], sub[kSubBool]}, &l, stats));
    std::vector<std::string_view> dict;
    if (!DecodeDict(Impl::Get(l, sub[kSubStrDict]), &dict)) {
      return m.Loss(kDataObject, "attribute dictionary does not decode");
    }
    for (std::string_view v : dict) values.insert({"string", std::string(v)});
    AnyValue v;
    std::string type, text;
    Decoder ints(Impl::Get(l, sub[kSubInt]));
    while (!ints.done()) {
      int64_t x;
      if (!ints.Varint(&x)) return m.Loss(kDataObject, "int values do not decode");
      v.set_int_value(x);
      if (TypedText(v, &type, &text)) values.insert({type, text});
    }
    Decoder dbl(Impl::Get(l, sub[kSubDouble]));
    while (!dbl.done()) {
      uint64_t bits;
      if (!dbl.Fixed64(&bits)) return m.Loss(kDataObject, "double values do not decode");
      double d;
      std::memcpy(&d, &bits, 8);
      v.set_double_value(d);
      if (TypedText(v, &type, &text)) values.insert({type, text});
    }
    std::string_view bools = Impl::Get(l, sub[kSubBool]);
    for (char c : bools) {
      v.set_bool_value(c == 1);
      if (TypedText(v, &type, &text)) values.insert({type, text});
    }
  }
  std::vector<TypedValue> out(values.begin(), values.end());
  if (limit > 0 && out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace sprout::traces::block
