// Hands one batch to several consumers (the exporters of a pipeline, or the pipelines that
// share a receiver).
//
// Consumers are called one after the other with handles to the same request; a consumer that
// changes data gets its own copy through Batch's copy-on-write, so no consumer sees another's
// changes. Every consumer is called even when an earlier one fails; the first error is
// returned.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "collector/component.h"

namespace sprout::collector {

template <Signal S>
class FanOut : public Consumer<S> {
 public:
  explicit FanOut(std::vector<std::shared_ptr<Consumer<S>>> consumers)
      : consumers_(std::move(consumers)) {}

  absl::Status Consume(const Context& context, otlp::Batch<S> batch) override {
    absl::Status result;
    for (size_t i = 0; i < consumers_.size(); ++i) {
      absl::Status status = i + 1 == consumers_.size()
                                ? consumers_[i]->Consume(context, std::move(batch))
                                : consumers_[i]->Consume(context, batch);
      if (!status.ok() && result.ok()) result = std::move(status);
    }
    return result;
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
