#!/usr/bin/env bash
# `sprout all` at rest (issue 14's idle target: RSS ≤ 30 MiB; a Go Collector alone idles at
# 45 MiB): a fresh `sprout all` (default pipeline, generator on, empty data directory) is started
# on free ports, pinned to CPU_COLLECTOR, left alone for IDLE_SECONDS after /ready, then its RSS
# (and how much of it is shared-library pages vs anonymous memory), PSS, threads and the CPU it
# used over the idle window are printed. For comparison the same is printed for `sprout
# collector` with a minimal OTLP → debug pipeline (the Collector-alone baseline of the target).
#
#   cmake --build build -j2 --target sprout && bench/run_all_idle.sh [build-dir]
#   env: IDLE_SECONDS (30)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
source bench/lib.sh
IDLE_SECONDS=${IDLE_SECONDS:-30}
SPROUT_BIN=${SPROUT_BIN:-$BIN/sprout}
[ -x "$SPROUT_BIN" ] || { echo "missing $SPROUT_BIN: cmake --build $BUILD -j2 --target sprout" >&2; exit 1; }

# report <name> <pid>: memory now and CPU over IDLE_SECONDS.
report() {
  local name=$1 pid=$2 c0 c1
  c0=$(cpu_ticks "$pid"); sleep "$IDLE_SECONDS"; c1=$(cpu_ticks "$pid")
  awk -v n="$name" -v hz="$TICKS" -v d=$((c1 - c0)) -v s="$IDLE_SECONDS" \
      -v rss="$(awk '/^VmRSS/ {print $2}' /proc/$pid/status)" \
      -v anon="$(awk '/^RssAnon/ {print $2}' /proc/$pid/status)" \
      -v file="$(awk '/^RssFile/ {print $2}' /proc/$pid/status)" \
      -v pss="$(awk '/^Pss:/ {s += $2} END {print s}' /proc/$pid/smaps)" \
      -v thr="$(awk '/^Threads/ {print $2}' /proc/$pid/status)" 'BEGIN {
    printf "%-16s RSS %5.1f MiB (anonymous %.1f, files %.1f)  PSS %5.1f MiB  threads %d  CPU %.2f s over %d s idle (%.2f%% of a core)\n",
           n, rss / 1024, anon / 1024, file / 1024, pss / 1024, thr, d / hz, s, 100 * d / hz / s }'
}

start_all
report "sprout all" "$ALL"
kill "$ALL"; wait "$ALL" 2>/dev/null || true

CGRPC=$(free_port); CMETRICS=$(free_port)
cat >"$WORK/collector.yaml" <<YAML
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$CGRPC
exporters:
  debug: {}
service:
  telemetry:
    metrics:
      address: 127.0.0.1:$CMETRICS
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
YAML
taskset -c "$CPU_COLLECTOR" "$SPROUT_BIN" collector --config "$WORK/collector.yaml" >"$WORK/collector.log" 2>&1 &
COL=$!; PIDS+=("$COL")
sleep 2
report "sprout collector" "$COL"
