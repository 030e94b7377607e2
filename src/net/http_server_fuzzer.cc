// libFuzzer target for the HTTP server: arbitrary bytes are sent as one client connection to a
// real server (loopback TCP) whose router has inline, worker, streamed, gzip, tenant and
// catch-all routes; the handlers parse forms and read path values. Invariants: nothing crashes
// (the sanitizers watch the server's threads too), every byte the server sends back is a
// sequence of well-formed HTTP/1.x responses, and the server ends the connection in bounded time
// once the client has sent everything and half-closed. The input's own bytes also go straight
// through the query parser and the router's matcher.
//
// Built with -DSPROUT_FUZZ=ON (scripts/run_fuzzers.sh); seeds in corpus/http_server_fuzzer/.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "net/http_server.h"

namespace {

using sprout::net::HttpRequest;
using sprout::net::HttpResponse;

[[noreturn]] void Fail(const char* what, absl::string_view detail) {
  std::fprintf(stderr, "http_server_fuzzer: %s: %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

sprout::net::Router MakeRouter() {
  using sprout::net::RouteExecution;
  using sprout::net::RouteOptions;
  sprout::net::Router router;
  RouteOptions inline_route;
  inline_route.execution = RouteExecution::kInline;
  auto echo = [](HttpRequest& req, HttpResponse& res) {
    (void)req.ParseForm();
    res.SetHeader("X-Path", req.path);  // request bytes echoed into a header value
    res.body = "<" + std::move(req.body);
  };
  (void)router.Handle("POST", "/v1/traces", echo, inline_route);
  (void)router.Handle("", "/api/v1/label/{name}/values", [](HttpRequest& req, HttpResponse& res) {
    (void)req.ParseForm();
    res.body = "<" + std::string(req.PathValue("name"));
    for (const auto& [k, v] : req.form.entries()) res.body += k + "=" + v + ";";
  });
  RouteOptions gzip;
  gzip.gzip = true;
  (void)router.Handle(
      "GET", "/stream/{rest...}",
      [](HttpRequest& req, HttpResponse& res) {
        res.SetHeader("Content-Type", std::string(req.PathValue("rest")));
        for (int i = 0; i < 3 && res.Write(req.target); ++i) {
        }
      },
      gzip);
  RouteOptions tenant;
  tenant.tenant = sprout::net::TenantPolicy::kFederated;
  (void)router.Handle(
      "GET", "/api/traces/{id}",
      [](HttpRequest& req, HttpResponse& res) {
        res.body = "<" + req.tenant + "/" + std::string(req.PathValue("id"));
      },
      tenant);
  (void)router.Handle(
      "", "/",
      [](HttpRequest& req, HttpResponse& res) {
        res.status = req.body_too_large ? 413 : 200;
        res.body = "<" + req.method;
      },
      inline_route);
  router.SetTenants(sprout::net::TenantConfig{true, ""});
  return router;
}

sprout::net::HttpServer* Server() {
  static sprout::net::HttpServer* server = [] {
    std::signal(SIGPIPE, SIG_IGN);
    sprout::net::HttpServerOptions options;
    options.endpoint = "127.0.0.1:0";
    options.threads = 2;
    options.worker_threads = 2;
    options.max_request_body_size = 64 << 10;
    options.read_header_timeout = absl::Seconds(2);
    options.read_timeout = absl::Seconds(3);
    options.write_timeout = absl::Seconds(3);
    options.idle_timeout = absl::Seconds(3);
    auto started = sprout::net::HttpServer::Start(options, MakeRouter());
    if (!started.ok()) Fail("start", started.status().message());
    return started->release();  // lives for the whole process
  }();
  return server;
}

// Checks that `out` is a sequence of complete HTTP/1.x responses, the last one possibly
// delimited by the close. The fuzzer cannot tell which requests were HEADs, whose responses
// announce a body they do not carry; no body of this server starts with "HTTP/1." (the routes
// prefix theirs with '<', the server's own error texts start otherwise, chunk sizes are hex), so
// a response followed at once by "HTTP/1." or by the end was a HEAD's.
void CheckResponses(absl::string_view out) {
  while (!out.empty()) {
    const size_t end = out.find("\r\n\r\n");
    if (end == absl::string_view::npos) Fail("incomplete response header", out.substr(0, 200));
    absl::string_view head = out.substr(0, end);
    out.remove_prefix(end + 4);
    if (!(absl::StartsWith(head, "HTTP/1.1 ") || absl::StartsWith(head, "HTTP/1.0 ")) ||
        head.size() < 12) {
      Fail("bad status line", head.substr(0, 200));
    }
    int status = 0;
    if (!absl::SimpleAtoi(head.substr(9, 3), &status) || status < 100 || status > 599) {
      Fail("bad status code", head.substr(0, 200));
    }
    bool chunked = false;
    bool has_length = false;
    size_t length = 0;
    size_t line_start = head.find("\r\n");
    while (line_start != absl::string_view::npos) {
      line_start += 2;
      size_t line_end = head.find("\r\n", line_start);
      absl::string_view line =
          head.substr(line_start, line_end == absl::string_view::npos ? absl::string_view::npos
                                                                      : line_end - line_start);
      const size_t colon = line.find(':');
      if (colon == absl::string_view::npos || colon == 0) Fail("bad header line", line);
      std::string name = absl::AsciiStrToLower(line.substr(0, colon));
      absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
      if (name == "transfer-encoding" && absl::EqualsIgnoreCase(value, "chunked")) chunked = true;
      if (name == "content-length") {
        if (has_length || !absl::SimpleAtoi(value, &length)) Fail("bad content-length", line);
        has_length = true;
      }
      line_start = line_end;
    }
    if (status / 100 == 1 && status != 100) Fail("unexpected 1xx", head);
    if (status == 100 || status == 204 || status == 304) continue;
    if ((chunked || (has_length && length > 0)) &&
        (out.empty() || absl::StartsWith(out, "HTTP/1."))) {
      continue;  // a HEAD's response
    }
    if (chunked) {
      for (;;) {
        const size_t eol = out.find("\r\n");
        if (eol == absl::string_view::npos) Fail("truncated chunk size", out.substr(0, 100));
        size_t size = 0;
        if (!absl::SimpleHexAtoi(out.substr(0, eol), &size))
          Fail("bad chunk size", out.substr(0, eol));
        out.remove_prefix(eol + 2);
        if (out.size() < size + 2 || out.substr(size, 2) != "\r\n") Fail("truncated chunk", out);
        out.remove_prefix(size + 2);
        if (size == 0) break;
      }
    } else if (has_length) {
      if (out.size() < length) Fail("short body", head);
      out.remove_prefix(length);
    } else {
      return;  // delimited by the close (HTTP/1.0 stream)
    }
  }
}

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const absl::string_view shown(input.data(), std::min<size_t>(input.size(), 200));

  // Pure parsers first: the query decoder and the matcher on the raw bytes.
  (void)sprout::net::ParseQuery(input);
  static const sprout::net::Router* router = new sprout::net::Router(MakeRouter());
  std::vector<std::pair<std::string, std::string>> params;
  (void)router->Find("GET", input.substr(0, input.find(' ')), &params);

  // The bytes as a client connection.
  const int port = Server()->port();
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  // Each connection comes from another address of 127/8: the side that closes first keeps its
  // end in TIME_WAIT for a minute, and one source address would run out of ports after ~28k
  // inputs.
  static uint32_t next_source = 0;
  sockaddr_in source{};
  source.sin_family = AF_INET;
  source.sin_addr.s_addr = htonl(0x7f000002 + (next_source++ % 0xfff000));
  if (bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof(source)) != 0) {
    Fail("bind", std::strerror(errno));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // No TIME_WAIT left behind by this side: a reset on close.
  linger no_linger{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &no_linger, sizeof(no_linger));
  // Non-blocking from the start: libFuzzer's timer signal would interrupt a blocking connect.
  SetNonBlocking(fd);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS && errno != EINTR) Fail("connect", std::strerror(errno));
    pollfd w{fd, POLLOUT, 0};
    while (poll(&w, 1, 10000) < 0 && errno == EINTR) {
    }
    int error = 0;
    socklen_t len = sizeof(error);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
    if (!(w.revents & POLLOUT) || error != 0) Fail("connect", std::strerror(error));
  }

  std::string out;
  size_t sent = 0;
  bool write_closed = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  for (;;) {
    if (sent == size && !write_closed) {
      shutdown(fd, SHUT_WR);
      write_closed = true;
    }
    pollfd p{fd, static_cast<short>(POLLIN | (write_closed ? 0 : POLLOUT)), 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) Fail("the server did not end the connection", shown);
    poll(&p, 1, static_cast<int>(left.count()));
    if ((p.revents & POLLOUT) && !write_closed) {
      const ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        write_closed = true;  // the server closed first (an error answer); read what it said
        sent = size;
      }
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[16384];
      const ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > (64u << 20)) Fail("runaway response", "");
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        break;  // closed (or reset) by the server
      }
    }
  }
  close(fd);
  if (std::getenv("HTTP_FUZZ_DUMP") != nullptr) {
    std::fwrite(out.data(), 1, out.size(), stderr);
    std::fputs("\n-- end of response bytes --\n", stderr);
  }
  CheckResponses(out);
  return 0;
}
