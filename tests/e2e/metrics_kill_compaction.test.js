'use strict';
// Issue 9's acceptance item "kill -9 ... Same with kill -9 during head compaction and during
// block compaction". Label `soak`: SPROUT_E2E_KILL_ITERATIONS rounds per loop (default 3, what
// `make test` runs; `make soak` runs more).
//
// `sprout metrics` (multi-tenancy off) runs on one data directory for the whole loop, with the
// cutting job checking every 50 ms (blocks_storage.tsdb.head_compaction_interval) and the
// compactor running every 1 s (every 200 ms in the compaction loop). WRITERS writers post hand-built
// remote-write requests back to back (SERIES series each); their timestamps come from one shared
// clock that moves STEP_MS per request, starting 400 days ago, so the head spans more than
// 1.5 × 2 h every ~100 requests and the cutting job cuts a 2 h block several times a second, and
// the compactor finds 2 h blocks of complete 12 h ranges to merge (level 2) as often, and two
// 12 h blocks of a complete day to merge into a 24 h block (level 3) as each day completes.
//
// Each round kills the process inside a phase seen on disk, from a worker thread polling
// every ~0.2 ms: the head loop waits for a cut (`tsdb/anonymous/cut-tmp/` exists: the block is
// written and uploaded) and kills either a random 0–3 ms into it or 0–3 ms after it ended (the
// head's truncation and WAL checkpoint come then); the compaction loop does the same with the
// compactor's local directory (`compactor/anonymous/<ULID>/`: merge and upload; after it, the
// deletion of the sources). A third loop (issue 15) uploads, before each round, an overlapping
// copy of an old block (injectOverlap) and kills soon after, so kills land in vertical
// compactions too. A fourth loop (issue 15, out-of-order ingestion) runs with
// limits.out_of_order_time_window=6h and makes the last writer a late one: each of its requests
// carries a timestamp 1–5 h behind the shared clock (drawn at random, never one it used
// before), so its samples are stored out of order — below the head's one-hour in-order bound,
// many in ranges already cut into blocks — and cut into extra blocks that overlap the
// first ones until the compactor's vertical compaction merges them; the kills land in the
// head's cuts. Then, after every restart:
//  - it is ready within 30 s with no error in its log (what settling an interrupted cut did is
//    logged as a warning and counted);
//  - remote read over the whole run holds every sample of every request ever answered 2xx with
//    its exact bits and nothing never sent (lib/metrics_kill.js's checkAll);
//  - the blocks bucket holds no complete block (meta.json present) without its index and
//    chunks, and no two complete blocks overlap in time, leaving out a compaction's sources still
//    listed beside the block that covers them (deleted by the next run): remote read
//    de-duplicates, so a range cut twice would only show here (the out-of-order loop's extra
//    blocks overlap by design: there only the final check below counts).
// At the end: a flush (wait=true) and quiet compactions; then the blocks do not overlap, each
// complete day (24 h: compactor.block_ranges' default) is one block, and the samples the metas count add up exactly to the
// distinct samples read back — nothing held twice.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

const { makeTempDir, sleep } = require('./lib/sprout');
const { SproutMetrics } = require('./lib/sprout_metrics');
const { Writer, killInPhase, checkAll, badLine } = require('./lib/metrics_kill');

const ITERATIONS = Number(process.env.SPROUT_E2E_KILL_ITERATIONS || 3);
const WRITERS = 4;
const SERIES = 100;
const STEP_MS = 2 * 60 * 1000; // the shared clock's move per request
const HOUR = 3600 * 1000;
const READY_DEADLINE_MS = 30000;
const TENANT = 'anonymous';

// Every complete block of the bucket (a directory with meta.json): {ulid, minTime, maxTime,
// numSamples, level, sources, files: names in the directory}; and the ULIDs of partial ones.
function readBlocks(dir) {
  const root = path.join(dir, 'data/metrics/blocks', TENANT);
  const blocks = [];
  const partial = [];
  let names = [];
  try {
    names = fs.readdirSync(root);
  } catch {
    return { blocks, partial };
  }
  for (const name of names) {
    if (!/^[0-9A-HJKMNP-TV-Z]{26}$/.test(name)) continue;
    let meta;
    try {
      meta = JSON.parse(fs.readFileSync(path.join(root, name, 'meta.json'), 'utf8'));
    } catch (err) {
      if (err.code === 'ENOENT') partial.push(name);
      else throw new Error(`block ${name}: meta.json: ${err.message}`);
      continue;
    }
    let files = [];
    let chunks = [];
    try {
      files = fs.readdirSync(path.join(root, name));
      chunks = fs.readdirSync(path.join(root, name, 'chunks'));
    } catch {}
    blocks.push({
      ulid: meta.ulid,
      dir: name,
      minTime: meta.minTime,
      maxTime: meta.maxTime,
      numSamples: meta.stats ? meta.stats.numSamples || 0 : 0,
      level: meta.compaction ? meta.compaction.level : 0,
      sources: meta.compaction ? meta.compaction.sources || [] : [],
      files,
      chunks,
    });
  }
  blocks.sort((a, b) => a.minTime - b.minTime || a.maxTime - b.maxTime);
  return { blocks, partial };
}

// The tenant's bucket index (Mimir's bucket-index.json.gz: gzip'd JSON), or null when absent.
function readBucketIndex(dir) {
  let gz;
  try {
    gz = fs.readFileSync(path.join(dir, 'data/metrics/blocks', TENANT, 'bucket-index.json.gz'));
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw err;
  }
  return JSON.parse(zlib.gunzipSync(gz).toString('utf8'));
}

// Blocks whose sources another block holds all of (a compaction's sources not yet deleted).
function covered(blocks) {
  const out = new Set();
  for (const b of blocks) {
    for (const c of blocks) {
      if (c === b || c.sources.length < b.sources.length) continue;
      const cs = new Set(c.sources);
      if (b.sources.every((s) => cs.has(s)) && (c.sources.length > b.sources.length || c.ulid > b.ulid)) {
        out.add(b.ulid);
        break;
      }
    }
  }
  return out;
}

// Problems of the bucket: a complete block missing its index or chunks, or two blocks that are
// not a compaction's leftovers overlapping in time.
function bucketProblems({ blocks }, injected = new Set(), overlapsAllowed = false) {
  const problems = [];
  for (const b of blocks) {
    if (b.ulid !== b.dir) problems.push(`block ${b.dir}: meta.json names ${b.ulid}`);
    if (!b.files.includes('index')) problems.push(`block ${b.dir}: complete (meta.json) but no index`);
    if (b.numSamples > 0 && b.chunks.length === 0) problems.push(`block ${b.dir}: complete but no chunk segment`);
  }
  if (overlapsAllowed) return problems;
  const skip = covered(blocks);
  const live = blocks.filter((b) => !skip.has(b.ulid));
  for (let i = 0; i < live.length; i++) {
    for (let j = i + 1; j < live.length; j++) {
      const a = live[i];
      const b = live[j];
      // An injected copy overlaps its original until the vertical compaction merged them.
      const pure = (x) => x.sources.length > 0 && x.sources.every((u) => injected.has(u));
      if (pure(a) || pure(b)) continue;
      if (a.minTime < b.maxTime && b.minTime < a.maxTime) {
        problems.push(`blocks ${a.ulid} [${a.minTime}, ${a.maxTime}) level ${a.level} and ${b.ulid} [${b.minTime}, ${b.maxTime}) level ${b.level} overlap`);
      }
    }
  }
  return problems;
}

// Pairs of complete blocks that overlap in time, leaving out covered ones (the out-of-order
// loop's extra blocks before their vertical compaction).
function overlapCount({ blocks }) {
  const skip = covered(blocks);
  const live = blocks.filter((b) => !skip.has(b.ulid));
  let n = 0;
  for (let i = 0; i < live.length; i++) {
    for (let j = i + 1; j < live.length; j++) {
      if (live[i].minTime < live[j].maxTime && live[j].minTime < live[i].maxTime) n++;
    }
  }
  return n;
}

// A new ULID (Crockford base32: 48-bit milliseconds, 80 random bits).
function newUlid() {
  const A = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let t = Date.now();
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = A[t % 32] + out;
    t = Math.floor(t / 32);
  }
  for (let i = 0; i < 16; i++) out += A[Math.floor(Math.random() * 32)];
  return out;
}

// Uploads a copy of a complete block of a complete day under a new ULID, as a level-1 block
// whose only source is itself: an overlapping block with the same samples, which the compactor
// merges with the original by a vertical compaction (de-duplicating every sample). The copy is
// made beside the bucket and renamed in whole, so it appears complete at once. Returns its ULID
// or '' when no block fits (or the chosen one vanished under a compaction meanwhile).
function injectOverlap(dir) {
  const { blocks } = readBlocks(dir);
  const lastEnd = Math.max(0, ...blocks.map((b) => b.maxTime));
  const old = blocks.filter((b) => b.maxTime <= Math.floor(lastEnd / (24 * HOUR)) * 24 * HOUR);
  if (old.length === 0) return '';
  const src = old[Math.floor(Math.random() * old.length)];
  const ulid = newUlid();
  const root = path.join(dir, 'data/metrics/blocks', TENANT);
  const tmp = path.join(dir, 'inject-tmp', ulid);
  try {
    fs.cpSync(path.join(root, src.dir), tmp, { recursive: true });
    const meta = JSON.parse(fs.readFileSync(path.join(tmp, 'meta.json'), 'utf8'));
    meta.ulid = ulid;
    meta.compaction = { level: 1, sources: [ulid] };
    fs.writeFileSync(path.join(tmp, 'meta.json'), JSON.stringify(meta));
    fs.renameSync(tmp, path.join(root, ulid));
    return ulid;
  } catch {
    fs.rmSync(tmp, { recursive: true, force: true });
    return '';
  }
}

function killLoop(variant, { watch, sets, inject = false, late = false }) {
  describe(`sprout metrics: kill -9 during ${variant}, ${ITERATIONS} times`, () => {
    let peer;
    // One clock for every writer: timestamps of concurrent requests stay within a few steps of
    // each other (well inside the head's one-hour too-old bound).
    const clock = { t: Math.floor((Date.now() - 400 * 24 * HOUR) / STEP_MS) * STEP_MS };
    const nextT = () => (clock.t += STEP_MS);
    // The late writer (out-of-order loop): 1–5 h behind the clock, a timestamp never used before.
    const used = new Set();
    const lateT = () => {
      for (;;) {
        const t = clock.t - HOUR - Math.floor(Math.random() * 4 * HOUR);
        if (!used.has(t)) {
          used.add(t);
          return t;
        }
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => new Writer(w, { metric: `sprout_e2e_kill_${variant.replace(/\W/g, '_')}`, series: SERIES, nextT: late && w === WRITERS - 1 ? lateT : nextT }));
    const metric = writers[0].metric;
    // Late samples reach back 5 h before the first request: the reads start there.
    const start = clock.t - (late ? 6 * HOUR : 0);
    const rounds = [];
    const summary = { phaseHit: 0, during: 0, after: 0, settled: 0, settledNotes: [], partialSeen: 0, maxBlocks: 0, maxLevel: 0, dayBlocksSeen: 0, dayInputsAtKill: 0, injected: 0, injectedAtKill: 0, overlapsSeen: 0 };
    const injected = new Set();

    before(async () => {
      peer = new SproutMetrics({
        name: `sprout-metrics-kill-${variant.replace(/\W/g, '-')}`,
        dir: makeTempDir(`sprout-metrics-kill-${variant.replace(/\W/g, '-')}-`),
        multitenancy: false,
        sets: [
          'limits.ingestion_rate=100000000',
          'limits.ingestion_burst_size=100000000',
          'blocks_storage.tsdb.head_compaction_interval=50ms',
          // Retention runs with every compaction and deletes nothing of this run.
          'limits.compactor_blocks_retention_period=87600h',
          ...sets,
        ],
      });
      await peer.start({ timeoutMs: READY_DEADLINE_MS });
    });

    after(async () => {
      if (peer) await peer.kill();
    });

    for (let round = 0; round < ITERATIONS; round++) {
      it(`round ${round}: every acknowledged sample survives kill -9 during ${variant}, nothing held twice`, async () => {
        const info = { round, after: Math.random() < 0.5, delayMs: Math.floor(Math.random() * 4) };
        rounds.push(info);
        const state = { loading: true };
        if (inject) {
          const u = injectOverlap(peer.dir);
          if (u) {
            injected.add(u);
            summary.injected++;
          }
        }
        const before = writers.map((wr) => wr.requests.length);
        const running = writers.map((wr) => wr.run(peer, state, round));
        const exited = peer.exited;
        const killer = killInPhase(peer.child.pid, {
          dir: path.join(peer.dir, watch),
          // With an injected copy: soon, so that the vertical compaction is often the one hit.
          minMs: inject && injected.size > 0 ? Math.floor(Math.random() * 100) : 200 + Math.floor(Math.random() * 300),
          phaseTimeoutMs: 10000,
          delayMs: info.delayMs,
          after: info.after,
        });
        const exit = await exited;
        state.loading = false;
        const report = await killer.report;
        await killer.worker.terminate();
        Object.assign(info, report);
        assert.equal(exit.signal, 'SIGKILL', `round ${round}: ${JSON.stringify(exit)}`);
        await Promise.all(running);
        if (info.phase) {
          summary.phaseHit++;
          summary[info.after ? 'after' : 'during']++;
        }
        const sent = writers.flatMap((wr, w) => wr.requests.slice(before[w]));
        info.sent = sent.length;
        info.acked = sent.filter((q) => q.acked).length;
        info.refused = sent.filter((q) => !q.acked && q.status !== 0).map((q) => `${q.status} ${q.text}`).slice(0, 3);
        assert.deepEqual(info.refused, [], `round ${round}: refusals other than the kill`);
        const atKill = readBlocks(peer.dir);
        info.partialAtKill = atKill.partial.length;
        // Blocks of a day's 12 h → 24 h compaction present at the kill: a day holding ≥ 2 blocks
        // longer than 2 h (merged 12 h ones), some block ending after it (the day is complete).
        const days = new Map();
        for (const b of atKill.blocks) {
          const d = Math.floor(b.minTime / (24 * HOUR));
          if (b.maxTime - b.minTime > 2 * HOUR) days.set(d, (days.get(d) || 0) + 1);
        }
        const lastEnd = Math.max(0, ...atKill.blocks.map((b) => b.maxTime));
        info.dayInputsAtKill = [...days].some(([d, n]) => n >= 2 && lastEnd > (d + 1) * 24 * HOUR);
        if (info.dayInputsAtKill) summary.dayInputsAtKill++;
        // An injected overlapping copy still waiting for (or inside) its vertical compaction.
        info.injectedAtKill = atKill.blocks.some((b) => injected.has(b.ulid));
        info.overlapsAtKill = overlapCount(atKill);
        if (info.overlapsAtKill > 0) summary.overlapsSeen++;
        if (info.injectedAtKill) summary.injectedAtKill++;
        if (atKill.partial.length > 0) summary.partialSeen++;

        // Restart on the same directory: never refused, within the deadline.
        const logFrom = peer.log.length;
        const t0 = Date.now();
        await peer.start({ timeoutMs: READY_DEADLINE_MS });
        info.readyMs = Date.now() - t0;
        const runLog = peer.log.slice(logFrom);
        const bad = runLog.split('\n').filter(badLine);
        assert.deepEqual(bad, [], `round ${round}: errors in the log of the restart`);
        const settled = runLog.split('\n').filter((l) => l.includes('interrupted block cut was settled'));
        info.settled = settled.length;
        summary.settled += settled.length;
        for (const l of settled) summary.settledNotes.push(l.slice(0, 300));

        // Every acknowledged sample of every round so far, with its value; nothing unsent.
        const t1 = Date.now();
        const check = await checkAll(peer, writers, { metric, series: SERIES, start, end: clock.t + HOUR });
        info.checkMs = Date.now() - t1;
        info.storedSamples = check.samples;
        info.ackedSamples = check.acked;
        info.unacked = check.unacked;
        const detail = () =>
          JSON.stringify({ ...info, lost: check.lost.slice(0, 5), lostCount: check.lost.length, wrong: check.wrong.slice(0, 5), unsent: check.unsent.slice(0, 5), log: runLog.slice(-3000) }, null, 1);
        assert.equal(check.lost.length, 0, `round ${round}: acknowledged samples lost: ${detail()}`);
        assert.equal(check.wrong.length, 0, `round ${round}: samples with another value than sent: ${detail()}`);
        assert.equal(check.unsent.length, 0, `round ${round}: samples never sent: ${detail()}`);
        assert.deepEqual(check.duplicates, [], `round ${round}: a series returned twice`);

        // The bucket: no partial block taken for complete, no range held twice.
        const bucket = readBlocks(peer.dir);
        info.blocks = bucket.blocks.length;
        summary.maxBlocks = Math.max(summary.maxBlocks, bucket.blocks.length);
        // compactor.block_ranges' default 2h, 12h, 24h: level 3 is a day merged from 12 h blocks.
        info.maxLevel = Math.max(0, ...bucket.blocks.map((b) => b.level));
        summary.maxLevel = Math.max(summary.maxLevel, info.maxLevel);
        summary.dayBlocksSeen = Math.max(summary.dayBlocksSeen, bucket.blocks.filter((b) => b.maxTime - b.minTime > 12 * HOUR).length);
        assert.deepEqual(bucketProblems(bucket, injected, late), [], `round ${round}: the bucket after the restart: ${JSON.stringify(info)}`);
        console.log(`${variant} ${JSON.stringify(info)}`);
      });
    }

    it('after a flush and quiet compactions every sample is held exactly once', async () => {
      const r = await fetch(`${peer.baseUrl}/ingester/flush?wait=true`, { method: 'POST' });
      assert.equal(r.status, 204, await r.text());
      // The compactor merges each complete day (compactor.block_ranges 2h, 12h, 24h) into one
      // block and deletes the sources; every day of this run is complete (it ended 400 days ago).
      let bucket;
      const deadline = Date.now() + 60000;
      for (;;) {
        bucket = readBlocks(peer.dir);
        const groups = new Map();
        for (const b of bucket.blocks) {
          const g = Math.floor(b.minTime / (24 * HOUR));
          groups.set(g, (groups.get(g) || 0) + 1);
        }
        if ([...groups.values()].every((n) => n === 1)) break;
        if (Date.now() > deadline) assert.fail(`the compactor did not settle: ${JSON.stringify(bucket.blocks.map((b) => [b.minTime, b.maxTime, b.level]))}`);
        await sleep(200);
      }
      assert.deepEqual(bucketProblems(bucket, injected), []);
      const check = await checkAll(peer, writers, { metric, series: SERIES, start, end: clock.t + HOUR });
      assert.equal(check.lost.length, 0, 'acknowledged samples lost after the final flush');
      assert.equal(check.unsent.length, 0);
      const inBlocks = bucket.blocks.reduce((n, b) => n + b.numSamples, 0);
      // The head is empty after the flush: the blocks hold every sample read back, once.
      assert.equal(inBlocks, check.samples, `samples counted by the blocks' metas vs distinct samples read back`);
      assert.ok(check.samples >= check.acked, `${check.samples} samples read, ${check.acked} acknowledged`);
      // The bucket index (issue 15): it gunzips to Mimir's JSON and lists exactly the complete
      // blocks on disk, with their ranges (the last deletions' update may trail by a moment).
      const onDisk = bucket.blocks.map((b) => [b.ulid, b.minTime, b.maxTime]).sort();
      let listed;
      for (const until = Date.now() + 10000; ; await sleep(100)) {
        const index = readBucketIndex(peer.dir);
        assert.ok(index, 'no bucket-index.json.gz after the flush and compactions');
        assert.equal(index.version, 2);
        assert.ok(Number.isInteger(index.updated_at) && index.updated_at > 0, JSON.stringify(index.updated_at));
        assert.deepEqual(index.block_deletion_marks, []);
        listed = index.blocks.map((b) => [b.block_id, b.min_time, b.max_time]).sort();
        if (JSON.stringify(listed) === JSON.stringify(onDisk) || Date.now() > until) break;
      }
      assert.deepEqual(listed, onDisk, 'the bucket index vs the complete blocks on disk');
      const exit = await peer.stop();
      assert.equal(exit.code, 0, peer.log.slice(-3000));
      console.log(`${variant} total: ${JSON.stringify({ rounds: rounds.length, ...summary, settledNotes: summary.settledNotes.slice(0, 5), blocks: bucket.blocks.length, samples: check.samples, acked: check.acked })}`);
      // The kills landed while days were being compacted: 24 h blocks formed during the loop.
      if (variant === 'block compaction') assert.ok(summary.dayBlocksSeen > 0, 'no 24 h block formed during the kill loop');
      if (inject) assert.ok(summary.injected > 0, 'no overlapping block was injected');
      // Late samples of ranges already cut made extra, overlapping blocks during the loop.
      if (late) assert.ok(summary.overlapsSeen > 0, 'no overlapping block from late samples at any kill');
      // Most kills must land in the phase (else the loop tests nothing new).
      assert.ok(summary.phaseHit >= Math.ceil(rounds.length / 2), `only ${summary.phaseHit} of ${rounds.length} kills inside the phase`);
    });
  });
}

killLoop('head compaction', { watch: `data/metrics/tsdb/${TENANT}/cut-tmp`, sets: ['compactor.compaction_interval=1s'] });
killLoop('block compaction', { watch: `data/metrics/compactor/${TENANT}`, sets: ['compactor.compaction_interval=200ms'] });
// Each round first uploads an overlapping copy of an old block (see injectOverlap): the kills
// land in the compactions that follow, the vertical one among them.
// The injected copy reaches the bucket behind sprout's back: readers and the compactor learn it
// at the bucket index's next rewrite from a listing (compactor.cleanup_interval, here 1 s) or
// at the restart after the kill.
killLoop('vertical compaction', { watch: `data/metrics/compactor/${TENANT}`, sets: ['compactor.compaction_interval=200ms', 'compactor.cleanup_interval=1s'], inject: true });
// Late samples inside the tenant's out-of-order window: extra blocks of ranges already cut, and
// their vertical compactions; the kills land in the head's cuts.
killLoop('out-of-order ingestion', {
  watch: `data/metrics/tsdb/${TENANT}/cut-tmp`,
  sets: ['compactor.compaction_interval=200ms', 'limits.out_of_order_time_window=6h'],
  late: true,
});
