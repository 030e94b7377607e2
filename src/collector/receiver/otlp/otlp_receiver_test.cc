#include "collector/receiver/otlp/otlp_receiver.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "collector/components.h"
#include "collector/processor/processor_testing.h"
#include "collector/receiver/otlp/config.h"
#include "collector/service_config.h"
#include "google/rpc/status.pb.h"
#include "net/compression.h"
#include "net/grpc_client.h"
#include "net/http_client.h"
#include "net/test_certs.h"
#include "otlp/consumer_error.h"
#include "yaml-cpp/yaml.h"

namespace sprout::collector::otlpreceiver {
namespace {

using namespace ::sprout::collector::testing;  // NOLINT
using otlp::SignalTraits;

constexpr char kTracesMethod[] = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
constexpr char kMetricsMethod[] = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

std::string Validate(const std::string& yaml) {
  auto factory = NewFactory();
  auto config = DecodeConfig(*factory, yaml);
  return config.ok() ? "" : std::string(config.status().message());
}

// --- configuration ---

TEST(OtlpReceiverConfigTest, TestdataConfigHasEveryKey) {
  auto root = YAML::LoadFile("src/collector/receiver/otlp/testdata/config.yaml");
  auto service = DecodeServiceConfig(root, BuiltinFactories());
  ASSERT_TRUE(service.ok()) << service.status();

  const ComponentEntry* defaults = service->Find(Kind::kReceiver, *ComponentID::Parse("otlp"));
  ASSERT_NE(defaults, nullptr);
  const auto& d = static_cast<const Config&>(*defaults->config);
  EXPECT_TRUE(d.grpc.enabled);
  EXPECT_EQ(d.grpc.endpoint, "localhost:4317");
  EXPECT_EQ(d.grpc.max_recv_msg_size_mib, 0);
  EXPECT_EQ(d.grpc.MaxRecvMsgSizeBytes(), 4 << 20);
  EXPECT_EQ(d.grpc.read_buffer_size, 512 * 1024);
  EXPECT_EQ(d.grpc.write_buffer_size, 0);
  EXPECT_EQ(d.grpc.max_concurrent_streams, 0);
  EXPECT_FALSE(d.grpc.include_metadata);
  EXPECT_FALSE(d.grpc.tls.has_value());
  EXPECT_TRUE(d.http.enabled);
  EXPECT_EQ(d.http.endpoint, "localhost:4318");
  EXPECT_EQ(d.http.max_request_body_size, 20 << 20);
  EXPECT_EQ(d.http.traces_url_path, "/v1/traces");

  const ComponentEntry* custom = service->Find(Kind::kReceiver, *ComponentID::Parse("otlp/custom"));
  ASSERT_NE(custom, nullptr);
  const auto& c = static_cast<const Config&>(*custom->config);
  EXPECT_EQ(c.grpc.endpoint, "0.0.0.0:14317");
  EXPECT_EQ(c.grpc.max_recv_msg_size_mib, 32);
  EXPECT_EQ(c.grpc.MaxRecvMsgSizeBytes(), int64_t{32} << 20);
  EXPECT_EQ(c.grpc.read_buffer_size, 1048576);
  EXPECT_EQ(c.grpc.write_buffer_size, 65536);
  EXPECT_EQ(c.grpc.max_concurrent_streams, 16);
  EXPECT_TRUE(c.grpc.include_metadata);
  ASSERT_TRUE(c.grpc.tls.has_value());
  EXPECT_EQ(c.grpc.tls->cert_file, "/etc/sprout/server.crt");
  EXPECT_EQ(c.grpc.tls->key_file, "/etc/sprout/server.key");
  EXPECT_EQ(c.grpc.tls->client_ca_file, "/etc/sprout/ca.crt");
  EXPECT_TRUE(c.grpc.tls->client_ca_file_reload);
  EXPECT_EQ(c.grpc.tls->min_version, "1.2");
  EXPECT_EQ(c.grpc.tls->max_version, "1.3");
  EXPECT_EQ(c.grpc.tls->reload_interval, absl::Hours(1));
  EXPECT_EQ(c.http.endpoint, "0.0.0.0:14318");
  EXPECT_EQ(c.http.max_request_body_size, 1048576);
  EXPECT_EQ(c.http.traces_url_path, "/custom/traces");
  EXPECT_EQ(c.http.metrics_url_path, "/custom/metrics");  // leading slash added
  EXPECT_EQ(c.http.logs_url_path, "/custom/logs");
  EXPECT_TRUE(c.http.include_metadata);
  EXPECT_EQ(c.http.compression_algorithms, (std::vector<std::string>{"gzip", "zstd"}));
  EXPECT_TRUE(c.http.cors.enabled());
  EXPECT_EQ(c.http.cors.allowed_origins, std::vector<std::string>{"https://*.example.com"});
  EXPECT_EQ(c.http.cors.allowed_headers, std::vector<std::string>{"X-Custom"});
  EXPECT_EQ(c.http.cors.max_age, 7200);
  EXPECT_EQ(c.http.response_headers.at("X-Served-By"), "sprout");
}

TEST(OtlpReceiverConfigTest, TheCollectorsValidation) {
  EXPECT_EQ(Validate("protocols: {}"),
            "must specify at least one protocol when using the OTLP receiver");
  EXPECT_EQ(Validate("protocols: {grpc: {max_recv_msg_size_mib: -1}}"),
            "invalid max_recv_msg_size_mib value, must be between 1 and 8796093022207: -1");
  // The size in bytes must fit a 64-bit int, as in configgrpc.
  EXPECT_EQ(Validate("protocols: {grpc: {max_recv_msg_size_mib: 8796093022208}}"),
            "invalid max_recv_msg_size_mib value, must be between 1 and 8796093022207: "
            "8796093022208");
  EXPECT_EQ(Validate("protocols: {grpc: {max_recv_msg_size_mib: 8796093022207}}"), "");
  EXPECT_EQ(Validate("protocols: {grpc: {read_buffer_size: -1}}"),
            "invalid read_buffer_size value: -1");
  EXPECT_EQ(Validate("protocols: {grpc: {write_buffer_size: -1}}"),
            "invalid write_buffer_size value: -1");
  EXPECT_EQ(Validate("protocols: {grpc: {max_concurrent_streams: -1}}"),
            "invalid max_concurrent_streams value, must be between 0 and 4294967295: -1");
  // As confighttp: a body limit of 0 or less means the default (20 MiB), not an error.
  EXPECT_EQ(Validate("protocols: {http: {max_request_body_size: -1}}"), "");
  EXPECT_EQ(Validate("protocols: {grpc: {transport: udp}}"),
            "'processors::otlp::protocols::grpc::transport' only \"tcp\" is supported");
}

TEST(OtlpReceiverConfigTest, GrpcTlsIsDecodedAndCheckedForWhatGrpcCanDo) {
  EXPECT_EQ(Validate("protocols: {grpc: {tls: {cert_file: c, key_file: k}}}"), "");
  EXPECT_EQ(Validate("protocols: {grpc: {tls: {cert_file: c}}}"),
            "'processors::otlp::protocols::grpc::tls' TLS configuration must include both "
            "certificate and key (CertFile/CertPem and KeyFile/KeyPem)");
  EXPECT_NE(Validate("protocols: {grpc: {tls: {cert_file: c, key_file: k, min_version: '1.3'}}}")
                .find("tls::min_version \"1.3\" is not supported by sprout's gRPC server"),
            std::string::npos);
  EXPECT_NE(Validate("protocols: {grpc: {tls: {cert_file: c, key_file: k, cipher_suites: "
                     "[TLS_AES_128_GCM_SHA256]}}}")
                .find("tls::cipher_suites is not supported by sprout's gRPC server"),
            std::string::npos);
  EXPECT_NE(Validate("protocols: {grpc: {keepalive: {}}}").find("is not supported"),
            std::string::npos);
}

// --- a running receiver ---

struct Receiver {
  std::shared_ptr<Capture<Signal::kTraces>> traces = std::make_shared<Capture<Signal::kTraces>>();
  std::shared_ptr<Capture<Signal::kLogs>> logs = std::make_shared<Capture<Signal::kLogs>>();
  MetricsRegistry metrics;
  std::unique_ptr<ComponentConfig> config;
  std::unique_ptr<Component> component;
  ListeningPorts ports;

  // `protocols_yaml`: the body of `protocols:`; endpoints default to 127.0.0.1:0. Metrics have
  // no pipeline.
  explicit Receiver(const std::string& grpc_yaml = "{}", const std::string& http_yaml = "{}") {
    auto factory = NewFactory();
    auto decoded =
        DecodeConfig(*factory, absl::StrCat("protocols:\n  grpc: ", WithEndpoint(grpc_yaml),
                                            "\n  http: ", WithEndpoint(http_yaml), "\n"));
    EXPECT_TRUE(decoded.ok()) << decoded.status();
    config = std::move(*decoded);
    CreateSettings settings{*ComponentID::Parse("otlp"), {}};
    settings.telemetry.metrics = &metrics;
    component = std::move(*factory->CreateReceiver(settings, *config, {traces, nullptr, logs}));
    NoHost host;
    absl::Status started = component->Start(host);
    EXPECT_TRUE(started.ok()) << started;
    ports = PortsOf(*component);
  }
  ~Receiver() { EXPECT_TRUE(component->Shutdown(absl::Now() + absl::Seconds(5)).ok()); }

  static std::string WithEndpoint(const std::string& flow_map) {
    if (flow_map.find("endpoint") != std::string::npos) return flow_map;
    return flow_map == "{}" ? "{endpoint: \"127.0.0.1:0\"}"
                            : absl::StrCat("{endpoint: \"127.0.0.1:0\", ", flow_map.substr(1));
  }

  std::unique_ptr<net::GrpcClient> GrpcClient(const std::string& compression = "") const {
    net::GrpcClientOptions options;
    options.target = absl::StrCat("127.0.0.1:", ports.grpc);
    options.tls = false;
    options.compression = compression;
    options.headers = {{"x-tenant", "acme"}};
    return std::move(*net::GrpcClient::Create(options));
  }

  net::HttpClientResponse Post(const std::string& path, const std::string& body,
                               std::vector<std::pair<std::string, std::string>> headers = {
                                   {"Content-Type", "application/x-protobuf"}}) const {
    auto client = *net::HttpClient::Create({});
    return client->Do("POST", absl::StrCat("http://127.0.0.1:", ports.http, path), headers, body,
                      absl::Seconds(30));
  }
};

std::string TraceRequest(int spans) { return WireSpans(spans).request().SerializeAsString(); }

google::rpc::Status StatusBody(const net::HttpClientResponse& response) {
  google::rpc::Status status;
  EXPECT_TRUE(status.ParseFromString(response.body)) << response.body;
  return status;
}

TEST(OtlpReceiverGrpcTest, DeliversRequestsAndAnswersEmptyResponses) {
  Receiver r;
  net::GrpcCallResult result =
      r.GrpcClient()->CallSerialized(kTracesMethod, TraceRequest(3), absl::Seconds(10));
  EXPECT_EQ(result.code, absl::StatusCode::kOk) << result.message;
  EXPECT_EQ(result.response, "");
  EXPECT_EQ(r.traces->items(), 3);
  const std::vector<Context> contexts = r.traces->contexts();
  ASSERT_EQ(contexts.size(), 1u);
  EXPECT_EQ(contexts[0].transport, "grpc");
  EXPECT_TRUE(contexts[0].metadata.empty());  // include_metadata is off
}

TEST(OtlpReceiverGrpcTest, EmptyRequestsSucceedWithoutReachingThePipeline) {
  Receiver r;
  otlp::TracesBatch empty;
  empty.mutable_request()->add_resource_spans()->add_scope_spans();
  for (const std::string& request : {std::string(), empty.request().SerializeAsString()}) {
    net::GrpcCallResult result =
        r.GrpcClient()->CallSerialized(kTracesMethod, request, absl::Seconds(10));
    EXPECT_EQ(result.code, absl::StatusCode::kOk) << result.message;
  }
  EXPECT_TRUE(r.traces->batches().empty());
}

TEST(OtlpReceiverGrpcTest, ASignalWithoutAPipelineIsUnimplemented) {
  Receiver r;
  net::GrpcCallResult result =
      r.GrpcClient()->CallSerialized(kMetricsMethod, "", absl::Seconds(10));
  EXPECT_EQ(result.code, absl::StatusCode::kUnimplemented);
  EXPECT_EQ(result.message, absl::StrCat("unknown method ", kMetricsMethod));
}

TEST(OtlpReceiverGrpcTest, UndecodableRequestsAreInternal) {
  Receiver r;
  net::GrpcCallResult result =
      r.GrpcClient()->CallSerialized(kTracesMethod, "\x0a\xff\xff", absl::Seconds(10));
  EXPECT_EQ(result.code, absl::StatusCode::kInternal);
  EXPECT_EQ(result.message.rfind("grpc: error unmarshalling request: ", 0), 0u) << result.message;
  EXPECT_TRUE(r.traces->batches().empty());
}

TEST(OtlpReceiverGrpcTest, PipelineErrorsMapToTheCollectorsCodes) {
  Receiver r;
  auto client = r.GrpcClient();
  auto call = [&] {
    return client->CallSerialized(kTracesMethod, TraceRequest(1), absl::Seconds(10));
  };
  r.traces->set_status(absl::UnknownError("downstream busy"));  // retryable
  net::GrpcCallResult result = call();
  EXPECT_EQ(result.code, absl::StatusCode::kUnavailable);
  EXPECT_EQ(result.message, "downstream busy");
  EXPECT_FALSE(result.retry_delay.has_value());
  r.traces->set_status(otlp::MarkPermanent(absl::UnknownError("bad data")));
  EXPECT_EQ(call().code, absl::StatusCode::kInternal);
  r.traces->set_status(
      otlp::WithRetryDelay(absl::ResourceExhaustedError("slow down"), absl::Seconds(3)));
  result = call();
  EXPECT_EQ(result.code, absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(result.retry_delay.has_value());
  EXPECT_EQ(*result.retry_delay, absl::Seconds(3));
}

TEST(OtlpReceiverGrpcTest, IncludeMetadataPassesClientMetadataAlong) {
  Receiver r("{include_metadata: true}");
  ASSERT_EQ(r.GrpcClient()->CallSerialized(kTracesMethod, TraceRequest(1), absl::Seconds(10)).code,
            absl::StatusCode::kOk);
  const std::vector<Context> contexts = r.traces->contexts();
  ASSERT_EQ(contexts.size(), 1u);
  bool found = false;
  for (const auto& [k, v] : contexts[0].metadata) found |= k == "x-tenant" && v == "acme";
  EXPECT_TRUE(found);
}

TEST(OtlpReceiverGrpcTest, CompressedRequestsAreDecodedWithZstdAndSnappyToo) {
  Receiver r;
  EXPECT_EQ(
      r.GrpcClient("gzip")->CallSerialized(kTracesMethod, TraceRequest(2), absl::Seconds(10)).code,
      absl::StatusCode::kOk);
  auto plain = r.GrpcClient();
  for (net::Codec codec : {net::Codec::kZstd, net::Codec::kSnappyFramed}) {
    net::GrpcCallResult result = plain->CallSerialized(
        kTracesMethod, *net::Compress(codec, TraceRequest(3)), absl::Seconds(10));
    EXPECT_EQ(result.code, absl::StatusCode::kOk) << net::CodecName(codec) << result.message;
  }
  EXPECT_EQ(r.traces->items(), 2 + 3 + 3);
}

// A compressed body can never take the receiver past max_recv_msg_size (and so past the
// memory_limiter, which only sees what reaches the pipeline).
TEST(OtlpReceiverGrpcTest, ADecompressionBombIsRefusedWithResourceExhausted) {
  Receiver r("{max_recv_msg_size_mib: 1}");
  net::GrpcCallResult result = r.GrpcClient("gzip")->CallSerialized(
      kTracesMethod, std::string(64 << 20, '\0'), absl::Seconds(30));
  EXPECT_EQ(result.code, absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(result.message, "grpc: received message after decompression larger than max 1048576");
  EXPECT_TRUE(r.traces->batches().empty());
}

// static_cast<int>(mib << 20) wrapped: 4096 MiB became a limit of 0 bytes, refusing everything
// (and 2048 MiB a negative one).
TEST(OtlpReceiverGrpcTest, MaxRecvMsgSizeOf2GiBAndMoreDoesNotOverflow) {
  for (const char* mib : {"2048", "4096", "8796093022207"}) {
    Receiver r(absl::StrCat("{max_recv_msg_size_mib: ", mib, "}"));
    net::GrpcCallResult result =
        r.GrpcClient()->CallSerialized(kTracesMethod, TraceRequest(2), absl::Seconds(10));
    EXPECT_EQ(result.code, absl::StatusCode::kOk) << mib << ": " << result.message;
    EXPECT_EQ(r.traces->items(), 2) << mib;
  }
}

TEST(OtlpReceiverGrpcTest, TlsFromTheConfig) {
  net::testing::TempDir dir;
  net::testing::TestCa ca("receiver test CA");
  net::testing::TestKeyPair server = ca.Issue("localhost");
  net::testing::WriteFileOrDie(dir.File("server.pem"), server.cert_pem);
  net::testing::WriteFileOrDie(dir.File("server.key"), server.key_pem);
  net::testing::WriteFileOrDie(dir.File("ca.pem"), ca.ca().cert_pem);
  Receiver r(absl::StrCat("{tls: {cert_file: \"", dir.File("server.pem"), "\", key_file: \"",
                          dir.File("server.key"), "\"}}"));
  net::GrpcClientOptions options;
  options.target = absl::StrCat("localhost:", r.ports.grpc);
  options.ca_file = dir.File("ca.pem");
  auto client = *net::GrpcClient::Create(options);
  net::GrpcCallResult result =
      client->CallSerialized(kTracesMethod, TraceRequest(4), absl::Seconds(10));
  EXPECT_EQ(result.code, absl::StatusCode::kOk) << result.message;
  EXPECT_EQ(r.traces->items(), 4);
  // Plaintext is refused.
  EXPECT_EQ(r.GrpcClient()->CallSerialized(kTracesMethod, TraceRequest(1), absl::Seconds(10)).code,
            absl::StatusCode::kUnavailable);
}

// --- HTTP (the same pipeline-error table, as HTTP codes) ---

TEST(OtlpReceiverHttpTest, PipelineErrorsMapToTheCollectorsHttpCodes) {
  Receiver r;
  r.traces->set_status(absl::UnknownError("downstream busy"));
  net::HttpClientResponse response = r.Post("/v1/traces", TraceRequest(1));
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.Header("retry-after"), "");
  EXPECT_EQ(StatusBody(response).code(), static_cast<int>(absl::StatusCode::kUnavailable));
  EXPECT_EQ(StatusBody(response).message(), "downstream busy");

  r.traces->set_status(
      otlp::WithRetryDelay(absl::UnknownError("downstream busy"), absl::Seconds(7)));
  response = r.Post("/v1/traces", TraceRequest(1));
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.Header("retry-after"), "7");

  r.traces->set_status(
      otlp::WithRetryDelay(absl::ResourceExhaustedError("slow down"), absl::Seconds(2)));
  response = r.Post("/v1/traces", TraceRequest(1));
  EXPECT_EQ(response.status, 429);
  EXPECT_EQ(response.Header("retry-after"), "2");

  r.traces->set_status(otlp::MarkPermanent(absl::UnknownError("bad data")));
  EXPECT_EQ(r.Post("/v1/traces", TraceRequest(1)).status, 500);
  r.traces->set_status(absl::InvalidArgumentError("nope"));
  EXPECT_EQ(r.Post("/v1/traces", TraceRequest(1)).status, 400);
  r.traces->set_status(absl::PermissionDeniedError("nope"));
  EXPECT_EQ(r.Post("/v1/traces", TraceRequest(1)).status, 403);
}

TEST(OtlpReceiverHttpTest, EmptyRequestsSucceedWithoutReachingThePipeline) {
  Receiver r;
  net::HttpClientResponse response = r.Post("/v1/traces", "");
  EXPECT_EQ(response.status, 200);
  response = r.Post("/v1/traces", "{}", {{"Content-Type", "application/json"}});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "{}");
  EXPECT_TRUE(r.traces->batches().empty());
  // A signal without a pipeline.
  EXPECT_EQ(r.Post("/v1/metrics", "").status, 404);
}

// confighttp reads the decompressed body through http.MaxBytesReader: over the limit, the
// otlp receiver answers 400 with the reader's error.
TEST(OtlpReceiverHttpTest, ADecompressionBombIsRefusedWith400) {
  Receiver r("{}", "{max_request_body_size: 1048576}");
  const std::string zeros(64 << 20, '\0');
  for (net::Codec codec : {net::Codec::kGzip, net::Codec::kZlib, net::Codec::kZstd}) {
    net::HttpClientResponse response =
        r.Post("/v1/traces", *net::Compress(codec, zeros),
               {{"Content-Type", "application/x-protobuf"},
                {"Content-Encoding", std::string(net::CodecName(codec))}});
    EXPECT_EQ(response.status, 400) << net::CodecName(codec);
    EXPECT_EQ(StatusBody(response).code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
    EXPECT_EQ(StatusBody(response).message(), "http: request body too large")
        << net::CodecName(codec);
  }
  EXPECT_TRUE(r.traces->batches().empty());
}

}  // namespace
}  // namespace sprout::collector::otlpreceiver
