#!/bin/bash
# Runs the kernel tests inside QEMU (TCG) on Debian's own kernels and prints
# the results as one TAP stream.  See tests/vm/README.md.
#
#   tests/vm/run.sh [--kernel 6.1|6.12|all] [--mode test|bench] [--timeout SECS]
#
# Environment: GUEST_SCRIPT runs another guest script than tests/kmod/guest.sh
# (any absolute host path); GUEST_SYSTEMD_ONLY=1 boots only the systemd
# guest (tests/systemd), SYSTEMD_CASES=GLOB only the cases GLOB names
# there; BUILD_DIR overrides build/;
# QEMU_EXTRA adds QEMU arguments (e.g. "-s" for gdb).

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROJECT=$(cd "$HERE/../.." && pwd)
BUILD=$(realpath -m "${BUILD_DIR:-$PROJECT/build}")
VM=$BUILD/vm
# One lock per checkout, wherever BUILD_DIR points.
QEMU_LOCK=$PROJECT/build/vm/.qemu.lock
# A developer's own GUEST_SCRIPT runs even when the project's builds fail.
GUEST_SCRIPT_SET=${GUEST_SCRIPT:+yes}
GUEST_SCRIPT=$(realpath -m "${GUEST_SCRIPT:-$PROJECT/tests/kmod/guest.sh}")
ALL_SERIES=(6.1 6.12)
# The systemd guest's bound, boot included: on the 2-core build machine
# it ran 143 s (6.1) and 176 s (6.12) with every case; the crash-safety
# case alone allows itself up to 400 s.
SYSTEMD_TIMEOUT=${SYSTEMD_TIMEOUT:-600}
# Where its `make install DESTDIR=... PREFIX=/usr` is staged.
INSTALL_ROOT=$VM/install

# shellcheck source-path=SCRIPTDIR
source "$HERE/tap.sh"
source "$HERE/kernel.sh"
source "$HERE/klog.sh"

log() { tap_comment "vm: $*"; }

usage() {
	cat <<EOF
usage: $0 [--kernel 6.1|6.12|all] [--mode test|bench] [--timeout SECS]

Boots each selected Debian kernel under QEMU/TCG and runs the kernel tests
(\$GUEST_SCRIPT, default tests/kmod/guest.sh) inside.  --timeout bounds one
guest, boot included (default 900 s).
EOF
}

die() {
	echo "run.sh: $*" >&2
	exit 2
}

parse_args() {
	SERIES=("${ALL_SERIES[@]}") MODE=test TIMEOUT=900
	while [[ $# -gt 0 ]]; do
		case $1 in
		--kernel=* | --mode=* | --timeout=*) set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
		--kernel) SERIES=("$2"); shift 2 ;;
		--mode) MODE=$2; shift 2 ;;
		--timeout) TIMEOUT=$2; shift 2 ;;
		-h | --help) usage; exit 0 ;;
		*) usage >&2; exit 2 ;;
		esac
	done
	[[ ${SERIES[0]} == all ]] && SERIES=("${ALL_SERIES[@]}")
	[[ ${SERIES[0]} =~ ^[0-9]+\.[0-9]+$ ]] || die "bad --kernel ${SERIES[0]}"
	[[ $MODE == test || $MODE == bench ]] || die "bad --mode $MODE"
	[[ $TIMEOUT =~ ^[0-9]+$ && $TIMEOUT -ge 60 ]] ||
		die "--timeout wants whole seconds, at least 60"
	# Paths travel on the kernel command line, which splits on blanks.
	[[ $PROJECT$BUILD != *[[:space:]]* ]] || die "no blanks in $PROJECT or $BUILD"
}

# show_tail FILE [LINES]: the end of a log, as TAP comments.
show_tail() {
	[[ -s $1 ]] || return 0
	tap_comment "--- last lines of $1:"
	tail -n "${2:-25}" "$1" | tap_indent
}

# show_errors LOG: a build log's error lines, or its end when it has none.
show_errors() {
	local -a errors

	mapfile -t errors < <(grep -E '(error|warning):|undefined reference|multiple definition|\*\*\*' "$1" | head -n 30)
	if [[ ${#errors[@]} -eq 0 ]]; then
		show_tail "$1"
		return 0
	fi
	tap_comment "--- errors in $1:"
	printf '%s\n' "${errors[@]}" | tap_indent
}

# report_build WHAT RESULT LOG
report_build() {
	case $2 in
	ok) tap_ok "$1" ;;
	skip*) tap_skip "$1" "${2#skip }" ;;
	*) tap_not_ok "$1"; show_errors "$3" ;;
	esac
}

# skip_guest LABEL REASON: the three per-kernel results, skipped.
skip_guest() {
	tap_skip "$1 boot" "$2"
	tap_skip "$1 guest script exit status" "$2"
	tap_skip "$1 kernel log clean" "$2"
}

# skip_guests LABEL REASON: both guests' results, skipped.
skip_guests() {
	[[ -n ${GUEST_SYSTEMD_ONLY:-} ]] || skip_guest "$1" "$2"
	skip_guest "$1 systemd" "$2"
}

# prepare_kernel: image, headers and module tree for $KVER.
prepare_kernel() {
	fetch_image || { show_tail "$VM/$KVER/download.log"; return 1; }
	extract_image || return 1
	install_headers || { show_tail "$VM/apt-install.log"; return 1; }
}

# write_guest_env: the settings of the guest in $GDIR (see README.md), as
# shell assignments for guest-init.sh or systemd-init.sh.
write_guest_env() {
	local dir=$VM/$KVER v
	# shellcheck disable=SC2034 # read through ${!v}
	local RESULTS=$GDIR/results MODULES_TREE=$dir/root/lib/modules/$KVER \
		BUILD=$dir/build KMOD_DIR=$dir/build/kmod/$KVER \
		BROKER_BUILD=$BROKER_RESULT GUEST_TIMEOUT=$((GTIMEOUT - 45)) \
		CASES=${SYSTEMD_CASES:-}

	# shellcheck disable=SC2034 # read through ${!v}
	[[ $BROKER_RESULT != failed ]] ||
		BROKER_BUILD="the host's make all check-progs guest-progs failed"
	for v in PROJECT KVER KMOD_DIR RESULTS MODE BUILD GUEST_SCRIPT \
		GUEST_TIMEOUT MODULES_TREE BROKER_BUILD BROKER_PROGS GUEST_PROGS \
		INSTALL_ROOT CASES; do
		printf '%s=%q\n' "$v" "${!v}"
	done
}

# vm_lock, vm_unlock: one boot at a time on this machine, and no build
# while a guest runs: the guest reads the binaries through a caching 9p
# mount, and one relinked under it fails to load.
vm_lock() {
	exec {VM_LOCK}>"$QEMU_LOCK"
	flock "$VM_LOCK"
}

vm_unlock() {
	exec {VM_LOCK}>&-
}

# snapshot_build DIR: the build folder (less vm/) as hard links in DIR.
# The guest runs the binaries from there: one that is relinked on the host
# meanwhile (the linker writes a new file) cannot change under it, which
# through the guest's caching 9p mount would make it fail to load.
snapshot_build() {
	local how

	for how in -al -a; do	# hard links, or copies across file systems
		rm -rf "$1"
		mkdir -p "$1"
		find "$BUILD" -mindepth 1 -maxdepth 1 ! -path "$VM" \
			-exec cp "$how" -t "$1" {} + 2>/dev/null && return 0
	done
	return 1
}

# boot_guest INIT: one QEMU run of the guest in $GDIR, whose PID 1 is the
# script INIT (guest-init.sh, or systemd-init.sh and then systemd), within
# $GTIMEOUT seconds.  Sets QEMU_RC and QEMU_SECONDS.
boot_guest() {
	local init=$1 dir=$VM/$KVER t0 append

	mkdir -p "$GDIR/results"
	find "$GDIR/results" -mindepth 1 -delete
	write_guest_env >"$GDIR/guest.env"
	append="console=ttyS0 panic=-1 log_buf_len=8M watchdog_thresh=60"
	append+=" DBB_INIT=$HERE/$init DBB_ENV=$GDIR/guest.env"
	# systemd: the guest's own target only, and no fstab or partition
	# discovery of the host's (the root is the overlay already).
	[[ $init != systemd-init.sh ]] ||
		append+=" systemd.unit=dbb-guest.target fstab=no systemd.gpt_auto=no"
	t0=$EPOCHREALTIME
	QEMU_RC=0
	# -cpu max: SMEP, SMAP and UMIP catch a module touching user memory
	# directly; TCG runs it no slower than the default model.
	# --foreground keeps QEMU in our process group, so that a timeout or
	# Ctrl-C that stops this script stops QEMU too.
	# shellcheck disable=SC2086 # QEMU_EXTRA: extra arguments, split
	timeout --foreground -k 10 "$GTIMEOUT" qemu-system-x86_64 -accel tcg -cpu max \
		-m 3G -smp 2 -nographic -no-reboot -nic none ${QEMU_EXTRA:-} \
		-kernel "$dir/root/boot/vmlinuz-$KVER" -initrd "$INITRD" \
		-append "$append" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$GDIR/results,mount_tag=results,security_model=none,multidevs=remap" \
		</dev/null >"$GDIR/console.log" 2>&1 || QEMU_RC=$?
	QEMU_SECONDS=$(elapsed "$t0")
}

elapsed() {
	awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'
}

# relay_output LABEL: the guest script's output, renamed per kernel (test
# mode) or as it is (bench mode).  Sets PLAN_NOTE when the guest's plan
# and its test lines disagree.
relay_output() {
	local out=$GDIR/results/output.txt planned seen

	PLAN_NOTE=""
	[[ -f $out ]] || return 0
	if [[ $MODE == bench ]]; then
		cat "$out"
		return 0
	fi
	tap_relay "$1" <"$out" 3>"$GDIR/relay.counts"
	read -r planned seen <"$GDIR/relay.counts"
	if [[ $planned -ge 0 && $planned -ne $seen ]]; then
		PLAN_NOTE="planned $planned tests, ran $seen"
	fi
}

report_boot() {
	if [[ -f $GDIR/results/rc ]]; then
		tap_ok "$1 boot"
		return 0
	fi
	tap_not_ok "$1 boot"
	if [[ $QEMU_RC -eq 124 || $QEMU_RC -eq 137 ]]; then
		tap_comment "$1 QEMU killed after the ${GTIMEOUT} s timeout"
	else
		tap_comment "$1 QEMU exited with $QEMU_RC before the guest wrote rc"
	fi
	show_tail "$GDIR/console.log" 40
}

report_exit_status() {
	local rc

	rc=$(cat "$GDIR/results/rc" 2>/dev/null || echo none)
	if [[ $rc == 0 && -z $PLAN_NOTE ]]; then
		tap_ok "$1 guest script exit status"
		return 0
	fi
	tap_not_ok "$1 guest script exit status"
	case $rc in
	none) tap_comment "$1 the guest script did not finish" ;;
	124 | 137) tap_comment "$1 guest script timed out after $((GTIMEOUT - 45)) s" ;;
	*) tap_comment "$1 guest script exited with $rc" ;;
	esac
	[[ -z $PLAN_NOTE ]] || tap_comment "$1 $PLAN_NOTE"
}

report_kernel_log() {
	local dmesg=$GDIR/results/dmesg.txt problems

	if [[ ! -s $dmesg ]]; then
		tap_not_ok "$1 kernel log clean"
		tap_comment "$1 no dmesg.txt from the guest; console log says:"
		dmesg=$GDIR/console.log
	elif problems=$(klog_problems "$dmesg"); then
		tap_not_ok "$1 kernel log clean"
	else
		tap_ok "$1 kernel log clean"
		return 0
	fi
	if problems=$(klog_problems "$dmesg"); then
		tap_indent <<<"$problems"
		tap_comment "$1 (full log: $dmesg)"
	fi
}

# build_and_boot LABEL: builds the module and boots the guest unless a
# build failed.  Sets BOOTED.
build_and_boot() {
	BOOTED=no
	build_module
	report_build "$1 build dmabuf_sg.ko" "$MODULE_RESULT" "$VM/$KVER/kmod-build.log"
	snapshot_build "$VM/$KVER/build"
	[[ -z ${GUEST_SYSTEMD_ONLY:-} ]] || return 0
	# Booting after a failed build would test stale binaries.
	if [[ -z $GUEST_SCRIPT_SET && ( $MODULE_RESULT == failed ||
		$GUEST_TESTS_RESULT == failed ) ]]; then
		skip_guest "$1" "build failed"
	elif [[ ! -f $GUEST_SCRIPT ]]; then
		skip_guest "$1" "no guest script $GUEST_SCRIPT"
	else
		GDIR=$VM/$KVER GTIMEOUT=$TIMEOUT boot_guest guest-init.sh
		BOOTED=yes
	fi
}

# report_guest LABEL: the results of the guest in $GDIR.
report_guest() {
	relay_output "$1"
	report_boot "$1"
	report_exit_status "$1"
	report_kernel_log "$1"
}

# systemd_guest LABEL: the systemd boot of $KVER (tests/systemd), unless
# what it needs is missing; its results are named "LABEL systemd ...".
systemd_guest() {
	local label="$1 systemd" GDIR=$VM/$KVER/systemd GTIMEOUT=$SYSTEMD_TIMEOUT boot

	[[ $MODE == test ]] || return 0
	if [[ $MODULE_RESULT != ok || $BROKER_RESULT != ok ]]; then
		skip_guest "$label" "build failed"
		return 0
	elif [[ $INSTALL_RESULT != ok ]]; then
		skip_guest "$label" "no install tree (make install failed)"
		return 0
	elif [[ ! -x /lib/systemd/systemd ]]; then
		skip_guest "$label" "no /lib/systemd/systemd on the host"
		return 0
	fi
	mkdir -p "$GDIR"
	boot_guest systemd-init.sh
	report_guest "$label"
	boot=$(cat "$GDIR/results/boot-seconds" 2>/dev/null || echo '?')
	log "$label: systemd started after $boot s, QEMU ran $QEMU_SECONDS s"
}

# test_kernel LABEL: prepare, build, boot and report $KVER.
test_kernel() {
	local label=$1 t0=$EPOCHREALTIME boot

	log "$label is $KVER ($IMAGE_PKG)"
	if ! prepare_kernel; then
		tap_not_ok "$label kernel packages"
		skip_guests "$label" "kernel packages unavailable"
		return 0
	fi
	build_initramfs
	vm_lock
	build_and_boot "$label"
	if [[ $BOOTED == yes ]]; then
		GDIR=$VM/$KVER GTIMEOUT=$TIMEOUT report_guest "$label"
		boot=$(cat "$VM/$KVER/results/boot-seconds" 2>/dev/null || echo '?')
		log "$label guest reached its init after $boot s, QEMU ran $QEMU_SECONDS s"
	fi
	systemd_guest "$label"
	vm_unlock
	log "$label: $(elapsed "$t0") s for this kernel in all"
}

# run_kernel SERIES: one kernel series, under a lock of its own so that
# two runs never share its caches or its results folder.
run_kernel() {
	local series=$1 lock KVER IMAGE_PKG IMAGE_DEB

	if ! resolve_kernel "$series"; then
		skip_guests "[$series]" "no linux-image/linux-headers pair for $series in the archive"
		return 0
	fi
	mkdir -p "$VM/$KVER"
	exec {lock}>"$VM/$KVER/.lock"
	flock "$lock"
	test_kernel "[$(candidate_version "$IMAGE_PKG" | sed 's/-.*//')]"
	exec {lock}>&-
}

# A run that stops on an unexpected error still ends its TAP stream with a
# failure, never with a silent short list.
on_exit() {
	local rc=$?

	[[ $FINISHED == yes ]] || echo "Bail out! tests/vm/run.sh stopped (exit $rc)"
}

main() {
	local series

	parse_args "$@"
	mkdir -p "$VM" "${QEMU_LOCK%/*}"
	apt_update_if_stale
	if ! ensure_host_packages; then
		tap_not_ok "install the harness's host packages"
		show_tail "$VM/apt-install.log"
		tap_finish
		return 1
	fi
	FINISHED=no
	trap on_exit EXIT
	vm_lock
	build_guest_tests
	build_broker
	stage_install
	vm_unlock
	report_build "build in-guest tests (make kmod-tests)" "$GUEST_TESTS_RESULT" \
		"$VM/kmod-tests-build.log"
	report_build "build the broker and its in-guest tests" "$BROKER_RESULT" \
		"$VM/broker-build.log"
	[[ $MODE != test ]] || report_build "make install for the systemd guests" \
		"$INSTALL_RESULT" "$VM/install.log"
	for series in "${SERIES[@]}"; do
		run_kernel "$series"
	done
	FINISHED=yes
	tap_finish
}

main "$@"
