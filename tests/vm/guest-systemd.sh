#!/bin/bash
# The systemd guest's script, run by dbb-guest.service (see
# systemd-init.sh) once journald and udevd are up: applies the install
# tree as a package's maintainer scripts would, loads the modules, runs the
# cases of tests/systemd/ and leaves their output, exit status, the journal
# and the kernel log in $RESULTS.  The service powers the guest off when
# this script ends, however it ends.

set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# shellcheck source=/dev/null
. "$DBB_ENV"
export PROJECT KVER KMOD_DIR RESULTS BUILD INSTALL_ROOT CASES

step() {
	echo "# setup: $*"
}

# run_step WHAT CMD...: one setup step; its output as comments, a failure
# as a bail-out (the cases would only report its consequences).
run_step() {
	local what=$1 out

	shift
	step "$what"
	if ! out=$("$@" 2>&1); then
		[[ -z $out ]] || sed 's/^/#   /' <<<"$out"
		echo "Bail out! setup: $what failed"
		return 1
	fi
	[[ -z $out ]] || sed 's/^/#   /' <<<"$out"
}

# install_tree: the staged `make install DESTDIR=... PREFIX=/usr`, with
# what a package runs before (the user and group: udev resolves the rule's
# GROUP= when it reads the rule, and keeps ignoring an unknown group until
# its rule files change again) and after (the rest).
install_tree() {
	run_step "systemd-sysusers (the install tree's entry)" \
		systemd-sysusers "$INSTALL_ROOT/usr/lib/sysusers.d/dmabuf-broker.conf" &&
		run_step "copy $INSTALL_ROOT into /" cp -a "$INSTALL_ROOT/." / &&
		run_step "systemd-tmpfiles --create" systemd-tmpfiles --create dmabuf-broker.conf &&
		run_step "udevadm control --reload" udevadm control --reload &&
		run_step "systemctl daemon-reload" systemctl daemon-reload &&
		run_step "systemctl enable --now dmabuf-brokerd.socket" \
			systemctl enable --now dmabuf-brokerd.socket
}

# load_modules: the allocator module from the build and the kernel's vgem
# (dma-heaps and udmabuf are built into the kernels that have them); udev
# then applies the installed rule to their nodes.
load_modules() {
	step "insmod $KMOD_DIR/dmabuf_sg.ko"
	[[ -d /sys/module/dmabuf_sg ]] || insmod "$KMOD_DIR/dmabuf_sg.ko" 2>&1 | sed 's/^/#   /'
	step "modprobe vgem"
	modprobe vgem 2>&1 | sed 's/^/#   /'
	run_step "udevadm trigger + settle" udevadm trigger --action=add \
		--subsystem-match=misc --subsystem-match=dma_heap --subsystem-match=drm &&
		run_step "udevadm settle" udevadm settle --timeout=120
}

main() {
	local rc budget

	exec >"$RESULTS/output.txt" 2>&1 </dev/null
	echo "dmabuf-broker vm: systemd guest running" >/dev/kmsg
	# What is left of the guest's time once booted, less the time the
	# journal and the kernel log take to save.
	budget=$((GUEST_TIMEOUT - $(cut -d. -f1 /proc/uptime) - 15))
	if install_tree && load_modules; then
		timeout -k 10 "$budget" "$PROJECT/tests/systemd/run-cases.sh"
		rc=$?
	else
		rc=1
	fi
	echo "$rc" >"$RESULTS/rc"
	echo "dmabuf-broker vm: systemd cases exited with $rc" >/dev/kmsg
	journalctl -b --no-pager -o short-monotonic >"$RESULTS/journal.txt" 2>&1
	dmesg >"$RESULTS/dmesg.txt"
	sync
}

main "$@"
