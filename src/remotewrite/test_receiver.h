// Test helper: a remote-write receiver on sprout's own HTTP server (in-process, real sockets)
// that decodes what it gets (snappy + protobuf), keeps every request with its headers, and
// answers with the status the test chooses. Like Prometheus, it checks that every series'
// samples arrive in time order (and records each violation). A gate can hold requests in the
// handler until released. Header-only; for tests of remotewrite and its users (the
// prometheusremotewrite exporter, the traces metrics-generator).
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
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

  // Listens on 127.0.0.1, on `port` (0: any free one), with `threads` handler threads (the
  // most requests that can be inside the handler at once).
  explicit TestReceiver(int port = 0, int threads = 2) {
    net::HttpServerOptions options;
    options.endpoint = absl::StrCat("127.0.0.1:", port);
    options.threads = threads;
    auto server = net::HttpServer::Start(
        options, [this](const net::HttpRequest& request, net::HttpResponse& response) {
          Handle(request, response);
        });
    if (server.ok()) server_ = std::move(*server);
  }
  ~TestReceiver() {
    Open();
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
  // The next `n` requests are answered with `status`.
  void FailNext(int n, int status) { FailWith(std::vector<int>(n, status)); }
  // Every request is answered with `status` (0: stop failing).
  void FailForever(int status) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_forever_ = status;
  }
  // Requests wait in the handler until Open().
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    gate_closed_ = true;
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    gate_closed_ = false;
    cv_.notify_all();
  }
  // Waits until `n` requests are in the handler at once (false after 10 s).
  bool WaitInside(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return inside_ >= n; });
  }

  // The requests accepted (2xx), in arrival order.
  std::vector<Request> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  // The WriteRequests of received(), without their headers.
  std::vector<prometheus::WriteRequest> writes() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<prometheus::WriteRequest> out;
    out.reserve(received_.size());
    for (const Request& r : received_) out.push_back(r.write);
    return out;
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
  // The most requests that were inside the handler at once.
  int max_inside() {
    std::lock_guard<std::mutex> lock(mu_);
    return max_inside_;
  }
  // One line per sample older than its series' newest sample received before it.
  std::vector<std::string> out_of_order() {
    std::lock_guard<std::mutex> lock(mu_);
    return out_of_order_;
  }

 private:
  void Handle(const net::HttpRequest& request, net::HttpResponse& response) {
    std::unique_lock<std::mutex> lock(mu_);
    ++attempts_;
    ++inside_;
    max_inside_ = std::max(max_inside_, inside_);
    cv_.notify_all();
    cv_.wait(lock, [&] { return !gate_closed_; });
    --inside_;
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
    for (const prometheus::TimeSeries& ts : got.write.timeseries()) {
      std::string key;
      for (const prometheus::Label& l : ts.labels()) {
        absl::StrAppend(&key, l.name(), "=", l.value(), ",");
      }
      for (const prometheus::Sample& sample : ts.samples()) {
        auto [it, inserted] = last_time_.emplace(key, sample.timestamp());
        if (inserted) continue;
        if (sample.timestamp() < it->second) {
          out_of_order_.push_back(
              absl::StrCat(key, " ", sample.timestamp(), " after ", it->second));
        }
        it->second = std::max(it->second, sample.timestamp());
      }
    }
    got.headers = request.headers;
    received_.push_back(std::move(got));
    response.status = 204;
    cv_.notify_all();
  }

  std::unique_ptr<net::HttpServer> server_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool gate_closed_ = false;
  int inside_ = 0;
  int max_inside_ = 0;
  std::deque<int> fail_;
  int fail_forever_ = 0;
  int attempts_ = 0;
  std::vector<Request> received_;
  std::map<std::string, int64_t> last_time_;  // per series: its newest sample's time
  std::vector<std::string> out_of_order_;
};

}  // namespace sprout::remotewrite::testing
