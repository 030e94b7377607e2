// The configuration of `sprout metrics`: a Grafana Mimir YAML file (the seed's mimir.yaml runs
// unchanged) read with Mimir's key names and Mimir's defaults.
//
// Every key of the file falls in one of three classes, as Mimir refuses keys it does not know:
//   implemented      read into MetricsConfig (or accepted for a later issue: ruler*,
//                    alertmanager*, common.storage.s3.*); see docs/metrics.md for the list;
//   not implemented  a real Mimir key (its list is mimir_config_keys.txt, generated from
//                    Mimir's reference) that sprout ignores for now: a warning naming the path;
//   unknown          anything else: an error naming the path, so a typo never silently
//                    sends data somewhere else.
// A value of the wrong type is an error naming the key. Paths use `::` between keys, as the
// collector's messages and `--set` do; `--set` also accepts Mimir's dots (`limits.x=1`).
//
//   metrics::LoadMetricsConfig({.uris = {"mimir.yaml"}, .set_overrides = {...}})
//     → MetricsConfigResult{config, warnings} or the joined errors (InvalidArgument).
//   metrics::LocalDefaults()  the configuration with no file at all: data under ./data/metrics,
//                             multi-tenancy off, exemplars on.
//
// Checks that depend on what this build can run (e.g. the s3 backend, accepted by the file but
// not available yet) are in CheckRunnable(), called by `sprout metrics` at start and not by
// `sprout validate`.
//
// Thread-safety: pure functions; a MetricsConfig is a plain value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "config/config.h"
#include "config/decoder.h"

namespace sprout::metrics {

struct S3Config {
  std::string endpoint;
  std::string region;
  std::string bucket_name;
  std::string access_key_id;
  std::string secret_access_key;  // never printed: EffectiveYaml() shows "********"
  bool insecure = false;
};

// One `*_storage` block (common.storage, blocks_storage).
struct StorageConfig {
  std::string backend;         // "" = inherit (blocks_storage from common.storage)
  std::string filesystem_dir;  // "" = inherit / Mimir's default
  S3Config s3;
};

// Mimir's per-tenant limits that sprout implements: the `limits:` block of the configuration
// (the defaults of every tenant) and each tenant's entry under `overrides:` in the runtime
// configuration file (runtime_config.h). Mimir's key names and defaults.
struct TenantLimits {
  double ingestion_rate = 10000;  // samples/s
  int64_t ingestion_burst_size = 200000;
  int64_t max_global_series_per_user = 150000;  // 0 = no limit
  int64_t max_global_series_per_metric = 0;     // 0 = no limit
  int64_t max_global_exemplars_per_user = 0;    // 0 = exemplars disabled (Mimir's default)
  int max_label_names_per_series = 30;
  int max_label_name_length = 1024;
  int max_label_value_length = 2048;
  int max_metadata_length = 1024;
  // Samples newer than now + this are refused (too far in the future).
  absl::Duration creation_grace_period = absl::Minutes(10);
  absl::Duration past_grace_period = absl::ZeroDuration();  // 0 = no wall-clock check
  absl::Duration out_of_order_time_window = absl::ZeroDuration();
  // Mimir 3.0's default (true; false up to 2.17): when false, native histogram samples are
  // ignored without an error, as Mimir's ingester ignores them.
  bool native_histograms_ingestion_enabled = true;
  absl::Duration compactor_blocks_retention_period = absl::ZeroDuration();  // 0 = forever
  int64_t max_fetched_series_per_query = 0;                                 // 0 = no limit
  int64_t max_fetched_chunks_per_query = 2000000;                           // 0 = no limit
  absl::Duration max_query_lookback = absl::ZeroDuration();
  // OTLP at Mimir's path (/otlp/v1/metrics of `sprout metrics`): unit and type suffixes
  // (`_seconds`, `_total`, `_ratio`) on metric names (Mimir's default: off; names are still
  // escaped to the classic charset).
  bool otel_metric_suffixes_enabled = false;
  // ...and the resource attributes copied onto every series as labels: a comma-separated list of
  // attribute keys as written (Mimir's flagext.StringSliceCSV: split on ',', no trimming; empty
  // entries ignored). Default empty: none (they stay on target_info).
  std::string promote_otel_resource_attributes;

  // promote_otel_resource_attributes as a list.
  std::vector<std::string> PromotedOtelResourceAttributes() const;

  bool operator==(const TenantLimits&) const = default;
};

// The `limits` keys TenantLimits holds, in the order EffectiveYaml and /runtime_config print
// them.
const std::vector<std::string>& TenantLimitKeys();
// Reads the TenantLimits keys present in `d` (a `limits:` map or a tenant's overrides) over
// `*out`, recording type errors and negative values in `d`; other keys are left to the caller.
void DecodeTenantLimits(config::Decoder& d, TenantLimits* out);
// `l` as a YAML map with Mimir's key names (every key of TenantLimitKeys, or only those whose
// value differs from `*base` when it is given).
YAML::Node TenantLimitsYaml(const TenantLimits& l, const TenantLimits* base = nullptr);

struct MetricsConfig {
  std::string target = "all";
  bool multitenancy_enabled = true;
  std::string no_auth_tenant = "anonymous";

  // server
  std::string http_listen_address;  // "" = all interfaces
  int http_listen_port = 8080;
  int grpc_listen_port = 9095;  // accepted; there is no gRPC API yet

  StorageConfig common_storage{.backend = "filesystem"};
  StorageConfig blocks_storage;
  std::string storage_prefix;        // blocks_storage.storage_prefix
  std::string tsdb_dir = "./tsdb/";  // blocks_storage.tsdb.dir
  // blocks_storage.tsdb.wal_fsync_before_ack (sprout's key): a 2xx only once the request's WAL
  // records are fsynced (group commit); false: the WAL is fsynced every second.
  bool wal_fsync_before_ack = false;
  // blocks_storage.tsdb.head_compaction_interval: how often the cutting job checks whether a
  // head spans enough to cut a block (Mimir's default 1m; (0, 15m]).
  absl::Duration head_compaction_interval = absl::Minutes(1);
  std::string sync_dir = "./tsdb-sync/";  // blocks_storage.bucket_store.sync_dir
  // blocks_storage.bucket_store.bucket_index.enabled (Mimir's default true): keep the per-tenant
  // bucket-index.json.gz and let the querier and compactor list blocks from it.
  bool bucket_index_enabled = true;
  // blocks_storage.bucket_store.bucket_index.max_stale_period (Mimir's default 1h): readers
  // ignore (and list the bucket instead of) an index not updated for longer than this.
  absl::Duration bucket_index_max_stale_period = absl::Hours(1);
  // compactor.cleanup_interval (Mimir's default 15m): how often each tenant's index is rebuilt
  // from a full listing of the bucket (also whenever it is not known to be in step).
  absl::Duration compactor_cleanup_interval = absl::Minutes(15);
  std::string compactor_data_dir = "./data-compactor/";           // compactor.data_dir
  absl::Duration compactor_compaction_interval = absl::Hours(1);  // compactor.compaction_interval
  // compactor.block_ranges (Mimir's default 2h, 12h, 24h): the first is the head's block size,
  // each later one a compaction level; every one > 0 and a multiple of the previous one.
  std::vector<absl::Duration> compactor_block_ranges = {absl::Hours(2), absl::Hours(12),
                                                        absl::Hours(24)};
  std::string activity_tracker_filepath = "./metrics-activity.log";

  int64_t max_recv_msg_size = 100 << 20;  // distributor.max_recv_msg_size (bytes)

  // querier (the PromQL engine of /api/v1/query and /api/v1/query_range)
  absl::Duration querier_timeout = absl::Minutes(2);         // querier.timeout; caps `timeout`
  int querier_max_concurrent = 20;                           // querier.max_concurrent
  int64_t querier_max_samples = 50000000;                    // querier.max_samples
  absl::Duration querier_lookback_delta = absl::Minutes(5);  // querier.lookback_delta

  // limits (per tenant; the defaults of every tenant, overridden per tenant by the runtime
  // configuration)
  double ingestion_rate = 10000;  // samples/s
  int64_t ingestion_burst_size = 200000;
  int64_t max_global_series_per_user = 150000;  // 0 = no limit
  int64_t max_global_exemplars_per_user = 0;    // 0 = exemplars disabled (Mimir's default)
  absl::Duration out_of_order_time_window = absl::ZeroDuration();
  absl::Duration past_grace_period = absl::ZeroDuration();  // 0 = no wall-clock check
  absl::Duration compactor_blocks_retention_period = absl::ZeroDuration();  // 0 = forever
  int64_t max_fetched_series_per_query = 0;                                 // 0 = no limit
  int64_t max_fetched_chunks_per_query = 2000000;                           // 0 = no limit
  // No data older than now - this is read by queries, series and label requests (0: no limit).
  absl::Duration max_query_lookback = absl::ZeroDuration();
  // The cardinality endpoints answer (Mimir's default: off, 400 `cardinality analysis is
  // disabled for the tenant: <id>`).
  bool cardinality_analysis_enabled = false;
  int64_t max_global_series_per_metric = 0;  // 0 = no limit
  int max_label_names_per_series = 30;
  int max_label_name_length = 1024;
  int max_label_value_length = 2048;
  int max_metadata_length = 1024;
  absl::Duration creation_grace_period = absl::Minutes(10);
  bool native_histograms_ingestion_enabled = true;
  bool otel_metric_suffixes_enabled = false;     // see TenantLimits
  std::string promote_otel_resource_attributes;  // see TenantLimits

  // runtime_config: the file of per-tenant overrides (empty: none) and how often it is
  // re-read (Go duration, Mimir's default 10s).
  std::string runtime_config_file;
  absl::Duration runtime_config_period = absl::Seconds(10);

  // The `limits` block as a TenantLimits (every tenant's defaults), and back.
  TenantLimits DefaultLimits() const;
  void SetDefaultLimits(const TenantLimits& l);

  // The backend blocks are written to: blocks_storage.backend, else common.storage.backend.
  std::string BlocksBackend() const;
  // The directory of the filesystem bucket: blocks_storage.filesystem.dir, else
  // common.storage.filesystem.dir, else "blocks" (Mimir's default for the blocks bucket).
  std::string BlocksFilesystemDir() const;
  // The tenant of every request when multi-tenancy is off.
  const std::string& DefaultTenant() const { return no_auth_tenant; }
  // `host:port` for the HTTP server.
  std::string HttpEndpoint() const;

  // The effective configuration as YAML with Mimir's key names (for `/config`), secrets masked.
  std::string EffectiveYaml() const;
};

// The configuration used when `sprout metrics` gets no --config: Mimir's defaults except data
// under ./data/metrics, multitenancy_enabled false (tenant "anonymous") and
// max_global_exemplars_per_user 100000, so that exemplar links work out of the box.
MetricsConfig LocalDefaults();

struct MetricsConfigResult {
  MetricsConfig config;
  // One line per real Mimir key present that sprout does not implement yet:
  //   "'ingester::ring::replication_factor' is a Mimir setting that sprout metrics does not
  //    implement yet; it is ignored"
  // and the Loader's warnings (unset environment variables).
  std::vector<std::string> warnings;
};

// Loads the sources (as the collector: files, env:, yaml:, merged in order), applies --set
// overrides (`a::b=v` or `a.b=v`), expands ${env:VAR}, classifies every key and decodes the
// implemented ones. With no uris at all the result is LocalDefaults() plus the overrides.
// Errors (InvalidArgument), every one of them joined by "\n": loading errors of config::Load,
// unknown keys ("'limits' has invalid keys: ingestion_rat"; at the top level "configuration has
// invalid keys: x"), wrong types ("'server::http_listen_port' expected type 'int', got
// unconvertible type 'string', value: 'abc'"), bad durations, and invalid values
// ("'target' ...", "'common::storage::backend' ...").
absl::StatusOr<MetricsConfigResult> LoadMetricsConfig(const config::LoadOptions& options);

// The same, from an already parsed tree (tests; the root must be a map or null).
absl::StatusOr<MetricsConfigResult> DecodeMetricsConfig(const YAML::Node& root,
                                                        const MetricsConfig& defaults);

// What this build cannot run yet, checked at start: the s3 backend ("s3 is not available
// yet"), FailedPrecondition.
absl::Status CheckRunnable(const MetricsConfig& config);

// Prometheus's duration syntax (model.Duration), which Mimir's limits use: `30d`, `1h30m`,
// `2w`, `1y`, `0`; units y w d h m s ms in that order, integers only. Errors:
// `not a valid duration string: "x"`, `empty duration string`, `duration out of range`.
absl::StatusOr<absl::Duration> ParsePrometheusDuration(std::string_view text);
// The shortest Prometheus form of a duration (`30d`, `1h30m`, `0s`), as model.Duration prints.
std::string FormatPrometheusDuration(absl::Duration d);

// Which class a dotted key path ("limits.ingestion_rate") belongs to.
enum class KeyClass {
  kImplemented,     // read into MetricsConfig
  kAccepted,        // accepted silently for a later issue (ruler*, alertmanager*, s3)
  kNotImplemented,  // a real Mimir key: warning
  kBlock,           // a map of keys (e.g. "limits")
  kUnknown,         // error
};
KeyClass ClassifyKey(std::string_view dotted_path);

}  // namespace sprout::metrics
