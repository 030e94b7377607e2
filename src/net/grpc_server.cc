#include "net/grpc_server.h"

#include <arpa/inet.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "google/rpc/status.pb.h"
#include "net/grpc_queue.h"
#include "net/http_server.h"

namespace sprout::net {
namespace {

grpc::StatusCode ToGrpc(absl::StatusCode code) { return static_cast<grpc::StatusCode>(code); }

// Finds out why gRPC could not bind, by trying the same bind ourselves.
std::string ProbeBindError(const std::string& endpoint) {
  std::string host;
  int port = 0;
  if (!SplitHostPort(endpoint, &host, &port).ok()) return "invalid address";
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* result = nullptr;
  const std::string service = std::to_string(port);
  if (getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &result) != 0) {
    return "lookup " + host + ": no such host";
  }
  std::string error = "bind: unknown error";
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    const int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      error = std::string("bind: ") + std::strerror(errno);
      close(fd);
      break;
    }
    close(fd);
  }
  freeaddrinfo(result);
  // strerror says "Address already in use"; Go says "address already in use".
  if (!error.empty() && error.size() > 6) error[6] = static_cast<char>(std::tolower(error[6]));
  return error;
}

class Call : public GrpcUnaryCall {
 public:
  Call(grpc::GenericServerContext* ctx, grpc::ByteBuffer* request) : ctx_(ctx), request_(request) {}
  std::string_view method() const override { return ctx_->method(); }
  std::vector<std::pair<std::string, std::string>> Metadata() const override {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [k, v] : ctx_->client_metadata()) {
      std::string key(k.data(), k.size());
      if (key.size() > 4 && key.compare(key.size() - 4, 4, "-bin") == 0) continue;
      out.emplace_back(std::move(key), std::string(v.data(), v.size()));
    }
    return out;
  }
  std::string peer() const override { return ctx_->peer(); }
  bool ParseRequest(google::protobuf::Message* message) override {
    grpc::ProtoBufferReader reader(request_);
    return message->ParseFromZeroCopyStream(&reader);
  }
  std::string RequestBytes() override {
    std::string out;
    std::vector<grpc::Slice> slices;
    if (!request_->Dump(&slices).ok()) return out;
    size_t total = 0;
    for (const auto& slice : slices) total += slice.size();
    out.reserve(total);
    for (const auto& slice : slices) {
      out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
    return out;
  }

 private:
  grpc::GenericServerContext* ctx_;
  grpc::ByteBuffer* request_;
};

// One call's life on a completion queue: wait for a call, read its message, handle it, answer.
// The thread that polls the queue also runs the handler, so a request costs no thread hand-off.
class CallData : public internal::QueueTag {
 public:
  CallData(grpc::AsyncGenericService* service, grpc::ServerCompletionQueue* cq,
           const std::map<std::string, GrpcUnaryHandler>* handlers)
      : service_(service), cq_(cq), handlers_(handlers), stream_(&ctx_) {
    service_->RequestCall(&ctx_, &stream_, cq_, cq_, this);
  }

  void Proceed(bool ok) override {
    switch (state_) {
      case State::kWaitingForCall:
        if (!ok) {  // the server is shutting down
          delete this;
          return;
        }
        new CallData(service_, cq_, handlers_);  // keep accepting while this call runs
        state_ = State::kReading;
        stream_.Read(&request_, this);
        return;
      case State::kReading:
        state_ = State::kFinishing;
        if (!ok) {
          stream_.Finish(grpc::Status(grpc::StatusCode::INTERNAL, "no request message received"),
                         this);
          return;
        }
        Handle();
        return;
      case State::kFinishing:
        delete this;
        return;
    }
  }

 private:
  enum class State { kWaitingForCall, kReading, kFinishing };

  void Handle() {
    auto it = handlers_->find(ctx_.method());
    if (it == handlers_->end()) {
      stream_.Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                  absl::StrCat("unknown method ", ctx_.method())),
                     this);
      return;
    }
    Call call(&ctx_, &request_);
    GrpcReply reply = it->second(call);
    request_.Clear();
    if (reply.code != absl::StatusCode::kOk) {
      std::string details;
      if (reply.retry_delay.has_value()) {
        details = EncodeRpcStatus(reply.code, reply.message, reply.retry_delay);
      }
      stream_.Finish(grpc::Status(ToGrpc(reply.code), reply.message, details), this);
      return;
    }
    grpc::Slice slice(reply.response);
    response_ = grpc::ByteBuffer(&slice, 1);
    stream_.WriteAndFinish(response_, grpc::WriteOptions(), grpc::Status::OK, this);
  }

  grpc::AsyncGenericService* service_;
  grpc::ServerCompletionQueue* cq_;
  const std::map<std::string, GrpcUnaryHandler>* handlers_;
  grpc::GenericServerContext ctx_;
  grpc::GenericServerAsyncReaderWriter stream_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  State state_ = State::kWaitingForCall;
};

class GrpcServerImpl : public GrpcServer {
 public:
  GrpcServerImpl(std::map<std::string, GrpcUnaryHandler> handlers)
      : handlers_(std::move(handlers)) {}
  ~GrpcServerImpl() override { Shutdown(absl::Now()); }

  absl::Status Start(const GrpcServerOptions& options, const std::string& address, int threads) {
    grpc::ServerBuilder builder;
    int selected_port = 0;
    builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &selected_port);
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    builder.SetMaxReceiveMessageSize(options.max_recv_msg_size);
    if (options.read_buffer_size > 0) {
      builder.AddChannelArgument(GRPC_ARG_TCP_READ_CHUNK_SIZE, options.read_buffer_size);
    }
    if (options.write_buffer_size > 0) {
      builder.AddChannelArgument(GRPC_ARG_HTTP2_WRITE_BUFFER_SIZE, options.write_buffer_size);
    }
    if (options.max_concurrent_streams > 0) {
      builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams);
    }
    builder.RegisterAsyncGenericService(&service_);
    for (int i = 0; i < threads; ++i) cqs_.push_back(builder.AddCompletionQueue());
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || selected_port == 0) {
      return absl::UnavailableError(
          absl::StrCat("listen tcp ", options.endpoint, ": ", ProbeBindError(options.endpoint)));
    }
    port_ = selected_port;
    for (auto& cq : cqs_) {
      auto thread_queue = std::make_unique<internal::ThreadQueue>();
      thread_queue->cq = cq.get();
      new CallData(&service_, cq.get(), &handlers_);
      threads_.emplace_back([tq = thread_queue.get()] {
        internal::CurrentThreadQueue() = tq;
        internal::RunQueue(tq->cq);
        internal::CurrentThreadQueue() = nullptr;
      });
      thread_queues_.push_back(std::move(thread_queue));
    }
    return absl::OkStatus();
  }

  int port() const override { return port_; }

  void Shutdown(absl::Time deadline) override {
    if (shut_down_) return;
    shut_down_ = true;
    // From now on client calls complete on their clients' own queues: only calls registered
    // before this point (each with a deadline) hold up the draining of these queues.
    for (auto& tq : thread_queues_) {
      std::lock_guard<std::mutex> lock(tq->mu);
      tq->open = false;
    }
    if (server_ != nullptr) {
      // Calls in progress finish (the queue threads keep running them) until the deadline.
      server_->Shutdown(absl::ToChronoTime(deadline));
      server_->Wait();
    }
    for (auto& cq : cqs_) cq->Shutdown();
    // Each thread drains its queue; waiting calls come back with ok=false and are freed.
    for (auto& t : threads_) t.join();
    if (threads_.empty()) {  // never started: the queues still have to be drained
      for (auto& cq : cqs_) {
        void* tag;
        bool ok;
        while (cq->Next(&tag, &ok)) {
        }
      }
    }
    threads_.clear();
    server_.reset();
    cqs_.clear();
  }

 private:
  std::map<std::string, GrpcUnaryHandler> handlers_;
  grpc::AsyncGenericService service_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> cqs_;
  std::vector<std::unique_ptr<internal::ThreadQueue>> thread_queues_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::thread> threads_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace

namespace internal {

ThreadQueue*& CurrentThreadQueue() {
  thread_local ThreadQueue* queue = nullptr;
  return queue;
}

void RunQueue(grpc::CompletionQueue* cq) {
  void* tag;
  bool ok;
  while (cq->Next(&tag, &ok)) static_cast<QueueTag*>(tag)->Proceed(ok);
}

}  // namespace internal

std::string EncodeRpcStatus(absl::StatusCode code, std::string_view message,
                            std::optional<absl::Duration> retry_delay) {
  google::rpc::Status status;
  status.set_code(static_cast<int>(code));
  status.set_message(std::string(message));
  if (retry_delay.has_value()) {
    google::rpc::RetryInfo info;
    const int64_t nanos = absl::ToInt64Nanoseconds(*retry_delay);
    info.mutable_retry_delay()->set_seconds(nanos / 1000000000);
    info.mutable_retry_delay()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
    status.add_details()->PackFrom(info);
  }
  return status.SerializeAsString();
}

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const GrpcServerOptions& options, std::map<std::string, GrpcUnaryHandler> handlers) {
  std::string host;
  int port = 0;
  RETURN_IF_ERROR(SplitHostPort(options.endpoint, &host, &port));
  // gRPC wants an explicit host; an empty one means every interface.
  const std::string address = absl::StrCat(host.empty() ? "0.0.0.0" : host, ":", port);
  const int threads = options.threads > 0
                          ? options.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency() / 2));
  auto server = std::make_unique<GrpcServerImpl>(std::move(handlers));
  RETURN_IF_ERROR(server->Start(options, address, threads));
  return std::unique_ptr<GrpcServer>(std::move(server));
}

}  // namespace sprout::net
