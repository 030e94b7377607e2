// The server as an API server: routes on the worker pool, deadlines and cancellation, streamed
// and gzip-compressed responses, and the router's answers over the wire.
#include <poll.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/compression.h"
#include "net/http_server.h"
#include "net/http_test_util.h"

namespace sprout::net {
namespace {

using std::chrono::milliseconds;
using test_util::Client;
using test_util::Counter;
using test_util::Gate;
using test_util::Loopback;
using test_util::StartOrDie;

void AddOrDie(Router& router, std::string_view method, std::string_view pattern,
              HttpHandler handler, RouteOptions options = {}) {
  absl::Status status = router.Handle(method, pattern, std::move(handler), options);
  ASSERT_TRUE(status.ok()) << status;
}

RouteOptions Inline() {
  RouteOptions o;
  o.execution = RouteExecution::kInline;
  return o;
}

TEST(HttpServerWorkerTest, RoutesRunInlineOrOnWorkersWithParamsAndForm) {
  std::mutex mu;
  std::thread::id inline_thread, worker_thread;
  Router router;
  AddOrDie(
      router, "POST", "/v1/traces",
      [&](HttpRequest&, HttpResponse& res) {
        std::lock_guard<std::mutex> lock(mu);
        inline_thread = std::this_thread::get_id();
        res.body = "inline";
      },
      Inline());
  AddOrDie(router, "", "/api/v1/label/{name}/values", [&](HttpRequest& req, HttpResponse& res) {
    {
      std::lock_guard<std::mutex> lock(mu);
      worker_thread = std::this_thread::get_id();
    }
    absl::Status form = req.ParseForm();
    std::string match;
    for (std::string_view m : req.form.GetAll("match[]")) {
      if (!match.empty()) match += ",";
      match += m;
    }
    res.body = std::string(req.pattern) + " name=" + std::string(req.PathValue("name")) +
               " match=" + match + " form=" + (form.ok() ? "ok" : std::string(form.message()));
  });
  auto server = StartOrDie(Loopback(), std::move(router));
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  auto r = client.RoundTrip("POST /v1/traces HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "inline");
  r = client.RoundTrip(
      "POST /api/v1/label/service%2Ename/values?match[]=up HTTP/1.1\r\nHost: a\r\n"
      "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 22\r\n\r\n"
      "match%5B%5D=%7Bjob%7D&");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "/api/v1/label/{name}/values name=service.name match={job},up form=ok");
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_NE(inline_thread, worker_thread);
  EXPECT_NE(worker_thread, std::thread::id());
}

TEST(HttpServerWorkerTest, NotFoundAndMethodNotAllowedOverTheWire) {
  Router router;
  AddOrDie(
      router, "POST", "/v1/traces", [](HttpRequest&, HttpResponse&) {}, Inline());
  AddOrDie(router, "GET", "/api/v1/query", [](HttpRequest&, HttpResponse&) {});
  AddOrDie(router, "POST", "/api/v1/query", [](HttpRequest&, HttpResponse&) {});
  auto server = StartOrDie(Loopback(), std::move(router));
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  auto r = client.RoundTrip("GET /v1/traces HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->Header("allow"), "POST");
  EXPECT_EQ(r->body, "Method Not Allowed\n");
  r = client.RoundTrip("DELETE /api/v1/query HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->Header("allow"), "GET, HEAD, POST");
  r = client.RoundTrip("GET /missing HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "404 page not found\n");
  EXPECT_EQ(r->Header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r->Header("x-content-type-options"), "nosniff");
}

TEST(HttpServerWorkerTest, DeadlineCancelsTheHandlerAndALateResponseIsDropped) {
  Router router;
  std::atomic<int> reason{-1};
  Counter cancelled;
  RouteOptions options;
  options.timeout = absl::Milliseconds(200);
  AddOrDie(
      router, "GET", "/slow",
      [&](HttpRequest& req, HttpResponse& res) {
        EXPECT_LT(req.deadline(), absl::Now() + absl::Milliseconds(250));
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!req.Cancelled() && std::chrono::steady_clock::now() < until) {
          std::this_thread::yield();
        }
        reason = static_cast<int>(req.control->reason());
        cancelled.Add();
        res.body = "too late";
      },
      options);
  auto server = StartOrDie(Loopback(), std::move(router));
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  ASSERT_TRUE(client.Send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(client.ReadToEnd(), "");
  ASSERT_TRUE(cancelled.WaitFor(1));
  EXPECT_EQ(reason.load(), static_cast<int>(CancelReason::kDeadline));
}

TEST(HttpServerWorkerTest, ClientDisconnectCancelsTheHandler) {
  Router router;
  Counter started, cancelled;
  std::atomic<int> reason{-1};
  AddOrDie(router, "GET", "/query", [&](HttpRequest& req, HttpResponse&) {
    started.Add();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!req.Cancelled() && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    reason = static_cast<int>(req.control->reason());
    cancelled.Add();
  });
  auto server = StartOrDie(Loopback(), std::move(router));
  ASSERT_NE(server, nullptr);
  {
    Client client(server->port());
    ASSERT_TRUE(client.Send("GET /query HTTP/1.1\r\nHost: a\r\n\r\n"));
    ASSERT_TRUE(started.WaitFor(1));
  }  // the client goes away
  ASSERT_TRUE(cancelled.WaitFor(1));
  EXPECT_EQ(reason.load(), static_cast<int>(CancelReason::kClientGone));
}

TEST(HttpServerWorkerTest, HalfClosedClientIsCancelledButStillGetsTheResponse) {
  // A client that shuts down its sending side (EOF) cancels the request, as Go cancels the
  // request's context, but it may still read: the answer is written.
  Router router;
  AddOrDie(router, "GET", "/q", [&](HttpRequest& req, HttpResponse& res) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!req.Cancelled() && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    res.body = req.Cancelled() ? "cancelled" : "not cancelled";
  });
  auto server = StartOrDie(Loopback(), std::move(router));
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  ASSERT_TRUE(client.Send("GET /q HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_EQ(shutdown(client.fd(), SHUT_WR), 0);
  auto r = client.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "cancelled");
  EXPECT_TRUE(client.ClosedByPeer());
}

TEST(HttpServerWorkerTest, PipelinedRequestDoesNotCancelTheCurrentOne) {
  Router router;
  Gate gate;
  Counter started;
  AddOrDie(router, "GET", "/{n}", [&](HttpRequest& req, HttpResponse& res) {
    if (req.PathValue("n") == "1") {
      started.Add();
      gate.Wait();
    }
    res.body = std::string(req.PathValue("n")) + (req.Cancelled() ? " cancelled" : " ok");
  });
  auto server = StartOrDie(Loopback(), std::move(router));
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  ASSERT_TRUE(client.Send("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(started.WaitFor(1));
  ASSERT_TRUE(client.Send("GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"));  // arrives while /1 runs
  gate.Open();
  auto r1 = client.ReadResponse();
  auto r2 = client.ReadResponse();
  ASSERT_TRUE(r1.has_value());
  ASSERT_TRUE(r2.has_value());
  EXPECT_EQ(r1->body, "1 ok");
  EXPECT_EQ(r2->body, "2 ok");
}

TEST(HttpServerWorkerTest, StreamedResponseArrivesChunkByChunk) {
  Router router;
  Gate second, third;
  std::atomic<bool> write_result{true};
  AddOrDie(router, "GET", "/export", [&](HttpRequest&, HttpResponse& res) {
    res.SetHeader("Content-Type", "application/x-ndjson");
    res.SetHeader("Content-Length", "999");  // framing is the server's: dropped
    EXPECT_TRUE(res.Write("{\"a\":1}\n"));
    EXPECT_TRUE(res.streaming());
    second.Wait();
    EXPECT_TRUE(res.Write("{\"b\":2}\n"));
    third.Wait();
    write_result = res.Write("{\"c\":3}\n");
    res.body = "ignored once streaming";
  });
  auto server = StartOrDie(Loopback(), std::move(router));
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  ASSERT_TRUE(client.Send("GET /export HTTP/1.1\r\nHost: a\r\n\r\n"));
  auto head = client.ReadHead();
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Header("transfer-encoding"), "chunked");
  EXPECT_FALSE(head->HasHeader("content-length"));
  EXPECT_EQ(head->Header("content-type"), "application/x-ndjson");
  // Each chunk is on the wire before the handler produces the next one.
  EXPECT_EQ(client.ReadChunk(), "{\"a\":1}\n");
  second.Open();
  EXPECT_EQ(client.ReadChunk(), "{\"b\":2}\n");
  third.Open();
  EXPECT_EQ(client.ReadChunk(), "{\"c\":3}\n");
  EXPECT_EQ(client.ReadChunk(), "");
  EXPECT_TRUE(write_result.load());
  // The connection stays usable after the last chunk.
  ASSERT_TRUE(client.Send("GET /export HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  auto again = client.ReadResponse();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->body, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
}

TEST(HttpServerWorkerTest, StreamingToAGoneClientFailsTheWrite) {
  Router router;
  Counter first_written, done;
  std::atomic<bool> later_write{true};
  AddOrDie(router, "GET", "/export", [&](HttpRequest& req, HttpResponse& res) {
    res.Write("first\n");
    first_written.Add();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!req.Cancelled() && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    // The first writes may still reach the kernel; once the client's reset is back, they fail.
    bool ok = true;
    for (int i = 0; i < 10000 && ok; ++i) ok = res.Write(std::string(1024, 'x'));
    later_write = ok;
    done.Add();
  });
  auto server = StartOrDie(Loopback(), std::move(router));
  ASSERT_NE(server, nullptr);
  {
    Client client(server->port());
    ASSERT_TRUE(client.Send("GET /export HTTP/1.1\r\nHost: a\r\n\r\n"));
    ASSERT_TRUE(first_written.WaitFor(1));
  }
  ASSERT_TRUE(done.WaitFor(1));
  EXPECT_FALSE(later_write.load());
}

TEST(HttpServerWorkerTest, Http10StreamEndsWithTheConnection) {
  Router router;
  AddOrDie(router, "GET", "/export", [&](HttpRequest&, HttpResponse& res) {
    res.Write("one ");
    res.Write("two");
  });
  auto server = StartOrDie(Loopback(), std::move(router));
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  ASSERT_TRUE(client.Send("GET /export HTTP/1.0\r\n\r\n"));
  std::string raw = client.ReadToEnd();
  EXPECT_THAT(raw, ::testing::StartsWith("HTTP/1.0 200 OK\r\n"));
  EXPECT_THAT(raw, ::testing::HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(raw, ::testing::EndsWith("\r\n\r\none two"));
  EXPECT_THAT(raw, ::testing::Not(::testing::HasSubstr("chunked")));
}

TEST(HttpServerWorkerTest, GzipWhenTheRouteAndTheClientAgree) {
  const std::string payload = std::string(5000, 'a') + std::string(5000, 'b');
  Router router;
  RouteOptions gzip;
  gzip.gzip = true;
  AddOrDie(
      router, "GET", "/data", [&](HttpRequest&, HttpResponse& res) { res.body = payload; }, gzip);
  AddOrDie(
      router, "GET", "/stream",
      [&](HttpRequest&, HttpResponse& res) {
        res.Write(payload.substr(0, 3000));
        res.Write(payload.substr(3000));
      },
      gzip);
  AddOrDie(router, "GET", "/plain", [&](HttpRequest&, HttpResponse& res) { res.body = payload; });
  AddOrDie(
      router, "GET", "/inline", [&](HttpRequest&, HttpResponse& res) { res.body = payload; },
      [] {
        RouteOptions o = Inline();
        o.gzip = true;
        return o;
      }());
  auto server = StartOrDie(Loopback(), std::move(router));
  ASSERT_NE(server, nullptr);
  Client client(server->port());

  for (const char* path : {"/data", "/inline", "/stream"}) {
    SCOPED_TRACE(path);
    auto r = client.RoundTrip(absl::StrCat(
        "GET ", path, " HTTP/1.1\r\nHost: a\r\nAccept-Encoding: br;q=1, gzip;q=0.5\r\n\r\n"));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->Header("content-encoding"), "gzip");
    EXPECT_EQ(r->Header("vary"), "Accept-Encoding");
    EXPECT_LT(r->body.size(), payload.size());
    auto plain = Decompress(Codec::kGzip, r->body, 1 << 20);
    ASSERT_TRUE(plain.ok()) << plain.status();
    EXPECT_EQ(*plain, payload);
  }
  // Not asked for, refused, or not a compressing route: the body as it is.
  for (const std::string request :
       {"GET /data HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /data HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip;q=0, *\r\n\r\n",
        "GET /plain HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n"}) {
    auto r = client.RoundTrip(request);
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(r->HasHeader("content-encoding")) << request;
    EXPECT_EQ(r->body, payload);
  }
}

TEST(AcceptsGzipTest, ParsesQValues) {
  EXPECT_TRUE(AcceptsGzip("gzip"));
  EXPECT_TRUE(AcceptsGzip("deflate, GZIP"));
  EXPECT_TRUE(AcceptsGzip("gzip;q=0.1"));
  EXPECT_TRUE(AcceptsGzip("*"));
  EXPECT_TRUE(AcceptsGzip("x-gzip"));
  EXPECT_FALSE(AcceptsGzip(""));
  EXPECT_FALSE(AcceptsGzip("br, deflate"));
  EXPECT_FALSE(AcceptsGzip("gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("*, gzip;q=0"));
  EXPECT_FALSE(AcceptsGzip("*;q=0"));
}

TEST(HttpServerWorkerTest, FullQueueAnswers503) {
  HttpServerOptions options = Loopback();
  options.worker_threads = 1;
  options.max_queued_requests = 1;
  Router router;
  Gate gate;
  Counter started;
  AddOrDie(router, "GET", "/{n}", [&](HttpRequest& req, HttpResponse& res) {
    if (req.PathValue("n") == "block") {
      started.Add();
      gate.Wait();
    }
    res.body = std::string(req.PathValue("n"));
  });
  auto server = StartOrDie(options, std::move(router));
  ASSERT_NE(server, nullptr);
  Client busy(server->port());
  ASSERT_TRUE(busy.Send("GET /block HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(started.WaitFor(1));  // the only worker is taken
  // Three more requests: whichever the server reads first takes the one queue slot, the other
  // two are refused at once.
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<Client>(server->port()));
    ASSERT_TRUE(clients.back()->Send(absl::StrCat("GET /c", i, " HTTP/1.1\r\nHost: a\r\n\r\n")));
  }
  // Wait (bounded) until two of them have an answer to read, then let the worker go.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    std::vector<pollfd> fds;
    for (auto& c : clients) fds.push_back(pollfd{c->fd(), POLLIN, 0});
    poll(fds.data(), fds.size(), 100);
    int readable = 0;
    for (const pollfd& p : fds) readable += (p.revents & POLLIN) != 0;
    if (readable >= 2 || std::chrono::steady_clock::now() > until) break;
  }
  gate.Open();
  int refused = 0, served = 0;
  for (auto& c : clients) {
    auto r = c->ReadResponse();
    ASSERT_TRUE(r.has_value());
    if (r->status == 503) {
      ++refused;
      EXPECT_EQ(r->body, "server busy: too many requests queued\n");
      EXPECT_EQ(r->Header("retry-after"), "1");
    } else {
      ++served;
      EXPECT_EQ(r->status, 200);
    }
  }
  EXPECT_EQ(refused, 2);
  EXPECT_EQ(served, 1);
  auto a = busy.ReadResponse();
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->body, "block");
}

TEST(HttpServerWorkerTest, ThrowingWorkerHandlerGets500) {
  Router router;
  AddOrDie(router, "GET", "/boom",
           [](HttpRequest&, HttpResponse&) { throw std::runtime_error("boom"); });
  auto server = StartOrDie(Loopback(), std::move(router));
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  auto r = client.RoundTrip("GET /boom HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
  // The connection survives.
  r = client.RoundTrip("GET /boom HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r.has_value());
}

TEST(HttpServerWorkerTest, ShutdownCancelsHandlersStillRunningAfterTheGracePeriod) {
  Router router;
  Counter started, finished;
  std::atomic<int> reason{-1};
  AddOrDie(router, "GET", "/long", [&](HttpRequest& req, HttpResponse&) {
    started.Add();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!req.Cancelled() && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    reason = static_cast<int>(req.control->reason());
    finished.Add();
  });
  auto server = StartOrDie(Loopback(), std::move(router));
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  ASSERT_TRUE(client.Send("GET /long HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(started.WaitFor(1));
  const auto start = std::chrono::steady_clock::now();
  server->Shutdown(absl::Milliseconds(100));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(finished.value(), 1);  // Shutdown waited for it
  EXPECT_EQ(reason.load(), static_cast<int>(CancelReason::kShutdown));
  EXPECT_TRUE(client.ClosedByPeer());
}

TEST(HttpServerWorkerTest, BodyIsMovedIntoTheHandler) {
  // The handler can take the body without a copy: what it moves out is the server's buffer.
  Router router;
  std::string taken;
  AddOrDie(
      router, "POST", "/ingest",
      [&](HttpRequest& req, HttpResponse& res) {
        taken = std::move(req.body);
        res.body = absl::StrCat(taken.size(), " ", req.body.size());
      },
      Inline());
  auto server = StartOrDie(Loopback(), std::move(router));
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  auto r = client.RoundTrip(
      absl::StrCat("POST /ingest HTTP/1.1\r\nHost: a\r\nContent-Length: 70000\r\n\r\n",
                   std::string(70000, 'z')));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "70000 0");
  EXPECT_EQ(taken, std::string(70000, 'z'));
}

}  // namespace
}  // namespace sprout::net
