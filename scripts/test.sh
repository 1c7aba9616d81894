#!/usr/bin/env bash
# Sets everything up and runs the whole test suite twice: a normal build, then
# one under AddressSanitizer + UndefinedBehaviorSanitizer. Exit 0 only if both pass.
# The sanitizer build skips the end-to-end cases whose daemon paths other cases
# already take under it (run once, in the normal build): test_fleet_100k (the
# smaller fleets), test_crash_cameras (test_crash_restart, test_frigate),
# test_fleet_cameras (test_frigate, test_fleet_apc), test_broker_acl (the
# broker's configuration, not ours), test_dashboard (the browser; ui_http's
# unit test runs under it), test_partitions (a minute under ASan: its
# enrolment is about 80 tool runs; its daemon path, per-device subscriptions,
# passed under ASan when added, and test_verify covers the owner check),
# test_bridge (two daemons, 40 tool runs; the daemon path is test_partitions',
# what it adds is the brokers' bridge configuration),
# test_crash_loop (20 restarts under load: test_crash_cameras's paths, which
# test_crash_restart and test_frigate take under it; test_crash_cameras is
# itself left out), test_partition_move (three daemons and ~75 tool runs;
# the hand-over's code runs under ASan in test_tools_partition_move,
# test_storage_handoff and test_verify) and test_slow_disk (it preloads a shim built without ASan,
# which ASan refuses ahead of its runtime; the paths it drives, a full ring
# and a slow writer, run under it in test_backpressure and test_storage_full).
# The normal build has no debug info (it is not the one debugged), the
# sanitizer build is -O1: both compile faster. Tests run
# three at a time on two cores: the end-to-end ones mostly wait on fsync and
# sockets. Last, every libFuzzer target runs for 5 seconds from its committed
# corpus in a third, clang build (scripts/fuzz.sh; under 2 minutes with the
# build): a crash, leak or hang fails the suite.
set -euo pipefail
cd "$(dirname "$0")/.."

# run_suite DIR "CMAKE ARGS" [CTEST ARGS...]
run_suite() {
	local dir=$1 cmake_args=$2
	shift 2
	KP_BUILD_DIR=$dir KP_CMAKE_ARGS="$cmake_args" scripts/setup.sh
	(cd "$dir" && ctest --output-on-failure -j3 --timeout 600 "$@")
}

echo "== tests: release build" >&2
run_suite build "-DCMAKE_BUILD_TYPE=Release"
echo "== tests: ASan + UBSan build" >&2
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:suppressions=$PWD/tests/asan.supp UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_suite build-asan -DKP_SANITIZE=ON \
		-E '^test_(fleet_100k|crash_cameras|fleet_cameras|broker_acl|dashboard|partitions|bridge|crash_loop|slow_disk|partition_move)$'
echo "== tests: libFuzzer, 5 s per target" >&2
rm -rf build-fuzz/suite-run
KP_FUZZ_WORK=build-fuzz/suite-run scripts/fuzz.sh 5
echo "== all tests passed" >&2
