#include "cmd/all/index_page.h"

#include "absl/strings/str_cat.h"

namespace sprout::cmd {

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

namespace {

// One row of an endpoint table: method, path (a link when it can be opened with GET), what.
std::string Row(std::string_view base, std::string_view method, std::string_view path,
                std::string_view what, bool link) {
  const std::string p = HtmlEscape(path);
  const std::string cell =
      link ? absl::StrCat("<a href=\"", HtmlEscape(base), p, "\"><code>", p, "</code></a>")
           : absl::StrCat("<code>", p, "</code>");
  return absl::StrCat("<tr><td>", HtmlEscape(method), "</td><td>", cell, "</td><td>",
                      HtmlEscape(what), "</td></tr>\n");
}

}  // namespace

std::string RenderIndexPage(const IndexPageInfo& info) {
  const std::string base = info.http_base;
  std::string html = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>sprout</title>"
      "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
      "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;"
      "text-align:left}code{font-size:.95em}.ok{color:#070}.no{color:#a00}</style>"
      "</head><body>\n<h1>sprout ",
      HtmlEscape(info.version),
      "</h1>\n<p>The collector, the trace store with its "
      "metrics-generator and the metrics store in one process; data in <code>",
      HtmlEscape(info.data_dir), "</code>.</p>\n");

  html += "<h2>Parts</h2>\n<table><tr><th>part</th><th>state</th></tr>\n";
  for (const auto& [part, ready] : info.parts) {
    absl::StrAppend(&html, "<tr><td>", HtmlEscape(part), "</td><td class=\"",
                    ready ? "ok\">ready" : "no\">not ready", "</td></tr>\n");
  }
  html += "</table>\n";

  html += "<h2>Send telemetry (OTLP)</h2>\n<ul>\n";
  if (!info.otlp_grpc.empty()) {
    absl::StrAppend(&html, "<li>gRPC: <code>", HtmlEscape(info.otlp_grpc), "</code></li>\n");
  }
  if (!info.otlp_http.empty()) {
    absl::StrAppend(&html, "<li>HTTP: <code>http://", HtmlEscape(info.otlp_http),
                    "</code> (<code>/v1/traces</code>, <code>/v1/metrics</code>)</li>\n");
  }
  absl::StrAppend(&html, "<li>OTLP/HTTP metrics on this port: <code>", HtmlEscape(base),
                  "/otlp/v1/metrics</code> (protobuf or JSON; Prometheus names with unit and type "
                  "suffixes)</li>\n");
  absl::StrAppend(&html, "<li>Prometheus remote write: <code>", HtmlEscape(base),
                  "/api/v1/push</code></li>\n</ul>\n<p>Demo data: <code>sprout demo "
                  "--endpoint ",
                  HtmlEscape(info.otlp_grpc.empty() ? info.otlp_http : info.otlp_grpc),
                  "</code></p>\n");

  absl::StrAppend(&html,
                  "<h2>Grafana data sources</h2>\n<table><tr><th>type</th><th>URL</th>"
                  "<th>settings</th></tr>\n<tr><td>Tempo</td><td><code>",
                  HtmlEscape(base),
                  "</code></td><td>service map from the Prometheus data source; streaming "
                  "off</td></tr>\n<tr><td>Prometheus</td><td><code>",
                  HtmlEscape(base),
                  "/prometheus</code></td><td>type Mimir; exemplars: label <code>traceID</code>"
                  " → the Tempo data source</td></tr>\n</table>\n");
  if (info.multitenancy_enabled) {
    html +=
        "<p>Multi-tenancy is on: add the header <code>X-Scope-OrgID: &lt;tenant&gt;</code> "
        "to both data sources and to every sender.</p>\n";
  } else {
    absl::StrAppend(&html, "<p>One tenant (<code>", HtmlEscape(info.tenant),
                    "</code>): no header needed.</p>\n");
  }
  html += "<p>Ready-made provisioning and a dashboard: <code>examples/grafana/</code>.</p>\n";

  html += "<h2>Endpoints</h2>\n<table><tr><th>method</th><th>path</th><th>what</th></tr>\n";
  html += Row(base, "GET", "/ready", "ready when every part is (503 during WAL replay)", true);
  html += Row(base, "GET", "/livez", "live as soon as the process serves", true);
  html += Row(base, "GET", "/metrics",
              info.self_monitoring.empty()
                  ? std::string("the process's own telemetry (Prometheus text)")
                  : absl::StrCat("the process's own telemetry (Prometheus text); also stored ",
                                 info.self_monitoring, " in the metrics store as job=\"sprout\""),
              true);
  html += Row(base, "GET", "/api/echo", "Tempo: echo", true);
  html += Row(base, "GET", "/api/status/buildinfo", "Tempo: build info", true);
  html +=
      Row(base, "GET", "/api/traces/{id}", "Tempo: a trace by ID (v1; /api/v2/traces/{id})", false);
  html += Row(base, "GET", "/api/search", "Tempo: search (tags, TraceQL in q)", true);
  html += Row(base, "GET", "/api/v2/search/tags", "Tempo: tag names", true);
  html += Row(base, "GET", "/api/v2/search/tag/{name}/values", "Tempo: tag values", false);
  html += Row(base, "GET|POST", "/api/v1/query",
              "Prometheus: instant query (also under "
              "/prometheus)",
              false);
  html += Row(base, "GET|POST", "/api/v1/query_range", "Prometheus: range query", false);
  html += Row(base, "GET|POST", "/api/v1/labels", "Prometheus: label names", true);
  html += Row(base, "GET|POST", "/api/v1/query_exemplars", "Prometheus: exemplars", false);
  html += Row(base, "GET", "/api/v1/status/buildinfo", "Prometheus/Mimir: build info", true);
  html += Row(base, "POST", "/otlp/v1/metrics", "OTLP/HTTP metrics (Mimir's path)", false);
  html += Row(base, "POST", "/api/v1/push", "remote write (Mimir; 200)", false);
  html += Row(base, "POST", "/api/v1/write", "remote write (Prometheus; 204)", false);
  html += Row(base, "POST", "/api/v1/read", "remote read", false);
  html += "</table>\n</body></html>\n";
  return html;
}

}  // namespace sprout::cmd
