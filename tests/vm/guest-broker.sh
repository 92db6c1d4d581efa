#!/bin/bash
# The broker's tests inside a test guest: sourced by tests/kmod/guest.sh
# after the module's tests, or run by itself as GUEST_SCRIPT while working
# on it.  See tests/vm/README.md.  Environment, besides guest.sh's:
#
#   BROKER_PROGS  the integration test programs, paths under $BUILD
#   GUEST_PROGS   the programs of `make print-guest-progs`, under $BUILD
#   BROKER_BUILD  "ok", or why the host could not build them
#
# For each backend of BROKER_BACKENDS a daemon limited to it must start
# here; then every integration program runs against it (DBB_TEST_BACKEND)
# and each of its tests is a result "broker/<backend> <program>: <test>".
# A backend whose device this kernel lacks is one "# SKIP" result with the
# daemon's reason; one whose device is here and that the daemon still
# refuses is a failure (unless the daemon has no such backend yet).  Then
# every GUEST_PROGS program runs once, "<program>: <test>".

BROKER_BACKENDS=(kmod heap udmabuf drm memfd)
BROKER_PROG_TIMEOUT=${BROKER_PROG_TIMEOUT:-240}
# A quarter of the bad-input tests' iterations, as under valgrind: here
# they are to cover each backend; the host runs them in full.
BROKER_TEST_SCALE=${DBB_TEST_SCALE:-25}

if ! declare -F ok >/dev/null; then	# run by itself: guest.sh's helpers
	N=0
	ok() { N=$((N + 1)); echo "ok $N - $1"; }
	not_ok() { N=$((N + 1)); echo "not ok $N - $1"; }
	skip() { N=$((N + 1)); echo "ok $N - $1 # SKIP $2"; }
	check() {
		local name=$1
		shift
		if "$@"; then ok "$name"; else not_ok "$name"; fi
	}
	diag() { echo "# $*"; }
	now() { cut -d' ' -f1 /proc/uptime; }
fi

# broker_load_module: dmabuf_sg.ko for the kmod backend (the module's
# tests end by unloading it) and the importers, as guest.sh loads them.
broker_load_module() {
	local m

	for m in vgem vivid; do
		modprobe "$m" 2>&1 | sed "s/^/# modprobe $m: /"
	done
	[[ -d /sys/module/dmabuf_sg ]] && return 0
	insmod "$KMOD_DIR/dmabuf_sg.ko" 2>&1 | sed 's/^/# insmod: /'
	[[ -d /sys/module/dmabuf_sg ]]
}

# broker_probe BACKEND: succeeds when a daemon limited to BACKEND starts;
# prints the daemon's word on the backend (its detail, or why not).
broker_probe() {
	local be=$1 dir=/tmp/dbb-probe.$1 pid i line

	rm -rf "$dir"
	mkdir -p "$dir"
	echo "[broker]" >"$dir/broker.conf"
	: >"$dir/log"	# before the loop reads it: the child opens it later
	"$BUILD/daemon/dmabuf-brokerd" --socket "$dir/socket" \
		--config "$dir/broker.conf" --backends "$be" >>"$dir/log" 2>&1 &
	pid=$!
	for i in $(seq 150); do
		grep -q '^listening on' "$dir/log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	line=$(grep -m1 "backend $be: " "$dir/log" | sed -E "s/.*backend $be: (unavailable: )?//")
	echo "${line:-$(tail -n 1 "$dir/log")}"
	grep -q '^listening on' "$dir/log"
}

# broker_offered BACKEND: succeeds when this kernel offers what BACKEND
# needs; prints what that is.
broker_offered() {
	local f

	case $1 in
	kmod) echo /dev/dmabuf_sg; [[ -c /dev/dmabuf_sg ]] ;;
	heap)
		echo "/dev/dma_heap/<heap>"
		# guest.sh links the module's own node there: not a heap.
		for f in /dev/dma_heap/*; do
			[[ -c $f && ! -L $f ]] && return 0
		done
		return 1
		;;
	udmabuf) echo /dev/udmabuf; [[ -c /dev/udmabuf ]] ;;
	drm)
		echo "/dev/dri/card*"
		compgen -G '/dev/dri/card*' >/dev/null
		;;
	*) echo "memfd_create()" ;;
	esac
}

# broker_relay LABEL OUT: the TAP of a finished program, each test as
# "LABEL: name"; its comments pass through.  Sets PLANNED and SEEN.
broker_relay() {
	local label=$1 line status desc
	local re='^(not ok|ok)([[:space:]]+[0-9]+)?([[:space:]]*-)?[[:space:]]*(.*)$'

	PLANNED=0 SEEN=0
	while IFS= read -r line || [[ -n $line ]]; do
		if [[ $line =~ $re ]]; then
			status=${BASH_REMATCH[1]} desc=${BASH_REMATCH[4]}
			SEEN=$((SEEN + 1))
			if [[ $desc =~ ^\#[[:space:]]*[Ss][Kk][Ii][Pp][[:space:]]*(.*)$ ]]; then
				# cmocka: "not ok 3 # SKIP test_name"
				skip "$label: ${BASH_REMATCH[1]:-test $SEEN}" "skipped by the test"
			elif [[ $status == ok ]]; then
				ok "$label: $desc"
			else
				not_ok "$label: $desc"
			fi
		elif [[ $line =~ ^1\.\.([0-9]+) ]]; then
			PLANNED=$((PLANNED + BASH_REMATCH[1]))
		elif [[ $line == \#* ]]; then
			echo "$line"
		else
			echo "# | $line"
		fi
	done <"$2"
}

# broker_run LABEL PROGRAM: one TAP program, its results under LABEL.
# A result it planned and did not print fails, so does a non-zero exit
# with no failed test; exit 77 with no result is one SKIP.
broker_run() {
	local label=$1 prog=$2 out=/tmp/broker.out err=/tmp/broker.err t0 rc i

	if [[ ! -x $prog ]]; then
		not_ok "$label (missing $prog)"
		return 0
	fi
	t0=$(now)
	# The script itself is spared by the OOM killer (guest.sh); the
	# programs are not.
	(echo 0 >/proc/self/oom_score_adj
	 exec timeout -k 5 "$BROKER_PROG_TIMEOUT" "$prog") >"$out" 2>"$err" </dev/null
	rc=$?
	broker_relay "$label" "$out"
	diag "$label: exit $rc, $(awk -v a="$t0" -v b="$(now)" \
		'BEGIN { printf "%.1f", b - a }') s from uptime $t0 s"
	if [[ $rc -eq 77 && $SEEN -eq 0 ]]; then
		skip "$label" "$(tail -n 1 "$err" | cut -c1-200)"
		return 0
	fi
	for ((i = SEEN; i < PLANNED; i++)); do
		not_ok "$label: result $((i + 1)) of $PLANNED missing"
	done
	case $rc in
	0) ;;
	124) not_ok "$label: timed out after $BROKER_PROG_TIMEOUT s" ;;
	137) not_ok "$label: killed (SIGKILL: out of memory, or its timeout)" ;;
	*) grep -q '^not ok' "$out" || not_ok "$label: exit status $rc" ;;
	esac
	if [[ $rc -ne 0 ]]; then
		diag "$label: last lines of stderr:"
		tail -n 20 "$err" | sed 's/^/# | /'
	fi
}

# broker_backend BACKEND: every integration program against a daemon
# limited to BACKEND, or one SKIP.
broker_backend() {
	local be=$1 word dev prog

	if ! word=$(broker_probe "$be"); then
		if ! dev=$(broker_offered "$be"); then
			skip "broker/$be" "no $dev in this kernel; the daemon says: $word"
		elif [[ $word == *"not implemented"* ]]; then
			skip "broker/$be" "the daemon has no $be backend yet: $word"
		else
			not_ok "broker/$be: $dev is here, yet the daemon says: $word"
		fi
		return 0
	fi
	diag "broker/$be: $word"
	for prog in $BROKER_PROGS; do
		DBB_TEST_BACKEND=$be broker_run "broker/$be ${prog##*/}" "$BUILD/$prog"
	done
}

broker_tests() {
	local be prog

	diag "broker tests: ${BROKER_PROGS:-none} on ${BROKER_BACKENDS[*]}"
	if [[ ${BROKER_BUILD:-} != ok ]]; then
		for be in "${BROKER_BACKENDS[@]}"; do
			skip "broker/$be" "${BROKER_BUILD:-no build of the broker}"
		done
		skip "guest programs" "${BROKER_BUILD:-no build of the broker}"
		return 0
	fi
	check "dmabuf_sg.ko loaded for the broker" broker_load_module
	# The programs run from the snapshot: its daemon and its library,
	# not those the build tree's rpath names.
	export DBB_BROKERD=$BUILD/daemon/dmabuf-brokerd
	export LD_LIBRARY_PATH=$BUILD/libclient CMOCKA_MESSAGE_OUTPUT=TAP
	for be in "${BROKER_BACKENDS[@]}"; do
		DBB_TEST_SCALE=$BROKER_TEST_SCALE \
			broker_backend "$be"
	done
	for prog in $GUEST_PROGS; do
		broker_run "${prog##*/}" "$BUILD/$prog"
	done
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -u
	cd "$PROJECT" || exit 1
	broker_tests
	echo "1..$N"
fi
