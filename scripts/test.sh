#!/bin/sh
# Build and run the whole test suite, three ways:
#   1. the Release build in build/ (ctest over the Criterion tests), and a
#      one-window `vmsim bench --quick` so the benchmarks keep running;
#   2. the same suite built with AddressSanitizer and UndefinedBehaviorSanitizer
#      in build-san/ (VMSIM_SANITIZE=ON), and part of the bench: any report
#      fails the run;
#   3. if clang is installed, the libFuzzer harnesses (tests/fuzz/) built in
#      build-fuzz/, each run for FUZZ_SECONDS (default 20) from its seed corpus.
# Environment: FUZZ_SECONDS=0 skips step 3; SKIP_SAN=1 skips step 2.
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc)
fuzz_seconds=${FUZZ_SECONDS:-20}
start=$(date +%s)

say() { printf '\n== %s (%ds)\n' "$1" $(($(date +%s) - start)); }

say "Release build and tests"
scripts/build.sh
ctest --test-dir build --output-on-failure -j"$jobs"
build/vmsim bench --quick --windows 1 >build/bench-smoke.txt ||
	{ cat build/bench-smoke.txt; exit 1; }

if [ "${SKIP_SAN:-0}" != 1 ]; then
	say "ASan + UBSan build and tests (build-san/)"
	cmake -S . -B build-san -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVMSIM_SANITIZE=ON >/dev/null
	cmake --build build-san -j"$jobs"
	# Leaks count; the first UB report ends the process (-fno-sanitize-recover).
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir build-san --output-on-failure -j"$jobs"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		build-san/vmsim bench --quick --windows 1 --only tlb-hit,replay,rss \
		>build-san/bench-smoke.txt || { cat build-san/bench-smoke.txt; exit 1; }
fi

if [ "$fuzz_seconds" -gt 0 ] && command -v clang >/dev/null 2>&1; then
	say "fuzzers, ${fuzz_seconds}s each (build-fuzz/)"
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Release -DVMSIM_TESTS=OFF >/dev/null
	cmake --build build-fuzz -j"$jobs" --target fuzzers
	mkdir -p build-fuzz/artifacts
	# Run each harness from its seeds; its corpus grows in build-fuzz/corpus/NAME
	# and is kept across runs.  Two at a time on two cores.
	run_one() {
		name=$1
		mkdir -p "build-fuzz/corpus/$name"
		"build-fuzz/fuzz_$name" -max_total_time="$fuzz_seconds" -timeout=10 \
			-rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix="build-fuzz/artifacts/$name-" \
			"build-fuzz/corpus/$name" "tests/fuzz/corpus/$name" \
			>"build-fuzz/fuzz_$name.log" 2>&1
	}
	failed=""
	pids=""
	names=""
	for src in tests/fuzz/fuzz_*.c; do
		name=$(basename "$src" .c)
		name=${name#fuzz_}
		run_one "$name" &
		pids="$pids $!"
		names="$names $name"
		if [ "$(echo "$pids" | wc -w)" -ge "$jobs" ]; then
			# shellcheck disable=SC2086 # split the list into $1, $2, ...
			set -- $names
			for p in $pids; do
				wait "$p" || failed="$failed $1"
				shift
			done
			pids=""
			names=""
		fi
	done
	# shellcheck disable=SC2086
	set -- $names
	for p in $pids; do
		wait "$p" || failed="$failed $1"
		shift
	done
	for src in tests/fuzz/fuzz_*.c; do
		name=$(basename "$src" .c)
		name=${name#fuzz_}
		execs=$(sed -n 's/^stat::number_of_executed_units: //p' "build-fuzz/fuzz_$name.log")
		echo "fuzz_$name: ${execs:-?} executions in ${fuzz_seconds}s"
	done
	if [ -n "$failed" ]; then
		for name in $failed; do
			echo "fuzz_$name FAILED; the end of build-fuzz/fuzz_$name.log:"
			tail -40 "build-fuzz/fuzz_$name.log"
		done
		echo "Saved inputs are in build-fuzz/artifacts/.  Reproduce with" \
			"build-fuzz/fuzz_NAME FILE; keep each one in tests/fuzz/regress/NAME/."
		exit 1
	fi
fi
say "all passed"
