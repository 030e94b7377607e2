#include "cmd/all/demo_cmd.h"

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/go_duration.h"
#include "cmd/all/demo.h"
#include "google/rpc/status.pb.h"
#include "net/grpc_client.h"
#include "net/http_client.h"

namespace sprout::cmd {
namespace {

constexpr const char* kTraceMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
constexpr const char* kMetricsMethod =
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
constexpr absl::Duration kRequestTimeout = absl::Seconds(10);

// Waits up to `d` for SIGINT/SIGTERM (blocked in every thread, so they wait here); true if one
// arrived.
bool WaitForSignal(absl::Duration d) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  const absl::Time until = absl::Now() + d;
  while (true) {
    const absl::Duration left = until - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    timespec ts = absl::ToTimespec(left);
    const int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig == SIGTERM || sig == SIGINT) return true;
    if (sig < 0 && errno != EINTR && errno != EAGAIN) return false;
  }
}

// The message of an OTLP/HTTP error answer: a google.rpc.Status (protobuf or JSON, as the
// OTLP specification has it) or plain text, on one line.
std::string ErrorBody(const net::HttpClientResponse& resp) {
  std::string text = resp.body;
  if (resp.Header("content-type").find("protobuf") != std::string_view::npos) {
    google::rpc::Status status;
    if (status.ParseFromString(resp.body)) text = status.message();
  }
  std::string out;
  for (char c : text.substr(0, 300)) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return std::string(absl::StripAsciiWhitespace(out));
}

struct SendResult {
  bool ok = false;
  bool retryable = false;
  bool unsupported = false;  // gRPC UNIMPLEMENTED, HTTP 404/405: the endpoint lacks the signal
  std::string message;
};

// One OTLP client, gRPC or HTTP (sprout's own clients).
class Sender {
 public:
  static absl::StatusOr<std::unique_ptr<Sender>> Create(const demo::DemoEndpoint& endpoint,
                                                        const std::vector<std::string>& headers) {
    auto s = std::unique_ptr<Sender>(new Sender());
    s->endpoint_ = endpoint;
    for (const std::string& h : headers) {
      const size_t eq = h.find('=');
      if (eq == std::string::npos || eq == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid --header \"", h, "\": want Name=value"));
      }
      s->headers_.emplace_back(h.substr(0, eq), h.substr(eq + 1));
    }
    const std::string user_agent = absl::StrCat("sprout-demo/", SPROUT_VERSION);
    if (endpoint.grpc) {
      net::GrpcClientOptions options;
      options.target = endpoint.target;
      options.tls = false;
      options.user_agent = user_agent;
      options.complete_on_caller_queue = false;
      for (const auto& [k, v] : s->headers_) {
        options.headers.emplace_back(absl::AsciiStrToLower(k), v);
      }
      auto client = net::GrpcClient::Create(options);
      if (!client.ok()) return client.status();
      s->grpc_ = std::move(*client);
    } else {
      net::HttpClientOptions options;
      options.user_agent = user_agent;
      options.max_idle_connections = 2;
      options.max_response_body = 4096;
      auto client = net::HttpClient::Create(options);
      if (!client.ok()) return client.status();
      s->http_ = std::move(*client);
      s->headers_.emplace_back("Content-Type", "application/x-protobuf");
    }
    return s;
  }

  SendResult Send(bool traces, const std::string& body) {
    SendResult r;
    if (grpc_ != nullptr) {
      net::GrpcCallResult call =
          grpc_->CallSerialized(traces ? kTraceMethod : kMetricsMethod, body, kRequestTimeout);
      if (call.code == absl::StatusCode::kOk) {
        r.ok = true;
        return r;
      }
      switch (call.code) {
        case absl::StatusCode::kCancelled:
        case absl::StatusCode::kDeadlineExceeded:
        case absl::StatusCode::kResourceExhausted:
        case absl::StatusCode::kAborted:
        case absl::StatusCode::kOutOfRange:
        case absl::StatusCode::kUnavailable:
        case absl::StatusCode::kDataLoss:
          r.retryable = true;
          break;
        case absl::StatusCode::kUnimplemented:
          r.unsupported = true;
          break;
        default:
          break;
      }
      r.message = absl::StrCat(absl::StatusCodeToString(call.code), ": ", call.message);
      return r;
    }
    const std::string url = absl::StrCat(endpoint_.base_url, traces ? "/v1/traces" : "/v1/metrics");
    net::HttpClientResponse resp = http_->Do("POST", url, headers_, body, kRequestTimeout);
    if (resp.status >= 200 && resp.status < 300) {
      r.ok = true;
      return r;
    }
    if (resp.status == 0) {
      r.retryable = true;
      r.message = resp.error;
      return r;
    }
    r.retryable =
        resp.status == 429 || resp.status == 502 || resp.status == 503 || resp.status == 504;
    r.unsupported = resp.status == 404 || resp.status == 405;
    r.message = absl::StrCat("HTTP ", resp.status, " from ", url, ": ", ErrorBody(resp));
    return r;
  }

 private:
  Sender() = default;
  demo::DemoEndpoint endpoint_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::unique_ptr<net::GrpcClient> grpc_;
  std::unique_ptr<net::HttpClient> http_;
};

}  // namespace

CLI::App* AddDemoCommand(CLI::App* app, DemoFlags* flags) {
  CLI::App* cmd = app->add_subcommand(
      "demo",
      "Send the telemetry of a small fictional shop (traces and metrics) to an OTLP endpoint");
  cmd->add_option("--endpoint", flags->endpoint,
                  "host:port or grpc://host:port (OTLP/gRPC), http(s)://host:port (OTLP/HTTP)")
      ->capture_default_str();
  cmd->add_option("--duration", flags->duration, "How long to send (Go duration; 0: until Ctrl-C)")
      ->capture_default_str();
  cmd->add_option("--rate", flags->rate, "Traces per second (each 8-15 spans)")
      ->capture_default_str();
  cmd->add_option("--metrics-interval", flags->metrics_interval,
                  "How often the services' metrics are sent (Go duration)")
      ->capture_default_str();
  cmd->add_option("--give-up-after", flags->give_up_after,
                  "Exit 1 when the endpoint refuses or does not answer this long in a row")
      ->capture_default_str();
  cmd->add_option("--seed", flags->seed, "Random seed (0: from the clock)")->capture_default_str();
  cmd->add_option("--header", flags->headers,
                  "A header (gRPC metadata) sent with every request: Name=value, e.g. "
                  "X-Scope-OrgID=tenant");
  return cmd;
}

int RunDemo(const DemoFlags& flags) {
  auto fail = [](const std::string& message) {
    std::fprintf(stderr, "Error: %s\n", message.c_str());
    return 1;
  };
  auto duration = ParseGoDuration(flags.duration);
  if (!duration.ok()) return fail(absl::StrCat("--duration: ", duration.status().message()));
  auto interval = ParseGoDuration(flags.metrics_interval);
  if (!interval.ok() || *interval <= absl::ZeroDuration()) {
    return fail("--metrics-interval: want a positive duration");
  }
  auto give_up = ParseGoDuration(flags.give_up_after);
  if (!give_up.ok() || *give_up <= absl::ZeroDuration()) {
    return fail("--give-up-after: want a positive duration");
  }
  if (!(flags.rate > 0)) return fail("--rate: want a positive number of traces per second");
  auto endpoint = demo::ParseDemoEndpoint(flags.endpoint);
  if (!endpoint.ok()) return fail(std::string(endpoint.status().message()));
  auto sender = Sender::Create(*endpoint, flags.headers);
  if (!sender.ok()) return fail(std::string(sender.status().message()));

  demo::ShopOptions options;
  options.seed =
      flags.seed != 0 ? flags.seed : static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
  demo::ShopGenerator shop(options, [] { return absl::Now(); });

  const std::string protocol = endpoint->grpc ? "OTLP/gRPC" : "OTLP/HTTP";
  std::fprintf(
      stderr,
      "sprout demo: sending the shop's traces (%g/s) and metrics (every %s) to %s (%s)%s; "
      "Ctrl-C stops\n",
      flags.rate, FormatGoDuration(*interval).c_str(), flags.endpoint.c_str(), protocol.c_str(),
      *duration > absl::ZeroDuration() ? absl::StrCat(" for ", FormatGoDuration(*duration)).c_str()
                                       : "");

  const absl::Time start = absl::Now();
  const absl::Time end =
      *duration > absl::ZeroDuration() ? start + *duration : absl::InfiniteFuture();
  absl::Time last_success = start;
  bool stop = false;
  bool metrics_off = false;
  int64_t batches = 0, collections = 0;

  // Sends one request, retrying what may pass later (backoff 0.5 s .. 5 s) until it is
  // accepted, a signal stops the demo (false, not an error) or the endpoint has refused for
  // --give-up-after (the error). A permanent refusal is an error at once.
  auto deliver = [&](bool traces, const std::string& body, std::string* error) {
    absl::Duration backoff = absl::Milliseconds(500);
    while (true) {
      SendResult r = (*sender)->Send(traces, body);
      if (r.ok) {
        last_success = absl::Now();
        return true;
      }
      const std::string what = traces ? "traces" : "metrics";
      if (!traces && r.unsupported) {  // e.g. a trace store: the demo sends traces only
        std::fprintf(stderr,
                     "sprout demo: %s does not take OTLP metrics (%s); sending traces only\n",
                     flags.endpoint.c_str(), r.message.c_str());
        metrics_off = true;
        return true;
      }
      if (!r.retryable) {
        *error = absl::StrCat(flags.endpoint, " refused the ", what, ": ", r.message);
        return false;
      }
      if (absl::Now() - last_success >= *give_up) {
        *error = absl::StrCat(flags.endpoint, " has not accepted anything for ",
                              FormatGoDuration(*give_up), ": ", r.message);
        return false;
      }
      std::fprintf(stderr, "sprout demo: sending %s failed, retrying in %s: %s\n", what.c_str(),
                   FormatGoDuration(backoff).c_str(), r.message.c_str());
      if (WaitForSignal(backoff)) {
        stop = true;
        return false;
      }
      backoff = std::min(backoff * 2, absl::Seconds(5));
    }
  };

  const absl::Duration tick = std::max(absl::Milliseconds(200), absl::Seconds(1.0 / flags.rate));
  absl::Time next_metrics = start + *interval;
  absl::Time last_tick = start;
  double carry = 0;
  std::string error;
  while (true) {
    const absl::Time wake = std::min({last_tick + tick, end, next_metrics});
    if (WaitForSignal(std::max(wake - absl::Now(), absl::ZeroDuration()))) stop = true;
    const absl::Time now = absl::Now();
    const bool last = stop || now >= end;
    carry += flags.rate * absl::ToDoubleSeconds(now - last_tick);
    // An endpoint slower than the rate (or a pause in retries) is not caught up on: at most one
    // second's traces go in a batch.
    carry = std::min(carry, std::max(1.0, flags.rate));
    last_tick = now;
    const int n = static_cast<int>(carry);
    if (n > 0) {
      carry -= n;
      demo::ExportTraceServiceRequest req;
      shop.AddTraces(n, &req);
      if (!deliver(true, req.SerializeAsString(), &error)) {
        if (!error.empty()) return fail(error);
        break;  // stopped by a signal while retrying
      }
      ++batches;
    }
    if (!metrics_off && (last || now >= next_metrics)) {
      if (!deliver(false, shop.Metrics().SerializeAsString(), &error)) {
        if (!error.empty()) return fail(error);
        break;
      }
      if (!metrics_off) ++collections;
      next_metrics = now + *interval;
    }
    if (last) break;
  }
  std::fprintf(stderr,
               "sprout demo: sent %lld traces (%lld spans) in %lld requests and %lld metrics "
               "collections to %s\n",
               static_cast<long long>(shop.traces_generated()),
               static_cast<long long>(shop.spans_generated()), static_cast<long long>(batches),
               static_cast<long long>(collections), flags.endpoint.c_str());
  return 0;
}

}  // namespace sprout::cmd
