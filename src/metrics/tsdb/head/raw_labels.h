// Walking the label bytes of a remote-write TimeSeries as they arrived, without decoding them
// into a label set: what the head's series lookup runs on every series of every request.
//
// "Raw labels" are the bytes of the `labels` field entries of a prometheus.TimeSeries
// (remote write 1.0), one after another exactly as on the wire:
//   repeated { tag 0x0a (field 1, length-delimited), uvarint length, Label message }
//   Label = { field 1 (string) name, field 2 (string) value }
// Inside a Label the usual protobuf rules hold: fields may come in any order, a repeated scalar
// field keeps its last value, unknown fields (any wire type) are skipped, an absent field is "".
// Prometheus and every other sender write `0a <len> 0a <len> name 12 <len> value` per label, all
// labels before the samples, so the span is contiguous; RawLabelsSpan finds it in a TimeSeries.
//
// The label sequence a walk yields is not validated (order, duplicates, empty values): the head
// only uses it to find a series it already knows (RawLabelsHash, RawLabelsEqual), and decodes and
// validates through the ingest layer when that fails.
//
// Thread-safety: pure functions over caller-owned bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "metrics/tsdb/index/labels.h"

namespace sprout::metrics::tsdb {

// Calls fn(name, value) for each Label in `raw`, in wire order; fn returns false to stop early.
// Returns false when the bytes are malformed (a truncated varint or length, another field than
// 1 at the top level, a wire type that cannot be skipped), true otherwise (also when stopped).
bool ForEachRawLabel(std::string_view raw,
                     absl::FunctionRef<bool(std::string_view name, std::string_view value)> fn);

// HashLabels (base/hash.h, the value Labels::Hash() gives) of the label sequence in `raw`, in
// wire order. For a sender that writes sorted, unique, non-empty labels (the remote-write MUST)
// it equals the hash of the decoded series' Labels, so one map serves both. nullopt: malformed.
std::optional<uint64_t> RawLabelsHash(std::string_view raw);

// A labels hash (RawLabelsHash, Labels::Hash(): stable, unseeded) mixed with a per-process random
// seed: what in-memory hash tables keyed by sender-chosen labels use, so that a sender cannot
// choose label sets whose hashes share a probe sequence. Never stored or sent.
uint64_t SeededLabelsHash(uint64_t labels_hash);

// A hash of the bytes of `raw` themselves (not of the labels they encode), mixed with the same
// per-process random seed: one pass over contiguous memory, no parsing. What the head's
// label-bytes cache is keyed by (two encodings of one label set hash apart, and that is fine: the
// cache only answers for the bytes it has seen). Never stored or sent.
uint64_t SeededRawBytesHash(std::string_view raw);

// Whether the label sequence in `raw` is exactly `labels` (same names and values in the same
// order): a walk of both at once, no allocation. Malformed bytes are never equal.
bool RawLabelsEqual(std::string_view raw, const Labels& labels);

// The label sequence in `raw` added in wire order to `builder` (which is not reset). Returns
// false when the bytes are malformed. The ingest layer then validates and builds the Labels.
bool AddRawLabels(std::string_view raw, LabelsBuilder& builder);

// In the bytes of one prometheus.TimeSeries message, the span of its `labels` entries (field 1)
// when they are contiguous (nothing else between the first and the last); "" when the series has
// no labels; nullopt when they are interleaved with other fields or the message is malformed.
std::optional<std::string_view> RawLabelsSpan(std::string_view timeseries);

// Encodes labels the way Prometheus's remote-write sender does (each Label: name then value,
// minimal varints): the bytes the head's label-bytes cache expects for a canonical set.
std::string EncodeRawLabels(const Labels& labels);
void AppendRawLabels(const Labels& labels, std::string& out);  // appends to `out`

}  // namespace sprout::metrics::tsdb
