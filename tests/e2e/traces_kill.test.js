'use strict';
// Issue 11's acceptance item 2: "kill -9 under load, 20 times in a loop: after every restart each
// acknowledged span is found by ID, and WAL replay never refuses to start; the same with kill -9
// during a block flush and during compaction". Label `soak`: SPROUT_E2E_KILL_ITERATIONS rounds
// per loop (default 4, what `make test` runs; `make soak` runs more).
//
// `sprout traces` (local backend, multi-tenancy off) runs on one data directory for the whole
// loop, with `ingester.trace_idle_period: 1s` and `ingester.max_block_duration: 2s`, and — when
// this binary implements them (checked with `sprout validate --traces-config`; left out and
// logged otherwise) — `ingester.flush_check_period: 200ms` and
// `compactor.compaction.compaction_cycle: 1s`, so that once blocks, flushes and compaction exist
// they happen every few seconds under the same test. SENDERS concurrent senders (half OTLP/HTTP
// protobuf, half OTLP/gRPC) push hand-built requests back to back, each with spans of up to three
// traces: new ones and continuing ones (a trace gets spans over many requests, sometimes after
// more than the idle period, and over several rounds), every span with a random ID recorded
// before it is sent. Each round the process is SIGKILLed — at a random moment 0.3–2.5 s into the
// load (first loop), or right after a sign of a flush or compaction (second loop, below) — and
// started again on the same directory and ports (every third round of the first loop that
// start is itself SIGKILLed first, at a random moment up to the last restart's time to ready:
// during its WAL replay). Then:
//  - it is ready within 30 s (WAL replay never refuses) with no error in its log;
//  - every trace ever sent is read by ID (`/api/traces/<id>`: JSON in even rounds,
//    `Accept: application/protobuf` in odd ones, walked by hand): every span of every request
//    ever acknowledged (HTTP 2xx, gRPC OK), in any round so far, is there under its trace with
//    its name; every span returned was sent (and not in a request whose connection was
//    refused); no span ID twice in one trace; spans of requests whose answer was lost may or may
//    not be there (counted: whole, partly, absent).
// `kill -9` keeps the page cache, so this tests the WAL's framing, replay and the order of
// acknowledgement, not the fsync policy against a machine crash (unit tests do that with
// FaultInjectionEnv).
//
// The second loop aims at flushes, compactions and block writes, in turn (round % 3): a worker
// thread polls /metrics every 10 ms and kills 0–3 ms (half the rounds; else 0–30 ms) after one
// of FLUSH_COUNTERS (`flush` rounds) or COMPACTION_COUNTERS (`compaction` rounds) goes up, or
// (`flush` rounds) after an entry appears or goes under the blocks directory (a flush writing a
// block) or the WAL directory (a segment rotated for a flush's checkpoint, a truncation after a
// flush), both listed about every millisecond; `block` rounds wait for a change under the
// blocks directory only (a block's first object or temporary file appearing: the kill lands
// while that block is being written; or a compacted block deleted).
// When nothing moves within PHASE_TIMEOUT_MS it kills then, and a target whose counters never
// appeared in /metrics and that showed no change is marked absent: its later rounds use random
// timing (logged). The counter names are the constants below (override with
// SPROUT_E2E_TRACES_FLUSH_COUNTERS / SPROUT_E2E_TRACES_COMPACTION_COUNTERS, comma-separated);
// with SPROUT_E2E_TRACES_KILL_REQUIRE_PHASE=1 every aimed round must have been triggered by a
// sign (for when flushes and compaction exist). The aimed killer is itself checked first against
// a stand-in process.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { spawn } = require('node:child_process');

const { makeTempDir, trackChild } = require('./lib/sprout');
const { TracesServer, TraceSender, checkAll, killLater, killOnSign, hasFiles, badLine } = require('./lib/traces_kill');

const ITERATIONS = Number(process.env.SPROUT_E2E_KILL_ITERATIONS || 4);
const SENDERS = 4;
const READY_DEADLINE_MS = 30000;
// First loop: the kill comes this long after the load started (uniformly random in the range).
const KILL_MIN_MS = 300;
const KILL_MAX_MS = 2500;
// Second loop: counters whose rise marks a finished flush / compaction (summed over labels).
const FLUSH_COUNTERS = (process.env.SPROUT_E2E_TRACES_FLUSH_COUNTERS
  || 'tempo_ingester_blocks_flushed_total,tempo_ingester_failed_flushes_total,sprout_traces_blocks_flushed_total').split(',').filter(Boolean);
const COMPACTION_COUNTERS = (process.env.SPROUT_E2E_TRACES_COMPACTION_COUNTERS
  || 'tempodb_compaction_blocks_total,sprout_traces_compactions_total').split(',').filter(Boolean);
const REQUIRE_PHASE = process.env.SPROUT_E2E_TRACES_KILL_REQUIRE_PHASE === '1';
// How long the second loop waits for a sign before killing anyway (max_block_duration 2 s +
// trace_idle_period 1 s + a flush check, with room).
const PHASE_TIMEOUT_MS = 8000;
const PHASE_MIN_MS = 200; // load before the killer starts watching
const PHASE_DELAY_MAX_MS = 3; // the kill comes 0–3 ms after the sign (half the rounds)
const PHASE_DELAY_LONG_MS = 30; // or 0–30 ms after it (the other half)

const INGESTER = { trace_idle_period: '1s', max_block_duration: '2s' };
// Set when this binary implements them (see TracesServer.configure).
const OPTIONAL = {
  'ingester.flush_check_period': '200ms',
  'compactor.compaction.compaction_cycle': '1s',
};

function killLoop(variant, { aimed }) {
  describe(`sprout traces: kill -9 under OTLP load, ${ITERATIONS} times (${variant})`, () => {
    let server;
    const spans = new Map();
    const traces = new Map();
    const senders = Array.from({ length: SENDERS }, (_, w) => new TraceSender(w, { transport: w % 2 ? 'grpc' : 'http', spans, traces }));
    // Second loop: which targets have shown no sign at all (then random timing).
    const absent = { flush: false, compaction: false, block: false };
    const triggers = [];
    let lastReadyMs = 100;

    before(async () => {
      server = new TracesServer({ name: `traces-kill-${variant}`, dir: makeTempDir(`sprout-traces-kill-${variant}-`) });
      const { dropped } = await server.configure({ ingester: INGESTER, optional: OPTIONAL });
      if (dropped.length) console.log(`${variant}: not implemented by this binary, left out of the config: ${dropped.join(', ')}`);
      await server.start({ timeoutMs: READY_DEADLINE_MS });
    });

    after(async () => {
      if (server) await server.kill();
    });

    for (let round = 0; round < ITERATIONS; round++) {
      it(`round ${round}: every acknowledged span is found by its trace ID after kill -9 and replay`, async () => {
        const info = { round };
        // A failed round may have left no process running: start one, so that this round is
        // still a round of its own.
        if (server.child.exitCode !== null || server.child.signalCode !== null) await server.start({ timeoutMs: READY_DEADLINE_MS });
        const state = { loading: true };
        const before = senders.map((s) => s.requests.length);
        const running = senders.map((s) => s.run(server, state, round));
        const exited = server.exited;
        const target = ['flush', 'compaction', 'block'][round % 3];
        let killer;
        let report = null;
        let counters = [];
        if (aimed && !absent[target]) {
          info.target = target;
          // Half the time right at the sign, otherwise a little later (further into a flush).
          info.delayMs = Math.round(Math.random() * (Math.random() < 0.5 ? PHASE_DELAY_MAX_MS : PHASE_DELAY_LONG_MS) * 10) / 10;
          // `block`: only a new or removed entry under the blocks directory (a flush's or a
          // compaction's block being written, or a block deleted) is the sign.
          counters = { flush: FLUSH_COUNTERS, compaction: COMPACTION_COUNTERS, block: [] }[target];
          await new Promise((r) => setTimeout(r, PHASE_MIN_MS));
          killer = killOnSign(server.child.pid, {
            metricsUrl: `${server.base}/metrics`,
            counters,
            dirs: {
              flush: [{ dir: server.blocksDir, label: 'blocks' }, { dir: server.walDir, label: 'wal' }],
              compaction: [],
              block: [{ dir: server.blocksDir, label: 'blocks' }],
            }[target],
            timeoutMs: PHASE_TIMEOUT_MS,
            delayMs: info.delayMs,
          });
          report = killer.report;
          killer = killer.worker;
        } else {
          info.killAfterMs = KILL_MIN_MS + Math.floor(Math.random() * (KILL_MAX_MS - KILL_MIN_MS));
          if (aimed) info.target = `${target} (absent: random timing)`;
          killer = killLater(server.child.pid, info.killAfterMs);
        }
        const exit = await exited;
        state.loading = false;
        if (report) {
          const r = await report;
          info.trigger = r.trigger;
          if (r.name) info.sign = r.name;
          info.killAtMs = PHASE_MIN_MS + (r.atMs || 0);
          triggers.push(r.trigger);
          if (r.trigger === 'timeout' && (r.seen || []).length === 0 && !(target !== 'compaction' && hasFiles(server.blocksDir))) {
            absent[target] = true;
            console.log(`${variant}: no ${target} sign in ${PHASE_TIMEOUT_MS} ms (no counter of ${JSON.stringify(counters)} in /metrics${target === 'compaction' ? '' : ', no change under the blocks' + (target === 'flush' ? ' or WAL' : '') + ' directory'}): its later rounds kill at a random moment`);
          }
        }
        await killer.terminate();
        assert.equal(exit.signal, 'SIGKILL', `round ${round}: ${JSON.stringify(exit)}\n${server.log.slice(-2000)}`);
        await Promise.all(running);
        const sent = senders.flatMap((s, w) => s.requests.slice(before[w]));
        info.sent = sent.length;
        info.acked = sent.filter((q) => q.acked).length;
        info.ackedSpans = sent.filter((q) => q.acked).reduce((n, q) => n + q.spans, 0);
        info.lostAnswers = sent.filter((q) => !q.acked && q.status === null && q.error !== 'ECONNREFUSED').length;
        const refused = sent.filter((q) => !q.acked && q.status !== null).map((q) => `${q.transport} ${q.status} ${q.text}`).slice(0, 3);
        info.ackedHttp = sent.filter((q) => q.acked && q.transport === 'http').length;
        info.ackedGrpc = sent.filter((q) => q.acked && q.transport === 'grpc').length;
        // At least one answer per round (the restarted process serves); both transports are
        // required over the whole loop (a kill 0.3 s in on a busy machine may leave one out).
        assert.ok(info.acked >= 1, `round ${round}: no request acknowledged: ${JSON.stringify(info)}\n${server.log.slice(-3000)}`);
        assert.deepEqual(refused, [], `round ${round}: refusals other than the kill`);

        // Every third round of the random loop: first a start killed at a random moment of its
        // WAL replay (up to the last restart's time to ready), which must not be refused either.
        const logFrom = server.log.length;
        if (!aimed && round % 3 === 2) {
          info.killedStartAtMs = Math.floor(Math.random() * lastReadyMs);
          const early = await server.killDuringStart(info.killedStartAtMs);
          assert.equal(early.signal, 'SIGKILL', `round ${round}: the start to be killed ended by itself: ${JSON.stringify(early)}\n${server.log.slice(logFrom).slice(-3000)}`);
          info.killedStartWasReady = server.log.slice(logFrom).includes('sprout traces is ready');
        }
        // Restart on the same directory: replay must not refuse, within the deadline.
        const t0 = Date.now();
        await server.start({ timeoutMs: READY_DEADLINE_MS });
        info.readyMs = Date.now() - t0;
        lastReadyMs = info.readyMs;
        const runLog = server.log.slice(logFrom);
        const replay = [...runLog.matchAll(/"replay": "([^"]*)"/g)].pop();
        info.replay = replay ? replay[1] : null;
        info.walDamage = runLog.split('\n').filter((l) => l.includes('WAL damage')).length;
        const bad = runLog.split('\n').filter(badLine);
        assert.deepEqual(bad, [], `round ${round}: errors in the log of the restart`);
        assert.ok(runLog.includes('sprout traces is ready'), `round ${round}: no ready line:\n${runLog.slice(-2000)}`);

        // Every acknowledged span of every round so far, under its trace; nothing unsent.
        const t1 = Date.now();
        // Odd rounds read the traces as protobuf (`Accept: application/protobuf`), even as JSON.
        info.format = round % 2 ? 'protobuf' : 'json';
        const check = await checkAll(server, senders, { spans, traces, format: info.format });
        info.checkMs = Date.now() - t1;
        info.traces = check.traces;
        info.spansFound = check.found;
        info.spansAcked = check.acked;
        info.unacked = check.unacked;
        const detail = () => JSON.stringify({ ...info, lost: check.lost.slice(0, 10), lostCount: check.lost.length,
          unsent: check.unsent.slice(0, 10), wrong: check.wrong.slice(0, 10), duplicates: check.duplicates.slice(0, 10),
          errors: check.errors.slice(0, 5), log: runLog.slice(-3000) }, null, 1);
        assert.deepEqual(check.errors, [], `round ${round}: trace by ID failed: ${detail()}`);
        assert.equal(check.lost.length, 0, `round ${round}: acknowledged spans lost: ${detail()}`);
        assert.equal(check.unsent.length, 0, `round ${round}: spans never sent: ${detail()}`);
        assert.equal(check.wrong.length, 0, `round ${round}: spans under another trace or name: ${detail()}`);
        assert.equal(check.duplicates.length, 0, `round ${round}: a span ID twice in one trace: ${detail()}`);
        console.log(`${variant} ${JSON.stringify(info)}`);
      });
    }

    it('shuts down cleanly at the end', async () => {
      const exit = await server.stop();
      assert.equal(exit.code, 0, server.log.slice(-3000));
      const acked = senders.reduce((n, s) => n + s.requests.filter((q) => q.acked).length, 0);
      for (const transport of ['http', 'grpc']) {
        const n = senders.filter((s) => s.transport === transport).reduce((k, s) => k + s.requests.filter((q) => q.acked).length, 0);
        assert.ok(n >= ITERATIONS, `only ${n} requests acknowledged over ${transport} in ${ITERATIONS} rounds`);
      }
      let ackedSpans = 0;
      const roundsOf = new Map();
      for (const s of spans.values()) {
        if (!s.req.acked) continue;
        ackedSpans++;
        if (!roundsOf.has(s.trace)) roundsOf.set(s.trace, new Set());
        roundsOf.get(s.trace).add(s.req.round);
      }
      const multiRound = [...roundsOf.values()].filter((r) => r.size > 1).length;
      console.log(`${variant} total: ${acked} acknowledged requests (${ackedSpans} spans, ${traces.size} traces, ${multiRound} of them with spans acknowledged in several rounds) over ${ITERATIONS} kills` +
        (aimed ? `; kill triggers: ${JSON.stringify(triggers)}` : ''));
      if (aimed && REQUIRE_PHASE) {
        assert.ok(triggers.length === ITERATIONS && triggers.every((t) => t === 'counter' || t === 'blocks' || t === 'wal'),
          `SPROUT_E2E_TRACES_KILL_REQUIRE_PHASE: every aimed round must follow a flush/compaction sign: ${JSON.stringify(triggers)}`);
      }
    });
  });
}

// The aimed killer itself, before any flush exists: against a stand-in process (`sleep`), it
// fires on a counter rising in a /metrics text (a label set added counts too), on an entry
// appearing in a watched directory, and at the timeout when nothing moves.
describe('the aimed killer (lib/traces_kill.js killOnSign)', () => {
  // The sign comes `counterAt` / `fileAt` ms in, but never before the killer has taken its
  // baseline (its first poll, then the directory listing): on a loaded machine the worker may
  // start late, and a sign already in its baseline is no sign.
  async function attempt({ counterAt, fileAt, timeoutMs = 8000 }) {
    const dir = makeTempDir('sprout-traces-killer-');
    const victim = trackChild(spawn('sleep', ['60'], { stdio: 'ignore' }));
    const exited = new Promise((resolve) => victim.on('exit', (code, signal) => resolve(signal)));
    const t0 = Date.now();
    let polls = 0;
    let timer = null;
    const server = http.createServer((req, res) => {
      polls += 1;
      if (fileAt !== undefined && polls === 2) {
        timer = setTimeout(() => fs.mkdirSync(path.join(dir, 'tenant', 'block1'), { recursive: true }),
          Math.max(0, fileAt - (Date.now() - t0)));
      }
      const moved = counterAt !== undefined && polls > 1 && Date.now() - t0 >= counterAt;
      res.end(`# TYPE x_blocks_total counter\nx_blocks_total{tenant="a"} 3\n${moved ? 'x_blocks_total{tenant="b"} 1\n' : ''}other_total 9\n`);
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { worker, report } = killOnSign(victim.pid, {
      metricsUrl: `http://127.0.0.1:${server.address().port}/metrics`,
      counters: ['x_blocks_total'], dirs: [{ dir, label: 'blocks' }], timeoutMs,
    });
    const r = await report;
    const signal = await exited;
    await worker.terminate();
    clearTimeout(timer);
    server.close();
    return { ...r, signal, ms: Date.now() - t0 };
  }

  it('kills right after a counter rises', async () => {
    const r = await attempt({ counterAt: 300 });
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(r.trigger, 'counter');
    assert.equal(r.name, 'x_blocks_total');
    assert.deepEqual(r.seen, ['x_blocks_total']);
    assert.ok(r.ms >= 300 && r.ms < 5000, JSON.stringify(r));
  });

  it('kills right after an entry appears in a watched directory', async () => {
    const r = await attempt({ fileAt: 300 });
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(r.trigger, 'blocks');
    assert.match(r.name, /^\+tenant/);
    assert.ok(r.ms >= 300 && r.ms < 5000, JSON.stringify(r));
  });

  it('kills at the timeout when nothing moves', async () => {
    const r = await attempt({ timeoutMs: 500 });
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(r.trigger, 'timeout');
    assert.ok(r.ms >= 500 && r.ms < 5000, JSON.stringify(r));
  });
});

killLoop('random', { aimed: false });
killLoop('flush-compaction', { aimed: true });
