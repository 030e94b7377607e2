#!/usr/bin/env bash
# Collector benchmark: OTLP/gRPC → sprout (otlp receiver → otlp exporter) → sink.
#
# The collector under test is pinned to CPU 0; the load generator and the sink share CPU 1.
# Reports (1) CPU% of one core and RSS of the collector at a fixed 10k spans/s, and (2) spans/s
# at saturation, normalised per core of collector CPU.
#
#   bench/run_collector_bench.sh [build-dir]
#   env: RATE_DURATION (30), REPEAT (3), SAT_DURATION (20), ATTRIBUTES (8), CONFIG
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
BIN=$BUILD/bin
CONFIG=${CONFIG:-bench/configs/otlp-to-otlp.yaml}
RATE_DURATION=${RATE_DURATION:-30}
REPEAT=${REPEAT:-3}
ATTRIBUTES=${ATTRIBUTES:-8}   # extra string attributes per span (plus two integer ones)
SAT_DURATION=${SAT_DURATION:-20}
export BENCH_RECEIVER_PORT=${BENCH_RECEIVER_PORT:-24317}
export BENCH_SINK_PORT=${BENCH_SINK_PORT:-24399}
export BENCH_METRICS_PORT=${BENCH_METRICS_PORT:-24888}
CPU_COLLECTOR=${CPU_COLLECTOR:-0}
CPU_LOAD=${CPU_LOAD:-1}
TICKS=$(getconf CLK_TCK)
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
accepted() {
  curl -s "localhost:$BENCH_METRICS_PORT/metrics" |
    awk '/^otelcol_receiver_accepted_spans_total/ {s += $NF} END {print s + 0}'
}

taskset -c "$CPU_LOAD" "$BIN/sprout-sink" --endpoint "localhost:$BENCH_SINK_PORT" 2>"$WORK/sink.log" &
PIDS+=($!)
taskset -c "$CPU_COLLECTOR" "$BIN/sprout" collector --config "$CONFIG" 2>"$WORK/collector.log" &
COLLECTOR=$!
PIDS+=($COLLECTOR)
for _ in $(seq 100); do
  grep -q "Everything is ready" "$WORK/collector.log" && break
  sleep 0.1
done
grep -q "Everything is ready" "$WORK/collector.log" || { cat "$WORK/collector.log"; exit 1; }

# Measures the collector's CPU and RSS over a window of a running load.
measure() {  # $1 = seconds to measure; prints "cpu_percent avg_rss_mib max_rss_mib"
  local t0 c0 c1 t1 sum=0 n=0 max=0 r
  t0=$(date +%s.%N); c0=$(cpu_ticks "$COLLECTOR")
  for _ in $(seq $(( $1 * 2 ))); do
    sleep 0.5
    r=$(rss_kib "$COLLECTOR"); sum=$((sum + r)); n=$((n + 1)); [ "$r" -gt "$max" ] && max=$r
  done
  c1=$(cpu_ticks "$COLLECTOR"); t1=$(date +%s.%N)
  awk -v c=$((c1 - c0)) -v hz="$TICKS" -v t0="$t0" -v t1="$t1" -v s="$sum" -v n="$n" -v m="$max" \
    'BEGIN { printf "%.2f %.1f %.1f\n", 100 * c / hz / (t1 - t0), s / n / 1024, m / 1024 }'
}

echo "== fixed rate: 10000 spans/s, 100 spans/request, $((ATTRIBUTES + 2)) attributes/span," \
     "${REPEAT} runs of ${RATE_DURATION}s (first 5s of each not measured)"
RESULTS=()
for run in $(seq "$REPEAT"); do
  taskset -c "$CPU_LOAD" "$BIN/sprout-loadgen" --endpoint "localhost:$BENCH_RECEIVER_PORT" \
    --rate 10000 --duration "${RATE_DURATION}s" --batch 100 --concurrency 1 \
    --attributes "$ATTRIBUTES" >"$WORK/rate.json" &
  LOAD=$!
  sleep 5
  read -r CPU AVG_RSS MAX_RSS < <(measure $((RATE_DURATION - 7)))
  wait $LOAD
  grep -q '"failed_requests": 0' "$WORK/rate.json" || { echo "loadgen saw failures: $(cat "$WORK/rate.json")"; exit 1; }
  echo "run $run: collector CPU ${CPU}% of one core; RSS avg ${AVG_RSS} MiB, max ${MAX_RSS} MiB"
  RESULTS+=("$CPU $AVG_RSS $MAX_RSS")
done
printf '%s\n' "${RESULTS[@]}" | sort -n | awk -v n="$REPEAT" 'NR == int((n + 1) / 2) {
  printf "median: collector CPU %s%% of one core at 10k spans/s; RSS avg %s MiB, max %s MiB\n", $1, $2, $3 }'

echo "== saturation: flat out, 4 senders, ${SAT_DURATION}s (first 3s not measured)"
taskset -c "$CPU_LOAD" "$BIN/sprout-loadgen" --endpoint "localhost:$BENCH_RECEIVER_PORT" \
  --rate 0 --duration "${SAT_DURATION}s" --batch 100 --concurrency 4 \
  --attributes "$ATTRIBUTES" >"$WORK/sat.json" &
LOAD=$!
sleep 3
A0=$(accepted); T0=$(date +%s.%N)
read -r SCPU SAVG SMAX < <(measure $((SAT_DURATION - 5)))
A1=$(accepted); T1=$(date +%s.%N)
wait $LOAD
echo "loadgen: $(cat "$WORK/sat.json")"
awk -v a=$((A1 - A0)) -v t0="$T0" -v t1="$T1" -v cpu="$SCPU" -v rss="$SMAX" 'BEGIN {
  rate = a / (t1 - t0)
  printf "collector: %.0f spans/s at %.1f%% of one core => %.0f spans/s per core; max RSS %.1f MiB\n",
         rate, cpu, rate / (cpu / 100), rss }'
