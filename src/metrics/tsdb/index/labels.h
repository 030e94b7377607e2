// Labels: an immutable, sorted label set held in one contiguous, reference-counted buffer.
//
// The buffer is the set's canonical encoding: for each label in name order,
//   uvarint(len(name)) name uvarint(len(value)) value
// (LEB128 varints, the shortest form). Names are unique and sorted by byte order, so two label
// sets are equal exactly when their `bytes()` are equal; the bytes are what the head's series
// map, the WAL and the block index store. Nothing else is kept per label.
//
// Copying a Labels shares the buffer (one atomic increment); moving steals it. The empty set owns
// no buffer. A Labels never changes after it is built: LabelsBuilder makes new ones.
//
// Hash() is sprout::HashLabels (base/hash.h) of the labels in order, computed straight from the
// buffer: the same value the OTLP → Prometheus translation attaches to a label set it emits, so
// the head can take a hash that arrived with a series. The definition is fixed (a test pins it).
//
// Order (operator<, Compare): Prometheus's — label by label, name then value, byte-wise; a set
// that is a prefix of another sorts first.
//
// Thread-safety: a Labels is immutable; any number of threads may read, copy and destroy copies
// of the same set concurrently (the reference count is atomic). LabelsBuilder is not
// thread-safe (one per caller).
#pragma once

#include <atomic>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "base/hash.h"

namespace sprout::metrics::tsdb {

// The name of the label that holds a series' metric name.
inline constexpr std::string_view kMetricName = "__name__";

struct Label {
  std::string_view name;
  std::string_view value;
  friend bool operator==(const Label&, const Label&) = default;
};

class Labels {
 public:
  // Forward iterator decoding one label per step from the buffer. Yields Label by value; the
  // views point into the Labels' buffer and live as long as any copy of it.
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Label;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = Label;

    Iterator() = default;
    Label operator*() const { return current_; }
    Iterator& operator++() {
      Decode();
      return *this;
    }
    Iterator operator++(int) {
      Iterator copy = *this;
      Decode();
      return copy;
    }
    friend bool operator==(const Iterator& a, const Iterator& b) { return a.next_ == b.next_; }

   private:
    friend class Labels;
    Iterator(const char* p, const char* end);
    void Decode();

    const char* next_ = nullptr;  // start of the current label (end() when past the last)
    const char* rest_ = nullptr;  // start of the label after the current one
    const char* end_ = nullptr;
    Label current_;
  };

  Labels() = default;
  Labels(const Labels& other) noexcept;
  Labels(Labels&& other) noexcept : rep_(std::exchange(other.rep_, nullptr)) {}
  Labels& operator=(const Labels& other) noexcept;
  Labels& operator=(Labels&& other) noexcept;
  ~Labels() { Unref(rep_); }

  // From labels already sorted by name with unique names (not checked: callers validate with
  // LabelsBuilder, or hold labels from a Labels). Empty values are kept as given.
  static Labels FromSorted(std::span<const Label> labels);
  // Tests and literals: {"__name__", "up", "job", "api"} — name/value pairs in any order; sorted
  // here. Repeated names keep the last value; empty values are kept. An odd count drops the
  // last string.
  static Labels FromStrings(std::initializer_list<std::string_view> pairs);
  // Decodes a canonical encoding (from the WAL or a block). InvalidArgument/DataLoss when the
  // bytes are truncated, overlong, or not sorted and unique by name.
  static absl::StatusOr<Labels> FromBytes(std::string_view bytes);

  Iterator begin() const;
  Iterator end() const;

  size_t size() const { return rep_ == nullptr ? 0 : rep_->count; }
  bool empty() const { return rep_ == nullptr; }
  // The canonical encoding (see the file comment); empty for the empty set.
  std::string_view bytes() const {
    return rep_ == nullptr ? std::string_view() : std::string_view(rep_->data(), rep_->size);
  }

  // The value of `name`, "" when absent (Prometheus: an absent label has the empty value).
  std::string_view Get(std::string_view name) const;
  bool Has(std::string_view name) const;
  std::string_view MetricName() const { return Get(kMetricName); }

  // HashLabels (base/hash.h) of this set; equal sets hash equal.
  uint64_t Hash() const;

  // Prometheus text form: {__name__="up", job="api"}. Values are quoted as Go's strconv.Quote
  // does; a name that is not a legacy Prometheus name ([a-zA-Z_][a-zA-Z0-9_]*) is quoted too.
  std::string ToString() const;

  // <0, 0, >0 in Prometheus order.
  static int Compare(const Labels& a, const Labels& b);
  friend bool operator==(const Labels& a, const Labels& b) { return a.bytes() == b.bytes(); }
  friend bool operator<(const Labels& a, const Labels& b) { return Compare(a, b) < 0; }

  // Heap bytes owned by this set's buffer (shared between copies): header plus encoding.
  size_t AllocatedBytes() const { return rep_ == nullptr ? 0 : sizeof(Rep) + rep_->size; }

 private:
  struct Rep {
    std::atomic<uint32_t> refs;
    uint32_t size;   // encoding bytes that follow the header
    uint32_t count;  // labels
    char* data() { return reinterpret_cast<char*>(this + 1); }
    const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  };
  static Rep* Allocate(size_t size, size_t count);
  static void Unref(Rep* rep);

  Rep* rep_ = nullptr;
};

// Go's strconv.Quote for `s` appended to `out`: base/go_text.h's GoQuote (its header says
// how unicode.IsPrint is approximated).
void AppendGoQuoted(std::string& out, std::string_view s);

// Why a label set was refused. The ingest layer turns these into Mimir's message texts (it has
// the series, so it names the metric and, with `name`, the offending label).
enum class LabelError {
  kOk = 0,
  kNoLabels,           // nothing left (Prometheus: "empty labelset")
  kMissingMetricName,  // require_metric_name and no __name__
  kInvalidMetricName,  // check_names and __name__ not [a-zA-Z_:][a-zA-Z0-9_:]*
  kTooManyLabels,      // more than max_label_names
  kEmptyName,          // a label name is ""
  kInvalidName,        // check_names and a name not [a-zA-Z_][a-zA-Z0-9_]*
  kNameTooLong,        // len(name) > max_name_length
  kValueTooLong,       // len(value) > max_value_length
  kEmptyValue,         // a value is "" (see LabelsBuilder::DropEmptyValues)
  kDuplicateName,      // a name repeats (adjacent after sorting)
  kUnsorted,           // names not in ascending byte order
};

// The enum's name in snake case ("duplicate_label_names" style reasons are the caller's).
std::string_view LabelErrorName(LabelError error);

struct LabelValidation {
  LabelError error = LabelError::kOk;
  std::string name;   // the offending label's name (kEmptyName: ""; kInvalidMetricName: __name__)
  std::string value;  // the offending value for kValueTooLong / kInvalidMetricName
  bool ok() const { return error == LabelError::kOk; }
};

struct LabelValidationOptions {
  bool require_metric_name = true;
  // Legacy Prometheus name charsets for label names and the metric name (remote write 1.0's
  // "should"; Mimir checks them with its default validation scheme). Off: any non-empty name.
  bool check_names = false;
  size_t max_label_names = 0;   // 0: no limit (Mimir default 30)
  size_t max_name_length = 0;   // 0: no limit (Mimir default 1024)
  size_t max_value_length = 0;  // 0: no limit (Mimir default 2048)
};

// Accumulates labels in any order and builds a Labels.
//
// Validation follows the remote-write spec (names sorted and unique, no empty names or values,
// __name__ should be present) in the order Mimir's distributor checks a series: metric name
// present, metric name charset, label count; then per label in the given order: name (empty or
// charset), name length, value length, empty value, then against the previous name duplicate
// or unsorted. The first failure is reported.
//
// Empty values: Prometheus's TSDB drops labels with empty values before it creates a series
// (the head appender calls WithoutEmpty), and Mimir's distributor removes them from a
// remote-write request before validating it ("Prometheus strips empty values before storing").
// So a receiver that behaves like them calls DropEmptyValues() before Validate(); kEmptyValue
// exists for callers that must refuse them instead. Mimir also sorts unsorted labels before
// validating; whether to Sort() or refuse with kUnsorted is the ingest layer's choice.
class LabelsBuilder {
 public:
  LabelsBuilder() = default;
  // Starts from an existing set (for Set/Del edits).
  explicit LabelsBuilder(const Labels& labels);

  void Reset() { labels_.clear(); }
  // Appends as given; order and duplicates are kept until Sort()/Build().
  LabelsBuilder& Add(std::string_view name, std::string_view value);
  // Replaces the value of `name` (every occurrence collapses to one) or appends it. An empty
  // value deletes the label, as Prometheus's labels.Builder does.
  LabelsBuilder& Set(std::string_view name, std::string_view value);
  // Removes every label called `name`.
  LabelsBuilder& Del(std::string_view name);
  // Removes labels whose value is "".
  LabelsBuilder& DropEmptyValues();
  // Stable sort by name (duplicates stay adjacent, in insertion order).
  LabelsBuilder& Sort();

  size_t size() const { return labels_.size(); }
  std::string_view Get(std::string_view name) const;  // last occurrence; "" when absent

  // Checks the labels in their current order; see the class comment.
  LabelValidation Validate(const LabelValidationOptions& options = {}) const;

  // Sorts by name and builds; of repeated names the last added wins. Callers that must refuse
  // duplicates or empty values call Validate first.
  Labels Build() const;

 private:
  std::vector<std::pair<std::string, std::string>> labels_;
};

// Legacy Prometheus charsets.
bool IsLegacyLabelName(std::string_view name);   // [a-zA-Z_][a-zA-Z0-9_]*
bool IsLegacyMetricName(std::string_view name);  // [a-zA-Z_:][a-zA-Z0-9_:]*

}  // namespace sprout::metrics::tsdb
