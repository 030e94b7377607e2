'use strict';
// Remote write 2.0 into `sprout metrics` (issue 15). No real 2.0 sender is available here
// (Debian's prometheus 2.42 predates remote write 2.0, which Prometheus sends from 3.0), so the
// spec is the oracle: every request below is written by hand from the spec's field numbers,
// hard-coded here (not from a .proto of ours):
//   Request     symbols 4 (repeated string), timeseries 5
//   TimeSeries  labels_refs 1 (packed uint32), samples 2, histograms 3, exemplars 4, metadata 5,
//               created_timestamp 6 (Prometheus 3.0–3.7; reserved from spec 2.0-rc.4)
//   Sample      value 1 (double), timestamp 2 (int64), start_timestamp 3 (Prometheus 3.8+)
//   Exemplar    labels_refs 1, value 2, timestamp 3
//   Metadata    type 1 (COUNTER = 1, GAUGE = 2, HISTOGRAM = 3), help_ref 3, unit_ref 4
//   Histogram   count_int 1, count_float 2, sum 3, schema 4 (sint32), zero_threshold 5,
//               zero_count_int 6, positive_spans 11 (BucketSpan: offset 1 sint32, length 2),
//               positive_deltas 12 (packed sint64), positive_counts 13 (packed double),
//               timestamp 15, custom_values 16 (packed double), start_timestamp 17
// Each request is sent in both created-timestamp layouts (the store injects a zero at a start
// timestamp before the first sample, as Mimir's ingester) and read back through remote read,
// PromQL, /api/v1/query_exemplars and /api/v1/metadata. Expected values come from the
// construction of the requests and the spec's rules (204 on success, the written-count headers,
// 415 for what the receiver cannot read).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const snappy = require('snappyjs');

const { makeTempDir } = require('./lib/sprout');
const { SproutMetrics, postRemoteWrite } = require('./lib/sprout_metrics');

// ---------------------------------------------------------------------------------------------
// A minimal protobuf writer

function varint(v) {
  let n = BigInt.asUintN(64, BigInt(v));
  const out = [];
  while (n >= 0x80n) {
    out.push(Number((n & 0x7fn) | 0x80n));
    n >>= 7n;
  }
  out.push(Number(n));
  return Buffer.from(out);
}
const zigzag = (v) => (v >= 0 ? 2 * v : -2 * v - 1);
const tag = (field, wireType) => varint((field << 3) | wireType);
const fVarint = (field, v) => Buffer.concat([tag(field, 0), varint(v)]);
function fDouble(field, d) {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(d);
  return Buffer.concat([tag(field, 1), b]);
}
const fBytes = (field, payload) => Buffer.concat([tag(field, 2), varint(payload.length), payload]);
const fString = (field, s) => fBytes(field, Buffer.from(s, 'utf8'));
const fPacked = (field, values) => fBytes(field, Buffer.concat(values.map(varint)));
function fPackedDoubles(field, values) {
  const b = Buffer.alloc(8 * values.length);
  values.forEach((d, i) => b.writeDoubleLE(d, 8 * i));
  return fBytes(field, b);
}

// A request from plain data: series [{labels: {...} (sorted by name here), samples: [[t, v, st]],
// histograms: [encoded Histogram payloads], exemplars: [{labels, value, t}], metadata: {type,
// help, unit}, created}]. Strings go into the symbol table (symbols[0] = "").
function v2Request(series, { badRef } = {}) {
  const symbols = [''];
  const index = new Map([['', 0]]);
  const ref = (s) => {
    if (!index.has(s)) {
      index.set(s, symbols.length);
      symbols.push(s);
    }
    return index.get(s);
  };
  const refsOf = (labels) => Object.keys(labels).sort().flatMap((k) => [ref(k), ref(labels[k])]);
  const tsParts = series.map((s) => {
    const refs = refsOf(s.labels);
    if (s === badRef) refs[refs.length - 1] = 1000;
    const parts = [fPacked(1, refs)];
    for (const [t, v, st] of s.samples || []) {
      parts.push(fBytes(2, Buffer.concat([fDouble(1, v), fVarint(2, t), st ? fVarint(3, st) : Buffer.alloc(0)])));
    }
    for (const h of s.histograms || []) parts.push(fBytes(3, h));
    for (const e of s.exemplars || []) {
      parts.push(fBytes(4, Buffer.concat([fPacked(1, refsOf(e.labels)), fDouble(2, e.value), fVarint(3, e.t)])));
    }
    if (s.metadata) {
      const m = s.metadata;
      parts.push(fBytes(5, Buffer.concat([fVarint(1, m.type), fVarint(3, ref(m.help || '')), fVarint(4, ref(m.unit || ''))])));
    }
    if (s.created) parts.push(fVarint(6, s.created));
    return fBytes(5, Buffer.concat(parts));
  });
  return Buffer.concat([...symbols.map((s) => fString(4, s)), ...tsParts]);
}

// An integer native histogram, schema 0: positive buckets (0.5,1] and (1,2] holding c1 and c2.
function intHistogram(t, c1, c2, sum, { st } = {}) {
  return Buffer.concat([
    fVarint(1, c1 + c2), fDouble(3, sum), fVarint(4, zigzag(0)),
    fBytes(11, Buffer.concat([fVarint(1, zigzag(0)), fVarint(2, 2)])),
    fPacked(12, [zigzag(c1), zigzag(c2 - c1)]),
    fVarint(15, t), st ? fVarint(17, st) : Buffer.alloc(0),
  ]);
}
// A float native histogram, schema 0: one positive bucket (1,2] holding `c`.
function floatHistogram(t, c, sum) {
  return Buffer.concat([
    fDouble(2, c), fDouble(3, sum), fVarint(4, zigzag(0)),
    fBytes(11, Buffer.concat([fVarint(1, zigzag(1)), fVarint(2, 1)])),
    fPackedDoubles(13, [c]),
    fVarint(15, t),
  ]);
}

// A custom-bucket native histogram (schema -53): bucket i counts (cv[i-1], cv[i]], -Inf below
// cv[0], +Inf above the last; `buckets` maps index → count (integer counts, as deltas).
function nhcbHistogram(t, cv, buckets, sum) {
  const idx = Object.keys(buckets).map(Number).sort((a, b) => a - b);
  const spans = [];
  let next = 0;
  for (const i of idx) {
    if (spans.length > 0 && i === next) spans[spans.length - 1][1] += 1;
    else spans.push([i - next, 1]);
    next = i + 1;
  }
  let prev = 0;
  const deltas = idx.map((i) => {
    const d = buckets[i] - prev;
    prev = buckets[i];
    return zigzag(d);
  });
  const count = idx.reduce((a, i) => a + buckets[i], 0);
  return Buffer.concat([
    fVarint(1, count), fDouble(3, sum), fVarint(4, zigzag(-53)),
    ...spans.map(([offset, length]) => fBytes(11, Buffer.concat([fVarint(1, zigzag(offset)), fVarint(2, length)]))),
    fPacked(12, deltas), fVarint(15, t), fPackedDoubles(16, cv),
  ]);
}

const V2_TYPE = 'application/x-protobuf;proto=io.prometheus.write.v2.Request';
const written = (res) => ({
  samples: res.headers.get('x-prometheus-remote-write-samples-written'),
  histograms: res.headers.get('x-prometheus-remote-write-histograms-written'),
  exemplars: res.headers.get('x-prometheus-remote-write-exemplars-written'),
});

function push2(peer, wire, { url, headers = {} } = {}) {
  return postRemoteWrite(url || peer.writeUrl, Buffer.from(snappy.compress(wire)), {
    headers: peer.headers({ 'Content-Type': V2_TYPE, 'X-Prometheus-Remote-Write-Version': '2.0.0', ...headers }),
  });
}

// ---------------------------------------------------------------------------------------------

describe('sprout metrics: remote write 2.0', () => {
  let s;
  const now = Date.now() - 60000;

  before(async () => {
    s = new SproutMetrics({ dir: makeTempDir('sprout-rw2-'), multitenancy: true });
    await s.start();
  });
  after(async () => s && s.kill());

  // Both created-timestamp layouts: 3.0–3.7 (TimeSeries field 6), 3.8+ (per sample/histogram).
  for (const layout of ['created_timestamp', 'start_timestamp']) {
    it(`${layout} layout: samples, native histograms, exemplars and metadata round-trip; 204 and the written counts`, async () => {
      const t = s.as(`rw2-${layout}`);
      const old = layout === 'created_timestamp';
      const created = now - 300000;
      const counter = {
        labels: { __name__: 'rw2_requests_total', job: 'api' },
        samples: [[now - 1000, 5, old ? 0 : created], [now, 7, old ? 0 : created]],
        exemplars: [{ labels: { trace_id: 'abc123' }, value: 7, t: now }],
        metadata: { type: 1, help: 'Requests served.', unit: '' },
        created: old ? created : 0,
      };
      const gauge = {
        labels: { __name__: 'rw2_temperature_celsius', room: 'a' },
        samples: [[now, -3.5]],
        metadata: { type: 2, help: 'Temperature.', unit: 'celsius' },
      };
      const hist = {
        labels: { __name__: 'rw2_latency_seconds', job: 'api' },
        histograms: [intHistogram(now, 3, 4, 10.5, { st: old ? 0 : created })],
        metadata: { type: 3, help: 'Latency.', unit: 'seconds' },
        created: old ? created : 0,
      };
      const fhist = {
        labels: { __name__: 'rw2_float_latency_seconds', job: 'api' },
        histograms: [floatHistogram(now, 2.5, 4)],
      };
      const res = await push2(t, v2Request([counter, gauge, hist, fhist]), { url: `${t.baseUrl}/api/v1/write` });
      assert.equal(res.status, 204, res.text);
      assert.equal(res.text, '');
      assert.deepEqual(written(res), { samples: '3', histograms: '2', exemplars: '1' });

      // Remote read: the float samples as sent, after a zero at the start timestamp (Mimir's
      // ingester injects one where the start is before the first sample; the written counts
      // above are the sender's samples only). The gauge and the float histogram carry no start
      // timestamp: no zero. The integer histogram's zero is an empty histogram of its schema.
      const [series] = await t.remoteRead([{ start: 0, end: now + 1000, matchers: '{__name__=~"rw2_.+"}' }]);
      const byName = Object.fromEntries(series.map((x) => [x.labels.__name__, x]));
      assert.deepEqual(byName.rw2_requests_total.labels, counter.labels);
      assert.deepEqual(byName.rw2_requests_total.samples.map(([ts, v]) => [ts, v]), [[created, 0], [now - 1000, 5], [now, 7]]);
      assert.deepEqual(byName.rw2_temperature_celsius.samples.map(([ts, v]) => [ts, v]), [[now, -3.5]]);
      const hs = byName.rw2_latency_seconds.histograms;
      assert.deepEqual(hs.map((x) => Number(x.timestamp)), [created, now]);
      assert.equal(Number(hs[0].countInt || 0), 0);
      assert.equal(Number(hs[0].schema || 0), 0);
      assert.deepEqual(hs[0].positiveSpans || [], []);
      assert.equal(Number(hs[1].countInt), 7);
      assert.equal(byName.rw2_float_latency_seconds.histograms.length, 1);

      // PromQL: the native histograms' count, sum and buckets (schema 0: (0.5,1] and (1,2]).
      const at = (now / 1000).toFixed(3);
      const q = async (expr) => (await t.api('/api/v1/query', { query: expr, time: at })).result;
      const [h] = await q('rw2_latency_seconds');
      assert.deepEqual(h.histogram[1], {
        count: '7', sum: '10.5',
        buckets: [[0, '0.5', '1', '3'], [0, '1', '2', '4']],
      });
      const [fh] = await q('rw2_float_latency_seconds');
      assert.deepEqual(fh.histogram[1], { count: '2.5', sum: '4', buckets: [[0, '1', '2', '2.5']] });
      const [c] = await q('rw2_requests_total');
      assert.equal(c.value[1], '7');
      // With the zero, increase() counts from 0: 7 over [created, now] (no extrapolation past a
      // first sample of 0, none at the end). Without it, 5 → 7 extrapolated would give 3.
      const [inc] = (await t.api('/api/v1/query', {
        query: 'increase(rw2_requests_total[10m])', time: at,
      })).result;
      assert.equal(inc.value[1], '7');
      const [z] = (await t.api('/api/v1/query', {
        query: 'rw2_requests_total', time: ((created + 1) / 1000).toFixed(3),
      })).result;
      assert.equal(z.value[1], '0');

      // Exemplars.
      const ex = await t.queryExemplars('rw2_requests_total', { start: now / 1000 - 10, end: now / 1000 + 10 });
      assert.deepEqual(ex, [{
        seriesLabels: counter.labels,
        exemplars: [{ labels: { trace_id: 'abc123' }, value: '7', timestamp: now / 1000 }],
      }]);

      // Metadata, per series in 2.0, named after the series' metric.
      const md = await t.api('/api/v1/metadata', {});
      assert.deepEqual(md.rw2_requests_total, [{ type: 'counter', help: 'Requests served.', unit: '' }]);
      assert.deepEqual(md.rw2_temperature_celsius, [{ type: 'gauge', help: 'Temperature.', unit: 'celsius' }]);
      assert.deepEqual(md.rw2_latency_seconds, [{ type: 'histogram', help: 'Latency.', unit: 'seconds' }]);
    });
  }

  it('start timestamps: no zero where the start is not before the sample or lands at or before stored data; a new start mid-request gets its own', async () => {
    const t = s.as('rw2-start-edges');
    const first = [
      // The start at the sample's own time, and after it: no zero.
      { labels: { __name__: 'rw2_st_same' }, samples: [[now - 2000, 1, now - 2000]] },
      { labels: { __name__: 'rw2_st_after' }, samples: [[now - 2000, 2, now - 1500]] },
      // Stored first without a start timestamp.
      { labels: { __name__: 'rw2_st_stored' }, samples: [[now - 2000, 4]] },
      // A reset between two samples (a new start): a zero before each (3.8+ layout).
      { labels: { __name__: 'rw2_st_reset' }, samples: [[now - 2000, 3, now - 10000], [now - 1000, 1, now - 1500]] },
    ];
    let res = await push2(t, v2Request(first));
    assert.equal(res.status, 204, res.text);
    assert.deepEqual(written(res), { samples: '5', histograms: '0', exemplars: '0' });
    // Then starts that land before (per sample) and at (created_timestamp, 3.0–3.7) what is
    // stored: dropped silently — 204, no refusal — and the samples after them stored.
    const second = [
      { labels: { __name__: 'rw2_st_stored' }, samples: [[now, 6, now - 3000]] },
      { labels: { __name__: 'rw2_st_reset' }, samples: [[now, 2]], created: now - 1000 },
    ];
    res = await push2(t, v2Request(second));
    assert.equal(res.status, 204, res.text);
    assert.deepEqual(written(res), { samples: '2', histograms: '0', exemplars: '0' });

    const [series] = await t.remoteRead([{ start: 0, end: now + 1000, matchers: '{__name__=~"rw2_st_.+"}' }]);
    const got = Object.fromEntries(series.map((x) => [x.labels.__name__, x.samples.map(([ts, v]) => [ts, v])]));
    assert.deepEqual(got, {
      rw2_st_same: [[now - 2000, 1]],
      rw2_st_after: [[now - 2000, 2]],
      rw2_st_stored: [[now - 2000, 4], [now, 6]],
      rw2_st_reset: [[now - 10000, 0], [now - 2000, 3], [now - 1500, 0], [now - 1000, 1], [now, 2]],
    });
  });

  it('custom-bucket native histograms (schema -53): stored with their bounds, read back by remote read and PromQL; bad bounds refused with Prometheus\'s text, the rest kept', async () => {
    // Mimir accepts schema -53 from 2.17; its ingester checks the bounds with Prometheus's
    // validation (strictly increasing, finite, enough of them for the spans).
    const t = s.as('rw2-nhcb');
    const cv = [0.1, 0.5, 1];
    const first = { 1: 2, 2: 3, 3: 1 };   // (0.1,0.5]: 2, (0.5,1]: 3, (1,+Inf]: 1
    const second = { 1: 4, 2: 6, 3: 2 };
    const good = {
      labels: { __name__: 'rw2_nhcb_seconds', job: 'a' },
      histograms: [nhcbHistogram(now - 1000, cv, first, 4.2), nhcbHistogram(now, cv, second, 8.4)],
    };
    const other = {  // other bounds: a series of its own
      labels: { __name__: 'rw2_nhcb_seconds', job: 'b' },
      histograms: [nhcbHistogram(now, [-1, 2], { 0: 1, 1: 3 }, 1)],
    };
    const coarser = {  // a subset of job a's bounds
      labels: { __name__: 'rw2_nhcb_seconds', job: 'e' },
      histograms: [nhcbHistogram(now, [0.5, 1], { 0: 1, 2: 5 }, 3)],
    };
    const descending = {
      labels: { __name__: 'rw2_nhcb_bad', job: 'c' },
      histograms: [nhcbHistogram(now, [1, 0.5], { 1: 1 }, 1)],
    };
    const tooFew = {
      labels: { __name__: 'rw2_nhcb_bad', job: 'd' },
      histograms: [nhcbHistogram(now, [1], { 3: 1 }, 1)],
    };
    let res = await push2(t, v2Request([good, other, coarser]));
    assert.equal(res.status, 204, res.text);
    assert.deepEqual(written(res), { samples: '0', histograms: '4', exemplars: '0' });
    res = await push2(t, v2Request([descending]));
    assert.equal(res.status, 400, res.text);
    assert.match(res.text, /^err: custom buckets: previous bound is 1\.000000 and current is 0\.500000: histogram custom bounds must be in strictly increasing order\. timestamp=.*, series=\{__name__="rw2_nhcb_bad", job="c"\} \(err-mimir-native-histogram-custom-buckets-invalid\)/);
    res = await push2(t, v2Request([tooFew, { labels: { __name__: 'rw2_nhcb_ok' }, samples: [[now, 1]] }]));
    assert.equal(res.status, 400, res.text);
    assert.match(res.text, /only 1 custom bounds defined which is insufficient to cover total span length of 4: histogram custom bounds are too few.*\(err-mimir-native-histogram-custom-buckets-mismatch\)/);
    assert.equal(written(res).samples, '1');  // the good series of the request is kept

    // Remote read: the bounds and counts as sent.
    const [series] = await t.remoteRead([{ start: 0, end: now + 1000, matchers: '{__name__=~"rw2_nhcb_.+"}' }]);
    const byJob = Object.fromEntries(series.map((x) => [x.labels.job || x.labels.__name__, x]));
    assert.deepEqual(Object.keys(byJob).sort(), ['a', 'b', 'e', 'rw2_nhcb_ok']);
    const hs = byJob.a.histograms;
    assert.deepEqual(hs.map((h) => [Number(h.timestamp), Number(h.schema), h.customValues, Number(h.countInt)]),
      [[now - 1000, -53, cv, 6], [now, -53, cv, 12]]);
    assert.deepEqual(hs[1].positiveSpans.map((x) => [Number(x.offset || 0), Number(x.length)]), [[1, 3]]);
    assert.deepEqual(hs[1].positiveDeltas.map(Number), [4, 2, -4]);
    assert.deepEqual(byJob.b.histograms[0].customValues, [-1, 2]);

    // PromQL, as Prometheus 3 answers custom buckets.
    const at = (now / 1000).toFixed(3);
    const q = async (expr) => (await t.api('/api/v1/query', { query: expr, time: at })).result;
    const [h] = await q('rw2_nhcb_seconds{job="a"}');
    assert.deepEqual(h.histogram[1], {
      count: '12', sum: '8.4',
      buckets: [[0, '0.1', '0.5', '4'], [0, '0.5', '1', '6'], [0, '1', '+Inf', '2']],
    });
    const [hb] = await q('rw2_nhcb_seconds{job="b"}');
    // The first bucket, from -Inf, closed at both ends (rule 3).
    assert.deepEqual(hb.histogram[1].buckets, [[3, '-Inf', '-1', '1'], [0, '-1', '2', '3']]);
    const scalar = async (expr) => {
      const r = await q(expr);
      assert.equal(r.length, 1, `${expr}: ${JSON.stringify(r)}`);
      return r[0].value[1];
    };
    // Median: rank 6 of 12, the second bucket (0.5,1] from cumulative 4: linear interpolation.
    assert.equal(Number(await scalar('histogram_quantile(0.5, rw2_nhcb_seconds{job="a"})')), 0.5 + 0.5 * (2 / 6));
    // In the +Inf bucket: its lower bound, the last boundary.
    assert.equal(await scalar('histogram_quantile(0.99, rw2_nhcb_seconds{job="a"})'), '1');
    // In the first bucket (from -Inf) with a bound <= 0: that bound.
    assert.equal(await scalar('histogram_quantile(0.1, rw2_nhcb_seconds{job="b"})'), '-1');
    assert.equal(Number(await scalar('histogram_fraction(0, 0.5, rw2_nhcb_seconds{job="a"})')), 4 / 12);
    assert.equal(await scalar('histogram_count(rw2_nhcb_seconds{job="a"})'), '12');
    // stdvar: observations at their buckets' midpoints; the +Inf bucket is populated: +Inf.
    assert.equal(await scalar('histogram_stdvar(rw2_nhcb_seconds{job="a"})'), '+Inf');
    // A histogram with inner buckets only: midpoints 0.3 (x4) and 0.75 (x6) around the mean
    // 4.8 / 10.
    res = await push2(t, v2Request([{ labels: { __name__: 'rw2_nhcb_inner' }, histograms: [nhcbHistogram(now, cv, { 1: 4, 2: 6 }, 4.8)] }]));
    assert.equal(res.status, 204, res.text);
    const mean = 4.8 / 10;
    const want = (4 * (0.3 - mean) ** 2 + 6 * (0.75 - mean) ** 2) / 10;
    assert.ok(Math.abs(Number(await scalar('histogram_stdvar(rw2_nhcb_inner)')) - want) < 1e-12);
    assert.equal(await scalar('histogram_sum(rw2_nhcb_seconds{job="a"})'), '8.4');
    // Same bounds add up bucket by bucket (two samples of one series over time).
    const [sumOverTime] = await q('sum_over_time(rw2_nhcb_seconds{job="a"}[5m])');
    assert.deepEqual(sumOverTime.histogram[1].buckets,
      [[0, '0.1', '0.5', '6'], [0, '0.5', '1', '9'], [0, '1', '+Inf', '3']]);
    // Other bounds are reconciled onto the bounds both have (Prometheus 3.8): job a's (0.1,0.5]
    // joins (-Inf,0.5] of job e; its (0.5,1] and (1,+Inf] meet e's.
    const [sumAE] = await q('sum(rw2_nhcb_seconds{job=~"a|e"})');
    assert.deepEqual(sumAE.histogram[1], {
      count: '18', sum: String(8.4 + 3),
      buckets: [[3, '-Inf', '0.5', '5'], [0, '0.5', '1', '6'], [0, '1', '+Inf', '7']],
    });
    // No bound in common: everything in the one (-Inf,+Inf] bucket.
    const [sumAB] = await q('sum(rw2_nhcb_seconds{job=~"a|b"})');
    assert.deepEqual(sumAB.histogram[1].buckets, [[3, '-Inf', '+Inf', '16']]);
    // Custom and exponential buckets do not add up: no value.
    res = await push2(t, v2Request([{ labels: { __name__: 'rw2_nhcb_seconds', job: 'x' }, histograms: [intHistogram(now, 1, 2, 3)] }]));
    assert.equal(res.status, 204, res.text);
    assert.deepEqual(await q('sum(rw2_nhcb_seconds{job=~"a|x"})'), []);
  });

  it('a symbol reference outside the table: 400 naming it, the request refused whole (as Mimir), the counts 0', async () => {
    // Mimir refuses a request with a bad reference while unmarshalling it (its text: "proto:
    // Remote Write 2.0 invalid label reference"), so nothing of it is stored, the good series
    // neither; sprout adds where the reference is.
    const t = s.as('rw2-bad-ref');
    const good = { labels: { __name__: 'rw2_good' }, samples: [[now, 1]] };
    const bad = { labels: { __name__: 'rw2_bad', job: 'x' }, samples: [[now, 2], [now + 1, 3]] };
    const wire = v2Request([good, bad], { badRef: bad });
    const res = await push2(t, wire);
    assert.equal(res.status, 400, res.text);
    // symbols: "", __name__, rw2_good, rw2_bad, job, x → 6; the bad series' last ref is 1000.
    assert.equal(res.text,
      'proto: Remote Write 2.0 invalid label reference (timeseries[1].labels_refs[3]: 1000, the request has 6 symbols)\n');
    assert.deepEqual(written(res), { samples: '0', histograms: '0', exemplars: '0' });
    const [series] = await t.remoteRead([{ start: 0, end: now + 1000, matchers: '{__name__=~"rw2_.+"}' }]);
    assert.deepEqual(series, []);
    // The same good series alone is stored.
    const ok = await push2(t, v2Request([good]));
    assert.equal(ok.status, 204, ok.text);
    assert.deepEqual(written(ok), { samples: '1', histograms: '0', exemplars: '0' });
  });

  it('a first symbol other than "" refuses the request whole', async () => {
    const t = s.as('rw2-first-symbol');
    const wire = Buffer.concat([fString(4, 'x'), fString(4, '__name__'), fString(4, 'rw2_x'),
      fBytes(5, Buffer.concat([fPacked(1, [1, 2]), fBytes(2, Buffer.concat([fDouble(1, 1), fVarint(2, now)]))]))]);
    const res = await push2(t, wire);
    assert.equal(res.status, 400);
    assert.equal(res.text, 'proto: Remote Write 2.0 symbols must start with empty string (got "x")\n');
    assert.deepEqual(written(res), { samples: '0', histograms: '0', exemplars: '0' });
  });

  it('415: another media type, another proto message, another encoding', async () => {
    const t = s.as('rw2-415');
    const wire = v2Request([{ labels: { __name__: 'rw2_x' }, samples: [[now, 1]] }]);
    for (const [headers, text] of [
      [{ 'Content-Type': 'application/json' }, 'unsupported Content-Type "application/json"'],
      [{ 'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v3.Request' }, 'unsupported Content-Type'],
      [{ 'Content-Encoding': 'gzip' }, 'unsupported Content-Encoding "gzip"'],
    ]) {
      const res = await push2(t, wire, { headers });
      assert.equal(res.status, 415, JSON.stringify(headers));
      assert.ok(res.text.startsWith(text), res.text);
    }
    assert.deepEqual(await t.series('rw2_x'), []);
  });

  it('1.0 keeps working, with and without the proto parameter', async () => {
    const t = s.as('rw2-v1');
    const data = { timeseries: [{ labels: [{ name: '__name__', value: 'rw2_v1' }], samples: [{ timestamp: now, value: 1 }] }] };
    let res = await t.push(data, { headers: { 'Content-Type': 'application/x-protobuf;proto=prometheus.WriteRequest' } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('x-prometheus-remote-write-samples-written'), null);
    res = await t.push(data);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(await t.series('rw2_v1', { start: now / 1000 - 10, end: now / 1000 + 10 }), [{ __name__: 'rw2_v1' }]);
  });
});
