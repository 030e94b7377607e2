'use strict';
// Remote write 1.0 of the data set: protobuf WriteRequest (the e2e tests' encoder, from the
// repository's proto/prometheus/remote.proto) compressed with snappy (block format), one request
// per time slice, in time order. A staleness marker must reach the wire with its exact bits, and
// a JS number may not keep a NaN's payload, so it is encoded as a placeholder double that no
// generated sample can have and its 8 bytes are replaced afterwards (each replacement is checked
// to sit in a Sample's value field).

const snappy = require('snappyjs');

const { encodeWriteRequest } = require('../../e2e/lib/proto');
const { STALE_NAN_HEX } = require('./data');

const PLACEHOLDER = -7.0e-77; // negative and tiny: never a demo-service value
const PLACEHOLDER_BYTES = (() => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(PLACEHOLDER);
  return b;
})();
const STALE_BYTES = Buffer.from(STALE_NAN_HEX, 'hex').reverse(); // little-endian on the wire
const SAMPLE_VALUE_TAG = 0x09; // Sample.value: field 1, wire type 1 (64-bit)

// The uncompressed WriteRequest bytes of one batch ({timeseries: [{labels, samples: [{value,
// timestamp, stale}]}]}).
function encodeBatch(batch) {
  let markers = 0;
  const data = {
    timeseries: batch.timeseries.map((ts) => ({
      labels: ts.labels,
      samples: ts.samples.map((s) => {
        if (s.stale) markers += 1;
        return { value: s.stale ? PLACEHOLDER : s.value, timestamp: s.timestamp };
      }),
    })),
  };
  const wire = encodeWriteRequest(data);
  let replaced = 0;
  for (let at = wire.indexOf(PLACEHOLDER_BYTES); at >= 0; at = wire.indexOf(PLACEHOLDER_BYTES, at + 8)) {
    if (wire[at - 1] !== SAMPLE_VALUE_TAG) throw new Error(`stale placeholder at ${at} is not a sample value`);
    STALE_BYTES.copy(wire, at);
    replaced += 1;
  }
  if (replaced !== markers) throw new Error(`${markers} stale markers in the batch, ${replaced} placed on the wire`);
  return wire;
}

// POSTs one compressed body; throws with the server's answer unless 2xx.
async function post(url, body, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'Content-Encoding': 'snappy',
      'Content-Type': 'application/x-protobuf',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
      'User-Agent': 'sprout-conformance',
      ...headers,
    },
    body,
  });
  const text = await res.text();
  if (res.status < 200 || res.status >= 300) throw new Error(`remote write to ${url}: HTTP ${res.status}: ${text.slice(0, 500)}`);
}

// Writes every batch, in order, to every url (each url gets the batches in order; the urls are
// written side by side).
async function writeAll(batches, urls) {
  const bodies = batches.map((b) => Buffer.from(snappy.compress(encodeBatch(b))));
  await Promise.all(urls.map(async ({ url, headers }) => {
    for (const body of bodies) await post(url, body, headers);
  }));
  return bodies.reduce((n, b) => n + b.length, 0);
}

module.exports = { PLACEHOLDER, encodeBatch, writeAll };
