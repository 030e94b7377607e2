#include "metrics/tsdb/index/labels.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/go_text.h"

namespace sprout::metrics::tsdb {
namespace {

size_t VarintLength(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

char* PutVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

// Decodes a varint no longer than the shortest form of a 32-bit length; nullptr when the input
// ends, the varint is overlong (a redundant trailing zero group) or exceeds 32 bits.
const char* GetVarint32(const char* p, const char* end, uint32_t* out) {
  uint64_t v = 0;
  for (int shift = 0; shift <= 28; shift += 7) {
    if (p == end) return nullptr;
    const uint8_t byte = static_cast<uint8_t>(*p++);
    v |= uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) {
      if (byte == 0 && shift > 0) return nullptr;  // not the shortest form
      if (v > UINT32_MAX) return nullptr;
      *out = static_cast<uint32_t>(v);
      return p;
    }
  }
  return nullptr;
}

// Decodes from a buffer this file wrote (no checks).
inline const char* GetVarintTrusted(const char* p, uint32_t* out) {
  uint32_t v = 0;
  int shift = 0;
  while (true) {
    const uint8_t byte = static_cast<uint8_t>(*p++);
    v |= uint32_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) break;
    shift += 7;
  }
  *out = v;
  return p;
}

bool IsLegacyNameChar(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

}  // namespace

// ---- Labels ------------------------------------------------------------------------------------

Labels::Iterator::Iterator(const char* p, const char* end) : next_(p), rest_(p), end_(end) {
  Decode();
}

void Labels::Iterator::Decode() {
  next_ = rest_;
  if (rest_ == end_) return;
  uint32_t n = 0;
  const char* p = GetVarintTrusted(rest_, &n);
  current_.name = std::string_view(p, n);
  p = GetVarintTrusted(p + n, &n);
  current_.value = std::string_view(p, n);
  rest_ = p + n;
}

Labels::Iterator Labels::begin() const {
  if (rep_ == nullptr) return Iterator();
  return Iterator(rep_->data(), rep_->data() + rep_->size);
}

Labels::Iterator Labels::end() const {
  Iterator it;
  if (rep_ != nullptr) it.next_ = rep_->data() + rep_->size;
  return it;
}

Labels::Labels(const Labels& other) noexcept : rep_(other.rep_) {
  if (rep_ != nullptr) rep_->refs.fetch_add(1, std::memory_order_relaxed);
}

Labels& Labels::operator=(const Labels& other) noexcept {
  if (other.rep_ != nullptr) other.rep_->refs.fetch_add(1, std::memory_order_relaxed);
  Unref(rep_);
  rep_ = other.rep_;
  return *this;
}

Labels& Labels::operator=(Labels&& other) noexcept {
  if (this != &other) {
    Unref(rep_);
    rep_ = std::exchange(other.rep_, nullptr);
  }
  return *this;
}

Labels::Rep* Labels::Allocate(size_t size, size_t count) {
  void* memory = ::operator new(sizeof(Rep) + size);
  Rep* rep = new (memory) Rep;
  rep->refs.store(1, std::memory_order_relaxed);
  rep->size = static_cast<uint32_t>(size);
  rep->count = static_cast<uint32_t>(count);
  return rep;
}

void Labels::Unref(Rep* rep) {
  if (rep == nullptr) return;
  if (rep->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    rep->~Rep();
    ::operator delete(rep);
  }
}

Labels Labels::FromSorted(std::span<const Label> labels) {
  Labels out;
  if (labels.empty()) return out;
  size_t size = 0;
  for (const Label& l : labels) {
    size +=
        VarintLength(l.name.size()) + l.name.size() + VarintLength(l.value.size()) + l.value.size();
  }
  out.rep_ = Allocate(size, labels.size());
  char* p = out.rep_->data();
  for (const Label& l : labels) {
    p = PutVarint(p, l.name.size());
    if (!l.name.empty()) std::memcpy(p, l.name.data(), l.name.size());
    p += l.name.size();
    p = PutVarint(p, l.value.size());
    if (!l.value.empty()) std::memcpy(p, l.value.data(), l.value.size());
    p += l.value.size();
  }
  return out;
}

Labels Labels::FromStrings(std::initializer_list<std::string_view> pairs) {
  LabelsBuilder builder;
  const std::string_view* s = pairs.begin();
  for (size_t i = 0; i + 1 < pairs.size(); i += 2) builder.Add(s[i], s[i + 1]);
  return builder.Build();
}

absl::StatusOr<Labels> Labels::FromBytes(std::string_view bytes) {
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  size_t count = 0;
  std::string_view previous;
  while (p != end) {
    uint32_t n = 0;
    p = GetVarint32(p, end, &n);
    if (p == nullptr || static_cast<size_t>(end - p) < n) {
      return absl::DataLossError(
          absl::StrCat("labels: truncated or malformed name at label ", count));
    }
    const std::string_view name(p, n);
    p += n;
    p = GetVarint32(p, end, &n);
    if (p == nullptr || static_cast<size_t>(end - p) < n) {
      return absl::DataLossError(
          absl::StrCat("labels: truncated or malformed value at label ", count));
    }
    p += n;
    if (count > 0 && name <= previous) {
      return absl::DataLossError(
          absl::StrCat("labels: names not sorted and unique at label ", count));
    }
    previous = name;
    ++count;
  }
  Labels out;
  if (count == 0) return out;
  out.rep_ = Allocate(bytes.size(), count);
  std::memcpy(out.rep_->data(), bytes.data(), bytes.size());
  return out;
}

std::string_view Labels::Get(std::string_view name) const {
  for (Label l : *this) {
    if (l.name == name) return l.value;
    if (l.name > name) break;  // sorted: past where it would be
  }
  return {};
}

bool Labels::Has(std::string_view name) const {
  for (Label l : *this) {
    if (l.name == name) return true;
    if (l.name > name) break;
  }
  return false;
}

uint64_t Labels::Hash() const {
  uint64_t h = size();
  for (Label l : *this) {
    h = HashString(h, l.name);
    h = HashString(h, l.value);
  }
  return h;
}

int Labels::Compare(const Labels& a, const Labels& b) {
  if (a.rep_ == b.rep_) return 0;
  Iterator ia = a.begin(), ea = a.end(), ib = b.begin(), eb = b.end();
  for (; ia != ea && ib != eb; ++ia, ++ib) {
    const Label la = *ia;
    const Label lb = *ib;
    if (int c = la.name.compare(lb.name); c != 0) return c < 0 ? -1 : 1;
    if (int c = la.value.compare(lb.value); c != 0) return c < 0 ? -1 : 1;
  }
  if (ia == ea && ib == eb) return 0;
  return ia == ea ? -1 : 1;
}

std::string Labels::ToString() const {
  std::string out;
  out.reserve(bytes().size() + 4 * size() + 2);
  out.push_back('{');
  bool first = true;
  for (Label l : *this) {
    if (!first) out.append(", ");
    first = false;
    if (IsLegacyLabelName(l.name)) {
      out.append(l.name);
    } else {
      AppendGoQuoted(out, l.name);
    }
    out.push_back('=');
    AppendGoQuoted(out, l.value);
  }
  out.push_back('}');
  return out;
}

// ---- Go quoting --------------------------------------------------------------------------------

void AppendGoQuoted(std::string& out, std::string_view s) { out.append(GoQuote(s)); }

// ---- validation and builder --------------------------------------------------------------------

bool IsLegacyLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsLegacyNameChar(name[i], i == 0, /*colon=*/false)) return false;
  }
  return true;
}

bool IsLegacyMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsLegacyNameChar(name[i], i == 0, /*colon=*/true)) return false;
  }
  return true;
}

std::string_view LabelErrorName(LabelError error) {
  switch (error) {
    case LabelError::kOk:
      return "ok";
    case LabelError::kNoLabels:
      return "no_labels";
    case LabelError::kMissingMetricName:
      return "missing_metric_name";
    case LabelError::kInvalidMetricName:
      return "invalid_metric_name";
    case LabelError::kTooManyLabels:
      return "too_many_labels";
    case LabelError::kEmptyName:
      return "empty_label_name";
    case LabelError::kInvalidName:
      return "invalid_label_name";
    case LabelError::kNameTooLong:
      return "label_name_too_long";
    case LabelError::kValueTooLong:
      return "label_value_too_long";
    case LabelError::kEmptyValue:
      return "empty_label_value";
    case LabelError::kDuplicateName:
      return "duplicate_label_name";
    case LabelError::kUnsorted:
      return "labels_not_sorted";
  }
  return "unknown";
}

LabelsBuilder::LabelsBuilder(const Labels& labels) {
  labels_.reserve(labels.size());
  for (Label l : labels) labels_.emplace_back(std::string(l.name), std::string(l.value));
}

LabelsBuilder& LabelsBuilder::Add(std::string_view name, std::string_view value) {
  labels_.emplace_back(std::string(name), std::string(value));
  return *this;
}

LabelsBuilder& LabelsBuilder::Set(std::string_view name, std::string_view value) {
  if (value.empty()) return Del(name);
  bool found = false;
  for (auto it = labels_.begin(); it != labels_.end();) {
    if (it->first == name) {
      if (found) {
        it = labels_.erase(it);
        continue;
      }
      it->second.assign(value);
      found = true;
    }
    ++it;
  }
  if (!found) labels_.emplace_back(std::string(name), std::string(value));
  return *this;
}

LabelsBuilder& LabelsBuilder::Del(std::string_view name) {
  std::erase_if(labels_, [&](const auto& l) { return l.first == name; });
  return *this;
}

LabelsBuilder& LabelsBuilder::DropEmptyValues() {
  std::erase_if(labels_, [](const auto& l) { return l.second.empty(); });
  return *this;
}

LabelsBuilder& LabelsBuilder::Sort() {
  std::stable_sort(labels_.begin(), labels_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  return *this;
}

std::string_view LabelsBuilder::Get(std::string_view name) const {
  for (auto it = labels_.rbegin(); it != labels_.rend(); ++it) {
    if (it->first == name) return it->second;
  }
  return {};
}

LabelValidation LabelsBuilder::Validate(const LabelValidationOptions& options) const {
  LabelValidation result;
  auto fail = [&](LabelError error, std::string_view name, std::string_view value = {}) {
    result.error = error;
    result.name.assign(name);
    result.value.assign(value);
    return result;
  };
  if (labels_.empty()) return fail(LabelError::kNoLabels, {});
  const std::pair<std::string, std::string>* metric = nullptr;
  for (const auto& l : labels_) {
    if (l.first == kMetricName) metric = &l;
  }
  if (options.require_metric_name) {
    if (metric == nullptr || metric->second.empty()) {
      return fail(LabelError::kMissingMetricName, kMetricName);
    }
    if (options.check_names && !IsLegacyMetricName(metric->second)) {
      return fail(LabelError::kInvalidMetricName, kMetricName, metric->second);
    }
  }
  if (options.max_label_names > 0 && labels_.size() > options.max_label_names) {
    return fail(LabelError::kTooManyLabels, {});
  }
  const std::string* previous = nullptr;
  for (const auto& [name, value] : labels_) {
    if (name.empty()) return fail(LabelError::kEmptyName, name, value);
    if (options.check_names && !IsLegacyLabelName(name)) {
      return fail(LabelError::kInvalidName, name, value);
    }
    if (options.max_name_length > 0 && name.size() > options.max_name_length) {
      return fail(LabelError::kNameTooLong, name, value);
    }
    if (options.max_value_length > 0 && value.size() > options.max_value_length) {
      return fail(LabelError::kValueTooLong, name, value);
    }
    if (value.empty()) return fail(LabelError::kEmptyValue, name);
    if (previous != nullptr) {
      if (*previous == name) return fail(LabelError::kDuplicateName, name);
      if (*previous > name) return fail(LabelError::kUnsorted, name);
    }
    previous = &name;
  }
  return result;
}

Labels LabelsBuilder::Build() const {
  std::vector<const std::pair<std::string, std::string>*> order;
  order.reserve(labels_.size());
  for (const auto& l : labels_) order.push_back(&l);
  std::stable_sort(order.begin(), order.end(),
                   [](const auto* a, const auto* b) { return a->first < b->first; });
  std::vector<Label> sorted;
  sorted.reserve(order.size());
  for (const auto* l : order) {
    if (!sorted.empty() && sorted.back().name == l->first) {
      sorted.back().value = l->second;  // the last added wins
    } else {
      sorted.push_back(Label{l->first, l->second});
    }
  }
  return Labels::FromSorted(sorted);
}

}  // namespace sprout::metrics::tsdb
