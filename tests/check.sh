#!/bin/bash
# Runs every test of dmabuf-broker and ends with "N passed, N failed, N skipped".
#
#   1. the userspace build (warnings are errors) and every program in
#      CHECK_PROGS (unit and integration tests, TAP output);
#   2. the same under AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. the integration tests once more with the daemon under valgrind;
#   4. the kernel module's tests in QEMU guests on Debian's 6.1 and 6.12
#      kernels (tests/vm/run.sh).
#
# Every result is a TAP line; a program that dies before reporting all the
# tests it planned counts the missing ones as failed.  A skipped test is
# counted as skipped, never as passed.  Set CHECK_STAGES to a subset of
# "build asan valgrind vm" to run fewer stages while developing.
set -uo pipefail

cd "$(dirname "$0")/.."
top=$PWD
stages=${CHECK_STAGES:-build asan valgrind vm}
log_dir=build/check
mkdir -p "$log_dir"

passed=0
failed=0
skipped=0
failures=()

# Adds one result to the totals.  $1: ok|fail|skip, $2: name.
record() {
	case $1 in
	ok) passed=$((passed + 1)) ;;
	skip) skipped=$((skipped + 1)) ;;
	*)
		failed=$((failed + 1))
		failures+=("$2")
		;;
	esac
}

# Reads TAP on stdin, echoes it, and records each result under prefix $1.
# Prints "planned seen" on fd 3 for the caller's check of missing results.
count_tap() {
	local prefix=$1 line planned=0 seen=0 name
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		1..*) planned=$((planned + ${line#1..})) ;;
		"not ok "*"# SKIP"* | "ok "*"# SKIP"* | "ok "*"# skip"*)
			seen=$((seen + 1)); record skip "$prefix: $line" ;;
		"not ok "*)
			seen=$((seen + 1)); record fail "$prefix: ${line#not ok }" ;;
		"ok "*)
			seen=$((seen + 1)); record ok "$prefix: ${line#ok }" ;;
		esac
	done
	echo "$planned $seen" >&3
}

# Runs one TAP program: $1 label, rest the command.
run_tap() {
	local label=$1 rc planned seen out
	shift
	echo "### $label: $*"
	out=$log_dir/$(echo "$label" | tr '/ ' '__').tap
	CMOCKA_MESSAGE_OUTPUT=TAP timeout --kill-after=30 "${TEST_TIMEOUT:-900}" \
		"$@" >"$out" 2>"$out.stderr"
	rc=$?
	count_tap "$label" <"$out" 3>"$out.count"
	read -r planned seen <"$out.count"
	if [ "$planned" -gt "$seen" ]; then
		for ((i = seen; i < planned; i++)); do
			record fail "$label: result $((i + 1)) of $planned missing"
		done
	fi
	if [ "$rc" -ne 0 ] && [ "$planned" -le "$seen" ] &&
		! grep -q '^not ok ' "$out"; then
		record fail "$label: exit status $rc with no failed test"
	fi
	if [ "$rc" -ne 0 ]; then
		echo "--- $label stderr (last 40 lines) ---"
		tail -n 40 "$out.stderr"
	fi
}

# Builds tree $1 with extra make arguments; records the build as a result.
build_tree() {
	local label=$1
	shift
	echo "### build $label"
	if make -j2 --no-print-directory "$@" all check-progs \
		>"$log_dir/build-$label.log" 2>&1; then
		record ok "build $label"
		return 0
	fi
	tail -n 60 "$log_dir/build-$label.log"
	record fail "build $label"
	return 1
}

check_progs() {
	make -s --no-print-directory "$@" print-check-progs
}

stage_build() {
	build_tree default || return
	for p in $(check_progs); do
		run_tap "${p#build/}" "$top/$p"
	done
}

stage_asan() {
	build_tree asan B=build/asan SANITIZE=1 || return
	for p in $(check_progs B=build/asan SANITIZE=1); do
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		DBB_BROKERD=$top/build/asan/daemon/dmabuf-brokerd \
			run_tap "asan/${p#build/asan/}" "$top/$p"
	done
}

stage_valgrind() {
	local vg="valgrind --error-exitcode=99 --leak-check=full"
	vg+=" --errors-for-leak-kinds=definite,indirect"
	vg+=" --show-leak-kinds=definite,indirect --track-fds=no -q"
	for p in $(check_progs); do
		case $p in
		*/integration/*)
			DBB_DAEMON_WRAPPER=$vg run_tap "valgrind/${p#build/}" "$top/$p" ;;
		esac
	done
}

stage_vm() {
	if [ ! -x tests/vm/run.sh ]; then
		record fail "vm: tests/vm/run.sh missing"
		return
	fi
	scripts/install-deps.sh all || { record fail "vm: install-deps"; return; }
	# Per kernel a guest of up to 900 s and a systemd guest of up to 480 s,
	# plus downloads and builds.
	TEST_TIMEOUT=3300 run_tap "vm" tests/vm/run.sh --kernel all --mode test
}

start=$(date +%s)
for s in $stages; do
	"stage_$s"
done

echo
echo "### finished in $(($(date +%s) - start)) s"
if [ ${#failures[@]} -gt 0 ]; then
	echo "### failed:"
	printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
