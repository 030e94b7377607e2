'use strict';
// Issue 15 item 2: OTLP/HTTP metrics on `sprout metrics` at Mimir's path (/otlp/v1/metrics) and
// Prometheus 3's (/api/v1/otlp/v1/metrics), and at `sprout all`'s /otlp/v1/metrics, each with its
// naming defaults. The OpenTelemetry JS SDK's protobuf exporter (`exporter-metrics-otlp-proto`)
// sends one counter (unit `s`), one gauge (unit `1`) and one histogram (unit `ms`); the names
// found through /api/v1/label/__name__/values (match[] on the sender's job) must equal a table
// written from the documented rules:
//  - Mimir, `limits.otel_metric_suffixes_enabled` false (its default): names escaped to the
//    classic charset ('.' → '_'), no unit or type suffix; histograms still get the classic
//    series suffixes `_bucket`, `_sum`, `_count`;
//  - suffixes on (Mimir with the limit true; Prometheus 3's default translation strategy
//    UnderscoreEscapingWithSuffixes; the Collector's prometheusremotewrite naming of `sprout all`):
//    a monotonic sum gets `_total` after its unit (`s` → `_seconds`), a gauge with unit `1`
//    `_ratio`, unit `ms` → `_milliseconds`;
//  - resource attributes: `service.name` → `job`; the resource has one more attribute
//    (`k8s.pod.name`), so each resource has a `target_info`; only a tenant with
//    `promote_otel_resource_attributes: k8s.pod.name` (Mimir's path) has it as a label of
//    every series.
// The values stored are those recorded.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { MeterProvider, PeriodicExportingMetricReader, AggregationTemporality } = require('@opentelemetry/sdk-metrics');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { ExportResultCode } = require('@opentelemetry/core');
const { OTLPMetricExporter: ProtoExporter } = require('@opentelemetry/exporter-metrics-otlp-proto');
const { OTLPMetricExporter: JsonExporter } = require('@opentelemetry/exporter-metrics-otlp-http');
const { startAll } = require('./lib/all');
const { freePorts, makeTempDir } = require('./lib/sprout');
const { SproutMetrics } = require('./lib/sprout_metrics');

async function getJson(url, params, headers) {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  const res = await fetch(u, { headers });
  const text = await res.text();
  assert.equal(res.status, 200, `${u}: ${text}`);
  return JSON.parse(text);
}

// One export of the three instruments, resource {service.name: job, k8s.pod.name: pod-1}, by the
// protobuf exporter or (json) by the SDK's OTLP/HTTP JSON exporter.
async function send(url, job, headers, json = false) {
  const Exporter = json ? JsonExporter : ProtoExporter;
  const exporter = new Exporter({ url, headers, timeoutMillis: 10000 });
  const results = [];
  const wrapped = {
    export: (items, cb) => exporter.export(items, (r) => { results.push(r); cb(r); }),
    forceFlush: () => exporter.forceFlush(),
    shutdown: () => exporter.shutdown(),
    selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
  };
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': job, 'k8s.pod.name': 'pod-1' }),
    readers: [new PeriodicExportingMetricReader({ exporter: wrapped, exportIntervalMillis: 2 ** 31 - 1 })],
  });
  const meter = provider.getMeter('metrics-otlp-e2e', '1.0.0');
  meter.createCounter('jobs.done', { unit: 's' }).add(7);
  meter.createGauge('cpu.utilization', { unit: '1' }).record(0.5);
  const latency = meter.createHistogram('request.latency', { unit: 'ms', advice: { explicitBucketBoundaries: [10, 100] } });
  for (const v of [5, 50, 500]) latency.record(v);
  await provider.forceFlush();
  await provider.shutdown();
  assert.ok(results.length > 0 && results.every((r) => r.code === ExportResultCode.SUCCESS),
    `${url}: ${JSON.stringify(results)}`);
}

// The names and values the rules give, with suffixes off or on.
function expectedSeries(suffixes) {
  const counter = suffixes ? 'jobs_done_seconds_total' : 'jobs_done';
  const gauge = suffixes ? 'cpu_utilization_ratio' : 'cpu_utilization';
  const hist = suffixes ? 'request_latency_milliseconds' : 'request_latency';
  return {
    names: [counter, gauge, `${hist}_bucket`, `${hist}_count`, `${hist}_sum`, 'target_info'].sort(),
    values: {
      [counter]: 7,
      [gauge]: 0.5,
      [`${hist}_bucket{le="10"}`]: 1,
      [`${hist}_bucket{le="100"}`]: 2,
      [`${hist}_bucket{le="+Inf"}`]: 3,
      [`${hist}_count`]: 3,
      [`${hist}_sum`]: 555,
      target_info: 1,
    },
  };
}

// Checks what `job` stored at `base` (tenant `headers`) against the table row.
async function check(base, job, headers, { suffixes, promoted, scope }) {
  const want = expectedSeries(suffixes);
  const names = await getJson(`${base}/prometheus/api/v1/label/__name__/values`, { 'match[]': `{job="${job}"}` }, headers);
  assert.deepEqual(names.data, want.names, `${job}: names`);
  for (const [selector, value] of Object.entries(want.values)) {
    const q = selector.includes('{') ? selector.replace('{', `{job="${job}",`) : `${selector}{job="${job}"}`;
    const r = await getJson(`${base}/prometheus/api/v1/query`, { query: q }, headers);
    assert.equal(r.data.result.length, 1, `${q}: ${JSON.stringify(r.data.result)}`);
    assert.equal(Number(r.data.result[0].value[1]), value, q);
    const labels = r.data.result[0].metric;
    // target_info carries every non-service resource attribute; the others only promoted ones.
    const pod = selector === 'target_info' || promoted ? 'pod-1' : undefined;
    assert.equal(labels.k8s_pod_name, pod, `${q}: ${JSON.stringify(labels)}`);
    // otel_scope_* labels: only the Collector's naming (sprout all's /otlp/v1/metrics); Mimir's
    // otel_promote_scope_metadata and Prometheus's promote_scope_metadata default to false.
    assert.equal(labels.otel_scope_name, scope && selector !== 'target_info' ? 'metrics-otlp-e2e' : undefined, q);
  }
}

describe('OTLP/HTTP metrics: each path\'s naming defaults', () => {
  let metrics;
  let all;

  before(async () => {
    const dir = makeTempDir('sprout-metrics-otlp-');
    const runtimeFile = path.join(dir, 'runtime.yaml');
    fs.writeFileSync(runtimeFile, [
      'overrides:',
      '  custom:',
      '    otel_metric_suffixes_enabled: true',
      '    promote_otel_resource_attributes: "k8s.pod.name"',
      '',
    ].join('\n'));
    metrics = new SproutMetrics({ dir, multitenancy: true, sets: [`runtime_config.file=${runtimeFile}`] });
    await metrics.start();
    const [api, grpc, http] = await freePorts(3);
    all = startAll(makeTempDir('sprout-all-otlp-naming-'), { api, grpc, http }, ['--set', 'multitenancy_enabled=true']);
    await all.ready();
  });
  after(async () => {
    if (metrics) await metrics.stop();
    if (all) {
      const { code } = await all.stop();
      assert.equal(code, 0, all.log().slice(-2000));
    }
  });

  // target: which process; path; tenant; what the documented defaults make of it (scope:
  // otel_scope_* labels).
  const table = [
    { job: 'mimir-default', target: 'metrics', path: '/otlp/v1/metrics', tenant: 'plain', suffixes: false, promoted: false, scope: false },
    { job: 'mimir-custom', target: 'metrics', path: '/otlp/v1/metrics', tenant: 'custom', suffixes: true, promoted: true, scope: false },
    { job: 'prometheus', target: 'metrics', path: '/api/v1/otlp/v1/metrics', tenant: 'plain', suffixes: true, promoted: false, scope: false },
    { job: 'prometheus-custom-tenant', target: 'metrics', path: '/api/v1/otlp/v1/metrics', tenant: 'custom', suffixes: true, promoted: false, scope: false },
    { job: 'all-otlp', target: 'all', path: '/otlp/v1/metrics', tenant: 'plain', suffixes: true, promoted: false, scope: true },
    { job: 'all-prometheus', target: 'all', path: '/api/v1/otlp/v1/metrics', tenant: 'plain', suffixes: true, promoted: false, scope: false },
    // The same rules whatever the encoding: OTLP/JSON from the SDK's JSON exporter.
    { job: 'mimir-json', target: 'metrics', path: '/otlp/v1/metrics', tenant: 'plain', suffixes: false, promoted: false, scope: false, json: true },
    { job: 'prometheus-json', target: 'metrics', path: '/api/v1/otlp/v1/metrics', tenant: 'custom', suffixes: true, promoted: false, scope: false, json: true },
    { job: 'all-otlp-json', target: 'all', path: '/otlp/v1/metrics', tenant: 'plain', suffixes: true, promoted: false, scope: true, json: true },
  ];
  for (const row of table) {
    it(`${row.target} ${row.path} (tenant ${row.tenant}${row.json ? ', OTLP/JSON' : ''}): suffixes ${row.suffixes ? 'on' : 'off'}, k8s.pod.name ${row.promoted ? '' : 'not '}promoted`, async () => {
      const base = row.target === 'metrics' ? metrics.baseUrl : all.base;
      const headers = { 'X-Scope-OrgID': row.tenant };
      await send(`${base}${row.path}`, row.job, headers, row.json);
      await check(base, row.job, headers, row);
    });
  }
});
