#include "net/http_server.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
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
#include "absl/time/time.h"
#include "base/status.h"

namespace sprout::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// Go's http.Server default (DefaultMaxHeaderBytes is 1 MiB).
constexpr uint32_t kMaxHeaderBytes = 1 << 20;
// After refusing an oversized body the client may still be sending it; closing with unread data
// makes the kernel send RST, which can destroy the response before the client reads it. So the
// connection first half-closes and drains for a while.
constexpr auto kLingerTime = std::chrono::seconds(1);
// Pause before accepting again after a failure such as EMFILE, so the loop does not spin.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);
constexpr std::string_view kContinueResponse = "HTTP/1.1 100 Continue\r\n\r\n";

std::string_view ToStd(beast::string_view s) { return std::string_view(s.data(), s.size()); }
beast::string_view ToBeast(std::string_view s) { return beast::string_view(s.data(), s.size()); }

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

class Session;

// What the connections share with the server; it outlives the server object when the last
// session is only destroyed with the io_context.
struct ServerState {
  HttpHandler handler;
  size_t max_body = 0;
  std::chrono::steady_clock::duration idle_timeout{};  // zero: no timeout
  std::atomic<bool> stopping{false};

  std::mutex mu;
  std::condition_variable drained;  // signalled when `sessions` becomes empty
  std::unordered_map<const Session*, std::weak_ptr<Session>> sessions;

  std::vector<std::shared_ptr<Session>> Snapshot() {
    std::vector<std::shared_ptr<Session>> out;
    std::lock_guard<std::mutex> lock(mu);
    out.reserve(sessions.size());
    for (auto& [key, weak] : sessions) {
      if (auto s = weak.lock()) out.push_back(std::move(s));
    }
    return out;
  }
};

// One TCP connection. Every member runs on the connection's strand, except the constructor,
// NotifyShutdown (posts to the strand) and CloseNow (only once no I/O thread runs).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<ServerState> state, tcp::socket socket)
      : state_(std::move(state)), stream_(std::move(socket)) {
    error_code ec;
    tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_address_ = FormatAddress(remote.address(), remote.port());
  }

  ~Session() {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->sessions.erase(this);
    if (state_->sessions.empty()) state_->drained.notify_all();
  }

  void Start() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::ReadHeader, shared_from_this()));
  }

  void NotifyShutdown() {
    asio::post(stream_.get_executor(),
               beast::bind_front_handler(&Session::OnShutdown, shared_from_this()));
  }

  void CloseNow() { Close(); }

 private:
  enum class Phase {
    kAwaitingRequest,  // idle keep-alive connection: nothing of the next request read yet
    kReadingBody,      // the request's header is in: it counts as in flight
    kWriting,
    kLingering,  // half-closed, draining an unread body before closing
    kClosed,
  };

  void ReadHeader() {
    if (state_->stopping.load()) return Close();
    phase_ = Phase::kAwaitingRequest;
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(state_->max_body);
    if (state_->idle_timeout > std::chrono::steady_clock::duration::zero()) {
      stream_.expires_after(state_->idle_timeout);
    } else {
      stream_.expires_never();
    }
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(error_code ec, size_t) {
    if (ec) return OnReadError(ec);
    phase_ = Phase::kReadingBody;
    // The idle timeout covers waiting for a request, not uploading a large one.
    stream_.expires_never();
    if (parser_->is_done()) return Dispatch(/*body_too_large=*/false);
    const auto& msg = parser_->get();
    if (msg.version() >= 11 &&
        absl::EqualsIgnoreCase(AV(ToStd(msg[http::field::expect])), "100-continue")) {
      // Clients such as curl wait (up to a second) for this before sending the body.
      asio::async_write(stream_, asio::buffer(kContinueResponse.data(), kContinueResponse.size()),
                        [self = shared_from_this()](error_code ec, size_t) {
                          if (ec) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnBody, shared_from_this()));
  }

  void OnBody(error_code ec, size_t) {
    if (ec) return OnReadError(ec);
    Dispatch(/*body_too_large=*/false);
  }

  void OnReadError(const error_code& ec) {
    if (ec == http::error::body_limit) return Dispatch(/*body_too_large=*/true);
    if (ec == http::error::header_limit) {
      return SendError(431, "431 Request Header Fields Too Large");
    }
    const bool parse_error =
        ec.category() == http::make_error_code(http::error::bad_target).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message;
    if (parse_error && phase_ != Phase::kClosed) return SendError(400, "400 Bad Request");
    Close();  // peer closed, timeout, reset or shutdown
  }

  void Dispatch(bool body_too_large) {
    auto& msg = parser_->get();
    HttpRequest request;
    request.method = std::string(ToStd(msg.method_string()));
    request.target = std::string(ToStd(msg.target()));
    if (size_t q = request.target.find('?'); q != std::string::npos) {
      request.path = request.target.substr(0, q);
      request.query = request.target.substr(q + 1);
    } else {
      request.path = request.target;
    }
    request.headers.reserve(std::distance(msg.begin(), msg.end()));
    for (const auto& field : msg) {
      request.headers.emplace_back(absl::AsciiStrToLower(AV(ToStd(field.name_string()))),
                                   std::string(ToStd(field.value())));
    }
    if (!body_too_large) request.body = std::move(msg.body());
    request.body_too_large = body_too_large;
    request.remote_address = remote_address_;

    HttpResponse response;
    try {
      state_->handler(request, response);
    } catch (const std::exception&) {
      response = HttpResponse{
          500, {{"Content-Type", "text/plain; charset=utf-8"}}, "500 Internal Server Error"};
    } catch (...) {
      response = HttpResponse{
          500, {{"Content-Type", "text/plain; charset=utf-8"}}, "500 Internal Server Error"};
    }

    const bool keep_alive = !body_too_large && parser_->keep_alive();
    const bool is_head = msg.method() == http::verb::head;
    const unsigned version = msg.version();
    parser_.reset();  // the request (and its body) is no longer needed while writing
    Write(std::move(response), version, keep_alive, is_head, /*linger=*/body_too_large);
  }

  void SendError(int status, std::string body) {
    HttpResponse response{status, {{"Content-Type", "text/plain; charset=utf-8"}}, std::move(body)};
    const unsigned version = parser_ ? parser_->get().version() : 11;
    Write(std::move(response), version == 10 ? 10 : 11, /*keep_alive=*/false, /*is_head=*/false,
          /*linger=*/true);
  }

  void Write(HttpResponse response, unsigned version, bool keep_alive, bool is_head, bool linger) {
    if (state_->stopping.load()) keep_alive = false;
    for (const auto& [name, value] : response.headers) {
      if (absl::EqualsIgnoreCase(AV(name), "connection") &&
          absl::StrContains(absl::AsciiStrToLower(AV(value)), "close")) {
        keep_alive = false;
      }
    }
    try {
      BuildResponse(std::move(response), version, keep_alive, is_head);
    } catch (const std::exception&) {
      // Only reachable through header names or values Beast rejects.
      response_ = {};
      response_.version(version);
      response_.result(http::status::internal_server_error);
      response_.body() = "500 Internal Server Error";
      keep_alive = false;
      response_.keep_alive(false);
      response_.prepare_payload();
    }
    close_after_write_ = !keep_alive;
    linger_after_write_ = linger;
    phase_ = Phase::kWriting;
    stream_.expires_never();
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&Session::OnWrite, shared_from_this()));
  }

  void BuildResponse(HttpResponse response, unsigned version, bool keep_alive, bool is_head) {
    response_ = {};
    response_.version(version);
    int status = response.status;
    if (status < 100 || status > 999) status = 500;
    response_.result(static_cast<unsigned>(status));
    for (const auto& [name, value] : response.headers) {
      if (name.empty()) continue;
      // Framing is the server's job: it must match what is actually written.
      if (absl::EqualsIgnoreCase(AV(name), "content-length") ||
          absl::EqualsIgnoreCase(AV(name), "transfer-encoding") ||
          absl::EqualsIgnoreCase(AV(name), "connection")) {
        continue;
      }
      response_.insert(ToBeast(name), ToBeast(value));
    }
    response_.keep_alive(keep_alive);
    const bool bodiless = status / 100 == 1 || status == 204 || status == 304;
    if (bodiless) return;  // RFC 9110: no body and no Content-Length
    if (is_head) {
      // The length the GET would have had, without the body itself.
      response_.content_length(response.body.size());
      return;
    }
    response_.body() = std::move(response.body);
    response_.prepare_payload();
  }

  void OnWrite(error_code ec, size_t) {
    response_ = {};
    if (ec) return Close();
    if (linger_after_write_) return Linger();
    if (close_after_write_ || state_->stopping.load()) {
      error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return Close();
    }
    ReadHeader();
  }

  void Linger() {
    phase_ = Phase::kLingering;
    if (state_->stopping.load()) return Close();
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    buffer_.clear();
    stream_.expires_after(kLingerTime);
    Drain();
  }

  void Drain() {
    stream_.async_read_some(buffer_.prepare(16 << 10),
                            [self = shared_from_this()](error_code ec, size_t) {
                              if (ec) return self->Close();  // EOF, timeout or shutdown
                              self->Drain();
                            });
  }

  void OnShutdown() {
    // Connections with a request in flight finish it; OnWrite closes them afterwards.
    if (phase_ == Phase::kAwaitingRequest || phase_ == Phase::kLingering) Close();
  }

  void Close() {
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  std::shared_ptr<ServerState> state_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  std::string remote_address_;
  Phase phase_ = Phase::kAwaitingRequest;
  bool close_after_write_ = false;
  bool linger_after_write_ = false;
};

class HttpServerImpl final : public HttpServer {
 public:
  HttpServerImpl(const HttpServerOptions& options, HttpHandler handler)
      : state_(std::make_shared<ServerState>()),
        threads_count_(options.threads < 1 ? 1 : options.threads),
        ioc_(threads_count_),
        work_(asio::make_work_guard(ioc_)),
        acceptor_(ioc_),
        retry_timer_(ioc_) {
    state_->handler = std::move(handler);
    state_->max_body = options.max_request_body_size;
    if (options.idle_timeout > absl::ZeroDuration()) {
      state_->idle_timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          absl::ToChronoNanoseconds(options.idle_timeout));
    }
  }

  ~HttpServerImpl() override { Shutdown(absl::ZeroDuration()); }

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

  void Run() {
    {
      std::lock_guard<std::mutex> lock(acceptor_mu_);
      Accept();
    }
    threads_.reserve(threads_count_);
    for (int i = 0; i < threads_count_; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }

  int port() const override { return port_; }

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
    // A handler still running past the grace period delays the join: threads cannot be
    // interrupted, only stopped between handlers.
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    // No I/O thread runs now, so sessions can be touched directly. Their objects live on in the
    // io_context's queue until the server is destroyed; the peers see the close now.
    for (auto& session : state_->Snapshot()) session->CloseNow();
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
    auto session = std::make_shared<Session>(state_, std::move(socket));
    {
      std::lock_guard<std::mutex> sessions_lock(state_->mu);
      state_->sessions.emplace(session.get(), session);
    }
    session->Start();
    Accept();
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

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(AV(key), AV(name))) return value;
  }
  return {};
}

void HttpResponse::SetHeader(std::string_view name, std::string_view value) {
  std::erase_if(headers, [name](const std::pair<std::string, std::string>& header) {
    return absl::EqualsIgnoreCase(AV(header.first), AV(name));
  });
  headers.emplace_back(std::string(name), std::string(value));
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
                                                              HttpHandler handler) {
  std::string host;
  int port = 0;
  if (absl::Status status = SplitHostPort(options.endpoint, &host, &port); !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid endpoint \"", options.endpoint, "\": ", status.message()));
  }
  if (!handler) return absl::InvalidArgumentError("http server: no handler");
  auto server = std::make_unique<HttpServerImpl>(options, std::move(handler));
  RETURN_IF_ERROR(server->Listen(host, port, options.endpoint));
  server->Run();
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace sprout::net
