// Delivers what the remote-write WAL holds with several senders in parallel while every series
// keeps its order.
//
// Sharding: the writer (the exporter; the generator uses one shard) puts each series in shard
// `SeriesShard(labels, shards)` (client.h) when it appends a batch (one request per shard), and a
// record remembers its shard and the shard count. One dispatcher reads the log in order and hands
// each record to sender `shard % senders`; a sender sends its records one at a time, in log order.
// So every record of one series goes through one sender, in the order it was appended. Records
// written with another shard count (the configuration changed between restarts) or migrated from
// the previous format form another *epoch*: the dispatcher lets none of them start before every
// record of the epoch before is done (a barrier), since their series map to other senders.
//
// At most `max_in_flight` records (and `max_in_flight_bytes`) are read ahead of delivery. The
// delivered position (the end of the longest run of done records from the cursor) is handed to
// the WAL, whose cursor is committed every `commit_interval` (and at Stop); segments before it
// are deleted every `truncate_interval`. After a crash, at most what was delivered in the last
// commit interval, plus what was in flight, is sent again.
//
// Thread-safety: the public methods may be called from any thread. `send` runs on the sender
// threads and must return kStopped soon after the caller begins stopping (Client::Close cancels
// its HTTP requests at the shutdown deadline).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/thread_pool.h"
#include "remotewrite/wal.h"

namespace sprout::remotewrite {

struct WalSenderOptions {
  // Who delivers (the start of Start()'s error text): the exporter's "prometheusremotewrite".
  std::string name = "remotewrite";
  int senders = 1;
  int64_t max_in_flight = 300;  // `wal.buffer_size`
  uint64_t max_in_flight_bytes = 32 << 20;
  absl::Duration commit_interval = absl::Seconds(1);
  absl::Duration truncate_interval = absl::Minutes(1);  // `wal.truncate_frequency`
  absl::Duration read_retry_initial = absl::Milliseconds(100);
  absl::Duration read_retry_max = absl::Seconds(10);
  ThreadPool::ThreadStarter start_thread = StartThread;  // tests inject failures here
};

enum class SendOutcome {
  kDelivered,  // the backend took it
  kDropped,    // refused for good (a permanent error): done, never sent again
  kStopped,    // stopping: stays in the log for the next start
};

class WalSender {
 public:
  using Send = std::function<SendOutcome(const WalEntry&)>;
  struct Callbacks {
    std::function<void(const WalEntry&)> on_read;  // a record was read (metrics)
    // A read failed (retried with backoff), or reads work again (OK).
    std::function<void(const absl::Status&, absl::Duration retry_in)> on_read_failure;
    std::function<void()> on_read_ok;
    std::function<void(const absl::Status&)> on_commit_failure;  // retried at the next interval
  };

  WalSender(Wal* wal, WalSenderOptions options, Send send, Callbacks callbacks = {});
  ~WalSender();  // Stop()

  // Starts the dispatcher, sender and committer threads: all of them, or none (those already
  // started are stopped and joined) and ResourceExhausted naming the thread.
  absl::Status Start();

  // Waits until everything durable in the WAL at the time of the call was delivered (or
  // dropped), or `deadline`. True when it was.
  bool Drain(absl::Time deadline);

  // Stops reading; senders end after the send they are in. Then commits the cursor.
  absl::Status Stop();

  // The append time of the oldest record read and not yet done (nullopt when none is known).
  std::optional<absl::Time> OldestInFlight() const;

  // For tests: threads waiting in Drain; records in flight.
  int drain_waiters() const;
  int64_t in_flight() const;

 private:
  struct Slot {
    storage::LogPosition end;
    uint64_t bytes = 0;
    std::optional<absl::Time> appended;
    bool done = false;
  };
  struct Item {
    uint64_t sequence;
    WalEntry entry;
  };

  void DispatchLoop();
  void SendLoop(int sender);
  void CommitLoop();
  // Marks slot `sequence` done and moves the delivered position; requires mu_.
  void DoneLocked(uint64_t sequence);
  // Waits `delay` unless stopping; false when stopping. Requires nothing.
  bool WaitUnlessStopping(absl::Duration delay);

  Wal* const wal_;
  const WalSenderOptions options_;
  const Send send_;
  const Callbacks callbacks_;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // state changes: queues, slots, stop
  bool started_ = false;
  bool stopping_ = false;
  std::vector<std::deque<Item>> queues_;  // one per sender
  std::deque<Slot> slots_;                // read and not yet delivered, in log order
  uint64_t first_sequence_ = 0;           // the sequence number of slots_.front()
  uint64_t next_sequence_ = 0;
  uint64_t in_flight_bytes_ = 0;
  int epoch_ = -1;  // the shard count of the records in flight (0: migrated)
  storage::LogPosition delivered_;
  int drain_waiters_ = 0;

  std::thread dispatcher_;
  std::vector<std::thread> senders_;
  std::thread committer_;
};

}  // namespace sprout::remotewrite
