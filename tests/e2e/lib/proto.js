'use strict';
// Builds and reads the protobuf messages the HTTP tests handle by hand, with protobufjs loading
// the repository's own schemas (proto/); the round-trip tests use the SDK's own encoders.
// Also: OTLP metrics requests with exemplars (the JS SDK records none) and Prometheus remote-write
// WriteRequests (to check the Prometheus/VictoriaMetrics harness without sprout).

const crypto = require('node:crypto');
const path = require('node:path');
const protobuf = require('protobufjs');

const PROTO_ROOT = path.resolve(__dirname, '../../../proto');
const root = new protobuf.Root();
root.resolvePath = (origin, target) =>
  target.startsWith('google/protobuf/') ? target : path.join(PROTO_ROOT, target);
root.loadSync(
  [
    'opentelemetry/proto/collector/trace/v1/trace_service.proto',
    'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
    'prometheus/remote.proto',
    'google/rpc/status.proto',
  ],
  { keepCase: false },
);
const ExportTraceServiceRequest = root.lookupType(
  'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
const ExportTraceServiceResponse = root.lookupType(
  'opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
const Status = root.lookupType('google.rpc.Status');
const ExportMetricsServiceRequest = root.lookupType(
  'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');
const WriteRequest = root.lookupType('prometheus.WriteRequest');

// A request with `spanCount` spans under one resource, as plain data.
function traceRequestData(spanCount, { service = 'e2e-http', prefix = 'span' } = {}) {
  const now = BigInt(Date.now()) * 1000000n;
  const spans = [];
  for (let i = 0; i < spanCount; i++) {
    spans.push({
      traceId: crypto.randomBytes(16),
      spanId: crypto.randomBytes(8),
      name: `${prefix}-${i}`,
      kind: 2,
      startTimeUnixNano: (now - 1000n).toString(),
      endTimeUnixNano: now.toString(),
      attributes: [{ key: 'i', value: { intValue: i } }],
    });
  }
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [{ scope: { name: 'e2e-http', version: '1' }, spans }],
      },
    ],
  };
}

function encodeTraceRequest(data) {
  return Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(data)).finish());
}

// The same request in OTLP/JSON: hex IDs, lowerCamelCase fields, int64 as strings.
function traceRequestJson(data) {
  return JSON.stringify({
    resourceSpans: data.resourceSpans.map((rs) => ({
      resource: rs.resource,
      scopeSpans: rs.scopeSpans.map((ss) => ({
        scope: ss.scope,
        spans: ss.spans.map((s) => ({
          ...s,
          traceId: s.traceId.toString('hex'),
          spanId: s.spanId.toString('hex'),
          attributes: s.attributes.map((kv) => ({ key: kv.key, value: { intValue: String(kv.value.intValue) } })),
        })),
      })),
    })),
  });
}

// OTLP metrics request from plain data (protobufjs field names: camelCase; bytes as Buffers;
// int64/fixed64 as decimal strings or numbers).
function encodeMetricsRequest(data) {
  return Buffer.from(ExportMetricsServiceRequest.encode(ExportMetricsServiceRequest.fromObject(data)).finish());
}

// prometheus.WriteRequest from plain data ({timeseries: [{labels, samples, exemplars, histograms}]}),
// not yet compressed.
function encodeWriteRequest(data) {
  return Buffer.from(WriteRequest.encode(WriteRequest.fromObject(data)).finish());
}

function decodeWriteRequest(buf) {
  return WriteRequest.toObject(WriteRequest.decode(buf), { longs: Number, defaults: false });
}

function decodeStatus(buf) {
  return Status.toObject(Status.decode(buf), { defaults: true });
}

function decodeTraceResponse(buf) {
  return ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(buf), { defaults: false });
}

module.exports = {
  decodeStatus,
  decodeTraceResponse,
  decodeWriteRequest,
  encodeMetricsRequest,
  encodeTraceRequest,
  encodeWriteRequest,
  traceRequestData,
  traceRequestJson,
};
