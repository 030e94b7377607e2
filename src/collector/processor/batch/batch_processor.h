// The `batch` processor: gathers requests into batches of `send_batch_size` items or whatever
// arrived within `timeout`, cut at `send_batch_max_size`, one batcher per distinct value
// combination of `metadata_keys`.
//
// As in the Collector, Consume() never waits for the export and never reports its failure: it
// hands the data over and returns OK; a failed send is logged ("Sender failed"). A size-triggered
// batch is sent on the thread whose request completed it; timeouts are served by one timer
// thread per processor. Shutdown flushes everything pending.
//
// Batches are merged without decoding: an OTLP export request is a repeated field, so the
// concatenation of encodings is the encoding of the merged request. Only a request straddling a
// `send_batch_max_size` cut is decoded and split.
#pragma once

#include <memory>

#include "base/clock.h"
#include "collector/factory.h"

namespace sprout::collector::batchprocessor {

// `clock` (not owned; nullptr: the real clock) is what timeouts are measured with: tests pass a
// ManualClock and step time themselves.
std::unique_ptr<ProcessorFactory> NewFactory(Clock* clock = nullptr);

}  // namespace sprout::collector::batchprocessor
