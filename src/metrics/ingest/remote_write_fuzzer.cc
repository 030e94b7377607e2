// libFuzzer target for remote-write decoding (1.0 and 2.0). Byte 0 picks the mode:
//  - bit 2 set: remote write 2.0 (io.prometheus.write.v2.Request): the rest decoded as an
//    uncompressed request (bit 0 clear) or as a snappy body, as is and compressed (bit 0 set).
//    No protobuf class of ours to compare with: the scan's accounting is checked instead (every
//    series accepted or refused, nothing delivered after a whole-request refusal);
//  - even: the rest is an uncompressed WriteRequest. Whenever protobuf's own parser accepts it,
//    the decoder must accept it structurally too and account for every series, sample,
//    histogram, exemplar and metadata entry the parsed message holds (accepted + refused);
//  - odd: the rest is a snappy body (arbitrary bytes, and the same bytes compressed).
// In both: nothing crashes or hangs, and everything delivered holds the decoder's promises (label
// names sorted and unique, no empty value, every string valid UTF-8, histogram layouts valid).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <string>
#include <string_view>

#include "metrics/ingest/mimir_text.h"
#include "metrics/ingest/remote_write.h"
#include "net/compression.h"
#include "prometheus/remote.pb.h"

namespace {

using namespace sprout::metrics::ingest;  // NOLINT

void Check(bool ok) {
  if (!ok) std::abort();
}

class CheckingVisitor : public WriteVisitor {
 public:
  bool known = false;
  void OnSeries(const Series& s) override {
    std::string_view last;
    bool first = true;
    for (const Label& l : s.labels()) {
      Check(!l.value.empty());
      Check(text::ValidUtf8(l.name) && text::ValidUtf8(l.value));
      if (!known) Check(first || last < l.name);
      last = l.name;
      first = false;
    }
    for (const Exemplar& e : s.exemplars()) {
      for (const Label& l : e.labels) Check(text::ValidUtf8(l.name) && text::ValidUtf8(l.value));
    }
    for (const HistogramSample& h : s.histograms()) {
      if (h.is_float) {
        Check(sprout::metrics::chunkenc::ValidateLayout(h.floating).ok());
      } else {
        Check(sprout::metrics::chunkenc::ValidateLayout(h.integer).ok());
      }
    }
  }
  void OnMetadata(const MetricMetadata& m) override {
    Check(!m.metric_family_name.empty());
    Check(text::ValidUtf8(m.metric_family_name) && text::ValidUtf8(m.help) &&
          text::ValidUtf8(m.unit));
  }
};

int64_t Sum(const std::array<int64_t, kRefusalCount>& a) {
  return std::accumulate(a.begin(), a.end(), int64_t{0});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  Limits limits;
  limits.max_recv_msg_size = 1 << 20;
  RemoteWriteDecoder decoder(limits);
  CheckingVisitor visitor;
  visitor.known = (data[0] & 2) != 0;

  if ((data[0] & 4) != 0) {
    if ((data[0] & 1) != 0) {
      decoder.DecodeSnappy(input, 0, visitor, Protocol::kV2);
      absl::StatusOr<std::string> body = sprout::net::Compress(sprout::net::Codec::kSnappy, input);
      if (body.ok()) decoder.DecodeSnappy(*body, 0, visitor, Protocol::kV2);
      return 0;
    }
    const IngestResult r = decoder.Decode(input, 0, visitor, Protocol::kV2);
    if (r.request_refused) {
      Check(r.series_accepted == 0 && r.series_refused == 0 && !r.ok());
    } else {
      Check(r.ok() == (r.series_refused == 0 && Sum(r.metadata_refused) == 0));
    }
    return 0;
  }

  if ((data[0] & 1) != 0) {
    decoder.DecodeSnappy(input, 0, visitor);
    absl::StatusOr<std::string> body = sprout::net::Compress(sprout::net::Codec::kSnappy, input);
    if (body.ok()) decoder.DecodeSnappy(*body, 0, visitor);
    return 0;
  }

  const IngestResult r = decoder.Decode(input, 0, visitor);
  prometheus::WriteRequest parsed;
  if (!parsed.ParseFromArray(input.data(), static_cast<int>(input.size()))) return 0;
  Check(!r.request_refused);
  int64_t samples = 0, histograms = 0;
  for (const auto& ts : parsed.timeseries()) {
    samples += ts.samples_size();
    histograms += ts.histograms_size();
  }
  Check(r.series_accepted + r.series_refused == parsed.timeseries_size());
  Check(r.samples_accepted + Sum(r.samples_refused) == samples);
  Check(r.histograms_accepted + Sum(r.histograms_refused) == histograms);
  Check(r.metadata_accepted + Sum(r.metadata_refused) == parsed.metadata_size());
  return 0;
}
