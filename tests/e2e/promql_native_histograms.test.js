'use strict';
// PromQL over native histograms, differentially: the same native histograms are remote-written
// to Debian's `prometheus` 2.42 (native histograms enabled) and to `sprout metrics`, and the
// histogram functions, rates, aggregations and arithmetic are asked of both as instant and range
// queries; the answers must be equal (floats within 1e-9 relative, histograms bucket by bucket
// within the same tolerance).
//
// The data: two series of a request-duration histogram (schemas 0 and 1, so sums must reduce the
// finer one), a sample every 15 s for 30 minutes, observations drawn from a fixed cycle of values
// (negative and zero ones included); instance "b" restarts at minute 15 (its histogram starts
// again from nothing: a counter reset).
const assert = require('node:assert/strict');
const { after, before, describe, it } = require('node:test');

const { Prometheus, remoteWrite } = require('./lib/prom');
const { SproutMetrics } = require('./lib/sprout_metrics');
const { nativeHistogram } = require('./lib/native_histogram');

const STEP_MS = 15000;
const POINTS = 120; // 30 minutes
const RESTART_AT = 60; // point index of instance b's restart
const CYCLE = [0.003, 0.02, 0.02, 0.1, 0.4, 0.75, 1.5, 3, 0, -0.5, 0.05, 12];
const TOL = 1e-9;

function wireHistogram(h, t) {
  return {
    countInt: h.count,
    sum: h.sum,
    schema: h.schema,
    zeroThreshold: h.zeroThreshold,
    zeroCountInt: h.zeroCount,
    positiveSpans: h.positiveSpans,
    positiveDeltas: h.positiveDeltas,
    negativeSpans: h.negativeSpans,
    negativeDeltas: h.negativeDeltas,
    timestamp: t,
  };
}

// The write requests: one per point in time, both series.
function buildRequests(t0) {
  const reqs = [];
  const obs = { a: [], b: [] };
  for (let k = 0; k < POINTS; k++) {
    const t = t0 + k * STEP_MS;
    if (k === RESTART_AT) obs.b = [];
    for (let j = 0; j < 3; j++) obs.a.push(CYCLE[(k * 3 + j) % CYCLE.length]);
    for (let j = 0; j < 2; j++) obs.b.push(CYCLE[(k * 5 + j) % CYCLE.length] * 2);
    reqs.push({
      timeseries: [
        {
          labels: [{ name: '__name__', value: 'rpc_seconds' }, { name: 'instance', value: 'a' }, { name: 'job', value: 'api' }],
          histograms: [wireHistogram(nativeHistogram(obs.a, 0, 0.001), t)],
        },
        {
          labels: [{ name: '__name__', value: 'rpc_seconds' }, { name: 'instance', value: 'b' }, { name: 'job', value: 'api' }],
          histograms: [wireHistogram(nativeHistogram(obs.b, 1, 0.001), t)],
        },
      ],
    });
  }
  return reqs;
}

const num = (s) => (s === 'NaN' ? NaN : s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s));
function close(a, b) {
  const x = num(a);
  const y = num(b);
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) && Number.isNaN(y);
  if (x === y) return true;
  return Math.abs(x - y) <= TOL * Math.max(Math.abs(x), Math.abs(y));
}

// Compares two Prometheus API histograms ({count, sum, buckets: [[rule, lo, hi, n], ...]}).
function sameHistogram(a, b, where) {
  assert.ok(close(a.count, b.count), `${where}: count ${a.count} vs ${b.count}`);
  assert.ok(close(a.sum, b.sum), `${where}: sum ${a.sum} vs ${b.sum}`);
  const ab = a.buckets || [];
  const bb = b.buckets || [];
  assert.equal(bb.length, ab.length, `${where}: buckets ${JSON.stringify(ab)} vs ${JSON.stringify(bb)}`);
  for (let i = 0; i < ab.length; i++) {
    assert.equal(bb[i][0], ab[i][0], `${where}: bucket ${i} boundary rule`);
    for (let j = 1; j < 4; j++) assert.ok(close(ab[i][j], bb[i][j]), `${where}: bucket ${i} ${JSON.stringify(ab[i])} vs ${JSON.stringify(bb[i])}`);
  }
}

function key(metric) {
  return JSON.stringify(Object.keys(metric).sort().map((k) => [k, metric[k]]));
}

function comparePoints(ref, got, where) {
  assert.equal(got.length, ref.length, `${where}: ${ref.length} points expected, got ${got.length}`);
  for (let i = 0; i < ref.length; i++) {
    assert.equal(got[i][0], ref[i][0], `${where}: timestamp`);
    if (typeof ref[i][1] === 'object') sameHistogram(ref[i][1], got[i][1], `${where} @ ${ref[i][0]}`);
    else assert.ok(close(ref[i][1], got[i][1]), `${where} @ ${ref[i][0]}: ${ref[i][1]} vs ${got[i][1]}`);
  }
}

function compareResults(refData, gotData, where) {
  assert.equal(gotData.resultType, refData.resultType, where);
  if (refData.resultType === 'scalar') return comparePoints([refData.result], [gotData.result], where);
  const refMap = new Map(refData.result.map((s) => [key(s.metric), s]));
  const gotMap = new Map(gotData.result.map((s) => [key(s.metric), s]));
  assert.deepEqual([...gotMap.keys()].sort(), [...refMap.keys()].sort(), `${where}: series`);
  for (const [k, r] of refMap) {
    const g = gotMap.get(k);
    if (refData.resultType === 'vector') {
      comparePoints(r.histogram ? [r.histogram] : [r.value], g.histogram ? [g.histogram] : [g.value], `${where} ${k}`);
    } else {
      comparePoints(r.values || [], g.values || [], `${where} ${k} floats`);
      comparePoints(r.histograms || [], g.histograms || [], `${where} ${k} histograms`);
    }
  }
}

async function ask(baseUrl, apiPath, params) {
  const res = await fetch(`${baseUrl}${apiPath}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  });
  const body = await res.json();
  return { status: res.status, body };
}

// Queries asked of both as they are.
const QUERIES = [
  'rpc_seconds',
  'histogram_count(rpc_seconds)',
  'histogram_sum(rpc_seconds)',
  'histogram_quantile(0.9, rpc_seconds)',
  'histogram_quantile(0.5, rpc_seconds)',
  'histogram_fraction(0, 0.5, rpc_seconds)',
  'histogram_fraction(-1, 1, rpc_seconds)',
  'rate(rpc_seconds[1m])',
  'increase(rpc_seconds[5m])',
  'histogram_count(rate(rpc_seconds[2m]))',
  'histogram_quantile(0.5, rate(rpc_seconds[2m]))',
  'histogram_quantile(0.99, sum(rate(rpc_seconds[5m])))',
  'sum by (job) (rpc_seconds)',
  'count(rpc_seconds)',
  'rpc_seconds + rpc_seconds',
  'count_over_time(rpc_seconds[1m])',
];

// Where 2.42 had no native-histogram support yet (it answers a float 0, or the histogram
// unchanged, or nothing) sprout follows later Prometheus (docs/promql-compatibility.md,
// "Deliberate differences"); its answer is checked against an equivalent query 2.42 does
// evaluate correctly on this data.
const EQUIVALENTS = [
  ['rpc_seconds * 2', 'rpc_seconds + rpc_seconds'],
  ['2 * rpc_seconds', 'rpc_seconds + rpc_seconds'],
  ['histogram_count(rpc_seconds / 4)', 'histogram_count(rpc_seconds) / 4'],
  ['histogram_sum(rpc_seconds / 4)', 'histogram_sum(rpc_seconds) / 4'],
  ['histogram_count(avg(rpc_seconds))', 'histogram_count(sum(rpc_seconds)) / 2'],
  ['histogram_sum(avg by (job) (rpc_seconds))', 'histogram_sum(sum by (job) (rpc_seconds)) / 2'],
  ['histogram_count(rpc_seconds - rpc_seconds offset 1m)', 'histogram_count(rpc_seconds) - histogram_count(rpc_seconds offset 1m)'],
  ['histogram_count(sum_over_time(rpc_seconds[1m]))', 'sum_over_time(histogram_count(rpc_seconds)[1m:15s])'],
  ['histogram_sum(avg_over_time(rpc_seconds[1m]))', 'avg_over_time(histogram_sum(rpc_seconds)[1m:15s])'],
  ['last_over_time(rpc_seconds[1m])', 'rpc_seconds'],
  ['resets(rpc_seconds[10m])', 'resets(histogram_count(rpc_seconds)[10m:15s])'],
  ['changes(rpc_seconds[5m])', 'changes(histogram_count(rpc_seconds)[5m:15s])'],
];

describe('PromQL over native histograms: sprout against prometheus 2.42', () => {
  const prom = new Prometheus();
  const sprout = new SproutMetrics({ sets: ['limits.ingestion_rate=1000000', 'limits.ingestion_burst_size=10000000'] });
  const t0 = Math.floor(Date.now() / 60000) * 60000 - 40 * 60000;
  const tEnd = t0 + (POINTS - 1) * STEP_MS;

  before(async () => {
    await Promise.all([prom.start(), sprout.start()]);
    for (const req of buildRequests(t0)) {
      const [a, b] = await Promise.all([remoteWrite(prom.writeUrl, req), remoteWrite(sprout.writeUrl, req)]);
      assert.ok(a.status >= 200 && a.status < 300, `prometheus: ${a.status} ${a.body}`);
      assert.ok(b.status >= 200 && b.status < 300, `sprout: ${b.status} ${b.body}`);
    }
  });
  after(async () => {
    await Promise.all([prom.stop(), sprout.stop()]);
  });

  const cases = [...QUERIES.map((q) => [q, q]), ...EQUIVALENTS];
  for (const [q, refQuery] of cases) {
    it(q === refQuery ? q : `${q} (as 2.42's ${refQuery})`, async () => {
      const times = [t0 + 14 * 60000 + 7000, t0 + 15 * 60000 + 20000, tEnd];
      for (const t of times) {
        const time = (t / 1000).toFixed(3);
        const [r, g] = await Promise.all([ask(prom.baseUrl, '/api/v1/query', { query: refQuery, time }), ask(sprout.baseUrl, '/api/v1/query', { query: q, time })]);
        assert.equal(r.status, 200, `prometheus: ${JSON.stringify(r.body)}`);
        assert.equal(g.status, 200, `sprout: ${JSON.stringify(g.body)}`);
        compareResults(r.body.data, g.body.data, `${q} @ ${t}`);
      }
      const range = { start: ((t0 + 60000) / 1000).toFixed(3), end: (tEnd / 1000).toFixed(3), step: '30' };
      const [r, g] = await Promise.all([
        ask(prom.baseUrl, '/api/v1/query_range', { ...range, query: refQuery }),
        ask(sprout.baseUrl, '/api/v1/query_range', { ...range, query: q }),
      ]);
      assert.equal(r.status, 200, `prometheus: ${JSON.stringify(r.body)}`);
      assert.equal(g.status, 200, `sprout: ${JSON.stringify(g.body)}`);
      // Something is compared: the reference answered series with points.
      assert.ok(r.body.data.result.length > 0, `${q}: the reference answered no series`);
      compareResults(r.body.data, g.body.data, `${q} range`);
    });
  }
});
