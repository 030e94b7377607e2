// A gRPC client channel for unary calls with messages the caller already holds.
//
// The request is serialized straight into gRPC's buffer (no intermediate string) and the
// response is returned as bytes. Calls are asynchronous: a call started on a gRPC server thread
// completes on that thread's completion queue (see grpc_queue.h); other calls complete on the
// client's own queue, polled by a thread the client starts when first needed. Callbacks run on
// the thread that takes the completion. Any number of threads may call at once (HTTP/2
// multiplexing over one connection). Destroying the client while a call is in progress is not
// allowed.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace google::protobuf {
class Message;
}

namespace sprout::net {

struct GrpcClientOptions {
  std::string target;     // "host:port" or a gRPC target such as "dns:///host:port"
  bool tls = true;        // false: plaintext
  std::string ca_file;    // PEM roots; empty: the system roots
  std::string cert_file;  // client certificate (mTLS), PEM
  std::string key_file;   // client key (mTLS), PEM
  std::string server_name_override;
  std::string compression = "gzip";  // "gzip", "deflate" or "" / "none"
  std::string user_agent;            // prefix of the User-Agent header
  std::string balancer_name = "round_robin";
  int write_buffer_size = 512 << 10;  // HTTP/2 write buffer (0: gRPC's default)
  int read_buffer_size = 0;           // bytes read from a socket at a time (0: gRPC's default)
  std::vector<std::pair<std::string, std::string>> headers;  // sent with every call
  absl::Duration keepalive_time = absl::ZeroDuration();      // zero: no keepalive pings
  absl::Duration keepalive_timeout = absl::ZeroDuration();
  bool keepalive_permit_without_stream = false;
  bool wait_for_ready = false;
  // Let a call started on a gRPC server thread complete on that thread's queue (fast path, see
  // grpc_queue.h). Must be false when the caller may block waiting for the result on that
  // thread (e.g. an exporter without a sending queue), or when calls have no timeout (a server
  // shutting down waits for the calls registered on its queues).
  bool complete_on_caller_queue = true;
};

struct GrpcCallResult {
  absl::StatusCode code = absl::StatusCode::kOk;
  std::string message;
  std::optional<absl::Duration> retry_delay;  // from a google.rpc.RetryInfo detail
  std::string response;                       // serialized response, for code OK
};

class GrpcClient {
 public:
  using Callback = std::function<void(GrpcCallResult result)>;

  virtual ~GrpcClient() = default;
  // Reads the PEM files; errors name the file (`failed to load CA file "x": ...`).
  static absl::StatusOr<std::unique_ptr<GrpcClient>> Create(const GrpcClientOptions& options);

  // Sends `request` to `method` ("/pkg.Service/Method") with a deadline of `timeout` (zero:
  // none) and returns at once; `done` runs exactly once, on a gRPC thread, when the call ends
  // (after Close(): at once, on the calling thread).
  // The client must outlive every call in progress.
  virtual void CallAsync(const std::string& method, const google::protobuf::Message& request,
                         absl::Duration timeout, Callback done) = 0;
  // The same with a request that is already serialized (copied before this returns).
  virtual void CallSerializedAsync(const std::string& method, std::string_view request,
                                   absl::Duration timeout, Callback done) = 0;

  // Cancels every call in progress (they complete with CANCELLED); calls started afterwards
  // are not affected. Thread-safe; does not block on calls.
  virtual void CancelAll() = 0;

  // CancelAll(), and every later call completes at once with CANCELLED ("grpc client closed"),
  // for good: used at a shutdown deadline, so that no call, however late it starts (e.g. one
  // whose sender checked for shutdown just before), can outlive it. Registering a call and
  // checking for Close() happen under one lock. Thread-safe, idempotent; does not block on calls.
  virtual void Close() = 0;

  // Blocking forms of the above (never completing on the caller's queue, which would deadlock).
  GrpcCallResult Call(const std::string& method, const google::protobuf::Message& request,
                      absl::Duration timeout);
  GrpcCallResult CallSerialized(const std::string& method, std::string_view request,
                                absl::Duration timeout);
};

}  // namespace sprout::net
