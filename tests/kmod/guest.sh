#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dmabuf_sg kernel tests, run inside a test guest by tests/vm (see
# tests/vm/README.md for the contract).  Environment:
#
#   PROJECT   the project tree          KVER     uname -r
#   KMOD_DIR  holds dmabuf_sg.ko        RESULTS  writable, kept on the host
#   MODE      test or bench             BUILD    build dir (tests/kmod/*)
#
# test mode prints TAP: load the module, every case of dmabuf_sg_test in its
# own process (bad input first), the module lifetime checks, unload; then
# the broker's tests on every backend (tests/vm/guest-broker.sh).  The plan
# comes last, once the broker's programs have told their counts.  bench
# mode prints the module's benchmark table, then the broker's backends
# against their ioctls (bench_backends).  The exit status is 0 when the
# script ran to its end; failed tests are reported by their TAP lines.

set -u

TEST_BIN=$BUILD/tests/kmod/dmabuf_sg_test
HOLD_BIN=$BUILD/tests/kmod/dmabuf_sg_hold
BENCH_BIN=$BUILD/bench/kmod/dmabuf_sg_bench
KO=$KMOD_DIR/dmabuf_sg.ko
STATS=/sys/class/misc/dmabuf_sg/stats
CASE_TIMEOUT=240
# Exhausting the guest's memory takes 50 s to over 240 s under QEMU's
# emulator (the kernel zeroes and reclaims every page, emulated), varying
# from run to run on an idle host: that one case gets more room.
CASE_TIMEOUT_EXHAUST=480
N=0

ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() { N=$((N + 1)); echo "not ok $N - $1"; }
skip() { N=$((N + 1)); echo "ok $N - $1 # SKIP $2"; }
check() {	# check NAME COMMAND...: ok when the command succeeds
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
diag() { echo "# $*"; }

now() { cut -d' ' -f1 /proc/uptime; }

load_module() {
	insmod "$KO" "$@" 2>&1 | sed 's/^/# insmod: /'
	[[ -c /dev/dmabuf_sg ]]
}

# The node may take a moment: devtmpfs creates it asynchronously.
device_node_ok() {
	local i mode

	for i in 1 2 3 4 5 6 7 8 9 10; do
		[[ -c /dev/dmabuf_sg ]] && break
		sleep 0.2
	done
	mode=$(stat -c %a /dev/dmabuf_sg 2>/dev/null)
	diag "/dev/dmabuf_sg mode $mode, stats: $(ls "$STATS" 2>/dev/null | tr '\n' ' ')"
	[[ $mode == 600 && -r $STATS/live_buffers && -r $STATS/blocks_per_order ]]
}

load_importers() {
	local m

	for m in vgem vivid; do
		modprobe "$m" 2>&1 | sed "s/^/# modprobe $m: /" ||
			diag "modprobe $m failed: its tests will SKIP"
	done
	# udev does not run here: give the dma-heap symlink by hand, as the
	# rule in systemd/60-dmabuf-broker.rules would.
	mkdir -p /dev/dma_heap && ln -sf ../dmabuf_sg /dev/dma_heap/dmabuf_sg
	sleep 1	# vivid registers its nodes asynchronously
}

# run_case NAME: one test process; its "# " lines pass through, the last
# "skip: " line is the skip reason.
run_case() {
	local name=$1 out=/tmp/case.out rc t0 reason limit=$CASE_TIMEOUT

	[[ $name == *"beyond memory"* ]] && limit=$CASE_TIMEOUT_EXHAUST
	t0=$(now)
	timeout -k 5 "$limit" "$TEST_BIN" "$name" >"$out" 2>&1
	rc=$?
	grep -v '^skip: ' "$out" | sed -e '/^#/!s/^/# | /'
	diag "($(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s)"
	case $rc in
	0) ok "$name" ;;
	77)
		reason=$(grep '^skip: ' "$out" | tail -n 1 | cut -c7-)
		skip "$name" "${reason:-no reason given}"
		;;
	124 | 137) not_ok "$name (timed out after $limit s)" ;;
	*) not_ok "$name" ;;
	esac
}

counters_at_zero() {
	local f v good=0

	for f in live_buffers allocated_bytes pinned_bytes reserved_bytes; do
		v=$(cat "$STATS/$f")
		diag "$f $v"
		[[ $v == 0 ]] || good=1
	done
	v=$(cat "$STATS/blocks_per_order")
	diag "blocks_per_order $v"
	[[ $v =~ ^[0\ ]+$ ]] || good=1
	return $good
}

# free_kib: MemFree plus the pages on the per-CPU free lists, which MemFree
# leaves out and which hold tens of MiB at times (see util_free_kib()).
free_kib() {
	awk -v page="$(getconf PAGESIZE)" '
		FILENAME == "/proc/meminfo" && $1 == "MemFree:" { kib += $2 }
		FILENAME == "/proc/zoneinfo" && $1 == "count:" { kib += $2 * page / 1024 }
		END { print kib }' /proc/meminfo /proc/zoneinfo
}

# pool_came_back POOL_KIB FREE_BEFORE_KIB: rmmod gave the pool's pages back
# (the last test case left it holding 64 MiB or more).  Free memory moves
# by a few MiB of its own between two readings: 16 MiB of tolerance.
pool_came_back() {
	local pool=$1 before=$2 after

	after=$(free_kib)
	diag "pool held $pool KiB; free memory $before KiB before rmmod, $after KiB after"
	((pool >= 64 * 1024 && after - before >= pool - 16 * 1024))
}

# With kmemleak in the kernel, a scan after rmmod must find nothing.
kmemleak_clean() {
	local f=/sys/kernel/debug/kmemleak report

	echo scan >"$f" || return 1
	report=$(cat "$f")
	[[ -z $report ]] || diag "kmemleak: $report"
	[[ -z $report ]]
}

# The module must stay while a dma-buf lives (the dma-buf holds a module
# reference), and go once the last one is released.
lifetime_checks() {
	local fifo=/tmp/hold.in out=/tmp/hold.out i

	rm -f "$fifo" "$out"
	mkfifo "$fifo"
	"$HOLD_BIN" <"$fifo" >"$out" 2>&1 &
	local pid=$!
	exec 4>"$fifo"
	for i in $(seq 50); do
		grep -q ready "$out" 2>/dev/null && break
		sleep 0.2
	done
	diag "holder: $(cat "$out"), module refcnt $(cat /sys/module/dmabuf_sg/refcnt 2>/dev/null)"
	if grep -q ready "$out" && ! rmmod dmabuf_sg 2>/dev/null && [[ -d /sys/module/dmabuf_sg ]]; then
		ok "rmmod refused while a buffer lives"
	else
		not_ok "rmmod refused while a buffer lives"
	fi
	exec 4>&-
	wait "$pid"
	check "holder released its buffer" counters_at_zero
	local pool_kib free_before
	pool_kib=$(($(cat "$STATS/pool_bytes") / 1024))
	free_before=$(free_kib)
	check "rmmod works once the last buffer is gone" rmmod dmabuf_sg
	check "module gone after rmmod" test ! -e /sys/module/dmabuf_sg
	check "rmmod gives the full pool back" pool_came_back "$pool_kib" "$free_before"
	if [[ -e /sys/kernel/debug/kmemleak ]]; then
		check "kmemleak finds nothing after rmmod" kmemleak_clean
	else
		skip "kmemleak finds nothing after rmmod" "no kmemleak in this kernel"
	fi
}

# The charge tests build memory cgroups of their own: cgroup2 with the
# memory controller enabled at its root, which no init mounts here.
cgroup_setup() {
	mountpoint -q /sys/fs/cgroup ||
		mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>&1 | sed 's/^/# mount cgroup2: /'
	echo +memory >/sys/fs/cgroup/cgroup.subtree_control 2>&1 |
		sed 's/^/# cgroup.subtree_control: /'
	diag "cgroup2 root controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null)"
}

kmod_tests() {
	local cases name

	mapfile -t cases <<<"$("$TEST_BIN" --list)"
	diag "kernel $KVER, module $KO"
	if ! load_module; then
		not_ok "insmod dmabuf_sg.ko"
		for name in "${cases[@]}"; do not_ok "$name (module not loaded)"; done
		not_ok "dma-heap selftest on dmabuf_sg (module not loaded)"
		for name in 1 2 3 4 5 6 7; do not_ok "lifetime check $name (module not loaded)"; done
		return 0
	fi
	ok "insmod dmabuf_sg.ko"
	check "device node mode 0600, stats in sysfs" device_node_ok
	load_importers
	heap_selftests
	for name in "${cases[@]}"; do
		run_case "$name"
	done
	lifetime_checks
}

run_tests() {
	# One test exhausts memory on purpose: let the OOM killer, should it
	# wake, take a test process rather than this script.
	echo -1000 >/proc/self/oom_score_adj
	cgroup_setup
	kmod_tests
	broker_tests
	echo "1..$N"
}

run_bench() {
	if ! load_module; then
		echo "bench: insmod $KO failed"
		return 1
	fi
	# SG entries are read from the dma:dma_map_sg trace event of a vgem
	# import (see bench/kmod/bench.c).
	modprobe vgem 2>&1 | sed 's/^/modprobe vgem: /'
	mountpoint -q /sys/kernel/tracing ||
		mount -t tracefs nodev /sys/kernel/tracing 2>&1 | sed 's/^/mount tracefs: /'
	echo "kernel $KVER"
	"$BENCH_BIN"
	broker_bench
	rmmod dmabuf_sg
}

# The broker's dma-buf backends against their own ioctls, from daemons of
# the snapshot (bench/broker/bench_backends.c); dmabuf_sg stays loaded.
broker_bench() {
	echo
	if [[ ${BROKER_BUILD:-} != ok ]]; then
		echo "bench_backends: not run: ${BROKER_BUILD:-no build of the broker}"
		return 0
	fi
	modprobe udmabuf 2>/dev/null
	DBB_BROKERD=$BUILD/daemon/dmabuf-brokerd LD_LIBRARY_PATH=$BUILD/libclient \
		"$BUILD/bench/broker/bench_backends"
}

for f in "$TEST_BIN" "$HOLD_BIN" "$BENCH_BIN" "$KO" \
	"$PROJECT/tests/vm/guest-broker.sh"; do
	if [[ ! -e $f ]]; then
		echo "Bail out! missing $f (make kmod-tests; make kmod KDIR=...)"
		exit 1
	fi
done

# shellcheck source=../vm/guest-broker.sh
source "$PROJECT/tests/vm/guest-broker.sh"
# shellcheck source=heap-selftest.sh
source "$PROJECT/tests/kmod/heap-selftest.sh"

case ${MODE:-test} in
bench) run_bench ;;
*) run_tests ;;
esac
