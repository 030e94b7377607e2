'use strict';
// prometheusremotewrite → Debian's Prometheus (remote-write receiver, native histograms,
// exemplar storage): the JS SDK's counter, up-down counter, gauge, explicit and exponential
// histograms (over OTLP/gRPC) and a hand-built OTLP/HTTP request with exemplars go through
// `sprout collector`; Prometheus's own query API must then hold every series under the
// Collector's name and label set, each export's value at its time, target_info, the native
// histograms and the exemplars.

const { describe, it, before, after } = require('node:test');

const { Prometheus } = require('./lib/prom');
const {
  checkExemplars,
  checkFloatSamples,
  checkNativeHistograms,
  checkSeriesSet,
  checkTargetInfo,
  runWorkload,
} = require('./lib/prw');
const { makeTempDir } = require('./lib/sprout');

describe('prometheusremotewrite → Prometheus', () => {
  let prometheus;
  let run;

  before(async () => {
    const dir = makeTempDir('sprout-prw-prom-');
    prometheus = new Prometheus({ dir });
    await prometheus.start();
    run = await runWorkload({ peer: prometheus, transport: 'grpc', dir, nativeHistograms: true });
  });

  after(async () => {
    await Promise.all([run && run.collector.kill(), prometheus && prometheus.kill()]);
  });

  it('holds every series under its Prometheus name with exactly the expected labels', async () => {
    await checkSeriesSet(prometheus, run, { nativeHistograms: true });
  });

  it('holds each export of the counter, up-down counter, gauge and histograms at its time with its value', async () => {
    await checkFloatSamples(prometheus, run);
  });

  it('holds target_info with the resource attributes that are not job or instance', async () => {
    await checkTargetInfo(prometheus, run);
  });

  it('holds the exponential histograms as native histograms', async () => {
    await checkNativeHistograms(prometheus, run);
  });

  it('holds the exemplars of the counter, the histogram buckets and the native histogram', async () => {
    await checkExemplars(prometheus, run);
  });
});
