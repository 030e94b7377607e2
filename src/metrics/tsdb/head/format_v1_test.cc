// Format version 1 of the metrics WAL (segments, checkpoint) and of a block, pinned by files
// checked in under testdata/metrics/format-v1/ (docs/format/metrics-wal.md and metrics-block.md,
// "Fixtures"). Today's code must read them exactly as the construction below says they were
// written, so a user's ./data survives upgrades.
//
// The fixtures were written by FormatV1Fixtures.DISABLED_Write from the construction below (see
// testdata/metrics/format-v1/README.md). Regenerating them is for a deliberate, documented format
// change only: a new format version gets its own directory, and version 1's stays readable.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/tsdb/block/meta.h"
#include "metrics/tsdb/block/reader.h"
#include "metrics/tsdb/block/writer.h"
#include "metrics/tsdb/head/head.h"
#include "metrics/tsdb/head/head_test_util.h"
#include "objstore/filesystem.h"

namespace sprout::metrics::tsdb {
namespace {

namespace fs = std::filesystem;
using testing::BitsOf;
using testing::Dump;
using testing::FromBits;
using testing::kStaleNaN;
using testing::ReadSample;

// ---------------------------------------------------------------------------------------------
// The construction. Time step k (0 ≤ k < 48) is at T(k) = kT0 + k × 5 min; kT0 is a multiple of
// 2 h. Phase 1 appends k = 0..35 (three hours), one request per k; then the block
// [kT0, kT0 + 2 h) is cut (ULID kBlockUlid) and the head truncated at kT0 + 2 h, which writes the
// checkpoint; phase 2 appends k = 36..47 into the segments after the checkpoint.
constexpr int64_t kT0 = 1699999200000;  // 2023-11-14T22:00:00Z
constexpr int64_t kStep = 5 * 60 * 1000;
constexpr int64_t kCut = kT0 + 2 * 3600 * 1000;  // the block's end, the truncation point
constexpr int kPhase1 = 36;
constexpr int kSteps = 48;
constexpr const char* kBlockUlid = "01HF7XJCR0SPR0VTF0RMATV100";

int64_t T(int k) { return kT0 + k * kStep; }

// The series and what each holds at step k (false: nothing at k).
//  gauge     fixture_gauge{instance="a",job="fixture"}   0.5 k; the stale marker at k = 10, 30
//  counter   fixture_requests_total{job="fixture"}        10 k; an exemplar {trace_id=<k hex>}
//                                                          with value k at T(k) when k % 6 == 0
//  gone      fixture_gone{job="fixture"}                  −k, only k < 12 (so only in the block)
//  native    fixture_native{job="fixture"}                integer histogram NativeAt(k)
//  floatnat  fixture_float_native{job="fixture"}          float histogram FloatNativeAt(k)
//  late      fixture_late{job="fixture"}                  k, only k ≥ 36 (only after the
//  checkpoint)
const char* const kGauge = "{__name__=\"fixture_gauge\", instance=\"a\", job=\"fixture\"}";
const char* const kCounter = "{__name__=\"fixture_requests_total\", job=\"fixture\"}";
const char* const kGone = "{__name__=\"fixture_gone\", job=\"fixture\"}";
const char* const kNative = "{__name__=\"fixture_native\", job=\"fixture\"}";
const char* const kFloatNative = "{__name__=\"fixture_float_native\", job=\"fixture\"}";
const char* const kLate = "{__name__=\"fixture_late\", job=\"fixture\"}";

bool HasGone(int k) { return k < 12; }
bool HasLate(int k) { return k >= kPhase1; }
double GaugeAt(int k) { return k == 10 || k == 30 ? FromBits(kStaleNaN) : 0.5 * k; }
bool HasExemplar(int k) { return k % 6 == 0; }

chunkenc::Histogram NativeAt(int k) {
  const auto u = static_cast<uint64_t>(k);
  chunkenc::Histogram h;
  h.schema = 1;
  h.zero_threshold = 0.001;
  h.zero_count = u;
  h.positive_spans = {{0, 2}, {1, 1}};
  h.positive_buckets = {u, u + 1, u + 2};
  h.negative_spans = {{-2, 1}};
  h.negative_buckets = {1};
  h.count = u + (3 * u + 3) + 1;
  h.sum = 1.5 * k;
  return h;
}

chunkenc::FloatHistogram FloatNativeAt(int k) {
  chunkenc::FloatHistogram h;
  h.schema = 0;
  h.zero_threshold = 0.5;
  h.zero_count = 0.25 * k;
  h.positive_spans = {{-1, 2}};
  h.positive_buckets = {0.5 * k, 0.5 * k + 1};
  h.negative_spans = {{0, 1}};
  h.negative_buckets = {1.5};
  h.count = h.zero_count + h.positive_buckets[0] + h.positive_buckets[1] + 1.5;
  h.sum = k + 0.125;
  return h;
}

// The metadata sent with every request of a phase (phase 2 changes the gauge's help).
std::vector<MetricMetadata> MetadataOf(int phase) {
  return {{"fixture_gauge", wal::MetricType::kGauge, "",
           phase == 1 ? "A gauge." : "A gauge, second version."},
          {"fixture_requests_total", wal::MetricType::kCounter, "", "Requests."},
          {"fixture_native", wal::MetricType::kHistogram, "seconds", "A native histogram."},
          {"fixture_float_native", wal::MetricType::kGaugeHistogram, "", "A float histogram."}};
}

// What a read of [from, to] steps must give (the construction, never the fixtures' own dump).
Dump Expected(int from, int to) {
  Dump out;
  auto add_float = [&](const char* series, int k, double v) {
    ReadSample r{};
    r.t = T(k);
    r.type = chunkenc::ValueType::kFloat;
    r.bits = BitsOf(v);
    out[series].push_back(r);
  };
  for (int k = from; k <= to; ++k) {
    add_float(kGauge, k, GaugeAt(k));
    add_float(kCounter, k, 10.0 * k);
    if (HasGone(k)) add_float(kGone, k, -1.0 * k);
    if (HasLate(k)) add_float(kLate, k, k);
    ReadSample n{};
    n.t = T(k);
    n.type = chunkenc::ValueType::kHistogram;
    n.h = NativeAt(k);
    out[kNative].push_back(n);
    ReadSample f{};
    f.t = T(k);
    f.type = chunkenc::ValueType::kFloatHistogram;
    f.fh = FloatNativeAt(k);
    out[kFloatNative].push_back(f);
  }
  return out;
}

// Stricter than ReadSample's ==: every field of a float histogram.
void ExpectSameDump(const Dump& got, const Dump& want) {
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [series, samples] : want) {
    auto it = got.find(series);
    ASSERT_NE(it, got.end()) << series;
    ASSERT_EQ(it->second.size(), samples.size()) << series;
    for (size_t i = 0; i < samples.size(); ++i) {
      const ReadSample& g = it->second[i];
      const ReadSample& w = samples[i];
      EXPECT_EQ(g.t, w.t) << series << " #" << i;
      EXPECT_EQ(g.type, w.type) << series << " #" << i;
      EXPECT_EQ(g.bits, w.bits) << series << " #" << i;
      EXPECT_EQ(g.h, w.h) << series << " #" << i;
      chunkenc::FloatHistogram gf = g.fh, wf = w.fh;
      gf.reset_hint = wf.reset_hint = chunkenc::CounterResetHint::kUnknown;
      EXPECT_EQ(gf, wf) << series << " #" << i;
    }
  }
}

const fs::path kFixtures = SPROUT_FORMAT_V1_DIR;

HeadOptions FixtureHeadOptions(const std::string& dir) {
  HeadOptions o;
  o.dir = dir;
  o.wal_sync = storage::SyncPolicy::kManual;
  o.wal_segment_size = 1536;  // a few segments, so replay crosses segment boundaries
  o.max_exemplars = 16;
  return o;
}

// ---------------------------------------------------------------------------------------------
// The generator. Run deliberately:
//   build/bin/metrics_head_test --gtest_also_run_disabled_tests --gtest_filter='FormatV1Fixtures.DISABLED_Write'
// It rewrites testdata/metrics/format-v1/{tenant,blocks} (or $SPROUT_FORMAT_V1_OUT).
TEST(FormatV1Fixtures, DISABLED_Write) {
  const char* env_out = std::getenv("SPROUT_FORMAT_V1_OUT");
  const fs::path out = env_out != nullptr ? fs::path(env_out) : kFixtures;
  fs::remove_all(out / "tenant");
  fs::remove_all(out / "blocks");
  const fs::path tmp = fs::path(::testing::TempDir()) / "format-v1-cut";
  fs::remove_all(tmp);

  absl::StatusOr<std::unique_ptr<TenantHead>> opened =
      TenantHead::Open(FixtureHeadOptions((out / "tenant").string()));
  ASSERT_TRUE(opened.ok()) << opened.status();
  TenantHead& head = **opened;

  auto append = [&](int k) {
    const int phase = k < kPhase1 ? 1 : 2;
    testing::RequestBuilder req;
    req.Add(Labels::FromStrings({"__name__", "fixture_gauge", "instance", "a", "job", "fixture"}))
        .samples = {{T(k), GaugeAt(k)}};
    auto& counter =
        req.Add(Labels::FromStrings({"__name__", "fixture_requests_total", "job", "fixture"}));
    counter.samples = {{T(k), 10.0 * k}};
    if (HasExemplar(k)) {
      counter.exemplars.push_back(
          Exemplar{Labels::FromStrings({"trace_id", absl::StrCat(absl::Hex(k))}), 1.0 * k, T(k)});
    }
    if (HasGone(k)) {
      req.Add(Labels::FromStrings({"__name__", "fixture_gone", "job", "fixture"})).samples = {
          {T(k), -1.0 * k}};
    }
    req.Add(Labels::FromStrings({"__name__", "fixture_native", "job", "fixture"}))
        .histograms.push_back({T(k), NativeAt(k)});
    req.Add(Labels::FromStrings({"__name__", "fixture_float_native", "job", "fixture"}))
        .histograms.push_back({T(k), FloatNativeAt(k)});
    if (HasLate(k)) {
      req.Add(Labels::FromStrings({"__name__", "fixture_late", "job", "fixture"})).samples = {
          {T(k), 1.0 * k}};
    }
    req.metadata = MetadataOf(phase);
    AppendResult r = head.Append(req.Build());
    ASSERT_TRUE(r.status.ok()) << r.status;
    ASSERT_EQ(r.samples_refused, 0u) << k;
  };

  for (int k = 0; k < kPhase1; ++k) append(k);
  ASSERT_TRUE(head.SyncWal().ok());

  BlockWriterOptions bo;
  bo.min_time = kT0;
  bo.max_time = kCut;
  bo.ulid = *Ulid::Parse(kBlockUlid);
  absl::StatusOr<std::unique_ptr<BlockWriter>> writer =
      BlockWriter::Create(storage::Env::Default(), tmp.string(), bo);
  ASSERT_TRUE(writer.ok()) << writer.status();
  absl::StatusOr<uint64_t> n = head.CutBlock(kT0, kCut, writer->get());
  ASSERT_TRUE(n.ok()) << n.status();
  ASSERT_EQ(*n, 5u);
  ASSERT_TRUE((*writer)->Finish().ok());
  absl::StatusOr<std::unique_ptr<objstore::FilesystemObjectStore>> bucket =
      objstore::FilesystemObjectStore::Open(storage::Env::Default(), (out / "blocks").string());
  ASSERT_TRUE(bucket.ok()) << bucket.status();
  ASSERT_TRUE((*writer)->Upload(bucket->get(), "").ok());
  ASSERT_TRUE((*writer)->RemoveLocal().ok());
  ASSERT_TRUE(head.Truncate(kCut).ok());

  for (int k = kPhase1; k < kSteps; ++k) append(k);
  ASSERT_TRUE(head.SyncWal().ok());
  opened->reset();
  fs::remove(out / "tenant" / "LOCK");
  fs::remove_all(tmp);
}

// ---------------------------------------------------------------------------------------------
// The checks, on a copy (opening a head writes: its lock, a new segment, clean-ups).

class FormatV1Test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::is_directory(kFixtures / "tenant" / "wal")) << kFixtures;
    dir_ = fs::path(::testing::TempDir()) /
           absl::StrCat("format-v1-", ::testing::UnitTest::GetInstance()->random_seed(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::copy(kFixtures, dir_, fs::copy_options::recursive);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string ReadFile(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path dir_;
};

TEST_F(FormatV1Test, FilesCarryVersionOne) {
  // WAL segments (the checkpoint's too): header "sproutlg", u32 version 1; the first record's
  // payload (after the 32-byte header and an 8-byte chunk header) starts with record version 1.
  int segments = 0;
  bool checkpoint = false;
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "tenant" / "wal")) {
    if (e.is_directory()) {
      checkpoint = checkpoint || e.path().filename().string().starts_with("checkpoint.");
      continue;
    }
    const std::string bytes = ReadFile(e.path());
    ASSERT_GE(bytes.size(), 41u) << e.path();
    EXPECT_EQ(bytes.substr(0, 8), "sproutlg") << e.path();
    EXPECT_EQ(bytes.substr(8, 4), std::string("\x01\x00\x00\x00", 4)) << e.path();
    EXPECT_EQ(bytes[40], '\x01') << e.path();
    ++segments;
  }
  EXPECT_TRUE(checkpoint);
  EXPECT_GE(segments, 3);  // the checkpoint's and at least two after it
  // Block: chunk segment "SPCK" and index "SPIX", each with version byte 1; meta.json version 1.
  const fs::path block = dir_ / "blocks" / kBlockUlid;
  const std::string chunks = ReadFile(block / "chunks" / "000001");
  ASSERT_GE(chunks.size(), 8u);
  EXPECT_EQ(chunks.substr(0, 5), "SPCK\x01");
  const std::string index = ReadFile(block / "index");
  ASSERT_GE(index.size(), 8u);
  EXPECT_EQ(index.substr(0, 5), "SPIX\x01");
}

TEST_F(FormatV1Test, MetaJsonParses) {
  absl::StatusOr<BlockMeta> meta = ParseMeta(ReadFile(dir_ / "blocks" / kBlockUlid / "meta.json"));
  ASSERT_TRUE(meta.ok()) << meta.status();
  EXPECT_EQ(meta->ulid.ToString(), kBlockUlid);
  EXPECT_EQ(meta->min_time, kT0);
  EXPECT_EQ(meta->max_time, kCut);
  EXPECT_EQ(meta->version, 1);
  EXPECT_EQ(meta->compaction_level, 1);
  ASSERT_EQ(meta->sources.size(), 1u);
  EXPECT_EQ(meta->sources[0].ToString(), kBlockUlid);
  EXPECT_TRUE(meta->parents.empty());
  // Steps 0..23: gauge, counter, native, float native 24 each; gone 12; one chunk per series.
  EXPECT_EQ(meta->stats.num_series, 5u);
  EXPECT_EQ(meta->stats.num_float_samples, 24u + 24u + 12u);
  EXPECT_EQ(meta->stats.num_histogram_samples, 48u);
  EXPECT_EQ(meta->stats.num_samples, 108u);
  EXPECT_EQ(meta->stats.num_chunks, 5u);
}

TEST_F(FormatV1Test, BlockReadsAsConstructed) {
  absl::StatusOr<std::unique_ptr<objstore::FilesystemObjectStore>> bucket =
      objstore::FilesystemObjectStore::Open(storage::Env::Default(), (dir_ / "blocks").string());
  ASSERT_TRUE(bucket.ok()) << bucket.status();
  absl::StatusOr<std::vector<Ulid>> listed = ListBlocks(bucket->get(), "");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  absl::StatusOr<std::unique_ptr<BlockReader>> block = BlockReader::Open(bucket->get(), kBlockUlid);
  ASSERT_TRUE(block.ok()) << block.status();
  ExpectSameDump(testing::DumpBlock(**block), Expected(0, 23));

  absl::StatusOr<std::vector<std::string_view>> names = (*block)->LabelNames();
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, ::testing::ElementsAre("__name__", "instance", "job"));
  // Spot checks written out: the gauge's stale marker at step 10, the counter at step 23.
  const Dump dump = testing::DumpBlock(**block);
  EXPECT_EQ(dump.at(kGauge)[10].t, 1700002200000);
  EXPECT_EQ(dump.at(kGauge)[10].bits, 0x7ff0000000000002u);
  EXPECT_EQ(dump.at(kCounter)[23].t, 1700006100000);
  EXPECT_EQ(FromBits(dump.at(kCounter)[23].bits), 230.0);
}

TEST_F(FormatV1Test, WalReplaysCheckpointAndSegmentsAsConstructed) {
  absl::StatusOr<std::unique_ptr<TenantHead>> head =
      TenantHead::Open(FixtureHeadOptions((dir_ / "tenant").string()));
  ASSERT_TRUE(head.ok()) << head.status();
  const ReplayStats& st = (*head)->replay_stats();
  EXPECT_EQ(st.damage_reports, 0u);
  EXPECT_EQ(st.corrupt_records, 0u);
  EXPECT_EQ(st.unknown_series_samples, 0u);
  EXPECT_EQ(st.refused_samples, 0u);
  EXPECT_EQ(st.ids_out_of_range, 0u);
  // The checkpoint holds steps 24..35 of the live series (gone was dropped with the block),
  // the segments after it steps 36..47 and the late series.
  EXPECT_EQ(st.samples, 24u + 24u + 12u);
  EXPECT_EQ(st.histograms, 48u);
  ExpectSameDump(testing::DumpHead(**head), Expected(24, kSteps - 1));
  const Dump dump = testing::DumpHead(**head);
  EXPECT_EQ(dump.at(kGauge)[6].t, 1700008200000);  // step 30: the stale marker
  EXPECT_EQ(dump.at(kGauge)[6].bits, 0x7ff0000000000002u);
  EXPECT_EQ(dump.at(kLate).front().t, 1700010000000);

  // Exemplars at or after the cut: steps 24 and 30 (checkpoint), 36 and 42 (segments).
  const std::vector<Matcher> counter = {
      Matcher::MustCreate(Matcher::Type::kEqual, "__name__", "fixture_requests_total")};
  std::vector<SeriesExemplars> ex = (*head)->Exemplars(counter, INT64_MIN, INT64_MAX);
  ASSERT_EQ(ex.size(), 1u);
  std::vector<std::string> got;
  for (const Exemplar& e : ex[0].exemplars) {
    got.push_back(absl::StrCat(e.labels.ToString(), " ", e.value, " @", e.t));
  }
  EXPECT_THAT(got, ::testing::ElementsAre(absl::StrCat("{trace_id=\"18\"} 24 @", T(24)),
                                          absl::StrCat("{trace_id=\"1e\"} 30 @", T(30)),
                                          absl::StrCat("{trace_id=\"24\"} 36 @", T(36)),
                                          absl::StrCat("{trace_id=\"2a\"} 42 @", T(42))));

  // Metadata: the latest per family (phase 2's gauge help).
  std::vector<MetricMetadata> md = (*head)->Metadata();
  std::map<std::string, std::string> help;
  for (const MetricMetadata& m : md) help[m.metric_family] = m.help;
  EXPECT_EQ(help.size(), 4u);
  EXPECT_EQ(help["fixture_gauge"], "A gauge, second version.");
  EXPECT_EQ(help["fixture_native"], "A native histogram.");
  std::vector<MetricMetadata> native = (*head)->Metadata("fixture_native");
  ASSERT_EQ(native.size(), 1u);
  EXPECT_EQ(native[0].type, wal::MetricType::kHistogram);
  EXPECT_EQ(native[0].unit, "seconds");

  // The replayed head goes on: the next step appends after the last one.
  testing::RequestBuilder req;
  req.Add(Labels::FromStrings({"__name__", "fixture_late", "job", "fixture"})).samples = {
      {T(kSteps), 48.0}};
  AppendResult r = (*head)->Append(req.Build());
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.samples_appended, 1u);
}

}  // namespace
}  // namespace sprout::metrics::tsdb
