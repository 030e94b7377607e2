'use strict';
// The kill loops of `sprout metrics` (metrics_kill.test.js, metrics_kill_compaction.test.js):
// writers that post hand-built remote-write requests and remember every answer, the SIGKILL from
// a worker thread (at a random moment, or inside a phase seen on disk), a fast ReadResponse
// walker, and the check that every acknowledged sample is readable through remote read.

const assert = require('node:assert/strict');
const http = require('node:http');
const { Worker } = require('node:worker_threads');

const snappy = require('snappyjs');

const { sleep } = require('./sprout');
const { encodeWriteRequest } = require('./proto');
const { rawSampleBytes } = require('./sprout_metrics');

// The value of series `i` of writer `w` in the writer's request number `seq`: unique per
// (writer, series, request) and exact in a double.
const sampleValue = (w, i, seq) => seq * 1024 + i + w / 8;
// The value's 8 bytes, big-endian hex (what rawSampleBytes gives).
function valueHex(v) {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(v);
  return b.toString('hex');
}

const seriesLabels = (metric, w, i) => [
  { name: '__name__', value: metric },
  { name: 'series', value: String(i) },
  { name: 'writer', value: String(w) },
];

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
// A length-delimited field.
const field = (number, bytes) => Buffer.concat([varint((number << 3) | 2), varint(bytes.length), bytes]);

// One writer: owns the series {__name__=metric, writer="w", series="0".."series-1"}; every
// request it sends is remembered ({seq, t, round, status}); `acked` when the answer was a 2xx.
// `nextT(lastT)` gives each request's timestamp (default: the wall clock, always growing); it
// must grow for each writer, across rounds too (so no sample is ever out of order).
class Writer {
  constructor(w, { metric, series, nextT = (lastT) => Math.max(Date.now(), lastT + 1) }) {
    this.w = w;
    this.metric = metric;
    this.series = series;
    this.nextT = nextT;
    this.seq = 0;
    this.lastT = 0;
    this.requests = [];
  }

  // The request's protobuf, built by hand from per-series label bytes made once (protobufjs
  // takes longer than sprout to handle a request, which would leave sprout idle at most kills):
  // WriteRequest.timeseries (1) = TimeSeries {labels (1), samples (2) = Sample {value (1,
  // double), timestamp (2, varint)}}. The first request is checked against protobufjs.
  body(seq, t) {
    if (!this.labelBytes) {
      this.labelBytes = [];
      for (let i = 0; i < this.series; i++) {
        const labels = seriesLabels(this.metric, this.w, i);
        this.labelBytes.push(Buffer.concat(labels.map(({ name, value }) => field(1, Buffer.concat([field(1, Buffer.from(name)), field(2, Buffer.from(value))])))));
      }
    }
    const parts = [];
    for (let i = 0; i < this.series; i++) {
      const sample = Buffer.alloc(9);
      sample[0] = 0x09;
      sample.writeDoubleLE(sampleValue(this.w, i, seq), 1);
      const ts = Buffer.concat([this.labelBytes[i], field(2, Buffer.concat([sample, Buffer.from([0x10]), varint(t)]))]);
      parts.push(field(1, ts));
    }
    const raw = Buffer.concat(parts);
    if (!this.checked) {
      this.checked = true;
      const timeseries = [];
      for (let i = 0; i < this.series; i++) timeseries.push({ labels: seriesLabels(this.metric, this.w, i), samples: [{ timestamp: t, value: sampleValue(this.w, i, seq) }] });
      assert.ok(raw.equals(encodeWriteRequest({ timeseries })), 'the hand-built WriteRequest is what protobufjs encodes');
    }
    return Buffer.from(snappy.compress(raw));
  }

  // Posts requests back to back while `state.loading`, over its own keep-alive connection.
  async run(peer, state, round) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      while (state.loading) {
        const seq = ++this.seq;
        const t = this.nextT(this.lastT);
        this.lastT = t;
        const req = { seq, t, round, status: 0, acked: false };
        this.requests.push(req);
        try {
          const res = await postWrite(peer.port, this.body(seq, t), agent);
          req.status = res.status;
          req.acked = res.status >= 200 && res.status < 300;
          if (!req.acked) req.text = res.text.slice(0, 300);
        } catch (err) {
          // ECONNREFUSED: never sent (checked absent); any other error: sent, answer lost.
          req.error = err.code || err.message;
          if (!state.loading) return;
          await sleep(2);
        }
      }
    } finally {
      agent.destroy();
    }
  }
}

// One remote-write POST over node's http (cheaper than fetch per request, so that the load is
// bound by sprout rather than by this process); resolves to {status, text}.
function postWrite(port, body, agent) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/api/v1/push',
        method: 'POST',
        agent,
        headers: {
          'Content-Encoding': 'snappy',
          'Content-Type': 'application/x-protobuf',
          'X-Prometheus-Remote-Write-Version': '0.1.0',
          'Content-Length': body.length,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

// SIGKILLs `pid` after `ms` from a worker thread: the moment does not wait for this thread's
// event loop (busy with the writers), so it falls anywhere in sprout's handling of a request.
function killLater(pid, ms) {
  const code = `const { workerData } = require('node:worker_threads');
    setTimeout(() => { try { process.kill(workerData.pid, 'SIGKILL'); } catch {} }, workerData.ms);`;
  return new Worker(code, { eval: true, workerData: { pid, ms } });
}

// SIGKILLs `pid` inside a phase of sprout's work that shows on disk: `dir` exists and is not
// empty while the phase runs (a cut's `cut-tmp/`, the compactor's local directory). From a
// worker thread, polling every ~0.2 ms: after `minMs`, waits (at most `phaseTimeoutMs`) for the
// phase to begin; then, with `after` false, kills `delayMs` later (inside the phase when it lasts
// that long); with `after` true, waits for the phase's files to go (the upload done) and kills
// `delayMs` after that (what follows: the head's truncation, the sources' deletion). Kills at
// the timeout when the phase never came. The worker posts {phase: true|false, atMs, phaseMs}.
function killInPhase(pid, { dir, minMs, phaseTimeoutMs, delayMs, after }) {
  const code = `const { workerData, parentPort } = require('node:worker_threads');
    const fs = require('node:fs');
    const { pid, dir, minMs, phaseTimeoutMs, delayMs, after } = workerData;
    const cell = new Int32Array(new SharedArrayBuffer(4));
    const nap = (ms) => Atomics.wait(cell, 0, 0, ms);
    const busy = () => { try { return fs.readdirSync(dir).length > 0; } catch { return false; } };
    const t0 = Date.now();
    nap(minMs);
    let phase = false;
    while (Date.now() - t0 < minMs + phaseTimeoutMs) {
      if (busy()) { phase = true; break; }
      nap(0.2);
    }
    const began = Date.now();
    if (phase && after) {
      while (busy() && Date.now() - began < 10000) nap(0.2);
    }
    const ended = Date.now();
    if (delayMs > 0) nap(delayMs);
    try { process.kill(pid, 'SIGKILL'); } catch {}
    parentPort.postMessage({ phase, atMs: Date.now() - t0, phaseMs: ended - began });`;
  const worker = new Worker(code, { eval: true, workerData: { pid, dir, minMs, phaseTimeoutMs, delayMs, after } });
  const report = new Promise((resolve) => {
    worker.once('message', resolve);
    worker.once('error', (err) => resolve({ error: String(err) }));
    worker.once('exit', () => resolve({ phase: false, exitedEarly: true }));
  });
  return { worker, report };
}

// The series of a ReadResponse (SAMPLES): [{labels: {...}, samples: Map(t → value hex,
// big-endian)}]. A walker of its own with number varints: lib/sprout_metrics.js's
// rawSampleBytes (BigInt varints) takes seconds on the millions of samples of a long run. The
// first response is also decoded by rawSampleBytes and compared.
function readVarint(buf, pos) {
  let result = 0;
  let mul = 1;
  for (;;) {
    const b = buf[pos++];
    result += (b & 0x7f) * mul;
    if (b < 0x80) return [result, pos];
    mul *= 128;
  }
}

// Calls fn(field, start, end) for each length-delimited field of buf[start, end); the only
// other wire types in these messages (double, varint) are handled by the caller.
function eachField(buf, start, end, fn) {
  let pos = start;
  while (pos < end) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const f = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      fn(f, wire, pos, pos + len);
      pos += len;
    } else if (wire === 1) {
      fn(f, wire, pos, pos + 8);
      pos += 8;
    } else if (wire === 0) {
      const at = pos;
      [, pos] = readVarint(buf, pos);
      fn(f, wire, at, pos);
    } else if (wire === 5) {
      pos += 4;
    } else {
      throw new Error(`unexpected wire type ${wire} at ${pos}`);
    }
  }
}

function readSeries(raw) {
  const out = [];
  eachField(raw, 0, raw.length, (f, w, rs, re) => {
    if (f !== 1 || w !== 2) return; // ReadResponse.results
    eachField(raw, rs, re, (f2, w2, ts, te) => {
      if (f2 !== 1 || w2 !== 2) return; // QueryResult.timeseries
      const series = { labels: {}, samples: new Map() };
      eachField(raw, ts, te, (f3, w3, s, e) => {
        if (w3 !== 2) return;
        if (f3 === 1) {
          let name = '';
          let value = '';
          eachField(raw, s, e, (lf, lw, ls, le) => {
            if (lf === 1) name = raw.toString('utf8', ls, le);
            if (lf === 2) value = raw.toString('utf8', ls, le);
          });
          series.labels[name] = value;
        } else if (f3 === 2) {
          let t = 0;
          let hex = '0000000000000000';
          eachField(raw, s, e, (sf, sw, vs, ve) => {
            if (sf === 1 && sw === 1) hex = Buffer.from(raw.subarray(vs, ve)).reverse().toString('hex');
            if (sf === 2 && sw === 0) [t] = readVarint(raw, vs); // non-negative timestamps only
          });
          series.samples.set(t, hex);
        }
      });
      out.push(series);
    });
  });
  return out;
}

let decoderChecked = false;
function checkDecoder(raw) {
  if (decoderChecked) return;
  decoderChecked = true;
  const ours = readSeries(raw).map((s) => ({ labels: s.labels, samples: [...s.samples].map(([timestamp, valueHex]) => ({ timestamp, valueHex })) }));
  assert.deepEqual(ours, rawSampleBytes(raw), 'the fast ReadResponse walker agrees with rawSampleBytes');
}

// Reads every series of `metric` in [start, end] through remote read and compares with what
// the writers sent. Returns {acked, lost: [...], wrong: [...], unsent: [...], duplicates,
// unacked: {whole, partly, absent}, samples}: `acked` counts the acknowledged samples,
// `samples` the distinct samples read, `unacked` the requests sent but not answered (connection
// lost), over all rounds so far; a request whose connection was refused must be absent.
async function checkAll(peer, writers, { metric, series, start, end }) {
  const r = await peer.remoteReadRaw([{ start, end, matchers: `${metric}` }]);
  if (r.status !== 200) throw new Error(`remote read: HTTP ${r.status}: ${r.body.toString('utf8').slice(0, 500)}`);
  checkDecoder(r.raw);
  // (writer, series) → Map(t → value hex)
  const stored = new Map();
  let samples = 0;
  const duplicates = [];
  for (const s of readSeries(r.raw)) {
    const key = `${s.labels.writer}/${s.labels.series}`;
    if (stored.has(key)) duplicates.push(key);
    samples += s.samples.size;
    stored.set(key, s.samples);
  }
  const out = { acked: 0, lost: [], wrong: [], unsent: [], duplicates, unacked: { whole: 0, partly: 0, absent: 0 }, samples };
  for (const wr of writers) {
    const sentTimes = new Set(wr.requests.map((q) => q.t));
    for (let i = 0; i < series; i++) {
      const m = stored.get(`${wr.w}/${i}`) || new Map();
      for (const t of m.keys()) {
        if (!sentTimes.has(t)) out.unsent.push({ writer: wr.w, series: i, t, hex: m.get(t) });
      }
    }
    for (const q of wr.requests) {
      let present = 0;
      for (let i = 0; i < series; i++) {
        const m = stored.get(`${wr.w}/${i}`);
        const hex = m && m.get(q.t);
        if (hex === undefined) {
          if (q.acked) out.lost.push({ writer: wr.w, series: i, seq: q.seq, t: q.t, round: q.round, value: sampleValue(wr.w, i, q.seq) });
          continue;
        }
        present++;
        const want = valueHex(sampleValue(wr.w, i, q.seq));
        if (hex !== want) out.wrong.push({ writer: wr.w, series: i, seq: q.seq, t: q.t, round: q.round, want, got: hex });
      }
      if (q.acked) out.acked += series;
      else if (q.error === 'ECONNREFUSED') {
        if (present > 0) out.unsent.push({ writer: wr.w, seq: q.seq, t: q.t, round: q.round, present, why: 'connection refused, yet stored' });
      } else if (present === series) out.unacked.whole++;
      else if (present > 0) out.unacked.partly++;
      else out.unacked.absent++;
    }
  }
  return out;
}

// Lines of a run's log that say something went wrong (the WAL damage warnings are reported,
// not refused: a torn tail after kill -9 is expected and is cut).
const badLine = (line) => /\terror\t|\tfatal\t|\tpanic\t|^Error:|Abort|Segmentation|terminate called/i.test(line);

module.exports = { Writer, sampleValue, valueHex, seriesLabels, postWrite, killLater, killInPhase, readSeries, checkAll, badLine };
