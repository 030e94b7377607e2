#include "net/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/http_test_util.h"

namespace sprout::net {
namespace {

using test_util::Client;
using test_util::ClientResponse;
using test_util::Counter;
using test_util::Gate;
using test_util::Loopback;
using test_util::StartOrDie;
using ::testing::HasSubstr;
using ::testing::StartsWith;

void RoutingHandler(const HttpRequest& req, HttpResponse& res) {
  if (req.method == "GET" && req.path == "/hello") {
    res.SetHeader("Content-Type", "text/plain");
    res.body = absl::StrCat("hello ", req.query);
  } else if (req.method == "POST" && req.path == "/echo") {
    res.body = req.body;
  } else {
    res.status = 404;
    res.body = "not found";
  }
}

TEST(HttpServerTest, RoutesByMethodAndPath) {
  auto server = StartOrDie(Loopback(), RoutingHandler);
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  ASSERT_TRUE(client.connected());

  auto r = client.RoundTrip("GET /hello?name=x&y=1 HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello name=x&y=1");
  EXPECT_EQ(r->Header("content-type"), "text/plain");
  EXPECT_EQ(r->Header("content-length"), "16");

  r = client.RoundTrip("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nabcde");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "abcde");
  // The handler set no Content-Type, so none is invented.
  EXPECT_FALSE(r->HasHeader("content-type"));

  r = client.RoundTrip("GET /echo HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "not found");
}

TEST(HttpServerTest, HeadersAreCaseInsensitive) {
  std::mutex mu;
  HttpRequest seen;
  auto server = StartOrDie(Loopback(), [&](const HttpRequest& req, HttpResponse& res) {
    {
      std::lock_guard<std::mutex> lock(mu);
      seen = req;
    }
    res.SetHeader("X-Reply", "first");
    res.SetHeader("x-REPLY", "second");  // replaces, whatever the case
    res.body = std::string(req.Header("X-CUSTOM-thing"));
  });
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  auto r = client.RoundTrip(
      "GET / HTTP/1.1\r\nHost: a\r\nX-Custom-Thing: Value1\r\nx-custom-thing: Value2\r\n"
      "CONTENT-TYPE: Application/JSON\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "Value1");
  EXPECT_EQ(r->Header("x-reply"), "second");
  int replies = 0;
  for (const auto& [k, v] : r->headers) replies += k == "x-reply";
  EXPECT_EQ(replies, 1);

  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen.Header("content-type"), "Application/JSON");  // values keep their case
  EXPECT_EQ(seen.Header("Content-Type"), "Application/JSON");
  EXPECT_EQ(seen.Header("absent"), "");
  std::vector<std::string> names;
  for (const auto& [k, v] : seen.headers) names.push_back(k);
  EXPECT_THAT(names,
              ::testing::ElementsAre("host", "x-custom-thing", "x-custom-thing", "content-type"));
  EXPECT_THAT(seen.remote_address, StartsWith("127.0.0.1:"));
  EXPECT_EQ(seen.path, "/");
  EXPECT_EQ(seen.query, "");
  EXPECT_EQ(seen.target, "/");
}

TEST(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  std::mutex mu;
  std::vector<std::string> remotes;
  auto server = StartOrDie(Loopback(), [&](const HttpRequest& req, HttpResponse& res) {
    std::lock_guard<std::mutex> lock(mu);
    remotes.push_back(req.remote_address);
    res.body = req.path;
  });
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  auto r1 = client.RoundTrip("GET /one HTTP/1.1\r\nHost: a\r\n\r\n");
  auto r2 = client.RoundTrip("GET /two HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r1.has_value());
  ASSERT_TRUE(r2.has_value());
  EXPECT_EQ(r1->body, "/one");
  EXPECT_EQ(r2->body, "/two");
  EXPECT_NE(r1->Header("connection"), "close");

  // Pipelined: both requests in one write.
  ASSERT_TRUE(client.Send("GET /three HTTP/1.1\r\nHost: a\r\n\r\nGET /four HTTP/1.1\r\n\r\n"));
  auto r3 = client.ReadResponse();
  auto r4 = client.ReadResponse();
  ASSERT_TRUE(r3.has_value());
  ASSERT_TRUE(r4.has_value());
  EXPECT_EQ(r3->body, "/three");
  EXPECT_EQ(r4->body, "/four");

  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(remotes.size(), 4u);
  for (const std::string& remote : remotes) EXPECT_EQ(remote, remotes[0]);
}

TEST(HttpServerTest, ConnectionCloseAndHttp10CloseAfterResponse) {
  auto server = StartOrDie(Loopback(), RoutingHandler);
  ASSERT_NE(server, nullptr);
  {
    Client client(server->port());
    auto r = client.RoundTrip("GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->Header("connection"), "close");
    EXPECT_TRUE(client.ClosedByPeer());
  }
  {
    Client client(server->port());
    ASSERT_TRUE(client.Send("GET /hello HTTP/1.0\r\n\r\n"));
    std::optional<ClientResponse> r = client.ReadResponse();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "hello ");
    EXPECT_TRUE(client.ClosedByPeer());
  }
  {
    // HTTP/1.0 asking for keep-alive gets it.
    Client client(server->port());
    auto r = client.RoundTrip("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(absl::AsciiStrToLower(r->Header("connection")), "keep-alive");
    r = client.RoundTrip("GET /hello?again HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->body, "hello again");
  }
}

TEST(HttpServerTest, HandlerCanAskToCloseTheConnection) {
  auto server = StartOrDie(Loopback(), [](const HttpRequest&, HttpResponse& res) {
    res.SetHeader("Connection", "close");
  });
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  auto r = client.RoundTrip("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_TRUE(client.ClosedByPeer());
}

TEST(HttpServerTest, ChunkedRequestBody) {
  auto server = StartOrDie(Loopback(), RoutingHandler);
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  auto r = client.RoundTrip(
      "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello, world");
  // The connection is still usable afterwards.
  r = client.RoundTrip("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "ok");
}

TEST(HttpServerTest, BodyOverLimitReachesHandlerAsTooLarge) {
  std::atomic<int> too_large_calls{0};
  std::atomic<bool> body_was_empty{true};
  HttpServerOptions options = Loopback();
  options.max_request_body_size = 1024;
  auto server = StartOrDie(options, [&](const HttpRequest& req, HttpResponse& res) {
    if (req.body_too_large) {
      ++too_large_calls;
      if (!req.body.empty()) body_was_empty = false;
      res.status = 413;
      res.body = absl::StrCat("too large for ", req.path, " ", std::string(req.Header("x-tag")));
      return;
    }
    res.body = absl::StrCat(req.body.size());
  });
  ASSERT_NE(server, nullptr);

  {  // Exactly at the limit is fine.
    Client client(server->port());
    auto r = client.RoundTrip(absl::StrCat(
        "POST /v1/traces HTTP/1.1\r\nContent-Length: 1024\r\n\r\n", std::string(1024, 'a')));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "1024");
  }
  {  // Declared by Content-Length (and sent anyway): rejected, connection closed.
    Client client(server->port());
    auto r = client.RoundTrip(
        absl::StrCat("POST /v1/traces HTTP/1.1\r\nContent-Length: 5000\r\nX-Tag: cl\r\n\r\n",
                     std::string(5000, 'a')));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(r->body, "too large for /v1/traces cl");
    EXPECT_EQ(r->Header("connection"), "close");
    EXPECT_TRUE(client.ClosedByPeer());
  }
  {  // Discovered while reading a chunked body.
    Client client(server->port());
    std::string request =
        "POST /v1/logs HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-Tag: ch\r\n\r\n";
    for (int i = 0; i < 5; ++i) request += absl::StrCat("200\r\n", std::string(512, 'b'), "\r\n");
    request += "0\r\n\r\n";
    auto r = client.RoundTrip(request);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(r->body, "too large for /v1/logs ch");
    EXPECT_TRUE(client.ClosedByPeer());
  }
  EXPECT_EQ(too_large_calls.load(), 2);
  EXPECT_TRUE(body_was_empty.load());
}

TEST(HttpServerTest, AnswersExpectContinue) {
  auto server = StartOrDie(Loopback(), RoutingHandler);
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  ASSERT_TRUE(client.Send(
      "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = client.ReadResponse();
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  auto r = client.RoundTrip("body");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "body");
}

TEST(HttpServerTest, HeadGetsLengthWithoutBody) {
  auto server = StartOrDie(
      Loopback(), [](const HttpRequest&, HttpResponse& res) { res.body = "twelve bytes"; });
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  ASSERT_TRUE(client.Send("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto r = client.ReadResponse(/*head=*/true);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->Header("content-length"), "12");
  // No body bytes followed: the next response starts right away.
  r = client.RoundTrip("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "twelve bytes");
}

TEST(HttpServerTest, NoContentHasNoBody) {
  auto server = StartOrDie(Loopback(), [](const HttpRequest&, HttpResponse& res) {
    res.status = 204;
    res.body = "ignored";
  });
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  auto r = client.RoundTrip("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 204);
  EXPECT_FALSE(r->HasHeader("content-length"));
  // Still in sync: the next response parses.
  r = client.RoundTrip("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 204);
}

TEST(HttpServerTest, MalformedRequestGets400) {
  auto server = StartOrDie(Loopback(), RoutingHandler);
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  auto r = client.RoundTrip("this is not http\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(client.ClosedByPeer());
}

TEST(HttpServerTest, ThrowingHandlerGets500) {
  auto server = StartOrDie(
      Loopback(), [](const HttpRequest&, HttpResponse&) { throw std::runtime_error("boom"); });
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  auto r = client.RoundTrip("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
}

TEST(HttpServerTest, ThreadPoolServesConnectionsConcurrently) {
  // Four handlers that each wait until all four are running: with fewer than four threads
  // serving connections concurrently, the first ones would wait in vain (10 s) and fail.
  HttpServerOptions options = Loopback();
  options.threads = 4;
  Counter arrived;
  auto server = StartOrDie(options, [&](const HttpRequest&, HttpResponse& res) {
    arrived.Add();
    res.body = arrived.WaitFor(4) ? "ok" : "alone";
  });
  ASSERT_NE(server, nullptr);
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&] {
      Client client(server->port());
      auto r = client.RoundTrip("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      if (r.has_value() && r->body == "ok") ++ok;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 4);
}

TEST(HttpServerTest, BusyPortIsReportedLikeGo) {
  auto first = StartOrDie(Loopback(), RoutingHandler);
  ASSERT_NE(first, nullptr);
  const int port = first->port();

  HttpServerOptions options;
  options.endpoint = absl::StrCat("127.0.0.1:", port);
  absl::StatusOr<std::unique_ptr<HttpServer>> second = HttpServer::Start(options, RoutingHandler);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(),
            absl::StrCat("listen tcp 127.0.0.1:", port, ": bind: address already in use"));

  // "localhost" binds the IPv4 loopback, so it collides too; the message shows the address.
  options.endpoint = absl::StrCat("localhost:", port);
  second = HttpServer::Start(options, RoutingHandler);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("bind: address already in use"));
}

TEST(HttpServerTest, InvalidEndpoints) {
  HttpServerOptions options;
  options.endpoint = "localhost";
  absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start(options, RoutingHandler);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server.status().message(),
            "invalid endpoint \"localhost\": address localhost: missing port in address");

  options.endpoint = "localhost:http";
  server = HttpServer::Start(options, RoutingHandler);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(std::string(server.status().message()), HasSubstr("invalid port"));

  options.endpoint = "256.1.1.1.invalid.:0";
  server = HttpServer::Start(options, RoutingHandler);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(std::string(server.status().message()),
              StartsWith("listen tcp 256.1.1.1.invalid.:0: lookup"));
}

TEST(HttpServerTest, LocalhostAndAllInterfaces) {
  for (const char* endpoint : {"localhost:0", ":0", "0.0.0.0:0", "localhost:"}) {
    SCOPED_TRACE(endpoint);
    HttpServerOptions options;
    options.endpoint = endpoint;
    auto server = StartOrDie(options, RoutingHandler);
    ASSERT_NE(server, nullptr);
    Client client(server->port());  // connects to 127.0.0.1
    auto r = client.RoundTrip("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
  }
}

TEST(HttpServerTest, IdleTimeoutClosesIdleConnections) {
  HttpServerOptions options = Loopback();
  options.idle_timeout = absl::Milliseconds(200);
  auto server = StartOrDie(options, RoutingHandler);
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  auto r = client.RoundTrip("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.ClosedByPeer());
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(100));
  EXPECT_LT(waited, std::chrono::seconds(5));
}

TEST(HttpServerTest, ShutdownLetsInFlightRequestFinishThenFreesThePort) {
  Counter started;
  Gate release;
  auto server = StartOrDie(Loopback(), [&](const HttpRequest& req, HttpResponse& res) {
    if (req.path == "/slow") {
      started.Add();
      release.Wait();
      res.body = "finished";
      return;
    }
    res.body = "fast";
  });
  ASSERT_NE(server, nullptr);
  const int port = server->port();

  // An idle keep-alive connection, which Shutdown must close rather than wait for.
  Client idle(port);
  ASSERT_TRUE(idle.RoundTrip("GET /fast HTTP/1.1\r\nHost: a\r\n\r\n").has_value());

  Client client(port);
  ASSERT_TRUE(client.Send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(started.WaitFor(1));

  const auto start = std::chrono::steady_clock::now();
  std::thread stopper([&] { server->Shutdown(absl::Seconds(10)); });
  // The handler finishes only once Shutdown has closed the listener (new connections are
  // refused), so its response must announce the close.
  for (auto until = start + std::chrono::seconds(5); std::chrono::steady_clock::now() < until;) {
    Client probe(port);
    if (!probe.connected()) break;
  }
  release.Open();
  auto r = client.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "finished");
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_TRUE(client.ClosedByPeer());
  EXPECT_TRUE(idle.ClosedByPeer());
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));

  // Not accepting any more, and the port can be bound again at once.
  Client late(port);
  EXPECT_FALSE(late.connected());
  server->Shutdown(absl::Seconds(1));  // idempotent

  HttpServerOptions options;
  options.endpoint = absl::StrCat("127.0.0.1:", port);
  auto again = StartOrDie(options, RoutingHandler);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->port(), port);
  Client client2(port);
  auto r2 = client2.RoundTrip("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r2.has_value());
  EXPECT_EQ(r2->status, 200);
}

TEST(HttpServerTest, ShutdownWithIdleConnectionsReturnsPromptly) {
  auto server = StartOrDie(Loopback(), RoutingHandler);
  ASSERT_NE(server, nullptr);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(std::make_unique<Client>(server->port()));
    ASSERT_TRUE(clients.back()->RoundTrip("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n").has_value());
  }
  // A connection that has not sent anything yet.
  Client silent(server->port());
  const auto start = std::chrono::steady_clock::now();
  server->Shutdown(absl::Seconds(10));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  for (auto& client : clients) EXPECT_TRUE(client->ClosedByPeer());
  EXPECT_TRUE(silent.ClosedByPeer());
}

TEST(HttpServerTest, DestructorShutsDown) {
  int port;
  {
    auto server = StartOrDie(Loopback(), RoutingHandler);
    ASSERT_NE(server, nullptr);
    port = server->port();
    Client client(port);
    ASSERT_TRUE(client.RoundTrip("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n").has_value());
  }
  Client late(port);
  EXPECT_FALSE(late.connected());
}

TEST(SplitHostPortTest, AcceptsGoForms) {
  struct Case {
    const char* in;
    const char* host;
    int port;
  };
  for (const Case& c : std::vector<Case>{{"localhost:4318", "localhost", 4318},
                                         {"0.0.0.0:80", "0.0.0.0", 80},
                                         {":4317", "", 4317},
                                         {"[::1]:9090", "::1", 9090},
                                         {"[fe80::1%eth0]:1", "fe80::1%eth0", 1},
                                         {"[::]:0", "::", 0},
                                         {"host:", "host", 0},
                                         {"example.com:65535", "example.com", 65535}}) {
    std::string host = "unset";
    int port = -1;
    absl::Status status = SplitHostPort(c.in, &host, &port);
    ASSERT_TRUE(status.ok()) << c.in << ": " << status;
    EXPECT_EQ(host, c.host) << c.in;
    EXPECT_EQ(port, c.port) << c.in;
  }
}

TEST(SplitHostPortTest, RejectsLikeGo) {
  struct Case {
    const char* in;
    const char* message;
  };
  for (const Case& c :
       std::vector<Case>{{"localhost", "address localhost: missing port in address"},
                         {"", "address : missing port in address"},
                         {"[::1]", "address [::1]: missing port in address"},
                         {"::1:80", "address ::1:80: too many colons in address"},
                         {"[::1]x:80", "address [::1]x:80: missing port in address"},
                         {"[::1]:80:90", "address [::1]:80:90: too many colons in address"},
                         {"[::1:80", "address [::1:80: missing ']' in address"},
                         {"a]b:80", "address a]b:80: unexpected ']' in address"},
                         {"a[b:80", "address a[b:80: unexpected '[' in address"},
                         {"host:abc", "address host:abc: invalid port"},
                         {"host:65536", "address host:65536: invalid port"},
                         {"host:-1", "address host:-1: invalid port"},
                         {"host:+80", "address host:+80: invalid port"}}) {
    std::string host;
    int port = 0;
    absl::Status status = SplitHostPort(c.in, &host, &port);
    ASSERT_FALSE(status.ok()) << c.in;
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(status.message(), c.message);
  }
}

}  // namespace
}  // namespace sprout::net
