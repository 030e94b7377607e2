'use strict';
// `sprout all` end to end (issue 14): one process on a temporary data directory and free ports,
// `sprout demo` sending the fictional shop's traces and metrics into its OTLP gRPC receiver, then
// what a new user checks: /ready and /livez, the page at /, the demo's traces by search and by ID
// on the Tempo API, the generator's service graph (the shop's edges of src/cmd/all/README.md, with
// `database`, `messaging_system` and `virtual_node`) and span metrics on the Prometheus API of the
// same port, the demo's own metrics, an exemplar of a latency series that finds its trace, the
// process's /metrics; SIGTERM exits 0 and a restart on the same directory serves the traces and
// series again.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startAll } = require('./lib/all');
const { SPROUT_BIN, freePorts, makeTempDir, run, waitFor } = require('./lib/sprout');

async function getJson(url, params) {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params || {})) u.searchParams.set(k, v);
  const res = await fetch(u);
  const text = await res.text();
  assert.equal(res.status, 200, `${u}: ${text}`);
  return JSON.parse(text);
}

const query = (base, q) => getJson(`${base}/prometheus/api/v1/query`, { query: q }).then((d) => d.data.result);

describe('sprout all: the demo through one process', () => {
  const dir = makeTempDir('sprout-all-');
  let ports;
  let all;
  let traceId;

  before(async () => {
    const [api, grpc, http] = await freePorts(3);
    ports = { api, grpc, http };
    all = startAll(dir, ports);
    await all.ready();
    const r = await run(SPROUT_BIN, ['demo', '--endpoint', `127.0.0.1:${grpc}`, '--duration', '6s',
      '--rate', '20', '--metrics-interval', '2s'], { timeoutMs: 30000 });
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => { if (all) await all.stop(); });

  it('answers /ready, /livez and the page at / with the data source URLs', async () => {
    assert.equal((await fetch(`${all.base}/livez`)).status, 200);
    const page = await (await fetch(`${all.base}/`)).text();
    assert.match(page, new RegExp(`<code>${all.base}/prometheus</code>`));
    assert.match(page, new RegExp(`gRPC: <code>127.0.0.1:${ports.grpc}</code>`));
    assert.doesNotMatch(page, /not ready/);
  });

  it('finds the demo\'s traces by search and by ID on the Tempo API', async () => {
    const found = await getJson(`${all.base}/api/search`, { q: '{resource.service.name="frontend" && span.http.route="/checkout"}', limit: '5' });
    assert.ok(found.traces.length > 0, JSON.stringify(found));
    traceId = found.traces[0].traceID;
    const trace = await getJson(`${all.base}/api/v2/traces/${traceId}`);
    const services = new Set(trace.trace.resourceSpans.map((rs) => rs.resource.attributes.find((a) => a.key === 'service.name').value.stringValue));
    for (const s of ['frontend', 'checkout', 'cart']) assert.ok(services.has(s), `${s} in ${[...services]}`);
  });

  it('the generator\'s service graph has the shop\'s edges, in the metrics store of the same process', async () => {
    const want = [
      'frontend→catalog:', 'frontend→cart:', 'frontend→checkout:', 'checkout→cart:',
      'catalog→postgres:database', 'cart→postgres:database', 'checkout→shipping:messaging_system',
      'checkout→payments:virtual_node', 'user→frontend:virtual_node',
    ];
    let got = [];
    await waitFor(async () => {
      got = (await query(all.base, 'group by (client, server, connection_type) (traces_service_graph_request_total)'))
        .map((r) => `${r.metric.client}→${r.metric.server}:${r.metric.connection_type || ''}`);
      return want.every((e) => got.includes(e));
    }, { timeoutMs: 20000, describe: () => `edges ${JSON.stringify(want)} in ${JSON.stringify(got)}\n${all.log().slice(-2000)}` });
    // Grafana's APM table: server calls per span name.
    const apm = await query(all.base, 'topk(5, sum(rate(traces_spanmetrics_calls_total{span_kind="SPAN_KIND_SERVER"}[5m])) by (span_name))');
    assert.ok(apm.length > 0);
  });

  it('holds the demo\'s own metrics, and a latency exemplar finds its trace', async () => {
    const series = await query(all.base, 'count by (job) (http_server_request_duration_seconds_count)');
    assert.ok(series.length >= 3, JSON.stringify(series));
    const now = Date.now() / 1000;
    const ex = await getJson(`${all.base}/prometheus/api/v1/query_exemplars`, {
      query: 'traces_spanmetrics_latency_bucket{span_kind="SPAN_KIND_SERVER"}', start: String(now - 300), end: String(now + 60),
    });
    const ids = ex.data.flatMap((s) => s.exemplars.map((e) => e.labels.traceID));
    assert.ok(ids.length > 0, JSON.stringify(ex));
    const res = await fetch(`${all.base}/api/traces/${ids[0]}`);
    assert.equal(res.status, 200);
  });

  it('counts what it took on /metrics', async () => {
    const text = await (await fetch(`${all.base}/metrics`)).text();
    assert.match(text, /^tempo_metrics_generator_spans_received_total\{tenant="single-tenant"\} [1-9]/m);
    assert.match(text, /^otelcol_receiver_accepted_spans_total\{.*receiver="otlp".*\} [1-9]/m);
    assert.match(text, /^otelcol_exporter_sent_spans_total\{exporter="sprout\/traces".*\} [1-9]/m);
  });

  it('exits 0 on SIGTERM and serves the traces and series again after a restart', async () => {
    assert.ok(traceId);
    const { code } = await all.stop();
    assert.equal(code, 0, all.log().slice(-2000));
    all = startAll(dir, ports);
    await all.ready();
    assert.equal((await fetch(`${all.base}/api/traces/${traceId}`)).status, 200);
    const edges = await query(all.base, 'count(last_over_time(traces_service_graph_request_total[10m]))');
    assert.ok(edges.length === 1 && Number(edges[0].value[1]) >= 9, JSON.stringify(edges));
  });
});
