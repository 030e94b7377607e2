#include "objstore/object_store.h"

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace sprout::objstore {
namespace {

constexpr size_t kMaxKeyBytes = 1024;
constexpr size_t kMaxSegmentBytes = 255;

absl::Status Invalid(std::string_view what, std::string_view value, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid object ", AV(what), " \"", AV(value), "\": ", AV(why)));
}

// The rules shared by keys and prefixes, for the segment [begin, end) of `s`; `complete` is
// false only for a prefix's unterminated last segment, which may be cut anywhere.
absl::Status CheckSegment(std::string_view what, std::string_view s, std::string_view segment,
                          bool complete) {
  if (complete && segment.empty()) return Invalid(what, s, "empty path segment");
  if (complete && (segment == "." || segment == "..")) {
    return Invalid(what, s, absl::StrCat("path segment \"", AV(segment), "\""));
  }
  if (segment.size() > kMaxSegmentBytes) {
    return Invalid(what, s,
                   absl::StrCat("a path segment is longer than ", kMaxSegmentBytes, " bytes"));
  }
  if (complete && segment.starts_with(kReservedSegmentPrefix)) {
    return Invalid(what, s,
                   absl::StrCat("path segments starting with \"", AV(kReservedSegmentPrefix),
                                "\" are reserved"));
  }
  return absl::OkStatus();
}

absl::Status Check(std::string_view what, std::string_view s, bool is_prefix) {
  if (s.empty()) {
    if (is_prefix) return absl::OkStatus();
    return absl::InvalidArgumentError("invalid object key: empty");
  }
  if (s.size() > kMaxKeyBytes) {
    return Invalid(what, s.substr(0, 64), absl::StrCat("longer than ", kMaxKeyBytes, " bytes"));
  }
  if (s.find('\0') != std::string_view::npos) return Invalid(what, s, "contains NUL");
  if (s.front() == '/') return Invalid(what, s, "starts with '/'");
  size_t start = 0;
  while (true) {
    const size_t slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      // The last segment: a key's is complete; a prefix's may be cut anywhere, or be empty
      // after a trailing '/'.
      return CheckSegment(what, s, s.substr(start), /*complete=*/!is_prefix);
    }
    RETURN_IF_ERROR(CheckSegment(what, s, s.substr(start, slash - start), /*complete=*/true));
    start = slash + 1;
  }
}

}  // namespace

absl::Status ValidateKey(std::string_view key) { return Check("key", key, /*is_prefix=*/false); }

absl::Status ValidatePrefix(std::string_view prefix) {
  return Check("prefix", prefix, /*is_prefix=*/true);
}

absl::StatusOr<bool> ObjectStore::Exists(std::string_view key) {
  absl::StatusOr<ObjectAttributes> attributes = Attributes(key);
  if (attributes.ok()) return true;
  if (absl::IsNotFound(attributes.status())) return false;
  return attributes.status();
}

namespace {

class GetRangeReader final : public RangeReader {
 public:
  GetRangeReader(ObjectStore* store, std::string key) : store_(store), key_(std::move(key)) {}
  absl::StatusOr<std::string> Read(uint64_t offset, uint64_t length) override {
    return store_->GetRange(key_, offset, length);
  }

 private:
  ObjectStore* const store_;
  const std::string key_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<RangeReader>> ObjectStore::OpenRangeReader(std::string_view key) {
  return std::make_unique<GetRangeReader>(this, std::string(key));
}

}  // namespace sprout::objstore
