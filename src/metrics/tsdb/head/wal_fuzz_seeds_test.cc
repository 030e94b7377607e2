// The wal_replay_fuzzer's seeds: real WALs written by a head (wal_fuzz_input.h packs them), and
// the checks that each seed replays as its construction says. With SPROUT_WRITE_WAL_SEEDS=<dir>
// the seeds are also written there (corpus/wal_replay_fuzzer/ is that directory, committed).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "gtest/gtest.h"
#include "metrics/tsdb/head/head.h"
#include "metrics/tsdb/head/head_test_util.h"
#include "metrics/tsdb/head/wal_fuzz_input.h"
#include "storage/fault_injection_env.h"

namespace sprout::metrics::tsdb {
namespace {

using storage::FaultInjectionEnv;
using testing::DumpHead;
using testing::RequestBuilder;
namespace wf = wal_fuzz;

constexpr int64_t kT0 = 1699999200000;  // a multiple of 2 h
constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kHour = 60 * kMinute;

HeadOptions Options(storage::Env* env, uint64_t segment_size = 400) {
  HeadOptions o;
  o.env = env;
  o.dir = "/seed";
  o.wal_sync = storage::SyncPolicy::kManual;
  o.wal_segment_size = segment_size;  // several segments from a few requests
  o.max_exemplars = 16;
  return o;
}

std::unique_ptr<TenantHead> OpenHead(const HeadOptions& o) {
  absl::StatusOr<std::unique_ptr<TenantHead>> head = TenantHead::Open(o);
  EXPECT_TRUE(head.ok()) << head.status();
  return head.ok() ? *std::move(head) : nullptr;
}

// 4 float series (one ends in a stale marker) × 12 samples at 1-minute steps, with metadata.
void WriteFloats(TenantHead& head) {
  for (int step = 0; step < 12; ++step) {
    RequestBuilder req;
    for (int i = 0; i < 4; ++i) {
      auto& e = req.Add(Labels::FromStrings(
          {"__name__", "node_cpu_seconds_total", "cpu", std::to_string(i), "job", "node"}));
      const bool stale = i == 3 && step == 11;
      e.samples = {
          {kT0 + step * kMinute, stale ? testing::FromBits(testing::kStaleNaN) : 0.25 * step + i}};
    }
    if (step == 0)
      req.metadata.push_back({"node_cpu_seconds_total", wal::MetricType::kCounter, "seconds",
                              "Seconds the CPUs spent in each mode."});
    ASSERT_EQ(head.Append(req.Build()).samples_appended, 4u);
  }
}

// An integer and a float histogram series × 6 samples, with exemplars on a float series.
void WriteHistograms(TenantHead& head) {
  for (int step = 0; step < 6; ++step) {
    RequestBuilder req;
    const int64_t t = kT0 + step * kMinute;
    chunkenc::Histogram h = testing::MakeHistogram(static_cast<uint64_t>(step));
    req.Add(Labels::FromStrings({"__name__", "rpc_latency", "kind", "int"}))
        .histograms.push_back({t, h});
    req.Add(Labels::FromStrings({"__name__", "rpc_latency", "kind", "float"}))
        .histograms.push_back({t, h.ToFloat()});
    auto& e = req.Add(Labels::FromStrings({"__name__", "requests_total"}));
    e.samples = {{t, 10.0 * step}};
    e.exemplars.push_back({Labels::FromStrings({"trace_id", "4bf92f3577b34da6"}), 1.0, t});
    AppendResult r = head.Append(req.Build());
    ASSERT_EQ(r.samples_appended, 1u);
    ASSERT_EQ(r.histograms_appended, 2u);
  }
}

uint64_t CountSamples(const testing::Dump& dump) {
  uint64_t n = 0;
  for (const auto& [series, samples] : dump) n += samples.size();
  return n;
}

struct Seed {
  std::string name;
  std::string bytes;
};

// Replays a packed seed in a fresh Env; nullptr when Open failed (status in *status).
std::unique_ptr<TenantHead> Replay(const std::string& seed, FaultInjectionEnv* env,
                                   absl::Status* status) {
  const wf::WalFuzzInput in = wf::ParseWalFuzzInput(seed);
  EXPECT_TRUE(wf::UnpackWalFiles(in, env, "/replay").ok());
  HeadOptions o = Options(env);
  o.dir = "/replay";
  absl::StatusOr<std::unique_ptr<TenantHead>> head = TenantHead::Open(o);
  *status = head.status();
  return head.ok() ? *std::move(head) : nullptr;
}

TEST(WalFuzzInput, SelectorsNameEveryKindOfFile) {
  EXPECT_EQ(wf::SelectorPath(0), "wal/00000000000000000001.log");
  EXPECT_EQ(wf::SelectorPath(7), "wal/00000000000000000008.log");
  EXPECT_EQ(wf::SelectorPath(0x80 | (2 << 3) | 1),
            "wal/checkpoint.00000003/00000000000000000002.log");
  EXPECT_EQ(wf::SelectorPath(0xc0), "wal/checkpoint.00000001.tmp/00000000000000000001.log");
  EXPECT_EQ(wf::PathSelector("wal/checkpoint.00000003/00000000000000000002.log"),
            std::optional<uint8_t>(0x80 | (2 << 3) | 1));
  EXPECT_EQ(wf::PathSelector("wal/00000000000000000009.log"), std::nullopt);
  // Markers split files; a later file of the same name wins; bytes before the first are ignored.
  const std::string packed =
      absl::StrCat("\x05junk", AV(wf::kWalFuzzFileMarker), "\x01", "abc",
                   AV(wf::kWalFuzzFileMarker), "\x02", AV(wf::kWalFuzzFileMarker), "\x01", "xy");
  const wf::WalFuzzInput in = wf::ParseWalFuzzInput(packed);
  EXPECT_EQ(in.flags, 5);
  ASSERT_EQ(in.files.size(), 2u);
  EXPECT_EQ(in.files.at("wal/00000000000000000002.log"), "xy");
  EXPECT_EQ(in.files.at("wal/00000000000000000003.log"), "");
  // Bits 3-6 without bit 7 name the same segment: the later file wins.
  const std::string two_files = absl::StrCat(std::string(1, 0), AV(wf::kWalFuzzFileMarker), "\x01",
                                             "one", AV(wf::kWalFuzzFileMarker), "\x09", "two");
  const wf::WalFuzzInput aliased = wf::ParseWalFuzzInput(two_files);
  ASSERT_EQ(aliased.files.size(), 1u);
  EXPECT_EQ(aliased.files.at("wal/00000000000000000002.log"), "two");
}

TEST(WalFuzzInput, FixSegmentCrcsRepairsWhatAFlipBroke) {
  FaultInjectionEnv env;
  {
    std::unique_ptr<TenantHead> head = OpenHead(Options(&env, 64 << 20));
    ASSERT_NE(head, nullptr);
    WriteFloats(*head);
    ASSERT_TRUE(head->SyncWal().ok());
  }
  absl::StatusOr<std::string> segment = env.ReadFile("/seed/wal/00000000000000000001.log");
  ASSERT_TRUE(segment.ok());
  std::string fixed = *segment;
  wf::FixSegmentCrcs(&fixed);
  EXPECT_EQ(fixed, *segment);  // a valid segment is left as it is
  std::string broken = *segment;
  broken[3] ^= 1;                  // the header's magic: its CRC no longer matches
  broken[broken.size() - 1] ^= 1;  // the last record's payload: its chunk CRC no longer matches
  wf::FixSegmentCrcs(&broken);
  EXPECT_NE(broken.substr(24, 4), segment->substr(24, 4));
  EXPECT_NE(broken.substr(0, broken.size() - 1), segment->substr(0, segment->size() - 1));
  std::string flipped_back = broken;
  flipped_back[3] ^= 1;
  flipped_back[flipped_back.size() - 1] ^= 1;
  wf::FixSegmentCrcs(&flipped_back);
  EXPECT_EQ(flipped_back, *segment);
}

TEST(WalFuzzSeeds, WriteOrCheck) {
  std::vector<Seed> seeds;
  // 1. Floats over several segments.
  FaultInjectionEnv floats_env;
  {
    std::unique_ptr<TenantHead> head = OpenHead(Options(&floats_env));
    ASSERT_NE(head, nullptr);
    WriteFloats(*head);
    ASSERT_TRUE(head->SyncWal().ok());
  }
  absl::StatusOr<std::string> floats =
      wf::PackWalFiles(&floats_env, "/seed", wf::kFixCrcs | wf::kReopen);
  ASSERT_TRUE(floats.ok()) << floats.status();
  seeds.push_back({"wal-floats", *floats});
  // 2. Histograms and exemplars, small chunks and segments on replay.
  FaultInjectionEnv hist_env;
  {
    std::unique_ptr<TenantHead> head = OpenHead(Options(&hist_env));
    ASSERT_NE(head, nullptr);
    WriteHistograms(*head);
    ASSERT_TRUE(head->SyncWal().ok());
  }
  absl::StatusOr<std::string> hist = wf::PackWalFiles(
      &hist_env, "/seed",
      wf::kFixCrcs | wf::kExemplars | wf::kSmallChunks | wf::kSmallSegments | wf::kReopen);
  ASSERT_TRUE(hist.ok());
  seeds.push_back({"wal-histograms-exemplars", *hist});
  // 3. A checkpoint: 3 h of floats, truncated at 2 h, then more samples in the new segment.
  FaultInjectionEnv cp_env;
  {
    std::unique_ptr<TenantHead> head = OpenHead(Options(&cp_env));
    ASSERT_NE(head, nullptr);
    for (int64_t t = kT0; t < kT0 + 3 * kHour; t += 20 * kMinute) {
      RequestBuilder req;
      for (int i = 0; i < 2; ++i) {
        req.Add(Labels::FromStrings({"__name__", t < kT0 + 2 * kHour || i == 0 ? "up" : "late", "i",
                                     std::to_string(i)}))
            .samples = {{t, 1.0}};
      }
      ASSERT_EQ(head->Append(req.Build()).samples_appended, 2u);
    }
    ASSERT_TRUE(head->Truncate(kT0 + 2 * kHour).ok());
    RequestBuilder req;
    req.Add(Labels::FromStrings({"__name__", "up", "i", "0"})).samples = {{kT0 + 3 * kHour, 0.0}};
    ASSERT_EQ(head->Append(req.Build()).samples_appended, 1u);
    ASSERT_TRUE(head->SyncWal().ok());
  }
  absl::StatusOr<std::string> cp =
      wf::PackWalFiles(&cp_env, "/seed", wf::kFixCrcs | wf::kReopen | wf::kTruncate);
  ASSERT_TRUE(cp.ok());
  const wf::WalFuzzInput cp_in = wf::ParseWalFuzzInput(*cp);
  ASSERT_TRUE(std::any_of(cp_in.files.begin(), cp_in.files.end(),
                          [](const auto& f) { return f.first.starts_with("wal/checkpoint."); }));
  seeds.push_back({"wal-checkpoint", *cp});
  // 4. The floats WAL with its last segment cut in the middle of a record (a torn tail).
  const wf::WalFuzzInput floats_in = wf::ParseWalFuzzInput(*floats);
  ASSERT_GE(floats_in.files.size(), 3u);
  std::string torn(1, static_cast<char>(wf::kReopen));
  for (const auto& [path, bytes] : floats_in.files) {
    const bool last = path == floats_in.files.rbegin()->first;
    absl::StrAppend(&torn, AV(wf::kWalFuzzFileMarker),
                    std::string(1, static_cast<char>(*wf::PathSelector(path))),
                    AV(last ? bytes.substr(0, bytes.size() - 7) : bytes));
  }
  seeds.push_back({"wal-torn-tail", torn});
  // 5. A flipped byte in the first segment's first record, CRCs not fixed: damage skipped.
  std::string bad_crc = *floats;
  bad_crc[1 + wf::kWalFuzzFileMarker.size() + 1 + 32 + 8 + 3] ^= 0x20;
  bad_crc[0] = 0;
  seeds.push_back({"wal-bad-crc", bad_crc});
  // 6. The same byte made a record-format version 2, CRCs fixed: Open refuses.
  std::string newer = *floats;
  newer[1 + wf::kWalFuzzFileMarker.size() + 1 + 32 + 8] = 2;
  seeds.push_back({"wal-newer-record-version", newer});
  // 7. Out-of-order samples (out_of_order_time_window): in-order samples every 10 minutes over
  // 3 h, late ones between them (4 per sealed out-of-order chunk), a truncation at 2 h without
  // a cut (the checkpoint keeps every late sample), then one more late sample in the segment.
  FaultInjectionEnv ooo_env;
  {
    HeadOptions o = Options(&ooo_env);
    o.out_of_order_time_window_ms = 2 * kHour;
    o.out_of_order_cap_max = 4;
    std::unique_ptr<TenantHead> head = OpenHead(o);
    ASSERT_NE(head, nullptr);
    const Labels late = Labels::FromStrings({"__name__", "late_metric", "job", "batch"});
    for (int k = 0; k < 18; ++k) {
      RequestBuilder req;
      req.Add(late).samples = {{kT0 + k * 10 * kMinute, 1.0 * k}};
      ASSERT_EQ(head->Append(req.Build()).samples_appended, 1u);
    }
    for (int k = 15; k >= 6; --k) {
      RequestBuilder req;
      req.Add(late).samples = {{kT0 + k * 10 * kMinute + 5 * kMinute, -1.0 * k}};
      ASSERT_EQ(head->Append(req.Build()).ooo_samples_appended, 1u);
    }
    ASSERT_TRUE(head->Truncate(kT0 + 2 * kHour).ok());
    RequestBuilder req;
    req.Add(late).samples = {{kT0 + kHour + kMinute, 0.5}};
    ASSERT_EQ(head->Append(req.Build()).ooo_samples_appended, 1u);
    ASSERT_TRUE(head->SyncWal().ok());
  }
  absl::StatusOr<std::string> ooo =
      wf::PackWalFiles(&ooo_env, "/seed", wf::kFixCrcs | wf::kReopen | wf::kTruncate);
  ASSERT_TRUE(ooo.ok());
  seeds.push_back({"wal-out-of-order", *ooo});

  const char* dir = std::getenv("SPROUT_WRITE_WAL_SEEDS");
  for (const Seed& seed : seeds) {
    EXPECT_LT(seed.bytes.size(), 16384u) << seed.name;  // a small committed corpus
    if (dir == nullptr) continue;
    FILE* f = std::fopen((std::string(dir) + "/" + seed.name).c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(seed.bytes.data(), 1, seed.bytes.size(), f);
    std::fclose(f);
  }

  // Each seed replays as its construction says.
  absl::Status status;
  {
    FaultInjectionEnv env;
    std::unique_ptr<TenantHead> head = Replay(seeds[0].bytes, &env, &status);
    ASSERT_NE(head, nullptr) << status;
    EXPECT_EQ(head->Stats().series, 4u);
    EXPECT_EQ(CountSamples(DumpHead(*head)), 48u);
    EXPECT_EQ(head->Metadata().size(), 1u);
    EXPECT_EQ(head->replay_stats().damage_reports, 0u);
  }
  {
    FaultInjectionEnv env;
    std::unique_ptr<TenantHead> head = Replay(seeds[1].bytes, &env, &status);
    ASSERT_NE(head, nullptr) << status;
    EXPECT_EQ(head->replay_stats().histograms, 12u);
    EXPECT_EQ(head->replay_stats().samples, 6u);
    EXPECT_EQ(head->replay_stats().exemplars, 6u);
  }
  {
    FaultInjectionEnv env;
    std::unique_ptr<TenantHead> head = Replay(seeds[2].bytes, &env, &status);
    ASSERT_NE(head, nullptr) << status;
    // Kept: "up" i=0 at 2:00, 2:20, 2:40 and 3:00; "late" i=1 at 2:00, 2:20, 2:40.
    const testing::Dump dump = DumpHead(*head);
    EXPECT_EQ(dump.size(), 2u);
    EXPECT_EQ(CountSamples(dump), 7u);
  }
  {
    FaultInjectionEnv env;
    std::unique_ptr<TenantHead> head = Replay(seeds[3].bytes, &env, &status);
    ASSERT_NE(head, nullptr) << status;
    EXPECT_LT(CountSamples(DumpHead(*head)), 48u);
    EXPECT_GT(head->replay_stats().damage_reports, 0u);
  }
  {
    FaultInjectionEnv env;
    std::unique_ptr<TenantHead> head = Replay(seeds[4].bytes, &env, &status);
    ASSERT_NE(head, nullptr) << status;
    EXPECT_GT(head->replay_stats().damage_reports, 0u);
  }
  {
    FaultInjectionEnv env;
    EXPECT_EQ(Replay(seeds[5].bytes, &env, &status), nullptr);
    EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
  }
  {
    FaultInjectionEnv env;
    std::unique_ptr<TenantHead> head = Replay(seeds[6].bytes, &env, &status);
    ASSERT_NE(head, nullptr) << status;
    // In order 2:00..2:50 (6), late 1:05..2:35 (10) and 1:01: all read back, in time order.
    const testing::Dump dump = DumpHead(*head);
    ASSERT_EQ(dump.size(), 1u);
    const std::vector<testing::ReadSample>& got = dump.begin()->second;
    EXPECT_EQ(got.size(), 17u);
    EXPECT_TRUE(std::is_sorted(got.begin(), got.end(),
                               [](const auto& a, const auto& b) { return a.t < b.t; }));
    EXPECT_EQ(got.front().t, kT0 + kHour + kMinute);
    EXPECT_EQ(head->replay_stats().ooo_samples, 11u);
    EXPECT_EQ(head->replay_stats().refused_samples, 0u);
  }
}

}  // namespace
}  // namespace sprout::metrics::tsdb
