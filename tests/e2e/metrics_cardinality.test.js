'use strict';
// The cardinality endpoints (issue 15 item 5) on `sprout metrics` and `sprout all`: a known
// series set is remote-written, and every endpoint answers the counts written down from the
// set's construction. Prometheus's /api/v1/status/tsdb is also compared with Debian's
// `prometheus` 2.42 given the same set by remote write, for the fields both have.
//
// The set (16 series, one sample each):
//   card_http_requests_total  job=api: method GET, POST × status 200, 500; PUT, DELETE × 200 (6)
//                             job=web: GET × 200, 500; POST × 200                             (3)
//   card_up                   job=api, web, db, cache                                         (4)
//   card_queue_depth          queue=q1                                                        (1)
//   card_temp                 room=a, b — its samples 30 minutes old: not active (Mimir's
//                             20 min idle timeout)                                            (2)
// so: numSeries 16; label pairs __name__ 4, job 4, method 4, status 2, queue 1, room 2 = 17.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { Prometheus, remoteWrite } = require('./lib/prom');
const { SproutMetrics, postRemoteWrite, writeRequestBody } = require('./lib/sprout_metrics');
const { startAll } = require('./lib/all');
const { freePorts, makeTempDir } = require('./lib/sprout');

const TENANT = 'card';
const NOW = Date.now();
const RECENT = NOW - 60 * 1000;
const OLD = NOW - 30 * 60 * 1000;

function series() {
  const out = [];
  const add = (labels, t) => out.push({ labels, t });
  const http = (job, method, status) => add({ __name__: 'card_http_requests_total', job, method, status }, RECENT);
  for (const m of ['GET', 'POST']) for (const s of ['200', '500']) http('api', m, s);
  http('api', 'PUT', '200');
  http('api', 'DELETE', '200');
  http('web', 'GET', '200');
  http('web', 'GET', '500');
  http('web', 'POST', '200');
  for (const job of ['api', 'web', 'db', 'cache']) add({ __name__: 'card_up', job }, RECENT);
  add({ __name__: 'card_queue_depth', queue: 'q1' }, RECENT);
  for (const room of ['a', 'b']) add({ __name__: 'card_temp', room }, OLD);
  return out;
}
const SET = series();

function writeData() {
  return {
    timeseries: SET.map(({ labels, t }) => ({
      labels: Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, value]) => ({ name, value })),
      samples: [{ timestamp: t, value: 1 }],
    })),
  };
}

// The series per label value over `list` (the construction, counted): {name: {value: n}}.
function countPairs(list) {
  const out = {};
  for (const { labels } of list) {
    for (const [n, v] of Object.entries(labels)) {
      out[n] ??= {};
      out[n][v] = (out[n][v] ?? 0) + 1;
    }
  }
  return out;
}
const byCountThenName = (a, b) => b.value - a.value || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

// Prometheus's four lists, complete (not cut to a limit), sorted count desc then name.
function statusLists(list) {
  const pairs = countPairs(list);
  const metrics = Object.entries(pairs.__name__).map(([name, value]) => ({ name, value }));
  const valuesPerName = Object.entries(pairs).map(([name, vals]) => ({ name, value: Object.keys(vals).length }));
  const bytesPerName = Object.entries(pairs).map(([name, vals]) => ({
    name, value: Object.keys(vals).reduce((s, v) => s + Buffer.byteLength(v), 0),
  }));
  const pairCounts = [];
  for (const [n, vals] of Object.entries(pairs)) for (const [v, c] of Object.entries(vals)) pairCounts.push({ name: `${n}=${v}`, value: c });
  return {
    seriesCountByMetricName: metrics.sort(byCountThenName),
    labelValueCountByLabelName: valuesPerName.sort(byCountThenName),
    memoryInBytesByLabelName: bytesPerName.sort(byCountThenName),
    seriesCountByLabelValuePair: pairCounts.sort(byCountThenName),
  };
}

async function get(target, path, { tenant = TENANT, method = 'GET', params } = {}) {
  const headers = tenant ? { 'X-Scope-OrgID': tenant } : {};
  let res;
  if (method === 'POST') {
    res = await fetch(`${target}${path}`, {
      method, headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' }, body: params ?? '',
    });
  } else {
    res = await fetch(`${target}${path}${params ? `?${params}` : ''}`, { headers });
  }
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}

function checkEndpoints(name, start) {
  describe(`cardinality endpoints on ${name}`, () => {
    let target;
    let prom;
    before(async () => {
      target = await start();
      const res = await postRemoteWrite(`${target.base}/api/v1/push`, writeRequestBody(writeData()), { headers: { 'X-Scope-OrgID': TENANT } });
      assert.equal(res.status, 200, res.text);
      prom = await new Prometheus().start();
      const pr = await remoteWrite(prom.writeUrl, writeData());
      assert.ok(pr.status < 300, pr.body);
    });
    after(async () => {
      if (prom) await prom.stop();
      if (target) await target.stop();
    });

    it('/api/v1/status/tsdb: the counts of the set, and Prometheus 2.42 answers the same', async () => {
      const want = statusLists(SET);
      // The hand-written figures of the construction.
      assert.deepEqual(want.seriesCountByMetricName.map((s) => [s.name, s.value]),
        [['card_http_requests_total', 9], ['card_up', 4], ['card_temp', 2], ['card_queue_depth', 1]]);
      assert.deepEqual(want.labelValueCountByLabelName.map((s) => s.value), [4, 4, 4, 2, 2, 1]);
      for (const prefix of ['', '/prometheus']) {
        const r = await get(target.base, `${prefix}/api/v1/status/tsdb`, { params: 'limit=100' });
        assert.equal(r.status, 200, r.text);
        const ours = JSON.parse(r.text);
        assert.equal(ours.status, 'success');
        assert.deepEqual(ours.data.headStats, { numSeries: 16, numLabelPairs: 17, chunkCount: 16, minTime: OLD, maxTime: RECENT });
        for (const key of Object.keys(want)) assert.deepEqual(ours.data[key], want[key], key);
      }
      // Default limit 10: the first 10 of each list.
      const def = JSON.parse((await get(target.base, '/api/v1/status/tsdb')).text).data;
      for (const key of Object.keys(want)) assert.deepEqual(def[key], want[key].slice(0, 10), key);

      // Prometheus 2.42 (top 10, its `limit` parameter came later): the same headStats; each list
      // the same counts in the same order, every entry one of the set's (the order of equal
      // counts, and which of them make the cut, is its heap's).
      const theirs = JSON.parse((await get(prom.baseUrl, '/api/v1/status/tsdb', { tenant: '' })).text).data;
      assert.deepEqual(theirs.headStats, def.headStats);
      for (const key of Object.keys(want)) {
        assert.deepEqual(theirs[key].map((s) => s.value), def[key].map((s) => s.value), key);
        for (const s of theirs[key]) assert.ok(want[key].some((w) => w.name === s.name && w.value === s.value), `${key} ${s.name}`);
      }
      const bad = await get(target.base, '/api/v1/status/tsdb', { params: 'limit=0' });
      assert.equal(bad.status, 400);
      assert.deepEqual(JSON.parse(bad.text), { status: 'error', errorType: 'bad_data', error: 'limit must be a positive number' });
    });

    it('/api/v1/cardinality/label_names: inmemory, a selector, active, limit; GET and POST', async () => {
      for (const method of ['GET', 'POST']) {
        for (const prefix of ['', '/prometheus']) {
          const r = await get(target.base, `${prefix}/api/v1/cardinality/label_names`, { method });
          assert.equal(r.status, 200, r.text);
          assert.match(r.type, /application\/json/);
          assert.deepEqual(JSON.parse(r.text), {
            label_values_count_total: 17,
            label_names_count: 6,
            cardinality: [
              { label_name: '__name__', label_values_count: 4 }, { label_name: 'job', label_values_count: 4 },
              { label_name: 'method', label_values_count: 4 }, { label_name: 'room', label_values_count: 2 },
              { label_name: 'status', label_values_count: 2 }, { label_name: 'queue', label_values_count: 1 },
            ],
          });
        }
      }
      // job="web": card_http_requests_total × 3 (GET 200, GET 500, POST 200) and card_up.
      let r = await get(target.base, '/prometheus/api/v1/cardinality/label_names', { params: new URLSearchParams({ selector: '{job="web"}' }) });
      assert.deepEqual(JSON.parse(r.text), {
        label_values_count_total: 7,
        label_names_count: 4,
        cardinality: [
          { label_name: '__name__', label_values_count: 2 }, { label_name: 'method', label_values_count: 2 },
          { label_name: 'status', label_values_count: 2 }, { label_name: 'job', label_values_count: 1 },
        ],
      });
      // active: card_temp (room) is 30 min old.
      r = await get(target.base, '/api/v1/cardinality/label_names', { params: 'count_method=active&limit=2' });
      assert.deepEqual(JSON.parse(r.text), {
        label_values_count_total: 14,
        label_names_count: 5,
        cardinality: [{ label_name: 'job', label_values_count: 4 }, { label_name: 'method', label_values_count: 4 }],
      });
    });

    it('/api/v1/cardinality/label_values: series per value, sorted as Mimir', async () => {
      const params = new URLSearchParams([['label_names[]', 'status'], ['label_names[]', 'job'], ['label_names[]', 'room']]);
      for (const method of ['GET', 'POST']) {
        const r = await get(target.base, '/prometheus/api/v1/cardinality/label_values', { method, params: params.toString() });
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(JSON.parse(r.text), {
          series_count_total: 16,
          labels: [
            { label_name: 'job', label_values_count: 4, series_count: 13, cardinality: [
              { label_value: 'api', series_count: 7 }, { label_value: 'web', series_count: 4 },
              { label_value: 'cache', series_count: 1 }, { label_value: 'db', series_count: 1 }] },
            { label_name: 'status', label_values_count: 2, series_count: 9, cardinality: [
              { label_value: '200', series_count: 6 }, { label_value: '500', series_count: 3 }] },
            { label_name: 'room', label_values_count: 2, series_count: 2, cardinality: [
              { label_value: 'a', series_count: 1 }, { label_value: 'b', series_count: 1 }] },
          ],
        });
      }
      const r = await get(target.base, '/api/v1/cardinality/label_values',
        { params: new URLSearchParams({ 'label_names[]': 'method', selector: 'card_http_requests_total{job="api"}', limit: '1', count_method: 'active' }).toString() });
      assert.deepEqual(JSON.parse(r.text), {
        series_count_total: 14,
        labels: [{ label_name: 'method', label_values_count: 4, series_count: 6, cardinality: [{ label_value: 'GET', series_count: 2 }] }],
      });
    });

    it('/api/v1/cardinality/active_series: the active series of the selector', async () => {
      let r = await get(target.base, '/api/v1/cardinality/active_series', { params: 'selector=card_up' });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(JSON.parse(r.text), {
        data: ['api', 'cache', 'db', 'web'].map((job) => ({ __name__: 'card_up', job })),
      });
      r = await get(target.base, '/prometheus/api/v1/cardinality/active_series', { method: 'POST', params: 'selector=card_temp' });
      assert.deepEqual(JSON.parse(r.text), { data: [] });
    });

    it('/api/v1/user_stats: the tenant\'s series and Mimir\'s fields', async () => {
      const r = await get(target.base, '/api/v1/user_stats');
      assert.equal(r.status, 200, r.text);
      const body = JSON.parse(r.text);
      assert.deepEqual(Object.keys(body), ['ingestionRate', 'numSeries', 'APIIngestionRate', 'RuleIngestionRate']);
      assert.equal(body.numSeries, 16);
      assert.equal(body.RuleIngestionRate, 0);
      assert.equal(body.ingestionRate, body.APIIngestionRate);
      // 16 samples in a 15 s tick at most: 16/15 per second before the rate decays.
      assert.ok(body.APIIngestionRate >= 0 && body.APIIngestionRate <= 16 / 15 + 1e-9, r.text);
    });

    it('errors: Mimir\'s texts and codes', async () => {
      const cases = [
        ['/api/v1/cardinality/label_values', '', "'label_names[]' param is required\n"],
        ['/api/v1/cardinality/label_names', 'limit=501', "'limit' param cannot be greater than '500'\n"],
        ['/api/v1/cardinality/label_names', 'limit=-1', "'limit' param cannot be less than '0'\n"],
        ['/api/v1/cardinality/label_names', 'limit=ten', 'strconv.Atoi: parsing "ten": invalid syntax\n'],
        ['/api/v1/cardinality/label_names', 'count_method=all', "invalid 'count_method' param 'all'. valid options are: [active,inmemory]\n"],
        ['/api/v1/cardinality/active_series', '', "missing 'selector' parameter\n"],
      ];
      for (const [path, params, text] of cases) {
        const r = await get(target.base, path, { params });
        assert.equal(r.status, 400, `${path}?${params}`);
        assert.equal(r.text, text);
      }
      const r = await get(target.base, '/api/v1/cardinality/label_names', { params: new URLSearchParams({ selector: '{job=' }).toString() });
      assert.equal(r.status, 400);
      assert.match(r.text, /^failed to parse selector: /);
      const noTenant = await get(target.base, '/api/v1/cardinality/label_names', { tenant: '' });
      assert.equal(noTenant.status, 401);
      assert.equal(noTenant.text, 'no org id\n');
    });
  });
}

checkEndpoints('sprout metrics', async () => {
  const sm = new SproutMetrics({ name: 'sprout-cardinality', multitenancy: true, tenant: TENANT, sets: ['limits.cardinality_analysis_enabled=true'] });
  await sm.start();
  return { base: sm.baseUrl, stop: () => sm.stop() };
});

checkEndpoints('sprout all', async () => {
  const [api, grpc, http] = await freePorts(3);
  const all = startAll(makeTempDir('sprout-e2e-cardinality-all-'), { api, grpc, http },
    ['--set', 'multitenancy_enabled=true', '--set', 'metrics.limits.cardinality_analysis_enabled=true']);
  await all.ready();
  return {
    base: all.base,
    async stop() {
      const exit = await all.stop();
      assert.equal(exit.code, 0, all.log());
    },
  };
});

describe('cardinality analysis off (Mimir\'s default)', () => {
  let sm;
  before(async () => {
    sm = await new SproutMetrics({ name: 'sprout-cardinality-off', multitenancy: true, tenant: TENANT }).start();
  });
  after(async () => { if (sm) await sm.stop(); });
  it('answers 400 with Mimir\'s text; /api/v1/status/tsdb still answers', async () => {
    for (const path of ['/api/v1/cardinality/label_names', '/api/v1/cardinality/label_values?label_names[]=job', '/api/v1/cardinality/active_series?selector=up']) {
      const r = await get(sm.baseUrl, path);
      assert.equal(r.status, 400, path);
      assert.equal(r.text, `cardinality analysis is disabled for the tenant: ${TENANT}\n`);
    }
    assert.equal((await get(sm.baseUrl, '/api/v1/status/tsdb')).status, 200);
  });
});
