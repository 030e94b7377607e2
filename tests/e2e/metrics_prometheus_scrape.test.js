'use strict';
// Issue 9's first acceptance item, the exemplar and native-histogram part of "a real Prometheus
// lands data in sprout": Debian's `prometheus` 2.42 (native histograms and exemplar storage on)
// scrapes a target whose every answer is known (lib/scrape_target.js) every second and
// remote-writes (exemplars and native histograms on, one shard) to `sprout metrics`:
//
//  - OpenMetrics text with exemplars (counter and histogram buckets, with and without their own
//    timestamp): sprout's /api/v1/query_exemplars answers exactly what Prometheus's answers for
//    the same selectors and range (series labels, exemplar labels, values, timestamps), and the
//    exemplars are the ones the target served;
//  - the protobuf exposition format, the only one Prometheus 2.42 reads native histograms from:
//    every histogram sprout returns through remote read is one the target served (schema, zero
//    threshold and count, count, sum, spans and deltas), none missing in between, a new bucket
//    span included; and they equal what Prometheus itself holds, read through its query API as
//    `x[window]` (Prometheus 2.42's remote read answers native-histogram series without their
//    samples, so its JSON is the only view of its own histograms).
//
// The compared window is chosen as in metrics_prometheus.test.js: from 8 s after Prometheus
// started (the remote-write queue skips what was appended before it began tailing its WAL) to a
// cut, and sprout must hold a scrape taken 2 s after the cut before anything is compared (one
// shard: batches go out in WAL order).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');

const { Prometheus, labelKey } = require('./lib/prom');
const { expandBuckets, mapEntries } = require('./lib/native_histogram');
const { ScrapeTarget } = require('./lib/scrape_target');
const { makeTempDir, metricValue, parsePrometheusText, sleep, waitFor, freePort } = require('./lib/sprout');
const { SproutMetrics, histogramToPromJson, remoteReadRaw, rawSampleBytes, toMatrix } = require('./lib/sprout_metrics');

const SCRAPE_SECONDS = 14;

const sortSeries = (results) => [...results].sort((a, b) => (labelKey(a.seriesLabels) < labelKey(b.seriesLabels) ? -1 : 1));

describe('Prometheus scraping exemplars (OpenMetrics) and native histograms (protobuf), remote_write → sprout metrics', () => {
  let sprout;
  let prometheus;
  let target;
  let window;

  before(async () => {
    const dir = makeTempDir('sprout-metrics-scrape-');
    sprout = new SproutMetrics({ dir });
    await sprout.start();
    target = await new ScrapeTarget().start();
    prometheus = new Prometheus({ dir, port: await freePort() });
    fs.writeFileSync(
      prometheus.configFile,
      `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: openmetrics
    metrics_path: /openmetrics
    static_configs:
      - targets: ['${target.address}']
  - job_name: protobuf
    metrics_path: /protobuf
    static_configs:
      - targets: ['${target.address}']
remote_write:
  - url: ${sprout.writeUrl}
    send_exemplars: true
    send_native_histograms: true
    queue_config:
      min_shards: 1
      max_shards: 1
      batch_send_deadline: 500ms
      min_backoff: 50ms
      max_backoff: 1s
`,
    );
    const startMs = Date.now();
    await prometheus.start();
    await sleep(SCRAPE_SECONDS * 1000);
    const cut = Date.now() - 500;
    window = { start: startMs + 8000, end: cut };
    // Both jobs' `up` after cut + 2 s in sprout: everything appended before it was sent.
    await waitFor(
      async () => {
        const [series] = await sprout.remoteRead([{ start: cut + 2000, end: Date.now() + 1000, matchers: '{__name__="up"}' }]);
        return series.length === 2 && series.every((s) => s.samples.length > 0);
      },
      {
        timeoutMs: 30000,
        intervalMs: 250,
        describe: () => `sprout to hold both jobs' up after ${cut}; prometheus log:\n${prometheus.log.slice(-3000)}\nsprout log:\n${sprout.log.slice(-3000)}`,
      },
    );
  });

  after(async () => {
    await Promise.all([prometheus && prometheus.kill(), sprout && sprout.kill(), target && target.stop()]);
  });

  it('Prometheus negotiated the protobuf format, scraped both endpoints and sent everything', async () => {
    assert.ok(target.accept.some((a) => a.startsWith('application/vnd.google.protobuf')), `Accept headers: ${[...new Set(target.accept)]}`);
    assert.ok(target.scrapes.openmetrics >= 8 && target.scrapes.protobuf >= 8, JSON.stringify(target.scrapes));
    const up = await prometheus.query('up');
    assert.deepEqual(up.map((r) => [r.metric.job, r.value[1]]).sort(), [['openmetrics', '1'], ['protobuf', '1']]);
    const m = parsePrometheusText(await (await fetch(`${prometheus.baseUrl}/metrics`)).text());
    for (const name of [
      'prometheus_remote_storage_samples_failed_total',
      'prometheus_remote_storage_histograms_failed_total',
      'prometheus_remote_storage_exemplars_failed_total',
      'prometheus_remote_storage_samples_dropped_total',
    ]) {
      const v = metricValue(m, name);
      assert.ok(v === null || v === 0, `${name} = ${v}; prometheus log:\n${prometheus.log.slice(-3000)}`);
    }
    assert.ok(metricValue(m, 'prometheus_remote_storage_exemplars_total') > 0, 'exemplars were sent');
    assert.ok(metricValue(m, 'prometheus_remote_storage_histograms_total') > 0, 'histograms were sent');
  });

  const SELECTORS = [
    '{job="openmetrics"}',
    'shop_orders_total',
    'shop_latency_seconds_bucket{le!="1", job="openmetrics"}',
  ];

  it('/api/v1/query_exemplars answers exactly what Prometheus answers (same selectors, same ranges)', async () => {
    const middle = Math.round((window.start + window.end) / 2);
    const ranges = [
      { start: window.start / 1000, end: window.end / 1000 },
      { start: middle / 1000, end: window.end / 1000 }, // a range that cuts the series' exemplars
    ];
    let total = 0;
    for (const selector of SELECTORS) {
      for (const range of ranges) {
        const q = { query: selector, ...range };
        const theirs = sortSeries(await prometheus.api('/api/v1/query_exemplars', q));
        const ours = sortSeries(await sprout.api('/api/v1/query_exemplars', q));
        assert.deepEqual(ours, theirs, `${selector} ${JSON.stringify(range)}`);
        total += theirs.reduce((n, s) => n + s.exemplars.length, 0);
      }
    }
    // Something real was compared: the window holds several scrapes' exemplars of each kind.
    const all = await prometheus.api('/api/v1/query_exemplars', { query: SELECTORS[0], start: window.start / 1000, end: window.end / 1000 });
    assert.deepEqual(all.map((s) => labelKey(s.seriesLabels)).sort(), [
      labelKey({ __name__: 'shop_latency_seconds_bucket', instance: target.address, job: 'openmetrics', le: '+Inf' }),
      labelKey({ __name__: 'shop_latency_seconds_bucket', instance: target.address, job: 'openmetrics', le: '0.1' }),
      labelKey({ __name__: 'shop_orders_total', channel: 'web', instance: target.address, job: 'openmetrics' }),
    ].sort());
    for (const s of all) assert.ok(s.exemplars.length >= 4, `${labelKey(s.seriesLabels)}: ${s.exemplars.length} exemplars`);
    assert.ok(total > 20, `${total} exemplars compared`);
    // The Mimir prefix and form POST answer the same.
    const q = { query: SELECTORS[1], start: window.start / 1000, end: window.end / 1000 };
    const plain = sortSeries(await sprout.api('/api/v1/query_exemplars', q));
    assert.deepEqual(sortSeries(await sprout.api('/prometheus/api/v1/query_exemplars', q, { method: 'POST' })), plain);
  });

  it('holds the exemplars the target served (labels, values, timestamps)', async () => {
    const [orders] = await sprout.api('/api/v1/query_exemplars', { query: 'shop_orders_total', start: window.start / 1000, end: window.end / 1000 });
    // Each exemplar is one scrape's: trace_id and span_id of one n, value n % 4 + 1, and the
    // timestamp the target wrote (milliseconds), strictly increasing.
    const ids = new Map();
    for (let n = 1; n <= target.scrapes.openmetrics; n++) {
      const hex = (bytes, salt) => (BigInt(n) * 0x9e3779b97f4a7c15n + BigInt(salt)).toString(16).padStart(bytes * 2, '0').slice(-bytes * 2);
      ids.set(hex(16, 1), { n, spanId: hex(8, 2) });
    }
    let last = -Infinity;
    for (const e of orders.exemplars) {
      const scrape = ids.get(e.labels.trace_id);
      assert.ok(scrape, `an exemplar the target never served: ${JSON.stringify(e)}`);
      assert.deepEqual(e.labels, { trace_id: e.labels.trace_id, span_id: scrape.spanId });
      assert.equal(e.value, String((scrape.n % 4) + 1));
      assert.ok(e.timestamp > last && e.timestamp >= window.start / 1000 && e.timestamp <= window.end / 1000, JSON.stringify(e));
      last = e.timestamp;
    }
    // The +Inf bucket's exemplars had no timestamp: Prometheus gave them the scrape's time, which
    // is the time of the bucket's own sample.
    const inf = { __name__: 'shop_latency_seconds_bucket', instance: target.address, job: 'openmetrics', le: '+Inf' };
    const [infExemplars] = await sprout.api('/api/v1/query_exemplars', { query: `shop_latency_seconds_bucket{le="+Inf"}`, start: window.start / 1000, end: window.end / 1000 });
    assert.deepEqual(infExemplars.seriesLabels, inf);
    const [samples] = await sprout.remoteRead([{ start: window.start, end: window.end, matchers: 'shop_latency_seconds_bucket{le="+Inf"}' }]);
    const sampleTimes = new Set(samples[0].samples.map(([t]) => t));
    for (const e of infExemplars.exemplars) {
      assert.ok(sampleTimes.has(Math.round(e.timestamp * 1000)), `exemplar at ${e.timestamp} is at no scrape's time`);
      assert.equal(e.labels.route, '/cart');
      assert.equal(e.value, '3.2');
    }
  });

  it('takes the selectors of any PromQL expression, as Prometheus does', async () => {
    const range = { start: window.start / 1000, end: window.end / 1000 };
    for (const query of [
      'rate(shop_orders_total[1m])',
      'histogram_quantile(0.9, sum by (le) (rate(shop_latency_seconds_bucket[5m]))) + on() group_left max_over_time(shop_orders_total[1h:1m])',
    ]) {
      const theirs = sortSeries(await prometheus.api('/api/v1/query_exemplars', { query, ...range }));
      assert.ok(theirs.length > 0, query);
      assert.deepEqual(sortSeries(await sprout.api('/api/v1/query_exemplars', { query, ...range })), theirs, query);
    }
    // No selector: 204 without a body from both.
    for (const base of [prometheus.baseUrl, sprout.baseUrl]) {
      const res = await fetch(`${base}/api/v1/query_exemplars?${new URLSearchParams({ query: '1' })}`);
      assert.equal(res.status, 204);
      assert.equal(await res.text(), '');
    }
    // A malformed selector gets PromQL's own parse error, as from Prometheus.
    const bad = 'shop_orders_total{channel=}';
    const theirs = await fetch(`${prometheus.baseUrl}/api/v1/query_exemplars?${new URLSearchParams({ query: bad })}`);
    const ours = await fetch(`${sprout.baseUrl}/api/v1/query_exemplars?${new URLSearchParams({ query: bad })}`);
    assert.equal(ours.status, theirs.status);
    assert.deepEqual(await ours.json(), await theirs.json());
  });

  const HISTOGRAMS = ['shop_request_size_bytes', 'shop_payload_ratio'];

  it('holds every native histogram the target served in the window, as served (remote read)', async () => {
    for (const name of HISTOGRAMS) {
      const [series] = await sprout.remoteRead([{ start: window.start, end: window.end, matchers: `${name}{job="protobuf"}` }]);
      assert.equal(series.length, 1, `${name}: ${JSON.stringify(series.map((s) => s.labels))}`);
      const hs = series[0].histograms;
      assert.ok(hs.length >= 4, `${name}: ${hs.length} histograms in the window`);
      assert.equal(series[0].samples.length, 0, `${name} has float samples`);
      let prev = null;
      for (const h of hs) {
        const count = Number(h.countInt);
        const served = target.servedWithCount(name, count);
        assert.ok(served, `${name}: a histogram with count ${count} was never served: ${JSON.stringify(h)}`);
        const what = `${name} at ${h.timestamp} (count ${count})`;
        assert.equal(h.countFloat, undefined, `${what}: an integer histogram`);
        assert.equal(h.schema || 0, served.schema, `${what} schema`);
        assert.equal(h.zeroThreshold, served.zeroThreshold, `${what} zero threshold`);
        assert.equal(Number(h.zeroCountInt || 0), served.zeroCount, `${what} zero count`);
        assert.equal(h.sum, served.sum, `${what} sum`);
        // The wire form as the target wrote it (Prometheus passes it through).
        const spans = (xs) => (xs || []).map((s) => ({ offset: s.offset || 0, length: s.length || 0 }));
        assert.deepEqual(spans(h.positiveSpans), served.positiveSpans, `${what} positive spans`);
        assert.deepEqual((h.positiveDeltas || []).map(Number), served.positiveDeltas, `${what} positive deltas`);
        assert.deepEqual(spans(h.negativeSpans), served.negativeSpans, `${what} negative spans`);
        assert.deepEqual((h.negativeDeltas || []).map(Number), served.negativeDeltas, `${what} negative deltas`);
        // And as counts by index, worked out from the observed values.
        assert.deepEqual(mapEntries(expandBuckets(h.positiveSpans, h.positiveDeltas)), mapEntries(served.positive), `${what} positive buckets`);
        assert.deepEqual(mapEntries(expandBuckets(h.negativeSpans, h.negativeDeltas)), mapEntries(served.negative), `${what} negative buckets`);
        // No counter reset between scrapes: never YES (1) nor GAUGE (3).
        assert.ok(!['YES', 'GAUGE', 1, 3].includes(h.resetHint), `${what} reset hint ${h.resetHint}`);
        if (prev) {
          assert.ok(Number(h.timestamp) > Number(prev.timestamp), `${what}: time order`);
          // Consecutive scrapes: the next histogram is the next one served (none missing).
          const i = target.served.findIndex((s) => s.histograms[name].count === Number(prev.countInt));
          assert.equal(count, target.served[i + 1].histograms[name].count, `${what}: the scrape after count ${prev.countInt}`);
        }
        prev = h;
      }
    }
    // The request-size histogram got its extra span (700 → (512, 1024], index 10) from scrape 5 on.
    const [series] = await sprout.remoteRead([{ start: window.start, end: window.end, matchers: 'shop_request_size_bytes' }]);
    assert.ok(series[0].histograms.some((h) => (h.positiveSpans || []).length === 2), 'the second span');
  });

  it('holds the native histograms Prometheus holds (its query API) and the floats of the protobuf scrape', async () => {
    const windowSeconds = Math.ceil((window.end - window.start) / 1000) + 5;
    const inWindow = (t) => Math.round(t * 1000) >= window.start && Math.round(t * 1000) <= window.end;
    for (const name of HISTOGRAMS) {
      const selector = `${name}{job="protobuf"}`;
      const theirs = await prometheus.rawSamples(selector, { windowSeconds, time: window.end / 1000 });
      const [raw] = await sprout.remoteRead([{ start: window.start, end: window.end, matchers: selector }]);
      const ours = toMatrix(raw);
      assert.equal(theirs.length, 1);
      assert.equal(ours.length, 1);
      assert.deepEqual(ours[0].metric, theirs[0].metric);
      const a = theirs[0].histograms.filter(([t]) => inWindow(t));
      const b = ours[0].histograms;
      assert.ok(a.length >= 4, `${name}: Prometheus holds ${a.length}`);
      assert.deepEqual(b.map(([t]) => t), a.map(([t]) => t), `${name}: times`);
      a.forEach(([t, h], i) => {
        const o = b[i][1];
        const what = `${name} at ${t}`;
        assert.equal(Number(o.count), Number(h.count), `${what} count`);
        assert.equal(Number(o.sum), Number(h.sum), `${what} sum`);
        // Buckets: boundary rule and count exact; bounds to the last bits (Prometheus reads
        // schema > 0 bounds from a table, the JS side computes 2^(i/2^schema)).
        assert.equal(o.buckets.length, h.buckets.length, `${what}: ${JSON.stringify(o.buckets)} vs ${JSON.stringify(h.buckets)}`);
        h.buckets.forEach(([rule, lo, hi, c], k) => {
          const [orule, olo, ohi, oc] = o.buckets[k];
          const near = (x, y) => Math.abs(Number(x) - Number(y)) <= 1e-12 * Math.max(1, Math.abs(Number(y)));
          assert.ok(orule === rule && near(olo, lo) && near(ohi, hi) && Number(oc) === Number(c),
            `${what} bucket ${k}: ours ${JSON.stringify(o.buckets[k])}, Prometheus ${JSON.stringify(h.buckets[k])}`);
        });
      });
    }
    // The query API's native-histogram JSON (`histogram` in a vector, `histograms` in a matrix)
    // equals Prometheus's: an instant query at a sample's time and a range query over the window.
    // Bucket bounds of schema > 0 are compared to the last bits only (Prometheus 2.42 reads them
    // from a table whose entries can be 1 ulp off 2^(i/2^schema); sprout computes them).
    const nearBounds = (ours, theirs) => {
      const strip = (d) => JSON.parse(JSON.stringify(d), (k, v) => (k === 'buckets' ? v.map(([r, , , c]) => [r, c]) : v));
      assert.deepEqual(strip(ours), strip(theirs));
      const bounds = (d) => {
        const out = [];
        JSON.parse(JSON.stringify(d), (k, v) => {
          if (k === 'buckets') for (const [, lo, hi] of v) out.push(Number(lo), Number(hi));
          return v;
        });
        return out;
      };
      const a = bounds(ours);
      const b = bounds(theirs);
      assert.equal(a.length, b.length);
      a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) <= 1e-15 * Math.max(1, Math.abs(b[i])), `bound ${x} vs ${b[i]}`));
    };
    for (const name of HISTOGRAMS) {
      const selector = `${name}{job="protobuf"}`;
      const times = (await prometheus.rawSamples(selector, { windowSeconds, time: window.end / 1000 }))[0]
        .histograms.map(([t]) => t).filter(inWindow);
      for (const params of [
        { query: selector, time: String(times[times.length - 1]) },
        { query: selector, time: String(times[1] + 0.5) },
      ]) {
        const theirs = await prometheus.api('/api/v1/query', params);
        assert.ok(theirs.result.length === 1 && theirs.result[0].histogram, JSON.stringify(theirs));
        nearBounds(await sprout.api('/api/v1/query', params, { method: 'POST' }), theirs);
      }
      const range = { query: selector, start: String(window.start / 1000), end: String(window.end / 1000), step: '1' };
      const theirs = await prometheus.api('/api/v1/query_range', range);
      assert.ok(theirs.result.length === 1 && theirs.result[0].histograms.length >= 4, JSON.stringify(theirs).slice(0, 300));
      nearBounds(await sprout.api('/api/v1/query_range', range), theirs);
    }
    // The gauge of the protobuf scrape: sprout's remote read equals Prometheus's, value bits too.
    const query = [{ start: window.start, end: window.end, matchers: 'shop_queue_depth' }];
    const theirs = await remoteReadRaw(prometheus.baseUrl + '/api/v1/read', query);
    const ours = await sprout.remoteReadRaw(query);
    const gauge = rawSampleBytes(ours.raw);
    assert.ok(gauge.length === 1 && gauge[0].samples.length >= 4, JSON.stringify(gauge));
    assert.deepEqual(gauge, rawSampleBytes(theirs.raw));
    // histogramToPromJson is the same conversion toMatrix used above; one direct look at the
    // zero bucket of the request sizes (0.1 observed each scrape, threshold 0.25).
    const [sizes] = await sprout.remoteRead([{ start: window.end - 3000, end: window.end, matchers: 'shop_request_size_bytes' }]);
    const last = sizes[0].histograms[sizes[0].histograms.length - 1];
    const zero = histogramToPromJson(last).buckets.find(([rule]) => rule === 3);
    assert.deepEqual(zero.slice(1, 3), ['-0.25', '0.25']);
  });
});
