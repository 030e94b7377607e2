#include "cmd/all/demo.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace sprout::cmd::demo {
namespace {

using ::opentelemetry::proto::common::v1::KeyValue;
using ::opentelemetry::proto::metrics::v1::AGGREGATION_TEMPORALITY_CUMULATIVE;
using ::opentelemetry::proto::metrics::v1::Metric;
using ::opentelemetry::proto::metrics::v1::NumberDataPoint;
using ::opentelemetry::proto::resource::v1::Resource;
using ::opentelemetry::proto::trace::v1::ResourceSpans;
using ::opentelemetry::proto::trace::v1::ScopeSpans;
using ::opentelemetry::proto::trace::v1::Span;
using ::opentelemetry::proto::trace::v1::Status;

constexpr const char* kScopeName = "sprout.demo";
constexpr const char* kScopeVersion = "1.0.0";

const char* ServiceVersion(const std::string& service) {
  if (service == "frontend") return "2.3.1";
  if (service == "catalog") return "1.8.0";
  if (service == "cart") return "1.4.2";
  if (service == "checkout") return "3.0.5";
  return "0.9.3";  // shipping
}

void AddString(google::protobuf::RepeatedPtrField<KeyValue>* attrs, const std::string& key,
               const std::string& value) {
  KeyValue* kv = attrs->Add();
  kv->set_key(key);
  kv->mutable_value()->set_string_value(value);
}

void AddInt(google::protobuf::RepeatedPtrField<KeyValue>* attrs, const std::string& key,
            int64_t value) {
  KeyValue* kv = attrs->Add();
  kv->set_key(key);
  kv->mutable_value()->set_int_value(value);
}

void FillResource(const std::string& service, const std::string& environment, Resource* r) {
  auto* a = r->mutable_attributes();
  AddString(a, "service.name", service);
  AddString(a, "service.namespace", "shop");
  AddString(a, "service.version", ServiceVersion(service));
  AddString(a, "service.instance.id", service + "-0");
  AddString(a, "deployment.environment.name", environment);
  AddString(a, "host.name", "shop-" + service + "-0");
  AddString(a, "telemetry.sdk.name", "sprout-demo");
  AddString(a, "telemetry.sdk.language", "cpp");
}

uint64_t ToNanos(absl::Time t) { return static_cast<uint64_t>(absl::ToUnixNanos(t)); }

}  // namespace

absl::StatusOr<DemoEndpoint> ParseDemoEndpoint(std::string_view endpoint_text) {
  const absl::string_view endpoint(endpoint_text.data(), endpoint_text.size());
  DemoEndpoint out;
  absl::string_view rest = endpoint;
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid endpoint \"", endpoint, "\": ", why,
                     " (want host:port, grpc://host:port or http(s)://host:port)"));
  };
  if (absl::ConsumePrefix(&rest, "http://") || absl::StartsWith(rest, "https://")) {
    out.grpc = false;
    absl::string_view url = endpoint;
    absl::string_view host = url.substr(url.find("://") + 3);
    while (absl::EndsWith(url, "/") && url.size() > 8) url.remove_suffix(1);
    host = host.substr(0, host.find('/'));
    if (host.empty()) return invalid("no host");
    out.base_url = std::string(url);
    return out;
  }
  absl::ConsumePrefix(&rest, "grpc://");
  while (absl::EndsWith(rest, "/")) rest.remove_suffix(1);
  if (rest.find("://") != absl::string_view::npos) return invalid("unknown scheme");
  const size_t colon = rest.rfind(':');
  if (rest.empty() || colon == absl::string_view::npos || colon == 0 || colon + 1 == rest.size()) {
    return invalid("no port");
  }
  for (char c : rest.substr(colon + 1)) {
    if (c < '0' || c > '9') return invalid("the port is not a number");
  }
  out.target = std::string(rest);
  return out;
}

// One span of a trace being built: its place in the tree, what it is, and (after Layout) when.
struct ShopGenerator::Node {
  enum Role { kServer, kClient, kDb, kProducer, kConsumer, kInternal };
  std::string service;
  std::string name;
  Role role = kInternal;
  std::vector<std::pair<std::string, std::string>> strings;
  std::vector<std::pair<std::string, int64_t>> ints;
  double self = 0;     // own work, seconds (around the children)
  bool async = false;  // starts after its parent ends (a queue consumer)
  bool slow = false;   // a slow-path database query
  std::vector<Node> children;
  // HTTP spans: method, route and response status; db spans: operation and collection.
  std::string method, route, operation, collection;
  int status_code = 0;
  bool error = false;
  std::string error_type;      // error.type
  std::string exception_type;  // set on the span where the failure started
  std::string exception_message;
  double start = 0, end = 0;  // seconds since the trace's first span started
};

ShopGenerator::ShopGenerator(ShopOptions options, Clock now)
    : options_(std::move(options)), now_(std::move(now)), rng_(options_.seed) {
  start_ = now_();
  for (const char* s : kServices) state_[s];
}

double ShopGenerator::Uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }
double ShopGenerator::Between(double lo, double hi) { return lo + (hi - lo) * Uniform(); }

void ShopGenerator::Observe(Histogram* h, const double* bounds, size_t n, double value,
                            Exemplar exemplar) {
  if (h->buckets.empty()) {
    h->buckets.assign(n + 1, 0);
    h->exemplars.assign(n + 1, Exemplar{});
  }
  size_t i = 0;
  while (i < n && value > bounds[i]) ++i;  // bucket i: (bounds[i-1], bounds[i]]
  ++h->buckets[i];
  exemplar.set = true;
  exemplar.value = value;
  h->exemplars[i] = std::move(exemplar);
  h->min = h->count == 0 ? value : std::min(h->min, value);
  h->max = h->count == 0 ? value : std::max(h->max, value);
  ++h->count;
  h->sum += value;
}

void ShopGenerator::AddTraces(int n, ExportTraceServiceRequest* out) {
  for (int i = 0; i < n; ++i) AddTrace(out);
}

namespace {

using Node = ShopGenerator::Node;

}  // namespace

void ShopGenerator::AddTrace(ExportTraceServiceRequest* out) {
  // --- Builders of the shop's calls (all durations in seconds). ---
  auto server = [&](const std::string& service, const std::string& method, const std::string& route,
                    const std::string& path) {
    Node n;
    n.service = service;
    n.role = Node::kServer;
    n.name = method + " " + route;
    n.method = method;
    n.route = route;
    n.status_code = 200;
    n.self = Between(0.0005, 0.004);
    n.strings = {{"http.request.method", method},
                 {"http.route", route},
                 {"url.path", path},
                 {"http.target", path},
                 {"url.scheme", "http"},
                 {"server.address", service},
                 {"network.protocol.version", "1.1"}};
    n.ints = {{"server.port", 8080}};
    return n;
  };
  // A client span in `caller` with the callee's server span as its only child.
  auto call = [&](const std::string& caller, const std::string& callee, const std::string& method,
                  const std::string& route, const std::string& path) {
    Node c;
    c.service = caller;
    c.role = Node::kClient;
    c.name = method + " " + route;
    c.method = method;
    c.route = route;
    c.status_code = 200;
    c.self = Between(0.0005, 0.002);
    c.strings = {{"http.request.method", method},
                 {"server.address", callee},
                 {"url.full", "http://" + callee + ":8080" + path},
                 {"peer.service", callee},
                 {"network.protocol.version", "1.1"}};
    c.ints = {{"server.port", 8080}};
    c.children.push_back(server(callee, method, route, path));
    return c;
  };
  auto db = [&](const std::string& service, const std::string& operation,
                const std::string& collection, const std::string& query) {
    Node d;
    d.service = service;
    d.role = Node::kDb;
    d.name = operation + " " + collection;
    d.operation = operation;
    d.collection = collection;
    d.slow = Uniform() < options_.slow_fraction;
    // Fast queries 1-20 ms; the slow path (a missing index, a lock) 0.3-2.5 s.
    d.self = d.slow ? Between(0.3, 2.5) : Between(0.001, 0.02);
    d.strings = {{"db.system.name", "postgresql"},   {"db.system", "postgresql"},
                 {"db.namespace", "shop"},           {"db.operation.name", operation},
                 {"db.collection.name", collection}, {"db.query.text", query},
                 {"server.address", "postgres"}};
    d.ints = {{"server.port", 5432}};
    return d;
  };
  auto internal = [&](const std::string& service, const std::string& name, double lo, double hi) {
    Node n;
    n.service = service;
    n.role = Node::kInternal;
    n.name = name;
    n.self = Between(lo, hi);
    return n;
  };
  auto product_id = [&] { return std::to_string(1000 + static_cast<int>(Uniform() * 500)); };
  auto cart_lookup = [&](const std::string& caller) {
    Node c = call(caller, "cart", "GET", "/cart", "/cart");
    c.children[0].children.push_back(
        db("cart", "SELECT", "cart_items",
           "SELECT product_id, quantity FROM cart_items WHERE session_id = $1"));
    return c;
  };

  // --- The trace: a health check or one of the shop's pages. ---
  Node root;
  bool health = Uniform() < options_.health_fraction;
  if (health) {
    const char* service = kServices[static_cast<size_t>(Uniform() * std::size(kServices))];
    root = server(service, "GET", "/health", "/health");
    root.self = Between(0.0002, 0.001);
  } else {
    double page = Uniform();
    if (page < 0.4) {  // browse the catalog: 9 spans
      root = server("frontend", "GET", "/products", "/products");
      Node list = call("frontend", "catalog", "GET", "/products", "/products");
      list.children[0].children.push_back(
          db("catalog", "SELECT", "products",
             "SELECT id, name, price FROM products ORDER BY popularity DESC LIMIT $1"));
      list.children[0].children.push_back(
          db("catalog", "SELECT", "prices",
             "SELECT product_id, amount FROM prices WHERE product_id = ANY($1)"));
      root.children.push_back(std::move(list));
      root.children.push_back(cart_lookup("frontend"));
      root.children.push_back(internal("frontend", "render products", 0.002, 0.01));
    } else if (page < 0.7) {  // a product page: 12 spans
      std::string id = product_id();
      root = server("frontend", "GET", "/products/{id}", "/products/" + id);
      Node product = call("frontend", "catalog", "GET", "/products/{id}", "/products/" + id);
      product.children[0].children.push_back(
          db("catalog", "SELECT", "products", "SELECT * FROM products WHERE id = $1"));
      product.children[0].children.push_back(db("catalog", "SELECT", "reviews",
                                                "SELECT rating, body FROM reviews WHERE product_id "
                                                "= $1 ORDER BY created_at DESC LIMIT 10"));
      Node recs = call("frontend", "catalog", "GET", "/products/{id}/recommendations",
                       "/products/" + id + "/recommendations");
      recs.children[0].children.push_back(
          db("catalog", "SELECT", "recommendations",
             "SELECT other_id FROM recommendations WHERE product_id = $1 LIMIT 4"));
      root.children.push_back(std::move(product));
      root.children.push_back(std::move(recs));
      root.children.push_back(cart_lookup("frontend"));
      root.children.push_back(internal("frontend", "render product", 0.002, 0.01));
    } else if (page < 0.85) {  // add to the cart: 8 spans
      std::string id = product_id();
      root = server("frontend", "POST", "/cart/items", "/cart/items");
      Node product = call("frontend", "catalog", "GET", "/products/{id}", "/products/" + id);
      product.children[0].children.push_back(
          db("catalog", "SELECT", "products", "SELECT * FROM products WHERE id = $1"));
      Node add = call("frontend", "cart", "POST", "/cart/items", "/cart/items");
      add.children[0].children.push_back(
          db("cart", "SELECT", "carts", "SELECT id FROM carts WHERE session_id = $1"));
      add.children[0].children.push_back(
          db("cart", "INSERT", "cart_items",
             "INSERT INTO cart_items (cart_id, product_id, quantity) VALUES ($1, $2, $3)"));
      root.children.push_back(std::move(product));
      root.children.push_back(std::move(add));
    } else {  // check out: 13 spans
      root = server("frontend", "POST", "/checkout", "/checkout");
      Node checkout = call("frontend", "checkout", "POST", "/checkout", "/checkout");
      Node& co = checkout.children[0];
      co.children.push_back(cart_lookup("checkout"));
      Node pay;
      pay.service = "checkout";
      pay.role = Node::kClient;
      pay.name = "POST /v1/charges";
      pay.method = "POST";
      pay.route = "/v1/charges";
      pay.status_code = 200;
      pay.self = Between(0.08, 0.35);  // an external API over the internet
      pay.strings = {{"http.request.method", "POST"},
                     {"server.address", "api.payments.example"},
                     {"url.full", "https://api.payments.example/v1/charges"},
                     {"peer.service", "payments"},
                     {"network.protocol.version", "1.1"}};
      pay.ints = {{"server.port", 443}};
      co.children.push_back(std::move(pay));
      Node produce;
      produce.service = "checkout";
      produce.role = Node::kProducer;
      produce.name = "send orders";
      produce.self = Between(0.001, 0.004);
      produce.strings = {{"messaging.system", "kafka"},
                         {"messaging.destination.name", "orders"},
                         {"messaging.operation.type", "send"},
                         {"messaging.operation.name", "send"},
                         {"server.address", "kafka"}};
      produce.ints = {{"server.port", 9092}};
      Node consume;
      consume.service = "shipping";
      consume.role = Node::kConsumer;
      consume.name = "process orders";
      consume.async = true;
      consume.self = Between(0.002, 0.01);
      consume.strings = {{"messaging.system", "kafka"},
                         {"messaging.destination.name", "orders"},
                         {"messaging.operation.type", "process"},
                         {"messaging.operation.name", "process"},
                         {"messaging.consumer.group.name", "shipping"},
                         {"server.address", "kafka"}};
      consume.ints = {{"server.port", 9092}};
      consume.children.push_back(internal("shipping", "create shipment", 0.005, 0.03));
      produce.children.push_back(std::move(consume));
      co.children.push_back(std::move(produce));
      Node clear = call("checkout", "cart", "DELETE", "/cart", "/cart");
      clear.children[0].children.push_back(
          db("cart", "DELETE", "cart_items", "DELETE FROM cart_items WHERE cart_id = $1"));
      co.children.push_back(std::move(clear));
      root.children.push_back(std::move(checkout));
    }
  }

  // --- A failure now and then: a database query or the payment API fails, and every span
  // above it on the way to the root fails with it (HTTP 500 from each service). ---
  if (!health && Uniform() < options_.error_fraction) {
    std::vector<std::vector<size_t>> candidates;  // paths (child indexes) from the root
    std::vector<size_t> path;
    std::function<void(const Node&)> collect = [&](const Node& n) {
      if (n.role == Node::kDb || (n.role == Node::kClient && n.children.empty())) {
        candidates.push_back(path);
      }
      for (size_t i = 0; i < n.children.size(); ++i) {
        if (n.children[i].async) continue;  // a consumer's failure is not the request's
        path.push_back(i);
        collect(n.children[i]);
        path.pop_back();
      }
    };
    collect(root);
    const std::vector<size_t>& chosen =
        candidates[static_cast<size_t>(Uniform() * candidates.size())];
    std::vector<Node*> chain = {&root};
    for (size_t i : chosen) chain.push_back(&chain.back()->children[i]);
    Node* origin = chain.back();
    if (origin->role == Node::kDb) {
      origin->error_type = "08006";  // PostgreSQL: connection failure
      origin->exception_type = "PostgresError";
      origin->exception_message = "terminating connection due to administrator command";
      origin->strings.push_back({"db.response.status_code", "08006"});
    } else {
      origin->status_code = 503;
      origin->error_type = "503";
      origin->exception_type = "PaymentGatewayError";
      origin->exception_message = "payment provider unavailable: 503 Service Unavailable";
    }
    for (Node* n : chain) {
      n->error = true;
      if (n == origin) continue;
      if (n->role == Node::kServer || n->role == Node::kClient) {
        n->status_code = 500;
        n->error_type = "500";
      } else {
        n->error_type = origin->error_type;
      }
    }
  }

  // --- Timing: children one after another inside their parent; a consumer after its
  // producer, once the message has waited in the queue. ---
  std::function<void(Node&, double)> layout = [&](Node& n, double t) {
    n.start = t;
    double cursor = t + n.self * 0.3;
    for (Node& c : n.children) {
      if (c.async) continue;
      layout(c, cursor + 0.0002);
      cursor = c.end + 0.0002;
    }
    n.end = cursor + n.self * 0.7;
    for (Node& c : n.children) {
      if (c.async) layout(c, n.end + Between(0.005, 0.08));
    }
  };
  layout(root, 0);
  double last_end = 0;
  std::function<void(const Node&)> find_end = [&](const Node& n) {
    last_end = std::max(last_end, n.end);
    for (const Node& c : n.children) find_end(c);
  };
  find_end(root);
  // The trace ends now.
  const absl::Time origin_time = now_() - absl::Seconds(last_end);

  // --- Spans, one ResourceSpans per service. ---
  std::string trace_id(16, '\0');
  for (size_t i = 0; i < 16; i += 8) {
    uint64_t r = rng_();
    for (int b = 0; b < 8; ++b) trace_id[i + b] = static_cast<char>(r >> (8 * b));
  }
  std::map<std::string, ScopeSpans*> scopes;
  auto scope_of = [&](const std::string& service) {
    ScopeSpans*& s = scopes[service];
    if (s == nullptr) {
      ResourceSpans* rs = out->add_resource_spans();
      FillResource(service, options_.environment, rs->mutable_resource());
      s = rs->add_scope_spans();
      s->mutable_scope()->set_name(kScopeName);
      s->mutable_scope()->set_version(kScopeVersion);
    }
    return s;
  };
  std::function<void(const Node&, const std::string&)> emit = [&](const Node& n,
                                                                  const std::string& parent) {
    Span* span = scope_of(n.service)->add_spans();
    std::string span_id(8, '\0');
    uint64_t r = rng_() | 1;  // never all zero
    for (int b = 0; b < 8; ++b) span_id[b] = static_cast<char>(r >> (8 * b));
    span->set_trace_id(trace_id);
    span->set_span_id(span_id);
    span->set_parent_span_id(parent);
    span->set_name(n.name);
    switch (n.role) {
      case Node::kServer:
        span->set_kind(Span::SPAN_KIND_SERVER);
        break;
      case Node::kClient:
      case Node::kDb:
        span->set_kind(Span::SPAN_KIND_CLIENT);
        break;
      case Node::kProducer:
        span->set_kind(Span::SPAN_KIND_PRODUCER);
        break;
      case Node::kConsumer:
        span->set_kind(Span::SPAN_KIND_CONSUMER);
        break;
      case Node::kInternal:
        span->set_kind(Span::SPAN_KIND_INTERNAL);
        break;
    }
    const absl::Time start = origin_time + absl::Seconds(n.start);
    const absl::Time end = origin_time + absl::Seconds(n.end);
    span->set_start_time_unix_nano(ToNanos(start));
    span->set_end_time_unix_nano(ToNanos(end));
    for (const auto& [k, v] : n.strings) AddString(span->mutable_attributes(), k, v);
    for (const auto& [k, v] : n.ints) AddInt(span->mutable_attributes(), k, v);
    if (n.status_code != 0)
      AddInt(span->mutable_attributes(), "http.response.status_code", n.status_code);
    if (!n.error_type.empty()) AddString(span->mutable_attributes(), "error.type", n.error_type);
    if (n.error) {
      span->mutable_status()->set_code(Status::STATUS_CODE_ERROR);
      span->mutable_status()->set_message(!n.exception_message.empty()
                                              ? n.exception_message
                                              : absl::StrCat("HTTP ", n.status_code));
    }
    if (!n.exception_type.empty()) {
      auto* event = span->add_events();
      event->set_name("exception");
      event->set_time_unix_nano(ToNanos(end));
      AddString(event->mutable_attributes(), "exception.type", n.exception_type);
      AddString(event->mutable_attributes(), "exception.message", n.exception_message);
      AddString(event->mutable_attributes(), "exception.stacktrace",
                n.exception_type + ": " + n.exception_message + "\n    at " + n.service + " (" +
                    n.name + ")");
    }
    ++spans_;
    Record(n, trace_id, span_id, end);
    for (const Node& c : n.children) emit(c, span_id);
  };
  emit(root, std::string());
  ++traces_;
}

void ShopGenerator::Record(const Node& n, const std::string& trace_id, const std::string& span_id,
                           absl::Time end) {
  const double seconds = n.end - n.start;
  const Exemplar exemplar{.time = end, .trace_id = trace_id, .span_id = span_id};
  ServiceState& st = state_[n.service];
  switch (n.role) {
    case Node::kServer:
      Observe(&http_[HttpKey{n.service, n.method, n.route, n.status_code, n.error_type}],
              kHttpDurationBounds, std::size(kHttpDurationBounds), seconds, exemplar);
      st.cpu_user += seconds * 0.25;
      st.cpu_system += seconds * 0.05;
      if (n.route == "/checkout" && n.service == "checkout" && !n.error) ++st.orders;
      break;
    case Node::kDb:
      Observe(&db_[DbKey{n.service, n.operation, n.collection}], kDbDurationBounds,
              std::size(kDbDurationBounds), seconds, exemplar);
      break;
    case Node::kProducer:
      ++st.sent;
      break;
    case Node::kConsumer:
      ++st.consumed;
      break;
    default:
      break;
  }
}

ExportMetricsServiceRequest ShopGenerator::Metrics() {
  const absl::Time now = now_();
  const uint64_t start_ns = ToNanos(start_), now_ns = ToNanos(now);
  const double uptime = absl::ToDoubleSeconds(now - start_);
  ExportMetricsServiceRequest out;

  for (const char* service_name : kServices) {
    const std::string service = service_name;
    ServiceState& st = state_[service];
    auto* rm = out.add_resource_metrics();
    FillResource(service, options_.environment, rm->mutable_resource());
    auto* sm = rm->add_scope_metrics();
    sm->mutable_scope()->set_name(kScopeName);
    sm->mutable_scope()->set_version(kScopeVersion);

    auto new_metric = [&](const char* name, const char* unit, const char* description) {
      Metric* m = sm->add_metrics();
      m->set_name(name);
      m->set_unit(unit);
      m->set_description(description);
      return m;
    };
    // Exemplars are exported once: the reservoir starts empty after each collection.
    auto fill_histogram = [&](auto* point, Histogram& h, const double* bounds, size_t n) {
      for (Exemplar& e : h.exemplars) {
        if (!e.set) continue;
        auto* x = point->add_exemplars();
        x->set_time_unix_nano(ToNanos(e.time));
        x->set_as_double(e.value);
        x->set_trace_id(e.trace_id);
        x->set_span_id(e.span_id);
        e = Exemplar{};
      }
      point->set_start_time_unix_nano(start_ns);
      point->set_time_unix_nano(now_ns);
      point->set_count(h.count);
      point->set_sum(h.sum);
      point->set_min(h.min);
      point->set_max(h.max);
      for (uint64_t b : h.buckets) point->add_bucket_counts(b);
      for (size_t i = 0; i < n; ++i) point->add_explicit_bounds(bounds[i]);
    };
    auto sum_point = [&](Metric* m, bool monotonic) {
      auto* sum = m->mutable_sum();
      sum->set_aggregation_temporality(AGGREGATION_TEMPORALITY_CUMULATIVE);
      sum->set_is_monotonic(monotonic);
      NumberDataPoint* p = sum->add_data_points();
      p->set_start_time_unix_nano(start_ns);
      p->set_time_unix_nano(now_ns);
      return p;
    };
    auto gauge_point = [&](Metric* m) {
      NumberDataPoint* p = m->mutable_gauge()->add_data_points();
      p->set_time_unix_nano(now_ns);
      return p;
    };

    // HTTP server request durations (their _count is the request counter).
    Metric* http = nullptr;
    for (auto& [key, h] : http_) {
      const auto& [svc, method, route, status, error_type] = key;
      if (svc != service) continue;
      if (http == nullptr) {
        http = new_metric("http.server.request.duration", "s", "Duration of HTTP server requests.");
        http->mutable_histogram()->set_aggregation_temporality(AGGREGATION_TEMPORALITY_CUMULATIVE);
      }
      auto* p = http->mutable_histogram()->add_data_points();
      fill_histogram(p, h, kHttpDurationBounds, std::size(kHttpDurationBounds));
      AddString(p->mutable_attributes(), "http.request.method", method);
      AddString(p->mutable_attributes(), "http.route", route);
      AddInt(p->mutable_attributes(), "http.response.status_code", status);
      AddString(p->mutable_attributes(), "url.scheme", "http");
      if (!error_type.empty()) AddString(p->mutable_attributes(), "error.type", error_type);
    }
    Metric* dbm = nullptr;
    for (auto& [key, h] : db_) {
      const auto& [svc, operation, collection] = key;
      if (svc != service) continue;
      if (dbm == nullptr) {
        dbm = new_metric("db.client.operation.duration", "s",
                         "Duration of database client operations.");
        dbm->mutable_histogram()->set_aggregation_temporality(AGGREGATION_TEMPORALITY_CUMULATIVE);
      }
      auto* p = dbm->mutable_histogram()->add_data_points();
      fill_histogram(p, h, kDbDurationBounds, std::size(kDbDurationBounds));
      AddString(p->mutable_attributes(), "db.system.name", "postgresql");
      AddString(p->mutable_attributes(), "db.namespace", "shop");
      AddString(p->mutable_attributes(), "db.operation.name", operation);
      AddString(p->mutable_attributes(), "db.collection.name", collection);
    }

    if (service != "shipping") {
      Metric* active = new_metric("http.server.active_requests", "{request}",
                                  "Number of active HTTP server requests.");
      NumberDataPoint* p = sum_point(active, false);
      p->set_as_int(static_cast<int64_t>(Uniform() * 4));
      AddString(p->mutable_attributes(), "http.request.method", "GET");
      AddString(p->mutable_attributes(), "url.scheme", "http");
    }
    if (service == "checkout") {
      Metric* sent = new_metric("messaging.client.sent.messages", "{message}",
                                "Number of messages producers attempted to send.");
      NumberDataPoint* p = sum_point(sent, true);
      p->set_as_int(st.sent);
      AddString(p->mutable_attributes(), "messaging.system", "kafka");
      AddString(p->mutable_attributes(), "messaging.destination.name", "orders");
      AddString(p->mutable_attributes(), "messaging.operation.name", "send");
      Metric* orders = new_metric("shop.orders.placed", "{order}", "Orders placed.");
      sum_point(orders, true)->set_as_int(st.orders);
    }
    if (service == "shipping") {
      Metric* consumed = new_metric("messaging.client.consumed.messages", "{message}",
                                    "Number of messages delivered to the consumer.");
      NumberDataPoint* p = sum_point(consumed, true);
      p->set_as_int(st.consumed);
      AddString(p->mutable_attributes(), "messaging.system", "kafka");
      AddString(p->mutable_attributes(), "messaging.destination.name", "orders");
      AddString(p->mutable_attributes(), "messaging.consumer.group.name", "shipping");
      AddString(p->mutable_attributes(), "messaging.operation.name", "process");
    }

    // Runtime: CPU time (a baseline plus the requests' work), memory, threads, uptime.
    Metric* cpu = new_metric("process.cpu.time", "s", "Total CPU seconds broken down by mode.");
    NumberDataPoint* user = sum_point(cpu, true);
    user->set_as_double(st.cpu_user + 0.004 * uptime);
    AddString(user->mutable_attributes(), "cpu.mode", "user");
    NumberDataPoint* system = cpu->mutable_sum()->add_data_points();
    system->set_start_time_unix_nano(start_ns);
    system->set_time_unix_nano(now_ns);
    system->set_as_double(st.cpu_system + 0.001 * uptime);
    AddString(system->mutable_attributes(), "cpu.mode", "system");
    gauge_point(new_metric("process.memory.usage", "By", "The amount of physical memory in use."))
        ->set_as_int(static_cast<int64_t>((48 + 16 * Uniform()) * (1 << 20)));
    gauge_point(new_metric("process.thread.count", "{thread}", "Process threads count."))
        ->set_as_int(8 + static_cast<int64_t>(Uniform() * 4));
    gauge_point(new_metric("process.uptime", "s", "The time the process has been running."))
        ->set_as_double(uptime);
  }
  return out;
}

}  // namespace sprout::cmd::demo
