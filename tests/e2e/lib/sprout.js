'use strict';
// Helpers for the end-to-end tests: free ports, config files, running the real sprout binary,
// reading its internal metrics and parsing what the debug exporter writes.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const E2E_DIR = path.resolve(__dirname, '..');
const SPROUT_BIN = process.env.SPROUT_BIN || path.resolve(E2E_DIR, '../../build/bin/sprout');
const SPROUT_LOADGEN =
  process.env.SPROUT_LOADGEN || path.resolve(E2E_DIR, '../../build/bin/sprout-loadgen');
const SPROUT_SINK = process.env.SPROUT_SINK || path.resolve(E2E_DIR, '../../build/bin/sprout-sink');

// ---------------------------------------------------------------------------------------------
// Small utilities

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polls `probe` (sync or async) until it returns a truthy value; throws a clear error after
// `timeoutMs`. `describe` (a string or a function returning one) explains what was awaited.
async function waitFor(probe, { timeoutMs = 10000, intervalMs = 50, describe = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      if (err.fatal) throw err; // no point in waiting any longer
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const what = typeof describe === 'function' ? describe() : describe;
      const cause = lastError ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await sleep(intervalMs);
  }
}

// A TCP port nobody listens on right now: bind port 0, read the port, close.
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function freePorts(n) {
  // Ask for all of them while holding the earlier ones, so the answers are distinct.
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const server = net.createServer();
      await new Promise((resolve, reject) => {
        server.on('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
      servers.push(server);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

// Temp dirs (configs and collector logs) are removed when the test process exits cleanly and
// kept, with a note on stderr, when a test failed or SPROUT_E2E_KEEP is set.
const tempDirs = [];
function makeTempDir(prefix = 'sprout-e2e-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

process.on('exit', (code) => {
  killAllChildren();
  if (tempDirs.length === 0) return;
  if (code !== 0 || process.env.SPROUT_E2E_KEEP) {
    fs.writeSync(2, `sprout e2e: configs and collector logs kept in ${tempDirs.join(' ')}\n`);
    return;
  }
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// YAML: a tiny emitter for config objects (maps in block style, scalar lists in flow style,
// lists of maps in block style; null writes a key with no value, e.g. `grpc:`).

function yamlScalar(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(String(v));
}

function toYaml(value, indent = 0) {
  const pad = '  '.repeat(indent);
  let out = '';
  for (const [key, v] of Object.entries(value)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      out += Object.keys(v).length === 0 ? `${pad}${key}: {}\n` : `${pad}${key}:\n${toYaml(v, indent + 1)}`;
    } else if (Array.isArray(v)) {
      if (v.every((e) => e === null || typeof e !== 'object')) {
        out += `${pad}${key}: [${v.map(yamlScalar).join(', ')}]\n`;
      } else {
        out += `${pad}${key}:\n`;
        for (const e of v) {
          const body = toYaml(e, indent + 2).replace(/^\s+/, '');
          out += `${pad}  - ${body}`;
        }
      }
    } else {
      out += v === null || v === undefined ? `${pad}${key}:\n` : `${pad}${key}: ${yamlScalar(v)}\n`;
    }
  }
  return out;
}

function writeConfig(dir, name, config) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof config === 'string' ? config : toYaml(config));
  return file;
}

// ---------------------------------------------------------------------------------------------
// Child processes: every one is registered so that nothing outlives the test process.

const liveChildren = new Set();
function killAllChildren() {
  for (const child of liveChildren) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}
process.on('exit', killAllChildren);
// The runner (or ctest on a timeout) may stop this process: take the children along.
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    killAllChildren();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}

function trackChild(child) {
  liveChildren.add(child);
  child.on('exit', () => liveChildren.delete(child));
  return child;
}

// Runs a command to completion and returns {code, signal, stdout, stderr}.
function run(cmd, args, { env, timeoutMs = 30000, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const child = trackChild(
      spawn(cmd, args, { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(cmd)} ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

// `sprout validate --config file`.
function validate(configFile, extraArgs = [], opts = {}) {
  return run(SPROUT_BIN, ['validate', '--config', configFile, ...extraArgs], opts);
}

// A running `sprout collector`.
class Collector {
  // config: an object (written as YAML) or YAML text. Options: name (for messages and the file),
  // args (extra command-line arguments), env (extra environment), healthPort (poll
  // http://127.0.0.1:healthPort/ until 200 instead of waiting for the ready log line).
  // config null with `configFile`: run that file as it is.
  constructor(config, { name = 'collector', dir = makeTempDir(), args = [], env = {}, healthPort, healthPath = '/', configFile } = {}) {
    this.name = name;
    this.dir = dir;
    this.configFile = configFile || writeConfig(dir, `${name}.yaml`, config);
    this.args = args;
    this.env = env;
    this.healthPort = healthPort;
    this.healthPath = healthPath;
    this.stderr = '';
    this.stdout = '';
    this.exit = null; // {code, signal} once exited
    this.child = null;
  }

  // Spawns the process; resolves once it is ready, rejects (with its stderr) if it exits first.
  async start({ timeoutMs = 15000 } = {}) {
    this.spawn();
    await waitFor(
      async () => {
        if (this.exit) {
          throw Object.assign(new Error(`${this.name} exited early`), { fatal: true });
        }
        if (this.healthPort) {
          const res = await fetch(`http://127.0.0.1:${this.healthPort}${this.healthPath}`).catch(() => null);
          return res && res.status === 200;
        }
        return this.stderr.includes('Everything is ready');
      },
      { timeoutMs, describe: () => `${this.name} to become ready; stderr so far:\n${this.stderr}` },
    ).catch((err) => {
      if (this.exit) {
        throw new Error(
          `${this.name} exited with code ${this.exit.code} (signal ${this.exit.signal}) before it was ready; stderr:\n${this.stderr}`,
        );
      }
      throw err;
    });
    return this;
  }

  spawn() {
    const argv = ['collector', '--config', this.configFile, ...this.args];
    this.child = trackChild(
      spawn(SPROUT_BIN, argv, { env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    this.child.stdout.setEncoding('utf8').on('data', (d) => (this.stdout += d));
    this.child.stderr.setEncoding('utf8').on('data', (d) => (this.stderr += d));
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        this.exit = { code, signal };
        // Kept for post-mortems: the temp dir holds the config and the whole log.
        try {
          fs.writeFileSync(path.join(this.dir, `${this.name}.stderr.log`), this.stderr);
        } catch {
          /* the directory may be gone */
        }
        resolve(this.exit);
      });
      this.child.on('error', (err) => {
        this.stderr += `spawn error: ${err.message}\n`;
        this.exit = { code: -1, signal: null };
        resolve(this.exit);
      });
    });
    return this;
  }

  get running() {
    return this.child !== null && this.exit === null;
  }

  signal(sig = 'SIGTERM') {
    if (this.running) this.child.kill(sig);
  }

  // Waits for the exit, SIGKILLing after timeoutMs; returns {code, signal, ms}.
  async waitExit(timeoutMs = 15000) {
    const started = Date.now();
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
    });
    const result = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (!result) {
      this.signal('SIGKILL');
      await this.exited;
      throw new Error(`${this.name} did not exit within ${timeoutMs} ms; stderr:\n${this.stderr}`);
    }
    return { ...result, ms: Date.now() - started };
  }

  // SIGTERM and wait; returns the exit code.
  async stop(timeoutMs = 15000) {
    if (!this.child) return null;
    this.signal('SIGTERM');
    const { code } = await this.waitExit(timeoutMs);
    return code;
  }

  // For `after` hooks: never throws, always leaves no process behind.
  async kill() {
    if (!this.running) return;
    this.signal('SIGTERM');
    try {
      await this.waitExit(5000);
    } catch {
      /* SIGKILLed by waitExit */
    }
  }

  logs() {
    return parseLogEntries(this.stderr);
  }

  // Waits until `predicate(logEntries)` is truthy and returns its value.
  waitForLogs(predicate, { timeoutMs = 10000, describe = 'log output' } = {}) {
    return waitFor(() => predicate(this.logs()), {
      timeoutMs,
      describe: () => `${this.name}: ${describe}; stderr:\n${this.stderr.slice(-20000)}`,
    });
  }
}

// Starts sprout-loadgen; resolves to the parsed JSON report when it finishes.
async function runLoadgen(args, opts = {}) {
  const result = await run(SPROUT_LOADGEN, args, { timeoutMs: 60000, ...opts });
  if (result.code !== 0) {
    throw new Error(`sprout-loadgen exited ${result.code}: ${result.stderr}`);
  }
  const line = result.stdout.trim().split('\n').pop();
  // The report, plus what the generator said on stderr (its first failure, for instance).
  return { ...JSON.parse(line), stderr: result.stderr };
}

// ---------------------------------------------------------------------------------------------
// Logs: `TIMESTAMP<TAB>level<TAB>message[<TAB>{json fields}]`; a message may span several lines,
// in which case the JSON fields follow a TAB on its last line.

const ENTRY_START = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)\t(\w+)\t/;

function parseLogEntries(text) {
  const entries = [];
  let current = null;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
    if (ENTRY_START.test(line) || current === null) {
      current = { lines: [line] };
      entries.push(current);
    } else {
      current.lines.push(line);
    }
  }
  return entries.map(({ lines: ls }) => {
    const raw = ls.join('\n');
    const m = ENTRY_START.exec(raw);
    if (!m) return { timestamp: null, level: null, message: raw, fields: {}, raw };
    let rest = raw.slice(m[0].length);
    let fields = {};
    const tab = rest.lastIndexOf('\t{');
    if (tab >= 0 && rest.endsWith('}')) {
      try {
        fields = JSON.parse(rest.slice(tab + 1));
        rest = rest.slice(0, tab);
      } catch {
        /* not JSON: part of the message */
      }
    }
    return { timestamp: m[1], level: m[2], message: rest, fields, raw };
  });
}

// ---------------------------------------------------------------------------------------------
// Debug exporter, verbosity detailed: the text dump of one batch into JS objects.

// `Str(x)`, `Int(7)`, ... → {type, value}; Int values are Numbers when safe, else BigInts.
function parseValue(text) {
  const m = /^(Str|Int|Double|Bool|Bytes|Slice|Map|Empty)\(([\s\S]*)\)$/.exec(text);
  if (!m) throw new Error(`unrecognised debug value: ${text}`);
  const [, type, body] = m;
  switch (type) {
    case 'Str':
      return { type, value: body };
    case 'Int': {
      const big = BigInt(body);
      return { type, value: Number.isSafeInteger(Number(big)) ? Number(big) : big };
    }
    case 'Double':
      return { type, value: Number(body) };
    case 'Bool':
      return { type, value: body === 'true' };
    case 'Bytes':
      return { type, value: Buffer.from(body, 'base64') };
    case 'Slice':
    case 'Map':
      return { type, value: JSON.parse(body) };
    default:
      return { type, value: null };
  }
}

// One `-> key: Value(...)` line, whatever its indentation.
const ATTRIBUTE_LINE = /^\s+-> ([^:]+): ((?:Str|Int|Double|Bool|Bytes|Slice|Map|Empty)\([\s\S]*\))$/;
// One `-> Key: text` descriptor line.
const FIELD_LINE = /^\s+-> ([\w ]+): ?(.*)$/;
// `    Trace ID       : abc` span header lines.
const SPAN_FIELD_LINE = /^ {4}([A-Za-z][\w ]*?)\s*: ?(.*)$/;

function parseDump(message) {
  const lines = message.split('\n');
  const resources = [];
  let resource = null;
  let scope = null;
  let item = null; // span, metric or log record
  let point = null; // data point
  let sub = null; // span event or link
  let attrTarget = null; // the object whose `attributes` the next `->` lines fill

  const newAttrs = (obj, key = 'attributes') => {
    obj[key] = obj[key] || {};
    return obj[key];
  };

  for (const line of lines) {
    let m;
    if ((m = /^Resource(?:Spans|Metrics|Log) #(\d+)$/.exec(line))) {
      resource = { index: Number(m[1]), schemaUrl: '', attributes: {}, scopes: [] };
      resources.push(resource);
      scope = item = point = sub = attrTarget = null;
    } else if ((m = /^Resource SchemaURL: ?(.*)$/.exec(line))) {
      resource.schemaUrl = m[1];
    } else if (line === 'Resource attributes:') {
      attrTarget = resource.attributes;
    } else if ((m = /^Scope(?:Spans|Metrics|Logs) #(\d+)$/.exec(line))) {
      scope = { index: Number(m[1]), schemaUrl: '', name: '', version: '', attributes: {}, items: [] };
      resource.scopes.push(scope);
      item = point = sub = attrTarget = null;
    } else if ((m = /^Scope(?:Spans|Metrics|Logs) SchemaURL: ?(.*)$/.exec(line))) {
      scope.schemaUrl = m[1];
    } else if ((m = /^InstrumentationScope (.*)$/.exec(line)) && !line.startsWith('InstrumentationScope attributes')) {
      const text = m[1];
      const sp = text.lastIndexOf(' ');
      scope.name = sp >= 0 ? text.slice(0, sp) : text;
      scope.version = sp >= 0 ? text.slice(sp + 1) : '';
    } else if (line === 'InstrumentationScope attributes:') {
      attrTarget = scope.attributes;
    } else if ((m = /^Span #(\d+)$/.exec(line))) {
      item = { index: Number(m[1]), attributes: {}, events: [], links: [] };
      scope.items.push(item);
      sub = point = attrTarget = null;
    } else if ((m = /^Metric #(\d+)$/.exec(line))) {
      item = { index: Number(m[1]), points: [] };
      scope.items.push(item);
      sub = point = attrTarget = null;
    } else if ((m = /^LogRecord #(\d+)$/.exec(line))) {
      item = { index: Number(m[1]), attributes: {} };
      scope.items.push(item);
      sub = point = attrTarget = null;
    } else if (line === 'Attributes:') {
      attrTarget = item.attributes;
    } else if (line === 'Events:' || line === 'Links:') {
      attrTarget = null;
    } else if ((m = /^SpanEvent #(\d+)$/.exec(line))) {
      sub = { index: Number(m[1]), attributes: {} };
      item.events.push(sub);
      attrTarget = null;
    } else if ((m = /^SpanLink #(\d+)$/.exec(line))) {
      sub = { index: Number(m[1]), attributes: {} };
      item.links.push(sub);
      attrTarget = null;
    } else if (/^\s+-> Attributes::?$/.test(line) && sub) {
      attrTarget = sub.attributes;
    } else if (/^\s+-> FilteredAttributes::?$/.test(line)) {
      const exemplar = point.exemplars[point.exemplars.length - 1];
      attrTarget = newAttrs(exemplar, 'filteredAttributes');
    } else if ((m = /^(Number|Histogram|ExponentialHistogram|Summary)DataPoints #(\d+)$/.exec(line))) {
      point = { kind: m[1], index: Number(m[2]), attributes: {}, exemplars: [] };
      item.points.push(point);
      attrTarget = null;
    } else if (line === 'Data point attributes:') {
      attrTarget = point.attributes;
    } else if (line === 'Descriptor:') {
      attrTarget = null;
    } else if ((m = /^Exemplar #(\d+)$/.exec(line))) {
      point.exemplars.push({ index: Number(m[1]) });
      attrTarget = null;
    } else if (attrTarget && (m = ATTRIBUTE_LINE.exec(line))) {
      attrTarget[m[1]] = parseValue(m[2]);
    } else if (item && item.events && !sub && (m = SPAN_FIELD_LINE.exec(line))) {
      item[camel(m[1])] = m[2];
    } else if ((m = FIELD_LINE.exec(line))) {
      // `-> Name: x` under a span event/link, a metric descriptor or an exemplar.
      const target =
        point && point.exemplars.length && !/^(Name|Description|Unit|DataType)$/.test(m[1])
          ? point.exemplars[point.exemplars.length - 1]
          : sub || item;
      target[camel(m[1])] = m[2];
      attrTarget = null;
    } else if ((m = /^(StartTimestamp|Timestamp|ObservedTimestamp|SeverityText|SeverityNumber|EventName|Body|Trace ID|Span ID|Flags|Value|Count|Sum|Min|Max|Scale|ZeroCount): ?(.*)$/.exec(line))) {
      const key = camel(m[1]);
      const target = point || item;
      if (key === 'body') target.body = parseValue(m[2]);
      else target[key] = m[2];
      attrTarget = null;
    } else if ((m = /^ExplicitBounds #(\d+): (.*)$/.exec(line))) {
      (point.explicitBounds = point.explicitBounds || []).push(Number(m[2]));
    } else if ((m = /^Buckets #(\d+), Count: (\d+)$/.exec(line))) {
      (point.bucketCounts = point.bucketCounts || []).push(Number(m[2]));
    } else if ((m = /^Bucket ([[(].*), Count: (\d+)$/.exec(line))) {
      (point.buckets = point.buckets || []).push({ range: m[1], count: Number(m[2]) });
    } else if ((m = /^QuantileValue #\d+: Quantile ([\d.]+), Value ([-\d.]+)$/.exec(line))) {
      (point.quantiles = point.quantiles || []).push({ quantile: Number(m[1]), value: Number(m[2]) });
    } else if (line.trim() !== '') {
      throw new Error(`debug dump: unexpected line ${JSON.stringify(line)}`);
    }
  }
  return resources;
}

// `Trace ID` → traceId, `Status message` → statusMessage, `DroppedLinksCount` → droppedLinksCount.
function camel(words) {
  return words
    .trim()
    .split(/\s+/)
    .map((w) => (/^[A-Z]+$/.test(w) ? w.charAt(0) + w.slice(1).toLowerCase() : w))
    .map((w, i) => (i === 0 ? w.charAt(0).toLowerCase() + w.slice(1) : w.charAt(0).toUpperCase() + w.slice(1)))
    .join('');
}

// Every detailed dump of one signal in a collector's log entries, flattened to resources:
// [{attributes, schemaUrl, scopes: [{name, version, items: [spans|metrics|logRecords]}]}].
const DUMP_HEADER = { traces: 'ResourceSpans #', metrics: 'ResourceMetrics #', logs: 'ResourceLog #' };
function debugResources(entries, signal) {
  const header = DUMP_HEADER[signal];
  const out = [];
  for (const e of entries) {
    if (e.message.startsWith(header)) out.push(...parseDump(e.message));
  }
  return out;
}

// The `Traces`/`Metrics`/`Logs` count lines of the debug exporter, summed.
function debugCounts(entries) {
  const totals = { spans: 0, 'data points': 0, 'log records': 0, batches: 0 };
  for (const e of entries) {
    if (!['Traces', 'Metrics', 'Logs'].includes(e.message)) continue;
    if (e.fields['otelcol.component.kind'] !== 'exporter') continue;
    totals.batches++;
    for (const k of ['spans', 'data points', 'log records']) {
      if (typeof e.fields[k] === 'number') totals[k] += e.fields[k];
    }
  }
  return totals;
}

// ---------------------------------------------------------------------------------------------
// Internal metrics (Prometheus text format).

function parsePrometheusText(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    const labels = {};
    if (m[2]) {
      const re = /([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)",?/g;
      let l;
      while ((l = re.exec(m[2]))) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

async function scrapeMetrics(port) {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics on ${port}: HTTP ${res.status}`);
  return parsePrometheusText(await res.text());
}

// Sum of the samples named `name` whose labels include `labels`; null when there is none.
function metricValue(samples, name, labels = {}) {
  const matching = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (matching.length === 0) return null;
  return matching.reduce((sum, s) => sum + s.value, 0);
}

// ---------------------------------------------------------------------------------------------
// Formatting helpers shared by the assertions.

// The debug exporter's timestamp: Go's time.Time String() in UTC, trailing zeros trimmed.
function formatDebugTimestamp(unixNanos) {
  const nanos = BigInt(unixNanos);
  const seconds = nanos / 1000000000n;
  let frac = (nanos % 1000000000n).toString().padStart(9, '0').replace(/0+$/, '');
  const iso = new Date(Number(seconds) * 1000).toISOString(); // 2026-01-02T03:04:05.000Z
  const base = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  return `${base}${frac ? `.${frac}` : ''} +0000 UTC`;
}

// [seconds, nanos] (the SDK's HrTime) → BigInt nanoseconds.
function hrTimeToNanos([s, ns]) {
  return BigInt(s) * 1000000000n + BigInt(ns);
}

// A downstream collector for traces over OTLP/gRPC that prints counts (debug exporter, basic)
// and exposes its internal metrics: the "B" of the A → B tests.
function traceSinkConfig(grpcPort, metricsPort) {
  return {
    receivers: { otlp: { protocols: { grpc: { endpoint: `127.0.0.1:${grpcPort}` } } } },
    exporters: { debug: { verbosity: 'basic' } },
    service: {
      telemetry: { metrics: { address: `127.0.0.1:${metricsPort}` } },
      pipelines: { traces: { receivers: ['otlp'], exporters: ['debug'] } },
    },
  };
}

module.exports = {
  SPROUT_BIN,
  SPROUT_LOADGEN,
  SPROUT_SINK,
  Collector,
  debugCounts,
  debugResources,
  formatDebugTimestamp,
  freePort,
  freePorts,
  hrTimeToNanos,
  makeTempDir,
  metricValue,
  parseDump,
  parseLogEntries,
  parsePrometheusText,
  parseValue,
  run,
  runLoadgen,
  scrapeMetrics,
  sleep,
  toYaml,
  traceSinkConfig,
  trackChild,
  validate,
  waitFor,
  writeConfig,
};
