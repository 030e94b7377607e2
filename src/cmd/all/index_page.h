// The page `sprout all` serves at `/`: what runs in the process, whether each part is ready, the
// OTLP endpoints to send to, the URLs to paste into Grafana's data sources, every HTTP endpoint of
// the port, and how to send demo data. Plain HTML, no script, no external resource (the full web
// UI is a later issue).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sprout::cmd {

struct IndexPageInfo {
  std::string version;
  std::string http_base;  // e.g. http://localhost:3200 (the URL the page was asked on)
  std::string otlp_grpc;  // host:port, "" when off
  std::string otlp_http;  // host:port, "" when off
  std::string data_dir;
  bool multitenancy_enabled = false;
  std::string tenant;  // the one tenant when multi-tenancy is off
  // How often /metrics is stored in the metrics store, e.g. "every 15s"; "" when it is not.
  std::string self_monitoring;
  // Each part and whether it is ready now (e.g. {"trace store", true}).
  std::vector<std::pair<std::string, bool>> parts;
};

// The page; every value is HTML-escaped.
std::string RenderIndexPage(const IndexPageInfo& info);

// `&`, `<`, `>`, `"` and `'` escaped for HTML text and attribute values.
std::string HtmlEscape(std::string_view text);

}  // namespace sprout::cmd
