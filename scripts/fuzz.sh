#!/usr/bin/env bash
# Runs every libFuzzer target (tests/fuzz/) for a bounded time or number of
# executions and prints, per target, the executions, exec/s, the new corpus
# inputs found and the crashes. Exit 1 when any target crashed, leaked, hung or
# could not run; 2 on a usage error.
#   scripts/fuzz.sh [SECONDS_PER_TARGET | --execs N] [TARGET...]
# Default: 60 seconds per target, every target. Builds the targets first with
# clang into $KP_FUZZ_BUILD_DIR (default build-fuzz, -DKP_FUZZ=ON). Each target
# starts from its committed corpus (tests/fuzz/corpus/TARGET, left unchanged)
# and writes what it finds, and any crash-*/leak-*/timeout-* input, under
# $KP_FUZZ_WORK (default: a new directory in /tmp, kept and named at the end).
# The machine may be shared: run long runs under `nice -n 19`.
set -euo pipefail
cd "$(dirname "$0")/.."

all=(fuzz_frame fuzz_http fuzz_config fuzz_frigate fuzz_gtfs_csv fuzz_hll fuzz_minisign)
limit=(-max_total_time=60)
if [ $# -gt 0 ] && [ "$1" = --execs ]; then
	[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: --execs needs a positive number" >&2; exit 2; }
	limit=(-runs="$2")
	shift 2
elif [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
	[ "$1" -gt 0 ] || { echo "fuzz.sh: SECONDS_PER_TARGET must be positive" >&2; exit 2; }
	limit=(-max_total_time="$1")
	shift
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
	[[ " ${all[*]} " == *" $t "* ]] || { echo "fuzz.sh: no target '$t'; targets: ${all[*]}" >&2; exit 2; }
done

build=${KP_FUZZ_BUILD_DIR:-build-fuzz}
# CC only takes effect when the build directory is new.
CC=clang cmake -S . -B "$build" -DKP_FUZZ=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >/dev/null

work=${KP_FUZZ_WORK:-$(mktemp -d /tmp/kp-fuzz.XXXXXX)}
failed=0
printf '%-14s %12s %8s %8s %7s %7s\n' target execs exec/s seconds new crashes
for t in "${targets[@]}"; do
	dir=$work/$t
	mkdir -p "$dir/corpus"
	rc=0
	# The scratch corpus comes first: libFuzzer adds what it finds to the first directory.
	"$build/tests/fuzz/$t" "${limit[@]}" -timeout=10 -print_final_stats=1 -artifact_prefix="$dir/" \
		"$dir/corpus" "tests/fuzz/corpus/$t" >"$dir/log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log")
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$dir/log")
	# An interrupted run prints no "Done" line: the seconds from its rate.
	[ -n "$secs" ] || [ -z "$execs" ] || [ "${rate:-0}" -eq 0 ] || secs=$((execs / rate))
	crashes=$(find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
		-o -name 'oom-*' \) | wc -l)
	corpus=$(find "$dir/corpus" -type f | wc -l)
	printf '%-14s %12s %8s %8s %7s %7s\n' "$t" "${execs:-?}" "${rate:-?}" "${secs:-?}" "$corpus" "$crashes"
	if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ] || [ -z "$execs" ]; then
		echo "fuzz.sh: $t failed (exit $rc); its log: $dir/log" >&2
		grep -m1 -E '^==[0-9]+==ERROR|^SUMMARY' "$dir/log" >&2 || tail -n 5 "$dir/log" >&2
		failed=1
	fi
done
echo "fuzz.sh: corpora, logs and crashes in $work" >&2
exit "$failed"
