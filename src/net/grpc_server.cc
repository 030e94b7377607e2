#include "net/grpc_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/proto_buffer_reader.h>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "google/rpc/status.pb.h"
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
  Call(grpc::GenericCallbackServerContext* ctx, grpc::ByteBuffer* request)
      : ctx_(ctx), request_(request) {}
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
  grpc::GenericCallbackServerContext* ctx_;
  grpc::ByteBuffer* request_;
};

class UnaryReactor : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  UnaryReactor(grpc::GenericCallbackServerContext* ctx,
               const std::map<std::string, GrpcUnaryHandler>* handlers)
      : ctx_(ctx), handlers_(handlers) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::INTERNAL, "no request message received"));
      return;
    }
    auto it = handlers_->find(ctx_->method());
    if (it == handlers_->end()) {
      Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                          absl::StrCat("unknown method ", ctx_->method())));
      return;
    }
    Call call(ctx_, &request_);
    GrpcReply reply = it->second(call);
    request_.Clear();
    if (reply.code != absl::StatusCode::kOk) {
      std::string details;
      if (reply.retry_delay.has_value()) {
        details = EncodeRpcStatus(reply.code, reply.message, reply.retry_delay);
      }
      Finish(grpc::Status(ToGrpc(reply.code), reply.message, details));
      return;
    }
    grpc::Slice slice(reply.response);
    response_ = grpc::ByteBuffer(&slice, 1);
    StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
  }

  void OnDone() override { delete this; }

 private:
  grpc::GenericCallbackServerContext* ctx_;
  const std::map<std::string, GrpcUnaryHandler>* handlers_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
};

class Service : public grpc::CallbackGenericService {
 public:
  explicit Service(std::map<std::string, GrpcUnaryHandler> handlers)
      : handlers_(std::move(handlers)) {}
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* CreateReactor(
      grpc::GenericCallbackServerContext* ctx) override {
    return new UnaryReactor(ctx, &handlers_);
  }

 private:
  std::map<std::string, GrpcUnaryHandler> handlers_;
};

class GrpcServerImpl : public GrpcServer {
 public:
  GrpcServerImpl(std::unique_ptr<Service> service, std::unique_ptr<grpc::Server> server, int port)
      : service_(std::move(service)), server_(std::move(server)), port_(port) {}
  ~GrpcServerImpl() override { Shutdown(absl::Now()); }
  int port() const override { return port_; }
  void Shutdown(absl::Time deadline) override {
    if (server_ == nullptr) return;
    server_->Shutdown(absl::ToChronoTime(deadline));
    server_->Wait();
    server_.reset();
  }

 private:
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_;
};

}  // namespace

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

  auto service = std::make_unique<Service>(std::move(handlers));
  grpc::ServerBuilder builder;
  int selected_port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &selected_port);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options.max_recv_msg_size);
  if (options.max_concurrent_streams > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams);
  }
  builder.RegisterCallbackGenericService(service.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || selected_port == 0) {
    return absl::UnavailableError(
        absl::StrCat("listen tcp ", options.endpoint, ": ", ProbeBindError(options.endpoint)));
  }
  return std::unique_ptr<GrpcServer>(
      new GrpcServerImpl(std::move(service), std::move(server), selected_port));
}

}  // namespace sprout::net
