'use strict';
// The query benchmark's driver (bench/run_query_bench.sh starts the servers and runs this):
// generates a dashboard-shaped data set (10,000 series, 6 h at 15 s, deterministic from a seed),
// remote-writes the same bytes to every target, checks that each holds it, then runs a set of
// dashboard queries as range queries over the whole range against every target, alternating
// targets run by run, and prints latency p50/p99, server CPU and peak RSS per query and target,
// with sprout / Prometheus ratios, after checking that the targets answer the same.
//
//   node bench/query_bench.js --target <name> <base-url> <write-path> <pid> <data-dir> [--target ...]
//   env (all optional): QB_RUNS (20 timed runs per query and target), QB_WARMUPS (2),
//     QB_SEED (1), QB_HOURS (6), QB_STEP_S (15: scrape interval and query step),
//     QB_ACCEPT_ENCODING (gzip; identity: uncompressed answers), QB_END_MS (end of the data; default the last 15 s boundary a minute ago), QB_QUERIES
//     (comma-separated query names to run; default all), QB_RESULTS (a JSON file for every
//     figure), QB_PROFILE (a directory: record `perf record -g` of the target named
//     QB_PROFILE_TARGET (sprout) while it answers QB_PROFILE_QUERY (default: its slowest by
//     p50) QB_PROFILE_RUNS (10) times, then print the top frames; QB_PERF_ARGS: perf record's
//     options, default `-e cpu-clock -F 499 --call-graph dwarf,16384`, which unwinds without
//     frame pointers), QB_SETTLE_MAX (120 s), QB_LAYOUT_MAX (180 s: how long to wait for
//     every target to hold as many blocks as the one with most).
//
// Latency is client-side: from sending the request to having read the whole answer (the JSON
// is not parsed in timed runs). Memory: before a query's first warm-up the driver writes 5 to
// /proc/<pid>/clear_refs of each server (Linux: resets VmHWM to the current RSS) and reads
// VmRSS; after the query's last run it reads VmHWM: the peak RSS while that query ran, and its
// rise over the RSS before it. CPU: the server's utime+stime (/proc/<pid>/stat) over the timed
// runs divided by their number.

const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');
const { spawn, execFileSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');
const snappy = createRequire(path.join(ROOT, 'tests/e2e/package.json'))('snappyjs');
const { classifyAnswer, compareAnswers, seriesMap, parseValue, valuesEqual } = require('../tests/conformance/lib/compare');
const { remoteReadRaw } = require('../tests/e2e/lib/sprout_metrics');

const env = (name, def) => (process.env[name] !== undefined && process.env[name] !== '' ? process.env[name] : def);
const RUNS = Number(env('QB_RUNS', 20));
const WARMUPS = Number(env('QB_WARMUPS', 2));
const SEED = Number(env('QB_SEED', 1));
const HOURS = Number(env('QB_HOURS', 6));
const STEP_MS = Number(env('QB_STEP_S', 15)) * 1000;
const STEPS = Math.round((HOURS * 3600000) / STEP_MS); // samples per series
const END_MS = Number(env('QB_END_MS', Math.floor((Date.now() - 60000) / STEP_MS) * STEP_MS));
const START_MS = END_MS - STEPS * STEP_MS; // first sample step; the last is END_MS - STEP_MS
const SETTLE_MAX = Number(env('QB_SETTLE_MAX', 120));
// What the query requests accept: gzip, as Grafana's backend (Go's HTTP client) asks; both
// servers then compress their answers. `identity` measures without compression.
const ACCEPT_ENCODING = env('QB_ACCEPT_ENCODING', 'gzip');
const TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

// ---------------------------------------------------------------------------------------------
// The queries: a dashboard's panels. Each runs as a range query over [START_MS, END_MS] at
// STEP_MS (1,441 steps for 6 h at 15 s).

const QUERIES = [
  ['sum_by_rate', 'sum by (service) (rate(http_requests_total[5m]))'],
  ['rate', 'rate(http_requests_total[5m])'],
  ['histogram_quantile', 'histogram_quantile(0.99, sum by (le, service) (rate(http_request_duration_seconds_bucket[5m])))'],
  ['topk', 'topk(5, sum by (instance) (rate(http_requests_total[5m])))'],
  ['regex', 'sum(rate(http_requests_total{status=~"5.."}[5m]))'],
  ['subquery', 'max_over_time(sum(rate(http_requests_total[5m]))[30m:1m])'],
];

// ---------------------------------------------------------------------------------------------
// The data set. 10 services x 10 instances; per instance:
//   http_requests_total{service, instance, method, status}: 4 methods x 5 statuses = 20 counters
//   http_request_duration_seconds_bucket{service, instance, method, le}: 4 methods x 13 buckets,
//     plus _sum and _count per method: 60 series (a classic histogram of the same requests)
//   gauges: process_resident_memory_bytes, process_open_fds, go_goroutines, up (1 each),
//     http_inflight_requests{method} (4), queue_depth{queue} (12)
// = 100 series per instance, 10,000 in all (2,000 counters, 6,000 histogram, 2,000 gauges).
// Each instance is scraped at its own fixed offset within the 15 s interval (as Prometheus
// spreads targets). Instance RESTART_INSTANCE restarts at the middle of the range: its counters
// and histogram start again from 0 and `up` is 0 at that scrape.

const SERVICES = ['api', 'auth', 'cart', 'catalog', 'checkout', 'frontend', 'payment', 'search', 'shipping', 'users'];
const INSTANCES_PER_SERVICE = 10;
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const METHOD_WEIGHT = [1, 0.3, 0.1, 0.05];
const STATUSES = ['200', '201', '404', '500', '503'];
const STATUS_WEIGHT = [0.85, 0.08, 0.05, 0.015, 0.005];
const LE = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]; // and +Inf
const QUEUES = ['q0', 'q1', 'q2', 'q3', 'q4', 'q5', 'q6', 'q7', 'q8', 'q9', 'q10', 'q11'];
const RESTART_INSTANCE = 37;
const RESTART_STEP = Math.floor(STEPS / 2);

// A small seeded PRNG (mulberry32): the same stream for the same seed on every machine.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Go's strconv.FormatFloat(v, 'g', -1, 64) for the le values used here ("0.001", "2.5", "+Inf").
const leText = (v) => (v === Infinity ? '+Inf' : String(v));

// Standard normal CDF (Abramowitz-Stegun 7.1.26 erf), for the latency distribution.
function normCdf(x) {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496735) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}

function buildDataSet(seed) {
  const rnd = prng(seed);
  const series = []; // {labels: [[name, value], ...] sorted, inst}
  const instances = [];
  for (const [si, service] of SERVICES.entries()) {
    for (let k = 0; k < INSTANCES_PER_SERVICE; k++) {
      const idx = instances.length;
      const instance = `${service}-${k}:8080`;
      instances.push({
        idx,
        service,
        instance,
        offsetMs: (idx * 7919) % STEP_MS,
        reqPerSec: 5 + 40 * rnd() * (1 + si / 5), // requests per second at weight 1
        medianLatency: 0.01 + 0.2 * rnd(), // seconds
        sigma: 0.6 + 0.6 * rnd(),
        firstSeries: series.length,
      });
      const base = [['instance', instance], ['service', service]];
      const add = (name, extra) => series.push({ labels: [['__name__', name], ...base, ...extra].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)), inst: idx });
      for (const m of METHODS) for (const s of STATUSES) add('http_requests_total', [['method', m], ['status', s]]);
      for (const m of METHODS) {
        for (const le of [...LE, Infinity]) add('http_request_duration_seconds_bucket', [['method', m], ['le', leText(le)]]);
        add('http_request_duration_seconds_sum', [['method', m]]);
        add('http_request_duration_seconds_count', [['method', m]]);
      }
      add('process_resident_memory_bytes', []);
      add('process_open_fds', []);
      add('go_goroutines', []);
      add('up', []);
      for (const m of METHODS) add('http_inflight_requests', [['method', m]]);
      for (const q of QUEUES) add('queue_depth', [['queue', q]]);
    }
  }
  // Per-series value state, in the order of `series` (100 per instance, laid out as above).
  const value = new Float64Array(series.length);
  for (const inst of instances) {
    const b = inst.firstSeries;
    value[b + 80] = 50e6 + 200e6 * rnd(); // resident memory
    value[b + 81] = 20 + Math.floor(50 * rnd()); // fds
    value[b + 82] = 30 + Math.floor(100 * rnd()); // goroutines
  }
  // next(step): advances every series by one scrape; returns the values (a view, reused).
  function next(step) {
    for (const inst of instances) {
      const b = inst.firstSeries;
      const restart = inst.idx === RESTART_INSTANCE && step === RESTART_STEP;
      if (restart) for (let i = 0; i < 80; i++) value[b + i] = 0;
      // Counters: increments per method and status; the histogram sees the same requests.
      for (let m = 0; m < METHODS.length; m++) {
        let n = 0;
        for (let s = 0; s < STATUSES.length; s++) {
          const mean = inst.reqPerSec * METHOD_WEIGHT[m] * STATUS_WEIGHT[s] * (STEP_MS / 1000);
          const inc = Math.floor(mean * (0.5 + rnd()) + rnd());
          value[b + m * 5 + s] += inc;
          n += inc;
        }
        const h = b + 20 + m * 15;
        let prev = 0;
        for (let j = 0; j < LE.length; j++) {
          const cdf = normCdf(Math.log(LE[j] / inst.medianLatency) / inst.sigma);
          const c = Math.min(n, Math.max(prev, Math.floor(n * cdf + rnd())));
          value[h + j] += c;
          prev = c;
        }
        value[h + 12] += n; // +Inf
        value[h + 13] += n * inst.medianLatency * Math.exp((inst.sigma * inst.sigma) / 2) * (0.8 + 0.4 * rnd()); // _sum
        value[h + 14] += n; // _count
      }
      value[b + 80] = Math.max(10e6, Math.round(value[b + 80] + (rnd() - 0.5) * 4e6));
      value[b + 81] = Math.max(10, value[b + 81] + Math.floor(rnd() * 5) - 2);
      value[b + 82] = Math.max(5, value[b + 82] + Math.floor(rnd() * 9) - 4);
      value[b + 83] = restart ? 0 : 1;
      for (let m = 0; m < METHODS.length; m++) value[b + 84 + m] = Math.floor(rnd() * 20 * METHOD_WEIGHT[m]);
      for (let q = 0; q < QUEUES.length; q++) value[b + 88 + q] = Math.max(0, value[b + 88 + q] + Math.floor(rnd() * 11) - 5);
    }
    return value;
  }
  return { series, instances, next };
}

// ---------------------------------------------------------------------------------------------
// Remote write 1.0, encoded by hand (the wire of prometheus/remote.proto: WriteRequest.timeseries
// = 1; TimeSeries.labels = 1, .samples = 2; Label.name = 1, .value = 2; Sample.value = 1 (double),
// .timestamp = 2 (int64)), since 14.4 M samples through a reflection encoder take minutes.

const varintLen = (n) => { let l = 1; while (n >= 128) { n = Math.floor(n / 128); l++; } return l; };
function putVarint(buf, pos, n) {
  while (n >= 128) { buf[pos++] = (n % 128) | 128; n = Math.floor(n / 128); }
  buf[pos++] = n;
  return pos;
}
function labelsBytes(labels) {
  const parts = [];
  for (const [name, value] of labels) {
    const nb = Buffer.from(name);
    const vb = Buffer.from(value);
    const inner = 1 + varintLen(nb.length) + nb.length + 1 + varintLen(vb.length) + vb.length;
    const b = Buffer.alloc(1 + varintLen(inner) + inner);
    let p = 0;
    b[p++] = 0x0a; p = putVarint(b, p, inner);
    b[p++] = 0x0a; p = putVarint(b, p, nb.length); p += nb.copy(b, p);
    b[p++] = 0x12; p = putVarint(b, p, vb.length); vb.copy(b, p);
    parts.push(b);
  }
  return Buffer.concat(parts);
}

// The WriteRequests: one per slice of `perBatch` scrapes, every series with its samples of the
// slice in time order, so every series is written in time order and the servers' head windows
// never see an old sample. Yields {body (snappy), samples, firstStep}.
function* writeBatches(data, perBatch) {
  const labelBufs = data.series.map((s) => labelsBytes(s.labels));
  const maxTsLen = varintLen(END_MS + STEP_MS);
  const vals = new Float64Array(perBatch * data.series.length);
  for (let first = 0; first < STEPS; first += perBatch) {
    const k = Math.min(perBatch, STEPS - first);
    for (let j = 0; j < k; j++) vals.set(data.next(first + j), j * data.series.length);
    let size = 0;
    for (const lb of labelBufs) size += 12 + lb.length + k * (2 + 10 + maxTsLen);
    const buf = Buffer.alloc(size);
    let p = 0;
    for (let i = 0; i < data.series.length; i++) {
      const lb = labelBufs[i];
      const inst = data.instances[data.series[i].inst];
      let body = lb.length;
      const ts = [];
      for (let j = 0; j < k; j++) {
        const t = START_MS + (first + j) * STEP_MS + inst.offsetMs;
        ts.push(t);
        const sl = 9 + 1 + varintLen(t);
        body += 1 + varintLen(sl) + sl;
      }
      buf[p++] = 0x0a; p = putVarint(buf, p, body);
      p += lb.copy(buf, p);
      for (let j = 0; j < k; j++) {
        const sl = 9 + 1 + varintLen(ts[j]);
        buf[p++] = 0x12; p = putVarint(buf, p, sl);
        buf[p++] = 0x09; buf.writeDoubleLE(vals[j * data.series.length + i], p); p += 8;
        buf[p++] = 0x10; p = putVarint(buf, p, ts[j]);
      }
    }
    yield { body: Buffer.from(snappy.compress(buf.subarray(0, p))), samples: k * data.series.length, firstStep: first };
  }
}

async function postWrite(url, body) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf', 'X-Prometheus-Remote-Write-Version': '0.1.0', 'User-Agent': 'sprout-query-bench' },
    body,
  });
  const text = await res.text();
  if (res.status < 200 || res.status >= 300) throw new Error(`remote write to ${url}: HTTP ${res.status}: ${text.slice(0, 500)}`);
}

// ---------------------------------------------------------------------------------------------
// The servers: /proc figures and HTTP.

const procStatus = (pid, key) => Number((fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+)`, 'm')) || [])[1]);
const cpuTicks = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' '); // fields from 3 on
  return Number(rest[11]) + Number(rest[12]); // utime (14) + stime (15)
};
const resetHwm = (pid) => fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function rangeQuery(target, query, { start = START_MS, end = END_MS, step = STEP_MS } = {}) {
  const body = new URLSearchParams({ query, start: String(start / 1000), end: String(end / 1000), step: String(step / 1000) }).toString();
  const t0 = performance.now();
  try {
    const res = await fetch(`${target.base}/api/v1/query_range`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Accept-Encoding': ACCEPT_ENCODING },
      body,
      signal: AbortSignal.timeout(300000),
    });
    const text = await res.text();
    return { ms: performance.now() - t0, status: res.status, text, bytes: Buffer.byteLength(text), encoding: res.headers.get('content-encoding') || 'identity' };
  } catch (err) {
    return { ms: performance.now() - t0, fetchError: err.message };
  }
}

async function getJson(url) {
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

// Until the server's CPU over 1 s is under 3 % of a core (at most SETTLE_MAX s): compaction and
// other work after the writes, so that it does not land in the first query's runs.
async function settle(target) {
  for (let i = 0; i < SETTLE_MAX; i++) {
    const a = cpuTicks(target.pid);
    await sleep(1000);
    if ((cpuTicks(target.pid) - a) * 100 < 3 * TICKS) return i + 1;
  }
  return SETTLE_MAX;
}

// The blocks under a server's data dir (directories holding a meta.json; the same block under
// two paths, e.g. a local copy and a bucket copy, counted once), as text.
function listBlocks(dir) {
  const found = new Map();
  if (!dir) return found;
  const walk = (d, depth) => {
    let entries;
    try { entries = fs.readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const sub = path.join(d, e.name);
      try {
        const m = JSON.parse(fs.readFileSync(path.join(sub, 'meta.json'), 'utf8'));
        found.set(m.ulid || sub, m);
      } catch {
        if (depth < 6) walk(sub, depth + 1);
      }
    }
  };
  walk(dir, 0);
  return found;
}

function blocksText(dir) {
  if (!dir) return 'blocks not listed';
  const found = listBlocks(dir);
  const hm = (ms) => new Date(ms).toISOString().slice(11, 16);
  const spans = [...found.values()].sort((a, b) => a.minTime - b.minTime).map((m) => `${hm(m.minTime)}–${hm(m.maxTime)}`);
  return `${found.size} block(s) on disk${spans.length ? ` (${spans.join(', ')} UTC)` : ''}, the rest in the head`;
}

// ---------------------------------------------------------------------------------------------
// Figures.

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.max(0, Math.ceil(p * s.length) - 1)]; };
const f1 = (x) => (x === undefined || Number.isNaN(x) ? '—' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const ratio = (a, b) => (a === undefined || b === undefined || !b ? '—' : `${(a / b).toFixed(2)}×`);
const mib = (kib) => (kib === undefined ? '—' : (kib / 1024).toFixed(0));
const signedMib = (kib) => { const v = Math.round(kib / 1024); return v >= 0 ? `+${v}` : `−${-v}`; };

// Series count and mismatching points between two answers (reference first), beyond
// compareAnswers's first difference.
function diffStats(ref, other) {
  const a = seriesMap(ref.resultType, ref.result);
  const b = seriesMap(other.resultType, other.result);
  let points = 0;
  let bad = 0;
  for (const [key, pa] of a) {
    const pb = b.get(key);
    points += pa.length;
    if (!pb) { bad += pa.length; continue; }
    const tb = new Map(pb.map((x) => [x.t, x.v]));
    for (const x of pa) if (!tb.has(x.t) || !valuesEqual(parseValue(x.v), parseValue(tb.get(x.t)))) bad += 1;
  }
  for (const [key, pb] of b) if (!a.has(key)) bad += pb.length;
  return { refSeries: a.size, series: b.size, points, badPoints: bad };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const targets = [];
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] !== '--target') throw new Error(`unknown argument ${argv[i]}`);
    const [name, base, writePath, pid, dir] = argv.slice(i + 1, i + 6);
    targets.push({ name, base, writeUrl: base + writePath, pid: Number(pid), dir });
    i += 5;
  }
  if (!targets.length) throw new Error('no --target');
  const ref = targets.find((t) => t.name === 'prometheus') || targets[0];
  const only = env('QB_QUERIES', '') ? env('QB_QUERIES', '').split(',') : null;
  const queries = QUERIES.filter(([n]) => !only || only.includes(n));
  const results = { startMs: START_MS, endMs: END_MS, stepMs: STEP_MS, seed: SEED, runs: RUNS, warmups: WARMUPS, targets: targets.map((t) => t.name), queries: [] };

  // ---- data ----
  const data = buildDataSet(SEED);
  const t0 = Date.now();
  let samples = 0;
  let requests = 0;
  for (const batch of writeBatches(data, 20)) {
    await Promise.all(targets.map((t) => postWrite(t.writeUrl, batch.body)));
    samples += batch.samples;
    requests += 1;
  }
  console.log(`data: ${data.series.length} series x ${STEPS} scrapes = ${samples} samples, ${new Date(START_MS).toISOString()} .. ${new Date(END_MS - STEP_MS).toISOString()} (+ per-instance offsets < ${STEP_MS / 1000} s), ${requests} remote-write requests to each target in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // What each target holds, by remote read (both serve /api/v1/read; independent of PromQL):
  // per metric name and service, the number of samples and the sum of their values, compared
  // with what was written and across the targets.
  const names = [...new Set(data.series.map((s) => s.labels[0][1]))];
  for (const t of targets) {
    const s = await getJson(`${t.base}/api/v1/series?${new URLSearchParams({ 'match[]': '{__name__=~".+"}', start: String(START_MS / 1000), end: String(END_MS / 1000) })}`);
    t.holds = { series: s.data.length, samples: 0, sums: {} };
    for (const name of names) {
      for (const service of SERVICES) {
        const r = await remoteReadRaw(`${t.base}/api/v1/read`, [{ start: START_MS, end: END_MS + STEP_MS, matchers: `{__name__="${name}", service="${service}"}` }]);
        if (r.status !== 200) throw new Error(`${t.name}: remote read: HTTP ${r.status}: ${r.body.toString().slice(0, 300)}`);
        let sum = 0;
        for (const ts of (r.response.results[0] && r.response.results[0].timeseries) || []) {
          for (const x of ts.samples || []) { t.holds.samples += 1; sum += x.value || 0; }
        }
        t.holds.sums[`${name}/${service}`] = sum;
      }
    }
    const settled = await settle(t);
    console.log(`${t.name}: holds ${t.holds.series} series, ${t.holds.samples} samples (remote read); settled after ${settled} s; RSS ${mib(procStatus(t.pid, 'VmRSS'))} MiB; ${blocksText(t.dir)}`);
    if (t.holds.series !== data.series.length || t.holds.samples !== samples) console.log(`${t.name}: WARNING: expected ${data.series.length} series and ${samples} samples`);
  }
  // Both stores cut the head's oldest 2 h into a block while it spans more than 3 h: Prometheus
  // right after the append that makes it so, sprout in its cutting job (every minute). Queries
  // are measured once every target holds as many blocks as the one with most (or after
  // QB_LAYOUT_MAX s), so that no cut lands among the runs and all read the same layout.
  const layoutMax = Number(env('QB_LAYOUT_MAX', 180));
  const tl = Date.now();
  for (;;) {
    const counts = targets.map((t) => listBlocks(t.dir).size);
    if (counts.every((c) => c === Math.max(...counts)) || Date.now() - tl > layoutMax * 1000) break;
    await sleep(2000);
  }
  for (const t of targets) console.log(`${t.name}: ${blocksText(t.dir)} (after ${((Date.now() - tl) / 1000).toFixed(0)} s); settled after ${await settle(t)} s more`);
  for (const t of targets) {
    if (t === targets[0]) continue;
    const bad = Object.keys(t.holds.sums).filter((k) => !valuesEqual(t.holds.sums[k], targets[0].holds.sums[k], 1e-12));
    console.log(`${t.name}: sums of values per metric and service ${bad.length ? `DIFFER from ${targets[0].name}'s: ${bad.slice(0, 5).join(', ')}` : `equal to ${targets[0].name}'s`}`);
  }
  results.data = { series: data.series.length, samples, holds: Object.fromEntries(targets.map((t) => [t.name, { series: t.holds.series, samples: t.holds.samples }])) };

  // ---- queries ----
  for (const [qname, query] of queries) {
    const q = { name: qname, query, per: {} };
    for (const t of targets) {
      resetHwm(t.pid);
      q.per[t.name] = { rssBefore: procStatus(t.pid, 'VmRSS'), ms: [], errors: 0 };
    }
    // Warm-ups; the first answers are compared.
    const first = {};
    for (let w = 0; w < WARMUPS; w++) {
      for (const t of targets) {
        const r = await rangeQuery(t, query);
        if (w === 0) first[t.name] = classifyAnswer(r);
      }
    }
    for (const t of targets) {
      const a = first[t.name];
      const per = q.per[t.name];
      per.answer = a.kind === 'result' ? 'result' : a.kind === 'error' ? `error ${a.errorType}: ${a.error}` : a.reason;
      if (a.kind === 'result') per.series = a.result.length;
      if (t !== ref && first[ref.name].kind === 'result') {
        const c = compareAnswers(first[ref.name], a);
        per.match = c.pass;
        if (!c.pass) per.diff = c.diff;
        if (a.kind === 'result') Object.assign(per, diffStats(first[ref.name], a));
      }
    }
    // Timed runs, alternating which target goes first.
    const live = targets.filter((t) => first[t.name].kind === 'result');
    const cpu0 = Object.fromEntries(live.map((t) => [t.name, cpuTicks(t.pid)]));
    for (let i = 0; i < RUNS; i++) {
      const order = i % 2 ? [...live].reverse() : live;
      for (const t of order) {
        const r = await rangeQuery(t, query);
        if (r.status === 200) q.per[t.name].ms.push(r.ms);
        else q.per[t.name].errors += 1;
        q.per[t.name].bytes = r.bytes;
        q.per[t.name].encoding = r.encoding;
      }
    }
    for (const t of targets) {
      const per = q.per[t.name];
      per.hwm = procStatus(t.pid, 'VmHWM');
      if (!live.includes(t)) continue;
      per.cpuMs = ((cpuTicks(t.pid) - cpu0[t.name]) * 1000) / TICKS / Math.max(1, per.ms.length);
      per.p50 = pct(per.ms, 0.5);
      per.p99 = pct(per.ms, 0.99);
    }
    results.queries.push(q);
    console.log(`${qname}: ${targets.map((t) => { const p = q.per[t.name]; return `${t.name} ${p.p50 !== undefined ? `p50 ${f1(p.p50)} ms, p99 ${f1(p.p99)} ms, CPU ${f1(p.cpuMs)} ms/run, ${p.series} series, peak RSS ${mib(p.hwm)} MiB (${signedMib(p.hwm - p.rssBefore)})` : p.answer}${p.match === false ? ` MISMATCH: ${p.diff}` : ''}`; }).join('; ')}`);
  }

  // ---- the tables ----
  const others = targets.filter((t) => t !== ref);
  const head = (cols) => `| ${cols.join(' | ')} |\n|${cols.map(() => '---').join('|')}|`;
  console.log();
  console.log(`Latency (client-side, ms; ${RUNS} timed runs per query and target after ${WARMUPS} warm-ups; targets alternating), range ${HOURS} h at ${STEP_MS / 1000} s step (${STEPS + 1} steps):`);
  console.log();
  const lcols = ['query'];
  for (const t of targets) lcols.push(`${t.name} p50`, `${t.name} p99`);
  for (const o of others) lcols.push(`${o.name} / ${ref.name} p50`, `${o.name} / ${ref.name} p99`);
  console.log(head(lcols));
  for (const q of results.queries) {
    const row = [`\`${q.name}\``];
    for (const t of targets) row.push(f1(q.per[t.name].p50), f1(q.per[t.name].p99));
    for (const o of others) row.push(ratio(q.per[o.name].p50, q.per[ref.name].p50), ratio(q.per[o.name].p99, q.per[ref.name].p99));
    console.log(`| ${row.join(' | ')} |`);
  }
  console.log();
  console.log(`Requests sent Accept-Encoding: ${ACCEPT_ENCODING}; answers came as ${targets.map((t) => `${t.name} ${[...new Set(results.queries.map((q) => q.per[t.name].encoding).filter(Boolean))].join('/') || '—'}`).join(', ')}; the client's decompression is inside the latency.`);
  console.log();
  console.log('Server CPU per run (utime+stime, ms) and memory (peak RSS over the query\'s warm-ups and runs, MiB; in brackets its rise over the RSS before the query):');
  console.log();
  const mcols = ['query', 'series'];
  for (const t of targets) mcols.push(`${t.name} CPU`, `${t.name} peak RSS`);
  for (const o of others) mcols.push(`${o.name} / ${ref.name} CPU`, `${o.name} / ${ref.name} peak RSS`, 'same answer');
  console.log(head(mcols));
  for (const q of results.queries) {
    const row = [`\`${q.name}\``, targets.map((t) => (q.per[t.name].series === undefined ? '—' : q.per[t.name].series)).join(' / ')];
    for (const t of targets) { const p = q.per[t.name]; row.push(f1(p.cpuMs), p.p50 === undefined ? '—' : `${mib(p.hwm)} (${signedMib(p.hwm - p.rssBefore)})`); }
    for (const o of others) {
      const p = q.per[o.name];
      const same = p.match === undefined ? '—' : p.match ? 'yes' : p.points === undefined ? `**no answer**: ${p.diff.slice(0, 80)}` : `**no**: ${p.badPoints} of ${p.points} points differ; ${p.diff}`;
      row.push(ratio(p.cpuMs, q.per[ref.name].cpuMs), p.p50 === undefined ? '—' : ratio(p.hwm, q.per[ref.name].hwm), same);
    }
    console.log(`| ${row.join(' | ')} |`);
  }
  for (const q of results.queries) for (const t of targets) if (q.per[t.name].answer !== 'result') console.log(`\n${t.name} ${q.name}: no result (${q.per[t.name].answer.slice(0, 200)})`);

  // ---- profile ----
  const profDir = env('QB_PROFILE', '');
  if (profDir) await profile(profDir, targets, results);

  if (env('QB_RESULTS', '')) fs.writeFileSync(env('QB_RESULTS', ''), JSON.stringify(results, null, 1));
}

async function profile(dir, targets, results) {
  const target = targets.find((t) => t.name === env('QB_PROFILE_TARGET', 'sprout'));
  if (!target) { console.log(`\nprofile: no target ${env('QB_PROFILE_TARGET', 'sprout')}`); return; }
  let qname = env('QB_PROFILE_QUERY', '');
  if (!qname) {
    const timed = results.queries.filter((q) => q.per[target.name].p50 !== undefined);
    if (!timed.length) { console.log(`\nprofile: ${target.name} answered no query`); return; }
    qname = timed.reduce((a, b) => (b.per[target.name].p50 > a.per[target.name].p50 ? b : a)).name;
  }
  const query = QUERIES.find(([n]) => n === qname)[1];
  const runs = Number(env('QB_PROFILE_RUNS', 10));
  fs.mkdirSync(dir, { recursive: true });
  const out = path.join(dir, `${target.name}-${qname}.perf.data`);
  const perfArgs = env('QB_PERF_ARGS', '-e cpu-clock -F 499 --call-graph dwarf,16384').split(/\s+/);
  const perf = spawn('perf', ['record', ...perfArgs, '-p', String(target.pid), '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  let perfErr = '';
  perf.stderr.on('data', (d) => (perfErr += d));
  const exited = new Promise((r) => perf.on('exit', r).on('error', (e) => { perfErr += e.message; r(-1); }));
  await sleep(1000);
  const ms = [];
  for (let i = 0; i < runs; i++) ms.push((await rangeQuery(target, query)).ms);
  perf.kill('SIGINT');
  await exited;
  console.log(`\nprofile: perf record ${perfArgs.join(' ')} -p ${target.pid} while ${target.name} answered \`${qname}\` ${runs} times (p50 ${f1(pct(ms, 0.5))} ms): ${out}`);
  if (!fs.existsSync(out)) { console.log(`perf failed: ${perfErr.slice(0, 500)}`); return; }
  try {
    const flat = execFileSync('perf', ['report', '-i', out, '--no-children', '--stdio', '-g', 'none', '--percent-limit', '0.7', '--sort', 'dso,symbol'], { maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    const tidy = (text, n) => text.split('\n').filter((l) => l.trim() && !l.startsWith('#')).slice(0, n)
      .map((l) => l.replace(/\s+-\s+-\s*$/, '').replace(/ {2,}/g, '  ').trimEnd().slice(0, 170)).join('\n');
    console.log('top frames (self time; dso, symbol):');
    console.log(tidy(flat, 30));
    const children = execFileSync('perf', ['report', '-i', out, '--children', '--stdio', '-g', 'none', '--percent-limit', '4', '--sort', 'dso,symbol'], { maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    console.log('inclusive (children, self; dso, symbol):');
    console.log(tidy(children, 40));
  } catch (err) {
    console.log(`perf report failed: ${err.message.slice(0, 300)}`);
  }
}

main().catch((err) => { console.error(err.stack || String(err)); process.exit(2); });
