// A gRPC server for unary methods whose messages the handler decodes itself.
//
// Built on gRPC's asynchronous API with a generic service, so a handler receives the raw request
// buffer and decides how to decode it: no copy through gRPC's generated stubs. Each of
// `threads` threads polls its own completion queue and runs the handlers of the calls it
// received, so a request is read, handled and answered on one thread without hand-offs. Only
// this file and grpc_client.cc include gRPC headers.
//
// - Start() binds synchronously; SO_REUSEPORT is off, so a port in use is an error
//   (`listen tcp <endpoint>: bind: address already in use`) instead of two servers silently
//   sharing it.
// - Handlers run on the server's completion-queue threads, concurrently; they must be
//   thread-safe and should not block for long.
// - Request messages reach the handler decompressed by our own bounded decoders (see
//   grpc_message.h: gzip, deflate, zstd, snappy), never by gRPC's: `max_recv_msg_size` bounds
//   the message both as received and after decompression, so a small compressed message cannot
//   make the server allocate more than that. Over the limit: RESOURCE_EXHAUSTED, before the
//   handler runs.
// - With `tls` set the server speaks only TLS (1.2 and 1.3); with `tls.client_ca_file` it requires
//   and verifies client certificates (mutual TLS). Certificate files are read and checked by
//   Start() (errors name the file); with a reload the server picks up changed files for new
//   connections.
// - Shutdown(deadline) stops accepting calls, waits for calls in progress until `deadline`,
//   then cancels what is left.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/tls.h"

namespace google::protobuf {
class Message;
}

namespace sprout::net {

struct GrpcServerOptions {
  std::string endpoint = "localhost:4317";
  // Bytes; a larger request, as received or once decompressed, gets RESOURCE_EXHAUSTED.
  int64_t max_recv_msg_size = 4 << 20;
  int read_buffer_size = 512 << 10;  // bytes read from a socket at a time (0: gRPC's default)
  int write_buffer_size = 0;         // HTTP/2 write buffer (0: gRPC's default)
  int max_concurrent_streams = 0;    // 0: gRPC's default
  int threads = 0;                   // completion-queue threads; 0: one per two CPUs (at least 1)
  std::optional<TlsServerSettings> tls;  // unset: plaintext
};

// What the gRPC server cannot do of `tls` (beyond ValidateTlsServerSettings): gRPC C++ 1.51
// always offers TLS 1.2 and 1.3 and has no per-server cipher suite setting, so min_version
// "1.3", max_version below "1.3" and cipher_suites are refused by name; a client CA reload needs
// the certificate and key as files. InvalidArgument naming the key and the value.
absl::Status CheckGrpcServerTls(const TlsServerSettings& tls);

// One unary call, valid while the handler runs.
class GrpcUnaryCall {
 public:
  virtual ~GrpcUnaryCall() = default;
  virtual std::string_view method() const = 0;  // "/package.Service/Method"
  // Client metadata (keys lower-case; binary "-bin" entries excluded).
  virtual std::vector<std::pair<std::string, std::string>> Metadata() const = 0;
  virtual std::string peer() const = 0;
  // Decodes the request into `message`; false when it is not valid wire format.
  virtual bool ParseRequest(google::protobuf::Message* message) = 0;
  // The request's (decompressed) encoding as one contiguous string, moved out: for handlers
  // that keep the bytes. Call at most once, and not together with ParseRequest.
  virtual std::string RequestBytes() = 0;
};

struct GrpcReply {
  absl::StatusCode code = absl::StatusCode::kOk;
  std::string message;
  // Sent as a google.rpc.RetryInfo detail in grpc-status-details-bin.
  std::optional<absl::Duration> retry_delay;
  std::string response;  // serialized response message, for code OK
};

using GrpcUnaryHandler = std::function<GrpcReply(GrpcUnaryCall& call)>;

class GrpcServer {
 public:
  virtual ~GrpcServer() = default;
  // `handlers` maps full method names to handlers; other methods get UNIMPLEMENTED.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const GrpcServerOptions& options, std::map<std::string, GrpcUnaryHandler> handlers);
  virtual int port() const = 0;
  virtual void Shutdown(absl::Time deadline) = 0;
};

// Serialized google.rpc.Status with an optional RetryInfo detail (also used for OTLP/HTTP
// error bodies).
std::string EncodeRpcStatus(absl::StatusCode code, std::string_view message,
                            std::optional<absl::Duration> retry_delay);

}  // namespace sprout::net
