#include "net/http_client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_set>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace sprout::net {

std::string_view HttpClientResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(AV(key), AV(name))) return value;
  }
  return {};
}

namespace {

// curl_global_init is not thread-safe and must run once before any other curl call; it is never
// undone (curl_global_cleanup at exit would race with clients still alive in other statics).
void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Without a call timeout, curl's own connect default (300 s) would be far too patient; Go's
// default dialer gives up after 30 s too.
constexpr absl::Duration kMaxConnectTimeout = absl::Seconds(30);

// How long one wait for socket activity lasts at most; curl lowers it to its own next timer, and
// CancelAll wakes the wait early, so this only bounds how stale a missed wake-up can get.
constexpr int kPollMillis = 1000;

// Go's error strings for errno are lower-case ("no such file or directory"); ours follow them
// because the messages around them are the Collector's.
std::string ErrnoText(int err) {
  std::string text = std::strerror(err);
  if (!text.empty()) text[0] = absl::ascii_tolower(static_cast<unsigned char>(text[0]));
  return text;
}

// Reads a whole (small) file, with Go's os.ReadFile messages on failure.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat("open ", path, ": ", ErrnoText(errno)));
  std::string contents;
  char buffer[8192];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return absl::FailedPreconditionError(absl::StrCat("read ", path, ": ", ErrnoText(err)));
    }
    if (n == 0) break;
    contents.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return contents;
}

// Checks the TLS files up front, so that a typo in a config fails at start with the file's name
// instead of at the first request with an OpenSSL error.
absl::Status CheckTlsFiles(const HttpClientOptions& options) {
  constexpr std::string_view kPrefix = "failed to load TLS config: ";
  if (!options.ca_file.empty()) {
    auto contents = ReadSmallFile(options.ca_file);
    if (!contents.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(AV(kPrefix), "failed to load CA CertPool File: failed to load cert ",
                       options.ca_file, ": ", contents.status().message()));
    }
    if (!absl::StrContains(*contents, "-----BEGIN CERTIFICATE-----")) {
      return absl::InvalidArgumentError(
          absl::StrCat(AV(kPrefix), "failed to load CA CertPool File: failed to load cert ",
                       options.ca_file, ": failed to append CA cert"));
    }
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        AV(kPrefix), "for auth via TLS, provide both certificate and key, or neither"));
  }
  for (const std::string* file : {&options.cert_file, &options.key_file}) {
    if (file->empty()) continue;
    auto contents = ReadSmallFile(*file);
    if (!contents.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          AV(kPrefix), "failed to load TLS cert and key: ", contents.status().message()));
    }
  }
  return absl::OkStatus();
}

// One pooled connection: an easy handle driven by a multi handle of its own. Driving the transfer
// through a multi handle (instead of curl_easy_perform) lets CancelAll interrupt a wait at once
// with curl_multi_wakeup; the multi handle owns the connection cache, so the kept-alive
// connection travels with the pair.
struct Connection {
  CURL* easy = nullptr;
  CURLM* multi = nullptr;

  ~Connection() {
    if (multi != nullptr) curl_multi_cleanup(multi);
    if (easy != nullptr) curl_easy_cleanup(easy);
  }
};

// What one call collects while curl runs its callbacks.
struct CallState {
  HttpClientResponse* response;
  size_t max_body;  // bytes of the body kept; the rest is dropped
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* state = static_cast<CallState*>(user);
  const size_t n = size * count;
  std::string& body = state->response->body;
  if (body.size() < state->max_body) body.append(data, std::min(n, state->max_body - body.size()));
  return n;  // all of it consumed, kept or not
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* state = static_cast<CallState*>(user);
  std::string_view line(data, size * count);
  // A status line starts a new response (an interim 1xx, or a proxy's CONNECT answer): only the
  // final response's headers are kept.
  if (absl::StartsWith(AV(line), "HTTP/")) {
    state->response->headers.clear();
    return size * count;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;  // the blank line, or folding junk
  std::string name(line.substr(0, colon));
  absl::AsciiStrToLower(&name);
  absl::string_view value = absl::StripAsciiWhitespace(AV(line.substr(colon + 1)));
  state->response->headers.emplace_back(std::move(name), std::string(value));
  return size * count;
}

class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(const HttpClientOptions& options) : options_(options) {}

  // Calls in progress while the client is destroyed are a caller bug; idle connections close.
  ~CurlHttpClient() override = default;

  HttpClientResponse Do(std::string_view method, const std::string& url,
                        const std::vector<std::pair<std::string, std::string>>& headers,
                        std::string_view body, absl::Duration timeout) override {
    HttpClientResponse response;
    if (closed_.load(std::memory_order_acquire)) {
      response.error = kCanceled;
      return response;
    }
    // A call started after CancelAll proceeds; one in progress when it runs ends. Close() sets
    // closed_ before it bumps the generation, so a call that missed closed_ above either sees
    // the new generation in Perform or was counted in active_ before Close woke them all.
    const uint64_t generation = generation_.load(std::memory_order_acquire);
    std::unique_ptr<Connection> connection = Borrow();
    if (connection == nullptr) {
      response.error = "failed to initialise libcurl";
      return response;
    }
    CallState state{&response, options_.max_response_body};
    curl_slist* header_list = BuildHeaders(headers, body, method);
    char error_buffer[CURL_ERROR_SIZE];
    error_buffer[0] = '\0';
    Configure(connection->easy, method, url, body, timeout, header_list, &state, error_buffer);

    CURLcode result = Perform(*connection, generation);
    if (result == CURLE_OK) {
      long status = 0;
      curl_easy_getinfo(connection->easy, CURLINFO_RESPONSE_CODE, &status);
      response.status = static_cast<int>(status);
    } else {
      response.status = 0;
      response.headers.clear();
      response.body.clear();
      if (result == CURLE_ABORTED_BY_CALLBACK) {
        response.error = kCanceled;
      } else {
        response.error = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(result);
      }
    }
    // The easy handle points at the header list and the caller's body: detach them before the
    // handle goes back to the pool.
    curl_easy_setopt(connection->easy, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(connection->easy, CURLOPT_ERRORBUFFER, nullptr);
    curl_slist_free_all(header_list);
    Return(std::move(connection));
    return response;
  }

  void Close() override {
    closed_.store(true, std::memory_order_release);
    CancelAll();
  }

  void CancelAll() override {
    generation_.fetch_add(1, std::memory_order_acq_rel);
    std::lock_guard<std::mutex> lock(mu_);
    // A wake-up sent before the call starts to wait is remembered by curl, so there is no window
    // in which a call misses it.
    for (Connection* connection : active_) curl_multi_wakeup(connection->multi);
  }

 private:
  std::unique_ptr<Connection> Borrow() {
    std::unique_ptr<Connection> pooled;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        pooled = std::move(idle_.back());
        idle_.pop_back();
        active_.insert(pooled.get());
      }
    }
    if (pooled != nullptr) {
      // Reset drops every option of the previous call but keeps the live connection (and the
      // DNS and TLS session caches), which is the point of pooling.
      curl_easy_reset(pooled->easy);
      return pooled;
    }
    auto connection = std::make_unique<Connection>();
    connection->easy = curl_easy_init();
    connection->multi = curl_multi_init();
    if (connection->easy == nullptr || connection->multi == nullptr) return nullptr;
    // One connection per pooled handle, so that max_idle_connections bounds open sockets.
    curl_multi_setopt(connection->multi, CURLMOPT_MAXCONNECTS, 1L);
    std::lock_guard<std::mutex> lock(mu_);
    active_.insert(connection.get());
    return connection;
  }

  void Return(std::unique_ptr<Connection> connection) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      active_.erase(connection.get());
      if (static_cast<int>(idle_.size()) < options_.max_idle_connections) {
        idle_.push_back(std::move(connection));
        return;
      }
    }
    // Over the limit: the connection closes here, outside the lock (a TLS close sends a message).
    connection.reset();
  }

  curl_slist* BuildHeaders(const std::vector<std::pair<std::string, std::string>>& headers,
                           std::string_view body, std::string_view method) {
    curl_slist* list = nullptr;
    bool has_expect = false;
    bool has_content_type = false;
    for (const auto& [name, value] : headers) {
      has_expect = has_expect || absl::EqualsIgnoreCase(name, "expect");
      has_content_type = has_content_type || absl::EqualsIgnoreCase(name, "content-type");
      // "Name:" would make curl drop the header; "Name;" is its syntax for an empty value.
      std::string line = value.empty() ? absl::StrCat(name, ";") : absl::StrCat(name, ": ", value);
      list = curl_slist_append(list, line.c_str());
    }
    // curl asks for `100 Continue` before bodies over 1 MiB and waits a second for it; our peers
    // answer at once, so the round trip is pure latency.
    if (!has_expect) list = curl_slist_append(list, "Expect:");
    // With a body, curl would otherwise claim application/x-www-form-urlencoded on its own.
    if (!has_content_type && (!body.empty() || method == "POST" || method == "PUT")) {
      list = curl_slist_append(list, "Content-Type:");
    }
    return list;
  }

  void Configure(CURL* easy, std::string_view method, const std::string& url, std::string_view body,
                 absl::Duration timeout, curl_slist* header_list, CallState* state,
                 char* error_buffer) {
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    // Signals cannot be used to interrupt DNS look-ups in a multi-threaded process.
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, header_list);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, state);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, state);
    if (!options_.user_agent.empty()) {
      curl_easy_setopt(easy, CURLOPT_USERAGENT, options_.user_agent.c_str());
    }

    if (method == "GET" && body.empty()) {
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    } else if (method == "HEAD") {
      curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else {
      if (!body.empty() || method == "POST" || method == "PUT") {
        // Sent from the caller's buffer without a copy; Do() does not return before curl is done.
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.data());
      }
      if (method != "POST") {
        // curl copies option strings, so the temporary may go.
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, std::string(method).c_str());
      }
    }

    absl::Duration connect_timeout = kMaxConnectTimeout;
    if (timeout > absl::ZeroDuration()) {
      // Round up so that a sub-millisecond timeout is not read as "no limit".
      long millis =
          static_cast<long>(absl::ToInt64Milliseconds(absl::Ceil(timeout, absl::Milliseconds(1))));
      curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, std::max(millis, 1L));
      connect_timeout = std::min(connect_timeout, timeout);
    }
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     std::max(1L, static_cast<long>(absl::ToInt64Milliseconds(
                                      absl::Ceil(connect_timeout, absl::Milliseconds(1))))));

    if (!options_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
    if (!options_.cert_file.empty()) {
      curl_easy_setopt(easy, CURLOPT_SSLCERT, options_.cert_file.c_str());
      curl_easy_setopt(easy, CURLOPT_SSLKEY, options_.key_file.c_str());
    }
    if (options_.insecure_skip_verify) {
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!options_.proxy_url.empty()) {
      curl_easy_setopt(easy, CURLOPT_PROXY, options_.proxy_url.c_str());
      curl_easy_setopt(easy, CURLOPT_NOPROXY, "");  // no_proxy from the environment does not apply
    }
    // Whole seconds, rounded up; zero (no limit) becomes a year.
    const absl::Duration max_age = options_.idle_connection_timeout > absl::ZeroDuration()
                                       ? options_.idle_connection_timeout
                                       : absl::Hours(24 * 365);
    curl_easy_setopt(
        easy, CURLOPT_MAXAGE_CONN,
        static_cast<long>(absl::ToInt64Seconds(absl::Ceil(max_age, absl::Seconds(1)))));
  }

  // Runs the transfer to its end; CURLE_ABORTED_BY_CALLBACK when CancelAll ran meanwhile.
  CURLcode Perform(Connection& connection, uint64_t generation) {
    if (curl_multi_add_handle(connection.multi, connection.easy) != CURLM_OK) {
      return CURLE_FAILED_INIT;
    }
    CURLcode result = CURLE_OK;
    bool done = false;
    while (!done) {
      if (generation_.load(std::memory_order_acquire) != generation ||
          closed_.load(std::memory_order_acquire)) {
        result = CURLE_ABORTED_BY_CALLBACK;
        break;
      }
      int running = 0;
      CURLMcode code = curl_multi_perform(connection.multi, &running);
      if (code != CURLM_OK) {
        result = CURLE_FAILED_INIT;
        break;
      }
      int queued = 0;
      while (CURLMsg* message = curl_multi_info_read(connection.multi, &queued)) {
        if (message->msg == CURLMSG_DONE) {
          result = message->data.result;
          done = true;
        }
      }
      if (done || running == 0) break;
      code = curl_multi_poll(connection.multi, nullptr, 0, kPollMillis, nullptr);
      if (code != CURLM_OK) {
        result = CURLE_FAILED_INIT;
        break;
      }
    }
    // Removing an unfinished transfer makes curl close its connection rather than reuse it.
    curl_multi_remove_handle(connection.multi, connection.easy);
    return result;
  }

  static constexpr const char* kCanceled = "request canceled";

  const HttpClientOptions options_;
  std::atomic<bool> closed_{false};
  std::atomic<uint64_t> generation_{0};
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
  std::unordered_set<Connection*> active_;         // guarded by mu_; for CancelAll
};

}  // namespace

absl::StatusOr<std::unique_ptr<HttpClient>> HttpClient::Create(const HttpClientOptions& options) {
  InitCurlOnce();
  RETURN_IF_ERROR(CheckTlsFiles(options));
  return std::unique_ptr<HttpClient>(new CurlHttpClient(options));
}

}  // namespace sprout::net
