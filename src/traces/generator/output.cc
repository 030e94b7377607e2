#include "traces/generator/output.h"

#include <string_view>
#include <utility>

namespace sprout::traces::generator {

void WriteRequestSink::Append(std::string_view name, const Labels& labels, double value,
                              absl::Time time, absl::Span<const Exemplar> exemplars,
                              std::string_view exemplar_label) {
  prometheus::TimeSeries* series = request_.add_timeseries();
  series->mutable_labels()->Reserve(static_cast<int>(labels.size()) + 1);
  // `__name__` at its place in byte order (before every lower-case name, after upper-case ones).
  bool name_added = false;
  auto add_name = [&] {
    prometheus::Label* l = series->add_labels();
    l->set_name("__name__");
    l->set_value(name.data(), name.size());
    name_added = true;
  };
  for (const Label& label : labels) {
    if (!name_added && std::string_view(label.name) > "__name__") add_name();
    prometheus::Label* l = series->add_labels();
    l->set_name(label.name);
    l->set_value(label.value);
  }
  if (!name_added) add_name();
  prometheus::Sample* sample = series->add_samples();
  sample->set_value(value);
  sample->set_timestamp(absl::ToUnixMillis(time));
  for (const Exemplar& e : exemplars) {
    prometheus::Exemplar* out = series->add_exemplars();
    prometheus::Label* l = out->add_labels();
    l->set_name(exemplar_label.data(), exemplar_label.size());
    l->set_value(e.trace_id);
    out->set_value(e.value);
    out->set_timestamp(absl::ToUnixMillis(e.time));
  }
}

prometheus::WriteRequest WriteRequestSink::Take() {
  prometheus::WriteRequest out;
  out.Swap(&request_);
  return out;
}

}  // namespace sprout::traces::generator
