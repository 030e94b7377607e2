#include "remotewrite/wal_sender.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace sprout::remotewrite {

WalSender::WalSender(Wal* wal, WalSenderOptions options, Send send, Callbacks callbacks)
    : wal_(wal),
      options_(std::move(options)),
      send_(std::move(send)),
      callbacks_(std::move(callbacks)),
      queues_(static_cast<size_t>(std::max(1, options_.senders))) {}

WalSender::~WalSender() { (void)Stop(); }

absl::Status WalSender::Start() {
  std::unique_lock<std::mutex> lock(mu_);
  if (started_) return absl::OkStatus();
  started_ = true;
  delivered_ = wal_->delivered();
  absl::Status status = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(dispatcher_, options_.start_thread([this] { DispatchLoop(); }));
    for (size_t i = 0; i < queues_.size(); ++i) {
      ASSIGN_OR_RETURN(std::thread sender,
                       options_.start_thread([this, i] { SendLoop(static_cast<int>(i)); }));
      senders_.push_back(std::move(sender));
    }
    ASSIGN_OR_RETURN(committer_, options_.start_thread([this] { CommitLoop(); }));
    return absl::OkStatus();
  }();
  if (status.ok()) return status;
  lock.unlock();
  (void)Stop();  // joins the threads that did start
  return absl::Status(
      status.code(),
      absl::StrCat(options_.name, ": cannot start the WAL's threads: ", status.message()));
}

bool WalSender::WaitUnlessStopping(absl::Duration delay) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, absl::ToChronoNanoseconds(delay), [this] { return stopping_; });
  return !stopping_;
}

void WalSender::DispatchLoop() {
  std::unique_ptr<Wal::Reader> reader = wal_->NewReader();
  absl::Duration retry = options_.read_retry_initial;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    absl::StatusOr<std::optional<WalEntry>> next = reader->Next();
    if (!next.ok()) {
      if (callbacks_.on_read_failure) callbacks_.on_read_failure(next.status(), retry);
      if (!WaitUnlessStopping(retry)) return;
      retry = std::min(retry * 2, options_.read_retry_max);
      continue;
    }
    retry = options_.read_retry_initial;
    if (callbacks_.on_read_ok) callbacks_.on_read_ok();
    if (!next->has_value()) {
      {
        // Caught up: what lies before the reader (damage it skipped included) is done once
        // nothing is in flight.
        std::lock_guard<std::mutex> lock(mu_);
        if (slots_.empty() && reader->position() > delivered_) {
          delivered_ = reader->position();
          wal_->SetDelivered(delivered_);
          cv_.notify_all();
        }
      }
      wal_->WaitForAppend(reader->position(), absl::Now() + absl::Seconds(1));
      continue;
    }
    WalEntry& entry = **next;
    if (callbacks_.on_read) callbacks_.on_read(entry);
    const int epoch = entry.migrated ? 0 : entry.shards;
    const uint64_t bytes = entry.record.size();
    std::unique_lock<std::mutex> lock(mu_);
    // A barrier between epochs: their series map to other senders.
    cv_.wait(lock, [&] { return stopping_ || slots_.empty() || epoch == epoch_; });
    epoch_ = epoch;
    cv_.wait(lock, [&] {
      return stopping_ || slots_.empty() ||
             (static_cast<int64_t>(slots_.size()) < options_.max_in_flight &&
              in_flight_bytes_ + bytes <= options_.max_in_flight_bytes);
    });
    if (stopping_) return;
    const uint64_t sequence = next_sequence_++;
    if (slots_.empty()) first_sequence_ = sequence;
    slots_.push_back(Slot{entry.end, bytes, entry.appended, false});
    in_flight_bytes_ += bytes;
    const size_t sender = entry.shard % queues_.size();
    queues_[sender].push_back(Item{sequence, std::move(entry)});
    cv_.notify_all();
  }
}

void WalSender::SendLoop(int sender) {
  std::deque<Item>& queue = queues_[static_cast<size_t>(sender)];
  while (true) {
    Item item;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue.empty(); });
      if (stopping_) return;
      item = std::move(queue.front());
      queue.pop_front();
    }
    const SendOutcome outcome = send_(item.entry);
    std::lock_guard<std::mutex> lock(mu_);
    if (outcome == SendOutcome::kStopped) return;  // stays in the log
    DoneLocked(item.sequence);
  }
}

void WalSender::DoneLocked(uint64_t sequence) {
  Slot& slot = slots_[sequence - first_sequence_];
  slot.done = true;
  in_flight_bytes_ -= slot.bytes;
  bool moved = false;
  while (!slots_.empty() && slots_.front().done) {
    delivered_ = std::max(delivered_, slots_.front().end);
    slots_.pop_front();
    ++first_sequence_;
    moved = true;
  }
  if (moved) wal_->SetDelivered(delivered_);
  cv_.notify_all();
}

void WalSender::CommitLoop() {
  absl::Time last_truncate = absl::Now();
  while (WaitUnlessStopping(options_.commit_interval)) {
    const bool truncate = absl::Now() - last_truncate >= options_.truncate_interval;
    absl::Status status = wal_->Commit(truncate);
    if (!status.ok()) {
      if (callbacks_.on_commit_failure) callbacks_.on_commit_failure(status);
    } else if (truncate) {
      last_truncate = absl::Now();
    }
  }
}

bool WalSender::Drain(absl::Time deadline) {
  const storage::LogPosition target = wal_->end();
  std::unique_lock<std::mutex> lock(mu_);
  ++drain_waiters_;
  cv_.notify_all();  // for tests watching drain_waiters()
  auto drained = [&] { return delivered_ >= target; };
  if (deadline == absl::InfiniteFuture()) {
    cv_.wait(lock, drained);
  } else {
    cv_.wait_until(lock, absl::ToChronoTime(deadline), drained);
  }
  --drain_waiters_;
  return drained();
}

absl::Status WalSender::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_ || stopping_) return absl::OkStatus();
    stopping_ = true;
  }
  cv_.notify_all();
  wal_->Wake();
  if (dispatcher_.joinable()) dispatcher_.join();
  for (std::thread& t : senders_) t.join();
  if (committer_.joinable()) committer_.join();
  absl::Status status = wal_->Commit(/*truncate=*/true);
  if (!status.ok() && callbacks_.on_commit_failure) callbacks_.on_commit_failure(status);
  return status;
}

std::optional<absl::Time> WalSender::OldestInFlight() const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const Slot& slot : slots_) {
    if (!slot.done && slot.appended.has_value()) return slot.appended;
  }
  return std::nullopt;
}

int WalSender::drain_waiters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return drain_waiters_;
}

int64_t WalSender::in_flight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(slots_.size());
}

}  // namespace sprout::remotewrite
