'use strict';
// The OTLP/HTTP receiver's answers to good and bad requests, byte for byte as the Collector's.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const zlib = require('node:zlib');

const { Collector, debugCounts, freePorts, metricValue, scrapeMetrics, waitFor } = require('./lib/sprout');
const { decodeStatus, decodeTraceResponse, encodeTraceRequest, traceRequestData, traceRequestJson } = require('./lib/proto');

let collector;
let base; // http://127.0.0.1:port
let metricsPort;
let sentSpans = 0; // spans in requests answered 200

before(async () => {
  const [http, metrics] = await freePorts(2);
  metricsPort = metrics;
  base = `http://127.0.0.1:${http}`;
  collector = new Collector(
    {
      receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${http}` } } } },
      exporters: { debug: { verbosity: 'basic' } },
      service: {
        telemetry: { metrics: { address: `127.0.0.1:${metrics}` } },
        // No logs pipeline: /v1/logs must not exist.
        pipelines: {
          traces: { receivers: ['otlp'], exporters: ['debug'] },
          metrics: { receivers: ['otlp'], exporters: ['debug'] },
        },
      },
    },
    { name: 'http-errors' },
  );
  await collector.start();
});

after(async () => {
  if (collector) await collector.kill();
});

async function post(path, body, headers) {
  const res = await fetch(base + path, { method: 'POST', body, headers });
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, bytes, text: bytes.toString('utf8') };
}

const mediaType = (res) => (res.headers.get('content-type') || '').split(';')[0].trim();

describe('OTLP/HTTP receiver errors', () => {
  it('answers a GET with 405 and the Collector text', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await fetch(`${base}/v1/traces`, { method });
      assert.equal(res.status, 405, `${method} /v1/traces`);
      assert.equal(mediaType(res), 'text/plain');
      assert.equal(await res.text(), '405 method not allowed, supported: [POST]');
    }
  });

  it('answers an unsupported media type with 415', async () => {
    const res = await post('/v1/traces', 'hello', { 'Content-Type': 'text/plain' });
    assert.equal(res.status, 415);
    assert.equal(mediaType(res), 'text/plain');
    assert.equal(res.text, '415 unsupported media type, supported: [application/json, application/x-protobuf]');
  });

  it('answers a corrupt protobuf body with 400 and a protobuf google.rpc.Status', async () => {
    // A length-delimited field 1 that claims 100 bytes and carries 3.
    const res = await post('/v1/traces', Buffer.from([0x0a, 0x64, 0x01, 0x02, 0x03]), {
      'Content-Type': 'application/x-protobuf',
    });
    assert.equal(res.status, 400);
    assert.equal(mediaType(res), 'application/x-protobuf');
    const status = decodeStatus(res.bytes);
    assert.equal(status.code, 3, 'INVALID_ARGUMENT');
    assert.ok(status.message.length > 0, 'the status carries a message');
  });

  it('answers invalid JSON with 400 and a JSON status', async () => {
    const res = await post('/v1/traces', '{"resourceSpans": [', { 'Content-Type': 'application/json' });
    assert.equal(res.status, 400);
    assert.equal(mediaType(res), 'application/json');
    const body = JSON.parse(res.text);
    assert.equal(body.code, 3);
    assert.equal(typeof body.message, 'string');
    assert.ok(body.message.length > 0);
  });

  it('refuses an unsupported Content-Encoding with 400', async () => {
    const json = await post('/v1/traces', '{}', { 'Content-Type': 'application/json', 'Content-Encoding': 'br' });
    assert.equal(json.status, 400);
    assert.equal(mediaType(json), 'application/json');
    assert.deepEqual(
      { code: JSON.parse(json.text).code, message: JSON.parse(json.text).message },
      { code: 3, message: 'unsupported Content-Encoding: br' },
    );

    const proto = await post('/v1/traces', encodeTraceRequest(traceRequestData(1)), {
      'Content-Type': 'application/x-protobuf',
      'Content-Encoding': 'br',
    });
    assert.equal(proto.status, 400);
    const status = decodeStatus(proto.bytes);
    assert.equal(status.code, 3);
    assert.equal(status.message, 'unsupported Content-Encoding: br');
  });

  it('answers a body that is not the gzip it claims to be with 400', async () => {
    const res = await post('/v1/traces', Buffer.from('definitely not gzip'), {
      'Content-Type': 'application/x-protobuf',
      'Content-Encoding': 'gzip',
    });
    assert.equal(res.status, 400);
    assert.equal(decodeStatus(res.bytes).code, 3);
  });

  it('answers unknown paths and signals without a pipeline with 404', async () => {
    const unknown = await post('/v1/nothing', '{}', { 'Content-Type': 'application/json' });
    assert.equal(unknown.status, 404, 'unknown path');
    assert.equal(unknown.text.trim(), '404 page not found');
    const logs = await post('/v1/logs', '{}', { 'Content-Type': 'application/json' });
    assert.equal(logs.status, 404, '/v1/logs without a logs pipeline');
    const metrics = await post('/v1/metrics', '{}', { 'Content-Type': 'application/json' });
    assert.equal(metrics.status, 200, '/v1/metrics has a pipeline');
  });
});

describe('OTLP/HTTP receiver successes', () => {
  it('accepts a gzip-compressed protobuf request', async () => {
    const body = zlib.gzipSync(encodeTraceRequest(traceRequestData(7)));
    const res = await post('/v1/traces', body, { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip' });
    assert.equal(res.status, 200, res.text);
    assert.equal(mediaType(res), 'application/x-protobuf');
    assert.deepEqual(decodeTraceResponse(res.bytes), {}, 'empty ExportTraceServiceResponse, no partial_success');
    sentSpans += 7;
  });

  it('accepts an uncompressed protobuf request', async () => {
    const res = await post('/v1/traces', encodeTraceRequest(traceRequestData(3)), { 'Content-Type': 'application/x-protobuf' });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(decodeTraceResponse(res.bytes), {});
    sentSpans += 3;
  });

  it('answers an empty JSON request with 200 {}', async () => {
    const res = await post('/v1/traces', '{}', { 'Content-Type': 'application/json' });
    assert.equal(res.status, 200);
    assert.equal(mediaType(res), 'application/json');
    assert.deepEqual(JSON.parse(res.text), {});
  });

  it('accepts a media type with parameters', async () => {
    const res = await post('/v1/traces', traceRequestJson(traceRequestData(5)), {
      'Content-Type': 'application/json; charset=utf-8',
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(mediaType(res), 'application/json');
    assert.deepEqual(JSON.parse(res.text), {});
    sentSpans += 5;
  });

  it('accepts gzip-compressed JSON', async () => {
    const res = await post('/v1/traces', zlib.gzipSync(traceRequestJson(traceRequestData(4))), {
      'Content-Type': 'application/json',
      'Content-Encoding': 'gzip',
    });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(JSON.parse(res.text), {});
    sentSpans += 4;
  });

  it('counts exactly the accepted spans in its internal metrics and passes them on', async () => {
    assert.equal(sentSpans, 19, 'all the sending tests above ran');
    const labels = { receiver: 'otlp', transport: 'http' };
    // The counters are updated before the response; the polling only absorbs scrape timing.
    let samples = [];
    await waitFor(
      async () => {
        samples = await scrapeMetrics(metricsPort);
        return metricValue(samples, 'otelcol_receiver_accepted_spans_total', labels) === sentSpans;
      },
      { timeoutMs: 3000 },
    ).catch(() => {});
    assert.equal(metricValue(samples, 'otelcol_receiver_accepted_spans_total', labels), sentSpans, 'accepted spans');
    const refused = metricValue(samples, 'otelcol_receiver_refused_spans_total', labels);
    assert.ok(refused === null || refused === 0, `no span was refused (got ${refused})`);
    const series = samples.find((s) => s.name === 'otelcol_receiver_accepted_spans_total');
    assert.equal(series.labels.service_name, 'sprout');
    assert.match(series.labels.service_instance_id, /^[0-9a-f-]{36}$/);

    // The debug exporter saw the same spans.
    await collector.waitForLogs((entries) => debugCounts(entries).spans === sentSpans, {
      timeoutMs: 5000,
      describe: `debug exporter lines adding up to ${sentSpans} spans`,
    });
  });
});

describe('OTLP/HTTP receiver with compression_algorithms: [gzip]', () => {
  let restricted;
  let restrictedBase;

  before(async () => {
    const [http, metrics] = await freePorts(2);
    restrictedBase = `http://127.0.0.1:${http}`;
    restricted = new Collector(
      {
        receivers: {
          otlp: { protocols: { http: { endpoint: `127.0.0.1:${http}`, compression_algorithms: ['gzip'] } } },
        },
        exporters: { debug: { verbosity: 'basic' } },
        service: {
          telemetry: { metrics: { address: `127.0.0.1:${metrics}` } },
          pipelines: { traces: { receivers: ['otlp'], exporters: ['debug'] } },
        },
      },
      { name: 'http-gzip-only' },
    );
    await restricted.start();
  });

  after(async () => {
    if (restricted) await restricted.kill();
  });

  it('refuses uncompressed and deflate bodies, accepts gzip', async () => {
    const body = encodeTraceRequest(traceRequestData(2));
    const headers = { 'content-type': 'application/x-protobuf' };
    let res = await fetch(`${restrictedBase}/v1/traces`, { method: 'POST', body, headers });
    assert.equal(res.status, 400);
    assert.equal(decodeStatus(Buffer.from(await res.arrayBuffer())).message, 'unsupported Content-Encoding: ');
    res = await fetch(`${restrictedBase}/v1/traces`, {
      method: 'POST', body, headers: { ...headers, 'content-encoding': 'deflate' },
    });
    assert.equal(res.status, 400);
    assert.equal(decodeStatus(Buffer.from(await res.arrayBuffer())).message, 'unsupported Content-Encoding: deflate');
    res = await fetch(`${restrictedBase}/v1/traces`, {
      method: 'POST', body: zlib.gzipSync(body), headers: { ...headers, 'content-encoding': 'gzip' },
    });
    assert.equal(res.status, 200);
  });
});
