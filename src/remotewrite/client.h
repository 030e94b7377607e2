// Prometheus remote write 1.0 over HTTP, shared by the prometheusremotewrite exporter and the
// traces metrics-generator (README.md):
//  - Encode(): a WriteRequest → snappy-compressed request bodies, split by size, series count
//    and shard (SeriesShard) without copying series between messages;
//  - Client: POSTs one body with the protocol's headers and retries it with exponential backoff
//    until it is delivered, refused for good, out of retries, or the client stops.
//
// The client knows nothing of its user: what it would log or count goes to ClientHooks, and its
// errors carry the exporter's texts (they are the Collector's).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/backoff.h"
#include "net/http_client.h"
#include "prometheus/remote.pb.h"

namespace sprout::remotewrite {

// The shard (0 ≤ shard < shards) of a series with these labels (sorted by name): the same
// labels always give the same shard, across restarts and versions (docs/format/prw-wal.md).
int SeriesShard(const prometheus::TimeSeries& series, int shards);

// One encoded remote-write request and what it carries.
struct EncodedRequest {
  std::string body;  // a snappy-compressed WriteRequest
  int shard = 0;     // of every series in it
  int64_t series = 0;
  int64_t samples = 0;
  int64_t histograms = 0;
  int64_t exemplars = 0;
};

struct EncodeOptions {
  // A request is closed before a series would take its uncompressed size to this (a series
  // larger than it goes in a request of its own); 0: no bound.
  size_t max_bytes = 0;
  // Series per request at most (Prometheus' queue_config.max_samples_per_send); 0: no bound.
  int64_t max_series = 0;
  int shards = 1;  // the series are split by SeriesShard into this many groups
  // Replaces snappy (tests).
  std::function<absl::StatusOr<std::string>(std::string_view)> compress;
};

struct Encoded {
  // Each shard's series in their order, then the metadata in requests of their own (shard 0).
  std::vector<EncodedRequest> requests;
  // Requests that could not be compressed, dropped: "failed to compress a remote-write request:
  // <why>".
  std::vector<std::string> errors;
};

// Encodes `request` series by series: a WriteRequest is the concatenation of its fields, so each
// series is serialised once, straight into the request it falls into.
Encoded Encode(const prometheus::WriteRequest& request, const EncodeOptions& options);

// The protocol's own headers (Content-Encoding, Content-Type, X-Prometheus-Remote-Write-Version,
// User-Agent), which configured headers cannot replace. Case-insensitive.
bool IsProtocolHeader(std::string_view name);

struct ClientOptions {
  std::string endpoint;  // the URL every request is POSTed to
  // Sent after the protocol's; those naming a protocol header are ignored.
  std::vector<std::pair<std::string, std::string>> headers;
  absl::Duration timeout = absl::Seconds(5);  // of one attempt; zero: none
  // Retries of retryable failures (transport errors, 5xx, 429 with retry_on_429). With
  // `enabled` false a failure is final; max_elapsed_time bounds the retries of Send without
  // `until_stopped` (zero: no bound).
  BackoffConfig retry;
  bool retry_on_429 = false;
  // TLS, proxy, User-Agent and connection pool; max_response_body is set by the client (only the
  // start of an error body is quoted).
  net::HttpClientOptions http;
};

// What the client reports (each may be empty). Called on the sending thread.
struct ClientHooks {
  std::function<void()> on_attempt;  // every HTTP request sent, whatever the answer
  // The request is refused for good: a 4xx (not a retried 429), or any failure when retries
  // are off. `error` as in the returned status.
  std::function<void(const std::string& error)> on_refused;
  // max_elapsed_time is used up; `error` is the last attempt's.
  std::function<void(const std::string& error)> on_out_of_retries;
  // An attempt failed and is retried after `delay`.
  std::function<void(const std::string& error, absl::Duration delay)> on_retry;
};

// The outcome of Send.
struct SendResult {
  // OK, or why not: Unknown for a refusal ("remote write returned HTTP status 400 Bad Request;
  // err = <nil>: <body>") or out of retries ("no more retries left: <error>"); Unavailable when
  // stopped ("shutting down: request not sent", "shutting down before a retry: <error>").
  absl::Status status;
  // Sending it again can never succeed (a refusal, out of retries): drop it.
  bool permanent = false;
};

class Client {
 public:
  // Fails as net::HttpClient::Create does (unreadable TLS material).
  static absl::StatusOr<std::unique_ptr<Client>> Create(ClientOptions options,
                                                        ClientHooks hooks = {});
  ~Client();

  // Sends one body (EncodedRequest::body). Without `until_stopped` it gives up after
  // retry.max_elapsed_time; with it, retryable failures are retried until the client stops.
  // Thread-safe: calls may run concurrently (one connection each).
  SendResult Send(std::string_view body, bool until_stopped);

  // No attempt starts after `deadline`, and none started later lasts past it (its timeout is
  // cut to it); retry waits end there. The earliest deadline given wins. Thread-safe.
  void Stop(absl::Time deadline);
  // Stops now: calls in flight end at once ("request canceled"), later ones do not start.
  // Thread-safe, idempotent.
  void Close();

  const ClientOptions& options() const { return options_; }

 private:
  Client(ClientOptions options, ClientHooks hooks, std::unique_ptr<net::HttpClient> http);
  // Waits `delay`, or less when stopping comes first; false when stopping.
  bool WaitBeforeRetry(absl::Duration delay);

  const ClientOptions options_;
  const ClientHooks hooks_;
  std::vector<std::pair<std::string, std::string>> headers_;  // protocol's, then options'
  std::unique_ptr<net::HttpClient> http_;

  std::mutex mu_;
  std::condition_variable cv_;
  absl::Time deadline_ = absl::InfiniteFuture();
  bool closed_ = false;
};

}  // namespace sprout::remotewrite
