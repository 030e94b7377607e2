'use strict';
// The few protobuf messages the HTTP tests build or read by hand, as a subset of the public
// OTLP and google.rpc schemas (same field numbers), compiled by protobufjs at load time.

const crypto = require('node:crypto');
const protobuf = require('protobufjs');

const SCHEMA = `
syntax = "proto3";
package e2e;

message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
  }
}
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message InstrumentationScope { string name = 1; string version = 2; }
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
}
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2; }
message ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }

message Any { string type_url = 1; bytes value = 2; }
message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
`;

const root = protobuf.parse(SCHEMA, { keepCase: false }).root;
const ExportTraceServiceRequest = root.lookupType('e2e.ExportTraceServiceRequest');
const ExportTraceServiceResponse = root.lookupType('e2e.ExportTraceServiceResponse');
const Status = root.lookupType('e2e.Status');

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

function decodeStatus(buf) {
  return Status.toObject(Status.decode(buf), { defaults: true });
}

function decodeTraceResponse(buf) {
  return ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(buf), { defaults: false });
}

module.exports = { decodeStatus, decodeTraceResponse, encodeTraceRequest, traceRequestData, traceRequestJson };
