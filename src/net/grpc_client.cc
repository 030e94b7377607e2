#include "net/grpc_client.h"

#include <fstream>
#include <sstream>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "google/rpc/status.pb.h"

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

class GrpcClientImpl : public GrpcClient {
 public:
  GrpcClientImpl(std::shared_ptr<grpc::Channel> channel, const GrpcClientOptions& options)
      : channel_(std::move(channel)), stub_(channel_), options_(options) {
    if (options.compression == "gzip") compression_ = GRPC_COMPRESS_GZIP;
    else if (options.compression == "deflate") compression_ = GRPC_COMPRESS_DEFLATE;
  }

  GrpcCallResult Call(const std::string& method, const google::protobuf::Message& request,
                      absl::Duration timeout) override {
    grpc::ClientContext context;
    if (timeout > absl::ZeroDuration()) {
      context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    }
    context.set_compression_algorithm(compression_);
    context.set_wait_for_ready(options_.wait_for_ready);
    for (const auto& [k, v] : options_.headers) context.AddMetadata(k, v);

    grpc::ByteBuffer request_buffer;
    bool own_buffer = false;
    grpc::Status serialize_status = grpc::SerializationTraits<google::protobuf::Message>::Serialize(
        request, &request_buffer, &own_buffer);
    GrpcCallResult result;
    if (!serialize_status.ok()) {
      result.code = absl::StatusCode::kInternal;
      result.message = serialize_status.error_message();
      return result;
    }
    grpc::ByteBuffer response_buffer;
    absl::Notification done;
    grpc::Status status;
    stub_.UnaryCall(&context, method, grpc::StubOptions(), &request_buffer, &response_buffer,
                    [&](grpc::Status s) {
                      status = std::move(s);
                      done.Notify();
                    });
    done.WaitForNotification();
    result.code = static_cast<absl::StatusCode>(status.error_code());
    result.message = status.error_message();
    if (status.ok()) {
      std::vector<grpc::Slice> slices;
      if (response_buffer.Dump(&slices).ok()) {
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

 private:
  std::shared_ptr<grpc::Channel> channel_;
  grpc::GenericStub stub_;
  GrpcClientOptions options_;
  grpc_compression_algorithm compression_ = GRPC_COMPRESS_NONE;
};

}  // namespace

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
