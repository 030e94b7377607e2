#include "collector/exporter/otlp/otlp_exporter.h"

#include <gtest/gtest.h>

#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/components.h"
#include "collector/exporter/otlp/config.h"
#include "collector/processor/processor_testing.h"
#include "collector/service_config.h"
#include "net/grpc_server.h"
#include "net/test_certs.h"
#include "net/test_sockets.h"
#include "otlp/consumer_error.h"
#include "yaml-cpp/yaml.h"

namespace sprout::collector::otlpexporter {
namespace {

using namespace ::sprout::collector::testing;  // NOLINT

constexpr char kTracesMethod[] = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

// --- configuration ---

std::string Validate(const std::string& yaml) {
  auto factory = NewFactory();
  auto config = DecodeConfig(*factory, yaml);
  return config.ok() ? "" : std::string(config.status().message());
}

TEST(OtlpExporterConfigTest, TestdataConfigHasEveryKey) {
  auto root = YAML::LoadFile("src/collector/exporter/otlp/testdata/config.yaml");
  auto service = DecodeServiceConfig(root, BuiltinFactories());
  ASSERT_TRUE(service.ok()) << service.status();

  const ComponentEntry* defaults = service->Find(Kind::kExporter, *ComponentID::Parse("otlp"));
  ASSERT_NE(defaults, nullptr);
  const auto& d = static_cast<const Config&>(*defaults->config);
  EXPECT_EQ(d.endpoint, "localhost:4317");
  EXPECT_FALSE(d.tls.insecure);
  EXPECT_EQ(d.compression, "gzip");
  EXPECT_TRUE(d.headers.empty());
  EXPECT_EQ(d.timeout, absl::Seconds(5));
  EXPECT_TRUE(d.retry_on_failure.enabled);
  EXPECT_EQ(d.retry_on_failure.initial_interval, absl::Seconds(5));
  EXPECT_EQ(d.retry_on_failure.randomization_factor, 0.5);
  EXPECT_EQ(d.retry_on_failure.multiplier, 1.5);
  EXPECT_EQ(d.retry_on_failure.max_interval, absl::Seconds(30));
  EXPECT_EQ(d.retry_on_failure.max_elapsed_time, absl::Minutes(5));
  EXPECT_TRUE(d.sending_queue.enabled);
  EXPECT_EQ(d.sending_queue.num_consumers, 10);
  EXPECT_EQ(d.sending_queue.queue_size, 1000);
  EXPECT_FALSE(d.sending_queue.block_on_overflow);
  EXPECT_EQ(d.balancer_name, "round_robin");
  EXPECT_EQ(d.write_buffer_size, 512 * 1024);
  EXPECT_EQ(d.read_buffer_size, 0);
  EXPECT_FALSE(d.wait_for_ready);
  EXPECT_FALSE(d.keepalive.enabled);
  auto target = d.ResolveTarget();
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(target->address, "localhost:4317");
  EXPECT_TRUE(target->tls);  // TLS with the system roots unless insecure

  ASSERT_NE(service->Find(Kind::kExporter, *ComponentID::Parse("otlp_grpc")), nullptr);

  const ComponentEntry* custom = service->Find(Kind::kExporter, *ComponentID::Parse("otlp/custom"));
  ASSERT_NE(custom, nullptr);
  const auto& c = static_cast<const Config&>(*custom->config);
  EXPECT_EQ(c.endpoint, "https://collector.example.com:4317");
  target = c.ResolveTarget();
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(target->address, "collector.example.com:4317");
  EXPECT_TRUE(target->tls);
  EXPECT_EQ(c.tls.ca_file, "/etc/sprout/ca.crt");
  EXPECT_EQ(c.tls.cert_file, "/etc/sprout/client.crt");
  EXPECT_EQ(c.tls.key_file, "/etc/sprout/client.key");
  EXPECT_EQ(c.tls.server_name_override, "collector.internal");
  EXPECT_EQ(c.compression, "deflate");
  EXPECT_EQ(c.headers.at("X-Api-Key"), "secret");
  EXPECT_EQ(c.timeout, absl::Seconds(10));
  EXPECT_EQ(c.retry_on_failure.initial_interval, absl::Seconds(1));
  EXPECT_EQ(c.retry_on_failure.randomization_factor, 0.2);
  EXPECT_EQ(c.retry_on_failure.multiplier, 2);
  EXPECT_EQ(c.retry_on_failure.max_interval, absl::Seconds(10));
  EXPECT_EQ(c.retry_on_failure.max_elapsed_time, absl::Minutes(1));
  EXPECT_EQ(c.sending_queue.num_consumers, 4);
  EXPECT_EQ(c.sending_queue.queue_size, 500);
  EXPECT_TRUE(c.sending_queue.block_on_overflow);
  EXPECT_EQ(c.balancer_name, "pick_first");
  EXPECT_EQ(c.write_buffer_size, 1048576);
  EXPECT_EQ(c.read_buffer_size, 65536);
  EXPECT_TRUE(c.wait_for_ready);
  EXPECT_TRUE(c.keepalive.enabled);
  EXPECT_EQ(c.keepalive.time, absl::Seconds(30));
  EXPECT_EQ(c.keepalive.timeout, absl::Seconds(5));
  EXPECT_TRUE(c.keepalive.permit_without_stream);
}

TEST(OtlpExporterConfigTest, TheCollectorsValidation) {
  EXPECT_EQ(Validate("{}"), "requires a non-empty \"endpoint\"");
  EXPECT_EQ(Validate("endpoint: localhost"),
            "invalid endpoint \"localhost\": missing port in address");
  EXPECT_EQ(Validate("endpoint: localhost:http"),
            "endpoint port is not a number: strconv.ParseInt: parsing \"http\": invalid syntax");
  EXPECT_EQ(Validate("endpoint: localhost:4317\ncompression: brotli"),
            "unsupported compression type \"brotli\"");
  EXPECT_EQ(Validate("endpoint: localhost:4317\nbalancer_name: test"),
            "invalid balancer_name: test");
  EXPECT_EQ(Validate("endpoint: localhost:4317\ntimeout: -1s"), "timeout must be non-negative");
  EXPECT_EQ(Validate("endpoint: localhost:4317\nsending_queue: {num_consumers: 0}"),
            "sending_queue: `num_consumers` must be positive");
  EXPECT_EQ(Validate("endpoint: localhost:4317\nretry_on_failure: {multiplier: 0}"),
            "retry_on_failure: 'multiplier' must be positive");
  EXPECT_EQ(Validate("endpoint: dns:///backend:4317\nbalancer_name: pick_first"), "");
}

// --- against a real gRPC server ---

// A scripted OTLP backend: answers each call with the next reply of `script` (then OK), and
// records what it received.
class Backend {
 public:
  explicit Backend(net::GrpcServerOptions options = {}) {
    options.endpoint = "127.0.0.1:0";
    options.threads = 2;
    auto server = net::GrpcServer::Start(
        options, {{kTracesMethod, [this](net::GrpcUnaryCall& call) { return Handle(call); }}});
    EXPECT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  ~Backend() {
    Release();
    server_->Shutdown(absl::Now() + absl::Seconds(5));
  }

  int port() const { return server_->port(); }
  void Script(std::vector<net::GrpcReply> replies) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.assign(replies.begin(), replies.end());
  }
  // The next call blocks until Release().
  void HoldNextCall() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    if (hold_) {
      hold_ = false;
      release_.set_value();
    }
  }
  int calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(times_.size());
  }
  std::vector<absl::Time> times() {
    std::lock_guard<std::mutex> lock(mu_);
    return times_;
  }
  std::string last_request() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_request_;
  }
  std::vector<std::pair<std::string, std::string>> last_metadata() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_metadata_;
  }

 private:
  net::GrpcReply Handle(net::GrpcUnaryCall& call) {
    std::shared_future<void> wait;
    net::GrpcReply reply;
    {
      std::lock_guard<std::mutex> lock(mu_);
      times_.push_back(absl::Now());
      last_request_ = call.RequestBytes();
      last_metadata_ = call.Metadata();
      if (!script_.empty()) {
        reply = script_.front();
        script_.pop_front();
      }
      if (hold_) wait = released_;
    }
    if (wait.valid()) wait.wait();
    return reply;
  }

  std::unique_ptr<net::GrpcServer> server_;
  std::mutex mu_;
  std::deque<net::GrpcReply> script_;
  std::vector<absl::Time> times_;
  std::string last_request_;
  std::vector<std::pair<std::string, std::string>> last_metadata_;
  bool hold_ = false;
  std::promise<void> release_;
  std::shared_future<void> released_ = release_.get_future().share();
};

net::GrpcReply Reply(absl::StatusCode code, std::string message = "from the backend",
                     std::optional<absl::Duration> retry_delay = std::nullopt) {
  net::GrpcReply reply;
  reply.code = code;
  reply.message = std::move(message);
  reply.retry_delay = retry_delay;
  return reply;
}

// An exporter built from `yaml` (endpoint and fast retries added), started.
struct Exporter {
  MetricsRegistry metrics;
  std::unique_ptr<ComponentConfig> config;
  ConsumerComponentPtr<Signal::kTraces> component;

  Exporter(int port, const std::string& yaml) {
    auto factory = NewFactory();
    // Fast retries unless the test sets retry_on_failure itself.
    const std::string retry =
        yaml.find("retry_on_failure") == std::string::npos
            ? "retry_on_failure: {initial_interval: 10ms, max_interval: 50ms, "
              "max_elapsed_time: 20s}\n"
            : "";
    auto decoded =
        DecodeConfig(*factory, absl::StrCat("endpoint: \"127.0.0.1:", port, "\"\n", retry, yaml));
    EXPECT_TRUE(decoded.ok()) << decoded.status();
    config = std::move(*decoded);
    CreateSettings settings{*ComponentID::Parse("otlp"), {}};
    settings.telemetry.metrics = &metrics;
    settings.telemetry.build_version = "1.2.3";
    component = *factory->CreateTraces(settings, *config);
    NoHost host;
    absl::Status started = component->Start(host);
    EXPECT_TRUE(started.ok()) << started;
  }
  ~Exporter() { component->Shutdown(absl::Now() + absl::Seconds(5)).IgnoreError(); }

  double Sent() {
    return metrics.GetCounter("otelcol_exporter_sent_spans_total", "", {{"exporter", "otlp"}})
        ->value();
  }
};

// The queue disabled: Consume returns the final result of the send with its retries.
constexpr char kNoQueue[] = "tls: {insecure: true}\nsending_queue: {enabled: false}\n";

TEST(OtlpExporterTest, SendsTheReceivedBytesWithHeadersAndUserAgent) {
  Backend backend;
  Exporter exporter(backend.port(), absl::StrCat(kNoQueue, "headers: {X-Api-Key: secret}\n"));
  otlp::TracesBatch batch = WireSpans(3);
  ASSERT_TRUE(exporter.component->Consume(Context{}, batch).ok());
  EXPECT_EQ(backend.last_request(), *batch.wire());
  bool api_key = false;
  std::string user_agent;
  for (const auto& [k, v] : backend.last_metadata()) {
    if (k == "x-api-key" && v == "secret") api_key = true;
    if (k == "user-agent") user_agent = v;
  }
  EXPECT_TRUE(api_key);
  EXPECT_EQ(user_agent.rfind("Sprout/1.2.3 (linux/", 0), 0u) << user_agent;
  EXPECT_EQ(exporter.Sent(), 3);
}

TEST(OtlpExporterTest, RetryableCodesAreRetried) {
  for (absl::StatusCode code : {absl::StatusCode::kCancelled, absl::StatusCode::kDeadlineExceeded,
                                absl::StatusCode::kAborted, absl::StatusCode::kOutOfRange,
                                absl::StatusCode::kUnavailable, absl::StatusCode::kDataLoss}) {
    Backend backend;
    backend.Script({Reply(code), Reply(code)});
    Exporter exporter(backend.port(), kNoQueue);
    absl::Status status = exporter.component->Consume(Context{}, WireSpans(2));
    EXPECT_TRUE(status.ok()) << absl::StatusCodeToString(code) << ": " << status;
    EXPECT_EQ(backend.calls(), 3) << absl::StatusCodeToString(code);
  }
}

TEST(OtlpExporterTest, OtherCodesArePermanent) {
  for (absl::StatusCode code :
       {absl::StatusCode::kInvalidArgument, absl::StatusCode::kInternal,
        absl::StatusCode::kPermissionDenied, absl::StatusCode::kUnauthenticated,
        absl::StatusCode::kUnimplemented, absl::StatusCode::kResourceExhausted}) {
    Backend backend;
    backend.Script({Reply(code, "no")});
    Exporter exporter(backend.port(), kNoQueue);
    absl::Status status = exporter.component->Consume(Context{}, WireSpans(2));
    EXPECT_TRUE(otlp::IsPermanent(status)) << absl::StatusCodeToString(code) << ": " << status;
    EXPECT_EQ(status.code(), code);
    EXPECT_EQ(status.message(), absl::StrCat("not retryable error: rpc error: code = ",
                                             otlp::GrpcCodeName(code), " desc = no"));
    EXPECT_EQ(backend.calls(), 1) << absl::StatusCodeToString(code);
  }
}

// RESOURCE_EXHAUSTED is retried only with a RetryInfo, and then no sooner than it says.
TEST(OtlpExporterTest, RetryInfoMakesResourceExhaustedRetryableAndSetsTheDelay) {
  Backend backend;
  backend.Script({Reply(absl::StatusCode::kResourceExhausted, "later", absl::Milliseconds(400))});
  Exporter exporter(backend.port(), kNoQueue);
  ASSERT_TRUE(exporter.component->Consume(Context{}, WireSpans(1)).ok());
  std::vector<absl::Time> times = backend.times();
  ASSERT_EQ(times.size(), 2u);
  EXPECT_GE(times[1] - times[0], absl::Milliseconds(400));  // backoff alone: 10 ms
}

TEST(OtlpExporterTest, TimeoutBoundsEachAttempt) {
  Backend backend;
  backend.HoldNextCall();
  Exporter exporter(backend.port(),
                    absl::StrCat(kNoQueue, "timeout: 200ms\nretry_on_failure: {enabled: false}\n"));
  const absl::Time start = absl::Now();
  absl::Status status = exporter.component->Consume(Context{}, WireSpans(1));
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  backend.Release();
}

// The backend accepts 1 MiB on the wire: 2 MiB of one repeated byte only fit compressed, and
// are then refused once decompressed; uncompressed, gRPC refuses them on their length.
TEST(OtlpExporterTest, CompressionIsAppliedOnTheWire) {
  net::GrpcServerOptions options;
  options.max_recv_msg_size = 1 << 20;
  Backend backend(options);
  otlp::TracesBatch big = Spans(1, std::string(2 << 20, 'a'));
  for (const char* compression : {"gzip", "deflate"}) {
    Exporter exporter(backend.port(), absl::StrCat(kNoQueue, "compression: ", compression,
                                                   "\nretry_on_failure: {enabled: false}\n"));
    absl::Status status = exporter.component->Consume(Context{}, big);
    EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << compression;
    EXPECT_NE(status.message().find("after decompression larger than max 1048576"),
              absl::string_view::npos)
        << compression << ": " << status;
  }
  Exporter plain(backend.port(),
                 absl::StrCat(kNoQueue, "compression: none\nretry_on_failure: {enabled: false}\n"));
  absl::Status status = plain.component->Consume(Context{}, big);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(status.message().find("Received message larger than max"), absl::string_view::npos)
      << status;
}

// sprout → sprout over TLS and mutual TLS: the exporter's client TLS against the receiver's
// server TLS.
TEST(OtlpExporterTest, TlsAndMutualTlsToASproutServer) {
  net::testing::TempDir dir;
  net::testing::TestCa ca("exporter test CA");
  net::testing::TestKeyPair server = ca.Issue("localhost");
  net::testing::TestKeyPair client = ca.Issue("exporter");
  net::testing::WriteFileOrDie(dir.File("ca.pem"), ca.ca().cert_pem);
  net::testing::WriteFileOrDie(dir.File("client.pem"), client.cert_pem);
  net::testing::WriteFileOrDie(dir.File("client.key"), client.key_pem);
  net::GrpcServerOptions options;
  options.tls = net::TlsServerSettings{};
  options.tls->cert_pem = server.cert_pem;
  options.tls->key_pem = server.key_pem;
  options.tls->client_ca_file = dir.File("ca.pem");
  Backend backend(options);
  const std::string retry_off =
      "retry_on_failure: {enabled: false}\nsending_queue: {enabled: false}\n";
  auto exporter_yaml = [&](bool with_cert) {
    std::string tls = absl::StrCat("tls: {ca_file: \"", dir.File("ca.pem"),
                                   "\", server_name_override: localhost");
    if (with_cert) {
      absl::StrAppend(&tls, ", cert_file: \"", dir.File("client.pem"), "\", key_file: \"",
                      dir.File("client.key"), "\"");
    }
    return absl::StrCat(tls, "}\n", retry_off);
  };
  Exporter with_cert(backend.port(), exporter_yaml(true));
  absl::Status status = with_cert.component->Consume(Context{}, WireSpans(2));
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(backend.calls(), 1);
  Exporter without_cert(backend.port(), exporter_yaml(false));
  status = without_cert.component->Consume(Context{}, WireSpans(2));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(backend.calls(), 1);
}

TEST(OtlpExporterTest, ShutdownEndsCallsWithoutTimeoutToASilentBackend) {
  net::testing::SilentListener silent;
  Exporter exporter(silent.port(), "tls: {insecure: true}\ntimeout: 0s\n");
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(exporter.component->Consume(Context{}, WireSpans(1)).ok());
  }
  const absl::Time start = absl::Now();
  EXPECT_TRUE(exporter.component->Shutdown(absl::Now() + absl::Milliseconds(200)).ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(exporter.Sent(), 0);
}

}  // namespace
}  // namespace sprout::collector::otlpexporter
