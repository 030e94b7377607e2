'use strict';
// `sprout metrics` as a remote-write peer for the e2e tests, with the interface of lib/prom.js's
// PeerServer (start/stop/kill/restart, writeUrl, api(), series(), rawSamples(), and Prometheus's
// queryExemplars()) so that
// lib/prw.js's workload and checks run against it as against Prometheus. PromQL does not exist
// yet, so rawSamples() reads through REMOTE READ (`POST /api/v1/read`, response type SAMPLES)
// and reshapes the answer into what Prometheus's `x[window]` instant query returns.
//
// Also: a remote-read client usable against any server (Prometheus serves /api/v1/read too,
// which checks this client against the real thing), a parser for the simple series selectors
// the tests use, remote-write senders for hand-built bodies, and a reader of raw sample value
// bytes in a ReadResponse (stale markers compared bit for bit: a JS number may not keep a NaN's
// payload).

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const protobuf = require('protobufjs');
const snappy = require('snappyjs');

const { SPROUT_BIN, freePort, makeTempDir, sleep, trackChild, waitFor } = require('./sprout');
const { encodeWriteRequest } = require('./proto');

// ---------------------------------------------------------------------------------------------
// Remote read messages. The write-side messages (TimeSeries, Label, Sample, Histogram) come from
// the repository's proto/prometheus/remote.proto; the read-side ones are declared here from the
// public remote-read protocol (field numbers are the wire), in a package of our own so that they
// never collide with messages the repository's schema may add.

const PROTO_ROOT = path.resolve(__dirname, '../../../proto');
const root = new protobuf.Root();
root.resolvePath = (origin, target) => path.join(PROTO_ROOT, target);
root.loadSync(['prometheus/remote.proto'], { keepCase: false });
protobuf.parse(
  `syntax = "proto3";
   package sprout_e2e.remote_read;
   message LabelMatcher {
     enum Type { EQ = 0; NEQ = 1; RE = 2; NRE = 3; }
     Type type = 1;
     string name = 2;
     string value = 3;
   }
   message ReadHints {
     int64 step_ms = 1;
     string func = 2;
     int64 start_ms = 3;
     int64 end_ms = 4;
     repeated string grouping = 5;
     bool by = 6;
     int64 range_ms = 7;
   }
   message Query {
     int64 start_timestamp_ms = 1;
     int64 end_timestamp_ms = 2;
     repeated LabelMatcher matchers = 3;
     ReadHints hints = 4;
   }
   message ReadRequest {
     enum ResponseType { SAMPLES = 0; STREAMED_XOR_CHUNKS = 1; }
     repeated Query queries = 1;
     repeated ResponseType accepted_response_types = 2;
   }
   message QueryResult { repeated prometheus.TimeSeries timeseries = 1; }
   message ReadResponse { repeated QueryResult results = 1; }`,
  root,
  { keepCase: false },
);
const ReadRequest = root.lookupType('sprout_e2e.remote_read.ReadRequest');
const ReadResponse = root.lookupType('sprout_e2e.remote_read.ReadResponse');
const MATCH_TYPES = { '=': 0, '!=': 1, '=~': 2, '!~': 3 };

// ---------------------------------------------------------------------------------------------
// Series selectors: `name`, `name{l="v", ...}`, `{l=~"v", ...}` with =, !=, =~, !~ and
// double-, single- or back-quoted strings (Go's escapes in the first two). Enough for the tests;
// PromQL proper is not needed to name series.

function parseSelector(selector) {
  const s = selector.trim();
  let i = 0;
  const matchers = [];
  const ws = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  const ident = () => {
    const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(s.slice(i));
    if (!m) throw new Error(`selector ${selector}: a name expected at ${i}`);
    i += m[0].length;
    return m[0];
  };
  const string = () => {
    const q = s[i];
    if (!['"', "'", '`'].includes(q)) throw new Error(`selector ${selector}: a string expected at ${i}`);
    let out = '';
    i++;
    while (i < s.length && s[i] !== q) {
      if (s[i] === '\\' && q !== '`') {
        const c = s[++i];
        const simple = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };
        if (c in simple) {
          out += simple[c];
          i++;
        } else if (c === 'x') {
          out += String.fromCharCode(parseInt(s.slice(i + 1, i + 3), 16));
          i += 3;
        } else if (c === 'u' || c === 'U') {
          const n = c === 'u' ? 4 : 8;
          out += String.fromCodePoint(parseInt(s.slice(i + 1, i + 1 + n), 16));
          i += 1 + n;
        } else {
          throw new Error(`selector ${selector}: unknown escape \\${c}`);
        }
      } else {
        out += s[i++];
      }
    }
    if (s[i] !== q) throw new Error(`selector ${selector}: unterminated string`);
    i++;
    return out;
  };
  ws();
  if (s[i] !== '{') matchers.push({ type: 0, name: '__name__', value: ident() });
  ws();
  if (s[i] === '{') {
    i++;
    for (;;) {
      ws();
      if (s[i] === '}') break;
      const name = s[i] === '"' ? string() : ident();
      ws();
      const op = ['=~', '!~', '!=', '='].find((o) => s.startsWith(o, i));
      if (!op) throw new Error(`selector ${selector}: an operator expected at ${i}`);
      i += op.length;
      ws();
      matchers.push({ type: MATCH_TYPES[op], name, value: string() });
      ws();
      if (s[i] === ',') i++;
      else if (s[i] !== '}') throw new Error(`selector ${selector}: , or } expected at ${i}`);
    }
    i++;
  }
  ws();
  if (i !== s.length) throw new Error(`selector ${selector}: unexpected ${s.slice(i)}`);
  return matchers;
}

// ---------------------------------------------------------------------------------------------
// Remote read

// queries: [{start, end (ms, inclusive), matchers: selector string or [{type, name, value}]}].
function encodeReadRequest(queries) {
  const data = {
    queries: queries.map((q) => ({
      startTimestampMs: q.start,
      endTimestampMs: q.end,
      matchers: typeof q.matchers === 'string' ? parseSelector(q.matchers) : q.matchers,
    })),
    acceptedResponseTypes: [0], // SAMPLES
  };
  return Buffer.from(ReadRequest.encode(ReadRequest.fromObject(data)).finish());
}

function decodeReadResponse(buf) {
  return ReadResponse.toObject(ReadResponse.decode(buf), { longs: Number, enums: String, defaults: false });
}

// POSTs a remote-read request; resolves to {status, headers, body (Buffer, decompressed when the
// answer is 200), response (decoded ReadResponse when 200), raw (the decompressed protobuf)}.
async function remoteReadRaw(url, queries, { headers = {} } = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-protobuf',
      'Content-Encoding': 'snappy',
      'X-Prometheus-Remote-Read-Version': '0.1.0',
      'User-Agent': 'sprout-e2e',
      ...headers,
    },
    body: Buffer.from(snappy.compress(encodeReadRequest(queries))),
  });
  const body = Buffer.from(await res.arrayBuffer());
  const out = { status: res.status, headers: res.headers, body };
  if (res.status === 200) {
    out.raw = Buffer.from(snappy.uncompress(body));
    out.response = decodeReadResponse(out.raw);
  }
  return out;
}

// The results of a remote read (one per query: [{labels: {...}, samples: [[tMs, value, hex]]
// (hex: the value's 8 bytes, big-endian),
// histograms: [...]}]); throws with the server's text on any other status than 200.
async function remoteRead(url, queries, opts = {}) {
  const r = await remoteReadRaw(url, queries, opts);
  if (r.status !== 200) {
    throw new Error(`remote read ${url}: HTTP ${r.status}: ${r.body.toString('utf8').slice(0, 1000)}`);
  }
  const results = r.response.results || [];
  // The value bits as sent (decoding into a JS number may not keep a NaN's payload).
  const raw = rawSampleBytes(r.raw);
  let k = 0;
  return queries.map((_, qi) =>
    ((results[qi] && results[qi].timeseries) || []).map((ts) => {
      const bits = raw[k++].samples;
      return {
        labels: Object.fromEntries((ts.labels || []).map((l) => [l.name, l.value])),
        samples: (ts.samples || []).map((s, j) => [Number(s.timestamp || 0), s.value === undefined ? 0 : s.value, bits[j].valueHex]),
        histograms: ts.histograms || [],
      };
    }),
  );
}

// A sample value as text for the matrix shape. Prometheus writes Go's shortest representation
// ("1e-07" where JS writes "1e-7"); every check compares Number(text), which is exact for both.
function formatPromValue(v) {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

// A remote-read native histogram ({countInt|countFloat, sum, schema, zeroThreshold,
// zeroCountInt|zeroCountFloat, negative/positive spans with deltas (integer) or counts (float)})
// as Prometheus's JSON shows it: {count, sum, buckets: [[boundaryRule, left, right, count]]}
// (strings), negative buckets first, then the zero bucket, then the positive ones.
function histogramToPromJson(h) {
  const isFloat = h.countFloat !== undefined || (h.positiveCounts && h.positiveCounts.length) ||
    (h.negativeCounts && h.negativeCounts.length) || h.zeroCountFloat !== undefined;
  const schema = h.schema || 0;
  const expand = (spans, deltas, counts) => {
    const out = []; // [index, count]
    let idx = 0;
    let k = 0;
    let acc = 0;
    for (const sp of spans || []) {
      idx += sp.offset || 0;
      for (let j = 0; j < (sp.length || 0); j++, idx++, k++) {
        let c;
        if (isFloat) c = counts[k];
        else {
          acc += Number(deltas[k]);
          c = acc;
        }
        out.push([idx, c]);
      }
    }
    return out.filter(([, c]) => c !== 0);
  };
  const bound = (i) => 2 ** (i / 2 ** schema); // base^i, base = 2^(2^-schema), exact at powers of 2
  const buckets = [];
  const neg = expand(h.negativeSpans, h.negativeDeltas, h.negativeCounts || []);
  for (const [i, c] of neg.reverse()) buckets.push([1, formatPromValue(-bound(i)), formatPromValue(-bound(i - 1)), formatPromValue(c)]);
  const zeroCount = Number(isFloat ? h.zeroCountFloat || 0 : h.zeroCountInt || 0);
  const zt = h.zeroThreshold || 0;
  if (zeroCount > 0) buckets.push([3, formatPromValue(-zt), formatPromValue(zt), formatPromValue(zeroCount)]);
  for (const [i, c] of expand(h.positiveSpans, h.positiveDeltas, h.positiveCounts || [])) {
    buckets.push([0, formatPromValue(bound(i - 1)), formatPromValue(bound(i)), formatPromValue(c)]);
  }
  const count = Number(isFloat ? h.countFloat || 0 : h.countInt || 0);
  const out = { count: formatPromValue(count), sum: formatPromValue(h.sum || 0) };
  if (buckets.length) out.buckets = buckets;
  return out;
}

// Prometheus's stale marker: a NaN with this exact payload (big-endian hex of the 8 bytes).
const STALE_NAN_HEX = '7ff0000000000002';

// Remote-read series in the shape of a Prometheus matrix result, as `x[window]` returns it:
// [{metric, values: [[tSeconds, "v"]], histograms: [[tSeconds, {...}]]}] sorted by labels; stale
// markers (by their bits) are left out, as PromQL leaves them out of a range selector.
function toMatrix(series) {
  return series
    .map((s) => {
      const r = { metric: s.labels };
      const values = s.samples.filter(([, , hex]) => hex !== STALE_NAN_HEX).map(([t, v]) => [t / 1000, formatPromValue(v)]);
      const histograms = s.histograms.map((h) => [Number(h.timestamp || 0) / 1000, histogramToPromJson(h)]);
      if (values.length) r.values = values;
      if (histograms.length) r.histograms = histograms;
      return r;
    })
    .filter((r) => r.values || r.histograms)
    .sort((a, b) => (JSON.stringify(a.metric) < JSON.stringify(b.metric) ? -1 : 1));
}

// ---------------------------------------------------------------------------------------------
// Raw value bytes of a ReadResponse (a tiny protobuf walker: results → timeseries → samples),
// for bit-exact NaN comparisons: [{labels: {...}, samples: [{timestamp, valueHex}]}].

function readVarint(buf, pos) {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    const b = buf[pos++];
    result |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [result, pos];
    shift += 7n;
  }
}

// Calls fn(fieldNumber, wireType, valueOrSlice) for every field of one message.
function walkFields(buf, fn) {
  let pos = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      let v;
      [v, pos] = readVarint(buf, pos);
      fn(field, wire, v);
    } else if (wire === 1) {
      fn(field, wire, buf.subarray(pos, pos + 8));
      pos += 8;
    } else if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      fn(field, wire, buf.subarray(pos, pos + Number(len)));
      pos += Number(len);
    } else if (wire === 5) {
      fn(field, wire, buf.subarray(pos, pos + 4));
      pos += 4;
    } else {
      throw new Error(`unexpected wire type ${wire}`);
    }
  }
}

function rawSampleBytes(readResponseBytes) {
  const out = [];
  walkFields(readResponseBytes, (f, w, result) => {
    if (f !== 1 || w !== 2) return;
    walkFields(result, (f2, w2, ts) => {
      if (f2 !== 1 || w2 !== 2) return;
      const series = { labels: {}, samples: [] };
      walkFields(ts, (f3, w3, v) => {
        if (w3 !== 2) return;
        if (f3 === 1) {
          let name = '';
          let value = '';
          walkFields(v, (lf, lw, lv) => {
            if (lf === 1) name = lv.toString('utf8');
            if (lf === 2) value = lv.toString('utf8');
          });
          series.labels[name] = value;
        } else if (f3 === 2) {
          const s = { timestamp: 0, valueHex: '0000000000000000' };
          walkFields(v, (sf, sw, sv) => {
            if (sf === 1 && sw === 1) s.valueHex = Buffer.from(sv).reverse().toString('hex'); // LE → BE hex
            if (sf === 2 && sw === 0) s.timestamp = Number(BigInt.asIntN(64, sv));
          });
          series.samples.push(s);
        }
      });
      out.push(series);
    });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Remote write by hand

// POSTs `body` (a Buffer, sent as is) to `url` with the remote-write 1.0 headers; resolves to
// {status, text, headers}.
async function postRemoteWrite(url, body, { headers = {} } = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'Content-Encoding': 'snappy',
      'Content-Type': 'application/x-protobuf',
      'X-Prometheus-Remote-Write-Version': '0.1.0',
      'User-Agent': 'sprout-e2e',
      ...headers,
    },
    body,
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

// A WriteRequest from plain data ({timeseries, metadata}), snappy-compressed.
function writeRequestBody(data) {
  return Buffer.from(snappy.compress(encodeWriteRequest(data)));
}

// ---------------------------------------------------------------------------------------------
// The peer

class SproutMetrics {
  // Options: name, dir (cwd and data under ./data/metrics), port, config (a YAML text or file
  // path for --config; default none: the local defaults), sets (['key.path=value', ...] as
  // --set), multitenancy (sets multitenancy_enabled; default: leave the config's), tenant (sent
  // as X-Scope-OrgID on every request of this object), env.
  constructor({ name = 'sprout-metrics', dir = makeTempDir('sprout-metrics-'), port, config, sets = [], multitenancy, tenant, env = {} } = {}) {
    this.name = name;
    this.dir = dir;
    this.port = port;
    this.config = config;
    this.sets = sets;
    this.multitenancy = multitenancy;
    this.tenant = tenant;
    this.env = env;
    this.child = null;
    this.exit = null;
    this.log = '';
    this.runs = 0;
  }

  get baseUrl() {
    return `http://127.0.0.1:${this.port}`;
  }

  // Mimir's remote-write path (/api/v1/write, Prometheus's, is served too).
  get writeUrl() {
    return `${this.baseUrl}/api/v1/push`;
  }

  get readUrl() {
    return `${this.baseUrl}/api/v1/read`;
  }

  get running() {
    return this.child !== null && this.exit === null;
  }

  // The tenant header (if any) merged with `extra`.
  headers(extra = {}) {
    return { ...(this.tenant ? { 'X-Scope-OrgID': this.tenant } : {}), ...extra };
  }

  // A copy talking as another tenant (same process).
  as(tenant) {
    const other = Object.create(this);
    other.tenant = tenant;
    return other;
  }

  args() {
    const args = ['metrics'];
    if (this.config) {
      let file = this.config;
      if (this.config.includes('\n')) {
        file = path.join(this.dir, `${this.name}.yaml`);
        fs.writeFileSync(file, this.config);
      }
      args.push('--config', file);
    }
    args.push('--set', `server.http_listen_port=${this.port}`, '--set', 'server.http_listen_address=127.0.0.1');
    if (this.multitenancy !== undefined) args.push('--set', `multitenancy_enabled=${this.multitenancy}`);
    for (const s of this.sets) args.push('--set', s);
    return args;
  }

  // Spawns `sprout metrics` and waits until /ready answers 200.
  async start({ timeoutMs = 20000 } = {}) {
    if (this.running) throw new Error(`${this.name} is already running`);
    if (!this.port) this.port = await freePort();
    this.runs += 1;
    this.exit = null;
    const args = this.args();
    this.log += `---- ${this.name} run ${this.runs}: ${SPROUT_BIN} ${args.join(' ')}\n`;
    const from = this.log.length;
    const child = trackChild(
      spawn(SPROUT_BIN, args, { cwd: this.dir, env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    this.child = child;
    for (const stream of [child.stdout, child.stderr]) stream.setEncoding('utf8').on('data', (d) => (this.log += d));
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
        const res = await fetch(`${this.baseUrl}/ready`).catch(() => null);
        return res !== null && res.status === 200;
      },
      { timeoutMs, intervalMs: 50, describe: () => `${this.name} to become ready; log:\n${this.log.slice(-5000)}` },
    ).catch((err) => {
      if (this.exit) throw new Error(`${this.name} exited with code ${this.exit.code} before it was ready; log:\n${this.log.slice(-5000)}`);
      throw err;
    });
    // The ready line is logged before /ready turns 200, but the pipe's data may reach this
    // process after the HTTP answer: give it a moment (tests read the line).
    for (let i = 0; i < 100 && !/ is ready/.test(this.log.slice(from)); i++) await sleep(20);
    return this;
  }

  // SIGTERM and wait (SIGKILL after timeoutMs, then throw); returns {code, signal}.
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

  async restart() {
    await this.stop();
    return this.start();
  }

  async kill() {
    if (!this.running) return;
    try {
      await this.stop(10000);
    } catch {
      /* SIGKILLed by stop */
    }
  }

  // GET (or form POST with method 'POST') <apiPath> with query parameters (arrays repeat the
  // name); the `data` of a success envelope, else a thrown error with the server's words.
  async api(apiPath, params = {}, { method = 'GET' } = {}) {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (value === undefined || value === null) continue;
      for (const v of Array.isArray(value) ? value : [value]) search.append(key, String(v));
    }
    const res =
      method === 'GET'
        ? await fetch(`${this.baseUrl}${apiPath}?${search}`, { headers: this.headers() })
        : await fetch(`${this.baseUrl}${apiPath}`, {
          method,
          headers: this.headers({ 'Content-Type': 'application/x-www-form-urlencoded' }),
          body: search.toString(),
        });
    const text = await res.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`${this.name} ${apiPath}: HTTP ${res.status}, not JSON: ${text.slice(0, 500)}`);
    }
    if (res.status !== 200 || body.status !== 'success') {
      throw new Error(`${this.name} ${apiPath} ${search}: HTTP ${res.status}: ${body.errorType || ''} ${body.error || text.slice(0, 500)}`);
    }
    return body.data;
  }

  async series(matchers, { start = Date.now() / 1000 - 3600, end = Date.now() / 1000 + 60 } = {}) {
    return this.api('/api/v1/series', { 'match[]': [].concat(matchers), start, end });
  }

  async labels({ start, end, match } = {}) {
    return this.api('/api/v1/labels', { start, end, 'match[]': match });
  }

  async labelValues(name, { start, end, match } = {}) {
    return this.api(`/api/v1/label/${encodeURIComponent(name)}/values`, { start, end, 'match[]': match });
  }

  // Remote read: one result list per query ({start, end (ms), matchers}).
  remoteRead(queries) {
    return remoteRead(this.readUrl, queries, { headers: this.headers() });
  }

  remoteReadRaw(queries) {
    return remoteReadRaw(this.readUrl, queries, { headers: this.headers() });
  }

  // Every raw sample of the series matching `selector` in (time − windowSeconds, time], in the
  // shape Prometheus's `selector[window]` instant query returns (see toMatrix).
  async rawSamples(selector, { windowSeconds = 3600, time = Date.now() / 1000 + 1 } = {}) {
    const end = Math.floor(time * 1000);
    const start = end - Math.ceil(windowSeconds) * 1000;
    const [series] = await this.remoteRead([{ start, end, matchers: selector }]);
    return toMatrix(series);
  }

  // /api/v1/query_exemplars (any PromQL expression: its selectors): [{seriesLabels,
  // exemplars: [{labels, value, timestamp}]}] between start and end (seconds), as lib/prom.js's.
  async queryExemplars(expr, { start = Date.now() / 1000 - 3600, end = Date.now() / 1000 + 60 } = {}) {
    return this.api('/api/v1/query_exemplars', { query: expr, start, end });
  }

  // One remote-write request from plain data to `url` (default writeUrl) as this tenant.
  push(data, { url = this.writeUrl, headers = {} } = {}) {
    return postRemoteWrite(url, writeRequestBody(data), { headers: this.headers(headers) });
  }

  // A body sent as is (corrupt ones, oversized ones).
  pushRaw(body, { url = this.writeUrl, headers = {} } = {}) {
    return postRemoteWrite(url, body, { headers: this.headers(headers) });
  }
}

module.exports = {
  SproutMetrics,
  STALE_NAN_HEX,
  decodeReadResponse,
  encodeReadRequest,
  formatPromValue,
  histogramToPromJson,
  parseSelector,
  postRemoteWrite,
  rawSampleBytes,
  remoteRead,
  remoteReadRaw,
  toMatrix,
  writeRequestBody,
};
