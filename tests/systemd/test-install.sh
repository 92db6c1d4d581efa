#!/bin/bash
# The install tree as a distribution package would ship it: runs
# `make install DESTDIR=<tmp> PREFIX=/usr` of an existing build tree and
# checks what it laid out.  TAP.  Usage: test-install.sh BUILD_DIR
#
# Checks: the files a package needs are there; the units name installed
# paths (no template markers, no /usr/local); no modules-load.d entry
# without the module, and both with `make kmod-install`; pkg-config finds
# the library with only our .pc on its path; a program compiles, links and
# runs against the installed header, .pc and library; the service's
# offline exposure figure stays at or under 1.1.

set -uo pipefail

PROJECT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:?usage: test-install.sh BUILD_DIR}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dbb-install.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
ROOT=$TMP/root
UNITS=$ROOT/usr/lib/systemd/system
MAX_EXPOSURE=1.1
N=0

ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() { N=$((N + 1)); echo "not ok $N - $1"; }
skip() { N=$((N + 1)); echo "ok $N - $1 # SKIP $2"; }
check() {
	local name=$1

	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
diag() { sed 's/^/# /'; }

# project_make ARGS...: make of this build tree, outside any make that
# started us (its jobserver fds are not ours).
project_make() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		make -s -C "$PROJECT" --no-print-directory B="$BUILD" "$@"
}

# files_present: every file a package of the broker ships.
files_present() {
	local f missing=0

	for f in usr/bin/dmabuf-brokerd usr/bin/dmabuf-ctl \
		usr/lib/libdmabuf-broker.so.1 usr/lib/libdmabuf-broker.so \
		usr/lib/pkgconfig/dmabuf-broker.pc usr/include/dmabuf-broker.h \
		usr/lib/systemd/system/dmabuf-brokerd.service \
		usr/lib/systemd/system/dmabuf-brokerd.socket \
		usr/lib/sysusers.d/dmabuf-broker.conf \
		usr/lib/tmpfiles.d/dmabuf-broker.conf \
		usr/lib/udev/rules.d/60-dmabuf-broker.rules \
		etc/dmabuf-broker/broker.conf; do
		[[ -e $ROOT/$f ]] && continue
		echo "# missing: /$f"
		missing=1
	done
	return "$missing"
}

# no_template_left: no @NAME@ marker, and no /usr/local, in any text file.
no_template_left() {
	local hits

	hits=$(grep -rIlE '@[A-Z_]+@|/usr/local' "$ROOT" 2>/dev/null)
	[[ -z $hits ]] && return 0
	sed "s|^$ROOT|# left in: |" <<<"$hits"
	return 1
}

# exec_start_installed: ExecStart names the installed daemon and config.
exec_start_installed() {
	local line want="ExecStart=/usr/bin/dmabuf-brokerd --config /etc/dmabuf-broker/broker.conf"

	line=$(grep '^ExecStart=' "$UNITS/dmabuf-brokerd.service")
	[[ $line == "$want" && -x $ROOT/usr/bin/dmabuf-brokerd ]] && return 0
	echo "# $line (want $want)"
	return 1
}

# documentation_is_man: Documentation= names the man pages, no files.
documentation_is_man() {
	local unit

	for unit in "$UNITS"/dmabuf-brokerd.{service,socket}; do
		grep -qx 'Documentation=man:dmabuf-brokerd(8) man:dmabuf-broker.conf(5)' "$unit" ||
			{ echo "# $unit: $(grep '^Documentation=' "$unit")"; return 1; }
	done
}

# tmpfiles_config_dir: the tmpfiles entry creates the installed config dir.
tmpfiles_config_dir() {
	grep -qE '^d /etc/dmabuf-broker ' "$ROOT/usr/lib/tmpfiles.d/dmabuf-broker.conf"
}

no_modules_load() {
	[[ ! -e $ROOT/usr/lib/modules-load.d/dmabuf_sg.conf &&
		-z $(find "$ROOT" -name 'dmabuf_sg*.ko*') ]]
}

# kmod_install: `make kmod-install` of each kernel this build tree holds
# a module for (and whose headers are here) installs module and
# modules-load.d entry together.
kmod_install() {
	local ko kver dest done=0

	for ko in "$BUILD"/kmod/*/dmabuf_sg.ko; do
		kver=$(basename "$(dirname "$ko")")
		[[ -f $ko && -d /usr/src/linux-headers-$kver ]] || continue
		dest=$TMP/kmod-$kver
		if ! project_make DESTDIR="$dest" PREFIX=/usr \
			KDIR="/usr/src/linux-headers-$kver" kmod-install >"$TMP/kmod.log" 2>&1; then
			diag <"$TMP/kmod.log"
			not_ok "make kmod-install for $kver"
			return
		fi
		check "make kmod-install for $kver: module and modules-load.d entry" \
			test -f "$dest/lib/modules/$kver/updates/dmabuf_sg.ko" \
			-a "$(cat "$dest/usr/lib/modules-load.d/dmabuf_sg.conf" 2>/dev/null |
				grep -v '^#')" = dmabuf_sg
		done=1
	done
	[[ $done -eq 1 ]] ||
		skip "make kmod-install" "no module built here for a kernel whose headers are installed"
}

# pkg_config_only_ours: pkg-config sees no .pc but ours (protobuf-c's
# included), with the tree as its sysroot.
pkg_config_only_ours() {
	local flags

	flags=$(PKG_CONFIG_LIBDIR=$ROOT/usr/lib/pkgconfig PKG_CONFIG_PATH='' \
		PKG_CONFIG_SYSROOT_DIR=$ROOT pkg-config --cflags --libs dmabuf-broker 2>&1) ||
		{ echo "# pkg-config: $flags"; return 1; }
	echo "# pkg-config --cflags --libs dmabuf-broker: $flags"
	[[ $flags == *"-I$ROOT/usr/include"* && $flags == *"-L$ROOT/usr/lib"* &&
		$flags == *-ldmabuf-broker* ]]
}

# compile_against_tree: a client built from the installed header, .pc and
# library alone, run: connecting where no broker listens says so.
compile_against_tree() {
	local flags out

	cat >"$TMP/client.c" <<'PROG'
#include <dmabuf-broker.h>
#include <errno.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	struct dbb_client *client = NULL;
	int ret = dbb_client_connect(argv[1], "install-test", &client);

	(void)argc;
	if (ret != -ENOENT) {
		fprintf(stderr, "dbb_client_connect: %d, expected -ENOENT\n", ret);
		dbb_client_destroy(client);
		return 1;
	}
	return 0;
}
PROG
	flags=$(PKG_CONFIG_LIBDIR=$ROOT/usr/lib/pkgconfig PKG_CONFIG_PATH='' \
		PKG_CONFIG_SYSROOT_DIR=$ROOT pkg-config --cflags --libs dmabuf-broker) ||
		return 1
	# shellcheck disable=SC2086 # flags: split as pkg-config meant
	out=$(cc -std=c11 -Wall -Werror -o "$TMP/client" "$TMP/client.c" $flags 2>&1 &&
		LD_LIBRARY_PATH=$ROOT/usr/lib "$TMP/client" "$TMP/no-broker" 2>&1)
	local rc=$?
	[[ -z $out ]] || diag <<<"$out"
	return "$rc"
}

# exposure_ok: systemd-analyze's offline figure for the installed unit.
exposure_ok() {
	local level

	level=$(systemd-analyze security --offline=yes --no-pager \
		"$UNITS/dmabuf-brokerd.service" 2>/dev/null |
		sed -nE 's/.*Overall exposure level for [^:]*: ([0-9.]+).*/\1/p')
	echo "# exposure level: ${level:-none}"
	[[ -n $level ]] && awk -v l="$level" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(l <= m) }'
}

main() {
	if ! project_make DESTDIR="$ROOT" PREFIX=/usr install >"$TMP/install.log" 2>&1; then
		not_ok "make install DESTDIR=... PREFIX=/usr"
		diag <"$TMP/install.log"
		echo "1..$N"
		return 1
	fi
	ok "make install DESTDIR=... PREFIX=/usr"
	check "the files a package ships are installed" files_present
	check "no template marker or /usr/local left in the tree" no_template_left
	check "ExecStart= names the installed daemon and config" exec_start_installed
	check "Documentation= names the man pages" documentation_is_man
	check "tmpfiles creates /etc/dmabuf-broker" tmpfiles_config_dir
	check "no modules-load.d entry nor module without kmod-install" no_modules_load
	kmod_install
	check "pkg-config --cflags --libs with only our .pc" pkg_config_only_ours
	check "a client compiles and runs against the installed tree" compile_against_tree
	if command -v systemd-analyze >/dev/null; then
		check "offline exposure of the installed service <= $MAX_EXPOSURE" exposure_ok
	else
		skip "offline exposure of the installed service" "no systemd-analyze here"
	fi
	echo "1..$N"
}

main
