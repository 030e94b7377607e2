#!/usr/bin/env bash
# TraceQL metrics benchmark (issue 16): `{} | rate() by (resource.service.name)` and
# `{} | histogram_over_time(duration)` over the last 1 h and the last 24 h of a ≥ 10 M-span store
# whose spans cover ≥ 24 h, on /api/metrics/query_range of a `sprout traces` (Release build).
#
#   cmake --build build -j2 --target sprout sprout-traces-loadgen
#   STORE=/work/bench-data/tqlm10m bench/run_traceql_metrics_bench.sh         # builds, then queries
#   STORE=/work/bench-data/tqlm10m bench/run_traceql_metrics_bench.sh         # again: queries only
#   STORE=/tmp/tqlm-small SPANS=200000 bench/run_traceql_metrics_bench.sh    # a quick try
#
# 1. The store (only when STORE has no load.json): the pinned span corpus (bench/traces_corpus.h,
#    24 services, traces of 1–40 spans, ≈ 400 bytes of OTLP per span) sent over OTLP/gRPC by
#    sprout-traces-loadgen, flat out, into a fresh `sprout traces` — with past timestamps: trace i
#    starts at (now − HOURS h − MARGIN) + i × interval, the interval chosen so that SPANS spans
#    (≈ SPANS/10 traces) cover HOURS hours (--trace-interval). The server cuts idle traces and
#    writes blocks as it goes (trace_idle_period IDLE, max_block_duration MAX_BLOCK_DURATION: the
#    corpus is sent in time order, so a short block duration gives blocks of consecutive corpus
#    time, as real-time ingestion would — a few hundred spans/s over a day — and the compactor
#    merges those of the same hour), settles (blocks written, compaction done), and is stopped
#    with SIGTERM (flush_all_on_shutdown: nothing is left in the WAL); its blocks and WAL are copied to STORE with the generator's load.json and
#    build.txt (the phases' wall times). The store is built once and reused.
# 2. The queries, on a copy of STORE (the server may compact it): a fresh `sprout traces` pinned to
#    CPU_COLLECTOR, left to settle; then for each query and window (WINDOWS: 1h and 24h, ending at
#    the corpus's last span end), REQUESTS requests one after the other (curl pinned to CPU_LOAD),
#    as Grafana sends them (Accept: application/json, start/end in Unix seconds, step STEP or, when
#    empty, the server's default, as Tempo picks it). Per query and window: latency p50 / max,
#    series in the answer, the server's CPU seconds per request (utime + stime from /proc,
#    bench/lib.sh), and MB/s per core two ways:
#      - blocks: the bytes of the blocks whose time range meets the window (data + index bytes of
#        their meta.json: what the query may have to read) ÷ the server's CPU seconds per request;
#      - inspected: the answer's metrics.inspectedBytes (what the server says it read) ÷ the same.
#    Spans in the window (span_count of those blocks) ÷ CPU seconds gives spans/s per core.
#
# The query API takes a 24 h range only if its limit allows it: Tempo 2.9's default
# query_frontend.metrics.max_duration is 3h, so the server's config sets MAX_DURATION (48h).
#
#   env: STORE (required), SPANS (10000000), HOURS (24), MARGIN (30m: the corpus ends that long
#        before the build), BATCH (1000), CONCURRENCY (4), SEED (1), PREGENERATE (false: requests
#        built while sending, the 10 M corpus does not fit in memory twice), IDLE (2s),
#        MAX_BLOCK_DURATION (5s: ingester.max_block_duration while building),
#        SETTLE_MAX (900 s), REQUESTS (5), STEP (empty: the server's default), WINDOWS ("1h 24h"),
#        MAX_DURATION (48h), SPROUT_BIN ($BUILD/bin/sprout)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
source bench/lib.sh
STORE=${STORE:?STORE: the directory to keep the store in (built when it has no load.json)}
SPANS=${SPANS:-10000000}
HOURS=${HOURS:-24}
MARGIN=${MARGIN:-30m}
BATCH=${BATCH:-1000}
CONCURRENCY=${CONCURRENCY:-4}
SEED=${SEED:-1}
PREGENERATE=${PREGENERATE:-false}
IDLE=${IDLE:-2s}
MAX_BLOCK_DURATION=${MAX_BLOCK_DURATION:-5s}
SETTLE_MAX=${SETTLE_MAX:-900}
REQUESTS=${REQUESTS:-5}
STEP=${STEP:-}
WINDOWS=${WINDOWS:-1h 24h}
MAX_DURATION=${MAX_DURATION:-48h}
SPROUT_BIN=${SPROUT_BIN:-$BIN/sprout}
LOADGEN=$BIN/sprout-traces-loadgen
QUERIES=('{} | rate() by (resource.service.name)' '{} | histogram_over_time(duration)')

for b in "$SPROUT_BIN" "$LOADGEN"; do
  [ -x "$b" ] || { echo "missing $b: cmake --build $BUILD -j2 --target sprout sprout-traces-loadgen" >&2; exit 1; }
done
grep -q 'CMAKE_BUILD_TYPE:STRING=Release' "$BUILD/CMakeCache.txt" 2>/dev/null ||
  echo "warning: $BUILD is not a Release build; the figures are not comparable" >&2

json() { sed -n "s/.*\"$2\": \"\{0,1\}\([^,}\"]*\).*/\1/p" <<<"$1"; }
go_seconds() { # 30m, 24h, 90s → seconds
  awk -v d="$1" 'BEGIN { n = d + 0; u = substr(d, length(d)); print (u == "h" ? n * 3600 : u == "m" ? n * 60 : n) }'
}

DATA=$WORK/data
# start_server: `sprout traces` on DATA (free ports), pinned to CPU_COLLECTOR; waits for /ready.
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
  flush_check_period: 1s
  max_block_duration: $MAX_BLOCK_DURATION
  flush_all_on_shutdown: true
query_frontend:
  metrics:
    max_duration: $MAX_DURATION
storage:
  trace:
    backend: local
    local:
      path: $DATA/blocks
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
  taskset -c "$CPU_COLLECTOR" "$SPROUT_BIN" traces --config "$WORK/tempo.yaml" >>"$WORK/server.log" 2>&1 &
  SERVER=$!; PIDS+=("$SERVER")
  BASE="http://127.0.0.1:$HTTP_PORT"
  for _ in $(seq 6000); do
    curl -fs -o /dev/null "$BASE/ready" && return 0
    kill -0 "$SERVER" 2>/dev/null || { echo "server exited:"; tail -20 "$WORK/server.log"; exit 1; }
    sleep 0.1
  done
  echo "not ready after 600 s"; tail -20 "$WORK/server.log"; exit 1
}
server_metric() {
  curl -fs "$BASE/metrics" | awk -v m="$1" '$1 ~ "^"m"[{ ]" || $1 == m {s += $NF; n++} END {print n ? s : "-"}'
}
settle() {
  local a b
  for _ in $(seq "$SETTLE_MAX"); do
    a=$(cpu_ticks "$SERVER"); sleep 1; b=$(cpu_ticks "$SERVER")
    [ $(( (b - a) * 100 )) -lt $(( 3 * TICKS )) ] && return 0
  done
  echo "warning: the server was still busy after SETTLE_MAX=$SETTLE_MAX s of settling"
}
stop_server() {
  kill -TERM "$SERVER" 2>/dev/null || true
  wait "$SERVER" || { echo "server exit status $?:"; tail -20 "$WORK/server.log"; exit 1; }
}

# ---- 1. the store ------------------------------------------------------------------------------
if [ ! -f "$STORE/load.json" ]; then
  [ -e "$STORE" ] && [ -n "$(ls -A "$STORE" 2>/dev/null)" ] &&
    { echo "$STORE exists without load.json: remove it or choose another STORE" >&2; exit 1; }
  hours_ns=$(( HOURS * 3600 * 1000000000 ))
  traces=$(( SPANS / 10 ))
  interval_ns=$(( hours_ns / traces ))
  now_ns=$(date +%s%N)
  start_ns=$(( now_ns - hours_ns - $(go_seconds "$MARGIN") * 1000000000 ))
  echo "== build: $SPANS corpus spans (seed $SEED) from $(date -u -d "@$((start_ns / 1000000000))" +%FT%TZ)," \
       "one trace every ${interval_ns} ns of corpus time (≈ $HOURS h), batches of $BATCH, $CONCURRENCY calls"
  t0=$(date +%s)
  start_server
  c0=$(cpu_ticks "$SERVER")
  taskset -c "$CPU_LOAD" "$LOADGEN" --endpoint "127.0.0.1:$GRPC_PORT" --spans "$SPANS" --batch "$BATCH" \
    --concurrency "$CONCURRENCY" --seed "$SEED" --start-time "$start_ns" --trace-interval "${interval_ns}ns" \
    --pregenerate "$PREGENERATE" --duration 10h >"$WORK/load.json" 2>"$WORK/load.err" ||
    { echo "loadgen failed: $(tail -5 "$WORK/load.err")"; exit 1; }
  t1=$(date +%s); c1=$(cpu_ticks "$SERVER")
  LOAD_JSON=$(cat "$WORK/load.json")
  echo "loadgen: $LOAD_JSON"
  [ "$(json "$LOAD_JSON" failed_requests)" = 0 ] || echo "warning: some requests failed at least once: $(head -1 "$WORK/load.err")"
  settle
  t2=$(date +%s)
  echo "after settling: blocks flushed $(server_metric tempo_ingester_blocks_flushed_total)," \
       "live traces $(server_metric tempo_ingester_live_traces), failed flushes $(server_metric tempo_ingester_failed_flushes_total)"
  stop_server
  t3=$(date +%s)
  mkdir -p "$STORE"
  cp -a "$DATA/blocks" "$DATA/wal" "$STORE/"
  cp "$WORK/load.json" "$STORE/load.json"
  {
    echo "built $(date -u +%FT%TZ) by $(git rev-parse --short HEAD 2>/dev/null || echo '?'): SPANS=$SPANS HOURS=$HOURS SEED=$SEED interval ${interval_ns} ns"
    echo "send $((t1 - t0)) s (server CPU $(awk -v c=$((c1 - c0)) -v hz="$TICKS" 'BEGIN {printf "%.1f", c / hz}') s)," \
         "settle $((t2 - t1)) s, stop (flush) $((t3 - t2)) s, total $((t3 - t0)) s"
  } >"$STORE/build.txt"
  cat "$STORE/build.txt"
  rm -rf "$DATA"
fi

# ---- 2. the queries ----------------------------------------------------------------------------
LOAD_JSON=$(cat "$STORE/load.json")
START_NS=$(json "$LOAD_JSON" start_time_unix_nano)
END_NS=$(json "$LOAD_JSON" last_span_end_unix_nano)
END_S=$(( END_NS / 1000000000 + 1 ))
mkdir -p "$DATA"
cp -a "$STORE/blocks" "$STORE/wal" "$DATA/"
start_server
settle

# blocks_in <start_s> <end_s>: "<blocks> <data+index bytes> <spans> <otlp bytes>" of the blocks
# whose [start, end] meets the window (meta.json, one field a line).
blocks_in() {
  find "$DATA/blocks" -name meta.json -print0 | xargs -0 -r awk -v s="$1" -v e="$2" '
    FNR == 1 { if (NR > 1) emit(); bs = be = db = ib = sc = ob = 0 }
    /"start_unix_nano"/ { gsub(/[^0-9]/, ""); bs = $0 / 1e9 }
    /"end_unix_nano"/ { gsub(/[^0-9]/, ""); be = $0 / 1e9 }
    /"data_bytes"/ { gsub(/[^0-9]/, ""); db = $0 }
    /"index_bytes"/ { gsub(/[^0-9]/, ""); ib = $0 }
    /"span_count"/ { gsub(/[^0-9]/, ""); sc = $0 }
    /"otlp_bytes"/ { gsub(/[^0-9]/, ""); ob = $0 }
    function emit() { if (be >= s && bs <= e) { n++; bytes += db + ib; spans += sc; otlp += ob } }
    END { if (NR > 0) emit(); printf "%d %d %d %d\n", n, bytes, spans, otlp }'
}

ALL=$(blocks_in 0 9999999999)
echo "store: $STORE — $(json "$LOAD_JSON" acked_spans) spans in $(json "$LOAD_JSON" traces) traces, corpus" \
     "$(date -u -d "@$((START_NS / 1000000000))" +%FT%TZ) .. $(date -u -d "@$END_S" +%FT%TZ);" \
     "blocks: $(cut -d' ' -f1 <<<"$ALL"), $(cut -d' ' -f2 <<<"$ALL") bytes (data + index), $(cut -d' ' -f3 <<<"$ALL") spans;" \
     "blocks meeting the last 1 h: $(blocks_in $((END_S - 3600)) "$END_S" | cut -d' ' -f1)"
[ -f "$STORE/build.txt" ] && sed 's/^/store build: /' "$STORE/build.txt"
echo "server: pid $SERVER on CPU $CPU_COLLECTOR, RSS $(( $(rss_kib "$SERVER") / 1024 )) MiB after settling; nproc $(nproc), loadavg $(cut -d' ' -f1-3 /proc/loadavg)"

urlencode() { local LC_ALL=C s=$1 i c out=""; for ((i = 0; i < ${#s}; i++)); do c=${s:i:1}
  case $c in [a-zA-Z0-9.~_-]) out+=$c ;; *) out+=$(printf '%%%02X' "'$c") ;; esac; done; echo "$out"; }

echo "== $REQUESTS requests per query and window, one at a time; step ${STEP:-(server default)}"
for window in $WINDOWS; do
  w=$(go_seconds "$window")
  ws=$(( END_S - w ))
  read -r nb bbytes bspans botlp < <(blocks_in "$ws" "$END_S")
  for q in "${QUERIES[@]}"; do
    url="$BASE/api/metrics/query_range?q=$(urlencode "$q")&start=$ws&end=$END_S"
    [ -n "$STEP" ] && url+="&step=$STEP"
    : >"$WORK/lat.txt"; ib_total=0; status=ok; series=0
    c0=$(cpu_ticks "$SERVER"); read -r m0 _ < <(machine_ticks); t0=$(date +%s.%N)
    for _ in $(seq "$REQUESTS"); do
      out=$(taskset -c "$CPU_LOAD" curl -s -o "$WORK/answer.json" -w '%{http_code} %{time_total}' \
            -H 'Accept: application/json' "$url")
      code=${out% *}
      if [ "$code" != 200 ]; then status="HTTP $code: $(head -c 200 "$WORK/answer.json")"; break; fi
      echo "${out#* }" >>"$WORK/lat.txt"
      ib=$(grep -o '"inspectedBytes":"\{0,1\}[0-9]*' "$WORK/answer.json" | head -1 | grep -o '[0-9]*$' || true)
      ib_total=$(( ib_total + ${ib:-0} ))
      series=$(grep -o '"samples":' "$WORK/answer.json" | wc -l)
    done
    c1=$(cpu_ticks "$SERVER"); read -r m1 _ < <(machine_ticks); t1=$(date +%s.%N)
    if [ "$status" != ok ]; then printf '%-44s %-4s %s\n' "$q" "$window" "$status"; continue; fi
    sort -n "$WORK/lat.txt" | awk -v q="$q" -v w="$window" -v n="$REQUESTS" -v c=$((c1 - c0)) -v hz="$TICKS" \
        -v bb="$bbytes" -v bs="$bspans" -v nb="$nb" -v ib="$ib_total" -v series="$series" \
        -v busy=$((m1 - m0)) -v d="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" -v ncpu="$(nproc)" '
      { l[NR] = $1 * 1000 }
      END {
        cpu = c / hz / n
        printf "%-44s %-4s p50 %8.1f ms  max %8.1f ms  series %5d  CPU %7.3f s/req  blocks %3d (%7.1f MB, %9d spans): %7.0f MB/s per core, %9.0f spans/s per core;  inspected %7.1f MB/req: %7.0f MB/s per core;  machine busy %3.0f%%\n",
          q, w, l[int((NR + 1) / 2)], l[NR], series, cpu, nb, bb / 1e6, bs,
          (cpu > 0 ? bb / 1e6 / cpu : 0), (cpu > 0 ? bs / cpu : 0), ib / n / 1e6, (cpu > 0 ? ib / n / 1e6 / cpu : 0),
          100 * busy / hz / d / ncpu }'
  done
done
