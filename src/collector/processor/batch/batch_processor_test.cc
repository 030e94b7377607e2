#include "collector/processor/batch/batch_processor.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "base/clock.h"
#include "collector/processor/processor_testing.h"

namespace sprout::collector::batchprocessor {
namespace {

using namespace ::sprout::collector::testing;  // NOLINT
using Traces = Capture<Signal::kTraces>;

struct Running {
  ManualClock clock;  // timeouts happen when the test advances it
  std::shared_ptr<Traces> sink = std::make_shared<Traces>();
  std::unique_ptr<ProcessorFactory> factory = NewFactory(&clock);
  std::unique_ptr<ComponentConfig> config;
  ConsumerComponentPtr<Signal::kTraces> processor;
  MetricsRegistry metrics;

  explicit Running(const std::string& yaml) {
    auto decoded = DecodeConfig(*factory, yaml);
    EXPECT_TRUE(decoded.ok()) << decoded.status();
    config = std::move(*decoded);
    processor = *CreateProcessor<Signal::kTraces>(*factory, *config, sink, &metrics);
    NoHost host;
    EXPECT_TRUE(processor->Start(host).ok());
  }
  ~Running() { Stop(); }
  void Stop() {
    if (processor != nullptr) EXPECT_TRUE(processor->Shutdown(absl::Now() + absl::Seconds(5)).ok());
    processor = nullptr;
  }
};

std::string Validate(const std::string& yaml) {
  auto factory = NewFactory();
  auto config = DecodeConfig(*factory, yaml);
  return config.ok() ? "" : std::string(config.status().message());
}

TEST(BatchConfigTest, DefaultsAndValidation) {
  EXPECT_EQ(Validate("{}"), "");
  EXPECT_EQ(Validate("send_batch_size: 100\nsend_batch_max_size: 50"),
            "send_batch_max_size must be greater or equal to send_batch_size");
  EXPECT_EQ(Validate("send_batch_size: 100\nsend_batch_max_size: 100"), "");
  EXPECT_EQ(Validate("timeout: -1s"), "timeout must be greater or equal to 0");
  EXPECT_EQ(Validate("metadata_keys: [Tenant, tenant]"),
            "duplicate entry in metadata_keys: \"tenant\" (case-insensitive)");
  EXPECT_NE(Validate("send_batch_size: -1"), "");
  EXPECT_NE(Validate("sendbatchsize: 1"), "");
}

TEST(BatchProcessorTest, SendsWhenTheSizeIsReachedMergingWithoutDecoding) {
  Running p("send_batch_size: 10\ntimeout: 1h");
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(p.processor->Consume(Context{}, WireSpans(3, "r" + std::to_string(i) + "-")).ok());
  }
  // 12 items ≥ 10: one batch of everything pending (no max size), the rest waits.
  auto batches = p.sink->batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].item_count(), 12);
  EXPECT_FALSE(batches[0].decoded());  // concatenated encodings
  EXPECT_EQ(SpanNames(batches[0]),
            (std::vector<std::string>{"r0-0", "r0-1", "r0-2", "r1-0", "r1-1", "r1-2", "r2-0",
                                      "r2-1", "r2-2", "r3-0", "r3-1", "r3-2"}));
  EXPECT_EQ(batches[0].request().resource_spans_size(), 4);  // resources are not merged
}

TEST(BatchProcessorTest, SplitsAtTheMaximumSize) {
  Running p("send_batch_size: 4\nsend_batch_max_size: 4\ntimeout: 1h");
  ASSERT_TRUE(p.processor->Consume(Context{}, WireSpans(3, "a")).ok());
  ASSERT_TRUE(p.processor->Consume(Context{}, WireSpans(7, "b")).ok());
  // 10 pending → two batches of 4, 2 left until a timeout or shutdown.
  auto batches = p.sink->batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(SpanNames(batches[0]), (std::vector<std::string>{"a0", "a1", "a2", "b0"}));
  EXPECT_EQ(SpanNames(batches[1]), (std::vector<std::string>{"b1", "b2", "b3", "b4"}));
  p.Stop();  // flushes on shutdown
  batches = p.sink->batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(SpanNames(batches[2]), (std::vector<std::string>{"b5", "b6"}));
}

TEST(BatchProcessorTest, TimeoutSendsWhatIsPendingSplitByMax) {
  Running p("send_batch_size: 100\nsend_batch_max_size: 200\ntimeout: 50ms");
  ASSERT_TRUE(p.processor->Consume(Context{}, WireSpans(3)).ok());
  p.clock.Advance(absl::Milliseconds(49));
  ASSERT_TRUE(p.processor->Consume(Context{}, WireSpans(2)).ok());
  EXPECT_TRUE(p.sink->batches().empty());  // sends happen on the caller's thread or the timer's
  p.clock.Advance(absl::Milliseconds(1));
  ASSERT_TRUE(p.sink->WaitForItems(5));
  auto batches = p.sink->batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].item_count(), 5);
}

TEST(BatchProcessorTest, ZeroTimeoutSendsEveryRequestAtOnce) {
  Running p("timeout: 0s\nsend_batch_max_size: 10000");
  ASSERT_TRUE(p.processor->Consume(Context{}, WireSpans(2)).ok());
  EXPECT_EQ(p.sink->items(), 2);
  ASSERT_TRUE(p.processor->Consume(Context{}, Spans(0)).ok());  // empty: ignored
  EXPECT_EQ(p.sink->batches().size(), 1u);
}

TEST(BatchProcessorTest, ExportErrorsNeverReachTheCaller) {
  Running p("send_batch_size: 1");
  p.sink->set_status(absl::UnavailableError("backend down"));
  EXPECT_TRUE(p.processor->Consume(Context{}, WireSpans(2)).ok());
  EXPECT_EQ(p.sink->items(), 2);  // it was attempted
}

TEST(BatchProcessorTest, DecodedAndChangedRequestsMergeWithReceivedOnes) {
  Running p("send_batch_size: 5\ntimeout: 1h");
  otlp::TracesBatch changed = WireSpans(2, "c");
  changed.mutable_request()
      ->mutable_resource_spans(0)
      ->mutable_scope_spans(0)
      ->mutable_spans(0)
      ->set_name("changed");
  ASSERT_TRUE(p.processor->Consume(Context{}, changed).ok());
  ASSERT_TRUE(p.processor->Consume(Context{}, WireSpans(3, "w")).ok());
  auto batches = p.sink->batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(SpanNames(batches[0]), (std::vector<std::string>{"changed", "c1", "w0", "w1", "w2"}));
}

TEST(BatchProcessorTest, MetadataKeysBatchSeparatelyAndForwardOnlyThoseKeys) {
  Running p(
      "send_batch_size: 4\ntimeout: 1h\nmetadata_keys: [X-Tenant]\n"
      "metadata_cardinality_limit: 2");
  Context a;
  a.metadata = {{"x-tenant", "a"}, {"authorization", "secret"}};
  Context b;
  b.metadata = {{"x-tenant", "b"}};
  ASSERT_TRUE(p.processor->Consume(a, WireSpans(2, "a")).ok());
  ASSERT_TRUE(p.processor->Consume(b, WireSpans(3, "b")).ok());
  EXPECT_TRUE(p.sink->batches().empty());  // neither tenant has 4 yet
  ASSERT_TRUE(p.processor->Consume(a, WireSpans(2, "a")).ok());
  auto batches = p.sink->batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].item_count(), 4);
  auto contexts = p.sink->contexts();
  EXPECT_EQ(contexts[0].metadata,
            (std::vector<std::pair<std::string, std::string>>{{"x-tenant", "a"}}));
  Context c;
  c.metadata = {{"x-tenant", "c"}};
  absl::Status third = p.processor->Consume(c, WireSpans(1));
  EXPECT_FALSE(third.ok());
  EXPECT_EQ(third.message(), "too many batcher metadata-value combinations");
  EXPECT_TRUE(otlp::IsPermanent(third));
  EXPECT_EQ(otlp::ReceiverCode(third), absl::StatusCode::kInternal);  // HTTP 500, not retried
  p.Stop();
  EXPECT_EQ(p.sink->items(), 7);  // tenant b's 3 flushed at shutdown
}

TEST(BatchProcessorTest, ConcurrentProducersLoseNothing) {
  Running p("send_batch_size: 100\nsend_batch_max_size: 150\ntimeout: 10ms");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) ASSERT_TRUE(p.processor->Consume(Context{}, WireSpans(7)).ok());
    });
  }
  for (auto& t : threads) t.join();
  p.Stop();
  EXPECT_EQ(p.sink->items(), 4 * 200 * 7);
  for (const auto& b : p.sink->batches()) {
    EXPECT_LE(b.item_count(), 150);
    EXPECT_EQ(b.item_count(), otlp::CountItems(b.request()));
  }
}

TEST(BatchProcessorTest, TimeoutSplitsWhatIsPendingAtTheMaximum) {
  Running p("send_batch_size: 100\nsend_batch_max_size: 100\ntimeout: 30ms");
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(p.processor->Consume(Context{}, WireSpans(30)).ok());
  // 270 items: two size-triggered batches of 100, then the timeout sends the last 70.
  EXPECT_EQ(p.sink->items(), 200);
  p.clock.Advance(absl::Milliseconds(30));
  ASSERT_TRUE(p.sink->WaitForItems(270));
  auto batches = p.sink->batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(otlp::CountItems(batches[0].request()), 100);
  EXPECT_EQ(otlp::CountItems(batches[1].request()), 100);
  EXPECT_EQ(otlp::CountItems(batches[2].request()), 70);
}

TEST(BatchProcessorTest, ARequestAfterShutdownIsSentAtOnce) {
  Running p("send_batch_size: 1000\ntimeout: 1h");
  ASSERT_TRUE(p.processor->Shutdown(absl::Now()).ok());
  ASSERT_TRUE(p.processor->Consume(Context{}, WireSpans(2)).ok());
  EXPECT_EQ(p.sink->items(), 2);
  p.processor = nullptr;
}

TEST(BatchProcessorTest, MetricsAreBatchedByDataPointAndSplitInsideAMetric) {
  auto sink = std::make_shared<Capture<Signal::kMetrics>>();
  auto factory = NewFactory();
  auto config = *DecodeConfig(*factory, "send_batch_size: 4\nsend_batch_max_size: 4\ntimeout: 1h");
  auto processor = *CreateProcessor<Signal::kMetrics>(*factory, *config, sink);
  NoHost host;
  ASSERT_TRUE(processor->Start(host).ok());
  otlp::MetricsBatch batch;
  auto* m = batch.mutable_request()->add_resource_metrics()->add_scope_metrics()->add_metrics();
  m->set_name("requests");
  m->mutable_sum()->set_is_monotonic(true);
  for (int i = 0; i < 6; ++i) m->mutable_sum()->add_data_points()->set_as_int(i);
  ASSERT_TRUE(processor->Consume(Context{}, batch).ok());
  auto batches = sink->batches();
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(otlp::CountItems(batches[0].request()), 4);
  const auto& first = batches[0].request().resource_metrics(0).scope_metrics(0).metrics(0);
  EXPECT_EQ(first.name(), "requests");
  EXPECT_TRUE(first.sum().is_monotonic());
  ASSERT_TRUE(processor->Shutdown(absl::Now()).ok());
  EXPECT_EQ(sink->items(), 6);
  EXPECT_EQ(sink->batches()[1]
                .request()
                .resource_metrics(0)
                .scope_metrics(0)
                .metrics(0)
                .sum()
                .data_points(1)
                .as_int(),
            5);
}

// Lets the first batch in only when released: the thread sending it stays inside Consume.
class HoldFirst : public Consumer<Signal::kTraces> {
 public:
  explicit HoldFirst(std::shared_ptr<Traces> next) : next_(std::move(next)) {}
  absl::Status Consume(const Context& context, otlp::TracesBatch batch) override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!held_one_) {
        held_one_ = true;
        holding_ = true;
        cv_.notify_all();
        cv_.wait(lock, [&] { return released_; });
      }
    }
    return next_->Consume(context, std::move(batch));
  }
  void WaitUntilHolding() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return holding_; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::shared_ptr<Traces> next_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_one_ = false;
  bool holding_ = false;
  bool released_ = false;
};

// Remote-write backends refuse samples older than what they already have, so batches of one
// batcher must leave in the order they were cut, even when the timer thread and a receiver's
// thread each cut one.
TEST(BatchProcessorTest, BatchesOfOneBatcherLeaveInTheOrderTheyWereCut) {
  ManualClock clock;
  auto sink = std::make_shared<Traces>();
  auto hold = std::make_shared<HoldFirst>(sink);
  auto factory = NewFactory(&clock);
  auto config = *DecodeConfig(*factory, "send_batch_size: 10\ntimeout: 1s");
  auto processor = *CreateProcessor<Signal::kTraces>(*factory, *config, hold);
  NoHost host;
  ASSERT_TRUE(processor->Start(host).ok());

  ASSERT_TRUE(processor->Consume(Context{}, WireSpans(3, "a")).ok());
  clock.Advance(absl::Seconds(1));  // the timer cuts "a" and is held while handing it on
  hold->WaitUntilHolding();
  // Ten items: a size-triggered batch, cut after "a" on this thread.
  ASSERT_TRUE(processor->Consume(Context{}, WireSpans(10, "b")).ok());
  hold->Release();
  ASSERT_TRUE(sink->WaitForItems(13));
  auto batches = sink->batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(SpanNames(batches[0]), (std::vector<std::string>{"a0", "a1", "a2"}));
  EXPECT_EQ(SpanNames(batches[1])[0], "b0");
  ASSERT_TRUE(processor->Shutdown(absl::Now()).ok());
}

}  // namespace
}  // namespace sprout::collector::batchprocessor
