'use strict';
// Throw-away remote-write peers for the prometheusremotewrite tests: Debian's `prometheus`
// (remote-write receiver, native histograms, exemplar storage) and `victoria-metrics`, each on a
// free loopback port with its own temp data dir; stop/restart on the same dir and port; their
// HTTP query APIs. Every process is registered with lib/sprout.js, so none outlives the test
// process. `make deps` installs both packages (without leaving their services running).

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const snappy = require('snappyjs');

const { freePort, makeTempDir, trackChild, waitFor } = require('./sprout');
const { encodeWriteRequest } = require('./proto');

const PROMETHEUS_BIN = process.env.SPROUT_PROMETHEUS || '/usr/bin/prometheus';
const VICTORIA_METRICS_BIN = process.env.SPROUT_VICTORIA_METRICS || '/usr/bin/victoria-metrics';

// A missing peer is a failure, never a skip.
function requireBinary(bin, pkg) {
  if (!fs.existsSync(bin)) {
    throw new Error(`${bin} not found: run \`make deps\` (it installs the Debian package ${pkg})`);
  }
}

// One server process, restartable on the same port and data dir.
class PeerServer {
  constructor({ name, bin, pkg, dir = makeTempDir(`sprout-${name}-`), port }) {
    requireBinary(bin, pkg);
    this.name = name;
    this.bin = bin;
    this.dir = dir;
    this.dataDir = path.join(dir, 'data');
    this.port = port;
    this.child = null;
    this.exit = null;
    this.log = ''; // stdout and stderr of every run, in order
    this.runs = 0;
  }

  get baseUrl() {
    return `http://127.0.0.1:${this.port}`;
  }

  get writeUrl() {
    return `${this.baseUrl}/api/v1/write`;
  }

  get running() {
    return this.child !== null && this.exit === null;
  }

  // Spawns the server and waits until its readiness endpoint answers 200.
  async start({ timeoutMs = 30000 } = {}) {
    if (this.running) throw new Error(`${this.name} is already running`);
    if (!this.port) this.port = await freePort();
    fs.mkdirSync(this.dataDir, { recursive: true });
    this.runs += 1;
    this.exit = null;
    this.log += `---- ${this.name} run ${this.runs}: ${this.bin} ${this.args().join(' ')}\n`;
    const child = trackChild(spawn(this.bin, this.args(), { stdio: ['ignore', 'pipe', 'pipe'] }));
    this.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      stream.setEncoding('utf8').on('data', (d) => (this.log += d));
    }
    this.exited = new Promise((resolve) => {
      const done = (code, signal) => {
        if (this.child === child && this.exit === null) this.exit = { code, signal };
        try {
          fs.writeFileSync(path.join(this.dir, `${this.name}.log`), this.log);
        } catch {
          /* the directory may be gone */
        }
        resolve({ code, signal });
      };
      child.on('close', done);
      child.on('error', (err) => {
        this.log += `spawn error: ${err.message}\n`;
        done(-1, null);
      });
    });
    await waitFor(
      async () => {
        if (this.exit) throw Object.assign(new Error(`${this.name} exited early`), { fatal: true });
        const res = await fetch(`${this.baseUrl}${this.readyPath}`).catch(() => null);
        return res !== null && res.status === 200;
      },
      { timeoutMs, intervalMs: 100, describe: () => `${this.name} to become ready; log:\n${this.log.slice(-5000)}` },
    ).catch((err) => {
      if (this.exit) {
        throw new Error(
          `${this.name} exited with code ${this.exit.code} before it was ready; log:\n${this.log.slice(-5000)}`);
      }
      throw err;
    });
    return this;
  }

  // SIGTERM and wait for the exit (SIGKILL after timeoutMs, then throw); returns {code, signal}.
  async stop(timeoutMs = 30000) {
    if (!this.running) return this.exit;
    this.child.kill('SIGTERM');
    let timer;
    const result = await Promise.race([
      this.exited,
      new Promise((resolve) => {
        timer = setTimeout(() => resolve(null), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!result) {
      this.child.kill('SIGKILL');
      await this.exited;
      throw new Error(`${this.name} did not exit within ${timeoutMs} ms of SIGTERM; log:\n${this.log.slice(-5000)}`);
    }
    return result;
  }

  // Stop, then start again on the same port and data dir.
  async restart() {
    await this.stop();
    return this.start();
  }

  // For `after` hooks: never throws, leaves no process behind.
  async kill() {
    if (!this.running) return;
    try {
      await this.stop(10000);
    } catch {
      /* SIGKILLed by stop */
    }
  }

  // GET <path> with query parameters (array values repeat the name, as match[] needs); the
  // `data` of a successful answer, else a thrown error with the server's message.
  async api(apiPath, params = {}) {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (value === undefined || value === null) continue;
      for (const v of Array.isArray(value) ? value : [value]) search.append(key, String(v));
    }
    const url = `${this.baseUrl}${apiPath}?${search}`;
    const res = await fetch(url);
    const text = await res.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`${this.name} ${apiPath}: HTTP ${res.status}, not JSON: ${text.slice(0, 500)}`);
    }
    if (res.status !== 200 || body.status !== 'success') {
      throw new Error(
        `${this.name} ${apiPath} ${search}: HTTP ${res.status}: ${body.errorType || ''} ${body.error || text.slice(0, 500)}`);
    }
    return body.data;
  }

  // Instant query; `time` in seconds (default: a little after now, see queryTime()). Returns
  // the result array.
  async query(expr, { time = this.queryTime() } = {}) {
    return (await this.api('/api/v1/query', { query: expr, time })).result;
  }

  // Prometheus evaluates "now" to the millisecond; a second later changes nothing but clock skew.
  queryTime() {
    return Date.now() / 1000 + 1;
  }

  async queryRange(expr, { start, end, step }) {
    return (await this.api('/api/v1/query_range', { query: expr, start, end, step })).result;
  }

  // Label sets of the series matching any of `matchers` (default: the last hour).
  async series(matchers, { start = Date.now() / 1000 - 3600, end = Date.now() / 1000 + 60 } = {}) {
    return this.api('/api/v1/series', { 'match[]': [].concat(matchers), start, end });
  }

  // Every raw sample of the series matching `selector` in the last `windowSeconds` (a range
  // selector in an instant query returns them unchanged): [{metric, values: [[t, "v"], ...],
  // histograms: [[t, {...}], ...]}].
  async rawSamples(selector, { windowSeconds = 3600, time } = {}) {
    return this.query(`${selector}[${Math.ceil(windowSeconds)}s]`, { time });
  }
}

// `prometheus` with the remote-write receiver, native histograms and exemplar storage.
class Prometheus extends PeerServer {
  constructor(opts = {}) {
    super({ name: 'prometheus', bin: PROMETHEUS_BIN, pkg: 'prometheus', ...opts });
    this.configFile = path.join(this.dir, 'prometheus.yml');
    fs.writeFileSync(this.configFile, 'global: {}\n');
    this.readyPath = '/-/ready';
  }

  args() {
    return [
      `--config.file=${this.configFile}`,
      `--storage.tsdb.path=${this.dataDir}`,
      `--web.listen-address=127.0.0.1:${this.port}`,
      '--web.enable-remote-write-receiver',
      '--enable-feature=native-histograms,exemplar-storage',
      '--log.level=debug', // the write handler logs rejected samples and exemplars at debug
    ];
  }

  // [{seriesLabels, exemplars: [{labels, value, timestamp}]}] for `expr` between start and end
  // (seconds).
  async queryExemplars(expr, { start = Date.now() / 1000 - 3600, end = Date.now() / 1000 + 60 } = {}) {
    return this.api('/api/v1/query_exemplars', { query: expr, start, end });
  }
}

// `victoria-metrics` (single node): remote write at /api/v1/write is always on; queries see
// samples at once (no latency offset, no response cache, pending rows flushed before a query).
class VictoriaMetrics extends PeerServer {
  constructor(opts = {}) {
    super({ name: 'victoria-metrics', bin: VICTORIA_METRICS_BIN, pkg: 'victoria-metrics', ...opts });
    this.readyPath = '/health';
  }

  args() {
    return [
      `-storageDataPath=${this.dataDir}`,
      `-httpListenAddr=127.0.0.1:${this.port}`,
      '-search.latencyOffset=0s',
      '-search.disableCache',
      '-retentionPeriod=100y',
      '-loggerLevel=INFO',
    ];
  }

  // VictoriaMetrics truncates a missing `time` to whole seconds and moves any time less than
  // max(-search.latencyOffset, 1 s) from now back to now − 1 s: both would hide the newest
  // samples. A time 5 s ahead is left alone (and the lookback covers the gap).
  queryTime() {
    return Date.now() / 1000 + 5;
  }

  // Makes recently ingested samples searchable now (they sit in an in-memory buffer otherwise).
  async flush() {
    const res = await fetch(`${this.baseUrl}/internal/force_flush`);
    await res.text();
    if (res.status !== 200) throw new Error(`${this.name} /internal/force_flush: HTTP ${res.status}`);
  }

  async api(apiPath, params) {
    await this.flush();
    return super.api(apiPath, params);
  }
}

// Sends one remote-write 1.0 request (protobuf WriteRequest, snappy block format) as a
// Prometheus server would; for checking the harness itself. Returns {status, body}.
async function remoteWrite(url, writeRequestData) {
  const body = Buffer.from(snappy.compress(encodeWriteRequest(writeRequestData)));
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'Content-Encoding': 'snappy',
      'Content-Type': 'application/x-protobuf',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
      'User-Agent': 'sprout-e2e',
    },
    body,
  });
  return { status: res.status, body: await res.text() };
}

// ---------------------------------------------------------------------------------------------
// Results

// A label set as a canonical string (sorted names), for maps keyed by series.
function labelKey(labels) {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

// Query results (vector or matrix) keyed by labelKey(metric).
function byLabels(results) {
  const map = new Map();
  for (const r of results) map.set(labelKey(r.metric), r);
  return map;
}

module.exports = {
  PROMETHEUS_BIN,
  VICTORIA_METRICS_BIN,
  Prometheus,
  VictoriaMetrics,
  byLabels,
  labelKey,
  remoteWrite,
};
