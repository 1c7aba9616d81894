#!/usr/bin/env bash
# Sets everything up and runs the whole test suite twice: a normal build, then
# one under AddressSanitizer + UndefinedBehaviorSanitizer. Exit 0 only if both pass.
# The sanitizer build skips test_fleet_100k, the slowest end-to-end case (run once,
# in the normal build); the smaller fleet and crash tests take the same paths under ASan.
set -euo pipefail
cd "$(dirname "$0")/.."

# run_suite DIR "CMAKE ARGS" [CTEST ARGS...]
run_suite() {
	local dir=$1 cmake_args=$2
	shift 2
	KP_BUILD_DIR=$dir KP_CMAKE_ARGS="$cmake_args" scripts/setup.sh
	(cd "$dir" && ctest --output-on-failure -j2 --timeout 600 "$@")
}

echo "== tests: release build" >&2
run_suite build ""
echo "== tests: ASan + UBSan build" >&2
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:suppressions=$PWD/tests/asan.supp UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_suite build-asan -DKP_SANITIZE=ON -E '^test_fleet_100k$'
echo "== all tests passed" >&2
