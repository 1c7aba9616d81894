#!/usr/bin/env bash
# Sets everything up and runs the whole test suite twice: a normal build, then
# one under AddressSanitizer + UndefinedBehaviorSanitizer. Exit 0 only if both pass.
set -euo pipefail
cd "$(dirname "$0")/.."

run_suite() {
	local dir=$1
	shift
	KP_BUILD_DIR=$dir KP_CMAKE_ARGS="$*" scripts/setup.sh
	(cd "$dir" && ctest --output-on-failure -j2 --timeout 600)
}

echo "== tests: release build" >&2
run_suite build
echo "== tests: ASan + UBSan build" >&2
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:suppressions=$PWD/tests/asan.supp UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_suite build-asan -DKP_SANITIZE=ON
echo "== all tests passed" >&2
