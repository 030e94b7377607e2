// The otlp receiver's HTTP listener settings (confighttp) and the client metadata it passes
// along the pipeline (include_metadata), over HTTP and gRPC.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "collector/confighttp.h"
#include "collector/receiver/otlp/config.h"
#include "collector/receiver/otlp/otlp_receiver.h"
#include "config/decoder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/grpc_client.h"
#include "net/http_test_util.h"
#include "otlp/signal.h"
#include "yaml-cpp/yaml.h"

namespace sprout::collector::otlpreceiver {
namespace {

using net::test_util::Client;
using ::testing::Contains;
using ::testing::Not;
using ::testing::Pair;
using Metadata = std::vector<std::pair<std::string, std::string>>;

// Records the context of every batch it gets.
class RecordingConsumer : public TracesConsumer {
 public:
  absl::Status Consume(const Context& context, otlp::Batch<Signal::kTraces>) override {
    std::lock_guard<std::mutex> lock(mu_);
    contexts_.push_back(context);
    cv_.notify_all();
    return absl::OkStatus();
  }
  std::optional<Context> WaitForContext(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(10), [&] { return contexts_.size() >= n; })) {
      return std::nullopt;
    }
    return contexts_[n - 1];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Context> contexts_;
};

absl::StatusOr<std::unique_ptr<Config>> Decode(const std::string& yaml) {
  auto config = std::make_unique<Config>();
  config::Decoder decoder(YAML::Load(yaml), "receivers::otlp");
  config->Decode(decoder);
  RETURN_IF_ERROR(decoder.Finish());
  RETURN_IF_ERROR(config->Validate());
  return config;
}

struct Running {
  std::unique_ptr<Component> receiver;
  std::shared_ptr<RecordingConsumer> consumer;
  ListeningPorts ports;
  ~Running() {
    if (receiver != nullptr) (void)receiver->Shutdown(absl::Now() + absl::Seconds(5));
  }
};

class NoHost : public Host {
 public:
  Component* GetExtension(const ComponentID&) const override { return nullptr; }
};

std::unique_ptr<Running> StartReceiver(const std::string& yaml) {
  auto config = Decode(yaml);
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) return nullptr;
  auto running = std::make_unique<Running>();
  running->consumer = std::make_shared<RecordingConsumer>();
  auto created =
      NewFactory()->CreateReceiver(CreateSettings{*ComponentID::Parse("otlp"), {}}, **config,
                                   ReceiverConsumers{running->consumer, {}, {}});
  EXPECT_TRUE(created.ok()) << created.status();
  if (!created.ok()) return nullptr;
  running->receiver = std::move(*created);
  NoHost host;
  absl::Status started = running->receiver->Start(host);
  EXPECT_TRUE(started.ok()) << started;
  if (!started.ok()) return nullptr;
  running->ports = PortsOf(*running->receiver);
  return running;
}

std::string OneSpan() {
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest request;
  auto* span = request.add_resource_spans()->add_scope_spans()->add_spans();
  span->set_name("s");
  span->set_trace_id(std::string(16, '\1'));
  span->set_span_id(std::string(8, '\2'));
  return request.SerializeAsString();
}

std::string PostSpan(const std::string& extra_headers) {
  const std::string body = OneSpan();
  return absl::StrCat("POST /v1/traces HTTP/1.1\r\nHost: collector:4318\r\n",
                      "Content-Type: application/x-protobuf\r\n", extra_headers,
                      "Content-Length: ", body.size(), "\r\n\r\n", body);
}

const char kHttpWithMetadata[] = R"(
protocols:
  http:
    endpoint: 127.0.0.1:0
    include_metadata: true
)";

TEST(OtlpReceiverHttpTest, IncludeMetadataKeepsCredentialsOut) {
  auto r = StartReceiver(kHttpWithMetadata);
  ASSERT_NE(r, nullptr);
  Client client(r->ports.http);
  auto response = client.RoundTrip(
      PostSpan("Authorization: Bearer secret-token\r\nProxy-Authorization: Basic eDp5\r\n"
               "Cookie: session=abc\r\nX-Tenant: team-a\r\n"));
  ASSERT_TRUE(response.has_value());
  ASSERT_EQ(response->status, 200);
  std::optional<Context> context = r->consumer->WaitForContext(1);
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(context->transport, "http");
  EXPECT_THAT(context->metadata, Contains(Pair("x-tenant", "team-a")));
  EXPECT_THAT(context->metadata, Contains(Pair("host", "collector:4318")));
  for (const auto& [key, value] : context->metadata) {
    EXPECT_NE(key, "authorization");
    EXPECT_NE(key, "proxy-authorization");
    EXPECT_NE(key, "cookie");
    EXPECT_EQ(value.find("secret-token"), std::string::npos) << key;
  }
}

TEST(OtlpReceiverHttpTest, IncludeSensitiveMetadataKeepsTheNamedCredentials) {
  auto r = StartReceiver(R"(
protocols:
  http:
    endpoint: 127.0.0.1:0
    include_metadata: true
    include_sensitive_metadata: [Authorization]
)");
  ASSERT_NE(r, nullptr);
  Client client(r->ports.http);
  auto response =
      client.RoundTrip(PostSpan("Authorization: Bearer secret-token\r\nCookie: session=abc\r\n"));
  ASSERT_TRUE(response.has_value());
  ASSERT_EQ(response->status, 200);
  std::optional<Context> context = r->consumer->WaitForContext(1);
  ASSERT_TRUE(context.has_value());
  EXPECT_THAT(context->metadata, Contains(Pair("authorization", "Bearer secret-token")));
  EXPECT_THAT(context->metadata, Not(Contains(Pair("cookie", "session=abc"))));
}

TEST(OtlpReceiverHttpTest, WithoutIncludeMetadataNothingIsPassed) {
  auto r = StartReceiver("protocols: {http: {endpoint: 127.0.0.1:0}}");
  ASSERT_NE(r, nullptr);
  Client client(r->ports.http);
  auto response = client.RoundTrip(PostSpan("X-Tenant: team-a\r\n"));
  ASSERT_TRUE(response.has_value());
  std::optional<Context> context = r->consumer->WaitForContext(1);
  ASSERT_TRUE(context.has_value());
  EXPECT_TRUE(context->metadata.empty());
}

TEST(OtlpReceiverGrpcMetadataTest, IncludeMetadataKeepsCredentialsOut) {
  for (const bool keep : {false, true}) {
    SCOPED_TRACE(keep ? "authorization kept" : "default");
    auto r = StartReceiver(
        absl::StrCat(R"(
protocols:
  grpc:
    endpoint: 127.0.0.1:0
    include_metadata: true
)",
                     keep ? "    include_sensitive_metadata: [authorization]\n" : ""));
    ASSERT_NE(r, nullptr);
    net::GrpcClientOptions options;
    options.target = absl::StrCat("127.0.0.1:", r->ports.grpc);
    options.tls = false;
    options.headers = {{"authorization", "Bearer secret-token"}, {"x-tenant", "team-a"}};
    auto client = net::GrpcClient::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    std::mutex mu;
    std::condition_variable cv;
    std::optional<net::GrpcCallResult> result;
    (*client)->CallSerializedAsync(otlp::SignalTraits<Signal::kTraces>::kGrpcMethod, OneSpan(),
                                   absl::Seconds(10), [&](net::GrpcCallResult r) {
                                     std::lock_guard<std::mutex> lock(mu);
                                     result = std::move(r);
                                     cv.notify_all();
                                   });
    {
      std::unique_lock<std::mutex> lock(mu);
      ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return result.has_value(); }));
    }
    ASSERT_EQ(result->code, absl::StatusCode::kOk) << result->message;
    std::optional<Context> context = r->consumer->WaitForContext(1);
    ASSERT_TRUE(context.has_value());
    EXPECT_THAT(context->metadata, Contains(Pair("x-tenant", "team-a")));
    if (keep) {
      EXPECT_THAT(context->metadata, Contains(Pair("authorization", "Bearer secret-token")));
    } else {
      EXPECT_THAT(context->metadata, Not(Contains(Pair("authorization", "Bearer secret-token"))));
    }
  }
}

TEST(OtlpReceiverHttpTest, ConfigHttpKeysAndDefaults) {
  auto defaults = Decode("protocols: {http: }");
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  const HttpConfig& d = (*defaults)->http;
  EXPECT_EQ(d.endpoint, "localhost:4318");
  EXPECT_EQ(d.max_request_body_size, 20 << 20);
  EXPECT_EQ(d.read_header_timeout, absl::Seconds(10));
  EXPECT_EQ(d.read_timeout, absl::Minutes(1));
  EXPECT_EQ(d.write_timeout, absl::Seconds(30));
  EXPECT_EQ(d.idle_timeout, absl::Minutes(2));
  EXPECT_EQ(d.max_connections, 4096);
  EXPECT_FALSE(d.tls.has_value());
  EXPECT_FALSE(d.cors.enabled());

  auto set = Decode(R"(
protocols:
  http:
    endpoint: 0.0.0.0:4318
    max_request_body_size: -1
    read_header_timeout: 2s
    read_timeout: 0s
    write_timeout: 5s
    idle_timeout: 90s
    max_connections: 100
    response_headers: {X-A: b}
    cors: {allowed_origins: ["https://*.example.com"], max_age: 60}
    tls: {cert_file: /c.pem, key_file: /k.pem, client_ca_file: /ca.pem, min_version: "1.3"}
)");
  ASSERT_TRUE(set.ok()) << set.status();
  const HttpConfig& c = (*set)->http;
  EXPECT_EQ(c.max_request_body_size, 20 << 20);  // <= 0: the default, as confighttp
  EXPECT_EQ(c.read_header_timeout, absl::Seconds(2));
  EXPECT_EQ(c.read_timeout, absl::ZeroDuration());
  EXPECT_EQ(c.idle_timeout, absl::Seconds(90));
  EXPECT_EQ(c.max_connections, 100);
  ASSERT_TRUE(c.tls.has_value());
  EXPECT_EQ(c.tls->client_ca_file, "/ca.pem");
  EXPECT_EQ(c.tls->min_version, "1.3");
  EXPECT_TRUE(c.cors.enabled());
  net::HttpServerOptions options = ToHttpServerOptions(c, 2);
  EXPECT_EQ(options.endpoint, "0.0.0.0:4318");
  EXPECT_EQ(options.read_header_timeout, absl::Seconds(2));
  EXPECT_EQ(options.write_timeout, absl::Seconds(5));
  EXPECT_EQ(options.max_connections, 100);
  EXPECT_EQ(options.threads, 2);
  EXPECT_TRUE(options.tls.has_value());
}

TEST(OtlpReceiverHttpTest, ConfigHttpRefusals) {
  auto auth = Decode("protocols: {http: {auth: {authenticator: basicauth}}}");
  EXPECT_EQ(auth.status().message(),
            "'receivers::otlp::protocols::http::auth' is not supported by sprout yet");
  auto sensitive = Decode("protocols: {http: {include_sensitive_metadata: [x-tenant]}}");
  EXPECT_THAT(std::string(sensitive.status().message()),
              ::testing::HasSubstr("\"x-tenant\" is not a sensitive key"));
  auto cap = Decode("protocols: {http: {max_connections: -1}}");
  EXPECT_EQ(cap.status().message(),
            "'receivers::otlp::protocols::http::max_connections' must be non-negative (0: no "
            "limit)");
  auto tls = Decode("protocols: {http: {tls: {cert_file: /c.pem}}}");
  EXPECT_THAT(std::string(tls.status().message()),
              ::testing::HasSubstr("TLS configuration must include both certificate and key"));
}

TEST(OtlpReceiverHttpTest, TlsLoadingErrorFailsStart) {
  auto config = Decode(R"(
protocols:
  http:
    endpoint: 127.0.0.1:0
    tls: {cert_file: /nonexistent/c.pem, key_file: /nonexistent/k.pem}
)");
  ASSERT_TRUE(config.ok()) << config.status();
  auto created = NewFactory()->CreateReceiver(CreateSettings{*ComponentID::Parse("otlp"), {}},
                                              **config, ReceiverConsumers{});
  ASSERT_TRUE(created.ok());
  NoHost host;
  absl::Status started = (*created)->Start(host);
  EXPECT_EQ(started.message(),
            "failed to load TLS config: failed to load TLS cert and key: open /nonexistent/c.pem: "
            "no such file or directory");
}

}  // namespace
}  // namespace sprout::collector::otlpreceiver
