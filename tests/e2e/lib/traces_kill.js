'use strict';
// The kill loops of `sprout traces` (traces_kill.test.js): the server on fixed ports and one
// data directory across kills, senders that push hand-built OTLP trace requests over OTLP/HTTP
// (protobuf) and OTLP/gRPC and remember every span and every answer, the check that every
// acknowledged span is found by its trace ID (and nothing that was never sent), and a killer
// thread that aims at a flush or compaction (a counter of /metrics moving, a new entry in the
// blocks directory) or fires at a random moment.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const http2 = require('node:http2');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { Worker } = require('node:worker_threads');

const { SPROUT_BIN, freePorts, run, sleep, trackChild, writeConfig } = require('./sprout');
const { encodeTraceRequest } = require('./proto');
const { grpcFrame } = require('./grpc_raw');

// ---------------------------------------------------------------------------------------------
// Protobuf by hand (protobufjs takes longer than sprout to handle a request, which would leave
// sprout idle at most kills; the first request of each sender is checked against protobufjs).

function varint(n) {
  const out = [];
  let v = BigInt(n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}
const field = (number, bytes) => Buffer.concat([varint((number << 3) | 2), varint(bytes.length), bytes]);
function fixed64(number, nanos) {
  const b = Buffer.alloc(9);
  b[0] = (number << 3) | 1;
  b.writeBigUInt64LE(nanos, 1);
  return b;
}

// opentelemetry.proto.trace.v1.Span: trace_id 1, span_id 2, parent_span_id 4, name 5, kind 6,
// start_time_unix_nano 7 (fixed64), end_time_unix_nano 8 (fixed64).
function spanBytes(s) {
  const parts = [field(1, s.traceId), field(2, s.spanId)];
  if (s.parentSpanId) parts.push(field(4, s.parentSpanId));
  parts.push(field(5, Buffer.from(s.name)), Buffer.from([0x30]), varint(s.kind));
  parts.push(fixed64(7, s.start), fixed64(8, s.end));
  return Buffer.concat(parts);
}

// ExportTraceServiceRequest{resource_spans 1: ResourceSpans{resource 1: Resource{attributes 1:
// KeyValue{key 1, value 2: AnyValue{string_value 1}}}, scope_spans 2: ScopeSpans{scope 1:
// InstrumentationScope{name 1}, spans 2}}}.
function requestBytes(service, scope, spans) {
  const kv = field(1, Buffer.concat([field(1, Buffer.from('service.name')), field(2, field(1, Buffer.from(service)))]));
  const resource = field(1, kv);
  const scopeSpans = field(2, Buffer.concat([field(1, field(1, Buffer.from(scope))), ...spans.map((s) => field(2, spanBytes(s)))]));
  return field(1, Buffer.concat([resource, scopeSpans]));
}

function requestObject(service, scope, spans) {
  return {
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
      scopeSpans: [{
        scope: { name: scope },
        spans: spans.map((s) => ({
          traceId: s.traceId,
          spanId: s.spanId,
          ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
          name: s.name,
          kind: s.kind,
          startTimeUnixNano: s.start.toString(),
          endTimeUnixNano: s.end.toString(),
        })),
      }],
    }],
  };
}

// ---------------------------------------------------------------------------------------------
// The server

// `sprout traces` with a config file of its own in `dir` (local backend, WAL and blocks under
// `dir`), on ports chosen once, so that every restart finds the same data on the same ports.
// A sprout process killed and restarted on one data directory: `spawnArgs()` (the subclass's
// command line, run in `dir`) and `what` (its name in errors) are the subclass's; the log, the
// exit, readiness, kills during start-up, SIGKILL and SIGTERM are the same for every command.
class KillableServer {
  constructor({ dir, what }) {
    this.dir = dir;
    this.what = what;
    this.log = '';
    this.child = null;
  }

  spawnChild() {
    const child = trackChild(spawn(SPROUT_BIN, this.spawnArgs(), { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] }));
    this.child = child;
    child.stdout.setEncoding('utf8').on('data', (d) => (this.log += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (this.log += d));
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    return child;
  }

  get alive() {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  // Starts the process and resolves once /ready answers 200; rejects when it exits first or
  // after `timeoutMs`.
  async start({ timeoutMs = 30000 } = {}) {
    const from = this.log.length;
    const child = this.spawnChild();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${this.what} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${this.log.slice(-3000)}`);
      }
      const res = await fetch(`${this.base}/ready`).catch(() => null);
      if (res) {
        await res.arrayBuffer().catch(() => {});
        if (res.status === 200) {
          // The ready line is logged before /ready turns 200, but the pipe's data may reach
          // this process after the HTTP answer: give it a moment (tests read the line).
          for (let i = 0; i < 100 && !/ is ready/.test(this.log.slice(from)); i++) await sleep(20);
          return;
        }
      }
      if (Date.now() > deadline) throw new Error(`${this.what} not ready within ${timeoutMs} ms:\n${this.log.slice(-3000)}`);
      await sleep(20);
    }
  }

  // Starts the process and SIGKILLs it `ms` later, whatever it is doing then (WAL replay when
  // `ms` falls in it); resolves to its exit {code, signal}. From this thread's timer (a worker
  // takes tens of milliseconds to start; this thread is idle here, nothing else is running).
  async killDuringStart(ms) {
    const child = this.spawnChild();
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  async kill() {
    if (this.alive) this.child.kill('SIGKILL');
    return this.exited;
  }

  async stop() {
    if (this.alive) this.child.kill('SIGTERM');
    return this.exited;
  }
}

class TracesServer extends KillableServer {
  constructor({ name, dir }) {
    super({ dir, what: 'sprout traces' });
    this.name = name;
    this.walDir = path.join(dir, 'wal');
    this.blocksDir = path.join(dir, 'blocks');
    this.dropped = [];
  }

  // Writes the config: `base` (an object) plus the `optional` keys ({'a.b.c': value}) that this
  // binary implements; a key `sprout validate --traces-config` warns about as not implemented
  // yet is left out and listed in `this.dropped` (so the test exercises flush and compaction
  // settings as soon as they exist, with no change here).
  async configure({ ingester = {}, compactor = {}, optional = {} } = {}) {
    [this.port, this.grpcPort, this.httpPort] = await freePorts(3);
    const config = {
      server: { http_listen_address: '127.0.0.1', http_listen_port: this.port },
      distributor: { receivers: { otlp: { protocols: {
        grpc: { endpoint: `127.0.0.1:${this.grpcPort}` },
        http: { endpoint: `127.0.0.1:${this.httpPort}` },
      } } } },
      ingester: { ...ingester },
      compactor: { compaction: { ...compactor } },
      storage: { trace: { backend: 'local', local: { path: this.blocksDir }, wal: { path: this.walDir } } },
      overrides: { defaults: { ingestion: { rate_limit_bytes: 1000000000, burst_size_bytes: 1000000000 } } },
    };
    const set = (obj, dotted, value) => {
      const keys = dotted.split('.');
      let o = obj;
      for (const k of keys.slice(0, -1)) o = o[k] = o[k] || {};
      o[keys[keys.length - 1]] = value;
    };
    for (const [k, v] of Object.entries(optional)) set(config, k, v);
    let file = writeConfig(this.dir, `${this.name}.yaml`, config);
    const r = await run(SPROUT_BIN, ['validate', '--traces-config', file]);
    assert.equal(r.code, 0, `sprout validate --traces-config: ${r.stderr}`);
    this.dropped = [];
    for (const k of Object.keys(optional)) {
      if (r.stderr.includes(`'${k.replaceAll('.', '::')}' is a Tempo setting that sprout traces does not implement yet`)) {
        this.dropped.push(k);
        const keys = k.split('.');
        let o = config;
        for (const part of keys.slice(0, -1)) o = o[part];
        delete o[keys[keys.length - 1]];
      }
    }
    file = writeConfig(this.dir, `${this.name}.yaml`, config);
    this.configFile = file;
    this.base = `http://127.0.0.1:${this.port}`;
    return { dropped: this.dropped };
  }

  spawnArgs() {
    return ['traces', '--config', this.configFile];
  }
}

// ---------------------------------------------------------------------------------------------
// The senders

// One sender: its own resource (`service.name` = kill-sender-<w>), its own connection (a
// keep-alive HTTP agent or an HTTP/2 session), and a set of open traces. Each request carries
// spans of up to 3 traces that are due: new ones (a new trace every `newEveryMs`; at most
// `maxOpen` open, the oldest then closed for good) and continuing ones; after a trace gets spans
// it is due again in 0–100 ms, or, one time in five, in 1–2.5 s (longer than
// trace_idle_period, so a trace's spans end up in the live set, in pending/flushed sets and,
// later, in blocks; the check between rounds also leaves every trace idle for a while).
// Every span is recorded (`spans`: base64 span ID → {trace, name, req}) before it is sent;
// each request is recorded ({round, status, acked, error}).
class TraceSender {
  constructor(w, { transport, newEveryMs = 100, maxOpen = 40, spans, traces }) {
    this.w = w;
    this.transport = transport; // 'http' or 'grpc'
    this.newEveryMs = newEveryMs;
    this.maxOpen = maxOpen;
    this.spans = spans; // shared: span ID (base64) → {trace: hex, name, req}
    this.traces = traces; // shared: trace hex → [span ID base64, ...]
    this.open = [];
    this.lastNewAt = 0;
    this.seq = 0;
    this.requests = [];
    this.service = `kill-sender-${w}`;
  }

  nextSpans(now) {
    const picked = [];
    if (now - this.lastNewAt >= this.newEveryMs) {
      this.lastNewAt = now;
      const traceId = crypto.randomBytes(16);
      const t = { traceId, hex: traceId.toString('hex'), spanIds: [], nextAt: 0 };
      this.traces.set(t.hex, []);
      if (this.open.length >= this.maxOpen) this.open.shift();
      this.open.push(t);
      picked.push(t);
    }
    for (const t of this.open) {
      if (picked.length >= 3) break;
      if (t.nextAt <= now && !picked.includes(t)) picked.push(t);
    }
    if (picked.length === 0) picked.push(this.open.reduce((a, b) => (a.nextAt <= b.nextAt ? a : b)));
    const seq = ++this.seq;
    const nowNs = BigInt(now) * 1000000n;
    const out = [];
    for (const t of picked) {
      const n = 1 + Math.floor(Math.random() * 3);
      for (let k = 0; k < n; k++) {
        const spanId = crypto.randomBytes(8);
        const parent = t.spanIds.length ? t.spanIds[Math.floor(Math.random() * t.spanIds.length)] : null;
        out.push({
          traceId: t.traceId,
          spanId,
          parentSpanId: parent,
          name: `s${this.w}-q${seq}-${out.length}`,
          kind: 1 + (out.length % 5),
          start: nowNs - BigInt(1000 + Math.floor(Math.random() * 1000000)),
          end: nowNs,
          trace: t.hex,
        });
        t.spanIds.push(spanId);
      }
      t.nextAt = now + (Math.random() < 0.2 ? 1000 + Math.random() * 1500 : Math.random() * 100);
    }
    return { seq, spans: out };
  }

  // Posts requests back to back while `state.loading`.
  async run(server, state, round) {
    const conn = this.transport === 'http' ? new HttpConn(server.httpPort) : new GrpcConn(server.grpcPort);
    try {
      while (state.loading) {
        const { seq, spans } = this.nextSpans(Date.now());
        const body = requestBytes(this.service, 'traces-kill', spans);
        if (!this.checked) {
          this.checked = true;
          assert.ok(body.equals(encodeTraceRequest(requestObject(this.service, 'traces-kill', spans))),
            'the hand-built ExportTraceServiceRequest is what protobufjs encodes');
        }
        const req = { seq, round, transport: this.transport, spans: spans.length, status: null, acked: false };
        this.requests.push(req);
        for (const s of spans) {
          const id = s.spanId.toString('base64');
          this.spans.set(id, { trace: s.trace, name: s.name, req });
          this.traces.get(s.trace).push(id);
        }
        try {
          const res = await conn.send(body);
          req.status = res.status;
          req.acked = res.ok;
          if (!res.ok) req.text = String(res.text).slice(0, 300);
        } catch (err) {
          // ECONNREFUSED: never sent (must be absent); any other error: sent, answer lost.
          req.error = err.code || err.message;
          conn.reset();
          if (!state.loading) return;
          await sleep(2);
        }
      }
    } finally {
      conn.close();
    }
  }
}

// OTLP/HTTP protobuf over one keep-alive connection: {ok: 2xx, status, text}. `path`:
// `/v1/traces` (or `/v1/metrics` for lib/all_kill.js's metrics senders).
class HttpConn {
  constructor(port, path = '/v1/traces') {
    this.port = port;
    this.path = path;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  send(body) {
    return new Promise((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1', port: this.port, path: this.path, method: 'POST', agent: this.agent,
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Length': body.length },
      }, (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => resolve({ ok: res.statusCode >= 200 && res.statusCode < 300, status: res.statusCode, text: Buffer.concat(chunks).toString('latin1') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  reset() {}

  close() {
    this.agent.destroy();
  }
}

// OTLP/gRPC TraceService/Export (or another unary method: `path`) over one HTTP/2 session
// (made again after an error): {ok: grpc-status 0, status, text}. A session that never
// connected fails with its connect error (ECONNREFUSED).
class GrpcConn {
  constructor(port, path = '/opentelemetry.proto.collector.trace.v1.TraceService/Export') {
    this.authority = `http://127.0.0.1:${port}`;
    this.path = path;
    this.session = null;
  }

  connect() {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = http2.connect(this.authority);
    session.on('error', (err) => (session.lastError = err));
    session.on('connect', () => (session.connected = true));
    this.session = session;
    return session;
  }

  send(body) {
    return new Promise((resolve, reject) => {
      const session = this.connect();
      let headers = {};
      let done = false;
      const finish = (err, value) => {
        if (done) return;
        done = true;
        if (err) reject(err);
        else resolve(value);
      };
      const fail = (err) => {
        // A stream cancelled because its session failed: report the session's error.
        const cause = session.lastError && !session.connected ? session.lastError : err;
        finish(cause);
      };
      let stream;
      try {
        stream = session.request({
          ':method': 'POST', ':path': this.path,
          'content-type': 'application/grpc', te: 'trailers',
        });
      } catch (err) {
        fail(err);
        return;
      }
      stream.on('response', (h) => (headers = h));
      stream.on('data', () => {});
      stream.on('trailers', (t) => {
        const status = Number(t['grpc-status'] ?? headers['grpc-status']);
        finish(null, { ok: status === 0, status, text: t['grpc-message'] || '' });
      });
      stream.on('end', () => {
        if (headers['grpc-status'] !== undefined) {
          const status = Number(headers['grpc-status']);
          finish(null, { ok: status === 0, status, text: headers['grpc-message'] || '' });
        } else {
          fail(Object.assign(new Error('gRPC stream ended without a status'), { code: 'NO_STATUS' }));
        }
      });
      stream.on('error', fail);
      stream.on('close', () => fail(Object.assign(new Error('gRPC stream closed'), { code: 'STREAM_CLOSED' })));
      stream.end(grpcFrame(body, false));
    });
  }

  reset() {
    if (this.session) this.session.destroy();
    this.session = null;
  }

  close() {
    this.reset();
  }
}

// ---------------------------------------------------------------------------------------------
// The check

// The length-delimited fields of buf[start, end): fn(field, start, end); other wire types are
// skipped (varint, fixed64, fixed32).
function eachField(buf, start, end, fn) {
  let pos = start;
  const varintAt = () => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = buf[pos++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
  };
  while (pos < end) {
    const key = varintAt();
    const wire = key & 7;
    if (wire === 2) {
      const len = varintAt();
      fn(Math.floor(key / 8), pos, pos + len);
      pos += len;
    } else if (wire === 0) varintAt();
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new Error(`unexpected wire type ${wire} at ${pos}`);
  }
}

// Every span of an `Accept: application/protobuf` answer (OTLP TracesData: resource_spans 1 →
// scope_spans 2 → spans 2 → trace_id 1, span_id 2, name 5), in the JSON answer's form.
function protobufSpans(buf) {
  const out = [];
  eachField(buf, 0, buf.length, (f, s, e) => {
    if (f !== 1) return;
    eachField(buf, s, e, (f2, s2, e2) => {
      if (f2 !== 2) return;
      eachField(buf, s2, e2, (f3, s3, e3) => {
        if (f3 !== 2) return;
        const sp = { spanId: '', traceId: '', name: '' };
        eachField(buf, s3, e3, (f4, s4, e4) => {
          if (f4 === 1) sp.traceId = buf.toString('base64', s4, e4);
          else if (f4 === 2) sp.spanId = buf.toString('base64', s4, e4);
          else if (f4 === 5) sp.name = buf.toString('utf8', s4, e4);
        });
        out.push(sp);
      });
    });
  });
  return out;
}

// Every span of an answer of /api/traces/<id> (JSON): [{spanId (base64), traceId (base64), name}].
function answerSpans(body) {
  const out = [];
  for (const rs of body.batches || []) {
    for (const ss of rs.scopeSpans || rs.instrumentationLibrarySpans || []) {
      for (const sp of ss.spans || []) out.push({ spanId: sp.spanId, traceId: sp.traceId, name: sp.name });
    }
  }
  return out;
}

// Reads every trace ever sent by ID (`format` 'json', or 'protobuf': `Accept:
// application/protobuf`) and compares with what was sent. Returns {traces, found
// (spans read), acked (acknowledged spans), lost: [...], unsent: [...], wrong: [...],
// duplicates: [...], errors: [...], unacked: {whole, partly, absent}}: `lost` acknowledged
// spans not found; `unsent` spans found that were never sent (or sent in a request whose
// connection was refused); `wrong` spans found under another trace or name; `duplicates` span
// IDs listed twice in one answer; `unacked` requests sent but not answered, by how much of
// them is stored.
async function checkAll(server, senders, { spans, traces, format = 'json', concurrency = 8 }) {
  const out = { traces: traces.size, found: 0, acked: 0, lost: [], unsent: [], wrong: [], duplicates: [], errors: [], unacked: { whole: 0, partly: 0, absent: 0 } };
  const present = new Set();
  const hexes = [...traces.keys()];
  let next = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const get = (hex) => new Promise((resolve, reject) => {
    const headers = format === 'protobuf' ? { Accept: 'application/protobuf' } : {};
    http.get({ host: '127.0.0.1', port: server.port, path: `/api/traces/${hex}`, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode, type: res.headers['content-type'] || '', body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    }).on('error', reject);
  });
  const worker = async () => {
    while (next < hexes.length) {
      const hex = hexes[next++];
      const r = await get(hex);
      if (r.status === 404) continue;
      if (r.status !== 200) {
        out.errors.push({ trace: hex, status: r.status, text: r.text.slice(0, 300) });
        continue;
      }
      const seen = new Set();
      const traceB64 = Buffer.from(hex, 'hex').toString('base64');
      let answer;
      if (format === 'protobuf') {
        if (!/^application\/protobuf/.test(r.type)) {
          out.errors.push({ trace: hex, status: r.status, type: r.type, text: r.text.slice(0, 300) });
          continue;
        }
        answer = protobufSpans(r.body);
      } else {
        answer = answerSpans(JSON.parse(r.text));
      }
      for (const sp of answer) {
        out.found++;
        if (seen.has(sp.spanId)) {
          out.duplicates.push({ trace: hex, span: sp.spanId });
          continue;
        }
        seen.add(sp.spanId);
        present.add(sp.spanId);
        const sent = spans.get(sp.spanId);
        if (!sent) {
          out.unsent.push({ trace: hex, span: sp.spanId, name: sp.name });
        } else if (sent.trace !== hex || sp.traceId !== traceB64 || sent.name !== sp.name) {
          out.wrong.push({ trace: hex, span: sp.spanId, name: sp.name, sentTrace: sent.trace, sentName: sent.name });
        } else if (sent.req.error === 'ECONNREFUSED') {
          out.unsent.push({ trace: hex, span: sp.spanId, name: sp.name, why: 'connection refused, yet stored' });
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  for (const [id, s] of spans) {
    if (s.req.acked) {
      out.acked++;
      if (!present.has(id)) out.lost.push({ span: id, trace: s.trace, name: s.name, round: s.req.round, transport: s.req.transport });
    }
  }
  for (const sender of senders) {
    for (const q of sender.requests) {
      if (q.acked || q.error === 'ECONNREFUSED' || q.status !== null) continue;
      // Unanswered: count how many of its spans are stored (its spans are those naming it).
      q.present = 0;
    }
  }
  for (const [id, s] of spans) {
    if (!s.req.acked && s.req.present !== undefined && present.has(id)) s.req.present++;
  }
  for (const sender of senders) {
    for (const q of sender.requests) {
      if (q.present === undefined) continue;
      if (q.present === q.spans) out.unacked.whole++;
      else if (q.present > 0) out.unacked.partly++;
      else out.unacked.absent++;
      delete q.present;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The killers

// SIGKILLs `pid` after `ms` from a worker thread: the moment does not wait for this thread's
// event loop (busy with the senders), so it falls anywhere in sprout's handling of a request.
function killLater(pid, ms) {
  const code = `const { workerData } = require('node:worker_threads');
    setTimeout(() => { try { process.kill(workerData.pid, 'SIGKILL'); } catch {} }, workerData.ms);`;
  return new Worker(code, { eval: true, workerData: { pid, ms } });
}

// SIGKILLs `pid` right after a sign of a flush or compaction, from a worker thread that polls
// every `pollMs`: the sum (over label sets) of any counter named in `counters` in `metricsUrl`'s
// text going up, or the set of entries up to three levels below one of `dirs` ({dir, label})
// changing, listed about every millisecond (a block directory or file appearing or going: a flush or compaction writing or
// deleting; a WAL segment appearing or going: a rotation, a flush's checkpoint, a truncation).
// The first poll is the baseline. Kills `delayMs` (a fraction allowed) after the sign, or at
// `timeoutMs` when none came. The worker posts {trigger: 'counter'|<dir label>|'timeout', name
// (the counter or the entries that changed), atMs, seen: [counter names present in /metrics at
// any poll]}.
function killOnSign(pid, { metricsUrl, counters, dirs = [], pollMs = 10, timeoutMs, delayMs = 0 }) {
  const code = `const { workerData, parentPort } = require('node:worker_threads');
    const fs = require('node:fs');
    const path = require('node:path');
    const { pid, metricsUrl, counters, dirs, pollMs, timeoutMs, delayMs } = workerData;
    const cell = new Int32Array(new SharedArrayBuffer(4));
    const nap = (ms) => Atomics.wait(cell, 0, 0, ms);
    const seen = new Set();
    async function sums() {
      const out = new Map();
      let text = '';
      try {
        const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(1000) });
        text = await res.text();
      } catch { return null; }
      for (const line of text.split('\\n')) {
        if (line === '' || line[0] === '#') continue;
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*\\})?\\s+(\\S+)/.exec(line);
        if (!m || !counters.includes(m[1])) continue;
        seen.add(m[1]);
        out.set(m[1], (out.get(m[1]) || 0) + Number(m[3]));
      }
      return out;
    }
    function listing(root) {
      const names = [];
      const walk = (dir, depth) => {
        let entries = [];
        try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
        for (const e of entries) {
          names.push(path.join(dir, e.name));
          if (e.isDirectory() && depth < 3) walk(path.join(dir, e.name), depth + 1);
        }
      };
      walk(root, 1);
      return names.sort();
    }
    (async () => {
      const t0 = Date.now();
      let base = await sums();
      const baseLists = dirs.map((d) => listing(d.dir));
      let trigger = 'timeout';
      let name = '';
      let lastFetch = Date.now();
      while (Date.now() - t0 < timeoutMs) {
        for (let i = 0; i < dirs.length && trigger === 'timeout'; i++) {
          const now = listing(dirs[i].dir);
          const was = new Set(baseLists[i]);
          const is = new Set(now);
          const diff = [...now.filter((n) => !was.has(n)).map((n) => '+' + n), ...baseLists[i].filter((n) => !is.has(n)).map((n) => '-' + n)];
          if (diff.length) { trigger = dirs[i].label; name = diff.slice(0, 4).map((n) => n[0] + path.relative(dirs[i].dir, n.slice(1))).join(' '); }
        }
        if (trigger !== 'timeout') break;
        if (Date.now() - lastFetch >= pollMs) {
          lastFetch = Date.now();
          const now = await sums();
          if (now && base) {
            for (const [k, v] of now) {
              if (v > (base.get(k) || 0)) { trigger = 'counter'; name = k; break; }
            }
            if (trigger === 'counter') break;
          }
          if (!base) base = now;
        }
        // The directories are listed about every millisecond, /metrics every pollMs.
        await new Promise((r) => setTimeout(r, dirs.length ? 1 : pollMs));
      }
      if (trigger !== 'timeout' && delayMs > 0) nap(delayMs);
      try { process.kill(pid, 'SIGKILL'); } catch {}
      parentPort.postMessage({ trigger, name, atMs: Date.now() - t0, seen: [...seen] });
    })();`;
  const worker = new Worker(code, { eval: true, workerData: { pid, metricsUrl, counters, dirs, pollMs, timeoutMs, delayMs } });
  const report = new Promise((resolve) => {
    worker.once('message', resolve);
    worker.once('error', (err) => resolve({ trigger: 'error', error: String(err) }));
    worker.once('exit', () => resolve({ trigger: 'exited-early' }));
  });
  return { worker, report };
}

// True when `dir` holds any file at any depth (a block written by a flush or compaction).
function hasFiles(dir) {
  let entries = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  return entries.some((e) => !e.isDirectory() || hasFiles(path.join(dir, e.name)));
}

// Lines of a run's log that say something went wrong (WAL damage warnings are reported, not
// refused: a torn tail after kill -9 is expected and is cut).
const badLine = (line) => /\terror\t|\tfatal\t|\tpanic\t|^Error:|Abort|Segmentation|terminate called/i.test(line);

module.exports = {
  KillableServer, TracesServer, TraceSender, checkAll, killLater, killOnSign, hasFiles, badLine, requestBytes, requestObject,
  HttpConn, GrpcConn, varint, field, fixed64,
};
