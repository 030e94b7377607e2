// OtlpSink: the metrics store's in-process ingest of OTLP (what `sprout all` uses). The OTLP →
// Prometheus translation (otlp/prometheus.h, TranslateMetrics into a PromSink) writes into it;
// at Finish() it validates what it collected exactly as RemoteWriteDecoder validates a
// remote-write request (validate.h: the same checks in the same order, the same reasons and
// texts) and hands the accepted series and metadata to a WriteVisitor — the visitor remote write
// feeds — so both paths reach the head the same way. No remote-write message is built.
//
// What becomes of the translation's calls:
//  - identical label sets are one series (looked up by the translation's hash, compared on a
//    hit), delivered in order of first appearance, as the remote-write sinks build TimeSeries;
//  - each series' samples, native histograms and exemplars are delivered in time order (stable:
//    equal timestamps keep their order), as the remote-write sinks sort them, so the outcome is
//    the outcome of sending the translation's remote-write request;
//  - native histograms (integer counts, delta-coded buckets) become chunkenc::Histogram with
//    absolute counts and reset hint unknown, checked as remote write's are; the stale marker
//    (count = the stale NaN's bits, sum = the stale NaN) passes as it is;
//  - sample and exemplar values keep their bits (the stale NaN 0x7ff0000000000002 survives);
//  - metadata entries (PromTranslationSettings::send_metadata) are validated one by one.
//
// result() is, after Finish(), the IngestResult the remote-write decoder gives for the same
// request (request_refused is never set: there are no bytes to refuse).
//
// Thread-safety: one sink per request, used by one thread (the translation's). The views handed
// to the visitor are valid during the callback only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "metrics/ingest/remote_write.h"
#include "metrics/ingest/validate.h"
#include "otlp/prometheus_sink.h"

namespace sprout::metrics::ingest {

class OtlpSink final : public otlp::PromSink {
 public:
  // `now_ms` (Unix milliseconds) is for the grace periods; `visitor` must outlive Finish().
  OtlpSink(const Limits& limits, int64_t now_ms, WriteVisitor* visitor);

  void Begin(size_t points) override;
  otlp::PromSeriesRef Series(otlp::PromLabels labels, uint64_t hash) override;
  void Sample(otlp::PromSeriesRef series, int64_t timestamp_ms, double value) override;
  void Histogram(otlp::PromSeriesRef series, const otlp::PromHistogram& histogram) override;
  void Exemplar(otlp::PromSeriesRef series, const otlp::PromExemplar& exemplar) override;
  void Metadata(const otlp::PromMetadata& metadata) override;
  // Validates and delivers everything to the visitor. Only the first call does anything.
  void Finish() override;

  const IngestResult& result() const { return result_; }

 private:
  // Strings are copied into text_ (the translation's views die with each call); views into it
  // are made at Finish, once it stopped growing.
  struct LabelRef {
    size_t offset;  // name, then value, in text_
    uint32_t name_size;
    uint32_t value_size;
  };
  struct SeriesEntry {
    size_t first_label;  // in labels_
    uint32_t label_count;
    uint32_t next_same_hash;  // an older series with the same hash, or kNone
  };
  struct SampleEntry {
    uint32_t series;
    ingest::Sample sample;
  };
  struct HistogramEntry {
    uint32_t series;
    HistogramProblem problem;
    HistogramSample histogram;
  };
  struct ExemplarEntry {
    uint32_t series;
    int64_t timestamp_ms;
    uint64_t value_bits;
    size_t first_label;
    uint32_t label_count;
  };
  struct MetadataEntry {
    int32_t type;
    std::string family;
    std::string help;
    std::string unit;
  };
  static constexpr uint32_t kNone = ~uint32_t{0};

  size_t AddLabels(otlp::PromLabels labels);
  bool SameLabels(const SeriesEntry& series, otlp::PromLabels labels) const;

  const Limits limits_;
  const int64_t now_ms_;
  WriteVisitor* const visitor_;
  bool finished_ = false;
  IngestResult result_;

  std::string text_;
  std::vector<LabelRef> labels_;
  std::vector<SeriesEntry> series_;
  absl::flat_hash_map<uint64_t, uint32_t> by_hash_;  // newest series with the hash
  std::vector<SampleEntry> samples_;
  std::vector<HistogramEntry> histograms_;
  std::vector<ExemplarEntry> exemplars_;
  std::vector<MetadataEntry> metadata_;
};

}  // namespace sprout::metrics::ingest
