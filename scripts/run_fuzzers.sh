#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for a bounded time each.
#   scripts/run_fuzzers.sh <build-dir> <seconds-per-target>
# Corpora live in <build-dir>/corpus/<target> (kept between runs); a committed corpus next to the
# fuzzer's sources (src/**/corpus/<target>/: seeds and past crashes, replayed by `make test`) is
# read as well. Crashes are written to <build-dir>/crashes/<target>/ and fail the run; copy them
# into the committed corpus once fixed.
set -euo pipefail
BUILD=${1:-build-fuzz}
SECONDS_EACH=${2:-60}
status=0
# Third-party findings we cannot fix (see the file) do not hide ours.
export UBSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/ubsan.supp:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
for fuzzer in "$BUILD"/bin/*_fuzzer; do
  name=$(basename "$fuzzer")
  corpus="$BUILD/corpus/$name"
  crashes="$BUILD/crashes/$name"
  mkdir -p "$corpus" "$crashes"
  # A token dictionary next to the fuzzer's sources (src/**/<name>.dict), when there is one.
  dict=$(find "$(dirname "$0")/../src" -name "$name.dict" | head -1)
  seeds=$(find "$(dirname "$0")/../src" -type d -path "*/corpus/$name" | head -1)
  echo "== $name for ${SECONDS_EACH}s"
  if ! "$fuzzer" "$corpus" ${seeds:+"$seeds"} -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 \
       ${dict:+-dict="$dict"} \
       -print_final_stats=1 -artifact_prefix="$crashes/" 2>"$BUILD/$name.log"; then
    echo "!! $name failed; see $BUILD/$name.log and $crashes/"
    tail -30 "$BUILD/$name.log"
    status=1
  else
    grep -E "^stat::number_of_executed_units|^Done" "$BUILD/$name.log" || true
  fi
done
exit $status
