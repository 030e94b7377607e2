'use strict';
// Issue 9's first acceptance item: data lands in `sprout metrics` from the two senders users run,
// and the metadata API answers what Prometheus's own API answers for the same data.
//
// (a) Debian's `prometheus` scrapes itself every second with `remote_write` to sprout (metadata,
//     exemplars and native histograms enabled). Once Prometheus's remote-write queue has passed
//     a cut time, /api/v1/series, /api/v1/labels and /api/v1/label/__name__/values over one window
//     are compared between Prometheus and sprout (identical sets), so are /api/v1/metadata and the
//     raw samples of a few series (sprout's remote read against Prometheus's `x[window]` query
//     and against Prometheus's own remote read, the latter bit for bit).
// (b) The JS SDK → `sprout collector` (prometheusremotewrite) → sprout: lib/prw.js's workload and
//     checks, with raw samples and native histograms read through remote read, and the
//     exemplars through /api/v1/query_exemplars. The SDK's exponential histogram is also
//     checked against what its recorded values imply (scale, schema, count, sum, zero bucket and
//     every bucket count, worked out from the values). Deferred until PromQL exists: the
//     instant-query part of the float check and the histogram functions.
// Exemplars and native histograms from a real Prometheus (scraped from OpenMetrics text and the
// protobuf format) are in metrics_prometheus_scrape.test.js.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');

const { Prometheus, labelKey } = require('./lib/prom');
const {
  HAND_PHASES,
  checkExemplars,
  checkExponentialFromValues,
  checkFloatSamples,
  checkNativeHistograms,
  checkSeriesSet,
  checkTargetInfo,
  runWorkload,
} = require('./lib/prw');
const { freePort, makeTempDir, metricValue, parsePrometheusText, sleep, waitFor } = require('./lib/sprout');
const { SproutMetrics, remoteRead, remoteReadRaw, rawSampleBytes } = require('./lib/sprout_metrics');

const SCRAPE_SECONDS = 16; // scraping before the cut
const SORT = (xs) => [...xs].sort();

async function scrape(port) {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return parsePrometheusText(await res.text());
}

describe('Prometheus scraping itself, remote_write → sprout metrics', () => {
  let sprout;
  let prometheus;
  let startMs; // Prometheus started
  let window; // {start, end} in ms: the compared window

  before(async () => {
    const dir = makeTempDir('sprout-metrics-prom-');
    sprout = new SproutMetrics({ dir });
    await sprout.start();
    const port = await freePort();
    prometheus = new Prometheus({ dir, port });
    // One shard, so batches go out one after the other in WAL order: once sprout holds a sample
    // scraped after the cut, it holds every sample scraped before it (unless a batch was refused:
    // the failure counters are checked).
    fs.writeFileSync(
      prometheus.configFile,
      `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:${port}']
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
    metadata_config:
      send: true
      send_interval: 2s
`,
    );
    startMs = Date.now();
    await prometheus.start();
    await sleep(SCRAPE_SECONDS * 1000);

    // The window. Start: 8 s after Prometheus started (its first scrape comes ~5 s after the start), so that both hold every series from the
    // window's first scrape on (the remote-write queue skips what was appended before it began
    // tailing the WAL). End: the cut, whole milliseconds, between two scrapes. Series that
    // appear inside the window are in both answers; series that appear after the cut (the
    // handlers of the API calls below) in neither. The one place Prometheus's series/labels API
    // on its head is approximate is the open head chunk, whose max time is "open" (+Inf): a
    // series whose samples all lie before the window but whose head chunk is still open would be
    // listed by Prometheus and not by sprout (which lists series with a sample in the window).
    // No self-scraped series ends within these few seconds, so the sets must be equal.
    const cut = Date.now() - 500;
    window = { start: startMs + 8000, end: cut };
    // Wait until sprout holds a scrape 2 s after the cut.
    await waitFor(
      async () => {
        const [series] = await sprout.remoteRead([{ start: cut + 2000, end: Date.now() + 1000, matchers: '{__name__="up", job="prometheus"}' }]);
        return series.length === 1 && series[0].samples.length > 0;
      },
      {
        timeoutMs: 30000,
        intervalMs: 250,
        describe: () => `sprout to hold an up{job="prometheus"} sample after ${cut}; prometheus log:\n${prometheus.log.slice(-3000)}\nsprout log:\n${sprout.log.slice(-3000)}`,
      },
    );
  });

  after(async () => {
    await Promise.all([prometheus && prometheus.kill(), sprout && sprout.kill()]);
  });

  const params = () => ({ start: window.start / 1000, end: window.end / 1000 });

  it('sends everything without failures (Prometheus counts no failed or dropped sample)', async () => {
    const m = await scrape(prometheus.port);
    for (const name of [
      'prometheus_remote_storage_samples_failed_total',
      'prometheus_remote_storage_samples_dropped_total',
      'prometheus_remote_storage_metadata_failed_total',
      'prometheus_remote_storage_histograms_failed_total',
      'prometheus_remote_storage_exemplars_failed_total',
    ]) {
      const v = metricValue(m, name);
      assert.ok(v === null || v === 0, `${name} = ${v}; prometheus log:\n${prometheus.log.slice(-3000)}`);
    }
    assert.ok(metricValue(m, 'prometheus_remote_storage_samples_total') > 0, 'samples were sent');
  });

  it('/api/v1/series answers exactly what Prometheus answers, at / and /prometheus', async () => {
    const q = { 'match[]': '{job="prometheus"}', ...params() };
    const theirs = await prometheus.api('/api/v1/series', q);
    const ours = await sprout.api('/api/v1/series', q);
    assert.ok(theirs.length > 100, `Prometheus holds its own series (${theirs.length})`);
    const a = SORT(theirs.map(labelKey));
    const b = SORT(ours.map(labelKey));
    const onlyTheirs = a.filter((k) => !b.includes(k));
    const onlyOurs = b.filter((k) => !a.includes(k));
    assert.deepEqual({ onlyTheirs, onlyOurs }, { onlyTheirs: [], onlyOurs: [] }, `series: ${a.length} in Prometheus, ${b.length} in sprout`);
    const prefixed = await sprout.api('/prometheus/api/v1/series', q);
    assert.deepEqual(SORT(prefixed.map(labelKey)), b);
    // Form POST answers the same.
    const posted = await sprout.api('/api/v1/series', q, { method: 'POST' });
    assert.deepEqual(SORT(posted.map(labelKey)), b);
  });

  it('/api/v1/labels answers exactly what Prometheus answers (with and without match[])', async () => {
    for (const extra of [{}, { 'match[]': '{job="prometheus"}' }]) {
      const theirs = await prometheus.api('/api/v1/labels', { ...params(), ...extra });
      const ours = await sprout.api('/api/v1/labels', { ...params(), ...extra });
      assert.deepEqual(ours, theirs, `labels ${JSON.stringify(extra)}`);
      assert.ok(ours.includes('__name__') && ours.includes('handler'), JSON.stringify(ours));
    }
  });

  it('/api/v1/label/<name>/values answers what Prometheus answers (__name__, job, handler)', async () => {
    for (const name of ['__name__', 'job', 'handler']) {
      const q = { ...params(), 'match[]': '{job="prometheus"}' };
      const theirs = await prometheus.api(`/api/v1/label/${name}/values`, q);
      const ours = await sprout.api(`/api/v1/label/${name}/values`, q);
      assert.deepEqual(ours, theirs, `values of ${name}`);
    }
  });

  it('/api/v1/metadata holds what Prometheus sent, as Prometheus shows it', async () => {
    // Prometheus's metadata API lists its scrape cache: every family of the one target, and
    // remote write sends that same cache every send_interval.
    const theirs = await prometheus.api('/api/v1/metadata');
    let ours;
    await waitFor(async () => {
      ours = await sprout.api('/api/v1/metadata');
      return Object.keys(ours).length >= Object.keys(theirs).length;
    }, { timeoutMs: 10000, intervalMs: 500, describe: () => `sprout's metadata (${Object.keys(ours || {}).length} of ${Object.keys(theirs).length})` });
    assert.deepEqual(ours, theirs);
    const one = await sprout.api('/api/v1/metadata', { metric: 'prometheus_http_requests_total' });
    assert.deepEqual(one, { prometheus_http_requests_total: theirs.prometheus_http_requests_total });
    assert.equal(one.prometheus_http_requests_total[0].type, 'counter');
  });

  const SELECTORS = [
    'up{job="prometheus"}',
    'scrape_duration_seconds{job="prometheus"}',
    'prometheus_tsdb_head_series{job="prometheus"}',
    'process_cpu_seconds_total{job="prometheus"}',
    'prometheus_http_requests_total{job="prometheus",handler="/metrics"}',
    'prometheus_http_request_duration_seconds_bucket{job="prometheus",handler="/metrics"}',
    'go_memstats_alloc_bytes{job="prometheus"}',
  ];

  it('holds the raw samples Prometheus holds (remote read against `x[window]`)', async () => {
    const windowSeconds = Math.ceil((window.end - window.start) / 1000) + 5;
    for (const selector of SELECTORS) {
      const theirs = await prometheus.rawSamples(selector, { windowSeconds, time: window.end / 1000 });
      const ours = await sprout.rawSamples(selector, { windowSeconds, time: window.end / 1000 });
      const norm = (rs) =>
        rs
          .map((r) => ({
            series: labelKey(r.metric),
            values: (r.values || [])
              .map(([t, v]) => [Math.round(t * 1000), Number(v)])
              .filter(([t]) => t >= window.start && t <= window.end),
          }))
          .sort((x, y) => (x.series < y.series ? -1 : 1));
      const a = norm(theirs);
      const b = norm(ours);
      assert.ok(a.length > 0 && a.every((s) => s.values.length >= 4), `${selector}: Prometheus holds ${JSON.stringify(a).slice(0, 300)}`);
      assert.deepEqual(b, a, selector);
    }
  });

  it('answers remote read exactly as Prometheus does, value bits included', async () => {
    for (const selector of SELECTORS) {
      const query = [{ start: window.start, end: window.end, matchers: selector }];
      const theirs = await remoteReadRaw(prometheus.baseUrl + '/api/v1/read', query);
      const ours = await sprout.remoteReadRaw(query);
      assert.equal(theirs.status, 200);
      assert.equal(ours.status, 200, `sprout remote read: ${ours.body.toString('utf8').slice(0, 500)}`);
      assert.equal(ours.headers.get('content-type'), 'application/x-protobuf');
      assert.equal(ours.headers.get('content-encoding'), 'snappy');
      const sortBy = (xs) => xs.sort((x, y) => (labelKey(x.labels) < labelKey(y.labels) ? -1 : 1));
      assert.deepEqual(sortBy(rawSampleBytes(ours.raw)), sortBy(rawSampleBytes(theirs.raw)), selector);
    }
    // Several queries in one request: one result each, in order.
    const two = [
      { start: window.start, end: window.end, matchers: SELECTORS[0] },
      { start: window.start, end: window.end, matchers: SELECTORS[1] },
    ];
    const [t, o] = await Promise.all([remoteRead(prometheus.baseUrl + '/api/v1/read', two), sprout.remoteRead(two)]);
    assert.deepEqual(o.map((r) => r.map((s) => s.labels)), t.map((r) => r.map((s) => s.labels)));
  });
});

describe('JS SDK → sprout collector (prometheusremotewrite) → sprout metrics', () => {
  let sprout;
  let run;

  before(async () => {
    const dir = makeTempDir('sprout-metrics-prw-');
    sprout = new SproutMetrics({ dir });
    await sprout.start();
    // The workload waits for each phase's samples and histograms through remote read.
    run = await runWorkload({ peer: sprout, transport: 'grpc', dir, nativeHistograms: true });
  });

  after(async () => {
    await Promise.all([run && run.collector.kill(), sprout && sprout.kill()]);
  });

  it('holds every series under its Prometheus name with exactly the expected labels', async () => {
    await checkSeriesSet(sprout, run, { nativeHistograms: true });
  });

  it('holds each export of the counter, up-down counter, gauge and histograms at its time with its value', async () => {
    await checkFloatSamples(sprout, run, { promql: false });
  });

  it('holds target_info with the resource attributes that are not job or instance', async () => {
    await checkTargetInfo(sprout, run);
  });

  // Remote read answers native histograms in TimeSeries.histograms (as Prometheus ≥ 2.43 does;
  // Debian's 2.42 answers such series without them).
  it('holds the exponential histograms as native histograms (count, sum, buckets through remote read)', async () => {
    await checkNativeHistograms(sprout, run, { promql: false });
  });

  it('holds what the SDK\'s recorded values imply for its exponential histogram (scale, schema, zero bucket, every bucket)', async () => {
    await checkExponentialFromValues(sprout, run);
  });

  it('answers /api/v1/query_exemplars with every exemplar sent (trace and span IDs, attributes, value, time, bucket)', async () => {
    await checkExemplars(sprout, run, { everyNativeExemplar: true });
  });

  it('counts the exemplars it received (cortex_distributor_received_exemplars_total)', async () => {
    const sent = HAND_PHASES.reduce((n, h) => n + 1 + h.db.exemplars.length + 1, 0);
    const m = await scrape(sprout.port);
    const received = metricValue(m, 'cortex_distributor_received_exemplars_total');
    assert.ok(received !== null && received >= sent, `cortex_distributor_received_exemplars_total = ${received}, ${sent} sent`);
  });
});
