#include "cmd/all/index_page.h"

#include <gtest/gtest.h>

namespace sprout::cmd {
namespace {

IndexPageInfo Info() {
  IndexPageInfo info;
  info.version = "1.2.3";
  info.http_base = "http://localhost:3200";
  info.otlp_grpc = "localhost:4317";
  info.otlp_http = "localhost:4318";
  info.data_dir = "./data";
  info.tenant = "single-tenant";
  info.parts = {{"trace store", true}, {"metrics store", false}};
  return info;
}

TEST(IndexPage, ListsEndpointsDataSourcesAndParts) {
  const std::string html = RenderIndexPage(Info());
  EXPECT_NE(html.find("<h1>sprout 1.2.3</h1>"), std::string::npos);
  EXPECT_NE(html.find("<code>http://localhost:3200</code>"), std::string::npos);  // Tempo DS
  EXPECT_NE(html.find("<code>http://localhost:3200/prometheus</code>"), std::string::npos);
  EXPECT_NE(html.find("gRPC: <code>localhost:4317</code>"), std::string::npos);
  EXPECT_NE(html.find("HTTP: <code>http://localhost:4318</code>"), std::string::npos);
  EXPECT_NE(html.find("sprout demo --endpoint localhost:4317"), std::string::npos);
  EXPECT_NE(html.find("<td>trace store</td><td class=\"ok\">ready</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>metrics store</td><td class=\"no\">not ready</td>"), std::string::npos);
  EXPECT_NE(html.find("<a href=\"http://localhost:3200/ready\"><code>/ready</code></a>"),
            std::string::npos);
  EXPECT_NE(html.find("One tenant (<code>single-tenant</code>)"), std::string::npos);
  EXPECT_EQ(html.find("X-Scope-OrgID"), std::string::npos);
  EXPECT_NE(html.find("<code>http://localhost:3200/otlp/v1/metrics</code>"), std::string::npos);
  EXPECT_NE(html.find("<td>POST</td><td><code>/otlp/v1/metrics</code></td>"), std::string::npos);
  EXPECT_EQ(html.find("also stored"), std::string::npos);
}

TEST(IndexPage, SaysWhenTheOwnTelemetryIsStored) {
  IndexPageInfo info = Info();
  info.self_monitoring = "every 15s";
  const std::string html = RenderIndexPage(info);
  EXPECT_NE(html.find("also stored every 15s in the metrics store as job=&quot;sprout&quot;"),
            std::string::npos);
}

TEST(IndexPage, MultitenancyAsksForTheHeader) {
  IndexPageInfo info = Info();
  info.multitenancy_enabled = true;
  const std::string html = RenderIndexPage(info);
  EXPECT_NE(html.find("X-Scope-OrgID: &lt;tenant&gt;"), std::string::npos);
}

TEST(IndexPage, ValuesAreEscaped) {
  IndexPageInfo info = Info();
  info.data_dir = "/tmp/<x>&\"y\"";
  info.parts = {{"<script>", true}};
  const std::string html = RenderIndexPage(info);
  EXPECT_NE(html.find("<code>/tmp/&lt;x&gt;&amp;&quot;y&quot;</code>"), std::string::npos);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_EQ(HtmlEscape("a'b"), "a&#39;b");
}

}  // namespace
}  // namespace sprout::cmd
