'use strict';
// A scrape target for a real Prometheus, on a free loopback port, whose every answer is known:
//
//   GET /openmetrics  OpenMetrics text (application/openmetrics-text) with exemplars: a counter
//                     whose exemplar carries a timestamp, and a classic histogram with exemplars
//                     on two buckets, one with a timestamp and one without (Prometheus then gives
//                     it the scrape's time).
//   GET /protobuf     the protobuf exposition format (varint-delimited io.prometheus.client
//                     MetricFamily messages, content type application/vnd.google.protobuf;
//                     proto=io.prometheus.client.MetricFamily; encoding=delimited), the only one
//                     Prometheus 2.42 reads native histograms from: two integer native histograms
//                     (schema 0 with negative, zero and positive buckets and a bucket that appears
//                     from the 5th scrape on; schema 3 with negative bucket indexes) and a gauge.
//
// Each scrape n (1, 2, ... per path) adds a fixed set of observations, so what an answer holds
// follows from n alone; the native histograms' buckets are worked out from the observed values
// (lib/native_histogram.js). Every protobuf answer is recorded (`served`) with its histograms,
// for the tests to compare with what the stores hold.
//
// The exposition messages are declared below from the public protobuf exposition format (field
// numbers are the wire).

const http = require('node:http');
const protobuf = require('protobufjs');

const { nativeHistogram } = require('./native_histogram');
const { freePort } = require('./sprout');

const root = protobuf.parse(
  `syntax = "proto3";
   package sprout_e2e.exposition;
   message LabelPair { string name = 1; string value = 2; }
   enum MetricType { COUNTER = 0; GAUGE = 1; SUMMARY = 2; UNTYPED = 3; HISTOGRAM = 4; GAUGE_HISTOGRAM = 5; }
   message Gauge { double value = 1; }
   message BucketSpan { sint32 offset = 1; uint32 length = 2; }
   message Histogram {
     uint64 sample_count = 1;
     double sample_sum = 2;
     sint32 schema = 5;
     double zero_threshold = 6;
     uint64 zero_count = 7;
     repeated BucketSpan negative_span = 9;
     repeated sint64 negative_delta = 10;
     repeated BucketSpan positive_span = 12;
     repeated sint64 positive_delta = 13;
   }
   message Metric {
     repeated LabelPair label = 1;
     Gauge gauge = 2;
     Histogram histogram = 7;
   }
   message MetricFamily {
     string name = 1;
     string help = 2;
     MetricType type = 3;
     repeated Metric metric = 4;
   }`,
  { keepCase: true },
).root;
const MetricFamily = root.lookupType('sprout_e2e.exposition.MetricFamily');

const PROTOBUF_CONTENT_TYPE =
  'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';
const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

// ---------------------------------------------------------------------------------------------
// Native histograms

// What each scrape adds. REQUEST_SIZES: schema 0, zero threshold 0.25: buckets (1,2], (2,4],
// (4,8], the negative (-4,-2], the zero bucket, and from scrape 5 on (512,1024] (a new span).
// PAYLOAD_RATIOS: schema 3, zero threshold 2^-10: buckets around 1 with negative indexes.
const REQUEST_SIZES = (n) => [1.5, 3, 3, 7, -3, 0.1, ...(n >= 5 ? [700] : [])];
const PAYLOAD_RATIOS = () => [1.1, 1.3, 2.5, 0.7, 0.7];

const NATIVE = [
  { name: 'shop_request_size_bytes', help: 'Request sizes.', schema: 0, zeroThreshold: 0.25, perScrape: REQUEST_SIZES },
  { name: 'shop_payload_ratio', help: 'Payload ratios.', schema: 3, zeroThreshold: 2 ** -10, perScrape: PAYLOAD_RATIOS },
];

// ---------------------------------------------------------------------------------------------
// OpenMetrics

// The exemplars' trace and span IDs of scrape n (lowercase hex, as tracing SDKs write them).
const hexId = (n, bytes, salt) => (BigInt(n) * 0x9e3779b97f4a7c15n + BigInt(salt)).toString(16).padStart(bytes * 2, '0').slice(-bytes * 2);

// Seconds with milliseconds, as OpenMetrics timestamps are written.
const omTime = (ms) => (ms / 1000).toFixed(3);

function openMetricsText(n, nowMs) {
  const latencyBounds = ['0.1', '1', '+Inf'];
  const perScrape = [0.05, 0.5, 3.2]; // one observation per bucket each scrape
  return [
    '# TYPE shop_orders counter',
    '# HELP shop_orders Orders placed.',
    `shop_orders_total{channel="web"} ${n * 3} # {trace_id="${hexId(n, 16, 1)}",span_id="${hexId(n, 8, 2)}"} ${n % 4 + 1} ${omTime(nowMs)}`,
    '# TYPE shop_latency_seconds histogram',
    '# HELP shop_latency_seconds Request latency.',
    ...latencyBounds.map((le, b) => {
      const line = `shop_latency_seconds_bucket{le="${le}"} ${n * (b + 1)}`;
      if (le === '0.1') return `${line} # {trace_id="${hexId(n, 16, 3)}"} ${perScrape[0]} ${omTime(nowMs)}`;
      if (le === '+Inf') return `${line} # {trace_id="${hexId(n, 16, 4)}",route="/cart"} ${perScrape[2]}`; // no timestamp
      return line;
    }),
    `shop_latency_seconds_sum ${(n * perScrape.reduce((a, b) => a + b, 0)).toFixed(2)}`,
    `shop_latency_seconds_count ${n * 3}`,
    '# EOF',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// The server

class ScrapeTarget {
  constructor() {
    this.port = null;
    this.server = null;
    this.scrapes = { openmetrics: 0, protobuf: 0 };
    // protobuf answers: [{n, atMs, histograms: {name: nativeHistogram(...)}}]
    this.served = [];
    this.values = Object.fromEntries(NATIVE.map((h) => [h.name, []]));
    this.accept = []; // the Accept headers Prometheus sent
  }

  get address() {
    return `127.0.0.1:${this.port}`;
  }

  async start() {
    this.port = await freePort();
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise((resolve, reject) => {
      this.server.on('error', reject);
      this.server.listen(this.port, '127.0.0.1', resolve);
    });
    return this;
  }

  handle(req, res) {
    this.accept.push(req.headers.accept || '');
    if (req.url === '/openmetrics') {
      const n = ++this.scrapes.openmetrics;
      res.writeHead(200, { 'Content-Type': OPENMETRICS_CONTENT_TYPE });
      res.end(openMetricsText(n, Date.now()));
      return;
    }
    if (req.url === '/protobuf') {
      const n = ++this.scrapes.protobuf;
      const histograms = {};
      const families = NATIVE.map((h) => {
        this.values[h.name].push(...h.perScrape(n));
        const nh = nativeHistogram(this.values[h.name], h.schema, h.zeroThreshold);
        histograms[h.name] = nh;
        return {
          name: h.name,
          help: h.help,
          type: 4, // HISTOGRAM
          metric: [
            {
              histogram: {
                sample_count: nh.count,
                sample_sum: nh.sum,
                schema: nh.schema,
                zero_threshold: nh.zeroThreshold,
                zero_count: nh.zeroCount,
                negative_span: nh.negativeSpans,
                negative_delta: nh.negativeDeltas,
                positive_span: nh.positiveSpans,
                positive_delta: nh.positiveDeltas,
              },
            },
          ],
        };
      });
      families.push({ name: 'shop_queue_depth', help: 'Queued jobs.', type: 1, metric: [{ gauge: { value: n % 7 } }] });
      this.served.push({ n, atMs: Date.now(), histograms });
      const body = Buffer.concat(families.map((f) => MetricFamily.encodeDelimited(MetricFamily.fromObject(f)).finish()));
      res.writeHead(200, { 'Content-Type': PROTOBUF_CONTENT_TYPE });
      res.end(body);
      return;
    }
    res.writeHead(404);
    res.end('not found\n');
  }

  // The served native histogram `name` whose count is `count` (each scrape adds observations, so
  // the count names the scrape).
  servedWithCount(name, count) {
    const s = this.served.find((x) => x.histograms[name].count === count);
    return s ? s.histograms[name] : undefined;
  }

  async stop() {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
    this.server = null;
  }
}

module.exports = { NATIVE, ScrapeTarget };
