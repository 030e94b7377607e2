// sprout-sink: an OTLP/gRPC endpoint that acknowledges every Export request without decoding
// it, and optionally an HTTP endpoint answering 204 to every POST (a stand-in remote-write
// receiver), so that a benchmark measures the collector under test and not its downstream.
// Prints the number of requests (and, with --count-items, of spans / data points / log records)
// received when it receives SIGTERM or SIGINT. --delay makes every OTLP call take that long (a
// slow backend, for overload tests); calls are served by --threads threads.
//
//   sprout-sink --endpoint localhost:14317 [--http-endpoint localhost:19090] [--delay 200ms]

#include <atomic>
#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "base/go_duration.h"
#include "base/signals.h"
#include "net/grpc_server.h"
#include "net/http_server.h"
#include "otlp/signal.h"
#include "otlp/wire_scan.h"

using sprout::otlp::SignalTraits;

int main(int argc, char** argv) {
  sprout::BlockTerminationSignals();
  CLI::App app{"OTLP/gRPC sink that acknowledges everything"};
  std::string endpoint = "localhost:14317";
  std::string http_endpoint;
  app.add_option("--endpoint", endpoint)->capture_default_str();
  app.add_option("--http-endpoint", http_endpoint, "also answer HTTP POSTs with 204 here");
  std::string delay_text = "0s";
  app.add_option("--delay", delay_text, "time every OTLP call takes (Go duration)")
      ->capture_default_str();
  bool count_items = false;
  app.add_flag("--count-items", count_items, "count the items of every request (costs a scan)");
  int threads = 0;
  app.add_option("--threads", threads, "gRPC threads (0: one per two CPUs)");
  CLI11_PARSE(app, argc, argv);
  auto delay = sprout::ParseGoDuration(delay_text);
  if (!delay.ok()) {
    std::fprintf(stderr, "--delay: %s\n", std::string(delay.status().message()).c_str());
    return 2;
  }

  std::atomic<int64_t> requests{0};
  std::atomic<int64_t> items{0};
  auto ack = [&](sprout::net::GrpcUnaryCall& call) {
    if (*delay > absl::ZeroDuration()) absl::SleepFor(*delay);
    if (count_items) {
      using sprout::otlp::Signal;
      const std::string_view method = call.method();
      const Signal signal = method == SignalTraits<Signal::kMetrics>::kGrpcMethod ? Signal::kMetrics
                            : method == SignalTraits<Signal::kLogs>::kGrpcMethod  ? Signal::kLogs
                                                                                  : Signal::kTraces;
      auto n = sprout::otlp::ScanRequest(signal, call.RequestBytes());
      if (n.ok()) items += *n;
    }
    ++requests;
    return sprout::net::GrpcReply{};
  };
  std::map<std::string, sprout::net::GrpcUnaryHandler> handlers;
  using sprout::otlp::Signal;
  using sprout::otlp::SignalTraits;
  handlers[SignalTraits<Signal::kTraces>::kGrpcMethod] = ack;
  handlers[SignalTraits<Signal::kMetrics>::kGrpcMethod] = ack;
  handlers[SignalTraits<Signal::kLogs>::kGrpcMethod] = ack;
  sprout::net::GrpcServerOptions options;
  options.endpoint = endpoint;
  options.max_recv_msg_size = 64 << 20;
  options.threads = threads;
  auto server = sprout::net::GrpcServer::Start(options, handlers);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  std::atomic<int64_t> http_requests{0};
  std::unique_ptr<sprout::net::HttpServer> http_server;
  if (!http_endpoint.empty()) {
    sprout::net::HttpServerOptions http_options;
    http_options.endpoint = http_endpoint;
    http_options.max_request_body_size = 64 << 20;
    auto started = sprout::net::HttpServer::Start(
        http_options, [&](const sprout::net::HttpRequest&, sprout::net::HttpResponse& response) {
          ++http_requests;
          response.status = 204;
        });
    if (!started.ok()) {
      std::fprintf(stderr, "%s\n", std::string(started.status().message()).c_str());
      return 1;
    }
    http_server = std::move(*started);
  }
  std::fprintf(stderr, "sink listening on %s %s\n", endpoint.c_str(), http_endpoint.c_str());
  sprout::WaitForTerminationSignal();
  if (http_server != nullptr) http_server->Shutdown(absl::Seconds(1));
  (*server)->Shutdown(absl::Now() + absl::Seconds(1));
  std::printf("{\"requests\": %lld, \"items\": %lld, \"http_requests\": %lld}\n",
              static_cast<long long>(requests.load()), static_cast<long long>(items.load()),
              static_cast<long long>(http_requests.load()));
  return 0;
}
