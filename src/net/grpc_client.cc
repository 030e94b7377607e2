#include "net/grpc_client.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/proto_utils.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "base/thread_pool.h"
#include "google/rpc/status.pb.h"
#include "net/grpc_queue.h"

namespace sprout::net {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("failed to load ", what, " file \"", path, "\": cannot open file"));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

GrpcCallResult ToResult(const grpc::Status& status, grpc::ByteBuffer& response);

class GrpcClientImpl;

// Everything one call needs until it completes; its own completion-queue tag.
struct CallState : public internal::QueueTag {
  void Proceed(bool) override;
  GrpcClientImpl* client = nullptr;
  bool may_use_caller_queue = true;

  grpc::ClientContext context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  grpc::Status status;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> call;
  GrpcClient::Callback done;
};

GrpcCallResult ToResult(const grpc::Status& status, grpc::ByteBuffer& response) {
  GrpcCallResult result;
  result.code = static_cast<absl::StatusCode>(status.error_code());
  result.message = status.error_message();
  if (status.ok()) {
    std::vector<grpc::Slice> slices;
    if (response.Dump(&slices).ok()) {
      for (const auto& s : slices) {
        result.response.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
    }
  } else if (!status.error_details().empty()) {
    google::rpc::Status details;
    if (details.ParseFromString(status.error_details())) {
      for (const auto& any : details.details()) {
        google::rpc::RetryInfo info;
        if (any.UnpackTo(&info)) {
          result.retry_delay = absl::Seconds(info.retry_delay().seconds()) +
                               absl::Nanoseconds(info.retry_delay().nanos());
        }
      }
    }
  }
  return result;
}

class GrpcClientImpl : public GrpcClient {
 public:
  GrpcClientImpl(std::shared_ptr<grpc::Channel> channel, const GrpcClientOptions& options)
      : channel_(std::move(channel)), stub_(channel_), options_(options) {
    if (options.compression == "gzip")
      compression_ = GRPC_COMPRESS_GZIP;
    else if (options.compression == "deflate")
      compression_ = GRPC_COMPRESS_DEFLATE;
  }

  ~GrpcClientImpl() override {
    // Every call has completed by now (the owner waits for its calls before destroying us).
    cq_.Shutdown();
    if (thread_.joinable()) {
      thread_.join();
    } else {
      internal::RunQueue(&cq_);  // a queue must be drained before it is destroyed
    }
  }

  void CallAsync(const std::string& method, const google::protobuf::Message& request,
                 absl::Duration timeout, Callback done) override {
    CallAsyncImpl(method, request, timeout, std::move(done), options_.complete_on_caller_queue);
  }

  void CallAsyncImpl(const std::string& method, const google::protobuf::Message& request,
                     absl::Duration timeout, Callback done, bool may_use_caller_queue) {
    auto* state = new CallState;
    state->may_use_caller_queue = may_use_caller_queue;
    state->done = std::move(done);
    bool own_buffer = false;
    grpc::Status serialized = grpc::SerializationTraits<google::protobuf::Message>::Serialize(
        request, &state->request, &own_buffer);
    if (!serialized.ok()) {
      GrpcCallResult result;
      result.code = absl::StatusCode::kInternal;
      result.message = serialized.error_message();
      state->done(std::move(result));
      delete state;
      return;
    }
    Start(method, timeout, state);
  }

  void CallSerializedAsync(const std::string& method, std::string_view request,
                           absl::Duration timeout, Callback done) override {
    CallSerializedAsyncImpl(method, request, timeout, std::move(done),
                            options_.complete_on_caller_queue);
  }

  void CallSerializedAsyncImpl(const std::string& method, std::string_view request,
                               absl::Duration timeout, Callback done, bool may_use_caller_queue) {
    auto* state = new CallState;
    state->may_use_caller_queue = may_use_caller_queue;
    state->done = std::move(done);
    grpc::Slice slice(request.data(), request.size());
    state->request = grpc::ByteBuffer(&slice, 1);
    Start(method, timeout, state);
  }

  void CancelAll() override {
    std::lock_guard<std::mutex> lock(calls_mu_);
    for (CallState* call : calls_) call->context.TryCancel();
  }

  void Close() override {
    std::lock_guard<std::mutex> lock(calls_mu_);
    closed_ = true;
    for (CallState* call : calls_) call->context.TryCancel();
  }

  // A call has completed: it is no longer cancellable.
  void Forget(CallState* state) {
    std::lock_guard<std::mutex> lock(calls_mu_);
    calls_.erase(state);
  }

 private:
  void Start(const std::string& method, absl::Duration timeout, CallState* state) {
    state->client = this;
    bool closed;
    {
      // Checked and registered under one lock: a Close() either sees this call (and cancels
      // it) or comes before it (and this call never starts).
      std::lock_guard<std::mutex> lock(calls_mu_);
      closed = closed_;
      if (!closed) calls_.insert(state);
    }
    if (closed) {
      GrpcCallResult result;
      result.code = absl::StatusCode::kCancelled;
      result.message = "grpc client closed";
      GrpcClient::Callback done = std::move(state->done);
      delete state;
      done(std::move(result));
      return;
    }
    if (timeout > absl::ZeroDuration()) {
      state->context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    }
    state->context.set_compression_algorithm(compression_);
    state->context.set_wait_for_ready(options_.wait_for_ready);
    for (const auto& [k, v] : options_.headers) state->context.AddMetadata(k, v);
    // On a server thread, the call completes on that thread's own queue (see grpc_queue.h).
    internal::ThreadQueue* thread_queue =
        state->may_use_caller_queue ? internal::CurrentThreadQueue() : nullptr;
    std::unique_lock<std::mutex> lock;
    grpc::CompletionQueue* cq = &cq_;
    if (thread_queue != nullptr) {
      lock = std::unique_lock<std::mutex>(thread_queue->mu);
      if (thread_queue->open) {
        cq = thread_queue->cq;
      } else {
        lock.unlock();
      }
    }
    if (cq == &cq_) {
      // Calls started off the server threads (retries, other receivers) complete on this
      // client's own queue, polled by a thread started on first need. Until then no second
      // thread competes with the server threads for gRPC's poller role.
      absl::Status started = EnsureQueueThread();
      if (!started.ok()) {
        // Nothing would poll the queue: the call fails now (retryable) instead of hanging.
        Forget(state);
        GrpcCallResult result;
        result.code = absl::StatusCode::kUnavailable;
        result.message = std::string(started.message());
        GrpcClient::Callback done = std::move(state->done);
        delete state;
        done(std::move(result));
        return;
      }
    }
    state->call = stub_.PrepareUnaryCall(&state->context, method, state->request, cq);
    state->call->StartCall();
    state->call->Finish(&state->response, &state->status, state);
  }

  // Starts the thread that polls cq_ unless it runs already; the error when it cannot (a
  // later call tries again).
  absl::Status EnsureQueueThread() {
    std::lock_guard<std::mutex> lock(thread_mu_);
    if (thread_.joinable()) return absl::OkStatus();
    absl::StatusOr<std::thread> thread = StartThread([this] { internal::RunQueue(&cq_); });
    if (!thread.ok()) {
      return absl::Status(thread.status().code(),
                          absl::StrCat("grpc client: ", thread.status().message()));
    }
    thread_ = std::move(*thread);
    return absl::OkStatus();
  }

  std::shared_ptr<grpc::Channel> channel_;
  grpc::GenericStub stub_;
  GrpcClientOptions options_;
  grpc_compression_algorithm compression_ = GRPC_COMPRESS_NONE;
  grpc::CompletionQueue cq_;
  std::mutex thread_mu_;
  std::thread thread_;  // polls cq_ once started (guarded by thread_mu_ until joined)
  std::mutex calls_mu_;
  std::unordered_set<CallState*> calls_;  // in progress
  bool closed_ = false;                   // Close() was called: no call starts any more
};

void CallState::Proceed(bool) {
  client->Forget(this);
  GrpcCallResult result = ToResult(status, response);
  GrpcClient::Callback callback = std::move(done);
  delete this;
  callback(std::move(result));
}

// Waits for one async call.
class Waiter {
 public:
  GrpcClient::Callback Callback() {
    return [this](GrpcCallResult result) {
      std::lock_guard<std::mutex> lock(mu_);
      result_ = std::move(result);
      done_ = true;
      cv_.notify_one();
    };
  }
  GrpcCallResult Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_; });
    return std::move(result_);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  GrpcCallResult result_;
};

}  // namespace

GrpcCallResult GrpcClient::Call(const std::string& method, const google::protobuf::Message& request,
                                absl::Duration timeout) {
  Waiter waiter;
  static_cast<GrpcClientImpl*>(this)->CallAsyncImpl(method, request, timeout, waiter.Callback(),
                                                    /*may_use_caller_queue=*/false);
  return waiter.Wait();
}

GrpcCallResult GrpcClient::CallSerialized(const std::string& method, std::string_view request,
                                          absl::Duration timeout) {
  Waiter waiter;
  static_cast<GrpcClientImpl*>(this)->CallSerializedAsyncImpl(
      method, request, timeout, waiter.Callback(), /*may_use_caller_queue=*/false);
  return waiter.Wait();
}

absl::StatusOr<std::unique_ptr<GrpcClient>> GrpcClient::Create(const GrpcClientOptions& options) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls) {
    grpc::SslCredentialsOptions ssl;
    if (!options.ca_file.empty()) {
      auto ca = ReadFile(options.ca_file, "CA");
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *ca;
    }
    if (!options.cert_file.empty() || !options.key_file.empty()) {
      if (options.cert_file.empty() || options.key_file.empty()) {
        return absl::InvalidArgumentError(
            "for auth via TLS, provide both certificate and key, or neither");
      }
      auto cert = ReadFile(options.cert_file, "TLS cert");
      if (!cert.ok()) return cert.status();
      auto key = ReadFile(options.key_file, "TLS key");
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *cert;
      ssl.pem_private_key = *key;
    }
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  grpc::ChannelArguments args;
  if (!options.user_agent.empty()) args.SetUserAgentPrefix(options.user_agent);
  if (!options.server_name_override.empty()) {
    args.SetSslTargetNameOverride(options.server_name_override);
  }
  if (!options.balancer_name.empty()) args.SetLoadBalancingPolicyName(options.balancer_name);
  // Our own retry loop (retry_on_failure) decides about retries, as the Collector's does.
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  if (options.write_buffer_size > 0) {
    args.SetInt(GRPC_ARG_HTTP2_WRITE_BUFFER_SIZE, options.write_buffer_size);
  }
  if (options.read_buffer_size > 0) {
    args.SetInt(GRPC_ARG_TCP_READ_CHUNK_SIZE, options.read_buffer_size);
  }
  if (options.keepalive_time > absl::ZeroDuration()) {
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS,
                static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_time)));
    if (options.keepalive_timeout > absl::ZeroDuration()) {
      args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                  static_cast<int>(absl::ToInt64Milliseconds(options.keepalive_timeout)));
    }
    args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS,
                options.keepalive_permit_without_stream ? 1 : 0);
  }
  auto channel = grpc::CreateCustomChannel(options.target, credentials, args);
  if (channel == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("cannot create channel to ", options.target));
  }
  return std::unique_ptr<GrpcClient>(new GrpcClientImpl(std::move(channel), options));
}

}  // namespace sprout::net
