// Test helpers for the HTTP server's tests (not part of the library): a plain HTTP/1.1 client
// over a POSIX socket that shows the exact bytes, and bounded waits.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "net/http_server.h"

namespace sprout::net::test_util {

struct ClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  std::string Header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return "";
  }
  bool HasHeader(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return true;
    }
    return false;
  }
};

// A deliberately plain HTTP/1.1 client over a POSIX socket, so the tests see the exact bytes.
class Client {
 public:
  explicit Client(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};  // a hung server fails the test instead of hanging it
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Client() { close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  int fd() const { return fd_; }

  // Reads the status line and headers only (the body is left to ReadChunk/ReadBody).
  std::optional<ClientResponse> ReadHead() {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    std::string header_block = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    std::vector<std::string> lines = absl::StrSplit(header_block, "\r\n");
    ClientResponse response;
    std::vector<std::string> status_line = absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
    if (status_line.size() < 2 || !absl::SimpleAtoi(status_line[1], &response.status)) {
      return std::nullopt;
    }
    for (size_t i = 1; i < lines.size(); ++i) {
      size_t colon = lines[i].find(':');
      if (colon == std::string::npos) return std::nullopt;
      response.headers.emplace_back(
          absl::AsciiStrToLower(lines[i].substr(0, colon)),
          std::string(absl::StripAsciiWhitespace(absl::string_view(lines[i]).substr(colon + 1))));
    }
    return response;
  }

  // The next chunk of a chunked body ("" for the last one, whose final CRLF is consumed too, as
  // the server sends no trailers; nullopt on a framing error or EOF).
  std::optional<std::string> ReadChunk() {
    size_t eol;
    while ((eol = buf_.find("\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    size_t size = 0;
    std::string size_line = buf_.substr(0, buf_.find_first_of(";\r"));
    if (!absl::SimpleHexAtoi(size_line, &size)) return std::nullopt;
    buf_.erase(0, eol + 2);
    while (buf_.size() < size + 2) {
      if (!Fill()) return std::nullopt;
    }
    std::string data = buf_.substr(0, size);
    if (buf_.compare(size, 2, "\r\n") != 0) return std::nullopt;  // after the last chunk: no
    buf_.erase(0, size + 2);                                      // trailers, just CRLF
    return data;
  }

  // Everything until the server closes the connection.
  std::string ReadToEnd() {
    while (Fill()) {
    }
    std::string out;
    out.swap(buf_);
    return out;
  }

  // `head`: the response to a HEAD request, whose Content-Length announces no body.
  // Chunked bodies are de-chunked.
  std::optional<ClientResponse> ReadResponse(bool head = false) {
    std::optional<ClientResponse> response = ReadHead();
    if (!response.has_value()) return std::nullopt;
    if (!head && absl::AsciiStrToLower(response->Header("transfer-encoding")) == "chunked") {
      for (;;) {
        std::optional<std::string> chunk = ReadChunk();
        if (!chunk.has_value()) return std::nullopt;
        if (chunk->empty()) break;
        response->body += *chunk;
      }
      return response;
    }
    size_t length = 0;
    if (!head && response->HasHeader("content-length") &&
        !absl::SimpleAtoi(response->Header("content-length"), &length)) {
      return std::nullopt;
    }
    while (buf_.size() < length) {
      if (!Fill()) return std::nullopt;
    }
    response->body = buf_.substr(0, length);
    buf_.erase(0, length);
    return response;
  }

  // Sends a request and reads its response.
  std::optional<ClientResponse> RoundTrip(std::string_view request) {
    if (!Send(request)) return std::nullopt;
    return ReadResponse();
  }

  // True when the server closed the connection (EOF or reset) with nothing else to read.
  bool ClosedByPeer() {
    if (!buf_.empty()) return false;
    char c;
    ssize_t n = recv(fd_, &c, 1, 0);
    if (n == 0) return true;
    if (n < 0 && (errno == ECONNRESET)) return true;
    return false;
  }

 private:
  bool Fill() {
    char chunk[16384];
    ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

// A latch the test opens; waits are bounded so that a bug fails the test instead of hanging it.
class Gate {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool Wait(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, limit, [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// A counter one can wait on.
class Counter {
 public:
  void Add() {
    std::lock_guard<std::mutex> lock(mu_);
    ++n_;
    cv_.notify_all();
  }
  bool WaitFor(int n, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return n_ >= n; });
  }
  int value() {
    std::lock_guard<std::mutex> lock(mu_);
    return n_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int n_ = 0;
};

inline std::unique_ptr<HttpServer> StartOrDie(HttpServerOptions options, HttpHandler handler) {
  absl::StatusOr<std::unique_ptr<HttpServer>> server =
      HttpServer::Start(options, std::move(handler));
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return nullptr;
  EXPECT_GT((*server)->port(), 0);
  return std::move(server).value();
}

inline std::unique_ptr<HttpServer> StartOrDie(HttpServerOptions options, Router router) {
  absl::StatusOr<std::unique_ptr<HttpServer>> server =
      HttpServer::Start(options, std::move(router));
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return nullptr;
  EXPECT_GT((*server)->port(), 0);
  return std::move(server).value();
}

inline HttpServerOptions Loopback() {
  HttpServerOptions options;
  options.endpoint = "127.0.0.1:0";
  return options;
}

}  // namespace sprout::net::test_util
