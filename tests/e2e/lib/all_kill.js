'use strict';
// The kill loop of `sprout all` (all_kill.test.js): the process on fixed ports and one data
// directory across kills, `sprout demo` as background load, OTLP metrics senders whose every
// answer is recorded (hand-built ExportMetricsServiceRequests of gauge and cumulative sum points,
// over OTLP/HTTP and OTLP/gRPC), and their check through remote read and PromQL. The trace
// senders and the trace-by-ID check are lib/traces_kill.js's, the remote-write writers and their
// check lib/metrics_kill.js's.

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const { SPROUT_BIN, sleep, trackChild } = require('./sprout');
const { allArgs } = require('./all');
const { encodeMetricsRequest } = require('./proto');
const { remoteReadRaw } = require('./sprout_metrics');
const { KillableServer, HttpConn, GrpcConn, varint, field, fixed64 } = require('./traces_kill');
const { readSeries, valueHex } = require('./metrics_kill');

// ---------------------------------------------------------------------------------------------
// The server

// `sprout all` in `dir` (data under `dir/data`) on `ports` ({api, grpc, http}, chosen once), so
// that every restart finds the same data on the same ports. `port`, `grpcPort`, `httpPort` are
// the names lib/traces_kill.js's senders and check use; `remoteReadRaw` is what
// lib/metrics_kill.js's check uses.
class AllServer extends KillableServer {
  constructor({ dir, ports, extraArgs = [] }) {
    super({ dir, what: 'sprout all' });
    this.args = allArgs(dir, ports, extraArgs);
    this.port = ports.api;
    this.grpcPort = ports.grpc;
    this.httpPort = ports.http;
    this.base = `http://127.0.0.1:${ports.api}`;
    this.dataDir = path.join(dir, 'data');
    this.tracesBlocksDir = path.join(this.dataDir, 'traces', 'blocks');
    this.tracesWalDir = path.join(this.dataDir, 'traces', 'wal');
  }

  spawnArgs() {
    return this.args;
  }

  remoteReadRaw(queries) {
    return remoteReadRaw(`${this.base}/api/v1/read`, queries);
  }

  // An instant query on the Prometheus API: the `data.result` array (throws on another status).
  async query(expr, time) {
    const u = new URL(`${this.base}/prometheus/api/v1/query`);
    u.searchParams.set('query', expr);
    if (time !== undefined) u.searchParams.set('time', String(time));
    const res = await fetch(u);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${expr}: HTTP ${res.status}: ${text.slice(0, 500)}`);
    return JSON.parse(text).data.result;
  }
}

// SIGTERMs `pid` after `termMs` and SIGKILLs it `killMs` after that (inside its graceful
// shutdown: the pipeline draining into the stores, the trace store's flush of every live trace,
// the generator's last collection, the metrics store's close), from a worker thread so that the
// moments do not wait for this thread's event loop.
function killDuringShutdown(pid, termMs, killMs) {
  const code = `const { workerData } = require('node:worker_threads');
    const cell = new Int32Array(new SharedArrayBuffer(4));
    Atomics.wait(cell, 0, 0, workerData.termMs);
    try { process.kill(workerData.pid, 'SIGTERM'); } catch {}
    Atomics.wait(cell, 0, 0, workerData.killMs);
    try { process.kill(workerData.pid, 'SIGKILL'); } catch {}`;
  return new Worker(code, { eval: true, workerData: { pid, termMs, killMs } });
}

// ---------------------------------------------------------------------------------------------
// `sprout demo` as background load

// Runs `sprout demo` against the OTLP gRPC port until stop(): it retries while sprout is down
// (refused connections during a kill and replay), giving up only after `giveUpAfter`.
class Demo {
  constructor(server, { rate, metricsInterval = '1s', giveUpAfter = '120s' }) {
    this.args = ['demo', '--endpoint', `127.0.0.1:${server.grpcPort}`, '--duration', '0', '--rate', String(rate),
      '--metrics-interval', metricsInterval, '--give-up-after', giveUpAfter];
    this.log = '';
  }

  start() {
    const child = trackChild(spawn(SPROUT_BIN, this.args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    this.child = child;
    child.stdout.setEncoding('utf8').on('data', (d) => (this.log += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (this.log += d));
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  get running() {
    return this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  // SIGINT: the demo's last metrics, its summary, exit 0.
  async stop() {
    if (this.running) this.child.kill('SIGINT');
    return this.exited;
  }
}

// ---------------------------------------------------------------------------------------------
// OTLP metrics senders

const GAUGE = 'e2e_allkill_gauge';
const SUM = 'e2e_allkill_sum';
// The series names in the metrics store: the Collector's remote-write naming (a monotonic
// cumulative sum gets `_total`; no unit, no unit suffix).
const GAUGE_SERIES = GAUGE;
const SUM_SERIES = `${SUM}_total`;

// The gauge value of series `i` of sender `w` in its request `seq` (exact in a double, unique per
// sender, series and request); the sum's is 0.5 above it (growing with `seq`: monotonic).
const gaugeValue = (w, i, seq) => seq * 1024 + i + w / 8;
const sumValue = (w, i, seq) => gaugeValue(w, i, seq) + 0.5;

// One sender: resource `service.name` = allkill-otlp-<w> (the series' `job`), SERIES series per
// metric (point attributes sender="<w>", series="<i>"), one gauge and one sum point per series in
// each request, all at the request's timestamp, which only grows (across kills too: no sample is
// ever out of order). Every request is recorded ({seq, t, round, transport, status, acked,
// error}) before it is sent; `acked` when the answer was 2xx / gRPC OK.
class OtlpMetricsSender {
  constructor(w, { transport, series, startMs = Date.now() }) {
    this.w = w;
    this.transport = transport; // 'http' or 'grpc'
    this.series = series;
    this.startNs = BigInt(startMs) * 1000000n; // the sum's start time
    this.service = `allkill-otlp-${w}`;
    this.seq = 0;
    this.lastT = 0;
    this.requests = [];
  }

  // ExportMetricsServiceRequest{resource_metrics 1: ResourceMetrics{resource 1: Resource{
  // attributes 1}, scope_metrics 2: ScopeMetrics{scope 1: {name 1}, metrics 2: Metric{name 1,
  // gauge 5: Gauge{data_points 1} | sum 7: Sum{data_points 1, aggregation_temporality 2
  // (CUMULATIVE = 2), is_monotonic 3}}}}}; NumberDataPoint{start_time_unix_nano 2 (fixed64),
  // time_unix_nano 3 (fixed64), as_double 4 (double), attributes 7}. By hand, with the
  // per-series attribute bytes made once; the first request is checked against protobufjs.
  body(seq, t) {
    // KeyValue{key 1, value 2: AnyValue{string_value 1}}
    const kv = (k, v) => Buffer.concat([field(1, Buffer.from(k)), field(2, field(1, Buffer.from(v)))]);
    if (!this.attrBytes) {
      this.attrBytes = [];
      for (let i = 0; i < this.series; i++) this.attrBytes.push(Buffer.concat([field(7, kv('sender', String(this.w))), field(7, kv('series', String(i)))]));
    }
    const tNs = BigInt(t) * 1000000n;
    const dbl = (v) => {
      const b = Buffer.alloc(9);
      b[0] = (4 << 3) | 1;
      b.writeDoubleLE(v, 1);
      return b;
    };
    const gaugePoints = [];
    const sumPoints = [];
    for (let i = 0; i < this.series; i++) {
      gaugePoints.push(field(1, Buffer.concat([fixed64(3, tNs), dbl(gaugeValue(this.w, i, seq)), this.attrBytes[i]])));
      sumPoints.push(field(1, Buffer.concat([fixed64(2, this.startNs), fixed64(3, tNs), dbl(sumValue(this.w, i, seq)), this.attrBytes[i]])));
    }
    const gauge = field(2, Buffer.concat([field(1, Buffer.from(GAUGE)), field(5, Buffer.concat(gaugePoints))]));
    const sum = field(2, Buffer.concat([field(1, Buffer.from(SUM)), field(7, Buffer.concat([...sumPoints, Buffer.from([0x10]), varint(2), Buffer.from([0x18, 1])]))]));
    const resource = field(1, field(1, kv('service.name', this.service)));
    const scopeMetrics = field(2, Buffer.concat([field(1, field(1, Buffer.from('all-kill'))), gauge, sum]));
    const raw = field(1, Buffer.concat([resource, scopeMetrics]));
    if (!this.checked) {
      this.checked = true;
      assert.ok(raw.equals(encodeMetricsRequest(this.requestObject(seq, t))), 'the hand-built ExportMetricsServiceRequest is what protobufjs encodes');
    }
    return raw;
  }

  // The same request as protobufjs data (for the check above).
  requestObject(seq, t) {
    const str = (key, value) => ({ key, value: { stringValue: value } });
    const timeUnixNano = (BigInt(t) * 1000000n).toString();
    const points = (fn, start) => Array.from({ length: this.series }, (_, i) => ({
      ...(start ? { startTimeUnixNano: this.startNs.toString() } : {}),
      timeUnixNano,
      asDouble: fn(this.w, i, seq),
      attributes: [str('sender', String(this.w)), str('series', String(i))],
    }));
    return {
      resourceMetrics: [{
        resource: { attributes: [str('service.name', this.service)] },
        scopeMetrics: [{
          scope: { name: 'all-kill' },
          metrics: [
            { name: GAUGE, gauge: { dataPoints: points(gaugeValue, false) } },
            { name: SUM, sum: { dataPoints: points(sumValue, true), aggregationTemporality: 2, isMonotonic: true } },
          ],
        }],
      }],
    };
  }

  // Posts requests back to back while `state.loading`, over its own connection.
  async run(server, state, round) {
    const conn = this.transport === 'http'
      ? new HttpConn(server.httpPort, '/v1/metrics')
      : new GrpcConn(server.grpcPort, '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export');
    try {
      while (state.loading) {
        const seq = ++this.seq;
        const t = Math.max(Date.now(), this.lastT + 1);
        this.lastT = t;
        const req = { seq, t, round, transport: this.transport, status: null, acked: false };
        this.requests.push(req);
        try {
          const res = await conn.send(this.body(seq, t));
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

// Reads both metrics of every OTLP sender through remote read over [start, end] and compares
// with what was sent: every point of every acknowledged request is there with its exact bits;
// no sample at a time never sent, nor from a request whose connection was refused; each
// (metric, sender, series) one series with the sender's `job`. Returns {acked (points), samples
// (read), lost, wrong, unsent, duplicates, badLabels, unacked: {whole, partly, absent}, stored:
// Map(`${name}/${w}/${i}` → Map(t → value hex))}.
async function checkOtlpMetrics(server, senders, { series, start, end }) {
  const r = await server.remoteReadRaw([
    { start, end, matchers: `{__name__="${GAUGE_SERIES}"}` },
    { start, end, matchers: `{__name__="${SUM_SERIES}"}` },
  ]);
  if (r.status !== 200) throw new Error(`remote read: HTTP ${r.status}: ${r.body.toString('utf8').slice(0, 500)}`);
  const stored = new Map();
  const out = { acked: 0, samples: 0, lost: [], wrong: [], unsent: [], duplicates: [], badLabels: [], unacked: { whole: 0, partly: 0, absent: 0 }, stored };
  for (const s of readSeries(r.raw)) {
    const key = `${s.labels.__name__}/${s.labels.sender}/${s.labels.series}`;
    if (stored.has(key)) out.duplicates.push({ key, labels: s.labels });
    if (s.labels.job !== `allkill-otlp-${s.labels.sender}`) out.badLabels.push(s.labels);
    out.samples += s.samples.size;
    stored.set(key, s.samples);
  }
  const metrics = [[GAUGE_SERIES, gaugeValue], [SUM_SERIES, sumValue]];
  for (const sender of senders) {
    const sentTimes = new Set(sender.requests.map((q) => q.t));
    for (const [name] of metrics) {
      for (let i = 0; i < series; i++) {
        for (const t of (stored.get(`${name}/${sender.w}/${i}`) || new Map()).keys()) {
          if (!sentTimes.has(t)) out.unsent.push({ name, sender: sender.w, series: i, t });
        }
      }
    }
    for (const q of sender.requests) {
      let present = 0;
      for (const [name, fn] of metrics) {
        for (let i = 0; i < series; i++) {
          const m = stored.get(`${name}/${sender.w}/${i}`);
          const hex = m && m.get(q.t);
          if (hex === undefined) {
            if (q.acked) out.lost.push({ name, sender: sender.w, transport: q.transport, series: i, seq: q.seq, t: q.t, round: q.round });
            continue;
          }
          present++;
          const want = valueHex(fn(sender.w, i, q.seq));
          if (hex !== want) out.wrong.push({ name, sender: sender.w, series: i, seq: q.seq, t: q.t, want, got: hex });
        }
      }
      const points = 2 * series;
      if (q.acked) out.acked += points;
      else if (q.error === 'ECONNREFUSED') {
        if (present > 0) out.unsent.push({ sender: sender.w, seq: q.seq, t: q.t, round: q.round, present, why: 'connection refused, yet stored' });
      } else if (present === points) out.unacked.whole++;
      else if (present > 0) out.unacked.partly++;
      else out.unacked.absent++;
    }
  }
  return out;
}

// The same data through PromQL, for each sender: an instant query at the exact time of its last
// acknowledged request returns every series of both metrics with that request's values and that
// timestamp; `count_over_time` over the whole run counts, per series, exactly the samples remote
// read returned (`stored`, from checkOtlpMetrics). Returns a list of problems.
async function checkOtlpMetricsPromql(server, senders, { series, stored, start }) {
  const problems = [];
  // After every sample (a sender's timestamps may run ahead of the clock by a few ms).
  const now = Math.max(Date.now(), ...senders.map((s) => s.lastT)) + 1000;
  const window = `${Math.ceil((now - start) / 1000) + 60}s`;
  for (const sender of senders) {
    const last = sender.requests.filter((q) => q.acked).pop();
    if (!last) continue;
    for (const [name, fn] of [[GAUGE_SERIES, gaugeValue], [SUM_SERIES, sumValue]]) {
      const result = await server.query(`${name}{sender="${sender.w}"}`, last.t / 1000);
      const got = new Map(result.map((r) => [r.metric.series, r.value]));
      for (let i = 0; i < series; i++) {
        const v = got.get(String(i));
        if (!v || Math.round(v[0] * 1000) !== last.t || Number(v[1]) !== fn(sender.w, i, last.seq)) {
          problems.push({ query: `${name}{sender="${sender.w}"} @ ${last.t}`, series: i, want: [last.t / 1000, fn(sender.w, i, last.seq)], got: v || null });
        }
      }
      if (result.length !== series) problems.push({ query: `${name}{sender="${sender.w}"}`, series: result.length, want: series });
      const counts = await server.query(`count_over_time(${name}{sender="${sender.w}"}[${window}])`, now / 1000);
      const countOf = new Map(counts.map((r) => [r.metric.series, Number(r.value[1])]));
      for (let i = 0; i < series; i++) {
        const want = (stored.get(`${name}/${sender.w}/${i}`) || new Map()).size;
        if (countOf.get(String(i)) !== want) problems.push({ query: `count_over_time(${name}{sender="${sender.w}",series="${i}"}[${window}])`, want, got: countOf.get(String(i)) });
      }
    }
  }
  return problems;
}

module.exports = {
  AllServer, Demo, OtlpMetricsSender, checkOtlpMetrics, checkOtlpMetricsPromql, killDuringShutdown,
  GAUGE_SERIES, SUM_SERIES, gaugeValue, sumValue,
};
