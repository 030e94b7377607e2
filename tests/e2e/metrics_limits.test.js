'use strict';
// Issue 15 item 3: the rest of Mimir's limit matrix and the runtime configuration, against
// `sprout metrics` (multi-tenancy on) with hand-built remote-write requests. Every limit answers
// with Mimir's status and text while the good series of the same request is stored, and counts
// the refused samples in cortex_discarded_samples_total with Mimir's reason. Expected texts are
// written out here from Mimir's format strings (pkg/distributor/validate.go, pkg/ingester/
// errors.go, pkg/util/globalerror: "<message> (err-mimir-<id>). To adjust the related per-tenant
// limit, configure -<flag>, or contact your service administrator."); Mimir's push handler
// answers them with Go's http.Error, i.e. the text and a newline. Then the runtime configuration
// (`runtime_config.file`, period 1 s): a changed file applies without a restart, a broken one
// keeps the previous overrides (error logged, cortex_runtime_config_last_reload_successful 0),
// and /runtime_config serves what is in force (all limits, or `mode=diff`).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { labelKey } = require('./lib/prom');
const { makeTempDir, sleep } = require('./lib/sprout');
const { SproutMetrics } = require('./lib/sprout_metrics');

const goQuote = (s) => JSON.stringify(s);
// Mimir's distributor formatLabelSet: name{a="x", b="y"} in the order sent.
function mimirSeries(pairs) {
  let name = null;
  const rest = [];
  for (const [k, v] of pairs) {
    if (k === '__name__' && name === null && v !== '') name = v;
    else rest.push(`${k}=${goQuote(v)}`);
  }
  if (rest.length === 0) return name === null ? '{}' : name;
  return `${name === null ? '' : name}{${rest.join(', ')}}`;
}
// Prometheus's labels.String(): {a="x", b="y"}, sorted.
const promLabels = (labels) => `{${Object.keys(labels).sort().map((k) => `${k}=${goQuote(labels[k])}`).join(', ')}}`;
// Go's %.200s (the inputs here are ASCII).
const cut200 = (s) => s.slice(0, 200);
const limited = (message, id, flag) =>
  `${message} (err-mimir-${id}). To adjust the related per-tenant limit, configure -${flag}, or contact your service administrator.`;

const MSG = {
  maxLabels: (pairs, limit) => {
    const series = mimirSeries(pairs);
    return limited(
      `received a series whose number of labels exceeds the limit (actual: ${pairs.length}, limit: ${limit}) series: '${cut200(series)}${series.length > 200 ? '\u2026' : ''}'`,
      'max-label-names-per-series',
      'validation.max-label-names-per-series',
    );
  },
  nameTooLong: (name, pairs) =>
    limited(
      `received a series whose label name length exceeds the limit, label: '${cut200(name)}' series: '${cut200(mimirSeries(pairs))}'`,
      'label-name-too-long',
      'validation.max-length-label-name',
    ),
  valueTooLong: (name, value, pairs) =>
    limited(
      `received a series whose label value length exceeds the limit, label: '${name}', value: '${cut200(value)}' (truncated) series: '${cut200(mimirSeries(pairs))}'`,
      'label-value-too-long',
      'validation.max-length-label-value',
    ),
  future: (t, name) =>
    limited(`received a sample whose timestamp is too far in the future, timestamp: ${t} series: '${name}'`, 'too-far-in-future', 'validation.create-grace-period'),
  past: (t, name) =>
    limited(`received a sample whose timestamp is too far in the past, timestamp: ${t} series: '${name}'`, 'too-far-in-past', 'validation.past-grace-period'),
  metadataName: (name) =>
    limited(
      `received a metric metadata whose metric name length exceeds the limit, metric name: '${cut200(name)}'`,
      'metric-name-too-long',
      'validation.max-metadata-length',
    ),
  perMetric: (limit, labels) =>
    `${limited(`per-metric series limit of ${limit} exceeded`, 'max-series-per-metric', 'ingester.max-global-series-per-metric')} This is for series ${promLabels(labels)}`,
};

const ts = (pairs, samples) => ({
  labels: pairs.map(([name, value]) => ({ name, value })),
  samples: samples.map(([timestamp, value]) => ({ timestamp, value })),
});
const obj = (pairs) => Object.fromEntries(pairs);

function expectAnswer(res, status, message, what) {
  assert.equal(res.status, status, `${what}: HTTP ${res.status} ${res.text}`);
  // Accepted: Mimir's push handler answers 200 with an empty body.
  if (message !== undefined) assert.equal(res.text, message === '' ? '' : `${message}\n`, what);
}

async function read(peer, selector) {
  const [series] = await peer.remoteRead([{ start: 0, end: Date.now() + 7200000, matchers: selector }]);
  return series
    .map((s) => ({ labels: s.labels, samples: s.samples.map(([t, v]) => [t, v]) }))
    .sort((a, b) => (labelKey(a.labels) < labelKey(b.labels) ? -1 : 1));
}

async function metricsText(s) {
  const res = await fetch(`${s.baseUrl}/metrics`);
  return res.text();
}

// The value of one series of /metrics (0 when absent).
function metricValue(text, name, labels) {
  const want = `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${want} `)) return Number(line.slice(want.length + 1));
  }
  return 0;
}

async function discarded(s, reason, user) {
  return metricValue(await metricsText(s), 'cortex_discarded_samples_total', { reason, user });
}

// An integer native histogram: 3 observations in bucket 1 of schema 0.
const histogram = (t) => ({
  countInt: 3,
  sum: 4.5,
  schema: 0,
  zeroThreshold: 0.001,
  zeroCountInt: 0,
  positiveSpans: [{ offset: 1, length: 1 }],
  positiveDeltas: [3],
  timestamp: t,
});

describe('sprout metrics: Mimir limits and the runtime configuration', () => {
  let s;
  let dir;
  let runtimeFile;
  const writeRuntime = (text) => {
    // Written whole and renamed, so that a reload never reads half a file.
    fs.writeFileSync(`${runtimeFile}.tmp`, text);
    fs.renameSync(`${runtimeFile}.tmp`, runtimeFile);
  };

  before(async () => {
    dir = makeTempDir('sprout-metrics-limits-');
    runtimeFile = path.join(dir, 'runtime.yaml');
    writeRuntime(
      [
        'overrides:',
        '  per-metric:',
        '    max_global_series_per_metric: 2',
        '  past:',
        '    past_grace_period: 1h',
        '  no-native:',
        '    native_histograms_ingestion_enabled: false',
        '  reload:',
        '    max_label_names_per_series: 3',
        '  query-limit:',
        '    max_fetched_series_per_query: 1',
        '',
      ].join('\n'),
    );
    s = new SproutMetrics({
      dir,
      multitenancy: true,
      sets: [`runtime_config.file=${runtimeFile}`, 'runtime_config.period=1s'],
    });
    await s.start();
  });
  after(async () => s && s.kill());

  const now = Date.now();
  const good = (c) => [['__name__', 'e2e_good'], ['case', c]];

  // One bad series before a good one: 400 with the bad one's text, the good one stored, the
  // refused sample counted under Mimir's reason.
  async function mixed(tenant, bad, badSamples, message, reason) {
    const t = s.as(tenant);
    const res = await t.push({ timeseries: [ts(bad, badSamples), ts(good(tenant), [[now, 2]])] });
    expectAnswer(res, 400, message, tenant);
    assert.deepEqual(await read(t, '{__name__=~"e2e_.+"}'), [{ labels: obj(good(tenant)), samples: [[now, 2]] }], `${tenant}: only the good series`);
    assert.equal(await discarded(s, reason, tenant), badSamples.length, `${tenant}: cortex_discarded_samples_total{reason="${reason}"}`);
  }

  it('max_label_names_per_series (30): 31 labels refused', async () => {
    const pairs = [['__name__', 'e2e_many']];
    for (let i = 0; i < 30; i++) pairs.push([`l${String(i).padStart(2, '0')}`, 'v']);
    await mixed('max-labels', pairs, [[now, 1]], MSG.maxLabels(pairs, 30), 'max_label_names_per_series');
    // 30 labels are fine.
    const ok = pairs.slice(0, 30);
    expectAnswer(await s.as('max-labels-ok').push({ timeseries: [ts(ok, [[now, 1]])] }), 200, '', '30 labels');
  });

  it('max_label_name_length (1024): a 1025-byte name refused, 1024 accepted', async () => {
    const name = `n${'x'.repeat(1024)}`;
    const pairs = [['__name__', 'e2e_long_name'], [name, 'v']];
    await mixed('name-length', pairs, [[now, 1]], MSG.nameTooLong(name, pairs), 'label_name_too_long');
    const ok = [['__name__', 'e2e_long_name'], [name.slice(1), 'v']];
    expectAnswer(await s.as('name-length-ok').push({ timeseries: [ts(ok, [[now, 1]])] }), 200, '', '1024 bytes');
  });

  it('max_label_value_length (2048): a 2049-byte value refused, 2048 accepted', async () => {
    const value = 'y'.repeat(2049);
    const pairs = [['__name__', 'e2e_long_value'], ['a', value]];
    await mixed('value-length', pairs, [[now, 1]], MSG.valueTooLong('a', value, pairs), 'label_value_too_long');
    const ok = [['__name__', 'e2e_long_value'], ['a', value.slice(1)]];
    expectAnswer(await s.as('value-length-ok').push({ timeseries: [ts(ok, [[now, 1]])] }), 200, '', '2048 bytes');
  });

  it('creation_grace_period (10m): a sample 11 minutes ahead refused', async () => {
    const t = Date.now() + 11 * 60000;
    await mixed('future', [['__name__', 'e2e_future']], [[t, 1]], MSG.future(t, 'e2e_future'), 'too_far_in_future');
  });

  it('past_grace_period (tenant override 1h): a sample 2 hours back refused', async () => {
    const t = Date.now() - 2 * 3600000;
    await mixed('past', [['__name__', 'e2e_past']], [[t, 1]], MSG.past(t, 'e2e_past'), 'too_far_in_past');
    // Another tenant has Mimir's default 0 (off): the same sample is stored.
    expectAnswer(await s.as('past-off').push({ timeseries: [ts([['__name__', 'e2e_past']], [[t, 1]])] }), 200, '', 'default');
  });

  it('max_metadata_length (1024): metadata with a 1025-byte name refused, the series stored', async () => {
    const t = s.as('metadata');
    const name = `m${'x'.repeat(1024)}`;
    const res = await t.push({
      timeseries: [ts(good('metadata'), [[now, 2]])],
      metadata: [{ type: 1, metricFamilyName: name, help: 'h', unit: '' }],
    });
    expectAnswer(res, 400, MSG.metadataName(name), 'metadata');
    assert.deepEqual(await read(t, '{__name__=~"e2e_.+"}'), [{ labels: obj(good('metadata')), samples: [[now, 2]] }]);
    assert.equal(metricValue(await metricsText(s), 'cortex_discarded_metadata_total', { reason: 'metric_name_too_long', user: 'metadata' }), 1);
  });

  it('max_global_series_per_metric (tenant override 2): the third series of a metric refused, other metrics not', async () => {
    const t = s.as('per-metric');
    const series = (i) => [['__name__', 'e2e_pm'], ['i', String(i)]];
    expectAnswer(await t.push({ timeseries: [ts(series(1), [[now, 1]]), ts(series(2), [[now, 1]])] }), 200, '', 'two series');
    const other = [['__name__', 'e2e_other'], ['i', '3']];
    const res = await t.push({ timeseries: [ts(series(3), [[now, 1]]), ts(other, [[now, 5]])] });
    expectAnswer(res, 400, MSG.perMetric(2, obj(series(3))), 'third series');
    assert.deepEqual(await read(t, '{__name__=~"e2e_.+"}'), [
      { labels: obj(other), samples: [[now, 5]] },
      { labels: obj(series(1)), samples: [[now, 1]] },
      { labels: obj(series(2)), samples: [[now, 1]] },
    ]);
    assert.equal(await discarded(s, 'per_metric_series_limit', 'per-metric'), 1);
    // New samples of the two existing series are fine.
    expectAnswer(await t.push({ timeseries: [ts(series(1), [[now + 1, 2]])] }), 200, '', 'existing series');
  });

  it('native_histograms_ingestion_enabled false (tenant override): histograms ignored without an error', async () => {
    const t = s.as('no-native');
    const res = await t.push({
      timeseries: [
        { labels: [{ name: '__name__', value: 'e2e_native' }], histograms: [histogram(now)] },
        ts(good('no-native'), [[now, 2]]),
      ],
    });
    expectAnswer(res, 200, '', 'histograms ignored');
    assert.deepEqual(await t.series(['{__name__=~"e2e_.+"}'], { start: now / 1000 - 60, end: now / 1000 + 60 }), [obj(good('no-native'))]);
    // With the default (true) another tenant stores it.
    const on = s.as('native-on');
    expectAnswer(await on.push({ timeseries: [{ labels: [{ name: '__name__', value: 'e2e_native' }], histograms: [histogram(now)] }] }), 200, '', 'default');
    assert.deepEqual(await on.series(['e2e_native'], { start: now / 1000 - 60, end: now / 1000 + 60 }), [{ __name__: 'e2e_native' }]);
  });

  it('max_fetched_series_per_query (tenant override 1): 422 with Mimir\'s text for that tenant only', async () => {
    const body = { timeseries: [ts([['__name__', 'e2e_q'], ['i', '1']], [[now, 1]]), ts([['__name__', 'e2e_q'], ['i', '2']], [[now, 2]])] };
    for (const tenant of ['query-limit', 'query-default']) expectAnswer(await s.as(tenant).push(body), 200, '', tenant);
    const query = async (tenant) => {
      const params = new URLSearchParams({ query: 'e2e_q', time: String(now / 1000) });
      const res = await fetch(`${s.baseUrl}/prometheus/api/v1/query?${params}`, { headers: { 'X-Scope-OrgID': tenant } });
      return { status: res.status, body: await res.json() };
    };
    const limited = await query('query-limit');
    assert.equal(limited.status, 422, JSON.stringify(limited.body));
    assert.equal(limited.body.errorType, 'execution');
    assert.equal(
      limited.body.error,
      'the query exceeded the maximum number of series (limit: 1 series) (err-mimir-max-series-per-query). Consider reducing the time range and/or number of series selected by the query. One way to reduce the number of selected series is to add more label matchers to the query. Otherwise, to adjust the related per-tenant limit, configure -querier.max-fetched-series-per-query, or contact your service administrator.',
    );
    const other = await query('query-default');
    assert.equal(other.status, 200);
    assert.equal(other.body.data.result.length, 2);
  });

  it('the runtime configuration applies without a restart; a broken file keeps the previous overrides', async () => {
    const t = s.as('reload');
    const labels = (n) => {
      const pairs = [['__name__', 'e2e_reload']];
      for (let i = 1; i < n; i++) pairs.push([`l${i}`, 'v']);
      return pairs;
    };
    const four = labels(4);
    expectAnswer(await t.push({ timeseries: [ts(four, [[now, 1]])] }), 400, MSG.maxLabels(four, 3), 'limit 3 from the file at start');

    // /runtime_config: every limit of the tenant, or only what differs from `limits`.
    const all = await (await fetch(`${s.baseUrl}/runtime_config`)).text();
    assert.match(all, /\n {2}reload:\n(?: {4}.+\n)*? {4}max_label_names_per_series: 3\n/);
    assert.match(all, /\n {4}ingestion_rate: 10000\n/);
    const diff = await (await fetch(`${s.baseUrl}/runtime_config?mode=diff`)).text();
    assert.match(diff, /\n {2}reload:\n {4}max_label_names_per_series: 3\n/);
    assert.doesNotMatch(diff, /ingestion_rate/);

    const text = fs.readFileSync(runtimeFile, 'utf8').replace('max_label_names_per_series: 3', 'max_label_names_per_series: 5');
    writeRuntime(text);
    const deadline = Date.now() + 10000;
    let res;
    for (;;) {
      res = await t.push({ timeseries: [ts(four, [[now, 1]])] });
      if (res.status === 200 || Date.now() > deadline) break;
      await sleep(200);
    }
    expectAnswer(res, 200, '', 'limit 5 after the file changed (no restart)');
    assert.match(await (await fetch(`${s.baseUrl}/runtime_config?mode=diff`)).text(), /max_label_names_per_series: 5\n/);

    // A broken file: logged, the gauge 0, the previous overrides (5) stay in force.
    writeRuntime('overrides:\n  reload:\n    max_label_names_per_series: [\n');
    const until = Date.now() + 10000;
    while (!s.log.includes('failed to reload the runtime configuration') && Date.now() < until) await sleep(100);
    assert.match(s.log, /failed to reload the runtime configuration/);
    const gauge = /\ncortex_runtime_config_last_reload_successful(?:\{\})? (\S+)\n/.exec(await metricsText(s));
    assert.ok(gauge, 'cortex_runtime_config_last_reload_successful on /metrics');
    assert.equal(Number(gauge[1]), 0);
    const six = labels(6);
    expectAnswer(await t.push({ timeseries: [ts(six, [[now + 1, 1]])] }), 400, MSG.maxLabels(six, 5), 'still 5 with the broken file');
    expectAnswer(await t.push({ timeseries: [ts(labels(5), [[now + 1, 1]])] }), 200, '', '5 labels still fine');

    // Fixed again: the gauge goes back to 1.
    writeRuntime(text);
    const again = Date.now() + 10000;
    let ok;
    do {
      await sleep(200);
      ok = /\ncortex_runtime_config_last_reload_successful(?:\{\})? 1\n/.test(await metricsText(s));
    } while (!ok && Date.now() < again);
    assert.ok(ok, 'reload successful again');
  });
});
