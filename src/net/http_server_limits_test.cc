// Slow and idle clients, and the connection cap: what keeps one client from holding a server.
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/http_server.h"
#include "net/http_test_util.h"

namespace sprout::net {
namespace {

using test_util::Client;
using test_util::Loopback;
using test_util::StartOrDie;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

void Hello(const HttpRequest& req, HttpResponse& res) {
  res.body = absl::StrCat("hello ", req.path);
}

// For each client, when the server closed its connection (measured from `start`), or nullopt
// if it was still open at `start + limit`. Whatever the server sends before closing is read
// and ignored.
std::vector<std::optional<Clock::duration>> WaitForCloses(
    const std::vector<std::unique_ptr<Client>>& clients, Clock::time_point start,
    Clock::duration limit) {
  std::vector<std::optional<Clock::duration>> closed(clients.size());
  size_t open = clients.size();
  while (open > 0 && Clock::now() < start + limit) {
    std::vector<pollfd> fds;
    std::vector<size_t> index;
    for (size_t i = 0; i < clients.size(); ++i) {
      if (closed[i].has_value()) continue;
      fds.push_back(pollfd{clients[i]->fd(), POLLIN, 0});
      index.push_back(i);
    }
    const auto left = std::chrono::duration_cast<milliseconds>(start + limit - Clock::now());
    const int ready =
        poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(left.count(), 1)));
    if (ready <= 0) continue;
    for (size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      char buf[4096];
      const ssize_t n = recv(fds[k].fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))) continue;
      closed[index[k]] = Clock::now() - start;
      --open;
    }
  }
  return closed;
}

struct Group {
  const char* name;
  size_t begin, end;
  milliseconds not_before;  // closing earlier means the wrong timeout fired
  milliseconds by;          // generous: the machine may be loaded
};

// The repro: hundreds of connections that send headers and 1 KB of a 20 MB body and
// stall, with others that stall in the header, send nothing, or sit idle after a request. Each
// is closed after its timeout, while a well-behaved client keeps being served.
TEST(HttpServerLimitsTest, SlowAndIdleClientsAreClosedAfterTheirTimeouts) {
  HttpServerOptions options = Loopback();
  options.read_header_timeout = absl::Milliseconds(600);
  options.read_timeout = absl::Milliseconds(1500);
  options.idle_timeout = absl::Milliseconds(900);
  options.write_timeout = absl::Seconds(5);
  options.max_request_body_size = 32 << 20;
  auto server = StartOrDie(options, Hello);
  ASSERT_NE(server, nullptr);
  const int port = server->port();

  std::vector<std::unique_ptr<Client>> clients;
  const Clock::time_point start = Clock::now();
  const std::string body_header =
      "POST /v1/traces HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-protobuf\r\n"
      "Content-Length: 20971520\r\n\r\n";
  for (int i = 0; i < 200; ++i) {  // header and 1 KB of a 20 MB body, then silence
    clients.push_back(std::make_unique<Client>(port));
    ASSERT_TRUE(clients.back()->connected());
    ASSERT_TRUE(clients.back()->Send(body_header + std::string(1024, 'x')));
  }
  for (int i = 0; i < 50; ++i) {  // half a header, then silence
    clients.push_back(std::make_unique<Client>(port));
    ASSERT_TRUE(clients.back()->Send("POST /v1/traces HTTP/1.1\r\nHost: a\r\nContent-"));
  }
  for (int i = 0; i < 50; ++i) {  // connect and say nothing
    clients.push_back(std::make_unique<Client>(port));
    ASSERT_TRUE(clients.back()->connected());
  }
  for (int i = 0; i < 20; ++i) {  // one request, then an idle keep-alive connection
    clients.push_back(std::make_unique<Client>(port));
    auto r = clients.back()->RoundTrip("GET /first HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->status, 200);
  }
  const Clock::time_point idle_start = Clock::now();

  // Meanwhile a well-behaved client is served, on new connections and on a kept-alive one.
  std::atomic<int> served{0};
  std::thread good([&] {
    Client keep(port);
    for (int i = 0; i < 20; ++i) {
      Client fresh(port);
      auto a = fresh.RoundTrip("GET /fresh HTTP/1.1\r\nHost: a\r\n\r\n");
      auto b = keep.RoundTrip("GET /kept HTTP/1.1\r\nHost: a\r\n\r\n");
      if (a.has_value() && a->body == "hello /fresh" && b.has_value() && b->body == "hello /kept") {
        ++served;
      }
    }
  });

  auto closed = WaitForCloses(clients, start, std::chrono::seconds(8));
  good.join();
  EXPECT_EQ(served.load(), 20);

  const milliseconds idle_offset = std::chrono::duration_cast<milliseconds>(idle_start - start);
  const Group groups[] = {
      {"stalled body (read_timeout)", 0, 200, milliseconds(1300), milliseconds(5000)},
      {"stalled header (read_header_timeout)", 200, 250, milliseconds(500), milliseconds(4000)},
      {"silent (read_header_timeout)", 250, 300, milliseconds(500), milliseconds(4000)},
      {"idle keep-alive (idle_timeout)", 300, 320, idle_offset + milliseconds(800),
       idle_offset + milliseconds(5000)},
  };
  for (const Group& g : groups) {
    int still_open = 0, early = 0, late = 0;
    for (size_t i = g.begin; i < g.end; ++i) {
      if (!closed[i].has_value()) {
        ++still_open;
      } else if (*closed[i] < g.not_before) {
        ++early;
      } else if (*closed[i] > g.by) {
        ++late;
      }
    }
    EXPECT_EQ(still_open, 0) << g.name;
    EXPECT_EQ(early, 0) << g.name;
    EXPECT_EQ(late, 0) << g.name;
  }
}

TEST(HttpServerLimitsTest, ZeroTimeoutsKeepConnectionsAsGoDoes) {
  HttpServerOptions options = Loopback();
  options.read_header_timeout = absl::ZeroDuration();
  options.read_timeout = absl::ZeroDuration();
  options.idle_timeout = absl::ZeroDuration();
  auto server = StartOrDie(options, Hello);
  ASSERT_NE(server, nullptr);
  std::vector<std::unique_ptr<Client>> clients;
  clients.push_back(std::make_unique<Client>(server->port()));
  const Clock::time_point start = Clock::now();
  auto closed = WaitForCloses(clients, start, milliseconds(700));
  EXPECT_FALSE(closed[0].has_value());
  // Still served after the wait.
  auto r = clients[0]->RoundTrip("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "hello /x");
}

TEST(HttpServerLimitsTest, ReadHeaderTimeoutFallsBackToReadTimeout) {
  HttpServerOptions options = Loopback();
  options.read_header_timeout = absl::ZeroDuration();
  options.read_timeout = absl::Milliseconds(400);
  options.idle_timeout = absl::ZeroDuration();  // also falls back to read_timeout
  auto server = StartOrDie(options, Hello);
  ASSERT_NE(server, nullptr);
  std::vector<std::unique_ptr<Client>> clients;
  clients.push_back(std::make_unique<Client>(server->port()));  // silent
  clients.push_back(std::make_unique<Client>(server->port()));  // idle after one request
  ASSERT_TRUE(clients[1]->RoundTrip("GET /x HTTP/1.1\r\nHost: a\r\n\r\n").has_value());
  auto closed = WaitForCloses(clients, Clock::now(), std::chrono::seconds(5));
  ASSERT_TRUE(closed[0].has_value());
  ASSERT_TRUE(closed[1].has_value());
  EXPECT_GE(*closed[0], milliseconds(300));
  EXPECT_GE(*closed[1], milliseconds(300));
}

TEST(HttpServerLimitsTest, WriteTimeoutDropsALateResponse) {
  HttpServerOptions options = Loopback();
  options.write_timeout = absl::Milliseconds(200);
  test_util::Gate gate;
  auto server = StartOrDie(options, [&](const HttpRequest& req, HttpResponse& res) {
    if (req.path == "/slow") gate.Wait(milliseconds(600));  // inline: outlives the timeout
    res.body = "done";
  });
  ASSERT_NE(server, nullptr);
  Client fast(server->port());
  auto r = fast.RoundTrip("GET /fast HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "done");
  Client slow(server->port());
  ASSERT_TRUE(slow.Send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(slow.ReadToEnd(), "");  // closed without a response, as Go's failed write
}

// Waits (bounded) until the server counts `n` open connections.
bool WaitForOpen(HttpServer& server, int n) {
  const Clock::time_point until = Clock::now() + std::chrono::seconds(10);
  while (server.open_connections() != n) {
    if (Clock::now() > until) return false;
    std::this_thread::yield();
  }
  return true;
}

TEST(HttpServerLimitsTest, ConnectionCapRefusesTheExcessWith503AndRecovers) {
  HttpServerOptions options = Loopback();
  options.max_connections = 3;
  auto server = StartOrDie(options, Hello);
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Client>(port));
    ASSERT_TRUE(held.back()->RoundTrip("GET /held HTTP/1.1\r\nHost: a\r\n\r\n").has_value());
  }
  ASSERT_TRUE(WaitForOpen(*server, 3));

  {  // Refused before sending anything: the 503 comes at once.
    Client excess(port);
    ASSERT_TRUE(excess.connected());
    auto r = excess.ReadResponse();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 503);
    EXPECT_EQ(r->Header("retry-after"), "1");
    EXPECT_EQ(r->Header("connection"), "close");
    EXPECT_EQ(r->body, "too many open connections\n");
    EXPECT_TRUE(excess.ClosedByPeer());
  }
  {  // Refused while sending a request with a body: the client still reads the 503.
    Client excess(port);
    auto r = excess.RoundTrip(
        absl::StrCat("POST /v1/traces HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n",
                     std::string(100000, 'x')));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 503);
  }
  EXPECT_EQ(server->open_connections(), 3);  // refused ones are not counted

  held.erase(held.begin());  // one connection closes: room for one more
  ASSERT_TRUE(WaitForOpen(*server, 2));
  Client next(port);
  auto r = next.RoundTrip("GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello /next");
  // The held connections were never disturbed.
  auto again = held[0]->RoundTrip("GET /again HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->body, "hello /again");
}

TEST(HttpServerLimitsTest, ClosingAfterAResponseNeverResetsItAway) {
  // The client asks for the connection to close and has pipelined more bytes the server never
  // reads. Closing the socket over unread bytes makes the kernel send a reset, which can destroy
  // the response in the client's buffers before it reads them; the server must half-close and
  // drain instead. The client reads only once the server is done with the connection.
  const std::string big(2 << 20, 'r');
  auto server =
      StartOrDie(Loopback(), [&](const HttpRequest&, HttpResponse& res) { res.body = big; });
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  ASSERT_TRUE(
      client.Send(absl::StrCat("GET /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                               "GET /next HTTP/1.1\r\nHost: a\r\n\r\n", std::string(100000, 'j'))));
  EXPECT_TRUE(WaitForOpen(*server, 1));
  EXPECT_TRUE(WaitForOpen(*server, 0));  // after its drain (at most a second)
  auto r = client.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body.size(), big.size());
}

TEST(HttpServerLimitsTest, BodyLimitDefaultsTo20MiBWhenNotPositive) {
  for (int64_t limit : {int64_t{0}, int64_t{-1}}) {
    HttpServerOptions options = Loopback();
    options.max_request_body_size = limit;
    auto server = StartOrDie(options, [](const HttpRequest& req, HttpResponse& res) {
      res.status = req.body_too_large ? 413 : 200;
    });
    ASSERT_NE(server, nullptr);
    Client at(server->port());
    // The limit is checked against the declared length before any body byte is read.
    ASSERT_TRUE(at.Send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 20971521\r\n\r\n"));
    auto r = at.ReadResponse();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 413) << limit;
    Client under(server->port());
    auto ok = under.RoundTrip(absl::StrCat(
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n", std::string(1000, 'y')));
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(ok->status, 200) << limit;
  }
}

}  // namespace
}  // namespace sprout::net
