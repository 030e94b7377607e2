#include "collector/exporter/prometheusremotewrite/wal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "base/crc32c.h"

namespace sprout::collector::prwexporter {
namespace {

// Layout constants; docs/format/prw-wal.md is the reference and must change with them.
constexpr size_t kHeaderSize = 8;              // u32 LE payload length, u32 LE CRC-32C of payload
constexpr uint32_t kMaxRecordSize = 1u << 30;  // larger lengths can only be garbage
constexpr size_t kSegmentNameDigits = 20;      // enough for any uint64_t
constexpr std::string_view kSegmentSuffix = ".seg";
constexpr std::string_view kCommittedName = "committed";
constexpr std::string_view kCommittedTempName = "committed.tmp";
constexpr size_t kCommittedSize = 12;  // u64 LE index, u32 LE CRC-32C of those 8 bytes

void PutU32(char* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(v >> (8 * i));
}
void PutU64(char* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (8 * i));
}
uint32_t GetU32(const char* in) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}
uint64_t GetU64(const char* in) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

absl::Status ErrnoError(std::string_view op, const std::string& path, int err) {
  return absl::InternalError(absl::StrCat("wal: ", AV(op), " ", path, ": ", std::strerror(err)));
}

absl::Status CorruptRecord(const std::string& path, uint64_t offset) {
  return absl::DataLossError(absl::StrCat("wal: corrupt record in ", path, " at offset ", offset));
}

// Reads exactly `n` bytes at `offset`; a short file is not an error here (returns false), since
// the callers decide what a short read means.
absl::StatusOr<bool> ReadFullAt(int fd, const std::string& path, uint64_t offset, char* out,
                                size_t n) {
  while (n > 0) {
    ssize_t got = pread(fd, out, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return ErrnoError("read", path, errno);
    if (got == 0) return false;
    out += got;
    n -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return true;
}

absl::Status SyncDirectory(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open", dir, errno);
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  if (rc != 0) return ErrnoError("sync", dir, err);
  return absl::OkStatus();
}

std::string SegmentPath(const std::string& dir, uint64_t first_index) {
  std::string digits = std::to_string(first_index);
  digits.insert(0, kSegmentNameDigits - digits.size(), '0');
  return absl::StrCat(dir, "/", digits, AV(kSegmentSuffix));
}

// The first index named by a segment file name, or nullopt for files that are not segments.
std::optional<uint64_t> ParseSegmentName(const std::string& name) {
  if (name.size() != kSegmentNameDigits + kSegmentSuffix.size()) return std::nullopt;
  if (name.compare(kSegmentNameDigits, std::string::npos, kSegmentSuffix) != 0) return std::nullopt;
  uint64_t first = 0;
  for (size_t i = 0; i < kSegmentNameDigits; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
  }
  if (!absl::SimpleAtoi(absl::string_view(name.data(), kSegmentNameDigits), &first) || first == 0) {
    return std::nullopt;
  }
  return first;
}

enum class RecordCheck { kValid, kEnd, kBad };

// Checks the record at `offset` of a file of `size` bytes; on kValid, `*length` is its payload
// length and `*payload` (when given) its payload.
absl::StatusOr<RecordCheck> CheckRecordAt(int fd, const std::string& path, uint64_t size,
                                          uint64_t offset, uint32_t* length, std::string* payload) {
  if (offset == size) return RecordCheck::kEnd;
  if (size - offset < kHeaderSize) return RecordCheck::kBad;
  char header[kHeaderSize];
  ASSIGN_OR_RETURN(bool full, ReadFullAt(fd, path, offset, header, kHeaderSize));
  if (!full) return RecordCheck::kBad;
  const uint32_t len = GetU32(header);
  const uint32_t crc = GetU32(header + 4);
  // Zero lengths are never written, so a zero-filled tail (space the file system allocated but
  // never wrote) cannot pass for records.
  if (len == 0 || len > kMaxRecordSize || size - offset - kHeaderSize < len) {
    return RecordCheck::kBad;
  }
  std::string local;
  std::string& data = payload != nullptr ? *payload : local;
  data.resize(len);
  ASSIGN_OR_RETURN(full, ReadFullAt(fd, path, offset + kHeaderSize, data.data(), len));
  if (!full || Crc32c(data) != crc) return RecordCheck::kBad;
  *length = len;
  return RecordCheck::kValid;
}

struct Segment {
  uint64_t first;  // index of its first record (from the file name)
  uint64_t last;   // index of its last record; first - 1 while empty
  std::string path;
};

// What Open() learns from scanning one segment file.
struct ScannedSegment {
  uint64_t records = 0;
  uint64_t valid_size = 0;  // bytes of whole, valid records
};

// Scans a segment. A bad record fails the scan, except that in the last segment a bad record
// that is the file's tail (nothing valid can be found after it) is reported through
// `valid_size` < file size, for the caller to cut off.
absl::StatusOr<ScannedSegment> ScanSegment(int fd, const std::string& path, bool last) {
  struct stat st;
  if (fstat(fd, &st) != 0) return ErrnoError("stat", path, errno);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  ScannedSegment scanned;
  uint64_t offset = 0;
  while (true) {
    uint32_t len = 0;
    ASSIGN_OR_RETURN(RecordCheck check, CheckRecordAt(fd, path, size, offset, &len, nullptr));
    if (check == RecordCheck::kEnd) break;
    if (check == RecordCheck::kValid) {
      ++scanned.records;
      offset += kHeaderSize + len;
      continue;
    }
    if (!last) return CorruptRecord(path, offset);
    // A crash during Append leaves at most the last record incomplete, and every earlier record
    // was synced before the next one was written. So if the bad record's length still leads to a
    // valid record, the damage is not a torn append but corruption of acknowledged data.
    char header[kHeaderSize];
    if (size - offset >= kHeaderSize) {
      ASSIGN_OR_RETURN(bool full, ReadFullAt(fd, path, offset, header, kHeaderSize));
      const uint32_t bad_len = full ? GetU32(header) : 0;
      const uint64_t next = offset + kHeaderSize + bad_len;
      if (bad_len > 0 && bad_len <= kMaxRecordSize && next < size) {
        uint32_t next_len = 0;
        ASSIGN_OR_RETURN(RecordCheck after,
                         CheckRecordAt(fd, path, size, next, &next_len, nullptr));
        if (after == RecordCheck::kValid) return CorruptRecord(path, offset);
      }
    }
    break;
  }
  scanned.valid_size = offset;
  return scanned;
}

absl::StatusOr<uint64_t> ReadCommitted(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return uint64_t{0};
    return ErrnoError("open", path, errno);
  }
  char buffer[kCommittedSize + 1];
  size_t have = 0;
  while (have < sizeof(buffer)) {
    ssize_t n = read(fd, buffer + have, sizeof(buffer) - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return ErrnoError("read", path, err);
    }
    if (n == 0) break;
    have += static_cast<size_t>(n);
  }
  close(fd);
  // The file is only ever replaced by rename, so anything but a valid 12 bytes is damage, not a
  // crash; guessing an index would either lose or silently resend data.
  if (have != kCommittedSize || Crc32c(std::string_view(buffer, 8)) != GetU32(buffer + 8)) {
    return absl::DataLossError(absl::StrCat("wal: corrupt committed index in ", path));
  }
  return GetU64(buffer);
}

absl::Status WriteAll(int fd, const std::string& path, const char* data, size_t n) {
  while (n > 0) {
    ssize_t wrote = write(fd, data, n);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0) return ErrnoError("write", path, errno);
    data += wrote;
    n -= static_cast<size_t>(wrote);
  }
  return absl::OkStatus();
}

class FileWal final : public Wal {
 public:
  explicit FileWal(WalOptions options) : options_(std::move(options)) {}

  ~FileWal() override {
    Close();
    if (writer_.fd >= 0) close(writer_.fd);
    if (reader_.fd >= 0) close(reader_.fd);
  }

  absl::Status Recover();

  absl::StatusOr<uint64_t> Append(std::string_view data) override;
  absl::StatusOr<std::optional<WalRecord>> Next(absl::Duration wait) override;
  absl::Status Commit(uint64_t index) override;
  absl::Status Truncate() override;
  void Close() override;

  uint64_t last_appended() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return last_appended_;
  }
  uint64_t last_committed() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return committed_;
  }

 private:
  // The segment being appended to; owned by the writer (write_mu_).
  struct Writer {
    int fd = -1;
    std::string path;
    uint64_t first = 0;
    uint64_t records = 0;
    uint64_t size = 0;
  };
  // Where the reader is; owned by the reader (read_mu_). `index` is the record at `offset`.
  struct Reader {
    int fd = -1;
    uint64_t segment_first = 0;
    std::string path;
    uint64_t index = 0;
    uint64_t offset = 0;
  };

  absl::Status StartSegment(uint64_t first);  // requires write_mu_
  absl::StatusOr<WalRecord> ReadRecord(const Segment& segment, uint64_t index);

  const WalOptions options_;
  std::string committed_path_;

  std::mutex write_mu_;  // serialises Append; guards writer_ and broken_
  Writer writer_;
  // Set when a failed write could not be undone: appending after unknown bytes would put
  // corruption in the middle of the segment.
  absl::Status broken_;

  std::mutex read_mu_;  // serialises Next; guards reader_
  Reader reader_;

  std::mutex commit_mu_;  // serialises writes of the committed file

  mutable std::mutex mu_;  // guards what follows; never held during file I/O
  std::condition_variable appended_or_closed_;
  std::deque<Segment> segments_;  // ascending, contiguous; back() is the writer's
  uint64_t last_appended_ = 0;
  uint64_t committed_ = 0;
  uint64_t read_next_ = 1;  // the index Next() returns next
  bool closed_ = false;
};

absl::Status FileWal::Recover() {
  const std::string& dir = options_.directory;
  committed_path_ = absl::StrCat(dir, "/", AV(kCommittedName));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return absl::InternalError(absl::StrCat("wal: create directory ", dir, ": ", ec.message()));
  // A leftover of a Commit interrupted before its rename; the old committed file still stands.
  std::filesystem::remove(absl::StrCat(dir, "/", AV(kCommittedTempName)), ec);
  ASSIGN_OR_RETURN(committed_, ReadCommitted(committed_path_));

  std::vector<uint64_t> firsts;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (std::optional<uint64_t> first = ParseSegmentName(entry.path().filename().string())) {
      firsts.push_back(*first);
    }
  }
  if (ec) return absl::InternalError(absl::StrCat("wal: list ", dir, ": ", ec.message()));
  std::sort(firsts.begin(), firsts.end());

  for (size_t i = 0; i < firsts.size(); ++i) {
    const bool last = i + 1 == firsts.size();
    Segment segment{firsts[i], firsts[i] - 1, SegmentPath(dir, firsts[i])};
    int fd = open(segment.path.c_str(), (last ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) return ErrnoError("open", segment.path, errno);
    absl::StatusOr<ScannedSegment> scanned = ScanSegment(fd, segment.path, last);
    if (!scanned.ok()) {
      close(fd);
      return scanned.status();
    }
    segment.last = segment.first + scanned->records - 1;
    if (!segments_.empty() && segments_.back().last + 1 != segment.first) {
      // Records are missing between two segments. If they were all committed, a Truncate was
      // cut short (or a torn committed tail was cut, see below): what lies before the gap is
      // committed too and can go. Otherwise data was lost.
      if (segment.first - 1 > committed_ || segment.first < segments_.back().last + 1) {
        close(fd);
        return absl::DataLossError(absl::StrCat("wal: segment ", segment.path, " starts at record ",
                                                segment.first, ", expected ",
                                                segments_.back().last + 1, " (records missing)"));
      }
      for (const Segment& old : segments_) {
        if (unlink(old.path.c_str()) != 0 && errno != ENOENT) {
          close(fd);
          return ErrnoError("remove", old.path, errno);
        }
      }
      segments_.clear();
    }
    if (!last) {
      close(fd);
    } else {
      struct stat st;
      if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return ErrnoError("stat", segment.path, err);
      }
      if (static_cast<uint64_t>(st.st_size) != scanned->valid_size) {
        // The torn tail of a crash during Append: those bytes were never acknowledged.
        if (ftruncate(fd, static_cast<off_t>(scanned->valid_size)) != 0 || fsync(fd) != 0) {
          int err = errno;
          close(fd);
          return ErrnoError("truncate", segment.path, err);
        }
      }
      writer_ = Writer{fd, segment.path, segment.first, scanned->records, scanned->valid_size};
    }
    segments_.push_back(std::move(segment));
  }

  last_appended_ = segments_.empty() ? committed_ : segments_.back().last;
  if (segments_.empty() || committed_ > last_appended_) {
    // No log yet, or its committed tail was cut as torn: indices continue after the committed
    // one, never reusing an index that Next() would skip.
    last_appended_ = std::max(last_appended_, committed_);
    std::lock_guard<std::mutex> lock(write_mu_);
    RETURN_IF_ERROR(StartSegment(last_appended_ + 1));
  }
  read_next_ = std::max(committed_ + 1, segments_.front().first);
  return absl::OkStatus();
}

absl::Status FileWal::StartSegment(uint64_t first) {
  const std::string path = SegmentPath(options_.directory, first);
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("create", path, errno);
  // The new name must be durable before records in it are acknowledged.
  absl::Status synced = SyncDirectory(options_.directory);
  if (!synced.ok()) {
    close(fd);
    unlink(path.c_str());
    return synced;
  }
  if (writer_.fd >= 0) close(writer_.fd);
  writer_ = Writer{fd, path, first, 0, 0};
  std::lock_guard<std::mutex> lock(mu_);
  segments_.push_back(Segment{first, first - 1, path});
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> FileWal::Append(std::string_view data) {
  std::lock_guard<std::mutex> write_lock(write_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return absl::FailedPreconditionError("wal: closed");
  }
  RETURN_IF_ERROR(broken_);
  if (data.empty()) return absl::InvalidArgumentError("wal: empty record");
  if (data.size() > kMaxRecordSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("wal: record of ", data.size(), " bytes exceeds ", kMaxRecordSize));
  }
  const uint64_t record_size = kHeaderSize + data.size();
  if (writer_.records > 0 &&
      writer_.size + record_size > static_cast<uint64_t>(options_.segment_size)) {
    RETURN_IF_ERROR(StartSegment(writer_.first + writer_.records));
  }

  char header[kHeaderSize];
  PutU32(header, static_cast<uint32_t>(data.size()));
  PutU32(header + 4, Crc32c(data));
  // One pwritev for header and payload: no copy of a payload of megabytes.
  iovec parts[2] = {{header, kHeaderSize}, {const_cast<char*>(data.data()), data.size()}};
  uint64_t written = 0;
  absl::Status status;
  while (written < record_size) {
    iovec rest[2];
    int count = 0;
    if (written < kHeaderSize) {
      rest[count++] = {header + written, kHeaderSize - written};
      rest[count++] = parts[1];
    } else {
      const size_t skip = written - kHeaderSize;
      rest[count++] = {const_cast<char*>(data.data()) + skip, data.size() - skip};
    }
    ssize_t n = pwritev(writer_.fd, rest, count, static_cast<off_t>(writer_.size + written));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = ErrnoError("write", writer_.path, errno);
      break;
    }
    written += static_cast<uint64_t>(n);
  }
  // fdatasync also makes the new file size durable, which is what matters for an append.
  if (status.ok() && fdatasync(writer_.fd) != 0) status = ErrnoError("sync", writer_.path, errno);
  if (!status.ok()) {
    // After a failed fsync the page cache cannot be trusted to match the disk, so even a
    // successful truncate leaves the log unusable for this process; Open() will sort it out.
    if (ftruncate(writer_.fd, static_cast<off_t>(writer_.size)) != 0 || written == record_size) {
      broken_ = status;
    }
    return status;
  }
  writer_.size += record_size;
  const uint64_t index = writer_.first + writer_.records;
  ++writer_.records;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_appended_ = index;
    segments_.back().last = index;
  }
  appended_or_closed_.notify_all();
  return index;
}

absl::StatusOr<std::optional<WalRecord>> FileWal::Next(absl::Duration wait) {
  std::lock_guard<std::mutex> read_lock(read_mu_);
  Segment segment;
  uint64_t index;
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto ready = [this] { return closed_ || read_next_ <= last_appended_; };
    if (wait >= absl::Hours(24 * 365)) {
      appended_or_closed_.wait(lock, ready);
    } else if (wait > absl::ZeroDuration()) {
      appended_or_closed_.wait_for(lock, absl::ToChronoNanoseconds(wait), ready);
    }
    if (closed_ || read_next_ > last_appended_) return std::optional<WalRecord>();
    index = read_next_;
    // Truncate never removes the segment holding read_next_, so this finds it.
    auto it = std::find_if(segments_.begin(), segments_.end(),
                           [index](const Segment& s) { return s.last >= index; });
    if (it == segments_.end() || it->first > index) {
      return absl::InternalError(absl::StrCat("wal: record ", index, " has no segment"));
    }
    segment = *it;
  }
  ASSIGN_OR_RETURN(WalRecord record, ReadRecord(segment, index));
  {
    std::lock_guard<std::mutex> lock(mu_);
    read_next_ = index + 1;
  }
  return std::optional<WalRecord>(std::move(record));
}

absl::StatusOr<WalRecord> FileWal::ReadRecord(const Segment& segment, uint64_t index) {
  if (reader_.fd < 0 || reader_.segment_first != segment.first || reader_.index > index) {
    if (reader_.fd >= 0) close(reader_.fd);
    reader_ = Reader{};
    int fd = open(segment.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError("open", segment.path, errno);
    reader_ = Reader{fd, segment.first, segment.path, segment.first, 0};
  }
  // Every record up to `index` is complete on disk: Append publishes an index only after syncing.
  char header[kHeaderSize];
  while (true) {
    ASSIGN_OR_RETURN(bool full,
                     ReadFullAt(reader_.fd, reader_.path, reader_.offset, header, kHeaderSize));
    const uint32_t len = GetU32(header);
    if (!full || len == 0 || len > kMaxRecordSize)
      return CorruptRecord(reader_.path, reader_.offset);
    if (reader_.index == index) {
      WalRecord record{index, std::string(len, '\0')};
      ASSIGN_OR_RETURN(full, ReadFullAt(reader_.fd, reader_.path, reader_.offset + kHeaderSize,
                                        record.data.data(), len));
      if (!full || Crc32c(record.data) != GetU32(header + 4)) {
        return CorruptRecord(reader_.path, reader_.offset);
      }
      reader_.offset += kHeaderSize + len;
      ++reader_.index;
      return record;
    }
    // Skipping records before the first one wanted (after a restart): Open() checked them.
    reader_.offset += kHeaderSize + len;
    ++reader_.index;
  }
}

absl::Status FileWal::Commit(uint64_t index) {
  std::lock_guard<std::mutex> commit_lock(commit_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return absl::FailedPreconditionError("wal: closed");
    if (index <= committed_) return absl::OkStatus();
    if (index > last_appended_) {
      return absl::InvalidArgumentError(absl::StrCat("wal: cannot commit record ", index,
                                                     ": the last appended is ", last_appended_));
    }
  }
  char buffer[kCommittedSize];
  PutU64(buffer, index);
  PutU32(buffer + 8, Crc32c(std::string_view(buffer, 8)));
  // Write aside and rename over: a crash leaves either the old or the new index, never a mix.
  const std::string temp = absl::StrCat(options_.directory, "/", AV(kCommittedTempName));
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("create", temp, errno);
  absl::Status status = WriteAll(fd, temp, buffer, sizeof(buffer));
  if (status.ok() && fsync(fd) != 0) status = ErrnoError("sync", temp, errno);
  close(fd);
  if (status.ok() && rename(temp.c_str(), committed_path_.c_str()) != 0) {
    status = ErrnoError("rename", temp, errno);
  }
  if (!status.ok()) {
    unlink(temp.c_str());
    return status;
  }
  RETURN_IF_ERROR(SyncDirectory(options_.directory));
  std::lock_guard<std::mutex> lock(mu_);
  committed_ = index;
  return absl::OkStatus();
}

absl::Status FileWal::Truncate() {
  std::vector<Segment> doomed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Oldest first, so that a crash midway leaves a contiguous log. The writer's segment (the
    // last) stays, and so does the one the reader is in.
    while (segments_.size() > 1 && segments_.front().last <= committed_ &&
           segments_.front().last < read_next_) {
      doomed.push_back(std::move(segments_.front()));
      segments_.pop_front();
    }
  }
  if (doomed.empty()) return absl::OkStatus();
  absl::Status status;
  size_t removed = 0;
  for (; removed < doomed.size(); ++removed) {
    if (unlink(doomed[removed].path.c_str()) != 0 && errno != ENOENT) {
      status = ErrnoError("remove", doomed[removed].path, errno);
      break;
    }
  }
  if (removed < doomed.size()) {
    // Keep the segments that are still there, so that a later Truncate retries them in order.
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = doomed.size(); i > removed; --i) segments_.push_front(doomed[i - 1]);
  }
  absl::Status synced = SyncDirectory(options_.directory);
  return status.ok() ? synced : status;
}

void FileWal::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  appended_or_closed_.notify_all();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Wal>> Wal::Open(const WalOptions& options) {
  if (options.directory.empty()) return absl::InvalidArgumentError("wal: directory is empty");
  if (options.segment_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("wal: segment_size must be positive, got ", options.segment_size));
  }
  auto wal = std::make_unique<FileWal>(options);
  RETURN_IF_ERROR(wal->Recover());
  return std::unique_ptr<Wal>(std::move(wal));
}

}  // namespace sprout::collector::prwexporter
