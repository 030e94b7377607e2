// Internal to the store: AppendBuilder, the ingest::WriteVisitor that turns what an ingest path
// delivers — remote write's decoder or the OTLP sink (src/metrics/ingest) — into the head's
// AppendRequest. Both paths go through it, so both reach TenantHead::Append the same way.
//
// The ingest views live only during a callback, so label bytes, samples, histograms, exemplars
// and metadata are copied into flat buffers; the request's spans are made by Build(), once the
// buffers stopped growing. The request Build() returns points into the builder: keep the builder
// alive (and unchanged) while the request is used.
//
// Thread-safety: one request, one thread. The head (may be null) must outlive the builder and
// must not be reopened while it answers KnownLabelBytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/ingest/remote_write.h"
#include "metrics/tsdb/head/head.h"

namespace sprout::metrics {

class AppendBuilder : public ingest::WriteVisitor {
 public:
  // `head` answers KnownLabelBytes (remote write's label-bytes cache); null: nothing is known.
  explicit AppendBuilder(const tsdb::TenantHead* head) : head_(head) {}

  bool KnownLabelBytes(std::string_view label_bytes) override;
  void OnSeries(const ingest::Series& series) override;
  void OnMetadata(const ingest::MetricMetadata& md) override;

  // limits.native_histograms_ingestion_enabled false: native histogram samples are ignored
  // without an error (Mimir's ingester), and a series with nothing else is left out.
  void set_drop_histograms(bool drop) { drop_histograms_ = drop; }
  int64_t histograms_ignored() const { return histograms_ignored_; }

  // Remote write 2.0's start (created) timestamps, as Mimir's ingester handles them: before a
  // sample (or histogram) whose start timestamp is set and earlier than its own timestamp, a zero
  // (a float 0, or an empty histogram of the same kind, schema and zero threshold, hinted as a
  // counter reset) is added at the start timestamp — once per distinct start timestamp in a
  // row of the series — marked start_zero, so the head stores it only in order and drops it
  // silently otherwise. Start timestamps before `min_ms` (now - past_grace_period) get none.
  // On by default (Mimir has no switch for it); `enabled` false stores none (Prometheus's
  // receiver without its created-timestamp-zero-ingestion feature flag).
  void set_start_zeros(bool enabled, int64_t min_ms) {
    start_zeros_ = enabled;
    start_zero_min_ms_ = min_ms;
  }
  int64_t start_zeros_added() const { return start_zeros_added_; }

  bool empty() const { return entries_.empty() && metadata_.empty(); }
  tsdb::AppendRequest Build();

 private:
  struct Entry {
    size_t raw_offset = 0, raw_size = 0;
    tsdb::Labels labels;
    uint32_t known_series = tsdb::kNoSeries;
    size_t samples_offset = 0, samples_size = 0;
    size_t histograms_offset = 0, histograms_size = 0;
    size_t exemplars_offset = 0, exemplars_size = 0;
  };
  const tsdb::TenantHead* head_;
  bool drop_histograms_ = false;
  bool start_zeros_ = true;
  int64_t start_zero_min_ms_ = INT64_MIN;
  int64_t start_zeros_added_ = 0;
  int64_t histograms_ignored_ = 0;
  uint32_t known_ = tsdb::kNoSeries;  // the series of the label bytes just vouched for
  std::string raw_;
  std::vector<tsdb::Label> label_scratch_;
  std::vector<Entry> entries_;
  std::vector<tsdb::FloatSample> samples_;
  std::vector<tsdb::HistogramSample> histograms_;
  std::vector<tsdb::Exemplar> exemplars_;
  std::vector<tsdb::MetricMetadata> metadata_;
  std::vector<tsdb::AppendSeries> series_;
};

}  // namespace sprout::metrics
