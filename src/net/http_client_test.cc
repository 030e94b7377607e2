#include "net/http_client.h"

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/http_server.h"
#include "net/test_sockets.h"

namespace sprout::net {
namespace {

using net::testing::ClosedPort;
using net::testing::SilentListener;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

// Holds slow handlers until the test lets them go, so that a server never waits for a sleeping
// handler at shutdown.
class Gate {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait_for(lock, std::chrono::seconds(10), [this] { return open_; });
  }
  // Waits (at most 10 s) until `n` callers are held at the gate: a request is then in flight,
  // past the client's connect and send, waiting for its response.
  bool WaitForWaiters(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return waiting_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int waiting_ = 0;
};

// The project's own server, answering:
//   /echo  the request body, with what arrived in X-Seen-* headers and the method in X-Method;
//   /slow  "late" once the gate opens;
//   other  "hello".
// Every request's remote address is recorded, to see which connection carried it.
class TestServer {
 public:
  TestServer() {
    HttpServerOptions options;
    options.endpoint = "127.0.0.1:0";
    options.threads = 8;  // slow handlers hold a thread each
    options.max_request_body_size = 64 << 20;
    auto server = HttpServer::Start(
        options, [this](const HttpRequest& req, HttpResponse& res) { Handle(req, res); });
    EXPECT_TRUE(server.ok()) << server.status();
    if (server.ok()) server_ = std::move(*server);
  }
  ~TestServer() {
    gate_.Open();
    if (server_ != nullptr) server_->Shutdown(absl::Seconds(5));
  }

  std::string url(std::string_view path) const {
    return absl::StrCat("http://127.0.0.1:", server_->port(), std::string(path));
  }
  std::vector<std::string> remote_addresses() {
    std::lock_guard<std::mutex> lock(mu_);
    return remote_addresses_;
  }
  std::vector<std::string> targets() {
    std::lock_guard<std::mutex> lock(mu_);
    return targets_;
  }
  Gate& gate() { return gate_; }

 private:
  void Handle(const HttpRequest& req, HttpResponse& res) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      remote_addresses_.push_back(req.remote_address);
      targets_.push_back(req.target);
    }
    if (req.path == "/echo") {
      res.status = 201;
      res.headers.emplace_back("X-Method", req.method);
      for (const char* name : {"x-foo", "expect", "content-type", "user-agent"}) {
        res.headers.emplace_back(absl::StrCat("X-Seen-", name), std::string(req.Header(name)));
      }
      res.headers.emplace_back("X-Seen-Empty-Present", [&] {
        for (const auto& [k, v] : req.headers) {
          if (k == "x-empty") return "yes";
        }
        return "no";
      }());
      res.body = req.body;
    } else if (req.path == "/slow") {
      gate_.Wait();
      res.body = "late";
    } else {
      res.body = "hello";
    }
  }

  Gate gate_;
  std::unique_ptr<HttpServer> server_;
  std::mutex mu_;
  std::vector<std::string> remote_addresses_;
  std::vector<std::string> targets_;
};

std::unique_ptr<HttpClient> NewClient(HttpClientOptions options = {}) {
  auto client = HttpClient::Create(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::move(*client) : nullptr;
}

TEST(HttpClientTest, PostSendsHeadersAndBodyAndCollectsTheResponse) {
  TestServer server;
  HttpClientOptions options;
  options.user_agent = "sprout-test/1.0";
  auto client = NewClient(options);
  ASSERT_NE(client, nullptr);
  HttpClientResponse r =
      client->Do("POST", server.url("/echo"),
                 {{"X-Foo", "bar"}, {"Content-Type", "application/x-protobuf"}, {"X-Empty", ""}},
                 "payload bytes", absl::Seconds(5));
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, "payload bytes");
  EXPECT_EQ(r.Header("X-Method"), "POST");
  EXPECT_EQ(r.Header("x-seen-x-foo"), "bar");
  EXPECT_EQ(r.Header("x-seen-content-type"), "application/x-protobuf");
  EXPECT_EQ(r.Header("x-seen-user-agent"), "sprout-test/1.0");
  EXPECT_EQ(r.Header("x-seen-empty-present"), "yes");
  EXPECT_EQ(r.Header("no-such-header"), "");
  // Names arrive lower-cased.
  bool found = false;
  for (const auto& [name, value] : r.headers) found = found || name == "x-method";
  EXPECT_TRUE(found);
}

TEST(HttpClientTest, NoDefaultContentTypeAndOtherMethods) {
  TestServer server;
  auto client = NewClient();
  ASSERT_NE(client, nullptr);
  HttpClientResponse post = client->Do("POST", server.url("/echo"), {}, "x", absl::Seconds(5));
  EXPECT_EQ(post.Header("x-seen-content-type"), "");  // not curl's form encoding

  HttpClientResponse get = client->Do("GET", server.url("/echo"), {}, "", absl::Seconds(5));
  EXPECT_EQ(get.status, 201);
  EXPECT_EQ(get.Header("x-method"), "GET");
  EXPECT_EQ(get.body, "");

  HttpClientResponse put = client->Do("PUT", server.url("/echo"), {}, "object", absl::Seconds(5));
  EXPECT_EQ(put.Header("x-method"), "PUT");
  EXPECT_EQ(put.body, "object");

  HttpClientResponse del = client->Do("DELETE", server.url("/echo"), {}, "", absl::Seconds(5));
  EXPECT_EQ(del.Header("x-method"), "DELETE");

  HttpClientResponse head = client->Do("HEAD", server.url("/other"), {}, "", absl::Seconds(5));
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
}

TEST(HttpClientTest, KeepAliveReusesOneConnection) {
  TestServer server;
  auto client = NewClient();
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 3; ++i) {
    HttpClientResponse r = client->Do("POST", server.url("/echo"), {}, "x", absl::Seconds(5));
    ASSERT_EQ(r.status, 201) << r.error;
  }
  std::vector<std::string> remotes = server.remote_addresses();
  ASSERT_EQ(remotes.size(), 3u);
  EXPECT_EQ(remotes[0], remotes[1]);
  EXPECT_EQ(remotes[1], remotes[2]);
}

TEST(HttpClientTest, NoIdleConnectionsMeansANewConnectionPerCall) {
  TestServer server;
  HttpClientOptions options;
  options.max_idle_connections = 0;
  auto client = NewClient(options);
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(client->Do("GET", server.url("/"), {}, "", absl::Seconds(5)).status, 200);
  }
  std::vector<std::string> remotes = server.remote_addresses();
  ASSERT_EQ(remotes.size(), 2u);
  EXPECT_NE(remotes[0], remotes[1]);
}

TEST(HttpClientTest, LargeBodyIsSentWithoutExpectContinue) {
  TestServer server;
  auto client = NewClient();
  ASSERT_NE(client, nullptr);
  std::string body(24 << 20, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 131 + (i >> 11));
  const auto start = Clock::now();
  HttpClientResponse r = client->Do("POST", server.url("/echo"), {}, body, absl::Seconds(30));
  ASSERT_EQ(r.status, 201) << r.error;
  EXPECT_EQ(r.Header("x-seen-expect"), "");
  EXPECT_EQ(r.body.size(), body.size());
  EXPECT_TRUE(r.body == body);
  // curl waits a whole second for `100 Continue` when it sends the Expect header.
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
}

TEST(HttpClientTest, TimeoutAgainstASlowHandler) {
  TestServer server;
  auto client = NewClient();
  ASSERT_NE(client, nullptr);
  const auto start = Clock::now();
  HttpClientResponse r = client->Do("POST", server.url("/slow"), {}, "x", absl::Milliseconds(200));
  const auto elapsed = Clock::now() - start;
  EXPECT_EQ(r.status, 0);
  EXPECT_THAT(r.error, HasSubstr("timed out"));
  EXPECT_GE(elapsed, std::chrono::milliseconds(190));
  EXPECT_LT(elapsed, std::chrono::milliseconds(1500));
  server.gate().Open();
  // The pooled handle whose transfer timed out is still usable.
  HttpClientResponse after = client->Do("GET", server.url("/"), {}, "", absl::Seconds(5));
  EXPECT_EQ(after.status, 200) << after.error;
  EXPECT_EQ(after.body, "hello");
}

TEST(HttpClientTest, ConnectionRefusedOnAClosedPort) {
  auto client = NewClient();
  ASSERT_NE(client, nullptr);
  ClosedPort closed;
  HttpClientResponse r = client->Do("POST", absl::StrCat("http://127.0.0.1:", closed.port(), "/"),
                                    {}, "x", absl::Seconds(5));
  EXPECT_EQ(r.status, 0);
  EXPECT_THAT(r.error, HasSubstr("Couldn't connect to server"));
  EXPECT_TRUE(r.body.empty());
}

TEST(HttpClientTest, CancelAllEndsACallInProgress) {
  TestServer server;
  auto client = NewClient();
  ASSERT_NE(client, nullptr);
  HttpClientResponse r;
  Clock::time_point finished;
  std::thread caller([&] {
    r = client->Do("POST", server.url("/slow"), {}, "x", absl::ZeroDuration());
    finished = Clock::now();
  });
  EXPECT_TRUE(server.gate().WaitForWaiters(1));  // the call is in flight
  const auto cancelled = Clock::now();
  client->CancelAll();
  caller.join();
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "request canceled");
  EXPECT_LT(finished - cancelled, std::chrono::milliseconds(200));
  // Calls started after CancelAll are not affected.
  HttpClientResponse after = client->Do("GET", server.url("/"), {}, "", absl::Seconds(5));
  EXPECT_EQ(after.status, 200) << after.error;
}

TEST(HttpClientTest, CloseEndsACallInProgressAndFailsEveryLaterCallAtOnce) {
  TestServer server;
  auto client = NewClient();
  ASSERT_NE(client, nullptr);
  HttpClientResponse r;
  std::thread caller(
      [&] { r = client->Do("POST", server.url("/slow"), {}, "x", absl::ZeroDuration()); });
  EXPECT_TRUE(server.gate().WaitForWaiters(1));  // the call is in flight
  client->Close();
  caller.join();
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "request canceled");
  // Unlike after CancelAll, a call started later fails too, without reaching the server.
  const size_t seen = server.remote_addresses().size();
  const auto start = Clock::now();
  HttpClientResponse after = client->Do("GET", server.url("/"), {}, "", absl::ZeroDuration());
  EXPECT_EQ(after.status, 0);
  EXPECT_EQ(after.error, "request canceled");
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(100));
  EXPECT_EQ(server.remote_addresses().size(), seen);
  client->Close();  // idempotent
}

TEST(HttpClientTest, CloseRacingWithCallsThatAreStartingNeverLeavesOneHanging) {
  // A listener that accepts connections and never answers: a call that missed Close would
  // wait forever (no timeout).
  SilentListener listener(64);
  const std::string url = absl::StrCat("http://127.0.0.1:", listener.port(), "/");
  for (int round = 0; round < 5; ++round) {
    auto client = NewClient();
    ASSERT_NE(client, nullptr);
    std::atomic<int> finished{0};
    std::vector<std::thread> callers;
    for (int i = 0; i < 4; ++i) {
      callers.emplace_back([&] {
        for (int k = 0; k < 3; ++k) {
          HttpClientResponse r = client->Do("POST", url, {}, "x", absl::ZeroDuration());
          EXPECT_EQ(r.error, "request canceled");
        }
        ++finished;
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20 * round));
    client->Close();
    const auto closed = Clock::now();
    while (finished.load() < 4 && Clock::now() - closed < std::chrono::seconds(5)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(finished.load(), 4) << "a call outlived Close()";
    if (finished.load() < 4) shutdown(listener.fd(), SHUT_RDWR);  // let them go, to fail cleanly
    for (auto& caller : callers) caller.join();
    if (finished.load() < 4) break;
  }
}

TEST(HttpClientTest, MaxResponseBodyKeepsTheStartAndTheConnection) {
  TestServer server;
  HttpClientOptions options;
  options.max_response_body = 4096;
  auto client = NewClient(options);
  ASSERT_NE(client, nullptr);
  std::string body(100000, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  HttpClientResponse r = client->Do("POST", server.url("/echo"), {}, body, absl::Seconds(5));
  ASSERT_EQ(r.status, 201) << r.error;
  EXPECT_EQ(r.body, body.substr(0, 4096));
  // The rest was read (not left on the wire): the connection serves the next call.
  HttpClientResponse next = client->Do("GET", server.url("/"), {}, "", absl::Seconds(5));
  EXPECT_EQ(next.status, 200) << next.error;
  EXPECT_EQ(next.body, "hello");
  std::vector<std::string> remotes = server.remote_addresses();
  ASSERT_EQ(remotes.size(), 2u);
  EXPECT_EQ(remotes[0], remotes[1]);
}

TEST(HttpClientTest, ProxyUrlCarriesEveryCall) {
  TestServer proxy;  // answers "hello" to whatever it is asked to forward
  HttpClientOptions options;
  options.proxy_url = proxy.url("");
  auto client = NewClient(options);
  ASSERT_NE(client, nullptr);
  // .invalid never resolves: only the proxy can answer.
  HttpClientResponse r =
      client->Do("POST", "http://backend.invalid/api/v1/write", {}, "x", absl::Seconds(5));
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.body, "hello");
  EXPECT_THAT(proxy.targets(), ::testing::ElementsAre("http://backend.invalid/api/v1/write"));
}

TEST(HttpClientTest, IdleConnectionTimeoutRetiresOldConnections) {
  TestServer server;
  HttpClientOptions options;
  options.idle_connection_timeout = absl::Seconds(1);
  auto client = NewClient(options);
  ASSERT_NE(client, nullptr);
  ASSERT_EQ(client->Do("GET", server.url("/"), {}, "", absl::Seconds(5)).status, 200);
  ASSERT_EQ(client->Do("GET", server.url("/"), {}, "", absl::Seconds(5)).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  ASSERT_EQ(client->Do("GET", server.url("/"), {}, "", absl::Seconds(5)).status, 200);
  std::vector<std::string> remotes = server.remote_addresses();
  ASSERT_EQ(remotes.size(), 3u);
  EXPECT_EQ(remotes[0], remotes[1]);  // reused while fresh
  EXPECT_NE(remotes[1], remotes[2]);  // idle for more than a second: a new connection
}

TEST(HttpClientTest, ConcurrentCallsFromFourThreads) {
  TestServer server;
  HttpClientOptions options;
  options.max_idle_connections = 4;
  auto client = NewClient(options);
  ASSERT_NE(client, nullptr);
  constexpr int kThreads = 4;
  constexpr int kCalls = 50;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        std::string body = absl::StrCat("thread ", t, " call ", i);
        HttpClientResponse r = client->Do("POST", server.url("/echo"), {}, body, absl::Seconds(5));
        if (r.status == 201 && r.body == body) ++ok;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), kThreads * kCalls);
  // Never more connections than calls at once, all kept alive.
  std::vector<std::string> remotes = server.remote_addresses();
  EXPECT_LE(std::set<std::string>(remotes.begin(), remotes.end()).size(), size_t{kThreads});
}

TEST(HttpClientTest, CreateNamesUnreadableTlsFiles) {
  HttpClientOptions options;
  options.ca_file = "/nonexistent/ca.pem";
  auto client = HttpClient::Create(options);
  ASSERT_FALSE(client.ok());
  EXPECT_THAT(std::string(client.status().message()), HasSubstr("/nonexistent/ca.pem"));
  EXPECT_THAT(std::string(client.status().message()), HasSubstr("no such file or directory"));

  options.ca_file.clear();
  options.cert_file = "/nonexistent/client.pem";
  options.key_file = "/nonexistent/client.key";
  client = HttpClient::Create(options);
  ASSERT_FALSE(client.ok());
  EXPECT_THAT(std::string(client.status().message()), HasSubstr("/nonexistent/client.pem"));

  options.key_file.clear();
  client = HttpClient::Create(options);
  ASSERT_FALSE(client.ok());
  EXPECT_THAT(std::string(client.status().message()),
              HasSubstr("provide both certificate and key"));

  options = HttpClientOptions();
  options.ca_file = "/dev/null";  // readable, but holds no certificate
  client = HttpClient::Create(options);
  ASSERT_FALSE(client.ok());
  EXPECT_THAT(std::string(client.status().message()), HasSubstr("/dev/null"));
}

TEST(HttpClientTest, HeaderLookupIsCaseInsensitive) {
  HttpClientResponse r;
  r.headers = {{"content-type", "text/plain"}, {"x-a", "1"}, {"x-a", "2"}};
  EXPECT_EQ(r.Header("Content-Type"), "text/plain");
  EXPECT_EQ(r.Header("X-A"), "1");
  EXPECT_EQ(r.Header("x-b"), "");
}

}  // namespace
}  // namespace sprout::net
