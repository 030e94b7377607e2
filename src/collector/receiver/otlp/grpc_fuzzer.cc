// Fuzzes the otlp receiver's gRPC receive path from arbitrary bytes, with the same code the
// server runs after gRPC has read a message: net::DecodeGrpcMessage (our bounded decompression,
// and the recognition of zstd and framed snappy that gRPC 1.51 does not know) and then
// ParseGrpcRequest (the OTLP wire scan that validates a request before it is acknowledged).
//
// Input: byte 0 chooses what gRPC reported for the message, as the server sees it:
//   0 — not compressed, or compressed with a grpc-encoding gRPC does not know (gRPC drops the
//       header and delivers the bytes as they are: zstd, snappy, ...);
//   1 — grpc-encoding gzip with the compressed flag;  2 — deflate with the compressed flag.
// (The compressed flag with identity, or gzip/deflate without it, reach the server as 0.)
// The remaining bytes are the message. Invariants: nothing crashes; a decoded message never
// exceeds the limit; a request the scan accepts decodes, with the item count it claimed.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "collector/receiver/otlp/grpc_request.h"
#include "net/grpc_message.h"
#include "otlp/signal.h"

namespace {

using sprout::collector::otlpreceiver::ParseGrpcRequest;
using sprout::otlp::Signal;

constexpr size_t kMaxMessage = 1 << 20;  // small, so that bombs are cheap to find

template <Signal S>
void Check(const std::string& message) {
  auto batch = ParseGrpcRequest<S>(message);
  if (!batch.ok()) return;
  if (sprout::otlp::CountItems(batch->request()) != batch->item_count()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  sprout::net::GrpcCompression compression = sprout::net::GrpcCompression::kNone;
  switch (data[0] % 3) {
    case 1:
      compression = sprout::net::GrpcCompression::kGzip;
      break;
    case 2:
      compression = sprout::net::GrpcCompression::kDeflate;
      break;
    default:
      break;
  }
  std::string message(reinterpret_cast<const char*>(data + 1), size - 1);
  auto decoded = sprout::net::DecodeGrpcMessage(compression, std::move(message), kMaxMessage);
  if (!decoded.ok()) return 0;
  if (decoded->size() > kMaxMessage) std::abort();
  Check<Signal::kTraces>(*decoded);
  Check<Signal::kMetrics>(*decoded);
  Check<Signal::kLogs>(*decoded);
  return 0;
}
