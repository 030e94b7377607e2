'use strict';
// The data set: what three instances of the PromLabs demo service would have given a Prometheus
// scraping them every 5 s (job "demo"), generated here from a seeded PRNG at FIXED past
// timestamps, so every run writes exactly the same samples. Events inside the query window:
//   - instance :10001 restarts (RESTART_AT): its scrapes fail for RESTART_DOWN_MS, the first
//     failed scrape writes a stale marker for every series it had, and after it its counters
//     (CPU seconds, the histogram's buckets, sum and count) start again from ~0;
//   - demo_cpu_usage_seconds_total{mode="system"} of :10002 resets without a gap (RESET_AT);
//   - demo_intermittent_metric is exposed only part of each 20 min, with a stale marker at the
//     first scrape without it;
//   - demo_batch_last_success_timestamp_seconds changes only when a batch run succeeds.
// Samples are produced in time order and cut into remote-write batches by time slice.

const T0_MS = Date.UTC(2026, 0, 1, 0, 0, 0); // 2026-01-01T00:00:00Z
const INTERVAL_MS = 5000;
const DURATION_MS = 165 * 60 * 1000; // 2 h 45 min: stays below Prometheus's 3 h head-compaction span
const JOB = 'demo';
const INSTANCES = ['demo.promlabs.com:10000', 'demo.promlabs.com:10001', 'demo.promlabs.com:10002'];
const RESTART_INSTANCE = 1;
const RESTART_AT_MS = T0_MS + 115 * 60 * 1000;
const RESTART_DOWN_MS = 20000;
const RESET_INSTANCE = 2;
const RESET_AT_MS = T0_MS + 125 * 60 * 1000;
// The range queries' window: it holds the restart, the counter reset and several appearances and
// disappearances of the intermittent metric, and has over 1 h of data before it ([1h] ranges).
const WINDOW = { startMs: T0_MS + 100 * 60 * 1000, endMs: T0_MS + 140 * 60 * 1000, stepMs: 6000 };

const MEMORY_TYPES = ['buffers', 'cached', 'free', 'used'];
const CPU_MODES = ['idle', 'system', 'user'];
const API_SERIES = [
  { method: 'GET', path: '/api/foo', status: '200' },
  { method: 'POST', path: '/api/foo', status: '200' },
  { method: 'GET', path: '/api/bar', status: '500' },
];
// 0.0001 × 1.5^k for k = 0..9, written as exact decimals (what a client library prints), then +Inf.
const BUCKET_BOUNDS = ['0.0001', '0.00015', '0.000225', '0.0003375', '0.00050625', '0.000759375', '0.0011390625',
  '0.00170859375', '0.002562890625', '0.0038443359375'];

// The bits Prometheus uses for a staleness marker (value.StaleNaN).
const STALE_NAN_HEX = '7ff0000000000002';

// mulberry32: a small seeded PRNG, [0, 1).
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

// Labels as the remote-write wire wants them: sorted by name.
function labelList(obj) {
  return Object.keys(obj).sort().map((name) => ({ name, value: obj[name] }));
}

// One instance's demo service: its state, and what a scrape at time t exposes ({key: {labels, value}}).
class DemoInstance {
  constructor(index) {
    this.index = index;
    this.instance = INSTANCES[index];
    this.rand = prng(0x5eed + index * 7919);
    this.numCpus = [4, 6, 8][index];
    this.memBase = { buffers: 3.2e8, cached: 1.1e9, free: 2.4e9, used: 4.6e9 }; // bytes
    this.diskBase = 6.0e10 + index * 1.5e10;
    this.batchOffsetMs = (90 + index * 37) * 1000;
    this.lastBatchSuccess = (T0_MS - 300000 + this.batchOffsetMs) / 1000;
    this.startProcess();
  }

  // Counters from zero (a new process).
  startProcess() {
    this.cpu = Object.fromEntries(CPU_MODES.map((m) => [m, 0]));
    this.api = API_SERIES.map(() => ({ buckets: new Array(BUCKET_BOUNDS.length + 1).fill(0), sum: 0, count: 0 }));
  }

  base(name, extra = {}) {
    return { __name__: name, instance: this.instance, job: JOB, ...extra };
  }

  // Advances the state to time t (one scrape interval) and returns the exposed series.
  scrape(t) {
    const r = this.rand;
    const out = [];
    const put = (labels, value) => out.push({ labels, value });
    const minutes = (t - T0_MS) / 60000;

    for (const type of MEMORY_TYPES) {
      const wave = Math.sin((2 * Math.PI * minutes) / (17 + this.index * 3) + MEMORY_TYPES.indexOf(type));
      put(this.base('demo_memory_usage_bytes', { type }), Math.round(this.memBase[type] * (1 + 0.05 * wave + 0.01 * (r() - 0.5))));
    }
    put(this.base('demo_num_cpus'), this.numCpus);

    const cpuRates = { idle: 0.6 * this.numCpus, system: 0.08 * this.numCpus, user: 0.3 * this.numCpus };
    for (const mode of CPU_MODES) {
      this.cpu[mode] += cpuRates[mode] * (INTERVAL_MS / 1000) * (0.7 + 0.6 * r());
      put(this.base('demo_cpu_usage_seconds_total', { mode }), this.cpu[mode]);
    }

    put(this.base('demo_disk_usage_bytes'), Math.round(this.diskBase + 2.5e5 * minutes * 60 + 4e6 * (r() - 0.5)));

    API_SERIES.forEach((s, k) => {
      const h = this.api[k];
      const n = Math.floor(r() * (20 + 15 * k));
      for (let i = 0; i < n; i++) {
        // latency ~ log-uniform over 50 µs .. 8 ms, slower for errors
        const latency = 0.00005 * Math.exp(r() * Math.log(160)) * (s.status === '500' ? 1.5 : 1);
        h.sum += latency;
        h.count += 1;
        let b = BUCKET_BOUNDS.findIndex((le) => latency <= Number(le));
        if (b < 0) b = BUCKET_BOUNDS.length;
        for (let j = b; j <= BUCKET_BOUNDS.length; j++) h.buckets[j] += 1;
      }
      [...BUCKET_BOUNDS, '+Inf'].forEach((le, j) =>
        put(this.base('demo_api_request_duration_seconds_bucket', { ...s, le }), h.buckets[j]));
      put(this.base('demo_api_request_duration_seconds_sum', s), h.sum);
      put(this.base('demo_api_request_duration_seconds_count', s), h.count);
    });

    // A batch job every 5 min (per-instance offset); one run in four fails.
    const sinceBatch = (t - T0_MS - this.batchOffsetMs) % 300000;
    if (sinceBatch >= 0 && sinceBatch < INTERVAL_MS) {
      if (r() < 0.75) this.lastBatchSuccess = (t - sinceBatch) / 1000 + Math.round(r() * 1000) / 1000;
    }
    put(this.base('demo_batch_last_success_timestamp_seconds'), this.lastBatchSuccess);

    if ((Math.floor(minutes) + 7 * this.index) % 20 < 12) {
      put(this.base('demo_intermittent_metric'), Math.round(r() * 100) / 10);
    }
    return out;
  }
}

const keyOf = (labels) => JSON.stringify(labels);

// Every sample of the data set in time order: [{t, labels, value, stale}] where `stale` marks a
// staleness marker (its value is written with STALE_NAN_HEX's bits). Also counts.
function generate({ t0 = T0_MS, durationMs = DURATION_MS } = {}) {
  const instances = INSTANCES.map((_, i) => new DemoInstance(i));
  const jitter = prng(0xa11ce);
  const ticks = [];
  // Each instance is scraped at its own phase within the interval, with a few ms of jitter.
  for (let base = t0; base < t0 + durationMs; base += INTERVAL_MS) {
    instances.forEach((inst, i) => ticks.push({ t: base + 1234 * i + Math.round((jitter() - 0.5) * 60), inst }));
  }
  ticks.sort((a, b) => a.t - b.t || a.inst.index - b.inst.index);

  const samples = [];
  const previous = new Map(); // instance index → Map(key → labels) of the last successful scrape
  let restarted = false;
  let reset = false;
  for (const { t, inst } of ticks) {
    const prev = previous.get(inst.index) || new Map();
    const down = inst.index === RESTART_INSTANCE && t >= RESTART_AT_MS && t < RESTART_AT_MS + RESTART_DOWN_MS;
    if (down) {
      // A failed scrape: every series of the previous scrape goes stale.
      for (const labels of prev.values()) samples.push({ t, labels, value: NaN, stale: true });
      previous.set(inst.index, new Map());
      continue;
    }
    if (inst.index === RESTART_INSTANCE && t >= RESTART_AT_MS + RESTART_DOWN_MS && !restarted) {
      restarted = true;
      inst.startProcess();
    }
    if (inst.index === RESET_INSTANCE && t >= RESET_AT_MS && !reset) {
      reset = true;
      inst.cpu.system = 0;
    }
    const now = new Map();
    for (const { labels, value } of inst.scrape(t)) {
      now.set(keyOf(labels), labels);
      samples.push({ t, labels, value, stale: false });
    }
    for (const [key, labels] of prev) {
      if (!now.has(key)) samples.push({ t, labels, value: NaN, stale: true });
    }
    previous.set(inst.index, now);
  }
  const seriesKeys = new Set(samples.map((s) => keyOf(s.labels)));
  return {
    samples,
    series: seriesKeys.size,
    floats: samples.filter((s) => !s.stale).length,
    staleMarkers: samples.filter((s) => s.stale).length,
    minMs: samples[0].t,
    maxMs: samples[samples.length - 1].t,
  };
}

// Remote-write batches: consecutive time slices of `sliceMs`, each as a WriteRequest's plain
// data ({timeseries: [{labels, samples: [{value, timestamp, stale}]}]}), samples of a series in
// time order.
function batches(samples, { sliceMs = 10 * 60 * 1000 } = {}) {
  const out = [];
  let current = null;
  let sliceEnd = -Infinity;
  for (const s of samples) {
    if (s.t >= sliceEnd) {
      current = new Map();
      out.push(current);
      sliceEnd = s.t - (s.t % sliceMs) + sliceMs;
    }
    const key = keyOf(s.labels);
    if (!current.has(key)) current.set(key, { labels: labelList(s.labels), samples: [] });
    current.get(key).samples.push({ value: s.value, timestamp: s.t, stale: s.stale });
  }
  return out.map((m) => ({ timeseries: [...m.values()] }));
}

module.exports = {
  API_SERIES,
  BUCKET_BOUNDS,
  CPU_MODES,
  INSTANCES,
  INTERVAL_MS,
  JOB,
  MEMORY_TYPES,
  RESET_AT_MS,
  RESET_INSTANCE,
  RESTART_AT_MS,
  RESTART_DOWN_MS,
  RESTART_INSTANCE,
  STALE_NAN_HEX,
  T0_MS,
  WINDOW,
  batches,
  generate,
  labelList,
  prng,
};
