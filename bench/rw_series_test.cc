#include "rw_series.h"

#include <map>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "net/compression.h"
#include "otlp/prometheus.h"
#include "prometheus/remote.pb.h"

namespace sprout::bench {
namespace {

TEST(NodeExporterSeries, SameSeedSameSeriesAndValues) {
  NodeExporterSeries a = NodeExporterSeries::Generate(3000, 7);
  NodeExporterSeries b = NodeExporterSeries::Generate(3000, 7);
  ASSERT_EQ(a.size(), 3000u);
  ASSERT_EQ(b.size(), 3000u);
  for (int k = 0; k < 3; ++k) {
    for (size_t i = 0; i < a.size(); ++i) {
      ASSERT_EQ(a.series(i).labels_pb, b.series(i).labels_pb);
      ASSERT_EQ(a.value(i), b.value(i)) << i;
    }
    a.Advance();
    b.Advance();
  }
  NodeExporterSeries c = NodeExporterSeries::Generate(3000, 8);
  int differ = 0;
  for (size_t i = 0; i < c.size(); ++i) differ += a.value(i) != c.value(i);
  EXPECT_GT(differ, 1000);  // another seed: other values
}

TEST(NodeExporterSeries, LabelSetsAreValidAndNodeExporterShaped) {
  NodeExporterSeries set = NodeExporterSeries::Generate(20000, 1);
  std::set<std::string> names, label_sets;
  for (size_t i = 0; i < set.size(); ++i) {
    const auto& labels = set.series(i).labels;
    ASSERT_EQ(labels.front().first, "__name__");
    for (size_t j = 0; j < labels.size(); ++j) {
      EXPECT_FALSE(labels[j].second.empty());
      if (j > 0) {
        EXPECT_LT(labels[j - 1].first, labels[j].first);  // sorted, no repeats
      }
    }
    names.insert(labels.front().second);
    label_sets.insert(set.series(i).labels_pb);
    bool job = false, instance = false;
    for (const auto& [n, v] : labels) {
      job |= n == "job" && v == "node";
      instance |= n == "instance" && v.starts_with("host-") && v.ends_with(":9100");
    }
    EXPECT_TRUE(job && instance);
  }
  EXPECT_EQ(label_sets.size(), set.size());  // every series distinct
  EXPECT_GE(names.size(), 300u);
  EXPECT_GT(set.AverageLabels(), 7.0);
  EXPECT_LT(set.AverageLabels(), 9.5);
  EXPECT_GT(set.hosts(), 10);
}

TEST(NodeExporterSeries, CountersRiseConstantsStayGaugesMove) {
  NodeExporterSeries set = NodeExporterSeries::Generate(5000, 3);
  std::vector<double> first(set.size());
  for (size_t i = 0; i < set.size(); ++i) first[i] = set.value(i);
  std::vector<double> previous = first;
  int counters = 0, moving_counters = 0, gauges = 0, moving_gauges = 0, constants = 0;
  for (int k = 1; k < 10; ++k) {
    set.Advance();
    for (size_t i = 0; i < set.size(); ++i) {
      if (set.series(i).kind == ValueKind::kCounter) {
        ASSERT_GE(set.value(i), previous[i]);
      }
      if (set.series(i).kind == ValueKind::kConstant) {
        ASSERT_EQ(set.value(i), first[i]);
      }
      previous[i] = set.value(i);
    }
  }
  for (size_t i = 0; i < set.size(); ++i) {
    switch (set.series(i).kind) {
      case ValueKind::kCounter:
        ++counters;
        moving_counters += set.value(i) > first[i];
        break;
      case ValueKind::kGauge:
        ++gauges;
        moving_gauges += set.value(i) != first[i];
        break;
      case ValueKind::kConstant:
        ++constants;
        break;
    }
  }
  EXPECT_GT(counters, 1000);
  EXPECT_GT(gauges, 300);
  EXPECT_GT(constants, 300);
  EXPECT_GT(moving_counters, counters / 2);
  EXPECT_GT(moving_gauges, gauges / 2);
}

TEST(BuildWriteRequest, DecodesAsTheSeriesAtTheirScrapeTimes) {
  NodeExporterSeries set = NodeExporterSeries::Generate(4000, 5);
  set.Advance();
  std::vector<uint32_t> indices = {0, 17, 999, 3999};
  const int64_t start = 1'700'000'000'000, interval = 15'000;
  const std::string raw = BuildWriteRequest(set, indices, 1, start, interval);
  prometheus::WriteRequest request;
  ASSERT_TRUE(request.ParseFromString(raw));
  ASSERT_EQ(request.timeseries_size(), 4);
  for (int j = 0; j < 4; ++j) {
    const auto& ts = request.timeseries(j);
    const Series& s = set.series(indices[j]);
    ASSERT_EQ(ts.labels_size(), static_cast<int>(s.labels.size()));
    for (int l = 0; l < ts.labels_size(); ++l) {
      EXPECT_EQ(ts.labels(l).name(), s.labels[l].first);
      EXPECT_EQ(ts.labels(l).value(), s.labels[l].second);
    }
    ASSERT_EQ(ts.samples_size(), 1);
    EXPECT_EQ(ts.samples(0).value(), set.value(indices[j]));
    const int64_t t = ts.samples(0).timestamp();
    EXPECT_GE(t, start + interval);
    EXPECT_LT(t, start + 2 * interval);
    EXPECT_EQ(t, set.TimestampMs(indices[j], 1, start, interval));
  }
  // The body as sent: snappy block, decoded by the receivers' codec.
  auto compressed = net::Compress(net::Codec::kSnappy, raw);
  ASSERT_TRUE(compressed.ok());
  auto back = net::Decompress(net::Codec::kSnappy, *compressed, 1 << 20);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, raw);
}

TEST(ShardOf, StableAndBalanced) {
  NodeExporterSeries set = NodeExporterSeries::Generate(20000, 1);
  NodeExporterSeries more = NodeExporterSeries::Generate(40000, 1);
  int counts[4] = {0, 0, 0, 0};
  for (size_t i = 0; i < set.size(); ++i) {
    const int shard = ShardOf(set.series(i), 4);
    ASSERT_GE(shard, 0);
    ASSERT_LT(shard, 4);
    ASSERT_EQ(shard, ShardOf(more.series(i), 4));  // same series, same shard
    ++counts[shard];
  }
  for (int c : counts) {
    EXPECT_GT(c, 4000);
    EXPECT_LT(c, 6000);
  }
}

// The OTLP form of a request, translated as Mimir's OTLP endpoint translates it (no suffixes,
// cluster/env/zone promoted), gives back the series of the remote-write form: the same label
// sets, timestamps and values; plus one target_info per host.
TEST(NodeExporterSeries, OtlpRequestTranslatesToTheSameSeries) {
  NodeExporterSeries set = NodeExporterSeries::Generate(3000, 3);
  set.Advance();
  std::vector<uint32_t> indices;
  for (uint32_t i = 0; i < set.size(); i += 2) indices.push_back(i);  // a shard-like subset
  const int64_t start_ms = 1700000000000, interval_ms = 15000;
  const std::string wire = BuildOtlpRequest(set, indices, 1, start_ms, interval_ms);
  otlp::pb::metrics_service::ExportMetricsServiceRequest request;
  ASSERT_TRUE(request.ParseFromString(wire));
  otlp::PromTranslationSettings settings;
  settings.add_metric_suffixes = false;
  settings.promote_resource_attributes = {"cluster", "env", "zone"};
  const otlp::PromTranslation got = otlp::TranslateMetrics(request, settings);
  ASSERT_TRUE(got.errors.empty()) << got.errors.front();

  std::map<std::string, std::pair<int64_t, double>> want;
  std::set<int> hosts;
  for (uint32_t i : indices) {
    std::string key;
    for (const auto& [name, value] : set.series(i).labels) key += name + "=" + value + ",";
    want[key] = {set.TimestampMs(i, 1, start_ms, interval_ms), set.value(i)};
    hosts.insert(set.series(i).host);
  }
  size_t target_info = 0;
  std::map<std::string, std::pair<int64_t, double>> seen;
  for (const prometheus::TimeSeries& ts : got.series) {
    std::string key;
    bool info = false;
    for (const prometheus::Label& l : ts.labels()) {
      key += l.name() + "=" + l.value() + ",";
      info |= l.name() == "__name__" && l.value() == "target_info";
    }
    if (info) {
      ++target_info;
      continue;
    }
    ASSERT_EQ(ts.samples_size(), 1) << key;
    seen[key] = {ts.samples(0).timestamp(), ts.samples(0).value()};
  }
  EXPECT_EQ(seen, want);
  EXPECT_EQ(target_info, hosts.size());
}

}  // namespace
}  // namespace sprout::bench
