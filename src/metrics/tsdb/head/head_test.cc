#include "metrics/tsdb/head/head.h"

#include <atomic>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/tsdb/head/head_test_util.h"
#include "metrics/tsdb/head/raw_labels.h"
#include "storage/fault_injection_env.h"

namespace sprout::metrics::tsdb {
namespace {

using testing::BitsOf;
using testing::DumpHead;
using ::testing::ElementsAre;
using testing::FromBits;
using testing::kStaleNaN;
using testing::RequestBuilder;
using Type = Matcher::Type;

constexpr int64_t kHour = 3600 * 1000;

class HeadTest : public ::testing::Test {
 protected:
  HeadOptions Options() {
    HeadOptions o;
    o.env = &env_;
    o.dir = "/data/tenant-a";
    o.wal_sync = storage::SyncPolicy::kManual;
    return o;
  }
  std::unique_ptr<TenantHead> Open(HeadOptions o) {
    absl::StatusOr<std::unique_ptr<TenantHead>> head = TenantHead::Open(std::move(o));
    EXPECT_TRUE(head.ok()) << head.status();
    return head.ok() ? *std::move(head) : nullptr;
  }
  std::unique_ptr<TenantHead> Open() { return Open(Options()); }

  storage::FaultInjectionEnv env_;
};

Labels Series(std::string_view name, std::string_view instance) {
  return Labels::FromStrings({"__name__", name, "instance", instance, "job", "node"});
}

TEST_F(HeadTest, AppendedSamplesReadBackBitExactAcrossChunks) {
  auto head = Open();
  RequestBuilder req;
  const Labels a = Series("up", "a"), b = Series("up", "b"), c = Series("load", "a");
  for (const Labels& l : {a, b, c}) {
    auto& e = req.Add(l);
    for (int i = 0; i < 300; ++i) e.samples.push_back({1000 + i * 15000, 0.5 * i});
  }
  req.entries[1].samples[7].v = FromBits(kStaleNaN);
  req.entries[2].samples[0].v = -0.0;
  AppendResult r = head->Append(req.Build());
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.samples_appended, 900u);
  EXPECT_EQ(r.series_created, 3u);
  EXPECT_TRUE(r.refusals.empty());

  testing::Dump dump = DumpHead(*head);
  ASSERT_EQ(dump.size(), 3u);
  for (const auto& entry : req.entries) {
    const std::vector<testing::ReadSample>& got = dump[entry.labels.ToString()];
    ASSERT_EQ(got.size(), entry.samples.size()) << entry.labels.ToString();
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].t, entry.samples[i].t);
      EXPECT_EQ(got[i].bits, BitsOf(entry.samples[i].v));
    }
  }
  EXPECT_EQ(dump[b.ToString()][7].bits, kStaleNaN);
  // 300 samples at 15 s: cut at 120 samples (and never across a 2 h boundary).
  std::vector<HeadChunkMeta> chunks = head->Chunks(a);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_FALSE(chunks[0].open);
  EXPECT_TRUE(chunks[2].open);
  EXPECT_EQ(chunks[0].min_time, 1000);
  EXPECT_EQ(chunks[0].max_time, 1000 + 119 * 15000);
  EXPECT_EQ(chunks[1].min_time, 1000 + 120 * 15000);

  // A time range clips.
  testing::Dump part = DumpHead(*head, 1000 + 10 * 15000, 1000 + 20 * 15000);
  EXPECT_EQ(part[a.ToString()].size(), 11u);
}

TEST_F(HeadTest, KnownRawLabelsAnswersExactlyTheCanonicalBytesOfHeldSeries) {
  auto head = Open();
  const Labels a = Series("up", "a");
  EXPECT_FALSE(head->KnownRawLabels(EncodeRawLabels(a)));
  RequestBuilder req;
  req.Add(a).samples.push_back({1000, 1});
  ASSERT_TRUE(head->Append(req.Build()).status.ok());
  EXPECT_TRUE(head->KnownRawLabels(EncodeRawLabels(a)));
  EXPECT_FALSE(head->KnownRawLabels(EncodeRawLabels(Series("up", "b"))));
  // Another encoding of the same set (an empty value added) is not vouched for.
  std::string other = EncodeRawLabels(Labels::FromStrings({"__name__", "up", "instance", "a"}));
  EXPECT_FALSE(head->KnownRawLabels(other));
  EXPECT_FALSE(head->KnownRawLabels("\x0a\xff"));  // malformed
  // Replay rebuilds it.
  head.reset();
  head = Open();
  EXPECT_TRUE(head->KnownRawLabels(EncodeRawLabels(a)));
}

TEST_F(HeadTest, ChunksAreCutAtTheChunkRangeBoundary) {
  auto head = Open();
  RequestBuilder req;
  const Labels a = Series("up", "a");
  auto& e = req.Add(a);
  // One sample a minute from 1h30m to 2h30m: 61 samples, the 2 h boundary in the middle.
  for (int64_t t = 90 * 60000; t <= 150 * 60000; t += 60000) e.samples.push_back({t, 1});
  ASSERT_TRUE(head->Append(req.Build()).status.ok());
  std::vector<HeadChunkMeta> chunks = head->Chunks(a);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0].max_time, 2 * kHour - 60000);
  EXPECT_EQ(chunks[1].min_time, 2 * kHour);
}

TEST_F(HeadTest, NegativeTimestampsCutAtTheirOwnBoundary) {
  auto head = Open();
  RequestBuilder req;
  auto& e = req.Add(Series("old", "a"));
  e.samples = {{-2 * kHour - 1, 1}, {-2 * kHour, 2}, {-1, 3}, {0, 4}};
  AppendResult r = head->Append(req.Build());
  EXPECT_EQ(r.samples_appended, 4u);  // a new tenant accepts any time, 1970 and before included
  std::vector<HeadChunkMeta> chunks = head->Chunks(Series("old", "a"));
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].max_time, -2 * kHour - 1);
  EXPECT_EQ(chunks[1].min_time, -2 * kHour);
  EXPECT_EQ(chunks[1].max_time, -1);
  EXPECT_EQ(chunks[2].min_time, 0);
}

TEST_F(HeadTest, RefusalsCarryMimirsTextsAndTheGoodSamplesAreKept) {
  auto head = Open();
  const Labels a = Series("up", "a");
  const int64_t base = 1575043969;  // 1970-01-19T05:30:43.969Z
  {
    RequestBuilder req;
    req.Add(a).samples = {{base, 1}};
    ASSERT_EQ(head->Append(req.Build()).samples_appended, 1u);
  }
  RequestBuilder req;
  auto& e = req.Add(a);
  e.samples = {
      {base - 1, 5},     // out of order
      {base, 2},         // same timestamp, other value
      {base, 1},         // same timestamp and value: accepted silently
      {base + 1000, 3},  // good
      {base + 2000, 4},  // good
  };
  auto& old = req.Add(Series("up", "b"));
  old.samples = {{base - kHour - 1, 1}, {base - kHour + 1, 2}};  // too old, then good
  AppendResult r = head->Append(req.Build());
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.samples_appended, 3u);
  EXPECT_EQ(r.duplicates_ignored, 1u);
  EXPECT_EQ(r.samples_refused, 3u);
  ASSERT_EQ(r.refusals.size(), 3u);
  EXPECT_EQ(r.refusals[0].kind, RefusalKind::kOutOfOrder);
  EXPECT_EQ(r.refusals[0].sample_index, 0u);
  EXPECT_EQ(r.refusals[0].Message(),
            "the sample has been rejected because another sample with a more recent timestamp "
            "has already been ingested and out-of-order samples are not allowed "
            "(err-mimir-sample-out-of-order). The affected sample has timestamp "
            "1970-01-19T05:30:43.968Z and is from series "
            "{__name__=\"up\", instance=\"a\", job=\"node\"}");
  EXPECT_EQ(r.refusals[1].kind, RefusalKind::kDuplicate);
  EXPECT_EQ(r.refusals[1].Message(),
            "the sample has been rejected because another sample with the same timestamp, but a "
            "different value, has already been ingested (err-mimir-sample-duplicate-timestamp). "
            "The affected sample has timestamp 1970-01-19T05:30:43.969Z and is from series "
            "{__name__=\"up\", instance=\"a\", job=\"node\"}");
  EXPECT_EQ(r.refusals[2].kind, RefusalKind::kTooOld);
  EXPECT_EQ(r.refusals[2].series_index, 1u);
  EXPECT_EQ(r.refusals[2].Message(),
            "the sample has been rejected because its timestamp is too old "
            "(err-mimir-sample-timestamp-too-old). The affected sample has timestamp "
            "1970-01-19T04:30:43.968Z and is from series "
            "{__name__=\"up\", instance=\"b\", job=\"node\"}");

  testing::Dump dump = DumpHead(*head);
  std::vector<int64_t> ts;
  for (const auto& s : dump[a.ToString()]) ts.push_back(s.t);
  EXPECT_THAT(ts, ElementsAre(base, base + 1000, base + 2000));
  EXPECT_EQ(dump[a.ToString()][0].bits, BitsOf(1));
  ASSERT_EQ(dump[Series("up", "b").ToString()].size(), 1u);
  EXPECT_EQ(head->Stats().samples_refused, 3u);
}

TEST_F(HeadTest, TooOldIsJudgedAgainstTheHeadNotTheClock) {
  auto head = Open();
  RequestBuilder first;
  first.Add(Series("up", "a")).samples = {{10 * kHour, 1}};
  ASSERT_EQ(head->Append(first.Build()).samples_appended, 1u);
  RequestBuilder req;
  req.Add(Series("up", "new")).samples = {{9 * kHour, 1},        // exactly max - range/2: ok
                                          {9 * kHour + 1, 2}};   // ok
  req.Add(Series("up", "new2")).samples = {{9 * kHour - 1, 1}};  // too old
  AppendResult r = head->Append(req.Build());
  EXPECT_EQ(r.samples_appended, 2u);
  ASSERT_EQ(r.refusals.size(), 1u);
  EXPECT_EQ(r.refusals[0].kind, RefusalKind::kTooOld);
}

TEST_F(HeadTest, OutOfOrderWindowStoresInWindowAndCallsOlderTooOld) {
  HeadOptions o = Options();
  o.out_of_order_time_window_ms = 2 * kHour;
  auto head = Open(o);
  RequestBuilder first;
  first.Add(Series("up", "a")).samples = {{10 * kHour, 1}};
  ASSERT_EQ(head->Append(first.Build()).samples_appended, 1u);
  RequestBuilder req;
  req.Add(Series("up", "a")).samples = {{9 * kHour, 1}, {7 * kHour, 1}};
  AppendResult r = head->Append(req.Build());
  EXPECT_EQ(r.samples_appended, 1u);  // 9h: in the window, stored out of order
  EXPECT_EQ(r.ooo_samples_appended, 1u);
  ASSERT_EQ(r.refusals.size(), 1u);
  EXPECT_EQ(r.refusals[0].kind, RefusalKind::kTooOldOooWindow);
  EXPECT_EQ(r.refusals[0].sample_index, 1u);
  EXPECT_EQ(r.refusals[0].Message(),
            "the sample has been rejected because another sample with a more recent timestamp "
            "has already been ingested and this sample is beyond the out-of-order time window of "
            "2h (err-mimir-sample-timestamp-too-old). The affected sample has timestamp "
            "1970-01-01T07:00:00Z and is from series "
            "{__name__=\"up\", instance=\"a\", job=\"node\"}");
  std::vector<int64_t> ts;
  testing::Dump dump = DumpHead(*head);
  for (const auto& smp : dump[Series("up", "a").ToString()]) ts.push_back(smp.t);
  EXPECT_THAT(ts, ElementsAre(9 * kHour, 10 * kHour));
}

// The window's bound is head max − window: near INT64_MIN that subtraction must saturate, not
// wrap to a huge time that calls every older sample beyond the window.
TEST_F(HeadTest, OutOfOrderWindowBoundSaturatesNearTheStartOfTime) {
  HeadOptions o = Options();
  o.out_of_order_time_window_ms = 1000;
  auto head = Open(o);
  const Labels x = Labels::FromStrings({"__name__", "early"});
  RequestBuilder first;
  first.Add(x).samples.push_back({INT64_MIN + 10, 1});
  ASSERT_EQ(head->Append(first.Build()).samples_appended, 1u);
  RequestBuilder older;
  older.Add(x).samples.push_back({INT64_MIN + 5, 2});
  AppendResult r = head->Append(older.Build());
  EXPECT_TRUE(r.refusals.empty());  // inside the window: stored out of order
  EXPECT_EQ(r.ooo_samples_appended, 1u);
  std::vector<int64_t> ts;
  testing::Dump dump = DumpHead(*head);
  for (const auto& smp : dump[x.ToString()]) ts.push_back(smp.t);
  EXPECT_THAT(ts, ElementsAre(INT64_MIN + 5, INT64_MIN + 10));
}

TEST_F(HeadTest, SeriesLimitRefusesNewSeriesOnly) {
  HeadOptions o = Options();
  o.max_series = 2;
  auto head = Open(o);
  RequestBuilder req;
  req.Add(Series("up", "a")).samples = {{1000, 1}};
  req.Add(Series("up", "b")).samples = {{1000, 1}};
  req.Add(Series("up", "c")).samples = {{1000, 1}, {2000, 2}};
  req.Add(Series("up", "a")).samples = {{2000, 2}};  // the same series again: fine
  AppendResult r = head->Append(req.Build());
  EXPECT_EQ(r.samples_appended, 3u);
  EXPECT_EQ(r.samples_refused, 2u);
  ASSERT_EQ(r.refusals.size(), 1u);
  EXPECT_EQ(r.refusals[0].kind, RefusalKind::kSeriesLimit);
  EXPECT_EQ(r.refusals[0].series_index, 2u);
  EXPECT_EQ(r.refusals[0].count, 2u);
  EXPECT_EQ(r.refusals[0].Message(),
            "per-user series limit of 2 exceeded (err-mimir-max-series-per-user). To adjust the "
            "related per-tenant limit, configure -ingester.max-global-series-per-user, or contact "
            "your service administrator.");
  EXPECT_EQ(head->Stats().series, 2u);
  EXPECT_EQ(DumpHead(*head)[Series("up", "a").ToString()].size(), 2u);
}

// The raw-bytes path: a known encoding costs no decode; another encoding of the same set is an
// alias of the same series.
TEST_F(HeadTest, RawLabelsHitMissAndAlias) {
  auto head = Open();
  const Labels a = Series("up", "a");
  int decodes = 0;
  auto append = [&](std::string raw, int64_t t) {
    RequestBuilder req;
    auto& e = req.Add(Labels());
    e.raw = std::move(raw);
    e.samples = {{t, 1}};
    AppendRequest r = req.Build();
    r.decode_labels = [&](size_t i) {
      ++decodes;
      LabelsBuilder b;
      EXPECT_TRUE(AddRawLabels(req.series[i].raw_labels, b));
      b.DropEmptyValues().Sort();
      return LabelsOrError{b.Build(), ""};
    };
    return head->Append(r);
  };
  const std::string canonical = EncodeRawLabels(a);
  AppendResult r = append(canonical, 1000);
  EXPECT_EQ(r.series_created, 1u);
  EXPECT_EQ(decodes, 1);  // miss: decoded once
  r = append(canonical, 2000);
  EXPECT_EQ(r.samples_appended, 1u);
  EXPECT_EQ(decodes, 1);  // hit: no decode

  // Value before name inside each Label: other bytes (the cache is keyed by the bytes), so a
  // miss decoded once; the same labels in canonical order, so these bytes are known from then on.
  std::string swapped;
  for (Label l : a) {
    std::string msg = "\x12" + std::string(1, static_cast<char>(l.value.size())) +
                      std::string(l.value) + "\x0a" +
                      std::string(1, static_cast<char>(l.name.size())) + std::string(l.name);
    swapped += "\x0a" + std::string(1, static_cast<char>(msg.size())) + msg;
  }
  r = append(swapped, 3000);
  EXPECT_EQ(r.samples_appended, 1u);
  EXPECT_EQ(decodes, 2);
  EXPECT_TRUE(head->KnownRawLabels(swapped));
  r = append(swapped, 3500);
  EXPECT_EQ(r.samples_appended, 1u);
  EXPECT_EQ(decodes, 2);

  // Unsorted labels plus an empty-valued one: a miss, decoded to the same set, then an alias.
  const std::string unsorted = EncodeRawLabels(Labels::FromStrings({"job", "node"})) +
                               EncodeRawLabels(Labels::FromStrings({"instance", "a"})) +
                               EncodeRawLabels(Labels::FromStrings({"zone", ""})) +
                               EncodeRawLabels(Labels::FromStrings({"__name__", "up"}));
  r = append(unsorted, 4000);
  EXPECT_EQ(r.series_created, 0u);
  EXPECT_EQ(r.samples_appended, 1u);
  EXPECT_EQ(decodes, 3);
  r = append(unsorted, 5000);
  EXPECT_EQ(r.samples_appended, 1u);
  EXPECT_EQ(decodes, 3);                         // the alias hit
  EXPECT_FALSE(head->KnownRawLabels(unsorted));  // aliases are the append section's own
  EXPECT_EQ(head->Stats().series, 1u);
  EXPECT_EQ(head->Stats().alias_entries, 1u);
  EXPECT_EQ(DumpHead(*head)[a.ToString()].size(), 6u);

  // A decode failure refuses the series with the decoder's text.
  RequestBuilder bad;
  bad.Add(Labels()).raw = EncodeRawLabels(Labels::FromStrings({"job", "x"}));
  bad.entries[0].samples = {{1000, 1}};
  AppendRequest br = bad.Build();
  br.decode_labels = [](size_t) { return LabelsOrError{Labels(), "sample missing metric name"}; };
  r = head->Append(br);
  ASSERT_EQ(r.refusals.size(), 1u);
  EXPECT_EQ(r.refusals[0].kind, RefusalKind::kInvalidLabels);
  EXPECT_EQ(r.refusals[0].Message(), "sample missing metric name");
}

// AppendSeries::known_series (what the store passes from LookupRawLabels) spares Append its own
// lookup, but only from this head and only while the series exists.
TEST_F(HeadTest, SeriesHintsAreUsedOnlyFromThisHeadAndForLiveSeries) {
  auto head = Open();
  const Labels a = Series("up", "a");
  const std::string raw = EncodeRawLabels(a);
  RequestBuilder first;
  first.Add(a).samples = {{1000, 1}};
  ASSERT_TRUE(head->Append(first.Build()).status.ok());
  const std::optional<uint32_t> id = head->LookupRawLabels(raw);
  ASSERT_TRUE(id.has_value());

  int decodes = 0;
  auto append = [&](uint32_t hint, uint64_t hints_head, int64_t t) {
    RequestBuilder req;
    req.Add(Labels()).raw = raw;
    req.entries[0].samples = {{t, 2}};
    AppendRequest r = req.Build();
    req.series[0].known_series = hint;
    r.hints_head = hints_head;
    r.decode_labels = [&](size_t) {
      ++decodes;
      return LabelsOrError{a, ""};
    };
    return head->Append(r);
  };
  // A hint from this head: used. One that names no series: ignored, found by the bytes.
  EXPECT_EQ(append(*id, head->instance_id(), 2000).samples_appended, 1u);
  EXPECT_EQ(append(*id + 7, head->instance_id(), 3000).samples_appended, 1u);
  // A hint from another head (a reopened one): ignored even if it names a live series here.
  HeadOptions other_options = Options();
  other_options.dir = "/data/tenant-b";
  auto other = Open(other_options);
  EXPECT_NE(other->instance_id(), head->instance_id());
  EXPECT_EQ(append(*id, other->instance_id(), 4000).samples_appended, 1u);
  EXPECT_EQ(decodes, 0);
  EXPECT_EQ(DumpHead(*head)[a.ToString()].size(), 4u);

  // Truncate removes the series (nothing left at or after the cut): a hint to it, taken before,
  // must not write into the removed slot; the labels are decoded and make a new series.
  ASSERT_TRUE(head->Truncate(4 * kHour).ok());
  EXPECT_EQ(head->Stats().series, 0u);
  AppendResult r = append(*id, head->instance_id(), 5 * kHour);
  EXPECT_EQ(r.series_created, 1u);
  EXPECT_EQ(r.samples_appended, 1u);
  EXPECT_EQ(decodes, 1);
  const std::optional<uint32_t> fresh = head->LookupRawLabels(raw);
  ASSERT_TRUE(fresh.has_value());
  EXPECT_NE(*fresh, *id);
  testing::Dump dump = DumpHead(*head);
  ASSERT_EQ(dump[a.ToString()].size(), 1u);
  EXPECT_EQ(dump[a.ToString()][0].t, 5 * kHour);
}

TEST_F(HeadTest, ReadApiAnswersLikePrometheus) {
  auto head = Open();
  RequestBuilder req;
  req.Add(Labels::FromStrings({"__name__", "up", "job", "api", "instance", "b"})).samples = {
      {1000, 1}};
  req.Add(Labels::FromStrings({"__name__", "up", "job", "api", "instance", "a"})).samples = {
      {1000, 1}};
  req.Add(Labels::FromStrings({"__name__", "up", "job", "db", "zone", "z1"})).samples = {{5000, 1}};
  req.Add(Labels::FromStrings({"__name__", "errors", "job", "api"})).samples = {{9000, 1}};
  ASSERT_TRUE(head->Append(req.Build()).status.ok());

  std::vector<Matcher> up = {Matcher::MustCreate(Type::kEqual, "__name__", "up")};
  std::vector<Labels> series = head->Series(up, 0, 10000);
  ASSERT_EQ(series.size(), 3u);
  EXPECT_EQ(series[0].ToString(), "{__name__=\"up\", instance=\"a\", job=\"api\"}");
  EXPECT_EQ(series[1].ToString(), "{__name__=\"up\", instance=\"b\", job=\"api\"}");
  EXPECT_EQ(series[2].ToString(), "{__name__=\"up\", job=\"db\", zone=\"z1\"}");
  EXPECT_EQ(head->Series(up, 2000, 10000).size(), 1u);  // only the db series has data then

  EXPECT_THAT(head->LabelNames({}, 0, 10000), ElementsAre("__name__", "instance", "job", "zone"));
  EXPECT_THAT(head->LabelNames({}, 8000, 10000), ElementsAre("__name__", "job"));
  std::vector<Matcher> api = {Matcher::MustCreate(Type::kEqual, "job", "api")};
  EXPECT_THAT(head->LabelNames(api, 0, 10000), ElementsAre("__name__", "instance", "job"));
  EXPECT_THAT(head->LabelValues("__name__", {}, 0, 10000), ElementsAre("errors", "up"));
  EXPECT_THAT(head->LabelValues("instance", api, 0, 10000), ElementsAre("a", "b"));
  EXPECT_THAT(head->LabelValues("job", up, 0, 4000), ElementsAre("api"));
  EXPECT_TRUE(head->Series({}, 0, 10000).empty());

  std::vector<Matcher> not_api = {Matcher::MustCreate(Type::kEqual, "__name__", "up"),
                                  Matcher::MustCreate(Type::kNotEqual, "job", "api")};
  std::unique_ptr<HeadSeriesSet> set = head->SelectSamples(not_api, 0, 10000);
  ASSERT_TRUE(set->Next());
  EXPECT_EQ(set->labels().Get("zone"), "z1");
  EXPECT_EQ(set->samples().Next(), chunkenc::ValueType::kFloat);
  EXPECT_EQ(set->samples().At().first, 5000);
  EXPECT_EQ(set->samples().Next(), chunkenc::ValueType::kNone);
  EXPECT_FALSE(set->Next());
}

TEST_F(HeadTest, HistogramsAndTypeChanges) {
  auto head = Open();
  const Labels a = Series("latency", "a");
  RequestBuilder req;
  auto& e = req.Add(a);
  e.samples = {{1000, 1}};
  e.histograms.push_back({2000, testing::MakeHistogram(1)});
  e.histograms.push_back({3000, testing::MakeHistogram(2)});
  e.histograms.push_back({4000, testing::MakeHistogram(1)});  // a counter reset: a new chunk
  e.histograms.push_back({5000, testing::MakeHistogram(1).ToFloat()});
  chunkenc::Histogram broken = testing::MakeHistogram(1);
  broken.positive_buckets.pop_back();
  e.histograms.push_back({6000, broken});
  AppendResult r = head->Append(req.Build());
  EXPECT_EQ(r.samples_appended, 1u);
  EXPECT_EQ(r.histograms_appended, 4u);
  ASSERT_EQ(r.refusals.size(), 1u);
  EXPECT_EQ(r.refusals[0].kind, RefusalKind::kInvalidHistogram);
  EXPECT_TRUE(r.refusals[0].is_histogram);

  std::vector<testing::ReadSample> got = DumpHead(*head)[a.ToString()];
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0].type, chunkenc::ValueType::kFloat);
  EXPECT_EQ(got[1].type, chunkenc::ValueType::kHistogram);
  EXPECT_EQ(got[1].h, testing::MakeHistogram(1));
  EXPECT_EQ(got[2].h, testing::MakeHistogram(2));
  EXPECT_EQ(got[3].h, testing::MakeHistogram(1));
  EXPECT_EQ(got[4].type, chunkenc::ValueType::kFloatHistogram);
  EXPECT_EQ(got[4].fh.sum, 1.5);
  std::vector<HeadChunkMeta> chunks = head->Chunks(a);
  ASSERT_EQ(chunks.size(), 4u);  // xor, histogram, histogram after the reset, float histogram
  EXPECT_EQ(chunks[0].encoding, chunkenc::Encoding::kXor);
  EXPECT_EQ(chunks[1].encoding, chunkenc::Encoding::kHistogram);
  EXPECT_EQ(chunks[2].encoding, chunkenc::Encoding::kHistogram);
  EXPECT_EQ(chunks[3].encoding, chunkenc::Encoding::kFloatHistogram);

  // The same histogram again at the same time is a silent duplicate; another one is refused.
  RequestBuilder again;
  again.Add(a).histograms.push_back({5000, testing::MakeHistogram(1).ToFloat()});
  again.entries[0].histograms.push_back({5000, testing::MakeHistogram(3).ToFloat()});
  r = head->Append(again.Build());
  EXPECT_EQ(r.duplicates_ignored, 1u);
  ASSERT_EQ(r.refusals.size(), 1u);
  EXPECT_EQ(r.refusals[0].kind, RefusalKind::kDuplicate);
}

TEST_F(HeadTest, ExemplarsAndMetadata) {
  HeadOptions o = Options();
  o.max_exemplars = 3;
  auto head = Open(o);
  const Labels a = Series("req", "a"), b = Series("req", "b");
  const Labels trace1 = Labels::FromStrings({"trace_id", "t1"});
  const Labels trace2 = Labels::FromStrings({"trace_id", "t2"});
  RequestBuilder req;
  auto& ea = req.Add(a);
  ea.samples = {{1000, 1}};
  ea.exemplars = {{trace1, 1, 1000},
                  {trace1, 1, 1000} /* duplicate */,
                  {trace2, 2, 2000},
                  {trace2, 2, 500} /* out of order */};
  auto& eb = req.Add(b);
  eb.samples = {{1000, 1}};
  eb.exemplars = {{trace1, 5, 1500}, {trace2, 6, 2500}};  // the 4th: overwrites a's oldest
  req.metadata = {{"req", wal::MetricType::kCounter, "", "Requests."},
                  {"req", wal::MetricType::kCounter, "", "Requests served."}};
  AppendResult r = head->Append(req.Build());
  EXPECT_EQ(r.exemplars_appended, 4u);
  EXPECT_EQ(r.exemplars_dropped, 2u);

  std::vector<Matcher> m = {Matcher::MustCreate(Type::kEqual, "__name__", "req")};
  std::vector<SeriesExemplars> ex = head->Exemplars(m, 0, 10000);
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_EQ(ex[0].series, a);
  ASSERT_EQ(ex[0].exemplars.size(), 1u);  // t1@1000 was the oldest: overwritten
  EXPECT_EQ(ex[0].exemplars[0].labels, trace2);
  ASSERT_EQ(ex[1].exemplars.size(), 2u);
  EXPECT_EQ(ex[1].exemplars[1].value, 6);
  EXPECT_EQ(head->Exemplars(m, 2100, 10000).size(), 1u);

  std::vector<MetricMetadata> md = head->Metadata();
  ASSERT_EQ(md.size(), 1u);
  EXPECT_EQ(md[0].help, "Requests served.");  // the latest wins
  EXPECT_EQ(head->Metadata("req").size(), 1u);
  EXPECT_TRUE(head->Metadata("nope").empty());

  // Exemplars off (the default): dropped, counted.
  HeadOptions off = Options();
  off.dir = "/data/tenant-b";
  auto head_b = Open(off);
  r = head_b->Append(req.Build());
  EXPECT_EQ(r.exemplars_appended, 0u);
  EXPECT_EQ(r.exemplars_dropped, 6u);
}

TEST_F(HeadTest, ReplayRebuildsTheSameState) {
  HeadOptions o = Options();
  o.max_exemplars = 100;
  testing::Dump before;
  std::vector<SeriesExemplars> ex_before;
  std::vector<Matcher> all = testing::All();
  {
    auto head = Open(o);
    for (int round = 0; round < 5; ++round) {
      RequestBuilder req;
      for (int s = 0; s < 20; ++s) {
        auto& e =
            req.Add(Labels::FromStrings({"__name__", s % 2 == 0 ? "a" : "b", "i", std::to_string(s),
                                         "round_created", std::to_string(s < 10 ? 0 : round)}));
        for (int k = 0; k < 50; ++k) {
          e.samples.push_back({round * 1000000 + k * 15000, round * 100.0 + k + s});
        }
        if (s == 3) e.samples[4].v = FromBits(kStaleNaN);
        if (s == 5) {
          e.histograms.push_back({round * 1000000 + 999999, testing::MakeHistogram(round)});
        }
        if (s == 6) {
          e.histograms.push_back(
              {round * 1000000 + 999999, testing::MakeHistogram(round).ToFloat()});
        }
        e.exemplars.push_back(
            {Labels::FromStrings({"trace_id", std::to_string(round)}), 1.0 * s, round * 1000000});
      }
      req.metadata = {{"a", wal::MetricType::kGauge, "seconds", "help " + std::to_string(round)}};
      ASSERT_TRUE(head->Append(req.Build()).status.ok());
    }
    before = DumpHead(*head);
    ex_before = head->Exemplars(all, INT64_MIN, INT64_MAX);
    ASSERT_TRUE(head->SyncWal().ok());
  }
  auto head = Open(o);
  const ReplayStats& rs = head->replay_stats();
  EXPECT_EQ(rs.unknown_series_samples, 0u);
  EXPECT_EQ(rs.corrupt_records, 0u);
  EXPECT_EQ(rs.refused_samples, 0u);
  EXPECT_GT(rs.samples, 0u);
  testing::Dump after = DumpHead(*head);
  EXPECT_EQ(after.size(), before.size());
  EXPECT_TRUE(after == before);
  std::vector<SeriesExemplars> ex_after = head->Exemplars(all, INT64_MIN, INT64_MAX);
  ASSERT_EQ(ex_after.size(), ex_before.size());
  for (size_t i = 0; i < ex_after.size(); ++i) {
    EXPECT_EQ(ex_after[i].series, ex_before[i].series);
    EXPECT_EQ(ex_after[i].exemplars.size(), ex_before[i].exemplars.size());
  }
  ASSERT_EQ(head->Metadata("a").size(), 1u);
  EXPECT_EQ(head->Metadata("a")[0].help, "help 4");
  EXPECT_EQ(head->Metadata("a")[0].unit, "seconds");

  // Appending after replay continues the same series (no new ids for known sets).
  RequestBuilder more;
  more.Add(Labels::FromStrings({"__name__", "a", "i", "0", "round_created", "0"})).samples = {
      {9000000, 1}};
  AppendResult r = head->Append(more.Build());
  EXPECT_EQ(r.series_created, 0u);
  EXPECT_EQ(r.samples_appended, 1u);
  // Order checks survive replay too.
  RequestBuilder stale;
  stale.Add(Labels::FromStrings({"__name__", "a", "i", "0", "round_created", "0"})).samples = {
      {8999999, 1}};
  r = head->Append(stale.Build());
  ASSERT_EQ(r.refusals.size(), 1u);
  EXPECT_EQ(r.refusals[0].kind, RefusalKind::kOutOfOrder);
}

std::string TimesOf(const std::vector<testing::ReadSample>& samples) {
  std::string out;
  for (const testing::ReadSample& r : samples) {
    absl::StrAppend(&out, r.t, "(", static_cast<int>(r.type), ") ");
  }
  return out;
}

// A float histogram then an integer histogram of one series in one request: the WAL's records
// are by type (integer histograms before float ones), yet replay must see them in request order.
TEST_F(HeadTest, MixedHistogramKindsInARequestReplayInRequestOrder) {
  const Labels x = Labels::FromStrings({"__name__", "h"});
  testing::Dump before;
  {
    auto head = Open();
    RequestBuilder req;
    auto& e = req.Add(x);
    e.histograms.push_back({1000, testing::MakeHistogram(1).ToFloat()});
    e.histograms.push_back({2000, testing::MakeHistogram(2)});
    e.histograms.push_back({3000, testing::MakeHistogram(3).ToFloat()});
    AppendResult r = head->Append(req.Build());
    ASSERT_TRUE(r.status.ok());
    EXPECT_EQ(r.histograms_appended, 3u);
    before = DumpHead(*head);
    ASSERT_TRUE(head->SyncWal().ok());
  }
  ASSERT_EQ(before[x.ToString()].size(), 3u);
  auto head = Open();
  EXPECT_EQ(head->replay_stats().refused_samples, 0u);
  testing::Dump after = DumpHead(*head);
  EXPECT_TRUE(after == before) << "before: " << TimesOf(before[x.ToString()])
                               << " after: " << TimesOf(after[x.ToString()]);
}

// One series twice in a request (two encodings of its labels): a histogram at t=5000, then a
// float at t=10000. Staging accepts both in that order; memory and the WAL must keep it.
TEST_F(HeadTest, SameSeriesTwiceInARequestIsAppliedAndLoggedInRequestOrder) {
  const Labels x = Labels::FromStrings({"__name__", "m"});
  testing::Dump before;
  {
    auto head = Open();
    RequestBuilder req;
    req.Add(x).histograms.push_back({5000, testing::MakeHistogram(1)});
    req.Add(x).samples.push_back({10000, 1.0});
    AppendResult r = head->Append(req.Build());
    ASSERT_TRUE(r.status.ok());
    EXPECT_TRUE(r.refusals.empty());
    before = DumpHead(*head);
    std::vector<HeadChunkMeta> chunks = head->Chunks(x);
    ASSERT_EQ(chunks.size(), 2u);
    EXPECT_EQ(chunks[0].encoding, chunkenc::Encoding::kHistogram);
    EXPECT_EQ(chunks[1].min_time, 10000);
    ASSERT_TRUE(head->SyncWal().ok());
  }
  const std::vector<testing::ReadSample>& b = before[x.ToString()];
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].t, 5000) << TimesOf(b);
  EXPECT_EQ(b[1].t, 10000) << TimesOf(b);
  auto head = Open();
  EXPECT_EQ(head->replay_stats().refused_samples, 0u);
  testing::Dump after = DumpHead(*head);
  EXPECT_TRUE(after == before) << "after replay: " << TimesOf(after[x.ToString()]);
}

// A chunk holds at most 65535 samples (its u16 count): a larger samples_per_chunk would make
// the head drop samples silently. Open refuses it; at the limit every sample is kept.
TEST_F(HeadTest, SamplesPerChunkAboveAChunksCapacityIsRefused) {
  HeadOptions o = Options();
  o.samples_per_chunk = 100000;
  absl::StatusOr<std::unique_ptr<TenantHead>> refused = TenantHead::Open(o);
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status())) << refused.status();
  o.samples_per_chunk = 65535;
  o.chunk_range_ms = INT64_MAX / 4;
  auto head = Open(o);
  ASSERT_NE(head, nullptr);
  const Labels x = Labels::FromStrings({"__name__", "big"});
  RequestBuilder req;
  auto& e = req.Add(x);
  for (int i = 0; i < 70000; ++i) e.samples.push_back({1000 + i, static_cast<double>(i)});
  AppendResult r = head->Append(req.Build());
  EXPECT_EQ(r.samples_appended, 70000u);
  EXPECT_EQ(DumpHead(*head)[x.ToString()].size(), 70000u);
  EXPECT_EQ(head->Chunks(x).size(), 2u);
}

// A series record naming an id near 2^32 (a damaged or crafted WAL): replay must not allocate
// series slots up to it (hundreds of gigabytes); it counts and skips the entry.
TEST_F(HeadTest, ReplaySkipsSeriesIdsBeyondWhatAValidLogHolds) {
  {
    storage::SegmentLogOptions lo;
    lo.env = &env_;
    lo.directory = "/data/tenant-a/wal";
    lo.sync = storage::SyncPolicy::kManual;
    auto log = storage::SegmentLog::Open(lo);
    ASSERT_TRUE(log.ok()) << log.status();
    const Labels good = Labels::FromStrings({"__name__", "good"});
    const Labels bad = Labels::FromStrings({"__name__", "bad"});
    wal::RecordBuilder series, samples;
    series.Start();
    series.AddSeries(0, good.bytes());
    series.AddSeries(4000000000u, bad.bytes());
    series.AddSeries(UINT32_MAX, bad.bytes());
    samples.Start();
    samples.AddSample(0, 1000, BitsOf(1.0));
    samples.AddSample(4000000000u, 1000, BitsOf(2.0));
    ASSERT_TRUE((*log)->Append(wal::kSeries, series.data()).ok());
    ASSERT_TRUE((*log)->Append(wal::kSamples, samples.data()).ok());
    ASSERT_TRUE((*log)->Sync().ok());
  }
  auto head = Open();
  ASSERT_NE(head, nullptr);
  EXPECT_EQ(head->replay_stats().ids_out_of_range, 2u);
  EXPECT_EQ(head->replay_stats().series, 1u);
  EXPECT_EQ(head->replay_stats().samples, 1u);
  EXPECT_EQ(head->replay_stats().unknown_series_samples, 1u);
  EXPECT_LT(head->MemoryBytes(), size_t{64} << 20);
  EXPECT_EQ(DumpHead(*head).size(), 1u);
  // New series continue after the highest id defined.
  RequestBuilder req;
  req.Add(Labels::FromStrings({"__name__", "new"})).samples.push_back({2000, 3});
  EXPECT_EQ(head->Append(req.Build()).series_created, 1u);
  EXPECT_EQ(head->Stats().series, 2u);
}

// Found while writing wal_replay_fuzzer (crafted inputs, now in its corpus, on which it ran out
// of memory): ids far apart, each within the gap a segment may hold (40 series
// 2^20 − 1 apart), or anywhere in a checkpoint (2^32 − 2), made replay allocate every series
// slot up to the highest id: gigabytes from a few hundred bytes of WAL. Only the pages holding a
// series are allocated now. The id space's last id is used, so the next new series is refused
// (never given the id UINT32_MAX, which replay skips, nor a wrapped one).
TEST_F(HeadTest, ReplayAllocatesSlotsOnlyWhereSeriesAre) {
  constexpr uint32_t kGap = (1u << 20) - 1;
  constexpr uint32_t kHighest = UINT32_MAX - 1;
  auto write = [&](const std::string& dir, const std::vector<std::pair<uint32_t, Labels>>& all) {
    storage::SegmentLogOptions lo;
    lo.env = &env_;
    lo.directory = dir;
    lo.sync = storage::SyncPolicy::kManual;
    auto log = storage::SegmentLog::Open(lo);
    ASSERT_TRUE(log.ok()) << log.status();
    wal::RecordBuilder series, samples;
    series.Start();
    samples.Start();
    for (const auto& [id, labels] : all) {
      series.AddSeries(id, labels.bytes());
      samples.AddSample(id, 1000, BitsOf(static_cast<double>(id)));
    }
    ASSERT_TRUE((*log)->Append(wal::kSeries, series.data()).ok());
    ASSERT_TRUE((*log)->Append(wal::kSamples, samples.data()).ok());
    ASSERT_TRUE((*log)->Sync().ok());
  };
  std::vector<std::pair<uint32_t, Labels>> spread;
  for (uint32_t i = 1; i <= 40; ++i) {
    spread.emplace_back(i * kGap,
                        Labels::FromStrings({"__name__", "spread", "i", absl::StrCat(i)}));
  }
  ASSERT_NO_FATAL_FAILURE(write("/data/tenant-a/wal/checkpoint.00000001",
                                {{kHighest, Labels::FromStrings({"__name__", "highest"})}}));
  ASSERT_NO_FATAL_FAILURE(write("/data/tenant-a/wal", spread));
  auto head = Open();
  ASSERT_NE(head, nullptr);
  EXPECT_EQ(head->replay_stats().series, 41u);
  EXPECT_EQ(head->replay_stats().samples, 41u);
  EXPECT_EQ(head->replay_stats().ids_out_of_range, 0u);
  // 41 pages of slots and the page table up to id 2^32 − 2 (4M pointers): tens of megabytes,
  // where all slots up to the highest id would take about 300 GB.
  EXPECT_LT(head->MemoryBytes(), size_t{64} << 20);
  const testing::Dump dump = DumpHead(*head);
  ASSERT_EQ(dump.size(), 41u);
  EXPECT_EQ(dump.at("{__name__=\"highest\"}").at(0).bits, BitsOf(static_cast<double>(kHighest)));
  EXPECT_EQ(dump.at("{__name__=\"spread\", i=\"40\"}").at(0).bits,
            BitsOf(static_cast<double>(40 * kGap)));

  RequestBuilder req;
  req.Add(Labels::FromStrings({"__name__", "new"})).samples.push_back({2000, 3});
  req.Add(Labels::FromStrings({"__name__", "highest"})).samples.push_back({2000, 4});
  AppendResult r = head->Append(req.Build());
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.series_created, 0u);
  EXPECT_EQ(r.samples_appended, 1u);
  ASSERT_EQ(r.refusals.size(), 1u);
  EXPECT_EQ(r.refusals[0].kind, RefusalKind::kSeriesLimit);
  ASSERT_TRUE(head->SyncWal().ok());
  const testing::Dump live = DumpHead(*head);
  head.reset();
  head = Open();
  ASSERT_NE(head, nullptr);
  EXPECT_EQ(DumpHead(*head), live);
}

TEST_F(HeadTest, SecondOpenOfTheSameDirectoryIsRefused) {
  auto head = Open();
  absl::StatusOr<std::unique_ptr<TenantHead>> second = TenantHead::Open(Options());
  EXPECT_FALSE(second.ok());
}

// Several appenders and readers at once: readers only ever see strictly increasing timestamps
// and never fewer samples than an earlier read; at the end every accepted sample is there.
TEST_F(HeadTest, ConcurrentAppendersAndReaders) {
  HeadOptions o = Options();
  o.wal_sync = storage::SyncPolicy::kEveryAppend;
  o.samples_per_chunk = 30;
  auto head = Open(o);
  constexpr int kWriters = 3, kSeries = 40, kRounds = 150;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> accepted{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int round = 0; round < kRounds; ++round) {
        RequestBuilder req;
        for (int s = 0; s < kSeries; ++s) {
          // Half the series are shared by all writers (they race on order), half are own.
          const std::string owner = s % 2 == 0 ? "shared" : std::to_string(w);
          req.Add(Labels::FromStrings({"__name__", "m", "s", std::to_string(s), "w", owner}))
              .samples = {{round * 1000 + w, 1.0 * round}};
        }
        AppendResult r = head->Append(req.Build());
        ASSERT_TRUE(r.status.ok()) << r.status;
        accepted += r.samples_appended;
      }
    });
  }
  for (int rd = 0; rd < 2; ++rd) {
    threads.emplace_back([&] {
      std::map<std::string, size_t> seen;
      while (!stop.load()) {
        testing::Dump d = DumpHead(*head);
        for (const auto& [name, samples] : d) {
          for (size_t i = 1; i < samples.size(); ++i) ASSERT_LT(samples[i - 1].t, samples[i].t);
          ASSERT_GE(samples.size(), seen[name]);
          seen[name] = samples.size();
        }
      }
    });
  }
  for (int w = 0; w < kWriters; ++w) threads[w].join();
  stop = true;
  for (size_t i = kWriters; i < threads.size(); ++i) threads[i].join();

  uint64_t total = 0;
  for (const auto& [name, samples] : DumpHead(*head)) total += samples.size();
  EXPECT_EQ(total, accepted.load());
  // Own series never race: all their samples are in.
  EXPECT_EQ(
      DumpHead(*head)[Labels::FromStrings({"__name__", "m", "s", "1", "w", "0"}).ToString()].size(),
      static_cast<size_t>(kRounds));
  const testing::Dump before = DumpHead(*head);
  head.reset();
  env_.SimulateCrash(storage::FaultInjectionEnv::CrashMode::kDropUnsynced);
  head = Open(o);
  EXPECT_TRUE(DumpHead(*head) == before);
}

TEST_F(HeadTest, CardinalityCountsFromTheIndexAndChunksOverTheSeries) {
  auto head = Open();
  EXPECT_TRUE(head->LabelCardinality({}, {}, INT64_MIN).empty());
  EXPECT_EQ(head->CountSeries({}, INT64_MIN), 0u);
  EXPECT_EQ(head->ChunkCount(), 0u);
  RequestBuilder req;
  // 300 samples 15 s apart in one 2 h range: chunks of 120, 120 and 60 samples.
  auto& busy = req.Add(Series("up", "a"));
  for (int i = 0; i < 300; ++i) busy.samples.push_back({1000 + i * 15000, 1});
  req.Add(Series("up", "b")).samples = {{1000, 1}};
  req.Add(Series("load", "a")).samples = {{500, 1}};
  ASSERT_TRUE(head->Append(req.Build()).status.ok());
  EXPECT_EQ(head->ChunkCount(), 5u);
  EXPECT_EQ(head->CountSeries({}, INT64_MIN), 3u);

  auto counts = [](const std::vector<MemPostings::NameCardinality>& names) {
    std::map<std::string, std::map<std::string, uint64_t>> out;
    for (const auto& n : names) {
      for (const auto& v : n.values) out[std::string(n.name)][std::string(v.value)] = v.series;
    }
    return out;
  };
  using Counts = std::map<std::string, std::map<std::string, uint64_t>>;
  EXPECT_EQ(counts(head->LabelCardinality({}, {}, INT64_MIN)),
            (Counts{{"__name__", {{"load", 1}, {"up", 2}}},
                    {"instance", {{"a", 2}, {"b", 1}}},
                    {"job", {{"node", 3}}}}));
  // A selector, and activity: only up{instance="a"} has a sample at or after 2000.
  const std::vector<Matcher> up = {Matcher::MustCreate(Type::kEqual, "__name__", "up")};
  const std::vector<std::string> instance = {"instance"};
  EXPECT_EQ(counts(head->LabelCardinality(instance, up, INT64_MIN)),
            (Counts{{"instance", {{"a", 1}, {"b", 1}}}}));
  EXPECT_EQ(counts(head->LabelCardinality({}, {}, 2000)),
            (Counts{{"__name__", {{"up", 1}}}, {"instance", {{"a", 1}}}, {"job", {{"node", 1}}}}));
  EXPECT_EQ(head->CountSeries(up, INT64_MIN), 2u);
  EXPECT_EQ(head->CountSeries({}, 2000), 1u);
}

// Start-timestamp zeros (FloatSample::start_zero, remote write 2.0's start timestamps): stored
// strictly in order after the series' last sample; dropped silently — no refusal, nothing in
// samples_refused — when out of order, at the last sample's time, too old, or inside an
// out-of-order window; not counted as the sender's samples; and replayed from the WAL.
TEST_F(HeadTest, StartZerosAreStoredInOrderAndDroppedSilentlyOtherwise) {
  HeadOptions o = Options();
  testing::Dump before;
  {
    auto head = Open(o);
    const Labels a = Series("requests_total", "a");
    RequestBuilder first;
    first.Add(a).samples = {{1000, 0, /*start_zero=*/true}, {2000, 5}};
    AppendResult r = head->Append(first.Build());
    EXPECT_EQ(r.start_zeros_appended, 1u);
    EXPECT_EQ(r.start_zeros_dropped, 0u);
    EXPECT_EQ(r.samples_appended, 1u);
    EXPECT_TRUE(r.refusals.empty());

    RequestBuilder second;
    second.Add(a).samples = {{1500, 0, true},  // before the last sample (2000): dropped
                             {2000, 0, true},  // at it (another value there): dropped
                             {3000, 7}};
    r = head->Append(second.Build());
    EXPECT_EQ(r.start_zeros_appended, 0u);
    EXPECT_EQ(r.start_zeros_dropped, 2u);
    EXPECT_EQ(r.samples_appended, 1u);
    EXPECT_EQ(r.duplicates_ignored, 0u);
    EXPECT_EQ(r.samples_refused, 0u);
    EXPECT_TRUE(r.refusals.empty());

    // Too old for the head (max 10h, chunk range 2h: nothing before 9h): the zero goes, its
    // sample stays.
    RequestBuilder ahead;
    ahead.Add(Series("up", "x")).samples = {{10 * kHour, 1}};
    ASSERT_EQ(head->Append(ahead.Build()).samples_appended, 1u);
    RequestBuilder late;
    late.Add(Series("requests_total", "b")).samples = {{9 * kHour - 1, 0, true},
                                                       {9 * kHour + 5, 3}};
    r = head->Append(late.Build());
    EXPECT_EQ(r.start_zeros_dropped, 1u);
    EXPECT_EQ(r.samples_appended, 1u);
    EXPECT_TRUE(r.refusals.empty());

    // A zero histogram of the same schema before the first histogram.
    const Labels h = Series("latency", "a");
    chunkenc::Histogram zero;
    zero.reset_hint = chunkenc::CounterResetHint::kCounterReset;
    zero.schema = 1;
    zero.zero_threshold = 0.001;
    RequestBuilder hist;
    auto& e = hist.Add(h);
    e.histograms.push_back({10 * kHour, zero, true});
    e.histograms.push_back({10 * kHour + 1000, testing::MakeHistogram(1)});
    r = head->Append(hist.Build());
    EXPECT_EQ(r.start_zeros_appended, 1u);
    EXPECT_EQ(r.histograms_appended, 1u);

    before = DumpHead(*head);
    std::vector<testing::ReadSample> got = before[a.ToString()];
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].t, 1000);
    EXPECT_EQ(got[0].bits, BitsOf(0.0));
    EXPECT_EQ(got[1].t, 2000);
    EXPECT_EQ(got[2].t, 3000);
    got = before[Series("requests_total", "b").ToString()];
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].t, 9 * kHour + 5);
    got = before[h.ToString()];
    ASSERT_EQ(got.size(), 2u);
    zero.reset_hint = chunkenc::CounterResetHint::kUnknown;  // DumpHead drops the hint
    EXPECT_EQ(got[0].h, zero);
    EXPECT_EQ(got[1].h, testing::MakeHistogram(1));
    EXPECT_EQ(head->Stats().samples_refused, 0u);
  }
  auto reopened = Open(o);
  EXPECT_EQ(DumpHead(*reopened), before);
}

// A series refused whole (series limit) stands for the sender's samples only: the injected
// zero is neither counted nor named.
TEST_F(HeadTest, ASeriesRefusedWholeCountsNoStartZero) {
  HeadOptions o = Options();
  o.max_series = 1;
  auto head = Open(o);
  RequestBuilder req;
  req.Add(Series("up", "a")).samples = {{1000, 1}};
  req.Add(Series("requests_total", "b")).samples = {{500, 0, true}, {1000, 4}, {2000, 5}};
  AppendResult r = head->Append(req.Build());
  EXPECT_EQ(r.samples_refused, 2u);
  ASSERT_EQ(r.refusals.size(), 1u);
  EXPECT_EQ(r.refusals[0].kind, RefusalKind::kSeriesLimit);
  EXPECT_EQ(r.refusals[0].count, 2u);
  EXPECT_EQ(r.refusals[0].timestamp, 1000);
  EXPECT_EQ(r.start_zeros_appended, 0u);
}

// Inside an out-of-order window a zero before the last sample is still dropped (never stored
// out of order, as Prometheus's AppendCTZeroSample), not refused.
TEST_F(HeadTest, StartZeroInsideTheOutOfOrderWindowIsDroppedNotRefused) {
  HeadOptions o = Options();
  o.out_of_order_time_window_ms = 2 * kHour;
  auto head = Open(o);
  const Labels a = Series("requests_total", "a");
  RequestBuilder first;
  first.Add(a).samples = {{10 * kHour, 4}};
  ASSERT_EQ(head->Append(first.Build()).samples_appended, 1u);
  RequestBuilder req;
  req.Add(a).samples = {{9 * kHour, 0, true}, {11 * kHour, 6}};
  AppendResult r = head->Append(req.Build());
  EXPECT_EQ(r.start_zeros_dropped, 1u);
  EXPECT_EQ(r.samples_appended, 1u);
  EXPECT_TRUE(r.refusals.empty());
}

}  // namespace
}  // namespace sprout::metrics::tsdb
