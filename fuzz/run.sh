#!/bin/bash
# Runs the libFuzzer targets of fuzz/ (fuzz/README.md).
#
#   fuzz/run.sh check BUILD_DIR SECONDS CC
#       TAP: per target, every file of fuzz/corpus/<target> and
#       fuzz/regressions/<target> once, then SECONDS of fuzzing from the
#       corpus (new inputs go to a scratch directory).  Without CC, or when
#       it cannot link libFuzzer, every test is skipped with the reason.
#   fuzz/run.sh fuzz BUILD_DIR SECONDS CC
#       fuzzes each target in turn for SECONDS at nice 19, keeping what it
#       finds in BUILD_DIR/fuzz/work/<target> across runs.
#
# Findings (crash-*, leak-*, timeout-*) go to BUILD_DIR/fuzz/artifacts/.
# The broker's log goes to stderr only when FUZZ_VERBOSE=1:
# -close_fd_mask=2 silences it otherwise (libFuzzer's progress and the
# reports of crashes, leaks and fd leaks still come through).
set -uo pipefail

mode=$1 build=$2 seconds=$3 cc=$4
src=$(cd "$(dirname "$0")" && pwd)
targets=(broker libclient)
artifacts=$build/fuzz/artifacts
mkdir -p "$artifacts"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
quiet=(-close_fd_mask=2)
[ "${FUZZ_VERBOSE:-0}" = 1 ] && quiet=()

# The files of the seed corpus and regressions of target $1.
inputs() {
	find "$src/corpus/$1" "$src/regressions/$1" -type f 2>/dev/null | sort
}

# Why the targets cannot run here, or nothing.
unavailable() {
	if ! command -v "$cc" >/dev/null; then
		echo "$cc not found (libFuzzer needs clang)"
		return
	fi
	if ! compgen -G "$("$cc" -print-runtime-dir)/libclang_rt.fuzzer-*.a" \
		>/dev/null; then
		echo "$cc has no libFuzzer runtime (libclang-rt-14-dev)"
		return
	fi
	for t in "${targets[@]}"; do
		if [ ! -x "$build/fuzz/fuzz_$t" ]; then
			echo "$build/fuzz/fuzz_$t not built"
			return
		fi
	done
}

check() {
	local why n=0 t bin log work files
	why=$(unavailable)
	echo "1..$((2 * ${#targets[@]}))"
	for t in "${targets[@]}"; do
		bin=$build/fuzz/fuzz_$t
		if [ -n "$why" ]; then
			echo "ok $((++n)) - fuzz_$t: corpus and regressions # SKIP $why"
			echo "ok $((++n)) - fuzz_$t: ${seconds} s of fuzzing # SKIP $why"
			continue
		fi
		log=$build/fuzz/check-$t.log
		mapfile -t files < <(inputs "$t")
		if "$bin" "${quiet[@]}" -artifact_prefix="$artifacts/" \
			"${files[@]}" >"$log" 2>&1; then
			echo "ok $((++n)) - fuzz_$t: ${#files[@]} corpus and regression inputs"
		else
			echo "not ok $((++n)) - fuzz_$t: corpus and regressions (see $log)"
			tail -n 30 "$log" | sed 's/^/# /'
		fi
		work=$build/fuzz/check-work/$t
		rm -rf "$work"
		mkdir -p "$work"
		if nice -n 19 "$bin" "${quiet[@]}" -max_total_time="$seconds" \
			-artifact_prefix="$artifacts/" -print_final_stats=1 \
			"$work" "$src/corpus/$t" >"$log" 2>&1; then
			echo "ok $((++n)) - fuzz_$t: ${seconds} s of fuzzing, $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs"
		else
			echo "not ok $((++n)) - fuzz_$t: ${seconds} s of fuzzing (see $log)"
			tail -n 30 "$log" | sed 's/^/# /'
		fi
	done
}

fuzz() {
	local why t bin work dirs status=0
	why=$(unavailable)
	if [ -n "$why" ]; then
		echo "fuzz: cannot fuzz: $why" >&2
		return 1
	fi
	for t in "${targets[@]}"; do
		bin=$build/fuzz/fuzz_$t
		work=$build/fuzz/work/$t
		mkdir -p "$work"
		dirs=("$work" "$src/corpus/$t")
		[ -d "$src/regressions/$t" ] && dirs+=("$src/regressions/$t")
		echo "### fuzz_$t for $seconds s (new inputs in $work)"
		nice -n 19 "$bin" "${quiet[@]}" -max_total_time="$seconds" \
			-artifact_prefix="$artifacts/" -print_final_stats=1 \
			"${dirs[@]}" || status=1
	done
	return $status
}

case $mode in
check) check ;;
fuzz) fuzz ;;
*) echo "usage: $0 check|fuzz BUILD_DIR SECONDS CC" >&2; exit 2 ;;
esac
