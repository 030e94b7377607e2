// Remote-write 1.0 (and 2.0: the *V2 cases) decode + validate throughput (metrics/ingest) against
// protobuf's own parse of the same bytes into prometheus::WriteRequest, on a node_exporter-like
// request: 2000 series of 8 labels and 1 sample each (~54 KB snappy, ~415 KB uncompressed). Run by
// hand: build/bin/remote_write_bench. Counters: series/s and bytes/s of the uncompressed request
// (MB/s as Google Benchmark prints).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "metrics/ingest/remote_write.h"
#include "net/compression.h"
#include "prometheus/remote.pb.h"

namespace {

using sprout::metrics::ingest::RemoteWriteDecoder;
using sprout::metrics::ingest::Series;
using sprout::metrics::ingest::WriteVisitor;

constexpr int kSeries = 2000;
constexpr int64_t kNow = 1'700'000'000'000;

std::string MakeRequest() {
  prometheus::WriteRequest req;
  const char* modes[] = {"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"};
  for (int i = 0; i < kSeries; ++i) {
    auto* ts = req.add_timeseries();
    auto add = [&](std::string name, std::string value) {
      auto* l = ts->add_labels();
      l->set_name(std::move(name));
      l->set_value(std::move(value));
    };
    add("__name__", absl::StrCat("node_cpu_seconds_total_", i / 64));
    add("cpu", absl::StrCat(i % 64));
    add("env", "production");
    // Host names that differ the way real fleets' do (the hash spreads them), so the body
    // compresses as a real one does (~54 KB of snappy for the whole request).
    const uint64_t h = (static_cast<uint64_t>(i / 2) + 1) * 0x9e3779b97f4a7c15ULL;
    add("instance", absl::StrCat("ip-10-", (h >> 8) % 256, "-", (h >> 16) % 256, "-",
                                 (h >> 24) % 256, ".eu-west-1.compute.internal:9100"));
    add("job", "node");
    add("mode", modes[i % 8]);
    add("region", "eu-west-1");
    add("team", "platform");
    auto* s = ts->add_samples();
    s->set_timestamp(kNow - 15000);
    s->set_value(12345.678 + static_cast<double>((h >> 32) % 100000) / 7);
  }
  return req.SerializeAsString();
}

const std::string& Wire() {
  static const std::string wire = MakeRequest();
  return wire;
}
const std::string& Body() {
  static const std::string body = *sprout::net::Compress(sprout::net::Codec::kSnappy, Wire());
  return body;
}

// The same request as remote write 2.0 (io.prometheus.write.v2.Request, spec field numbers):
// a symbol table of its strings ("" first), labels as references, the same samples.
void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
std::string MakeRequestV2() {
  prometheus::WriteRequest req;
  req.ParseFromString(Wire());
  std::map<std::string, uint32_t> refs = {{"", 0}};
  std::vector<std::string> symbols = {""};
  auto ref = [&](const std::string& s) {
    auto [it, added] = refs.emplace(s, static_cast<uint32_t>(symbols.size()));
    if (added) symbols.push_back(s);
    return it->second;
  };
  std::string series;
  for (const auto& ts : req.timeseries()) {
    std::string packed, body;
    for (const auto& l : ts.labels()) {
      PutVarint(&packed, ref(l.name()));
      PutVarint(&packed, ref(l.value()));
    }
    body.push_back(0x0a);  // labels_refs (1)
    PutVarint(&body, packed.size());
    body += packed;
    for (const auto& s : ts.samples()) {
      std::string sample(1, '\x09');  // value (1)
      const double v = s.value();
      sample.append(reinterpret_cast<const char*>(&v), 8);
      sample.push_back(0x10);  // timestamp (2)
      PutVarint(&sample, static_cast<uint64_t>(s.timestamp()));
      body.push_back(0x12);  // samples (2)
      PutVarint(&body, sample.size());
      body += sample;
    }
    series.push_back(0x2a);  // timeseries (5)
    PutVarint(&series, body.size());
    series += body;
  }
  std::string out;
  for (const std::string& s : symbols) {
    out.push_back(0x22);  // symbols (4)
    PutVarint(&out, s.size());
    out += s;
  }
  return out + series;
}

const std::string& BodyV2() {
  static const std::string body =
      *sprout::net::Compress(sprout::net::Codec::kSnappy, MakeRequestV2());
  return body;
}

class CountingVisitor : public WriteVisitor {
 public:
  bool known = false;
  int64_t samples = 0;
  bool KnownLabelBytes(std::string_view) override { return known; }
  void OnSeries(const Series& s) override { samples += static_cast<int64_t>(s.samples().size()); }
};

void Report(benchmark::State& state) {
  state.counters["series/s"] = benchmark::Counter(static_cast<double>(kSeries) * state.iterations(),
                                                  benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<int64_t>(Wire().size()) * state.iterations());
  state.counters["snappy_bytes"] = static_cast<double>(Body().size());
}

// Snappy body → validated series delivered to a visitor (the store's path for a new series).
void BM_DecodeSnappy(benchmark::State& state) {
  RemoteWriteDecoder decoder;
  CountingVisitor visitor;
  for (auto _ : state) {
    auto r = decoder.DecodeSnappy(Body(), kNow, visitor);
    if (!r.ok()) state.SkipWithError(r.message.c_str());
  }
  benchmark::DoNotOptimize(visitor.samples);
  Report(state);
}
BENCHMARK(BM_DecodeSnappy);

// The same with every series already known by its label bytes (the steady state of a scrape).
void BM_DecodeSnappyKnownSeries(benchmark::State& state) {
  RemoteWriteDecoder decoder;
  CountingVisitor visitor;
  visitor.known = true;
  for (auto _ : state) decoder.DecodeSnappy(Body(), kNow, visitor);
  benchmark::DoNotOptimize(visitor.samples);
  Report(state);
}
BENCHMARK(BM_DecodeSnappyKnownSeries);

// Remote write 2.0: the same series as a v2 request (series/s and bytes/s count the 1.0 request's
// bytes, so the figures compare per series).
void BM_DecodeSnappyV2(benchmark::State& state) {
  RemoteWriteDecoder decoder;
  CountingVisitor visitor;
  for (auto _ : state) {
    auto r = decoder.DecodeSnappy(BodyV2(), kNow, visitor, sprout::metrics::ingest::Protocol::kV2);
    if (!r.ok()) state.SkipWithError(r.message.c_str());
  }
  benchmark::DoNotOptimize(visitor.samples);
  Report(state);
  state.counters["snappy_bytes"] = static_cast<double>(BodyV2().size());
}
BENCHMARK(BM_DecodeSnappyV2);

void BM_DecodeSnappyKnownSeriesV2(benchmark::State& state) {
  RemoteWriteDecoder decoder;
  CountingVisitor visitor;
  visitor.known = true;
  for (auto _ : state) {
    decoder.DecodeSnappy(BodyV2(), kNow, visitor, sprout::metrics::ingest::Protocol::kV2);
  }
  benchmark::DoNotOptimize(visitor.samples);
  Report(state);
  state.counters["snappy_bytes"] = static_cast<double>(BodyV2().size());
}
BENCHMARK(BM_DecodeSnappyKnownSeriesV2);

// Baseline: snappy, then protobuf's ParseFromString into prometheus::WriteRequest (no validation).
void BM_ProtobufParseSnappy(benchmark::State& state) {
  prometheus::WriteRequest req;
  for (auto _ : state) {
    auto wire = sprout::net::Decompress(sprout::net::Codec::kSnappy, Body(), 100 << 20);
    if (!req.ParseFromString(*wire)) state.SkipWithError("parse");
    benchmark::DoNotOptimize(req);
  }
  Report(state);
}
BENCHMARK(BM_ProtobufParseSnappy);

// Without snappy: the decoder's walk and validation alone, against ParseFromString alone.
void BM_DecodeUncompressed(benchmark::State& state) {
  RemoteWriteDecoder decoder;
  CountingVisitor visitor;
  for (auto _ : state) decoder.Decode(Wire(), kNow, visitor);
  benchmark::DoNotOptimize(visitor.samples);
  Report(state);
}
BENCHMARK(BM_DecodeUncompressed);

void BM_ProtobufParseUncompressed(benchmark::State& state) {
  prometheus::WriteRequest req;
  for (auto _ : state) {
    if (!req.ParseFromString(Wire())) state.SkipWithError("parse");
    benchmark::DoNotOptimize(req);
  }
  Report(state);
}
BENCHMARK(BM_ProtobufParseUncompressed);

}  // namespace

BENCHMARK_MAIN();
