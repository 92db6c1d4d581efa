#!/bin/bash
# PID 1 of the systemd guest until it becomes systemd: started by the
# initramfs on the same overlay root as guest-init.sh, it prepares what
# only PID 1 can (the results share, the kernel's module tree), writes the
# guest's own target and service, keeps the host's services from starting,
# and execs the host's systemd, which the kernel command line points at
# dbb-guest.target.  See tests/vm/README.md, "The systemd boot".

set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

fail() {
	echo "systemd-init: $*" >/dev/console
	echo o >/proc/sysrq-trigger
	sleep 60
	exit 1
}

# shellcheck source=/dev/null
. "$DBB_ENV" || fail "cannot read $DBB_ENV"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 results "$RESULTS" ||
	fail "cannot mount the results share"
cut -d' ' -f1 /proc/uptime >"$RESULTS/boot-seconds"
mkdir -p "/lib/modules/$KVER"
mount --bind "$MODULES_TREE" "/lib/modules/$KVER" ||
	echo "systemd-init: cannot bind $MODULES_TREE (modprobe will fail)" >/dev/console

# A host that is a container (CI's is Docker) leaves its mark in the root,
# and a systemd that believes it runs in a container ignores the kernel
# command line (systemd.unit=) and skips its machine set-up.
rm -f /.dockerenv /run/.containerenv

# The host's own units stay off: none of what it enabled is wanted (its
# .wants folders go, in the overlay only), and the vendor units that would
# touch the host's clock, hardware or login are masked, as are the boot's
# tmpfiles pass (it walked the host's /var and /tmp over 9p for minutes)
# and udev's coldplug (half a minute of loading drivers for QEMU's
# emulated hardware): the guest script applies the broker's tmpfiles entry
# and triggers the subsystems of the allocator nodes itself.
find /etc/systemd/system -mindepth 1 -maxdepth 1 -name '*.wants' -exec rm -rf {} +
for unit in systemd-timesyncd.service systemd-pstore.service \
	systemd-remount-fs.service systemd-random-seed.service \
	systemd-update-utmp.service systemd-hwdb-update.service \
	systemd-journal-catalog-update.service systemd-machine-id-commit.service \
	systemd-firstboot.service systemd-binfmt.service ldconfig.service \
	proc-sys-fs-binfmt_misc.automount systemd-logind.service \
	systemd-tmpfiles-setup.service systemd-tmpfiles-clean.timer \
	systemd-udev-trigger.service \
	getty.target apt-daily.timer apt-daily-upgrade.timer; do
	ln -sfn /dev/null "/etc/systemd/system/$unit"
done

cat >/etc/systemd/system/dbb-guest.target <<UNIT
[Unit]
Description=dmabuf-broker systemd guest
Requires=dbb-guest.service
AllowIsolate=yes
UNIT

# The guest script's results decide nothing here: it writes them to
# \$RESULTS itself, and the machine powers off however it ends.
cat >/etc/systemd/system/dbb-guest.service <<UNIT
[Unit]
Description=dmabuf-broker: install, then the cases of tests/systemd
Wants=systemd-journald.service systemd-udevd.service
After=systemd-journald.service systemd-udevd.service
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=exec
Environment=DBB_ENV=$DBB_ENV
ExecStart=/bin/bash $PROJECT/tests/vm/guest-systemd.sh
StandardOutput=journal+console
StandardError=journal+console
TimeoutStartSec=infinity
UNIT

exec /lib/systemd/systemd
