// The configuration of `sprout traces`: a Grafana Tempo YAML file (the seed's tempo.yaml runs
// unchanged but for its S3 backend) read with Tempo's key names and Tempo's defaults.
//
// Every key of the file falls in one of three classes, as Tempo refuses keys it does not know:
//   implemented      read into TracesConfig (or accepted for a later issue: the rest of
//                    storage.trace.s3.*);
//                    see docs/traces.md for the list;
//   not implemented  a real Tempo key (its list is tempo_config_keys.txt, transcribed from
//                    Tempo's manifest) that sprout ignores for now: a warning naming the path;
//   unknown          anything else: an error naming the path, so a typo never silently
//                    sends data somewhere else.
// A value of the wrong type is an error naming the key. Paths use `::` between keys, as the
// collector's messages and `--set` do; `--set` also accepts Tempo's dots (`server.x=1`).
// Durations are Go durations (`720h`, `5s`, `1h30m`), as Tempo's are.
//
//   traces::LoadTracesConfig({.uris = {"tempo.yaml"}, .set_overrides = {...}})
//     → TracesConfigResult{config, warnings} or the joined errors (InvalidArgument).
//   traces::LocalDefaults()  the configuration with no file at all: data under ./data/traces,
//                            OTLP gRPC and HTTP receivers on localhost:4317 / localhost:4318.
//
// Checks that depend on what this build can run (the s3 backend, accepted by the file but not
// available yet) are in CheckRunnable(), called by `sprout traces` at start and not by a
// validation command.
//
// Thread-safety: pure functions; a TracesConfig is a plain value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "config/config.h"
#include "traces/config/generator_config.h"
#include "yaml-cpp/node/node.h"

namespace sprout::traces {

// storage.trace.s3 (read for the S3 backend of the object-store issue).
struct S3Config {
  std::string bucket;
  std::string endpoint;
  std::string region;
  std::string prefix;
  std::string access_key;
  std::string secret_key;  // never printed: EffectiveYaml() shows "********"
  bool insecure = false;
};

// One OTLP protocol of distributor.receivers.otlp.protocols.
struct OtlpProtocol {
  bool enabled = false;  // the protocol's key is present (even empty: `grpc:`)
  std::string endpoint;  // host:port
};

struct TracesConfig {
  std::string target = "all";
  bool multitenancy_enabled = false;  // off: every request is tenant "single-tenant"

  // server
  std::string http_listen_address;  // "" = all interfaces
  int http_listen_port = 3200;
  int grpc_listen_port = 9095;  // accepted; no gRPC API is served yet

  // distributor.receivers.otlp.protocols.{grpc,http}: a protocol listed without an endpoint
  // listens on the OTLP receiver's default (localhost:4317, localhost:4318); none listed: no
  // receiver, as Tempo.
  OtlpProtocol otlp_grpc;
  OtlpProtocol otlp_http;

  // ingester
  bool flush_all_on_shutdown = false;
  absl::Duration max_block_duration = absl::Minutes(30);
  int64_t max_block_bytes = 524288000;
  absl::Duration trace_idle_period = absl::Seconds(5);
  absl::Duration flush_check_period = absl::Seconds(10);  // how often blocks are checked

  // compactor.compaction.block_retention: blocks whose end is older are deleted.
  absl::Duration block_retention = absl::Hours(336);
  // compactor.compaction (traces/compact, Tempo's defaults): removed blocks (compaction inputs,
  // expired blocks) are deleted this long after they leave the block list;
  absl::Duration compacted_block_retention = absl::Hours(1);
  // a compaction/retention cycle runs this often;
  absl::Duration compaction_cycle = absl::Seconds(30);
  // blocks are compacted with the others of the same window of their end time;
  absl::Duration compaction_window = absl::Hours(1);
  // a compaction job's inputs stay within these sums (bytes; traces).
  int64_t compaction_max_block_bytes = int64_t{100} << 30;  // compactor.compaction.max_block_bytes
  int64_t max_compaction_objects = 6000000;

  // query_frontend.metrics (TraceQL metrics, current Tempo's defaults): the longest end − start
  // of a query (0 = none; the 24 h default lets a 24 h query through), the most steps per query
  // (0 = none), the most exemplars.
  absl::Duration metrics_max_duration = absl::Hours(24);
  int64_t metrics_max_intervals = 10000;
  int metrics_max_exemplars = 100;
  int metrics_max_response_series = 0;  // the most series per answer; 0 = no limit

  // storage.trace
  std::string backend;     // "local" or "s3"; Tempo has no default: required in a file
  std::string local_path;  // storage.trace.local.path; "" = see LocalPath()
  std::string wal_path = "/var/tempo/wal";  // storage.trace.wal.path
  S3Config s3;

  // overrides.defaults (per tenant)
  int64_t ingestion_rate_limit_bytes = 15000000;  // bytes/s
  int64_t ingestion_burst_size_bytes = 20000000;
  int64_t max_bytes_per_trace = 5000000;  // 0 = no limit

  // metrics_generator (generator_config.h; not run yet).
  GeneratorConfig metrics_generator;
  // overrides.defaults.metrics_generator (per tenant).
  GeneratorOverrides generator_overrides;

  // The tenant of every request when multi-tenancy is off.
  static constexpr std::string_view kSingleTenant = "single-tenant";
  // storage.trace.local.path, or, when it is empty, `traces` beside the WAL directory
  // (/var/tempo/wal → /var/tempo/traces).
  std::string LocalPath() const;
  // `host:port` for the HTTP server.
  std::string HttpEndpoint() const;

  // The effective configuration as YAML with Tempo's key names (for `/status/config`), secrets
  // masked, durations as Go prints them (`336h0m0s`).
  std::string EffectiveYaml() const;
};

// The configuration used when `sprout traces` gets no --config: Tempo's defaults except the
// local backend with data under ./data/traces (blocks ./data/traces/blocks, WAL
// ./data/traces/wal) and both OTLP receivers on (localhost:4317 gRPC, localhost:4318 HTTP).
TracesConfig LocalDefaults();

struct TracesConfigResult {
  TracesConfig config;
  // One line per real Tempo key present that sprout does not implement yet:
  //   "'ingester::concurrent_flushes' is a Tempo setting that sprout traces does not implement
  //    yet; it is ignored"
  // and the Loader's warnings (unset environment variables).
  std::vector<std::string> warnings;
};

// Loads the sources (as the collector: files, env:, yaml:, merged in order), applies --set
// overrides (`a::b=v` or `a.b=v`), expands ${env:VAR}, classifies every key and decodes the
// implemented ones. With no uris at all the result is LocalDefaults() plus the overrides.
// Errors (InvalidArgument), every one of them joined by "\n": loading errors of config::Load,
// unknown keys ("'ingester' has invalid keys: max_block_byte"; at the top level "configuration
// has invalid keys: x"), wrong types ("'server::http_listen_port' expected type 'int', got
// unconvertible type 'string', value: 'abc'"), bad durations ("'ingester::trace_idle_period'
// time: unknown unit \"x\" in duration \"5x\""), and invalid values ("'storage::trace::backend'
// ...").
absl::StatusOr<TracesConfigResult> LoadTracesConfig(const config::LoadOptions& options);

// The same, from an already parsed tree (tests; the root must be a map or null).
absl::StatusOr<TracesConfigResult> DecodeTracesConfig(const YAML::Node& root,
                                                      const TracesConfig& defaults);

// What this build cannot run yet, checked at start: the s3 backend ("s3 is not available
// yet"), FailedPrecondition.
absl::Status CheckRunnable(const TracesConfig& config);

// Which class a dotted key path ("ingester.max_block_bytes") belongs to.
enum class KeyClass {
  kImplemented,     // read into TracesConfig
  kAccepted,        // accepted silently for a later issue (the rest of s3)
  kNotImplemented,  // a real Tempo key: warning
  kBlock,           // a map of keys (e.g. "ingester")
  kUnknown,         // error
};
KeyClass ClassifyKey(std::string_view dotted_path);

}  // namespace sprout::traces
