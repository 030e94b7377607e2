#include "metrics/tsdb/chunkenc/chunk.h"

#include "absl/strings/str_cat.h"
#include "metrics/tsdb/chunkenc/float_chunk.h"
#include "metrics/tsdb/chunkenc/histogram_chunk.h"

namespace sprout::metrics::chunkenc {

namespace {

// Stands in for a chunk that cannot be decoded at all.
class ErrorIterator final : public Iterator {
 public:
  explicit ErrorIterator(absl::Status err) : err_(std::move(err)) {}
  ValueType Next() override { return ValueType::kNone; }
  ValueType Seek(int64_t) override { return ValueType::kNone; }
  int64_t AtT() const override { return 0; }
  const absl::Status& Err() const override { return err_; }

 private:
  absl::Status err_;
};

}  // namespace

std::string EncodingName(Encoding e) {
  switch (e) {
    case Encoding::kNone:
      return "none";
    case Encoding::kXor:
      return "xor";
    case Encoding::kHistogram:
      return "histogram";
    case Encoding::kFloatHistogram:
      return "float histogram";
  }
  return absl::StrCat("unknown(", static_cast<int>(e), ")");
}

std::unique_ptr<Iterator> NewIterator(Encoding encoding, std::string_view payload) {
  switch (encoding) {
    case Encoding::kXor:
      return std::make_unique<FloatChunkIterator>(payload);
    case Encoding::kHistogram:
    case Encoding::kFloatHistogram:
      return std::make_unique<HistogramChunkIterator>(encoding, payload);
    case Encoding::kNone:
      break;
  }
  return std::make_unique<ErrorIterator>(
      absl::InvalidArgumentError(absl::StrCat("chunk: unknown encoding ", EncodingName(encoding))));
}

std::unique_ptr<Iterator> NewIteratorFromRecord(std::string_view record) {
  if (record.empty()) {
    return std::make_unique<ErrorIterator>(
        absl::DataLossError("chunk: empty record (no encoding byte)"));
  }
  return NewIterator(static_cast<Encoding>(record[0]), record.substr(1));
}

}  // namespace sprout::metrics::chunkenc
