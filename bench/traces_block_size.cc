// traces_block_size: where a trace block's bytes go. Writes the pinned span corpus
// (bench/traces_corpus.h) — or the block test's RealisticTrace spans — as one block, in trace-ID
// order as the store's flush job does, with the given writer options, and prints bytes per span
// per fixed column, per attribute key, data / index / bloom, and the zstd baseline of the same
// spans' OTLP bytes.
//
//   traces_block_size --spans 500000 --seed 1                  # the bench corpus
//   traces_block_size --source realistic --spans 50000         # block_testing.h's RealisticTrace
//   traces_block_size --page-target-spans 4096 --zstd-level 6  # writer options
//
// Per span: a column's stored (zstd) bytes divided by the block's span count; "raw" is before
// compression. The index is split into its chunk directory entries, key tables and the rest.
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "objstore/memory.h"
#include "traces/block/block.h"
#include "traces/block/block_testing.h"
#include "traces/block/format.h"
#include "traces_corpus.h"

namespace {

using opentelemetry::proto::trace::v1::ResourceSpans;
using opentelemetry::proto::trace::v1::ScopeSpans;
using opentelemetry::proto::trace::v1::TracesData;
namespace block = sprout::traces::block;
namespace fmt_ = sprout::traces::block::format;

const char* const kColNames[] = {"trace.id",
                                 "trace.spans",
                                 "trace.start",
                                 "trace.duration",
                                 "trace.root_service",
                                 "trace.root_service.dict",
                                 "trace.root_name",
                                 "trace.root_name.dict",
                                 "trace.groups",
                                 "span.id",
                                 "span.bits",
                                 "span.id_exc",
                                 "span.parent",
                                 "span.parent_exc",
                                 "span.left",
                                 "span.right",
                                 "span.start",
                                 "span.duration",
                                 "span.name",
                                 "span.name.dict",
                                 "span.kind",
                                 "span.status_code",
                                 "span.status_msg",
                                 "span.status_msg.dict",
                                 "span.trace_state",
                                 "span.trace_state.dict",
                                 "span.flags",
                                 "span.dropped_attrs",
                                 "span.dropped_events",
                                 "span.dropped_links",
                                 "span.event_count",
                                 "span.link_count",
                                 "event.time",
                                 "event.name",
                                 "event.name.dict",
                                 "event.dropped",
                                 "link.trace_id",
                                 "link.bits",
                                 "link.span_id",
                                 "link.trace_state",
                                 "link.trace_state.dict",
                                 "link.flags",
                                 "link.dropped",
                                 "res.bits",
                                 "res.schema",
                                 "res.schema.dict",
                                 "res.dropped",
                                 "res.extra",
                                 "scope.bits",
                                 "scope.name",
                                 "scope.name.dict",
                                 "scope.version",
                                 "scope.version.dict",
                                 "scope.schema",
                                 "scope.schema.dict",
                                 "scope.dropped",
                                 "keylist.resource",
                                 "keylist.span",
                                 "keylist.event",
                                 "keylist.link",
                                 "keylist.scope",
                                 "keylist.resource.dict",
                                 "keylist.span.dict",
                                 "keylist.event.dict",
                                 "keylist.link.dict",
                                 "keylist.scope.dict"};
static_assert(sizeof(kColNames) / sizeof(kColNames[0]) == fmt_::kColCount);
const char* const kScopeNames[] = {"resource", "span", "event", "link", "scope"};

// Splits a batch into whole traces the way the live set merges a trace's parts: per trace one
// ResourceSpans per resource group of the batch it has spans in, one ScopeSpans per scope group.
void SplitBatch(const sprout::otlp::pb::trace_service::ExportTraceServiceRequest& req,
                std::map<std::string, TracesData>* out) {
  for (const ResourceSpans& rs : req.resource_spans()) {
    std::map<std::string, ResourceSpans*> rs_of;
    for (const ScopeSpans& ss : rs.scope_spans()) {
      std::map<std::string, ScopeSpans*> ss_of;
      for (const auto& span : ss.spans()) {
        ResourceSpans*& r = rs_of[span.trace_id()];
        if (r == nullptr) {
          r = (*out)[span.trace_id()].add_resource_spans();
          *r->mutable_resource() = rs.resource();
          r->set_schema_url(rs.schema_url());
        }
        ScopeSpans*& s = ss_of[span.trace_id()];
        if (s == nullptr) {
          s = r->add_scope_spans();
          *s->mutable_scope() = ss.scope();
          s->set_schema_url(ss.schema_url());
        }
        *s->add_spans() = span;
      }
    }
  }
}

struct Sizes {
  uint64_t stored = 0, raw = 0, chunks = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bytes per span of a trace block, by column"};
  int64_t spans = 500000;
  uint64_t seed = 1;
  std::string source = "corpus";
  block::BlockWriterOptions wo;
  int top = 40;
  int zstd_baseline = 3;
  int lookups = 0;
  app.add_option("--spans", spans, "spans (whole traces)")->capture_default_str();
  app.add_option("--seed", seed, "corpus / PRNG seed")->capture_default_str();
  app.add_option("--source", source,
                 "corpus (bench/traces_corpus.h) or realistic "
                 "(block_testing.h RealisticTrace)")
      ->capture_default_str();
  app.add_option("--page-target-spans", wo.page_target_spans)->capture_default_str();
  app.add_option("--zstd-level", wo.zstd_level)->capture_default_str();
  app.add_option("--bloom-fp", wo.bloom_false_positive_rate)->capture_default_str();
  app.add_option("--top", top, "attribute keys listed (largest first)")->capture_default_str();
  app.add_option("--baseline-level", zstd_baseline, "zstd level of the OTLP baseline")
      ->capture_default_str();
  app.add_option("--lookups", lookups, "FindTrace calls timed on the block (0: none)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::map<std::string, TracesData> traces;
  if (source == "corpus") {
    sprout::bench::TracesCorpusOptions co;
    co.seed = seed;
    sprout::bench::TracesCorpus corpus(co);
    sprout::otlp::pb::trace_service::ExportTraceServiceRequest req;
    while (corpus.spans() < spans) {
      corpus.NextBatch(1000, &req);
      SplitBatch(req, &traces);
    }
  } else if (source == "realistic") {
    std::mt19937_64 rng(seed);
    int64_t n = 0;
    while (n < spans) {
      std::string id = block::testing::TraceId(rng);
      TracesData td = block::testing::RealisticTrace(rng, id);
      for (const auto& rs : td.resource_spans())
        for (const auto& ss : rs.scope_spans()) n += ss.spans_size();
      traces[id] = std::move(td);
    }
  } else {
    std::fprintf(stderr, "unknown --source %s\n", source.c_str());
    return 2;
  }

  // The OTLP baseline: the traces' TracesData bytes, concatenated, one zstd frame.
  std::string otlp;
  for (const auto& [id, td] : traces) td.AppendToString(&otlp);
  std::string z(ZSTD_compressBound(otlp.size()), '\0');
  const size_t zn = ZSTD_compress(z.data(), z.size(), otlp.data(), otlp.size(), zstd_baseline);

  const auto t0 = std::chrono::steady_clock::now();
  block::BlockWriter writer(wo);
  for (const auto& [id, td] : traces) {
    if (absl::Status s = writer.Add(id, td); !s.ok()) {
      std::fprintf(stderr, "Add: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  sprout::objstore::MemoryObjectStore store;
  absl::StatusOr<block::BlockMeta> meta = writer.Finish(&store, "t", "b");
  if (!meta.ok()) {
    std::fprintf(stderr, "Finish: %s\n", meta.status().ToString().c_str());
    return 1;
  }
  const double n = static_cast<double>(meta->span_count);
  const double write_secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  absl::StatusOr<std::string> got = store.Get(block::BlockKey("t", "b", block::kIndexObject));
  if (!got.ok()) {
    std::fprintf(stderr, "index: %s\n", got.status().ToString().c_str());
    return 1;
  }
  const std::string& index = *got;

  // Walk the index (docs/format/traces-block.md "index").
  std::vector<Sizes> fixed(fmt_::kColCount);
  std::map<std::pair<int, std::string>, Sizes> attr;      // (scope, key)
  std::map<std::pair<int, std::string>, Sizes> attr_ids;  // (scope, key): kSubStr only
  std::array<Sizes, fmt_::kSubCount> subs{};
  uint64_t dir_bytes = 0, key_table_bytes = 0;
  fmt_::Decoder d(std::string_view(index).substr(8, index.size() - 12));
  uint64_t pages = 0;
  d.Uvarint(&pages);
  for (uint64_t p = 0; p < pages && d.ok(); ++p) {
    std::string_view ids;
    d.Raw(32, &ids);
    for (int i = 0; i < 10; ++i) {
      uint64_t v;
      d.Uvarint(&v);
    }
    const char* kt0 = d.pos();
    std::vector<std::vector<std::string>> keys(fmt_::kScopes);
    for (int s = 0; s < fmt_::kScopes; ++s) {
      uint64_t k = 0;
      d.Uvarint(&k);
      for (uint64_t i = 0; i < k; ++i) {
        std::string_view key;
        d.Bytes(&key);
        keys[s].emplace_back(key);
      }
    }
    key_table_bytes += static_cast<uint64_t>(d.pos() - kt0);
    uint64_t count = 0;
    d.Uvarint(&count);
    const char* dir0 = d.pos();
    for (uint64_t c = 0; c < count && d.ok(); ++c) {
      std::string_view b;
      d.Raw(1, &b);
      const uint8_t scope = static_cast<uint8_t>(b[0]);
      uint64_t key = 0;
      if (scope != fmt_::kFixedScope) d.Uvarint(&key);
      d.Raw(1, &b);
      const uint8_t sub = static_cast<uint8_t>(b[0]);
      uint64_t off = 0, stored = 0, raw = 0;
      uint32_t crc = 0;
      d.Uvarint(&off);
      d.Uvarint(&stored);
      d.Uvarint(&raw);
      d.Fixed32(&crc);
      Sizes* sz;
      if (scope == fmt_::kFixedScope) {
        sz = &fixed[sub];
      } else {
        sz = &attr[{scope, keys[scope][key]}];
        if (sub == fmt_::kSubStr) {
          Sizes& ids_sz = attr_ids[{scope, keys[scope][key]}];
          ids_sz.stored += stored;
          ids_sz.raw += raw;
          ++ids_sz.chunks;
        }
        subs[sub].stored += stored;
        subs[sub].raw += raw;
        ++subs[sub].chunks;
      }
      sz->stored += stored;
      sz->raw += raw;
      ++sz->chunks;
    }
    dir_bytes += static_cast<uint64_t>(d.pos() - dir0);
  }
  if (!d.ok()) {
    std::fprintf(stderr, "index walk failed\n");
    return 1;
  }

  std::printf(
      "source %s seed %llu: %llu traces, %llu spans, %u pages (page_target_spans %u, "
      "zstd %d, bloom fp %g)\n",
      source.c_str(), static_cast<unsigned long long>(seed),
      static_cast<unsigned long long>(meta->trace_count),
      static_cast<unsigned long long>(meta->span_count), meta->page_count, wo.page_target_spans,
      wo.zstd_level, wo.bloom_false_positive_rate);
  std::printf("writer (Add + Finish, wall): %.0f spans/s\n", n / write_secs);
  std::printf("OTLP %.1f B/span, zstd -%d of it %.1f B/span\n", double(otlp.size()) / n,
              zstd_baseline, double(zn) / n);
  std::printf(
      "block %.2f B/span: data %.2f, index %.2f (chunk directory %.2f, key tables %.2f),"
      " bloom %.2f\n",
      double(meta->total_bytes()) / n, double(meta->data_bytes) / n, double(meta->index_bytes) / n,
      double(dir_bytes) / n, double(key_table_bytes) / n, double(meta->bloom_bytes) / n);

  std::printf("\nfixed columns (B/span stored, raw, chunks):\n");
  std::vector<int> order(fmt_::kColCount);
  for (int i = 0; i < fmt_::kColCount; ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](int a, int b) { return fixed[a].stored > fixed[b].stored; });
  uint64_t fixed_total = 0;
  for (int c : order) {
    fixed_total += fixed[c].stored;
    if (fixed[c].chunks == 0) continue;
    std::printf("  %-24s %7.2f %8.2f %6llu\n", kColNames[c], double(fixed[c].stored) / n,
                double(fixed[c].raw) / n, static_cast<unsigned long long>(fixed[c].chunks));
  }
  std::printf("  %-24s %7.2f\n", "(all fixed)", double(fixed_total) / n);

  std::printf("\nattribute sub-streams (B/span stored, raw, chunks):\n");
  const char* const kSubNames[] = {"type", "str", "str.dict", "int", "double", "bool", "raw"};
  uint64_t attr_total = 0;
  for (int s = 0; s < fmt_::kSubCount; ++s) {
    attr_total += subs[s].stored;
    std::printf("  %-24s %7.2f %8.2f %6llu\n", kSubNames[s], double(subs[s].stored) / n,
                double(subs[s].raw) / n, static_cast<unsigned long long>(subs[s].chunks));
  }
  std::printf("  %-24s %7.2f\n", "(all attributes)", double(attr_total) / n);

  std::printf(
      "\nattribute keys, largest first (B/span stored, raw, chunks; of it the string "
      "ids stored):\n");
  std::vector<std::pair<std::pair<int, std::string>, Sizes>> keys(attr.begin(), attr.end());
  std::sort(keys.begin(), keys.end(),
            [](const auto& a, const auto& b) { return a.second.stored > b.second.stored; });
  double by_scope[fmt_::kScopes] = {};
  for (const auto& [k, sz] : keys) by_scope[k.first] += double(sz.stored) / n;
  for (size_t i = 0; i < keys.size() && static_cast<int>(i) < top; ++i) {
    const auto& [k, sz] = keys[i];
    std::printf("  %-8s %-34s %7.2f %8.2f %6llu %7.2f\n", kScopeNames[k.first], k.second.c_str(),
                double(sz.stored) / n, double(sz.raw) / n,
                static_cast<unsigned long long>(sz.chunks), double(attr_ids[k].stored) / n);
  }
  // Span start encodings (a format change, measured, not written): the stream of each page (the
  // writer's page cut) as uvarints, zstd'd at the writer's level.
  {
    auto zsize = [&](const std::string& raw) {
      std::string out(ZSTD_compressBound(raw.size()), '\0');
      return ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), wo.zstd_level);
    };
    std::string cur, par, dur;
    uint64_t cur_z = 0, par_z = 0, page_spans = 0;
    auto flush = [&] {
      cur_z += zsize(cur);
      par_z += zsize(par);
      cur.clear();
      par.clear();
      page_spans = 0;
    };
    for (const auto& [id, td] : traces) {
      std::map<std::string, uint64_t> start_of;
      uint64_t t0 = UINT64_MAX;
      for (const auto& rs : td.resource_spans())
        for (const auto& ss : rs.scope_spans())
          for (const auto& sp : ss.spans()) {
            start_of[sp.span_id()] = sp.start_time_unix_nano();
            t0 = std::min<uint64_t>(t0, sp.start_time_unix_nano());
          }
      for (const auto& rs : td.resource_spans())
        for (const auto& ss : rs.scope_spans())
          for (const auto& sp : ss.spans()) {
            sprout::PutUvarint(cur, sp.start_time_unix_nano() - t0);
            auto it = start_of.find(sp.parent_span_id());
            const uint64_t base = it == start_of.end() ? t0 : it->second;
            sprout::PutUvarint(
                par, fmt_::ZigZag(static_cast<int64_t>(sp.start_time_unix_nano() - base)));
            ++page_spans;
          }
      if (page_spans >= wo.page_target_spans) flush();
    }
    flush();
    std::printf(
        "\nspan.start encodings (B/span, zstd -%d): offset from the trace start (v1) "
        "%.2f, zigzag offset from the parent's start %.2f\n",
        wo.zstd_level, double(cur_z) / n, double(par_z) / n);
  }
  // Trace by ID on this block (in memory: the page read and decode, no disk): --lookups IDs
  // spread over the block.
  if (lookups > 0) {
    absl::StatusOr<std::unique_ptr<block::BlockReader>> reader =
        block::BlockReader::Open(&store, "t", "b");
    if (!reader.ok()) {
      std::fprintf(stderr, "Open: %s\n", reader.status().ToString().c_str());
      return 1;
    }
    std::vector<const std::string*> ids;
    for (const auto& [id, td] : traces) ids.push_back(&id);
    std::vector<double> ms;
    for (int i = 0; i < lookups; ++i) {
      const std::string& id = *ids[static_cast<size_t>(i) * ids.size() / lookups];
      const auto l0 = std::chrono::steady_clock::now();
      auto found = (*reader)->FindTrace(id);
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - l0).count());
      if (!found.ok() || !found->has_value()) {
        std::fprintf(stderr, "FindTrace failed\n");
        return 1;
      }
    }
    std::sort(ms.begin(), ms.end());
    std::printf("\nFindTrace (memory store, %d IDs): p50 %.2f ms, p99 %.2f ms\n", lookups,
                ms[ms.size() / 2], ms[ms.size() * 99 / 100]);
  }
  std::printf("by scope:");
  for (int s = 0; s < fmt_::kScopes; ++s) std::printf(" %s %.2f", kScopeNames[s], by_scope[s]);
  std::printf("\n");
  return 0;
}
