#include "remotewrite/wal.h"

#include <algorithm>
#include <array>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/coding.h"
#include "base/crc32c.h"
#include "base/status.h"
#include "storage/log_format.h"
#include "storage/log_writer.h"

namespace sprout::remotewrite {
namespace {

using storage::JoinPath;
using storage::LogDamage;
using storage::LogPosition;
using storage::OpenMode;

// docs/format/prw-wal.md is the reference for all of these.
constexpr char kLockName[] = "LOCK";
constexpr char kCursorName[] = "cursor";
constexpr uint32_t kCursorVersion = 1;
constexpr uint64_t kCursorSlotSize = 36;
constexpr uint64_t kCursorSlotOffset[2] = {0, 4096};  // in different pages: a torn write of one
                                                      // can never reach the other
constexpr size_t kRequestHeaderSize = 12;             // shard u16, shards u16, append time i64 (ms)
constexpr size_t kMigratedHeaderSize = 8;             // the record's index in the previous format
constexpr uint64_t kMaxBodySize = 1ull << 30;

// The previous format (abf41e2): <20 digits>.seg segments of [u32 length][u32 CRC-32C][payload]
// and a `committed` file of [u64 index][u32 CRC-32C of those 8 bytes].
constexpr char kOldSegmentSuffix[] = ".seg";
constexpr char kOldCommittedName[] = "committed";
constexpr char kOldCommittedTempName[] = "committed.tmp";

std::string EncodeCursorSlot(uint64_t sequence, LogPosition position) {
  std::string slot(kCursorSlotSize, '\0');
  PutU32(slot.data(), kCursorVersion);
  PutU64(slot.data() + 8, sequence);
  PutU64(slot.data() + 16, position.segment);
  PutU64(slot.data() + 24, position.offset);
  PutU32(slot.data() + 32, MaskSnappyCrc(Crc32c(std::string_view(slot.data(), 32))));
  return slot;
}

struct CursorSlot {
  uint64_t sequence;
  LogPosition position;
};

// A valid slot, nullopt for an empty or damaged one; FailedPrecondition for a newer version.
absl::StatusOr<std::optional<CursorSlot>> ParseCursorSlot(std::string_view slot,
                                                          const std::string& path) {
  if (slot.size() < kCursorSlotSize) return std::optional<CursorSlot>();
  if (MaskSnappyCrc(Crc32c(slot.substr(0, 32))) != GetU32(slot.data() + 32)) {
    return std::optional<CursorSlot>();
  }
  const uint32_t version = GetU32(slot.data());
  if (version != kCursorVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("wal: ", path, ": cursor format version ", version,
                     " is not supported (this sprout reads version ", kCursorVersion, ")"));
  }
  return std::optional<CursorSlot>(
      CursorSlot{GetU64(slot.data() + 8), {GetU64(slot.data() + 16), GetU64(slot.data() + 24)}});
}

// First index named by a previous-format segment name.
std::optional<uint64_t> ParseOldSegmentName(std::string_view name) {
  if (name.size() != 20 + 4 || !name.ends_with(kOldSegmentSuffix)) return std::nullopt;
  uint64_t first = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
  }
  if (!absl::SimpleAtoi(AV(name.substr(0, 20)), &first) || first == 0) return std::nullopt;
  return first;
}

// Bytes a record of `size` bytes can take in a segment at most (chunk headers, a block trailer).
uint64_t EncodedBound(uint64_t size) {
  return size + storage::log::kChunkHeaderSize * (size / storage::log::kMaxChunkPayload + 2) +
         storage::log::kChunkHeaderSize;
}

}  // namespace

Wal::~Wal() {
  if (log_ != nullptr) log_->Close();
}

absl::StatusOr<std::unique_ptr<Wal>> Wal::Open(const WalOptions& options) {
  if (options.directory.empty()) return absl::InvalidArgumentError("wal: directory is empty");
  if (options.env == nullptr) return absl::InvalidArgumentError("wal: no Env");
  std::unique_ptr<Wal> wal(new Wal(options));
  RETURN_IF_ERROR(wal->Recover());
  return wal;
}

absl::Status Wal::Recover() {
  storage::Env* env = options_.env;
  const std::string& dir = options_.directory;
  RETURN_IF_ERROR(env->CreateDirs(dir));
  absl::StatusOr<std::unique_ptr<storage::FileLock>> lock = env->LockFile(JoinPath(dir, kLockName));
  if (!lock.ok()) {
    return absl::Status(lock.status().code(), absl::StrCat("wal: directory ", dir,
                                                           " is in use (is another exporter "
                                                           "or sprout configured with it?): ",
                                                           lock.status().message()));
  }
  lock_ = std::move(*lock);

  storage::SegmentLogOptions log_options;
  log_options.env = env;
  log_options.directory = dir;
  if (options_.segment_size > 0) {
    log_options.segment_size = options_.segment_size;
  } else if (options_.max_size > 0) {
    log_options.segment_size =
        std::clamp<uint64_t>(options_.max_size / 8, 64 << 10, log_options.segment_size);
  }
  log_options.sync = storage::SyncPolicy::kEveryAppend;
  log_options.max_record_size = kMaxBodySize + kRequestHeaderSize;
  log_options.on_damage = options_.on_damage;
  ASSIGN_OR_RETURN(log_, storage::SegmentLog::Open(std::move(log_options)));

  RETURN_IF_ERROR(ReadCursor());
  RETURN_IF_ERROR(Migrate());
  if (committed_.segment > 0 && committed_ > log_->end()) {
    // The cursor is past the end of the log (its tail was cut after being delivered): new
    // records must land after it, or the reader would skip them.
    RETURN_IF_ERROR(log_->StartSegment(committed_.segment + 1));
  }
  // Segments before the cursor are delivered: a crash brought them back (their removal is not
  // synced) or interrupted their removal.
  RETURN_IF_ERROR(log_->RemoveSegmentsBefore(committed_.segment));
  delivered_ = committed_;
  return absl::OkStatus();
}

absl::Status Wal::ReadCursor() {
  const std::string path = JoinPath(options_.directory, kCursorName);
  ASSIGN_OR_RETURN(bool exists, options_.env->Exists(path));
  if (!exists) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string data, options_.env->ReadFile(path));
  std::optional<CursorSlot> best;
  for (uint64_t offset : kCursorSlotOffset) {
    if (data.size() < offset) continue;
    ASSIGN_OR_RETURN(std::optional<CursorSlot> slot,
                     ParseCursorSlot(std::string_view(data).substr(offset), path));
    if (slot.has_value() && (!best.has_value() || slot->sequence > best->sequence)) best = slot;
  }
  if (!best.has_value() && data.find_first_not_of('\0') != std::string::npos) {
    Report(LogDamage{path, 0, data.size(), 0,
                     "commit cursor unreadable: the log is read from its start (what was "
                     "delivered is sent again)"});
  }
  ASSIGN_OR_RETURN(cursor_file_, options_.env->OpenFile(path, OpenMode::kReadWrite));
  if (best.has_value()) {
    cursor_sequence_ = best->sequence;
    committed_ = best->position;
  }
  return absl::OkStatus();
}

absl::Status Wal::Migrate() {
  storage::Env* env = options_.env;
  const std::string& dir = options_.directory;
  ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(dir));
  std::vector<std::pair<uint64_t, std::string>> segments;  // first index, path
  std::vector<std::string> doomed;
  for (const std::string& name : names) {
    if (std::optional<uint64_t> first = ParseOldSegmentName(name)) {
      segments.emplace_back(*first, JoinPath(dir, name));
      doomed.push_back(JoinPath(dir, name));
    } else if (name == kOldCommittedName || name == kOldCommittedTempName) {
      doomed.push_back(JoinPath(dir, name));
    }
  }
  if (doomed.empty()) return absl::OkStatus();
  std::sort(segments.begin(), segments.end());

  // The previous format's committed index: records up to it were delivered.
  uint64_t committed = 0;
  const std::string committed_path = JoinPath(dir, kOldCommittedName);
  ASSIGN_OR_RETURN(bool has_committed, env->Exists(committed_path));
  if (has_committed) {
    ASSIGN_OR_RETURN(std::string data, env->ReadFile(committed_path));
    if (data.size() == 12 && Crc32c(std::string_view(data).substr(0, 8)) == GetU32(&data[8])) {
      committed = GetU64(data.data());
    } else {
      Report(LogDamage{committed_path, 0, data.size(), 0,
                       "the previous format's committed index is unreadable: all its records "
                       "are sent again"});
    }
  }
  // An interrupted migration left some records here already: go on after them.
  uint64_t migrated = 0;
  {
    auto reader = log_->NewReader(std::nullopt);
    while (true) {
      ASSIGN_OR_RETURN(std::optional<storage::LogRecord> record, reader->Next());
      if (!record.has_value()) break;
      if (record->type == kMigratedRecord && record->data.size() >= kMigratedHeaderSize) {
        migrated = std::max(migrated, GetU64(record->data.data()));
      }
    }
  }
  const uint64_t skip_until = std::max(committed, migrated);

  // Appended in batches of a few MiB: one sync each.
  std::vector<std::string> bodies;
  std::vector<std::array<char, kMigratedHeaderSize>> headers;
  uint64_t batch_bytes = 0;
  auto flush = [&]() -> absl::Status {
    if (bodies.empty()) return absl::OkStatus();
    std::vector<std::array<std::string_view, 2>> parts(bodies.size());
    std::vector<storage::SegmentLog::RecordRef> records;
    for (size_t i = 0; i < bodies.size(); ++i) {
      parts[i] = {std::string_view(headers[i].data(), kMigratedHeaderSize), bodies[i]};
      records.push_back({kMigratedRecord, parts[i]});
    }
    RETURN_IF_ERROR(log_->Append(records).status());
    bodies.clear();
    headers.clear();
    batch_bytes = 0;
    return absl::OkStatus();
  };
  for (size_t s = 0; s < segments.size(); ++s) {
    const auto& [first, path] = segments[s];
    const bool last = s + 1 == segments.size();
    ASSIGN_OR_RETURN(std::string data, env->ReadFile(path));
    uint64_t pos = 0;
    uint64_t index = first;
    while (pos < data.size()) {
      const uint64_t left = data.size() - pos;
      const uint32_t length = left >= 8 ? GetU32(&data[pos]) : 0;
      const bool whole = left >= 8 && length > 0 && length <= kMaxBodySize && left - 8 >= length;
      if (!whole ||
          Crc32c(std::string_view(data).substr(pos + 8, length)) != GetU32(&data[pos + 4])) {
        // The previous format cannot resynchronise: the rest of this segment is lost. Records
        // at or below its committed index were delivered and do not count.
        const uint64_t next_first = last ? index + 1 : segments[s + 1].first;
        const uint64_t lost_from = std::max(index, committed + 1);
        const uint64_t lost = next_first > lost_from ? next_first - lost_from : 0;
        if (lost > 0 || last) {
          Report(LogDamage{path, pos, left, lost,
                           last ? "cut off while migrating the previous format: an interrupted "
                                  "append at the end of its last segment"
                                : "damaged record in the previous format: the rest of the "
                                  "segment cannot be read"});
        }
        break;
      }
      if (index > skip_until) {
        auto& header = headers.emplace_back();
        PutU64(header.data(), index);
        bodies.push_back(data.substr(pos + 8, length));
        batch_bytes += length;
        if (batch_bytes >= (4 << 20)) RETURN_IF_ERROR(flush());
      }
      pos += 8 + length;
      ++index;
    }
    if (!last && index < segments[s + 1].first && segments[s + 1].first - 1 > committed &&
        pos == data.size()) {
      Report(LogDamage{
          dir, 0, 0, segments[s + 1].first - std::max(index, committed + 1),
          absl::StrCat("records ", std::max(index, committed + 1), " to ",
                       segments[s + 1].first - 1, " of the previous format are missing")});
    }
  }
  RETURN_IF_ERROR(flush());
  // The old files go only once their records are durable in the new log.
  for (const std::string& path : doomed) {
    absl::Status removed = env->RemoveFile(path);
    if (!removed.ok() && !absl::IsNotFound(removed)) return removed;
  }
  return env->SyncDir(dir);
}

absl::Status Wal::Append(std::span<const WalRequest> requests, absl::Time now) {
  if (requests.empty()) return absl::OkStatus();
  uint64_t need = storage::log::kSegmentHeaderSize;  // the append may start a segment
  for (const WalRequest& r : requests) {
    if (r.body.size() > kMaxBodySize) {
      return absl::InvalidArgumentError(absl::StrCat("wal: a request of ", r.body.size(),
                                                     " bytes exceeds the limit of ", kMaxBodySize));
    }
    need += EncodedBound(kRequestHeaderSize + r.body.size());
  }
  if (options_.max_size > 0) {
    if (need > options_.max_size) {
      return absl::InvalidArgumentError(absl::StrCat("wal: a batch of ", need,
                                                     " bytes can never fit in wal.max_size_bytes (",
                                                     options_.max_size, ")"));
    }
    auto full = [&] { return log_->size_bytes() + reserved_ + need > options_.max_size; };
    std::unique_lock<std::mutex> lock(mu_);
    if (full()) {
      // Delivered segments may still be on disk (the cursor is committed lazily): free them.
      lock.unlock();
      RETURN_IF_ERROR(Commit(/*truncate=*/true));
      lock.lock();
    }
    if (full()) {
      return absl::UnavailableError(
          absl::StrCat("the WAL is full: ", log_->size_bytes(), " bytes of wal.max_size_bytes ",
                       options_.max_size, " hold data not yet delivered (this batch needs up to ",
                       need, " more); retry later"));
    }
    reserved_ += need;
  }
  const int64_t ms = absl::ToUnixMillis(now);
  std::vector<std::array<char, kRequestHeaderSize>> headers(requests.size());
  std::vector<std::array<std::string_view, 2>> parts(requests.size());
  std::vector<storage::SegmentLog::RecordRef> records(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    char* h = headers[i].data();
    PutU16(h, requests[i].shard);
    PutU16(h + 2, requests[i].shards);
    PutU64(h + 4, static_cast<uint64_t>(ms));
    parts[i] = {std::string_view(h, kRequestHeaderSize), requests[i].body};
    records[i] = {kRequestRecord, parts[i]};
  }
  absl::Status status = log_->Append(records).status();
  if (options_.max_size > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    reserved_ -= need;
  }
  return status;
}

std::unique_ptr<Wal::Reader> Wal::NewReader() {
  std::optional<LogPosition> from;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (committed_.segment > 0) from = committed_;
  }
  return std::unique_ptr<Reader>(new Reader(this, log_->NewReader(from)));
}

void Wal::SetDelivered(LogPosition position) {
  std::lock_guard<std::mutex> lock(mu_);
  delivered_ = std::max(delivered_, position);
}

LogPosition Wal::delivered() const {
  std::lock_guard<std::mutex> lock(mu_);
  return delivered_;
}

LogPosition Wal::committed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return committed_;
}

absl::Status Wal::WriteCursorLocked(LogPosition position) {
  const std::string path = JoinPath(options_.directory, kCursorName);
  bool created = false;
  if (cursor_file_ == nullptr) {
    ASSIGN_OR_RETURN(cursor_file_, options_.env->OpenFile(path, OpenMode::kCreate));
    created = true;
  }
  const uint64_t sequence = cursor_sequence_ + 1;
  // Slots alternate: the one not written keeps the previous cursor through a torn write.
  RETURN_IF_ERROR(cursor_file_->WriteAt(kCursorSlotOffset[(sequence - 1) % 2],
                                        EncodeCursorSlot(sequence, position)));
  RETURN_IF_ERROR(cursor_file_->Sync());
  if (created) RETURN_IF_ERROR(options_.env->SyncDir(options_.directory));
  cursor_sequence_ = sequence;
  return absl::OkStatus();
}

absl::Status Wal::Commit(bool truncate) {
  std::lock_guard<std::mutex> commit_lock(commit_mu_);
  LogPosition position;
  LogPosition committed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    position = delivered_;
    committed = committed_;
  }
  if (position > committed) {
    RETURN_IF_ERROR(WriteCursorLocked(position));
    std::lock_guard<std::mutex> lock(mu_);
    committed_ = position;
    committed = position;
  }
  if (truncate && committed.segment > 0) {
    RETURN_IF_ERROR(log_->RemoveSegmentsBefore(committed.segment));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<WalEntry>> Wal::Reader::Next() {
  while (true) {
    ASSIGN_OR_RETURN(std::optional<storage::LogRecord> record, reader_->Next());
    if (!record.has_value()) return std::optional<WalEntry>();
    WalEntry entry;
    entry.position = record->position;
    entry.end = record->end;
    const std::string file = wal_->log_->SegmentPath(record->position.segment);
    auto skip = [&](std::string reason) {
      wal_->Report(LogDamage{file, record->position.offset,
                             record->end.offset - record->position.offset, 1, std::move(reason)});
    };
    if (record->type == kRequestRecord) {
      if (record->data.size() < kRequestHeaderSize) {
        skip("remote-write record shorter than its header");
        continue;
      }
      entry.shard = GetU16(record->data.data());
      entry.shards = GetU16(record->data.data() + 2);
      if (entry.shards == 0 || entry.shard >= entry.shards) {
        skip(absl::StrCat("remote-write record of shard ", entry.shard, " of ", entry.shards));
        continue;
      }
      entry.appended = absl::FromUnixMillis(static_cast<int64_t>(GetU64(record->data.data() + 4)));
      entry.body_offset = kRequestHeaderSize;
    } else if (record->type == kMigratedRecord) {
      if (record->data.size() < kMigratedHeaderSize) {
        skip("migrated record shorter than its header");
        continue;
      }
      entry.migrated = true;
      entry.body_offset = kMigratedHeaderSize;
    } else {
      skip(absl::StrCat("record of unknown type ", record->type, " (written by a newer sprout?)"));
      continue;
    }
    entry.record = std::move(record->data);
    return std::optional<WalEntry>(std::move(entry));
  }
}

}  // namespace sprout::remotewrite
