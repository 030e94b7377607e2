// The `prometheusremotewrite` exporter: OTLP metrics → Prometheus remote write 1.0.
//
// Per batch: translate (src/otlp/prometheus.h), split into requests of at most
// max_batch_size_bytes of series, encode (protobuf WriteRequest, snappy block) and POST them,
// each request retried on its own. Batches are handled one at a time so every series reaches
// the backend in time order; the requests of one batch go out in parallel (each series is in
// exactly one of them). With `wal`, encoded requests are first made durable in a write-ahead
// log and sent from there by one reader, so they survive a restart.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "collector/exporter/prometheusremotewrite/wal.h"
#include "collector/factory.h"

namespace sprout::collector::prwexporter {

std::unique_ptr<ExporterFactory> NewFactory();

namespace internal {

// Test seams: what the exporter uses instead of the real WAL and snappy when set.
struct TestHooks {
  std::function<absl::StatusOr<std::unique_ptr<Wal>>(const WalOptions&)> open_wal;
  std::function<absl::StatusOr<std::string>(std::string_view)> compress;
};
std::unique_ptr<ExporterFactory> NewFactoryForTest(TestHooks hooks);

}  // namespace internal
}  // namespace sprout::collector::prwexporter
