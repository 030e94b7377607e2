'use strict';
// The real OpenTelemetry JS SDK wired to one OTLP transport, with exporters wrapped so that the
// tests can see every export's result (the SDK itself only logs failures).

const { ExportResultCode } = require('@opentelemetry/core');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { AggregationTemporality, MeterProvider, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');
const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');

const TRANSPORTS = {
  grpc: {
    traces: require('@opentelemetry/exporter-trace-otlp-grpc').OTLPTraceExporter,
    metrics: require('@opentelemetry/exporter-metrics-otlp-grpc').OTLPMetricExporter,
    logs: require('@opentelemetry/exporter-logs-otlp-grpc').OTLPLogExporter,
    url: (ports) => () => `http://127.0.0.1:${ports.grpc}`,
  },
  'http/protobuf': {
    traces: require('@opentelemetry/exporter-trace-otlp-proto').OTLPTraceExporter,
    metrics: require('@opentelemetry/exporter-metrics-otlp-proto').OTLPMetricExporter,
    logs: require('@opentelemetry/exporter-logs-otlp-proto').OTLPLogExporter,
    url: (ports) => (signal) => `http://127.0.0.1:${ports.http}/v1/${signal}`,
  },
  'http/json': {
    traces: require('@opentelemetry/exporter-trace-otlp-http').OTLPTraceExporter,
    metrics: require('@opentelemetry/exporter-metrics-otlp-http').OTLPMetricExporter,
    logs: require('@opentelemetry/exporter-logs-otlp-http').OTLPLogExporter,
    url: (ports) => (signal) => `http://127.0.0.1:${ports.http}/v1/${signal}`,
  },
};

// Wraps an SDK exporter: every export's result lands in `results` (code 0 = success); with
// `keepItems`, `exports` also gets {items, result} per export, `items` a snapshot of what the SDK
// handed over (metrics: the ResourceMetrics' scopeMetrics).
// `gate.open = false` makes every later export a no-op that reports success (nothing is sent or
// recorded), e.g. to shut an SDK down without its final export.
function observed(exporter, { keepItems = false, gate = { open: true } } = {}) {
  const results = [];
  const exports = [];
  return {
    results,
    exports,
    exporter: new Proxy(exporter, {
      get(target, prop) {
        if (prop === 'export') {
          return (items, callback) => {
            if (!gate.open) {
              callback({ code: ExportResultCode.SUCCESS });
              return;
            }
            const entry = keepItems ? { items: snapshot(items), result: null, started: Date.now() } : null;
            target.export(items, (result) => {
              results.push(result);
              if (entry) {
                entry.result = result;
                exports.push(entry);
              }
              callback(result);
            });
          };
        }
        const v = target[prop];
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }),
  };
}

function snapshot(items) {
  if (items && items.scopeMetrics) return { scopeMetrics: structuredClone(items.scopeMetrics) };
  return items;
}

function failures(results) {
  return results
    .filter((r) => r.code !== ExportResultCode.SUCCESS)
    .map((r) => (r.error ? r.error.message : `code ${r.code}`));
}

// Providers for one transport and resource. `ports` = {grpc, http} of the receiving collector.
function sdkFor(transport, ports, resourceAttributes, { resourceSchemaUrl, spanLimits } = {}) {
  const t = TRANSPORTS[transport];
  if (!t) throw new Error(`unknown transport ${transport}`);
  const url = t.url(ports);
  const resource = resourceFromAttributes(resourceAttributes, resourceSchemaUrl ? { schemaUrl: resourceSchemaUrl } : undefined);

  const spans = observed(new t.traces({ url: url('traces'), timeoutMillis: 10000 }));
  const metrics = observed(new t.metrics({ url: url('metrics'), timeoutMillis: 10000 }));
  const logs = observed(new t.logs({ url: url('logs'), timeoutMillis: 10000 }));

  const tracerProvider = new BasicTracerProvider({
    resource,
    spanLimits,
    spanProcessors: [
      new BatchSpanProcessor(spans.exporter, { scheduledDelayMillis: 60000, maxExportBatchSize: 512 }),
    ],
  });
  const meterProvider = new MeterProvider({
    resource,
    readers: [new PeriodicExportingMetricReader({ exporter: metrics.exporter, exportIntervalMillis: 60000 })],
  });
  const loggerProvider = new LoggerProvider({
    resource,
    processors: [new BatchLogRecordProcessor({ exporter: logs.exporter, scheduledDelayMillis: 60000 })],
  });

  return {
    resource,
    tracerProvider,
    meterProvider,
    loggerProvider,
    results: { traces: spans.results, metrics: metrics.results, logs: logs.results },
    failures: () => ({
      traces: failures(spans.results),
      metrics: failures(metrics.results),
      logs: failures(logs.results),
    }),
    async shutdown() {
      await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown(), loggerProvider.shutdown()]);
    },
  };
}

// A MeterProvider alone, for the metrics exporters' tests: optional views and export interval
// (default: practically never, so that only meterProvider.forceFlush() exports); `exports` holds
// every export's data and result (see observed()).
function metricsSdkFor(transport, ports, resourceAttributes, { views = [], exportIntervalMillis = 2 ** 31 - 1 } = {}) {
  const t = TRANSPORTS[transport];
  if (!t) throw new Error(`unknown transport ${transport}`);
  const resource = resourceFromAttributes(resourceAttributes);
  // Cumulative whatever OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE says: remote write
  // drops delta sums and histograms.
  const exporter = new t.metrics({
    url: t.url(ports)('metrics'),
    timeoutMillis: 10000,
    temporalityPreference: AggregationTemporality.CUMULATIVE,
  });
  const gate = { open: true };
  const metrics = observed(exporter, { keepItems: true, gate });
  const meterProvider = new MeterProvider({
    resource,
    views,
    readers: [
      new PeriodicExportingMetricReader({
        exporter: metrics.exporter,
        exportIntervalMillis,
        exportTimeoutMillis: Math.min(exportIntervalMillis, 30000),
      }),
    ],
  });
  return {
    resource,
    meterProvider,
    exports: metrics.exports,
    results: metrics.results,
    failures: () => failures(metrics.results),
    // flush: false drops the final export a shutdown makes.
    shutdown({ flush = true } = {}) {
      if (!flush) gate.open = false;
      return meterProvider.shutdown();
    },
  };
}

// A tracer whose every span is exported as it ends (SimpleSpanProcessor: one span per export)
// through `exporter`, a real SDK trace exporter; `results` gets every export's result (see
// observed()). For the tests of one endpoint's transport (TLS, slow clients).
function simpleTracer(exporter, { serviceName, tracerName }) {
  const spans = observed(exporter);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new SimpleSpanProcessor(spans.exporter)],
  });
  return { provider, tracer: provider.getTracer(tracerName), results: spans.results };
}

// Ends `count` spans (`${spanName}-${i}`) on a simpleTracer(), then flushes and shuts it down;
// resolves to the export results, one per span. A failed export also rejects the flush: it is
// not thrown, the results say what happened to each span.
async function exportSpans(exporter, count, { serviceName, tracerName, spanName }) {
  const { provider, tracer, results } = simpleTracer(exporter, { serviceName, tracerName });
  for (let i = 0; i < count; i++) tracer.startSpan(`${spanName}-${i}`).end();
  await Promise.allSettled([provider.forceFlush()]);
  await Promise.allSettled([provider.shutdown()]);
  return results;
}

module.exports = { TRANSPORTS, exportSpans, metricsSdkFor, sdkFor, simpleTracer };
