// sprout-sink: an OTLP/gRPC endpoint that acknowledges every Export request without decoding
// it, so that a benchmark measures the collector under test and not its downstream. Prints the
// number of requests and bytes received when it receives SIGTERM or SIGINT.
//
//   sprout-sink --endpoint localhost:14317

#include <atomic>
#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "base/signals.h"
#include "net/grpc_server.h"
#include "otlp/signal.h"

int main(int argc, char** argv) {
  sprout::BlockTerminationSignals();
  CLI::App app{"OTLP/gRPC sink that acknowledges everything"};
  std::string endpoint = "localhost:14317";
  app.add_option("--endpoint", endpoint)->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::atomic<int64_t> requests{0};
  auto ack = [&](sprout::net::GrpcUnaryCall&) {
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
  auto server = sprout::net::GrpcServer::Start(options, handlers);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "sink listening on %s\n", endpoint.c_str());
  sprout::WaitForTerminationSignal();
  (*server)->Shutdown(absl::Now() + absl::Seconds(1));
  std::printf("{\"requests\": %lld}\n", static_cast<long long>(requests.load()));
  return 0;
}
