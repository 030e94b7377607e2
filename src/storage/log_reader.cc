#include "storage/log_reader.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/coding.h"
#include "base/crc32c.h"
#include "base/status.h"

namespace sprout::storage {

std::string LogPosition::ToString() const {
  return absl::StrCat("segment ", segment, " offset ", offset);
}

std::string LogDamage::ToString() const {
  return absl::StrCat(reason, ": ", bytes, " bytes, ", records, " records at offset ", offset,
                      " of ", file);
}

namespace log {
namespace {

constexpr uint64_t kReadWindow = 256 * 1024;

bool StartsRecord(uint8_t chunk_type) {
  return chunk_type == kFullChunk || chunk_type == kFirstChunk;
}

}  // namespace

std::string EncodeSegmentHeader(uint64_t previous_segment) {
  std::string header(kSegmentHeaderSize, '\0');
  std::memcpy(header.data(), kSegmentMagic, sizeof(kSegmentMagic));
  PutU32(header.data() + 8, kFormatVersion);
  PutU64(header.data() + 16, previous_segment);
  PutU32(header.data() + 24, MaskSnappyCrc(Crc32c(std::string_view(header.data(), 24))));
  return header;
}

absl::StatusOr<uint64_t> ParseSegmentHeader(std::string_view header, const std::string& path) {
  if (header.size() < kSegmentHeaderSize) {
    return absl::DataLossError(absl::StrCat("segment log: ", path, ": header cut short (",
                                            header.size(), " of ", kSegmentHeaderSize, " bytes)"));
  }
  if (std::memcmp(header.data(), kSegmentMagic, sizeof(kSegmentMagic)) != 0) {
    return absl::DataLossError(
        absl::StrCat("segment log: ", path, ": not a segment (bad magic bytes)"));
  }
  if (MaskSnappyCrc(Crc32c(header.substr(0, 24))) != GetU32(header.data() + 24)) {
    return absl::DataLossError(absl::StrCat("segment log: ", path, ": header checksum mismatch"));
  }
  const uint32_t version = GetU32(header.data() + 8);
  if (version != kFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("segment log: ", path, ": format version ", version,
                     " is not supported (this sprout reads version ", kFormatVersion, ")"));
  }
  return GetU64(header.data() + 16);
}

SegmentFileReader::SegmentFileReader(const File* file, uint64_t segment, uint64_t offset,
                                     uint64_t max_record_size)
    : file_(file),
      segment_(segment),
      max_record_size_(max_record_size),
      pos_(std::max(offset, kSegmentHeaderSize)) {}

void SegmentFileReader::AddPending(uint64_t offset, std::string reason, uint64_t records) {
  if (!pending_.has_value()) {
    pending_ = LogDamage{file_->path(), offset, 0, records, std::move(reason)};
    return;
  }
  pending_->offset = std::min(pending_->offset, offset);
  pending_->records += records;
}

void SegmentFileReader::ResolvePending(uint64_t until, std::vector<LogDamage>* damage) {
  if (!pending_.has_value()) return;
  pending_->bytes = until - pending_->offset;
  damage->push_back(std::move(*pending_));
  pending_.reset();
}

SegmentFileReader::Outcome SegmentFileReader::Tail(std::string reason, uint64_t records) {
  if (pending_.has_value()) {
    tail_ = *pending_;
  } else {
    tail_ = LogDamage{file_->path(), assembling_ ? record_start_ : pos_, 0, 0, std::move(reason)};
    if (assembling_) tail_.reason = "record cut short";
  }
  tail_.bytes = 0;
  tail_.records += records + (assembling_ ? 1 : 0);
  return Outcome::kTail;
}

absl::StatusOr<std::string_view> SegmentFileReader::Fetch(uint64_t offset, uint64_t n,
                                                          uint64_t limit) {
  if (offset >= buffer_start_ && offset + n <= buffer_start_ + buffer_.size()) {
    return std::string_view(buffer_).substr(offset - buffer_start_, n);
  }
  // Never past `limit`: bytes beyond it may still change (a writer's unpublished tail).
  const uint64_t len = std::min(std::max(n, kReadWindow), limit - offset);
  buffer_.resize(len);
  ASSIGN_OR_RETURN(size_t got, file_->ReadAt(offset, len, buffer_.data()));
  buffer_.resize(got);
  buffer_start_ = offset;
  if (got < n) {
    return absl::DataLossError(absl::StrCat("segment log: ", file_->path(), ": ", n,
                                            " bytes at offset ", offset, " are missing"));
  }
  return std::string_view(buffer_).substr(0, n);
}

absl::StatusOr<SegmentFileReader::Outcome> SegmentFileReader::Next(uint64_t limit,
                                                                   LogRecord* record,
                                                                   std::vector<LogDamage>* damage) {
  auto drop_assembling = [this](const char* reason) {
    if (!assembling_) return;
    AddPending(record_start_, reason, 1);
    assembling_ = false;
    record_data_.clear();
  };
  while (true) {
    if (pos_ >= limit) {
      if (assembling_ || pending_.has_value()) return Tail("", 0);
      return Outcome::kEnd;
    }
    const uint64_t in_block = kBlockSize - pos_ % kBlockSize;
    if (in_block < kChunkHeaderSize) {
      pos_ += in_block;  // the block's zero trailer
      continue;
    }
    const uint64_t block_end = pos_ + in_block;
    if (limit - pos_ < kChunkHeaderSize) return Tail("chunk header cut short", 0);
    ASSIGN_OR_RETURN(std::string_view header, Fetch(pos_, kChunkHeaderSize, limit));
    const uint32_t crc = GetU32(header.data());
    const uint16_t length = GetU16(header.data() + 4);
    const uint8_t chunk_type = static_cast<uint8_t>(header[6]);
    const uint8_t record_type = static_cast<uint8_t>(header[7]);
    if (crc == 0 && length == 0 && chunk_type == 0 && record_type == 0) {
      // Space allocated but never written (a size that reached the disk before its data).
      drop_assembling("record without its last chunk");
      AddPending(pos_, "zero-filled bytes", 0);
      pos_ = block_end;
      continue;
    }
    if (chunk_type < kFullChunk || chunk_type > kLastChunk) {
      drop_assembling("record without its last chunk");
      AddPending(pos_, absl::StrCat("bad chunk type ", chunk_type), 0);
      pos_ = block_end;
      continue;
    }
    if (kChunkHeaderSize + length > in_block) {
      drop_assembling("record without its last chunk");
      AddPending(pos_, absl::StrCat("chunk length ", length, " crosses a block boundary"), 0);
      pos_ = block_end;
      continue;
    }
    const uint64_t chunk_end = pos_ + kChunkHeaderSize + length;
    if (chunk_end > limit) return Tail("chunk cut short", StartsRecord(chunk_type) ? 1 : 0);
    ASSIGN_OR_RETURN(std::string_view chunk, Fetch(pos_, kChunkHeaderSize + length, limit));
    if (MaskSnappyCrc(Crc32c(chunk.substr(4))) != crc) {
      drop_assembling("record without its last chunk");
      AddPending(pos_, "checksum mismatch", StartsRecord(chunk_type) ? 1 : 0);
      pos_ = block_end;
      continue;
    }
    const std::string_view payload = chunk.substr(kChunkHeaderSize);
    switch (chunk_type) {
      case kFullChunk:
        drop_assembling("record without its last chunk");
        if (length > max_record_size_) {
          AddPending(pos_, absl::StrCat("record longer than ", max_record_size_, " bytes"), 1);
          pos_ = chunk_end;
          continue;
        }
        ResolvePending(pos_, damage);
        record->type = record_type;
        record->data.assign(payload.data(), payload.size());
        record->position = {segment_, pos_};
        record->end = {segment_, chunk_end};
        pos_ = chunk_end;
        return Outcome::kRecord;
      case kFirstChunk:
        drop_assembling("record without its last chunk");
        assembling_ = true;
        record_start_ = pos_;
        record_type_ = record_type;
        record_data_.assign(payload.data(), payload.size());
        pos_ = chunk_end;
        continue;
      default:  // kMiddleChunk, kLastChunk
        if (!assembling_) {
          AddPending(pos_, "chunk without the start of its record", 0);
          pos_ = chunk_end;
          continue;
        }
        if (record_type != record_type_) {
          drop_assembling("record type changes between its chunks");
          AddPending(pos_, "chunk without the start of its record", 0);
          pos_ = chunk_end;
          continue;
        }
        if (record_data_.size() + length > max_record_size_) {
          AddPending(record_start_, absl::StrCat("record longer than ", max_record_size_, " bytes"),
                     1);
          assembling_ = false;
          record_data_.clear();
          pos_ = chunk_end;
          continue;
        }
        record_data_.append(payload.data(), payload.size());
        pos_ = chunk_end;
        if (chunk_type == kMiddleChunk) continue;
        ResolvePending(record_start_, damage);
        assembling_ = false;
        record->type = record_type_;
        record->data = std::move(record_data_);
        record_data_.clear();
        record->position = {segment_, record_start_};
        record->end = {segment_, chunk_end};
        return Outcome::kRecord;
    }
  }
}

}  // namespace log
}  // namespace sprout::storage
