'use strict';
// The seed's stack migrates in one step (issue 14): the seed's own collector config
// (examples/seed/otelcol.yaml, unchanged) on `sprout collector`, only its two exporter endpoints
// changed by --set to point at `sprout all` — otlp/tempo at sprout all's OTLP gRPC port and
// prometheusremotewrite at its /api/v1/push — replaces Tempo, Prometheus and Mimir. The JS SDK
// sends spans (some for /health) and metrics over OTLP/gRPC to the seed collector
// (${HOSTNAME}:4317); then the traces are found on sprout all's Tempo API, the /health spans are
// not (the seed's filter), the metrics answer on its Prometheus API, and the generator's span
// metrics count the spans that reached the store. The seed's ports are fixed (4317, 13133, 8888):
// ctest runs this test alone with e2e_seed (RESOURCE_LOCK seed_ports).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const api = require('@opentelemetry/api');
const { sdkFor } = require('./lib/otel');
const { startAll } = require('./lib/all');
const { Collector, freePorts, makeTempDir, waitFor } = require('./lib/sprout');

const SEED_CONFIG = path.resolve(__dirname, '../../examples/seed/otelcol.yaml');
const SERVICE = { 'service.name': 'seed-app', 'service.instance.id': 'seed-app-1', 'deployment.environment': 'e2e' };
const API_SPANS = 24;
const HEALTH_SPANS = 16;

async function getJson(url, params) {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params || {})) u.searchParams.set(k, v);
  const res = await fetch(u);
  const text = await res.text();
  assert.equal(res.status, 200, `${u}: ${text}`);
  return JSON.parse(text);
}

describe("the seed's collector in front of sprout all", () => {
  let all;
  let seed;
  let sdk;

  before(async () => {
    const dir = makeTempDir('sprout-seed-all-');
    const [apiPort, grpc, http] = await freePorts(3);
    all = startAll(dir, { api: apiPort, grpc, http });
    await all.ready();
    seed = new Collector(null, {
      name: 'seed',
      dir,
      configFile: SEED_CONFIG,
      env: { HOSTNAME: '127.0.0.1' },
      args: [
        '--set', `exporters::otlp/tempo::endpoint=127.0.0.1:${grpc}`,
        '--set', `exporters::prometheusremotewrite::endpoint=${all.base}/api/v1/push`,
      ],
      healthPort: 13133,
    });
    await seed.start({ timeoutMs: 30000 });
    sdk = sdkFor('grpc', { grpc: 4317 }, SERVICE);
  });

  after(async () => {
    if (sdk) await sdk.shutdown();
    if (seed) await seed.kill();
    if (all) await all.stop();
  });

  it('stores every span but the /health ones, findable on the Tempo API', async () => {
    const tracer = sdk.tracerProvider.getTracer('seed-all-e2e');
    const ids = { api: [], health: [] };
    for (let i = 0; i < API_SPANS + HEALTH_SPANS; i++) {
      const health = i % 5 >= 3; // 16 of the 40
      const span = tracer.startSpan(health ? 'GET /health' : 'GET /api/items/:id', {
        kind: api.SpanKind.SERVER,
        attributes: { 'http.target': health ? '/health' : `/api/items/${i}`, 'http.method': 'GET', 'e2e.index': i },
      });
      span.end();
      (health ? ids.health : ids.api).push(span.spanContext().traceId);
    }
    assert.equal(ids.health.length, HEALTH_SPANS);
    await sdk.tracerProvider.forceFlush();
    assert.deepEqual(sdk.failures().traces, []);

    await waitFor(async () => {
      const found = await getJson(`${all.base}/api/search`, { q: '{resource.service.name="seed-app"}', limit: '100' });
      return (found.traces || []).length === API_SPANS;
    }, { timeoutMs: 20000, describe: () => `${API_SPANS} traces of seed-app on sprout all\n${all.log().slice(-2000)}` });
    for (const id of ids.api) {
      assert.equal((await fetch(`${all.base}/api/traces/${id}`)).status, 200, id);
    }
    for (const id of ids.health) {
      assert.equal((await fetch(`${all.base}/api/traces/${id}`)).status, 404, `/health trace ${id}`);
    }
    const health = await getJson(`${all.base}/api/search`, { q: '{span.http.target="/health"}', limit: '100' });
    assert.equal((health.traces || []).length, 0);
    // The generator saw exactly the stored spans (its span metrics in the same process).
    await waitFor(async () => {
      const r = await getJson(`${all.base}/prometheus/api/v1/query`, { query: 'sum(traces_spanmetrics_calls_total{service="seed-app"})' });
      return r.data.result.length === 1 && Number(r.data.result[0].value[1]) === API_SPANS;
    }, { timeoutMs: 20000, describe: `traces_spanmetrics_calls_total{service="seed-app"} = ${API_SPANS}` });
  });

  it('takes the metrics through the seed\'s prometheusremotewrite, queryable on the Prometheus API', async () => {
    const meter = sdk.meterProvider.getMeter('seed-all-e2e');
    const requests = meter.createCounter('app.requests', { unit: '{request}' });
    requests.add(3, { 'http.target': '/health' });
    requests.add(5, { 'http.target': '/api' });
    await sdk.meterProvider.forceFlush();
    assert.deepEqual(sdk.failures().metrics, []);
    const result = await waitFor(async () => {
      const r = await getJson(`${all.base}/prometheus/api/v1/query`, { query: 'app_requests_total{job="seed-app"}' });
      return r.data.result.length === 2 ? r.data.result : null;
    }, { timeoutMs: 20000, describe: 'both app_requests_total series on sprout all' });
    const byTarget = Object.fromEntries(result.map((s) => [s.metric.http_target, Number(s.value[1])]));
    assert.deepEqual(byTarget, { '/health': 3, '/api': 5 });
  });
});
