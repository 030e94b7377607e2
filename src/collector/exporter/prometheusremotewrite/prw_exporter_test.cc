#include "collector/exporter/prometheusremotewrite/prw_exporter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "collector/featuregate.h"
#include "config/decoder.h"
#include "net/compression.h"
#include "net/http_server.h"
#include "prometheus/remote.pb.h"
#include "yaml-cpp/yaml.h"

namespace sprout::collector::prwexporter {
namespace {

namespace pb = otlp::pb;

// A remote-write receiver on our own HTTP server that decodes what it gets and answers with
// the status the test chooses.
class Receiver {
 public:
  Receiver() {
    net::HttpServerOptions options;
    options.endpoint = "127.0.0.1:0";
    options.threads = 2;
    server_ = std::move(*net::HttpServer::Start(
        options, [this](const net::HttpRequest& request, net::HttpResponse& response) {
          Handle(request, response);
        }));
  }
  ~Receiver() { server_->Shutdown(absl::Seconds(1)); }

  std::string url() const {
    return absl::StrCat("http://127.0.0.1:", server_->port(), "/api/v1/write");
  }

  // The next `n` requests are answered with `status`.
  void FailNext(int n, int status) { FailWith(std::vector<int>(n, status)); }
  // The next requests are answered with these statuses, in order.
  void FailWith(std::vector<int> statuses) {
    std::lock_guard<std::mutex> lock(mu_);
    for (int s : statuses) fail_.push_back(s);
  }
  void FailForever(int status) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_forever_ = status;
  }

  std::vector<prometheus::WriteRequest> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  int attempts() {
    std::lock_guard<std::mutex> lock(mu_);
    return attempts_;
  }
  std::vector<std::pair<std::string, std::string>> last_headers() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_headers_;
  }

 private:
  void Handle(const net::HttpRequest& request, net::HttpResponse& response) {
    std::lock_guard<std::mutex> lock(mu_);
    ++attempts_;
    last_headers_ = request.headers;
    if (fail_forever_ != 0 || !fail_.empty()) {
      response.status = fail_forever_ != 0 ? fail_forever_ : fail_.front();
      if (fail_forever_ == 0) fail_.pop_front();
      response.body = "backend says no";
      return;
    }
    auto raw = net::Decompress(net::Codec::kSnappy, request.body, 64 << 20);
    prometheus::WriteRequest write;
    if (!raw.ok() || !write.ParseFromString(*raw)) {
      response.status = 400;
      return;
    }
    received_.push_back(std::move(write));
    response.status = 204;
  }

  std::unique_ptr<net::HttpServer> server_;
  std::mutex mu_;
  std::deque<int> fail_;
  int fail_forever_ = 0;
  int attempts_ = 0;
  std::vector<prometheus::WriteRequest> received_;
  std::vector<std::pair<std::string, std::string>> last_headers_;
};

class NoHost : public Host {
 public:
  Component* GetExtension(const ComponentID&) const override { return nullptr; }
};

ConsumerComponentPtr<Signal::kMetrics> Make(const std::string& yaml, MetricsRegistry* metrics) {
  auto factory = NewFactory();
  auto config = factory->CreateDefaultConfig();
  config::Decoder decoder(YAML::Load(yaml), "exporters::prometheusremotewrite");
  config->Decode(decoder);
  EXPECT_TRUE(decoder.Finish().ok()) << decoder.Finish();
  EXPECT_TRUE(config->Validate().ok()) << config->Validate();
  CreateSettings settings{*ComponentID::Parse("prometheusremotewrite"), {}};
  settings.telemetry.metrics = metrics;
  settings.telemetry.build_version = "test";
  auto exporter = factory->CreateMetrics(settings, *config);
  EXPECT_TRUE(exporter.ok());
  NoHost host;
  EXPECT_TRUE((*exporter)->Start(host).ok());
  return *exporter;
}

// `series` gauges named g0..g{n-1}, one point each at `ms`.
otlp::MetricsBatch Gauges(int series, int64_t ms, const std::string& prefix = "g") {
  otlp::MetricsBatch batch;
  auto* rm = batch.mutable_request()->add_resource_metrics();
  auto* kv = rm->mutable_resource()->add_attributes();
  kv->set_key("service.name");
  kv->mutable_value()->set_string_value("svc");
  auto* sm = rm->add_scope_metrics();
  for (int i = 0; i < series; ++i) {
    auto* m = sm->add_metrics();
    m->set_name(absl::StrCat(prefix, i));
    auto* dp = m->mutable_gauge()->add_data_points();
    dp->set_time_unix_nano(static_cast<uint64_t>(ms) * 1000000);
    dp->set_as_double(i);
  }
  return batch;
}

int64_t CountSeries(const std::vector<prometheus::WriteRequest>& requests) {
  int64_t n = 0;
  for (const auto& r : requests) n += r.timeseries_size();
  return n;
}

TEST(PrwExporterTest, SendsSnappyWriteRequestsWithTheProtocolHeaders) {
  Receiver receiver;
  auto exporter = Make("endpoint: " + receiver.url() +
                           "\nheaders: {X-Scope-OrgID: tenant-1, Content-Type: text/plain}\n"
                           "target_info: {enabled: false}\n",
                       nullptr);
  ASSERT_TRUE(exporter->Consume(Context{}, Gauges(3, 1700000000000)).ok());
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
  auto requests = receiver.received();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(CountSeries(requests), 3);
  const auto last_headers = receiver.last_headers();
  std::map<std::string, std::string> headers(last_headers.begin(), last_headers.end());
  EXPECT_EQ(headers["content-encoding"], "snappy");
  EXPECT_EQ(headers["content-type"], "application/x-protobuf");  // not overridable
  EXPECT_EQ(headers["x-prometheus-remote-write-version"], "0.1.0");
  EXPECT_EQ(headers["user-agent"], "sprout/test");
  EXPECT_EQ(headers["x-scope-orgid"], "tenant-1");
}

TEST(PrwExporterTest, SplitsAtMaxBatchSizeBytesWithEverySeriesInOneRequest) {
  Receiver receiver;
  auto exporter = Make("endpoint: " + receiver.url() +
                           "\nmax_batch_size_bytes: 400\ntarget_info: {enabled: false}\n",
                       nullptr);
  ASSERT_TRUE(exporter->Consume(Context{}, Gauges(50, 1700000000000)).ok());
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
  auto requests = receiver.received();
  EXPECT_GT(requests.size(), 5u);
  EXPECT_EQ(CountSeries(requests), 50);
  std::set<std::string> names;
  for (const auto& r : requests) {
    EXPECT_LE(r.ByteSizeLong(), 400u + 100u) << "one series may tip a request over the limit";
    for (const auto& ts : r.timeseries()) {
      for (const auto& l : ts.labels()) {
        if (l.name() == "__name__") {
          EXPECT_TRUE(names.insert(l.value()).second) << l.value();
        }
      }
    }
  }
  EXPECT_EQ(names.size(), 50u);
}

TEST(PrwExporterTest, RetriesServerErrorsAndKeepsSeriesInTimeOrder) {
  Receiver receiver;
  MetricsRegistry metrics;
  auto exporter =
      Make("endpoint: " + receiver.url() +
               "\ntarget_info: {enabled: false}\nretry_on_failure: {initial_interval: 5ms}\n",
           &metrics);
  receiver.FailNext(3, 503);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(exporter->Consume(Context{}, Gauges(1, 1700000000000 + i * 1000)).ok());
  }
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
  auto requests = receiver.received();
  ASSERT_EQ(requests.size(), 5u);
  int64_t last = 0;
  for (const auto& r : requests) {
    const int64_t ts = r.timeseries(0).samples(0).timestamp();
    EXPECT_GT(ts, last);
    last = ts;
  }
  EXPECT_EQ(receiver.attempts(), 8);
  EXPECT_EQ(metrics
                .GetCounter("otelcol_exporter_sent_metric_points_total", "",
                            {{"exporter", "prometheusremotewrite"}})
                ->value(),
            5);
}

TEST(PrwExporterTest, ClientErrorsAreNotRetriedAnd429OnlyWithTheGate) {
  Receiver receiver;
  auto exporter =
      Make("endpoint: " + receiver.url() +
               "\ntarget_info: {enabled: false}\nretry_on_failure: {initial_interval: 5ms}\n",
           nullptr);
  receiver.FailWith({400, 429});
  ASSERT_TRUE(exporter->Consume(Context{}, Gauges(1, 1700000000000)).ok());
  ASSERT_TRUE(exporter->Consume(Context{}, Gauges(1, 1700000001000)).ok());
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
  EXPECT_EQ(receiver.attempts(), 2);
  EXPECT_TRUE(receiver.received().empty());

  ASSERT_TRUE(FeatureGates::Global().Apply(kRetryOn429Gate).ok());
  Receiver receiver2;
  auto exporter2 =
      Make("endpoint: " + receiver2.url() +
               "\ntarget_info: {enabled: false}\nretry_on_failure: {initial_interval: 5ms}\n",
           nullptr);
  receiver2.FailNext(2, 429);
  ASSERT_TRUE(exporter2->Consume(Context{}, Gauges(1, 1700000000000)).ok());
  ASSERT_TRUE(exporter2->Shutdown(absl::Now() + absl::Seconds(5)).ok());
  EXPECT_EQ(receiver2.attempts(), 3);
  EXPECT_EQ(receiver2.received().size(), 1u);
  ASSERT_TRUE(FeatureGates::Global().Apply(std::string("-") + kRetryOn429Gate).ok());
}

TEST(PrwExporterTest, DeltaSumsAreDroppedAndTheRestIsSent) {
  Receiver receiver;
  MetricsRegistry metrics;
  auto exporter =
      Make("endpoint: " + receiver.url() + "\ntarget_info: {enabled: false}\n", &metrics);
  otlp::MetricsBatch batch = Gauges(2, 1700000000000);
  auto* delta =
      batch.mutable_request()->mutable_resource_metrics(0)->mutable_scope_metrics(0)->add_metrics();
  delta->set_name("requests");
  delta->mutable_sum()->set_aggregation_temporality(pb::metrics::AGGREGATION_TEMPORALITY_DELTA);
  delta->mutable_sum()->set_is_monotonic(true);
  delta->mutable_sum()->add_data_points()->set_as_int(1);
  ASSERT_TRUE(exporter->Consume(Context{}, batch).ok());
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
  EXPECT_EQ(CountSeries(receiver.received()), 2);
  EXPECT_EQ(metrics
                .GetCounter("otelcol_exporter_prometheusremotewrite_failed_translations_total", "",
                            {{"exporter", "prometheusremotewrite"}})
                ->value(),
            1);
}

TEST(PrwExporterTest, WalKeepsDataAcrossARestartWhileTheBackendIsDown) {
  const std::string dir = absl::StrCat(::testing::TempDir(), "/prw-wal-", getpid(), "-",
                                       std::chrono::steady_clock::now().time_since_epoch().count());
  std::string url;
  {
    Receiver down;  // answers 503 to everything
    url = down.url();
    down.FailForever(503);
    auto exporter =
        Make("endpoint: " + url + "\ntarget_info: {enabled: false}\nwal: {directory: " + dir +
                 "}\nretry_on_failure: {initial_interval: 5ms}\n",
             nullptr);
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(exporter->Consume(Context{}, Gauges(2, 1700000000000 + i * 1000)).ok());
    }
    ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Milliseconds(300)).ok());
    EXPECT_TRUE(down.received().empty());
  }
  Receiver up;
  auto exporter = Make(
      "endpoint: " + up.url() + "\ntarget_info: {enabled: false}\nwal: {directory: " + dir + "}\n",
      nullptr);
  for (int i = 0; i < 200 && CountSeries(up.received()) < 6; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
  EXPECT_EQ(CountSeries(up.received()), 6);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sprout::collector::prwexporter
