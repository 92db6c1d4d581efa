#!/bin/bash
# SPDX-License-Identifier: MIT
#
# bench_pool in a test guest (tests/vm's guest script contract: KMOD_DIR,
# BUILD, KVER): the module's page pool against the broker's
# kmod Allocs, with the client in the root memory cgroup, then in a child
# one.  From the top of the tree:
#
#   GUEST_SCRIPT=$PWD/bench/broker/guest-pool.sh tests/vm/run.sh --kernel 6.12 --mode bench
#
# Figures and what they mean: bench/README.md.

set -u

CGROOT=/sys/fs/cgroup
CHILD=$CGROOT/bench-pool

# What it needs of the host's build, which may have failed elsewhere.
for f in "$BUILD/bench/broker/bench_pool" "$BUILD/daemon/dmabuf-brokerd" \
	"$KMOD_DIR/dmabuf_sg.ko"; do
	if [[ ! -e $f ]]; then
		echo "bench_pool: not run: missing $f"
		exit 1
	fi
done
if ! insmod "$KMOD_DIR/dmabuf_sg.ko"; then
	echo "bench_pool: insmod $KMOD_DIR/dmabuf_sg.ko failed"
	exit 1
fi
mountpoint -q "$CGROOT" || mount -t cgroup2 cgroup2 "$CGROOT" || exit 1
echo +memory >"$CGROOT/cgroup.subtree_control" || exit 1
mkdir -p "$CHILD" || exit 1

bench_pool() {
	DBB_BROKERD=$BUILD/daemon/dmabuf-brokerd LD_LIBRARY_PATH=$BUILD/libclient \
		"$BUILD/bench/broker/bench_pool" "$@"
}

echo "kernel $KVER"
echo "== client in the root memory cgroup"
bench_pool || exit 1
echo "== client in a child memory cgroup"
bench_pool --cgroup "$CHILD" || exit 1
