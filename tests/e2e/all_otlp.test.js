'use strict';
// `sprout all` (issue 14 item 2): OTLP/HTTP metrics at `/otlp/v1/metrics` of the API port, and
// the process's own telemetry stored in its own metrics store.
//
// The OpenTelemetry JS SDK's OTLP/HTTP metrics exporters — `exporter-metrics-otlp-proto`
// (protobuf) and `exporter-metrics-otlp-http` (JSON, gzip) — pointed at the API port, not at the
// collector's receiver. The names expected are the prometheusremotewrite translation's (unit and
// type suffixes: a monotonic sum gets `_total`, unit `s` `_seconds`, `Cel` `_celsius`, `{job}`
// nothing; a non-monotonic sum no `_total`; `job` = service.name), the values those the test
// recorded. Then self-monitoring with `--set self_monitoring.interval=1s`: `up{job="sprout"}` = 1
// with `instance` the API's host:port, a counter of /metrics stored and queried through the
// Prometheus API (never decreasing, never above what /metrics shows afterwards), `rate()` over
// the collector's own uptime counter, the metadata; with multi-tenancy on, in the default tenant.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { MeterProvider, PeriodicExportingMetricReader, AggregationTemporality } = require('@opentelemetry/sdk-metrics');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { ExportResultCode } = require('@opentelemetry/core');
const { OTLPMetricExporter: ProtoExporter } = require('@opentelemetry/exporter-metrics-otlp-proto');
const { OTLPMetricExporter: JsonExporter } = require('@opentelemetry/exporter-metrics-otlp-http');
const { startAll } = require('./lib/all');
const { freePorts, makeTempDir, waitFor } = require('./lib/sprout');

async function getJson(url, params, headers = {}) {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params || {})) u.searchParams.set(k, v);
  const res = await fetch(u, { headers });
  const text = await res.text();
  assert.equal(res.status, 200, `${u}: ${text}`);
  return JSON.parse(text);
}

const query = (base, q, headers) =>
  getJson(`${base}/prometheus/api/v1/query`, { query: q }, headers).then((d) => d.data.result);

// Records a known set of instruments into one MeterProvider exporting through `exporter` and
// flushes once; resolves with the export results.
async function sendMetrics(exporter, serviceName) {
  const results = [];
  const wrapped = {
    export: (items, cb) => exporter.export(items, (r) => { results.push(r); cb(r); }),
    forceFlush: () => exporter.forceFlush(),
    shutdown: () => exporter.shutdown(),
    selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
  };
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    readers: [new PeriodicExportingMetricReader({ exporter: wrapped, exportIntervalMillis: 2 ** 31 - 1 })],
  });
  const meter = provider.getMeter('all-otlp-e2e', '1.0.0');
  meter.createCounter('jobs.done', { unit: '{job}' }).add(7, { queue: 'a' });
  const duration = meter.createHistogram('task.duration', { unit: 's', advice: { explicitBucketBoundaries: [0.5, 1] } });
  duration.record(0.25);
  duration.record(0.75);
  duration.record(2);
  meter.createUpDownCounter('queue.depth', { unit: '{item}' }).add(3);
  meter.createGauge('room.temperature', { unit: 'Cel' }).record(21.5, { room: 'kitchen' });
  await provider.forceFlush();
  await provider.shutdown();
  return results;
}

// What the translation makes of sendMetrics' instruments for `job`.
function expected(job) {
  return {
    [`jobs_done_total{job="${job}",queue="a"}`]: 7,
    [`task_duration_seconds_bucket{job="${job}",le="0.5"}`]: 1,
    [`task_duration_seconds_bucket{job="${job}",le="1"}`]: 2,
    [`task_duration_seconds_bucket{job="${job}",le="+Inf"}`]: 3,
    [`task_duration_seconds_count{job="${job}"}`]: 3,
    [`task_duration_seconds_sum{job="${job}"}`]: 3,
    [`queue_depth{job="${job}"}`]: 3,
    [`room_temperature_celsius{job="${job}",room="kitchen"}`]: 21.5,
  };
}

async function stored(base, job) {
  const got = {};
  for (const key of Object.keys(expected(job))) {
    const r = await query(base, key);
    assert.equal(r.length, 1, `${key}: ${JSON.stringify(r)}`);
    got[key] = Number(r[0].value[1]);
  }
  return got;
}

describe('sprout all: OTLP/HTTP metrics on the API port and its own telemetry stored', () => {
  const dir = makeTempDir('sprout-all-otlp-');
  let all;

  before(async () => {
    const [api, grpc, http] = await freePorts(3);
    all = startAll(dir, { api, grpc, http }, ['--set', 'self_monitoring.interval=1s']);
    await all.ready();
  });
  after(async () => { if (all) await all.stop(); });

  it('stores what the SDK\'s protobuf exporter sends to /otlp/v1/metrics, with the remote-write exporter\'s names', async () => {
    const exporter = new ProtoExporter({ url: `${all.base}/otlp/v1/metrics`, timeoutMillis: 10000 });
    const results = await sendMetrics(exporter, 'otlp-proto');
    assert.ok(results.length > 0 && results.every((r) => r.code === ExportResultCode.SUCCESS), JSON.stringify(results));
    assert.deepEqual(await stored(all.base, 'otlp-proto'), expected('otlp-proto'));
  });

  it('stores what the SDK\'s JSON exporter sends gzip-compressed', async () => {
    const exporter = new JsonExporter({ url: `${all.base}/otlp/v1/metrics`, timeoutMillis: 10000, compression: 'gzip' });
    const results = await sendMetrics(exporter, 'otlp-json');
    assert.ok(results.length > 0 && results.every((r) => r.code === ExportResultCode.SUCCESS), JSON.stringify(results));
    assert.deepEqual(await stored(all.base, 'otlp-json'), expected('otlp-json'));
  });

  it('answers an unknown content type 415 and an undecodable body 400', async () => {
    let res = await fetch(`${all.base}/otlp/v1/metrics`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' });
    assert.equal(res.status, 415);
    res = await fetch(`${all.base}/otlp/v1/metrics`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"resourceMetrics":' });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(JSON.parse(await res.text()).code, 3);
  });

  it('stores its own /metrics as job="sprout": up, a counter consistent with /metrics, irate() and metadata', async () => {
    const instance = new URL(all.base).host;
    await waitFor(async () => (await query(all.base, 'up{job="sprout"}')).length === 1, {
      timeoutMs: 10000, describe: () => `up{job="sprout"}\n${all.log().slice(-2000)}`,
    });
    const up = await query(all.base, 'up{job="sprout"}');
    assert.deepEqual(up[0].metric, { __name__: 'up', job: 'sprout', instance });
    assert.equal(up[0].value[1], '1');

    // The OTLP route's own request counter: stored once both exports above are counted.
    const selector = 'sprout_metrics_http_requests_total{job="sprout",route="/otlp/v1/metrics",status_code="200"}';
    await waitFor(async () => {
      const r = await query(all.base, selector);
      return r.length === 1 && Number(r[0].value[1]) >= 2;
    }, { timeoutMs: 10000, describe: () => selector });
    const range = await query(all.base, `${selector}[1m]`);
    assert.equal(range.length, 1, JSON.stringify(range));
    const values = range[0].values.map(([, v]) => Number(v));
    for (let i = 1; i < values.length; i++) assert.ok(values[i] >= values[i - 1], `monotonic: ${values}`);
    const text = await (await fetch(`${all.base}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('sprout_metrics_http_requests_total{')
      && l.includes('route="/otlp/v1/metrics"') && l.includes('status_code="200"'));
    assert.ok(line, text);
    assert.ok(values[values.length - 1] <= Number(line.split(' ').pop()), `${values} vs ${line}`);

    // The collector's own counters: the uptime counter grows one second per second (irate: the
    // last two collections; rate() over [1m] would extrapolate from the few seconds stored).
    let rate = [];
    await waitFor(async () => {
      rate = await query(all.base, 'irate(otelcol_process_uptime_seconds_total{job="sprout"}[1m])');
      return rate.length === 1 && Number(rate[0].value[1]) > 0.5 && Number(rate[0].value[1]) < 1.5;
    }, { timeoutMs: 10000, describe: () => `irate(otelcol_process_uptime_seconds_total[1m]) ≈ 1: ${JSON.stringify(rate)}` });

    const meta = await getJson(`${all.base}/prometheus/api/v1/metadata`, { metric: 'sprout_metrics_http_requests_total' });
    assert.deepEqual(meta.data.sprout_metrics_http_requests_total.map((m) => m.type), ['counter']);
  });

  it('with multi-tenancy on, stores its own telemetry in the default tenant, the first time right after ready', async () => {
    const [api, grpc, http] = await freePorts(3);
    // The default interval (15 s): the first store is made right after /ready, not 15 s later.
    const mt = startAll(makeTempDir('sprout-all-otlp-mt-'), { api, grpc, http }, ['--set', 'multitenancy_enabled=true']);
    try {
      await mt.ready();
      await waitFor(async () => (await query(mt.base, 'up{job="sprout"}', { 'X-Scope-OrgID': 'single-tenant' })).length === 1, {
        timeoutMs: 5000, describe: () => `up in single-tenant within 5 s of ready\n${mt.log().slice(-2000)}`,
      });
      assert.deepEqual(await query(mt.base, 'up{job="sprout"}', { 'X-Scope-OrgID': 'team-a' }), []);
      // The OTLP route takes the request's tenant.
      const exporter = new ProtoExporter({ url: `${mt.base}/otlp/v1/metrics`, headers: { 'X-Scope-OrgID': 'team-a' } });
      const results = await sendMetrics(exporter, 'otlp-tenant');
      assert.ok(results.every((r) => r.code === ExportResultCode.SUCCESS), JSON.stringify(results));
      const r = await query(mt.base, 'jobs_done_total', { 'X-Scope-OrgID': 'team-a' });
      assert.equal(r.length, 1);
      assert.equal(r[0].value[1], '7');
      assert.deepEqual(await query(mt.base, 'jobs_done_total', { 'X-Scope-OrgID': 'single-tenant' }), []);
    } finally {
      const { code } = await mt.stop();
      assert.equal(code, 0, mt.log().slice(-2000));
    }
  });
});
