// What a pipeline stage, an exporter or a store implements to receive OTLP data: the consumer
// interface and the context that travels with each request.
//
// These live below the collector so that the stores can receive batches (from the collector's
// pipeline in `sprout all`, or from their own receivers) without including collector headers.
// Errors returned by Consume are classified as described in otlp/consumer_error.h.
//
// Thread-safety: Consume() is called concurrently from receiver threads; every Consumer must be
// thread-safe.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "otlp/batch.h"
#include "otlp/signal.h"

namespace sprout::otlp {

// What travels with a request through a pipeline besides the data.
struct Context {
  // Client metadata (gRPC metadata or HTTP headers, keys lower-cased), for processors that
  // route or batch by it. Only filled when the receiver's `include_metadata` is on.
  std::vector<std::pair<std::string, std::string>> metadata;
  std::string transport;  // "grpc" or "http" (receiver side)
  // The tenant the data belongs to (Mimir/Tempo's X-Scope-OrgID); empty when the receiver is
  // not multi-tenant. Stores treat empty as their single default tenant.
  std::string tenant;
};

template <Signal S>
class Consumer {
 public:
  virtual ~Consumer() = default;
  // Takes the batch; an error goes back to the caller (and, at the receiver, to the client).
  // See consumer_error.h for how errors are classified.
  virtual absl::Status Consume(const Context& context, Batch<S> batch) = 0;
};

using TracesConsumer = Consumer<Signal::kTraces>;
using MetricsConsumer = Consumer<Signal::kMetrics>;
using LogsConsumer = Consumer<Signal::kLogs>;

}  // namespace sprout::otlp
