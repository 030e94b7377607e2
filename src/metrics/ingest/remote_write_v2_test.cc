// Remote write 2.0 (io.prometheus.write.v2.Request) through RemoteWriteDecoder. The requests are
// written by hand from the spec's field numbers (Request: symbols 4, timeseries 5; TimeSeries:
// labels_refs 1, samples 2, histograms 3, exemplars 4, metadata 5, created_timestamp 6 (the
// layout before 2.0-rc.4); Sample: value 1, timestamp 2, start_timestamp 3; Exemplar:
// labels_refs 1, value 2, timestamp 3; Metadata: type 1, help_ref 3, unit_ref 4; Histogram as
// 1.0's plus custom_values 16 and start_timestamp 17), not from a .proto of ours.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "metrics/ingest/remote_write.h"
#include "net/compression.h"
#include "prometheus/remote.pb.h"

namespace sprout::metrics::ingest {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

// --- a minimal protobuf writer ---
void Varint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
std::string VarintField(int number, uint64_t v) {
  std::string out;
  Varint(static_cast<uint64_t>(number) << 3, &out);
  Varint(v, &out);
  return out;
}
std::string Fixed64Field(int number, double d) {
  std::string out;
  Varint((static_cast<uint64_t>(number) << 3) | 1, &out);
  const auto bits = std::bit_cast<uint64_t>(d);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(bits >> (8 * i)));
  return out;
}
std::string LenField(int number, const std::string& payload) {
  std::string out;
  Varint((static_cast<uint64_t>(number) << 3) | 2, &out);
  Varint(payload.size(), &out);
  return out + payload;
}
std::string Packed(int number, const std::vector<uint64_t>& values) {
  std::string payload;
  for (uint64_t v : values) Varint(v, &payload);
  return LenField(number, payload);
}
uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

std::string Symbols(const std::vector<std::string>& symbols) {
  std::string out;
  for (const std::string& s : symbols) out += LenField(4, s);
  return out;
}
std::string SampleMsg(double v, int64_t t, int64_t start = 0) {
  std::string out = Fixed64Field(1, v) + VarintField(2, static_cast<uint64_t>(t));
  if (start != 0) out += VarintField(3, static_cast<uint64_t>(start));
  return out;
}

struct Seen {
  std::vector<std::pair<std::string, std::string>> labels;
  std::string label_bytes;
  std::vector<Sample> samples;
  std::vector<HistogramSample> histograms;
  std::vector<std::vector<std::pair<std::string, std::string>>> exemplar_labels;
};

class Collector : public WriteVisitor {
 public:
  std::vector<Seen> series;
  std::vector<std::tuple<int32_t, std::string, std::string, std::string>> metadata;
  void OnSeries(const Series& s) override {
    Seen seen;
    for (const Label& l : s.labels()) seen.labels.emplace_back(l.name, l.value);
    seen.label_bytes = std::string(s.label_bytes());
    seen.samples.assign(s.samples().begin(), s.samples().end());
    seen.histograms.assign(s.histograms().begin(), s.histograms().end());
    for (const Exemplar& e : s.exemplars()) {
      seen.exemplar_labels.emplace_back();
      for (const Label& l : e.labels) seen.exemplar_labels.back().emplace_back(l.name, l.value);
    }
    series.push_back(std::move(seen));
  }
  void OnMetadata(const MetricMetadata& m) override {
    metadata.emplace_back(m.type, std::string(m.metric_family_name), std::string(m.help),
                          std::string(m.unit));
  }
};

struct V2Run {
  IngestResult result;
  Collector seen;
};

V2Run DecodeV2(const std::string& wire) {
  V2Run run;
  RemoteWriteDecoder decoder;
  const std::string body = *net::Compress(net::Codec::kSnappy, wire);
  run.result = decoder.DecodeSnappy(body, kNow, run.seen, Protocol::kV2);
  return run;
}

// symbols: 0 "", 1 __name__, 2 http_requests_total, 3 job, 4 api, 5 help text, 6 seconds,
// 7 trace_id, 8 abc123, 9 latency_seconds
const std::vector<std::string> kSymbols = {
    "",         "__name__", "http_requests_total", "job", "api", "Requests.", "seconds",
    "trace_id", "abc123",   "latency_seconds"};

TEST(RemoteWriteV2, SeriesSamplesExemplarsAndMetadataResolveThroughTheSymbolTable) {
  const std::string ts = Packed(1, {1, 2, 3, 4}) + LenField(2, SampleMsg(5, kNow - 1000)) +
                         LenField(2, SampleMsg(7, kNow)) +
                         LenField(4, Packed(1, {7, 8}) + Fixed64Field(2, 7) +
                                         VarintField(3, static_cast<uint64_t>(kNow))) +
                         LenField(5, VarintField(1, 1) + VarintField(3, 5) + VarintField(4, 0));
  V2Run run = DecodeV2(Symbols(kSymbols) + LenField(5, ts));
  ASSERT_TRUE(run.result.ok()) << run.result.message;
  EXPECT_EQ(run.result.series_accepted, 1);
  EXPECT_EQ(run.result.samples_accepted, 2);
  EXPECT_EQ(run.result.exemplars_accepted, 1);
  EXPECT_EQ(run.result.metadata_accepted, 1);
  ASSERT_EQ(run.seen.series.size(), 1u);
  const Seen& s = run.seen.series[0];
  EXPECT_EQ(s.labels, (std::vector<std::pair<std::string, std::string>>{
                          {"__name__", "http_requests_total"}, {"job", "api"}}));
  ASSERT_EQ(s.samples.size(), 2u);
  EXPECT_EQ(s.samples[0].timestamp_ms, kNow - 1000);
  EXPECT_EQ(s.samples[0].value(), 5);
  EXPECT_EQ(s.samples[1].value(), 7);
  ASSERT_EQ(s.exemplar_labels.size(), 1u);
  EXPECT_EQ(s.exemplar_labels[0],
            (std::vector<std::pair<std::string, std::string>>{{"trace_id", "abc123"}}));
  ASSERT_EQ(run.seen.metadata.size(), 1u);
  EXPECT_EQ(run.seen.metadata[0], std::make_tuple(1, std::string("http_requests_total"),
                                                  std::string("Requests."), std::string("")));

  // The label bytes are 1.0's encoding of the same labels, as a 1.0 sender writes them.
  prometheus::TimeSeries v1;
  auto* l = v1.add_labels();
  l->set_name("__name__");
  l->set_value("http_requests_total");
  l = v1.add_labels();
  l->set_name("job");
  l->set_value("api");
  EXPECT_EQ(s.label_bytes, v1.SerializeAsString());
}

TEST(RemoteWriteV2, UnpackedReferencesAreReadToo) {
  const std::string ts = VarintField(1, 1) + VarintField(1, 2) + LenField(2, SampleMsg(1, kNow));
  V2Run run = DecodeV2(Symbols(kSymbols) + LenField(5, ts));
  ASSERT_TRUE(run.result.ok()) << run.result.message;
  ASSERT_EQ(run.seen.series.size(), 1u);
  EXPECT_EQ(run.seen.series[0].labels.size(), 1u);
}

TEST(RemoteWriteV2, StartTimestampsInBothLayouts) {
  // Prometheus 3.0–3.7: TimeSeries.created_timestamp (6) for every sample of the series.
  const std::string old_layout = Packed(1, {1, 2}) + LenField(2, SampleMsg(1, kNow - 1000)) +
                                 LenField(2, SampleMsg(2, kNow)) +
                                 VarintField(6, static_cast<uint64_t>(kNow - 60'000));
  // Prometheus 3.8+: Sample.start_timestamp (3) and Histogram.start_timestamp (17).
  const std::string new_layout =
      Packed(1, {1, 9}) + LenField(2, SampleMsg(1, kNow - 1000, kNow - 30'000)) +
      LenField(2, SampleMsg(2, kNow, kNow - 20'000)) + VarintField(6, 123);  // per sample wins
  const std::string hist =
      Packed(1, {1, 2}) + LenField(3, VarintField(1, 0) + VarintField(4, 0) +
                                          VarintField(15, static_cast<uint64_t>(kNow)) +
                                          VarintField(17, static_cast<uint64_t>(kNow - 5000)));
  V2Run run = DecodeV2(Symbols(kSymbols) + LenField(5, old_layout) + LenField(5, new_layout) +
                       LenField(5, hist));
  ASSERT_TRUE(run.result.ok()) << run.result.message;
  ASSERT_EQ(run.seen.series.size(), 3u);
  EXPECT_EQ(run.seen.series[0].samples[0].start_timestamp_ms, kNow - 60'000);
  EXPECT_EQ(run.seen.series[0].samples[1].start_timestamp_ms, kNow - 60'000);
  EXPECT_EQ(run.seen.series[1].samples[0].start_timestamp_ms, kNow - 30'000);
  EXPECT_EQ(run.seen.series[1].samples[1].start_timestamp_ms, kNow - 20'000);
  ASSERT_EQ(run.seen.series[2].histograms.size(), 1u);
  EXPECT_EQ(run.seen.series[2].histograms[0].start_timestamp_ms, kNow - 5000);
}

TEST(RemoteWriteV2, ABadReferenceRefusesTheRequestAsMimirDoes) {
  // Mimir's unmarshalling refuses the whole request (pkg/mimirpb: "proto: Remote Write 2.0
  // invalid label reference", ...): nothing is delivered, the good series neither.
  const std::string good = Packed(1, {1, 2}) + LenField(2, SampleMsg(1, kNow));
  const std::string bad = Packed(1, {1, 99}) + LenField(2, SampleMsg(1, kNow));
  V2Run run = DecodeV2(Symbols(kSymbols) + LenField(5, good) + LenField(5, bad));
  EXPECT_EQ(run.result.http_status, 400);
  EXPECT_TRUE(run.result.request_refused);
  EXPECT_EQ(run.result.message,
            "proto: Remote Write 2.0 invalid label reference (timeseries[1].labels_refs[1]: 99, "
            "the request has 10 symbols)");
  EXPECT_EQ(run.result.series_accepted + run.result.series_refused, 0);
  EXPECT_TRUE(run.seen.series.empty());

  // An odd number of references, an exemplar's or the metadata's bad reference: the same.
  V2Run odd = DecodeV2(Symbols(kSymbols) +
                       LenField(5, Packed(1, {1, 2, 3}) + LenField(2, SampleMsg(1, kNow))));
  EXPECT_EQ(odd.result.message,
            "proto: Remote Write 2.0 odd number of label references (timeseries[0].labels_refs: "
            "3, the request has 10 symbols)");
  V2Run ex = DecodeV2(
      Symbols(kSymbols) +
      LenField(5, good + LenField(4, Packed(1, {7, 50}) + Fixed64Field(2, 1) + VarintField(3, 5))));
  EXPECT_EQ(ex.result.message,
            "proto: Remote Write 2.0 invalid exemplar label reference "
            "(timeseries[0].exemplars[0].labels_refs[1]: 50, the request has 10 symbols)");
  V2Run oddex = DecodeV2(Symbols(kSymbols) +
                         LenField(5, good + LenField(4, Packed(1, {7}) + Fixed64Field(2, 1))));
  EXPECT_NE(oddex.result.message.find("odd number of exemplar label references"),
            std::string::npos);
  V2Run help = DecodeV2(Symbols(kSymbols) + LenField(5, good + LenField(5, VarintField(3, 10))));
  EXPECT_EQ(help.result.message,
            "proto: Remote Write 2.0 invalid help reference (timeseries[0].metadata.help_ref: 10, "
            "the request has 10 symbols)");
  V2Run unit = DecodeV2(Symbols(kSymbols) + LenField(5, good + LenField(5, VarintField(4, 10))));
  EXPECT_NE(unit.result.message.find("invalid unit reference"), std::string::npos);
  EXPECT_TRUE(unit.seen.series.empty());
  // No symbols at all: every reference is outside the table.
  V2Run none = DecodeV2(LenField(5, good));
  EXPECT_TRUE(none.result.request_refused);
}

TEST(RemoteWriteV2, TheFirstSymbolMustBeEmpty) {
  V2Run run = DecodeV2(Symbols({"x", "__name__", "up"}) +
                       LenField(5, Packed(1, {1, 2}) + LenField(2, SampleMsg(1, kNow))));
  EXPECT_EQ(run.result.http_status, 400);
  EXPECT_TRUE(run.result.request_refused);
  EXPECT_EQ(run.result.message,
            "proto: Remote Write 2.0 symbols must start with empty string (got \"x\")");
  EXPECT_TRUE(run.seen.series.empty());
}

TEST(RemoteWriteV2, ValidationIsRemoteWrite1s) {
  // A label name outside the classic charset: Mimir's text, as for 1.0.
  V2Run run = DecodeV2(Symbols({"", "__name__", "up", "bad-name", "x"}) +
                       LenField(5, Packed(1, {1, 2, 3, 4}) + LenField(2, SampleMsg(1, kNow))));
  EXPECT_EQ(run.result.http_status, 400);
  EXPECT_NE(run.result.message.find("(err-mimir-label-invalid)"), std::string::npos);
}

TEST(RemoteWriteV2, NativeHistogramsIntegerFloatAndCustomBuckets) {
  // Integer: schema 0, positive span {0, 2}, deltas 3, +1 → counts 3, 4.
  const std::string integer =
      VarintField(1, 8) + Fixed64Field(3, 10.5) + VarintField(4, ZigZag(0)) + VarintField(6, 1) +
      LenField(11, VarintField(1, ZigZag(0)) + VarintField(2, 2)) +
      Packed(12, {ZigZag(3), ZigZag(1)}) + VarintField(15, static_cast<uint64_t>(kNow));
  // Float: count 2.5, one bucket of 2.5.
  std::string counts;
  const auto bits = std::bit_cast<uint64_t>(2.5);
  for (int i = 0; i < 8; ++i) counts.push_back(static_cast<char>(bits >> (8 * i)));
  const std::string floating = Fixed64Field(2, 2.5) + Fixed64Field(3, 1) +
                               VarintField(4, ZigZag(1)) +
                               LenField(11, VarintField(1, ZigZag(1)) + VarintField(2, 1)) +
                               LenField(13, counts) + VarintField(15, static_cast<uint64_t>(kNow));
  // Custom buckets (schema -53) with bounds 1, 2.
  std::string bounds;
  for (double b : {1.0, 2.0}) {
    const auto v = std::bit_cast<uint64_t>(b);
    for (int i = 0; i < 8; ++i) bounds.push_back(static_cast<char>(v >> (8 * i)));
  }
  const std::string custom = VarintField(1, 1) + VarintField(4, ZigZag(-53)) +
                             LenField(11, VarintField(1, 0) + VarintField(2, 1)) +
                             Packed(12, {ZigZag(1)}) + LenField(16, bounds) +
                             VarintField(15, static_cast<uint64_t>(kNow));
  // An unknown schema (-9) is still refused with Mimir's text.
  const std::string unknown = VarintField(1, 0) + VarintField(4, ZigZag(-9)) +
                              VarintField(15, static_cast<uint64_t>(kNow));
  V2Run run = DecodeV2(Symbols(kSymbols) + LenField(5, Packed(1, {1, 9}) + LenField(3, integer)) +
                       LenField(5, Packed(1, {1, 2}) + LenField(3, floating)) +
                       LenField(5, Packed(1, {1, 4}) + LenField(3, custom)) +
                       LenField(5, Packed(1, {1, 3}) + LenField(3, unknown)) +
                       LenField(5, Packed(1, {1, 6}) + LenField(3, integer) + LenField(3, floating)));
  EXPECT_EQ(run.result.histograms_accepted, 5);
  EXPECT_EQ(run.result.series_refused, 1);
  EXPECT_EQ(run.result.message,
            "received a native histogram sample with an invalid schema: -9 "
            "(err-mimir-invalid-native-histogram-schema)");
  ASSERT_EQ(run.seen.series.size(), 4u);
  // Decoded after the custom buckets into the same reused vectors: no bounds carried over.
  for (const HistogramSample& x : run.seen.series[3].histograms) {
    EXPECT_TRUE(x.integer.custom_values.empty());
    EXPECT_TRUE(x.floating.custom_values.empty());
  }
  // Custom buckets (Mimir 2.17 on): the bounds as sent, the bucket of index 0 holding 1.
  const HistogramSample& c = run.seen.series[2].histograms.at(0);
  EXPECT_EQ(c.integer.schema, -53);
  EXPECT_EQ(c.integer.custom_values, (std::vector<double>{1, 2}));
  EXPECT_EQ(c.integer.positive_buckets, (std::vector<uint64_t>{1}));
  const HistogramSample& h = run.seen.series[0].histograms.at(0);
  EXPECT_FALSE(h.is_float);
  EXPECT_EQ(h.integer.count, 8u);
  EXPECT_EQ(h.integer.zero_count, 1u);
  EXPECT_EQ(h.integer.sum, 10.5);
  EXPECT_EQ(h.integer.positive_buckets, (std::vector<uint64_t>{3, 4}));
  const HistogramSample& f = run.seen.series[1].histograms.at(0);
  EXPECT_TRUE(f.is_float);
  EXPECT_EQ(f.floating.count, 2.5);
  EXPECT_EQ(f.floating.schema, 1);
  EXPECT_EQ(f.floating.positive_buckets, (std::vector<double>{2.5}));
}

TEST(RemoteWriteV2, AVersion1BodyReadAsVersion2IsEmptyAndTheOtherWayRound) {
  prometheus::WriteRequest v1;
  auto* ts = v1.add_timeseries();
  auto* l = ts->add_labels();
  l->set_name("__name__");
  l->set_value("up");
  ts->add_samples()->set_timestamp(kNow);
  // The spec: fields 1–3 of Request are reserved, so a 1.0 message reads as an empty 2.0 one.
  V2Run run = DecodeV2(v1.SerializeAsString());
  EXPECT_TRUE(run.result.ok());
  EXPECT_EQ(run.result.series_accepted + run.result.series_refused, 0);
  // A 2.0 message read as 1.0: symbols (4) and timeseries (5) are unknown fields there.
  RemoteWriteDecoder decoder;
  Collector seen;
  const IngestResult r = decoder.Decode(
      Symbols(kSymbols) + LenField(5, Packed(1, {1, 2}) + LenField(2, SampleMsg(1, kNow))), kNow,
      seen);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(seen.series.empty());
}

TEST(RemoteWriteV2, MalformedRequestsAreRefusedWhole) {
  const std::string wire =
      Symbols(kSymbols) + LenField(5, Packed(1, {1, 2}) + LenField(2, SampleMsg(1, kNow)));
  V2Run run = DecodeV2(wire.substr(0, wire.size() - 3));
  EXPECT_TRUE(run.result.request_refused);
  EXPECT_EQ(run.result.message, "unexpected EOF");
  V2Run tag0 = DecodeV2(std::string("\x00\x01", 2));
  EXPECT_EQ(tag0.result.message, "proto: Request: illegal tag 0 (wire type 0)");
}

TEST(RemoteWriteV2, ADecoderAlternatesBetweenVersions) {
  RemoteWriteDecoder decoder;
  Collector seen;
  const std::string hist =
      Packed(1, {1, 2}) +
      LenField(3, VarintField(1, 0) + VarintField(4, 0) +
                      VarintField(15, static_cast<uint64_t>(kNow)) + VarintField(17, 5));
  EXPECT_TRUE(
      decoder.Decode(Symbols(kSymbols) + LenField(5, hist), kNow, seen, Protocol::kV2).ok());
  prometheus::WriteRequest v1;
  auto* ts = v1.add_timeseries();
  auto* l = ts->add_labels();
  l->set_name("__name__");
  l->set_value("h");
  ts->add_histograms()->set_timestamp(kNow);
  EXPECT_TRUE(decoder.Decode(v1.SerializeAsString(), kNow, seen).ok());
  ASSERT_EQ(seen.series.size(), 2u);
  EXPECT_EQ(seen.series[0].histograms.at(0).start_timestamp_ms, 5);
  EXPECT_EQ(seen.series[1].histograms.at(0).start_timestamp_ms, 0);  // not the last request's
}

TEST(RemoteWriteV2, SeedsForTheFuzzer) {
  // Fuzzer inputs: byte 0 picks the mode (bit 2: remote write 2.0, see remote_write_fuzzer.cc).
  const std::string full =
      Symbols(kSymbols) +
      LenField(5, Packed(1, {1, 2, 3, 4}) + LenField(2, SampleMsg(5, kNow, kNow - 1000)) +
                      LenField(4, Packed(1, {7, 8}) + Fixed64Field(2, 7) +
                                      VarintField(3, static_cast<uint64_t>(kNow))) +
                      LenField(5, VarintField(1, 1) + VarintField(3, 5) + VarintField(4, 6)) +
                      VarintField(6, 1)) +
      LenField(5, Packed(1, {1, 9}) +
                      LenField(3, VarintField(1, 8) + VarintField(4, ZigZag(0)) +
                                      LenField(11, VarintField(1, 0) + VarintField(2, 2)) +
                                      Packed(12, {ZigZag(3), ZigZag(1)}) +
                                      VarintField(15, static_cast<uint64_t>(kNow)) +
                                      VarintField(17, 1)));
  const std::vector<std::pair<std::string, std::string>> seeds = {
      {"v2-full", std::string(1, '\x04') + full},
      {"v2-full-snappy", std::string(1, '\x05') + full},
      {"v2-bad-ref", std::string(1, '\x04') + Symbols(kSymbols) +
                         LenField(5, Packed(1, {1, 99}) + LenField(2, SampleMsg(1, kNow)))},
  };
  const char* dir = std::getenv("SPROUT_WRITE_REMOTE_WRITE_SEEDS");
  for (const auto& [name, bytes] : seeds) {
    if (dir != nullptr) {
      FILE* f = std::fopen((std::string(dir) + "/" + name).c_str(), "wb");
      ASSERT_NE(f, nullptr);
      std::fwrite(bytes.data(), 1, bytes.size(), f);
      std::fclose(f);
    }
  }
  RemoteWriteDecoder decoder;
  Collector seen;
  const IngestResult r = decoder.Decode(full, kNow, seen, Protocol::kV2);
  EXPECT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.series_accepted, 2);
  EXPECT_EQ(r.histograms_accepted, 1);
  EXPECT_EQ(r.exemplars_accepted, 1);
  EXPECT_EQ(r.metadata_accepted, 1);
}

}  // namespace
}  // namespace sprout::metrics::ingest
