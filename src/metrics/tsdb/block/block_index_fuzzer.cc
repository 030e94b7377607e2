// libFuzzer target for block reading (tests/fuzz/README.md): a corrupt block is an error, never
// a crash, hang or huge allocation.
//
// Byte 0 picks the mode (mod 3):
//   0: the rest is an `index` file: IndexReader::Open, then every read path (ExerciseIndex);
//   1: the same after fixing the section and table-of-contents CRCs, so the bytes reach the
//      structural checks behind them;
//   2: the rest replaces chunks/000001 of a fixed valid block (three series, one chunk of each
//      encoding): every chunk the index names and chunks at offsets taken from the input's first
//      bytes are read and decoded to the end.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int mode = data[0] % 3;
  std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (mode == 0 || mode == 1) {
    if (mode == 1) tsdb::block_testing::FixIndexCrcs(&rest);
    absl::StatusOr<std::unique_ptr<tsdb::IndexReader>> r = tsdb::IndexReader::Open(rest);
    if (r.ok()) tsdb::block_testing::ExerciseIndex(**r);
    return 0;
  }
  Fixture& f = GetFixture();
  if (!f.store.Put(f.prefix + "/chunks/000001", rest).ok()) std::abort();
  absl::StatusOr<std::unique_ptr<tsdb::BlockReader>> r =
      tsdb::BlockReader::Open(&f.store, f.prefix);
  if (!r.ok()) std::abort();  // the index and meta.json are intact
  for (tsdb::SeriesRef ref = 0; ref < (*r)->index().num_series(); ++ref) {
    std::vector<tsdb::ChunkMeta> chunks;
    if (!(*r)->Series(ref, nullptr, &chunks).ok()) std::abort();
    for (const tsdb::ChunkMeta& c : chunks) ReadChunk(**r, c.ref);
  }
  for (size_t i = 1; i + 2 <= size && i < 9; i += 2) {
    const uint32_t offset = data[i] | (uint32_t{data[i + 1]} << 8);
    ReadChunk(**r, tsdb::MakeChunkRef(1, offset));
  }
  return 0;
}
