#include "net/http_server.h"

#include <sys/socket.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <iterator>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "base/thread_pool.h"
#include "base/status.h"
#include "net/compression.h"
#include "net/tls_context.h"
#include "net/worker_pool.h"

namespace sprout::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

// Go's http.Server default (DefaultMaxHeaderBytes is 1 MiB).
constexpr uint32_t kMaxHeaderBytes = 1 << 20;
// After refusing an oversized body the client may still be sending it; closing with unread data
// makes the kernel send RST, which can destroy the response before the client reads it. So the
// connection first half-closes and drains for a while.
constexpr auto kLingerTime = std::chrono::seconds(1);
// Pause before accepting again after a failure such as EMFILE, so the loop does not spin.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);
// Connections being refused (503 written, draining) at once; beyond, excess ones are closed
// without a word, so a flood cannot make the refusals themselves pile up.
constexpr int kMaxRefusing = 256;
// A flat buffer larger than this is released when a connection goes idle.
constexpr size_t kIdleBufferKeep = 64 << 10;
constexpr std::string_view kContinueResponse = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::string_view kRefusedResponse =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Retry-After: 1\r\n"
    "Connection: close\r\n"
    "Content-Length: 26\r\n"
    "\r\n"
    "too many open connections\n";

std::string_view ToStd(beast::string_view s) { return std::string_view(s.data(), s.size()); }
beast::string_view ToBeast(std::string_view s) { return beast::string_view(s.data(), s.size()); }

Clock::duration ToChrono(absl::Duration d) {
  if (d <= absl::ZeroDuration()) return Clock::duration::zero();
  if (d == absl::InfiniteDuration()) return Clock::duration::zero();
  return std::chrono::duration_cast<Clock::duration>(absl::ToChronoNanoseconds(d));
}

// Go prints IPv6 addresses in brackets and IPv4-mapped IPv6 addresses as IPv4.
std::string FormatAddress(const asio::ip::address& address, int port) {
  if (address.is_v6()) {
    asio::ip::address_v6 v6 = address.to_v6();
    if (v6.is_v4_mapped()) {
      return absl::StrCat(asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string(), ":",
                          port);
    }
    return absl::StrCat("[", v6.to_string(), "]:", port);
  }
  return absl::StrCat(address.to_string(), ":", port);
}

// System error strings start with a capital ("Address already in use"); Go's are lower-case.
std::string ErrorText(const error_code& ec) {
  std::string text = ec.message();
  if (!text.empty()) text[0] = absl::ascii_tolower(static_cast<unsigned char>(text[0]));
  return text;
}

// RFC 9110 token characters, for header names.
bool ValidHeaderName(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (absl::ascii_isalnum(c)) continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// No CR, LF or NUL (response splitting); other control bytes are let through as Go does (tab).
bool ValidHeaderValue(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// Headers whose framing meaning belongs to the server.
bool IsFramingHeader(std::string_view name) {
  return absl::EqualsIgnoreCase(AV(name), "content-length") ||
         absl::EqualsIgnoreCase(AV(name), "transfer-encoding") ||
         absl::EqualsIgnoreCase(AV(name), "connection");
}

// The path of a request target without its query: origin-form as it is, absolute-form
// ("http://host/p?q", sent to proxies) reduced to its path as Go's URL parsing does.
std::string_view PathOf(std::string_view target) {
  target = target.substr(0, target.find('?'));
  if (target.empty() || target[0] == '/') return target;
  const size_t scheme = target.find("://");
  if (scheme == std::string_view::npos) return target;
  const size_t slash = target.find('/', scheme + 3);
  return slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
}

bool Bodiless(int status) { return status / 100 == 1 || status == 204 || status == 304; }

bool WantsClose(const HttpResponse& response) {
  for (const auto& [name, value] : response.headers) {
    if (absl::EqualsIgnoreCase(AV(name), "connection") &&
        absl::StrContains(absl::AsciiStrToLower(AV(value)), "close")) {
      return true;
    }
  }
  return false;
}

// Compresses the body in place when the route and the client agree on gzip.
void MaybeGzip(HttpResponse& response, bool gzip) {
  if (!gzip || response.body.empty() || Bodiless(response.status) ||
      !response.Header("content-encoding").empty()) {
    return;
  }
  auto compressed = GzipFast(response.body);
  if (!compressed.ok()) return;
  response.body = std::move(*compressed);
  response.SetHeader("Content-Encoding", "gzip");
  std::string vary(response.Header("vary"));
  response.SetHeader("Vary", vary.empty() ? "Accept-Encoding" : vary + ", Accept-Encoding");
}

// A gzip stream flushed at every Write, so that each chunk decodes as it arrives.
class GzipWriter {
 public:
  GzipWriter() {
    ok_ = deflateInit2(&z_, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~GzipWriter() {
    if (ok_) deflateEnd(&z_);
  }
  bool ok() const { return ok_; }
  void Write(std::string_view in, bool finish, std::string* out) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    const int flush = finish ? Z_FINISH : Z_SYNC_FLUSH;
    for (;;) {
      const size_t old = out->size();
      out->resize(old + 16384);
      z_.next_out = reinterpret_cast<Bytef*>(out->data() + old);
      z_.avail_out = 16384;
      const int rc = deflate(&z_, flush);
      out->resize(old + 16384 - z_.avail_out);
      if (rc == Z_STREAM_END || (z_.avail_out != 0 && z_.avail_in == 0)) break;
      if (rc != Z_OK && rc != Z_BUF_ERROR) break;
    }
  }

 private:
  z_stream z_{};
  bool ok_ = false;
};

class SessionBase;
class WorkerPoolHolder;

// What the connections share with the server; it outlives the server object when the last
// session is only destroyed with the io_context.
struct ServerState {
  std::shared_ptr<const Router> router;
  uint64_t max_body = 0;
  Clock::duration read_header_timeout{};
  Clock::duration read_timeout{};
  Clock::duration write_timeout{};
  Clock::duration idle_timeout{};
  int max_connections = 0;
  std::unique_ptr<TlsServerContext> tls;
  std::unique_ptr<WorkerPool> pool;
  std::atomic<bool> stopping{false};
  std::atomic<int> open{0};
  std::atomic<int> refusing{0};

  std::mutex mu;
  std::condition_variable drained;  // signalled when `sessions` becomes empty
  std::unordered_map<const SessionBase*, std::weak_ptr<SessionBase>> sessions;

  std::vector<std::shared_ptr<SessionBase>> Snapshot() {
    std::vector<std::shared_ptr<SessionBase>> out;
    std::lock_guard<std::mutex> lock(mu);
    out.reserve(sessions.size());
    for (auto& [key, weak] : sessions) {
      if (auto s = weak.lock()) out.push_back(std::move(s));
    }
    return out;
  }
};

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void NotifyShutdown() = 0;   // any thread: posts to the strand
  virtual void CloseNow() = 0;         // only once no I/O thread runs
  virtual void CancelInFlight() = 0;   // only once no I/O thread runs
  virtual void PostStreamWrite() = 0;  // any thread: writes the exchange's pending bytes
};

// One request handed to the worker pool: the request and response, and the streaming state
// shared by the worker (which produces bytes) and the connection's strand (which writes them).
class Exchange final : public internal::ResponseStream {
 public:
  HttpRequest request;
  HttpResponse response;
  const Route* route = nullptr;
  bool gzip = false;
  bool is_head = false;
  bool chunked = true;  // HTTP/1.1; HTTP/1.0 streams end with the connection instead
  unsigned version = 11;
  std::weak_ptr<SessionBase> session;

  void AttachTo(HttpResponse& r) { Attach(r, this); }

  bool Write(HttpResponse& r, std::string_view data) override {
    std::string out;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (failed_ || finished_) return false;
      if (!started_) {
        started_ = true;
        if (gzip) {
          gz_ = std::make_unique<GzipWriter>();
          if (!gz_->ok()) gz_.reset();
        }
        out = Header(r);
      }
    }
    if (!is_head) AppendBody(data, /*finish=*/false, &out);
    if (out.empty()) return true;
    return Send(std::move(out));
  }

  bool started() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return started_;
  }

  // After the handler returned: the stream's end (last chunk), when it was streaming.
  bool Finish() {
    std::string out;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!started_ || failed_ || finished_) return !failed_;
      finished_ = true;
    }
    if (!is_head) AppendBody({}, /*finish=*/true, &out);
    if (out.empty()) return true;
    return Send(std::move(out));
  }

  // The strand takes the pending bytes (valid until Written).
  std::string* pending() { return &pending_bytes_; }
  void Written(bool ok) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_ = false;
      if (!ok) failed_ = true;
    }
    cv_.notify_all();
  }
  void Fail() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      failed_ = true;
    }
    cv_.notify_all();
  }
  bool failed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return failed_;
  }

 private:
  std::string Header(const HttpResponse& r) const {
    int status = r.status < 100 || r.status > 999 ? 500 : r.status;
    std::string out =
        absl::StrCat("HTTP/1.", version == 10 ? "0" : "1", " ", status, " ",
                     AV(ToStd(http::obsolete_reason(static_cast<http::status>(status)))), "\r\n");
    for (const auto& [name, value] : r.headers) {
      if (!ValidHeaderName(name) || !ValidHeaderValue(value) || IsFramingHeader(name)) continue;
      if (gz_ != nullptr && (absl::EqualsIgnoreCase(AV(name), "content-encoding") ||
                             absl::EqualsIgnoreCase(AV(name), "vary"))) {
        continue;
      }
      absl::StrAppend(&out, name, ": ", value, "\r\n");
    }
    if (gz_ != nullptr) {
      std::string vary(r.Header("vary"));
      absl::StrAppend(&out, "Content-Encoding: gzip\r\nVary: ",
                      vary.empty() ? "Accept-Encoding" : vary + ", Accept-Encoding", "\r\n");
    }
    if (chunked) {
      out += "Transfer-Encoding: chunked\r\n";
    } else {
      out += "Connection: close\r\n";
    }
    out += "\r\n";
    return out;
  }

  void AppendBody(std::string_view data, bool finish, std::string* out) {
    std::string compressed;
    if (gz_ != nullptr) {
      gz_->Write(data, finish, &compressed);
      data = compressed;
    }
    if (!chunked) {
      out->append(data);
      return;
    }
    if (!data.empty()) absl::StrAppend(out, absl::Hex(data.size()), "\r\n", AV(data), "\r\n");
    if (finish) out->append("0\r\n\r\n");
  }

  // Hands `bytes` to the strand and waits until they are written (or the connection failed).
  bool Send(std::string bytes) {
    std::shared_ptr<SessionBase> s = session.lock();
    std::unique_lock<std::mutex> lock(mu_);
    if (failed_ || s == nullptr) {
      failed_ = true;
      return false;
    }
    pending_bytes_ = std::move(bytes);
    pending_ = true;
    lock.unlock();
    s->PostStreamWrite();
    s.reset();
    lock.lock();
    cv_.wait(lock, [this] { return !pending_ || failed_; });
    return !failed_;
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;
  bool finished_ = false;
  bool failed_ = false;
  bool pending_ = false;
  std::string pending_bytes_;
  std::unique_ptr<GzipWriter> gz_;
};

// A connection accepted beyond max_connections: answered with a fixed 503, half-closed, drained
// briefly and closed.
class RefusedConnection : public std::enable_shared_from_this<RefusedConnection> {
 public:
  RefusedConnection(std::shared_ptr<ServerState> state, tcp::socket socket)
      : state_(std::move(state)), stream_(std::move(socket)) {}
  ~RefusedConnection() { state_->refusing.fetch_sub(1); }

  void Start() {
    stream_.expires_after(kLingerTime);
    stream_.async_write_some(asio::buffer(kRefusedResponse.data(), kRefusedResponse.size()),
                             [self = shared_from_this()](error_code ec, size_t) {
                               error_code ignored;
                               if (ec) {
                                 self->stream_.socket().close(ignored);
                                 return;
                               }
                               self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                               self->Drain();
                             });
  }

 private:
  void Drain() {
    stream_.async_read_some(asio::buffer(buf_), [self = shared_from_this()](error_code ec, size_t) {
      if (ec) {
        error_code ignored;
        self->stream_.socket().close(ignored);
        return;
      }
      self->Drain();
    });
  }

  std::shared_ptr<ServerState> state_;
  beast::tcp_stream stream_;
  char buf_[4096];
};

// One connection. Every member runs on the connection's strand, except the constructor and the
// SessionBase methods documented otherwise.
template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

 public:
  Session(std::shared_ptr<ServerState> state, tcp::socket socket,
          std::shared_ptr<asio::ssl::context> tls_context = nullptr)
      : state_(std::move(state)),
        tls_context_(std::move(tls_context)),
        stream_(MakeStream(std::move(socket), tls_context_.get())),
        deadline_timer_(stream_.get_executor()) {
    error_code ec;
    tcp::endpoint remote = Lowest().socket().remote_endpoint(ec);
    if (!ec) remote_address_ = FormatAddress(remote.address(), remote.port());
  }

  ~Session() override {
    state_->open.fetch_sub(1);
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->sessions.erase(this);
    if (state_->sessions.empty()) state_->drained.notify_all();
  }

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->Begin(); });
  }

  void NotifyShutdown() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->OnShutdown(); });
  }

  void CloseNow() override { Close(); }

  void CancelInFlight() override {
    if (exchange_ != nullptr) {
      if (exchange_->request.control) exchange_->request.control->Cancel(CancelReason::kShutdown);
      exchange_->Fail();
    }
  }

  void PostStreamWrite() override {
    asio::post(stream_.get_executor(),
               [self = this->shared_from_this()] { self->DoStreamWrite(); });
  }

 private:
  enum class Phase {
    kAwaitingRequest,  // nothing of the next request read yet (idle keep-alive, or a new one)
    kReadingHeader,    // part of a header read
    kReadingBody,      // the request's header is in: it counts as in flight
    kHandling,         // the handler runs on the worker pool
    kWriting,
    kLingering,  // half-closed, draining an unread body before closing
    kClosed,
  };

  static Stream MakeStream(tcp::socket socket, asio::ssl::context* context) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *context);
    } else {
      return Stream(std::move(socket));
    }
  }

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void ExpireAt(Clock::time_point t) {
    if (t == Clock::time_point::max()) {
      Lowest().expires_never();
    } else {
      Lowest().expires_at(t);
    }
  }

  // The point `d` after `from`, or "never" for a zero duration.
  static Clock::time_point After(Clock::time_point from, Clock::duration d) {
    return d == Clock::duration::zero() ? Clock::time_point::max() : from + d;
  }

  void Begin() {
    request_start_ = Clock::now();
    if constexpr (kTls) {
      // Go bounds the handshake by the shortest of its read and write timeouts; the header
      // timeout covers it here (the handshake is the first thing the client must send).
      Clock::duration limit = state_->read_header_timeout != Clock::duration::zero()
                                  ? state_->read_header_timeout
                                  : state_->read_timeout;
      ExpireAt(After(request_start_, limit));
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](error_code ec) {
                                if (ec) return self->Close();
                                self->request_start_ = Clock::now();
                                self->ReadHeader();
                              });
    } else {
      ReadHeader();
    }
  }

  // After a response on a keep-alive connection: wait (idle_timeout) for the next request.
  void Next() {
    if (state_->stopping.load()) return Close();
    phase_ = Phase::kAwaitingRequest;
    if (buffer_.size() > 0) {  // pipelined: the next request is already here
      request_start_ = Clock::now();
      return ReadHeader();
    }
    if (buffer_.capacity() > kIdleBufferKeep) buffer_.shrink_to_fit();
    const Clock::duration idle = state_->idle_timeout != Clock::duration::zero()
                                     ? state_->idle_timeout
                                     : state_->read_timeout;
    ExpireAt(After(Clock::now(), idle));
    stream_.async_read_some(
        buffer_.prepare(std::max<size_t>(4096, buffer_.capacity() - buffer_.size())),
        [self = this->shared_from_this()](error_code ec, size_t n) {
          if (ec) return self->Close();  // idle timeout, the client closed, or shutdown
          self->buffer_.commit(n);
          self->request_start_ = Clock::now();
          self->ReadHeader();
        });
  }

  void ReadHeader() {
    if (state_->stopping.load()) return Close();
    phase_ = buffer_.size() > 0 ? Phase::kReadingHeader : Phase::kAwaitingRequest;
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(state_->max_body);
    header_done_ = false;
    Clock::duration limit = state_->read_header_timeout != Clock::duration::zero()
                                ? state_->read_header_timeout
                                : state_->read_timeout;
    ExpireAt(After(request_start_, limit));
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](error_code ec, size_t) { self->OnHeader(ec); });
  }

  // The header is parsed (also when the parser then reported body_limit).
  void HeaderDone() {
    header_done_ = true;
    header_end_ = Clock::now();
    phase_ = Phase::kReadingBody;
    const auto& msg = parser_->get();
    std::string_view path = PathOf(ToStd(msg.target()));
    params_.clear();
    match_ = state_->router->Find(ToStd(msg.method_string()), path, &params_);
    Clock::duration timeout = state_->write_timeout;
    if (match_.route != nullptr && match_.route->options.timeout > absl::ZeroDuration()) {
      timeout = ToChrono(match_.route->options.timeout);
    }
    deadline_ = After(header_end_, timeout);
  }

  void OnHeader(error_code ec) {
    if (ec == http::error::body_limit) {
      HeaderDone();
      return Dispatch(/*body_too_large=*/true);
    }
    if (ec) return OnReadError(ec);
    HeaderDone();
    if (parser_->is_done()) return Dispatch(/*body_too_large=*/false);
    ExpireAt(After(request_start_, state_->read_timeout));
    const auto& msg = parser_->get();
    if (msg.version() >= 11 &&
        absl::EqualsIgnoreCase(AV(ToStd(msg[http::field::expect])), "100-continue")) {
      // Clients such as curl wait (up to a second) for this before sending the body.
      asio::async_write(stream_, asio::buffer(kContinueResponse.data(), kContinueResponse.size()),
                        [self = this->shared_from_this()](error_code ec, size_t) {
                          if (ec) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](error_code ec, size_t) {
                       if (ec) return self->OnReadError(ec);
                       self->Dispatch(/*body_too_large=*/false);
                     });
  }

  void OnReadError(const error_code& ec) {
    if (ec == http::error::body_limit) {
      if (!header_done_) HeaderDone();
      return Dispatch(/*body_too_large=*/true);
    }
    if (ec == http::error::header_limit) {
      return SendError(431, "431 Request Header Fields Too Large");
    }
    const bool parse_error =
        ec.category() == http::make_error_code(http::error::bad_target).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message;
    if (parse_error && phase_ != Phase::kClosed) return SendError(400, "400 Bad Request");
    // Peer closed, reset, a timeout (which has closed the socket already), or shutdown: Go
    // closes without an answer too.
    Close();
  }

  void Dispatch(bool body_too_large) {
    auto& msg = parser_->get();
    HttpRequest request;
    request.method = std::string(ToStd(msg.method_string()));
    request.target = std::string(ToStd(msg.target()));
    request.path = std::string(PathOf(request.target));
    if (size_t q = request.target.find('?'); q != std::string::npos) {
      request.query = request.target.substr(q + 1);
    }
    request.headers.reserve(std::distance(msg.begin(), msg.end()));
    for (const auto& field : msg) {
      request.headers.emplace_back(absl::AsciiStrToLower(AV(ToStd(field.name_string()))),
                                   std::string(ToStd(field.value())));
    }
    if (!body_too_large) request.body = std::move(msg.body());
    request.body_too_large = body_too_large;
    request.remote_address = remote_address_;
    request.tls = kTls;

    keep_alive_ = !body_too_large && parser_->keep_alive();
    is_head_ = msg.method() == http::verb::head;
    version_ = msg.version() == 10 ? 10 : 11;
    linger_ = body_too_large;
    const bool gzip = match_.route != nullptr && match_.route->options.gzip &&
                      AcceptsGzip(ToStd(msg[http::field::accept_encoding]));
    parser_.reset();  // the request (and its body) is no longer needed while writing

    const Router& router = *state_->router;
    HttpResponse response;
    if (router.Intercept(request, response)) return Reply(std::move(response));
    if (match_.route == nullptr) {
      Router::WriteNoRoute(match_, response);
      return Reply(std::move(response));
    }
    request.pattern = match_.route->pattern;
    request.path_params = std::move(params_);
    if (match_.route->options.execution == RouteExecution::kInline || state_->pool == nullptr) {
      try {
        router.Serve(*match_.route, request, response);
      } catch (...) {
        response = HttpResponse(500, {{"Content-Type", "text/plain; charset=utf-8"}},
                                "500 Internal Server Error");
      }
      MaybeGzip(response, gzip);
      return Reply(std::move(response));
    }
    StartWorker(std::move(request), std::move(response), gzip);
  }

  void StartWorker(HttpRequest request, HttpResponse response, bool gzip) {
    auto exchange = std::make_shared<Exchange>();
    exchange->route = match_.route;
    exchange->gzip = gzip;
    exchange->is_head = is_head_;
    exchange->version = version_;
    exchange->chunked = version_ >= 11;
    exchange->session = this->shared_from_this();
    exchange->request = std::move(request);
    exchange->response = std::move(response);
    absl::Time deadline = absl::InfiniteFuture();
    if (deadline_ != Clock::time_point::max()) {
      deadline = absl::Now() + absl::FromChrono(deadline_ - Clock::now());
    }
    exchange->request.control = std::make_shared<RequestControl>(deadline);
    exchange->AttachTo(exchange->response);

    phase_ = Phase::kHandling;
    exchange_ = exchange;
    const bool scheduled =
        state_->pool->TrySchedule([exchange, state = state_, self = this->shared_from_this()] {
          try {
            state->router->Serve(*exchange->route, exchange->request, exchange->response);
          } catch (...) {
            if (!exchange->started()) {
              exchange->response =
                  HttpResponse(500, {{"Content-Type", "text/plain; charset=utf-8"}},
                               "500 Internal Server Error");
            }
          }
          if (exchange->started()) {
            exchange->Finish();
          } else {
            MaybeGzip(exchange->response, exchange->gzip);
          }
          asio::post(self->stream_.get_executor(), [self] { self->OnWorkerDone(); });
        });
    if (!scheduled) {
      exchange_.reset();
      HttpResponse busy;
      busy.SetHeader("Retry-After", "1");
      WriteHttpError(busy, 503, "server busy: too many requests queued");
      return Reply(std::move(busy));
    }
    if (deadline_ != Clock::time_point::max()) {
      deadline_timer_.expires_at(deadline_);
      deadline_timer_.async_wait([self = this->shared_from_this()](error_code ec) {
        if (ec || self->exchange_ == nullptr) return;
        self->exchange_->request.control->Cancel(CancelReason::kDeadline);
      });
    }
    Watch();
  }

  // Waits for the socket to become readable while a worker handles the request: readable with
  // nothing to read means the client closed its side (or reset the connection), and the request
  // is cancelled. Readable with data means the client sent more (a pipelined request, or a TLS
  // record): watching stops, the bytes stay in the kernel for the next read.
  void Watch() {
    watching_ = true;
    const uint64_t generation = ++watch_generation_;
    Lowest().socket().async_wait(
        tcp::socket::wait_read, [self = this->shared_from_this(), generation](error_code ec) {
          if (generation != self->watch_generation_ || !self->watching_) return;
          self->watching_ = false;
          if (ec) return;  // cancelled, or the socket closed
          char byte;
          const ssize_t n =
              ::recv(self->Lowest().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
          if (n > 0) return;
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            return self->Watch();
          }
          // EOF or an error: the client will send nothing more, and the request is cancelled
          // (as Go cancels the request's context). After EOF the client may still read (a
          // half-close), so a response the handler produces is written; after a reset
          // nothing can be.
          if (n < 0) self->peer_gone_ = true;
          if (self->exchange_ != nullptr) {
            self->exchange_->request.control->Cancel(CancelReason::kClientGone);
          }
        });
  }

  void StopWatching() {
    deadline_timer_.cancel();
    if (watching_) {
      watching_ = false;
      ++watch_generation_;
      error_code ignored;
      Lowest().socket().cancel(ignored);
    }
  }

  void DoStreamWrite() {
    if (exchange_ == nullptr) return;
    std::shared_ptr<Exchange> exchange = exchange_;
    if (phase_ == Phase::kClosed || peer_gone_) return exchange->Fail();
    if (deadline_ != Clock::time_point::max() && Clock::now() >= deadline_) {
      return exchange->Fail();
    }
    ExpireAt(deadline_);
    asio::async_write(stream_, asio::buffer(*exchange->pending()),
                      [self = this->shared_from_this(), exchange](error_code ec, size_t) {
                        exchange->Written(!ec);
                      });
  }

  void OnWorkerDone() {
    StopWatching();
    std::shared_ptr<Exchange> exchange = std::move(exchange_);
    if (phase_ == Phase::kClosed || exchange == nullptr) return;
    if (peer_gone_) return Close();
    if (exchange->started()) {
      // Streamed: the body is delimited by the last chunk, or by the close for HTTP/1.0.
      if (exchange->failed()) return Close();
      if (!keep_alive_ || !exchange->chunked || WantsClose(exchange->response) ||
          state_->stopping.load()) {
        return Linger();  // see OnWrite
      }
      return Next();
    }
    Reply(std::move(exchange->response));
  }

  void SendError(int status, std::string body) {
    HttpResponse response(status, {{"Content-Type", "text/plain; charset=utf-8"}}, std::move(body));
    version_ = parser_ && parser_->get().version() == 10 ? 10 : 11;
    keep_alive_ = false;
    is_head_ = false;
    linger_ = true;
    if (!header_done_) deadline_ = After(Clock::now(), state_->write_timeout);
    parser_.reset();
    Reply(std::move(response));
  }

  void Reply(HttpResponse response) {
    bool keep_alive = keep_alive_ && !state_->stopping.load() && !WantsClose(response);
    if (deadline_ != Clock::time_point::max() && Clock::now() >= deadline_) {
      // Past the write timeout: Go's write would fail here; the client sees the close.
      return Close();
    }
    BuildResponse(std::move(response), keep_alive);
    close_after_write_ = !keep_alive;
    phase_ = Phase::kWriting;
    ExpireAt(deadline_);
    http::async_write(stream_, response_, [self = this->shared_from_this()](error_code ec, size_t) {
      self->OnWrite(ec);
    });
  }

  void BuildResponse(HttpResponse response, bool keep_alive) {
    response_ = {};
    response_.version(version_);
    int status = response.status;
    if (status < 100 || status > 999) status = 500;
    response_.result(static_cast<unsigned>(status));
    for (const auto& [name, value] : response.headers) {
      // Framing is the server's job: it must match what is actually written. Headers that
      // would split the response are dropped (Go drops them too).
      if (IsFramingHeader(name) || !ValidHeaderName(name) || !ValidHeaderValue(value)) continue;
      response_.insert(ToBeast(name), ToBeast(value));
    }
    response_.keep_alive(keep_alive);
    if (Bodiless(status)) return;  // RFC 9110: no body and no Content-Length
    if (is_head_) {
      // The length the GET would have had, without the body itself.
      response_.content_length(response.body.size());
      return;
    }
    response_.body() = std::move(response.body);
    response_.prepare_payload();
  }

  void OnWrite(error_code ec) {
    response_ = {};
    if (ec) return Close();
    // A connection that ends after this response half-closes and drains what the client still
    // sends (pipelined requests, the rest of a body) before closing: closing with unread bytes
    // makes the kernel send a reset, which can destroy the end of the response before the
    // client has read it (found by http_server_fuzzer). Go pauses before closing for the same
    // reason.
    if (linger_ || close_after_write_ || state_->stopping.load()) return Linger();
    Next();
  }

  void Linger() {
    phase_ = Phase::kLingering;
    error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (state_->stopping.load()) return Close();
    buffer_.clear();
    Lowest().expires_after(kLingerTime);
    Drain();
  }

  void Drain() {
    // The raw socket: after a TLS response the drained bytes are not worth decrypting.
    Lowest().async_read_some(buffer_.prepare(16 << 10),
                             [self = this->shared_from_this()](error_code ec, size_t) {
                               if (ec) return self->Close();  // EOF, timeout or shutdown
                               self->Drain();
                             });
  }

  void OnShutdown() {
    // Connections with a request in flight finish it; OnWrite closes them afterwards.
    if (phase_ == Phase::kAwaitingRequest || phase_ == Phase::kReadingHeader ||
        phase_ == Phase::kLingering) {
      Close();
    }
  }

  void Close() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    deadline_timer_.cancel();
    watching_ = false;
    if (exchange_ != nullptr) {
      exchange_->request.control->Cancel(CancelReason::kClientGone);
      exchange_->Fail();
    }
    error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().close();
  }

  std::shared_ptr<ServerState> state_;
  std::shared_ptr<asio::ssl::context> tls_context_;  // kept alive for the connection
  Stream stream_;
  asio::steady_timer deadline_timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  std::string remote_address_;
  Phase phase_ = Phase::kAwaitingRequest;

  Clock::time_point request_start_;
  Clock::time_point header_end_;
  Clock::time_point deadline_ = Clock::time_point::max();  // the response's write deadline
  bool header_done_ = false;
  Router::Match match_;
  std::vector<std::pair<std::string, std::string>> params_;

  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool is_head_ = false;
  bool linger_ = false;
  bool close_after_write_ = false;

  std::shared_ptr<Exchange> exchange_;  // while a worker handles the request
  bool watching_ = false;
  uint64_t watch_generation_ = 0;
  bool peer_gone_ = false;
};

using PlainSession = Session<beast::tcp_stream>;
using TlsSession = Session<beast::ssl_stream<beast::tcp_stream>>;

class HttpServerImpl final : public HttpServer {
 public:
  HttpServerImpl(const HttpServerOptions& options, Router router)
      : state_(std::make_shared<ServerState>()),
        threads_count_(options.threads < 1 ? 1 : options.threads),
        ioc_(threads_count_),
        work_(asio::make_work_guard(ioc_)),
        acceptor_(ioc_),
        retry_timer_(ioc_) {
    state_->router = std::make_shared<const Router>(std::move(router));
    state_->max_body =
        static_cast<uint64_t>(options.max_request_body_size > 0 ? options.max_request_body_size
                                                                : kDefaultMaxRequestBodySize);
    state_->read_header_timeout = ToChrono(options.read_header_timeout);
    state_->read_timeout = ToChrono(options.read_timeout);
    state_->write_timeout = ToChrono(options.write_timeout);
    state_->idle_timeout = ToChrono(options.idle_timeout);
    state_->max_connections = std::max(options.max_connections, 0);
  }

  ~HttpServerImpl() override { Shutdown(absl::ZeroDuration()); }

  absl::Status Prepare(const HttpServerOptions& options, bool needs_pool) {
    if (options.tls.has_value()) {
      ASSIGN_OR_RETURN(state_->tls, TlsServerContext::Create(*options.tls));
    }
    if (needs_pool) {
      int workers = options.worker_threads;
      if (workers <= 0)
        workers = std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
      ASSIGN_OR_RETURN(state_->pool,
                       WorkerPool::Create(
                           workers, static_cast<size_t>(std::max(options.max_queued_requests, 1))));
    }
    return absl::OkStatus();
  }

  // `endpoint` is only used in error messages.
  absl::Status Listen(const std::string& host, int port, std::string_view endpoint) {
    std::vector<tcp::endpoint> candidates;
    if (host.empty()) {
      // All interfaces: dual-stack like Go's ":port"; IPv4 only where IPv6 is unavailable.
      candidates.emplace_back(tcp::v6(), port);
      candidates.emplace_back(tcp::v4(), port);
    } else if (absl::EqualsIgnoreCase(host, "localhost")) {
      // Go prefers IPv4 for listeners; not resolving also sidesteps odd /etc/hosts entries.
      candidates.emplace_back(asio::ip::address_v4::loopback(), port);
    } else {
      error_code ec;
      asio::ip::address address = asio::ip::make_address(host, ec);
      if (!ec) {
        candidates.emplace_back(address, port);
      } else {
        tcp::resolver resolver(ioc_);
        auto results = resolver.resolve(host, std::to_string(port), ec);
        if (ec || results.empty()) {
          return absl::UnavailableError(
              absl::StrCat("listen tcp ", AV(endpoint), ": lookup ", host, ": ", ErrorText(ec)));
        }
        std::optional<tcp::endpoint> chosen;
        for (const auto& entry : results) {
          if (entry.endpoint().address().is_v4()) {
            chosen = entry.endpoint();
            break;
          }
        }
        candidates.push_back(chosen.value_or(results.begin()->endpoint()));
      }
    }

    absl::Status status;
    for (size_t i = 0; i < candidates.size(); ++i) {
      const tcp::endpoint& ep = candidates[i];
      const std::string shown =
          host.empty() ? absl::StrCat(":", port) : FormatAddress(ep.address(), ep.port());
      error_code ec;
      std::string_view step;
      if (acceptor_.is_open()) acceptor_.close(ec);
      if (acceptor_.open(ep.protocol(), ec); ec) {
        step = "socket";
      } else {
        // Lets a restarted server bind while old connections sit in TIME_WAIT; it does not let
        // two listeners share the port on Linux.
        acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
        if (host.empty() && ep.address().is_v6())
          acceptor_.set_option(asio::ip::v6_only(false), ec);
        if (acceptor_.bind(ep, ec); ec) {
          step = "bind";
        } else if (acceptor_.listen(asio::socket_base::max_listen_connections, ec); ec) {
          step = "listen";
        }
      }
      if (!ec) {
        port_ = acceptor_.local_endpoint().port();
        return absl::OkStatus();
      }
      status = absl::UnavailableError(
          absl::StrCat("listen tcp ", shown, ": ", AV(step), ": ", ErrorText(ec)));
      const bool no_ipv6 = ec == asio::error::address_family_not_supported ||
                           ec == boost::system::errc::address_not_available;
      if (!(host.empty() && ep.address().is_v6() && no_ipv6)) break;
    }
    error_code ignored;
    acceptor_.close(ignored);
    return status;
  }

  absl::Status Run() {
    {
      std::lock_guard<std::mutex> lock(acceptor_mu_);
      Accept();
    }
    threads_.reserve(threads_count_);
    for (int i = 0; i < threads_count_; ++i) {
      absl::StatusOr<std::thread> thread = StartThread([this] { ioc_.run(); });
      if (!thread.ok()) {
        Shutdown(absl::ZeroDuration());  // joins the threads already started
        return absl::Status(thread.status().code(),
                            absl::StrCat("http server: ", thread.status().message()));
      }
      threads_.push_back(std::move(*thread));
    }
    return absl::OkStatus();
  }

  int port() const override { return port_; }
  int open_connections() const override { return state_->open.load(); }

  void Shutdown(absl::Duration grace) override {
    {
      std::lock_guard<std::mutex> lock(shutdown_mu_);
      if (shut_down_) return;
      shut_down_ = true;
    }
    state_->stopping.store(true);
    {
      std::lock_guard<std::mutex> lock(acceptor_mu_);
      accepting_ = false;
      error_code ignored;
      acceptor_.close(ignored);
      retry_timer_.cancel();
    }
    // Every session registered before accepting_ was cleared, so the snapshot sees them all;
    // those reading a request later see `stopping` themselves.
    for (auto& session : state_->Snapshot()) session->NotifyShutdown();
    if (grace > absl::ZeroDuration()) {
      std::unique_lock<std::mutex> lock(state_->mu);
      state_->drained.wait_for(lock, absl::ToChronoNanoseconds(grace),
                               [this] { return state_->sessions.empty(); });
    }
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    // No I/O thread runs now, so sessions can be touched directly. Handlers still running on
    // workers see their request cancelled and their stream fail; an inline handler past the
    // grace period has delayed the join above (threads cannot be interrupted).
    std::vector<std::shared_ptr<SessionBase>> sessions = state_->Snapshot();
    for (auto& session : sessions) session->CancelInFlight();
    if (state_->pool != nullptr) state_->pool->Shutdown();
    // The sessions' objects live on in the io_context's queue until the server is destroyed;
    // the peers see the close now.
    for (auto& session : sessions) session->CloseNow();
  }

 private:
  // Called with acceptor_mu_ held.
  void Accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](error_code ec, tcp::socket socket) {
      OnAccept(ec, std::move(socket));
    });
  }

  void OnAccept(error_code ec, tcp::socket socket) {
    std::lock_guard<std::mutex> lock(acceptor_mu_);
    if (!accepting_) return;
    if (ec) {
      // Typically EMFILE/ENFILE: keep the listener alive and try again shortly.
      retry_timer_.expires_after(kAcceptRetryDelay);
      retry_timer_.async_wait([this](error_code ec) {
        if (ec) return;
        std::lock_guard<std::mutex> lock(acceptor_mu_);
        if (accepting_) Accept();
      });
      return;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);  // as Go does for every TCP connection
    if (state_->max_connections > 0 && state_->open.load() >= state_->max_connections) {
      Refuse(std::move(socket));
    } else {
      state_->open.fetch_add(1);
      if (state_->tls != nullptr) {
        StartSession(
            std::make_shared<TlsSession>(state_, std::move(socket), state_->tls->Current()));
      } else {
        StartSession(std::make_shared<PlainSession>(state_, std::move(socket)));
      }
    }
    Accept();
  }

  template <class S>
  void StartSession(std::shared_ptr<S> session) {
    {
      std::lock_guard<std::mutex> sessions_lock(state_->mu);
      state_->sessions.emplace(session.get(), session);
    }
    session->Start();
  }

  void Refuse(tcp::socket socket) {
    error_code ignored;
    if (state_->tls != nullptr || state_->refusing.fetch_add(1) >= kMaxRefusing) {
      if (state_->tls == nullptr) state_->refusing.fetch_sub(1);
      socket.close(ignored);
      return;
    }
    std::make_shared<RefusedConnection>(state_, std::move(socket))->Start();
  }

  std::shared_ptr<ServerState> state_;
  int threads_count_;
  int port_ = 0;
  // Declared before everything that holds I/O objects: destroyed last.
  asio::io_context ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;

  // The acceptor is used from the I/O threads and from Shutdown; asio objects need external
  // serialisation for that.
  std::mutex acceptor_mu_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  bool accepting_ = true;

  std::mutex shutdown_mu_;
  bool shut_down_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace

bool AcceptsGzip(std::string_view accept_encoding) {
  bool gzip = false;
  bool star = false;
  bool gzip_refused = false;
  for (absl::string_view part : absl::StrSplit(AV(accept_encoding), ',')) {
    std::vector<absl::string_view> fields = absl::StrSplit(part, ';');
    absl::string_view coding = absl::StripAsciiWhitespace(fields[0]);
    double q = 1;
    for (size_t i = 1; i < fields.size(); ++i) {
      absl::string_view param = absl::StripAsciiWhitespace(fields[i]);
      if (absl::StartsWithIgnoreCase(param, "q=")) {
        if (!absl::SimpleAtod(param.substr(2), &q)) q = 0;
      }
    }
    if (absl::EqualsIgnoreCase(coding, "gzip") || absl::EqualsIgnoreCase(coding, "x-gzip")) {
      if (q > 0) {
        gzip = true;
      } else {
        gzip_refused = true;
      }
    } else if (coding == "*" && q > 0) {
      star = true;
    }
  }
  return gzip || (star && !gzip_refused);
}

absl::Status SplitHostPort(std::string_view endpoint, std::string* host, int* port) {
  // Go's net.SplitHostPort, plus a numeric port check (Go's Listen does that later).
  auto fail = [endpoint](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("address ", AV(endpoint), ": ", AV(why)));
  };
  const size_t colon = endpoint.rfind(':');
  if (colon == std::string_view::npos) return fail("missing port in address");
  std::string_view host_part;
  size_t host_start = 0;  // where '[' may no longer appear
  size_t host_end = 0;    // where ']' may no longer appear
  if (!endpoint.empty() && endpoint[0] == '[') {
    const size_t close = endpoint.find(']');
    if (close == std::string_view::npos) return fail("missing ']' in address");
    if (close + 1 == endpoint.size()) return fail("missing port in address");
    if (close + 1 != colon) {
      return endpoint[close + 1] == ':' ? fail("too many colons in address")
                                        : fail("missing port in address");
    }
    host_part = endpoint.substr(1, close - 1);
    host_start = 1;
    host_end = close + 1;
  } else {
    host_part = endpoint.substr(0, colon);
    if (host_part.find(':') != std::string_view::npos) return fail("too many colons in address");
  }
  if (endpoint.find('[', host_start) != std::string_view::npos) {
    return fail("unexpected '[' in address");
  }
  if (endpoint.find(']', host_end) != std::string_view::npos) {
    return fail("unexpected ']' in address");
  }
  std::string_view port_part = endpoint.substr(colon + 1);
  int value = 0;
  // An empty port means "any", as in Go ("localhost:" listens on an ephemeral port).
  if (!port_part.empty()) {
    const bool digits = std::all_of(port_part.begin(), port_part.end(),
                                    [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || port_part.size() > 5 || !absl::SimpleAtoi(AV(port_part), &value) ||
        value > 65535) {
      return fail("invalid port");
    }
  }
  *host = std::string(host_part);
  *port = value;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                              Router router) {
  std::string host;
  int port = 0;
  if (absl::Status status = SplitHostPort(options.endpoint, &host, &port); !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid endpoint \"", options.endpoint, "\": ", status.message()));
  }
  const bool needs_pool = router.HasWorkerRoutes();
  auto server = std::make_unique<HttpServerImpl>(options, std::move(router));
  RETURN_IF_ERROR(server->Prepare(options, needs_pool));
  RETURN_IF_ERROR(server->Listen(host, port, options.endpoint));
  RETURN_IF_ERROR(server->Run());
  return std::unique_ptr<HttpServer>(std::move(server));
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                              HttpHandler handler) {
  if (!handler) return absl::InvalidArgumentError("http server: no handler");
  Router router;
  RouteOptions inline_route;
  inline_route.execution = RouteExecution::kInline;
  RETURN_IF_ERROR(router.Handle("", "/", std::move(handler), inline_route));
  return Start(options, std::move(router));
}

}  // namespace sprout::net
