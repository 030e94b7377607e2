#include "traces_corpus.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace sprout::bench {
namespace {

namespace pb = otlp::pb;
using pb::trace::Span;

// ---- deterministic randomness (no std:: distributions: their output is not specified) -------

uint64_t SplitMix(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() { return SplitMix(state_); }
  // Uniform in [0, n).
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }
  int Int(int lo, int hi) {
    return lo + static_cast<int>(Below(static_cast<uint64_t>(hi - lo + 1)));
  }
  // Uniform in [0, 1).
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Unit() < p; }
  double Normal() {  // Box-Muller
    const double u1 = 1.0 - Unit(), u2 = Unit();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double LogNormal(double median, double sigma) { return median * std::exp(sigma * Normal()); }
  // An index drawn with the given weights.
  template <size_t N>
  int Weighted(const int (&weights)[N]) {
    int total = 0;
    for (int w : weights) total += w;
    int r = static_cast<int>(Below(static_cast<uint64_t>(total)));
    for (size_t i = 0; i < N; ++i) {
      if (r < weights[i]) return static_cast<int>(i);
      r -= weights[i];
    }
    return N - 1;
  }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Below(v.size())];
  }

 private:
  uint64_t state_;
};

std::string Bytes(uint64_t a) { return std::string(reinterpret_cast<const char*>(&a), 8); }

constexpr char kHex[] = "0123456789abcdef";
constexpr char kAlnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

std::string Hex(Rng& rng, int n) {
  std::string s(n, '0');
  for (auto& c : s) c = kHex[rng.Below(16)];
  return s;
}
std::string Alnum(Rng& rng, int n) {
  std::string s(n, 'A');
  for (auto& c : s) c = kAlnum[rng.Below(36)];
  return s;
}
std::string Uuid(Rng& rng) {
  return absl::StrCat(Hex(rng, 8), "-", Hex(rng, 4), "-4", Hex(rng, 3), "-", Hex(rng, 4), "-",
                      Hex(rng, 12));
}

// Replaces each {name} in a template by a value of that kind: {id} {n} large number, {s} small
// number, {uuid}, {sku}, {hex} 16 hex digits, {code} 10 upper-case letters/digits, {q} a search
// word, {cur} a currency code.
std::string Expand(std::string_view tmpl, Rng& rng) {
  static const std::vector<std::string> kWords = {
      "shoes",    "red dress",   "laptop", "coffee",     "headphones",
      "tent",     "garden hose", "lamp",   "phone case", "yoga mat",
      "backpack", "watch",       "desk",   "camera",     "book"};
  static const std::vector<std::string> kCurrencies = {"USD", "EUR", "GBP", "JPY", "CAD", "CHF"};
  std::string out;
  out.reserve(tmpl.size() + 32);
  size_t i = 0;
  while (i < tmpl.size()) {
    if (tmpl[i] != '{') {
      out.push_back(tmpl[i++]);
      continue;
    }
    const size_t close = tmpl.find('}', i);
    const std::string_view name = tmpl.substr(i + 1, close - i - 1);
    if (name == "id" || name == "n") {
      absl::StrAppend(&out, 1 + rng.Below(rng.Chance(0.7) ? 100000 : 10000000));
    } else if (name == "s") {
      absl::StrAppend(&out, 1 + rng.Below(50));
    } else if (name == "uuid") {
      out += Uuid(rng);
    } else if (name == "sku") {
      absl::StrAppend(&out, "SKU-", 100000 + rng.Below(900000));
    } else if (name == "hex") {
      out += Hex(rng, 16);
    } else if (name == "code") {
      out += Alnum(rng, 10);
    } else if (name == "q") {
      out += rng.Pick(kWords);
    } else if (name == "cur") {
      out += rng.Pick(kCurrencies);
    } else {
      out.append(tmpl.substr(i, close - i + 1));
    }
    i = close + 1;
  }
  return out;
}

// ---- the fixed topology ------------------------------------------------------------------

enum class Db { kNone, kPostgres, kMysql, kRedis, kElastic };

struct Route {
  const char* method;
  const char* route;  // template: {id} etc. become values in the path
};

struct Service {
  const char* name;
  const char* language;  // telemetry.sdk.language
  const char* scope;     // instrumentation scope name
  bool old_semconv;      // http.method/http.status_code/net.peer.name instead of the new names
  std::vector<Route> routes;
  std::vector<int> callees;
  Db db = Db::kNone;
  const char* db_name = "";
  std::vector<const char*> tables;
  std::vector<const char*> produces;   // topics
  std::vector<const char*> functions;  // INTERNAL span names
};

struct Pod {
  int service;
  std::string name, node, instance_id, version;
};

struct Topology {
  std::vector<Service> services;
  std::vector<std::vector<int>> consumers_of_topic;  // per topic index in `topics`
  std::vector<std::string> topics;
  std::vector<Pod> pods;
  std::vector<std::vector<int>> pods_of;  // per service
};

const Topology& GetTopology() {
  static const Topology* topology = [] {
    auto* t = new Topology;
    enum {
      kFrontend,
      kGateway,
      kCatalog,
      kCart,
      kCheckout,
      kPayment,
      kShipping,
      kQuote,
      kCurrency,
      kEmail,
      kRecommendation,
      kAd,
      kUser,
      kAuth,
      kInventory,
      kOrders,
      kFraud,
      kAccounting,
      kNotification,
      kSearch,
      kReview,
      kPricing,
      kLoyalty,
      kMedia
    };
    auto& s = t->services;
    s.resize(24);
    s[kFrontend] = {"frontend",
                    "nodejs",
                    "@opentelemetry/instrumentation-http",
                    true,
                    {{"GET", "/"},
                     {"GET", "/product/{id}"},
                     {"GET", "/cart"},
                     {"POST", "/cart/items"},
                     {"GET", "/checkout"},
                     {"POST", "/checkout/place-order"},
                     {"GET", "/account/orders"},
                     {"GET", "/search"},
                     {"GET", "/static/{hex}.js"}},
                    {kGateway, kAd, kRecommendation, kCurrency, kMedia},
                    Db::kNone,
                    "",
                    {},
                    {},
                    {"renderPage", "hydrateState", "loadTemplates"}};
    s[kGateway] = {"api-gateway",
                   "go",
                   "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
                   false,
                   {{"GET", "/api/v1/products/{id}"},
                    {"GET", "/api/v1/products"},
                    {"GET", "/api/v1/cart/{id}"},
                    {"POST", "/api/v1/cart/{id}/items"},
                    {"POST", "/api/v1/orders"},
                    {"GET", "/api/v1/orders/{id}"},
                    {"GET", "/api/v1/users/{id}"},
                    {"POST", "/api/v1/login"},
                    {"GET", "/api/v1/search"},
                    {"GET", "/api/v1/products/{id}/reviews"}},
                   {kCatalog, kCart, kCheckout, kUser, kAuth, kSearch, kReview, kOrders},
                   Db::kNone,
                   "",
                   {},
                   {},
                   {"authorize", "rateLimit", "route"}};
    s[kCatalog] = {"product-catalog",
                   "go",
                   "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc",
                   false,
                   {{"GET", "/products/{id}"}, {"GET", "/products"}, {"POST", "/products/batch"}},
                   {kPricing, kInventory, kMedia},
                   Db::kPostgres,
                   "catalog",
                   {"products", "categories", "product_images"},
                   {},
                   {"mergeProductData", "applyFilters"}};
    s[kCart] = {"cart",
                "dotnet",
                "OpenTelemetry.Instrumentation.AspNetCore",
                false,
                {{"GET", "/cart/{id}"}, {"POST", "/cart/{id}/items"}, {"DELETE", "/cart/{id}"}},
                {kCatalog},
                Db::kRedis,
                "0",
                {},
                {},
                {"CartService.Validate"}};
    s[kCheckout] = {"checkout",
                    "go",
                    "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
                    false,
                    {{"POST", "/checkout"}, {"GET", "/checkout/{uuid}/status"}},
                    {kCart, kPayment, kShipping, kCurrency, kOrders, kUser, kLoyalty},
                    Db::kNone,
                    "",
                    {},
                    {"checkout.completed"},
                    {"prepareOrderItems", "computeTotals", "validateAddress"}};
    s[kPayment] = {"payment",
                   "nodejs",
                   "@opentelemetry/instrumentation-http",
                   true,
                   {{"POST", "/charge"}, {"POST", "/refund"}, {"GET", "/payments/{uuid}"}},
                   {kFraud},
                   Db::kPostgres,
                   "payments",
                   {"charges", "refunds", "payment_methods"},
                   {"payments.settled"},
                   {"tokenizeCard", "luhnCheck"}};
    s[kShipping] = {"shipping",
                    "rust",
                    "opentelemetry-http",
                    false,
                    {{"POST", "/get-quote"}, {"POST", "/ship-order"}},
                    {kQuote},
                    Db::kNone,
                    "",
                    {},
                    {"shipments.created"},
                    {"computeParcel"}};
    s[kQuote] = {"quote",
                 "php",
                 "io.opentelemetry.contrib.php.slim",
                 true,
                 {{"POST", "/getquote"}},
                 {},
                 Db::kNone,
                 "",
                 {},
                 {},
                 {"calculateQuote"}};
    s[kCurrency] = {"currency",
                    "cpp",
                    "opentelemetry-cpp",
                    false,
                    {{"GET", "/currencies"}, {"POST", "/convert"}},
                    {},
                    Db::kRedis,
                    "1",
                    {},
                    {},
                    {"Convert", "LoadRates"}};
    s[kEmail] = {"email",
                 "ruby",
                 "OpenTelemetry::Instrumentation::Sinatra",
                 true,
                 {{"POST", "/send_order_confirmation"}},
                 {},
                 Db::kNone,
                 "",
                 {},
                 {},
                 {"render_template", "deliver"}};
    s[kRecommendation] = {"recommendation",
                          "python",
                          "opentelemetry.instrumentation.flask",
                          true,
                          {{"GET", "/recommendations"}, {"GET", "/recommendations/{id}"}},
                          {kCatalog},
                          Db::kRedis,
                          "2",
                          {},
                          {},
                          {"get_product_list", "score_candidates"}};
    s[kAd] = {"ad",
              "java",
              "io.opentelemetry.spring-webmvc-6.0",
              false,
              {{"GET", "/ads"}, {"GET", "/ads/{id}"}},
              {},
              Db::kNone,
              "",
              {},
              {},
              {"AdService.getAds", "AdService.getRandomAds"}};
    s[kUser] = {"user",
                "java",
                "io.opentelemetry.spring-webmvc-6.0",
                false,
                {{"GET", "/users/{id}"},
                 {"PUT", "/users/{id}"},
                 {"GET", "/users/{id}/addresses"},
                 {"POST", "/users"}},
                {kAuth},
                Db::kPostgres,
                "users",
                {"users", "addresses", "sessions"},
                {},
                {"UserService.load", "UserMapper.toDto"}};
    s[kAuth] = {"auth",
                "go",
                "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
                false,
                {{"POST", "/token"}, {"POST", "/introspect"}, {"POST", "/logout"}},
                {},
                Db::kRedis,
                "3",
                {},
                {},
                {"verifySignature", "loadJWKS"}};
    s[kInventory] = {"inventory",
                     "java",
                     "io.opentelemetry.spring-webmvc-6.0",
                     false,
                     {{"GET", "/stock/{sku}"}, {"POST", "/reserve"}, {"POST", "/release"}},
                     {},
                     Db::kMysql,
                     "inventory",
                     {"stock", "reservations", "warehouses"},
                     {"inventory.reserved"},
                     {"InventoryService.reserve"}};
    s[kOrders] = {"orders",
                  "java",
                  "io.opentelemetry.spring-webmvc-6.0",
                  false,
                  {{"POST", "/orders"},
                   {"GET", "/orders/{id}"},
                   {"GET", "/orders"},
                   {"PATCH", "/orders/{id}"}},
                  {kInventory},
                  Db::kPostgres,
                  "orders",
                  {"orders", "order_items", "order_events"},
                  {"orders.created", "orders.updated"},
                  {"OrderService.create", "OrderValidator.validate"}};
    s[kFraud] = {"fraud-detection",
                 "java",
                 "io.opentelemetry.kafka-clients-2.6",
                 false,
                 {{"POST", "/score"}},
                 {},
                 Db::kRedis,
                 "4",
                 {},
                 {},
                 {"FraudModel.score", "FeatureExtractor.extract"}};
    s[kAccounting] = {"accounting",
                      "dotnet",
                      "OpenTelemetry.Instrumentation.AspNetCore",
                      false,
                      {{"GET", "/ledger/{id}"}},
                      {},
                      Db::kPostgres,
                      "ledger",
                      {"entries", "accounts"},
                      {},
                      {"Ledger.Post"}};
    s[kNotification] = {"notification",
                        "python",
                        "opentelemetry.instrumentation.flask",
                        true,
                        {{"POST", "/notify"}},
                        {kEmail},
                        Db::kNone,
                        "",
                        {},
                        {},
                        {"build_message", "select_channel"}};
    s[kSearch] = {"search",
                  "java",
                  "io.opentelemetry.spring-webmvc-6.0",
                  false,
                  {{"GET", "/search"}, {"GET", "/suggest"}},
                  {kCatalog},
                  Db::kElastic,
                  "products",
                  {"products"},
                  {},
                  {"QueryBuilder.build", "Ranker.rank"}};
    s[kReview] = {"review",
                  "python",
                  "opentelemetry.instrumentation.flask",
                  true,
                  {{"GET", "/reviews/{id}"}, {"POST", "/reviews"}},
                  {kUser},
                  Db::kPostgres,
                  "reviews",
                  {"reviews", "review_votes"},
                  {},
                  {"summarize_ratings"}};
    s[kPricing] = {"pricing",
                   "go",
                   "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
                   false,
                   {{"GET", "/prices/{sku}"}, {"POST", "/prices/batch"}},
                   {kCurrency},
                   Db::kRedis,
                   "5",
                   {},
                   {},
                   {"applyDiscounts"}};
    s[kLoyalty] = {"loyalty",
                   "nodejs",
                   "@opentelemetry/instrumentation-express",
                   true,
                   {{"GET", "/points/{id}"}, {"POST", "/points/{id}/earn"}},
                   {},
                   Db::kMysql,
                   "loyalty",
                   {"points", "tiers"},
                   {},
                   {"computePoints"}};
    s[kMedia] = {"media",
                 "go",
                 "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
                 false,
                 {{"GET", "/images/{hex}"}, {"GET", "/thumbnails/{hex}"}},
                 {},
                 Db::kNone,
                 "",
                 {},
                 {},
                 {"resize", "fetchFromBucket"}};
    // Topics and their consumers.
    auto add_topic = [&](const char* topic, std::vector<int> consumers) {
      t->topics.push_back(topic);
      t->consumers_of_topic.push_back(std::move(consumers));
    };
    add_topic("checkout.completed", {kEmail, kAccounting, kNotification});
    add_topic("payments.settled", {kAccounting, kLoyalty});
    add_topic("shipments.created", {kNotification});
    add_topic("inventory.reserved", {kCatalog});
    add_topic("orders.created", {kFraud, kAccounting, kEmail});
    add_topic("orders.updated", {kNotification, kAccounting});
    // Pods: 2–4 per service, from a fixed seed (the topology does not depend on the corpus seed).
    Rng rng(0x70706f6c6f6779ULL);
    const int nodes = 12;
    for (int i = 0; i < static_cast<int>(s.size()); ++i) {
      t->pods_of.emplace_back();
      const int count = rng.Int(2, 4);
      const std::string rs = Hex(rng, 10).substr(0, 9);
      const std::string version =
          absl::StrCat(rng.Int(1, 3), ".", rng.Int(0, 30), ".", rng.Int(0, 9));
      for (int p = 0; p < count; ++p) {
        Pod pod;
        pod.service = i;
        pod.version = version;
        std::string suffix(5, 'a');
        for (auto& c : suffix) c = "bcdfghjklmnpqrstvwxz2456789"[rng.Below(27)];
        pod.name = absl::StrCat(s[i].name, "-", rs, "-", suffix);
        pod.node = absl::StrCat("ip-10-0-", rng.Int(0, 63), "-", rng.Int(1, 254), ".ec2.internal");
        (void)nodes;
        pod.instance_id = Uuid(rng);
        t->pods_of.back().push_back(static_cast<int>(t->pods.size()));
        t->pods.push_back(std::move(pod));
      }
    }
    return t;
  }();
  return *topology;
}

const std::vector<std::string>& UserAgents() {
  static const std::vector<std::string> v = {
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36",
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/119.0.0.0 Safari/537.36",
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.0.0 Safari/537.36",
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
      "Version/17.2 Safari/605.1.15",
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0",
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
      "Safari/537.36",
      "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
      "Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
      "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
      "Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
      "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
      "Version/17.2 Mobile/15E148 Safari/604.1",
      "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
      "Mobile Safari/537.36",
      "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/120.0.6099.144 Mobile Safari/537.36",
      "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
      "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
      "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
      "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
      "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
      "curl/7.88.1",
      "curl/8.4.0",
      "python-requests/2.31.0",
      "Go-http-client/1.1",
      "Go-http-client/2.0",
      "okhttp/4.12.0",
      "Apache-HttpClient/4.5.14 (Java/17.0.9)",
      "axios/1.6.2",
      "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
      "PostmanRuntime/7.36.0",
      "ShopApp/5.12.1 (iPhone; iOS 17.2; Scale/3.00)",
      "ShopApp/5.12.0 (Android 14; Pixel 7)",
      "kube-probe/1.28",
      "Prometheus/2.48.1",
  };
  return v;
}

std::vector<std::string> SqlTemplates(Db db, const char* table) {
  const std::string t = table;
  std::vector<std::string> v = {
      absl::StrCat("SELECT * FROM ", t, " WHERE id = {n}"),
      absl::StrCat("SELECT id, created_at, updated_at, status FROM ", t,
                   " WHERE user_id = {n} ORDER BY created_at DESC LIMIT {s}"),
      absl::StrCat("UPDATE ", t, " SET status = 'processed', updated_at = NOW() WHERE id = {n}"),
      absl::StrCat("INSERT INTO ", t,
                   " (id, user_id, amount_cents, currency, created_at) VALUES ('{uuid}', {n}, {n}, "
                   "'{cur}', NOW())"),
      absl::StrCat("SELECT count(*) FROM ", t,
                   " WHERE created_at > NOW() - INTERVAL '{s} minutes'"),
      absl::StrCat("DELETE FROM ", t, " WHERE id = {n}"),
  };
  if (db == Db::kMysql) {
    v.push_back(absl::StrCat(
        "UPDATE ", t, " SET quantity = quantity - {s} WHERE sku = '{sku}' AND quantity >= {s}"));
    v.push_back(absl::StrCat("SELECT sku, quantity, warehouse_id FROM ", t,
                             " WHERE sku IN ('{sku}', '{sku}', '{sku}')"));
  } else {
    v.push_back(absl::StrCat(
        "SELECT p.id, p.name, p.price_cents FROM ", t,
        " p JOIN categories c ON c.id = p.category_id WHERE c.slug = '{q}' LIMIT {s} OFFSET {s}"));
    v.push_back(absl::StrCat("SELECT * FROM ", t, " WHERE id = ANY(ARRAY[{n}, {n}, {n}, {n}])"));
  }
  return v;
}

const std::vector<std::string>& RedisTemplates() {
  static const std::vector<std::string> v = {"GET cart:{n}",
                                             "HGETALL session:{hex}",
                                             "SETEX price:{sku} 300 ?",
                                             "MGET rate:USD rate:{cur}",
                                             "EXPIRE session:{hex} 1800",
                                             "INCR ratelimit:{n}",
                                             "HSET cart:{n} {sku} {s}",
                                             "DEL cart:{n}",
                                             "ZRANGE recs:{n} 0 {s}",
                                             "EXISTS token:{hex}"};
  return v;
}

struct ExceptionKind {
  const char* type;
  const char* message;
};

ExceptionKind ExceptionFor(const Service& service, bool db, Rng& rng) {
  const std::string_view lang = service.language;
  if (db) {
    if (lang == "java")
      return {"org.postgresql.util.PSQLException",
              "ERROR: canceling statement due to statement timeout"};
    if (lang == "python")
      return {"psycopg2.errors.QueryCanceled", "canceling statement due to statement timeout"};
    if (lang == "nodejs") return {"Error", "Connection terminated unexpectedly"};
    return {"pq.Error", "deadlock detected"};
  }
  static const ExceptionKind kJava[] = {
      {"java.net.SocketTimeoutException", "Read timed out"},
      {"java.lang.NullPointerException",
       "Cannot invoke \"String.length()\" because \"sku\" is null"},
      {"org.springframework.web.client.HttpServerErrorException$ServiceUnavailable",
       "503 Service Unavailable: [no body]"}};
  static const ExceptionKind kPython[] = {
      {"requests.exceptions.ConnectionError",
       "HTTPConnectionPool(host='user', port=8080): Max retries exceeded"},
      {"KeyError", "'product_id'"}};
  static const ExceptionKind kNode[] = {
      {"Error", "connect ECONNREFUSED 10.0.12.4:8080"},
      {"TypeError", "Cannot read properties of undefined (reading 'items')"}};
  static const ExceptionKind kOther[] = {
      {"context deadline exceeded",
       "rpc error: code = DeadlineExceeded desc = context deadline exceeded"},
      {"*errors.errorString", "upstream connect error or disconnect/reset before headers"}};
  if (lang == "java") return kJava[rng.Below(3)];
  if (lang == "python") return kPython[rng.Below(2)];
  if (lang == "nodejs") return kNode[rng.Below(2)];
  return kOther[rng.Below(2)];
}

std::string StackTrace(const Service& service, const ExceptionKind& kind, Rng& rng) {
  const std::string_view lang = service.language;
  std::string out;
  const int frames = rng.Int(6, 16);
  if (lang == "java") {
    absl::StrAppend(&out, kind.type, ": ", kind.message, "\n");
    static const char* kFrames[] = {
        "org.springframework.web.servlet.FrameworkServlet.processRequest(FrameworkServlet.java:"
        "1011)",
        "org.springframework.web.servlet.DispatcherServlet.doDispatch(DispatcherServlet.java:1089)",
        "jakarta.servlet.http.HttpServlet.service(HttpServlet.java:590)",
        "org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:174)",
        "org.apache.tomcat.util.net.NioEndpoint$SocketProcessor.doRun(NioEndpoint.java:1744)",
        "java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1136)",
        "java.base/java.lang.Thread.run(Thread.java:840)",
        "com.zaxxer.hikari.pool.ProxyPreparedStatement.executeQuery(ProxyPreparedStatement.java:"
        "52)"};
    for (int i = 0; i < frames; ++i) {
      if (i < 3) {
        absl::StrAppend(&out, "\tat com.example.shop.", service.name[0] == 'f' ? "web" : "svc", ".",
                        service.functions[i % service.functions.size()], "(", rng.Int(10, 900),
                        ")\n");
      } else {
        absl::StrAppend(&out, "\tat ", kFrames[rng.Below(8)], "\n");
      }
    }
  } else if (lang == "python") {
    out = "Traceback (most recent call last):\n";
    for (int i = 0; i < frames; ++i) {
      absl::StrAppend(&out, "  File \"/usr/local/lib/python3.11/site-packages/",
                      i % 3 == 0   ? "flask/app.py"
                      : i % 3 == 1 ? "requests/adapters.py"
                                   : "app/service.py",
                      "\", line ", rng.Int(20, 2200), ", in ",
                      service.functions[rng.Below(service.functions.size())], "\n    return self.",
                      service.functions[0], "(request)\n");
    }
    absl::StrAppend(&out, kind.type, ": ", kind.message);
  } else if (lang == "nodejs") {
    absl::StrAppend(&out, kind.type, ": ", kind.message, "\n");
    for (int i = 0; i < frames; ++i) {
      absl::StrAppend(&out, "    at ", service.functions[rng.Below(service.functions.size())],
                      " (/app/",
                      i % 2 ? "node_modules/express/lib/router/layer.js" : "src/server.js", ":",
                      rng.Int(5, 400), ":", rng.Int(3, 40), ")\n");
    }
  } else {
    absl::StrAppend(&out, kind.message, "\n\ngoroutine ", rng.Int(1, 90000), " [running]:\n");
    for (int i = 0; i < frames; ++i) {
      absl::StrAppend(&out, "main.", service.functions[rng.Below(service.functions.size())],
                      "(0xc000", Hex(rng, 6), ")\n\t/src/", service.name,
                      "/main.go:", rng.Int(10, 700), " +0x", Hex(rng, 3), "\n");
    }
  }
  return out;
}

// ---- one trace ---------------------------------------------------------------------------

enum class Op { kHttpServer, kHttpClient, kDb, kProducer, kConsumer, kInternal };

struct Node {
  int parent = -1;
  int service = 0;
  int pod = 0;
  Op op = Op::kInternal;
  int depth = 0;
  int route = 0;     // kHttpServer: the route; kHttpClient: the callee's route
  int callee = -1;   // kHttpClient: callee service
  int topic = -1;    // kProducer/kConsumer
  int status = 200;  // HTTP status code
  bool error = false;
  std::string path;  // kHttpServer/kHttpClient
  uint64_t span_id = 0;
  uint64_t start = 0, end = 0;
};

void SetStr(pb::common::KeyValue* kv, const char* key, std::string value) {
  kv->set_key(key);
  kv->mutable_value()->set_string_value(std::move(value));
}
void SetInt(pb::common::KeyValue* kv, const char* key, int64_t value) {
  kv->set_key(key);
  kv->mutable_value()->set_int_value(value);
}

int StatusCode(Rng& rng) {
  static const int kCodes[] = {200, 201, 204, 302, 400, 401, 404, 429, 500, 502, 503};
  static const int kWeights[] = {8700, 300, 200, 100, 150, 100, 250, 30, 90, 30, 50};
  return kCodes[rng.Weighted(kWeights)];
}

}  // namespace

struct TracesCorpus::Impl {
  TracesCorpusOptions options;
  Rng rng;
  std::vector<Node> nodes;
  // Per batch: the ScopeSpans of each pod present (index into the request), -1 if none yet.
  std::vector<int> scope_of_pod;

  explicit Impl(const TracesCorpusOptions& o)
      : options(o), rng(o.seed * 0x2545f4914f6cdd1dULL + 1) {}

  uint64_t SpanId() {
    uint64_t id;
    do id = rng.Next();
    while (id == 0);
    return id;
  }

  int PodOf(int service) { return rng.Pick(GetTopology().pods_of[service]); }

  int AddHttpServer(int parent, int service, int depth) {
    const auto& svc = GetTopology().services[service];
    Node n;
    n.parent = parent;
    n.service = service;
    n.pod = PodOf(service);
    n.op = Op::kHttpServer;
    n.depth = depth;
    n.route = static_cast<int>(rng.Below(svc.routes.size()));
    n.status = StatusCode(rng);
    n.error = n.status >= 500;
    n.path = Expand(svc.routes[n.route].route, rng);
    if (std::string_view(svc.routes[n.route].route).find("search") != std::string_view::npos ||
        (svc.routes[n.route].method[0] == 'G' && rng.Chance(0.15))) {
      absl::StrAppend(&n.path, "?q=", Expand("{q}", rng), "&page=", rng.Int(1, 9));
    }
    nodes.push_back(std::move(n));
    return static_cast<int>(nodes.size()) - 1;
  }

  // Builds one trace's tree (no times yet).
  void BuildTree(int target) {
    const Topology& topo = GetTopology();
    nodes.clear();
    static const int kRoots[] = {0, 1, 12, 19, 13};
    static const int kRootWeights[] = {55, 35, 4, 4, 2};
    AddHttpServer(-1, kRoots[rng.Weighted(kRootWeights)], 0);
    std::vector<int> expandable = {0};
    while (static_cast<int>(nodes.size()) < target && !expandable.empty()) {
      const size_t pick = rng.Chance(0.5) ? expandable.size() - 1 : rng.Below(expandable.size());
      const int p = expandable[pick];
      const Node parent = nodes[p];
      const Service& svc = topo.services[parent.service];
      const int left = target - static_cast<int>(nodes.size());
      const bool deep = parent.depth >= 7;
      // http call, db, produce, internal
      int weights[] = {svc.callees.empty() || left < 2 || deep ? 0 : 40,
                       svc.db == Db::kNone ? 0 : 32, svc.produces.empty() || left < 2 ? 0 : 30, 12};
      if (deep) weights[3] = 0;
      if (weights[0] + weights[1] + weights[2] + weights[3] == 0) {
        expandable.erase(expandable.begin() + pick);
        continue;
      }
      const int op = rng.Weighted(weights);
      Node n;
      n.parent = p;
      n.service = parent.service;
      n.pod = parent.pod;
      n.depth = parent.depth + 1;
      if (op == 0) {
        n.op = Op::kHttpClient;
        n.callee = rng.Pick(svc.callees);
        nodes.push_back(n);
        const int client = static_cast<int>(nodes.size()) - 1;
        const int server = AddHttpServer(client, n.callee, n.depth + 1);
        nodes[client].route = nodes[server].route;
        nodes[client].status = nodes[server].status;
        nodes[client].error = nodes[server].error;
        nodes[client].path = nodes[server].path;
        expandable.push_back(server);
      } else if (op == 1) {
        n.op = Op::kDb;
        n.error = rng.Chance(0.008);
        nodes.push_back(n);
      } else if (op == 2) {
        n.op = Op::kProducer;
        const char* topic = rng.Pick(svc.produces);
        for (size_t i = 0; i < topo.topics.size(); ++i) {
          if (topo.topics[i] == topic) n.topic = static_cast<int>(i);
        }
        nodes.push_back(n);
        const int producer = static_cast<int>(nodes.size()) - 1;
        Node c;
        c.parent = producer;
        c.op = Op::kConsumer;
        c.topic = n.topic;
        c.service = rng.Pick(topo.consumers_of_topic[n.topic]);
        c.pod = PodOf(c.service);
        c.depth = n.depth + 1;
        nodes.push_back(c);
        expandable.push_back(static_cast<int>(nodes.size()) - 1);
      } else {
        n.op = Op::kInternal;
        n.error = rng.Chance(0.003);
        nodes.push_back(n);
        expandable.push_back(static_cast<int>(nodes.size()) - 1);
      }
    }
  }

  // Times: the root's duration is log-normal; each child starts inside its parent and lasts a
  // log-normal time clamped to the parent's end (a consumer starts when its producer ends).
  void AssignTimes(uint64_t trace_start) {
    for (size_t i = 0; i < nodes.size(); ++i) {
      Node& n = nodes[i];
      n.span_id = SpanId();
      if (n.parent < 0) {
        const double d = std::max(2e5, rng.LogNormal(35e6, 1.0));  // median 35 ms
        n.start = trace_start;
        n.end = trace_start + static_cast<uint64_t>(d);
        continue;
      }
      const Node& p = nodes[n.parent];
      const double pdur = static_cast<double>(p.end - p.start);
      if (n.op == Op::kConsumer) {
        n.start = p.end + static_cast<uint64_t>(rng.LogNormal(2e6, 0.8));
        n.end = n.start + static_cast<uint64_t>(std::max(1e5, rng.LogNormal(8e6, 0.9)));
        continue;
      }
      if (p.op == Op::kHttpClient) {  // the callee's server span: network time on both sides
        const double net = pdur * (0.02 + 0.1 * rng.Unit());
        n.start = p.start + static_cast<uint64_t>(net);
        n.end = p.end - static_cast<uint64_t>(net * (0.5 + rng.Unit()));
        if (n.end <= n.start) n.end = n.start + 1;
        continue;
      }
      double median = 4e6;
      if (n.op == Op::kDb) median = 1.5e6;
      if (n.op == Op::kProducer) median = 0.8e6;
      n.start = p.start + static_cast<uint64_t>(pdur * 0.45 * rng.Unit());
      const double room = static_cast<double>(p.end - n.start);
      double d = rng.LogNormal(median, 0.9);
      if (d > room) d = room * (0.4 + 0.55 * rng.Unit());
      n.end = n.start + std::max<uint64_t>(1000, static_cast<uint64_t>(d));
      if (n.end > p.end) n.end = p.end;
      if (n.end <= n.start) n.end = n.start + 1;
    }
  }

  pb::trace::ScopeSpans* ScopeFor(int pod, pb::trace_service::ExportTraceServiceRequest* request) {
    if (scope_of_pod[pod] >= 0) {
      return request->mutable_resource_spans(scope_of_pod[pod])->mutable_scope_spans(0);
    }
    const Topology& topo = GetTopology();
    const Pod& p = topo.pods[pod];
    const Service& svc = topo.services[p.service];
    scope_of_pod[pod] = request->resource_spans_size();
    auto* rs = request->add_resource_spans();
    auto* r = rs->mutable_resource();
    SetStr(r->add_attributes(), "service.name", svc.name);
    SetStr(r->add_attributes(), "service.namespace", "shop");
    SetStr(r->add_attributes(), "service.version", p.version);
    SetStr(r->add_attributes(), "service.instance.id", p.instance_id);
    SetStr(r->add_attributes(), "deployment.environment", "production");
    SetStr(r->add_attributes(), "host.name", p.node);
    SetStr(r->add_attributes(), "k8s.namespace.name", "shop");
    SetStr(r->add_attributes(), "k8s.pod.name", p.name);
    SetStr(r->add_attributes(), "k8s.node.name", p.node);
    SetStr(r->add_attributes(), "k8s.deployment.name", svc.name);
    SetStr(r->add_attributes(), "telemetry.sdk.name", "opentelemetry");
    SetStr(r->add_attributes(), "telemetry.sdk.language", svc.language);
    SetStr(r->add_attributes(), "telemetry.sdk.version", "1.21.0");
    rs->set_schema_url("https://opentelemetry.io/schemas/1.21.0");
    auto* ss = rs->add_scope_spans();
    ss->mutable_scope()->set_name(svc.scope);
    ss->mutable_scope()->set_version("0.46.0");
    return ss;
  }

  void AddException(Span* span, const Service& svc, bool db) {
    const ExceptionKind kind = ExceptionFor(svc, db, rng);
    auto* ev = span->add_events();
    ev->set_name("exception");
    ev->set_time_unix_nano(span->end_time_unix_nano() - 1000 * rng.Int(1, 500));
    SetStr(ev->add_attributes(), "exception.type", kind.type);
    SetStr(ev->add_attributes(), "exception.message", kind.message);
    SetStr(ev->add_attributes(), "exception.stacktrace", StackTrace(svc, kind, rng));
    span->mutable_status()->set_code(pb::trace::Status::STATUS_CODE_ERROR);
    span->mutable_status()->set_message(kind.message);
  }

  void EmitSpans(const std::string& trace_id, uint64_t trace_index,
                 pb::trace_service::ExportTraceServiceRequest* request) {
    const Topology& topo = GetTopology();
    for (const Node& n : nodes) {
      const Service& svc = topo.services[n.service];
      Span* span = ScopeFor(n.pod, request)->add_spans();
      span->set_trace_id(trace_id);
      span->set_span_id(Bytes(n.span_id));
      if (n.parent >= 0) span->set_parent_span_id(Bytes(nodes[n.parent].span_id));
      span->set_start_time_unix_nano(n.start);
      span->set_end_time_unix_nano(n.end);
      const bool old = svc.old_semconv;
      auto attr = [&] { return span->add_attributes(); };
      switch (n.op) {
        case Op::kHttpServer: {
          const Route& route = svc.routes[n.route];
          span->set_name(absl::StrCat(route.method, " ", route.route));
          span->set_kind(Span::SPAN_KIND_SERVER);
          SetStr(attr(), old ? "http.method" : "http.request.method", route.method);
          SetStr(attr(), "http.route", route.route);
          SetStr(attr(), old ? "http.target" : "url.path", n.path);
          SetInt(attr(), old ? "http.status_code" : "http.response.status_code", n.status);
          SetStr(attr(), old ? "http.scheme" : "url.scheme", n.parent < 0 ? "https" : "http");
          SetStr(attr(), old ? "net.host.name" : "server.address",
                 n.parent < 0 ? "shop.example.com" : svc.name);
          if (n.parent < 0) {
            SetStr(attr(), "user_agent.original", rng.Pick(UserAgents()));
            SetStr(attr(), old ? "net.sock.peer.addr" : "client.address",
                   absl::StrCat(rng.Int(1, 223), ".", rng.Int(0, 255), ".", rng.Int(0, 255), ".",
                                rng.Int(1, 254)));
          } else {
            SetStr(attr(), "user_agent.original",
                   std::string_view(
                       topo.services[nodes[nodes[n.parent].parent].service].language) == "go"
                       ? "Go-http-client/1.1"
                       : "OpenTelemetry-Instrumented-Client/1.0");
            SetStr(attr(), old ? "net.sock.peer.addr" : "client.address",
                   absl::StrCat("10.0.", rng.Int(0, 63), ".", rng.Int(1, 254)));
          }
          SetStr(attr(), old ? "http.flavor" : "network.protocol.version", "1.1");
          SetInt(attr(), old ? "http.response_content_length" : "http.response.body.size",
                 static_cast<int64_t>(rng.LogNormal(2500, 1.2)));
          if (n.error) {
            AddException(span, svc, false);
          } else if (n.parent < 0 && rng.Chance(0.04)) {
            auto* link = span->add_links();  // a retried request: the earlier trace's root
            link->set_trace_id(TraceId(
                options.seed,
                trace_index > 0 ? trace_index - 1 - rng.Below(std::min<uint64_t>(trace_index, 1000))
                                : 0));
            link->set_span_id(Bytes(rng.Next() | 1));
            SetStr(link->add_attributes(), "link.reason", "retry");
          }
          break;
        }
        case Op::kHttpClient: {
          const auto& callee = topo.services[n.callee];
          const Route& route = callee.routes[n.route];
          span->set_name(route.method);
          span->set_kind(Span::SPAN_KIND_CLIENT);
          SetStr(attr(), old ? "http.method" : "http.request.method", route.method);
          SetStr(attr(), old ? "http.url" : "url.full",
                 absl::StrCat("http://", callee.name, ":8080", n.path));
          SetInt(attr(), old ? "http.status_code" : "http.response.status_code", n.status);
          SetStr(attr(), old ? "net.peer.name" : "server.address", callee.name);
          SetInt(attr(), old ? "net.peer.port" : "server.port", 8080);
          SetStr(attr(), old ? "http.flavor" : "network.protocol.version", "1.1");
          SetStr(attr(), "peer.service", callee.name);
          SetInt(attr(), old ? "http.response_content_length" : "http.response.body.size",
                 static_cast<int64_t>(rng.LogNormal(2500, 1.2)));
          if (n.error) span->mutable_status()->set_code(pb::trace::Status::STATUS_CODE_ERROR);
          break;
        }
        case Op::kDb: {
          if (svc.db == Db::kRedis) {
            const std::string stmt = Expand(rng.Pick(RedisTemplates()), rng);
            span->set_name(stmt.substr(0, stmt.find(' ')));
            span->set_kind(Span::SPAN_KIND_CLIENT);
            SetStr(attr(), "db.system", "redis");
            SetStr(attr(), "db.statement", stmt);
            SetInt(attr(), "db.redis.database_index", svc.db_name[0] - '0');
            SetStr(attr(), old ? "net.peer.name" : "server.address",
                   "redis-master.shop.svc.cluster.local");
            SetInt(attr(), old ? "net.peer.port" : "server.port", 6379);
            SetStr(attr(), "db.connection_string",
                   "redis://redis-master.shop.svc.cluster.local:6379");
            SetStr(attr(), "db.operation", span->name());
            SetStr(attr(), "db.user", "default");
          } else if (svc.db == Db::kElastic) {
            span->set_name("search");
            span->set_kind(Span::SPAN_KIND_CLIENT);
            SetStr(attr(), "db.system", "elasticsearch");
            SetStr(attr(), "db.operation", "search");
            SetStr(attr(), "db.statement",
                   Expand("{\"query\":{\"multi_match\":{\"query\":\"{q}\",\"fields\":[\"name^3\","
                          "\"description\"]}},\"size\":{s}}",
                          rng));
            SetStr(attr(), "http.request.method", "POST");
            SetStr(attr(), "url.full", "http://elasticsearch:9200/products/_search");
            SetStr(attr(), "server.address", "elasticsearch");
            SetInt(attr(), "server.port", 9200);
            SetStr(attr(), "db.elasticsearch.path_parts.index", "products");
          } else {
            const char* table = rng.Pick(svc.tables);
            const auto templates = SqlTemplates(svc.db, table);
            const std::string stmt = Expand(rng.Pick(templates), rng);
            const std::string op = stmt.substr(0, stmt.find(' '));
            span->set_name(absl::StrCat(op, " ", svc.db_name, ".", table));
            span->set_kind(Span::SPAN_KIND_CLIENT);
            const bool pg = svc.db == Db::kPostgres;
            SetStr(attr(), "db.system", pg ? "postgresql" : "mysql");
            SetStr(attr(), "db.name", svc.db_name);
            SetStr(attr(), "db.statement", stmt);
            SetStr(attr(), "db.operation", op);
            SetStr(attr(), "db.sql.table", table);
            SetStr(attr(), "db.user", absl::StrCat(svc.name, "_app"));
            SetStr(
                attr(), old ? "net.peer.name" : "server.address",
                absl::StrCat(pg ? "postgres-" : "mysql-", svc.db_name, ".shop.svc.cluster.local"));
            SetInt(attr(), old ? "net.peer.port" : "server.port", pg ? 5432 : 3306);
          }
          if (n.error) AddException(span, svc, true);
          break;
        }
        case Op::kProducer:
        case Op::kConsumer: {
          const bool producer = n.op == Op::kProducer;
          const std::string& topic = topo.topics[n.topic];
          span->set_name(absl::StrCat(topic, producer ? " publish" : " process"));
          span->set_kind(producer ? Span::SPAN_KIND_PRODUCER : Span::SPAN_KIND_CONSUMER);
          SetStr(attr(), "messaging.system", "kafka");
          SetStr(attr(), "messaging.destination.name", topic);
          SetStr(attr(), "messaging.operation", producer ? "publish" : "process");
          SetStr(attr(), "messaging.kafka.message.key", Expand("{n}", rng));
          SetInt(attr(), "messaging.kafka.destination.partition", rng.Int(0, 11));
          SetInt(attr(), "messaging.message.body.size",
                 static_cast<int64_t>(rng.LogNormal(800, 0.7)));
          SetStr(attr(), "messaging.client_id", absl::StrCat(svc.name, "-", rng.Int(1, 4)));
          SetStr(attr(), old ? "net.peer.name" : "server.address",
                 "kafka-0.kafka-headless.shop.svc.cluster.local");
          if (!producer) {
            SetStr(attr(), "messaging.kafka.consumer.group", svc.name);
            SetInt(attr(), "messaging.kafka.message.offset",
                   static_cast<int64_t>(rng.Below(50'000'000)));
            auto* link = span->add_links();
            link->set_trace_id(trace_id);
            link->set_span_id(Bytes(nodes[n.parent].span_id));
          }
          break;
        }
        case Op::kInternal: {
          const char* fn = rng.Pick(svc.functions);
          span->set_name(fn);
          span->set_kind(Span::SPAN_KIND_INTERNAL);
          SetStr(attr(), "code.function", fn);
          SetStr(attr(), "code.namespace", absl::StrCat("shop.", svc.name));
          SetInt(attr(), "thread.id", rng.Int(1, 256));
          SetStr(attr(), "app.user.id", Expand("{n}", rng));
          SetInt(attr(), "app.items.count", rng.Int(0, 12));
          SetStr(attr(), "thread.name", absl::StrCat("worker-", rng.Int(1, 32)));
          if (rng.Chance(0.5)) SetStr(attr(), "app.order.id", Uuid(rng));
          if (rng.Chance(0.3)) SetStr(attr(), "app.currency", Expand("{cur}", rng));
          if (n.error) {
            AddException(span, svc, false);
          } else if (rng.Chance(0.1)) {
            auto* ev = span->add_events();
            ev->set_name(rng.Chance(0.5) ? "cache miss" : "retrying");
            ev->set_time_unix_nano(n.start + (n.end - n.start) / 2);
            SetInt(ev->add_attributes(), "attempt", rng.Int(1, 3));
          }
          break;
        }
      }
    }
  }
};

TracesCorpus::TracesCorpus(const TracesCorpusOptions& options) : impl_(new Impl(options)) {
  if (impl_->options.start_time_unix_nano == 0) {
    impl_->options.start_time_unix_nano = 1767225600ULL * 1000000000ULL;  // 2026-01-01
  }
  impl_->scope_of_pod.assign(GetTopology().pods.size(), -1);
}

TracesCorpus::~TracesCorpus() { delete impl_; }

void TracesCorpus::NextBatch(int min_spans,
                             otlp::pb::trace_service::ExportTraceServiceRequest* request) {
  request->Clear();
  std::fill(impl_->scope_of_pod.begin(), impl_->scope_of_pod.end(), -1);
  Rng& rng = impl_->rng;
  int batch_spans = 0;
  while (batch_spans < min_spans) {
    const int target = std::clamp(static_cast<int>(std::lround(rng.LogNormal(7.2, 0.85))), 1, 40);
    impl_->BuildTree(target);
    const uint64_t start = impl_->options.start_time_unix_nano +
                           static_cast<uint64_t>(traces_) * impl_->options.trace_interval_nanos +
                           rng.Below(impl_->options.trace_interval_nanos);
    impl_->AssignTimes(start);
    impl_->EmitSpans(TraceId(impl_->options.seed, static_cast<uint64_t>(traces_)),
                     static_cast<uint64_t>(traces_), request);
    batch_spans += static_cast<int>(impl_->nodes.size());
    spans_ += static_cast<int64_t>(impl_->nodes.size());
    ++traces_;
  }
}

std::string TracesCorpus::TraceId(uint64_t seed, uint64_t index) {
  uint64_t state = seed * 0x9e3779b97f4a7c15ULL ^ 0x7472616365ULL;
  state += index * 0xd1b54a32d192ed03ULL;
  const uint64_t a = SplitMix(state), b = SplitMix(state);
  return Bytes(a) + Bytes(b | 1);
}

int TracesCorpus::ServiceCount() { return static_cast<int>(GetTopology().services.size()); }
std::string TracesCorpus::ServiceName(int i) { return GetTopology().services[i].name; }

uint64_t Fnv1a64(const std::string& bytes, uint64_t hash) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

}  // namespace sprout::bench
