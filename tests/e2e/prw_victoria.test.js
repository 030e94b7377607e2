'use strict';
// prometheusremotewrite → Debian's VictoriaMetrics 1.79 (which stores neither native histograms
// nor exemplars): the same workload as prw_prometheus.test.js, this time with the SDK over
// OTLP/HTTP; VictoriaMetrics's Prometheus-compatible API must hold every float series under the
// Collector's name and label set, each export's value at its time, and target_info.

const { describe, it, before, after } = require('node:test');

const { VictoriaMetrics } = require('./lib/prom');
const { checkFloatSamples, checkSeriesSet, checkTargetInfo, runWorkload } = require('./lib/prw');
const { makeTempDir } = require('./lib/sprout');

describe('prometheusremotewrite → VictoriaMetrics', () => {
  let vm;
  let run;

  before(async () => {
    const dir = makeTempDir('sprout-prw-vm-');
    vm = new VictoriaMetrics({ dir });
    await vm.start();
    run = await runWorkload({ peer: vm, transport: 'http/protobuf', dir, nativeHistograms: false });
  });

  after(async () => {
    await Promise.all([run && run.collector.kill(), vm && vm.kill()]);
  });

  it('holds every float series under its Prometheus name with exactly the expected labels', async () => {
    await checkSeriesSet(vm, run, { nativeHistograms: false });
  });

  it('holds each export of the counter, up-down counter, gauge and histograms at its time with its value', async () => {
    await checkFloatSamples(vm, run);
  });

  it('holds target_info with the resource attributes that are not job or instance', async () => {
    await checkTargetInfo(vm, run);
  });
});
