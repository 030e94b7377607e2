// The per-tenant bucket index (bucket_index.h): its bytes in Mimir's format, a hand-written
// Mimir index read from its documented fields, the listing it is rebuilt from, and the readers'
// gate (not synced, missing, damaged, stale, failed Get/Put → fall back to a listing).
#include "metrics/tsdb/block/bucket_index.h"

#include <zlib.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/tsdb/block/meta.h"
#include "metrics/tsdb/block/writer.h"
#include "objstore/fault_injection.h"
#include "objstore/memory.h"

namespace sprout::metrics::tsdb {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// gzip written here with zlib directly (not through EncodeBucketIndex), as another tool would.
std::string Gzip(std::string_view data) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string Gunzip(std::string_view gz) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string out(1 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

Ulid U(uint64_t ms, uint64_t lo) { return Ulid(ms, 0, lo); }

BucketIndex Sample() {
  BucketIndex idx;
  BucketIndexBlock a;
  a.ulid = U(1700000000000, 2);
  a.min_time = 1700000000000;
  a.max_time = 1700007200000;
  a.uploaded_at = 1700007300;
  a.segments_format = "1b6d";
  a.segments_num = 2;
  a.compaction_level = 1;
  BucketIndexBlock b;
  b.ulid = U(1700000000000, 1);
  b.min_time = -7200000;
  b.max_time = 0;
  b.uploaded_at = 5;
  b.compactor_shard_id = "1_of_4";
  b.source = "compactor";
  b.compaction_level = 3;
  b.out_of_order = true;
  b.labels = {{"__compactor_shard_id__", "1_of_4"}, {"region", "eu"}};
  idx.blocks = {a, b};
  idx.block_deletion_marks = {{U(1700000000000, 1), 1700009000}};
  idx.updated_at = 1700009999;
  return idx;
}

TEST(BucketIndex, JsonIsMimirsLayout) {
  // Field names and order of Mimir's bucketindex.Index / Block / BlockDeletionMark; blocks
  // sorted by ULID; optional fields left out when empty (Go's omitempty).
  BucketIndex idx = Sample();
  const std::string a = U(1700000000000, 2).ToString();
  const std::string b = U(1700000000000, 1).ToString();
  EXPECT_EQ(
      BucketIndexToJson(idx),
      absl::StrCat(
          R"({"version":2,"blocks":[{"block_id":")", b,
          R"(","min_time":-7200000,"max_time":0,"uploaded_at":5,)",
          R"("compactor_shard_id":"1_of_4","source":"compactor","compaction_level":3,)",
          R"("out_of_order":true,"labels":{"__compactor_shard_id__":"1_of_4","region":"eu"}},)",
          R"({"block_id":")", a,
          R"(","min_time":1700000000000,"max_time":1700007200000,"segments_format":"1b6d",)",
          R"("segments_num":2,"uploaded_at":1700007300,"compaction_level":1}],)",
          R"("block_deletion_marks":[{"block_id":")", b,
          R"(","deletion_time":1700009000}],"updated_at":1700009999})"));
}

TEST(BucketIndex, RoundTripThroughGzip) {
  BucketIndex idx = Sample();
  absl::StatusOr<std::string> gz = EncodeBucketIndex(idx);
  ASSERT_TRUE(gz.ok()) << gz.status();
  // A gzip member (RFC 1952 magic), as Mimir's writer produces.
  ASSERT_GE(gz->size(), 18u);
  EXPECT_EQ(static_cast<unsigned char>((*gz)[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>((*gz)[1]), 0x8b);
  EXPECT_EQ(Gunzip(*gz), BucketIndexToJson(idx));
  absl::StatusOr<BucketIndex> back = DecodeBucketIndex(*gz);
  ASSERT_TRUE(back.ok()) << back.status();
  BucketIndex sorted = idx;
  std::swap(sorted.blocks[0], sorted.blocks[1]);  // parse sorts by ULID
  EXPECT_EQ(*back, sorted);

  BucketIndex empty;
  empty.updated_at = 1;
  EXPECT_EQ(BucketIndexToJson(empty),
            R"({"version":2,"blocks":[],"block_deletion_marks":[],"updated_at":1})");
  absl::StatusOr<BucketIndex> e = DecodeBucketIndex(*EncodeBucketIndex(empty));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, empty);
}

TEST(BucketIndex, ReadsAHandWrittenMimirIndex) {
  // As Mimir (version 1, before compactor_shard_id) documents it: blocks with block_id,
  // min_time, max_time, segments_format, segments_num, uploaded_at; deletion marks with
  // block_id and deletion_time; updated_at in seconds. Pretty-printed, unknown field, nulls.
  const std::string json = R"({
    "version": 1,
    "blocks": [
      {"block_id": "01FSHJNRBEPRTSZ5JQ8FM1X3B8", "min_time": 1642032000000,
       "max_time": 1642118400000, "segments_format": "1b6d", "segments_num": 3,
       "uploaded_at": 1642125652, "some_future_field": [1, 2]},
      {"block_id": "01fshjnrbeprtsz5jq8fm1x3b7", "min_time": 1642003200000,
       "max_time": 1642010400000, "uploaded_at": 1642010500, "labels": null}
    ],
    "block_deletion_marks": [
      {"block_id": "01FSHJNRBEPRTSZ5JQ8FM1X3B7", "deletion_time": 1642126000}
    ],
    "updated_at": 1642126500
  })";
  absl::StatusOr<BucketIndex> idx = DecodeBucketIndex(Gzip(json));
  ASSERT_TRUE(idx.ok()) << idx.status();
  EXPECT_EQ(idx->version, 1);
  EXPECT_EQ(idx->updated_at, 1642126500);
  ASSERT_EQ(idx->blocks.size(), 2u);
  // Sorted by ULID; lower-case IDs accepted as Go's ulid.Parse does.
  EXPECT_EQ(idx->blocks[0].ulid.ToString(), "01FSHJNRBEPRTSZ5JQ8FM1X3B7");
  EXPECT_EQ(idx->blocks[0].min_time, 1642003200000);
  EXPECT_EQ(idx->blocks[0].max_time, 1642010400000);
  EXPECT_EQ(idx->blocks[0].segments_format, "");
  EXPECT_EQ(idx->blocks[0].segments_num, 0);
  EXPECT_EQ(idx->blocks[1].ulid.ToString(), "01FSHJNRBEPRTSZ5JQ8FM1X3B8");
  EXPECT_EQ(idx->blocks[1].segments_format, "1b6d");
  EXPECT_EQ(idx->blocks[1].segments_num, 3);
  EXPECT_EQ(idx->blocks[1].uploaded_at, 1642125652);
  ASSERT_EQ(idx->block_deletion_marks.size(), 1u);
  EXPECT_EQ(idx->block_deletion_marks[0].deletion_time, 1642126000);
  BlockMeta m = MetaFromIndexBlock(idx->blocks[1]);
  EXPECT_EQ(m.ulid, idx->blocks[1].ulid);
  EXPECT_EQ(m.min_time, 1642032000000);
  EXPECT_EQ(m.max_time, 1642118400000);
  EXPECT_EQ(m.compaction_level, 1);
}

TEST(BucketIndex, DamagedIndexesAreDataLoss) {
  const std::string good = *EncodeBucketIndex(Sample());
  EXPECT_EQ(DecodeBucketIndex("").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeBucketIndex("{\"version\":2}").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeBucketIndex(good.substr(0, good.size() / 2)).status().code(),
            absl::StatusCode::kDataLoss);
  std::string flipped = good;
  flipped[good.size() - 6] ^= 0x40;  // the CRC-32 trailer or the last deflate bytes
  EXPECT_EQ(DecodeBucketIndex(flipped).status().code(), absl::StatusCode::kDataLoss);
  for (
      const char* json : {
          "[]",
          "{}",
          R"({"version":2,"blocks":{},"updated_at":1})",
          R"({"version":2,"blocks":[{"block_id":"nope","min_time":0,"max_time":1}],"updated_at":1})",
          R"({"version":2,"blocks":[{"block_id":"01FSHJNRBEPRTSZ5JQ8FM1X3B7","max_time":1}],"updated_at":1})",
          R"({"version":2,"blocks":[{"block_id":"01FSHJNRBEPRTSZ5JQ8FM1X3B7","min_time":2,"max_time":1}],"updated_at":1})",
          R"({"version":2,"blocks":[],"updated_at":"now"})",
          R"({"version":0,"blocks":[],"updated_at":1})",
      }) {
    EXPECT_EQ(DecodeBucketIndex(Gzip(json)).status().code(), absl::StatusCode::kDataLoss) << json;
  }
  EXPECT_EQ(DecodeBucketIndex(Gzip(R"({"version":3,"blocks":[],"updated_at":1})")).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // A block listed twice counts once.
  absl::StatusOr<BucketIndex> dup = DecodeBucketIndex(Gzip(
      R"({"version":2,"blocks":[{"block_id":"01FSHJNRBEPRTSZ5JQ8FM1X3B7","min_time":0,"max_time":1},)"
      R"({"block_id":"01FSHJNRBEPRTSZ5JQ8FM1X3B7","min_time":0,"max_time":2}],"updated_at":1})"));
  ASSERT_TRUE(dup.ok()) << dup.status();
  ASSERT_EQ(dup->blocks.size(), 1u);
  EXPECT_EQ(dup->blocks[0].max_time, 2);
}

// A block as the bucket holds it (meta.json last); `segments` chunk files.
void PutBlock(objstore::ObjectStore* store, const std::string& prefix, const Ulid& u, int64_t mint,
              int64_t maxt, int segments, int level = 1) {
  BlockMeta m;
  m.ulid = u;
  m.min_time = mint;
  m.max_time = maxt;
  m.compaction_level = level;
  m.sources = {u};
  const std::string block = BlockPrefix(prefix, u);
  for (int s = 1; s <= segments; ++s) {
    ASSERT_TRUE(
        store->Put(absl::StrCat(block, "/chunks/", block_format::SegmentName(s)), "x").ok());
  }
  ASSERT_TRUE(store->Put(block + "/index", "x").ok());
  ASSERT_TRUE(store->Put(block + "/meta.json", MetaToJson(m)).ok());
}

class TenantBucketIndexTest : public ::testing::Test {
 protected:
  TenantBucketIndexTest() : store_(storage::Env::Default(), &clock_), faulty_(&store_) {}

  TenantBucketIndex MakeIndex() {
    TenantBucketIndexOptions o;
    o.now = [this] { return clock_.Now(); };
    o.on_failure = [this](std::string_view op, const absl::Status&) {
      failures_.push_back(std::string(op));
    };
    o.on_fallback = [this](std::string_view reason) { fallbacks_.push_back(std::string(reason)); };
    return TenantBucketIndex(&faulty_, "t", o);
  }

  std::vector<Ulid> FromIndex(TenantBucketIndex& idx) {
    absl::StatusOr<BucketIndex> read = idx.ReadForListing();
    std::vector<Ulid> out;
    if (read.ok()) {
      for (const auto& b : read->blocks) out.push_back(b.ulid);
    }
    return out;
  }

  ManualClock clock_{absl::FromUnixSeconds(1700000000)};
  objstore::MemoryObjectStore store_;
  objstore::FaultInjectionObjectStore faulty_;
  std::vector<std::string> failures_;
  std::vector<std::string> fallbacks_;
};

TEST_F(TenantBucketIndexTest, ResyncListsCompleteBlocksOnly) {
  const Ulid a = U(1, 1), b = U(2, 2), partial = U(3, 3);
  PutBlock(&store_, "t", a, 0, 7200000, 2);
  PutBlock(&store_, "t", b, 7200000, 14400000, 1, 2);
  ASSERT_TRUE(store_.Put(BlockPrefix("t", partial) + "/index", "x").ok());  // no meta.json
  ASSERT_TRUE(store_.Put("t/not-a-block/meta.json", "{}").ok());
  PutBlock(&store_, "other", U(4, 4), 0, 1, 1);

  TenantBucketIndex idx = MakeIndex();
  EXPECT_FALSE(idx.synced());
  ASSERT_TRUE(idx.Resync().ok());
  EXPECT_TRUE(idx.synced());
  absl::StatusOr<BucketIndex> read = ReadBucketIndex(&store_, "t");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->version, 2);
  EXPECT_EQ(read->updated_at, 1700000000);
  ASSERT_EQ(read->blocks.size(), 2u);
  EXPECT_EQ(read->blocks[0].ulid, a);
  EXPECT_EQ(read->blocks[0].min_time, 0);
  EXPECT_EQ(read->blocks[0].max_time, 7200000);
  EXPECT_EQ(read->blocks[0].segments_format, "1b6d");
  EXPECT_EQ(read->blocks[0].segments_num, 2);
  EXPECT_EQ(read->blocks[0].uploaded_at, 1700000000);  // meta.json's last-modified
  EXPECT_EQ(read->blocks[0].compaction_level, 1);
  EXPECT_EQ(read->blocks[1].ulid, b);
  EXPECT_EQ(read->blocks[1].compaction_level, 2);
  EXPECT_THAT(read->block_deletion_marks, IsEmpty());
  EXPECT_THAT(FromIndex(idx), ElementsAre(a, b));
  EXPECT_THAT(failures_, IsEmpty());
  EXPECT_THAT(fallbacks_, IsEmpty());
}

TEST_F(TenantBucketIndexTest, UpdatesApplyChangesWithoutListing) {
  const Ulid a = U(1, 1), b = U(2, 2), c = U(3, 3);
  PutBlock(&store_, "t", a, 0, 7200000, 1);
  TenantBucketIndex idx = MakeIndex();
  ASSERT_TRUE(idx.Resync().ok());
  const int64_t lists = faulty_.stats().lists;
  PutBlock(&store_, "t", b, 7200000, 14400000, 1);
  BlockMeta mb;
  mb.ulid = b;
  mb.min_time = 7200000;
  mb.max_time = 14400000;
  std::vector<BucketIndexBlock> added = {IndexBlockFromMeta(mb, 1, clock_.Now())};
  ASSERT_TRUE(idx.Update(added, {}).ok());
  EXPECT_THAT(FromIndex(idx), ElementsAre(a, b));
  // A compaction: c replaces a and b.
  PutBlock(&store_, "t", c, 0, 14400000, 1, 2);
  BlockMeta mc = mb;
  mc.ulid = c;
  mc.min_time = 0;
  added = {IndexBlockFromMeta(mc, 1, clock_.Now())};
  ASSERT_TRUE(idx.Update(added, {}).ok());
  ASSERT_TRUE(store_.DeletePrefix(BlockPrefix("t", a) + "/").ok());
  ASSERT_TRUE(store_.DeletePrefix(BlockPrefix("t", b) + "/").ok());
  std::vector<Ulid> removed = {a, b};
  ASSERT_TRUE(idx.Update({}, removed).ok());
  EXPECT_THAT(FromIndex(idx), ElementsAre(c));
  EXPECT_EQ(faulty_.stats().lists, lists);  // no listing after the first
  // The index and a fresh listing agree.
  absl::StatusOr<BucketIndex> rebuilt = BuildBucketIndex(&store_, "t", nullptr, clock_.Now());
  ASSERT_TRUE(rebuilt.ok());
  ASSERT_EQ(rebuilt->blocks.size(), 1u);
  EXPECT_EQ(rebuilt->blocks[0].ulid, c);
}

TEST_F(TenantBucketIndexTest, FirstUpdateInAProcessResyncs) {
  // A crash between a block's upload and its index update: the file lacks the block. The next
  // process trusts nothing it did not list: its first Update lists the bucket.
  const Ulid a = U(1, 1), b = U(2, 2);
  PutBlock(&store_, "t", a, 0, 7200000, 1);
  {
    TenantBucketIndex before_crash = MakeIndex();
    ASSERT_TRUE(before_crash.Resync().ok());
  }
  PutBlock(&store_, "t", b, 7200000, 14400000, 1);  // then the crash
  TenantBucketIndex idx = MakeIndex();
  EXPECT_THAT(FromIndex(idx), IsEmpty());  // not synced: the reader lists instead
  EXPECT_THAT(fallbacks_, ElementsAre("not_synced"));
  absl::StatusOr<std::vector<Ulid>> listed = ListBlocksPreferIndex(&faulty_, "t", &idx);
  ASSERT_TRUE(listed.ok());
  EXPECT_THAT(*listed, ElementsAre(a, b));
  const Ulid c = U(3, 3);
  PutBlock(&store_, "t", c, 14400000, 21600000, 1);
  BlockMeta mc;
  mc.ulid = c;
  mc.min_time = 14400000;
  mc.max_time = 21600000;
  std::vector<BucketIndexBlock> added = {IndexBlockFromMeta(mc, 1, clock_.Now())};
  ASSERT_TRUE(idx.Update(added, {}).ok());
  EXPECT_THAT(FromIndex(idx), ElementsAre(a, b, c));
}

TEST_F(TenantBucketIndexTest, ReadersFallBackWhenMissingDamagedOrStale) {
  const Ulid a = U(1, 1);
  PutBlock(&store_, "t", a, 0, 7200000, 1);
  TenantBucketIndex idx = MakeIndex();
  ASSERT_TRUE(idx.Resync().ok());
  EXPECT_THAT(FromIndex(idx), ElementsAre(a));

  // Stale: older than the max stale period (1h by default).
  clock_.Advance(absl::Minutes(59));
  EXPECT_THAT(FromIndex(idx), ElementsAre(a));
  clock_.Advance(absl::Minutes(2));
  EXPECT_THAT(FromIndex(idx), IsEmpty());
  EXPECT_THAT(fallbacks_, ElementsAre("stale"));
  bool from_index = true;
  absl::StatusOr<std::vector<Ulid>> listed =
      ListBlocksPreferIndex(&faulty_, "t", &idx, &from_index);
  ASSERT_TRUE(listed.ok());
  EXPECT_THAT(*listed, ElementsAre(a));
  EXPECT_FALSE(from_index);
  ASSERT_TRUE(idx.Resync().ok());  // the periodic rewrite
  EXPECT_THAT(FromIndex(idx), ElementsAre(a));

  // Damaged.
  fallbacks_.clear();
  ASSERT_TRUE(store_.Put("t/bucket-index.json.gz", "not gzip").ok());
  EXPECT_THAT(FromIndex(idx), IsEmpty());
  // Missing.
  ASSERT_TRUE(store_.Delete("t/bucket-index.json.gz").ok());
  EXPECT_THAT(FromIndex(idx), IsEmpty());
  EXPECT_THAT(fallbacks_, ElementsAre("damaged", "missing"));
  EXPECT_THAT(failures_, IsEmpty());
  listed = ListBlocksPreferIndex(&faulty_, "t", &idx, &from_index);
  ASSERT_TRUE(listed.ok());
  EXPECT_THAT(*listed, ElementsAre(a));
  EXPECT_FALSE(from_index);
}

TEST_F(TenantBucketIndexTest, FailedGetAndPutAreReportedAndFallBack) {
  const Ulid a = U(1, 1), b = U(2, 2);
  PutBlock(&store_, "t", a, 0, 7200000, 1);
  TenantBucketIndex idx = MakeIndex();
  ASSERT_TRUE(idx.Resync().ok());

  faulty_.InjectFault({.ops = objstore::FaultInjectionObjectStore::kGet,
                       .key_contains = "bucket-index",
                       .count = 1});
  EXPECT_THAT(FromIndex(idx), IsEmpty());
  EXPECT_THAT(failures_, ElementsAre("get"));
  EXPECT_THAT(fallbacks_, ElementsAre("get_failed"));
  EXPECT_THAT(FromIndex(idx), ElementsAre(a));  // the fault is gone

  // A failed Put after a change: the file lacks the new block, so readers must not use it.
  PutBlock(&store_, "t", b, 7200000, 14400000, 1);
  faulty_.InjectFault({.ops = objstore::FaultInjectionObjectStore::kPut,
                       .key_contains = "bucket-index",
                       .count = 1});
  BlockMeta mb;
  mb.ulid = b;
  mb.min_time = 7200000;
  mb.max_time = 14400000;
  std::vector<BucketIndexBlock> added = {IndexBlockFromMeta(mb, 1, clock_.Now())};
  EXPECT_FALSE(idx.Update(added, {}).ok());
  EXPECT_FALSE(idx.synced());
  EXPECT_THAT(failures_, ElementsAre("get", "put"));
  EXPECT_THAT(FromIndex(idx), IsEmpty());
  absl::StatusOr<std::vector<Ulid>> listed = ListBlocksPreferIndex(&faulty_, "t", &idx);
  ASSERT_TRUE(listed.ok());
  EXPECT_THAT(*listed, ElementsAre(a, b));
  // The next write (any change, or the periodic rewrite) brings it back.
  ASSERT_TRUE(idx.Resync().ok());
  EXPECT_TRUE(idx.synced());
  EXPECT_THAT(FromIndex(idx), ElementsAre(a, b));

  // A failed listing in a Resync: nothing trusted until the next one works.
  faulty_.InjectFault({.ops = objstore::FaultInjectionObjectStore::kList, .count = 1});
  EXPECT_FALSE(idx.Resync().ok());
  EXPECT_FALSE(idx.synced());
  EXPECT_FALSE(idx.current().has_value());
  EXPECT_THAT(failures_, ElementsAre("get", "put", "list"));
  ASSERT_TRUE(idx.Update({}, {}).ok());  // lists again
  EXPECT_THAT(FromIndex(idx), ElementsAre(a, b));
}

}  // namespace
}  // namespace sprout::metrics::tsdb
