#include "net/grpc_server.h"

#include <arpa/inet.h>
#include <grpc/byte_buffer.h>
#include <grpc/slice.h>
#include <grpc/support/log.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "base/thread_pool.h"
#include "google/rpc/status.pb.h"
#include "net/grpc_message.h"
#include "net/grpc_queue.h"
#include "net/http_server.h"

// gRPC C++ 1.51 gives no public access to a received message's raw buffer (ByteBuffer::Dump
// and ProtoBufferReader both decompress a compressed buffer, without a limit). ByteBuffer names
// this class a friend for tests; defining it here is how the server reads the message as it
// arrived: its slices and the compression gRPC recorded for it. The library does not define it.
namespace grpc::internal {
class GrpcByteBufferPeer {
 public:
  explicit GrpcByteBufferPeer(ByteBuffer* buffer) : buffer_(buffer) {}
  grpc_byte_buffer* c_buffer() { return buffer_->c_buffer(); }

 private:
  ByteBuffer* buffer_;
};
}  // namespace grpc::internal

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

// --- TLS ---

// Reads a PEM file; errors read like Go's os.ReadFile ("open <path>: no such file or directory").
absl::StatusOr<std::string> ReadPemFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::string reason = std::strerror(errno);
    if (!reason.empty()) reason[0] = static_cast<char>(std::tolower(reason[0]));
    return absl::InvalidArgumentError(absl::StrCat("open ", path, ": ", reason));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

BioPtr MemoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
}

// The checks Go's tls.X509KeyPair makes, worded as it words them.
absl::Status CheckKeyPair(const std::string& cert_pem, const std::string& key_pem) {
  BioPtr cert_bio = MemoryBio(cert_pem);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr), X509_free);
  if (cert == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("tls: failed to find any PEM data in certificate input");
  }
  BioPtr key_bio = MemoryBio(key_pem);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  if (key == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("tls: failed to find any PEM data in key input");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("tls: private key does not match public key");
  }
  return absl::OkStatus();
}

absl::Status CheckCaPem(const std::string& pem) {
  BioPtr bio = MemoryBio(pem);
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
  if (cert == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("failed to parse cert");
  }
  return absl::OkStatus();
}

// Server credentials for `tls`: the certificate and key (and client CA) are read and checked
// now, so that a bad file fails Start with the Collector's message; gRPC then serves them from
// memory, or re-reads the files at an interval when a reload is asked for.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const TlsServerSettings& tls) {
  RETURN_IF_ERROR(ValidateTlsServerSettings(tls));
  RETURN_IF_ERROR(CheckGrpcServerTls(tls));
  std::string cert = tls.cert_pem;
  std::string key = tls.key_pem;
  const bool pem = !tls.cert_pem.empty() || !tls.key_pem.empty();
  const char* what = pem ? "failed to load TLS config: failed to load TLS cert and key PEMs"
                         : "failed to load TLS config: failed to load TLS cert and key";
  if (!tls.cert_file.empty()) {
    auto read = ReadPemFile(tls.cert_file);
    if (!read.ok()) return Annotate(read.status(), what);
    cert = std::move(*read);
  }
  if (!tls.key_file.empty()) {
    auto read = ReadPemFile(tls.key_file);
    if (!read.ok()) return Annotate(read.status(), what);
    key = std::move(*read);
  }
  RETURN_IF_ERROR(Annotate(CheckKeyPair(cert, key), what));
  std::string client_ca;
  if (!tls.client_ca_file.empty()) {
    const std::string ca_what = absl::StrCat(
        "failed to load TLS config: failed to load client CA CertPool: failed to load CA ",
        tls.client_ca_file);
    auto read = ReadPemFile(tls.client_ca_file);
    if (!read.ok()) return Annotate(read.status(), ca_what);
    client_ca = std::move(*read);
    RETURN_IF_ERROR(Annotate(CheckCaPem(client_ca), ca_what));
  }

  const bool reload_ca = tls.client_ca_file_reload && !tls.client_ca_file.empty();
  const bool reload_cert = tls.reload_interval > absl::ZeroDuration() && !pem;
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider;
  if (reload_ca || reload_cert) {
    // One watcher re-reads key, certificate and client CA: every second when the client CA is
    // to follow its file (the Collector checks it at most once a second), else at
    // reload_interval (whole seconds, at least one).
    const double seconds =
        reload_ca ? 1.0 : std::max(1.0, std::ceil(absl::ToDoubleSeconds(tls.reload_interval)));
    provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
        tls.key_file, tls.cert_file, tls.client_ca_file,
        static_cast<unsigned int>(std::min(seconds, 86400.0 * 365)));
  } else {
    provider = std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
        client_ca,
        std::vector<grpc::experimental::IdentityKeyCertPair>{{std::move(key), std::move(cert)}});
  }
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!tls.client_ca_file.empty()) {
    // Go's tls.RequireAndVerifyClientCert.
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::experimental::TlsServerCredentials(options);
  if (credentials == nullptr) {
    return absl::InvalidArgumentError("failed to load TLS config: gRPC refused the credentials");
  }
  return credentials;
}

// gRPC's log, minus the line its header parser writes for every message whose grpc-encoding
// it does not know ("Error parsing metadata: error=invalid value key=grpc-encoding value=zstd"):
// the server decodes zstd and snappy itself (grpc_message.h), so for a client that compresses
// with them that line is neither an error nor news. Everything else goes to stderr as before.
void FilteredGrpcLog(gpr_log_func_args* args) {
  if (std::strstr(args->message, "key=grpc-encoding") != nullptr &&
      std::strstr(args->message, "Error parsing metadata") != nullptr) {
    return;
  }
  const char* file = std::strrchr(args->file, '/');
  const std::string time = absl::FormatTime("%m%d %H:%M:%E6S", absl::Now(), absl::UTCTimeZone());
  std::fprintf(stderr, "%s%s %s:%d] %s\n", gpr_log_severity_string(args->severity), time.c_str(),
               file != nullptr ? file + 1 : args->file, args->line, args->message);
}

void InstallGrpcLogFilter() {
  static std::once_flag once;
  std::call_once(once, [] { gpr_set_log_function(FilteredGrpcLog); });
}

class Call : public GrpcUnaryCall {
 public:
  Call(grpc::GenericServerContext* ctx, std::string request)
      : ctx_(ctx), request_(std::move(request)) {}
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
    return message->ParseFromString(request_);
  }
  std::string RequestBytes() override { return std::move(request_); }

 private:
  grpc::GenericServerContext* ctx_;
  std::string request_;
};

// The message as it came off the wire (never decompressed by gRPC, see GRPC_ARG_ENABLE_PER_
// MESSAGE_DECOMPRESSION below): its bytes joined into one string, and the compression gRPC
// recorded for it.
std::string RawMessage(grpc::ByteBuffer* buffer, GrpcCompression* compression) {
  std::string out;
  *compression = GrpcCompression::kNone;
  grpc_byte_buffer* raw = grpc::internal::GrpcByteBufferPeer(buffer).c_buffer();
  if (raw == nullptr) return out;
  switch (raw->data.raw.compression) {
    case GRPC_COMPRESS_GZIP:
      *compression = GrpcCompression::kGzip;
      break;
    case GRPC_COMPRESS_DEFLATE:
      *compression = GrpcCompression::kDeflate;
      break;
    default:
      break;
  }
  const grpc_slice_buffer& slices = raw->data.raw.slice_buffer;
  out.reserve(slices.length);
  for (size_t i = 0; i < slices.count; ++i) {
    out.append(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(slices.slices[i])),
               GRPC_SLICE_LENGTH(slices.slices[i]));
  }
  return out;
}

// One call's life on a completion queue: wait for a call, read its message, handle it, answer.
// The thread that polls the queue also runs the handler, so a request costs no thread hand-off.
class CallData : public internal::QueueTag {
 public:
  CallData(grpc::AsyncGenericService* service, grpc::ServerCompletionQueue* cq,
           const std::map<std::string, GrpcUnaryHandler>* handlers, size_t max_message_size)
      : service_(service),
        cq_(cq),
        handlers_(handlers),
        max_message_size_(max_message_size),
        stream_(&ctx_) {
    service_->RequestCall(&ctx_, &stream_, cq_, cq_, this);
  }

  void Proceed(bool ok) override {
    switch (state_) {
      case State::kWaitingForCall:
        if (!ok) {  // the server is shutting down
          delete this;
          return;
        }
        new CallData(service_, cq_, handlers_, max_message_size_);  // keep accepting meanwhile
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
    GrpcCompression compression;
    std::string raw = RawMessage(&request_, &compression);
    request_.Clear();
    auto message = DecodeGrpcMessage(compression, std::move(raw), max_message_size_);
    if (!message.ok()) {
      stream_.Finish(
          grpc::Status(ToGrpc(message.status().code()), std::string(message.status().message())),
          this);
      return;
    }
    Call call(&ctx_, std::move(*message));
    GrpcReply reply = it->second(call);
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
  size_t max_message_size_;
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
    std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
    if (options.tls.has_value()) {
      ASSIGN_OR_RETURN(credentials, ServerCredentials(*options.tls));
    }
    max_message_size_ = static_cast<size_t>(std::max<int64_t>(0, options.max_recv_msg_size));
    grpc::ServerBuilder builder;
    int selected_port = 0;
    builder.AddListeningPort(address, credentials, &selected_port);
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    // gRPC inflates compressed messages without an output limit; we decompress ourselves.
    builder.AddChannelArgument(GRPC_ARG_ENABLE_PER_MESSAGE_DECOMPRESSION, 0);
    // gRPC's own limit, on the message as received, is an int; beyond it (2 GiB and more) only
    // the HTTP/2 framing (4 GiB) and our check after decompression remain.
    builder.SetMaxReceiveMessageSize(
        options.max_recv_msg_size <= INT_MAX ? static_cast<int>(options.max_recv_msg_size) : -1);
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
      new CallData(&service_, cq.get(), &handlers_, max_message_size_);
      absl::StatusOr<std::thread> thread = StartThread([tq = thread_queue.get()] {
        internal::CurrentThreadQueue() = tq;
        internal::RunQueue(tq->cq);
        internal::CurrentThreadQueue() = nullptr;
      });
      thread_queues_.push_back(std::move(thread_queue));
      if (!thread.ok()) {
        // Shutdown drains the queues that have no thread yet.
        Shutdown(absl::Now());
        return absl::Status(thread.status().code(),
                            absl::StrCat("grpc server: ", thread.status().message()));
      }
      threads_.push_back(std::move(*thread));
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
    // Queues whose thread never started (Start failed, or was never called) are drained here.
    for (size_t i = threads_.size(); i < cqs_.size(); ++i) internal::RunQueue(cqs_[i].get());
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
  size_t max_message_size_ = 0;
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

absl::Status CheckGrpcServerTls(const TlsServerSettings& tls) {
  // The protocol's version numbers: 0x0303 is TLS 1.2, 0x0304 TLS 1.3.
  auto min = ParseTlsVersion(tls.min_version, 0x0303);
  if (min.ok() && *min > 0x0303) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tls::min_version \"", tls.min_version,
        "\" is not supported by sprout's gRPC server: gRPC 1.51 always offers TLS 1.2 and 1.3 "
        "(leave it empty or at \"1.2\" or lower)"));
  }
  auto max = ParseTlsVersion(tls.max_version, 0);
  if (max.ok() && *max != 0 && *max < 0x0304) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tls::max_version \"", tls.max_version,
        "\" is not supported by sprout's gRPC server: gRPC 1.51 always offers TLS 1.2 and 1.3 "
        "(leave it empty or at \"1.3\")"));
  }
  if (!tls.cipher_suites.empty()) {
    return absl::InvalidArgumentError(
        "tls::cipher_suites is not supported by sprout's gRPC server: gRPC 1.51 has no "
        "per-server cipher suite setting (it uses OpenSSL's secure defaults)");
  }
  if (tls.client_ca_file_reload && !tls.client_ca_file.empty() &&
      (!tls.cert_pem.empty() || !tls.key_pem.empty())) {
    return absl::InvalidArgumentError(
        "tls::client_ca_file_reload needs cert_file and key_file (not cert_pem/key_pem) on "
        "sprout's gRPC server");
  }
  return absl::OkStatus();
}

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
  InstallGrpcLogFilter();
  auto server = std::make_unique<GrpcServerImpl>(std::move(handlers));
  RETURN_IF_ERROR(server->Start(options, address, threads));
  return std::unique_ptr<GrpcServer>(std::move(server));
}

}  // namespace sprout::net
