// The store's block cutting: the flush (Mimir's /ingester/flush) and the periodic cutting job,
// end to end: push → cut → blocks in the bucket with every sample → heads truncated → restart.
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/store/http.h"
#include "metrics/store/store.h"
#include "metrics/store/store_test_util.h"
#include "metrics/tsdb/block/reader.h"
#include "metrics/tsdb/block/writer.h"
#include "metrics/tsdb/head/head_test_util.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "objstore/filesystem.h"
#include "storage/fault_injection_env.h"

namespace sprout::metrics {
namespace {

using testutil::WriteBuilder;
using tsdb::testing::Dump;

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kHour = 60 * kMinute;

class StoreCutTest : public ::testing::Test {
 protected:
  MetricsStoreOptions Options() {
    MetricsStoreOptions o;
    o.config = LocalDefaults();
    o.config.tsdb_dir = "/data/tsdb";
    o.config.blocks_storage.backend = "filesystem";
    o.config.blocks_storage.filesystem_dir = "/data/blocks";
    // These tests look at the 2 h blocks a cut writes: no compaction job merges them meanwhile.
    o.config.compactor_compaction_interval = absl::ZeroDuration();
    o.env = &env_;
    o.now_ms = [] { return int64_t{1700000000000}; };
    o.monotonic_ns = [] { return int64_t{1}; };
    return o;
  }
  std::unique_ptr<MetricsStore> Open() {
    auto store = std::make_unique<MetricsStore>(Options());
    absl::Status s = store->Start();
    EXPECT_TRUE(s.ok()) << s;
    return store;
  }

  // Pushes `series` series of `tenant`, a sample a minute over [0, hours), one request per
  // 10 minutes; returns how many samples.
  int64_t Push(MetricsStore& store, const std::string& tenant, int series, int hours) {
    int64_t n = 0;
    for (int64_t t0 = 0; t0 < hours * kHour; t0 += 10 * kMinute) {
      WriteBuilder w;
      for (int i = 0; i < series; ++i) {
        auto s = w.Series({"__name__", "m", "i", std::to_string(i)});
        for (int64_t t = t0; t < t0 + 10 * kMinute; t += kMinute) {
          s.Sample(t, static_cast<double>(t / kMinute * 10 + i));
          ++n;
        }
      }
      PushResult r = store.Push(tenant, w.Body());
      EXPECT_TRUE(r.ok()) << r.message;
    }
    return n;
  }

  // Every block of `tenant`: the merged samples, and the blocks' ranges.
  Dump ReadBlocks(const std::string& tenant, std::vector<std::pair<int64_t, int64_t>>* ranges) {
    auto bucket = objstore::FilesystemObjectStore::Open(&env_, "/data/blocks");
    EXPECT_TRUE(bucket.ok());
    Dump all;
    absl::StatusOr<std::vector<Ulid>> blocks = tsdb::ListBlocks(bucket->get(), tenant);
    EXPECT_TRUE(blocks.ok()) << blocks.status();
    for (const Ulid& u : *blocks) {
      auto reader = tsdb::BlockReader::Open(bucket->get(), tsdb::BlockPrefix(tenant, u));
      EXPECT_TRUE(reader.ok()) << reader.status();
      ranges->emplace_back((*reader)->meta().min_time, (*reader)->meta().max_time);
      for (auto& [series, samples] : tsdb::testing::DumpBlock(**reader)) {
        auto& out = all[series];
        out.insert(out.end(), samples.begin(), samples.end());
      }
    }
    for (auto& [series, samples] : all) {
      std::sort(samples.begin(), samples.end(),
                [](const auto& a, const auto& b) { return a.t < b.t; });
    }
    std::sort(ranges->begin(), ranges->end());
    return all;
  }

  storage::FaultInjectionEnv env_;
};

TEST_F(StoreCutTest, FlushCutsEveryHeadIntoAlignedBlocksAndRestartReplaysNothing) {
  auto store = Open();
  const int64_t pushed_a = Push(*store, "anonymous", 3, 5);
  const int64_t pushed_b = Push(*store, "team-b", 2, 1);
  const Dump head_a = tsdb::testing::DumpHead(*store->FindHead("anonymous"));
  const Dump head_b = tsdb::testing::DumpHead(*store->FindHead("team-b"));

  ASSERT_TRUE(store->Flush().ok());

  std::vector<std::pair<int64_t, int64_t>> ranges;
  const Dump blocks_a = ReadBlocks("anonymous", &ranges);
  EXPECT_EQ(blocks_a, head_a);
  int64_t n = 0;
  for (const auto& [series, samples] : blocks_a) n += static_cast<int64_t>(samples.size());
  EXPECT_EQ(n, pushed_a);
  EXPECT_EQ(ranges, (std::vector<std::pair<int64_t, int64_t>>{
                        {0, 2 * kHour}, {2 * kHour, 4 * kHour}, {4 * kHour, 6 * kHour}}));
  ranges.clear();
  const Dump blocks_b = ReadBlocks("team-b", &ranges);
  EXPECT_EQ(blocks_b, head_b);
  EXPECT_EQ(static_cast<int64_t>(blocks_b.at("{__name__=\"m\", i=\"0\"}").size()) * 2, pushed_b);

  EXPECT_EQ(store->FindHead("anonymous")->Stats().series, 0u);
  EXPECT_TRUE(tsdb::testing::DumpHead(*store->FindHead("anonymous")).empty());
  // The temporary block directory is gone.
  EXPECT_FALSE(env_.IsDirectory("/data/tsdb/anonymous/cut-tmp").value_or(false));

  store->Close();
  store.reset();
  store = Open();
  ASSERT_NE(store->FindHead("anonymous"), nullptr);
  EXPECT_EQ(store->FindHead("anonymous")->Stats().series, 0u);
  EXPECT_TRUE(tsdb::testing::DumpHead(*store->FindHead("anonymous")).empty());
  EXPECT_EQ(store->FindHead("anonymous")->replay_stats().samples, 0u);
  ranges.clear();
  EXPECT_EQ(ReadBlocks("anonymous", &ranges), head_a);  // a second flush adds nothing
  ASSERT_TRUE(store->Flush().ok());
  ranges.clear();
  ReadBlocks("anonymous", &ranges);
  EXPECT_EQ(ranges.size(), 3u);
}

TEST_F(StoreCutTest, CuttingJobCutsTheOldestRangeOnceTheHeadSpansMoreThanThreeHours) {
  auto store = Open();
  Push(*store, "anonymous", 2, 3);  // [0, 3h): spans 2h59m, not cut
  ASSERT_TRUE(store->CutCompleteBlocks().ok());
  std::vector<std::pair<int64_t, int64_t>> ranges;
  EXPECT_TRUE(ReadBlocks("anonymous", &ranges).empty());

  const Dump before = [&] {
    WriteBuilder w;
    for (int i = 0; i < 2; ++i) {
      w.Series({"__name__", "m", "i", std::to_string(i)}).Sample(3 * kHour + 30 * kMinute, 1);
    }
    EXPECT_TRUE(store->Push("anonymous", w.Body()).ok());
    return tsdb::testing::DumpHead(*store->FindHead("anonymous"));
  }();
  ASSERT_TRUE(store->CutCompleteBlocks().ok());
  ranges.clear();
  const Dump blocks = ReadBlocks("anonymous", &ranges);
  EXPECT_EQ(ranges, (std::vector<std::pair<int64_t, int64_t>>{{0, 2 * kHour}}));
  EXPECT_EQ(blocks, tsdb::testing::Clip(before, 0, 2 * kHour - 1));
  const Dump head = tsdb::testing::DumpHead(*store->FindHead("anonymous"));
  EXPECT_EQ(head, tsdb::testing::Clip(before, 2 * kHour, INT64_MAX));

  store->Close();
  store.reset();
  store = Open();
  EXPECT_EQ(tsdb::testing::DumpHead(*store->FindHead("anonymous")), head);
  EXPECT_EQ(store->FindHead("anonymous")->replay_stats().refused_samples, 0u);
}

// POST /ingester/flush over HTTP: 204; with wait=true the blocks exist when it answers, and
// `tenant` parameters restrict it (Mimir's FlushHandler); without wait the cutting job does it.
TEST_F(StoreCutTest, FlushEndpointAnswers204AndCutsTheNamedTenants) {
  auto store = Open();
  Push(*store, "team-a", 1, 1);
  Push(*store, "team-b", 1, 1);
  net::Router router;
  ASSERT_TRUE(RegisterStoreRoutes(store.get(), nullptr, &router).ok());
  net::HttpServerOptions so;
  so.endpoint = "127.0.0.1:0";
  so.worker_threads = 1;
  auto server = net::HttpServer::Start(so, std::move(router));
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = net::HttpClient::Create({});
  ASSERT_TRUE(client.ok());
  const std::string base = "http://127.0.0.1:" + std::to_string((*server)->port());

  net::HttpClientResponse r = (*client)->Do(
      "POST", base + "/ingester/flush?wait=true&tenant=team-a", {}, "", absl::Seconds(10));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(store->FindHead("team-a")->Stats().series, 0u);
  EXPECT_EQ(store->FindHead("team-b")->Stats().series, 1u);
  std::vector<std::pair<int64_t, int64_t>> ranges;
  EXPECT_EQ(ReadBlocks("team-a", &ranges).size(), 1u);

  r = (*client)->Do("POST", base + "/ingester/flush", {}, "", absl::Seconds(10));
  EXPECT_EQ(r.status, 204);
  for (int i = 0; i < 500 && store->FindHead("team-b")->Stats().series != 0; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(store->FindHead("team-b")->Stats().series, 0u);
  ranges.clear();
  EXPECT_EQ(ReadBlocks("team-b", &ranges).size(), 1u);
  (*server)->Shutdown(absl::Seconds(1));
}

}  // namespace
}  // namespace sprout::metrics
