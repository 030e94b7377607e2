// The `prometheusremotewrite` exporter: OTLP metrics → Prometheus remote write 1.0.
//
// Per batch: translate (src/otlp/prometheus.h), split into requests of at most
// max_batch_size_bytes of series, encode (protobuf WriteRequest, snappy block) and POST them,
// each request retried on its own. Batches are handled one at a time so every series reaches
// the backend in time order; the requests of one batch go out in parallel (each series is in
// exactly one of them). With `wal`, the series of a batch are split into `num_consumers` shards
// by a hash of their labels, each shard's requests are made durable in a write-ahead log
// (remotewrite/wal.h), and `num_consumers` senders deliver them from there, one shard each
// (remotewrite/wal_sender.h): they survive a restart and a machine crash, and every series stays
// in order. Encoding, sending and retrying are remotewrite::Encode and remotewrite::Client.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "collector/factory.h"
#include "remotewrite/wal_sender.h"
#include "storage/env.h"

namespace sprout::collector::prwexporter {

std::unique_ptr<ExporterFactory> NewFactory();

namespace internal {

// Test seams: what the exporter uses instead of the file system, snappy and its timers when set.
struct TestHooks {
  storage::Env* env = nullptr;  // the WAL's file system (a FaultInjectionEnv in tests)
  std::function<absl::StatusOr<std::string>(std::string_view)> compress;
  absl::Duration wal_commit_interval = absl::Seconds(1);
  std::function<void(remotewrite::WalSender*)>
      on_wal_sender;  // called once the WAL's senders exist
};

std::unique_ptr<ExporterFactory> NewFactoryForTest(TestHooks hooks);

}  // namespace internal
}  // namespace sprout::collector::prwexporter
