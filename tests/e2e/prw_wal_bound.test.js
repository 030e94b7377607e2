'use strict';
// prometheusremotewrite with `wal` and `wal.max_size_bytes: 1048576` while Prometheus is down:
// hand-built OTLP/HTTP requests (100 gauge series each) are pushed until the WAL reaches its
// bound. From then on clients get the retryable refusal (HTTP 503 / gRPC UNAVAILABLE, "the WAL
// is full") and the WAL's segment files stay within the bound. Then Prometheus is started: every
// sample sprout acknowledged arrives, with its value, in order (Prometheus refuses out-of-order
// samples, so a reordering would show as a missing sample), and sprout takes data again.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { Prometheus } = require('./lib/prom');
const { GaugeStream, checkAcknowledgedGauges, prwCollectorConfig } = require('./lib/prw');
const { Collector, freePorts, makeTempDir, metricValue, runLoadgen, scrapeMetrics, waitFor } = require('./lib/sprout');

const MAX_SIZE = 1048576;
const SERIES = 100;

function walBytes(dir) {
  if (!fs.existsSync(dir)) return 0;
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.log'))
    .reduce((total, name) => total + fs.statSync(path.join(dir, name)).size, 0);
}

describe('prometheusremotewrite: the WAL stops at wal.max_size_bytes while Prometheus is down', () => {
  let prometheus;
  let collector;
  let ports;
  let walDir;
  const stream = new GaugeStream('e2e-wal-bound', SERIES);
  const refusals = [];
  let largest = 0;

  before(async () => {
    const dir = makeTempDir('sprout-prw-wal-bound-');
    const [grpc, http, metrics, promPort] = await freePorts(4);
    ports = { grpc, http, metrics };
    walDir = path.join(dir, 'wal');
    prometheus = new Prometheus({ dir, port: promPort }); // not started: the backend is down
    collector = new Collector(
      prwCollectorConfig(ports, {
        endpoint: prometheus.writeUrl,
        target_info: { enabled: false },
        retry_on_failure: { initial_interval: '50ms', max_interval: '1s' },
        wal: { directory: walDir, max_size_bytes: MAX_SIZE },
      }),
      { name: 'sprout', dir },
    );
    await collector.start();
    // Push until refused, then a few more: they must all be refused too.
    for (let i = 0; i < 5000 && refusals.length < 5; i++) {
      const result = await stream.post(http);
      if (result.status !== 200) refusals.push(result);
      largest = Math.max(largest, walBytes(walDir));
    }
  });

  after(async () => {
    await Promise.all([collector && collector.kill(), prometheus && prometheus.kill()]);
  });

  it('refuses with 503 "the WAL is full" once the bound is reached, and stays within it', () => {
    assert.equal(refusals.length, 5, `refused ${refusals.length} of ${stream.next} requests`);
    for (const r of refusals) {
      assert.equal(r.status, 503, JSON.stringify(r));
      assert.match(r.message, /^the WAL is full: \d+ bytes of wal\.max_size_bytes 1048576 hold data not yet delivered/);
    }
    assert.ok(stream.acked.length > 20, `${stream.acked.length} requests acknowledged before the bound`);
    assert.ok(largest <= MAX_SIZE, `the WAL's segments reached ${largest} bytes (bound ${MAX_SIZE})`);
    assert.ok(largest > MAX_SIZE / 2, `the WAL's segments only reached ${largest} bytes`);
  });

  it('refuses OTLP/gRPC with UNAVAILABLE and logs the refusal once', async () => {
    // The HTTP requests above (100 series each) were refused once the room left was smaller than
    // one of them; a 10-point gRPC batch may still fit in that room, and then it is rightly taken.
    const free = MAX_SIZE - walBytes(walDir);
    const report = await runLoadgen([
      '--endpoint', `127.0.0.1:${ports.grpc}`, '--signal', 'metrics', '--rate', '20', '--duration', '1s', '--batch', '10',
    ]);
    assert.ok(report.failed_requests > 0, JSON.stringify(report));
    // Every accepted batch is a WAL record of well over 100 bytes: only what fitted was taken.
    assert.ok((report.acked_spans / 10) * 100 <= free, `acked ${report.acked_spans} points with ${free} bytes free: ${JSON.stringify(report)}`);
    assert.ok(walBytes(walDir) <= MAX_SIZE, `the WAL's segments hold ${walBytes(walDir)} bytes`);
    assert.match(report.stderr, /first failure: code 14: the WAL is full/);
    const refusing = collector.logs().filter((e) => e.message === 'Refusing data: the WAL cannot take it now; clients are asked to retry.');
    assert.equal(refusing.length, 1, 'logged when refusing starts, not for every batch');
    const samples = await scrapeMetrics(ports.metrics);
    assert.ok(metricValue(samples, 'otelcol_exporter_prometheusremotewrite_wal_size_bytes') <= MAX_SIZE);
    assert.ok(metricValue(samples, 'otelcol_exporter_prometheusremotewrite_wal_size_bytes') > MAX_SIZE / 2);
  });

  it('delivers every acknowledged sample, in order, once Prometheus is up; then takes data again', async () => {
    await prometheus.start();
    await checkAcknowledgedGauges(prometheus, stream, { collector });
    // Delivered segments are deleted: new requests are acknowledged again.
    await waitFor(async () => (await stream.post(ports.http)).status === 200, {
      timeoutMs: 30000,
      intervalMs: 200,
      describe: `sprout to take data again; stderr:\n${collector.stderr.slice(-3000)}`,
    });
    await checkAcknowledgedGauges(prometheus, stream, { collector });
    assert.ok(walBytes(walDir) < MAX_SIZE / 2, `the WAL still holds ${walBytes(walDir)} bytes`);
    assert.equal(await collector.stop(), 0);
  });
});
