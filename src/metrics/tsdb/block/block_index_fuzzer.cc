// libFuzzer target for block reading (tests/fuzz/README.md): a corrupt block is an error, never
// a crash, hang or huge allocation.
//
// Byte 0 picks the mode (mod 6):
//   0: the rest is an `index` file: IndexReader::Open, then every read path (ExerciseIndex);
//   1: the same after fixing the section and table-of-contents CRCs, so the bytes reach the
//      structural checks behind them;
//   2: the rest replaces chunks/000001 of a fixed valid block (three series, one chunk of each
//      encoding): every chunk the index names and chunks at offsets taken from the input's first
//      bytes are read and decoded to the end;
//   3: the rest replaces the fixed block's meta.json: BlockReader::Open succeeds or says why not,
//      and an opened block reads as in mode 2;
//   4: the rest is a whole block (block_testing::PackBlock: meta.json, index and chunk segments
//      behind markers), opened by BlockReader::Open and read as the querier reads it: every
//      series' chunks (refs into any segment, at any offset) read and decoded, every index path;
//   5: the same after fixing the index's CRCs (chunk refs, series entries and postings mutated
//      behind valid CRCs).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/tsdb/block/reader.h"
#include "metrics/tsdb/block/testing.h"
#include "objstore/memory.h"
#include "storage/fault_injection_env.h"

namespace tsdb = sprout::metrics::tsdb;

namespace {

struct Fixture {
  sprout::storage::FaultInjectionEnv env;
  sprout::objstore::MemoryObjectStore store{&env};
  std::string prefix;
  Fixture() {
    auto p = tsdb::block_testing::WriteFuzzBlock(&env, "/tmp/fuzz", &store);
    if (!p.ok()) std::abort();
    prefix = *p;
  }
};

Fixture& GetFixture() {
  static Fixture* f = new Fixture();
  return *f;
}

void ReadChunk(const tsdb::BlockReader& r, tsdb::ChunkRef ref) {
  absl::StatusOr<tsdb::BlockChunk> chunk = r.ReadChunk(ref);
  if (!chunk.ok()) return;
  auto it = chunk->NewIterator();
  int n = 0;
  while (it->Next() != sprout::metrics::chunkenc::ValueType::kNone) {
    if (++n > 65535) std::abort();  // at most the header's count
  }
}

// Every series' chunks (series capped so that a huge claimed count stays quick).
void ReadAllChunks(const tsdb::BlockReader& r, bool must_succeed) {
  const uint64_t series = std::min<uint64_t>(r.index().num_series(), 2000);
  for (tsdb::SeriesRef ref = 0; ref < series; ++ref) {
    std::vector<tsdb::ChunkMeta> chunks;
    if (!r.Series(ref, nullptr, &chunks).ok()) {
      if (must_succeed) std::abort();
      continue;
    }
    for (const tsdb::ChunkMeta& c : chunks) ReadChunk(r, c.ref);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int mode = data[0] % 6;
  std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (mode == 0 || mode == 1) {
    if (mode == 1) tsdb::block_testing::FixIndexCrcs(&rest);
    absl::StatusOr<std::unique_ptr<tsdb::IndexReader>> r = tsdb::IndexReader::Open(rest);
    if (r.ok()) tsdb::block_testing::ExerciseIndex(**r);
    return 0;
  }
  if (mode == 4 || mode == 5) {
    sprout::storage::FaultInjectionEnv env;
    sprout::objstore::MemoryObjectStore store{&env};
    if (!tsdb::block_testing::UnpackBlock(rest, mode == 5, &store, "t/b").ok()) std::abort();
    absl::StatusOr<std::unique_ptr<tsdb::BlockReader>> r = tsdb::BlockReader::Open(&store, "t/b");
    if (!r.ok()) return 0;
    tsdb::block_testing::ExerciseIndex((*r)->index());
    ReadAllChunks(**r, false);
    return 0;
  }
  Fixture& f = GetFixture();
  const std::string key = f.prefix + (mode == 2 ? "/chunks/000001" : "/meta.json");
  absl::StatusOr<std::string> original = f.store.Get(key);
  if (!original.ok() || !f.store.Put(key, rest).ok()) std::abort();
  absl::StatusOr<std::unique_ptr<tsdb::BlockReader>> r =
      tsdb::BlockReader::Open(&f.store, f.prefix);
  if (mode == 2 && !r.ok()) std::abort();  // the index and meta.json are intact
  if (r.ok()) {
    ReadAllChunks(**r, true);
    for (size_t i = 1; i + 2 <= size && i < 9; i += 2) {
      const uint32_t offset = data[i] | (uint32_t{data[i + 1]} << 8);
      ReadChunk(**r, tsdb::MakeChunkRef(1, offset));
    }
  }
  if (!f.store.Put(key, *original).ok()) std::abort();
  return 0;
}
