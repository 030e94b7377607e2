// A node_exporter-like set of series for remote-write benchmarks, generated deterministically
// from a seed, and the remote-write 1.0 request bodies that carry them scrape by scrape.
//
// NodeExporterSeries::Generate(count, seed) gives `count` series spread over hosts
// (`instance="host-NNN:9100"`, `job="node"`, plus `cluster`, `env`, `region` target labels);
// each host exposes node_exporter's metric families (~330 names: cpu, disk, filesystem,
// network, memory, vmstat, netstat, systemd units, hwmon, the exporter's own go_/process_
// metrics, ...) with their per-family labels (`cpu`, `mode`, `device`, `mountpoint`, `fstype`,
// `collector`, `name`/`state`/`type`, ...). Every series' labels are sorted by name, unique, and
// `__name__` is present. The same (count, seed) always gives the same series, values and bytes.
//
// Values: counters increase monotonically (integer counts, or seconds with 0.01 s resolution;
// about a third never move, like error counters), gauges are random walks (page-sized byte
// counts, two-decimal loads, or full-precision floats), constants never change (info metrics
// = 1, sizes). Each series has its own random stream, so its values do not depend on how the
// series are sharded or in which order requests are built.
//
// Timestamps: scrape k of host h is at start_ms + k * interval_ms + offset(h), a fixed per-host
// offset in [0, interval_ms) as Prometheus spreads its targets over the interval.
//
// Thread-safety: a NodeExporterSeries is immutable after Generate except Advance(), which must
// not run concurrently with anything else; ValueState is owned by its caller.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sprout::bench {

enum class ValueKind { kCounter, kGauge, kConstant };

struct Series {
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by name, __name__ first
  ValueKind kind = ValueKind::kGauge;
  int shape = 0;          // how values move (internal to the generator)
  int host = 0;           // index of its host (instance)
  std::string labels_pb;  // the labels as TimeSeries field-1 entries (protobuf wire bytes)
};

class NodeExporterSeries {
 public:
  static NodeExporterSeries Generate(int64_t count, uint64_t seed);

  size_t size() const { return series_.size(); }
  const Series& series(size_t i) const { return series_[i]; }
  int hosts() const { return hosts_; }
  double AverageLabels() const;

  // The timestamp of scrape `scrape` for series `i`.
  int64_t TimestampMs(size_t i, int scrape, int64_t start_ms, int64_t interval_ms) const;

  // Values of every series at the current scrape (scrape 0 after Generate); Advance() moves
  // every series to the next scrape.
  double value(size_t i) const { return values_[i]; }
  void Advance();

 private:
  std::vector<Series> series_;
  std::vector<double> values_;
  std::vector<double> rates_;  // per-series increment scale
  std::vector<uint64_t> rng_;  // per-series random state
  std::vector<int64_t> host_offset_ms_;
  int hosts_ = 0;
};

// Serialized prometheus.WriteRequest (uncompressed) with one sample per series, for the series
// `indices` of `set` at its current values, scrape `scrape`.
std::string BuildWriteRequest(const NodeExporterSeries& set, const std::vector<uint32_t>& indices,
                              int scrape, int64_t start_ms, int64_t interval_ms);

// The same as an io.prometheus.write.v2.Request (remote write 2.0): a symbol table of the
// request's strings, each series' labels as references into it.
std::string BuildWriteRequestV2(const NodeExporterSeries& set, const std::vector<uint32_t>& indices,
                                int scrape, int64_t start_ms, int64_t interval_ms);

// The same as an OTLP ExportMetricsServiceRequest (protobuf), as an OpenTelemetry SDK or
// Collector would send these series: one ResourceMetrics per host (service.name = the `job`
// label, service.instance.id = `instance`, the other target labels — `cluster`, `env`, `zone`
// — as resource attributes), one Metric per metric name (counters: a cumulative monotonic Sum
// with a start time one interval before start_ms; gauges and constants: a Gauge), one
// NumberDataPoint (as_double) per series with its other labels as attributes. With those three
// resource attributes promoted (Mimir's promote_otel_resource_attributes) and no suffixes, the
// translation gives back the series' label sets (plus one target_info per resource).
std::string BuildOtlpRequest(const NodeExporterSeries& set, const std::vector<uint32_t>& indices,
                             int scrape, int64_t start_ms, int64_t interval_ms);
// Whether a label is a target label (on the OTLP resource): instance, job, cluster, env, zone.
bool IsTargetLabel(std::string_view name);

// The shard (connection) a series is sent on: a hash of its label bytes, so a series always
// goes to the same shard whatever the series count.
int ShardOf(const Series& series, int shards);

}  // namespace sprout::bench
