'use strict';
// Issue 13's first four acceptance items (the topology's service map and APM queries, exemplars,
// the same answers from `sprout metrics`, stale series and max_active_series): the metrics-generator of
// `sprout traces`, fed by the JS SDK, remote-writing into Debian's `prometheus` and into
// `sprout metrics` at once, queried as Grafana's service map and APM table query them
// (reference tempo.md §4.4).
//
// Main run: `sprout traces` with the seed's `overrides` block verbatim (processors
// service-graphs and span-metrics), `collection_interval: 1s`, `service_graphs.wait: 2s` and two
// `storage.remote_write` entries (Prometheus with `--web.enable-remote-write-receiver
// --enable-feature=exemplar-storage`, and `sprout metrics` with exemplar storage on). The
// topology (lib/generator.js: frontend → api over HTTP, api → a postgresql database, api → a
// kafka producer/consumer pair with `worker`, errors, a root server span, a call to the
// uninstrumented `payments`) is sent in two phases of five requests, the second once the first
// is in both stores, so that every `_sum` moves between two collections.
//
// Queries: Grafana's eight service-map queries (sum-by-rate and group-by of four metrics, as its
// Tempo data source builds them, also joined by OR for two selectors), the edge links (instant
// and as range queries), the node links' TraceQL search (on sprout traces) and the APM table's
// queries.
//
// Every query is evaluated at one time T: the timestamp of a collection that both stores hold
// for every series (checked). Counters, `_count` and `_bucket` series start with Tempo's initial
// 0 sample, so at T — the series' last sample, no extrapolation to the end — `rate(x[5m])` × 300
// is exactly the count written down from the topology. `_sum` series have no initial 0 sample:
// rate's extrapolation towards the window's start makes their rate inexact, so their raw value
// at T is checked exactly and their rate within the bounds extrapolation allows (between the
// second phase's increase and the total).
//
// Second run (item 5): another `sprout traces` and Prometheus with `stale_duration: 3s` and
// `max_active_series: 38` (two span-metrics groups: calls 1 + latency 14 bounds + 3 + size 1 =
// 19 each): services `alpha` and `beta` send an INTERNAL span every 400 ms; `gamma`'s span is
// refused (its 3 series, counted in `tempo_metrics_generator_registry_series_limited_total` as
// Tempo 2.x counts them; see LIMITED_PER_SPAN) and
// never reaches Prometheus; `alpha` stops: its series stop being written about `stale_duration`
// after its last span while `beta`'s keep advancing; the slots it freed then take `gamma`.
//
// Third run: `multitenancy_enabled`, two tenants (the SDK's X-Scope-OrgID header) each send a
// client/server pair; `sprout metrics` with multi-tenancy holds each tenant's series under that
// tenant only (the output's X-Scope-OrgID, reference §4.1).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const api = require('@opentelemetry/api');

const { freePorts, makeTempDir, metricValue, parsePrometheusText, sleep, toYaml, waitFor } = require('./lib/sprout');
const { startTraces, stopStartedTraces } = require('./lib/traces');
const { Prometheus, labelKey } = require('./lib/prom');
const { SproutMetrics } = require('./lib/sprout_metrics');
const {
  REQUESTS, SERVICE_GRAPH_BUCKETS, SPAN_METRICS_BUCKETS, bucketQuantile, cumulativeBuckets, expectedSeries,
  makeSdks, sendPhase, serviceGraphEdges, serviceSdk, shutdownSdks, spanAt, spanMetricsGroups, sum,
} = require('./lib/generator');

const SEED_TEMPO = path.resolve(__dirname, '../../examples/seed/tempo.yaml');
const RANGE = '5m'; // Grafana's $__range: covers the initial 0 samples (at most ~61 s before the first collection)
const RANGE_S = 300;

const peers = [];
after(async () => {
  await stopStartedTraces();
  for (const p of peers) await p.kill();
});

// The seed's `overrides:` block, verbatim (to the end of the file).
function seedOverrides() {
  const text = fs.readFileSync(SEED_TEMPO, 'utf8');
  const at = text.search(/^overrides:/m);
  assert.ok(at >= 0, 'the seed tempo.yaml has an overrides block');
  const block = text.slice(at);
  assert.match(block, /processors: \["service-graphs", "span-metrics"\]/);
  return block;
}

// `sprout traces` with a config of its own in `dir` (local backend), the generator block and
// `overridesYaml` (text).
async function startGeneratorTraces(dir, { generator, overridesYaml, extraArgs = [] }) {
  const [api_, grpc, http] = await freePorts(3);
  const config = {
    storage: { trace: { backend: 'local', local: { path: path.join(dir, 'blocks') }, wal: { path: path.join(dir, 'wal') } } },
    metrics_generator: generator,
  };
  const file = path.join(dir, 'tempo.yaml');
  fs.writeFileSync(file, `${toYaml(config)}\n${overridesYaml}`);
  const ports = { api: api_, grpc, http };
  const server = await startTraces(dir, ports, ['--config', file, ...extraArgs]);
  return { ...server, ports, configFile: file };
}

// ---------------------------------------------------------------------------------------------
// Query helpers (the same for Prometheus and sprout metrics: both have api())

const timeParam = (ms) => (ms / 1000).toFixed(3);

async function instant(peer, expr, timeMs) {
  const data = await peer.api('/api/v1/query', { query: expr, time: timeParam(timeMs) });
  return data.result;
}

// A vector as Map(labelKey → {metric, value (number)}).
function vectorMap(result) {
  const m = new Map();
  for (const r of result) {
    assert.ok(!m.has(labelKey(r.metric)), `duplicate series ${JSON.stringify(r.metric)}`);
    m.set(labelKey(r.metric), { metric: r.metric, value: Number(r.value[1]) });
  }
  return m;
}

// Newest sample timestamp (ms) of each series matching `selector` within the last `windowS` s
// before `timeMs`: Map(labelKey → ms).
async function newestTimestamps(peer, selector, timeMs, windowS = 30) {
  const result = await instant(peer, `${selector}[${windowS}s]`, timeMs);
  const out = new Map();
  for (const r of result) {
    const values = r.values || [];
    if (values.length === 0) continue;
    out.set(labelKey(r.metric), Math.round(Number(values[values.length - 1][0]) * 1000));
  }
  return out;
}

const close = (a, b, rel = 1e-9) => Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b));

function assertClose(actual, expected, what, rel = 1e-9) {
  assert.ok(close(actual, expected, rel), `${what}: got ${actual}, want ${expected}`);
}

// Two answers of one query are the same: the same label sets, values equal (to 1e-12 relative:
// a sum's order of addition may differ between engines).
function assertSameAnswer(got, want, what) {
  const g = vectorMap(got);
  const w = vectorMap(want);
  assert.deepEqual([...g.keys()].sort(), [...w.keys()].sort(), `${what}: series`);
  for (const [k, v] of w) {
    const a = g.get(k).value;
    assert.ok(Object.is(a, v.value) || close(a, v.value, 1e-12), `${what} ${k}: sprout ${a}, Prometheus ${v.value}`);
  }
}

// ---------------------------------------------------------------------------------------------

describe('metrics-generator: the topology through sprout traces into Prometheus and sprout metrics', () => {
  let prom;
  let sm;
  let traces;
  let sdks;
  const sent = [];
  let T; // ms: the evaluation time of every query (see the header)
  const expected = expectedSeries(REQUESTS);

  // Waits until `peer` holds every counter (calls, requests, failures) of `requests` with its
  // value: the phase is collected and delivered, the virtual-node edges included.
  async function waitForCounters(peer, requests) {
    const want = expectedSeries(requests).filter((s) => /_total$/.test(s.labels.__name__) && s.value !== null);
    await waitFor(async () => {
      const got = vectorMap(await instant(peer, '{__name__=~"traces_.+_total"}', Date.now() + 1000));
      return want.every((s) => {
        const g = got.get(labelKey(s.labels));
        return g && g.value === s.value;
      });
    }, { timeoutMs: 20000, intervalMs: 250, describe: () => `${peer.name} to hold the counters of ${requests.length} requests\n${traces.log().slice(-3000)}` });
  }

  before(async () => {
    const dir = makeTempDir('sprout-e2e-generator-');
    prom = new Prometheus({ dir });
    peers.push(prom);
    // Mimir's default max_global_exemplars_per_user is 0 (exemplars dropped): turned on here.
    sm = new SproutMetrics({ dir, sets: ['limits.max_global_exemplars_per_user=100000'] });
    peers.push(sm);
    await Promise.all([prom.start(), sm.start()]);
    traces = await startGeneratorTraces(dir, {
      generator: {
        registry: { collection_interval: '1s' },
        processor: { service_graphs: { wait: '2s' } },
        storage: {
          path: path.join(dir, 'generator', 'wal'),
          remote_write: [
            { url: prom.writeUrl, send_exemplars: true },
            { url: sm.writeUrl, send_exemplars: true },
          ],
        },
      },
      overridesYaml: seedOverrides(),
    });
    sdks = makeSdks(traces.ports.http);

    sent.push(...await sendPhase(sdks, 1));
    const phase1 = REQUESTS.filter((r) => r.phase === 1);
    await Promise.all([waitForCounters(prom, phase1), waitForCounters(sm, phase1)]);
    sent.push(...await sendPhase(sdks, 2));
    await Promise.all([waitForCounters(prom, REQUESTS), waitForCounters(sm, REQUESTS)]);

    // T: the newest collection both stores hold for every series.
    await waitFor(async () => {
      const now = Date.now() + 1000;
      const newest = await Promise.all([prom, sm].map((p) => newestTimestamps(p, '{__name__=~"traces_.+"}', now)));
      const t = Math.min(...newest.map((m) => Math.max(...m.values())));
      for (const p of [prom, sm]) {
        const at = await newestTimestamps(p, '{__name__=~"traces_.+"}', t, RANGE_S);
        if (at.size !== expected.length) return false;
        if ([...at.values()].some((ts) => ts !== t)) return false;
      }
      T = t;
      return true;
    }, { timeoutMs: 15000, intervalMs: 500, describe: 'a collection held by both stores for every series' });
  });

  after(async () => {
    if (sdks) await shutdownSdks(sdks);
  });

  it('sent every span (the SDK\'s exports succeeded) and holds the traces', async () => {
    assert.equal(sent.length, REQUESTS.length);
    for (const s of sent) {
      const res = await fetch(`${traces.base}/api/traces/${s.traceId}`);
      assert.equal(res.status, 200, `trace ${s.traceId}`);
      const spans = traceSpans(await res.json());
      assert.equal(spans.length, s.spans.length, `spans of trace ${s.i}`);
    }
  });

  it('both stores hold exactly the series of the topology with their values (raw, at T)', async () => {
    for (const p of [prom, sm]) {
      const got = vectorMap(await instant(p, '{__name__=~"traces_.+"}', T));
      const want = new Map(expected.map((s) => [labelKey(s.labels), s]));
      const missing = [...want.keys()].filter((k) => !got.has(k));
      const extra = [...got.keys()].filter((k) => !want.has(k));
      assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, `${p.name}: series set`);
      for (const [k, s] of want) {
        const g = got.get(k).value;
        if (s.value === null) {
          assert.ok(g > 0, `${p.name} ${k}: ${g} > 0`);
        } else if (/_sum$/.test(s.labels.__name__)) {
          assertClose(g, s.value, `${p.name} ${k}`);
        } else {
          assert.equal(g, s.value, `${p.name} ${k}`);
        }
      }
    }
    // and the same values in both (the span sizes included)
    const [p, s] = await Promise.all([instant(prom, '{__name__=~"traces_.+"}', T), instant(sm, '{__name__=~"traces_.+"}', T)]);
    assertSameAnswer(s, p, 'every series at T');
  });

  // Grafana's service map (reference §4.4), each answer from Prometheus checked against the
  // topology and sprout metrics' answer against Prometheus's.
  describe('service map queries', () => {
    const edges = serviceGraphEdges(REQUESTS);
    const byEdge = (result) => {
      const m = new Map();
      for (const r of result) m.set(`${r.metric.client}→${r.metric.server}`, { metric: r.metric, value: Number(r.value[1]) });
      return m;
    };
    async function both(expr) {
      const [p, s] = await Promise.all([instant(prom, expr, T), instant(sm, expr, T)]);
      assertSameAnswer(s, p, expr);
      return p;
    }

    it('request_total and request_failed_total: the edges with their counts', async () => {
      const total = byEdge(await both(`sum by (client, server) (rate(traces_service_graph_request_total[${RANGE}]))`));
      assert.deepEqual([...total.keys()].sort(), [...edges.keys()].sort());
      for (const [k, e] of edges) {
        assert.deepEqual(total.get(k).metric, { client: e.labels.client, server: e.labels.server });
        assertClose(total.get(k).value * RANGE_S, e.count, `requests ${k}`);
      }
      const failed = byEdge(await both(`sum by (client, server) (rate(traces_service_graph_request_failed_total[${RANGE}]))`));
      const failing = [...edges].filter(([, e]) => e.failed > 0);
      assert.deepEqual([...failed.keys()].sort(), failing.map(([k]) => k).sort());
      assert.deepEqual(failing.map(([k]) => k).sort(), ['api→shop', 'frontend→api', 'user→frontend']);
      for (const [k, e] of failing) assertClose(failed.get(k).value * RANGE_S, e.failed, `failed ${k}`);
      // exact counts from the raw counters
      const raw = byEdge(await both('traces_service_graph_request_total'));
      for (const [k, e] of edges) assert.equal(raw.get(k).value, e.count, `raw requests ${k}`);
    });

    it('group by (client, connection_type, server) of the four metrics: database, messaging_system and virtual_node edges', async () => {
      const want = [
        [{ client: 'frontend', server: 'api' }],
        [{ client: 'api', server: 'shop', connection_type: 'database' }],
        [{ client: 'api', server: 'worker', connection_type: 'messaging_system' }],
        [{ client: 'user', server: 'frontend', connection_type: 'virtual_node' }],
        [{ client: 'api', server: 'payments', connection_type: 'virtual_node' }],
      ].map(([l]) => [labelKey(l), 1]).sort();
      assert.deepEqual([...edges.values()].map((e) => labelKey(e.labels)).sort(), want.map(([k]) => k).sort());
      const failing = [...edges.values()].filter((e) => e.failed > 0).map((e) => [labelKey(e.labels), 1]).sort();
      for (const [metric, w] of [
        ['traces_service_graph_request_server_seconds_sum', want],
        ['traces_service_graph_request_total', want],
        ['traces_service_graph_request_failed_total', failing],
        ['traces_service_graph_request_server_seconds_bucket', want],
      ]) {
        const got = (await both(`group by (client, connection_type, server) (${metric})`))
          .map((r) => [labelKey(r.metric), Number(r.value[1])]).sort();
        assert.deepEqual(got, w, metric);
      }
    });

    it('a service-map filter of two selectors (Grafana joins them with OR): the edges around api', async () => {
      const around = [...edges].filter(([, e]) => e.labels.client === 'api' || e.labels.server === 'api');
      assert.deepEqual(around.map(([k]) => k).sort(), ['api→payments', 'api→shop', 'api→worker', 'frontend→api']);
      const total = byEdge(await both(`sum by (client, server) (rate(traces_service_graph_request_total{client="api"}[${RANGE}])) OR ` +
        `sum by (client, server) (rate(traces_service_graph_request_total{server="api"}[${RANGE}]))`));
      assert.deepEqual([...total.keys()].sort(), around.map(([k]) => k).sort());
      for (const [k, e] of around) assertClose(total.get(k).value * RANGE_S, e.count, `requests ${k}`);
      const groups = (await both('group by (client, connection_type, server) (traces_service_graph_request_total{client="api"}) OR ' +
        'group by (client, connection_type, server) (traces_service_graph_request_total{server="api"})'))
        .map((r) => labelKey(r.metric)).sort();
      assert.deepEqual(groups, around.map(([, e]) => labelKey(e.labels)).sort());
    });

    it('the edge links (range queries over $__rate_interval): sprout metrics answers as Prometheus', async () => {
      // Grafana's $__rate_interval with the default 15 s scrape interval: 4 × 15 s.
      for (const [k, e] of edges) {
        const sel = `{client="${e.labels.client}",server="${e.labels.server}"}`;
        for (const expr of [
          `sum by (client, server)(rate(traces_service_graph_request_total${sel}[1m]))`,
          `histogram_quantile(0.9, sum(rate(traces_service_graph_request_server_seconds_bucket${sel}[1m])) by (le, client, server))`,
          `sum by (client, server)(rate(traces_service_graph_request_failed_total${sel}[1m]))`,
        ]) {
          const params = { query: expr, start: timeParam(T - 60000), end: timeParam(T), step: '5' };
          const [p, s] = await Promise.all([prom.api('/api/v1/query_range', params), sm.api('/api/v1/query_range', params)]);
          const flat = (d) => d.result.map((r) => ({ metric: labelKey(r.metric), values: r.values.map(([t, v]) => [t, Number(v)]) }))
            .sort((a, b) => (a.metric < b.metric ? -1 : 1));
          const fp = flat(p);
          const fs = flat(s);
          assert.deepEqual(fs.map((x) => x.metric), fp.map((x) => x.metric), expr);
          if (!expr.includes('failed') || e.failed > 0) assert.equal(fp.length, 1, `${k}: ${expr}`);
          for (let i = 0; i < fp.length; i++) {
            assert.deepEqual(fs[i].values.map(([t]) => t), fp[i].values.map(([t]) => t), `${expr}: times`);
            fp[i].values.forEach(([, v], j) => {
              const w = fs[i].values[j][1];
              assert.ok(Object.is(v, w) || close(v, w, 1e-12), `${expr} @${fp[i].values[j][0]}: sprout ${w}, Prometheus ${v}`);
            });
          }
        }
      }
    });

    it('the node links of the uninstrumented nodes: Grafana\'s TraceQL search finds their traces', async () => {
      for (const [node, want] of [
        ['payments', sent.filter((s) => s.spans.some((sp) => sp.name === 'POST /charge'))],
        ['shop', sent],
      ]) {
        const q = ['db.name', 'db.system', 'peer.service', 'messaging.system', 'net.peer.name']
          .map((a) => `span.${a}="${node}"`).join(' || ');
        const params = new URLSearchParams({ q: `{${q}}`, limit: '100', start: String(Math.floor(T / 1000) - 600), end: String(Math.ceil(T / 1000) + 60) });
        const res = await fetch(`${traces.base}/api/search?${params}`);
        const text = await res.text();
        assert.equal(res.status, 200, text);
        const got = (JSON.parse(text).traces || []).map((t) => t.traceID.padStart(32, '0')).sort();
        assert.deepEqual(got, want.map((s) => s.traceId).sort(), `traces of ${node}`);
      }
    });

    it('server_seconds_sum: the raw sums, and the rate within what extrapolation allows', async () => {
      const raw = byEdge(await both('traces_service_graph_request_server_seconds_sum'));
      const rate = byEdge(await both(`sum by (client, server) (rate(traces_service_graph_request_server_seconds_sum[${RANGE}]))`));
      assert.deepEqual([...rate.keys()].sort(), [...edges.keys()].sort());
      for (const [k, e] of edges) {
        const total = sum(e.serverSeconds);
        assertClose(raw.get(k).value, total, `raw sum ${k}`);
        // phase 2's increase ≤ rate × range ≤ the total (the zero point caps the extrapolation)
        const phase2 = sum(serviceGraphEdges(REQUESTS.filter((r) => r.phase === 2)).get(k).serverSeconds);
        const inc = rate.get(k).value * RANGE_S;
        assert.ok(inc >= phase2 - 1e-9 && inc <= total + 1e-9, `rate(sum) ${k}: ${inc} in [${phase2}, ${total}]`);
      }
    });

    it('server_seconds_bucket: Grafana\'s sum over le, every bucket, the edge links\' p90', async () => {
      const grafana = byEdge(await both(`sum by (client, server) (rate(traces_service_graph_request_server_seconds_bucket[${RANGE}]))`));
      assert.deepEqual([...grafana.keys()].sort(), [...edges.keys()].sort());
      for (const [k, e] of edges) {
        const buckets = cumulativeBuckets(e.serverSeconds, SERVICE_GRAPH_BUCKETS);
        assertClose(grafana.get(k).value * RANGE_S, sum(buckets.map(([, n]) => n)), `sum of buckets ${k}`);
      }
      const perLe = await both(`sum by (client, server, le) (rate(traces_service_graph_request_server_seconds_bucket[${RANGE}]))`);
      assert.equal(perLe.length, edges.size * (SERVICE_GRAPH_BUCKETS.length + 1));
      for (const r of perLe) {
        const e = edges.get(`${r.metric.client}→${r.metric.server}`);
        const want = new Map(cumulativeBuckets(e.serverSeconds, SERVICE_GRAPH_BUCKETS)).get(r.metric.le);
        assertClose(Number(r.value[1]) * RANGE_S, want, `bucket ${JSON.stringify(r.metric)}`);
      }
      for (const [k, e] of edges) {
        const { client, server } = e.labels;
        const expr = `histogram_quantile(0.9, sum(rate(traces_service_graph_request_server_seconds_bucket{client="${client}",server="${server}"}[${RANGE}])) by (le, client, server))`;
        const got = await both(expr);
        assert.equal(got.length, 1, expr);
        assert.deepEqual(got[0].metric, { client, server });
        const buckets = cumulativeBuckets(e.serverSeconds, SERVICE_GRAPH_BUCKETS).map(([le, n]) => [Number(le), n]);
        assertClose(Number(got[0].value[1]), bucketQuantile(0.9, buckets), `p90 ${k}`);
      }
    });
  });

  // Grafana's APM table over span metrics (reference §4.4).
  describe('APM table queries', () => {
    const groups = [...spanMetricsGroups(REQUESTS).values()];
    async function both(expr) {
      const [p, s] = await Promise.all([instant(prom, expr, T), instant(sm, expr, T)]);
      assertSameAnswer(s, p, expr);
      return p;
    }
    const countBy = (filter) => {
      const m = new Map();
      for (const g of groups.filter(filter)) m.set(g.labels.span_name, (m.get(g.labels.span_name) || 0) + g.durations.length);
      return m;
    };

    it('topk(5) server span rates and the error rate', async () => {
      for (const [expr, filter] of [
        [`topk(5, sum(rate(traces_spanmetrics_calls_total{span_kind="SPAN_KIND_SERVER"}[${RANGE}])) by (span_name))`,
          (g) => g.labels.span_kind === 'SPAN_KIND_SERVER'],
        [`topk(5, sum(rate(traces_spanmetrics_calls_total{span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_ERROR"}[${RANGE}])) by (span_name))`,
          (g) => g.labels.span_kind === 'SPAN_KIND_SERVER' && g.labels.status_code === 'STATUS_CODE_ERROR'],
      ]) {
        const got = await both(expr);
        const want = countBy(filter);
        assert.deepEqual(got.map((r) => r.metric.span_name).sort(), [...want.keys()].sort(), expr);
        for (const r of got) assertClose(Number(r.value[1]) * RANGE_S, want.get(r.metric.span_name), `${expr} ${r.metric.span_name}`);
      }
      assert.deepEqual([...countBy((g) => g.labels.span_kind === 'SPAN_KIND_SERVER')], [['GET /shop', 10], ['GET /api/cart', 10]]);
      // every span name's calls, exactly, from the raw counters
      const raw = await both('sum by (span_name) (traces_spanmetrics_calls_total)');
      const want = countBy(() => true);
      assert.deepEqual(Object.fromEntries(raw.map((r) => [r.metric.span_name, Number(r.value[1])])), Object.fromEntries(want));
    });

    it('histogram_quantile(.9) of the latency by span name', async () => {
      for (const name of ['GET /api/cart', 'GET /shop', 'SELECT shop.items', 'orders process']) {
        const expr = `histogram_quantile(.9, sum(rate(traces_spanmetrics_latency_bucket{span_name=~"${name}"}[${RANGE}])) by (le))`;
        const got = await both(expr);
        const values = groups.filter((g) => g.labels.span_name === name).flatMap((g) => g.durations);
        const buckets = cumulativeBuckets(values, SPAN_METRICS_BUCKETS).map(([le, n]) => [Number(le), n]);
        assert.equal(got.length, 1, expr);
        assertClose(Number(got[0].value[1]), bucketQuantile(0.9, buckets), expr);
      }
      // the buckets themselves: every group, every le (zero counts included), rate × range
      const perLe = await both(`sum by (service, span_name, span_kind, status_code, le) (rate(traces_spanmetrics_latency_bucket[${RANGE}]))`);
      assert.equal(perLe.length, groups.length * (SPAN_METRICS_BUCKETS.length + 1));
      for (const r of perLe) {
        const { le, ...labels } = r.metric;
        const g = groups.find((x) => labelKey(x.labels) === labelKey(labels));
        assert.ok(g, `group ${JSON.stringify(labels)}`);
        assertClose(Number(r.value[1]) * RANGE_S, new Map(cumulativeBuckets(g.durations, SPAN_METRICS_BUCKETS)).get(le), JSON.stringify(r.metric));
      }
    });
  });

  it('examples/grafana: every query of the provisioned dashboard answers, the same from both stores', async () => {
    // The dashboard's PromQL with Grafana's variables as Grafana would fill them for this data:
    // $service = All (.*), $__rate_interval and $__range = the test's range.
    const dashboard = JSON.parse(fs.readFileSync(path.join(__dirname, '../../examples/grafana/dashboards/sprout-red.json'), 'utf8'));
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    assert.ok(exprs.length >= 8, `${exprs.length} queries`);
    for (const raw of exprs) {
      const expr = raw.replaceAll('$service', '.*').replaceAll('$__rate_interval', RANGE).replaceAll('$__range', RANGE);
      const [p, s] = await Promise.all([instant(prom, expr, T), instant(sm, expr, T)]);
      assertSameAnswer(s, p, expr);
      // Every panel has data: the topology has server spans, errors and service-graph edges.
      assert.ok(p.length > 0, `no data for ${expr}`);
    }
    // The variable's query: every service of the topology that has span metrics.
    const services = await sm.api('/api/v1/label/service/values', { 'match[]': 'traces_spanmetrics_calls_total', start: timeParam(T - 60000), end: timeParam(T) });
    assert.deepEqual([...services].sort(), [...new Set(expected.filter((x) => x.labels.__name__ === 'traces_spanmetrics_calls_total').map((x) => x.labels.service))].sort());
  });

  it('span-metrics exemplars: traceID finds the trace through /api/traces/<id>, with the span observed', async () => {
    const start = T / 1000 - RANGE_S;
    const end = T / 1000;
    const sentIds = new Map(sent.map((s) => [s.traceId, s]));
    const [p, s] = await Promise.all([
      prom.queryExemplars('traces_spanmetrics_latency_bucket', { start, end }),
      sm.queryExemplars('traces_spanmetrics_latency_bucket', { start, end }),
    ]);
    // sprout metrics: the same exemplars
    const norm = (data) => data.map((d) => ({
      series: labelKey(d.seriesLabels),
      exemplars: d.exemplars.map((e) => JSON.stringify([labelKey(e.labels), e.value, e.timestamp])).sort(),
    }))
      .sort((a, b) => (a.series < b.series ? -1 : 1));
    assert.deepEqual(norm(s), norm(p), 'sprout metrics exemplars = Prometheus exemplars');

    // Every (group, bucket) where a span fell has at least one exemplar.
    const groups = [...spanMetricsGroups(REQUESTS).values()];
    const wantBuckets = new Set();
    for (const g of groups) {
      for (const v of g.durations) {
        const le = SPAN_METRICS_BUCKETS.find((b) => v <= b);
        wantBuckets.add(labelKey({ ...g.labels, le: le === undefined ? '+Inf' : String(le) }));
      }
    }
    const haveBuckets = new Set();
    const cache = new Map();
    let checked = 0;
    for (const d of p) {
      const { __name__: name, ...labels } = d.seriesLabels;
      assert.equal(name, 'traces_spanmetrics_latency_bucket');
      haveBuckets.add(labelKey(labels));
      const { le, ...group } = labels;
      const upper = le === '+Inf' ? Infinity : Number(le);
      const lowerIdx = SPAN_METRICS_BUCKETS.indexOf(upper) - 1;
      const lower = le === '+Inf' ? SPAN_METRICS_BUCKETS[SPAN_METRICS_BUCKETS.length - 1] : (lowerIdx >= 0 ? SPAN_METRICS_BUCKETS[lowerIdx] : 0);
      for (const e of d.exemplars) {
        const traceId = e.labels.traceID;
        assert.deepEqual(Object.keys(e.labels), ['traceID'], JSON.stringify(e));
        assert.ok(sentIds.has(traceId), `exemplar traceID ${traceId} is a trace of the topology`);
        const value = Number(e.value);
        assert.ok(value > lower && value <= upper, `exemplar ${value} in (${lower}, ${le}]`);
        if (!cache.has(traceId)) {
          const res = await fetch(`${traces.base}/api/traces/${traceId}`);
          assert.equal(res.status, 200, `/api/traces/${traceId}`);
          cache.set(traceId, traceSpans(await res.json()));
        }
        const match = cache.get(traceId).find((sp) => sp.service === group.service && sp.name === group.span_name &&
          sp.kind === group.span_kind && sp.status === group.status_code && close(sp.seconds, value, 1e-12));
        assert.ok(match, `trace ${traceId} has a ${JSON.stringify(group)} span of ${value} s`);
        checked += 1;
      }
    }
    assert.deepEqual([...wantBuckets].filter((k) => !haveBuckets.has(k)), [], 'buckets without an exemplar');
    assert.deepEqual([...haveBuckets].filter((k) => !wantBuckets.has(k)), [], 'exemplars on buckets no span fell in');
    assert.ok(checked >= wantBuckets.size);
  });

  it('service-graph exemplars: traceID on server_seconds buckets finds the trace', async () => {
    const data = await prom.queryExemplars('traces_service_graph_request_server_seconds_bucket', { start: T / 1000 - RANGE_S, end: T / 1000 });
    const sentIds = new Set(sent.map((s) => s.traceId));
    let n = 0;
    for (const d of data) {
      for (const e of d.exemplars) {
        assert.ok(sentIds.has(e.labels.traceID), `traceID ${e.labels.traceID}`);
        const res = await fetch(`${traces.base}/api/traces/${e.labels.traceID}`);
        assert.equal(res.status, 200);
        n += 1;
      }
    }
    assert.ok(n >= serviceGraphEdges(REQUESTS).size, `${n} exemplars`);
  });

  it('sprout traces counts the generator\'s spans on /metrics', async () => {
    const samples = parsePrometheusText(await (await fetch(`${traces.base}/metrics`)).text());
    const spans = sent.reduce((n, s) => n + s.spans.length, 0);
    assert.equal(metricValue(samples, 'tempo_metrics_generator_spans_received_total'), spans);
    assert.equal(metricValue(samples, 'tempo_metrics_generator_registry_series_limited_total'), 0);
    assert.equal(metricValue(samples, 'tempo_metrics_generator_registry_active_series'),
      spanMetricsGroups(REQUESTS).size * (2 + SPAN_METRICS_BUCKETS.length + 3) +
      serviceGraphEdges(REQUESTS).size * (1 + 2 * (SERVICE_GRAPH_BUCKETS.length + 3)) +
      [...serviceGraphEdges(REQUESTS).values()].filter((e) => e.failed > 0).length);
  });

  it('sprout traces exits 0 on SIGTERM, its collections delivered up to the shutdown', async () => {
    const stopAt = Date.now();
    const exit = await traces.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, traces.log().slice(-3000));
    assert.doesNotMatch(traces.log(), /could not be written/);
    // a collection made at or after SIGTERM (Stop collects once more) reached both stores
    for (const p of [prom, sm]) {
      const newest = Math.max(...(await newestTimestamps(p, 'traces_spanmetrics_calls_total', Date.now() + 1000)).values());
      assert.ok(newest >= stopAt, `${p.name}: newest sample ${newest} ≥ SIGTERM at ${stopAt}`);
    }
  });
});

// Every span of a /api/traces/<id> JSON answer: {service, name, kind, status, seconds}.
function traceSpans(body) {
  const out = [];
  for (const rs of body.batches || []) {
    const attrs = (rs.resource && rs.resource.attributes) || [];
    const svc = attrs.find((a) => a.key === 'service.name');
    const service = svc ? svc.value.stringValue : '';
    for (const ss of rs.scopeSpans || []) {
      for (const sp of ss.spans || []) {
        out.push({
          service,
          name: sp.name,
          kind: sp.kind,
          status: (sp.status && sp.status.code) || 'STATUS_CODE_UNSET',
          seconds: Number(BigInt(sp.endTimeUnixNano) - BigInt(sp.startTimeUnixNano)) / 1e9,
        });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

// tempo_metrics_generator_registry_series_limited_total: Tempo's releases disagree — 2.x adds 1
// per refused series (as sprout: gamma's span makes 3), the LocalSeriesLimiter of early 3.x adds
// each refused series' cost (19), the newest Tempo refuses nothing and folds the excess into
// `metric_overflow="true"` series. The issue asks for refusal and a count: 2.x's count is checked.
const LIMITED_PER_SPAN = 3;

// A counter of sprout's /metrics equals `want`.
function expectCounter(samples, name, want) {
  assert.equal(metricValue(samples, name), want, name);
}

describe('metrics-generator: stale_duration and max_active_series', () => {
  const GROUP_SERIES = 1 + (SPAN_METRICS_BUCKETS.length + 3) + 1; // calls, latency, size
  // gamma's one span: calls, latency and size refused
  const LIMITED = LIMITED_PER_SPAN;
  let prom;
  let traces;
  const sdks = {};

  before(async () => {
    const dir = makeTempDir('sprout-e2e-generator-stale-');
    prom = new Prometheus({ dir });
    peers.push(prom);
    await prom.start();
    traces = await startGeneratorTraces(dir, {
      generator: {
        registry: { collection_interval: '1s', stale_duration: '3s' },
        storage: { path: path.join(dir, 'generator', 'wal'), remote_write: [{ url: prom.writeUrl, send_exemplars: true }] },
      },
      overridesYaml: `overrides:\n  defaults:\n    metrics_generator:\n      processors: ["service-graphs", "span-metrics"]\n      max_active_series: ${2 * GROUP_SERIES}\n`,
    });
    for (const name of ['alpha', 'beta', 'gamma']) sdks[name] = serviceSdk(traces.ports.http, name);
  });

  after(async () => {
    await Promise.allSettled(Object.values(sdks).map((s) => s.provider.shutdown()));
  });

  // One INTERNAL span `tick` of `service`, ending now (service graphs ignore INTERNAL spans: only
  // span metrics make series). Resolves to {sentAt, ackedAt} (ms).
  async function tick(service) {
    const sentAt = Date.now();
    spanAt(sdks[service], 'tick', api.SpanKind.INTERNAL, BigInt(sentAt - 5) * 1000000n, 5);
    await sdks[service].provider.forceFlush();
    return { sentAt, ackedAt: Date.now() };
  }
  const scrape = async () => parsePrometheusText(await (await fetch(`${traces.base}/metrics`)).text());
  const serviceSeries = async (service, timeMs = Date.now() + 1000) =>
    newestTimestamps(prom, `{__name__=~"traces_spanmetrics_.+",service="${service}"}`, timeMs, 60);
  const newest = (m) => Math.max(...m.values());

  it('refuses series over max_active_series, counts them, and frees the slots of stale series', async () => {
    // alpha and beta take the 38 slots.
    let running = true;
    const last = {};
    const loop = (async () => {
      while (running) {
        const [a, b] = await Promise.all([last.stopAlpha ? null : tick('alpha'), tick('beta')]);
        if (a) last.alpha = a;
        last.beta = b;
        await sleep(400);
      }
    })();
    try {
      await waitFor(async () => (await serviceSeries('alpha')).size === GROUP_SERIES && (await serviceSeries('beta')).size === GROUP_SERIES,
        { timeoutMs: 15000, intervalMs: 250, describe: 'alpha and beta series in Prometheus' });
      assert.equal(metricValue(await scrape(), 'tempo_metrics_generator_registry_active_series'), 2 * GROUP_SERIES);

      // gamma: refused, one count per series it would have made (calls, latency, size).
      const g = await tick('gamma');
      await waitFor(async () => metricValue(await scrape(), 'tempo_metrics_generator_registry_series_limited_total') > 0,
        { timeoutMs: 10000, describe: 'series_limited_total' });
      // two collections later, still nothing of gamma in Prometheus while beta advances
      await waitFor(async () => newest(await serviceSeries('beta')) > g.ackedAt + 1500, { timeoutMs: 10000, describe: 'beta collected after gamma' });
      assert.equal((await serviceSeries('gamma')).size, 0, 'gamma refused');
      expectCounter(await scrape(), 'tempo_metrics_generator_registry_series_limited_total', LIMITED);
      assert.equal((await instant(prom, 'count({__name__=~"traces_.+"})', Date.now() + 1000))[0].value[1], String(2 * GROUP_SERIES));

      // alpha stops; stale after 3 s: its series stop being written, beta's advance.
      last.stopAlpha = true;
      await sleep(500); // the tick in flight, if any, lands
      const alphaLast = last.alpha;
      await waitFor(async () => newest(await serviceSeries('beta')) > alphaLast.ackedAt + 5000, { timeoutMs: 15000, describe: 'beta 5 s past alpha\'s last span' });
      const alphaNewest = newest(await serviceSeries('alpha'));
      const betaBefore = newest(await serviceSeries('beta'));
      await sleep(2000);
      assert.equal(newest(await serviceSeries('alpha')), alphaNewest, 'alpha no longer written');
      assert.ok(newest(await serviceSeries('beta')) >= betaBefore + 1000, 'beta still written');
      // no stale marker (Tempo writes none): alpha's last value is still what an instant query sees
      assert.deepEqual((await instant(prom, 'traces_spanmetrics_calls_total{service="alpha"}', Date.now() + 1000)).map((r) => r.metric.service), ['alpha']);
      // written until stale_duration (3 s) after its last span, one collection interval of slack
      // each way (and the loop's lateness on a loaded machine)
      const idle = alphaNewest - alphaLast.sentAt;
      assert.ok(idle >= 1500 && idle <= 3000 + (alphaLast.ackedAt - alphaLast.sentAt) + 1500, `alpha written ${idle} ms after its last span`);
      // Tempo adds each removed series' cost (1 for a counter, buckets + 3 for a classic histogram)
      expectCounter(await scrape(), 'tempo_metrics_generator_registry_series_removed_total', GROUP_SERIES);
      assert.equal(metricValue(await scrape(), 'tempo_metrics_generator_registry_active_series'), GROUP_SERIES);

      // the freed slots take gamma now
      await tick('gamma');
      await waitFor(async () => (await serviceSeries('gamma')).size === GROUP_SERIES, { timeoutMs: 10000, describe: 'gamma series after alpha went stale' });
      expectCounter(await scrape(), 'tempo_metrics_generator_registry_series_limited_total', LIMITED);
    } finally {
      running = false;
      await loop;
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('metrics-generator: one registry per tenant, remote-written with X-Scope-OrgID', () => {
  it('a tenant\'s series reach sprout metrics under that tenant only', async () => {
    const dir = makeTempDir('sprout-e2e-generator-tenants-');
    const sm = new SproutMetrics({ dir, multitenancy: true, tenant: 'team-a' });
    peers.push(sm);
    await sm.start();
    const traces = await startGeneratorTraces(dir, {
      generator: {
        registry: { collection_interval: '1s' },
        storage: { path: path.join(dir, 'generator', 'wal'), remote_write: [{ url: sm.writeUrl }] },
      },
      overridesYaml: seedOverrides(),
      extraArgs: ['--set', 'multitenancy_enabled=true'],
    });
    // one client/server pair per tenant: team-a's checkout → payments, team-b's web → search
    const pairs = { 'team-a': ['checkout', 'payments'], 'team-b': ['web', 'search'] };
    const sdks = [];
    try {
      for (const [tenant, [client, server]] of Object.entries(pairs)) {
        const c = serviceSdk(traces.ports.http, client, { headers: { 'X-Scope-OrgID': tenant } });
        const s = serviceSdk(traces.ports.http, server, { headers: { 'X-Scope-OrgID': tenant } });
        sdks.push(c, s);
        const start = BigInt(Date.now() - 100) * 1000000n;
        const call = spanAt(c, 'GET /x', api.SpanKind.CLIENT, start, 50);
        spanAt(s, 'GET /x', api.SpanKind.SERVER, start + 5000000n, 40, { parent: call.span });
        await c.provider.forceFlush();
        await s.provider.forceFlush();
      }
      for (const [tenant, [client, server]] of Object.entries(pairs)) {
        const as = sm.as(tenant);
        await waitFor(async () => (await instant(as, 'traces_service_graph_request_total', Date.now() + 1000)).length > 0,
          { timeoutMs: 15000, intervalMs: 250, describe: `${tenant}'s edge in sprout metrics` });
        const got = (await instant(as, '{__name__=~"traces_service_graph_request_total|traces_spanmetrics_calls_total"}', Date.now() + 1000))
          .map((r) => `${r.metric.__name__} ${r.metric.client || r.metric.service}→${r.metric.server || r.metric.span_kind} ${r.value[1]}`).sort();
        assert.deepEqual(got, [
          `traces_service_graph_request_total ${client}→${server} 1`,
          `traces_spanmetrics_calls_total ${client}→SPAN_KIND_CLIENT 1`,
          `traces_spanmetrics_calls_total ${server}→SPAN_KIND_SERVER 1`,
        ].sort(), tenant);
      }
      assert.deepEqual(await instant(sm.as('team-c'), '{__name__=~"traces_.+"}', Date.now() + 1000), []);
    } finally {
      await Promise.allSettled(sdks.map((x) => x.provider.shutdown()));
      await traces.stop();
    }
  });
});

