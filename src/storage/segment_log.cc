#include "storage/segment_log.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "base/thread_pool.h"
#include "storage/log_writer.h"

namespace sprout::storage {
namespace {

using log::kSegmentHeaderSize;

// The number named by a segment file name, or nullopt for other files.
std::optional<uint64_t> ParseSegmentName(std::string_view name) {
  const std::string_view suffix = log::kSegmentSuffix;
  if (name.size() != log::kSegmentNameDigits + suffix.size()) return std::nullopt;
  if (name.substr(log::kSegmentNameDigits) != suffix) return std::nullopt;
  for (size_t i = 0; i < log::kSegmentNameDigits; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
  }
  uint64_t number = 0;
  if (!absl::SimpleAtoi(AV(name.substr(0, log::kSegmentNameDigits)), &number) || number == 0) {
    return std::nullopt;
  }
  return number;
}

absl::StatusOr<std::string> ReadHeader(const File& file) {
  std::string header(kSegmentHeaderSize, '\0');
  ASSIGN_OR_RETURN(size_t got, file.ReadAt(0, header.size(), header.data()));
  header.resize(got);
  return header;
}

}  // namespace

struct SegmentLog::PendingAppend {
  std::span<const RecordRef> records;
  bool done = false;
  absl::Status status;
  LogPosition end;
  uint64_t cuts = 0;
  std::condition_variable cv;
};

SegmentLog::SegmentLog(SegmentLogOptions options) : options_(std::move(options)) {}

SegmentLog::~SegmentLog() { Close(); }

absl::StatusOr<std::unique_ptr<SegmentLog>> SegmentLog::Open(SegmentLogOptions options) {
  if (options.directory.empty()) {
    return absl::InvalidArgumentError("segment log: directory is empty");
  }
  if (options.env == nullptr) return absl::InvalidArgumentError("segment log: no Env");
  if (options.segment_size < kSegmentHeaderSize + log::kChunkHeaderSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("segment log: segment_size ", options.segment_size, " is too small"));
  }
  if (options.sync == SyncPolicy::kInterval && options.sync_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("segment log: sync_interval must be positive");
  }
  std::unique_ptr<SegmentLog> log(new SegmentLog(std::move(options)));
  RETURN_IF_ERROR(log->Recover());
  if (log->options_.sync == SyncPolicy::kInterval) {
    ASSIGN_OR_RETURN(log->syncer_, StartThread([raw = log.get()] { raw->SyncLoop(); }));
  }
  return log;
}

std::string SegmentLog::SegmentPath(uint64_t segment) const {
  std::string digits = std::to_string(segment);
  digits.insert(0, log::kSegmentNameDigits - digits.size(), '0');
  return JoinPath(options_.directory, absl::StrCat(digits, log::kSegmentSuffix));
}

void SegmentLog::Report(const LogDamage& damage) const {
  if (options_.on_damage) options_.on_damage(damage);
}

absl::Status SegmentLog::Recover() {
  Env* env = options_.env;
  RETURN_IF_ERROR(env->CreateDirs(options_.directory));
  ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(options_.directory));
  std::vector<uint64_t> numbers;
  for (const std::string& name : names) {
    if (std::optional<uint64_t> n = ParseSegmentName(name)) numbers.push_back(*n);
  }
  std::sort(numbers.begin(), numbers.end());

  std::lock_guard<std::mutex> io(io_mu_);
  if (numbers.empty()) {
    RETURN_IF_ERROR(StartSegmentLocked(1));
    Publish();
    return absl::OkStatus();
  }
  for (size_t i = 0; i + 1 < numbers.size(); ++i) {
    // Only the format version is checked here (a newer one must not be skipped as damage);
    // readers check the rest as they go.
    const std::string path = SegmentPath(numbers[i]);
    ASSIGN_OR_RETURN(std::unique_ptr<File> file, env->OpenFile(path, OpenMode::kRead));
    ASSIGN_OR_RETURN(std::string header, ReadHeader(*file));
    absl::StatusOr<uint64_t> parsed = log::ParseSegmentHeader(header, path);
    if (absl::IsFailedPrecondition(parsed.status())) return parsed.status();
    ASSIGN_OR_RETURN(uint64_t size, file->Size());
    std::lock_guard<std::mutex> lock(mu_);
    segments_[numbers[i]] = size;
  }

  const uint64_t last = numbers.back();
  const std::string path = SegmentPath(last);
  ASSIGN_OR_RETURN(std::unique_ptr<File> file, env->OpenFile(path, OpenMode::kReadWrite));
  ASSIGN_OR_RETURN(uint64_t size, file->Size());
  ASSIGN_OR_RETURN(std::string header, ReadHeader(*file));
  absl::StatusOr<uint64_t> parsed = log::ParseSegmentHeader(header, path);
  if (absl::IsFailedPrecondition(parsed.status())) return parsed.status();
  if (!parsed.ok()) {
    if (size > kSegmentHeaderSize) {
      // A damaged header on a segment with records: leave it to the readers (they skip and
      // report it) and write on in a new segment.
      {
        std::lock_guard<std::mutex> lock(mu_);
        segments_[last] = size;
      }
      RETURN_IF_ERROR(StartSegmentLocked(last + 1));
      Publish();
      return absl::OkStatus();
    }
    // The crash came while the segment was being started: it never held a record.
    if (size > 0) {
      Report(LogDamage{path, 0, size, 0,
                       absl::StrCat("cut off at open: incomplete segment header (",
                                    parsed.status().message(), ")")});
    }
    const uint64_t previous = numbers.size() > 1 ? numbers[numbers.size() - 2] : 0;
    RETURN_IF_ERROR(file->Truncate(0));
    RETURN_IF_ERROR(file->Append(log::EncodeSegmentHeader(previous)));
    RETURN_IF_ERROR(file->Sync());
    writer_ = Writer{std::move(file), last, kSegmentHeaderSize, kSegmentHeaderSize};
  } else {
    // Find the end of the last complete record; what follows is an interrupted write.
    log::SegmentFileReader parser(file.get(), last, kSegmentHeaderSize, options_.max_record_size);
    LogRecord record;
    std::vector<LogDamage> damage;  // reported by the readers that read it
    log::SegmentFileReader::Outcome outcome;
    do {
      ASSIGN_OR_RETURN(outcome, parser.Next(size, &record, &damage));
    } while (outcome == log::SegmentFileReader::Outcome::kRecord);
    if (outcome == log::SegmentFileReader::Outcome::kTail) {
      LogDamage tail = parser.tail();
      tail.bytes = size - tail.offset;
      tail.reason = absl::StrCat("cut off at open: ", tail.reason);
      Report(tail);
      RETURN_IF_ERROR(file->Truncate(tail.offset));
      RETURN_IF_ERROR(file->Sync());
      size = tail.offset;
    } else {
      // What the previous process wrote but had not synced (it was killed, or its last sync
      // failed) is replayed by the users: make it durable before it is counted as synced.
      RETURN_IF_ERROR(file->Sync());
    }
    writer_ = Writer{std::move(file), last, size, size};
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    segments_[last] = writer_.size;
  }
  Publish();
  return absl::OkStatus();
}

absl::Status SegmentLog::StartSegmentLocked(uint64_t number) {
  Env* env = options_.env;
  const std::string path = SegmentPath(number);
  uint64_t previous = writer_.file != nullptr ? writer_.segment : 0;
  if (previous == 0) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!segments_.empty()) previous = segments_.rbegin()->first;
  }
  ASSIGN_OR_RETURN(std::unique_ptr<File> file, env->OpenFile(path, OpenMode::kCreateExclusive));
  absl::Status status = file->Append(log::EncodeSegmentHeader(previous));
  // The new name must be durable before records in it are acknowledged.
  if (status.ok()) status = env->SyncDir(options_.directory);
  if (!status.ok()) {
    file.reset();
    (void)env->RemoveFile(path);
    return status;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (writer_.file != nullptr) segments_[writer_.segment] = writer_.size;  // its final size
  writer_ = Writer{std::move(file), number, kSegmentHeaderSize, 0};
  needs_repair_ = false;
  sync_failed_ = false;
  segments_[number] = kSegmentHeaderSize;
  synced_end_ = {number, 0};  // the previous segment was synced before this one was started
  return absl::OkStatus();
}

void SegmentLog::NoteSynced() {
  std::lock_guard<std::mutex> lock(mu_);
  synced_end_ = {writer_.segment, writer_.synced};
}

absl::Status SegmentLog::SyncLocked() {
  if (writer_.synced == writer_.size) return absl::OkStatus();
  absl::Status status = writer_.file->Sync();
  if (!status.ok()) {
    // After a failed sync the page cache no longer tells what is on disk: only what an
    // earlier sync made durable is trusted.
    needs_repair_ = true;
    sync_failed_ = true;
    return status;
  }
  writer_.synced = writer_.size;
  NoteSynced();
  return absl::OkStatus();
}

absl::Status SegmentLog::RepairLocked() {
  File& file = *writer_.file;
  // After a failed write, the earlier writes are intact (with kInterval and kManual they were
  // acknowledged); after a failed sync only what a sync made durable is trusted.
  const uint64_t trusted = sync_failed_ ? writer_.synced : writer_.size;
  const uint64_t keep = std::max(trusted, kSegmentHeaderSize);
  if (sync_failed_ && writer_.size > keep) {
    // Records written after the last good sync are removed: appenders holding marks of them
    // must never hear that they are durable.
    std::lock_guard<std::mutex> lock(mu_);
    ++cuts_;
    recent_cuts_.push_back(Cut{cuts_, {writer_.segment, keep}});
    if (recent_cuts_.size() > kCutHistory) recent_cuts_.pop_front();
  }
  if (sync_failed_ && options_.sync != SyncPolicy::kEveryAppend && writer_.size > keep) {
    // Appends acknowledged (and readable) before they were durable are lost: say so.
    Report(LogDamage{SegmentPath(writer_.segment), keep, writer_.size - keep, 0,
                     "a sync failed: appends acknowledged but not yet durable were cut"});
    std::lock_guard<std::mutex> lock(mu_);
    if (end_.segment == writer_.segment && end_.offset > keep) end_.offset = keep;
    segments_[writer_.segment] = keep;
  }
  if (trusted < kSegmentHeaderSize) {
    // The header itself was never synced.
    RETURN_IF_ERROR(file.Truncate(0));
    uint64_t previous = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = segments_.find(writer_.segment);
      if (it != segments_.begin() && it != segments_.end()) previous = std::prev(it)->first;
    }
    RETURN_IF_ERROR(file.Append(log::EncodeSegmentHeader(previous)));
  } else {
    RETURN_IF_ERROR(file.Truncate(keep));
  }
  RETURN_IF_ERROR(file.Sync());
  writer_.size = keep;
  writer_.synced = keep;
  NoteSynced();
  needs_repair_ = false;
  sync_failed_ = false;
  return absl::OkStatus();
}

absl::Status SegmentLog::WriteGroupLocked(const std::vector<PendingAppend*>& group) {
  if (needs_repair_) RETURN_IF_ERROR(RepairLocked());
  for (PendingAppend* p : group) p->cuts = cuts_;  // cuts_ changes only under io_mu_
  log::ChunkEncoder encoder(writer_.size);
  auto flush = [&]() -> absl::Status {
    if (encoder.empty()) return absl::OkStatus();
    absl::Status status = writer_.file->Append(encoder.pieces());
    if (!status.ok()) {
      needs_repair_ = true;
      return status;
    }
    writer_.size = encoder.offset();
    return absl::OkStatus();
  };
  for (PendingAppend* p : group) {
    for (const RecordRef& record : p->records) {
      uint64_t size = 0;
      for (std::string_view part : record.parts) size += part.size();
      const uint64_t encoded = log::ChunkEncoder::EncodedSize(encoder.offset(), size);
      if (encoder.offset() > kSegmentHeaderSize &&
          encoder.offset() + encoded > options_.segment_size) {
        RETURN_IF_ERROR(flush());
        // The finished segment is complete and durable before the next one exists.
        RETURN_IF_ERROR(SyncLocked());
        RETURN_IF_ERROR(StartSegmentLocked(writer_.segment + 1));
        encoder = log::ChunkEncoder(writer_.size);
      }
      encoder.Add(record.type, record.parts);
    }
    p->end = {writer_.segment, encoder.offset()};
  }
  RETURN_IF_ERROR(flush());
  if (options_.sync == SyncPolicy::kEveryAppend) RETURN_IF_ERROR(SyncLocked());
  return absl::OkStatus();
}

void SegmentLog::Publish() {
  std::lock_guard<std::mutex> lock(mu_);
  segments_[writer_.segment] = writer_.size;
  const uint64_t readable =
      options_.sync == SyncPolicy::kEveryAppend ? writer_.synced : writer_.size;
  end_ = {writer_.segment, std::max(readable, kSegmentHeaderSize)};
  synced_end_ = {writer_.segment, writer_.synced};
  end_cv_.notify_all();
}

absl::StatusOr<LogPosition> SegmentLog::Append(uint8_t type, std::string_view data) {
  const RecordRef record{type, std::span(&data, 1)};
  return Append(std::span(&record, 1));
}

absl::StatusOr<LogPosition> SegmentLog::Append(std::span<const RecordRef> records) {
  absl::StatusOr<AppendMark> mark = AppendGroup(records);
  if (!mark.ok()) return mark.status();
  return mark->end;
}

absl::StatusOr<SegmentLog::AppendMark> SegmentLog::AppendMarked(
    std::span<const RecordRef> records) {
  return AppendGroup(records);
}

absl::StatusOr<SegmentLog::AppendMark> SegmentLog::AppendGroup(std::span<const RecordRef> records) {
  for (const RecordRef& record : records) {
    if (record.type == 0) {
      return absl::InvalidArgumentError("segment log: record type 0 is reserved");
    }
    uint64_t size = 0;
    for (std::string_view part : record.parts) size += part.size();
    if (size > options_.max_record_size) {
      return absl::InvalidArgumentError(absl::StrCat("segment log: record of ", size,
                                                     " bytes exceeds the limit of ",
                                                     options_.max_record_size));
    }
  }
  PendingAppend self;
  self.records = records;
  std::unique_lock<std::mutex> lock(mu_);
  if (closed_) {
    return absl::FailedPreconditionError(
        absl::StrCat("segment log ", options_.directory, ": closed"));
  }
  queue_.push_back(&self);
  self.cv.wait(lock, [&] { return self.done || queue_.front() == &self; });
  if (self.done) {
    if (!self.status.ok()) return self.status;
    return AppendMark{self.end, self.cuts};
  }
  // This appender leads: it writes and syncs for everyone queued behind it.
  std::vector<PendingAppend*> group(queue_.begin(), queue_.end());
  lock.unlock();
  absl::Status status;
  {
    std::lock_guard<std::mutex> io(io_mu_);
    status = WriteGroupLocked(group);
    if (status.ok()) {
      Publish();
    } else {
      std::lock_guard<std::mutex> state(mu_);
      segments_[writer_.segment] = writer_.size;
    }
  }
  lock.lock();
  for (PendingAppend* p : group) {
    queue_.pop_front();
    p->status = status;
    p->done = true;
    if (p != &self) p->cv.notify_one();
  }
  if (!queue_.empty()) queue_.front()->cv.notify_one();
  if (!status.ok()) return status;
  return AppendMark{self.end, self.cuts};
}

absl::Status SegmentLog::Durable(const AppendMark& mark) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (cuts_ > mark.cuts) {
    // The first cut after the records were written decides: it cut back to what was synced
    // then, so it kept them exactly when that sync had covered them (later cuts keep more).
    for (const Cut& cut : recent_cuts_) {
      if (cut.number != mark.cuts + 1) continue;
      if (cut.keep >= mark.end) return absl::OkStatus();
      return absl::DataLossError(absl::StrCat(
          "segment log ", options_.directory, ": the records ending at ", mark.end.ToString(),
          " were cut after a failed sync (cut back to ", cut.keep.ToString(), ")"));
    }
    return absl::DataLossError(absl::StrCat(
        "segment log ", options_.directory, ": the records ending at ", mark.end.ToString(),
        " may have been cut after a failed sync (", cuts_ - mark.cuts, " cuts since)"));
  }
  if (synced_end_ >= mark.end) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("segment log ", options_.directory,
                                             ": the records ending at ", mark.end.ToString(),
                                             " are not synced yet"));
}

uint64_t SegmentLog::cuts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cuts_;
}

absl::Status SegmentLog::Sync() {
  std::lock_guard<std::mutex> io(io_mu_);
  if (needs_repair_) RETURN_IF_ERROR(RepairLocked());
  RETURN_IF_ERROR(SyncLocked());
  Publish();
  return absl::OkStatus();
}

absl::Status SegmentLog::StartSegment(uint64_t at_least) {
  std::lock_guard<std::mutex> io(io_mu_);
  if (needs_repair_) RETURN_IF_ERROR(RepairLocked());
  RETURN_IF_ERROR(SyncLocked());
  RETURN_IF_ERROR(StartSegmentLocked(std::max(at_least, writer_.segment + 1)));
  Publish();
  return absl::OkStatus();
}

absl::Status SegmentLog::RemoveSegmentsBefore(uint64_t segment) {
  std::vector<uint64_t> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (segments_.empty()) return absl::OkStatus();
    const uint64_t writing = segments_.rbegin()->first;
    for (const auto& [number, size] : segments_) {
      if (number >= segment || number >= writing) break;
      doomed.push_back(number);
    }
  }
  for (uint64_t number : doomed) {
    absl::Status status = options_.env->RemoveFile(SegmentPath(number));
    if (!status.ok() && !absl::IsNotFound(status)) return status;
    std::lock_guard<std::mutex> lock(mu_);
    segments_.erase(number);
  }
  return absl::OkStatus();
}

LogPosition SegmentLog::begin() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {segments_.begin()->first, kSegmentHeaderSize};
}

LogPosition SegmentLog::end() const {
  std::lock_guard<std::mutex> lock(mu_);
  return end_;
}

bool SegmentLog::WaitForEnd(LogPosition after, absl::Time deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  ++waiters_;
  const uint64_t wakes = wakes_;
  auto ready = [&] { return closed_ || wakes_ != wakes || end_ > after; };
  if (deadline == absl::InfiniteFuture()) {
    end_cv_.wait(lock, ready);
  } else {
    end_cv_.wait_until(lock, absl::ToChronoTime(deadline), ready);
  }
  --waiters_;
  return end_ > after;
}

void SegmentLog::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++wakes_;
  }
  end_cv_.notify_all();
}

int SegmentLog::waiters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiters_;
}

int SegmentLog::appenders() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(queue_.size());
}

uint64_t SegmentLog::size_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t total = 0;
  for (const auto& [number, size] : segments_) total += size;
  return total;
}

std::vector<uint64_t> SegmentLog::segments() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<uint64_t> out;
  for (const auto& [number, size] : segments_) out.push_back(number);
  return out;
}

void SegmentLog::SyncLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!closed_) {
    end_cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.sync_interval),
                     [&] { return closed_; });
    lock.unlock();
    {
      std::lock_guard<std::mutex> io(io_mu_);
      if (!needs_repair_) (void)SyncLocked();
    }
    lock.lock();
  }
}

void SegmentLog::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  end_cv_.notify_all();
  if (syncer_.joinable()) syncer_.join();
}

std::unique_ptr<SegmentLog::Reader> SegmentLog::NewReader(std::optional<LogPosition> from) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t first = segments_.begin()->first;
  if (!from.has_value()) {
    return std::unique_ptr<Reader>(new Reader(this, first, kSegmentHeaderSize, std::nullopt));
  }
  std::optional<LogDamage> missing;
  uint64_t segment = from->segment;
  uint64_t offset = std::max(from->offset, kSegmentHeaderSize);
  auto at = segments_.lower_bound(segment);
  if (at != segments_.end() && at->first != segment) {
    // Segments that should hold the records after `from` are gone.
    missing = LogDamage{
        options_.directory, 0, 0, 0,
        absl::StrCat("segments ", segment, " to ", at->first - 1,
                     " are missing (the position to read from is in segment ", segment, ")")};
    segment = at->first;
    offset = kSegmentHeaderSize;
  }
  return std::unique_ptr<Reader>(new Reader(this, segment, offset, std::move(missing)));
}

SegmentLog::Reader::Reader(SegmentLog* log, uint64_t segment, uint64_t offset,
                           std::optional<LogDamage> missing)
    : log_(log), segment_(segment), offset_(offset), missing_(std::move(missing)) {}

absl::Status SegmentLog::Reader::OpenSegment() {
  const std::string path = log_->SegmentPath(segment_);
  ASSIGN_OR_RETURN(std::unique_ptr<File> file, log_->options_.env->OpenFile(path, OpenMode::kRead));
  ASSIGN_OR_RETURN(std::string header, ReadHeader(*file));
  RETURN_IF_ERROR(log::ParseSegmentHeader(header, path).status());
  file_ = std::move(file);
  parser_ = std::make_unique<log::SegmentFileReader>(file_.get(), segment_, offset_,
                                                     log_->options_.max_record_size);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<LogRecord>> SegmentLog::Reader::Next() {
  if (missing_.has_value()) {
    log_->Report(*missing_);
    missing_.reset();
  }
  while (true) {
    const LogPosition end = log_->end();
    if (file_ == nullptr) {
      if (segment_ > end.segment) return std::optional<LogRecord>();
      absl::Status opened = OpenSegment();
      if (absl::IsNotFound(opened)) {
        // Removed under us (behind a cursor) or not created yet: go to the next one there is.
        std::lock_guard<std::mutex> lock(log_->mu_);
        auto next = log_->segments_.upper_bound(segment_);
        if (next == log_->segments_.end()) return std::optional<LogRecord>();
        segment_ = next->first;
        offset_ = kSegmentHeaderSize;
        continue;
      }
      if (absl::IsDataLoss(opened)) {
        // A damaged header: the segment cannot be trusted at all.
        absl::StatusOr<uint64_t> size = log_->options_.env->FileSize(log_->SegmentPath(segment_));
        log_->Report(LogDamage{log_->SegmentPath(segment_), 0, size.ok() ? *size : 0, 0,
                               std::string(opened.message())});
        std::lock_guard<std::mutex> lock(log_->mu_);
        auto next = log_->segments_.upper_bound(segment_);
        if (next == log_->segments_.end()) return std::optional<LogRecord>();
        came_from_ = segment_;
        segment_ = next->first;
        offset_ = kSegmentHeaderSize;
        continue;
      }
      RETURN_IF_ERROR(opened);
      if (came_from_.has_value()) {
        ASSIGN_OR_RETURN(std::string header, ReadHeader(*file_));
        const uint64_t previous = *log::ParseSegmentHeader(header, file_->path());
        if (previous > *came_from_) {
          log_->Report(LogDamage{
              log_->options_.directory, 0, 0, 0,
              absl::StrCat("segments ", *came_from_ + 1, " to ", previous, " are missing (segment ",
                           segment_, " follows ", previous, ")")});
        }
        came_from_.reset();
      }
    }
    const bool live = segment_ == end.segment;
    uint64_t limit = end.offset;
    if (!live) {
      ASSIGN_OR_RETURN(limit, file_->Size());
    }
    LogRecord record;
    std::vector<LogDamage> damage;
    ASSIGN_OR_RETURN(log::SegmentFileReader::Outcome outcome,
                     parser_->Next(limit, &record, &damage));
    for (const LogDamage& d : damage) log_->Report(d);
    if (outcome == log::SegmentFileReader::Outcome::kRecord) {
      return std::optional<LogRecord>(std::move(record));
    }
    if (live) return std::optional<LogRecord>();
    if (outcome == log::SegmentFileReader::Outcome::kTail) {
      LogDamage tail = parser_->tail();
      tail.bytes = limit - tail.offset;
      tail.reason = absl::StrCat(tail.reason, " at the end of a finished segment");
      log_->Report(tail);
    }
    // This segment is finished: on to the next (there is one: the segment is not the last).
    std::lock_guard<std::mutex> lock(log_->mu_);
    auto next = log_->segments_.upper_bound(segment_);
    if (next == log_->segments_.end()) return std::optional<LogRecord>();
    came_from_ = segment_;
    parser_.reset();
    file_.reset();
    segment_ = next->first;
    offset_ = kSegmentHeaderSize;
  }
}

}  // namespace sprout::storage
