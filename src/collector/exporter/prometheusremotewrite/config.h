// Configuration of the `prometheusremotewrite` exporter (Collector: contrib
// exporter/prometheusremotewriteexporter). Every key and its default is listed in README.md.
#pragma once

#include <map>
#include <string>

#include "base/backoff.h"
#include "collector/factory.h"

namespace sprout::collector::prwexporter {

struct Config : ComponentConfig {
  Config();

  std::string endpoint;
  std::map<std::string, std::string> headers;
  absl::Duration timeout = absl::Seconds(5);
  bool tls_insecure_skip_verify = false;
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string compression = "snappy";
  std::string proxy_url;       // empty: http_proxy/https_proxy/no_proxy from the environment
  int64_t max_idle_conns = 0;  // 0: as many as requests may run at once
  absl::Duration idle_conn_timeout = absl::Seconds(90);
  BackoffConfig retry_on_failure;  // initial_interval 50ms (the exporter's own default)

  bool queue_enabled = true;
  int64_t queue_size = 10000;
  int64_t num_consumers = 5;
  int64_t max_batch_request_parallelism = 0;  // 0 when unset

  // Upper bound of num_consumers and max_batch_request_parallelism: each is a sender thread.
  static constexpr int64_t kMaxConsumers = 256;

  std::string metric_namespace;
  std::map<std::string, std::string> external_labels;
  bool resource_to_telemetry = false;
  bool exclude_service_attributes = false;
  bool target_info = true;
  bool add_metric_suffixes = true;
  bool send_metadata = false;
  bool disable_scope_info = false;
  int64_t max_batch_size_bytes = 3000000;

  std::string wal_directory;  // empty: no write-ahead log
  int64_t wal_buffer_size = 300;
  absl::Duration wal_truncate_frequency = absl::Minutes(1);
  // Ours (the Collector's WAL has no bound): refuse new batches, retryably, beyond these.
  int64_t wal_max_size_bytes = int64_t{1} << 30;      // 0: no size bound
  absl::Duration wal_max_age = absl::ZeroDuration();  // 0: no age bound

  void Decode(config::Decoder& decoder) override;
  absl::Status Validate() const override;
};

}  // namespace sprout::collector::prwexporter
