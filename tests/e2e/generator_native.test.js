'use strict';
// Issue 13, `generate_native_histograms`: the metrics-generator of `sprout traces` remote-writes
// the latency histograms as native histograms (`native`), or as classic series and native
// histograms (`both`), into Debian's `prometheus` (`--enable-feature=native-histograms`, needed
// by 2.42), where PromQL's native histogram functions work on them, and into `sprout metrics`,
// which must answer the same. One Prometheus, one sprout metrics, one `sprout traces` per mode
// (external label `run=<mode>`), the same workload to each.
//
// Workload (JS SDK, OTLP/HTTP): `frontend` CLIENT `GET /api` → `api` SERVER `GET /api`, in two
// phases. Phase 1 (one pair) creates the series; phase 2 (ten pairs) is sent once Prometheus holds
// phase 1's native sample, so that `rate(x[1m])` sees phase 2's increase (a native series has no
// initial 0 sample: Tempo writes none).
//   api SERVER:      phase 1: 150 ms; phase 2: 7 × 150 ms, 3 × 1200 ms
//   frontend CLIENT: phase 1: 160 ms; phase 2: 10 × 160 ms
// Expected values, worked out from the native-histogram rules (never from sprout's output):
//   native_histogram_bucket_factor 1.1 → schema 3 (2^(1/8) = 1.0905 ≤ 1.1 < 2^(1/4));
//   bucket i holds (2^((i-1)/8), 2^(i/8)], i = ceil(8 × log2(v)): 0.15 s and 0.16 s are in
//   bucket -21 ((0.14865, 0.16212]), 1.2 s in bucket 3 ((1.1892, 1.2968]).
//   Phase 2 over both series: 17 observations in bucket -21, 3 in bucket 3; the 0.9 quantile
//   (rank 18 of 20) falls in bucket 3, the 0.5 quantile (rank 10) in bucket -21.
//   The classic series (both mode) answer the same quantiles within their buckets
//   (le 1.024 < 1.2 ≤ 2.048; 0.128 < 0.15, 0.16 ≤ 0.256).
// Service graphs: the frontend → api edge's server seconds as a native series too (count 11).
// Exemplars: the native series carry the trace IDs.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { resourceFromAttributes } = require('@opentelemetry/resources');
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const api = require('@opentelemetry/api');

const { freePorts, makeTempDir, sleep, waitFor } = require('./lib/sprout');
const { startTraces, stopStartedTraces } = require('./lib/traces');
const { Prometheus } = require('./lib/prom');
const { SproutMetrics } = require('./lib/sprout_metrics');

let prom;
let sm;
after(async () => {
  await stopStartedTraces();
  if (prom) await prom.kill();
  if (sm) await sm.kill();
});

// The native bucket (schema 3) bounds of index i: (2^((i-1)/8), 2^(i/8)].
const lower = (i) => 2 ** ((i - 1) / 8);
const upper = (i) => 2 ** (i / 8);

function sdk(httpPort, serviceName) {
  const exporter = new OTLPTraceExporter({ url: `http://127.0.0.1:${httpPort}/v1/traces`, timeoutMillis: 10000 });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 600000, maxExportBatchSize: 10000 })],
  });
  return { provider, tracer: provider.getTracer('sprout-e2e-generator-native') };
}

const hr = (ms) => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];

// One frontend CLIENT → api SERVER pair ending now: client `clientMs` long, server `serverMs`
// (inside the client span).
function sendPair(fe, apiSdk, clientMs, serverMs) {
  const end = Date.now();
  const client = fe.tracer.startSpan('GET /api', { kind: api.SpanKind.CLIENT, startTime: hr(end - clientMs) });
  const ctx = api.trace.setSpan(api.context.active(), client);
  const server = apiSdk.tracer.startSpan('GET /api', { kind: api.SpanKind.SERVER, startTime: hr(end - serverMs) }, ctx);
  server.end(hr(end));
  client.end(hr(end));
}

async function flush(...sdks) {
  for (const s of sdks) await s.provider.forceFlush();
}

// The `histogram` value of the single series `expr` selects, at now.
async function nativeAt(expr) {
  const data = await prom.api('/api/v1/query', { query: expr });
  assert.equal(data.result.length, 1, `${expr}: ${JSON.stringify(data.result)}`);
  const r = data.result[0];
  assert.ok(r.histogram, `${expr} is a native histogram: ${JSON.stringify(r)}`);
  return r.histogram[1];
}

async function scalarAt(expr) {
  const data = await prom.api('/api/v1/query', { query: expr });
  assert.equal(data.result.length, 1, `${expr}: ${JSON.stringify(data.result)}`);
  return Number(data.result[0].value[1]);
}

// `sprout traces` with generate_native_histograms `mode`, remote-writing to `prom`; every series
// carries the external label run=<mode>. Returns {traces, fe, apiSdk}.
async function startGenerator(mode) {
  const dir = makeTempDir(`sprout-e2e-gennative-${mode}-`);
  const [apiPort, grpc, http] = await freePorts(3);
  const file = path.join(dir, 'tempo.yaml');
  fs.writeFileSync(file, `storage:
  trace:
    backend: local
    local: {path: ${path.join(dir, 'blocks')}}
    wal: {path: ${path.join(dir, 'wal')}}
metrics_generator:
  registry: {collection_interval: 1s, external_labels: {run: ${mode}}}
  processor:
    service_graphs: {wait: 2s}
  storage:
    path: ${path.join(dir, 'generator')}
    remote_write: [{url: "${prom.writeUrl}", send_exemplars: true}, {url: "${sm.writeUrl}", send_exemplars: true}]
overrides:
  defaults:
    metrics_generator:
      processors: ["service-graphs", "span-metrics"]
      generate_native_histograms: ${mode}
`);
  const traces = await startTraces(dir, { api: apiPort, grpc, http }, ['--config', file]);
  return { traces, fe: sdk(http, 'frontend'), apiSdk: sdk(http, 'api') };
}

// Sends both phases (header) to `g`, waiting for Prometheus to hold each.
async function sendPhases(g, mode) {
  const server = `traces_spanmetrics_latency{run="${mode}",service="api",span_kind="SPAN_KIND_SERVER"}`;
  const count = async () => {
    const data = await prom.api('/api/v1/query', { query: `histogram_count(${server})` });
    return data.result.length === 1 ? Number(data.result[0].value[1]) : null;
  };
  // Phase 1: the series exist (native sample with count 1).
  sendPair(g.fe, g.apiSdk, 160, 150);
  await flush(g.fe, g.apiSdk);
  await waitFor(async () => (await count()) === 1,
    { timeoutMs: 20000, describe: () => `${mode}: phase 1's native sample in Prometheus\n${g.traces.log().slice(-3000)}` });
  await sleep(2500); // a few collections of the unchanged histogram: rate's window starts here
  // Phase 2.
  for (let i = 0; i < 10; i++) sendPair(g.fe, g.apiSdk, 160, i < 7 ? 150 : 1200);
  await flush(g.fe, g.apiSdk);
  await waitFor(async () => (await count()) === 11,
    { timeoutMs: 20000, describe: () => `${mode}: phase 2's native sample in Prometheus\n${g.traces.log().slice(-3000)}` });
  await sleep(1500);
}

// What both modes share: the native series, the quantile query, service graphs,
// exemplars.
async function checkNative(mode) {
  const server = `traces_spanmetrics_latency{run="${mode}",service="api",span_kind="SPAN_KIND_SERVER"}`;
  const client = `traces_spanmetrics_latency{run="${mode}",service="frontend",span_kind="SPAN_KIND_CLIENT"}`;
  // The server series: 11 observations, sum 8 × 0.15 + 3 × 1.2, buckets -21 (8) and 3 (3).
  const h = await nativeAt(server);
  assert.equal(h.count, '11');
  assert.ok(Math.abs(Number(h.sum) - (8 * 0.15 + 3 * 1.2)) < 1e-9, `sum ${h.sum}`);
  assert.equal(h.buckets.length, 2, JSON.stringify(h.buckets));
  const [b0, b1] = h.buckets;
  assert.ok(Math.abs(Number(b0[1]) - lower(-21)) < 1e-12 && Math.abs(Number(b0[2]) - upper(-21)) < 1e-12, JSON.stringify(b0));
  assert.equal(b0[3], '8');
  assert.ok(Math.abs(Number(b1[1]) - lower(3)) < 1e-12 && Math.abs(Number(b1[2]) - upper(3)) < 1e-12, JSON.stringify(b1));
  assert.equal(b1[3], '3');
  // The client series: 11 × 0.16 s, all in bucket -21.
  const c = await nativeAt(client);
  assert.equal(c.count, '11');
  assert.equal(c.buckets.length, 1);
  assert.equal(c.buckets[0][3], '11');

  // The query over both series: phase 2 holds 17 observations in bucket -21 and 3 in
  // bucket 3; the 0.9 quantile (rank 18) is in bucket 3, the 0.5 quantile in bucket -21.
  const p90 = await scalarAt(`histogram_quantile(0.9, sum(rate(traces_spanmetrics_latency{run="${mode}"}[1m])))`);
  assert.ok(p90 > lower(3) && p90 <= upper(3), `p90 ${p90} in (${lower(3)}, ${upper(3)}]`);
  const p50 = await scalarAt(`histogram_quantile(0.5, sum(rate(traces_spanmetrics_latency{run="${mode}"}[1m])))`);
  assert.ok(p50 > lower(-21) && p50 <= upper(-21), `p50 ${p50} in (${lower(-21)}, ${upper(-21)}]`);

  // Service graphs: the edge's server and client seconds as native series (count 11).
  const sg = await nativeAt(`traces_service_graph_request_server_seconds{run="${mode}",client="frontend",server="api"}`);
  assert.equal(sg.count, '11');
  assert.equal(await scalarAt(`histogram_count(traces_service_graph_request_client_seconds{run="${mode}",client="frontend",server="api"})`), 11);

  // Exemplars on the native series. Every exemplar of one collection carries the collection
  // time (as Tempo stamps them), and Prometheus keeps one exemplar per series and timestamp, so
  // it stores the first of each collection's; 2.42 also appends a series' exemplars before its
  // histograms, so the very first request's exemplars (the series does not exist yet) are
  // refused at debug level.
  const ex = await prom.queryExemplars(server);
  assert.equal(ex.length, 1, JSON.stringify(ex));
  assert.equal(ex[0].seriesLabels.__name__, 'traces_spanmetrics_latency');
  assert.ok(ex[0].exemplars.length >= 1);
  for (const e of ex[0].exemplars) {
    assert.ok([0.15, 1.2].includes(Number(e.value)), `exemplar value ${e.value}`);
    assert.match(e.labels.traceID, /^[0-9a-f]{32}$/);
  }
}

// `sprout metrics`, the second remote-write target, answers as Prometheus does: at T, the
// newest collection both hold, the native series, their counts and the quantile queries are
// equal (the native JSON to the string, numbers to 1e-12).
async function compareWithSproutMetrics(mode) {
  const server = `traces_spanmetrics_latency{run="${mode}",service="api",span_kind="SPAN_KIND_SERVER"}`;
  const newest = async (peer) => {
    const data = await peer.api('/api/v1/query', { query: `${server}[10s]`, time: (Date.now() + 1000) / 1000 });
    if (data.result.length !== 1) return null;
    const points = data.result[0].histograms || [];
    return points.length ? Math.round(points[points.length - 1][0] * 1000) : null;
  };
  let t = null;
  await waitFor(async () => {
    const [a, b] = await Promise.all([newest(prom), newest(sm)]);
    if (a === null || b === null) return false;
    t = Math.min(a, b);
    return true;
  }, { timeoutMs: 20000, describe: `${mode}: a collection in both stores` });
  const time = (t / 1000).toFixed(3);
  const queries = [
    `traces_spanmetrics_latency{run="${mode}"}`,
    `traces_service_graph_request_server_seconds{run="${mode}"}`,
    `histogram_count(traces_spanmetrics_latency{run="${mode}"})`,
    `histogram_sum(traces_spanmetrics_latency{run="${mode}"})`,
    `histogram_quantile(0.9, sum(rate(traces_spanmetrics_latency{run="${mode}"}[1m])))`,
    `histogram_quantile(0.5, sum(rate(traces_spanmetrics_latency{run="${mode}"}[1m])))`,
  ];
  for (const query of queries) {
    const [a, b] = await Promise.all([prom, sm].map((p) => p.api('/api/v1/query', { query, time })));
    const key = (r) => JSON.stringify(Object.entries(r.metric).sort());
    const byKey = (res) => new Map(res.result.map((r) => [key(r), r]));
    const pa = byKey(a);
    const pb = byKey(b);
    assert.deepEqual([...pb.keys()].sort(), [...pa.keys()].sort(), `${query}: series`);
    assert.ok(pa.size > 0, `${query}: an answer`);
    for (const [k, r] of pa) {
      const o = pb.get(k);
      if (r.histogram) {
        assert.deepEqual(o.histogram, r.histogram, `${query} ${k}`);
      } else {
        const x = Number(r.value[1]);
        const y = Number(o.value[1]);
        assert.ok(Math.abs(x - y) <= 1e-12 * Math.max(1, Math.abs(x)), `${query} ${k}: Prometheus ${x}, sprout ${y}`);
      }
    }
  }
}

describe('metrics-generator: native histograms into Prometheus and sprout metrics', () => {
  const runs = {};

  before(async () => {
    prom = new Prometheus();
    sm = new SproutMetrics();
    await Promise.all([prom.start(), sm.start()]);
    runs.both = await startGenerator('both');
    runs.native = await startGenerator('native');
  });

  after(async () => {
    for (const g of Object.values(runs)) {
      for (const s of [g.fe, g.apiSdk]) await s.provider.shutdown();
    }
  });

  it('both: native series that PromQL reads, next to the classic ones', async () => {
    await sendPhases(runs.both, 'both');
    await checkNative('both');
    // The classic series are there too and agree within their coarser buckets.
    const classic90 = await scalarAt('histogram_quantile(0.9, sum by (le) (rate(traces_spanmetrics_latency_bucket{run="both"}[1m])))');
    assert.ok(classic90 > 1.024 && classic90 <= 2.048, `classic p90 ${classic90}`);
    assert.equal(await scalarAt('traces_spanmetrics_latency_count{run="both",service="api",span_kind="SPAN_KIND_SERVER"}'), 11);
    assert.equal(await scalarAt('traces_service_graph_request_server_seconds_count{run="both",client="frontend",server="api"}'), 11);
    await compareWithSproutMetrics('both');
  });

  it('native: only the native series', async () => {
    await sendPhases(runs.native, 'native');
    await checkNative('native');
    const classic = await prom.api('/api/v1/series', {
      'match[]': '{run="native",__name__=~".+_(bucket|sum|count)"}', start: Date.now() / 1000 - 600, end: Date.now() / 1000 + 60,
    });
    assert.deepEqual(classic, [], 'no _bucket, _sum or _count series in native mode');
    // The counters are unchanged by the mode.
    assert.equal(await scalarAt('traces_spanmetrics_calls_total{run="native",service="api",span_kind="SPAN_KIND_SERVER"}'), 11);
    await compareWithSproutMetrics('native');
    // No sample refused by Prometheus.
    assert.doesNotMatch(prom.log, /level=(error|warn).*(histogram|sample)/i);
  });
});
