// The `batch` processor: gathers requests into batches of `send_batch_size` items or whatever
// arrived within `timeout`, cut at `send_batch_max_size`, one batcher per distinct value
// combination of `metadata_keys`.
//
// As in the Collector, Consume() never reports the export's outcome: it hands the data over and
// returns OK; a failed send is logged ("Sender failed"). Batches of one batcher reach the next
// consumer in the order they were cut, whichever thread cut them (a receiver's, for a size
// trigger, or the one timer thread per processor, for a timeout): each batcher has an outbox,
// and one thread at a time hands it on. A thread that cut a batch hands on the outbox itself
// when nobody else is; otherwise it returns at once, unless the outbox holds more than
// max(2, hardware threads) batches (then it waits for room). Different batchers never wait for
// each other. Shutdown flushes everything pending and waits until it has left.
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
