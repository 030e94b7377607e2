#include "collector/extension/health_check/health_check.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/decoder.h"
#include "yaml-cpp/yaml.h"

namespace sprout::collector::healthcheck {
namespace {

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

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

Running Start(const std::string& extra_yaml) {
  auto factory = NewFactory();
  auto config = factory->CreateDefaultConfig();
  const int port = FreePort();
  config::Decoder decoder(
      YAML::Load("endpoint: 127.0.0.1:" + std::to_string(port) + "\n" + extra_yaml),
      "extensions::health_check");
  config->Decode(decoder);
  EXPECT_TRUE(decoder.Finish().ok());
  EXPECT_TRUE(config->Validate().ok());
  auto created =
      factory->CreateExtension(CreateSettings{*ComponentID::Parse("health_check"), {}}, *config);
  EXPECT_TRUE(created.ok());
  NoHost host;
  EXPECT_TRUE((*created)->Start(host).ok());
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
}

}  // namespace
}  // namespace sprout::collector::healthcheck
