#include "collector/exporter_helper.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "collector/consumer_error.h"

namespace sprout::collector {
namespace {

ExportQueue::Options TestOptions(MetricsRegistry* metrics) {
  ExportQueue::Options options;
  options.exporter = *ComponentID::Parse("otlp");
  options.signal = Signal::kTraces;
  options.retry.initial_interval = absl::Milliseconds(5);
  options.retry.max_interval = absl::Milliseconds(20);
  options.retry.max_elapsed_time = absl::Seconds(5);
  options.metrics = metrics;
  return options;
}

TEST(ExportQueueTest, RetriesRetryableErrorsUntilSuccess) {
  MetricsRegistry metrics;
  ExportQueue queue(TestOptions(&metrics));
  queue.Start();
  std::atomic<int> attempts{0};
  ASSERT_TRUE(queue.Submit({[&] {
                              return ++attempts < 3 ? absl::UnavailableError("down")
                                                    : absl::OkStatus();
                            },
                            7})
                  .ok());
  queue.Shutdown(absl::Now() + absl::Seconds(5));
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(metrics.GetCounter("otelcol_exporter_sent_spans_total", "", {{"exporter", "otlp"}})->value(), 7);
}

TEST(ExportQueueTest, PermanentErrorsAreDroppedAtOnce) {
  MetricsRegistry metrics;
  ExportQueue queue(TestOptions(&metrics));
  queue.Start();
  std::atomic<int> attempts{0};
  ASSERT_TRUE(queue.Submit({[&] {
                              ++attempts;
                              return MarkPermanent(absl::InvalidArgumentError("bad data"));
                            },
                            2})
                  .ok());
  queue.Shutdown(absl::Now() + absl::Seconds(5));
  EXPECT_EQ(attempts, 1);
  EXPECT_EQ(metrics.GetCounter("otelcol_exporter_send_failed_spans_total", "", {{"exporter", "otlp"}})->value(), 2);
}

TEST(ExportQueueTest, FullQueueRefusesWithRetryableError) {
  MetricsRegistry metrics;
  ExportQueue::Options options = TestOptions(&metrics);
  options.queue.queue_size = 1;
  options.queue.num_consumers = 1;
  ExportQueue queue(options);
  queue.Start();
  std::atomic<bool> release{false};
  auto blocking = [&] {
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return absl::OkStatus();
  };
  ASSERT_TRUE(queue.Submit({blocking, 1}).ok());  // taken by the consumer
  // Wait until the consumer holds the first request, then fill the single slot.
  while (queue.size() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(queue.Submit({blocking, 1}).ok());
  absl::Status full = queue.Submit({blocking, 5});
  EXPECT_EQ(full.message(), "sending queue is full");
  EXPECT_EQ(ReceiverCode(full), absl::StatusCode::kUnavailable);
  EXPECT_EQ(metrics.GetCounter("otelcol_exporter_enqueue_failed_spans_total", "", {{"exporter", "otlp"}})->value(), 5);
  release = true;
  queue.Shutdown(absl::Now() + absl::Seconds(5));
}

TEST(ExportQueueTest, ShutdownDrainsEverythingQueued) {
  MetricsRegistry metrics;
  ExportQueue::Options options = TestOptions(&metrics);
  options.queue.num_consumers = 2;
  ExportQueue queue(options);
  queue.Start();
  std::atomic<int> sent{0};
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(queue.Submit({[&] {
                                std::this_thread::sleep_for(std::chrono::microseconds(200));
                                ++sent;
                                return absl::OkStatus();
                              },
                              1})
                    .ok());
  }
  queue.Shutdown(absl::Now() + absl::Seconds(10));
  EXPECT_EQ(sent, 200);
  EXPECT_FALSE(queue.Submit({[] { return absl::OkStatus(); }, 1}).ok());
}

TEST(ExportQueueTest, ShutdownDeadlineBoundsRetries) {
  MetricsRegistry metrics;
  ExportQueue::Options options = TestOptions(&metrics);
  options.retry.initial_interval = absl::Seconds(1);
  options.retry.max_elapsed_time = absl::ZeroDuration();  // forever
  ExportQueue queue(options);
  queue.Start();
  ASSERT_TRUE(queue.Submit({[] { return absl::UnavailableError("down"); }, 3}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const absl::Time start = absl::Now();
  queue.Shutdown(absl::Now() + absl::Milliseconds(200));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(metrics.GetCounter("otelcol_exporter_send_failed_spans_total", "", {{"exporter", "otlp"}})->value(), 3);
}

TEST(ExportQueueTest, DisabledQueueSendsOnCallerThread) {
  ExportQueue::Options options = TestOptions(nullptr);
  options.queue.enabled = false;
  options.retry.enabled = false;
  ExportQueue queue(options);
  queue.Start();
  absl::Status status = queue.Submit({[] { return absl::UnavailableError("down"); }, 1});
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(queue.Submit({[] { return absl::OkStatus(); }, 1}).ok());
}

TEST(QueueSettingsTest, Validates) {
  QueueSettings q;
  q.queue_size = 0;
  EXPECT_EQ(q.Validate().message(), "`queue_size` must be positive");
  q.enabled = false;
  EXPECT_TRUE(q.Validate().ok());
}

}  // namespace
}  // namespace sprout::collector
