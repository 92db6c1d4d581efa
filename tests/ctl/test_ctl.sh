#!/bin/bash
# dmabuf-ctl against a real broker on a private socket: exit codes, human and
# JSON output, access rules as another uid, watch.  Prints TAP.
# Environment: DBB_BUILD, the build tree holding daemon/ and ctl/.
set -uo pipefail

build=${DBB_BUILD:?DBB_BUILD not set}
ctl=$build/ctl/dmabuf-ctl
brokerd=${DBB_BROKERD:-$build/daemon/dmabuf-brokerd}
dir=$(mktemp -d /tmp/dbb-ctl.XXXXXX)
sock=$dir/sock
export DMABUF_BROKER_SOCKET=$sock
daemon_pid=

n=0
plan=36
echo "1..$plan"

cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null
	jobs -p | xargs -r kill 2>/dev/null
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

# Records one result: $1 is 0 for a pass, $2 the name, $3 a detail on failure.
result() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && echo "# $3"
	fi
}

# expect_exit CODE NAME CMD...: runs CMD and checks its exit status.
expect_exit() {
	local want=$1 name=$2 got
	shift 2
	"$@" >"$dir/out" 2>"$dir/err"
	got=$?
	[ "$got" -eq "$want" ]
	result $? "$name" "exit $got, expected $want; stderr: $(head -c 300 "$dir/err")"
}

# expect_json NAME JQ-FILTER CMD...: CMD succeeds and its output passes the
# filter (jq -e: the filter must yield true).
expect_json() {
	local name=$1 filter=$2 rc
	shift 2
	"$@" >"$dir/out" 2>"$dir/err"
	rc=$?
	[ "$rc" -eq 0 ] && jq -e "$filter" "$dir/out" >/dev/null
	result $? "$name" "exit $rc; output: $(head -c 300 "$dir/out")"
}

as_nobody() {
	setpriv --reuid 65534 --regid 65534 --clear-groups "$@"
}

# A uid with no account, owning nothing.
as_stranger() {
	setpriv --reuid 1000 --regid 1000 --clear-groups "$@"
}

start_daemon() {
	cat >"$dir/broker.conf" <<-EOF
	[broker]
	backends = memfd
	[limits]
	max_buffer_size = 64M
	[quota]
	bytes = 24M
	buffers = 8
	[names]
	svc/ = user:nobody
	EOF
	"$brokerd" --socket "$sock" --config "$dir/broker.conf" \
		>"$dir/daemon.out" 2>"$dir/daemon.err" &
	daemon_pid=$!
	for _ in $(seq 100); do
		grep -q '^listening on' "$dir/daemon.out" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# --- no broker yet, bad usage ---
expect_exit 2 "status without a broker exits 2" "$ctl" status
expect_exit 1 "unknown command exits 1" "$ctl" frobnicate
expect_exit 1 "bad size exits 1" "$ctl" alloc 12Q

start_daemon
result $? "broker starts" "$(cat "$dir/daemon.err")"
chmod 0755 "$dir"

expect_json "status --json says up" '.up == true' "$ctl" --json status
kill -STOP "$daemon_pid"
expect_exit 2 "status of a stopped broker exits 2 (timeout)" "$ctl" status
kill -CONT "$daemon_pid"

# --- errors first ---
expect_exit 3 "info of an unknown name exits 3" "$ctl" info nosuch
expect_exit 3 "info of an unknown id exits 3" "$ctl" info 999999
expect_exit 7 "an invalid name exits 7" "$ctl" alloc 4K --name .bad
expect_exit 5 "over max_buffer_size exits 5" "$ctl" alloc 128M
expect_exit 7 "an unavailable backend exits 7" "$ctl" alloc 4K --backend kmod

# --- a buffer ---
expect_json "alloc --json returns the buffer" \
	'.name == "cam0" and .size == 8388608 and .backend == "memfd" and .lifetime == "persistent"' \
	"$ctl" --json alloc 8M --name cam0
expect_exit 6 "a taken name exits 6" "$ctl" alloc 4K --name cam0
expect_exit 5 "over the byte quota exits 5" "$ctl" alloc 20M --name big
expect_json "list shows it" \
	'[.[] | select(.name == "cam0")] | length == 1' "$ctl" --json list
expect_exit 0 "open --dump reads it" "$ctl" open cam0 --dump 32
zero_row='^000000[0-9a-f]0  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00 '
[ "$(grep -c "$zero_row" "$dir/out")" -eq 2 ]
result $? "new memory reads as zero" "$(head -c 300 "$dir/out")"

# --- another uid ---
# A buffer another uid may not open is not there for it.
expect_exit 3 "another uid cannot open without a grant" as_nobody "$ctl" open cam0
expect_exit 3 "another uid cannot remove it" as_nobody "$ctl" remove cam0
expect_exit 0 "the owner grants read-only" "$ctl" grant cam0 uid:65534 ro
expect_exit 0 "a read-only open now works" as_nobody "$ctl" open cam0 --read-only
expect_exit 4 "a read-write open is still refused" as_nobody "$ctl" open cam0

# --- holders, watch ---
"$ctl" open cam0 --read-only --hold >/dev/null 2>&1 &
hold_pid=$!
for _ in $(seq 50); do
	"$ctl" --json holders cam0 >"$dir/holders" 2>/dev/null &&
		jq -e 'length == 1' "$dir/holders" >/dev/null && break
	sleep 0.1
done
jq -e '.[0].writable == false' "$dir/holders" >/dev/null
result $? "holders shows the read-only holder" "$(head -c 300 "$dir/holders")"
kill "$hold_pid"
wait "$hold_pid" 2>/dev/null

"$ctl" --json watch >"$dir/events" 2>/dev/null &
watch_pid=$!
sleep 0.5
"$ctl" alloc 4K --name ev0 >/dev/null && "$ctl" remove ev0 >/dev/null
sleep 0.5
kill "$watch_pid"
wait "$watch_pid" 2>/dev/null
jq -se '[.[] | select(.buffer.name == "ev0") | .event] == ["created", "destroyed"]' \
	"$dir/events" >/dev/null
result $? "watch reports created then destroyed" "$(head -c 400 "$dir/events")"

expect_json "backends prefers memfd" \
	'[.[] | select(.preferred)] | .[0].name == "memfd"' "$ctl" --json backends
expect_json "backends tells what memfd can do" \
	'[.[] | select(.name == "memfd")] | .[0] | .read_only and (.pin | not) and .formats > 0' \
	"$ctl" --json backends
# --- reserved names ---
expect_json "names shows who owns svc/" \
	'length == 1 and .[0].prefix == "svc/" and .[0].owner == "user" and .[0].id == 65534 and .[0].owner_name == "nobody" and .[0].caller_may_take' \
	"$ctl" --json names
expect_json "names tells a stranger it may not take them" \
	'.[0].caller_may_take | not' as_stranger "$ctl" --json names
expect_exit 0 "names prints the owner" "$ctl" names
grep -q '^svc/ .*user nobody (uid 65534) .*yes$' "$dir/out"
result $? "names' line reads prefix, owner, yes" "$(head -c 300 "$dir/out")"
expect_exit 4 "a stranger cannot take a reserved name" \
	as_stranger "$ctl" alloc 4K --name svc/frame
expect_exit 0 "the owner can" as_nobody "$ctl" alloc 4K --name svc/frame

expect_json "alloc auto --format lets the broker lay out NV12" \
	'.layout.planes[0].stride == 128 and .layout.planes[1].offset == 6400 and .size == 12288' \
	"$ctl" --json alloc auto --format NV12 --width 100 --height 50 --name nv0
expect_exit 0 "the owner removes it" "$ctl" remove cam0
expect_exit 3 "then it is gone" "$ctl" info cam0

kill -TERM "$daemon_pid"
wait "$daemon_pid"
rc=$?
daemon_pid=
result "$rc" "broker exits 0 on SIGTERM" "exit $rc"

[ "$n" -eq "$plan" ] || echo "# ran $n of $plan"
