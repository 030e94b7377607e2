#include "collector/exporter/prometheusremotewrite/config.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "collector/exporter_helper.h"
#include "config/decoder.h"

namespace sprout::collector::prwexporter {

Config::Config() { retry_on_failure.initial_interval = absl::Milliseconds(50); }

void Config::Decode(config::Decoder& d) {
  d.Read("endpoint", &endpoint);
  d.Read("headers", &headers);
  d.Read("timeout", &timeout);
  config::Decoder tls = d.Child("tls");
  tls.Read("insecure_skip_verify", &tls_insecure_skip_verify);
  tls.Read("ca_file", &tls_ca_file);
  tls.Read("cert_file", &tls_cert_file);
  tls.Read("key_file", &tls_key_file);
  bool insecure = false;
  tls.Read("insecure", &insecure);  // plain http:// endpoints never use TLS anyway
  tls.Refuse({"ca_pem", "cert_pem", "key_pem", "min_version", "max_version", "cipher_suites",
              "reload_interval", "server_name_override", "include_system_ca_certs_pool"},
             "is not supported by sprout yet");
  d.Read("compression", &compression);
  d.Read("proxy_url", &proxy_url);
  d.Read("max_idle_conns", &max_idle_conns);
  d.Read("idle_conn_timeout", &idle_conn_timeout);
  // Go's transport buffer sizes; curl sizes its own buffers, and they change nothing else.
  int64_t buffer_size = 0;
  d.Read("read_buffer_size", &buffer_size);
  d.Read("write_buffer_size", &buffer_size);
  d.Refuse({"auth", "cookies", "max_idle_conns_per_host", "max_conns_per_host",
            "disable_keep_alives", "http2_read_idle_timeout", "http2_ping_timeout",
            "force_attempt_http2", "compression_params", "middlewares"},
           "is not supported by sprout yet");
  config::Decoder retry = d.Child("retry_on_failure");
  DecodeRetrySettings(retry, &retry_on_failure);
  config::Decoder queue = d.Child("remote_write_queue");
  queue.Read("enabled", &queue_enabled);
  queue.Read("queue_size", &queue_size);
  queue.Read("num_consumers", &num_consumers);
  if (d.Has("max_batch_request_parallelism")) {
    d.Read("max_batch_request_parallelism", &max_batch_request_parallelism);
    if (max_batch_request_parallelism < 1) {
      d.AddError("max_batch_request_parallelism", "can't be set to below 1");
    }
  }
  d.Read("namespace", &metric_namespace);
  d.Read("external_labels", &external_labels);
  config::Decoder rtc = d.Child("resource_to_telemetry_conversion");
  rtc.Read("enabled", &resource_to_telemetry);
  rtc.Read("exclude_service_attributes", &exclude_service_attributes);
  d.Child("target_info").Read("enabled", &target_info);
  bool export_created_metric = false;
  d.Child("export_created_metric").Read("enabled", &export_created_metric);
  if (export_created_metric) {
    d.AddError("export_created_metric", "is no longer supported (the Collector removed it too)");
  }
  d.Read("add_metric_suffixes", &add_metric_suffixes);
  std::string strategy;
  d.Read("translation_strategy", &strategy);
  if (strategy == "UnderscoreEscapingWithSuffixes") {
    add_metric_suffixes = true;
  } else if (strategy == "UnderscoreEscapingWithoutSuffixes") {
    add_metric_suffixes = false;
  } else if (!strategy.empty()) {
    d.AddError("translation_strategy",
               absl::StrCat("\"", strategy,
                            "\" is not supported (UTF-8 names need remote write 2.0, which sprout "
                            "does not send yet)"));
  }
  std::string message = "prometheus.WriteRequest";
  d.Read("protobuf_message", &message);
  if (message != "prometheus.WriteRequest") {
    d.AddError("protobuf_message", "only prometheus.WriteRequest (remote write 1.0) is supported");
  }
  d.Read("send_metadata", &send_metadata);
  d.Read("disable_scope_info", &disable_scope_info);
  if (d.Has("max_batch_size_bytes")) {
    d.Read("max_batch_size_bytes", &max_batch_size_bytes);
    d.Raw("max_batch_byte_size");  // the new name wins
  } else if (d.Has("max_batch_byte_size")) {
    // The key's old name, where 0 meant the default.
    d.Read("max_batch_byte_size", &max_batch_size_bytes);
    if (max_batch_size_bytes == 0) max_batch_size_bytes = 3000000;
  }
  config::Decoder wal = d.Child("wal");
  wal.Read("directory", &wal_directory);
  wal.Read("buffer_size", &wal_buffer_size);
  wal.Read("truncate_frequency", &wal_truncate_frequency);
  wal.Raw("lag_record_frequency");
  wal.Read("max_size_bytes", &wal_max_size_bytes);
  wal.Read("max_age", &wal_max_age);
}

absl::Status Config::Validate() const {
  if (endpoint.empty() ||
      !(absl::StartsWith(endpoint, "http://") || absl::StartsWith(endpoint, "https://"))) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid endpoint \"", endpoint, "\": must be an http:// or https:// URL"));
  }
  if (!compression.empty() && compression != "snappy") {
    return absl::InvalidArgumentError("compression type must be snappy");
  }
  if (queue_size < 0) {
    return absl::InvalidArgumentError("remote write queue size can't be negative");
  }
  if (queue_enabled && queue_size == 0) {
    return absl::InvalidArgumentError("a 0 size queue will drop all the data");
  }
  if (num_consumers < 0) {
    return absl::InvalidArgumentError("remote write consumer number can't be negative");
  }
  if (num_consumers > kMaxConsumers) {
    return absl::InvalidArgumentError(
        absl::StrCat("remote write consumer number can't be more than ", kMaxConsumers, ", got ",
                     num_consumers, " (sprout sends with one thread per consumer)"));
  }
  if (max_batch_request_parallelism > kMaxConsumers) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_batch_request_parallelism can't be more than ", kMaxConsumers, ", got ",
                     max_batch_request_parallelism, " (sprout sends with one thread per request)"));
  }
  if (!proxy_url.empty() &&
      !(absl::StartsWith(proxy_url, "http://") || absl::StartsWith(proxy_url, "https://") ||
        absl::StartsWith(proxy_url, "socks5://") || absl::StartsWith(proxy_url, "socks5h://"))) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid proxy_url \"", proxy_url,
                     "\": must be an http://, https://, socks5:// or socks5h:// URL"));
  }
  if (max_idle_conns < 0) return absl::InvalidArgumentError("max_idle_conns can't be negative");
  if (idle_conn_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("idle_conn_timeout can't be negative");
  }
  if (max_batch_size_bytes <= 0) {
    return absl::InvalidArgumentError("max_batch_size_bytes must be greater than 0");
  }
  for (const auto& [k, v] : external_labels) {
    if (k.empty() || v.empty()) {
      return absl::InvalidArgumentError(
          "prometheus remote write: external labels configuration contains an empty key or value");
    }
  }
  if (timeout < absl::ZeroDuration())
    return absl::InvalidArgumentError("timeout must be non-negative");
  RETURN_IF_ERROR(Annotate(ValidateRetrySettings(retry_on_failure), "retry_on_failure"));
  if (!wal_directory.empty() && wal_truncate_frequency <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("wal::truncate_frequency must be positive");
  }
  if (wal_buffer_size < 0) return absl::InvalidArgumentError("wal::buffer_size can't be negative");
  if (wal_max_size_bytes < 0) {
    return absl::InvalidArgumentError("wal::max_size_bytes can't be negative");
  }
  if (wal_max_size_bytes > 0 && wal_max_size_bytes < (1 << 20)) {
    return absl::InvalidArgumentError(
        absl::StrCat("wal::max_size_bytes must be at least 1048576 (1 MiB) or 0 for no bound, got ",
                     wal_max_size_bytes));
  }
  if (wal_max_age < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("wal::max_age can't be negative");
  }
  return absl::OkStatus();
}

}  // namespace sprout::collector::prwexporter
