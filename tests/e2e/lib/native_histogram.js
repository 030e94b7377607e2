'use strict';
// Native histograms worked out from observed values, independently of any store or SDK: the
// expected schema-s buckets of a list of values, their wire form (spans and deltas), and the
// reverse (a remote-read histogram's spans and deltas or counts → absolute counts by index).
//
// Prometheus's bucket index i covers (2^((i−1)·2^-s), 2^(i·2^-s)] (OpenTelemetry's index i − 1
// covers the same range); negative values mirror positive ones; |v| ≤ the zero threshold goes
// to the zero bucket.

// The bucket index of |v| > 0 at `schema`: the smallest i with 2^(i / 2^schema) ≥ |v|. The
// logarithm gives a candidate; the bound itself decides (so a value on a boundary lands in the
// bucket it closes, whatever the rounding of log2).
function bucketIndex(v, schema) {
  const a = Math.abs(v);
  const bound = (i) => 2 ** (i / 2 ** schema);
  let i = Math.ceil(Math.log2(a) * 2 ** schema);
  while (bound(i) < a) i++;
  while (bound(i - 1) >= a) i--;
  return i;
}

// Absolute counts by index → spans (runs of consecutive indexes; empty buckets left out) and
// deltas (each count minus the previous one, the first absolute), as the exposition format and
// remote write send them.
function spansAndDeltas(countsByIndex) {
  const indexes = [...countsByIndex.keys()].filter((i) => countsByIndex.get(i) > 0).sort((a, b) => a - b);
  const spans = [];
  const deltas = [];
  let prevIndex = null;
  let prevCount = 0;
  for (const i of indexes) {
    if (prevIndex !== null && i === prevIndex + 1) {
      spans[spans.length - 1].length += 1;
    } else {
      spans.push({ offset: prevIndex === null ? i : i - prevIndex - 1, length: 1 });
    }
    const c = countsByIndex.get(i);
    deltas.push(c - prevCount);
    prevCount = c;
    prevIndex = i;
  }
  return { spans, deltas };
}

// The native histogram of `values` (every observation so far): {schema, zeroThreshold,
// zeroCount, count, sum, positive: Map index → count, negative: Map, positiveSpans,
// positiveDeltas, negativeSpans, negativeDeltas}.
function nativeHistogram(values, schema, zeroThreshold) {
  const positive = new Map();
  const negative = new Map();
  let zeroCount = 0;
  let sum = 0;
  for (const v of values) {
    sum += v;
    if (Math.abs(v) <= zeroThreshold) {
      zeroCount += 1;
      continue;
    }
    const side = v > 0 ? positive : negative;
    const i = bucketIndex(v, schema);
    side.set(i, (side.get(i) || 0) + 1);
  }
  const p = spansAndDeltas(positive);
  const n = spansAndDeltas(negative);
  return {
    schema,
    zeroThreshold,
    zeroCount,
    count: values.length,
    sum,
    positive,
    negative,
    positiveSpans: p.spans,
    positiveDeltas: p.deltas,
    negativeSpans: n.spans,
    negativeDeltas: n.deltas,
  };
}

// One side of a decoded prometheus.Histogram (protobufjs object, longs as numbers) → Map index →
// absolute count, empty buckets left out. Integer histograms carry deltas, float ones counts.
function expandBuckets(spans, deltas, counts) {
  const out = new Map();
  let index = 0;
  let k = 0;
  let running = 0;
  for (const span of spans || []) {
    index += span.offset || 0;
    for (let j = 0; j < (span.length || 0); j++, index++, k++) {
      let c;
      if (deltas && deltas.length) {
        running += Number(deltas[k]);
        c = running;
      } else {
        c = Number(counts[k]);
      }
      if (c !== 0) out.set(index, c);
    }
  }
  return out;
}

// A Map as a sorted [[index, count]] list, for deepEqual and messages.
const mapEntries = (m) => [...m.entries()].sort((a, b) => a[0] - b[0]);

module.exports = { bucketIndex, expandBuckets, mapEntries, nativeHistogram, spansAndDeltas };
