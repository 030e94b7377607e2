#include "net/grpc_server.h"

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/compression.h"
#include "net/grpc_client.h"
#include "net/test_certs.h"

namespace sprout::net {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::StartsWith;
using testing::TempDir;
using testing::TestCa;
using testing::TestKeyPair;
using testing::WriteFileOrDie;

constexpr char kMethod[] = "/test.Echo/Call";

// A handler that records what it saw and answers with `reply`.
struct Recorder {
  std::mutex mu;
  int calls = 0;
  std::string request;
  std::string method;
  std::string peer;
  std::vector<std::pair<std::string, std::string>> metadata;
  GrpcReply reply;

  GrpcUnaryHandler Handler() {
    return [this](GrpcUnaryCall& call) {
      std::lock_guard<std::mutex> lock(mu);
      ++calls;
      method = std::string(call.method());
      peer = call.peer();
      metadata = call.Metadata();
      request = call.RequestBytes();
      return reply;
    };
  }
};

std::unique_ptr<GrpcServer> StartServer(std::map<std::string, GrpcUnaryHandler> handlers,
                                        GrpcServerOptions options = {}) {
  options.endpoint = "127.0.0.1:0";
  options.threads = 2;
  auto server = GrpcServer::Start(options, std::move(handlers));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

// A plaintext client without compression.
std::unique_ptr<GrpcClient> Client(int port, GrpcClientOptions options = {}) {
  options.target = absl::StrCat("127.0.0.1:", port);
  options.tls = false;
  options.compression = "";
  auto client = GrpcClient::Create(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::move(*client) : nullptr;
}

// A client whose compression the test sets ("" included).
std::unique_ptr<GrpcClient> ClientWithCompression(int port, const std::string& compression) {
  GrpcClientOptions options;
  options.target = absl::StrCat("127.0.0.1:", port);
  options.tls = false;
  options.compression = compression;
  return std::move(*GrpcClient::Create(options));
}

TEST(GrpcServerTest, HandlerSeesMethodMetadataPeerAndRequestAndAnswers) {
  Recorder recorder;
  recorder.reply.response = "the response";
  auto server = StartServer({{kMethod, recorder.Handler()}});
  GrpcClientOptions options;
  options.headers = {{"x-tenant", "acme"}, {"x-trace-bin", "binary"}};
  auto client = Client(server->port(), options);
  GrpcCallResult result = client->CallSerialized(kMethod, "the request", absl::Seconds(10));
  EXPECT_EQ(result.code, absl::StatusCode::kOk) << result.message;
  EXPECT_EQ(result.response, "the response");
  std::lock_guard<std::mutex> lock(recorder.mu);
  EXPECT_EQ(recorder.request, "the request");
  EXPECT_EQ(recorder.method, kMethod);
  EXPECT_THAT(recorder.peer, StartsWith("ipv4:127.0.0.1:"));
  EXPECT_THAT(recorder.metadata, ::testing::Contains(Pair("x-tenant", "acme")));
  for (const auto& [k, v] : recorder.metadata) EXPECT_NE(k, "x-trace-bin");
}

TEST(GrpcServerTest, UnknownMethodIsUnimplemented) {
  Recorder recorder;
  auto server = StartServer({{kMethod, recorder.Handler()}});
  auto client = Client(server->port());
  GrpcCallResult result = client->CallSerialized("/test.Echo/Other", "x", absl::Seconds(10));
  EXPECT_EQ(result.code, absl::StatusCode::kUnimplemented);
  EXPECT_EQ(result.message, "unknown method /test.Echo/Other");
  EXPECT_EQ(recorder.calls, 0);
}

TEST(GrpcServerTest, ErrorRepliesCarryCodeMessageAndRetryInfo) {
  Recorder recorder;
  recorder.reply.code = absl::StatusCode::kResourceExhausted;
  recorder.reply.message = "slow down";
  recorder.reply.retry_delay = absl::Milliseconds(1500);
  auto server = StartServer({{kMethod, recorder.Handler()}});
  auto client = Client(server->port());
  GrpcCallResult result = client->CallSerialized(kMethod, "x", absl::Seconds(10));
  EXPECT_EQ(result.code, absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(result.message, "slow down");
  ASSERT_TRUE(result.retry_delay.has_value());
  EXPECT_EQ(*result.retry_delay, absl::Milliseconds(1500));

  {
    std::lock_guard<std::mutex> lock(recorder.mu);
    recorder.reply.retry_delay.reset();
    recorder.reply.code = absl::StatusCode::kUnavailable;
  }
  result = client->CallSerialized(kMethod, "x", absl::Seconds(10));
  EXPECT_EQ(result.code, absl::StatusCode::kUnavailable);
  EXPECT_FALSE(result.retry_delay.has_value());
}

TEST(GrpcServerTest, ABusyPortIsAnErrorNamingTheAddress) {
  Recorder recorder;
  auto first = StartServer({{kMethod, recorder.Handler()}});
  GrpcServerOptions options;
  options.endpoint = absl::StrCat("127.0.0.1:", first->port());
  auto second = GrpcServer::Start(options, {{kMethod, recorder.Handler()}});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(),
            absl::StrCat("listen tcp 127.0.0.1:", first->port(), ": bind: address already in use"));
}

TEST(GrpcServerTest, CompressedRequestsReachTheHandlerDecompressed) {
  Recorder recorder;
  auto server = StartServer({{kMethod, recorder.Handler()}});
  const std::string request(100000, 'a');
  for (const char* compression : {"gzip", "deflate"}) {
    auto client = ClientWithCompression(server->port(), compression);
    GrpcCallResult result = client->CallSerialized(kMethod, request, absl::Seconds(10));
    EXPECT_EQ(result.code, absl::StatusCode::kOk) << compression << ": " << result.message;
    std::lock_guard<std::mutex> lock(recorder.mu);
    EXPECT_TRUE(recorder.request == request) << compression;
  }
}

// gRPC 1.51 drops a grpc-encoding it does not know, so a zstd or snappy message looks
// uncompressed to the server; the server recognises the format by its signature.
TEST(GrpcServerTest, ZstdAndFramedSnappyMessagesReachTheHandlerDecompressed) {
  Recorder recorder;
  auto server = StartServer({{kMethod, recorder.Handler()}});
  auto client = ClientWithCompression(server->port(), "");
  const std::string request = "\x0a\x03" + std::string(5000, 'z');
  for (Codec codec : {Codec::kZstd, Codec::kSnappyFramed}) {
    GrpcCallResult result =
        client->CallSerialized(kMethod, *Compress(codec, request), absl::Seconds(10));
    EXPECT_EQ(result.code, absl::StatusCode::kOk) << CodecName(codec) << ": " << result.message;
    std::lock_guard<std::mutex> lock(recorder.mu);
    EXPECT_TRUE(recorder.request == request) << CodecName(codec);
  }
}

// The bug this guards against: gRPC 1.51 checks max_recv_msg_size against the compressed
// length and then inflates without a limit (a 3 MiB message of zeros became 3 GiB).
TEST(GrpcServerTest, ADecompressionBombIsRefusedBeforeTheHandler) {
  Recorder recorder;
  GrpcServerOptions options;
  options.max_recv_msg_size = 1 << 20;
  auto server = StartServer({{kMethod, recorder.Handler()}}, options);
  const std::string zeros(64 << 20, '\0');
  for (const char* compression : {"gzip", "deflate"}) {
    auto client = ClientWithCompression(server->port(), compression);
    GrpcCallResult result = client->CallSerialized(kMethod, zeros, absl::Seconds(30));
    EXPECT_EQ(result.code, absl::StatusCode::kResourceExhausted) << compression;
    EXPECT_EQ(result.message, "grpc: received message after decompression larger than max 1048576")
        << compression;
  }
  auto client = ClientWithCompression(server->port(), "");
  for (Codec codec : {Codec::kZstd, Codec::kSnappyFramed}) {
    // Snappy's ratio is at most ~21:1, so its bomb is smaller to stay under the wire limit.
    const std::string input = codec == Codec::kZstd ? zeros : std::string(8 << 20, '\0');
    GrpcCallResult result =
        client->CallSerialized(kMethod, *Compress(codec, input), absl::Seconds(30));
    EXPECT_EQ(result.code, absl::StatusCode::kResourceExhausted) << CodecName(codec);
    EXPECT_EQ(result.message, "grpc: received message after decompression larger than max 1048576");
  }
  EXPECT_EQ(recorder.calls, 0);
  // An uncompressed message over the limit is refused by gRPC itself, on its length.
  GrpcCallResult plain =
      client->CallSerialized(kMethod, std::string(2 << 20, 'x'), absl::Seconds(30));
  EXPECT_EQ(plain.code, absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(plain.message, HasSubstr("larger than max (2097152 vs. 1048576)"));
  // A message exactly at the limit, compressed, is fine.
  auto gzip = ClientWithCompression(server->port(), "gzip");
  EXPECT_EQ(gzip->CallSerialized(kMethod, std::string(1 << 20, '\0'), absl::Seconds(30)).code,
            absl::StatusCode::kOk);
}

TEST(GrpcServerTest, ShutdownLetsACallInFlightFinish) {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> handler_returned{false};
  auto server = StartServer({{kMethod, [&](GrpcUnaryCall&) {
                                entered.set_value();
                                released.wait();
                                handler_returned = true;
                                GrpcReply reply;
                                reply.response = "done";
                                return reply;
                              }}});
  auto client = Client(server->port());
  std::promise<GrpcCallResult> result;
  client->CallSerializedAsync(kMethod, "x", absl::Seconds(30),
                              [&](GrpcCallResult r) { result.set_value(std::move(r)); });
  entered.get_future().wait();
  std::thread shutdown([&] { server->Shutdown(absl::Now() + absl::Seconds(30)); });
  release.set_value();
  shutdown.join();
  EXPECT_TRUE(handler_returned);
  GrpcCallResult r = result.get_future().get();
  EXPECT_EQ(r.code, absl::StatusCode::kOk) << r.message;
  EXPECT_EQ(r.response, "done");
  // A stopped server refuses new calls.
  EXPECT_EQ(client->CallSerialized(kMethod, "x", absl::Seconds(5)).code,
            absl::StatusCode::kUnavailable);
}

// --- TLS ---

struct TlsFixture {
  TempDir dir;
  TestCa ca{"sprout test CA"};
  TestKeyPair server = ca.Issue("localhost");
  TestKeyPair client = ca.Issue("client");
  TestCa other_ca{"another CA"};
  TestKeyPair other_client = other_ca.Issue("intruder");

  TlsFixture() {
    WriteFileOrDie(dir.File("ca.pem"), ca.ca().cert_pem);
    WriteFileOrDie(dir.File("server.pem"), server.cert_pem);
    WriteFileOrDie(dir.File("server.key"), server.key_pem);
    WriteFileOrDie(dir.File("client.pem"), client.cert_pem);
    WriteFileOrDie(dir.File("client.key"), client.key_pem);
    WriteFileOrDie(dir.File("other-ca.pem"), other_ca.ca().cert_pem);
    WriteFileOrDie(dir.File("intruder.pem"), other_client.cert_pem);
    WriteFileOrDie(dir.File("intruder.key"), other_client.key_pem);
  }

  GrpcCallResult Call(int port, const std::string& ca_file, const std::string& cert = "",
                      const std::string& key = "") {
    GrpcClientOptions options;
    options.target = absl::StrCat("localhost:", port);
    options.tls = true;
    options.ca_file = ca_file;
    options.cert_file = cert;
    options.key_file = key;
    options.compression = "";
    auto client = GrpcClient::Create(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return (*client)->CallSerialized(kMethod, "over tls", absl::Seconds(10));
  }
};

TEST(GrpcServerTlsTest, ServesClientsThatTrustItsCertificate) {
  TlsFixture f;
  Recorder recorder;
  GrpcServerOptions options;
  options.tls = TlsServerSettings{};
  options.tls->cert_file = f.dir.File("server.pem");
  options.tls->key_file = f.dir.File("server.key");
  auto server = StartServer({{kMethod, recorder.Handler()}}, options);
  ASSERT_NE(server, nullptr);
  GrpcCallResult ok = f.Call(server->port(), f.dir.File("ca.pem"));
  EXPECT_EQ(ok.code, absl::StatusCode::kOk) << ok.message;
  EXPECT_EQ(recorder.request, "over tls");
  // A client that trusts another CA does not get through.
  EXPECT_EQ(f.Call(server->port(), f.dir.File("other-ca.pem")).code,
            absl::StatusCode::kUnavailable);
  // Nor does a plaintext one.
  auto plain = Client(server->port());
  EXPECT_EQ(plain->CallSerialized(kMethod, "x", absl::Seconds(10)).code,
            absl::StatusCode::kUnavailable);
}

TEST(GrpcServerTlsTest, CertificateAndKeyAsPem) {
  TlsFixture f;
  Recorder recorder;
  GrpcServerOptions options;
  options.tls = TlsServerSettings{};
  options.tls->cert_pem = f.server.cert_pem;
  options.tls->key_pem = f.server.key_pem;
  auto server = StartServer({{kMethod, recorder.Handler()}}, options);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(f.Call(server->port(), f.dir.File("ca.pem")).code, absl::StatusCode::kOk);
}

TEST(GrpcServerTlsTest, ClientCaFileRequiresAndVerifiesClientCertificates) {
  TlsFixture f;
  Recorder recorder;
  GrpcServerOptions options;
  options.tls = TlsServerSettings{};
  options.tls->cert_file = f.dir.File("server.pem");
  options.tls->key_file = f.dir.File("server.key");
  options.tls->client_ca_file = f.dir.File("ca.pem");
  auto server = StartServer({{kMethod, recorder.Handler()}}, options);
  ASSERT_NE(server, nullptr);
  const std::string ca = f.dir.File("ca.pem");
  GrpcCallResult ok =
      f.Call(server->port(), ca, f.dir.File("client.pem"), f.dir.File("client.key"));
  EXPECT_EQ(ok.code, absl::StatusCode::kOk) << ok.message;
  EXPECT_EQ(f.Call(server->port(), ca).code, absl::StatusCode::kUnavailable);
  EXPECT_EQ(f.Call(server->port(), ca, f.dir.File("intruder.pem"), f.dir.File("intruder.key")).code,
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(recorder.calls, 1);
}

// Polls with fresh connections until `want` (each attempt is a new TLS handshake), for up to
// `deadline`: the server re-reads its files at an interval of its own.
bool EventuallyCode(const std::function<GrpcCallResult()>& call, absl::StatusCode want,
                    absl::Duration deadline = absl::Seconds(20)) {
  const absl::Time end = absl::Now() + deadline;
  while (absl::Now() < end) {
    if (call().code == want) return true;
    absl::SleepFor(absl::Milliseconds(100));  // poll interval; the deadline is the wait
  }
  return false;
}

TEST(GrpcServerTlsTest, ReloadIntervalServesARenewedCertificate) {
  TlsFixture f;
  Recorder recorder;
  GrpcServerOptions options;
  options.tls = TlsServerSettings{};
  options.tls->cert_file = f.dir.File("server.pem");
  options.tls->key_file = f.dir.File("server.key");
  options.tls->reload_interval = absl::Seconds(1);
  auto server = StartServer({{kMethod, recorder.Handler()}}, options);
  ASSERT_NE(server, nullptr);
  const std::string other_ca = f.dir.File("other-ca.pem");
  ASSERT_EQ(f.Call(server->port(), other_ca).code, absl::StatusCode::kUnavailable);
  // The certificate is renewed (by another CA, so that clients can tell which one is served).
  TestKeyPair renewed = f.other_ca.Issue("localhost");
  WriteFileOrDie(f.dir.File("server.key"), renewed.key_pem);
  WriteFileOrDie(f.dir.File("server.pem"), renewed.cert_pem);
  EXPECT_TRUE(
      EventuallyCode([&] { return f.Call(server->port(), other_ca); }, absl::StatusCode::kOk));
}

TEST(GrpcServerTlsTest, ClientCaFileReloadTrustsANewClientCa) {
  TlsFixture f;
  Recorder recorder;
  GrpcServerOptions options;
  options.tls = TlsServerSettings{};
  options.tls->cert_file = f.dir.File("server.pem");
  options.tls->key_file = f.dir.File("server.key");
  WriteFileOrDie(f.dir.File("client-ca.pem"), f.ca.ca().cert_pem);
  options.tls->client_ca_file = f.dir.File("client-ca.pem");
  options.tls->client_ca_file_reload = true;
  auto server = StartServer({{kMethod, recorder.Handler()}}, options);
  ASSERT_NE(server, nullptr);
  auto intruder = [&] {
    return f.Call(server->port(), f.dir.File("ca.pem"), f.dir.File("intruder.pem"),
                  f.dir.File("intruder.key"));
  };
  ASSERT_EQ(intruder().code, absl::StatusCode::kUnavailable);
  WriteFileOrDie(f.dir.File("client-ca.pem"), f.other_ca.ca().cert_pem);
  EXPECT_TRUE(EventuallyCode(intruder, absl::StatusCode::kOk));
}

TEST(GrpcServerTlsTest, BadFilesFailStartWithTheCollectorsMessages) {
  TlsFixture f;
  Recorder recorder;
  auto start = [&](TlsServerSettings tls) {
    GrpcServerOptions options;
    options.endpoint = "127.0.0.1:0";
    options.tls = tls;
    return GrpcServer::Start(options, {{kMethod, recorder.Handler()}}).status();
  };
  TlsServerSettings tls;
  tls.cert_file = f.dir.File("missing.pem");
  tls.key_file = f.dir.File("server.key");
  EXPECT_EQ(start(tls).message(),
            absl::StrCat("failed to load TLS config: failed to load TLS cert and key: open ",
                         f.dir.File("missing.pem"), ": no such file or directory"));
  tls.cert_file = f.dir.File("server.pem");
  tls.key_file = f.dir.File("client.key");
  EXPECT_EQ(start(tls).message(),
            "failed to load TLS config: failed to load TLS cert and key: tls: private key does "
            "not match public key");
  tls.key_file = f.dir.File("server.pem");
  EXPECT_EQ(start(tls).message(),
            "failed to load TLS config: failed to load TLS cert and key: tls: failed to find any "
            "PEM data in key input");
  tls.key_file = f.dir.File("server.key");
  tls.client_ca_file = f.dir.File("missing-ca.pem");
  EXPECT_EQ(start(tls).message(),
            absl::StrCat("failed to load TLS config: failed to load client CA CertPool: failed "
                         "to load CA ",
                         f.dir.File("missing-ca.pem"), ": open ", f.dir.File("missing-ca.pem"),
                         ": no such file or directory"));
  tls.client_ca_file = f.dir.File("server.key");
  EXPECT_THAT(std::string(start(tls).message()), HasSubstr("failed to parse cert"));
}

TEST(GrpcServerTlsTest, SettingsGrpcCannotHonourAreRefusedByName) {
  TlsServerSettings tls;
  tls.cert_file = "c";
  tls.key_file = "k";
  EXPECT_TRUE(CheckGrpcServerTls(tls).ok());
  tls.min_version = "1.0";  // HTTP/2 needs TLS 1.2 anyway (RFC 7540 §9.2)
  EXPECT_TRUE(CheckGrpcServerTls(tls).ok());
  tls.min_version = "1.3";
  EXPECT_THAT(std::string(CheckGrpcServerTls(tls).message()),
              StartsWith("tls::min_version \"1.3\" is not supported by sprout's gRPC server"));
  tls.min_version = "";
  tls.max_version = "1.3";
  EXPECT_TRUE(CheckGrpcServerTls(tls).ok());
  tls.max_version = "1.2";
  EXPECT_THAT(std::string(CheckGrpcServerTls(tls).message()),
              StartsWith("tls::max_version \"1.2\" is not supported by sprout's gRPC server"));
  tls.max_version = "";
  tls.cipher_suites = {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"};
  EXPECT_THAT(std::string(CheckGrpcServerTls(tls).message()),
              StartsWith("tls::cipher_suites is not supported by sprout's gRPC server"));
  tls.cipher_suites.clear();
  tls.cert_file.clear();
  tls.cert_pem = "pem";
  tls.client_ca_file = "ca";
  tls.client_ca_file_reload = true;
  EXPECT_THAT(std::string(CheckGrpcServerTls(tls).message()),
              StartsWith("tls::client_ca_file_reload needs cert_file and key_file"));
}

}  // namespace
}  // namespace sprout::net
