# Shared by the bench/run_*.sh scripts: start processes pinned to CPUs, measure a process's CPU
# (user+system from /proc, so the figure holds on a noisy machine) and RSS.
BUILD=${BUILD:-build}
BIN=$BUILD/bin
CPU_COLLECTOR=${CPU_COLLECTOR:-0}
CPU_LOAD=${CPU_LOAD:-1}
TICKS=$(getconf CLK_TCK)
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# accepted <metric-name>: the collector's receiver counter summed over its series.
accepted() {
  curl -s "localhost:$BENCH_METRICS_PORT/metrics" |
    awk -v m="$1" '$1 ~ "^"m"[{ ]" || $1 == m {s += $NF} END {print s + 0}'
}

# start_collector <config>: starts sprout on CPU_COLLECTOR and waits until it is ready.
start_collector() {
  taskset -c "$CPU_COLLECTOR" "$BIN/sprout" collector --config "$1" 2>"$WORK/collector.log" &
  COLLECTOR=$!
  PIDS+=($COLLECTOR)
  for _ in $(seq 100); do
    grep -q "Everything is ready" "$WORK/collector.log" && return 0
    sleep 0.1
  done
  cat "$WORK/collector.log"
  exit 1
}

# measure <seconds>: the collector's CPU (% of one core) and RSS (avg, max MiB) over a window.
measure() {
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

# fixed_rate_runs <label> <loadgen args...>: REPEAT runs of RATE_DURATION seconds at a fixed
# rate, printing each run and the median.
fixed_rate_runs() {
  local label=$1 run results=() cpu avg max
  shift
  for run in $(seq "$REPEAT"); do
    taskset -c "$CPU_LOAD" "$BIN/sprout-loadgen" --endpoint "localhost:$BENCH_RECEIVER_PORT" \
      --duration "${RATE_DURATION}s" "$@" >"$WORK/rate.json" &
    local load=$!
    sleep 5
    read -r cpu avg max < <(measure $((RATE_DURATION - 7)))
    wait $load
    grep -q '"failed_requests": 0' "$WORK/rate.json" || { echo "loadgen saw failures: $(cat "$WORK/rate.json")"; exit 1; }
    echo "run $run: collector CPU ${cpu}% of one core; RSS avg ${avg} MiB, max ${max} MiB"
    results+=("$cpu $avg $max")
  done
  printf '%s\n' "${results[@]}" | sort -n | awk -v n="$REPEAT" -v l="$label" 'NR == int((n + 1) / 2) {
    printf "median: collector CPU %s%% of one core at %s; RSS avg %s MiB, max %s MiB\n", $1, l, $2, $3 }'
}

# saturation <metric-name> <item-name> <loadgen args...>: flat out for SAT_DURATION seconds.
saturation() {
  local metric=$1 item=$2
  shift 2
  taskset -c "$CPU_LOAD" "$BIN/sprout-loadgen" --endpoint "localhost:$BENCH_RECEIVER_PORT" \
    --rate 0 --duration "${SAT_DURATION}s" "$@" >"$WORK/sat.json" &
  local load=$!
  sleep 3
  local a0 t0 a1 t1 cpu avg max
  a0=$(accepted "$metric"); t0=$(date +%s.%N)
  read -r cpu avg max < <(measure $((SAT_DURATION - 5)))
  a1=$(accepted "$metric"); t1=$(date +%s.%N)
  wait $load
  echo "loadgen: $(cat "$WORK/sat.json")"
  awk -v a=$((a1 - a0)) -v t0="$t0" -v t1="$t1" -v cpu="$cpu" -v rss="$max" -v item="$item" 'BEGIN {
    rate = a / (t1 - t0)
    printf "collector: %.0f %s/s at %.1f%% of one core => %.0f %s/s per core (%.2f us CPU each); max RSS %.1f MiB\n",
           rate, item, cpu, rate / (cpu / 100), item, 1e6 * (cpu / 100) / rate, rss }'
}
