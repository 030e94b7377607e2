#include "collector/extension/health_check/health_check.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "config/decoder.h"
#include "yaml-cpp/yaml.h"

namespace sprout::collector::healthcheck {
namespace {

// One HTTP/1.0 exchange; returns the raw response.
std::string Request(int port, const std::string& method, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  const std::string request = method + " " + path + " HTTP/1.0\r\nHost: x\r\n\r\n";
  send(fd, request.data(), request.size(), 0);
  std::string response;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) response.append(buf, n);
  close(fd);
  return response;
}

class NoHost : public Host {
 public:
  Component* GetExtension(const ComponentID&) const override { return nullptr; }
};

struct Running {
  std::unique_ptr<Component> extension;
  int port;
};

// Starts the extension on a port the kernel picks (port 0) and reads the port back: no port is
// probed first and released, so no other process can take it in between.
Running Start(const std::string& extra_yaml) {
  auto factory = NewFactory();
  auto config = factory->CreateDefaultConfig();
  config::Decoder decoder(YAML::Load("endpoint: 127.0.0.1:0\n" + extra_yaml),
                          "extensions::health_check");
  config->Decode(decoder);
  EXPECT_TRUE(decoder.Finish().ok());
  EXPECT_TRUE(config->Validate().ok());
  auto created =
      factory->CreateExtension(CreateSettings{*ComponentID::Parse("health_check"), {}}, *config);
  EXPECT_TRUE(created.ok());
  NoHost host;
  EXPECT_TRUE((*created)->Start(host).ok());
  const int port = BoundPort(**created);
  EXPECT_GT(port, 0);
  return Running{std::move(*created), port};
}

TEST(HealthCheckTest, NotReadyThenReadyThenNotReady) {
  Running hc = Start("");
  auto* watcher = dynamic_cast<PipelineWatcher*>(hc.extension.get());
  ASSERT_NE(watcher, nullptr);

  std::string r = Request(hc.port, "GET", "/");
  EXPECT_EQ(r.substr(0, 12), "HTTP/1.0 503") << r;
  EXPECT_NE(r.find("Content-Type: application/json"), std::string::npos) << r;
  EXPECT_NE(
      r.find(R"({"status":"Server not available","upSince":"0001-01-01T00:00:00Z","uptime":""})"),
      std::string::npos);

  watcher->Ready();
  r = Request(hc.port, "POST", "/any/sub/path");  // any method, any subpath of "/"
  EXPECT_EQ(r.substr(0, 12), "HTTP/1.0 200") << r;
  EXPECT_NE(r.find(R"({"status":"Server available","upSince":")"), std::string::npos) << r;
  EXPECT_NE(r.find(R"(","uptime":")"), std::string::npos);

  watcher->NotReady();
  r = Request(hc.port, "HEAD", "/");
  EXPECT_EQ(r.substr(0, 12), "HTTP/1.0 503") << r;
  EXPECT_TRUE(hc.extension->Shutdown(absl::Now() + absl::Seconds(1)).ok());
}

TEST(HealthCheckTest, CustomPathAndBodies) {
  Running hc = Start("path: /health/status\nresponse_body: {healthy: up, unhealthy: down}\n");
  auto* watcher = dynamic_cast<PipelineWatcher*>(hc.extension.get());
  EXPECT_EQ(Request(hc.port, "GET", "/").substr(0, 12), "HTTP/1.0 404");
  std::string r = Request(hc.port, "GET", "/health/status");
  EXPECT_EQ(r.substr(0, 12), "HTTP/1.0 503");
  EXPECT_EQ(r.substr(r.size() - 4), "down");
  watcher->Ready();
  r = Request(hc.port, "GET", "/health/status");
  EXPECT_EQ(r.substr(0, 12), "HTTP/1.0 200");
  EXPECT_EQ(r.substr(r.size() - 2), "up");
  EXPECT_TRUE(hc.extension->Shutdown(absl::Now() + absl::Seconds(1)).ok());
}

TEST(HealthCheckTest, ConfigHttpKeysApply) {
  Running hc =
      Start("read_header_timeout: 300ms\nmax_connections: 1\nresponse_headers: {X-Sprout: yes}\n");
  // A client that connects and says nothing holds the only connection until the header
  // timeout closes it; meanwhile a second connection is refused with a 503.
  const int silent = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(hc.port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(silent, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const auto start = std::chrono::steady_clock::now();
  std::string refused;
  // The refusal shows once the server has accepted the silent connection.
  for (int i = 0; i < 1000 && refused.substr(0, 12) != "HTTP/1.1 503"; ++i) {
    refused = Request(hc.port, "GET", "/");
  }
  EXPECT_EQ(refused.substr(0, 12), "HTTP/1.1 503") << refused;
  char c;
  EXPECT_EQ(recv(silent, &c, 1, 0), 0);  // closed by the server
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200));
  close(silent);
  // Served again once the slot is free (503 "not available": no pipeline is ready here), with
  // the configured response header.
  std::string r;
  for (int i = 0; i < 1000 && r.substr(0, 12) != "HTTP/1.0 503"; ++i)
    r = Request(hc.port, "GET", "/");
  EXPECT_NE(r.find("Server not available"), std::string::npos) << r;
  EXPECT_NE(r.find("X-Sprout: yes"), std::string::npos) << r;
  EXPECT_TRUE(hc.extension->Shutdown(absl::Now() + absl::Seconds(1)).ok());
}

TEST(HealthCheckTest, ValidatesConfig) {
  auto factory = NewFactory();
  auto config = factory->CreateDefaultConfig();
  config::Decoder decoder(YAML::Load("path: health\n"), "extensions::health_check");
  config->Decode(decoder);
  EXPECT_EQ(config->Validate().message(), "\"path\" must start with \"/\"");
  auto empty = factory->CreateDefaultConfig();
  config::Decoder d2(YAML::Load("endpoint: \"\"\n"), "extensions::health_check");
  empty->Decode(d2);
  EXPECT_EQ(empty->Validate().message(), "bad config: endpoint must be specified");
  auto with_auth = factory->CreateDefaultConfig();
  config::Decoder d3(YAML::Load("auth: {authenticator: basicauth}\n"), "extensions::health_check");
  with_auth->Decode(d3);
  EXPECT_EQ(d3.Finish().message(),
            "'extensions::health_check::auth' is not supported by sprout yet");
  auto tls = factory->CreateDefaultConfig();
  config::Decoder d4(YAML::Load("tls: {cert_file: /c.pem, key_file: /k.pem}\n"),
                     "extensions::health_check");
  tls->Decode(d4);
  EXPECT_TRUE(d4.Finish().ok());  // TLS is supported now
}

}  // namespace
}  // namespace sprout::collector::healthcheck
