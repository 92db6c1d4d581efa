#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Camera -> GPU, end to end, through a broker frame queue: for every
# dma-buf backend the broker finds and every format vivid offers (YUYV;
# NV12 where it is offered), dmabuf-camera-example captures vivid's colour
# bars into a pool the broker allocated and posts each frame to the pool's
# queue; dmabuf-gpu-example attaches by the pool's name, imports the
# buffers into vgem and checks the bars in every frame it receives.  Then,
# on the first backend, 300 frames under HOLD (none lost, none copied:
# the GPU's buffers are the camera's dma-bufs, and the broker maps none of
# them) and 300 under DROP_OLDEST with a slow GPU (every frame delivered
# or counted dropped).  Prints TAP.
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
BUFFERS=4
# Per backend and format: a short stream, each buffer used twice.
SHORT_FRAMES=8
# The long streams, on the first backend, in YUYV, at vivid's smallest
# webcam size: a fifth of the pixels to draw and check under QEMU's
# emulator.  At 30 frames a second, 300 took 11 s in a 6.12 guest.
LONG_FRAMES=300
LONG_SIZE=320x180
# DROP_OLDEST's GPU may hold one frame at a time (max_in_flight 1), and
# holds each this long: the camera asks vivid for 30 a second, so most
# frames find the GPU busy and one frame waiting, the oldest of which the
# camera takes back for its next capture.  The checks count drops; they
# time nothing.
SLOW_MS=200
FORMATS=(YUYV NV12)
# The build's programs carry the live build tree's library path; in a
# guest, BUILD is a snapshot, and its library must match its programs.
export LD_LIBRARY_PATH=$BUILD/libclient${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# Per camera/GPU pair.  QEMU's emulator runs vivid and the broker many times
# slower, but a short pair takes seconds and a long one under 20 s;
# tests/vm gives the script 240 s.
WAIT_S=120

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

# buffers FILE: "index dev ino" of every buffer line, the camera's
# ("buffer I id X size S stride T dev D ino N") or the GPU's ("buffer I dev
# D ino N vgem-handle H").
buffers() {
	sed -n 's/^buffer \([0-9]*\) .*dev \([0-9]*\) ino \([0-9]*\).*/\1 \2 \3/p' "$1" |
		sort -n
}

# counter FILE LINE NAME: the value NAME on FILE's line starting with LINE
# (the camera's "counters ..." or "broker-counters ...").
counter() {
	awk -v line="$2" -v name="$3" '$1 == line {
		for (i = 2; i < NF; i++) if ($i == name) { print $(i + 1); exit }
	}' "$1"
}

# broker_maps_frames: appends the broker's mappings of the pool's dma-bufs
# to $TMP/broker.maps, and counts the look in LOOKS.  A dma-buf has no
# read(2): a process that maps none of them cannot read their bytes.
broker_maps_frames() {
	local ino

	for ino in $(buffers "$TMP/camera.out" | cut -d' ' -f3); do
		grep -E "^[^ ]+ [^ ]+ [^ ]+ [^ ]+ $ino " "/proc/$BROKER_PID/maps"
	done >>"$TMP/broker.maps"
	LOOKS=$((LOOKS + 1))
}

camera_says() { grep -q "$1" "$TMP/camera.out" || ! kill -0 "$2" 2>/dev/null; }

# streaming CAMERA-PID: until the camera is done; looks at the broker's
# mappings each time.
streaming() {
	broker_maps_frames
	camera_says '^done ' "$1"
}

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# run_pair POOL BACKEND FORMAT SIZE FRAMES POLICY IN-FLIGHT [GPU ARGS...]: the
# camera, then, once its queue exists, the GPU program (not at all when
# the camera failed before); the camera keeps its pool until its stdin
# closes (fd 4 here), which ends the queue and with it the GPU program.
# Sets CAMERA_RC, GPU_RC, and LOOKS (how many times the broker's mappings
# were looked at while the frames streamed, in $TMP/broker.maps).
run_pair() {
	local pool=$1 backend=$2 format=$3 size=$4 frames=$5 policy=$6 in_flight=$7
	local cam gpu t0=$EPOCHREALTIME t_queue t_done
	shift 7

	rm -f "$TMP"/camera.* "$TMP"/gpu.* "$TMP/broker.maps"
	LOOKS=0
	mkfifo "$TMP/camera.in"
	timeout -k 5 $((2 * WAIT_S + 60)) "$CAMERA" --socket "$TMP/socket" \
		--backend "$backend" --format "$format" --size "$size" \
		--buffers "$BUFFERS" --count "$frames" --policy "$policy" \
		--max-in-flight "$in_flight" --pool "$pool" \
		<"$TMP/camera.in" >"$TMP/camera.out" 2>"$TMP/camera.err" &
	cam=$!
	exec 4>"$TMP/camera.in"
	wait_for "$WAIT_S" camera_says '^queue ' "$cam"
	t_queue=$(since "$t0")
	: >"$TMP/gpu.out"
	gpu=""
	if grep -q '^queue ' "$TMP/camera.out"; then
		# Not holding the camera's stdin open: 4>&-.
		timeout -k 5 $((2 * WAIT_S + 60)) "$GPU" --socket "$TMP/socket" \
			--pool "$pool" --timeout "$WAIT_S" "$@" >"$TMP/gpu.out" 2>&1 4>&- &
		gpu=$!
	fi
	wait_for "$WAIT_S" streaming "$cam"
	t_done=$(since "$t0")
	exec 4>&-
	wait "$cam"
	CAMERA_RC=$?
	GPU_RC="not started"
	if [[ -n $gpu ]]; then
		wait "$gpu"
		GPU_RC=$?
	fi
	diag "$pool: queue after $t_queue s, $frames frames done after $t_done s, both programs gone after $(since "$t0") s"
}

# show_pair: both programs' output, the camera's per-frame lines left out.
show_pair() {
	diag "camera (exit $CAMERA_RC):"
	grep -v '^frame ' "$TMP/camera.out" | indent
	indent <"$TMP/camera.err"
	diag "gpu (exit $GPU_RC):"
	grep -v '^frame .* pattern ok$' "$TMP/gpu.out" | indent
}

# result OK? NAME: one TAP line.
result() { if [[ $1 == 0 ]]; then ok "$2"; else not_ok "$2"; fi; }

# frames_seen: the sequence numbers the GPU checked and found the bars
# in, one a line.
frames_seen() { sed -n 's/^frame \([0-9]*\) .* pattern ok$/\1/p' "$TMP/gpu.out"; }

# same_buffers: the GPU holds the very buffers the camera queued.
same_buffers() {
	buffers "$TMP/camera.out" >"$TMP/camera.ino"
	buffers "$TMP/gpu.out" >"$TMP/gpu.ino"
	[[ $(wc -l <"$TMP/camera.ino") == "$BUFFERS" ]] &&
		cmp -s "$TMP/camera.ino" "$TMP/gpu.ino" && return 0
	diff "$TMP/camera.ino" "$TMP/gpu.ino" | indent
	return 1
}

# check_short BACKEND FORMAT: a short HOLD stream; three results.
check_short() {
	local what="$1 $2"
	local -a names=("$what: camera captures and posts $SHORT_FRAMES frames"
		"$what: gpu receives frames 1..$SHORT_FRAMES in order, the bars in each, imported into vgem"
		"$what: gpu holds the buffers the camera queued (same dma-bufs)")

	run_pair "e2e-$1-$2" "$1" "$2" 640x480 "$SHORT_FRAMES" hold 0
	show_pair
	if [[ $CAMERA_RC == 69 ]]; then
		local why n
		why=$(tail -n 1 "$TMP/camera.err" | sed 's/^dmabuf-camera-example: //')
		for n in "${names[@]}"; do skip "$n" "$why"; done
		return 0
	fi
	[[ $CAMERA_RC == 0 ]] && grep -q "^done $SHORT_FRAMES frames" "$TMP/camera.out"
	result $? "${names[0]}"
	[[ $GPU_RC == 0 && $(frames_seen | tr '\n' ' ') == "$(seq -s ' ' "$SHORT_FRAMES") " ]]
	result $? "${names[1]}"
	same_buffers
	result $? "${names[2]}"
}

# check_hold BACKEND: LONG_FRAMES frames under HOLD; four results.
check_hold() {
	local what="$1 YUYV $LONG_SIZE hold"

	run_pair e2e-hold "$1" YUYV "$LONG_SIZE" "$LONG_FRAMES" hold 0
	show_pair
	[[ $CAMERA_RC == 0 ]] && grep -q "^done $LONG_FRAMES frames" "$TMP/camera.out"
	result $? "$what: camera captures and posts $LONG_FRAMES frames"
	[[ $GPU_RC == 0 && $(frames_seen | tr '\n' ' ') == "$(seq -s ' ' "$LONG_FRAMES") " ]]
	result $? "$what: gpu receives every frame, 1..$LONG_FRAMES in order, the bars in each"
	same_buffers
	result $? "$what: gpu holds the buffers the camera queued (same dev and inode)"
	[[ $LOOKS -gt 1 && ! -s $TMP/broker.maps ]]
	result $? "$what: the broker mapped none of the frames while they streamed ($LOOKS looks at its maps)"
	indent <"$TMP/broker.maps"
}

# check_drop BACKEND: LONG_FRAMES frames under DROP_OLDEST to a GPU that
# holds each frame SLOW_MS, one at a time; three results.
check_drop() {
	local what="$1 YUYV $LONG_SIZE drop-oldest, gpu slow" posted delivered dropped seen
	local bposted bdelivered bdropped

	run_pair e2e-drop "$1" YUYV "$LONG_SIZE" "$LONG_FRAMES" drop-oldest 1 \
		--slow-ms "$SLOW_MS"
	show_pair
	posted=$(counter "$TMP/camera.out" counters posted)
	delivered=$(counter "$TMP/camera.out" counters delivered)
	dropped=$(counter "$TMP/camera.out" counters dropped)
	bposted=$(counter "$TMP/camera.out" broker-counters posted)
	bdelivered=$(counter "$TMP/camera.out" broker-counters delivered)
	bdropped=$(counter "$TMP/camera.out" broker-counters dropped)
	seen=$(frames_seen | wc -l)
	[[ $CAMERA_RC == 0 && $posted == "$LONG_FRAMES" ]]
	result $? "$what: camera captures and posts $LONG_FRAMES frames"
	[[ -n $dropped && $dropped -gt 0 && $((delivered + dropped)) == "$posted" &&
		$bposted == "$posted" && $bdelivered == "$delivered" && $bdropped == "$dropped" ]]
	result $? "$what: frames dropped ($dropped), posted $posted = delivered $delivered + dropped, the broker's counters the same"
	[[ $GPU_RC == 0 && $seen == "$delivered" ]] && frames_seen | sort -c -n -u
	result $? "$what: gpu receives the $seen delivered frames in order, the bars in each"
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
	echo "1..$((1 + 3 * ${#backends[@]} * ${#FORMATS[@]} + 4 + 3))"
	ok "broker starts with dma-buf backends: ${backends[*]}"
	for b in "${backends[@]}"; do
		for f in "${FORMATS[@]}"; do
			check_short "$b" "$f"
		done
	done
	check_hold "${backends[0]}"
	check_drop "${backends[0]}"
}

main "$@"
