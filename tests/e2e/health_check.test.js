'use strict';
// The health_check extension: 200 while running, 503 from the first moment of shutdown while
// the exporter queue still drains, and the process exits cleanly at the shutdown deadline.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { Collector, freePorts, metricValue, scrapeMetrics, waitFor } = require('./lib/sprout');
const { traceRequestData, traceRequestJson } = require('./lib/proto');

const SHUTDOWN_TIMEOUT_S = 3;
const NOT_AVAILABLE = { status: 'Server not available', upSince: '0001-01-01T00:00:00Z', uptime: '' };
// Go's time.Duration.String(): 1h2m3.5s, 2m0s, 1.5s, 995.060551ms, 12µs, 800ns.
const GO_DURATION = /^(?:(?:\d+h)?(?:\d+m)?\d+(?:\.\d+)?s|\d+(?:\.\d+)?(?:ms|µs|ns))$/;

async function health(port, path = '/', method = 'GET') {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type'), text };
}

describe('health_check with a draining exporter', () => {
  let collector;
  let ports;

  before(async () => {
    const [healthPort, httpPort, metricsPort, deadPort] = await freePorts(4);
    ports = { health: healthPort, http: httpPort, metrics: metricsPort };
    collector = new Collector(
      {
        receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${httpPort}` } } } },
        exporters: {
          otlp: {
            // Nothing listens here: every send fails and the data stays queued.
            endpoint: `127.0.0.1:${deadPort}`,
            tls: { insecure: true },
            timeout: '500ms',
            sending_queue: { num_consumers: 1, queue_size: 100 },
          },
        },
        extensions: { health_check: { endpoint: `127.0.0.1:${healthPort}` } },
        service: {
          extensions: ['health_check'],
          telemetry: { metrics: { address: `127.0.0.1:${metricsPort}` } },
          pipelines: { traces: { receivers: ['otlp'], exporters: ['otlp'] } },
        },
      },
      { name: 'health-drain', healthPort, args: ['--shutdown-timeout', `${SHUTDOWN_TIMEOUT_S}s`] },
    );
    await collector.start();
  });

  after(async () => {
    if (collector) await collector.kill();
  });

  it('answers 200 with the Collector JSON for any method and any subpath', async () => {
    const startedAt = Date.now();
    const first = await health(ports.health);
    assert.equal(first.status, 200);
    assert.equal(first.contentType, 'application/json');
    const body = JSON.parse(first.text);
    assert.deepEqual(Object.keys(body).sort(), ['status', 'upSince', 'uptime']);
    assert.equal(body.status, 'Server available');
    assert.match(body.upSince, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, 'upSince is RFC 3339 in UTC');
    const upSince = Date.parse(body.upSince);
    assert.ok(upSince <= startedAt + 1000 && upSince > startedAt - 60000, `upSince ${body.upSince} is recent`);
    assert.match(body.uptime, GO_DURATION, `uptime ${body.uptime} is a Go duration`);

    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const res = await health(ports.health, '/', method);
      assert.equal(res.status, 200, `${method} /`);
      assert.equal(JSON.parse(res.text).status, 'Server available');
    }
    for (const path of ['/foo', '/foo/bar/baz', '/anything?x=1']) {
      const res = await health(ports.health, path);
      assert.equal(res.status, 200, `GET ${path}`);
      assert.equal(res.contentType, 'application/json');
      const b = JSON.parse(res.text);
      assert.equal(b.status, 'Server available');
      assert.equal(b.upSince, body.upSince, 'upSince does not move');
    }
    const head = await fetch(`http://127.0.0.1:${ports.health}/`, { method: 'HEAD' });
    assert.equal(head.status, 200, 'HEAD /');
  });

  it('turns 503 during shutdown while the queue drains, then exits 0 at the deadline', async () => {
    // Three requests; with one consumer stuck retrying, the others wait in the queue.
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`http://127.0.0.1:${ports.http}/v1/traces`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: traceRequestJson(traceRequestData(4, { prefix: `queued-${i}` })),
      });
      assert.equal(res.status, 200, 'the receiver acknowledges once the data is queued');
    }
    const queued = await waitFor(
      async () => {
        const samples = await scrapeMetrics(ports.metrics);
        const size = metricValue(samples, 'otelcol_exporter_queue_size', { exporter: 'otlp' });
        return size >= 1 ? size : null;
      },
      { timeoutMs: 5000, describe: 'otelcol_exporter_queue_size{exporter="otlp"} >= 1' },
    );
    assert.ok(queued >= 1);

    const termAt = Date.now();
    collector.signal('SIGTERM');
    let seen503 = null;
    while (collector.running && Date.now() - termAt < (SHUTDOWN_TIMEOUT_S + 5) * 1000) {
      const res = await health(ports.health).catch(() => null);
      if (res && res.status === 503 && collector.running) {
        seen503 = res;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(seen503, `the health endpoint answered 503 while the process was still running; stderr:\n${collector.stderr}`);
    assert.equal(seen503.contentType, 'application/json');
    assert.deepEqual(JSON.parse(seen503.text), NOT_AVAILABLE);
    assert.equal(seen503.text, JSON.stringify(NOT_AVAILABLE), 'byte-exact body');

    // Still unavailable a little later, while the queue is still draining.
    const again = await health(ports.health).catch(() => null);
    if (again && collector.running) assert.equal(again.status, 503);

    const { code } = await collector.waitExit((SHUTDOWN_TIMEOUT_S + 5) * 1000);
    const elapsed = Date.now() - termAt;
    assert.equal(code, 0, `exit code; stderr:\n${collector.stderr}`);
    assert.ok(elapsed <= (SHUTDOWN_TIMEOUT_S + 3) * 1000, `exited ${elapsed} ms after SIGTERM (timeout ${SHUTDOWN_TIMEOUT_S}s)`);
    assert.ok(elapsed >= (SHUTDOWN_TIMEOUT_S - 1) * 1000, `kept draining until the deadline, exited after ${elapsed} ms`);
    const messages = collector.logs().map((e) => e.message);
    assert.ok(messages.includes('Shutdown complete.'), 'logged Shutdown complete.');
    // Whatever could not be delivered by the deadline is reported, item by item: 3 requests × 4 spans.
    const given_up = collector
      .logs()
      .filter((e) => e.level === 'error')
      .reduce((n, e) => n + (e.fields.dropped_items || 0) + (e.fields.rejected_items || 0), 0);
    assert.equal(given_up, 12, `every undelivered span is reported as dropped or rejected; stderr:\n${collector.stderr}`);
    // The health endpoint is gone with the process.
    await assert.rejects(fetch(`http://127.0.0.1:${ports.health}/`));
  });
});

describe('health_check with a custom path', () => {
  let collector;
  let healthPort;

  before(async () => {
    const [h, grpc, metrics] = await freePorts(3);
    healthPort = h;
    collector = new Collector(
      {
        receivers: { otlp: { protocols: { grpc: { endpoint: `127.0.0.1:${grpc}` } } } },
        exporters: { debug: {} },
        extensions: { health_check: { endpoint: `127.0.0.1:${h}`, path: '/health/status' } },
        service: {
          extensions: ['health_check'],
          telemetry: { metrics: { address: `127.0.0.1:${metrics}` } },
          pipelines: { traces: { receivers: ['otlp'], exporters: ['debug'] } },
        },
      },
      { name: 'health-path', healthPort: h, healthPath: '/health/status' },
    );
    await collector.start();
  });

  after(async () => {
    if (collector) await collector.kill();
  });

  it('answers on the configured path only', async () => {
    const ok = await health(healthPort, '/health/status');
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.text).status, 'Server available');
    for (const path of ['/', '/health', '/health/status/sub', '/other']) {
      const res = await health(healthPort, path);
      assert.equal(res.status, 404, `GET ${path}`);
    }
  });

  it('exits 0 on SIGTERM', async () => {
    const code = await collector.stop(10000);
    assert.equal(code, 0);
  });
});
