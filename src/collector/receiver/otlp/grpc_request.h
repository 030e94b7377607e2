// The otlp receiver's decoding of one gRPC Export request, callable without a socket (the gRPC
// server decompresses first, see net/grpc_message.h; grpc_fuzzer.cc drives both).
//
// Thread-safety: pure.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "otlp/batch.h"
#include "otlp/signal.h"

namespace sprout::collector::otlpreceiver {

// The request's (decompressed) protobuf bytes as a batch: validated and kept undecoded. Bytes
// that are not a valid request give the status the receiver answers with, INTERNAL
// "grpc: error unmarshalling request: <detail>" (grpc-go's words for a codec error).
template <otlp::Signal S>
absl::StatusOr<otlp::Batch<S>> ParseGrpcRequest(std::string message) {
  auto batch = otlp::Batch<S>::Parse(std::move(message));
  if (!batch.ok()) {
    return absl::InternalError(
        absl::StrCat("grpc: error unmarshalling request: ", batch.status().message()));
  }
  return batch;
}

}  // namespace sprout::collector::otlpreceiver
