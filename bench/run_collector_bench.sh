#!/usr/bin/env bash
# Collector benchmark: OTLP/gRPC → sprout (otlp receiver → otlp exporter) → sink.
#
# The collector under test is pinned to CPU 0; the load generator and the sink share CPU 1.
# Reports (1) CPU% of one core and RSS of the collector at a fixed 10k spans/s, and (2) spans/s
# at saturation, normalised per core of collector CPU.
#
#   bench/run_collector_bench.sh [build-dir]
#   env: RATE_DURATION (30), REPEAT (5), SAT_DURATION (20), ATTRIBUTES (8), CONFIG,
#        LOADGEN_EXTRA (more sprout-loadgen flags, e.g. "--health-every 10" for the seed config)
#   The seed's traces pipeline: CONFIG=bench/configs/seed-traces.yaml LOADGEN_EXTRA="--health-every 10"
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
source bench/lib.sh
CONFIG=${CONFIG:-bench/configs/otlp-to-otlp.yaml}
RATE_DURATION=${RATE_DURATION:-30}
REPEAT=${REPEAT:-5}
SAT_DURATION=${SAT_DURATION:-20}
ATTRIBUTES=${ATTRIBUTES:-8}   # extra string attributes per span (plus two integer ones)
export BENCH_RECEIVER_PORT=${BENCH_RECEIVER_PORT:-24317}
export BENCH_SINK_PORT=${BENCH_SINK_PORT:-24399}
export BENCH_METRICS_PORT=${BENCH_METRICS_PORT:-24888}

taskset -c "$CPU_LOAD" "$BIN/sprout-sink" --endpoint "localhost:$BENCH_SINK_PORT" 2>"$WORK/sink.log" &
PIDS+=($!)
start_collector "$CONFIG"

echo "== fixed rate: 10000 spans/s, 100 spans/request, $((ATTRIBUTES + 2)) attributes/span," \
     "${REPEAT} runs of ${RATE_DURATION}s (first 5s of each not measured)"
# shellcheck disable=SC2086
fixed_rate_runs "10k spans/s" --rate 10000 --batch 100 --concurrency 1 --attributes "$ATTRIBUTES" \
  ${LOADGEN_EXTRA:-}

echo "== saturation: flat out, 4 senders, ${SAT_DURATION}s (first 3s not measured)"
# shellcheck disable=SC2086
saturation otelcol_receiver_accepted_spans_total spans --batch 100 --concurrency 4 \
  --attributes "$ATTRIBUTES" ${LOADGEN_EXTRA:-}
