# shellcheck shell=bash
# The kernel's dma-heap selftest (tools/testing/selftests/dmabuf-heaps/,
# built by `make kmod-tests` from Debian's linux-source-6.12) against the
# module's heap, sourced by guest.sh, which provides ok/not_ok/skip/diag.
#
# The selftest runs every test on every heap in /dev/dma_heap: each run
# gets a private mount namespace whose /dev/dma_heap holds one heap only.
# Its own TAP results are relayed one by one, then checked for number:
# all HEAP_SELFTEST_TESTS of them must pass (a SKIP, such as no vgem for
# its import test, does not count as a pass).

HEAP_SELFTEST=$BUILD/tests/kmod/dmabuf-heap
# Tests per heap in the 6.12 selftest (its plan is 11 per heap).
HEAP_SELFTEST_TESTS=11

# heap_selftest LABEL NODE: the selftest with the device NODE as the only
# heap, named as NODE is.
heap_selftest() {
	local label=$1 node=$2 dir out=/tmp/heap-selftest.out rc line t0
	local passed=0 seen=0 re='^(not ok|ok) ([0-9]+) (.*)$'

	if ! dir=$(mktemp -d /run/dma_heap.XXXXXX) || ! cp -a "$node" "$dir/"; then
		not_ok "$label (cannot stage ${node##*/} in a private /dev/dma_heap)"
		return 0
	fi
	# stdin is /dev/null: the selftest expects an ioctl on fd 0 to fail.
	t0=$(cut -d' ' -f1 /proc/uptime)
	# shellcheck disable=SC2016 # expanded by the inner shell
	timeout -k 5 240 unshare --mount sh -c \
		'mount --bind "$1" /dev/dma_heap && exec "$2"' sh "$dir" "$HEAP_SELFTEST" \
		</dev/null >"$out" 2>&1
	rc=$?
	t0=$(awk -v a="$t0" '{ printf "%.1f", $1 - a }' /proc/uptime)
	rm -rf "$dir"
	while IFS= read -r line; do
		if [[ $line =~ $re ]]; then
			seen=$((seen + 1))
			local status=${BASH_REMATCH[1]} num=${BASH_REMATCH[2]} desc=${BASH_REMATCH[3]}
			if [[ $desc =~ ^#\ *SKIP\ *(.*)$ ]]; then
				skip "$label $num" "${BASH_REMATCH[1]}"
			elif [[ $status == ok ]]; then
				passed=$((passed + 1))
				ok "$label $num: $desc"
			else
				not_ok "$label $num: $desc"
			fi
		else
			diag "| $line"
		fi
	done <"$out"
	diag "$label: exit status $rc, $passed of $seen results passed, $t0 s"
	if ((rc == 0 && seen == HEAP_SELFTEST_TESTS && passed == HEAP_SELFTEST_TESTS)); then
		ok "$label: all $HEAP_SELFTEST_TESTS of its tests pass"
	else
		not_ok "$label: all $HEAP_SELFTEST_TESTS of its tests pass"
	fi
}

# heap_selftests: against /dev/dmabuf_sg, and against the kernel's system
# heap where there is one (6.12), which shows what the selftest expects of
# any heap on this very kernel.
heap_selftests() {
	if [[ ! -x $HEAP_SELFTEST ]]; then
		not_ok "dma-heap selftest on dmabuf_sg (not built: no $HEAP_SELFTEST; the host needs linux-source-6.12, scripts/install-deps.sh all)"
		return 0
	fi
	heap_selftest "dma-heap selftest on dmabuf_sg" /dev/dmabuf_sg
	if [[ -c /dev/dma_heap/system ]]; then
		heap_selftest "dma-heap selftest on the system heap" /dev/dma_heap/system
	else
		skip "dma-heap selftest on the system heap" "no system heap in this kernel"
	fi
}
