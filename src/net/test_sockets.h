// Test-only: loopback TCP ports that misbehave on purpose, for the timeout, cancellation and
// connection-error tests of the HTTP and gRPC clients and the exporters built on them.
//
// Each object holds its socket (and so its port) for as long as it lives: no other test can take
// the port meanwhile. Setup failures fail the current test.
//
// Thread-compatible.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace sprout::net::testing {

namespace test_sockets_internal {

// A TCP socket bound to an ephemeral port on 127.0.0.1; listening when `backlog` > 0.
class LoopbackSocket {
 public:
  explicit LoopbackSocket(int backlog) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    if (backlog > 0) EXPECT_EQ(listen(fd_, backlog), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~LoopbackSocket() { close(fd_); }
  LoopbackSocket(const LoopbackSocket&) = delete;
  LoopbackSocket& operator=(const LoopbackSocket&) = delete;

  int port() const { return port_; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace test_sockets_internal

// A port that accepts connections (the kernel completes the handshake into the backlog) and
// never says a word: a call to it waits until it is cancelled or times out.
class SilentListener : public test_sockets_internal::LoopbackSocket {
 public:
  explicit SilentListener(int backlog = 16) : LoopbackSocket(backlog) {}
};

// A port on which nothing listens: bound but never listening, so connecting is refused.
class ClosedPort : public test_sockets_internal::LoopbackSocket {
 public:
  ClosedPort() : LoopbackSocket(0) {}
};

}  // namespace sprout::net::testing
