// Batch<S>: one OTLP export request flowing through a pipeline.
//
// The request lives on its own protobuf arena (parsing many small messages into an arena is
// several times cheaper than heap allocation, and freeing is one call). A Batch is a cheap,
// copyable handle: copies share the request, and mutable_request() copies it first when it is
// shared (copy-on-write). A fan-out therefore hands the same request to every branch, and only a
// branch that changes data pays for a copy.
//
// Thread-safety: a const request may be read from several threads at once. mutable_request()
// must only be called by the thread that owns this handle; it never changes a request another
// handle can see.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "google/protobuf/arena.h"
#include "otlp/signal.h"

namespace sprout::otlp {

template <Signal S>
class Batch {
 public:
  using Request = typename SignalTraits<S>::Request;

  // An empty request.
  Batch() : rep_(std::make_shared<Rep>()) {}

  // Parses the protobuf wire encoding. Error: InvalidArgument "proto: cannot parse invalid
  // wire-format data".
  static absl::StatusOr<Batch> Parse(std::string_view wire) {
    Batch batch;
    if (!batch.rep_->request->ParseFromArray(wire.data(), static_cast<int>(wire.size()))) {
      return absl::InvalidArgumentError("proto: cannot parse invalid wire-format data");
    }
    return batch;
  }

  const Request& request() const { return *rep_->request; }

  // The request for changing; copies it first when another handle shares it.
  Request* mutable_request() {
    if (rep_.use_count() > 1) {
      auto copy = std::make_shared<Rep>();
      copy->request->CopyFrom(*rep_->request);
      rep_ = std::move(copy);
    }
    rep_->item_count = -1;
    return rep_->request;
  }

  // Spans, data points or log records (cached until the next mutable_request()).
  int64_t item_count() const {
    if (rep_->item_count < 0) rep_->item_count = CountItems(*rep_->request);
    return rep_->item_count;
  }

  // True when both handles share one request (for tests of copy-on-write).
  bool SharesWith(const Batch& other) const { return rep_ == other.rep_; }

 private:
  struct Rep {
    Rep() : arena(Options()), request(google::protobuf::Arena::CreateMessage<Request>(&arena)) {}
    static google::protobuf::ArenaOptions Options() {
      google::protobuf::ArenaOptions options;
      options.start_block_size = 4096;
      options.max_block_size = 64 * 1024;
      return options;
    }
    google::protobuf::Arena arena;
    Request* request;  // owned by `arena`
    mutable int64_t item_count = -1;
  };
  std::shared_ptr<Rep> rep_;
};

using TracesBatch = Batch<Signal::kTraces>;
using MetricsBatch = Batch<Signal::kMetrics>;
using LogsBatch = Batch<Signal::kLogs>;

}  // namespace sprout::otlp
