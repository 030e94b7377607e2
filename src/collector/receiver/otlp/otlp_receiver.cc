#include "collector/receiver/otlp/otlp_receiver.h"

#include <algorithm>
#include <climits>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status.h"
#include "collector/receiver/otlp/config.h"
#include "collector/receiver/otlp/grpc_request.h"
#include "collector/receiver_obs.h"
#include "google/rpc/status.pb.h"
#include "net/compression.h"
#include "net/grpc_server.h"
#include "net/http_server.h"
#include "otlp/consumer_error.h"
#include "otlp/json.h"

namespace sprout::collector::otlpreceiver {
namespace {

constexpr char kJson[] = "application/json";
constexpr char kProtobuf[] = "application/x-protobuf";

enum class Encoding { kUnknown, kJson, kProtobuf };

// The media type without parameters, lower-cased ("application/json; charset=utf-8" → json).
Encoding EncodingOf(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(AV(media)));
  if (lower == kJson) return Encoding::kJson;
  if (lower == kProtobuf) return Encoding::kProtobuf;
  return Encoding::kUnknown;
}

// Writes a google.rpc.Status body in the request's encoding; when that encoding is unknown the
// Collector answers 500 with a fixed JSON body.
void WriteStatus(net::HttpResponse& response, Encoding encoding, int http_status,
                 absl::StatusCode code, std::string_view message,
                 std::optional<absl::Duration> retry_delay) {
  if (encoding == Encoding::kUnknown) {
    response.status = 500;
    response.SetHeader("Content-Type", kJson);
    response.body = R"({"code": 13, "message": "failed to marshal error message"})";
    return;
  }
  google::rpc::Status status;
  status.ParseFromString(net::EncodeRpcStatus(code, message, retry_delay));
  response.status = http_status;
  if (encoding == Encoding::kJson) {
    response.SetHeader("Content-Type", kJson);
    response.body = otlp::ToJson(status);
  } else {
    response.SetHeader("Content-Type", kProtobuf);
    response.body = status.SerializeAsString();
  }
  if (retry_delay.has_value() && (http_status == 429 || http_status == 503)) {
    response.SetHeader("Retry-After",
                       std::to_string(static_cast<int64_t>(absl::ToDoubleSeconds(*retry_delay))));
  }
}

class OtlpReceiver : public Component {
 public:
  OtlpReceiver(const CreateSettings& settings, const Config& config, ReceiverConsumers next)
      : settings_(settings),
        config_(config),
        next_(std::move(next)),
        grpc_obs_(settings.telemetry.metrics, settings.id, "grpc"),
        http_obs_(settings.telemetry.metrics, settings.id, "http") {}

  absl::Status Start(Host&) override {
    if (config_.grpc.enabled) RETURN_IF_ERROR(StartGrpc());
    if (config_.http.enabled) {
      absl::Status status = StartHttp();
      if (!status.ok()) {
        if (grpc_server_ != nullptr) grpc_server_->Shutdown(absl::Now());
        return status;
      }
    }
    return absl::OkStatus();
  }

  absl::Status Shutdown(absl::Time deadline) override {
    // In-flight requests finish (their data enters the pipeline and is acknowledged) before
    // the servers close.
    if (http_server_ != nullptr) {
      http_server_->Shutdown(std::max(absl::ZeroDuration(), deadline - absl::Now()));
    }
    if (grpc_server_ != nullptr) grpc_server_->Shutdown(deadline);
    return absl::OkStatus();
  }

  ListeningPorts ports() const {
    return {grpc_server_ != nullptr ? grpc_server_->port() : 0,
            http_server_ != nullptr ? http_server_->port() : 0};
  }

 private:
  template <Signal S>
  std::shared_ptr<Consumer<S>> ConsumerFor() const {
    if constexpr (S == Signal::kTraces) return next_.traces;
    if constexpr (S == Signal::kMetrics) return next_.metrics;
    if constexpr (S == Signal::kLogs) return next_.logs;
  }

  // Feeds the pipeline; empty requests succeed without touching it.
  template <Signal S>
  absl::Status Deliver(Context context, otlp::Batch<S> batch, ReceiverObs& obs) {
    const int64_t items = batch.item_count();
    if (items == 0) return absl::OkStatus();
    absl::Status status = ConsumerFor<S>()->Consume(context, std::move(batch));
    obs.Record(S, items, status);
    return status;
  }

  template <Signal S>
  net::GrpcReply HandleGrpc(net::GrpcUnaryCall& call) {
    net::GrpcReply reply;
    // The bytes are validated and kept; they are decoded only if a component needs them.
    auto batch = ParseGrpcRequest<S>(call.RequestBytes());
    if (!batch.ok()) {
      reply.code = batch.status().code();
      reply.message = std::string(batch.status().message());
      return reply;
    }
    Context context;
    context.transport = "grpc";
    if (config_.grpc.include_metadata) {
      context.metadata = FilterMetadata(call.Metadata(), config_.grpc.include_sensitive_metadata);
    }
    absl::Status status = Deliver<S>(std::move(context), std::move(*batch), grpc_obs_);
    if (!status.ok()) {
      reply.code = otlp::ReceiverCode(status);
      reply.message = std::string(status.message());
      reply.retry_delay = otlp::RetryDelay(status);
    }
    return reply;  // an empty Export*ServiceResponse serializes to no bytes
  }

  absl::Status StartGrpc() {
    net::GrpcServerOptions options;
    options.endpoint = config_.grpc.endpoint;
    options.max_recv_msg_size = config_.grpc.MaxRecvMsgSizeBytes();
    // gRPC takes these as ints; larger values mean "as large as possible".
    auto clamp = [](int64_t v) { return static_cast<int>(std::min<int64_t>(v, INT_MAX)); };
    options.read_buffer_size = clamp(config_.grpc.read_buffer_size);
    options.write_buffer_size = clamp(config_.grpc.write_buffer_size);
    options.max_concurrent_streams = clamp(config_.grpc.max_concurrent_streams);
    options.tls = config_.grpc.tls;
    std::map<std::string, net::GrpcUnaryHandler> handlers;
    if (next_.traces) {
      handlers[otlp::SignalTraits<Signal::kTraces>::kGrpcMethod] =
          [this](net::GrpcUnaryCall& call) { return HandleGrpc<Signal::kTraces>(call); };
    }
    if (next_.metrics) {
      handlers[otlp::SignalTraits<Signal::kMetrics>::kGrpcMethod] =
          [this](net::GrpcUnaryCall& call) { return HandleGrpc<Signal::kMetrics>(call); };
    }
    if (next_.logs) {
      handlers[otlp::SignalTraits<Signal::kLogs>::kGrpcMethod] = [this](net::GrpcUnaryCall& call) {
        return HandleGrpc<Signal::kLogs>(call);
      };
    }
    ASSIGN_OR_RETURN(grpc_server_, net::GrpcServer::Start(options, std::move(handlers)));
    settings_.telemetry.logger.Info("Starting GRPC server", {{"endpoint", config_.grpc.endpoint}});
    return absl::OkStatus();
  }

  template <Signal S>
  void HandleHttpExport(net::HttpRequest& request, net::HttpResponse& response) {
    const Encoding encoding = EncodingOf(request.Header("content-type"));
    // Decompression comes first, as in the Collector's HTTP middleware.
    const std::string_view content_encoding = request.Header("content-encoding");
    auto codec = net::ParseContentEncoding(content_encoding);
    // As confighttp: an empty compression_algorithms list turns decompression off (bodies pass
    // as they are); otherwise uncompressed bodies too need "" in the list.
    if (config_.http.compression_algorithms.empty()) codec = net::Codec::kIdentity;
    const bool allowed = codec.has_value() && allowed_codecs_.contains(*codec);
    if (!allowed) {
      WriteStatus(response, encoding, 400, absl::StatusCode::kInvalidArgument,
                  absl::StrCat("unsupported Content-Encoding: ", AV(content_encoding)),
                  std::nullopt);
      return;
    }
    if (request.method != "POST") {
      response.status = 405;
      response.SetHeader("Content-Type", "text/plain");
      response.body = "405 method not allowed, supported: [POST]";
      return;
    }
    if (encoding == Encoding::kUnknown) {
      response.status = 415;
      response.SetHeader("Content-Type", "text/plain");
      response.body =
          "415 unsupported media type, supported: [application/json, application/x-protobuf]";
      return;
    }
    if (request.body_too_large) {
      WriteStatus(response, encoding, 400, absl::StatusCode::kInvalidArgument,
                  "http: request body too large", std::nullopt);
      return;
    }
    std::string decompressed;
    std::string_view body = request.body;
    if (*codec != net::Codec::kIdentity) {
      auto result = net::Decompress(*codec, request.body,
                                    static_cast<size_t>(config_.http.max_request_body_size));
      if (!result.ok()) {
        // Over the limit once decompressed: what Go's MaxBytesReader says in the Collector.
        const bool too_large = result.status().code() == absl::StatusCode::kResourceExhausted;
        WriteStatus(response, encoding, 400, absl::StatusCode::kInvalidArgument,
                    too_large ? "http: request body too large" : SV(result.status().message()),
                    std::nullopt);
        return;
      }
      decompressed = std::move(*result);
      body = decompressed;
    }
    otlp::Batch<S> batch;
    if (encoding == Encoding::kJson) {
      absl::Status parsed = otlp::ParseJson(body, batch.mutable_request());
      if (parsed.ok()) parsed = otlp::ValidateIds(batch.request());
      if (!parsed.ok()) {
        WriteStatus(response, encoding, 400, absl::StatusCode::kInvalidArgument,
                    SV(parsed.message()), std::nullopt);
        return;
      }
    } else {
      // The body moves into the batch: no copy of the request on the hot path.
      auto parsed = otlp::Batch<S>::Parse(
          *codec == net::Codec::kIdentity ? std::move(request.body) : std::move(decompressed));
      if (!parsed.ok()) {
        WriteStatus(response, encoding, 400, absl::StatusCode::kInvalidArgument,
                    SV(parsed.status().message()), std::nullopt);
        return;
      }
      batch = std::move(*parsed);
    }
    Context context;
    context.transport = "http";
    if (config_.http.include_metadata) {
      context.metadata =
          FilterMetadata(std::move(request.headers), config_.http.include_sensitive_metadata);
    }
    absl::Status status = Deliver<S>(std::move(context), std::move(batch), http_obs_);
    if (!status.ok()) {
      const absl::StatusCode code = otlp::ReceiverCode(status);
      WriteStatus(response, encoding, otlp::HttpStatusFromCode(code), code, SV(status.message()),
                  otlp::RetryDelay(status));
      return;
    }
    typename otlp::SignalTraits<S>::Response empty;
    response.status = 200;
    if (encoding == Encoding::kJson) {
      response.SetHeader("Content-Type", kJson);
      response.body = otlp::ToJson(empty);
    } else {
      response.SetHeader("Content-Type", kProtobuf);
      response.body = empty.SerializeAsString();
    }
  }

  absl::Status StartHttp() {
    for (const std::string& name : config_.http.compression_algorithms) {
      if (auto codec = net::ParseContentEncoding(name); codec.has_value()) {
        allowed_codecs_.insert(*codec);
      }
    }
    if (config_.http.compression_algorithms.empty()) allowed_codecs_.insert(net::Codec::kIdentity);
    // The export paths run inline on the I/O threads: this is the hot path, and the handlers
    // never block for long (the pipeline's queues and the memory limiter answer at once).
    net::Router router;
    net::RouteOptions route;
    route.execution = net::RouteExecution::kInline;
    auto add = [&](const std::string& path, net::HttpHandler handler) -> absl::Status {
      // Any method: the handler answers the Collector's 405 text for non-POST requests.
      return router.Handle("", path, std::move(handler), route);
    };
    if (next_.traces) {
      RETURN_IF_ERROR(add(config_.http.traces_url_path,
                          [this](net::HttpRequest& request, net::HttpResponse& response) {
                            HandleHttpExport<Signal::kTraces>(request, response);
                          }));
    }
    if (next_.metrics) {
      RETURN_IF_ERROR(add(config_.http.metrics_url_path,
                          [this](net::HttpRequest& request, net::HttpResponse& response) {
                            HandleHttpExport<Signal::kMetrics>(request, response);
                          }));
    }
    if (next_.logs) {
      RETURN_IF_ERROR(add(config_.http.logs_url_path,
                          [this](net::HttpRequest& request, net::HttpResponse& response) {
                            HandleHttpExport<Signal::kLogs>(request, response);
                          }));
    }
    AddHttpServerMiddleware(config_.http, "POST", &router);
    const int threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
    ASSIGN_OR_RETURN(
        http_server_,
        net::HttpServer::Start(ToHttpServerOptions(config_.http, threads), std::move(router)));
    settings_.telemetry.logger.Info("Starting HTTP server", {{"endpoint", config_.http.endpoint}});
    return absl::OkStatus();
  }

  CreateSettings settings_;
  Config config_;
  ReceiverConsumers next_;
  ReceiverObs grpc_obs_;
  ReceiverObs http_obs_;
  std::unique_ptr<net::GrpcServer> grpc_server_;
  std::unique_ptr<net::HttpServer> http_server_;
  std::set<net::Codec> allowed_codecs_;  // from compression_algorithms, fixed at Start
};

class Factory : public ReceiverFactory {
 public:
  Factory() : ReceiverFactory("otlp") {}
  std::unique_ptr<ComponentConfig> CreateDefaultConfig() const override {
    return std::make_unique<Config>();
  }
  bool SupportsSignal(Signal) const override { return true; }
  absl::StatusOr<std::unique_ptr<Component>> CreateReceiver(const CreateSettings& settings,
                                                            const ComponentConfig& config,
                                                            ReceiverConsumers next) const override {
    return std::unique_ptr<Component>(
        new OtlpReceiver(settings, static_cast<const Config&>(config), std::move(next)));
  }
};

}  // namespace

std::unique_ptr<ReceiverFactory> NewFactory() { return std::make_unique<Factory>(); }

ListeningPorts PortsOf(const Component& receiver) {
  const auto* otlp = dynamic_cast<const OtlpReceiver*>(&receiver);
  return otlp != nullptr ? otlp->ports() : ListeningPorts{};
}

}  // namespace sprout::collector::otlpreceiver
