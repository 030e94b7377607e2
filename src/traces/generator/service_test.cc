#include "traces/generator/service.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "traces/generator/generator_testing.h"

namespace sprout::traces::generator {
namespace {

using opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);

// Records every Write; fails while `fail` is set.
class RecordingOutput : public GeneratorOutput {
 public:
  absl::Status Write(std::string_view tenant, prometheus::WriteRequest request) override {
    if (on_write) on_write();
    std::lock_guard<std::mutex> lock(mu);
    if (fail) return absl::UnavailableError("the WAL is full");
    writes.emplace_back(std::string(tenant), std::move(request));
    return absl::OkStatus();
  }
  void Close(absl::Time) override { closed = true; }
  // name{labels...} → value of the last write of `tenant`.
  std::map<std::string, double> Last(const std::string& tenant) {
    std::lock_guard<std::mutex> lock(mu);
    std::map<std::string, double> out;
    for (auto it = writes.rbegin(); it != writes.rend(); ++it) {
      if (it->first != tenant) continue;
      for (const auto& ts : it->second.timeseries()) {
        std::string key;
        for (const auto& l : ts.labels()) key += l.name() + "=" + l.value() + ",";
        out[key] = ts.samples(0).value();
      }
      break;
    }
    return out;
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu);
    return writes.size();
  }
  std::function<void()> on_write;  // called first in every Write (e.g. to hold it)
  std::mutex mu;
  bool fail = false;
  std::atomic<bool> closed{false};
  std::vector<std::pair<std::string, prometheus::WriteRequest>> writes;
};

// One trace: `client_service` CLIENT span (0–300 ms) → `server_service` SERVER span (100–250 ms),
// starting 1 s before `now`.
ExportTraceServiceRequest Pair(const std::string& client_service, const std::string& server_service,
                               absl::Time now, char id) {
  return ClientServerPair(client_service, server_service, now - absl::Seconds(1), id);
}

struct Fixture {
  explicit Fixture(std::vector<std::string> processors = {"service-graphs", "span-metrics"}) {
    options.overrides.processors = std::move(processors);
    options.config.collection_interval = absl::Seconds(15);
    // The config loader layers metrics_generator.processor.* under the tenant's overrides.
    options.overrides.service_graphs.wait = absl::Seconds(2);
    options.output = &output;
    options.clock = [this] { return now; };
    options.on_error = [this](std::string_view tenant, const absl::Status& s) {
      errors.push_back(std::string(tenant) + ": " + std::string(s.message()));
    };
  }
  std::unique_ptr<GeneratorService> Create() {
    auto s = GeneratorService::Create(options);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }
  absl::Time now = kStart;
  RecordingOutput output;
  GeneratorServiceOptions options;
  std::vector<std::string> errors;
};

const char kFrontendToApi[] =
    "__name__=traces_service_graph_request_total,client=frontend,server=api,";

TEST(GeneratorServiceTest, NoProcessorsIsDisabledAndWritesNothing) {
  Fixture f(std::vector<std::string>{});
  auto s = f.Create();
  ASSERT_NE(s, nullptr);
  EXPECT_FALSE(s->enabled());
  s->PushSpans("a", Pair("frontend", "api", f.now, 1));
  s->RunOnce(f.now + absl::Minutes(1), /*force=*/true);
  EXPECT_EQ(f.output.count(), 0u);
  EXPECT_TRUE(s->Stats().empty());
}

TEST(GeneratorServiceTest, InvalidProcessorSettingsRefusedAtCreate) {
  Fixture f;
  f.options.overrides.span_metrics.histogram_buckets = {1, 0.5};  // not increasing
  auto s = GeneratorService::Create(f.options);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << s.status();
}

TEST(GeneratorServiceTest, TenantsCollectedSeparatelyEveryInterval) {
  Fixture f;
  auto s = f.Create();
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->enabled());
  s->PushSpans("a", Pair("frontend", "api", f.now, 1));
  s->PushSpans("a", Pair("frontend", "api", f.now, 2));
  s->PushSpans("b", Pair("frontend", "api", f.now, 3));
  // Not due before one collection interval from the tenant's first spans.
  s->RunOnce(f.now + absl::Seconds(14));
  EXPECT_EQ(f.output.count(), 0u);
  s->RunOnce(f.now + absl::Seconds(15));
  ASSERT_EQ(f.output.count(), 2u);  // one WriteRequest per tenant
  EXPECT_EQ(f.output.Last("a")[kFrontendToApi], 2);
  EXPECT_EQ(f.output.Last("b")[kFrontendToApi], 1);
  // Not due again until the next interval.
  s->RunOnce(f.now + absl::Seconds(20));
  EXPECT_EQ(f.output.count(), 2u);
  s->PushSpans("b", Pair("frontend", "api", f.now, 4));
  s->RunOnce(f.now + absl::Seconds(30));
  EXPECT_EQ(f.output.count(), 4u);
  EXPECT_EQ(f.output.Last("a")[kFrontendToApi], 2);
  EXPECT_EQ(f.output.Last("b")[kFrontendToApi], 2);
  const auto stats = s->Stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats.at("a").generator.spans_received, 4u);
  EXPECT_EQ(stats.at("b").generator.spans_received, 4u);
  EXPECT_GT(stats.at("a").samples_written, 0u);
  EXPECT_GT(stats.at("a").exemplars_written, 0u);  // latency histograms carry trace IDs
  EXPECT_EQ(stats.at("a").write_failures, 0u);
}

TEST(GeneratorServiceTest, NativeHistogramSamplesCountedApart) {
  Fixture f;
  f.options.overrides.generate_native_histograms = "native";
  auto s = f.Create();
  ASSERT_NE(s, nullptr);
  s->PushSpans("a", Pair("frontend", "api", f.now, 1));
  s->RunOnce(f.now + absl::Seconds(15));
  const auto stats = s->Stats().at("a");
  // Native latency histograms: span metrics' two (client and server span) and the edge's server
  // and client seconds.
  EXPECT_EQ(stats.histograms_written, 4u);
  uint64_t histograms = 0;
  for (const auto& [tenant, request] : f.output.writes) {
    for (const auto& ts : request.timeseries()) histograms += ts.histograms_size();
  }
  EXPECT_EQ(histograms, 4u);
}

TEST(GeneratorServiceTest, EdgesExpireBetweenCollectionsIntoVirtualNodes) {
  Fixture f;
  auto s = f.Create();
  ASSERT_NE(s, nullptr);
  // A root server span without a client: a `user` virtual-node edge once `wait` (2 s) passed.
  s->PushSpans("a", Pair("", "api", f.now, 1));
  s->RunOnce(f.now + absl::Seconds(3));  // not a collection: only the expiry
  EXPECT_EQ(f.output.count(), 0u);
  EXPECT_EQ(s->Stats().at("a").service_graphs.virtual_node_edges, 1u);
  s->RunOnce(f.now + absl::Seconds(15));
  EXPECT_EQ(f.output.Last("a")["__name__=traces_service_graph_request_total,client=user,"
                               "connection_type=virtual_node,server=api,"],
            1);
}

TEST(GeneratorServiceTest, RefusedWriteIsCountedAndReported) {
  Fixture f;
  auto s = f.Create();
  ASSERT_NE(s, nullptr);
  s->PushSpans("a", Pair("frontend", "api", f.now, 1));
  f.output.fail = true;
  s->RunOnce(f.now + absl::Seconds(15));
  EXPECT_EQ(s->Stats().at("a").write_failures, 1u);
  ASSERT_EQ(f.errors.size(), 1u);
  EXPECT_EQ(f.errors[0], "a: the WAL is full");
  // The next collection carries the totals.
  f.output.fail = false;
  s->RunOnce(f.now + absl::Seconds(30));
  EXPECT_EQ(f.output.Last("a")[kFrontendToApi], 1);
}

TEST(GeneratorServiceTest, StopCollectsOnceMoreAndClosesTheOutput) {
  Fixture f;
  auto s = f.Create();
  ASSERT_NE(s, nullptr);
  s->Start();
  s->PushSpans("a", Pair("frontend", "api", f.now, 1));
  s->Stop(absl::Now() + absl::Seconds(5));  // well before the 15 s interval
  EXPECT_TRUE(f.output.closed);
  EXPECT_EQ(f.output.Last("a")[kFrontendToApi], 1);
}

TEST(GeneratorServiceTest, LoopThreadCollectsOnTheRealClock) {
  Fixture f;
  f.options.clock = nullptr;
  f.options.config.collection_interval = absl::Milliseconds(50);
  auto s = f.Create();
  ASSERT_NE(s, nullptr);
  s->Start();
  s->PushSpans("a", Pair("frontend", "api", absl::Now(), 1));
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (f.output.count() == 0 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(f.output.Last("a")[kFrontendToApi], 1);
  s->Stop(absl::Now());
}

// Pushes from several threads into two tenants while another thread collects and reads the
// stats: every span is counted once, and the last collection carries every call.
TEST(GeneratorServiceTest, ConcurrentPushesCollectionsAndStatsLoseNothing) {
  Fixture f(std::vector<std::string>{"span-metrics"});
  auto s = f.Create();
  ASSERT_NE(s, nullptr);
  constexpr int kThreadsPerTenant = 2;
  constexpr int kPushes = 200;  // per thread, one client → server pair each
  std::atomic<bool> pushing{true};
  std::thread collector([&] {
    while (pushing) {
      s->RunOnce(f.now, /*force=*/true);
      (void)s->Stats();
    }
  });
  std::vector<std::thread> pushers;
  for (const std::string tenant : {"a", "b"}) {
    for (int i = 0; i < kThreadsPerTenant; ++i) {
      pushers.emplace_back([&s, &f, tenant] {
        for (int n = 0; n < kPushes; ++n) {
          s->PushSpans(tenant, Pair("frontend", "api", f.now, static_cast<char>(n)));
        }
      });
    }
  }
  for (std::thread& t : pushers) t.join();
  pushing = false;
  collector.join();
  s->RunOnce(f.now, /*force=*/true);
  const auto stats = s->Stats();
  const std::string frontend_calls =
      "__name__=traces_spanmetrics_calls_total,service=frontend,span_kind=SPAN_KIND_CLIENT,"
      "span_name=GET /api,status_code=STATUS_CODE_UNSET,";
  for (const std::string tenant : {"a", "b"}) {
    ASSERT_TRUE(stats.count(tenant)) << tenant;
    EXPECT_EQ(stats.at(tenant).generator.spans_received, 2u * kThreadsPerTenant * kPushes);
    EXPECT_EQ(f.output.Last(tenant)[frontend_calls], kThreadsPerTenant * kPushes) << tenant;
  }
  EXPECT_TRUE(f.errors.empty());
}

// A scrape's Stats does not wait for a collection whose Write is slow (a WAL on a slow disk).
TEST(GeneratorServiceTest, StatsDoNotWaitForACollectionInProgress) {
  Fixture f;
  std::promise<void> write_entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  f.output.on_write = [&write_entered, released] {
    write_entered.set_value();
    released.wait();
  };
  auto s = f.Create();
  ASSERT_NE(s, nullptr);
  s->PushSpans("a", Pair("frontend", "api", f.now, 1));
  std::thread collector([&] { s->RunOnce(f.now, /*force=*/true); });
  write_entered.get_future().wait();
  auto stats = std::async(std::launch::async, [&] { return s->Stats(); });
  const bool answered = stats.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  release.set_value();
  collector.join();
  ASSERT_TRUE(answered) << "Stats waited for the collection's Write";
  EXPECT_EQ(stats.get().at("a").generator.spans_received, 2u);
  EXPECT_EQ(s->Stats().at("a").write_failures, 0u);
  EXPECT_GT(s->Stats().at("a").samples_written, 0u);
}

}  // namespace
}  // namespace sprout::traces::generator
