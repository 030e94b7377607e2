#include "collector/exporter_helper.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "net/grpc_client.h"
#include "net/test_sockets.h"
#include "otlp/consumer_error.h"

namespace sprout::collector {
namespace {

// An attempt that completes before returning, with the status `f` gives.
template <typename F>
std::function<void(ExportQueue::Done)> Sync(F f) {
  return [f](ExportQueue::Done done) mutable { done(f()); };
}

// Attempts that stay in flight until the test completes them (as a slow backend would).
class Deferred {
 public:
  std::function<void(ExportQueue::Done)> Attempt() {
    return [this](ExportQueue::Done done) {
      std::lock_guard<std::mutex> lock(mu_);
      pending_.push_back(std::move(done));
    };
  }
  size_t in_flight() {
    std::lock_guard<std::mutex> lock(mu_);
    return pending_.size();
  }
  // Completes every attempt in flight from another thread.
  void CompleteAll(absl::Status status) {
    std::vector<ExportQueue::Done> done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      done.swap(pending_);
    }
    std::thread([&] {
      for (auto& d : done) d(status);
    }).join();
  }

 private:
  std::mutex mu_;
  std::vector<ExportQueue::Done> pending_;
};

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

double Value(MetricsRegistry& metrics, const std::string& name) {
  return metrics.GetCounter(name, "", {{"exporter", "otlp"}})->value();
}

TEST(ExportQueueTest, RetriesRetryableErrorsUntilSuccess) {
  MetricsRegistry metrics;
  ExportQueue queue(TestOptions(&metrics));
  queue.Start();
  std::atomic<int> attempts{0};
  auto flaky = [&] { return ++attempts < 3 ? absl::UnavailableError("down") : absl::OkStatus(); };
  ASSERT_TRUE(queue.Submit({Sync(flaky), 7}).ok());
  queue.Shutdown(absl::Now() + absl::Seconds(5));
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(Value(metrics, "otelcol_exporter_sent_spans_total"), 7);
}

TEST(ExportQueueTest, PermanentErrorsAreDroppedAtOnce) {
  MetricsRegistry metrics;
  ExportQueue queue(TestOptions(&metrics));
  queue.Start();
  std::atomic<int> attempts{0};
  auto bad = [&] {
    ++attempts;
    return otlp::MarkPermanent(absl::InvalidArgumentError("bad data"));
  };
  ASSERT_TRUE(queue.Submit({Sync(bad), 2}).ok());
  queue.Shutdown(absl::Now() + absl::Seconds(5));
  EXPECT_EQ(attempts, 1);
  EXPECT_EQ(Value(metrics, "otelcol_exporter_send_failed_spans_total"), 2);
}

TEST(ExportQueueTest, AtMostNumConsumersInFlightThenQueueThenRefuse) {
  MetricsRegistry metrics;
  ExportQueue::Options options = TestOptions(&metrics);
  options.queue.num_consumers = 2;
  options.queue.queue_size = 3;
  ExportQueue queue(options);
  queue.Start();
  Deferred backend;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(queue.Submit({backend.Attempt(), 1}).ok()) << i;
  EXPECT_EQ(backend.in_flight(), 2u);
  EXPECT_EQ(queue.size(), 3);
  absl::Status full = queue.Submit({backend.Attempt(), 5});
  EXPECT_EQ(full.message(), "sending queue is full");
  EXPECT_EQ(otlp::ReceiverCode(full), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Value(metrics, "otelcol_exporter_enqueue_failed_spans_total"), 5);
  // Each completion hands its sender to the next queued request.
  backend.CompleteAll(absl::OkStatus());
  EXPECT_EQ(backend.in_flight(), 2u);
  EXPECT_EQ(queue.size(), 1);
  backend.CompleteAll(absl::OkStatus());
  backend.CompleteAll(absl::OkStatus());
  EXPECT_EQ(queue.size(), 0);
  EXPECT_EQ(Value(metrics, "otelcol_exporter_sent_spans_total"), 5);
  queue.Shutdown(absl::Now() + absl::Seconds(5));
}

TEST(ExportQueueTest, ShutdownDrainsEverythingQueued) {
  MetricsRegistry metrics;
  ExportQueue::Options options = TestOptions(&metrics);
  options.queue.num_consumers = 2;
  ExportQueue queue(options);
  queue.Start();
  std::atomic<int> sent{0};
  // Completes on a thread of its own a little later, as a network call does.
  auto slow = [&](ExportQueue::Done done) {
    std::thread([&sent, done = std::move(done)] {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      ++sent;
      done(absl::OkStatus());
    }).detach();
  };
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(queue.Submit({slow, 1}).ok());
  queue.Shutdown(absl::Now() + absl::Seconds(10));
  EXPECT_EQ(sent, 200);
  EXPECT_EQ(Value(metrics, "otelcol_exporter_sent_spans_total"), 200);
  EXPECT_FALSE(queue.Submit({Sync([] { return absl::OkStatus(); }), 1}).ok());
}

TEST(ExportQueueTest, ManyInlineCompletionsDoNotNestDeeply) {
  MetricsRegistry metrics;
  ExportQueue::Options options = TestOptions(&metrics);
  options.queue.num_consumers = 1;
  options.queue.queue_size = 100000;
  ExportQueue queue(options);
  queue.Start();
  Deferred first;
  ASSERT_TRUE(queue.Submit({first.Attempt(), 1}).ok());
  for (int i = 0; i < 50000; ++i) {
    ASSERT_TRUE(queue.Submit({Sync([] { return absl::OkStatus(); }), 1}).ok());
  }
  first.CompleteAll(absl::OkStatus());  // the rest now complete inline, one after another
  queue.Shutdown(absl::Now() + absl::Seconds(20));
  EXPECT_EQ(Value(metrics, "otelcol_exporter_sent_spans_total"), 50001);
}

TEST(ExportQueueTest, ShutdownDeadlineBoundsRetries) {
  MetricsRegistry metrics;
  ExportQueue::Options options = TestOptions(&metrics);
  options.retry.initial_interval = absl::Seconds(1);
  options.retry.max_elapsed_time = absl::ZeroDuration();  // forever
  ExportQueue queue(options);
  queue.Start();
  ASSERT_TRUE(queue.Submit({Sync([] { return absl::UnavailableError("down"); }), 3}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const absl::Time start = absl::Now();
  queue.Shutdown(absl::Now() + absl::Milliseconds(200));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(Value(metrics, "otelcol_exporter_send_failed_spans_total"), 3);
}

TEST(ExportQueueTest, ServerRetryDelayIsHonoured) {
  ExportQueue::Options options = TestOptions(nullptr);
  options.retry.initial_interval = absl::Milliseconds(1);
  ExportQueue queue(options);
  queue.Start();
  std::atomic<int> attempts{0};
  absl::Time first, second;
  auto throttled = [&] {
    if (++attempts == 1) {
      first = absl::Now();
      return otlp::WithRetryDelay(absl::ResourceExhaustedError("slow down"),
                                  absl::Milliseconds(300));
    }
    second = absl::Now();
    return absl::OkStatus();
  };
  ASSERT_TRUE(queue.Submit({Sync(throttled), 1}).ok());
  queue.Shutdown(absl::Now() + absl::Seconds(5));
  EXPECT_EQ(attempts, 2);
  EXPECT_GE(second - first, absl::Milliseconds(290));
}

TEST(ExportQueueTest, DisabledQueueReturnsTheFinalResult) {
  ExportQueue::Options options = TestOptions(nullptr);
  options.queue.enabled = false;
  options.retry.enabled = false;
  ExportQueue queue(options);
  queue.Start();
  absl::Status status = queue.Submit({Sync([] { return absl::UnavailableError("down"); }), 1});
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(queue.Submit({Sync([] { return absl::OkStatus(); }), 1}).ok());
  queue.Shutdown(absl::Now() + absl::Seconds(1));
}

TEST(ExportQueueTest, DisabledQueueRetriesBeforeReturning) {
  ExportQueue::Options options = TestOptions(nullptr);
  options.queue.enabled = false;
  ExportQueue queue(options);
  queue.Start();
  std::atomic<int> attempts{0};
  auto flaky = [&] { return ++attempts < 3 ? absl::UnavailableError("down") : absl::OkStatus(); };
  EXPECT_TRUE(queue.Submit({Sync(flaky), 1}).ok());
  EXPECT_EQ(attempts, 3);
  queue.Shutdown(absl::Now() + absl::Seconds(1));
}

TEST(ExportQueueTest, AttemptsStillInFlightAtTheDeadlineAreCancelled) {
  MetricsRegistry metrics;
  ExportQueue::Options options = TestOptions(&metrics);
  Deferred backend;  // never answers by itself
  std::atomic<int> cancels{0};
  options.cancel_in_flight = [&] {
    ++cancels;
    backend.CompleteAll(absl::CancelledError("cancelled"));
  };
  ExportQueue queue(options);
  queue.Start();
  ASSERT_TRUE(queue.Submit({backend.Attempt(), 4}).ok());
  const absl::Time start = absl::Now();
  queue.Shutdown(absl::Now() + absl::Milliseconds(100));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(cancels, 1);
  EXPECT_EQ(Value(metrics, "otelcol_exporter_send_failed_spans_total"), 4);
}

TEST(ExportQueueTest, NoAttemptStartsAfterTheInFlightOnesWereCancelled) {
  // The first attempt fails at once and waits for its retry; every later attempt would hang on a
  // silent backend. When the retry comes up after cancel_in_flight ran it must not be started
  // (it would never end), and Shutdown must return.
  MetricsRegistry metrics;
  ExportQueue::Options options = TestOptions(&metrics);
  options.retry.initial_interval = absl::Milliseconds(200);
  options.retry.max_interval = absl::Milliseconds(200);
  options.retry.randomization_factor = 0;
  Deferred backend;
  std::atomic<int> attempts{0};
  auto deferred = backend.Attempt();
  options.cancel_in_flight = [&] { backend.CompleteAll(absl::CancelledError("cancelled")); };
  ExportQueue queue(options);
  queue.Start();
  ASSERT_TRUE(queue
                  .Submit({[&](ExportQueue::Done done) {
                             if (attempts++ == 0) {
                               done(absl::UnavailableError("down"));
                             } else {
                               deferred(std::move(done));
                             }
                           },
                           3})
                  .ok());
  const absl::Time start = absl::Now();
  queue.Shutdown(absl::Now() + absl::Milliseconds(50));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  // The retry may also make its "one last time" attempt right at the deadline, before the
  // cancellation (which then ends it); what must never happen is an attempt left waiting.
  EXPECT_LE(attempts, 2);
  EXPECT_EQ(backend.in_flight(), 0u);
  EXPECT_EQ(Value(metrics, "otelcol_exporter_send_failed_spans_total"), 3);
}

// The check-then-act race of the export path: Attempt() finds the queue not cancelled and calls
// `send`; before `send` has registered its gRPC call, Shutdown passes its deadline and cancels
// the calls registered so far. A latch holds the sender inside that window until the
// cancellation has run, as a descheduled thread would. The otlp exporter's wiring
// (cancel_in_flight = GrpcClient::Close, sticky) ends the late call at once; with CancelAll()
// (the wiring before) the call, without a timeout (`timeout: 0`), waited on the silent backend
// forever and Shutdown never returned.
TEST(ExportQueueTest, ACallThatRegistersAfterTheCancellationStillEnds) {
  net::testing::SilentListener silent;
  net::GrpcClientOptions client_options;
  client_options.target = absl::StrCat("127.0.0.1:", silent.port());
  client_options.tls = false;
  std::unique_ptr<net::GrpcClient> client = std::move(*net::GrpcClient::Create(client_options));

  ExportQueue::Options options = TestOptions(nullptr);
  std::promise<void> in_window;
  std::promise<void> cancelled;
  std::shared_future<void> cancellation_ran = cancelled.get_future().share();
  options.cancel_in_flight = [&] {
    client->Close();
    cancelled.set_value();
  };
  ExportQueue queue(options);
  queue.Start();
  auto send = [&](ExportQueue::Done done) {
    in_window.set_value();
    cancellation_ran.wait();  // descheduled between the check and the registration
    client->CallSerializedAsync(
        "/test.Svc/Export", "x", absl::ZeroDuration(),
        [done](net::GrpcCallResult result) { done(absl::Status(result.code, result.message)); });
  };
  std::thread submitter([&] { EXPECT_TRUE(queue.Submit({send, 1}).ok()); });
  in_window.get_future().wait();
  std::promise<void> shut_down;
  std::thread stopper([&] {
    queue.Shutdown(absl::Now());
    shut_down.set_value();
  });
  const bool returned =
      shut_down.get_future().wait_for(std::chrono::seconds(20)) == std::future_status::ready;
  EXPECT_TRUE(returned) << "Shutdown hung on a call registered after the cancellation";
  if (!returned) client->CancelAll();  // unstick, so that the test can end
  stopper.join();
  submitter.join();
}

TEST(ExportQueueTest, ShutdownDeadlineSetEarlyStopsRetriesOfABlockedCaller) {
  ExportQueue::Options options = TestOptions(nullptr);
  options.queue.enabled = false;
  options.retry.initial_interval = absl::Milliseconds(20);
  options.retry.max_elapsed_time = absl::ZeroDuration();  // would retry forever
  ExportQueue queue(options);
  queue.Start();
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    queue.SetShutdownDeadline(absl::Now() + absl::Milliseconds(100));
  });
  const absl::Time start = absl::Now();
  absl::Status status = queue.Submit({Sync([] { return absl::UnavailableError("down"); }), 1});
  EXPECT_FALSE(status.ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  stopper.join();
  queue.Shutdown(absl::Now());
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
