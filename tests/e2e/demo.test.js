'use strict';
// `sprout demo` end to end: the fictional shop's telemetry sent for 5 s to a running `sprout
// traces` over OTLP gRPC (`host:port`) and, in a second run against a fresh store, over
// OTLP/HTTP (`http://host:port`); the command exits 0 (the trace store takes no metrics: the
// demo says so once and sends traces only), and the traces are found by /api/search (tags and
// TraceQL) and read by ID with the shop's services, HTTP edges, the queue and the database
// spans of README.md (src/cmd/all). Through the seed's collector shape (its /health filter,
// otlp/tempo to `sprout traces`, prometheusremotewrite to `sprout metrics`): the shop's metrics
// are Prometheus series, an exemplar of a latency series finds its trace, and no /health span
// is stored. Also: SIGINT ends a run without a duration with exit 0,
// and an endpoint that refuses (nothing listening) or cannot be parsed exits non-zero with a
// message.

const { describe, it, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');

const { SPROUT_BIN, Collector, freePorts, makeTempDir, run, trackChild, waitFor } = require('./lib/sprout');
const { SproutMetrics } = require('./lib/sprout_metrics');
const { startTraces, stopStartedTraces } = require('./lib/traces');

const stopLater = [];
after(async () => {
  for (const stop of stopLater.splice(0)) await stop();
  await stopStartedTraces();
});

async function getJson(url) {
  const res = await fetch(url);
  const text = await res.text();
  assert.equal(res.status, 200, `${url}: ${text}`);
  return JSON.parse(text);
}

const attrs = (list = []) => Object.fromEntries(list.map((kv) => [kv.key, Object.values(kv.value)[0]]));

// Runs the demo against `endpoint` for 5 s and checks what the store at `base` then holds.
async function demoInto(base, endpoint, seed) {
  const started = Date.now();
  const r = await run(SPROUT_BIN, ['demo', '--endpoint', endpoint, '--duration', '5s', '--rate', '20',
    '--metrics-interval', '2s', '--seed', String(seed)], { timeoutMs: 30000 });
  const elapsed = Date.now() - started;
  assert.equal(r.code, 0, r.stderr);
  assert.ok(elapsed >= 4500, `ran ${elapsed} ms`);
  assert.match(r.stderr, /does not take OTLP metrics/);  // a trace store: traces only
  const sent = /sent (\d+) traces \((\d+) spans\)/.exec(r.stderr);
  assert.ok(sent, r.stderr);
  const traces = Number(sent[1]);
  // At most 100 (+ the last tick); fewer only when the store is slow (time lost is not caught up on).
  assert.ok(traces >= 60 && traces <= 105, `${traces} traces in 5 s at 20/s`);

  // Search by tag: the frontend's root spans.
  const end = Math.ceil(Date.now() / 1000) + 1;
  const start = Math.floor(started / 1000) - 5;
  let found;
  await waitFor(async () => {
    found = await getJson(`${base}/api/search?tags=${encodeURIComponent('service.name=frontend')}` +
      `&limit=1000&start=${start}&end=${end}`);
    return (found.traces || []).length > 20;
  }, { timeoutMs: 15000, describe: () => `frontend traces in ${JSON.stringify(found)}` });
  for (const t of found.traces) {
    assert.equal(t.rootServiceName, 'frontend');
    assert.match(t.rootTraceName, /^(GET|POST) \/(products|cart|checkout|health)/);
  }

  // TraceQL: the checkouts, whose orders go through the queue to shipping.
  const q = '{ resource.service.name = "shipping" && kind = consumer && span.messaging.system = "kafka" }';
  let checkouts;
  await waitFor(async () => {
    checkouts = await getJson(`${base}/api/search?q=${encodeURIComponent(q)}&limit=100&start=${start}&end=${end}`);
    return (checkouts.traces || []).length > 0;
  }, { timeoutMs: 15000, describe: () => `checkout traces in ${JSON.stringify(checkouts)}` });
  const checkoutId = checkouts.traces[0].traceID;
  assert.equal(checkouts.traces[0].rootTraceName, 'POST /checkout');

  // By ID: the whole checkout, across services, with W3C parent links between them.
  const trace = await getJson(`${base}/api/traces/${checkoutId}`);
  const spans = [];
  for (const b of trace.batches || trace.resourceSpans || []) {
    const resource = attrs(b.resource.attributes);
    for (const ss of b.scopeSpans || []) {
      for (const s of ss.spans || []) spans.push({ service: resource['service.name'], resource, ...s, a: attrs(s.attributes) });
    }
  }
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const services = new Set(spans.map((s) => s.service));
  assert.deepEqual([...services].sort(), ['cart', 'checkout', 'frontend', 'shipping']);
  assert.ok(spans.length >= 8 && spans.length <= 15, `${spans.length} spans`);
  for (const s of spans) {
    assert.equal(s.resource['deployment.environment.name'], 'demo');
    assert.ok(s.resource['service.version'] && s.resource['host.name']);
  }
  const consumer = spans.find((s) => s.kind === 'SPAN_KIND_CONSUMER');
  assert.equal(byId.get(consumer.parentSpanId).kind, 'SPAN_KIND_PRODUCER');
  assert.equal(byId.get(consumer.parentSpanId).service, 'checkout');
  const payments = spans.find((s) => s.a['peer.service'] === 'payments');
  assert.equal(payments.kind, 'SPAN_KIND_CLIENT');
  assert.equal(payments.service, 'checkout');
  const server = spans.find((s) => s.service === 'checkout' && s.kind === 'SPAN_KIND_SERVER');
  const client = byId.get(server.parentSpanId);
  assert.equal(client.service, 'frontend');
  assert.equal(client.kind, 'SPAN_KIND_CLIENT');
  assert.equal(client.a['peer.service'], 'checkout');
  const query = spans.find((s) => s.a['db.system.name'] === 'postgresql');
  assert.equal(query.service, 'cart');
  assert.equal(query.a['db.system'], 'postgresql');
  assert.equal(query.a['db.namespace'], 'shop');
  assert.ok(query.a['db.query.text']);
  return traces;
}

describe('sprout demo', () => {
  it('sends the shop to sprout traces over OTLP gRPC (host:port): found by search and by ID', async () => {
    const [api, grpc, http] = await freePorts(3);
    const t = await startTraces(makeTempDir(), { api, grpc, http });
    await demoInto(t.base, `127.0.0.1:${grpc}`, 1);
    await t.stop();
  });

  it('sends the shop over OTLP/HTTP protobuf (an http:// URL)', async () => {
    const [api, grpc, http] = await freePorts(3);
    const t = await startTraces(makeTempDir(), { api, grpc, http });
    await demoInto(t.base, `http://127.0.0.1:${http}`, 2);
    await t.stop();
  });

  // The seed's shape: a collector (OTLP in; traces through the seed's /health filter to
  // `sprout traces` over otlp; metrics by prometheusremotewrite to `sprout metrics`).
  it("through the seed's collector: metrics queryable as Prometheus series, /health spans dropped", async () => {
    const [api, tgrpc, thttp, cgrpc, chttp, tel] = await freePorts(6);
    const t = await startTraces(makeTempDir(), { api, grpc: tgrpc, http: thttp });
    const metrics = await new SproutMetrics().start();
    stopLater.push(() => metrics.stop());
    const collector = new Collector({
      receivers: { otlp: { protocols: { grpc: { endpoint: `127.0.0.1:${cgrpc}` }, http: { endpoint: `127.0.0.1:${chttp}` } } } },
      processors: { filter: { error_mode: 'ignore', traces: { span: ['attributes["http.target"] == "/health"'] } } },
      exporters: {
        'otlp/tempo': { endpoint: `127.0.0.1:${tgrpc}`, tls: { insecure: true } },
        prometheusremotewrite: { endpoint: metrics.writeUrl },
      },
      service: {
        telemetry: { metrics: { address: `127.0.0.1:${tel}` } },
        pipelines: {
          traces: { receivers: ['otlp'], processors: ['filter'], exporters: ['otlp/tempo'] },
          metrics: { receivers: ['otlp'], exporters: ['prometheusremotewrite'] },
        },
      },
    });
    await collector.start();
    stopLater.push(() => collector.kill());

    const started = Date.now();
    const r = await run(SPROUT_BIN, ['demo', '--endpoint', `127.0.0.1:${cgrpc}`, '--duration', '5s',
      '--metrics-interval', '1s', '--seed', '3'], { timeoutMs: 30000 });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /does not take OTLP metrics/);
    const collections = Number(/and (\d+) metrics collections/.exec(r.stderr)[1]);
    assert.ok(collections >= 5, r.stderr);

    // The semantic-convention metrics, translated by the remote-write exporter (cumulative, so
    // kept): job = service.namespace/service.name.
    const query = async (q) => metrics.api('/api/v1/query', { query: q });
    const want = {
      'http_server_request_duration_seconds_count{job="shop/frontend"}': 2,
      'http_server_request_duration_seconds_bucket{job="shop/catalog", le="+Inf"}': 2,
      'db_client_operation_duration_seconds_count{job="shop/cart", db_system_name="postgresql"}': 1,
      'process_cpu_time_seconds_total{job="shop/checkout"}': 2,
      'process_memory_usage_bytes{job="shop/shipping"}': 1,
      'messaging_client_sent_messages_total{job="shop/checkout", messaging_system="kafka"}': 1,
      'messaging_client_consumed_messages_total{job="shop/shipping"}': 1,
      'target_info{job="shop/frontend", deployment_environment_name="demo"}': 1,
    };
    for (const [q, atLeast] of Object.entries(want)) {
      let got;
      await waitFor(async () => {
        got = await query(q);
        return got.result.length >= atLeast;
      }, { timeoutMs: 15000, describe: () => `${q}: ${JSON.stringify(got)}\n${collector.stderr.slice(-3000)}` });
    }
    const frontend = await query('sum(http_server_request_duration_seconds_count{job="shop/frontend", http_route!="/health"})');
    const traces = Number(/sent (\d+) traces/.exec(r.stderr)[1]);
    // Every non-health trace is one frontend request; health checks are ~5 % of the traces.
    assert.ok(Number(frontend.result[0].value[1]) >= traces * 0.8, `${JSON.stringify(frontend)} of ${traces}`);

    // Traces arrived, /health spans did not (the seed's filter).
    const end = Math.ceil(Date.now() / 1000) + 1;
    const start = Math.floor(started / 1000) - 5;
    let found;
    await waitFor(async () => {
      found = await getJson(`${t.base}/api/search?tags=${encodeURIComponent('service.name=frontend')}&limit=1000&start=${start}&end=${end}`);
      return (found.traces || []).length > 20;
    }, { timeoutMs: 15000, describe: () => JSON.stringify(found) });
    const health = await getJson(`${t.base}/api/search?q=${encodeURIComponent('{ span.http.target = "/health" }')}&limit=100&start=${start}&end=${end}`);
    assert.deepEqual(health.traces || [], []);
    assert.ok(found.traces.every((tr) => tr.rootTraceName !== 'GET /health'));

    // An exemplar of a latency series (the demo's own, through remote write) finds its trace.
    const ex = await metrics.api('/api/v1/query_exemplars', {
      query: 'http_server_request_duration_seconds_bucket{job="shop/frontend", http_route="/products"}',
      start, end,
    });
    const exemplars = ex.flatMap((series) => series.exemplars);
    assert.ok(exemplars.length > 0, JSON.stringify(ex));
    const traceId = exemplars[0].labels.trace_id;
    assert.match(traceId, /^[0-9a-f]{32}$/);
    const byId = await getJson(`${t.base}/api/traces/${traceId}`);
    const names = (byId.batches || []).flatMap((b) => b.scopeSpans.flatMap((ss) => ss.spans.map((sp) => sp.name)));
    assert.ok(names.includes('GET /products'), names.join(', '));
    await t.stop();
  });

  it('SIGINT ends a run without a duration: exit 0 after a summary', async () => {
    const [api, grpc, http] = await freePorts(3);
    const t = await startTraces(makeTempDir(), { api, grpc, http });
    const child = trackChild(spawn(SPROUT_BIN, ['demo', '--endpoint', `grpc://127.0.0.1:${grpc}`,
      '--duration', '0'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    await waitFor(() => /sending traces only/.test(stderr), { timeoutMs: 15000, describe: () => stderr });
    child.kill('SIGINT');
    const { code, signal } = await exited;
    assert.equal(signal, null, stderr);
    assert.equal(code, 0, stderr);
    assert.match(stderr, /sent \d+ traces/);
    await t.stop();
  });

  it('--header sets the tenant (X-Scope-OrgID); a store that refuses the demo makes it exit 1', async () => {
    const [api, grpc, http] = await freePorts(3);
    const t = await startTraces(makeTempDir(), { api, grpc, http }, ['--set', 'multitenancy_enabled=true']);
    for (const endpoint of [`127.0.0.1:${grpc}`, `http://127.0.0.1:${http}`]) {
      const refused = await run(SPROUT_BIN, ['demo', '--endpoint', endpoint, '--duration', '10s',
        '--give-up-after', '2s'], { timeoutMs: 20000 });
      assert.notEqual(refused.code, 0, refused.stderr);
      assert.match(refused.stderr, /Error: .*no org id/, refused.stderr);
    }
    const started = Date.now();
    const r = await run(SPROUT_BIN, ['demo', '--endpoint', `127.0.0.1:${grpc}`, '--duration', '2s',
      '--header', 'X-Scope-OrgID=shop'], { timeoutMs: 20000 });
    assert.equal(r.code, 0, r.stderr);
    const q = `tags=${encodeURIComponent('service.name=frontend')}&start=${Math.floor(started / 1000) - 5}` +
      `&end=${Math.ceil(Date.now() / 1000) + 1}`;
    let found;
    await waitFor(async () => {
      const res = await fetch(`${t.base}/api/search?${q}`, { headers: { 'X-Scope-OrgID': 'shop' } });
      found = await res.json();
      return (found.traces || []).length > 0;
    }, { timeoutMs: 15000, describe: () => JSON.stringify(found) });
    const other = await fetch(`${t.base}/api/search?${q}`, { headers: { 'X-Scope-OrgID': 'other' } });
    assert.deepEqual((await other.json()).traces || [], []);
    await t.stop();
  });

  it('an endpoint that refuses for good exits non-zero with a message', async () => {
    const [closed] = await freePorts(1);
    for (const endpoint of [`127.0.0.1:${closed}`, `http://127.0.0.1:${closed}`]) {
      const r = await run(SPROUT_BIN, ['demo', '--endpoint', endpoint, '--duration', '20s',
        '--give-up-after', '1s'], { timeoutMs: 15000 });
      assert.notEqual(r.code, 0, r.stderr);
      assert.ok(r.stderr.includes(`Error: ${endpoint} has not accepted anything for 1s`), r.stderr);
    }
    const bad = await run(SPROUT_BIN, ['demo', '--endpoint', 'localhost'], { timeoutMs: 15000 });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Error: invalid endpoint "localhost": no port/);
  });
});
