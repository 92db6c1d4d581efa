#!/bin/bash
# Installs the Debian packages that building, running and testing
# dmabuf-broker need.  Quick when everything is there already; needs root
# otherwise.  Usage: scripts/install-deps.sh [build|all]
#   build  the userspace build and its tests (default)
#   all    also QEMU, busybox and kmod tools for the kernel tests
set -euo pipefail

build_pkgs=(
	build-essential pkg-config
	libevent-dev libsystemd-dev
	protobuf-c-compiler libprotobuf-c-dev
	libdrm-dev libinih-dev libjson-c-dev uthash-dev nettle-dev
	libcmocka-dev valgrind jq
	scdoc man-db
	clang-14 libclang-rt-14-dev
)
# linux-headers-amd64: kernel uapi that libdrm lacks (drm/vgem_drm.h,
# for tests/e2e/test_fences).
vm_pkgs=(
	qemu-system-x86 busybox-static kmod xz-utils cpio systemd udev acl
	# the kernel's dma-heap selftest, for the module's guest tests
	linux-source-6.12
	linux-headers-amd64
)

want=("${build_pkgs[@]}")
[ "${1:-build}" = all ] && want+=("${vm_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run as root" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
apt=(apt-get -o DPkg::Lock::Timeout=600 -q)
export DEBIAN_FRONTEND=noninteractive
"${apt[@]}" update
"${apt[@]}" install -y --no-install-recommends "${missing[@]}"
