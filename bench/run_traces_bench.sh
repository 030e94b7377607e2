#!/usr/bin/env bash
# Trace store benchmark (issue 11): the pinned span corpus (bench/traces_corpus.h, ≈ 400 bytes
# of OTLP per span) sent over OTLP/gRPC by sprout-traces-loadgen into a fresh `sprout traces`
# (Release build, temporary WAL and block dirs, a small trace_idle_period and
# flush_check_period so idle traces are cut and blocks written during the run,
# no ingestion rate limit), the server pinned to CPU_COLLECTOR (0), the generator to CPU_LOAD (1).
#
# Stages, in order:
#   ingest      spans/s acknowledged, and spans/s per core of the server: acknowledged spans ÷
#               the server's CPU seconds (utime+stime from /proc, bench/lib.sh) over the send, and
#               again including the settling after it (block cutting once traces go idle)
#   zstd        the same spans' OTLP protobuf (traces_corpus_tool, same seed and start time)
#               compressed with `zstd -3`: bytes/span, the same-run baseline for the disk figure
#   disk        bytes/span on disk: the files of the live blocks under the local block path ÷ spans
#               (a compaction's inputs, kept for compacted_block_retention, are counted apart)
#   trace_by_id sprout-traces-query --mode id: p50/p99 of /api/traces/<id> (protobuf) over IDs
#               sampled from the sent corpus (the acceptance figure wants ≥ 10 M spans: SPANS)
#   search      sprout-traces-query --mode search: /api/search?tags=... latency, and MB/s per core:
#               the answers' metrics.inspectedBytes ÷ the server's CPU seconds over the stage
# disk, trace_by_id and search need blocks: each is skipped with a message while the block
# path holds no meta.json (the store keeps live traces only until blocks land); FORCE_QUERIES=1
# runs the two query stages anyway (over the live set).
#
#   bench/run_traces_bench.sh [build-dir]
#   cmake --build build -j2 --target sprout sprout-traces-loadgen sprout-traces-query traces_corpus_tool
#   SPANS=200000 bench/run_traces_bench.sh                 # quick
#   SPANS=10000000 bench/run_traces_bench.sh               # the acceptance store size
#   env: SPANS (2000000), BATCH (1000), CONCURRENCY (4), SEED (1), IDLE (2s: trace_idle_period),
#        FLUSH_CHECK (1s: ingester.flush_check_period, how often idle traces are cut),
#        MAX_BLOCK_DURATION (1m), MAX_BLOCK_BYTES (104857600), SETTLE_MAX (600 s),
#        ID_REQUESTS (2000), SEARCH_REQUESTS (200), QUERY_CONCURRENCY (1), FORCE_QUERIES (0),
#        PERF (0; 1: `perf record -g` the server during the send, top functions printed),
#        SPROUT_BIN ($BUILD/bin/sprout), KEEP_DATA (a dir to copy the data dir into, e.g. the
#        store bench/run_traceql_bench.sh queries), STAGES (all: the stages to run, in order;
#        ingest first — the others use its figures; STAGES=ingest KEEP_DATA=... only builds a store),
#        GENERATOR (0; 1: the metrics-generator on, as the seed's tempo.yaml enables it —
#        processors service-graphs and span-metrics, Tempo's defaults otherwise — remote-writing
#        with its WAL to a sprout-sink stand-in receiver on CPU_LOAD; the ingest figures then
#        include the generator's CPU: compare with a GENERATOR=0 run of the same corpus),
#        GENERATOR_PROCESSORS ("service-graphs", "span-metrics")
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
source bench/lib.sh
SPANS=${SPANS:-2000000}
BATCH=${BATCH:-1000}
CONCURRENCY=${CONCURRENCY:-4}
SEED=${SEED:-1}
IDLE=${IDLE:-2s}
FLUSH_CHECK=${FLUSH_CHECK:-1s}
MAX_BLOCK_DURATION=${MAX_BLOCK_DURATION:-1m}
MAX_BLOCK_BYTES=${MAX_BLOCK_BYTES:-104857600}
SETTLE_MAX=${SETTLE_MAX:-600}
ID_REQUESTS=${ID_REQUESTS:-2000}
SEARCH_REQUESTS=${SEARCH_REQUESTS:-200}
QUERY_CONCURRENCY=${QUERY_CONCURRENCY:-1}
FORCE_QUERIES=${FORCE_QUERIES:-0}
PERF=${PERF:-0}
STAGES=${STAGES:-ingest zstd disk trace_by_id search}
GENERATOR=${GENERATOR:-0}
GENERATOR_PROCESSORS=${GENERATOR_PROCESSORS:-'"service-graphs", "span-metrics"'}
SINK=$BIN/sprout-sink
SPROUT_BIN=${SPROUT_BIN:-$BIN/sprout}
LOADGEN=$BIN/sprout-traces-loadgen
QUERY=$BIN/sprout-traces-query
CORPUS_TOOL=$BIN/traces_corpus_tool

# ---- preflight ----------------------------------------------------------------------------
for b in "$SPROUT_BIN" "$LOADGEN" "$QUERY" "$CORPUS_TOOL" "$SINK"; do
  [ -x "$b" ] || { echo "missing $b: cmake --build $BUILD -j2 --target sprout sprout-traces-loadgen sprout-traces-query traces_corpus_tool sprout-sink" >&2; exit 1; }
done
command -v zstd >/dev/null || { echo "zstd not found: scripts/deps.sh installs Debian's zstd" >&2; exit 1; }
if [ "$PERF" = 1 ] && ! command -v perf >/dev/null; then echo "PERF=1 but perf is not installed" >&2; exit 1; fi
grep -q 'CMAKE_BUILD_TYPE:STRING=Release' "$BUILD/CMakeCache.txt" 2>/dev/null ||
  echo "warning: $BUILD is not a Release build; the figures are not comparable" >&2

json() { sed -n "s/.*\"$2\": \"\{0,1\}\([^,}\"]*\).*/\1/p" <<<"$1"; }
cpu_seconds() { awk -v t="$1" -v hz="$TICKS" 'BEGIN { printf "%.3f", t / hz }'; }

# ---- the server: the one place that knows how to run `sprout traces` for the bench ----------
DATA=$WORK/data
BLOCKS=$DATA/blocks
start_server() {
  mkdir -p "$DATA"
  HTTP_PORT=$(free_port); GRPC_PORT=$(free_port)
  cat >"$WORK/tempo.yaml" <<EOF
server:
  http_listen_address: 127.0.0.1
  http_listen_port: $HTTP_PORT
distributor:
  receivers:
    otlp:
      protocols:
        grpc:
          endpoint: 127.0.0.1:$GRPC_PORT
ingester:
  trace_idle_period: $IDLE
  flush_check_period: $FLUSH_CHECK
  max_block_duration: $MAX_BLOCK_DURATION
  max_block_bytes: $MAX_BLOCK_BYTES
storage:
  trace:
    backend: local
    local:
      path: $BLOCKS
    wal:
      path: $DATA/wal
overrides:
  defaults:
    ingestion:
      rate_limit_bytes: 0
      burst_size_bytes: 1000000000
    global:
      max_bytes_per_trace: 0
EOF
  if [ "$GENERATOR" = 1 ]; then
    if [ -z "${SINK_PORT:-}" ]; then
      SINK_PORT=$(free_port)
      taskset -c "$CPU_LOAD" "$SINK" --endpoint "127.0.0.1:$(free_port)" \
        --http-endpoint "127.0.0.1:$SINK_PORT" >"$WORK/sink.log" 2>&1 &
      PIDS+=($!)
    fi
    cat >>"$WORK/tempo.yaml" <<EOF
    metrics_generator:
      processors: [$GENERATOR_PROCESSORS]
metrics_generator:
  storage:
    path: $DATA/generator/wal
    remote_write:
      - url: http://127.0.0.1:$SINK_PORT/api/v1/write
        send_exemplars: true
EOF
  fi
  taskset -c "$CPU_COLLECTOR" "$SPROUT_BIN" traces --config "$WORK/tempo.yaml" >"$WORK/server.log" 2>&1 &
  SERVER=$!; PIDS+=("$SERVER")
  BASE="http://127.0.0.1:$HTTP_PORT"
  for _ in $(seq 600); do
    curl -fs -o /dev/null "$BASE/ready" && return 0
    if ! kill -0 "$SERVER" 2>/dev/null; then
      # A port taken between free_port and the bind: try other ports (3 times).
      if grep -q 'address already in use' "$WORK/server.log" && [ "${1:-0}" -lt 3 ]; then
        start_server $(( ${1:-0} + 1 )); return
      fi
      echo "server exited:"; tail -20 "$WORK/server.log"; exit 1
    fi
    sleep 0.1
  done
  echo "not ready after 60 s"; tail -20 "$WORK/server.log"; exit 1
}

# server_metric <name>: the series of <name> on the server's /metrics summed ("-" when absent).
server_metric() {
  curl -fs "$BASE/metrics" | awk -v m="$1" '$1 ~ "^"m"[{ ]" || $1 == m {s += $NF; n++} END {print n ? s : "-"}'
}

has_blocks() { [ -n "$(find "$BLOCKS" -name meta.json -print -quit 2>/dev/null)" ]; }

# Waits until the server's CPU over 1 s is under 3 % of a core (≤ SETTLE_MAX s).
settle() {
  local a b
  for _ in $(seq "$SETTLE_MAX"); do
    a=$(cpu_ticks "$SERVER"); sleep 1; b=$(cpu_ticks "$SERVER")
    [ $(( (b - a) * 100 )) -lt $(( 3 * TICKS )) ] && return 0
  done
  # Still busy (e.g. blocks of a large run still being written): say so, and go on; the
  # "incl. settling" figure then covers only SETTLE_MAX s of it.
  echo "warning: the server was still busy after SETTLE_MAX=$SETTLE_MAX s of settling"
}

# ---- stage: ingest --------------------------------------------------------------------------
stage_ingest() {
  echo "== ingest: $SPANS corpus spans (seed $SEED), batches of $BATCH, $CONCURRENCY concurrent calls"
  # The generator builds every request first (the server is idle meanwhile), then sends.
  taskset -c "$CPU_LOAD" "$LOADGEN" --endpoint "127.0.0.1:$GRPC_PORT" --spans "$SPANS" \
    --batch "$BATCH" --concurrency "$CONCURRENCY" --seed "$SEED" >"$WORK/load.json" 2>"$WORK/load.err" &
  local load=$! c0 c1 c2 perf_pid=""
  # The send starts when the generator's RSS stops growing; the CPU delta below starts before
  # that, but an idle server adds no ticks.
  c0=$(cpu_ticks "$SERVER")
  local m0 st0 m1 st1 t0 t1
  read -r m0 st0 < <(machine_ticks); t0=$(date +%s.%N)
  if [ "$PERF" = 1 ]; then
    perf record -F 499 -g -p "$SERVER" -o "$WORK/perf.data" >/dev/null 2>"$WORK/perf.err" &
    perf_pid=$!
  fi
  wait $load || { echo "loadgen failed: $(cat "$WORK/load.err")"; exit 1; }
  c1=$(cpu_ticks "$SERVER")
  read -r m1 st1 < <(machine_ticks); t1=$(date +%s.%N)
  # perf may have exited by itself (its error is in perf.err): that must not end the script.
  if [ -n "$perf_pid" ]; then kill -INT "$perf_pid" 2>/dev/null || true; wait "$perf_pid" || true; fi
  settle
  c2=$(cpu_ticks "$SERVER")
  echo "store after the send and settling: live traces $(server_metric tempo_ingester_live_traces)," \
       "pending $(server_metric sprout_traces_pending_traces)," \
       "blocks flushed $(server_metric tempo_ingester_blocks_flushed_total)," \
       "failed flushes $(server_metric tempo_ingester_failed_flushes_total)," \
       "flushed bytes $(server_metric sprout_traces_flushed_bytes_total)"
  if [ "$GENERATOR" = 1 ]; then
    echo "generator: spans received $(server_metric tempo_metrics_generator_spans_received_total)," \
         "outside the slack $(server_metric tempo_metrics_generator_spans_discarded_total)," \
         "active series $(server_metric tempo_metrics_generator_registry_active_series)," \
         "edges $(server_metric tempo_metrics_generator_processor_service_graphs_edges)," \
         "spans dropped (store full) $(server_metric tempo_metrics_generator_processor_service_graphs_dropped_spans)," \
         "samples written $(server_metric sprout_metrics_generator_samples_written_total)," \
         "exemplars $(server_metric sprout_metrics_generator_exemplars_written_total)," \
         "write failures $(server_metric sprout_metrics_generator_write_failures_total)"
  fi
  LOAD_JSON=$(cat "$WORK/load.json")
  echo "loadgen: $LOAD_JSON"
  ACKED=$(json "$LOAD_JSON" acked_spans)
  TRACES=$(json "$LOAD_JSON" traces)
  START_NS=$(json "$LOAD_JSON" start_time_unix_nano)
  END_NS=$(json "$LOAD_JSON" last_span_end_unix_nano)
  local elapsed failed
  elapsed=$(json "$LOAD_JSON" elapsed_seconds)
  failed=$(json "$LOAD_JSON" failed_requests)
  [ "$failed" = 0 ] || echo "warning: $failed requests failed at least once (first: $(head -1 "$WORK/load.err"))"
  awk -v a="$ACKED" -v e="$elapsed" -v c1=$((c1 - c0)) -v c2=$((c2 - c0)) -v hz="$TICKS" \
      -v hwm="$(awk '/^VmHWM/ {print $2}' "/proc/$SERVER/status")" 'BEGIN {
    s1 = c1 / hz; s2 = c2 / hz
    printf "ingest: %.0f spans/s acknowledged; server CPU %.1f s over the send (%.0f%% of one core) => %.0f spans/s per core\n",
           a / e, s1, 100 * s1 / e, a / s1
    printf "ingest incl. settling: server CPU %.1f s => %.0f spans/s per core; server peak RSS %.0f MiB (%.0f bytes/span)\n",
           s2, a / s2, hwm / 1024, hwm * 1024 / a }'
  awk -v b=$((m1 - m0)) -v st=$((st1 - st0)) -v hz="$TICKS" -v d="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" \
      -v n="$(nproc)" 'BEGIN { printf "machine during the generator'"'"'s run: busy %.0f%% of all CPUs (steal %.0f%%), loadavg %s\n",
      100 * b / hz / d / n, 100 * st / hz / d / n, "'"$(cut -d' ' -f1 /proc/loadavg)"'" }'
  if [ -n "$perf_pid" ] && [ ! -s "$WORK/perf.data" ]; then
    echo "perf: no profile ($(tail -2 "$WORK/perf.err" | tr '\n' ' '))"
  elif [ -n "$perf_pid" ]; then
    echo "== perf: top functions of the server during the send (self time)"
    [ -n "${PERF_DATA:-}" ] && cp "$WORK/perf.data" "$PERF_DATA"
    { perf report -i "$WORK/perf.data" --no-children --sort symbol --stdio 2>/dev/null || true; } |
      grep -E '^ +[0-9.]+%' | sed -E 's/[[:space:]]+(-[[:space:]]+-)?[[:space:]]*$//' | head -30 || true
    echo "== perf: by DSO (self time)"
    { perf report -i "$WORK/perf.data" --no-children --sort dso --stdio 2>/dev/null || true; } |
      grep -E '^ +[0-9.]+%' | sed -E 's/[[:space:]]+(-[[:space:]]+-)?[[:space:]]*$//' | head -8 || true
  fi
}

# ---- stage: zstd -3 baseline of the same spans ----------------------------------------------
stage_zstd() {
  echo "== zstd: the same spans' OTLP protobuf, zstd -3"
  local z stats
  z=$("$CORPUS_TOOL" --spans "$SPANS" --batch "$BATCH" --seed "$SEED" --start-time "$START_NS" \
        --out - 2>"$WORK/corpus.json" | zstd -3 -c -q | wc -c)
  stats=$(cat "$WORK/corpus.json")
  echo "corpus: $stats"
  OTLP_BYTES=$(json "$stats" otlp_bytes)
  local n
  n=$(json "$stats" spans)
  ZSTD_PER_SPAN=$(awk -v z="$z" -v n="$n" 'BEGIN { printf "%.1f", z / n }')
  awk -v b="$OTLP_BYTES" -v z="$z" -v n="$n" 'BEGIN {
    printf "zstd -3: OTLP %.1f bytes/span -> %.1f bytes/span (ratio %.2f)\n", b / n, z / n, b / z }'
}

# ---- stage: bytes per span on disk (needs blocks) ------------------------------------------
stage_disk() {
  echo "== disk: bytes/span in blocks"
  if ! has_blocks; then
    echo "disk: SKIPPED — no block under $BLOCKS (no meta.json): the server cuts no blocks yet"
    return
  fi
  # A compaction's inputs stay on disk (with their meta.json) for compacted_block_retention (1 h)
  # after its output is written: they are counted apart, not as the spans' bytes.
  local b all replaced=" " d live=0 dead=0
  all=$(find "$BLOCKS" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  for m in $(find "$BLOCKS" -name meta.json); do
    replaced+="$(sed -n '/"sources"/,/]/p' "$m" | { grep -o '[0-9A-Z]\{26\}' || true; } | tr '\n' ' ')"
  done
  b=0
  for m in $(find "$BLOCKS" -name meta.json); do
    d=$(dirname "$m")
    if [[ "$replaced" == *" $(basename "$d") "* ]]; then
      dead=$((dead + 1))
    else
      live=$((live + 1))
      b=$((b + $(find "$d" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')))
    fi
  done
  awk -v b="$b" -v n="$ACKED" -v z="${ZSTD_PER_SPAN:--}" 'BEGIN {
    printf "disk: %d bytes in blocks for %d spans = %.1f bytes/span (zstd -3 baseline %s)\n", b, n, b / n, z }'
  echo "blocks: $live live, $dead replaced by a compaction (deleted after its grace); all files" \
       "under the block path $all bytes; WAL $(du -sb "$DATA/wal" | cut -f1) bytes"
}

# ---- stage: trace by ID (needs blocks) ------------------------------------------------------
stage_trace_by_id() {
  echo "== trace by ID: $ID_REQUESTS IDs sampled from the $TRACES traces sent"
  if ! has_blocks && [ "$FORCE_QUERIES" != 1 ]; then
    echo "trace_by_id: SKIPPED — no block under $BLOCKS (FORCE_QUERIES=1 runs it over the live set)"
    return
  fi
  local c0 c1 out
  c0=$(cpu_ticks "$SERVER")
  out=$(taskset -c "$CPU_LOAD" "$QUERY" --url "$BASE" --mode id --traces "$TRACES" --seed "$SEED" \
          --requests "$ID_REQUESTS" --concurrency "$QUERY_CONCURRENCY") || true
  c1=$(cpu_ticks "$SERVER")
  echo "query: $out"
  echo "trace_by_id: p50 $(json "$out" p50_ms) ms, p99 $(json "$out" p99_ms) ms, $(json "$out" not_found) not found;" \
       "server CPU $(cpu_seconds $((c1 - c0))) s; blocks present: $(has_blocks && echo yes || echo no)"
}

# ---- stage: search by tag (needs blocks) ----------------------------------------------------
stage_search() {
  echo "== search: $SEARCH_REQUESTS /api/search?tags=... over the corpus's time range"
  if ! has_blocks && [ "$FORCE_QUERIES" != 1 ]; then
    echo "search: SKIPPED — no block under $BLOCKS (FORCE_QUERIES=1 runs it over the live set)"
    return
  fi
  local c0 c1 out start end
  start=$((START_NS / 1000000000)); end=$((END_NS / 1000000000 + 1))
  c0=$(cpu_ticks "$SERVER")
  out=$(taskset -c "$CPU_LOAD" "$QUERY" --url "$BASE" --mode search --requests "$SEARCH_REQUESTS" \
          --concurrency "$QUERY_CONCURRENCY" --start "$start" --end "$end") || true
  c1=$(cpu_ticks "$SERVER")
  echo "query: $out"
  awk -v ib="$(json "$out" inspected_bytes)" -v c=$((c1 - c0)) -v hz="$TICKS" \
      -v p50="$(json "$out" p50_ms)" -v p99="$(json "$out" p99_ms)" 'BEGIN {
    s = c / hz
    printf "search: p50 %s ms, p99 %s ms; %.0f MB inspected, server CPU %.2f s => %.0f MB/s per core\n",
           p50, p99, ib / 1e6, s, (s > 0 ? ib / 1e6 / s : 0) }'
}

start_server
echo "sprout traces: pid $SERVER, HTTP $BASE, OTLP/gRPC 127.0.0.1:$GRPC_PORT, data $DATA (idle period $IDLE)"
for stage in $STAGES; do
  case $stage in
    ingest|zstd|disk|trace_by_id|search) "stage_$stage" ;;
    *) echo "unknown stage $stage (STAGES: ingest zstd disk trace_by_id search)" >&2; exit 2 ;;
  esac
done
# The corpus's figures (spans, traces, time range) go with the data, as load.json.
if [ -n "${KEEP_DATA:-}" ]; then
  mkdir -p "$KEEP_DATA" && cp -a "$DATA/." "$KEEP_DATA/" && cp "$WORK/load.json" "$KEEP_DATA/load.json"
fi
