#!/usr/bin/env bash
# Remote-write benchmark: OTLP/gRPC metrics → sprout (otlp receiver → prometheusremotewrite)
# → an HTTP sink answering 204 (so the backend's cost is not measured).
#
# Same set-up as run_collector_bench.sh: the collector on CPU 0, generator and sink on CPU 1.
# Reports CPU and RSS at 10k data points/s (the Go Collector testbed's Metric10kDPS scenario)
# and data points/s at saturation per core of collector CPU.
#
#   bench/run_prw_bench.sh [build-dir]
#   env: RATE_DURATION (30), REPEAT (5), SAT_DURATION (20), POINTS (100 per request),
#        CONFIG (bench/configs/otlp-to-prw.yaml; otlp-batch-prw.yaml puts the batch processor in;
#        otlp-to-prw-wal.yaml the exporter's write-ahead log, in BENCH_WAL_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
source bench/lib.sh
RATE_DURATION=${RATE_DURATION:-30}
REPEAT=${REPEAT:-5}
SAT_DURATION=${SAT_DURATION:-20}
POINTS=${POINTS:-100}  # data points per request at the fixed rate
export BENCH_RECEIVER_PORT=${BENCH_RECEIVER_PORT:-25317}
export BENCH_HTTP_SINK_PORT=${BENCH_HTTP_SINK_PORT:-25090}
export BENCH_SINK_PORT=${BENCH_SINK_PORT:-25399}
export BENCH_METRICS_PORT=${BENCH_METRICS_PORT:-25888}
export BENCH_WAL_DIR=${BENCH_WAL_DIR:-$WORK/wal}

taskset -c "$CPU_LOAD" "$BIN/sprout-sink" --endpoint "localhost:$BENCH_SINK_PORT" \
  --http-endpoint "localhost:$BENCH_HTTP_SINK_PORT" 2>"$WORK/sink.log" &
PIDS+=($!)
start_collector "${CONFIG:-bench/configs/otlp-to-prw.yaml}"

echo "== fixed rate: 10000 data points/s, ${POINTS} points/request (gauges and sums, 4 attributes each)," \
     "${REPEAT} runs of ${RATE_DURATION}s"
fixed_rate_runs "10k data points/s" --signal metrics --rate 10000 --batch "$POINTS" --concurrency 1

echo "== saturation: flat out, 4 senders, ${SAT_DURATION}s"
saturation otelcol_receiver_accepted_metric_points_total "data points" --signal metrics \
  --batch 1000 --concurrency 4

# With the WAL: what was appended to it and what was sent from it over the whole run.
if grep -q "wal:" "${CONFIG:-bench/configs/otlp-to-prw.yaml}"; then
  echo "WAL: $(accepted otelcol_exporter_prometheusremotewrite_wal_writes_total) requests appended," \
       "$(accepted otelcol_exporter_prometheusremotewrite_sent_batches_total) requests sent;" \
       "$(accepted otelcol_exporter_prometheusremotewrite_wal_size_bytes) bytes in the log at the end"
fi
