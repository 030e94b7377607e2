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

class CollectingSink : public SeriesSink {
 public:
  void Append(std::string_view name, const Labels& labels, double value, absl::Time time,
              absl::Span<const Exemplar> exemplars, std::string_view exemplar_label) override {
    std::string s = std::string(name) + "{";
    for (size_t i = 0; i < labels.size(); ++i) {
      absl::StrAppend(&s, i ? "," : "", labels[i].name, "=\"", labels[i].value, "\"");
    }
    s += "}";
    samples.push_back(CollectedSample{s, value, time,
                                      std::vector<Exemplar>(exemplars.begin(), exemplars.end()),
                                      std::string(exemplar_label)});
  }
  // series → value
  std::map<std::string, double> Values() const {
    std::map<std::string, double> m;
    for (const auto& s : samples) m[s.series] = s.value;
    return m;
  }
  const CollectedSample* Find(const std::string& series) const {
    for (const auto& s : samples) {
      if (s.series == series) return &s;
    }
    return nullptr;
  }
  std::vector<CollectedSample> samples;
};

}  // namespace sprout::traces::generator
