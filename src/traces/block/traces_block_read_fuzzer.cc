// libFuzzer target for trace block reading (tests/fuzz/README.md): any bytes as a block's
// objects (block_fuzz_input.h) either fail BlockReader::Open or the reads with an error, or
// read; never a crash, hang or allocation beyond a small multiple of the input. When the block
// opens, every read path runs: FindTrace for its pages' bounds and a fixed ID, ForEachTrace,
// ReadTraceRows, the search methods, ReadTraces, AttributeKeys and AttributeValues. Mode 5 is a
// differential check of the writer: any parseable TracesData reads back equal.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "google/protobuf/util/message_differencer.h"
#include "objstore/memory.h"
#include "traces/block/block.h"
#include "traces/block/block_fuzz_input.h"
#include "traces/block/block_testing.h"

namespace blk = sprout::traces::block;

namespace {

constexpr char kTenant[] = "t";
constexpr char kId[] = "01HQ0000000000000000000000";

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "traces_block_read_fuzzer: %s\n", what);
  std::abort();
}

struct Fixed {
  std::string meta, index, bloom, data;
};

const Fixed& FixedBlock() {
  static const Fixed* fixed = [] {
    std::mt19937_64 rng(42);
    std::map<std::string, opentelemetry::proto::trace::v1::TracesData> traces;
    for (int i = 0; i < 6; ++i) {
      std::string id = blk::testing::TraceId(rng);
      traces[id] = blk::testing::RandomTrace(rng, id, {.max_spans = 4});
    }
    blk::BlockWriterOptions opts;
    opts.page_target_spans = 8;
    blk::BlockWriter w(opts);
    for (const auto& [id, td] : traces) {
      if (!w.Add(id, td).ok()) std::abort();
    }
    sprout::objstore::MemoryObjectStore store;
    if (!w.Finish(&store, kTenant, kId).ok()) std::abort();
    auto* f = new Fixed;
    f->meta = *store.Get(blk::BlockKey(kTenant, kId, blk::kMetaObject));
    f->index = *store.Get(blk::BlockKey(kTenant, kId, blk::kIndexObject));
    f->bloom = *store.Get(blk::BlockKey(kTenant, kId, blk::kBloomObject));
    f->data = *store.Get(blk::BlockKey(kTenant, kId, blk::kDataObject));
    return f;
  }();
  return *fixed;
}

void Exercise(const blk::BlockReader& r) {
  using AS = blk::AttrScope;
  (void)r.FindTrace(std::string(16, '\x01'));
  for (const blk::PageInfo& p : r.pages()) {
    (void)r.FindTrace(p.min_trace_id);
    (void)r.FindTrace(p.max_trace_id);
  }
  (void)r.ForEachTrace([](std::string_view, opentelemetry::proto::trace::v1::TracesData&&) {
    return absl::OkStatus();
  });
  for (size_t page = 0; page < r.pages().size() && page < 8; ++page) {
    (void)r.ReadTraceRows(page);
    (void)r.TracesWithSpanName(page, "op-1");
    (void)r.TracesWithStatus(page, opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR);
    (void)r.ReadTraces(page, {0, 1});
    for (AS s : {AS::kResource, AS::kSpan, AS::kEvent, AS::kLink, AS::kScope}) {
      for (const std::string& k : r.AttributeKeys(s)) {
        (void)r.TracesWithAttribute(page, s, k, "1");
        (void)r.TracesWithAttribute(page, s, k, "svc-1");
        (void)r.AttributeValues(s, k, 10);
      }
    }
  }
}

// Mode 5: the payload as a trace, written and read back.
void RoundTrip(std::string_view in) {
  opentelemetry::proto::trace::v1::TracesData td;
  if (!td.ParseFromArray(in.data(), static_cast<int>(in.size()))) return;
  td.DiscardUnknownFields();
  const std::string id(16, '\x07');
  for (auto& rs : *td.mutable_resource_spans()) {
    for (auto& ss : *rs.mutable_scope_spans()) {
      for (auto& s : *ss.mutable_spans()) s.set_trace_id(id);
    }
  }
  blk::BlockWriter w;
  if (!w.Add(id, td).ok()) Fail("Add refused a valid trace");
  sprout::objstore::MemoryObjectStore store;
  if (!w.Finish(&store, kTenant, kId).ok()) Fail("Finish failed");
  auto reader = blk::BlockReader::Open(&store, kTenant, kId);
  if (!reader.ok()) Fail("a written block does not open");
  auto got = (*reader)->FindTrace(id);
  if (!got.ok() || !got->has_value()) Fail("a written trace is not found");
  if (!google::protobuf::util::MessageDifferencer::Equals(**got, td)) {
    Fail("a written trace reads back different");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const int mode = data[0] % 6;
  if (mode == 5) {
    RoundTrip(in);
    return 0;
  }
  Fixed objs;
  if (mode <= 1 || mode == 4) {
    std::vector<std::string> o = blk::fuzz::Unpack(in, 4);
    objs = {o[0], o[1], o[2], o[3]};
    if (mode != 0) {
      if (mode == 4) blk::fuzz::FixChunkCrcs(objs.index, objs.data);
      blk::fuzz::FixCrc(objs.index);
      blk::fuzz::FixCrc(objs.bloom);
    }
  } else {
    objs = FixedBlock();
    if (mode == 2) {
      objs.data.assign(in);
    } else {
      objs.index.assign(in);
      blk::fuzz::FixCrc(objs.index);
    }
  }
  sprout::objstore::MemoryObjectStore store;
  (void)store.Put(blk::BlockKey(kTenant, kId, blk::kMetaObject), objs.meta);
  (void)store.Put(blk::BlockKey(kTenant, kId, blk::kIndexObject), objs.index);
  (void)store.Put(blk::BlockKey(kTenant, kId, blk::kBloomObject), objs.bloom);
  (void)store.Put(blk::BlockKey(kTenant, kId, blk::kDataObject), objs.data);
  auto reader = blk::BlockReader::Open(&store, kTenant, kId);
  if (reader.ok()) Exercise(**reader);
  (void)blk::ListBlocks(&store, kTenant);
  return 0;
}
