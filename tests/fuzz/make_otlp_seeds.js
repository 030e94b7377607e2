// Writes the hand-built seed inputs of the OTLP fuzzers' committed corpora (src/otlp/corpus/):
// one request per signal using every kind of field. Run from anywhere after `make deps`:
//   node tests/fuzz/make_otlp_seeds.js
const fs = require('node:fs');
const path = require('node:path');
const protobuf = require(path.join(__dirname, '../e2e/node_modules/protobufjs'));
const PROTO_ROOT = path.join(__dirname, '../../proto');
const root = new protobuf.Root();
root.resolvePath = (o, t) => t.startsWith('google/protobuf/') ? t : path.join(PROTO_ROOT, t);
root.loadSync(['opentelemetry/proto/collector/trace/v1/trace_service.proto',
  'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
  'opentelemetry/proto/collector/logs/v1/logs_service.proto'], { keepCase: false });
const T = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
const M = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');
const L = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
const id16 = Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex');
const id8 = Buffer.from('0102030405060708', 'hex');
const attrs = [
  { key: 's', value: { stringValue: 'v' } }, { key: 'i', value: { intValue: 42 } },
  { key: 'd', value: { doubleValue: 1.5 } }, { key: 'b', value: { boolValue: true } },
  { key: 'a', value: { arrayValue: { values: [{ stringValue: 'x' }, { intValue: 1 }] } } },
  { key: 'k', value: { kvlistValue: { values: [{ key: 'n', value: { stringValue: 'y' } }] } } },
  { key: 'y', value: { bytesValue: Buffer.from([1, 2, 3]) } },
];
const resource = { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }], droppedAttributesCount: 1 };
const scope = { name: 'lib', version: '1.0', attributes: attrs.slice(0, 2) };
const traces = { resourceSpans: [{ resource, schemaUrl: 'https://x', scopeSpans: [{ scope, spans: [
  { traceId: id16, spanId: id8, parentSpanId: id8, traceState: 'a=b', name: 'GET /', kind: 2,
    startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000001000000000', attributes: attrs,
    events: [{ timeUnixNano: '1700000000500000000', name: 'ev', attributes: attrs.slice(0, 1) }],
    links: [{ traceId: id16, spanId: id8, traceState: 'c=d', attributes: attrs.slice(1, 2), flags: 256 }],
    status: { code: 2, message: 'boom' }, flags: 1, droppedAttributesCount: 2 },
  { traceId: id16, spanId: Buffer.from('1112131415161718', 'hex'), name: '/health', kind: 1,
    attributes: [{ key: 'http.target', value: { stringValue: '/health' } }] },
] }] }] };
const dp = (v) => ({ attributes: attrs.slice(0, 2), startTimeUnixNano: '1700000000000000000', timeUnixNano: '1700000010000000000', asDouble: v,
  exemplars: [{ timeUnixNano: '1700000005000000000', asDouble: 3, spanId: id8, traceId: id16, filteredAttributes: attrs.slice(0, 1) }] });
const metrics = { resourceMetrics: [{ resource, scopeMetrics: [{ scope, metrics: [
  { name: 'http.server.duration', unit: 'ms', description: 'd', histogram: { aggregationTemporality: 2, dataPoints: [
    { attributes: attrs.slice(0, 1), startTimeUnixNano: '1', timeUnixNano: '2', count: '3', sum: 6, bucketCounts: ['1', '1', '1'], explicitBounds: [1, 5], min: 1, max: 4 }] } },
  { name: 'requests', unit: '1', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [dp(5), { asInt: '7', timeUnixNano: '3' }] } },
  { name: 'temp', unit: 'Cel', gauge: { dataPoints: [dp(21.5), { asDouble: NaN, timeUnixNano: '4', flags: 1 }] } },
  { name: 'latency', exponentialHistogram: { aggregationTemporality: 2, dataPoints: [
    { timeUnixNano: '5', count: '4', sum: 10, scale: 2, zeroCount: '1', positive: { offset: -1, bucketCounts: ['1', '2'] }, negative: { offset: 0, bucketCounts: ['1'] } }] } },
  { name: 'rpc', summary: { dataPoints: [{ timeUnixNano: '6', count: '2', sum: 3, quantileValues: [{ quantile: 0.5, value: 1 }, { quantile: 0.99, value: 2 }] }] } },
] }] }] };
const logs = { resourceLogs: [{ resource, scopeLogs: [{ scope, logRecords: [
  { timeUnixNano: '1', observedTimeUnixNano: '2', severityNumber: 9, severityText: 'INFO', body: { stringValue: 'hello' }, attributes: attrs, traceId: id16, spanId: id8, flags: 1, eventName: 'e' },
  { severityNumber: 17, body: { kvlistValue: { values: [{ key: 'msg', value: { stringValue: 'x' } }] } } },
] }] }] };
const enc = (Type, data) => Buffer.from(Type.encode(Type.fromObject(data)).finish());
const out = (dir, name, buf) => { fs.mkdirSync(dir, { recursive: true }); fs.writeFileSync(path.join(dir, name), buf); };
const base = path.join(__dirname, '../../src/otlp/corpus');
const t = enc(T, traces), m = enc(M, metrics), l = enc(L, logs);
for (const [n, b] of [['traces', t], ['metrics', m], ['logs', l]]) out(`${base}/otlp_proto_fuzzer`, `seed-${n}.pb`, b);
// wire filter: first byte chooses what to drop.
for (const [n, b] of [['traces', t], ['logs', l]]) for (const k of [0, 1, 2, 0xff]) out(`${base}/otlp_wire_filter_fuzzer`, `seed-${n}-${k}.pb`, Buffer.concat([Buffer.from([k]), b]));
// JSON, in the OTLP/JSON form (hex IDs, enums as integers).
const toJson = (Type, data) => {
  const obj = Type.toObject(Type.fromObject(data), { longs: String, bytes: String, defaults: false });
  const fix = (o) => { if (Array.isArray(o)) return o.map(fix); if (o && typeof o === 'object') { for (const [k, v] of Object.entries(o)) {
    if (['traceId', 'spanId', 'parentSpanId'].includes(k)) o[k] = Buffer.from(v, 'base64').toString('hex'); else o[k] = fix(v); } } return o; };
  return JSON.stringify(fix(obj), (k, v) => (typeof v === 'number' && Number.isNaN(v)) ? 'NaN' : v);
};
// The JSON fuzzer takes the text as it is.
for (const [n, T2, d] of [['traces', T, traces], ['metrics', M, metrics], ['logs', L, logs]]) out(`${base}/otlp_json_fuzzer`, `seed-${n}.json`, toJson(T2, d));
console.log('ok');
