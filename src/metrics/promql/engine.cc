// The PromQL evaluator. See engine.h for the contract and docs/promql-compatibility.md for where
// the semantics come from.
//
// Shape: every node is evaluated over the whole step grid of its evaluation context (the query's
// [start, end] at its step, or a subquery's own grid) and yields a Val: a scalar per step, a
// string, or a set of StepSeries (one label set, a value or nothing per step). Selectors read
// each series' iterator once, front to back: an instant selector keeps the newest sample at or
// before each step's reference time (within the lookback delta), a range selector keeps a
// sliding window of samples that moves with the steps (samples older than the window are
// dropped, a gap larger than the window is skipped with Seek). Label work (dropping the metric
// name, match signatures, grouping keys, output label sets) is done once per series, not per
// step.
#include "metrics/promql/engine.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cerrno>
#include <cstring>
#include <limits>
#include <numeric>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "base/go_format.h"
#include "metrics/promql/functions.h"
#include "metrics/promql/kernels.h"
#include "metrics/promql/parser.h"
#include "metrics/promql/printer.h"
#include "re2/re2.h"

namespace sprout::metrics::promql {
namespace {

using chunkenc::FloatHistogram;
using tsdb::Label;
using tsdb::Labels;
using tsdb::LabelsBuilder;

constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;
constexpr std::string_view kMetricName = "__name__";

bool IsStale(double v) { return std::bit_cast<uint64_t>(v) == kStaleNaNBits; }

enum Kind : uint8_t { kAbsent = 0, kFloat = 1, kHist = 2 };

// One series over the steps of an evaluation context.
struct StepSeries {
  Labels labels;
  std::vector<double> f;
  std::vector<uint8_t> k;
  std::vector<FloatHistogram> h;  // empty unless some step holds a histogram

  void Init(size_t n) {
    f.assign(n, 0);
    k.assign(n, kAbsent);
  }
  void SetF(size_t i, double v) {
    f[i] = v;
    k[i] = kFloat;
  }
  void SetH(size_t i, FloatHistogram&& v) {
    if (h.empty()) h.resize(f.size());
    h[i] = std::move(v);
    k[i] = kHist;
  }
  void Clear(size_t i) { k[i] = kAbsent; }
  size_t Present() const {
    size_t n = 0;
    for (uint8_t x : k) n += x != kAbsent;
    return n;
  }
  bool Empty() const {
    for (uint8_t x : k)
      if (x != kAbsent) return false;
    return true;
  }
};

// A range vector as an instant query answers it: raw samples per series.
struct RawSeries {
  Labels labels;
  std::vector<FPoint> floats;
  std::vector<HPoint> hists;
};

struct Val {
  ValueType type = ValueType::kNone;
  std::vector<StepSeries> series;  // kVector
  std::vector<double> scalar;      // kScalar: one per step
  std::string str;                 // kString
  std::vector<RawSeries> raw;      // kMatrix (instant queries only)
};

// The step grid a node is evaluated on.
struct Grid {
  int64_t start = 0;
  int64_t end = 0;
  int64_t step = 1;
  size_t n = 1;
  int64_t T(size_t i) const { return start + static_cast<int64_t>(i) * step; }
};

Labels DropName(const Labels& l) {
  if (!l.Has(kMetricName)) return l;
  LabelsBuilder b(l);
  b.Del(kMetricName);
  return b.Build();
}

// strconv.ParseFloat(s, 64) for the texts a label value holds: an optional sign, then a decimal
// or hex float, or inf/infinity/nan in any case. No surrounding spaces.
bool ParseGoFloat(std::string_view s, double* out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s.front())) ||
      std::isspace(static_cast<unsigned char>(s.back()))) {
    return false;
  }
  std::string body(s);
  bool neg = false;
  size_t i = 0;
  if (body[0] == '+' || body[0] == '-') {
    neg = body[0] == '-';
    i = 1;
  }
  std::string rest = body.substr(i);
  std::string lower;
  for (char c : rest) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "inf" || lower == "infinity") {
    *out = neg ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    return true;
  }
  if (lower == "nan") {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (rest.empty() || !(std::isdigit(static_cast<unsigned char>(rest[0])) || rest[0] == '.')) {
    return false;
  }
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(rest.c_str(), &end);
  if (end != rest.c_str() + rest.size()) return false;
  *out = neg ? -v : v;
  return true;
}

std::string FormatValueForLabel(double v) { return GoFormatFloat(v, 'f', -1); }

absl::Status ExecError(std::string msg) { return absl::FailedPreconditionError(std::move(msg)); }

// An iterator over the present steps of a StepSeries (subquery results as range-function input).
class StepSeriesIterator final : public chunkenc::Iterator {
 public:
  StepSeriesIterator(const StepSeries* s, const Grid& g) : s_(s), g_(g) {}
  chunkenc::ValueType Next() override {
    ++i_;
    while (i_ < s_->k.size() && s_->k[i_] == kAbsent) ++i_;
    return Cur();
  }
  chunkenc::ValueType Seek(int64_t t) override {
    if (i_ == SIZE_MAX) i_ = 0;
    if (i_ < s_->k.size() && g_.T(i_) >= t && s_->k[i_] != kAbsent) return Cur();
    if (t > g_.start) {
      size_t j = static_cast<size_t>((t - g_.start + g_.step - 1) / g_.step);
      if (j > i_) i_ = j;
    }
    while (i_ < s_->k.size() && s_->k[i_] == kAbsent) ++i_;
    return Cur();
  }
  std::pair<int64_t, double> At() const override { return {g_.T(i_), s_->f[i_]}; }
  int64_t AtFloatHistogram(FloatHistogram* h) const override {
    *h = s_->h[i_];
    return g_.T(i_);
  }
  int64_t AtT() const override { return g_.T(i_); }
  const absl::Status& Err() const override { return ok_; }

 private:
  chunkenc::ValueType Cur() const {
    if (i_ >= s_->k.size()) return chunkenc::ValueType::kNone;
    return s_->k[i_] == kHist ? chunkenc::ValueType::kFloatHistogram
                              : chunkenc::ValueType::kFloat;
  }
  const StepSeries* s_;
  Grid g_;
  size_t i_ = SIZE_MAX;
  absl::Status ok_;
};

// Reads one series front to back as the steps advance. Skips nothing on its own: the caller
// seeks past gaps.
class SampleReader {
 public:
  explicit SampleReader(chunkenc::Iterator* it) : it_(it) {}
  // Loads the next sample into the pending slot; false at the end.
  bool Advance() {
    type_ = it_->Next();
    return Load();
  }
  bool SeekTo(int64_t t) {
    type_ = it_->Seek(t);
    return Load();
  }
  bool has() const { return type_ != chunkenc::ValueType::kNone; }
  int64_t t() const { return t_; }
  bool is_hist() const { return hist_; }
  double v() const { return v_; }
  void ReadHist(FloatHistogram* h) const { it_->AtFloatHistogram(h); }
  bool stale() const {
    if (!hist_) return IsStale(v_);
    FloatHistogram h;
    it_->AtFloatHistogram(&h);
    return IsStale(h.sum);
  }
  int64_t read = 0;  // samples seen

 private:
  bool Load() {
    if (type_ == chunkenc::ValueType::kNone) return false;
    ++read;
    hist_ = type_ == chunkenc::ValueType::kHistogram ||
            type_ == chunkenc::ValueType::kFloatHistogram;
    if (hist_) {
      t_ = it_->AtT();
    } else {
      auto [t, v] = it_->At();
      t_ = t;
      v_ = v;
    }
    return true;
  }
  chunkenc::Iterator* it_;
  chunkenc::ValueType type_ = chunkenc::ValueType::kNone;
  int64_t t_ = 0;
  double v_ = 0;
  bool hist_ = false;
};

// The sliding window of a range selector over one series.
struct WindowBuf {
  std::vector<int64_t> ft;
  std::vector<double> fv;
  // With `track_resets` (rate, increase): the running sum of counter-reset corrections, one per
  // float sample (kernels::Window::fcorr).
  bool track_resets = false;
  std::vector<double> fcorr;
  double corr_sum = 0;
  double prev_v = 0;
  bool have_prev = false;
  std::vector<int64_t> ht;
  std::vector<FloatHistogram> hv;
  size_t fb = 0, hb = 0;  // first live index

  void Reset() {
    ft.clear();
    fv.clear();
    fcorr.clear();
    corr_sum = 0;
    have_prev = false;
    ht.clear();
    hv.clear();
    fb = hb = 0;
  }
  void DropBefore(int64_t t) {
    while (fb < ft.size() && ft[fb] < t) ++fb;
    while (hb < ht.size() && ht[hb] < t) ++hb;
    if (fb > 64 && fb * 2 > ft.size()) {
      ft.erase(ft.begin(), ft.begin() + fb);
      fv.erase(fv.begin(), fv.begin() + fb);
      if (track_resets) fcorr.erase(fcorr.begin(), fcorr.begin() + fb);
      fb = 0;
    }
    if (hb > 16 && hb * 2 > ht.size()) {
      ht.erase(ht.begin(), ht.begin() + hb);
      hv.erase(hv.begin(), hv.begin() + hb);
      hb = 0;
    }
  }
  void PushFloat(int64_t t, double v) {
    ft.push_back(t);
    fv.push_back(v);
    if (track_resets) {
      if (have_prev && v < prev_v) corr_sum += prev_v;
      fcorr.push_back(corr_sum);
      prev_v = v;
      have_prev = true;
    }
  }
  size_t size() const { return ft.size() - fb + ht.size() - hb; }
  bool empty() const { return size() == 0; }
  kernels::Window View() const {
    kernels::Window w;
    w.ft = std::span<const int64_t>(ft).subspan(fb);
    w.fv = std::span<const double>(fv).subspan(fb);
    w.ht = std::span<const int64_t>(ht).subspan(hb);
    w.hv = std::span<const FloatHistogram>(hv).subspan(hb);
    if (track_resets) w.fcorr = std::span<const double>(fcorr).subspan(fb);
    return w;
  }
};

bool SameLabelsetInSeries(const std::vector<StepSeries>& ss) {
  absl::flat_hash_set<std::string_view> seen;
  for (const auto& s : ss)
    if (!seen.insert(s.labels.bytes()).second) return true;
  return false;
}

// The grouping key of a series for aggregations and vector matching: the values of `names`
// (on/by) or of every label except `names` and the metric name (ignoring/without).
std::string Signature(const Labels& l, const std::vector<std::string>& names, bool on) {
  std::string key;
  if (on) {
    // names are in written order; sort a copy for a stable key
    std::vector<std::string_view> sorted(names.begin(), names.end());
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    for (std::string_view n : sorted) {
      std::string_view v = l.Get(n);
      if (v.empty()) continue;
      key.append(n).append("\xff").append(v).append("\xff");
    }
  } else {
    for (const Label& lab : l) {
      if (lab.name == kMetricName) continue;
      if (std::find(names.begin(), names.end(), lab.name) != names.end()) continue;
      key.append(lab.name).append("\xff").append(lab.value).append("\xff");
    }
  }
  return key;
}

Labels GroupLabels(const Labels& l, const std::vector<std::string>& names, bool without) {
  LabelsBuilder b;
  if (!without) {
    for (const std::string& n : names) {
      std::string_view v = l.Get(n);
      if (!v.empty()) b.Set(n, v);
    }
  } else {
    for (const Label& lab : l) {
      if (lab.name == kMetricName) continue;
      if (std::find(names.begin(), names.end(), lab.name) != names.end()) continue;
      b.Add(lab.name, lab.value);
    }
  }
  return b.Build();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The evaluator of one query.
struct Engine::Impl {
  Querier* querier = nullptr;
  tsdb::QueryLimiter* limiter = nullptr;
  int64_t lookback = 0;
  int64_t default_step = 60000;
  int64_t max_samples = 0;
  int64_t query_start = 0;  // the query's start (Prometheus's evaluation start for `@ start()`)
  int64_t query_end = 0;
  int64_t held = 0;  // samples/points held by live results
  QueryStats* stats = nullptr;
  std::vector<std::string> warnings;
  uint64_t checks = 0;

  absl::Status Check() {
    if (limiter == nullptr) return absl::OkStatus();
    return limiter->Check();
  }
  absl::Status Hold(int64_t n) {
    held += n;
    if (held > stats->peak_samples) stats->peak_samples = held;
    if (max_samples > 0 && held > max_samples) return ExecError(kTooManySamples);
    return absl::OkStatus();
  }
  void Release(int64_t n) { held -= n; }

  absl::StatusOr<Val> Eval(const Expr& e, const Grid& g);
  absl::StatusOr<Val> EvalSelector(const Expr& vs, const Grid& g);
  absl::StatusOr<Val> EvalMatrixRaw(const Expr& e, int64_t t);
  absl::StatusOr<Val> EvalCall(const Expr& e, const Grid& g);
  absl::StatusOr<Val> EvalRangeCall(const Expr& e, const Grid& g, size_t matrix_arg);
  absl::StatusOr<Val> EvalAggregate(const Expr& e, const Grid& g);
  absl::StatusOr<Val> EvalBinary(const Expr& e, const Grid& g);
  absl::StatusOr<Val> EvalSubqueryInner(const Expr& sq, const Grid& g, Grid* inner);

  // Selection helpers.
  struct Selected {
    Labels labels;
    std::unique_ptr<chunkenc::Iterator> it;
  };
  absl::Status Select(const Expr& vs, int64_t mint, int64_t maxt, int64_t range_ms,
                      std::string_view func, std::vector<Selected>* out);
  // The reference time of step i of a selector: @ or the step, minus the offset.
  int64_t RefTime(const Expr& node, const Grid& g, size_t i) const {
    int64_t t = g.T(i);
    switch (node.at) {
      case AtKind::kTimestamp:
        t = node.at_ms;
        break;
      case AtKind::kStart:
        t = query_start;
        break;
      case AtKind::kEnd:
        t = query_end;
        break;
      case AtKind::kNone:
        break;
    }
    return t - node.offset_ms;
  }

  absl::StatusOr<std::vector<double>> EvalScalarArg(const Expr& e, const Grid& g) {
    auto v = Eval(e, g);
    if (!v.ok()) return v.status();
    return std::move(v->scalar);
  }
};

// ---------------------------------------------------------------------------------------------
// Selectors.

absl::Status Engine::Impl::Select(const Expr& vs, int64_t mint, int64_t maxt, int64_t range_ms,
                                  std::string_view func, std::vector<Selected>* out) {
  std::vector<tsdb::Matcher> ms;
  ms.reserve(vs.matchers.size());
  for (const LabelMatcher& m : vs.matchers) {
    tsdb::Matcher::Type t = tsdb::Matcher::Type::kEqual;
    switch (m.type) {
      case MatchType::kEqual:
        t = tsdb::Matcher::Type::kEqual;
        break;
      case MatchType::kNotEqual:
        t = tsdb::Matcher::Type::kNotEqual;
        break;
      case MatchType::kRegexMatch:
        t = tsdb::Matcher::Type::kRegexMatch;
        break;
      case MatchType::kRegexNoMatch:
        t = tsdb::Matcher::Type::kRegexNoMatch;
        break;
    }
    auto mm = tsdb::Matcher::Create(t, m.name, m.value);
    if (!mm.ok()) return absl::InvalidArgumentError(mm.status().message());
    ms.push_back(*std::move(mm));
  }
  tsdb::SelectHints hints;
  hints.start = mint;
  hints.end = maxt;
  hints.range_ms = range_ms;
  hints.func = std::string(func);
  auto cur = querier->Select(ms, hints, limiter);
  while (cur->Next()) {
    out->push_back(Selected{cur->labels(), cur->TakeIterator()});
  }
  absl::Status st = cur->Err();
  if (!st.ok()) return st;
  return Check();
}

absl::StatusOr<Val> Engine::Impl::EvalSelector(const Expr& vs, const Grid& g) {
  // Reference times are non-decreasing over the steps (an @ makes them constant).
  int64_t first_ref = RefTime(vs, g, 0);
  int64_t last_ref = RefTime(vs, g, g.n - 1);
  std::vector<Selected> sel;
  if (absl::Status st = Select(vs, first_ref - lookback, last_ref, 0, "", &sel); !st.ok()) {
    return st;
  }
  Val out;
  out.type = ValueType::kVector;
  out.series.reserve(sel.size());
  int64_t total = 0;
  for (Selected& s : sel) {
    if ((++checks & 63) == 0) {
      if (absl::Status st = Check(); !st.ok()) return st;
    }
    StepSeries ss;
    ss.labels = std::move(s.labels);
    ss.Init(g.n);
    SampleReader r(s.it.get());
    bool pending = r.SeekTo(first_ref - lookback);
    bool have_last = false;
    int64_t lt = 0;
    double lv = 0;
    bool lh = false;
    FloatHistogram lhist;
    for (size_t i = 0; i < g.n; ++i) {
      int64_t ref = RefTime(vs, g, i);
      if (pending && r.t() < ref - lookback) {
        // Nothing before ref - lookback matters any more.
        have_last = false;
        pending = r.SeekTo(ref - lookback);
      }
      while (pending && r.t() <= ref) {
        have_last = true;
        lt = r.t();
        lh = r.is_hist();
        if (lh) {
          r.ReadHist(&lhist);
        } else {
          lv = r.v();
        }
        pending = r.Advance();
      }
      if (!have_last || lt < ref - lookback) continue;
      if (lh) {
        if (IsStale(lhist.sum)) continue;
        ss.SetH(i, FloatHistogram(lhist));
      } else {
        if (IsStale(lv)) continue;
        ss.SetF(i, lv);
      }
    }
    if (!s.it->Err().ok()) return s.it->Err();
    size_t p = ss.Present();
    stats->total_samples += static_cast<int64_t>(p);  // 2.42: one sample per series and step
    if (p == 0) continue;
    total += static_cast<int64_t>(p);
    out.series.push_back(std::move(ss));
  }
  if (absl::Status st = Hold(total); !st.ok()) return st;
  return out;
}

// `x[5m]` (with offset/@) at one time, as an instant query answers it.
absl::StatusOr<Val> Engine::Impl::EvalMatrixRaw(const Expr& e, int64_t t) {
  Val out;
  out.type = ValueType::kMatrix;
  if (e.kind == NodeKind::kSubquery) {
    Grid g{t, t, 1, 1};
    Grid inner;
    auto v = EvalSubqueryInner(e, g, &inner);
    if (!v.ok()) return v.status();
    int64_t ref = RefTime(e, g, 0);
    for (StepSeries& s : v->series) {
      RawSeries rs;
      rs.labels = s.labels;
      for (size_t i = 0; i < inner.n; ++i) {
        int64_t ts = inner.T(i);
        if (ts < ref - e.range_ms || ts > ref) continue;
        if (s.k[i] == kFloat) rs.floats.push_back({ts, s.f[i]});
        if (s.k[i] == kHist) rs.hists.push_back({ts, s.h[i]});
      }
      if (!rs.floats.empty() || !rs.hists.empty()) out.raw.push_back(std::move(rs));
    }
    return out;
  }
  const Expr& vs = *e.expr;
  Grid g{t, t, 1, 1};
  int64_t ref = RefTime(vs, g, 0);
  std::vector<Selected> sel;
  if (absl::Status st = Select(vs, ref - e.range_ms, ref, e.range_ms, "", &sel); !st.ok()) {
    return st;
  }
  int64_t total = 0;
  for (Selected& s : sel) {
    RawSeries rs;
    rs.labels = std::move(s.labels);
    SampleReader r(s.it.get());
    for (bool ok = r.SeekTo(ref - e.range_ms); ok && r.t() <= ref; ok = r.Advance()) {
      if (r.is_hist()) {
        FloatHistogram h;
        r.ReadHist(&h);
        if (IsStale(h.sum)) continue;
        rs.hists.push_back({r.t(), std::move(h)});
      } else {
        if (IsStale(r.v())) continue;
        rs.floats.push_back({r.t(), r.v()});
      }
    }
    if (!s.it->Err().ok()) return s.it->Err();
    total += static_cast<int64_t>(rs.floats.size() + rs.hists.size());
    stats->total_samples += static_cast<int64_t>(rs.floats.size() + rs.hists.size());
    if (!rs.floats.empty() || !rs.hists.empty()) out.raw.push_back(std::move(rs));
  }
  if (absl::Status st = Hold(total); !st.ok()) return st;
  return out;
}

// A subquery's inner evaluation: the grid it runs on (aligned to its step, covering every outer
// step's window) and its result.
absl::StatusOr<Val> Engine::Impl::EvalSubqueryInner(const Expr& sq, const Grid& g, Grid* inner) {
  int64_t step = sq.step_ms > 0 ? sq.step_ms : default_step;
  int64_t first_ref = RefTime(sq, g, 0);
  int64_t last_ref = RefTime(sq, g, g.n - 1);
  int64_t lo = first_ref - sq.range_ms;
  // The first multiple of the step at or after lo.
  int64_t start = step * (lo / step);
  if (start < lo) start += step;
  Grid in;
  in.start = start;
  in.step = step;
  if (last_ref < start) {
    in.end = start;
    in.n = 0;
  } else {
    const uint64_t n = static_cast<uint64_t>((last_ref - start) / step) + 1;
    // Every inner step holds at least one value: a grid larger than max_samples cannot be
    // evaluated (`x[1000y:1s]`), and is refused before anything is allocated for it.
    if (max_samples > 0 && n > static_cast<uint64_t>(max_samples)) return ExecError(kTooManySamples);
    in.n = static_cast<size_t>(n);
    in.end = start + static_cast<int64_t>(in.n - 1) * step;
  }
  *inner = in;
  if (in.n == 0) {
    Val v;
    v.type = sq.expr->Type();
    return v;
  }
  // An @ inside the subquery is relative to the query, so nothing changes for it.
  auto v = Eval(*sq.expr, in);
  if (!v.ok()) return v.status();
  if (v->type == ValueType::kScalar) {
    // A scalar inner expression gives one series without labels.
    Val vec;
    vec.type = ValueType::kVector;
    StepSeries s;
    s.Init(in.n);
    for (size_t i = 0; i < in.n; ++i) s.SetF(i, v->scalar[i]);
    vec.series.push_back(std::move(s));
    return vec;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Functions.

namespace {

bool KeepsMetricName(std::string_view f) {
  return f == "last_over_time" || f == "label_replace" || f == "label_join" || f == "sort" ||
         f == "sort_desc" || f == "sort_by_label" || f == "sort_by_label_desc";
}

// Labels of absent()/absent_over_time(): the equality matchers of the selector (not the
// metric name), each name once (a name with two equality matchers is left out).
Labels AbsentLabels(const Expr* arg) {
  while (arg != nullptr && arg->kind == NodeKind::kParen) arg = arg->expr.get();
  if (arg == nullptr) return {};
  const Expr* vs = nullptr;
  if (arg->kind == NodeKind::kVectorSelector) vs = arg;
  if (arg->kind == NodeKind::kMatrixSelector) vs = arg->expr.get();
  if (vs == nullptr) return {};
  LabelsBuilder b;
  absl::flat_hash_map<std::string, int> count;
  for (const LabelMatcher& m : vs->matchers) {
    if (m.name == kMetricName) continue;
    if (m.type == MatchType::kEqual) ++count[m.name];
  }
  for (const LabelMatcher& m : vs->matchers) {
    if (m.name == kMetricName || m.type != MatchType::kEqual) continue;
    if (count[m.name] > 1) continue;
    b.Set(m.name, m.value);
  }
  return b.Build();
}

}  // namespace

absl::StatusOr<Val> Engine::Impl::EvalRangeCall(const Expr& e, const Grid& g, size_t mi) {
  const std::string_view name = e.func->name;
  const Expr& marg = *e.args[mi];
  // Scalar arguments, per step.
  std::vector<std::vector<double>> sargs;
  for (size_t a = 0; a < e.args.size(); ++a) {
    if (a == mi) continue;
    auto s = EvalScalarArg(*e.args[a], g);
    if (!s.ok()) return s.status();
    sargs.push_back(*std::move(s));
  }
  if (name == "holt_winters" || name == "double_exponential_smoothing") {
    // Prometheus checks the factors at every step.
    for (size_t i = 0; i < g.n; ++i) {
      absl::Status st = kernels::HoltWintersArgsError(sargs[0][i], sargs[1][i]);
      if (!st.ok()) return ExecError(std::string(st.message()));
    }
  }
  kernels::RangeKernel kernel = nullptr;
  bool absent = name == "absent_over_time";
  if (!absent) {
    kernel = kernels::FindRangeKernel(name);
    if (kernel == nullptr) return ExecError(absl::StrCat("function \"", std::string(name), "\" is not supported yet"));
  }

  // The series and their iterators: selected from storage, or a subquery's result.
  const Expr* vs = nullptr;  // the node carrying offset and @
  int64_t range = marg.range_ms;
  std::vector<Selected> sel;
  Val subres;
  Grid inner;
  std::vector<std::unique_ptr<StepSeriesIterator>> subits;
  if (marg.kind == NodeKind::kMatrixSelector) {
    vs = marg.expr.get();
    int64_t first_ref = RefTime(*vs, g, 0);
    int64_t last_ref = RefTime(*vs, g, g.n - 1);
    if (absl::Status st = Select(*vs, first_ref - range, last_ref, range, name, &sel); !st.ok()) {
      return st;
    }
  } else {
    vs = &marg;  // kSubquery
    auto v = EvalSubqueryInner(marg, g, &inner);
    if (!v.ok()) return v.status();
    subres = *std::move(v);
    for (StepSeries& s : subres.series) {
      auto it = std::make_unique<StepSeriesIterator>(&s, inner);
      sel.push_back(Selected{s.labels, nullptr});
      subits.push_back(std::move(it));
    }
  }

  Val out;
  out.type = ValueType::kVector;
  std::vector<double> args(sargs.size());
  WindowBuf buf;
  buf.track_resets = name == "rate" || name == "increase";
  kernels::Out res;
  std::vector<uint8_t> any(absent ? g.n : 0, 0);
  int64_t total = 0;
  for (size_t si = 0; si < sel.size(); ++si) {
    if ((++checks & 31) == 0) {
      if (absl::Status st = Check(); !st.ok()) return st;
    }
    chunkenc::Iterator* it = sel[si].it ? sel[si].it.get() : subits[si].get();
    SampleReader r(it);
    buf.Reset();
    bool pending = r.SeekTo(RefTime(*vs, g, 0) - range);
    StepSeries ss;
    if (!absent) ss.Init(g.n);
    int64_t peak_window = 0;
    int64_t window_samples = 0;
    for (size_t i = 0; i < g.n; ++i) {
      int64_t ref = RefTime(*vs, g, i);
      int64_t lo = ref - range;
      buf.DropBefore(lo);
      if (buf.empty() && pending && r.t() < lo) pending = r.SeekTo(lo);
      while (pending && r.t() <= ref) {
        if (r.t() >= lo) {
          if (r.is_hist()) {
            FloatHistogram h;
            r.ReadHist(&h);
            if (!IsStale(h.sum)) {
              buf.ht.push_back(r.t());
              buf.hv.push_back(std::move(h));
            }
          } else if (!IsStale(r.v())) {
            buf.PushFloat(r.t(), r.v());
          }
        }
        pending = r.Advance();
      }
      if ((i & 4095) == 4095) {
        if (absl::Status st = Check(); !st.ok()) return st;
      }
      if (buf.empty()) continue;
      peak_window = std::max<int64_t>(peak_window, static_cast<int64_t>(buf.size()));
      window_samples += static_cast<int64_t>(buf.size());
      if (absent) {
        any[i] = 1;
        continue;
      }
      kernels::Window w = buf.View();
      w.range_start = lo;
      w.range_end = ref;
      w.range_ms = range;
      w.eval_ts = g.T(i);
      for (size_t a = 0; a < sargs.size(); ++a) args[a] = sargs[a][i];
      res.kind = kernels::Out::kNone;
      kernel(w, args, &res);
      if (res.kind == kernels::Out::kFloat) ss.SetF(i, res.f);
      if (res.kind == kernels::Out::kHistogram) ss.SetH(i, std::move(res.h));
    }
    if (!it->Err().ok()) return it->Err();
    // 2.42 counts the samples of every step's window (selected from storage or a subquery).
    stats->total_samples += window_samples;
    if (max_samples > 0 && held + peak_window > max_samples) return ExecError(kTooManySamples);
    if (held + peak_window > stats->peak_samples) stats->peak_samples = held + peak_window;
    if (absent) continue;
    size_t p = ss.Present();
    if (p == 0) continue;
    ss.labels = name == "last_over_time" ? sel[si].labels : DropName(sel[si].labels);
    total += static_cast<int64_t>(p);
    out.series.push_back(std::move(ss));
  }
  if (absent) {
    StepSeries s;
    s.Init(g.n);
    s.labels = AbsentLabels(&marg);
    for (size_t i = 0; i < g.n; ++i)
      if (!any[i]) s.SetF(i, 1);
    if (!s.Empty()) {
      total += static_cast<int64_t>(s.Present());
      out.series.push_back(std::move(s));
    }
  } else if (SameLabelsetInSeries(out.series)) {
    return ExecError("vector cannot contain metrics with the same labelset");
  }
  if (!subres.series.empty()) {
    int64_t n = 0;
    for (const auto& s : subres.series) n += static_cast<int64_t>(s.Present());
    Release(n);
  }
  if (absl::Status st = Hold(total); !st.ok()) return st;
  return out;
}

namespace {

// Per-step duplicate check of an element-wise result (Prometheus checks every step's vector).
absl::Status CheckStepDuplicates(const std::vector<StepSeries>& ss, size_t n) {
  if (ss.size() < 2) return absl::OkStatus();
  // Only series whose labels collide can conflict.
  absl::flat_hash_map<std::string_view, std::vector<size_t>> by;
  bool dup = false;
  for (size_t i = 0; i < ss.size(); ++i) {
    auto& v = by[ss[i].labels.bytes()];
    v.push_back(i);
    dup |= v.size() > 1;
  }
  if (!dup) return absl::OkStatus();
  for (auto& [k, idx] : by) {
    if (idx.size() < 2) continue;
    for (size_t i = 0; i < n; ++i) {
      int c = 0;
      for (size_t j : idx) c += ss[j].k[i] != kAbsent;
      if (c > 1) return ExecError("vector cannot contain metrics with the same labelset");
    }
  }
  return absl::OkStatus();
}

// Merges series with equal labels (their steps never overlap after CheckStepDuplicates).
void MergeSameLabels(std::vector<StepSeries>* ss) {
  if (ss->size() < 2) return;
  absl::flat_hash_map<std::string, size_t> first;
  std::vector<StepSeries> out;
  for (StepSeries& s : *ss) {
    auto [it, inserted] = first.emplace(std::string(s.labels.bytes()), out.size());
    if (inserted) {
      out.push_back(std::move(s));
      continue;
    }
    StepSeries& d = out[it->second];
    for (size_t i = 0; i < s.k.size(); ++i) {
      if (s.k[i] == kFloat) d.SetF(i, s.f[i]);
      if (s.k[i] == kHist) d.SetH(i, std::move(s.h[i]));
    }
  }
  *ss = std::move(out);
}

}  // namespace

absl::StatusOr<Val> Engine::Impl::EvalCall(const Expr& e, const Grid& g) {
  const std::string_view name = e.func->name;
  if (name == "info") {
    // Prometheus 3's experimental info(): parsed, not evaluated (docs/promql-compatibility.md).
    return ExecError("function \"info\" is not supported yet");
  }
  // A range-vector argument makes it a range function.
  for (size_t a = 0; a < e.args.size(); ++a) {
    if (e.args[a]->Type() == ValueType::kMatrix) return EvalRangeCall(e, g, a);
  }
  Val out;
  if (name == "time") {
    out.type = ValueType::kScalar;
    out.scalar.resize(g.n);
    for (size_t i = 0; i < g.n; ++i) out.scalar[i] = static_cast<double>(g.T(i)) / 1000.0;
    return out;
  }
  if (name == "pi") {
    out.type = ValueType::kScalar;
    out.scalar.assign(g.n, M_PI);
    return out;
  }
  if (name == "vector") {
    auto s = EvalScalarArg(*e.args[0], g);
    if (!s.ok()) return s.status();
    out.type = ValueType::kVector;
    StepSeries ss;
    ss.Init(g.n);
    for (size_t i = 0; i < g.n; ++i) ss.SetF(i, (*s)[i]);
    out.series.push_back(std::move(ss));
    if (absl::Status st = Hold(static_cast<int64_t>(g.n)); !st.ok()) return st;
    return out;
  }
  if (name == "scalar") {
    auto v = Eval(*e.args[0], g);
    if (!v.ok()) return v.status();
    out.type = ValueType::kScalar;
    out.scalar.assign(g.n, std::numeric_limits<double>::quiet_NaN());
    for (size_t i = 0; i < g.n; ++i) {
      int c = 0;
      double x = 0;
      for (const StepSeries& s : v->series) {
        if (s.k[i] == kFloat) {
          ++c;
          x = s.f[i];
        } else if (s.k[i] == kHist) {
          c = 2;  // a histogram makes it not a single float
        }
      }
      if (c == 1) out.scalar[i] = x;
    }
    return out;
  }
  if (name == "timestamp") {
    const Expr* arg = e.args[0].get();
    while (arg->kind == NodeKind::kParen) arg = arg->expr.get();
    out.type = ValueType::kVector;
    if (arg->kind == NodeKind::kVectorSelector) {
      // The timestamps of the samples themselves.
      const Expr& vs = *arg;
      int64_t first_ref = RefTime(vs, g, 0);
      int64_t last_ref = RefTime(vs, g, g.n - 1);
      std::vector<Selected> sel;
      if (absl::Status st = Select(vs, first_ref - lookback, last_ref, 0, "timestamp", &sel);
          !st.ok()) {
        return st;
      }
      for (Selected& s : sel) {
        StepSeries ss;
        ss.Init(g.n);
        SampleReader r(s.it.get());
        bool pending = r.SeekTo(first_ref - lookback);
        bool have = false, stale = false;
        int64_t lt = 0;
        for (size_t i = 0; i < g.n; ++i) {
          int64_t ref = RefTime(vs, g, i);
          while (pending && r.t() <= ref) {
            have = true;
            lt = r.t();
            stale = r.stale();
            pending = r.Advance();
          }
          if (!have || lt < ref - lookback || stale) continue;
          ss.SetF(i, static_cast<double>(lt) / 1000.0);
        }
        if (!s.it->Err().ok()) return s.it->Err();
        stats->total_samples += static_cast<int64_t>(ss.Present());
        if (ss.Empty()) continue;
        ss.labels = DropName(s.labels);
        out.series.push_back(std::move(ss));
      }
    } else {
      auto v = Eval(*e.args[0], g);
      if (!v.ok()) return v.status();
      for (StepSeries& s : v->series) {
        for (size_t i = 0; i < g.n; ++i)
          if (s.k[i] != kAbsent) s.SetF(i, static_cast<double>(g.T(i)) / 1000.0);
        s.h.clear();
        s.labels = DropName(s.labels);
        out.series.push_back(std::move(s));
      }
    }
    if (absl::Status st = CheckStepDuplicates(out.series, g.n); !st.ok()) return st;
    MergeSameLabels(&out.series);
    return out;
  }
  if (name == "absent") {
    auto v = Eval(*e.args[0], g);
    if (!v.ok()) return v.status();
    out.type = ValueType::kVector;
    StepSeries s;
    s.Init(g.n);
    s.labels = AbsentLabels(e.args[0].get());
    for (size_t i = 0; i < g.n; ++i) {
      bool any = false;
      for (const StepSeries& x : v->series) any |= x.k[i] != kAbsent;
      if (!any) s.SetF(i, 1);
    }
    if (!s.Empty()) out.series.push_back(std::move(s));
    return out;
  }

  // The remaining functions take an instant vector (and maybe scalars or strings).
  std::vector<std::vector<double>> sargs(e.args.size());
  size_t vi = SIZE_MAX;
  for (size_t a = 0; a < e.args.size(); ++a) {
    ValueType t = e.args[a]->Type();
    if (t == ValueType::kVector && vi == SIZE_MAX) {
      vi = a;
    } else if (t == ValueType::kScalar) {
      auto s = EvalScalarArg(*e.args[a], g);
      if (!s.ok()) return s.status();
      sargs[a] = *std::move(s);
    }
  }
  Val in;
  if (vi != SIZE_MAX) {
    auto v = Eval(*e.args[vi], g);
    if (!v.ok()) return v.status();
    in = *std::move(v);
  } else {
    // Date functions without an argument: vector(time()).
    in.type = ValueType::kVector;
    StepSeries s;
    s.Init(g.n);
    for (size_t i = 0; i < g.n; ++i) s.SetF(i, static_cast<double>(g.T(i)) / 1000.0);
    in.series.push_back(std::move(s));
  }
  out.type = ValueType::kVector;
  auto str_arg = [&](size_t a) -> const std::string& { return e.args[a]->str; };

  if (name == "label_replace") {
    const std::string& dst = str_arg(1);
    const std::string& repl = str_arg(2);
    const std::string& src = str_arg(3);
    const std::string& regex = str_arg(4);
    RE2 re(absl::StrCat("^(?:", regex, ")$"));
    if (!re.ok()) {
      return ExecError(absl::StrCat("invalid regular expression in label_replace(): ", regex));
    }
    if (!tsdb::IsLegacyLabelName(dst) && !dst.empty()) {
      // Prometheus 2.42 accepts only legacy label names here.
      return ExecError(absl::StrCat("invalid destination label name in label_replace(): ", dst));
    }
    for (StepSeries& s : in.series) {
      std::string_view v = s.labels.Get(src);
      std::string match;
      if (RE2::FullMatch(v, re)) {
        std::string res;
        // Expand $1, ${1}, $name as Go's regexp.Expand does.
        re2::StringPiece groups[32];
        int ng = std::min(re.NumberOfCapturingGroups() + 1, 32);
        re.Match(v, 0, v.size(), RE2::ANCHOR_BOTH, groups, ng);
        const auto& named = re.NamedCapturingGroups();
        for (size_t i = 0; i < repl.size(); ++i) {
          if (repl[i] != '$' || i + 1 >= repl.size()) {
            res.push_back(repl[i]);
            continue;
          }
          if (repl[i + 1] == '$') {
            res.push_back('$');
            ++i;
            continue;
          }
          std::string gname;
          size_t j = i + 1;
          bool brace = repl[j] == '{';
          if (brace) ++j;
          size_t k = j;
          while (k < repl.size() && (std::isalnum(static_cast<unsigned char>(repl[k])) ||
                                     repl[k] == '_'))
            ++k;
          if (k == j || (brace && (k >= repl.size() || repl[k] != '}'))) {
            // Not a valid reference: Go's Expand drops a bad "$" reference? It keeps the text.
            res.push_back(repl[i]);
            continue;
          }
          gname = repl.substr(j, k - j);
          i = brace ? k : k - 1;
          int idx = -1;
          bool numeric = std::all_of(gname.begin(), gname.end(),
                                     [](char c) { return c >= '0' && c <= '9'; });
          if (numeric) {
            idx = gname.size() > 9 ? 1000 : std::stoi(gname);
          } else if (auto f = named.find(gname); f != named.end()) {
            idx = f->second;
          }
          if (idx >= 0 && idx < ng && groups[idx].data() != nullptr) {
            res.append(groups[idx].data(), groups[idx].size());
          }
        }
        LabelsBuilder b(s.labels);
        b.Set(dst, res);
        s.labels = b.Build();
      }
      out.series.push_back(std::move(s));
    }
    if (absl::Status st = CheckStepDuplicates(out.series, g.n); !st.ok()) return st;
    MergeSameLabels(&out.series);
    return out;
  }
  if (name == "label_join") {
    const std::string& dst = str_arg(1);
    const std::string& sep = str_arg(2);
    if (!tsdb::IsLegacyLabelName(dst)) {
      return ExecError(absl::StrCat("invalid destination label name in label_join(): ", dst));
    }
    for (size_t a = 3; a < e.args.size(); ++a) {
      if (!tsdb::IsLegacyLabelName(str_arg(a))) {
        return ExecError(
            absl::StrCat("invalid source label name in label_join(): ", str_arg(a)));
      }
    }
    for (StepSeries& s : in.series) {
      std::string v;
      for (size_t a = 3; a < e.args.size(); ++a) {
        if (a > 3) v += sep;
        v += s.labels.Get(str_arg(a));
      }
      LabelsBuilder b(s.labels);
      b.Set(dst, v);
      s.labels = b.Build();
      out.series.push_back(std::move(s));
    }
    if (absl::Status st = CheckStepDuplicates(out.series, g.n); !st.ok()) return st;
    MergeSameLabels(&out.series);
    return out;
  }
  if (name == "sort" || name == "sort_desc" || name == "sort_by_label" ||
      name == "sort_by_label_desc") {
    // Ordering only matters for instant queries; Run sorts the final vector.
    out.series = std::move(in.series);
    return out;
  }
  if (name == "histogram_quantile") {
    // Classic buckets: group by labels without `le`; native histograms: per series.
    struct Group {
      Labels labels;
      std::vector<std::pair<double, size_t>> buckets;  // (le, series index)
    };
    absl::flat_hash_map<std::string, size_t> gi;
    std::vector<Group> groups;
    std::vector<StepSeries> native;
    for (size_t si = 0; si < in.series.size(); ++si) {
      StepSeries& s = in.series[si];
      bool has_float = false, has_hist = false;
      for (uint8_t k : s.k) {
        has_float |= k == kFloat;
        has_hist |= k == kHist;
      }
      if (has_hist) {
        StepSeries ns;
        ns.Init(g.n);
        ns.labels = DropName(s.labels);
        for (size_t i = 0; i < g.n; ++i)
          if (s.k[i] == kHist) ns.SetF(i, kernels::HistogramQuantile(sargs[0][i], s.h[i]));
        native.push_back(std::move(ns));
      }
      if (!has_float) continue;
      std::string_view le = s.labels.Get("le");
      double upper = 0;
      if (le.empty()) continue;
      // Prometheus uses strconv.ParseFloat; a bad `le` drops the series.
      if (!ParseGoFloat(le, &upper)) continue;
      LabelsBuilder b(s.labels);
      b.Del("le");
      b.Del(kMetricName);
      Labels gl = b.Build();
      auto [it, ins] = gi.emplace(std::string(gl.bytes()), groups.size());
      if (ins) groups.push_back(Group{gl, {}});
      groups[it->second].buckets.push_back({upper, si});
    }
    std::vector<kernels::Bucket> bs;
    for (Group& gr : groups) {
      StepSeries ns;
      ns.Init(g.n);
      ns.labels = gr.labels;
      for (size_t i = 0; i < g.n; ++i) {
        bs.clear();
        for (auto& [upper, si] : gr.buckets)
          if (in.series[si].k[i] == kFloat) bs.push_back({upper, in.series[si].f[i]});
        if (bs.empty()) continue;
        ns.SetF(i, kernels::BucketQuantile(sargs[0][i], bs));
      }
      if (!ns.Empty()) out.series.push_back(std::move(ns));
    }
    for (StepSeries& s : native) {
      if (!s.Empty()) out.series.push_back(std::move(s));
    }
    if (absl::Status st = CheckStepDuplicates(out.series, g.n); !st.ok()) return st;
    MergeSameLabels(&out.series);
    return out;
  }

  // Element-wise functions.
  kernels::MathFn math = kernels::FindMathFunction(name);
  bool is_date = name == "day_of_month" || name == "day_of_week" || name == "day_of_year" ||
                 name == "days_in_month" || name == "hour" || name == "minute" ||
                 name == "month" || name == "year";
  for (StepSeries& s : in.series) {
    for (size_t i = 0; i < g.n; ++i) {
      if (s.k[i] == kAbsent) continue;
      if (s.k[i] == kHist) {
        const FloatHistogram& h = s.h[i];
        if (name == "histogram_count") {
          s.SetF(i, h.count);
        } else if (name == "histogram_sum") {
          s.SetF(i, h.sum);
        } else if (name == "histogram_avg") {
          s.SetF(i, h.sum / h.count);
        } else if (name == "histogram_fraction") {
          s.SetF(i, kernels::HistogramFraction(sargs[0][i], sargs[1][i], h));
        } else if (name == "histogram_stddev") {
          s.SetF(i, kernels::HistogramStdDev(h));
        } else if (name == "histogram_stdvar") {
          s.SetF(i, kernels::HistogramStdVar(h));
        } else {
          s.Clear(i);  // float functions ignore histograms
        }
        continue;
      }
      double v = s.f[i];
      if (math != nullptr) {
        s.f[i] = math(v);
      } else if (is_date) {
        double r;
        kernels::DateFunction(name, v, &r);
        s.f[i] = r;
      } else if (name == "round") {
        double to = e.args.size() > 1 ? sargs[1][i] : 1;
        s.f[i] = kernels::Round(v, to);
      } else if (name == "clamp") {
        double lo = sargs[1][i], hi = sargs[2][i];
        if (hi < lo) {
          s.Clear(i);
          continue;
        }
        s.f[i] = std::max(lo, std::min(hi, v));
        if (std::isnan(lo) || std::isnan(hi)) s.f[i] = std::numeric_limits<double>::quiet_NaN();
      } else if (name == "clamp_min") {
        double lo = sargs[1][i];
        s.f[i] = std::isnan(lo) ? lo : std::max(lo, v);
      } else if (name == "clamp_max") {
        double hi = sargs[1][i];
        s.f[i] = std::isnan(hi) ? hi : std::min(hi, v);
      } else if (name.substr(0, 10) == "histogram_") {
        s.Clear(i);  // histogram functions ignore floats
      } else {
        return ExecError(absl::StrCat("function \"", std::string(name), "\" is not supported yet"));
      }
    }
    if (!KeepsMetricName(name)) s.labels = DropName(s.labels);
    if (!s.h.empty()) {
      bool any = false;
      for (uint8_t k : s.k) any |= k == kHist;
      if (!any) s.h.clear();
    }
    if (s.Empty()) continue;
    out.series.push_back(std::move(s));
  }
  if (absl::Status st = CheckStepDuplicates(out.series, g.n); !st.ok()) return st;
  MergeSameLabels(&out.series);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Aggregations.

absl::StatusOr<Val> Engine::Impl::EvalAggregate(const Expr& e, const Grid& g) {
  const AggregateOp op = e.aggregate_op;
  std::vector<double> param;
  std::string count_label;
  if (e.param != nullptr) {
    if (op == AggregateOp::kCountValues) {
      count_label = e.param->str;
      if (count_label.empty() || !tsdb::IsLegacyLabelName(count_label)) {
        return ExecError(absl::StrCat("invalid label name \"", count_label, "\""));
      }
    } else {
      auto p = EvalScalarArg(*e.param, g);
      if (!p.ok()) return p.status();
      param = *std::move(p);
    }
  }
  auto in = Eval(*e.expr, g);
  if (!in.ok()) return in.status();
  std::vector<StepSeries>& series = in->series;
  int64_t in_points = 0;
  for (const auto& s : series) in_points += static_cast<int64_t>(s.Present());

  // Groups: by the grouping labels, in order of first appearance.
  std::vector<size_t> group_of(series.size());
  std::vector<Labels> group_labels;
  {
    absl::flat_hash_map<std::string, size_t> idx;
    for (size_t i = 0; i < series.size(); ++i) {
      std::string key = Signature(series[i].labels, e.grouping, !e.without);
      auto [it, ins] = idx.emplace(std::move(key), group_labels.size());
      if (ins) group_labels.push_back(GroupLabels(series[i].labels, e.grouping, e.without));
      group_of[i] = it->second;
    }
  }
  const size_t ng = group_labels.size();
  Val out;
  out.type = ValueType::kVector;

  if (op == AggregateOp::kTopk || op == AggregateOp::kBottomk || op == AggregateOp::kLimitk) {
    // The output series are the input series (labels unchanged) present in the top k.
    std::vector<StepSeries> res(series.size());
    for (size_t i = 0; i < series.size(); ++i) {
      res[i].Init(g.n);
      res[i].labels = series[i].labels;
    }
    std::vector<std::vector<size_t>> members(ng);
    for (size_t i = 0; i < series.size(); ++i) members[group_of[i]].push_back(i);
    std::vector<size_t> cand;
    for (size_t i = 0; i < g.n; ++i) {
      double kf = param[i];
      if (std::isnan(kf) || kf > 9.2e18 || kf < -9.2e18) {
        return ExecError(absl::StrCat("Parameter value is not a valid integer: ",
                                      FormatValueForLabel(kf)));
      }
      int64_t k = static_cast<int64_t>(kf);
      if (k < 1) continue;
      for (size_t gi = 0; gi < ng; ++gi) {
        cand.clear();
        for (size_t si : members[gi])
          if (series[si].k[i] == kFloat ||
              (op == AggregateOp::kLimitk && series[si].k[i] != kAbsent))
            cand.push_back(si);
        if (op != AggregateOp::kLimitk) {
          auto better = [&](size_t a, size_t b) {
            double x = series[a].f[i], y = series[b].f[i];
            // NaN sorts last for both topk and bottomk.
            if (std::isnan(x)) return false;
            if (std::isnan(y)) return true;
            return op == AggregateOp::kTopk ? x > y : x < y;
          };
          size_t kk = std::min<size_t>(cand.size(), static_cast<size_t>(k));
          std::partial_sort(cand.begin(), cand.begin() + kk, cand.end(), better);
          cand.resize(kk);
        } else if (cand.size() > static_cast<size_t>(k)) {
          cand.resize(static_cast<size_t>(k));
        }
        for (size_t si : cand) {
          if (series[si].k[i] == kHist) {
            res[si].SetH(i, FloatHistogram(series[si].h[i]));
          } else {
            res[si].SetF(i, series[si].f[i]);
          }
        }
      }
    }
    // Output order (it matters for instant queries): group by group in order of first
    // appearance, inside a group by value (topk: descending, bottomk: ascending, NaN last), as
    // Prometheus answers; limitk keeps the input order.
    std::vector<size_t> order;
    order.reserve(series.size());
    for (size_t gi = 0; gi < ng; ++gi) {
      size_t from = order.size();
      for (size_t si : members[gi])
        if (!res[si].Empty()) order.push_back(si);
      if (op != AggregateOp::kLimitk && g.n == 1) {
        std::stable_sort(order.begin() + from, order.end(), [&](size_t a, size_t b) {
          double x = res[a].f[0], y = res[b].f[0];
          if (std::isnan(x)) return false;
          if (std::isnan(y)) return true;
          return op == AggregateOp::kTopk ? x > y : x < y;
        });
      }
    }
    int64_t total = 0;
    for (size_t si : order) {
      total += static_cast<int64_t>(res[si].Present());
      out.series.push_back(std::move(res[si]));
    }
    Release(in_points);
    if (absl::Status st = Hold(total); !st.ok()) return st;
    return out;
  }

  if (op == AggregateOp::kCountValues) {
    absl::flat_hash_map<std::string, size_t> idx;
    for (size_t si = 0; si < series.size(); ++si) {
      const StepSeries& s = series[si];
      for (size_t i = 0; i < g.n; ++i) {
        if (s.k[i] != kFloat) continue;
        std::string v = FormatValueForLabel(s.f[i]);
        LabelsBuilder b(group_labels[group_of[si]]);
        b.Set(count_label, v);
        Labels l = b.Build();
        auto [it, ins] = idx.emplace(std::string(l.bytes()), out.series.size());
        if (ins) {
          StepSeries ns;
          ns.Init(g.n);
          ns.labels = std::move(l);
          out.series.push_back(std::move(ns));
        }
        StepSeries& d = out.series[it->second];
        d.SetF(i, d.k[i] == kFloat ? d.f[i] + 1 : 1);
      }
    }
    Release(in_points);
    int64_t total = 0;
    for (const auto& s : out.series) total += static_cast<int64_t>(s.Present());
    if (absl::Status st = Hold(total); !st.ok()) return st;
    return out;
  }

  if (op == AggregateOp::kQuantile) {
    std::vector<std::vector<size_t>> members(ng);
    for (size_t i = 0; i < series.size(); ++i) members[group_of[i]].push_back(i);
    std::vector<double> vals;
    for (size_t gi = 0; gi < ng; ++gi) {
      StepSeries ns;
      ns.Init(g.n);
      ns.labels = group_labels[gi];
      for (size_t i = 0; i < g.n; ++i) {
        vals.clear();
        for (size_t si : members[gi])
          if (series[si].k[i] == kFloat) vals.push_back(series[si].f[i]);
        if (vals.empty()) continue;
        ns.SetF(i, kernels::Quantile(param[i], vals));
      }
      if (!ns.Empty()) out.series.push_back(std::move(ns));
    }
    Release(in_points);
    return out;
  }

  if (op == AggregateOp::kLimitRatio) {
    // Series are kept by a hash of their labels, stable across steps.
    for (size_t si = 0; si < series.size(); ++si) {
      StepSeries& s = series[si];
      double pos = static_cast<double>(s.labels.Hash()) / 18446744073709551616.0;
      for (size_t i = 0; i < g.n; ++i) {
        double r = param[i];
        if (r > 1) r = 1;
        if (r < -1) r = -1;
        bool keep = r >= 0 ? pos < r : pos >= 1 + r;
        if (!keep) s.Clear(i);
      }
      if (!s.Empty()) out.series.push_back(std::move(s));
    }
    return out;
  }

  // sum avg count min max group stddev stdvar.
  struct Acc {
    std::vector<uint8_t> has;  // 0 none, 1 float, 2 histogram, 3 mixed (dropped)
    std::vector<kernels::PlainSum> sum;  // 2.42's sum() does not compensate
    std::vector<kernels::Mean> mean;
    std::vector<kernels::Variance> var;
    std::vector<double> val;
    std::vector<double> cnt;
    std::vector<FloatHistogram> h;
  };
  std::vector<Acc> acc(ng);
  for (Acc& a : acc) {
    a.has.assign(g.n, 0);
    a.cnt.assign(g.n, 0);
    switch (op) {
      case AggregateOp::kSum:
        a.sum.resize(g.n);
        break;
      case AggregateOp::kAvg:
        a.mean.resize(g.n);
        break;
      case AggregateOp::kStddev:
      case AggregateOp::kStdvar:
        a.var.resize(g.n);
        break;
      default:
        a.val.assign(g.n, 0);
        break;
    }
  }
  for (size_t si = 0; si < series.size(); ++si) {
    StepSeries& s = series[si];
    Acc& a = acc[group_of[si]];
    for (size_t i = 0; i < g.n; ++i) {
      uint8_t k = s.k[i];
      if (k == kAbsent) continue;
      if (k == kHist) {
        if (op != AggregateOp::kSum && op != AggregateOp::kAvg && op != AggregateOp::kCount &&
            op != AggregateOp::kGroup) {
          continue;  // min/max/stddev/stdvar ignore histograms
        }
        if (op == AggregateOp::kCount || op == AggregateOp::kGroup) {
          a.has[i] = 1;
          a.cnt[i] += 1;
          a.val[i] = op == AggregateOp::kGroup ? 1 : a.cnt[i];
          continue;
        }
        if (a.has[i] == 1) {
          a.has[i] = 3;
          continue;
        }
        if (a.has[i] == 3) continue;
        if (a.h.empty()) a.h.resize(g.n);
        if (a.has[i] == 0) {
          a.h[i] = std::move(s.h[i]);
          a.has[i] = 2;
        } else if (!kernels::HistogramsCompatible(a.h[i], s.h[i])) {
          a.has[i] = 3;  // custom buckets that do not add up: the group has no value
          continue;
        } else {
          kernels::HistogramAdd(&a.h[i], s.h[i]);
        }
        a.cnt[i] += 1;
        continue;
      }
      double v = s.f[i];
      if (a.has[i] == 2) {
        a.has[i] = 3;
        continue;
      }
      if (a.has[i] == 3) continue;
      bool first = a.has[i] == 0;
      a.has[i] = 1;
      a.cnt[i] += 1;
      switch (op) {
        case AggregateOp::kSum:
          a.sum[i].Add(v);
          break;
        case AggregateOp::kAvg:
          a.mean[i].Add(v);
          break;
        case AggregateOp::kStddev:
        case AggregateOp::kStdvar:
          a.var[i].Add(v);
          break;
        case AggregateOp::kCount:
          a.val[i] = a.cnt[i];
          break;
        case AggregateOp::kGroup:
          a.val[i] = 1;
          break;
        case AggregateOp::kMin:
          if (first || a.val[i] > v || std::isnan(a.val[i])) a.val[i] = v;
          break;
        case AggregateOp::kMax:
          if (first || a.val[i] < v || std::isnan(a.val[i])) a.val[i] = v;
          break;
        default:
          break;
      }
    }
  }
  Release(in_points);
  int64_t total = 0;
  for (size_t gi = 0; gi < ng; ++gi) {
    Acc& a = acc[gi];
    StepSeries ns;
    ns.Init(g.n);
    ns.labels = group_labels[gi];
    for (size_t i = 0; i < g.n; ++i) {
      if (a.has[i] == 0 || a.has[i] == 3) continue;
      if (a.has[i] == 2) {
        FloatHistogram h = std::move(a.h[i]);
        if (op == AggregateOp::kAvg) kernels::HistogramScale(&h, 1.0 / a.cnt[i]);
        kernels::HistogramCompact(&h);
        ns.SetH(i, std::move(h));
        continue;
      }
      switch (op) {
        case AggregateOp::kSum:
          ns.SetF(i, a.sum[i].Value());
          break;
        case AggregateOp::kAvg:
          ns.SetF(i, a.mean[i].Value());
          break;
        case AggregateOp::kStddev:
          ns.SetF(i, a.var[i].Stddev());
          break;
        case AggregateOp::kStdvar:
          ns.SetF(i, a.var[i].Stdvar());
          break;
        default:
          ns.SetF(i, a.val[i]);
          break;
      }
    }
    if (ns.Empty()) continue;
    total += static_cast<int64_t>(ns.Present());
    out.series.push_back(std::move(ns));
  }
  if (absl::Status st = Hold(total); !st.ok()) return st;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Binary operators.

namespace {

// Whether a binary operator's result loses the metric name: arithmetic except atan2 (which
// 2.42 leaves out of its list), and comparisons with `bool`.
bool DropsName(BinaryOp op, bool return_bool) {
  if (return_bool) return true;
  switch (op) {
    case BinaryOp::kAdd:
    case BinaryOp::kSub:
    case BinaryOp::kMul:
    case BinaryOp::kDiv:
    case BinaryOp::kMod:
    case BinaryOp::kPow:
      return true;
    default:
      return false;
  }
}

bool Compare(BinaryOp op, double a, double b) {
  switch (op) {
    case BinaryOp::kEql:
      return a == b;
    case BinaryOp::kNeq:
      return a != b;
    case BinaryOp::kGtr:
      return a > b;
    case BinaryOp::kLss:
      return a < b;
    case BinaryOp::kGte:
      return a >= b;
    case BinaryOp::kLte:
      return a <= b;
    default:
      return false;
  }
}

double Arith(BinaryOp op, double a, double b) {
  switch (op) {
    case BinaryOp::kAdd:
      return a + b;
    case BinaryOp::kSub:
      return a - b;
    case BinaryOp::kMul:
      return a * b;
    case BinaryOp::kDiv:
      return a / b;
    case BinaryOp::kMod:
      return std::fmod(a, b);
    case BinaryOp::kPow:
      return std::pow(a, b);
    case BinaryOp::kAtan2:
      return std::atan2(a, b);
    default:
      return 0;
  }
}

// Applies a scalar/vector operator to one pair of values. Returns false when the element is
// dropped (a comparison without bool that fails). `keep` is the value a filtering comparison
// keeps (the vector side's).
bool ApplyFloat(BinaryOp op, bool return_bool, double l, double r, double keep, double* out) {
  if (IsComparison(op)) {
    bool c = Compare(op, l, r);
    if (return_bool) {
      *out = c ? 1 : 0;
      return true;
    }
    if (!c) return false;
    *out = keep;
    return true;
  }
  *out = Arith(op, l, r);
  return true;
}

// Histogram arithmetic Prometheus 2.42 supports: h + h, h - h, h * s, s * h, h / s. Others give
// no value.
bool ApplyHist(BinaryOp op, const FloatHistogram* lh, double lf, const FloatHistogram* rh,
               double rf, FloatHistogram* out) {
  if (lh != nullptr && rh != nullptr) {
    if (op != BinaryOp::kAdd && op != BinaryOp::kSub) return false;
    if (!kernels::HistogramsCompatible(*lh, *rh)) return false;
    *out = *lh;
    if (op == BinaryOp::kAdd) {
      kernels::HistogramAdd(out, *rh);
    } else {
      kernels::HistogramSub(out, *rh);
    }
    kernels::HistogramCompact(out);
    return true;
  }
  if (lh != nullptr) {
    if (op == BinaryOp::kMul) {
      *out = *lh;
      kernels::HistogramScale(out, rf);
      return true;
    }
    if (op == BinaryOp::kDiv) {
      *out = *lh;
      kernels::HistogramScale(out, 1.0 / rf);
      return true;
    }
    return false;
  }
  if (rh != nullptr && op == BinaryOp::kMul) {
    *out = *rh;
    kernels::HistogramScale(out, lf);
    return true;
  }
  return false;
}

// The labels of a vector/vector result element.
Labels ResultLabels(const Labels& lhs, const Labels& rhs, const Expr& e) {
  const VectorMatching& m = *e.matching;
  bool drop_name = DropsName(e.binary_op, e.return_bool);
  if (m.card == Cardinality::kOneToOne && m.include.empty()) {
    // Keep only the matching labels (on) or drop the ignored ones.
    LabelsBuilder b;
    if (m.on) {
      for (const Label& l : lhs) {
        if (std::find(m.matching_labels.begin(), m.matching_labels.end(), l.name) !=
            m.matching_labels.end()) {
          if (l.name == kMetricName && drop_name) continue;
          b.Add(l.name, l.value);
        }
      }
    } else {
      for (const Label& l : lhs) {
        if (l.name == kMetricName && drop_name) continue;
        if (std::find(m.matching_labels.begin(), m.matching_labels.end(), l.name) !=
            m.matching_labels.end())
          continue;
        b.Add(l.name, l.value);
      }
    }
    return b.Build();
  }
  LabelsBuilder b(lhs);
  if (drop_name) b.Del(kMetricName);
  for (const std::string& n : m.include) {
    std::string_view v = rhs.Get(n);
    if (v.empty()) {
      b.Del(n);
    } else {
      b.Set(n, v);
    }
  }
  return b.Build();
}

}  // namespace

absl::StatusOr<Val> Engine::Impl::EvalBinary(const Expr& e, const Grid& g) {
  auto lv = Eval(*e.lhs, g);
  if (!lv.ok()) return lv.status();
  auto rv = Eval(*e.rhs, g);
  if (!rv.ok()) return rv.status();
  const BinaryOp op = e.binary_op;
  Val out;

  // scalar op scalar
  if (lv->type == ValueType::kScalar && rv->type == ValueType::kScalar) {
    out.type = ValueType::kScalar;
    out.scalar.resize(g.n);
    for (size_t i = 0; i < g.n; ++i) {
      double l = lv->scalar[i], r = rv->scalar[i];
      if (IsComparison(op)) {
        out.scalar[i] = Compare(op, l, r) ? 1 : 0;
      } else {
        out.scalar[i] = Arith(op, l, r);
      }
    }
    return out;
  }

  // vector op scalar, scalar op vector
  if (lv->type == ValueType::kScalar || rv->type == ValueType::kScalar) {
    bool scalar_left = lv->type == ValueType::kScalar;
    Val& vec = scalar_left ? *rv : *lv;
    const std::vector<double>& sc = scalar_left ? lv->scalar : rv->scalar;
    out.type = ValueType::kVector;
    bool drop_name = DropsName(op, e.return_bool);
    for (StepSeries& s : vec.series) {
      for (size_t i = 0; i < g.n; ++i) {
        if (s.k[i] == kAbsent) continue;
        if (s.k[i] == kHist) {
          FloatHistogram res;
          bool ok = scalar_left ? ApplyHist(op, nullptr, sc[i], &s.h[i], 0, &res)
                                : ApplyHist(op, &s.h[i], 0, nullptr, sc[i], &res);
          if (ok) {
            s.SetH(i, std::move(res));
          } else {
            s.Clear(i);
          }
          continue;
        }
        double l = scalar_left ? sc[i] : s.f[i];
        double r = scalar_left ? s.f[i] : sc[i];
        double res;
        if (!ApplyFloat(op, e.return_bool, l, r, s.f[i], &res)) {
          s.Clear(i);
          continue;
        }
        s.f[i] = res;
      }
      if (s.Empty()) continue;
      if (drop_name) s.labels = DropName(s.labels);
      out.series.push_back(std::move(s));
    }
    if (drop_name) {
      if (absl::Status st = CheckStepDuplicates(out.series, g.n); !st.ok()) return st;
      MergeSameLabels(&out.series);
    }
    return out;
  }

  // vector op vector
  out.type = ValueType::kVector;
  std::vector<StepSeries>& L = lv->series;
  std::vector<StepSeries>& R = rv->series;
  const VectorMatching& m = *e.matching;

  if (IsSetOperator(op)) {
    std::vector<std::string> lsig(L.size()), rsig(R.size());
    for (size_t i = 0; i < L.size(); ++i) lsig[i] = Signature(L[i].labels, m.matching_labels, m.on);
    for (size_t i = 0; i < R.size(); ++i) rsig[i] = Signature(R[i].labels, m.matching_labels, m.on);
    absl::flat_hash_map<std::string_view, std::vector<size_t>> rby;
    for (size_t i = 0; i < R.size(); ++i) rby[rsig[i]].push_back(i);
    if (op == BinaryOp::kAnd || op == BinaryOp::kUnless) {
      for (size_t li = 0; li < L.size(); ++li) {
        StepSeries& s = L[li];
        auto it = rby.find(lsig[li]);
        for (size_t i = 0; i < g.n; ++i) {
          if (s.k[i] == kAbsent) continue;
          bool match = false;
          if (it != rby.end())
            for (size_t ri : it->second) match |= R[ri].k[i] != kAbsent;
          if (match != (op == BinaryOp::kAnd)) s.Clear(i);
        }
        if (!s.Empty()) out.series.push_back(std::move(s));
      }
      return out;
    }
    // or: every lhs element, then rhs elements whose signature no lhs element has at that step.
    absl::flat_hash_map<std::string_view, std::vector<size_t>> lby;
    for (size_t i = 0; i < L.size(); ++i) lby[lsig[i]].push_back(i);
    for (size_t ri = 0; ri < R.size(); ++ri) {
      StepSeries& s = R[ri];
      auto it = lby.find(rsig[ri]);
      if (it == lby.end()) continue;
      for (size_t i = 0; i < g.n; ++i) {
        if (s.k[i] == kAbsent) continue;
        bool lhs_has = false;
        for (size_t li : it->second) lhs_has |= L[li].k[i] != kAbsent;
        if (lhs_has) s.Clear(i);
      }
    }
    for (StepSeries& s : L)
      if (!s.Empty()) out.series.push_back(std::move(s));
    for (StepSeries& s : R)
      if (!s.Empty()) out.series.push_back(std::move(s));
    MergeSameLabels(&out.series);
    return out;
  }

  // Arithmetic and comparisons with vector matching.
  const bool many_left = m.card == Cardinality::kManyToOne;
  const bool many_right = m.card == Cardinality::kOneToMany;
  // "one" side: the side that must be unique per signature; for one-to-one both.
  std::vector<StepSeries>& one = many_right ? L : R;
  std::vector<StepSeries>& many = many_right ? R : L;
  std::vector<std::string> one_sig(one.size()), many_sig(many.size());
  for (size_t i = 0; i < one.size(); ++i)
    one_sig[i] = Signature(one[i].labels, m.matching_labels, m.on);
  for (size_t i = 0; i < many.size(); ++i)
    many_sig[i] = Signature(many[i].labels, m.matching_labels, m.on);
  absl::flat_hash_map<std::string_view, std::vector<size_t>> one_by;
  for (size_t i = 0; i < one.size(); ++i) one_by[one_sig[i]].push_back(i);

  auto match_group_text = [&](size_t oi) {
    return GroupLabels(one[oi].labels, m.matching_labels, !m.on).ToString();
  };
  auto labels_list = [&](const std::vector<size_t>& idx, std::vector<StepSeries>& side,
                         size_t i) {
    std::vector<std::string> parts;
    for (size_t x : idx)
      if (side[x].k[i] != kAbsent) parts.push_back(side[x].labels.ToString());
    return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
  };

  absl::flat_hash_map<std::pair<size_t, size_t>, size_t> pair_out;  // (many, one) → output
  absl::flat_hash_map<std::string, size_t> label_out;               // output labels → index
  // For one-to-one: an lhs signature seen at a step (duplicate detection on the many side).
  std::vector<int64_t> many_seen_step;
  absl::flat_hash_map<std::string_view, size_t> many_sig_id;
  if (!many_left && !many_right) {
    for (size_t i = 0; i < many.size(); ++i) many_sig_id.emplace(many_sig[i], many_sig_id.size());
    many_seen_step.assign(many_sig_id.size(), -1);
  }
  absl::flat_hash_map<std::string, int64_t> out_seen;  // output labels → last step written

  for (size_t i = 0; i < g.n; ++i) {
    if ((++checks & 255) == 0) {
      if (absl::Status st = Check(); !st.ok()) return st;
    }
    for (size_t mi = 0; mi < many.size(); ++mi) {
      if (many[mi].k[i] == kAbsent) continue;
      auto it = one_by.find(many_sig[mi]);
      if (it == one_by.end()) continue;
      size_t oi = SIZE_MAX;
      int found = 0;
      for (size_t x : it->second) {
        if (one[x].k[i] != kAbsent) {
          ++found;
          oi = x;
        }
      }
      if (found == 0) continue;
      if (found > 1) {
        const char* side = many_right ? "left" : "right";
        return ExecError(absl::StrCat(
            "found duplicate series for the match group ", match_group_text(oi), " on the ", side,
            " hand-side of the operation: ", labels_list(it->second, one, i),
            ";many-to-many matching not allowed: matching labels must be unique on one side"));
      }
      if (!many_left && !many_right) {
        size_t sid = many_sig_id[many_sig[mi]];
        if (many_seen_step[sid] == static_cast<int64_t>(i)) {
          return ExecError(
              "multiple matches for labels: many-to-one matching must be explicit "
              "(group_left/group_right)");
        }
        many_seen_step[sid] = static_cast<int64_t>(i);
      }
      const StepSeries& ls = many_right ? one[oi] : many[mi];  // the query's lhs
      const StepSeries& rs = many_right ? many[mi] : one[oi];
      double val = 0;
      FloatHistogram hres;
      bool is_hist = false;
      if (ls.k[i] == kHist || rs.k[i] == kHist) {
        const FloatHistogram* lh = ls.k[i] == kHist ? &ls.h[i] : nullptr;
        const FloatHistogram* rh = rs.k[i] == kHist ? &rs.h[i] : nullptr;
        if (IsComparison(op)) continue;
        if (!ApplyHist(op, lh, ls.f[i], rh, rs.f[i], &hres)) continue;
        is_hist = true;
      } else if (!ApplyFloat(op, e.return_bool, ls.f[i], rs.f[i], ls.f[i], &val)) {
        continue;
      }
      auto [pit, pins] = pair_out.try_emplace({mi, oi}, 0);
      if (pins) {
        // As Prometheus: the labels come from the "many" side, group_x labels from the other.
        Labels lab = ResultLabels(many[mi].labels, one[oi].labels, e);
        auto [lit, lins] = label_out.try_emplace(std::string(lab.bytes()), out.series.size());
        if (lins) {
          StepSeries ns;
          ns.Init(g.n);
          ns.labels = std::move(lab);
          out.series.push_back(std::move(ns));
        }
        pit->second = lit->second;
      }
      StepSeries& d = out.series[pit->second];
      if (d.k[i] != kAbsent) {
        if (many_left || many_right) {
          return ExecError(
              "multiple matches for labels: grouping labels must ensure unique matches");
        }
        return ExecError("vector cannot contain metrics with the same labelset");
      }
      if (is_hist) {
        d.SetH(i, std::move(hres));
      } else {
        d.SetF(i, val);
      }
    }
  }
  std::vector<StepSeries> kept;
  for (StepSeries& s : out.series)
    if (!s.Empty()) kept.push_back(std::move(s));
  out.series = std::move(kept);
  return out;
}

// ---------------------------------------------------------------------------------------------

absl::StatusOr<Val> Engine::Impl::Eval(const Expr& e, const Grid& g) {
  // Every node checks the deadline and cancellation, so expressions that read no data
  // (`count_over_time(vector(time())[1d:10ms])`) stop too.
  if (absl::Status st = Check(); !st.ok()) return st;
  switch (e.kind) {
    case NodeKind::kNumber: {
      Val v;
      v.type = ValueType::kScalar;
      v.scalar.assign(g.n, e.number);
      return v;
    }
    case NodeKind::kString: {
      Val v;
      v.type = ValueType::kString;
      v.str = e.str;
      return v;
    }
    case NodeKind::kParen:
      return Eval(*e.expr, g);
    case NodeKind::kVectorSelector:
      return EvalSelector(e, g);
    case NodeKind::kMatrixSelector:
    case NodeKind::kSubquery:
      if (g.n != 1) {
        return absl::InvalidArgumentError(
            "invalid expression type \"range vector\" for range query, must be Scalar or "
            "instant Vector");
      }
      return EvalMatrixRaw(e, g.start);
    case NodeKind::kUnary: {
      auto v = Eval(*e.expr, g);
      if (!v.ok() || !e.unary_minus) return v;
      if (v->type == ValueType::kScalar) {
        for (double& x : v->scalar) x = -x;
        return v;
      }
      for (StepSeries& s : v->series) {
        for (size_t i = 0; i < g.n; ++i) {
          if (s.k[i] == kFloat) s.f[i] = -s.f[i];
          if (s.k[i] == kHist) kernels::HistogramScale(&s.h[i], -1);
        }
        s.labels = DropName(s.labels);
      }
      if (absl::Status st = CheckStepDuplicates(v->series, g.n); !st.ok()) return st;
      MergeSameLabels(&v->series);
      return v;
    }
    case NodeKind::kBinary:
      return EvalBinary(e, g);
    case NodeKind::kCall:
      return EvalCall(e, g);
    case NodeKind::kAggregate:
      return EvalAggregate(e, g);
  }
  return absl::InternalError("unknown node");
}

// ---------------------------------------------------------------------------------------------

Engine::Engine(EngineOptions options) : options_(options) {}
Engine::~Engine() = default;

int Engine::running() const {
  absl::MutexLock l(&mu_);
  return running_;
}

absl::StatusOr<QueryResult> Engine::InstantQuery(Queryable& queryable, std::string_view query,
                                                 int64_t time_ms, const QueryOptions& options) {
  return Run(queryable, query, time_ms, time_ms, 0, true, options);
}

absl::StatusOr<QueryResult> Engine::RangeQuery(Queryable& queryable, std::string_view query,
                                               int64_t start_ms, int64_t end_ms, int64_t step_ms,
                                               const QueryOptions& options) {
  if (step_ms <= 0) {
    return absl::InvalidArgumentError(
        "zero or negative query resolution step widths are not accepted. Try a positive integer");
  }
  if (end_ms < start_ms) {
    return absl::InvalidArgumentError("end timestamp must not be before start time");
  }
  return Run(queryable, query, start_ms, end_ms, step_ms, false, options);
}

namespace {

// The time range a query reads: for every selector, its reference times minus lookback/range,
// through subqueries' ranges and offsets.
void QueryRange(const Expr& e, int64_t start, int64_t end, int64_t lookback, int64_t qstart,
                int64_t qend, int64_t* mint, int64_t* maxt) {
  auto ref = [&](const Expr& n, int64_t t) {
    switch (n.at) {
      case AtKind::kTimestamp:
        t = n.at_ms;
        break;
      case AtKind::kStart:
        t = qstart;
        break;
      case AtKind::kEnd:
        t = qend;
        break;
      case AtKind::kNone:
        break;
    }
    return t - n.offset_ms;
  };
  switch (e.kind) {
    case NodeKind::kVectorSelector: {
      int64_t a = ref(e, start), b = ref(e, end);
      *mint = std::min(*mint, std::min(a, b) - lookback);
      *maxt = std::max(*maxt, std::max(a, b));
      return;
    }
    case NodeKind::kMatrixSelector: {
      const Expr& vs = *e.expr;
      int64_t a = ref(vs, start), b = ref(vs, end);
      *mint = std::min(*mint, std::min(a, b) - e.range_ms);
      *maxt = std::max(*maxt, std::max(a, b));
      return;
    }
    case NodeKind::kSubquery: {
      int64_t a = ref(e, start), b = ref(e, end);
      QueryRange(*e.expr, std::min(a, b) - e.range_ms, std::max(a, b), lookback, qstart, qend,
                 mint, maxt);
      return;
    }
    default:
      break;
  }
  if (e.expr) QueryRange(*e.expr, start, end, lookback, qstart, qend, mint, maxt);
  if (e.lhs) QueryRange(*e.lhs, start, end, lookback, qstart, qend, mint, maxt);
  if (e.rhs) QueryRange(*e.rhs, start, end, lookback, qstart, qend, mint, maxt);
  if (e.param) QueryRange(*e.param, start, end, lookback, qstart, qend, mint, maxt);
  for (const auto& a : e.args) QueryRange(*a, start, end, lookback, qstart, qend, mint, maxt);
}

const Expr* Unparen(const Expr* e) {
  while (e->kind == NodeKind::kParen) e = e->expr.get();
  return e;
}

}  // namespace

absl::StatusOr<QueryResult> Engine::Run(Queryable& queryable, std::string_view query,
                                        int64_t start_ms, int64_t end_ms, int64_t step_ms,
                                        bool instant, const QueryOptions& options) {
  const absl::Time t0 = absl::Now();
  QueryResult result;
  std::unique_ptr<tsdb::QueryLimiter> own_limiter;
  tsdb::QueryLimiter* limiter = options.limiter;
  if (limiter == nullptr) {
    own_limiter =
        std::make_unique<tsdb::QueryLimiter>(0, 0, absl::Now() + options_.timeout);
    limiter = own_limiter.get();
  }
  ParseResult parsed = Parse(query);
  if (!parsed.ok()) return absl::InvalidArgumentError(parsed.error.ToString());
  const Expr& root = *parsed.expr;
  ValueType rt = root.Type();
  if (!instant && rt != ValueType::kScalar && rt != ValueType::kVector) {
    return absl::InvalidArgumentError(absl::StrCat("invalid expression type \"",
                                                   std::string(DocumentedTypeName(rt)),
                                                   "\" for range query, must be Scalar or instant "
                                                   "Vector"));
  }

  // Wait for a slot.
  {
    absl::MutexLock l(&mu_);
    auto free_slot = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return running_ < options_.max_concurrent;
    };
    while (!free_slot()) {
      if (limiter->cancelled()) return absl::CancelledError(tsdb::QueryLimiter::kCanceledMessage);
      absl::Time wake = std::min(limiter->deadline(), absl::Now() + absl::Milliseconds(50));
      mu_.AwaitWithDeadline(absl::Condition(&free_slot), wake);
      if (absl::Now() >= limiter->deadline() && !free_slot()) {
        return absl::DeadlineExceededError(tsdb::QueryLimiter::kTimeoutMessage);
      }
    }
    ++running_;
  }
  struct Slot {
    Engine* e;
    ~Slot() {
      absl::MutexLock l(&e->mu_);
      --e->running_;
    }
  } slot{this};
  const absl::Time t1 = absl::Now();
  result.stats.queue_time = t1 - t0;

  Impl ev;
  ev.limiter = limiter;
  ev.lookback = options.lookback_delta_ms > 0 ? options.lookback_delta_ms
                                              : options_.lookback_delta_ms;
  ev.default_step = options_.default_subquery_step_ms;
  ev.max_samples = options_.max_samples;
  ev.query_start = start_ms;
  ev.query_end = end_ms;
  ev.stats = &result.stats;

  int64_t mint = INT64_MAX, maxt = INT64_MIN;
  QueryRange(root, start_ms, end_ms, ev.lookback, start_ms, end_ms, &mint, &maxt);
  if (mint == INT64_MAX) {
    mint = start_ms;
    maxt = end_ms;
  }
  auto q = queryable.Open(mint, maxt);
  if (!q.ok()) return q.status();
  ev.querier = q->get();
  const absl::Time t2 = absl::Now();
  result.stats.prepare_time = t2 - t1;

  Grid g;
  g.start = start_ms;
  g.end = end_ms;
  g.step = instant ? 1 : step_ms;
  g.n = instant ? 1 : static_cast<size_t>((end_ms - start_ms) / step_ms) + 1;
  auto v = ev.Eval(root, g);
  if (!v.ok()) return v.status();
  if (absl::Status st = limiter->Check(); !st.ok()) return st;
  result.warnings = ev.querier->Warnings();
  result.type = instant ? v->type : ValueType::kMatrix;

  switch (v->type) {
    case ValueType::kScalar:
      if (instant) {
        result.scalar = {start_ms, v->scalar[0]};
      } else {
        ResultSeries rs;
        for (size_t i = 0; i < g.n; ++i) rs.floats.push_back({g.T(i), v->scalar[i]});
        result.series.push_back(std::move(rs));
      }
      break;
    case ValueType::kString:
      result.str = v->str;
      result.scalar = {start_ms, 0};
      if (!instant) result.type = ValueType::kString;
      break;
    case ValueType::kMatrix:
      for (RawSeries& r : v->raw) {
        ResultSeries rs;
        rs.labels = std::move(r.labels);
        rs.floats = std::move(r.floats);
        rs.histograms = std::move(r.hists);
        result.series.push_back(std::move(rs));
      }
      break;
    case ValueType::kVector: {
      if (!instant && SameLabelsetInSeries(v->series)) {
        // Series of equal labels never share a step here (checked per step); merge them.
        MergeSameLabels(&v->series);
      }
      for (StepSeries& s : v->series) {
        ResultSeries rs;
        rs.labels = std::move(s.labels);
        size_t floats = 0;
        for (uint8_t k : s.k) floats += k == kFloat;
        rs.floats.reserve(floats);
        if (floats < g.n && !s.h.empty()) rs.histograms.reserve(g.n - floats);
        for (size_t i = 0; i < g.n; ++i) {
          if (s.k[i] == kFloat) rs.floats.push_back({g.T(i), s.f[i]});
          if (s.k[i] == kHist) rs.histograms.push_back({g.T(i), std::move(s.h[i])});
        }
        if (rs.floats.empty() && rs.histograms.empty()) continue;
        result.series.push_back(std::move(rs));
      }
      const Expr* top = Unparen(&root);
      std::string_view f = top->kind == NodeKind::kCall ? top->func->name : "";
      auto value_of = [](const ResultSeries& s) {
        return s.floats.empty() ? s.histograms[0].h.sum : s.floats[0].f;
      };
      if (!instant) {
        std::sort(result.series.begin(), result.series.end(),
                  [](const ResultSeries& a, const ResultSeries& b) { return a.labels < b.labels; });
      } else if (f == "sort" || f == "sort_desc") {
        bool desc = f == "sort_desc";
        std::stable_sort(result.series.begin(), result.series.end(),
                         [&](const ResultSeries& a, const ResultSeries& b) {
                           double x = value_of(a), y = value_of(b);
                           if (std::isnan(x)) return false;  // NaN last
                           if (std::isnan(y)) return true;
                           return desc ? x > y : x < y;
                         });
      } else if (f == "sort_by_label" || f == "sort_by_label_desc") {
        bool desc = f == "sort_by_label_desc";
        std::vector<std::string> names;
        for (size_t a = 1; a < top->args.size(); ++a) names.push_back(top->args[a]->str);
        std::stable_sort(result.series.begin(), result.series.end(),
                         [&](const ResultSeries& a, const ResultSeries& b) {
                           for (const std::string& n : names) {
                             int c = a.labels.Get(n).compare(b.labels.Get(n));
                             if (c != 0) return desc ? c > 0 : c < 0;
                           }
                           int c = tsdb::Labels::Compare(a.labels, b.labels);
                           return desc ? c > 0 : c < 0;
                         });
      }
      break;
    }
    case ValueType::kNone:
      break;
  }
  const absl::Time t3 = absl::Now();
  result.stats.eval_time = t3 - t2;
  result.stats.total_time = t3 - t0;
  return result;
}

}  // namespace sprout::metrics::promql
