// Tests only: remote-write and remote-read bodies built with protobuf's own classes, and
// selectors parsed the way the API parses them.
#pragma once

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/api/params.h"
#include "metrics/api/queryable.h"
#include "net/compression.h"
#include "prometheus/remote.pb.h"

namespace sprout::metrics::testutil {

inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;

inline std::string Snappy(const std::string& raw) {
  return *net::Compress(net::Codec::kSnappy, raw);
}

class WriteBuilder {
 public:
  class SeriesRef {
   public:
    explicit SeriesRef(prometheus::TimeSeries* ts) : ts_(ts) {}
    SeriesRef& Sample(int64_t t, double v) {
      prometheus::Sample* s = ts_->add_samples();
      s->set_timestamp(t);
      s->set_value(v);
      return *this;
    }
    // A native histogram as remote write sends it (the caller fills the message).
    prometheus::Histogram* Histogram() { return ts_->add_histograms(); }
    SeriesRef& Exemplar(int64_t t, double v, std::initializer_list<std::string_view> pairs) {
      prometheus::Exemplar* e = ts_->add_exemplars();
      e->set_timestamp(t);
      e->set_value(v);
      for (auto it = pairs.begin(); it != pairs.end() && it + 1 != pairs.end(); it += 2) {
        prometheus::Label* l = e->add_labels();
        l->set_name(std::string(*it));
        l->set_value(std::string(*(it + 1)));
      }
      return *this;
    }
    SeriesRef& StaleSample(int64_t t) {
      double v;
      std::memcpy(&v, &kStaleNaNBits, 8);
      return Sample(t, v);
    }

   private:
    prometheus::TimeSeries* ts_;
  };

  // Labels as name/value pairs, sent in the given order.
  // The returned handle stays valid while the builder lives (protobuf keeps elements in place).
  SeriesRef Series(std::initializer_list<std::string_view> pairs) {
    prometheus::TimeSeries* ts = request_.add_timeseries();
    for (auto it = pairs.begin(); it != pairs.end() && it + 1 != pairs.end(); it += 2) {
      prometheus::Label* l = ts->add_labels();
      l->set_name(std::string(*it));
      l->set_value(std::string(*(it + 1)));
    }
    return SeriesRef(ts);
  }
  void Metadata(std::string_view name, prometheus::MetricMetadata::MetricType type,
                std::string_view help, std::string_view unit) {
    prometheus::MetricMetadata* m = request_.add_metadata();
    m->set_metric_family_name(std::string(name));
    m->set_type(type);
    m->set_help(std::string(help));
    m->set_unit(std::string(unit));
  }
  std::string Body() const { return Snappy(request_.SerializeAsString()); }
  const prometheus::WriteRequest& request() const { return request_; }

 private:
  prometheus::WriteRequest request_;
};

// Selectors (`up`, `{job="a"}`) → matcher sets, as the API parses `match[]`.
inline std::vector<api::MatcherSet> Matchers(const std::vector<std::string>& selectors) {
  std::vector<api::MatcherSpecSet> specs;
  for (const std::string& s : selectors) specs.push_back(*api::ParseSeriesSelector(s));
  return *api::ToMatcherSets(specs);
}

struct ReadQuery {
  int64_t start;
  int64_t end;
  std::vector<std::string> metric_names;  // one EQ __name__ matcher each (usually one)
};

inline std::string ReadRequestBody(const std::vector<ReadQuery>& queries,
                                   const std::vector<prometheus::ReadRequest::ResponseType>& types =
                                       {prometheus::ReadRequest::SAMPLES}) {
  prometheus::ReadRequest r;
  for (const ReadQuery& q : queries) {
    prometheus::Query* pq = r.add_queries();
    pq->set_start_timestamp_ms(q.start);
    pq->set_end_timestamp_ms(q.end);
    for (const std::string& name : q.metric_names) {
      prometheus::LabelMatcher* m = pq->add_matchers();
      m->set_type(prometheus::LabelMatcher::EQ);
      m->set_name("__name__");
      m->set_value(name);
    }
  }
  for (auto t : types) r.add_accepted_response_types(t);
  return Snappy(r.SerializeAsString());
}

inline bool ParseReadResponse(const std::string& snappy_body, prometheus::ReadResponse* out) {
  absl::StatusOr<std::string> raw = net::Decompress(net::Codec::kSnappy, snappy_body, 1 << 30);
  return raw.ok() && out->ParseFromString(*raw);
}

}  // namespace sprout::metrics::testutil
