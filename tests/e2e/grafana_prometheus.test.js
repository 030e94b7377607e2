'use strict';
// Grafana's Prometheus data source against `sprout metrics` and `sprout all`: every request of
// testdata/grafana_prometheus_requests.json (taken from the npm package @grafana/prometheus,
// version pinned in package.json; each fixture names the package file it comes from, and the
// test checks that file still holds the request) is replayed — at the data source URL of a
// Mimir-type data source (`/prometheus`) and of a Prometheus-type one (`/`), with the method
// Grafana uses (form POST for query, query_range, series and labels; GET otherwise) and the
// tenant header — over data written with remote write. The answers are checked in the shape
// Grafana parses (the envelope, resultType, result arrays, metadata and exemplar objects) and
// their values against the written data. `sprout all` runs with multi-tenancy on and the
// test's tenant, so its own telemetry (stored in the default tenant) is not in the answers.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { SproutMetrics, postRemoteWrite, writeRequestBody } = require('./lib/sprout_metrics');
const { startAll } = require('./lib/all');
const { freePorts, makeTempDir } = require('./lib/sprout');

const FIXTURES = require('./testdata/grafana_prometheus_requests.json');
const PKG_DIR = path.dirname(require.resolve('@grafana/prometheus/package.json'));

const TENANT = 'grafana';
const SELECTOR = 'grafana_e2e_requests_total{job="api"}';
const STEP = 60; // seconds
const SCRAPE = 15000; // ms between written samples

// Unix seconds, aligned on the step as Grafana's backend aligns a range.
const nowMs = Math.floor(Date.now() / 1000) * 1000;
const end = Math.floor(nowMs / 1000 / STEP) * STEP;
const start = end - 20 * 60;
const firstSample = (start - 30 * 60) * 1000;

// The written data: two counters (code 200: +2 per sample, code 500: +1), 15 s apart, from
// 50 min before `end` to `end`; an exemplar on the last code-200 sample; metadata.
const series = [
  { labels: { __name__: 'grafana_e2e_requests_total', code: '200', instance: 'i1', job: 'api' }, inc: 2 },
  { labels: { __name__: 'grafana_e2e_requests_total', code: '500', instance: 'i1', job: 'api' }, inc: 1 },
  { labels: { __name__: 'grafana_e2e_other', job: 'batch' }, inc: 0 },
];
for (const s of series) {
  s.samples = [];
  for (let t = firstSample, k = 0; t <= end * 1000; t += SCRAPE, k++) s.samples.push([t, s.inc * k + (s.inc === 0 ? 7 : 0)]);
}
const exemplarT = series[0].samples[series[0].samples.length - 1][0];

// The value a plain selector gives at `t` (ms): the last sample at or before t within 5 min.
function selectorValue(s, t) {
  let v;
  for (const [st, sv] of s.samples) if (st <= t && st > t - 300000) v = sv;
  return v;
}

function fill(value) {
  const map = {
    $start: String(start),
    $end: String(end),
    $startMs: String(start * 1000),
    $endMs: String(end * 1000),
    $step: String(STEP),
    $selector: SELECTOR,
  };
  return map[value] !== undefined ? map[value] : value;
}

const matching = series.filter((s) => s.labels.job === 'api');

// The checks per `expect`: each gets the parsed body (status 200 already checked).
const CHECKS = {
  'scalar-two'(body) {
    assert.equal(body.data.resultType, 'scalar');
    assert.deepEqual(body.data.result, [end, '2']);
  },
  buildinfo(body) {
    const d = body.data;
    for (const k of ['version', 'revision', 'branch', 'buildUser', 'buildDate', 'goVersion']) {
      assert.equal(typeof d[k], 'string', k);
    }
    assert.match(d.version, /^\d+\.\d+\.\d+/); // Grafana compares it with semver
    assert.equal(d.application, 'Grafana Mimir');
    assert.equal(d.features.ruler_config_api, 'false');
  },
  'matrix-of-selector'(body) {
    assert.equal(body.data.resultType, 'matrix');
    const want = matching.map((s) => {
      const values = [];
      for (let t = start; t <= end; t += STEP) values.push([t, String(selectorValue(s, t * 1000))]);
      return { metric: s.labels, values };
    });
    assert.deepEqual(body.data.result, want);
  },
  'matrix-rate-by-code'(body) {
    assert.equal(body.data.resultType, 'matrix');
    assert.deepEqual(body.data.result.map((r) => r.metric), [{ code: '200' }, { code: '500' }]);
    for (const [i, r] of body.data.result.entries()) {
      const perSecond = matching[i].inc / (SCRAPE / 1000);
      assert.equal(r.values.length, (end - start) / STEP + 1);
      for (const [t, v] of r.values) {
        assert.equal(typeof t, 'number');
        assert.ok(Math.abs(Number(v) - perSecond) <= perSecond * 1e-9, `${r.metric.code} at ${t}: ${v} vs ${perSecond}`);
      }
    }
  },
  'vector-of-selector'(body) {
    assert.equal(body.data.resultType, 'vector');
    const got = [...body.data.result].sort((a, b) => (a.metric.code < b.metric.code ? -1 : 1));
    assert.deepEqual(got, matching.map((s) => ({ metric: s.labels, value: [end, String(selectorValue(s, end * 1000))] })));
  },
  'exemplars-of-selector'(body) {
    assert.deepEqual(body.data, [{
      seriesLabels: series[0].labels,
      exemplars: [{ labels: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' }, value: String(series[0].samples.at(-1)[1]), timestamp: exemplarT / 1000 }],
    }]);
  },
  'success-empty-list'(body) {
    assert.deepEqual(body.data, []);
  },
  'rules-empty'(body) {
    assert.deepEqual(body.data, { groups: [] });
  },
  'metric-names'(body) {
    assert.deepEqual(body.data, ['grafana_e2e_other', 'grafana_e2e_requests_total']);
  },
  'label-names-of-selector'(body) {
    assert.deepEqual(body.data, ['__name__', 'code', 'instance', 'job']);
  },
  'code-values'(body) {
    assert.deepEqual(body.data, ['200', '500']);
  },
  'series-of-selector'(body) {
    assert.deepEqual(body.data, matching.map((s) => s.labels));
  },
  'series-all'(body) {
    assert.deepEqual(body.data, [series[2].labels, series[0].labels, series[1].labels]);
  },
  metadata(body) {
    assert.deepEqual(body.data, {
      grafana_e2e_requests_total: [{ type: 'counter', help: 'Requests served by the API.', unit: '' }],
    });
  },
};

function replayAgainst(target, makeServer) {
  describe(`Grafana Prometheus data source requests (@grafana/prometheus fixtures) on ${target}`, () => {
    let sm;
    before(async () => {
      sm = await makeServer();
      const timeseries = series.map((s) => ({
        labels: Object.entries(s.labels).map(([name, value]) => ({ name, value })),
        samples: s.samples.map(([timestamp, value]) => ({ timestamp, value })),
      }));
      timeseries[0].exemplars = [{
        labels: [{ name: 'trace_id', value: '4bf92f3577b34da6a3ce929d0e0e4736' }],
        value: series[0].samples.at(-1)[1],
        timestamp: exemplarT,
      }];
      const res = await sm.push({
        timeseries,
        metadata: [{ type: 1, metricFamilyName: 'grafana_e2e_requests_total', help: 'Requests served by the API.', unit: '' }],
      });
      assert.equal(res.status, 200, res.text);
    });
    after(async () => {
      if (sm) await sm.stop();
    });

    it('the fixtures come from the pinned package', () => {
      const pkg = require('@grafana/prometheus/package.json');
      assert.equal(pkg.version, FIXTURES.version);
      assert.equal(require('./package.json').dependencies['@grafana/prometheus'], FIXTURES.version);
      for (const f of FIXTURES.requests) {
        const text = fs.readFileSync(path.join(PKG_DIR, f.anchorFile), 'utf8');
        assert.ok(text.includes(f.anchor), `${f.name}: ${f.anchorFile} no longer contains ${f.anchor}`);
        assert.ok(CHECKS[f.expect], `${f.name}: no check ${f.expect}`);
      }
    });

    for (const f of FIXTURES.requests) {
      for (const prefix of ['/prometheus', '']) {
        it(`${f.name} (${f.method} ${prefix}${f.path})`, async () => {
          const params = new URLSearchParams();
          for (const [k, v] of Object.entries(f.params)) params.append(k, fill(v));
          const url = `${sm.baseUrl}${prefix}${f.path}`;
          const res = f.method === 'GET'
            ? await fetch(`${url}?${params}`, { headers: sm.headers() })
            : await fetch(url, {
              method: 'POST',
              headers: sm.headers({ 'Content-Type': 'application/x-www-form-urlencoded' }),
              body: params.toString(),
            });
          const text = await res.text();
          assert.equal(res.status, 200, text);
          assert.match(res.headers.get('content-type'), /^application\/json/);
          const body = JSON.parse(text);
          assert.equal(body.status, 'success', text);
          CHECKS[f.expect](body);
        });
      }
    }

    it('Grafana falls back to GET after a 400/405 on POST: the POST-able endpoints answer GET the same', async () => {
      const params = new URLSearchParams({ query: SELECTOR, time: String(end) });
      const get = await (await fetch(`${sm.baseUrl}/prometheus/api/v1/query?${params}`, { headers: sm.headers() })).json();
      const post = await (await fetch(`${sm.baseUrl}/prometheus/api/v1/query`, {
        method: 'POST', headers: sm.headers({ 'Content-Type': 'application/x-www-form-urlencoded' }), body: params.toString(),
      })).json();
      assert.deepEqual(get, post);
    });
  });
}

// `sprout all` seen through the same interface as SproutMetrics (base URL, tenant header, push).
async function startAllAsMetrics() {
  const [api, grpc, http] = await freePorts(3);
  const all = startAll(makeTempDir('sprout-e2e-grafana-all-'), { api, grpc, http },
    ['--set', 'multitenancy_enabled=true']);
  await all.ready();
  return {
    baseUrl: all.base,
    headers: (extra = {}) => ({ 'X-Scope-OrgID': TENANT, ...extra }),
    push(data) {
      return postRemoteWrite(`${all.base}/api/v1/push`, writeRequestBody(data), { headers: { 'X-Scope-OrgID': TENANT } });
    },
    async stop() {
      const exit = await all.stop();
      assert.equal(exit.code, 0, all.log());
    },
  };
}

replayAgainst('sprout metrics', async () => {
  const sm = new SproutMetrics({ name: 'sprout-grafana', multitenancy: true, tenant: TENANT });
  await sm.start();
  return sm;
});
replayAgainst('sprout all', startAllAsMetrics);
