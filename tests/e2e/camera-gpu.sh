#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Camera -> GPU, end to end, through the broker: for every dma-buf backend
# the broker finds and every format vivid offers (YUYV; NV12 where it is
# offered), dmabuf-camera-example captures vivid's colour bars into frames
# the broker allocated, dmabuf-gpu-example imports them by name into vgem
# and checks the bars, and the dma-buf inodes both print must be the same:
# the GPU side holds the very buffers the camera wrote.  Prints TAP.
#
# Meant for the test guests (tests/vm/README.md: root, BUILD, KMOD_DIR);
# elsewhere it skips with the reason.  Needs vivid and vgem (modprobe'd
# here), loads $KMOD_DIR/dmabuf_sg.ko when it is there, and
# leaves loaded modules as it found them.  Runs its own broker on a socket
# in a temporary folder.  Exit status: 0 when it ran to its end (failures
# are in the TAP), 77 when it cannot run here, 1 when the build is missing.

set -u

# make copies this script into $(B)/tests/e2e/, the build folder it tests;
# run from the source tree it tests build/, unless BUILD says otherwise.
if [[ -z ${BUILD:-} ]]; then
	BUILD=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	[[ -x $BUILD/daemon/dmabuf-brokerd ]] || BUILD=$BUILD/build
fi
BROKERD=$BUILD/daemon/dmabuf-brokerd
CTL=$BUILD/ctl/dmabuf-ctl
CAMERA=$BUILD/examples/dmabuf-camera-example
GPU=$BUILD/examples/dmabuf-gpu-example
FRAMES=4
FORMATS=(YUYV NV12)
# The build's programs carry the live build tree's library path; in a
# guest, BUILD is a snapshot, and its library must match its programs.
export LD_LIBRARY_PATH=$BUILD/libclient${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# Per camera/GPU pair.  QEMU's emulator runs vivid and the broker many times
# slower, but a pair takes seconds; tests/vm gives the script 240 s.
WAIT_S=60

N=0
LOADED=()
TMP=""
BROKER_PID=""

ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() { N=$((N + 1)); echo "not ok $N - $1"; }
skip() { N=$((N + 1)); echo "ok $N - $1 # SKIP $2"; }
diag() { echo "# $*"; }
indent() { sed -e 's/^/#   /'; }

# The whole script cannot run here: exit 77, as GUEST_PROGS want.
# The reason goes to stderr too, where tests/vm/guest-broker.sh looks.
skip_all() {
	echo "1..0 # SKIP $1"
	echo "$1" >&2
	exit 77
}

# load MODULE [PATH]: modprobe MODULE, or insmod PATH, unless it is loaded;
# remembers it for cleanup.
load() {
	local name=$1

	[[ -d /sys/module/$name ]] && return 0
	if [[ $# -gt 1 ]]; then
		insmod "$2" 2>&1 | indent
	else
		modprobe "$name" 2>&1 | indent
	fi
	[[ -d /sys/module/$name ]] || return 1
	LOADED+=("$name")
}

cleanup() {
	local m i

	if [[ -n $BROKER_PID ]]; then
		kill "$BROKER_PID" 2>/dev/null
		wait "$BROKER_PID" 2>/dev/null
	fi
	[[ -n $TMP ]] && rm -rf "$TMP"
	for ((i = ${#LOADED[@]} - 1; i >= 0; i--)); do
		m=${LOADED[i]}
		rmmod "$m" 2>/dev/null || diag "could not unload $m"
	done
}

# wait_for SECONDS COMMAND...: polls until the command succeeds.
wait_for() {
	local deadline=$((SECONDS + $1))

	shift
	until "$@"; do
		[[ $SECONDS -lt $deadline ]] || return 1
		sleep 0.2
	done
}

prerequisites() {
	local f

	[[ $(id -u) == 0 ]] || skip_all "needs root (modprobe, /dev/video*, /dev/dri)"
	for f in "$BROKERD" "$CTL" "$CAMERA" "$GPU"; do
		[[ -x $f ]] && continue
		echo "Bail out! missing $f (make all)"
		exit 1
	done
	load vivid || skip_all "modprobe vivid failed: no V4L2 test driver"
	load vgem || skip_all "modprobe vgem failed: no DRM importer"
	if [[ -n ${KMOD_DIR:-} && -f $KMOD_DIR/dmabuf_sg.ko ]]; then
		load dmabuf_sg "$KMOD_DIR/dmabuf_sg.ko" ||
			diag "insmod dmabuf_sg.ko failed: the kmod backend will be unavailable"
	fi
	# No udev in the guests: vivid's and vgem's nodes come from devtmpfs,
	# asynchronously.
	wait_for 10 compgen -G '/dev/video*' >/dev/null ||
		skip_all "vivid loaded but no /dev/video* node"
}

broker_up() { "$CTL" --socket "$TMP/socket" status >/dev/null 2>&1; }

# The backends that allocate dma-bufs, in the broker's order of preference.
ALLOCATORS=(kmod heap udmabuf drm)

start_broker() {
	local list

	list=$(IFS=,; echo "${ALLOCATORS[*]}")
	cat >"$TMP/broker.conf" <<-EOF
		[broker]
		backends = $list,memfd
	EOF
	"$BROKERD" --socket "$TMP/socket" --config "$TMP/broker.conf" \
		>"$TMP/broker.log" 2>&1 &
	BROKER_PID=$!
	wait_for 60 broker_up
}

# The available allocators of dma-bufs, one a line (not "adopted", which
# only registers dma-bufs clients bring).
dmabuf_backends() {
	"$CTL" --socket "$TMP/socket" --json backends | python3 -c '
import json, sys
allocators = sys.argv[1:]
for b in json.load(sys.stdin):
    if b["available"] and b["is_dmabuf"] and b["name"] in allocators:
        print(b["name"])' "${ALLOCATORS[@]}"
}

# inodes TAG FILE: "index inode" pairs from the camera's "buffer I ... ino
# X" lines (TAG buffer) or the GPU's "frame PREFIX/frameI ino X" lines.
inodes() {
	if [[ $1 == camera ]]; then
		sed -n 's/^buffer \([0-9]*\) .* ino \([0-9]*\)$/\1 \2/p' "$2"
	else
		sed -n 's|^frame .*/frame\([0-9]*\) ino \([0-9]*\) .*|\1 \2|p' "$2"
	fi | sort -n
}

camera_done() { grep -q '^done ' "$TMP/camera.out" || ! kill -0 "$1" 2>/dev/null; }

# run_pair BACKEND FORMAT: the camera and the GPU program, concurrently:
# the GPU program waits for each frame's name.  Sets CAMERA_RC and GPU_RC.
run_pair() {
	local backend=$1 format=$2 prefix="e2e-$1-$2" cam gpu

	rm -f "$TMP"/camera.* "$TMP"/gpu.* "$TMP/camera.in"
	mkfifo "$TMP/camera.in"
	timeout -k 5 $((WAIT_S + 60)) "$GPU" --socket "$TMP/socket" \
		--prefix "$prefix" --frames "$FRAMES" --timeout "$WAIT_S" \
		>"$TMP/gpu.out" 2>&1 &
	gpu=$!
	# The camera keeps its frames until its stdin closes (fd 4 here).
	timeout -k 5 $((WAIT_S + 120)) "$CAMERA" --socket "$TMP/socket" \
		--backend "$backend" --format "$format" --buffers "$FRAMES" \
		--prefix "$prefix" <"$TMP/camera.in" >"$TMP/camera.out" \
		2>"$TMP/camera.err" &
	cam=$!
	exec 4>"$TMP/camera.in"
	wait_for "$WAIT_S" camera_done "$cam"
	grep -q '^done ' "$TMP/camera.out" || kill "$gpu" 2>/dev/null
	wait "$gpu"
	GPU_RC=$?
	exec 4>&-
	wait "$cam"
	CAMERA_RC=$?
}

show() {
	diag "$1:"
	indent <"$2"
}

# check_pair BACKEND FORMAT: three results from one run_pair.
check_pair() {
	local what="$1 $2" passed

	run_pair "$1" "$2"
	show "camera (exit $CAMERA_RC)" "$TMP/camera.out"
	indent <"$TMP/camera.err"
	if [[ $CAMERA_RC == 69 ]]; then
		local why
		why=$(tail -n 1 "$TMP/camera.err" | sed 's/^dmabuf-camera-example: //')
		skip "$what: camera captures $FRAMES frames" "$why"
		skip "$what: gpu sees the colour bars in every frame, imported into vgem" "$why"
		skip "$what: gpu holds the buffers the camera queued (same inodes)" "$why"
		return 0
	fi
	show "gpu (exit $GPU_RC)" "$TMP/gpu.out"
	if [[ $CAMERA_RC == 0 ]] && grep -q "^done $FRAMES frames" "$TMP/camera.out"; then
		ok "$what: camera captures $FRAMES frames"
	else
		not_ok "$what: camera captures $FRAMES frames"
	fi
	passed=$(grep -c '^frame .* vgem-handle [1-9][0-9]* pattern ok$' "$TMP/gpu.out")
	if [[ $GPU_RC == 0 && $passed == "$FRAMES" ]]; then
		ok "$what: gpu sees the colour bars in every frame, imported into vgem"
	else
		not_ok "$what: gpu sees the colour bars in every frame, imported into vgem"
	fi
	inodes camera "$TMP/camera.out" >"$TMP/camera.ino"
	inodes gpu "$TMP/gpu.out" >"$TMP/gpu.ino"
	if [[ $(wc -l <"$TMP/camera.ino") == "$FRAMES" ]] &&
		cmp -s "$TMP/camera.ino" "$TMP/gpu.ino"; then
		ok "$what: gpu holds the buffers the camera queued (same inodes)"
	else
		diff "$TMP/camera.ino" "$TMP/gpu.ino" | indent
		not_ok "$what: gpu holds the buffers the camera queued (same inodes)"
	fi
}

main() {
	local -a backends=()
	local b f

	trap cleanup EXIT
	prerequisites
	TMP=$(mktemp -d /tmp/camera-gpu.XXXXXX)
	chmod 0755 "$TMP"
	if ! start_broker; then
		echo "1..1"
		not_ok "broker starts"
		indent <"$TMP/broker.log"
		return 0
	fi
	# No process substitution: the guests have no /dev/fd.
	read -ra backends <<<"$(dmabuf_backends | tr '\n' ' ')"
	"$CTL" --socket "$TMP/socket" backends | indent
	[[ ${#backends[@]} -gt 0 ]] ||
		skip_all "the broker has no dma-buf backend here (kernel $(uname -r))"
	echo "1..$((1 + 3 * ${#backends[@]} * ${#FORMATS[@]}))"
	ok "broker starts with dma-buf backends: ${backends[*]}"
	for b in "${backends[@]}"; do
		for f in "${FORMATS[@]}"; do
			check_pair "$b" "$f"
		done
	done
}

main "$@"
