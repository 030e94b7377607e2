// Hands one batch to several consumers (the exporters of a pipeline, or the pipelines that
// share a receiver).
//
// Consumers are called one after the other with handles to the same request; a consumer that
// changes data gets its own copy through Batch's copy-on-write, so no consumer sees another's
// changes. Every consumer is called even when an earlier one fails; their errors are joined
// (the code of the first, the messages of all, permanent when any is — as the Collector's
// multierr join), so the result does not depend on the order of the branches.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "collector/component.h"
#include "otlp/consumer_error.h"

namespace sprout::collector {

template <Signal S>
class FanOut : public Consumer<S> {
 public:
  explicit FanOut(std::vector<std::shared_ptr<Consumer<S>>> consumers)
      : consumers_(std::move(consumers)) {}

  absl::Status Consume(const Context& context, otlp::Batch<S> batch) override {
    absl::Status result;
    bool permanent = false;
    for (size_t i = 0; i < consumers_.size(); ++i) {
      absl::Status status = i + 1 == consumers_.size()
                                ? consumers_[i]->Consume(context, std::move(batch))
                                : consumers_[i]->Consume(context, batch);
      if (status.ok()) continue;
      permanent = permanent || otlp::IsPermanent(status);
      if (result.ok()) {
        result = std::move(status);
      } else {
        result =
            absl::Status(result.code(), absl::StrCat(result.message(), "; ", status.message()));
      }
    }
    return permanent ? otlp::MarkPermanent(std::move(result)) : result;
  }

 private:
  std::vector<std::shared_ptr<Consumer<S>>> consumers_;
};

// A single consumer needs no fan-out.
template <Signal S>
std::shared_ptr<Consumer<S>> MakeFanOut(std::vector<std::shared_ptr<Consumer<S>>> consumers) {
  if (consumers.size() == 1) return consumers.front();
  return std::make_shared<FanOut<S>>(std::move(consumers));
}

}  // namespace sprout::collector
