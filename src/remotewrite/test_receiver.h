// Test helper: a remote-write receiver on sprout's own HTTP server (in-process, real sockets)
// that decodes what it gets (snappy + protobuf), keeps every request with its headers, and
// answers with the status the test chooses. Header-only; for tests of remotewrite's users.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "net/compression.h"
#include "net/http_server.h"
#include "prometheus/remote.pb.h"

namespace sprout::remotewrite::testing {

class TestReceiver {
 public:
  struct Request {
    std::vector<std::pair<std::string, std::string>> headers;
    prometheus::WriteRequest write;

    // The first value of header `name` (case-insensitive), "" when absent.
    std::string Header(const std::string& name) const {
      for (const auto& [k, v] : headers) {
        if (absl::EqualsIgnoreCase(k, name)) return v;
      }
      return "";
    }
    // How many times header `name` was sent (case-insensitive).
    int HeaderCount(const std::string& name) const {
      int n = 0;
      for (const auto& [k, v] : headers) n += absl::EqualsIgnoreCase(k, name) ? 1 : 0;
      return n;
    }
  };

  // Listens on 127.0.0.1, on `port` (0: any free one).
  explicit TestReceiver(int port = 0) {
    net::HttpServerOptions options;
    options.endpoint = absl::StrCat("127.0.0.1:", port);
    options.threads = 2;
    auto server = net::HttpServer::Start(
        options, [this](const net::HttpRequest& request, net::HttpResponse& response) {
          Handle(request, response);
        });
    if (server.ok()) server_ = std::move(*server);
  }
  ~TestReceiver() {
    if (server_ != nullptr) server_->Shutdown(absl::Seconds(1));
  }

  bool ok() const { return server_ != nullptr; }
  int port() const { return server_->port(); }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", port(), "/api/v1/write"); }

  // The next requests are answered with these statuses, in order (body "backend says no").
  void FailWith(std::vector<int> statuses) {
    std::lock_guard<std::mutex> lock(mu_);
    for (int s : statuses) fail_.push_back(s);
  }
  // Every request is answered with `status` (0: stop failing).
  void FailForever(int status) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_forever_ = status;
  }

  // The requests accepted (2xx), in arrival order.
  std::vector<Request> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  int attempts() {
    std::lock_guard<std::mutex> lock(mu_);
    return attempts_;
  }
  // Waits until at least `n` requests were accepted (false after `timeout`).
  bool WaitReceived(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return received_.size() >= n; });
  }

 private:
  void Handle(const net::HttpRequest& request, net::HttpResponse& response) {
    std::lock_guard<std::mutex> lock(mu_);
    ++attempts_;
    if (fail_forever_ != 0 || !fail_.empty()) {
      response.status = fail_forever_ != 0 ? fail_forever_ : fail_.front();
      if (fail_forever_ == 0) fail_.pop_front();
      response.body = "backend says no";
      return;
    }
    auto raw = net::Decompress(net::Codec::kSnappy, request.body, 64 << 20);
    Request got;
    if (!raw.ok() || !got.write.ParseFromString(*raw)) {
      response.status = 400;
      response.body = "cannot decode";
      return;
    }
    got.headers = request.headers;
    received_.push_back(std::move(got));
    response.status = 204;
    cv_.notify_all();
  }

  std::unique_ptr<net::HttpServer> server_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<int> fail_;
  int fail_forever_ = 0;
  int attempts_ = 0;
  std::vector<Request> received_;
};

}  // namespace sprout::remotewrite::testing
