'use strict';
// Decompression bombs against the otlp receiver: a 3 MiB gzip message of zeros (3 GiB once
// inflated) took gRPC C++ 1.51, which checks max_recv_msg_size on the compressed length only,
// from 23 MiB to 3.9 GiB of RSS. Each bomb here — gzip, deflate, zstd and snappy over gRPC (sent
// by hand over HTTP/2: the 5-byte prefix with the compressed flag, grpc-encoding, te: trailers),
// and gzip, deflate, zstd, snappy, x-snappy-framed over OTLP/HTTP — must be refused with the
// Collector's answer while the process's peak RSS (VmHWM) stays under 100 MiB; well-formed
// compressed requests in the same encodings are accepted, before and after the bombs.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const zlib = require('node:zlib');

const { Collector, freePorts, metricValue, scrapeMetrics } = require('./lib/sprout');
const { decodeStatus, encodeTraceRequest, traceRequestData } = require('./lib/proto');
const { grpcUnaryRaw, GrpcStatus } = require('./lib/grpc_raw');
const bombs = require('./lib/bombs');

const TRACES = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const PEAK_LIMIT_MIB = 100;

function peakRssMiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

let collector;
let ports;
let gz; // {gzip, zlib}: 3 GiB of zeros each
let expectedSpans = 0;

before(async () => {
  const [grpc, http, metrics] = await freePorts(3);
  ports = { grpc, http, metrics };
  collector = new Collector(
    {
      receivers: {
        otlp: {
          protocols: { grpc: { endpoint: `127.0.0.1:${grpc}` }, http: { endpoint: `127.0.0.1:${http}` } },
        },
      },
      exporters: { debug: { verbosity: 'basic' } },
      service: {
        telemetry: { metrics: { address: `127.0.0.1:${metrics}` } },
        pipelines: { traces: { receivers: ['otlp'], exporters: ['debug'] } },
      },
    },
    { name: 'bombs' },
  );
  [gz] = await Promise.all([bombs.deflateBombs(3 * bombs.GiB), collector.start()]);
});

after(async () => {
  if (collector) await collector.kill();
});

const grpcCall = (message, encoding, options = {}) =>
  grpcUnaryRaw(`http://127.0.0.1:${ports.grpc}`, TRACES, message, { encoding, timeoutMs: 60000, ...options });

async function httpPost(body, contentEncoding) {
  const headers = { 'Content-Type': 'application/x-protobuf' };
  if (contentEncoding) headers['Content-Encoding'] = contentEncoding;
  const res = await fetch(`http://127.0.0.1:${ports.http}/v1/traces`, { method: 'POST', body, headers });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
}

// Well-formed requests in every encoding: each must be accepted and its spans counted.
async function sendGoodRequests(label) {
  const request = encodeTraceRequest(traceRequestData(3, { service: `good-${label}` }));
  const grpcEncodings = {
    gzip: zlib.gzipSync(request),
    deflate: zlib.deflateSync(request),
    zstd: bombs.zstdRaw(request),
    snappy: bombs.snappyFramed(request),
  };
  for (const [encoding, body] of Object.entries(grpcEncodings)) {
    const res = await grpcCall(body, encoding);
    assert.equal(res.status, GrpcStatus.OK, `${label}: gRPC ${encoding}: ${res.message}`);
    expectedSpans += 3;
  }
  const httpEncodings = {
    gzip: zlib.gzipSync(request),
    deflate: zlib.deflateSync(request),
    zstd: bombs.zstdRaw(request),
    'x-snappy-framed': bombs.snappyFramed(request),
  };
  for (const [encoding, body] of Object.entries(httpEncodings)) {
    const res = await httpPost(body, encoding);
    assert.equal(res.status, 200, `${label}: HTTP ${encoding}`);
    expectedSpans += 3;
  }
}

describe('decompression bombs', () => {
  it('well-formed compressed requests are accepted (gRPC gzip, deflate, zstd, snappy; HTTP too)', async () => {
    await sendGoodRequests('before');
  });

  it('refuses gRPC bombs with RESOURCE_EXHAUSTED and stays under 100 MiB', async (t) => {
    const grpcBombs = {
      gzip: gz.gzip,
      deflate: gz.zlib,
      zstd: bombs.zstdBomb(3 * bombs.GiB),
      snappy: bombs.snappyFramedBomb(1000),
    };
    for (const [encoding, body] of Object.entries(grpcBombs)) {
      assert.ok(body.length <= 4 * bombs.MiB, `${encoding} bomb fits the 4 MiB limit on the wire`);
      const res = await grpcCall(body, encoding);
      assert.equal(res.status, GrpcStatus.RESOURCE_EXHAUSTED, `gRPC ${encoding}: ${res.status} ${res.message}`);
      // grpc-go's words, as the Collector's gRPC server answers.
      assert.equal(res.message, 'grpc: received message after decompression larger than max 4194304', `gRPC ${encoding}`);
      const peak = peakRssMiB(collector.child.pid);
      t.diagnostic(`after the gRPC ${encoding} bomb (${body.length} bytes): peak RSS ${peak.toFixed(1)} MiB`);
      assert.ok(peak < PEAK_LIMIT_MIB, `gRPC ${encoding}: peak RSS ${peak.toFixed(1)} MiB`);
    }
  });

  it('refuses HTTP bombs with 400 "http: request body too large" and stays under 100 MiB', async (t) => {
    const httpBombs = {
      gzip: gz.gzip,
      deflate: gz.zlib,
      zstd: bombs.zstdBomb(3 * bombs.GiB),
      snappy: bombs.snappyBlockBomb(64 * bombs.MiB),
      'x-snappy-framed': bombs.snappyFramedBomb(1000),
    };
    for (const [encoding, body] of Object.entries(httpBombs)) {
      const res = await httpPost(body, encoding);
      // confighttp reads the decoded body through http.MaxBytesReader; the receiver answers its
      // error with 400 and a google.rpc.Status in the request's encoding.
      assert.equal(res.status, 400, `HTTP ${encoding}`);
      const status = decodeStatus(res.bytes);
      assert.equal(status.code, 3, `HTTP ${encoding}: InvalidArgument`);
      assert.equal(status.message, 'http: request body too large', `HTTP ${encoding}`);
      const peak = peakRssMiB(collector.child.pid);
      t.diagnostic(`after the HTTP ${encoding} bomb (${body.length} bytes): peak RSS ${peak.toFixed(1)} MiB`);
      assert.ok(peak < PEAK_LIMIT_MIB, `HTTP ${encoding}: peak RSS ${peak.toFixed(1)} MiB`);
    }
  });

  it('keeps serving: well-formed compressed requests still succeed, and nothing of a bomb reached the pipeline', async () => {
    await sendGoodRequests('after');
    const samples = await scrapeMetrics(ports.metrics);
    const accepted =
      metricValue(samples, 'otelcol_receiver_accepted_spans_total', { transport: 'grpc' }) +
      metricValue(samples, 'otelcol_receiver_accepted_spans_total', { transport: 'http' });
    assert.equal(accepted, expectedSpans);
    assert.ok(collector.running, 'the collector is still running');
  });
});
