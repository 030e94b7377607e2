#!/usr/bin/env bash
# `sprout all` under load (issue 14's target: ≤ 10 % of one core at 10k spans/s + 10k samples/s):
# a fresh `sprout all` (default pipeline otlp → memory_limiter → the stores, generator on, empty
# data directory) pinned to CPU_COLLECTOR gets, from CPU_LOAD:
#   - `sprout demo --rate DEMO_RATE` over OTLP/gRPC: the shop's traces (≈ 10 spans each, so the
#     default 1000 traces/s is ≈ 10k spans/s) and its OTLP metrics every DEMO_METRICS_INTERVAL;
#   - `sprout-rw-loadgen --realtime --series RW_SERIES --interval 1` to /api/v1/push: a live
#     node_exporter-like remote-write stream of RW_SERIES samples/s (a Prometheus relaying, as the
#     seed's does).
# After WARMUP seconds, sprout's CPU (utime+stime from /proc) and RSS are read over MEASURE
# seconds, with the rates it actually took in (its own counters: spans accepted by the receiver,
# samples ingested by the metrics store — remote write, the demo's OTLP metrics and the generator's
# series together). For comparison, Debian's `prometheus` (remote-write receiver on, same pinning)
# is given the same remote-write stream alone and measured the same way.
#
#   cmake --build build -j2 --target sprout sprout-rw-loadgen && bench/run_all_load.sh [build-dir]
#   env: DEMO_RATE (1000), DEMO_METRICS_INTERVAL (10s), RW_SERIES (10000), WARMUP (20),
#        MEASURE (60), PEER=0 to skip Prometheus
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
source bench/lib.sh
DEMO_RATE=${DEMO_RATE:-1000}
DEMO_METRICS_INTERVAL=${DEMO_METRICS_INTERVAL:-10s}
RW_SERIES=${RW_SERIES:-10000}
WARMUP=${WARMUP:-20}
MEASURE=${MEASURE:-60}
PEER=${PEER:-1}
SPROUT_BIN=${SPROUT_BIN:-$BIN/sprout}
LOADGEN=$BIN/sprout-rw-loadgen
for b in "$SPROUT_BIN" "$LOADGEN"; do
  [ -x "$b" ] || { echo "missing $b: cmake --build $BUILD -j2 --target sprout sprout-rw-loadgen" >&2; exit 1; }
done

# counter <url> <metric>: a counter of a /metrics page summed over its series.
counter() {
  curl -s "$1" | awk -v m="$2" '$1 ~ "^"m"[{ ]" || $1 == m {s += $NF} END {printf "%.0f\n", s + 0}'
}

# measure <name> <pid> <metrics-url> <spans-metric> <samples-metric>: CPU and RSS over MEASURE s.
measure() {
  local name=$1 pid=$2 url=$3 spans_m=$4 samples_m=$5 c0 c1 s0 s1 p0 p1 rss_max=0 rss
  c0=$(cpu_ticks "$pid"); s0=$(counter "$url" "$spans_m"); p0=$(counter "$url" "$samples_m")
  for _ in $(seq "$MEASURE"); do
    sleep 1
    rss=$(rss_kib "$pid"); [ "$rss" -gt "$rss_max" ] && rss_max=$rss
  done
  c1=$(cpu_ticks "$pid"); s1=$(counter "$url" "$spans_m"); p1=$(counter "$url" "$samples_m")
  awk -v n="$name" -v hz="$TICKS" -v d=$((c1 - c0)) -v s="$MEASURE" -v sp=$((s1 - s0)) \
      -v sa=$((p1 - p0)) -v rss="$(rss_kib "$pid")" -v max="$rss_max" 'BEGIN {
    per = 0; if (sp + sa > 0) per = 1e6 * d / hz / (sp + sa)
    printf "%-22s %6.0f spans/s %6.0f samples/s  CPU %5.1f%% of a core (%.1f µs per span+sample)  RSS %.1f MiB (max %.1f)\n",
           n, sp / s, sa / s, 100 * d / hz / s, per,
           rss / 1024, max / 1024 }'
}

start_all

TOTAL=$((WARMUP + MEASURE + 10))
taskset -c "$CPU_LOAD" "$SPROUT_BIN" demo --endpoint "127.0.0.1:$GRPC" --rate "$DEMO_RATE" \
  --metrics-interval "$DEMO_METRICS_INTERVAL" --duration "${TOTAL}s" --seed 1 >"$WORK/demo.log" 2>&1 &
PIDS+=("$!")
taskset -c "$CPU_LOAD" "$LOADGEN" --url "http://127.0.0.1:$API/api/v1/push" --series "$RW_SERIES" \
  --interval 1 --scrapes "$TOTAL" --realtime --build-per-scrape --concurrency 2 --batch 2000 \
  >"$WORK/rw_all.json" 2>"$WORK/rw_all.log" &
PIDS+=("$!")
sleep "$WARMUP"
echo "load: sprout demo --rate $DEMO_RATE (metrics every $DEMO_METRICS_INTERVAL) + remote write of $RW_SERIES series every 1 s; ${MEASURE} s measured after ${WARMUP} s"
measure "sprout all" "$ALL" "http://127.0.0.1:$API/metrics" otelcol_receiver_accepted_spans_total \
  cortex_ingester_ingested_samples_total
kill "$ALL"; wait "$ALL" 2>/dev/null || true

if [ "$PEER" = 1 ] && command -v prometheus >/dev/null; then
  PROM=$(free_port)
  : >"$WORK/prometheus.yml"
  taskset -c "$CPU_COLLECTOR" prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom" \
    --web.listen-address="127.0.0.1:$PROM" --web.enable-remote-write-receiver \
    >"$WORK/prom.log" 2>&1 &
  PROMPID=$!; PIDS+=("$PROMPID")
  for _ in $(seq 300); do curl -fs -o /dev/null "http://127.0.0.1:$PROM/-/ready" && break; sleep 0.1; done
  taskset -c "$CPU_LOAD" "$LOADGEN" --url "http://127.0.0.1:$PROM/api/v1/write" --series "$RW_SERIES" \
    --interval 1 --scrapes "$TOTAL" --realtime --build-per-scrape --concurrency 2 --batch 2000 \
    >"$WORK/rw_prom.json" 2>"$WORK/rw_prom.log" &
  PIDS+=("$!")
  sleep "$WARMUP"
  measure "prometheus (RW only)" "$PROMPID" "http://127.0.0.1:$PROM/metrics" no_spans_here \
    prometheus_tsdb_head_samples_appended_total
fi
