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
#include "net/compression.h"
#include "net/grpc_server.h"
#include "net/http_server.h"
#include "otlp/consumer_error.h"
#include "otlp/http_export.h"

namespace sprout::collector::otlpreceiver {
namespace {

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
      reply.message = std::string(SV(batch.status().message()));
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
    otlp::HttpExportBodyOptions options;
    options.allowed_codecs = &allowed_codecs_;
    // As confighttp: an empty compression_algorithms list turns decompression off (bodies pass
    // as they are); otherwise uncompressed bodies too need "" in the list.
    options.decompression_off = config_.http.compression_algorithms.empty();
    options.max_body_size = static_cast<size_t>(config_.http.max_request_body_size);
    std::optional<otlp::HttpExportBody> body = otlp::ReadHttpExportBody(request, response, options);
    if (!body.has_value()) return;
    const otlp::HttpEncoding encoding = body->encoding;
    // A protobuf body moves into the batch: no copy of the request on the hot path.
    auto batch = otlp::ParseHttpExportBody<S>(encoding, std::move(body->body));
    if (!batch.ok()) {
      otlp::WriteHttpStatus(response, encoding, 400, absl::StatusCode::kInvalidArgument,
                            SV(batch.status().message()));
      return;
    }
    Context context;
    context.transport = "http";
    if (config_.http.include_metadata) {
      context.metadata =
          FilterMetadata(std::move(request.headers), config_.http.include_sensitive_metadata);
    }
    absl::Status status = Deliver<S>(std::move(context), std::move(*batch), http_obs_);
    if (!status.ok()) {
      const absl::StatusCode code = otlp::ReceiverCode(status);
      otlp::WriteHttpStatus(response, encoding, otlp::HttpStatusFromCode(code), code,
                            SV(status.message()), otlp::RetryDelay(status));
      return;
    }
    otlp::WriteHttpMessage(response, encoding, typename otlp::SignalTraits<S>::Response());
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
