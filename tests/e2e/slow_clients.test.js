'use strict';
// Slow and idle clients cannot hold the OTLP/HTTP receiver: 500 connections that stall (a header
// and 1 KB of a 20 MB body, or nothing at all) or sit idle after a request are closed after the
// configured timeouts while the JS SDK's exports keep succeeding; with the defaults, a silent
// connection is closed after 10 s (the old server kept it forever); and with a connection cap,
// the excess is answered 503 and refused, and the receiver recovers when connections close.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');

const { diag, DiagLogLevel } = require('@opentelemetry/api');
const { ExportResultCode } = require('@opentelemetry/core');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');

const { spawn } = require('node:child_process');
const fs = require('node:fs');

const { simpleTracer } = require('./lib/otel');
const {
  SPROUT_BIN,
  Collector,
  debugCounts,
  freePorts,
  makeTempDir,
  scrapeMetrics,
  trackChild,
  waitFor,
  writeConfig,
} = require('./lib/sprout');

const BODY_HEADER =
  'POST /v1/traces HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-protobuf\r\nContent-Length: 20971520\r\n\r\n';
const EMPTY_EXPORT =
  'POST /v1/traces HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n';

function config(httpPort, metricsPort, http) {
  return {
    receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${httpPort}`, ...http } } } },
    exporters: { debug: { verbosity: 'basic' } },
    service: {
      telemetry: { metrics: { address: `127.0.0.1:${metricsPort}` } },
      pipelines: { traces: { receivers: ['otlp'], exporters: ['debug'] } },
    },
  };
}

// A raw TCP client that records what it received and when the server closed it.
class RawClient {
  constructor(port) {
    this.received = Buffer.alloc(0);
    this.closedAt = null;
    this.responseAt = null;
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (d) => {
      this.received = Buffer.concat([this.received, d]);
      if (this.responseAt === null && this.received.includes('\r\n\r\n')) this.responseAt = Date.now();
    });
    this.socket.on('error', () => {}); // a reset is a close too
    this.socket.on('close', () => {
      this.closedAt = Date.now();
    });
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', () => {
        this.connectedAt = Date.now();
        resolve(this);
      });
      this.socket.once('error', reject);
    });
  }
  get closed() {
    return this.closedAt !== null;
  }
  text() {
    return this.received.toString('latin1');
  }
  destroy() {
    this.socket.destroy();
  }
}

// A real SDK tracer exporting over HTTP/protobuf, one span per export; `results` collects
// every export's result.
function sdk(port, name) {
  const exporter = new OTLPTraceExporter({ url: `http://127.0.0.1:${port}/v1/traces`, timeoutMillis: 10000 });
  const { provider, tracer, results } = simpleTracer(exporter, { serviceName: name, tracerName: 'slow-clients' });
  let n = 0;
  return {
    results,
    // Ends one span and waits for its export.
    async exportOne() {
      tracer.startSpan(`${name}-${n++}`).end();
      await Promise.allSettled([provider.forceFlush()]);
    },
    succeeded: () => results.filter((r) => r.code === ExportResultCode.SUCCESS).length,
    shutdown: () => Promise.allSettled([provider.shutdown()]),
  };
}

function closeTimes(clients, from) {
  return clients.map((c) => (c.closedAt === null ? null : c.closedAt - from(c)));
}

function assertClosedBetween(name, clients, from, lowMs, highMs) {
  const times = closeTimes(clients, from);
  const open = times.filter((t) => t === null).length;
  const early = times.filter((t) => t !== null && t < lowMs);
  const late = times.filter((t) => t !== null && t > highMs);
  assert.equal(open, 0, `${name}: ${open} of ${clients.length} still open`);
  assert.deepEqual(early, [], `${name}: closed before ${lowMs} ms`);
  assert.deepEqual(late, [], `${name}: closed after ${highMs} ms`);
}

describe('stalled and idle connections with short timeouts', () => {
  let collector;
  let ports;

  before(async () => {
    const [http, metrics] = await freePorts(2);
    ports = { http, metrics };
    collector = new Collector(
      config(http, metrics, { read_header_timeout: '2s', read_timeout: '4s', idle_timeout: '3s' }),
      { name: 'slow-clients' },
    );
    await collector.start();
  });

  after(async () => {
    if (collector) await collector.kill();
  });

  it('closes 500 stalled and idle connections after their timeouts while the SDK keeps exporting', async () => {
    const stalledBody = [];
    const silent = [];
    const idle = [];
    for (let i = 0; i < 350; i++) stalledBody.push(new RawClient(ports.http));
    for (let i = 0; i < 75; i++) silent.push(new RawClient(ports.http));
    for (let i = 0; i < 75; i++) idle.push(new RawClient(ports.http));
    const all = [...stalledBody, ...silent, ...idle];
    await Promise.all(all.map((c) => c.connected));
    for (const c of stalledBody) c.socket.write(BODY_HEADER + 'x'.repeat(1024));
    for (const c of idle) c.socket.write(EMPTY_EXPORT);
    await waitFor(() => idle.every((c) => c.responseAt !== null), { describe: 'the idle clients’ responses' });
    for (const c of idle) assert.match(c.text(), /^HTTP\/1\.1 200 OK\r\n/);

    // The SDK exports one span after another until every stalled connection is gone.
    const client = sdk(ports.http, 'well-behaved');
    const deadline = Date.now() + 20000;
    while (!all.every((c) => c.closed) && Date.now() < deadline) await client.exportOne();
    await client.exportOne(); // and once more after they are all gone
    await client.shutdown();

    assertClosedBetween('stalled body (read_timeout 4s)', stalledBody, (c) => c.connectedAt, 3500, 9000);
    assertClosedBetween('silent (read_header_timeout 2s)', silent, (c) => c.connectedAt, 1500, 7000);
    assertClosedBetween('idle keep-alive (idle_timeout 3s)', idle, (c) => c.responseAt, 2500, 8000);
    // Go closes a timed-out connection without an answer.
    for (const c of [...stalledBody, ...silent]) assert.equal(c.text(), '');

    assert.ok(client.results.length >= 5, `only ${client.results.length} exports happened meanwhile`);
    assert.equal(client.succeeded(), client.results.length, JSON.stringify(client.results.filter((r) => r.code !== 0)));
    await waitFor(() => debugCounts(collector.logs()).spans === client.results.length, {
      describe: () => `${client.results.length} spans downstream, got ${debugCounts(collector.logs()).spans}`,
    });
  });
});

describe('default timeouts', () => {
  let collector;
  let port;

  before(async () => {
    const [http, metrics] = await freePorts(2);
    port = http;
    collector = new Collector(config(http, metrics, {}), { name: 'slow-defaults' });
    await collector.start();
  });

  after(async () => {
    if (collector) await collector.kill();
  });

  it('closes a silent connection and a stalled header after read_header_timeout (10 s)', async () => {
    const silent = new RawClient(port);
    const header = new RawClient(port);
    await Promise.all([silent.connected, header.connected]);
    header.socket.write('POST /v1/traces HTTP/1.1\r\nHost: a\r\n');
    await waitFor(() => silent.closed && header.closed, { timeoutMs: 15000, describe: 'the server to close both' });
    assertClosedBetween('silent and stalled header', [silent, header], (c) => c.connectedAt, 9000, 14000);
  });
});

describe('connection cap', () => {
  let collector;
  let ports;
  const CAP = 50;

  before(async () => {
    const [http, metrics] = await freePorts(2);
    ports = { http, metrics };
    collector = new Collector(
      config(http, metrics, { max_connections: CAP, read_header_timeout: '60s', read_timeout: '60s' }),
      { name: 'slow-cap' },
    );
    await collector.start();
  });

  after(async () => {
    if (collector) await collector.kill();
  });

  it('answers the excess with 503 and recovers when connections close', async () => {
    const held = [];
    for (let i = 0; i < CAP; i++) held.push(new RawClient(ports.http));
    await Promise.all(held.map((c) => c.connected));
    // Once the server has taken all of them, a new connection is refused.
    await waitFor(
      async () => {
        const probe = new RawClient(ports.http);
        await probe.connected;
        await waitFor(() => probe.closed || probe.received.length > 0, { timeoutMs: 2000 }).catch(() => {});
        probe.destroy();
        return probe.text().startsWith('HTTP/1.1 503');
      },
      { describe: 'the cap to be reached' },
    );

    const excess = [];
    for (let i = 0; i < 100; i++) excess.push(new RawClient(ports.http));
    await Promise.all(excess.map((c) => c.connected));
    for (const c of excess.slice(0, 50)) c.socket.write(EMPTY_EXPORT); // some send their request
    await waitFor(() => excess.every((c) => c.closed), { describe: 'every excess connection to be closed' });
    for (const c of excess) {
      assert.equal(
        c.text(),
        'HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 1\r\n' +
          'Connection: close\r\nContent-Length: 26\r\n\r\ntoo many open connections\n',
      );
    }
    // The cap is per listener: the internal metrics endpoint still answers.
    assert.ok((await scrapeMetrics(ports.metrics)).length > 0);

    // The SDK is refused too (503, Retry-After: 1) and retries; its retry succeeds once the
    // held connections are gone.
    const retries = [];
    diag.setLogger(
      {
        verbose: (m) => retries.push(m),
        debug: () => {},
        info: () => {},
        warn: () => {},
        error: () => {},
      },
      DiagLogLevel.VERBOSE,
    );
    try {
      const client = sdk(ports.http, 'capped');
      const exported = client.exportOne();
      await waitFor(() => retries.some((m) => m.startsWith('Scheduling export retry')), {
        describe: 'the SDK to be refused and schedule a retry',
      });
      for (const c of held) c.destroy();
      await exported;
      await client.shutdown();
      assert.equal(client.succeeded(), 1, JSON.stringify(client.results));
    } finally {
      diag.disable();
    }
    await waitFor(() => debugCounts(collector.logs()).spans === 1, { describe: 'the span downstream' });
    // New connections are served again.
    const after = new RawClient(ports.http);
    await after.connected;
    after.socket.write(EMPTY_EXPORT);
    await waitFor(() => after.responseAt !== null, { describe: 'a response after recovery' });
    assert.match(after.text(), /^HTTP\/1\.1 200 OK\r\n/);
    after.destroy();
  });
});

describe('open-file limit', () => {
  // "Max open files  <soft>  <hard>  files" from /proc/<pid>/limits.
  const nofile = (pid) => {
    const line = fs.readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const [soft, hard] = line.replace('Max open files', '').trim().split(/\s+/);
    return { soft, hard };
  };

  it('raises its soft limit to the hard one, as Go programs do, so the caps decide', async () => {
    const ours = nofile(process.pid);
    if (ours.hard !== 'unlimited' && Number(ours.hard) <= 256) return; // nothing to raise to
    const [http, metrics] = await freePorts(2);
    const file = writeConfig(makeTempDir(), 'nofile.yaml', config(http, metrics, {}));
    // Started with a soft limit of 256 (below the hard one).
    const child = trackChild(
      spawn('sh', ['-c', 'ulimit -Sn 256 && exec "$0" "$@"', SPROUT_BIN, 'collector', '--config', file], {
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    try {
      await waitFor(() => stderr.includes('Everything is ready'), { describe: () => `sprout to start: ${stderr}` });
      const limits = nofile(child.pid);
      assert.equal(limits.soft, limits.hard);
      assert.equal(limits.hard, ours.hard);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
