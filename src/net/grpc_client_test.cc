#include "net/grpc_client.h"

#include <future>
#include <memory>
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/grpc_server.h"
#include "net/test_sockets.h"

namespace sprout::net {
namespace {

constexpr char kMethod[] = "/test.Echo/Call";

using net::testing::SilentListener;

std::unique_ptr<GrpcClient> PlainClient(int port, GrpcClientOptions options = {}) {
  options.target = absl::StrCat("127.0.0.1:", port);
  options.tls = false;
  auto client = GrpcClient::Create(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return std::move(*client);
}

// Starts a call and hands back its future result.
std::future<GrpcCallResult> StartCall(GrpcClient& client, absl::Duration timeout) {
  auto promise = std::make_shared<std::promise<GrpcCallResult>>();
  std::future<GrpcCallResult> future = promise->get_future();
  client.CallSerializedAsync(kMethod, "x", timeout,
                             [promise](GrpcCallResult r) { promise->set_value(std::move(r)); });
  return future;
}

TEST(GrpcClientTest, CancelAllEndsCallsInFlightOnly) {
  SilentListener silent;
  auto client = PlainClient(silent.port());
  std::future<GrpcCallResult> in_flight = StartCall(*client, absl::ZeroDuration());
  client->CancelAll();
  ASSERT_EQ(in_flight.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(in_flight.get().code, absl::StatusCode::kCancelled);
  // A later call is not affected: it waits (here until its own deadline).
  GrpcCallResult later = client->CallSerialized(kMethod, "x", absl::Milliseconds(300));
  EXPECT_EQ(later.code, absl::StatusCode::kDeadlineExceeded);
}

// The shutdown race of the export path: a sender checks "not shut down", then is descheduled;
// shutdown cancels what is registered; then the sender's call registers. Close() is sticky,
// so that call ends at once instead of waiting forever (timeout 0) on a silent backend.
TEST(GrpcClientTest, CloseEndsCallsInFlightAndEveryLaterCall) {
  SilentListener silent;
  auto client = PlainClient(silent.port());
  std::future<GrpcCallResult> in_flight = StartCall(*client, absl::ZeroDuration());
  client->Close();
  ASSERT_EQ(in_flight.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(in_flight.get().code, absl::StatusCode::kCancelled);
  std::future<GrpcCallResult> later = StartCall(*client, absl::ZeroDuration());
  ASSERT_EQ(later.wait_for(std::chrono::seconds(10)), std::future_status::ready)
      << "a call started after Close() was not cancelled";
  GrpcCallResult result = later.get();
  EXPECT_EQ(result.code, absl::StatusCode::kCancelled);
  EXPECT_EQ(result.message, "grpc client closed");
  client->Close();  // idempotent
}

TEST(GrpcClientTest, TimeoutIsADeadline) {
  SilentListener silent;
  auto client = PlainClient(silent.port());
  const absl::Time start = absl::Now();
  GrpcCallResult result = client->CallSerialized(kMethod, "x", absl::Milliseconds(200));
  EXPECT_EQ(result.code, absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(GrpcClientTest, HeadersGoOutAsMetadataAndCompressionIsApplied) {
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> seen;
  GrpcServerOptions server_options;
  server_options.endpoint = "127.0.0.1:0";
  server_options.max_recv_msg_size = 1 << 20;
  auto server = GrpcServer::Start(server_options, {{kMethod, [&](GrpcUnaryCall& call) {
                                                      std::lock_guard<std::mutex> lock(mu);
                                                      seen = call.Metadata();
                                                      return GrpcReply{};
                                                    }}});
  ASSERT_TRUE(server.ok()) << server.status();
  GrpcClientOptions options;
  options.headers = {{"x-api-key", "secret"}};
  options.user_agent = "sprout-test/1.0";
  auto client = PlainClient((*server)->port(), options);
  GrpcCallResult result = client->CallSerialized(kMethod, "x", absl::Seconds(10));
  ASSERT_EQ(result.code, absl::StatusCode::kOk) << result.message;
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_THAT(seen, ::testing::Contains(::testing::Pair("x-api-key", "secret")));
    EXPECT_THAT(seen, ::testing::Contains(::testing::Pair(
                          "user-agent", ::testing::StartsWith("sprout-test/1.0 grpc-c++/"))));
  }
  // 2 MiB of zeros fit the server's 1 MiB limit on the wire only if they were compressed (the
  // default, gzip); the server then refuses them after decompression.
  result = client->CallSerialized(kMethod, std::string(2 << 20, '\0'), absl::Seconds(10));
  EXPECT_EQ(result.code, absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(result.message, "grpc: received message after decompression larger than max 1048576");
  (*server)->Shutdown(absl::Now());
}

TEST(GrpcClientTest, MissingFilesAreNamed) {
  GrpcClientOptions options;
  options.target = "127.0.0.1:1";
  options.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(GrpcClient::Create(options).status().message(),
            "failed to load CA file \"/nonexistent/ca.pem\": cannot open file");
  options.ca_file.clear();
  options.cert_file = "/nonexistent/cert.pem";
  EXPECT_EQ(GrpcClient::Create(options).status().message(),
            "for auth via TLS, provide both certificate and key, or neither");
}

}  // namespace
}  // namespace sprout::net
