'use strict';
// Issue 9's acceptance item "kill -9 in the middle of a remote-write load, 20 times in a loop:
// after every restart each sample that got a 2xx is there (checked through remote read), and WAL
// replay never refuses to start". Label `soak`: SPROUT_E2E_KILL_ITERATIONS rounds (default 3,
// what `make test` runs; `make soak` runs more), once with the default WAL sync policy and once
// with blocks_storage.tsdb.wal_fsync_before_ack=true.
//
// `sprout metrics` (multi-tenancy off) runs on one data directory for the whole loop. In each
// round WRITERS concurrent writers post hand-built remote-write requests back to back, each of
// SERIES series (owned by that writer) with one sample at a timestamp that only grows, across
// rounds too (so no sample is ever out of order after a restart). At a random moment the process
// is SIGKILLed; it is started again on the same directory and port and must become ready within a
// deadline with no error in its log. Then every series is read back through remote read over the
// whole run and compared with what was sent: every sample of every request that got a 2xx, in
// any round so far, is there with its exact value; nothing is there that was never sent; samples
// of requests that got no answer may or may not be there (counted: whole, partly, absent).
// `kill -9` keeps the page cache, so this tests the WAL's record framing, replay and the
// acknowledgement order, not the fsync policy against a machine crash (the unit tests simulate
// that with FaultInjectionEnv).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { Worker } = require('node:worker_threads');

const { makeTempDir, sleep } = require('./lib/sprout');
const snappy = require('snappyjs');

const { encodeWriteRequest } = require('./lib/proto');
const { SproutMetrics, rawSampleBytes } = require('./lib/sprout_metrics');

const ITERATIONS = Number(process.env.SPROUT_E2E_KILL_ITERATIONS || 3);
const WRITERS = 4;
const SERIES = 200;
const METRIC = 'sprout_e2e_kill';
const READY_DEADLINE_MS = 30000;
// The kill comes this long after the load started (uniformly random in the range).
const KILL_MIN_MS = 300;
const KILL_MAX_MS = 1500;

// The value of series `i` of writer `w` in the writer's request number `seq`: unique per
// (writer, series, request) and exact in a double.
const sampleValue = (w, i, seq) => seq * 1024 + i + w / 8;
// The value's 8 bytes, big-endian hex (what rawSampleBytes gives).
function valueHex(v) {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(v);
  return b.toString('hex');
}

const seriesLabels = (w, i) => [
  { name: '__name__', value: METRIC },
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

// One writer: owns the series {writer="w", series="0".."SERIES-1"}; every request it sends is
// remembered ({seq, t, round, status}); `acked` when the answer was a 2xx.
class Writer {
  constructor(w) {
    this.w = w;
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
      for (let i = 0; i < SERIES; i++) {
        const labels = seriesLabels(this.w, i);
        this.labelBytes.push(Buffer.concat(labels.map(({ name, value }) => field(1, Buffer.concat([field(1, Buffer.from(name)), field(2, Buffer.from(value))])))));
      }
    }
    const parts = [];
    for (let i = 0; i < SERIES; i++) {
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
      for (let i = 0; i < SERIES; i++) timeseries.push({ labels: seriesLabels(this.w, i), samples: [{ timestamp: t, value: sampleValue(this.w, i, seq) }] });
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
        const t = Math.max(Date.now(), this.lastT + 1);
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

// Reads every series of the run through remote read and compares with what the writers sent.
// Returns {acked, lost: [...], wrong: [...], unsent: [...], unacked: {whole, partly, absent}, samples}: `unacked` counts the requests sent but not answered
// (connection lost), over all rounds so far; a request whose connection was refused must be absent.
async function checkAll(peer, writers, start) {
  const r = await peer.remoteReadRaw([{ start, end: Date.now() + 3600000, matchers: `${METRIC}` }]);
  if (r.status !== 200) throw new Error(`remote read: HTTP ${r.status}: ${r.body.toString('utf8').slice(0, 500)}`);
  // (writer, series) → Map(t → value hex)
  checkDecoder(r.raw);
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
    for (let i = 0; i < SERIES; i++) {
      const m = stored.get(`${wr.w}/${i}`) || new Map();
      for (const t of m.keys()) {
        if (!sentTimes.has(t)) out.unsent.push({ writer: wr.w, series: i, t, hex: m.get(t) });
      }
    }
    for (const q of wr.requests) {
      let present = 0;
      for (let i = 0; i < SERIES; i++) {
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
      if (q.acked) out.acked += SERIES;
      else if (q.error === 'ECONNREFUSED') {
        if (present > 0) out.unsent.push({ writer: wr.w, seq: q.seq, t: q.t, round: q.round, present, why: 'connection refused, yet stored' });
      } else if (present === SERIES) out.unacked.whole++;
      else if (present > 0) out.unacked.partly++;
      else out.unacked.absent++;
    }
  }
  return out;
}

// Lines of a run's log that say something went wrong (the WAL damage warnings are reported,
// not refused: a torn tail after kill -9 is expected and is cut).
const badLine = (line) => /\terror\t|\tfatal\t|\tpanic\t|^Error:|Abort|Segmentation|terminate called/i.test(line);

function killLoop(variant, sets) {
  describe(`sprout metrics: kill -9 under remote-write load, ${ITERATIONS} times (${variant})`, () => {
    let peer;
    const writers = Array.from({ length: WRITERS }, (_, w) => new Writer(w));
    const rounds = [];
    let start;

    before(async () => {
      peer = new SproutMetrics({
        name: `sprout-metrics-kill-${variant}`,
        dir: makeTempDir(`sprout-metrics-kill-${variant}-`),
        multitenancy: false,
        sets: ['limits.ingestion_rate=100000000', 'limits.ingestion_burst_size=100000000', ...sets],
      });
      start = Date.now() - 1000;
      await peer.start({ timeoutMs: READY_DEADLINE_MS });
    });

    after(async () => {
      if (peer) await peer.kill();
    });

    for (let round = 0; round < ITERATIONS; round++) {
      it(`round ${round}: every acknowledged sample survives kill -9 and replay`, async () => {
        const info = { round };
        rounds.push(info);
        // Load, then kill at a random moment of it.
        const state = { loading: true };
        const before = writers.map((wr) => wr.requests.length);
        const running = writers.map((wr) => wr.run(peer, state, round));
        info.killAfterMs = KILL_MIN_MS + Math.floor(Math.random() * (KILL_MAX_MS - KILL_MIN_MS));
        const exited = peer.exited;
        const killer = killLater(peer.child.pid, info.killAfterMs);
        const exit = await exited;
        state.loading = false;
        await killer.terminate();
        assert.equal(exit.signal, 'SIGKILL', `round ${round}: ${JSON.stringify(exit)}`);
        await Promise.all(running);
        const sent = writers.flatMap((wr, w) => wr.requests.slice(before[w]));
        info.sent = sent.length;
        info.acked = sent.filter((q) => q.acked).length;
        info.inFlight = sent.filter((q) => !q.acked && q.status === 0 && q.error !== 'ECONNREFUSED').length;
        info.refused = sent.filter((q) => !q.acked && q.status !== 0).map((q) => `${q.status} ${q.text}`).slice(0, 3);
        assert.ok(info.acked >= WRITERS, `round ${round}: only ${info.acked} requests acknowledged: ${JSON.stringify(info)}`);
        assert.deepEqual(info.refused, [], `round ${round}: refusals other than the kill`);

        // Restart on the same directory: replay must not refuse, within the deadline.
        const logFrom = peer.log.length;
        const t0 = Date.now();
        await peer.start({ timeoutMs: READY_DEADLINE_MS });
        info.readyMs = Date.now() - t0;
        const runLog = peer.log.slice(logFrom);
        const replay = /"replay": "([^"]*)"/.exec(runLog);
        info.replay = replay ? replay[1] : null;
        info.walDamage = runLog.split('\n').filter((l) => l.includes('WAL damage')).map((l) => l.slice(0, 400));
        const bad = runLog.split('\n').filter(badLine);
        assert.deepEqual(bad, [], `round ${round}: errors in the log of the restart`);
        assert.ok(info.replay, `round ${round}: no ready line with the replay time:\n${runLog.slice(-2000)}`);

        // Every acknowledged sample of every round so far, with its value; nothing unsent.
        const t1 = Date.now();
        const check = await checkAll(peer, writers, start);
        info.checkMs = Date.now() - t1;
        info.storedSamples = check.samples;
        info.ackedSamples = check.acked;
        info.unacked = check.unacked;
        const detail = () =>
          JSON.stringify({ ...info, lost: check.lost.slice(0, 10), lostCount: check.lost.length, wrong: check.wrong.slice(0, 10), unsent: check.unsent.slice(0, 10), log: runLog.slice(-3000) }, null, 1);
        assert.equal(check.lost.length, 0, `round ${round}: acknowledged samples lost: ${detail()}`);
        assert.equal(check.wrong.length, 0, `round ${round}: samples with another value than sent: ${detail()}`);
        assert.equal(check.unsent.length, 0, `round ${round}: samples never sent: ${detail()}`);
        assert.deepEqual(check.duplicates, [], `round ${round}: a series returned twice`);
        // Partly stored requests are allowed (not acknowledged); counted for the report.
        console.log(`${variant} ${JSON.stringify(info)}`);
      });
    }

    it('shuts down cleanly at the end', async () => {
      const exit = await peer.stop();
      assert.equal(exit.code, 0, peer.log.slice(-3000));
      const acked = writers.reduce((n, wr) => n + wr.requests.filter((q) => q.acked).length, 0);
      console.log(`${variant} total: ${acked} acknowledged requests (${acked * SERIES} samples) over ${rounds.length} kills`);
    });
  });
}

killLoop('default', []);
killLoop('fsync', ['blocks_storage.tsdb.wal_fsync_before_ack=true']);
