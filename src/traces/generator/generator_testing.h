// Test helper: a SeriesSink that keeps every appended sample, with series written as
// `name{a="x",b="y"}` for readable expectations.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "traces/generator/registry.h"

namespace sprout::traces::generator {

struct CollectedSample {
  std::string series;  // name{labels}
  double value = 0;
  absl::Time time;
  std::vector<Exemplar> exemplars;
  std::string exemplar_label;
};

// One native histogram sample (AppendNativeHistogram).
struct CollectedHistogram {
  std::string series;  // name{labels}
  NativeHistogramSample histogram;
  absl::Time time;
  std::vector<Exemplar> exemplars;
};

class CollectingSink : public SeriesSink {
 public:
  static std::string SeriesText(std::string_view name, const Labels& labels) {
    std::string s = std::string(name) + "{";
    for (size_t i = 0; i < labels.size(); ++i) {
      absl::StrAppend(&s, i ? "," : "", labels[i].name, "=\"", labels[i].value, "\"");
    }
    s += "}";
    return s;
  }
  void AppendNativeHistogram(std::string_view name, const Labels& labels,
                             const NativeHistogramSample& histogram, absl::Time time,
                             absl::Span<const Exemplar> exemplars,
                             std::string_view exemplar_label) override {
    histograms.push_back(
        CollectedHistogram{SeriesText(name, labels), histogram, time,
                           std::vector<Exemplar>(exemplars.begin(), exemplars.end())});
  }
  // The last native sample of `series`.
  const CollectedHistogram* FindHistogram(const std::string& series) const {
    for (auto it = histograms.rbegin(); it != histograms.rend(); ++it) {
      if (it->series == series) return &*it;
    }
    return nullptr;
  }
  void Append(std::string_view name, const Labels& labels, double value, absl::Time time,
              absl::Span<const Exemplar> exemplars, std::string_view exemplar_label) override {
    const std::string s = SeriesText(name, labels);
    samples.push_back(CollectedSample{s, value, time,
                                      std::vector<Exemplar>(exemplars.begin(), exemplars.end()),
                                      std::string(exemplar_label)});
  }
  // The samples at `t` (leaves out the initial 0 samples of new series).
  std::vector<CollectedSample> At(absl::Time t) const {
    std::vector<CollectedSample> out;
    for (const auto& s : samples) {
      if (s.time == t) out.push_back(s);
    }
    return out;
  }
  // series → value (the last sample of each: the current one)
  std::map<std::string, double> Values() const {
    std::map<std::string, double> m;
    for (const auto& s : samples) m[s.series] = s.value;
    return m;
  }
  // The last sample of `series` (the current one, after any initial 0).
  const CollectedSample* Find(const std::string& series) const {
    for (auto it = samples.rbegin(); it != samples.rend(); ++it) {
      if (it->series == series) return &*it;
    }
    return nullptr;
  }
  std::vector<CollectedSample> samples;
  std::vector<CollectedHistogram> histograms;
};

}  // namespace sprout::traces::generator
