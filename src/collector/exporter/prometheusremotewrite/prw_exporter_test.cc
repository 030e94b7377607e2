#include "collector/exporter/prometheusremotewrite/prw_exporter.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "collector/exporter/prometheusremotewrite/config.h"
#include "collector/featuregate.h"
#include "config/decoder.h"
#include "net/compression.h"
#include "otlp/consumer_error.h"
#include "prometheus/remote.pb.h"
#include "remotewrite/test_receiver.h"
#include "remotewrite/wal.h"
#include "remotewrite/wal_sender.h"
#include "storage/fault_injection_env.h"
#include "storage/testing.h"
#include "yaml-cpp/yaml.h"

namespace sprout::collector::prwexporter {
namespace {

namespace pb = otlp::pb;
using remotewrite::Wal;
using remotewrite::WalEntry;
using remotewrite::WalOptions;
using remotewrite::WalSender;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using Clock = std::chrono::steady_clock;

// The remote-write receiver: decodes, checks each series' time order, can fail and hold requests.
using Receiver = remotewrite::testing::TestReceiver;

class NoHost : public Host {
 public:
  Component* GetExtension(const ComponentID&) const override { return nullptr; }
};

ConsumerComponentPtr<Signal::kMetrics> Make(const std::string& yaml, MetricsRegistry* metrics,
                                            internal::TestHooks hooks = {}) {
  auto factory = internal::NewFactoryForTest(std::move(hooks));
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

std::string TempWalDir() {
  return storage::testing::FreshTempDir(absl::StrCat(
      "prw-exporter-wal-", ::testing::UnitTest::GetInstance()->current_test_info()->name()));
}

bool WaitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto until = Clock::now() + limit;
  while (!condition()) {
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Runs exporter->Shutdown(now + deadline) and returns how long it took. A Shutdown still running
// 5 s later is a failure; `unblock` then lets it go so the test ends.
std::chrono::milliseconds TimedShutdown(ConsumerComponentPtr<Signal::kMetrics> exporter,
                                        absl::Duration deadline,
                                        const std::function<void()>& unblock) {
  const auto start = Clock::now();
  auto done = std::async(std::launch::async, [exporter, deadline] {
    return exporter->Shutdown(absl::Now() + deadline);
  });
  if (done.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    ADD_FAILURE() << "Shutdown is still running 5 s after its deadline";
    unblock();
  }
  EXPECT_TRUE(done.get().ok());
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

double CounterValue(MetricsRegistry& metrics, const std::string& name) {
  return metrics.GetCounter(name, "", {{"exporter", "prometheusremotewrite"}})->value();
}

TEST(PrwExporterTest, SendsSnappyWriteRequestsWithTheProtocolHeaders) {
  Receiver receiver;
  auto exporter = Make("endpoint: " + receiver.url() +
                           "\nheaders: {X-Scope-OrgID: tenant-1, Content-Type: text/plain}\n"
                           "target_info: {enabled: false}\n",
                       nullptr);
  ASSERT_TRUE(exporter->Consume(Context{}, Gauges(3, 1700000000000)).ok());
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
  auto requests = receiver.writes();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(CountSeries(requests), 3);
  const auto last_headers = receiver.received().back().headers;
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
  auto requests = receiver.writes();
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
  auto requests = receiver.writes();
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
  EXPECT_TRUE(receiver.writes().empty());

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
  EXPECT_EQ(receiver2.writes().size(), 1u);
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
  EXPECT_EQ(CountSeries(receiver.writes()), 2);
  EXPECT_EQ(metrics
                .GetCounter("otelcol_exporter_prometheusremotewrite_failed_translations_total", "",
                            {{"exporter", "prometheusremotewrite"}})
                ->value(),
            1);
}

TEST(PrwExporterTest, WalKeepsDataAcrossARestartWhileTheBackendIsDown) {
  const std::string dir = storage::testing::FreshTempDir("prw-wal");
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
    EXPECT_TRUE(down.writes().empty());
  }
  Receiver up;
  auto exporter = Make(
      "endpoint: " + up.url() + "\ntarget_info: {enabled: false}\nwal: {directory: " + dir + "}\n",
      nullptr);
  ASSERT_TRUE(WaitFor([&] { return CountSeries(up.writes()) >= 6; }));
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
  EXPECT_EQ(CountSeries(up.writes()), 6);
  std::filesystem::remove_all(dir);
}

// ---------------------------------------------------------------------------------------------
// Shutdown, the WAL reader, errors, configuration and telemetry.

// A backend that accepts connections and never answers a byte.
class SilentBackend {
 public:
  SilentBackend() {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(listener_, 64), 0);
    socklen_t len = sizeof(addr);
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] {
      while (true) {
        int fd = accept(listener_, nullptr, nullptr);
        if (fd < 0) return;
        std::lock_guard<std::mutex> lock(mu_);
        accepted_.push_back(fd);
      }
    });
  }
  ~SilentBackend() { Close(); }

  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_, "/api/v1/write"); }
  int connections() {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(accepted_.size());
  }
  // Drops every connection (the calls on them fail) and stops listening.
  void Close() {
    if (listener_ < 0) return;
    shutdown(listener_, SHUT_RDWR);
    acceptor_.join();
    close(listener_);
    listener_ = -1;
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : accepted_) close(fd);
  }

 private:
  int listener_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> accepted_;
};

TEST(PrwExporterTest, ShutdownEndsByItsDeadlineWhenTheBackendNeverAnswers) {
  SilentBackend backend;
  // No per-request timeout; one sender, and a batch of several requests: while the first hangs,
  // the others wait for the sender.
  auto exporter = Make("endpoint: " + backend.url() +
                           "\ntimeout: 0s\nremote_write_queue: {num_consumers: 1}\n"
                           "max_batch_size_bytes: 400\ntarget_info: {enabled: false}\n",
                       nullptr);
  ASSERT_TRUE(exporter->Consume(Context{}, Gauges(20, 1700000000000)).ok());
  ASSERT_TRUE(exporter->Consume(Context{}, Gauges(1, 1700000001000, "later")).ok());
  ASSERT_TRUE(WaitFor([&] { return backend.connections() >= 1; }));
  const auto took = TimedShutdown(exporter, absl::Milliseconds(300), [&] { backend.Close(); });
  EXPECT_LT(took, std::chrono::milliseconds(1300));
  // The request in flight at the deadline was cancelled, and no other one was started.
  EXPECT_EQ(backend.connections(), 1);
}

// The entries a WAL directory still holds (not yet delivered), read with the WAL itself.
std::vector<WalEntry> Undelivered(const std::string& dir, storage::Env* env = nullptr) {
  WalOptions options;
  options.directory = dir;
  if (env != nullptr) options.env = env;
  auto wal = Wal::Open(options);
  EXPECT_TRUE(wal.ok()) << wal.status();
  std::vector<WalEntry> out;
  if (!wal.ok()) return out;
  auto reader = (*wal)->NewReader();
  while (true) {
    auto next = reader->Next();
    EXPECT_TRUE(next.ok()) << next.status();
    if (!next.ok() || !next->has_value()) return out;
    out.push_back(std::move(**next));
  }
}

// Every sample received, per series (label text), in arrival order.
std::map<std::string, std::vector<int64_t>> SamplesBySeries(
    const std::vector<prometheus::WriteRequest>& requests) {
  std::map<std::string, std::vector<int64_t>> out;
  for (const auto& r : requests) {
    for (const auto& ts : r.timeseries()) {
      std::string key;
      for (const auto& l : ts.labels()) absl::StrAppend(&key, l.name(), "=", l.value(), ",");
      for (const auto& sample : ts.samples()) out[key].push_back(sample.timestamp());
    }
  }
  return out;
}

// Hooks that hand the test the exporter's WAL senders once they exist.
internal::TestHooks SenderHooks(WalSender** sender) {
  internal::TestHooks hooks;
  hooks.on_wal_sender = [sender](WalSender* s) { *sender = s; };
  return hooks;
}

TEST(PrwExporterTest, WalShutdownEndsByItsDeadlineAndKeepsTheRecord) {
  SilentBackend backend;
  const std::string dir = TempWalDir();
  {
    auto exporter = Make("endpoint: " + backend.url() +
                             "\ntimeout: 0s\ntarget_info: {enabled: false}\n"
                             "remote_write_queue: {num_consumers: 1}\nwal: {directory: " +
                             dir + "}\n",
                         nullptr);
    ASSERT_TRUE(exporter->Consume(Context{}, Gauges(2, 1700000000000)).ok());
    ASSERT_TRUE(WaitFor([&] { return backend.connections() >= 1; }));
    const auto took = TimedShutdown(exporter, absl::Milliseconds(300), [&] { backend.Close(); });
    EXPECT_LT(took, std::chrono::milliseconds(1300));
    EXPECT_EQ(backend.connections(), 1);
  }
  // Not delivered: it is sent again after the restart.
  EXPECT_EQ(Undelivered(dir).size(), 1u);
  std::filesystem::remove_all(dir);
}

TEST(PrwExporterTest, WalReadFailuresAreRetriedAndRefuseDataMeanwhile) {
  Receiver receiver;
  storage::FaultInjectionEnv env;
  internal::TestHooks hooks;
  hooks.env = &env;
  // The senders' reads of the segments fail three times.
  env.InjectFault({.ops = storage::FaultInjectionEnv::kRead,
                   .path_contains = ".log",
                   .count = 3,
                   .error = absl::InternalError("read /wal/x.log: injected read failure")});
  auto exporter = Make(
      "endpoint: " + receiver.url() + "\ntarget_info: {enabled: false}\nwal: {directory: /wal}\n",
      nullptr, hooks);
  int64_t accepted = 0;
  absl::Status refused;
  // While the senders cannot read, Consume refuses data (retryably) instead of piling it up.
  ASSERT_TRUE(WaitFor([&] {
    absl::Status status = exporter->Consume(Context{}, Gauges(1, 1700000000000 + accepted * 1000));
    if (status.ok()) {
      ++accepted;
      return false;
    }
    refused = status;
    return true;
  })) << "Consume never refused data while the WAL could not be read";
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable) << refused;
  EXPECT_FALSE(otlp::IsPermanent(refused));
  EXPECT_THAT(std::string(refused.message()), HasSubstr("injected read failure"));
  // The senders retry, recover, and data is accepted again.
  ASSERT_TRUE(WaitFor([&] {
    if (!exporter->Consume(Context{}, Gauges(1, 1700000000000 + accepted * 1000)).ok()) {
      return false;
    }
    ++accepted;
    return true;
  }));
  // Everything accepted is delivered.
  EXPECT_TRUE(WaitFor([&] { return CountSeries(receiver.writes()) == accepted; }))
      << CountSeries(receiver.writes()) << " of " << accepted;
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
}

TEST(PrwExporterTest, WalCursorCommitFailuresAreRetriedWithoutResending) {
  Receiver receiver;
  storage::FaultInjectionEnv env;
  internal::TestHooks hooks;
  hooks.env = &env;
  hooks.wal_commit_interval = absl::Milliseconds(5);
  env.InjectFault(
      {.ops = storage::FaultInjectionEnv::kWrite, .path_contains = "cursor", .count = 2});
  auto exporter = Make(
      "endpoint: " + receiver.url() + "\ntarget_info: {enabled: false}\nwal: {directory: /wal}\n",
      nullptr, hooks);
  ASSERT_TRUE(exporter->Consume(Context{}, Gauges(1, 1700000000000)).ok());
  ASSERT_TRUE(exporter->Consume(Context{}, Gauges(1, 1700000001000)).ok());
  ASSERT_TRUE(WaitFor([&] { return CountSeries(receiver.writes()) == 2; }));
  // The two failed commits are retried at the next intervals; nothing is sent twice.
  ASSERT_TRUE(WaitFor([&] { return env.stats().file_syncs >= 3; }));
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
  EXPECT_EQ(receiver.attempts(), 2);
  EXPECT_TRUE(Undelivered("/wal", &env).empty());
}

TEST(PrwExporterTest, WalRetriesRetryableErrorsPastMaxElapsedTimeAndDropsOnlyClientErrors) {
  Receiver receiver;
  const std::string dir = TempWalDir();
  auto exporter = Make("endpoint: " + receiver.url() +
                           "\ntarget_info: {enabled: false}\nwal: {directory: " + dir +
                           "}\nretry_on_failure: {initial_interval: 5ms, max_interval: 10ms, "
                           "max_elapsed_time: 50ms}\n",
                       nullptr);
  // ~20 failures at 5-10 ms take well over max_elapsed_time.
  receiver.FailNext(20, 503);
  const auto start = Clock::now();
  ASSERT_TRUE(exporter->Consume(Context{}, Gauges(1, 1700000000000)).ok());
  ASSERT_TRUE(WaitFor([&] { return CountSeries(receiver.writes()) == 1; }));
  EXPECT_GT(Clock::now() - start, std::chrono::milliseconds(50));
  EXPECT_EQ(receiver.attempts(), 21);  // delivered, not dropped

  // A client error is permanent: the record is done (dropped) without a retry.
  receiver.FailNext(1, 400);
  ASSERT_TRUE(exporter->Consume(Context{}, Gauges(1, 1700000001000)).ok());
  ASSERT_TRUE(WaitFor([&] { return receiver.attempts() == 22; }));
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
  EXPECT_EQ(receiver.attempts(), 22);
  EXPECT_EQ(CountSeries(receiver.writes()), 1);
  EXPECT_TRUE(Undelivered(dir).empty());  // both done: neither is sent again
  std::filesystem::remove_all(dir);
}

// Replaces a test that slept to let a notification go: the last delivery lands exactly while
// Shutdown waits for the log to drain, and Shutdown must return at once, not at its deadline.
TEST(PrwExporterTest, WalShutdownWakesWhenTheLastDeliveryLandsWhileItWaits) {
  Receiver receiver;
  const std::string dir = TempWalDir();
  WalSender* sender = nullptr;
  auto exporter = Make("endpoint: " + receiver.url() +
                           "\ntarget_info: {enabled: false}\nwal: {directory: " + dir + "}\n",
                       nullptr, SenderHooks(&sender));
  ASSERT_NE(sender, nullptr);
  receiver.Close();
  ASSERT_TRUE(exporter->Consume(Context{}, Gauges(1, 1700000000000)).ok());
  ASSERT_TRUE(receiver.WaitInside(1));
  auto done = std::async(std::launch::async, [exporter] {
    return exporter->Shutdown(absl::Now() + absl::Seconds(20));
  });
  ASSERT_TRUE(WaitFor([&] { return sender->drain_waiters() == 1; }));
  const auto released = Clock::now();
  receiver.Open();
  ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready)
      << "Shutdown missed the last delivery and waits for its deadline";
  EXPECT_TRUE(done.get().ok());
  EXPECT_LT(Clock::now() - released, std::chrono::seconds(5));
  EXPECT_EQ(CountSeries(receiver.writes()), 1);
  EXPECT_TRUE(Undelivered(dir).empty());
  std::filesystem::remove_all(dir);
}

TEST(PrwExporterTest, WalSendersShardSeriesAndKeepEachSeriesInOrder) {
  Receiver receiver(/*port=*/0, /*threads=*/8);
  const std::string dir = TempWalDir();
  auto exporter =
      Make("endpoint: " + receiver.url() +
               "\ntarget_info: {enabled: false}\nremote_write_queue: {num_consumers: 4}\n"
               "wal: {directory: " +
               dir + "}\n",
           nullptr);
  // Held at the backend until four requests are in flight together: one sender would never
  // get there.
  receiver.Close();
  for (int batch = 0; batch < 10; ++batch) {
    ASSERT_TRUE(exporter->Consume(Context{}, Gauges(40, 1700000000000 + batch * 1000)).ok());
  }
  EXPECT_TRUE(receiver.WaitInside(4)) << "fewer than 4 requests were in flight at once";
  receiver.Open();
  ASSERT_TRUE(WaitFor([&] { return CountSeries(receiver.writes()) == 400; }));
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
  EXPECT_EQ(receiver.max_inside(), 4);
  EXPECT_THAT(receiver.out_of_order(), IsEmpty());
  const auto samples = SamplesBySeries(receiver.writes());
  ASSERT_EQ(samples.size(), 40u);
  for (const auto& [series, times] : samples) {
    std::vector<int64_t> expected;
    for (int batch = 0; batch < 10; ++batch) expected.push_back(1700000000000 + batch * 1000);
    EXPECT_EQ(times, expected) << series;
  }
  std::filesystem::remove_all(dir);
}

// The previous configuration used 4 senders, this one 2: the records written with 4 shards are
// all delivered before any written with 2 (their series map to other senders).
TEST(PrwExporterTest, WalKeepsSeriesInOrderWhenNumConsumersChangesAcrossARestart) {
  const std::string dir = TempWalDir();
  std::string url;
  {
    Receiver down;
    down.FailForever(503);
    auto exporter =
        Make("endpoint: " + down.url() +
                 "\ntarget_info: {enabled: false}\nremote_write_queue: {num_consumers: 4}\n"
                 "wal: {directory: " +
                 dir + "}\nretry_on_failure: {initial_interval: 5ms}\n",
             nullptr);
    for (int batch = 0; batch < 5; ++batch) {
      ASSERT_TRUE(exporter->Consume(Context{}, Gauges(30, 1700000000000 + batch * 1000)).ok());
    }
    ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Milliseconds(100)).ok());
  }
  Receiver up(/*port=*/0, /*threads=*/4);
  auto exporter =
      Make("endpoint: " + up.url() +
               "\ntarget_info: {enabled: false}\nremote_write_queue: {num_consumers: 2}\n"
               "wal: {directory: " +
               dir + "}\n",
           nullptr);
  for (int batch = 5; batch < 10; ++batch) {
    ASSERT_TRUE(exporter->Consume(Context{}, Gauges(30, 1700000000000 + batch * 1000)).ok());
  }
  ASSERT_TRUE(WaitFor([&] { return CountSeries(up.writes()) >= 300; }));
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
  EXPECT_THAT(up.out_of_order(), IsEmpty());
  for (const auto& [series, times] : SamplesBySeries(up.writes())) {
    EXPECT_EQ(times.size(), 10u) << series;
  }
  std::filesystem::remove_all(dir);
}

// The acceptance: with the backend down and a size bound, the WAL stops at the bound and
// clients get retryable errors; once the backend is back, every acknowledged sample arrives, in
// order.
TEST(PrwExporterTest, WalStopsAtItsSizeBoundWithRetryableErrorsAndDeliversEverythingAfter) {
  Receiver receiver(/*port=*/0, /*threads=*/4);
  receiver.FailForever(503);
  const std::string dir = TempWalDir();
  MetricsRegistry metrics;
  auto exporter =
      Make("endpoint: " + receiver.url() +
               "\ntarget_info: {enabled: false}\nretry_on_failure: {initial_interval: 5ms, "
               "max_interval: 20ms}\nwal: {directory: " +
               dir + ", max_size_bytes: 1048576}\n",
           &metrics);
  auto dir_bytes = [&] {
    uint64_t total = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (e.path().extension() == ".log") total += e.file_size();
    }
    return total;
  };
  int accepted = 0;
  absl::Status refused;
  for (int batch = 0; batch < 2000 && refused.ok(); ++batch) {
    refused = exporter->Consume(Context{}, Gauges(50, 1700000000000 + batch * 1000));
    if (refused.ok()) ++accepted;
    ASSERT_LE(dir_bytes(), 1048576u);
  }
  ASSERT_FALSE(refused.ok()) << "the WAL never stopped at its bound";
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable) << refused;
  EXPECT_FALSE(otlp::IsPermanent(refused));
  EXPECT_THAT(std::string(refused.message()), HasSubstr("the WAL is full"));
  EXPECT_EQ(otlp::ReceiverCode(refused), absl::StatusCode::kUnavailable);
  EXPECT_EQ(otlp::HttpStatusFromCode(otlp::ReceiverCode(refused)), 503);
  EXPECT_GT(accepted, 10);
  EXPECT_GT(dir_bytes(), 1048576u / 2);
  // The size gauge tells the same (a callback, read when /metrics is rendered).
  const std::string text = metrics.RenderText();
  const std::string gauge =
      "otelcol_exporter_prometheusremotewrite_wal_size_bytes{exporter=\"prometheusremotewrite\"} ";
  const size_t at = text.find(gauge);
  ASSERT_NE(at, std::string::npos) << text;
  EXPECT_EQ(std::stod(text.substr(at + gauge.size())), static_cast<double>(dir_bytes()));
  // Still refused while the backend is down.
  EXPECT_FALSE(exporter->Consume(Context{}, Gauges(50, 1700000000000 + 5000 * 1000)).ok());

  receiver.FailForever(0);
  ASSERT_TRUE(WaitFor([&] { return CountSeries(receiver.writes()) == accepted * 50; },
                      std::chrono::seconds(30)))
      << CountSeries(receiver.writes()) << " of " << accepted * 50;
  EXPECT_THAT(receiver.out_of_order(), IsEmpty());
  const auto samples = SamplesBySeries(receiver.writes());
  ASSERT_EQ(samples.size(), 50u);
  for (const auto& [series, times] : samples) {
    ASSERT_EQ(times.size(), static_cast<size_t>(accepted)) << series;
    for (int batch = 0; batch < accepted; ++batch) {
      ASSERT_EQ(times[batch], 1700000000000 + batch * 1000) << series;
    }
  }
  // Delivered segments are freed: data is accepted again.
  ASSERT_TRUE(WaitFor(
      [&] { return exporter->Consume(Context{}, Gauges(50, 1700000000000 + 6000 * 1000)).ok(); }));
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
  std::filesystem::remove_all(dir);
}

TEST(PrwExporterTest, WalMaxAgeRefusesWhileTheOldestDataWaits) {
  Receiver receiver;
  receiver.FailForever(503);
  const std::string dir = TempWalDir();
  auto exporter =
      Make("endpoint: " + receiver.url() +
               "\ntarget_info: {enabled: false}\nretry_on_failure: {initial_interval: 5ms}\n"
               "wal: {directory: " +
               dir + ", max_age: 100ms}\n",
           nullptr);
  ASSERT_TRUE(exporter->Consume(Context{}, Gauges(1, 1700000000000)).ok());
  absl::Status refused;
  ASSERT_TRUE(WaitFor([&] {
    refused = exporter->Consume(Context{}, Gauges(1, 1700000001000));
    return !refused.ok();
  }));
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable) << refused;
  EXPECT_THAT(std::string(refused.message()), HasSubstr("longer than wal.max_age (100ms)"));
  receiver.FailForever(0);
  ASSERT_TRUE(WaitFor([&] { return exporter->Consume(Context{}, Gauges(1, 1700000002000)).ok(); }));
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
  std::filesystem::remove_all(dir);
}

TEST(PrwExporterTest, WalFullDiskGivesRetryableErrorsAndLosesNothingAcknowledged) {
  Receiver receiver;
  receiver.FailForever(503);
  storage::FaultInjectionEnv env;
  internal::TestHooks hooks;
  hooks.env = &env;
  env.SetCapacity(200000);
  auto exporter =
      Make("endpoint: " + receiver.url() +
               "\ntarget_info: {enabled: false}\nretry_on_failure: {initial_interval: 5ms}\n"
               "wal: {directory: /wal}\n",
           nullptr, hooks);
  int accepted = 0;
  absl::Status refused;
  for (int batch = 0; batch < 1000 && refused.ok(); ++batch) {
    refused = exporter->Consume(Context{}, Gauges(20, 1700000000000 + batch * 1000));
    if (refused.ok()) ++accepted;
  }
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable) << refused;
  EXPECT_FALSE(otlp::IsPermanent(refused));
  EXPECT_THAT(std::string(refused.message()),
              HasSubstr("failed to write to the WAL: write /wal/00000000000000000001.log: No space "
                        "left on device"));
  // Space again, the backend back: the next batch is accepted and everything acknowledged
  // arrives.
  env.SetCapacity(std::nullopt);
  receiver.FailForever(0);
  ASSERT_TRUE(exporter->Consume(Context{}, Gauges(20, 1700000000000 + 9999 * 1000)).ok());
  ASSERT_TRUE(WaitFor([&] { return CountSeries(receiver.writes()) == (accepted + 1) * 20; }));
  EXPECT_THAT(receiver.out_of_order(), IsEmpty());
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
}

// A machine crash right after the acknowledgements: each was fsynced, so all of them survive;
// and a batch costs one fsync.
TEST(PrwExporterTest, WalMachineCrashLosesNothingAcknowledgedAtOneSyncPerBatch) {
  storage::FaultInjectionEnv env;
  internal::TestHooks hooks;
  hooks.env = &env;
  {
    Receiver down;
    down.FailForever(503);
    auto exporter =
        Make("endpoint: " + down.url() +
                 "\ntarget_info: {enabled: false}\nretry_on_failure: {initial_interval: 5ms}\n"
                 "wal: {directory: /wal}\n",
             nullptr, hooks);
    const storage::FaultInjectionEnv::Stats before = env.stats();
    for (int batch = 0; batch < 20; ++batch) {
      ASSERT_TRUE(exporter->Consume(Context{}, Gauges(25, 1700000000000 + batch * 1000)).ok());
    }
    EXPECT_EQ(env.stats().file_syncs - before.file_syncs, 20);
    EXPECT_EQ(env.stats().dir_syncs - before.dir_syncs, 0);
    env.SimulateCrash(storage::FaultInjectionEnv::CrashMode::kDropUnsynced);
    ASSERT_TRUE(exporter->Shutdown(absl::Now()).ok());  // its writes fail: the machine is gone
  }
  Receiver up;
  auto exporter =
      Make("endpoint: " + up.url() + "\ntarget_info: {enabled: false}\nwal: {directory: /wal}\n",
           nullptr, hooks);
  ASSERT_TRUE(WaitFor([&] { return CountSeries(up.writes()) == 20 * 25; }));
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
  EXPECT_THAT(up.out_of_order(), IsEmpty());
  for (const auto& [series, times] : SamplesBySeries(up.writes())) {
    EXPECT_EQ(times.size(), 20u) << series;
  }
}

TEST(PrwExporterTest, WalRepairIsLoggedAndCounted) {
  const std::string dir = TempWalDir();
  {
    Receiver down;
    down.FailForever(503);
    auto exporter = Make("endpoint: " + down.url() +
                             "\ntarget_info: {enabled: false}\nwal: {directory: " + dir + "}\n",
                         nullptr);
    for (int batch = 0; batch < 3; ++batch) {
      ASSERT_TRUE(exporter->Consume(Context{}, Gauges(2, 1700000000000 + batch * 1000)).ok());
    }
    ASSERT_TRUE(exporter->Shutdown(absl::Now()).ok());
  }
  // An append interrupted by a crash: 37 bytes of a chunk that never completed.
  const std::string segment = dir + "/00000000000000000001.log";
  const uint64_t size = std::filesystem::file_size(segment);
  {
    std::ofstream out(segment, std::ios::binary | std::ios::app);
    out << std::string("\x12\x34\x56\x78\xff\x00\x01\x01", 8) << std::string(29, 'x');
  }
  Receiver up;
  MetricsRegistry metrics;
  ::testing::internal::CaptureStderr();
  auto exporter = Make(
      "endpoint: " + up.url() + "\ntarget_info: {enabled: false}\nwal: {directory: " + dir + "}\n",
      &metrics);
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(log, HasSubstr("The WAL was damaged: data was skipped or cut off"));
  EXPECT_THAT(log, HasSubstr(absl::StrCat("\"file\": \"", segment, "\"")));
  EXPECT_THAT(log, HasSubstr(absl::StrCat("\"offset\": ", size)));
  EXPECT_THAT(log, HasSubstr("\"bytes\": 37"));
  EXPECT_THAT(log, HasSubstr("\"records\": 1"));
  EXPECT_THAT(log, HasSubstr("cut off at open"));
  EXPECT_EQ(
      CounterValue(metrics, "otelcol_exporter_prometheusremotewrite_wal_repaired_bytes_total"), 37);
  EXPECT_EQ(
      CounterValue(metrics, "otelcol_exporter_prometheusremotewrite_wal_repaired_records_total"),
      1);
  // Everything acknowledged is still delivered.
  ASSERT_TRUE(WaitFor([&] { return CountSeries(up.writes()) == 6; }));
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
  std::filesystem::remove_all(dir);
}

// A WAL directory written by the previous format (abf41e2, src/remotewrite/testdata/wal-abf41e2):
// its undelivered records (4 to 8; 1 to 3 were committed) are sent after the upgrade.
TEST(PrwExporterTest, WalDeliversADirectoryOfThePreviousFormat) {
  const std::string dir = TempWalDir();
  std::filesystem::copy("src/remotewrite/testdata/wal-abf41e2", dir);
  Receiver up;
  auto exporter = Make("endpoint: " + up.url() + "\nwal: {directory: " + dir + "}\n", nullptr);
  ASSERT_TRUE(WaitFor([&] { return CountSeries(up.writes()) == 5; }));
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
  std::vector<std::string> records;
  for (const auto& r : up.writes()) {
    for (const auto& ts : r.timeseries()) {
      for (const auto& l : ts.labels()) {
        if (l.name() == "record") records.push_back(l.value());
      }
      EXPECT_EQ(ts.samples(0).timestamp(), 1700000000000 + std::stoi(records.back()) * 1000);
    }
  }
  EXPECT_THAT(records, ElementsAre("4", "5", "6", "7", "8"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/committed"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/00000000000000000007.seg"));
  std::filesystem::remove_all(dir);
}

TEST(PrwExporterTest, TranslationErrorsArePermanentButTheRestIsSent) {
  Receiver receiver;
  MetricsRegistry metrics;
  auto exporter =
      Make("endpoint: " + receiver.url() +
               "\ntarget_info: {enabled: false}\nremote_write_queue: {enabled: false}\n",
           &metrics);
  otlp::MetricsBatch batch = Gauges(2, 1700000000000);
  auto* sm = batch.mutable_request()->mutable_resource_metrics(0)->mutable_scope_metrics(0);
  for (const char* name : {"requests", "bytes"}) {
    auto* delta = sm->add_metrics();
    delta->set_name(name);
    delta->mutable_sum()->set_aggregation_temporality(pb::metrics::AGGREGATION_TEMPORALITY_DELTA);
    delta->mutable_sum()->set_is_monotonic(true);
    delta->mutable_sum()->add_data_points()->set_as_int(1);
  }
  const absl::Status status = exporter->Consume(Context{}, batch);
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(otlp::IsPermanent(status)) << status;
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("Permanent error: invalid temporality and type combination for metric "
                        "\"requests\"; invalid temporality and type combination for metric "
                        "\"bytes\""));
  EXPECT_EQ(CountSeries(receiver.writes()), 2);  // the convertible metrics still went
  // Counted once per batch, however many metrics failed.
  EXPECT_EQ(
      CounterValue(metrics, "otelcol_exporter_prometheusremotewrite_failed_translations_total"), 1);
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
}

TEST(PrwExporterTest, WalTranslationErrorsArePermanentButTheRestIsLogged) {
  Receiver receiver;
  const std::string dir = TempWalDir();
  auto exporter = Make("endpoint: " + receiver.url() +
                           "\ntarget_info: {enabled: false}\nwal: {directory: " + dir + "}\n",
                       nullptr);
  otlp::MetricsBatch batch = Gauges(2, 1700000000000);
  auto* delta =
      batch.mutable_request()->mutable_resource_metrics(0)->mutable_scope_metrics(0)->add_metrics();
  delta->set_name("requests");
  delta->mutable_histogram()->set_aggregation_temporality(
      pb::metrics::AGGREGATION_TEMPORALITY_DELTA);
  delta->mutable_histogram()->add_data_points()->set_count(1);
  const absl::Status status = exporter->Consume(Context{}, batch);
  EXPECT_TRUE(otlp::IsPermanent(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("\"requests\""));
  EXPECT_TRUE(WaitFor([&] { return CountSeries(receiver.writes()) == 2; }));
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
  std::filesystem::remove_all(dir);
}

TEST(PrwExporterTest, ARequestThatCannotBeCompressedIsDroppedNotSentEmpty) {
  Receiver receiver;
  internal::TestHooks hooks;
  std::atomic<int> calls{0};
  hooks.compress = [&calls](std::string_view raw) -> absl::StatusOr<std::string> {
    if (++calls == 2) return absl::InternalError("injected compression failure");
    return net::Compress(net::Codec::kSnappy, raw);
  };
  auto exporter = Make("endpoint: " + receiver.url() +
                           "\ntarget_info: {enabled: false}\nmax_batch_size_bytes: 400\n"
                           "remote_write_queue: {enabled: false}\n",
                       nullptr, std::move(hooks));
  const absl::Status status = exporter->Consume(Context{}, Gauges(20, 1700000000000));
  EXPECT_TRUE(otlp::IsPermanent(status)) << status;
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("failed to compress a remote-write request: injected compression failure"));
  ASSERT_GT(calls.load(), 2);
  // Every request but the one that failed, and each one decodable (an empty body is not).
  EXPECT_EQ(receiver.attempts(), calls.load() - 1);
  EXPECT_EQ(static_cast<int>(receiver.writes().size()), calls.load() - 1);
  EXPECT_LT(CountSeries(receiver.writes()), 20);
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
}

absl::Status DecodeConfig(const std::string& yaml, Config* config) {
  config::Decoder decoder(YAML::Load(yaml), "exporters::prometheusremotewrite");
  config->Decode(decoder);
  RETURN_IF_ERROR(decoder.Finish());
  return config->Validate();
}

TEST(PrwConfigTest, NumConsumersHasAnUpperBound) {
  Config config;
  absl::Status status = DecodeConfig(
      "endpoint: http://x/api/v1/write\nremote_write_queue: {num_consumers: 100000}\n", &config);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("remote write consumer number can't be more than 256"));
  Config ok;
  EXPECT_TRUE(
      DecodeConfig("endpoint: http://x/\nremote_write_queue: {num_consumers: 256}\n", &ok).ok());
  Config parallelism;
  status = DecodeConfig("endpoint: http://x/\nmax_batch_request_parallelism: 5000\n", &parallelism);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("max_batch_request_parallelism can't be more than 256"));
}

TEST(PrwConfigTest, WalKeysOfTheCollectorAndOurBounds) {
  Config defaults;
  EXPECT_EQ(defaults.wal_max_size_bytes, 1 << 30);
  EXPECT_EQ(defaults.wal_max_age, absl::ZeroDuration());
  Config config;
  ASSERT_TRUE(DecodeConfig("endpoint: http://x/\nwal: {directory: /w, buffer_size: 10, "
                           "truncate_frequency: 30s, lag_record_frequency: 5s, "
                           "max_size_bytes: 2097152, max_age: 10m}\n",
                           &config)
                  .ok());
  EXPECT_EQ(config.wal_directory, "/w");
  EXPECT_EQ(config.wal_buffer_size, 10);
  EXPECT_EQ(config.wal_truncate_frequency, absl::Seconds(30));
  EXPECT_EQ(config.wal_max_size_bytes, 2097152);
  EXPECT_EQ(config.wal_max_age, absl::Minutes(10));
  Config unbounded;
  EXPECT_TRUE(
      DecodeConfig("endpoint: http://x/\nwal: {directory: /w, max_size_bytes: 0}\n", &unbounded)
          .ok());
  Config tiny;
  EXPECT_THAT(std::string(DecodeConfig("endpoint: http://x/\nwal: {directory: /w, "
                                       "max_size_bytes: 1000}\n",
                                       &tiny)
                              .message()),
              HasSubstr("wal::max_size_bytes must be at least 1048576 (1 MiB) or 0 for no "
                        "bound, got 1000"));
  Config negative;
  EXPECT_THAT(std::string(DecodeConfig("endpoint: http://x/\nwal: {directory: /w, max_age: -1s}\n",
                                       &negative)
                              .message()),
              HasSubstr("wal::max_age can't be negative"));
}

TEST(PrwConfigTest, HttpClientKeysOfCollectorConfigs) {
  Config config;
  ASSERT_TRUE(DecodeConfig("endpoint: http://x/api/v1/write\n"
                           "write_buffer_size: 524288\nread_buffer_size: 0\n"
                           "proxy_url: http://proxy:3128\nmax_idle_conns: 7\n"
                           "idle_conn_timeout: 30s\n",
                           &config)
                  .ok());
  EXPECT_EQ(config.proxy_url, "http://proxy:3128");
  EXPECT_EQ(config.max_idle_conns, 7);
  EXPECT_EQ(config.idle_conn_timeout, absl::Seconds(30));

  Config auth;
  absl::Status status =
      DecodeConfig("endpoint: http://x/\nauth: {authenticator: basicauth/prw}\n", &auth);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("'exporters::prometheusremotewrite::auth' is not supported by sprout yet"));
  Config keepalive;
  status = DecodeConfig("endpoint: http://x/\ndisable_keep_alives: true\n", &keepalive);
  EXPECT_THAT(std::string(status.message()), HasSubstr("is not supported by sprout yet"));
  Config proxy;
  status = DecodeConfig("endpoint: http://x/\nproxy_url: proxy:3128\n", &proxy);
  EXPECT_THAT(std::string(status.message()), HasSubstr("invalid proxy_url"));
}

TEST(PrwConfigTest, MaxBatchByteSizeIsTheOldNameOfMaxBatchSizeBytes) {
  Config old_name;
  ASSERT_TRUE(DecodeConfig("endpoint: http://x/\nmax_batch_byte_size: 500\n", &old_name).ok());
  EXPECT_EQ(old_name.max_batch_size_bytes, 500);
  Config zero;  // 0 meant the default
  ASSERT_TRUE(DecodeConfig("endpoint: http://x/\nmax_batch_byte_size: 0\n", &zero).ok());
  EXPECT_EQ(zero.max_batch_size_bytes, 3000000);
  Config both;  // the new name wins
  ASSERT_TRUE(DecodeConfig("endpoint: http://x/\nmax_batch_byte_size: 500\n"
                           "max_batch_size_bytes: 700\n",
                           &both)
                  .ok());
  EXPECT_EQ(both.max_batch_size_bytes, 700);
}

TEST(PrwExporterTest, ProxyUrlCarriesTheRequests) {
  Receiver proxy;  // decodes what it is asked to forward, whatever the target
  auto exporter = Make("endpoint: http://backend.invalid/api/v1/write\nproxy_url: " +
                           proxy.url().substr(0, proxy.url().find("/api")) +
                           "\ntarget_info: {enabled: false}\n",
                       nullptr);
  ASSERT_TRUE(exporter->Consume(Context{}, Gauges(3, 1700000000000)).ok());
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
  EXPECT_EQ(CountSeries(proxy.writes()), 3);
}

TEST(PrwExporterTest, WarnsWhenNumConsumersIsNotFiveAndReportsTheConsumers) {
  MetricsRegistry metrics;
  const std::string gauge = "otelcol_exporter_prometheusremotewrite_consumers";
  const MetricLabels labels = {{"exporter", "prometheusremotewrite"}};
  {
    ::testing::internal::CaptureStderr();
    auto exporter = Make("endpoint: http://127.0.0.1:1/\n", &metrics);
    EXPECT_THAT(::testing::internal::GetCapturedStderr(), Not(HasSubstr("num_consumers")));
    EXPECT_EQ(metrics.GetGauge(gauge, "", labels)->value(), 5);
    ASSERT_TRUE(exporter->Shutdown(absl::Now()).ok());
  }
  {
    ::testing::internal::CaptureStderr();
    auto exporter =
        Make("endpoint: http://127.0.0.1:1/\nremote_write_queue: {num_consumers: 2}\n", &metrics);
    EXPECT_THAT(::testing::internal::GetCapturedStderr(),
                HasSubstr("`remote_write_queue.num_consumers` will be used to configure "
                          "processing parallelism"));
    EXPECT_EQ(metrics.GetGauge(gauge, "", labels)->value(), 2);
    ASSERT_TRUE(exporter->Shutdown(absl::Now()).ok());
  }
  {
    auto exporter =
        Make("endpoint: http://127.0.0.1:1/\nmax_batch_request_parallelism: 3\n", &metrics);
    EXPECT_EQ(metrics.GetGauge(gauge, "", labels)->value(), 3);
    ASSERT_TRUE(exporter->Shutdown(absl::Now()).ok());
  }
  {
    // With EnableMultipleWorkers: the Collector's 5 requests at once, and no warning.
    ASSERT_TRUE(FeatureGates::Global().Apply(kEnableMultipleWorkersGate).ok());
    ::testing::internal::CaptureStderr();
    auto exporter =
        Make("endpoint: http://127.0.0.1:1/\nremote_write_queue: {num_consumers: 2}\n", &metrics);
    EXPECT_THAT(::testing::internal::GetCapturedStderr(), Not(HasSubstr("num_consumers")));
    EXPECT_EQ(metrics.GetGauge(gauge, "", labels)->value(), 5);
    ASSERT_TRUE(exporter->Shutdown(absl::Now()).ok());
    ASSERT_TRUE(FeatureGates::Global().Apply(std::string("-") + kEnableMultipleWorkersGate).ok());
  }
}

TEST(PrwFeatureGatesTest, TheCollectorsGatesAreKnown) {
  FeatureGates& gates = FeatureGates::Global();
  EXPECT_TRUE(gates.Apply(kEnableSendingRW2Gate).ok());
  EXPECT_TRUE(gates.IsEnabled(kEnableSendingRW2Gate));
  EXPECT_TRUE(gates.Apply(std::string("-") + kEnableSendingRW2Gate).ok());
  EXPECT_TRUE(gates.Apply(std::string("+") + kEnableMultipleWorkersGate).ok());
  EXPECT_TRUE(gates.Apply(std::string("-") + kEnableMultipleWorkersGate).ok());
  // Known to sprout and refused by name (with the reason), not "no such feature gate".
  absl::Status status = gates.Apply(kRemoveTopLevelHTTPSettingsGate);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("feature gate "
                        "\"exporter.prometheusremotewritexporter.removeTopLevelHTTPSettings\" is "
                        "not supported by sprout yet"));
  EXPECT_FALSE(gates.IsEnabled(kRemoveTopLevelHTTPSettingsGate));
  EXPECT_TRUE(gates.Apply(std::string("-") + kRemoveTopLevelHTTPSettingsGate).ok());
  EXPECT_THAT(std::string(gates.Apply("exporter.prometheusremotewritexporter.Bogus").message()),
              HasSubstr("no such feature gate"));
}

TEST(PrwExporterTest, TelemetryCountsRequestsAndWalTraffic) {
  const std::string prefix = "otelcol_exporter_prometheusremotewrite_";
  {
    Receiver receiver;
    MetricsRegistry metrics;
    auto exporter =
        Make("endpoint: " + receiver.url() +
                 "\ntarget_info: {enabled: false}\nretry_on_failure: {initial_interval: 5ms}\n",
             &metrics);
    receiver.FailNext(2, 503);
    ASSERT_TRUE(exporter->Consume(Context{}, Gauges(3, 1700000000000)).ok());
    ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
    // Every request sent counts, whatever the answer (as in the Collector).
    EXPECT_EQ(CounterValue(metrics, prefix + "sent_batches_total"), 3);
    EXPECT_EQ(CounterValue(metrics, prefix + "written_samples_total"), 3);
    EXPECT_EQ(CounterValue(metrics, prefix + "translated_time_series_total"), 3);
  }
  Receiver receiver;
  MetricsRegistry metrics;
  const std::string dir = TempWalDir();
  auto exporter =
      Make("endpoint: " + receiver.url() +
               "\ntarget_info: {enabled: false}\nretry_on_failure: {initial_interval: 5ms}\n"
               "remote_write_queue: {num_consumers: 1}\nwal: {directory: " +
               dir + "}\n",
           &metrics);
  receiver.FailNext(2, 503);
  ASSERT_TRUE(exporter->Consume(Context{}, Gauges(3, 1700000000000)).ok());
  ASSERT_TRUE(WaitFor([&] { return CountSeries(receiver.writes()) == 3; }));
  ASSERT_TRUE(exporter->Shutdown(absl::Now() + absl::Seconds(5)).ok());
  EXPECT_EQ(CounterValue(metrics, prefix + "sent_batches_total"), 3);
  EXPECT_EQ(CounterValue(metrics, prefix + "wal_writes_total"), 1);
  EXPECT_EQ(CounterValue(metrics, prefix + "wal_reads_total"), 1);
  EXPECT_GT(CounterValue(metrics, prefix + "wal_bytes_written_total"), 0);
  EXPECT_EQ(CounterValue(metrics, prefix + "wal_bytes_written_total"),
            CounterValue(metrics, prefix + "wal_bytes_read_total"));
  EXPECT_EQ(CounterValue(metrics, prefix + "wal_writes_failures_total"), 0);
  EXPECT_EQ(CounterValue(metrics, prefix + "wal_reads_failures_total"), 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sprout::collector::prwexporter
