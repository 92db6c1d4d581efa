#!/bin/bash
# PID 1 of the test guest, started by the initramfs on a root that is the
# host's root (9p, read-only) under a tmpfs overlay.  Prepares the guest,
# runs the guest test script with the contract described in README.md,
# leaves its output, exit status and the kernel log in $RESULTS, and powers
# the machine off.  Nothing here may stop the poweroff: no `set -e`.

set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() {
	echo "guest-init: $*" >/dev/console
}

power_off() {
	sync
	echo o >/proc/sysrq-trigger
	sleep 60
	# Still here: PID 1 exiting panics, and panic=-1 ends QEMU too.
	exit 1
}

mount_fs() {	# type what where [options]
	mountpoint -q "$3" && return 0
	mkdir -p "$3"
	mount -t "$1" ${4:+-o "$4"} "$2" "$3"
}

mount_system() {
	mount_fs proc proc /proc
	mount_fs sysfs sys /sys
	mount_fs devtmpfs dev /dev
	# What udev or systemd would add: bash's <(...) needs /dev/fd.
	ln -sfn /proc/self/fd /dev/fd
	ln -sf /proc/self/fd/0 /dev/stdin
	ln -sf /proc/self/fd/1 /dev/stdout
	ln -sf /proc/self/fd/2 /dev/stderr
	mount_fs devpts devpts /dev/pts gid=5,mode=620
	mount_fs tmpfs shm /dev/shm mode=1777
	# /tmp stays the overlay's (host files visible, writes kept in the
	# guest): a checkout under /tmp, as CI may use, must stay reachable.
	mount_fs tmpfs run /run mode=0755
	mount_fs debugfs debugfs /sys/kernel/debug
	mount_fs tracefs tracefs /sys/kernel/tracing
}

# The host has no /lib/modules/$KVER of its own (or another build of it):
# put the tree extracted from the kernel package, depmod'ed on the host,
# where modprobe looks for it.
mount_modules() {
	mkdir -p "/lib/modules/$KVER"
	mount --bind "$MODULES_TREE" "/lib/modules/$KVER"
}

mount_results() {
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 \
		results "$RESULTS"
}

run_guest_script() {
	local rc

	cd "$PROJECT" || return 1
	echo "dmabuf-broker vm: running $GUEST_SCRIPT (mode $MODE)" >/dev/kmsg
	if [ -x "$GUEST_SCRIPT" ]; then
		timeout -k 10 "$GUEST_TIMEOUT" "$GUEST_SCRIPT"
	else
		timeout -k 10 "$GUEST_TIMEOUT" bash "$GUEST_SCRIPT"
	fi >"$RESULTS/output.txt" 2>&1 </dev/null
	rc=$?
	echo "dmabuf-broker vm: $GUEST_SCRIPT exited with $rc" >/dev/kmsg
	echo "$rc" >"$RESULTS/rc"
}

main() {
	mount_system
	# shellcheck source=/dev/null
	. "$DBB_ENV" || { log "cannot read $DBB_ENV"; power_off; }
	mount_results || { log "cannot mount the results share"; power_off; }
	cut -d' ' -f1 /proc/uptime >"$RESULTS/boot-seconds"
	mount_modules || log "cannot bind $MODULES_TREE (modprobe will fail)"
	export PROJECT KVER KMOD_DIR RESULTS MODE BUILD BROKER_BUILD \
		BROKER_PROGS GUEST_PROGS
	run_guest_script
	dmesg >"$RESULTS/dmesg.txt"
	power_off
}

main "$@"
