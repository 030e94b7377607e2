'use strict';
// Unit tests of the data set (lib/data.js) and its wire encoding (lib/write.js).
const assert = require('node:assert/strict');
const { describe, it } = require('node:test');

const { decodeWriteRequest } = require('../e2e/lib/proto');
const d = require('./lib/data');
const { encodeBatch } = require('./lib/write');

const data = d.generate();
const inWindow = (t) => t >= d.WINDOW.startMs && t <= d.WINDOW.endMs;
const seriesOf = (pred) => data.samples.filter((s) => pred(s.labels));

describe('generated data', () => {
  it('is the same on every run (fixed timestamps, seeded)', () => {
    const again = d.generate();
    assert.equal(again.samples.length, data.samples.length);
    assert.deepEqual(again.samples.slice(-500), data.samples.slice(-500));
    assert.ok(Math.abs(data.minMs - d.T0_MS) < 100, 'starts at T0 (2026-01-01T00:00:00Z), not at now');
  });

  it('has every demo metric for three instances, job demo, 5 s apart', () => {
    const names = new Set(data.samples.map((s) => s.labels.__name__));
    assert.deepEqual([...names].sort(), [
      'demo_api_request_duration_seconds_bucket', 'demo_api_request_duration_seconds_count', 'demo_api_request_duration_seconds_sum',
      'demo_batch_last_success_timestamp_seconds', 'demo_cpu_usage_seconds_total', 'demo_disk_usage_bytes', 'demo_intermittent_metric',
      'demo_memory_usage_bytes', 'demo_num_cpus',
    ]);
    assert.deepEqual(new Set(data.samples.map((s) => s.labels.instance)), new Set(d.INSTANCES));
    assert.ok(data.samples.every((s) => s.labels.job === 'demo'));
    // per instance: 4 memory types, cpus, 3 cpu modes, disk, 3 × (11 buckets + sum + count), batch, intermittent
    assert.equal(data.series, 3 * (4 + 1 + 3 + 1 + 3 * 13 + 1 + 1));
    const cpus = seriesOf((l) => l.__name__ === 'demo_num_cpus' && l.instance === d.INSTANCES[0]);
    for (let i = 1; i < cpus.length; i++) assert.ok(Math.abs(cpus[i].t - cpus[i - 1].t - d.INTERVAL_MS) < 100);
    assert.ok(data.samples.every((s, i) => i === 0 || s.t >= data.samples[i - 1].t), 'time order');
  });

  it('the histogram is cumulative: buckets non-decreasing in le, +Inf = count', () => {
    const last = new Map();
    for (const s of data.samples) if (!s.stale) last.set(JSON.stringify(s.labels), s);
    for (const inst of d.INSTANCES) {
      for (const api of d.API_SERIES) {
        const get = (name, le) => last.get(JSON.stringify({ __name__: name, instance: inst, job: 'demo', ...api, ...(le ? { le } : {}) })).value;
        const buckets = [...d.BUCKET_BOUNDS, '+Inf'].map((le) => get('demo_api_request_duration_seconds_bucket', le));
        for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i] >= buckets[i - 1]);
        assert.equal(buckets[buckets.length - 1], get('demo_api_request_duration_seconds_count'));
        assert.ok(get('demo_api_request_duration_seconds_count') > 0);
      }
    }
  });

  it('the restart: stale markers for every series of :10001 inside the window, then counters near 0', () => {
    assert.ok(inWindow(d.RESTART_AT_MS));
    const inst = d.INSTANCES[d.RESTART_INSTANCE];
    const stale = data.samples.filter((s) => s.stale && s.labels.instance === inst && s.t >= d.RESTART_AT_MS && s.t < d.RESTART_AT_MS + 6000);
    const before = new Set(data.samples.filter((s) => !s.stale && s.labels.instance === inst && s.t > d.RESTART_AT_MS - 5500 && s.t < d.RESTART_AT_MS).map((s) => JSON.stringify(s.labels)));
    assert.ok(before.size >= 49);
    assert.deepEqual(new Set(stale.map((s) => JSON.stringify(s.labels))), before, 'every series of the last scrape goes stale');
    const cpu = seriesOf((l) => l.__name__ === 'demo_cpu_usage_seconds_total' && l.instance === inst && l.mode === 'user').filter((s) => !s.stale);
    const after = cpu.findIndex((s) => s.t > d.RESTART_AT_MS);
    assert.ok(cpu[after].value < 0.01 * cpu[after - 1].value, 'the counter starts again from ~0');
    assert.ok(cpu[after].t - cpu[after - 1].t >= d.RESTART_DOWN_MS, 'no scrape while down');
  });

  it('the counter reset of :10002 mode=system, without a gap, inside the window', () => {
    assert.ok(inWindow(d.RESET_AT_MS));
    const sys = seriesOf((l) => l.__name__ === 'demo_cpu_usage_seconds_total' && l.instance === d.INSTANCES[d.RESET_INSTANCE] && l.mode === 'system');
    const drops = sys.filter((s, i) => i > 0 && s.value < sys[i - 1].value);
    assert.equal(drops.length, 1);
    assert.ok(Math.abs(drops[0].t - d.RESET_AT_MS) < d.INTERVAL_MS);
    assert.ok(sys.every((s) => !s.stale));
  });

  it('demo_intermittent_metric comes and goes, with a stale marker at each disappearance', () => {
    for (const inst of d.INSTANCES) {
      const s = seriesOf((l) => l.__name__ === 'demo_intermittent_metric' && l.instance === inst);
      const stale = s.filter((x) => x.stale);
      assert.ok(stale.length >= 7, `${inst}: ${stale.length} disappearances`);
      // after a marker, the next sample comes minutes later
      for (const m of stale) {
        if (inst === d.INSTANCES[d.RESTART_INSTANCE] && m.t >= d.RESTART_AT_MS && m.t < d.RESTART_AT_MS + d.RESTART_DOWN_MS) continue;
        const next = s.find((x) => x.t > m.t);
        if (next) assert.ok(next.t - m.t > 60000);
      }
    }
    const staleInWindow = data.samples.filter((s) => s.stale && s.labels.__name__ === 'demo_intermittent_metric' && inWindow(s.t));
    assert.ok(staleInWindow.length >= 3);
  });
});

describe('wire encoding', () => {
  it('stale markers reach the wire as 0x7ff0000000000002, other values unchanged', () => {
    const batches = d.batches(data.samples);
    assert.ok(batches.length > 10);
    let markers = 0;
    let samples = 0;
    const staleBytes = Buffer.from(d.STALE_NAN_HEX, 'hex').reverse();
    for (const b of batches) {
      const wire = encodeBatch(b);
      const expected = b.timeseries.reduce((n, ts) => n + ts.samples.filter((s) => s.stale).length, 0);
      let found = 0;
      for (let at = wire.indexOf(staleBytes); at >= 0; at = wire.indexOf(staleBytes, at + 1)) found += wire[at - 1] === 0x09 ? 1 : 0;
      assert.equal(found, expected);
      markers += found;
      const decoded = decodeWriteRequest(wire);
      decoded.timeseries.forEach((ts, i) => {
        assert.deepEqual(ts.labels, b.timeseries[i].labels);
        ts.samples.forEach((s, j) => {
          const want = b.timeseries[i].samples[j];
          assert.equal(Number(s.timestamp), want.timestamp);
          if (want.stale) assert.ok(Number.isNaN(s.value));
          else assert.equal(s.value || 0, want.value);
          samples += 1;
        });
      });
    }
    assert.equal(markers, data.staleMarkers);
    assert.equal(samples, data.samples.length);
  });
});
