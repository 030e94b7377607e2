// The worked example of docs/format/metrics-block.md, byte for byte: if this test changes, the
// document changes in the same commit.
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "metrics/tsdb/block/reader.h"
#include "metrics/tsdb/block/writer.h"
#include "metrics/tsdb/chunkenc/float_chunk.h"
#include "objstore/memory.h"
#include "storage/fault_injection_env.h"

namespace sprout::metrics::tsdb {
namespace {

std::string Hex(std::string_view bytes) {
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    absl::StrAppend(&out, i % 16 == 0 ? (i == 0 ? "" : "\n") : " ");
    char buf[3];
    std::snprintf(buf, sizeof(buf), "%02x", static_cast<uint8_t>(bytes[i]));
    out += buf;
  }
  return out;
}

// The example block: two series of `up`, one chunk each.
struct Example {
  storage::FaultInjectionEnv env;
  std::unique_ptr<BlockWriter> writer;
  std::string up_api;  // chunk payloads
  std::string up_db;

  Example() {
    chunkenc::FloatChunk a;
    EXPECT_TRUE(a.Append(1700000000000, 1));
    EXPECT_TRUE(a.Append(1700000015000, 1));
    up_api = std::string(a.bytes());
    chunkenc::FloatChunk b;
    EXPECT_TRUE(b.Append(1700000000000, 0));
    up_db = std::string(b.bytes());

    BlockWriterOptions options;
    options.ulid = Ulid(1700000000000, 0, 1);
    options.min_time = 1700000000000;
    options.max_time = 1700007200000;
    writer = *BlockWriter::Create(&env, "/tmp/example", options);
    const ChunkMeta api[] = {{1700000000000, 1700000015000, chunkenc::Encoding::kXor, up_api}};
    const ChunkMeta db[] = {{1700000000000, 1700000000000, chunkenc::Encoding::kXor, up_db}};
    EXPECT_TRUE(writer->AddSeries(Labels::FromStrings({"__name__", "up", "job", "api"}), api).ok());
    EXPECT_TRUE(writer->AddSeries(Labels::FromStrings({"__name__", "up", "job", "db"}), db).ok());
    EXPECT_TRUE(writer->Finish().ok());
  }
};

TEST(BlockFormatExample, ChunksSegmentBytes) {
  Example ex;
  const std::string segment = *ex.env.ReadFile("/tmp/example/chunks/000001");
  // Header, then the record of up{job="api"} at offset 8 and of up{job="db"} at offset 33.
  EXPECT_EQ(Hex(segment),
            "53 50 43 4b 01 00 00 00 13 01 02 00 80 a0 ab fe\n"
            "f9 62 3f f0 00 00 00 00 00 00 98 75 00 b2 47 01\n"
            "d5 10 01 01 00 80 a0 ab fe f9 62 00 00 00 00 00\n"
            "00 00 00 84 54 67 f9");
}

TEST(BlockFormatExample, IndexBytes) {
  Example ex;
  const std::string index = *ex.env.ReadFile("/tmp/example/index");
  EXPECT_EQ(Hex(index),
            "53 50 49 58 01 00 00 00 05 08 5f 5f 6e 61 6d 65\n"
            "5f 5f 03 61 70 69 02 64 62 03 6a 6f 62 02 75 70\n"
            "54 96 1d c0 14 02 00 04 03 01 01 80 a0 ab fe f9\n"
            "62 98 75 01 88 80 80 80 10 13 02 00 04 03 02 01\n"
            "80 a0 ab fe f9 62 00 01 a1 80 80 80 10 41 5d 5a\n"
            "07 02 10 00 f6 00 ce 10 02 00 01 01 00 01 01 9d\n"
            "ed a5 6f 02 00 01 04 00 03 02 01 03 01 02 67 ed\n"
            "91 d5 08 00 00 00 00 00 00 00 18 00 00 00 00 00\n"
            "00 00 24 00 00 00 00 00 00 00 29 00 00 00 00 00\n"
            "00 00 51 00 00 00 00 00 00 00 03 00 00 00 00 00\n"
            "00 00 58 00 00 00 00 00 00 00 07 00 00 00 00 00\n"
            "00 00 63 00 00 00 00 00 00 00 0b 00 00 00 00 00\n"
            "00 00 a6 5b fe a3");
}

TEST(BlockFormatExample, MetaJson) {
  Example ex;
  EXPECT_EQ(*ex.env.ReadFile("/tmp/example/meta.json"),
            "{\n"
            "\t\"ulid\": \"01HF7YAT000000000000000001\",\n"
            "\t\"minTime\": 1700000000000,\n"
            "\t\"maxTime\": 1700007200000,\n"
            "\t\"stats\": {\n"
            "\t\t\"numSamples\": 3,\n"
            "\t\t\"numFloatSamples\": 3,\n"
            "\t\t\"numHistogramSamples\": 0,\n"
            "\t\t\"numSeries\": 2,\n"
            "\t\t\"numChunks\": 2\n"
            "\t},\n"
            "\t\"compaction\": {\n"
            "\t\t\"level\": 1,\n"
            "\t\t\"sources\": [\n"
            "\t\t\t\"01HF7YAT000000000000000001\"\n"
            "\t\t]\n"
            "\t},\n"
            "\t\"version\": 1\n"
            "}\n");
}

TEST(BlockFormatExample, ReadsBackWithTheDocumentedRefs) {
  Example ex;
  objstore::MemoryObjectStore store(&ex.env);
  absl::StatusOr<std::string> prefix = ex.writer->Upload(&store, "anonymous");
  ASSERT_TRUE(prefix.ok());
  EXPECT_EQ(*prefix, "anonymous/01HF7YAT000000000000000001");
  auto r = BlockReader::Open(&store, *prefix);
  ASSERT_TRUE(r.ok()) << r.status();
  Labels labels;
  std::vector<ChunkMeta> chunks;
  ASSERT_TRUE((*r)->Series(1, &labels, &chunks).ok());
  EXPECT_EQ(labels.ToString(), "{__name__=\"up\", job=\"db\"}");
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].ref, 0x100000021u);  // segment 1, offset 33
  EXPECT_EQ(chunks[0].min_time, 1700000000000);
  EXPECT_EQ(chunks[0].max_time, 1700000000000);
  absl::StatusOr<BlockChunk> chunk = (*r)->ReadChunk(chunks[0].ref);
  ASSERT_TRUE(chunk.ok());
  EXPECT_EQ(chunk->payload, ex.up_db);
  std::vector<SeriesRef> refs;
  ASSERT_TRUE(ExpandPostings(*(*r)->Postings("__name__", "up"), &refs).ok());
  EXPECT_EQ(refs, (std::vector<SeriesRef>{0, 1}));
}

}  // namespace
}  // namespace sprout::metrics::tsdb
