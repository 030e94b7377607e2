#include "traces/wal/traces_wal.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/coding.h"

namespace sprout::traces::wal {
namespace {

constexpr char kResourceSpansTag = 0x0a;  // TracesData.resource_spans: field 1, length-delimited

// The frame before one message: its tag and uvarint length.
std::string Frame(size_t length) {
  std::string f(1, kResourceSpansTag);
  PutUvarint(f, length);
  return f;
}

// Reads a uvarint at `*at`; false when it is cut short or longer than 10 bytes / 64 bits.
bool ReadUvarint(std::string_view in, size_t* at, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*at >= in.size()) return false;
    const uint8_t b = static_cast<uint8_t>(in[(*at)++]);
    if (shift == 63 && b > 1) return false;
    result |= uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80u) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

}  // namespace

std::string EncodeBatch(std::span<const std::string_view> resource_spans) {
  std::string out(1, static_cast<char>(kRecordFormatVersion));
  for (std::string_view rs : resource_spans) {
    out += Frame(rs.size());
    out += rs;
  }
  return out;
}

absl::Status DecodeBatch(std::string_view payload, ReplayedBatch* out) {
  out->resource_spans.clear();
  out->traces_data = {};
  if (payload.empty()) return absl::InvalidArgumentError("empty record");
  const uint8_t version = static_cast<uint8_t>(payload[0]);
  if (version > kRecordFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("record format version ", version, " is newer than this sprout reads (",
                     kRecordFormatVersion, ")"));
  }
  if (version == 0) return absl::InvalidArgumentError("record format version 0");
  const std::string_view data = payload.substr(1);
  size_t at = 0;
  while (at < data.size()) {
    if (data[at] != kResourceSpansTag) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected tag byte at offset ", at + 1));
    }
    ++at;
    uint64_t length = 0;
    if (!ReadUvarint(data, &at, &length) || length > data.size() - at) {
      return absl::InvalidArgumentError(absl::StrCat("bad length before offset ", at + 1));
    }
    out->resource_spans.push_back(data.substr(at, length));
    at += length;
  }
  if (out->resource_spans.empty()) return absl::InvalidArgumentError("a batch without spans");
  out->traces_data = data;
  return absl::OkStatus();
}

TracesWal::TracesWal(std::string dir, TracesWalOptions options)
    : dir_(std::move(dir)),
      options_(std::move(options)),
      damage_reports_(std::make_shared<std::atomic<uint64_t>>(0)) {}

TracesWal::~TracesWal() {
  if (log_ != nullptr) log_->Close();
}

absl::StatusOr<std::unique_ptr<TracesWal>> TracesWal::Open(storage::Env* env, std::string dir,
                                                           TracesWalOptions options) {
  if (env == nullptr || dir.empty()) {
    return absl::InvalidArgumentError("traces WAL: an env and a directory are required");
  }
  std::unique_ptr<TracesWal> wal(new TracesWal(std::move(dir), std::move(options)));
  auto prefix = [&](const absl::Status& s) {
    return absl::Status(s.code(), absl::StrCat("traces WAL ", wal->dir_, ": ", s.message()));
  };
  if (absl::Status s = env->CreateDirs(wal->dir_); !s.ok()) return prefix(s);
  absl::StatusOr<std::unique_ptr<storage::FileLock>> lock =
      env->LockFile(storage::JoinPath(wal->dir_, "LOCK"));
  if (!lock.ok()) return prefix(lock.status());
  wal->lock_ = *std::move(lock);

  storage::SegmentLogOptions lo;
  lo.env = env;
  lo.directory = wal->dir_;
  lo.segment_size = wal->options_.segment_size;
  lo.sync = wal->options_.sync;
  lo.sync_interval = wal->options_.sync_interval;
  lo.max_record_size = wal->options_.max_record_size;
  lo.on_damage = [counter = wal->damage_reports_,
                  user = wal->options_.on_damage](const storage::LogDamage& damage) {
    counter->fetch_add(1);
    if (user) user(damage);
  };
  absl::StatusOr<std::unique_ptr<storage::SegmentLog>> log =
      storage::SegmentLog::Open(std::move(lo));
  if (!log.ok()) {
    const absl::Status& s = log.status();
    if (s.code() == absl::StatusCode::kFailedPrecondition &&
        absl::StrContains(s.message(), "format version")) {
      return absl::FailedPreconditionError(absl::StrCat(
          "traces WAL ", wal->dir_, ": a segment has a newer format version (", s.message(),
          ")"));
    }
    return prefix(s);
  }
  wal->log_ = *std::move(log);
  return wal;
}

absl::StatusOr<storage::LogPosition> TracesWal::Append(
    std::span<const std::string_view> resource_spans) {
  if (resource_spans.empty()) {
    return absl::InvalidArgumentError("traces WAL: a batch without ResourceSpans");
  }
  // Parts: the version byte, then per message its frame and its bytes (not copied).
  std::vector<std::string> frames;
  frames.reserve(resource_spans.size());
  std::vector<std::string_view> parts;
  parts.reserve(1 + 2 * resource_spans.size());
  static constexpr char kVersion[1] = {static_cast<char>(kRecordFormatVersion)};
  parts.emplace_back(kVersion, 1);
  for (std::string_view rs : resource_spans) frames.push_back(Frame(rs.size()));
  for (size_t i = 0; i < resource_spans.size(); ++i) {
    parts.push_back(frames[i]);
    parts.push_back(resource_spans[i]);
  }
  const storage::SegmentLog::RecordRef record{kBatchRecordType, parts};
  return log_->Append(std::span<const storage::SegmentLog::RecordRef>(&record, 1));
}

absl::Status TracesWal::Sync() { return log_->Sync(); }

absl::StatusOr<ReplayStats> TracesWal::Replay(
    const std::function<absl::Status(const ReplayedBatch&)>& callback) {
  ReplayStats stats;
  std::unique_ptr<storage::SegmentLog::Reader> reader = log_->NewReader(std::nullopt);
  ReplayedBatch batch;
  while (true) {
    absl::StatusOr<std::optional<storage::LogRecord>> record = reader->Next();
    if (!record.ok()) return record.status();
    if (!record->has_value()) break;
    const storage::LogRecord& r = **record;
    if (r.type != kBatchRecordType) {
      return absl::FailedPreconditionError(
          absl::StrCat("traces WAL ", dir_, ": record type ", r.type, " at ",
                       r.position.ToString(), " is unknown (a newer format version?)"));
    }
    absl::Status s = DecodeBatch(r.data, &batch);
    if (s.code() == absl::StatusCode::kFailedPrecondition) {
      return absl::FailedPreconditionError(absl::StrCat(
          "traces WAL ", dir_, ": ", r.position.ToString(), ": ", s.message()));
    }
    if (!s.ok()) {
      ++stats.corrupt_records;
      storage::LogDamage damage;
      damage.file = log_->SegmentPath(r.position.segment);
      damage.offset = r.position.offset;
      damage.bytes = r.data.size();
      damage.records = 1;
      damage.reason = absl::StrCat("traces WAL record does not decode: ", s.message());
      damage_reports_->fetch_add(1);
      if (options_.on_damage) options_.on_damage(damage);
      continue;
    }
    batch.position = r.position;
    ++stats.batches;
    stats.resource_spans += batch.resource_spans.size();
    stats.bytes += batch.traces_data.size();
    if (absl::Status cs = callback(batch); !cs.ok()) return cs;
  }
  stats.damage_reports = damage_reports_->load();
  return stats;
}

absl::StatusOr<uint64_t> TracesWal::Rotate() {
  const std::vector<uint64_t> segments = log_->segments();
  const uint64_t next = (segments.empty() ? 0 : segments.back()) + 1;
  // Batches acknowledged before this call are in segments up to `segments.back()`; the new
  // segment is numbered `next` or above (a concurrent rotation may have taken `next`).
  if (absl::Status s = log_->StartSegment(next); !s.ok()) return s;
  return next;
}

absl::Status TracesWal::Truncate(uint64_t segment) { return log_->RemoveSegmentsBefore(segment); }

}  // namespace sprout::traces::wal
