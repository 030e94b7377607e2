#include "remotewrite/client.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/crc32c.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "net/compression.h"

namespace sprout::remotewrite {
namespace {

const char* ReasonPhrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    case 413:
      return "Request Entity Too Large";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

// Only the start of an error body is quoted (256 bytes); no need to hold more of it.
constexpr size_t kMaxResponseBody = 4096;

}  // namespace

int SeriesShard(const prometheus::TimeSeries& series, int shards) {
  if (shards <= 1) return 0;
  // CRC-32C over name 0xff value 0xff of every label, in order, then spread over the 64-bit
  // range (Fibonacci hashing) so that any shard count divides it evenly.
  static constexpr char kSeparator[] = "\xff";
  uint32_t crc = 0;
  for (const prometheus::Label& label : series.labels()) {
    crc = Crc32c(label.name(), crc);
    crc = Crc32c(std::string_view(kSeparator, 1), crc);
    crc = Crc32c(label.value(), crc);
    crc = Crc32c(std::string_view(kSeparator, 1), crc);
  }
  const uint64_t spread = static_cast<uint64_t>(crc) * 0x9E3779B97F4A7C15ull;
  return static_cast<int>((spread >> 32) % static_cast<uint64_t>(shards));
}

Encoded Encode(const prometheus::WriteRequest& request, const EncodeOptions& options) {
  const int shards = std::max(options.shards, 1);
  const size_t limit = options.max_bytes > 0 ? options.max_bytes : SIZE_MAX;
  Encoded out;
  struct Pending {
    std::string request;
    EncodedRequest counts;  // of `request`
  };
  std::vector<Pending> pending(static_cast<size_t>(shards));
  auto flush = [&](int shard) {
    Pending& p = pending[static_cast<size_t>(shard)];
    if (p.request.empty()) return;
    auto compressed = options.compress ? options.compress(p.request)
                                       : net::Compress(net::Codec::kSnappy, p.request);
    if (compressed.ok()) {
      p.counts.body = std::move(*compressed);
      p.counts.shard = shard;
      out.requests.push_back(std::move(p.counts));
    } else {
      // Dropped: an empty body would reach the backend as a request it cannot decode.
      out.errors.push_back(absl::StrCat("failed to compress a remote-write request: ",
                                        compressed.status().message()));
    }
    p.counts = EncodedRequest();
    p.request.clear();
  };
  // Appends field `number` holding `message` to the request being built for `shard`.
  auto append = [&](int shard, int number, const google::protobuf::MessageLite& message) {
    Pending& p = pending[static_cast<size_t>(shard)];
    const size_t size = message.ByteSizeLong();
    if (!p.request.empty() &&
        (p.request.size() + size >= limit ||
         (number == 1 && options.max_series > 0 && p.counts.series >= options.max_series))) {
      flush(shard);
    }
    uint8_t header[16];
    uint8_t* h = google::protobuf::io::CodedOutputStream::WriteTagToArray(
        google::protobuf::internal::WireFormatLite::MakeTag(
            number, google::protobuf::internal::WireFormatLite::WIRETYPE_LENGTH_DELIMITED),
        header);
    h = google::protobuf::io::CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(size),
                                                                      h);
    p.request.append(reinterpret_cast<const char*>(header), h - header);
    const size_t at = p.request.size();
    p.request.resize(at + size);
    message.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(p.request.data() + at));
  };
  for (const prometheus::TimeSeries& series : request.timeseries()) {
    const int shard = shards > 1 ? SeriesShard(series, shards) : 0;
    append(shard, 1, series);
    EncodedRequest& counts = pending[static_cast<size_t>(shard)].counts;
    ++counts.series;
    counts.samples += series.samples_size();
    counts.histograms += series.histograms_size();
    counts.exemplars += series.exemplars_size();
  }
  for (int shard = 0; shard < shards; ++shard) flush(shard);
  // Metadata goes in requests of its own, as the Collector sends it.
  for (const prometheus::MetricMetadata& metadata : request.metadata()) append(0, 3, metadata);
  flush(0);
  return out;
}

bool IsProtocolHeader(std::string_view name) {
  const std::string lower = absl::AsciiStrToLower(std::string(name));
  return lower == "content-encoding" || lower == "content-type" ||
         lower == "x-prometheus-remote-write-version" || lower == "user-agent";
}

absl::StatusOr<std::unique_ptr<Client>> Client::Create(ClientOptions options, ClientHooks hooks) {
  net::HttpClientOptions http = options.http;
  http.max_response_body = kMaxResponseBody;
  absl::StatusOr<std::unique_ptr<net::HttpClient>> client = net::HttpClient::Create(http);
  if (!client.ok()) return client.status();
  return std::unique_ptr<Client>(
      new Client(std::move(options), std::move(hooks), std::move(*client)));
}

Client::Client(ClientOptions options, ClientHooks hooks, std::unique_ptr<net::HttpClient> http)
    : options_(std::move(options)), hooks_(std::move(hooks)), http_(std::move(http)) {
  headers_ = {{"Content-Encoding", "snappy"},
              {"Content-Type", "application/x-protobuf"},
              {"X-Prometheus-Remote-Write-Version", "0.1.0"}};
  for (const auto& [k, v] : options_.headers) {
    if (!IsProtocolHeader(k)) headers_.emplace_back(k, v);
  }
}

Client::~Client() { Close(); }

void Client::Stop(absl::Time deadline) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    deadline_ = std::min(deadline_, deadline);
  }
  cv_.notify_all();
}

void Client::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
  http_->Close();
}

bool Client::WaitBeforeRetry(absl::Duration delay) {
  std::unique_lock<std::mutex> lock(mu_);
  const absl::Time until = absl::Now() + delay;
  while (true) {
    const absl::Time now = absl::Now();
    if (now >= deadline_ || closed_) return false;
    if (now >= until) return true;
    cv_.wait_until(lock, absl::ToChronoTime(std::min(until, deadline_)));
  }
}

SendResult Client::Send(std::string_view body, bool until_stopped) {
  const BackoffConfig& retry = options_.retry;
  ExponentialBackoff backoff(retry);
  const absl::Time start = absl::Now();
  std::string error;  // of the last attempt
  while (true) {
    absl::Duration timeout = options_.timeout;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const absl::Time now = absl::Now();
      if (closed_ || now >= deadline_) {
        return {absl::UnavailableError(error.empty()
                                           ? "shutting down: request not sent"
                                           : absl::StrCat("shutting down before a retry: ", error)),
                false};
      }
      // An attempt never outlasts the deadline, even with `timeout: 0`.
      if (deadline_ != absl::InfiniteFuture()) {
        const absl::Duration left = deadline_ - now;
        timeout = timeout > absl::ZeroDuration() ? std::min(timeout, left) : left;
      }
    }
    net::HttpClientResponse response =
        http_->Do("POST", options_.endpoint, headers_, body, timeout);
    if (hooks_.on_attempt) hooks_.on_attempt();
    if (response.status >= 200 && response.status < 300) return {absl::OkStatus(), false};
    bool retryable;
    if (response.status == 0) {
      error = absl::StrCat("Post \"", options_.endpoint, "\": ", response.error);
      retryable = true;
    } else {
      error = absl::StrCat("remote write returned HTTP status ", response.status, " ",
                           ReasonPhrase(response.status),
                           "; err = <nil>: ", response.body.substr(0, 256));
      retryable = response.status >= 500 || (response.status == 429 && options_.retry_on_429);
    }
    if (!retryable || (!until_stopped && !retry.enabled)) {
      if (hooks_.on_refused) hooks_.on_refused(error);
      return {absl::UnknownError(error), true};
    }
    const absl::Duration delay = backoff.NextDelay();
    if (!until_stopped && retry.max_elapsed_time > absl::ZeroDuration() &&
        absl::Now() - start + delay > retry.max_elapsed_time) {
      if (hooks_.on_out_of_retries) hooks_.on_out_of_retries(error);
      return {absl::UnknownError(absl::StrCat("no more retries left: ", error)), true};
    }
    if (hooks_.on_retry) hooks_.on_retry(error, delay);
    if (!WaitBeforeRetry(delay)) {
      return {absl::UnavailableError(absl::StrCat("shutting down before a retry: ", error)), false};
    }
  }
}

}  // namespace sprout::remotewrite
