'use strict';
// The seed: the collector configuration our users run today (examples/seed/otelcol.yaml, kept
// as the seed article has it) on `sprout collector`, unchanged but for the two exporter
// endpoints, which point at a downstream sprout (standing in for Tempo) and at Debian's
// Prometheus. The JS SDK sends spans, some for /health, and metrics over OTLP/gRPC to
// ${HOSTNAME}:4317. The seed's own ports are fixed (4317, 13133, 8888), so ctest runs this
// test alone (RESOURCE_LOCK seed_ports).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const api = require('@opentelemetry/api');
const { sdkFor } = require('./lib/otel');
const { Prometheus } = require('./lib/prom');
const {
  Collector,
  debugCounts,
  debugResources,
  freePorts,
  makeTempDir,
  waitFor,
} = require('./lib/sprout');

const SEED_CONFIG = path.resolve(__dirname, '../../examples/seed/otelcol.yaml');
const SERVICE = { 'service.name': 'seed-app', 'service.instance.id': 'seed-app-1', 'deployment.environment': 'e2e' };
const API_SPANS = 25;
const HEALTH_SPANS = 15;

describe('the seed collector config', () => {
  let dir;
  let tempo;
  let prometheus;
  let seed;
  let sdk;

  before(async () => {
    dir = makeTempDir('sprout-seed-');
    const [tempoGrpc, tempoMetrics] = await freePorts(2);
    tempo = new Collector(
      {
        receivers: { otlp: { protocols: { grpc: { endpoint: `127.0.0.1:${tempoGrpc}` } } } },
        exporters: { debug: { verbosity: 'detailed' } },
        service: {
          telemetry: { metrics: { address: `127.0.0.1:${tempoMetrics}` } },
          pipelines: { traces: { receivers: ['otlp'], exporters: ['debug'] } },
        },
      },
      { name: 'tempo-stand-in', dir },
    );
    prometheus = new Prometheus({ dir });
    await Promise.all([tempo.start(), prometheus.start()]);
    seed = new Collector(null, {
      name: 'seed',
      dir,
      configFile: SEED_CONFIG,
      env: { HOSTNAME: '127.0.0.1' },
      args: [
        '--set', `exporters::otlp/tempo::endpoint=127.0.0.1:${tempoGrpc}`,
        '--set', `exporters::prometheusremotewrite::endpoint=${prometheus.writeUrl}`,
      ],
      healthPort: 13133,
    });
    await seed.start({ timeoutMs: 30000 });
    sdk = sdkFor('grpc', { grpc: 4317 }, SERVICE);
  });

  after(async () => {
    if (sdk) await sdk.shutdown();
    await Promise.all([seed && seed.kill(), tempo && tempo.kill(), prometheus && prometheus.kill()]);
  });

  it('answers 200 on localhost:13133 once ready', async () => {
    const res = await fetch('http://localhost:13133/');
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.status, 'Server available');
  });

  it('forwards every span but the /health ones to the traces backend, and the debug exporter counts them', async () => {
    const tracer = sdk.tracerProvider.getTracer('seed-e2e');
    const expected = [];
    for (let i = 0; i < API_SPANS + HEALTH_SPANS; i++) {
      const health = i % 8 >= 5; // 15 of the 40
      const target = health ? '/health' : `/api/items/${i}`;
      const span = tracer.startSpan(`GET ${health ? '/health' : '/api/items/:id'}`, {
        kind: api.SpanKind.SERVER,
        attributes: { 'http.target': target, 'http.method': 'GET', 'e2e.index': i },
      });
      span.end();
      if (!health) expected.push(i);
    }
    assert.equal(expected.length, API_SPANS, 'the workload has its /health spans');
    await sdk.tracerProvider.forceFlush();
    assert.deepEqual(sdk.failures().traces, []);

    // The stand-in Tempo receives exactly the non-/health spans (the batch processor sends
    // them within its 200 ms timeout).
    const spans = await waitFor(
      () => {
        const got = debugResources(tempo.logs(), 'traces').flatMap((r) => r.scopes.flatMap((s) => s.items));
        return got.length >= expected.length ? got : null;
      },
      { timeoutMs: 15000, describe: `${expected.length} spans at the traces backend` },
    );
    const indexes = spans.map((s) => s.attributes['e2e.index'].value).sort((x, y) => x - y);
    assert.deepEqual(indexes, expected);
    for (const s of spans) assert.notEqual(s.attributes['http.target'].value, '/health');

    // The seed's debug exporter (basic verbosity) logs counts only, after the filter.
    const counts = await waitFor(
      () => {
        const c = debugCounts(seed.logs());
        return c.spans >= expected.length ? c : null;
      },
      { describe: 'the seed debug exporter count lines' },
    );
    assert.equal(counts.spans, expected.length);
    const traceLines = seed.logs().filter((e) => e.message === 'Traces');
    assert.ok(traceLines.length > 0);
    for (const e of traceLines) {
      assert.deepEqual(Object.keys(e.fields).filter((k) => !k.startsWith('otelcol.')).sort(), ['resource spans', 'spans']);
    }
    // Nothing detailed: basic verbosity prints no span dump.
    assert.equal(debugResources(seed.logs(), 'traces').length, 0);
  });

  it('passes metrics unfiltered into Prometheus through prometheusremotewrite', async () => {
    const meter = sdk.meterProvider.getMeter('seed-e2e');
    const requests = meter.createCounter('app.requests', { unit: '{request}' });
    requests.add(3, { 'http.target': '/health' });
    requests.add(5, { 'http.target': '/api' });
    const inflight = meter.createUpDownCounter('app.inflight');
    inflight.add(2);
    await sdk.meterProvider.forceFlush();
    assert.deepEqual(sdk.failures().metrics, []);

    const job = 'seed-app';
    const result = await waitFor(
      async () => {
        const r = await prometheus.query(`app_requests_total{job="${job}"}`);
        return r.length === 2 ? r : null;
      },
      { timeoutMs: 20000, describe: 'both app_requests_total series in Prometheus' },
    );
    const byTarget = Object.fromEntries(result.map((s) => [s.metric.http_target, Number(s.value[1])]));
    assert.deepEqual(byTarget, { '/health': 3, '/api': 5 });
    for (const s of result) assert.equal(s.metric.instance, 'seed-app-1');
    const inflightResult = await waitFor(
      async () => {
        const r = await prometheus.query(`app_inflight{job="${job}"}`);
        return r.length === 1 ? r : null;
      },
      { describe: () => 'app_inflight in Prometheus' },
    ).catch(async (err) => {
      const all = await prometheus.query(`{job="${job}"}`);
      throw new Error(`${err.message}; series: ${JSON.stringify(all.map((x) => x.metric))}`);
    });
    assert.equal(Number(inflightResult[0].value[1]), 2);
    const info = await prometheus.query(`target_info{job="${job}"}`);
    assert.equal(info.length, 1);
    assert.equal(info[0].metric.deployment_environment, 'e2e');

    // And the seed's debug exporter logged the data points.
    await waitFor(() => debugCounts(seed.logs())['data points'] >= 3, { describe: 'metrics count lines' });
  });

  it('stops cleanly on SIGTERM', async () => {
    assert.equal(await seed.stop(), 0);
  });
});
