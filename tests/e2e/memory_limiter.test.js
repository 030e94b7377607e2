'use strict';
// memory_limiter under three times the load the pipeline can take. The pipeline (memory_limiter
// → batch → otlp exporter with a queue) feeds a deliberately slow backend (sprout-sink answering
// each call after 200 ms, two calls at a time: 10k spans/s). sprout-loadgen offers 30k spans/s
// for 15 s. Expected, as the Collector documents: the process's RSS stays within the configured
// limit + 10 %; clients get the retryable refusal (gRPC UNAVAILABLE "data refused due to high
// memory usage"); once the load stops, every span that was acknowledged reaches the backend.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { spawn } = require('node:child_process');

const { decodeStatus, encodeTraceRequest, traceRequestData } = require('./lib/proto');
const {
  Collector,
  SPROUT_SINK,
  freePorts,
  makeTempDir,
  metricValue,
  runLoadgen,
  scrapeMetrics,
  sleep,
  trackChild,
  waitFor,
} = require('./lib/sprout');

const LIMIT_MIB = 64;
const SPIKE_MIB = 12;
const SINK_DELAY_MS = 200;
const CONSUMERS = 2;
const BATCH = 1000;
const CAPACITY = (CONSUMERS * BATCH * 1000) / SINK_DELAY_MS; // spans/s the backend takes
const OFFERED = 3 * CAPACITY;
const LOAD_SECONDS = 15;

function rssBytes(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

// The sink: a child process that prints {"requests", "items"} on SIGTERM.
class Sink {
  constructor(port) {
    this.port = port;
    this.stdout = '';
    this.stderr = '';
    this.child = trackChild(
      spawn(SPROUT_SINK, ['--endpoint', `127.0.0.1:${port}`, '--delay', `${SINK_DELAY_MS}ms`, '--count-items', '--threads', '4'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    this.child.stdout.setEncoding('utf8').on('data', (d) => (this.stdout += d));
    this.child.stderr.setEncoding('utf8').on('data', (d) => (this.stderr += d));
    this.closed = new Promise((resolve) => this.child.on('close', resolve));
  }
  ready() {
    return waitFor(() => this.stderr.includes('sink listening'), { describe: 'sprout-sink to listen' });
  }
  async stop() {
    this.child.kill('SIGTERM');
    await this.closed;
    return JSON.parse(this.stdout.trim().split('\n').pop());
  }
}

describe('memory_limiter under three times the load the pipeline can take', () => {
  let sink;
  let collector;
  let ports;
  const rss = [];

  before(async () => {
    const [grpc, metrics, sinkPort] = await freePorts(3);
    ports = { grpc, metrics };
    sink = new Sink(sinkPort);
    await sink.ready();
    collector = new Collector(
      {
        receivers: { otlp: { protocols: { grpc: { endpoint: `127.0.0.1:${grpc}` } } } },
        processors: {
          memory_limiter: { check_interval: '100ms', limit_mib: LIMIT_MIB, spike_limit_mib: SPIKE_MIB },
          batch: { send_batch_size: BATCH, send_batch_max_size: BATCH },
        },
        exporters: {
          otlp: {
            endpoint: `127.0.0.1:${sinkPort}`,
            tls: { insecure: true },
            timeout: '30s',
            sending_queue: { num_consumers: CONSUMERS, queue_size: 1000000 },
          },
        },
        service: {
          telemetry: { metrics: { address: `127.0.0.1:${metrics}` } },
          pipelines: { traces: { receivers: ['otlp'], processors: ['memory_limiter', 'batch'], exporters: ['otlp'] } },
        },
      },
      { name: 'limited', dir: makeTempDir('sprout-memlimit-') },
    );
    await collector.start();
  });

  after(async () => {
    await collector.kill();
    if (sink) sink.child.kill('SIGKILL');
  });

  it('keeps RSS within the limit + 10 %, refuses with a retryable error, and delivers everything acknowledged', async (t) => {
    const pid = collector.child.pid;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        rss.push(rssBytes(pid));
        await sleep(50);
      }
    })();

    const report = await runLoadgen(
      [
        '--endpoint', `127.0.0.1:${ports.grpc}`,
        '--rate', String(OFFERED),
        '--duration', `${LOAD_SECONDS}s`,
        '--batch', '100',
        '--attributes', '8',
        '--concurrency', '4',
      ],
      { timeoutMs: (LOAD_SECONDS + 30) * 1000 },
    ).catch((err) => {
      sampling = false;
      throw err;
    });

    // The load really was three times the capacity, and it was turned away in part.
    const offeredRate = (report.acked_spans + report.failed_spans) / report.elapsed_seconds;
    assert.ok(offeredRate >= 2.7 * CAPACITY, `offered ${offeredRate.toFixed(0)} spans/s, capacity ${CAPACITY}`);
    assert.ok(report.failed_requests > 0, 'some requests were refused');
    assert.ok(report.acked_spans > 0, 'some requests were accepted');

    // Refusals are the memory limiter's retryable error: gRPC UNAVAILABLE (14).
    assert.match(report.stderr, /first failure: code 14: data refused due to high memory usage/);
    const samples = await scrapeMetrics(ports.metrics);
    const refused = metricValue(samples, 'otelcol_processor_refused_spans_total');
    assert.ok(refused > 0, 'the memory limiter refused spans');

    // Drain: wait until the backend has everything the collector accepted.
    await waitFor(
      async () => {
        const s = await scrapeMetrics(ports.metrics);
        const sent = metricValue(s, 'otelcol_exporter_sent_spans_total') || 0;
        return sent >= report.acked_spans;
      },
      { timeoutMs: 120000, intervalMs: 500, describe: `${report.acked_spans} spans sent to the backend` },
    );
    sampling = false;
    await sampler;

    const maxRss = Math.max(...rss);
    t.diagnostic(
      `offered ${offeredRate.toFixed(0)} spans/s (capacity ${CAPACITY}); acked ${report.acked_spans}, ` +
        `refused ${report.failed_spans}; max RSS ${(maxRss / 1048576).toFixed(1)} MiB (limit ${LIMIT_MIB})`,
    );
    const limit = LIMIT_MIB * 1024 * 1024;
    assert.ok(
      maxRss <= limit * 1.1,
      `max RSS ${(maxRss / 1048576).toFixed(1)} MiB above ${LIMIT_MIB} MiB + 10 %`,
    );
    // The limiter let memory get near its soft limit (the test did load it).
    assert.ok(maxRss >= (LIMIT_MIB - SPIKE_MIB) * 1024 * 1024 * 0.9, `max RSS only ${(maxRss / 1048576).toFixed(1)} MiB`);

    const after = await scrapeMetrics(ports.metrics);
    assert.equal(metricValue(after, 'otelcol_exporter_send_failed_spans_total') || 0, 0);
    assert.equal(metricValue(after, 'otelcol_exporter_enqueue_failed_spans_total') || 0, 0);
    assert.equal(await collector.stop(), 0);
    const received = await sink.stop();
    assert.equal(received.items, report.acked_spans, 'every acknowledged span reached the backend');
  });
});

describe('memory_limiter refusing', () => {
  let collector;
  let ports;

  before(async () => {
    const [grpc, http, metrics] = await freePorts(3);
    ports = { grpc, http, metrics };
    // A 1 MiB limit: any process is above it, so every request is refused.
    collector = new Collector(
      {
        receivers: {
          otlp: { protocols: { grpc: { endpoint: `127.0.0.1:${grpc}` }, http: { endpoint: `127.0.0.1:${http}` } } },
        },
        processors: { memory_limiter: { check_interval: '1s', limit_mib: 1 } },
        exporters: { debug: {} },
        service: {
          telemetry: { metrics: { address: `127.0.0.1:${metrics}` } },
          pipelines: { traces: { receivers: ['otlp'], processors: ['memory_limiter'], exporters: ['debug'] } },
        },
      },
      { name: 'refusing', dir: makeTempDir('sprout-memlimit-refuse-') },
    );
    await collector.start();
  });

  after(() => collector.kill());

  it('answers OTLP/HTTP with 503 and no Retry-After, and OTLP/gRPC with UNAVAILABLE', async () => {
    const res = await fetch(`http://127.0.0.1:${ports.http}/v1/traces`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-protobuf' },
      body: encodeTraceRequest(traceRequestData(3)),
    });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), null);
    const status = decodeStatus(Buffer.from(await res.arrayBuffer()));
    assert.equal(status.code, 14);
    assert.equal(status.message, 'data refused due to high memory usage');

    const report = await runLoadgen(['--endpoint', `127.0.0.1:${ports.grpc}`, '--rate', '100', '--duration', '1s', '--batch', '10']);
    assert.equal(report.acked_spans, 0);
    assert.ok(report.failed_requests > 0);
    assert.match(report.stderr, /first failure: code 14: data refused due to high memory usage/);

    await collector.waitForLogs((logs) => logs.some((e) => e.message === 'Memory usage is above soft limit. Refusing data.'), {
      describe: 'the refusal log line',
    });
    const samples = await scrapeMetrics(ports.metrics);
    assert.ok(metricValue(samples, 'otelcol_processor_refused_spans_total') >= 3 + report.failed_spans);
  });
});
