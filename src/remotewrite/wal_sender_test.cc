#include "remotewrite/wal_sender.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/fault_injection_env.h"
#include "storage/testing.h"

namespace sprout::remotewrite {
namespace {

using storage::FaultInjectionEnv;
using storage::testing::WaitFor;
using CrashMode = FaultInjectionEnv::CrashMode;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using Clock = std::chrono::steady_clock;

// A backend for the sender: records every send in order, can hold sends until released.
class Backend {
 public:
  SendOutcome Send(const WalEntry& entry) {
    std::unique_lock<std::mutex> lock(mu_);
    const std::string body(entry.body());
    started_.push_back(body);
    ++active_;
    max_active_ = std::max(max_active_, active_);
    cv_.notify_all();
    cv_.wait(lock, [&] { return !hold_ || released_.contains(body) || stopping_; });
    --active_;
    if (stopping_ && !released_.contains(body)) return SendOutcome::kStopped;
    finished_.push_back(body);
    cv_.notify_all();
    auto drop = drop_.find(body);
    return drop != drop_.end() ? SendOutcome::kDropped : SendOutcome::kDelivered;
  }
  WalSender::Send AsSend() {
    return [this](const WalEntry& e) { return Send(e); };
  }

  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;
  }
  void Release(const std::string& body) {
    std::lock_guard<std::mutex> lock(mu_);
    released_.insert(body);
    cv_.notify_all();
  }
  void ReleaseAll() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = false;
    cv_.notify_all();
  }
  void Drop(const std::string& body) {
    std::lock_guard<std::mutex> lock(mu_);
    drop_.insert(body);
  }
  // Makes held sends return kStopped (the exporter shutting down).
  void Stop() {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  bool WaitActive(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return active_ >= n; });
  }
  std::vector<std::string> started() {
    std::lock_guard<std::mutex> lock(mu_);
    return started_;
  }
  std::vector<std::string> finished() {
    std::lock_guard<std::mutex> lock(mu_);
    return finished_;
  }
  int max_active() {
    std::lock_guard<std::mutex> lock(mu_);
    return max_active_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;
  bool stopping_ = false;
  std::set<std::string> released_;
  std::set<std::string> drop_;
  std::vector<std::string> started_;
  std::vector<std::string> finished_;
  int active_ = 0;
  int max_active_ = 0;
};

class WalSenderTest : public ::testing::Test {
 protected:
  std::unique_ptr<Wal> OpenWal() {
    WalOptions options;
    options.env = &env_;
    options.directory = "/wal";
    auto wal = Wal::Open(options);
    EXPECT_TRUE(wal.ok()) << wal.status();
    return wal.ok() ? std::move(*wal) : nullptr;
  }
  // Appends one batch: one request per (shard, body).
  void Append(Wal& wal, const std::vector<std::pair<int, std::string>>& requests, int shards) {
    std::vector<WalRequest> batch;
    for (const auto& [shard, body] : requests) {
      batch.push_back({static_cast<uint16_t>(shard), static_cast<uint16_t>(shards), body});
    }
    ASSERT_TRUE(wal.Append(batch, absl::Now()).ok());
  }
  WalSenderOptions Options(int senders) {
    WalSenderOptions options;
    options.senders = senders;
    options.commit_interval = absl::Hours(1);  // commits only when a test says so (Stop)
    return options;
  }
  // A restart: opens the WAL again and returns the bodies one sender then delivers, in order.
  std::vector<std::string> DeliveredAfterRestart() {
    auto wal = OpenWal();
    if (wal == nullptr) return {};
    Backend backend;
    WalSender sender(wal.get(), Options(1), backend.AsSend());
    EXPECT_TRUE(sender.Start().ok());
    EXPECT_TRUE(sender.Drain(absl::Now() + absl::Seconds(10)));
    EXPECT_TRUE(sender.Stop().ok());
    return backend.finished();
  }

  FaultInjectionEnv env_;
};

// Shard of a body "s<shard>-<n>".
int ShardOf(const std::string& body) { return body[1] - '0'; }

TEST_F(WalSenderTest, ShardsAreSentInParallelEachInOrder) {
  auto wal = OpenWal();
  ASSERT_NE(wal, nullptr);
  for (int n = 0; n < 20; ++n) {
    Append(*wal,
           {{0, absl::StrCat("s0-", n)},
            {1, absl::StrCat("s1-", n)},
            {2, absl::StrCat("s2-", n)},
            {3, absl::StrCat("s3-", n)}},
           4);
  }
  Backend backend;
  backend.Hold();
  WalSender sender(wal.get(), Options(4), backend.AsSend());
  ASSERT_TRUE(sender.Start().ok());
  // Four sends at once, one per shard: with a single sender this never happens.
  ASSERT_TRUE(backend.WaitActive(4)) << "fewer than 4 requests were ever in flight together";
  backend.ReleaseAll();
  ASSERT_TRUE(sender.Drain(absl::Now() + absl::Seconds(10)));
  EXPECT_EQ(backend.max_active(), 4);
  std::map<int, std::vector<std::string>> per_shard;
  for (const std::string& body : backend.finished()) per_shard[ShardOf(body)].push_back(body);
  for (int shard = 0; shard < 4; ++shard) {
    std::vector<std::string> expected;
    for (int n = 0; n < 20; ++n) expected.push_back(absl::StrCat("s", shard, "-", n));
    EXPECT_THAT(per_shard[shard], ElementsAreArray(expected)) << "shard " << shard;
  }
  ASSERT_TRUE(sender.Stop().ok());
}

TEST_F(WalSenderTest, AThreadThatCannotStartFailsStartAndStopsTheOthers) {
  auto wal = OpenWal();
  ASSERT_NE(wal, nullptr);
  Append(*wal, {{0, "s0-0"}}, 4);
  Backend backend;
  WalSenderOptions options = Options(4);
  options.name = "prometheusremotewrite";
  int started = 0;
  // The dispatcher and two senders start; the third sender cannot.
  options.start_thread = [&started](std::function<void()> body) -> absl::StatusOr<std::thread> {
    if (++started == 4) return absl::ResourceExhaustedError("Resource temporarily unavailable");
    return std::thread(std::move(body));
  };
  WalSender sender(wal.get(), options, backend.AsSend());
  const absl::Status status = sender.Start();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(),
            "prometheusremotewrite: cannot start the WAL's threads: Resource temporarily "
            "unavailable");
  EXPECT_EQ(started, 4);
  // The threads that did start were joined: stopping again is a no-op, and destroying the
  // sender does not end the process (a joinable std::thread would).
  EXPECT_TRUE(sender.Stop().ok());
}

TEST_F(WalSenderTest, AnotherShardCountWaitsForTheRecordsBeforeIt) {
  auto wal = OpenWal();
  ASSERT_NE(wal, nullptr);
  // Written with 4 shards (before a restart), then with 2: a series in shard 3 of 4 may be in
  // shard 1 of 2, which another sender serves.
  Append(*wal, {{3, "s3-old"}}, 4);
  Append(*wal, {{1, "s1-new"}, {0, "s0-new"}}, 2);
  Backend backend;
  backend.Hold();
  std::atomic<int> read{0};
  WalSender::Callbacks callbacks;
  callbacks.on_read = [&](const WalEntry&) { ++read; };
  WalSender sender(wal.get(), Options(4), backend.AsSend(), callbacks);
  ASSERT_TRUE(sender.Start().ok());
  ASSERT_TRUE(backend.WaitActive(1));
  // The dispatcher has read the new epoch's first record; it must not start while the old
  // record is in flight. (Without the barrier it starts within microseconds on sender 1.)
  ASSERT_TRUE(WaitFor([&] { return read.load() >= 2; }));
  EXPECT_FALSE(
      WaitFor([&] { return backend.started().size() > 1; }, std::chrono::milliseconds(200)))
      << "a record of the next epoch started before the previous epoch was done";
  backend.ReleaseAll();
  ASSERT_TRUE(sender.Drain(absl::Now() + absl::Seconds(10)));
  const std::vector<std::string> started = backend.started();
  ASSERT_EQ(started.size(), 3u);
  EXPECT_EQ(started[0], "s3-old");
  ASSERT_TRUE(sender.Stop().ok());
}

TEST_F(WalSenderTest, ReadAheadIsBoundedByBufferSize) {
  auto wal = OpenWal();
  ASSERT_NE(wal, nullptr);
  for (int n = 0; n < 10; ++n) Append(*wal, {{0, absl::StrCat("s0-", n)}}, 1);
  Backend backend;
  backend.Hold();
  std::atomic<int> read{0};
  WalSender::Callbacks callbacks;
  callbacks.on_read = [&](const WalEntry&) { ++read; };
  WalSenderOptions options = Options(1);
  options.max_in_flight = 3;
  WalSender sender(wal.get(), options, backend.AsSend(), callbacks);
  ASSERT_TRUE(sender.Start().ok());
  // The fourth record is read and waits for room.
  ASSERT_TRUE(WaitFor([&] { return read.load() == 4; }));
  EXPECT_EQ(sender.in_flight(), 3);
  backend.ReleaseAll();
  ASSERT_TRUE(sender.Drain(absl::Now() + absl::Seconds(10)));
  EXPECT_EQ(backend.finished().size(), 10u);
  ASSERT_TRUE(sender.Stop().ok());
}

TEST_F(WalSenderTest, TheCursorStopsAtTheFirstRecordNotDone) {
  auto wal = OpenWal();
  ASSERT_NE(wal, nullptr);
  Append(*wal, {{0, "s0-a"}, {1, "s1-a"}, {1, "s1-b"}}, 2);
  Backend backend;
  backend.Hold();
  backend.Release("s1-a");
  backend.Release("s1-b");
  WalSender sender(wal.get(), Options(2), backend.AsSend());
  ASSERT_TRUE(sender.Start().ok());
  ASSERT_TRUE(WaitFor([&] { return backend.finished().size() == 2; }));
  // Shard 1 is done, shard 0's record (first in the log) is not: nothing is delivered yet.
  EXPECT_EQ(wal->delivered().segment, 0u);
  backend.Release("s0-a");
  ASSERT_TRUE(sender.Drain(absl::Now() + absl::Seconds(10)));
  EXPECT_EQ(wal->delivered(), wal->end());
  ASSERT_TRUE(sender.Stop().ok());
  EXPECT_EQ(wal->committed(), wal->end());
}

TEST_F(WalSenderTest, CommitsLazilySoAppendsCostOneSyncEach) {
  auto wal = OpenWal();
  ASSERT_NE(wal, nullptr);
  Backend backend;
  WalSender sender(wal.get(), Options(2), backend.AsSend());
  ASSERT_TRUE(sender.Start().ok());
  const FaultInjectionEnv::Stats before = env_.stats();
  for (int n = 0; n < 50; ++n) {
    Append(*wal, {{0, absl::StrCat("s0-", n)}, {1, absl::StrCat("s1-", n)}}, 2);
  }
  ASSERT_TRUE(sender.Drain(absl::Now() + absl::Seconds(10)));
  EXPECT_EQ(backend.finished().size(), 100u);
  // 50 batches: 50 fdatasyncs, no directory sync, nothing for the cursor until it is committed.
  EXPECT_EQ(env_.stats().file_syncs - before.file_syncs, 50);
  EXPECT_EQ(env_.stats().dir_syncs - before.dir_syncs, 0);
  ASSERT_TRUE(sender.Stop().ok());
  EXPECT_EQ(env_.stats().file_syncs - before.file_syncs, 51);
}

TEST_F(WalSenderTest, AfterACrashOnlyWhatWasDeliveredSinceTheLastCommitIsSentAgain) {
  {
    auto wal = OpenWal();
    ASSERT_NE(wal, nullptr);
    Backend backend;
    WalSender sender(wal.get(), Options(1), backend.AsSend());
    ASSERT_TRUE(sender.Start().ok());
    for (int n = 0; n < 6; ++n) Append(*wal, {{0, absl::StrCat("s0-", n)}}, 1);
    ASSERT_TRUE(sender.Drain(absl::Now() + absl::Seconds(10)));
    ASSERT_TRUE(wal->Commit().ok());  // what the commit interval does
    for (int n = 6; n < 10; ++n) Append(*wal, {{0, absl::StrCat("s0-", n)}}, 1);
    ASSERT_TRUE(sender.Drain(absl::Now() + absl::Seconds(10)));
    EXPECT_EQ(backend.finished().size(), 10u);
    // The machine dies: no Stop, no final commit.
    env_.SimulateCrash(CrashMode::kDropUnsynced);
    backend.Stop();
  }
  EXPECT_THAT(DeliveredAfterRestart(), ElementsAre("s0-6", "s0-7", "s0-8", "s0-9"));
}

TEST_F(WalSenderTest, DroppedRecordsAreDoneStoppedOnesStay) {
  {
    auto wal = OpenWal();
    ASSERT_NE(wal, nullptr);
    Append(*wal, {{0, "s0-refused"}}, 1);
    Append(*wal, {{0, "s0-stuck"}}, 1);
    Backend backend;
    backend.Hold();
    backend.Release("s0-refused");
    backend.Drop("s0-refused");
    WalSender sender(wal.get(), Options(1), backend.AsSend());
    ASSERT_TRUE(sender.Start().ok());
    ASSERT_TRUE(backend.WaitActive(1));
    ASSERT_TRUE(WaitFor([&] { return backend.started().size() == 2; }));
    EXPECT_FALSE(sender.Drain(absl::Now() + absl::Milliseconds(50)));
    backend.Stop();  // shutting down while "s0-stuck" is being sent
    ASSERT_TRUE(sender.Stop().ok());
  }
  EXPECT_THAT(DeliveredAfterRestart(), ElementsAre("s0-stuck"));
}

TEST_F(WalSenderTest, DrainWakesWhenTheLastDeliveryLands) {
  auto wal = OpenWal();
  ASSERT_NE(wal, nullptr);
  Append(*wal, {{0, "s0-last"}}, 1);
  Backend backend;
  backend.Hold();
  WalSender sender(wal.get(), Options(1), backend.AsSend());
  ASSERT_TRUE(sender.Start().ok());
  ASSERT_TRUE(backend.WaitActive(1));
  std::future<bool> drained =
      std::async(std::launch::async, [&] { return sender.Drain(absl::Now() + absl::Seconds(30)); });
  // The delivery lands exactly while Drain waits.
  ASSERT_TRUE(WaitFor([&] { return sender.drain_waiters() == 1; }));
  const auto released = Clock::now();
  backend.ReleaseAll();
  EXPECT_TRUE(drained.get());
  EXPECT_LT(Clock::now() - released, std::chrono::seconds(5));
  ASSERT_TRUE(sender.Stop().ok());
}

TEST_F(WalSenderTest, ReadFailuresAreRetriedAndReported) {
  auto wal = OpenWal();
  ASSERT_NE(wal, nullptr);
  Append(*wal, {{0, "s0-a"}}, 1);
  env_.InjectFault({.ops = FaultInjectionEnv::kRead, .path_contains = ".log", .count = 2});
  std::atomic<int> failures{0};
  std::atomic<int> oks{0};
  WalSender::Callbacks callbacks;
  callbacks.on_read_failure = [&](const absl::Status&, absl::Duration) { ++failures; };
  callbacks.on_read_ok = [&] { ++oks; };
  Backend backend;
  WalSenderOptions options = Options(1);
  options.read_retry_initial = absl::Milliseconds(1);
  WalSender sender(wal.get(), options, backend.AsSend(), callbacks);
  ASSERT_TRUE(sender.Start().ok());
  ASSERT_TRUE(sender.Drain(absl::Now() + absl::Seconds(10)));
  EXPECT_EQ(failures.load(), 2);
  EXPECT_GE(oks.load(), 1);
  EXPECT_THAT(backend.finished(), ElementsAre("s0-a"));
  ASSERT_TRUE(sender.Stop().ok());
}

}  // namespace
}  // namespace sprout::remotewrite
