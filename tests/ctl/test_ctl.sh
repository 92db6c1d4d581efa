#!/bin/bash
# dmabuf-ctl against a real broker on a private socket: exit codes, human and
# JSON output, access rules as another uid, watch, pools and their queue's
# counters (fed by tests/ctl/queue_peer).  Prints TAP.
# Environment: DBB_BUILD, the build tree holding daemon/, ctl/ and
# tests/ctl/queue_peer.
set -uo pipefail

build=${DBB_BUILD:?DBB_BUILD not set}
ctl=$build/ctl/dmabuf-ctl
queue_peer=$build/tests/ctl/queue_peer
brokerd=${DBB_BROKERD:-$build/daemon/dmabuf-brokerd}
dir=$(mktemp -d /tmp/dbb-ctl.XXXXXX)
sock=$dir/sock
export DMABUF_BROKER_SOCKET=$sock
daemon_pid=

n=0
plan=110
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

# wait_for CMD...: runs CMD until it succeeds, for up to 60 s.
wait_for() {
	local i

	for ((i = 0; i < 600; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# has_line FILE REGEX: FILE has a line matching REGEX.
has_line() {
	grep -Eq -- "$2" "$1" 2>/dev/null
}

# json_lines_match FILE JQ-FILTER: jq -s of FILE's lines yields true.
json_lines_match() {
	jq -se "$2" "$1" >/dev/null 2>&1
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

# --- pools: bad input first ---
expect_exit 1 "pool-alloc without --count exits 1" "$ctl" pool-alloc 64K
expect_exit 1 "pool-alloc --count 0 exits 1" "$ctl" pool-alloc 64K --count 0
expect_exit 1 "pool-alloc --count 33 exits 1" "$ctl" pool-alloc 64K --count 33
expect_exit 1 "pool-alloc --count x exits 1" "$ctl" pool-alloc 64K --count x
expect_exit 1 "--count on pools exits 1" "$ctl" pools --count 2
expect_exit 1 "queue-watch --interval 5 exits 1" "$ctl" queue-watch 1 --interval 5
expect_exit 1 "queue-watch --interval 0 exits 1" "$ctl" queue-watch 1 --interval 0
expect_exit 3 "pool-info of an unknown name exits 3" "$ctl" pool-info nosuch
expect_exit 3 "pool-info of an unknown id exits 3" "$ctl" pool-info 999999
expect_exit 3 "queue-watch of an unknown pool exits 3" "$ctl" queue-watch nosuch --count 1
# The quota allows 8 buffers: 9 are refused whole, and nothing is left.
expect_exit 5 "a pool over the buffer quota exits 5" "$ctl" pool-alloc 4K --count 9 --name over
expect_json "a refused pool leaves nothing" \
	'length == 0' "$ctl" --json pools

# --- a pool ---
expect_json "pool-alloc --json returns the pool and its buffers" \
	'.name == "pq" and .count == 4 and .buffer_size == 65536 and .lifetime == "persistent" and .queue == null and ([.buffers[].pool_index] == [0, 1, 2, 3]) and (.id as $id | [.buffers[].pool_id] | unique == [$id])' \
	"$ctl" --json pool-alloc 64K --count 4 --name pq
pool_id=$(jq -r .id "$dir/out")
member=$(jq -r '.buffers[1].id' "$dir/out")
expect_json "pools lists it without a queue" \
	'length == 1 and .[0].name == "pq" and .[0].count == 4 and .[0].queue == null' \
	"$ctl" --json pools
expect_exit 0 "pools prints a table" "$ctl" pools
has_line "$dir/out" "^$pool_id +pq +4 +64 KiB +memfd +0 +persistent +- +- +- +-\$"
result $? "pools' row reads id, name, count, size, ..., no queue" "$(cat "$dir/out")"
expect_json "pool-info by id shows the members in order" \
	"(.buffers | length) == 4 and .buffers[1].id == $member and .buffers[1].pool_index == 1" \
	"$ctl" --json pool-info "$pool_id"
expect_json "info of a pool's name describes the pool" \
	".id == $pool_id and .count == 4 and (.buffers | length) == 4" "$ctl" --json info pq
expect_exit 1 "holders of a pool points to pool-info" "$ctl" holders pq
expect_exit 3 "pool-info of a buffer exits 3" "$ctl" pool-info nv0
expect_json "info of a member names its pool" \
	".pool_id == $pool_id and .pool_index == 1" "$ctl" --json info "$member"
expect_exit 7 "a member cannot be removed alone" "$ctl" remove "$member"
expect_exit 3 "another uid does not see the pool" as_nobody "$ctl" pool-info pq
expect_exit 3 "nor watch its queue" as_nobody "$ctl" queue-watch pq --count 1
expect_exit 0 "the owner grants the pool read-only" "$ctl" grant pq uid:65534 ro
expect_json "the pool and every member carry the grant" \
	'.grants == [{"subject": "uid", "id": 65534, "access": "ro"}] and ([.buffers[].grants | length] == [1, 1, 1, 1])' \
	"$ctl" --json pool-info pq
expect_json "then the other uid sees the pool and its buffers" \
	'.name == "pq" and (.buffers | length) == 4' as_nobody "$ctl" --json pool-info pq
expect_exit 4 "but may not remove it" as_nobody "$ctl" remove pq
expect_exit 0 "queue-watch of a pool without a queue" "$ctl" queue-watch pq --count 1
has_line "$dir/out" '^[0-9:.]+ +no queue$'
result $? "queue-watch says there is no queue" "$(cat "$dir/out")"

# --- its queue, fed by a producer and a consumer ---
# Watchers, one JSON and one text, hear the queue begin and end.
"$ctl" --json watch >"$dir/qevents" 2>/dev/null &
qevents_pid=$!
"$ctl" watch >"$dir/qevents.txt" 2>/dev/null &
qevents_txt_pid=$!
qevents_subscribed() {
	"$ctl" alloc 4K --name qevsync >/dev/null 2>&1
	"$ctl" remove qevsync >/dev/null 2>&1
	has_line "$dir/qevents" '"name": ?"qevsync"' &&
		has_line "$dir/qevents.txt" ' name=qevsync '
}
wait_for qevents_subscribed
result $? "queue event watchers are subscribed" "$(head -c 300 "$dir/qevents")"
mkfifo "$dir/peer.in"
"$queue_peer" pq <"$dir/peer.in" >"$dir/peer.out" 2>"$dir/peer.err" &
peer_pid=$!
exec 5>"$dir/peer.in"
wait_for has_line "$dir/peer.out" '^ready '
result $? "a producer and a consumer attach" "$(cat "$dir/peer.err")"
echo "post 3" >&5
wait_for has_line "$dir/peer.out" '^ready posted=3 released=3$'
result $? "three frames go round" "$(cat "$dir/peer.out" "$dir/peer.err")"
expect_json "pool-info shows the queue and its consumer's counters" \
	'.queue.policy == "hold" and .queue.release_timeout_ms == 0 and .queue.consumers_cut_off == 0 and .queue.producer_name == "queue-producer" and .queue.counters.posted == 3 and .queue.counters.released == 3 and .queue.counters.in_flight == 0 and (.queue.consumers | length) == 1 and .queue.consumers[0].client_name == "queue-consumer" and .queue.consumers[0].counters.delivered == 3 and .queue.consumers[0].counters.dropped == 0' \
	"$ctl" --json pool-info pq
expect_exit 0 "pool-info prints the consumers' table" "$ctl" pool-info pq
has_line "$dir/out" '^release: +no timeout$'
result $? "pool-info says the queue has no release timeout" "$(cat "$dir/out")"
has_line "$dir/out" '^0 +[0-9]+ +0 +[0-9]+ +3 +3 +3 +0 +0 +0 .* queue-consumer$'
result $? "the consumer's row reads slot, client, counters, name" "$(cat "$dir/out")"
expect_json "another uid sees the counters but not who consumes" \
	'.queue.producer_client_id == 0 and .queue.consumers[0].client_id == 0 and .queue.consumers[0].client_name == "" and .queue.consumers[0].counters.delivered == 3' \
	as_nobody "$ctl" --json pool-info pq
expect_exit 0 "pool-info prints an anonymous consumer to another uid" \
	as_nobody "$ctl" pool-info pq
has_line "$dir/out" '^0 +- +- +- +3 +3 +3 +0 +0 +0 .* -$'
result $? "the consumer's row reads dashes for who" "$(cat "$dir/out")"
expect_json "pools shows the queue's frames" \
	'.[0].queue.policy == "hold" and .[0].queue.counters.posted == 3 and .[0].queue.counters.dropped == 0' \
	"$ctl" --json pools
expect_exit 0 "queue-watch --json --count 2 runs" \
	"$ctl" --json queue-watch pq --count 2 --interval 50
json_lines_match "$dir/out" \
	'length == 2 and .[0].queue.rates.posted == null and .[1].queue.rates.posted == 0 and .[1].queue.counters.posted == 3 and .[1].queue.consumers[0].rates.released == 0'
result $? "two samples, one a line, the first without rates" "$(cat "$dir/out")"
expect_exit 0 "queue-watch prints the queue's and the consumer's rows" \
	"$ctl" queue-watch pq --count 1
has_line "$dir/out" '^[0-9:.]+ +queue +3 +- +3 +- +3 +- +0 +- +0 +0 ' &&
	has_line "$dir/out" '^ +slot 0 +3 +- +3 +- +3 +- +0 +- +0 +0 '
result $? "queue-watch's rows read the counters" "$(cat "$dir/out")"

# Rates while frames flow: sample until the new frames are seen.
"$ctl" --json queue-watch "$pool_id" --interval 50 >"$dir/qwatch" 2>"$dir/qwatch.err" &
qwatch_pid=$!
wait_for has_line "$dir/qwatch" '"pool_id"'
echo "post 5" >&5
wait_for has_line "$dir/peer.out" '^ready posted=8 released=8$'
wait_for json_lines_match "$dir/qwatch" 'any(.queue.counters.posted == 8)'
kill "$qwatch_pid"
wait "$qwatch_pid"
rc=$?
# Each sample's rate is what it saw come in since the last one: above
# zero where the count grew, and never made up where it did not.
json_lines_match "$dir/qwatch" '
	[range(1; length) as $i | .[$i].queue as $q | .[$i - 1].queue as $p |
	 ($q.counters.posted - $p.counters.posted) as $d |
	 if $d > 0 then $q.rates.posted > 0 else $q.rates.posted == 0 end] | all'
[ "$?" -eq 0 ] && [ "$rc" -eq 0 ]
result $? "queue-watch shows a rate where frames came, and exits 0 on SIGTERM" \
	"exit $rc; $(tail -c 600 "$dir/qwatch")"

expect_json "stats counts the pool and its queue" \
	'.pools == 1 and .queues == 1 and .frames_posted == 8 and .frames_dropped == 0' \
	"$ctl" --json stats
expect_exit 0 "stats prints them" "$ctl" stats
has_line "$dir/out" '^pools: +1 \(1 with a queue\)$' &&
	has_line "$dir/out" '^frames: +8 posted, 0 dropped$'
result $? "stats' lines read pools and frames" "$(cat "$dir/out")"

# Removing the pool ends its queue, and a watch of it.
"$ctl" queue-watch pq --interval 50 >"$dir/qwatch" 2>"$dir/qwatch.err" &
qwatch_pid=$!
wait_for has_line "$dir/qwatch" 'queue'
expect_exit 0 "the owner removes the whole pool" "$ctl" remove pq
wait "$qwatch_pid"
rc=$?
[ "$rc" -eq 3 ]
result $? "queue-watch of a removed pool exits 3" "exit $rc; $(cat "$dir/qwatch.err")"
expect_exit 3 "the pool is gone" "$ctl" pool-info "$pool_id"
queue_events() {
	json_lines_match "$dir/qevents" \
		'[.[] | select(.pool.name == "pq") | .event] == ["queue-created", "queue-destroyed", "pool-destroyed"]'
}
wait_for queue_events
result $? "watch reports the queue created, then destroyed before its pool" \
	"$(tail -c 600 "$dir/qevents")"
json_lines_match "$dir/qevents" '
	[.[] | select(.pool.name == "pq")] |
	.[0].pool.queue.policy == "hold" and
	.[0].pool.queue.producer_name == "queue-producer" and
	.[1].pool.queue.counters.posted == 8 and .[2].pool.queue == null'
result $? "queue events carry the queue as it began and as it ended" \
	"$(tail -c 600 "$dir/qevents")"
has_line "$dir/qevents.txt" "^queue-created id=$pool_id name=pq count=4 .* policy=hold producer=[1-9][0-9]* \(queue-producer\)\$" &&
	has_line "$dir/qevents.txt" "^queue-destroyed id=$pool_id name=pq "
result $? "watch prints queue events with the policy and producer" \
	"$(cat "$dir/qevents.txt")"
kill "$qevents_pid" "$qevents_txt_pid"
wait "$qevents_pid" "$qevents_txt_pid" 2>/dev/null
expect_exit 3 "and its members" "$ctl" info "$member"
exec 5>&-
wait "$peer_pid"
result $? "the producer and consumer leave cleanly" "$(cat "$dir/peer.err")"

# A queue with a release timeout: pool-info says so, and counts the
# consumer the producer cuts off for keeping a frame past it.
expect_exit 0 "pool-alloc of a pool for a queue with a release timeout" \
	"$ctl" pool-alloc 4K --count 2 --name rq
mkfifo "$dir/rpeer.in"
"$queue_peer" rq 100 <"$dir/rpeer.in" >"$dir/rpeer.out" 2>"$dir/rpeer.err" &
rpeer_pid=$!
exec 6>"$dir/rpeer.in"
wait_for has_line "$dir/rpeer.out" '^ready '
result $? "a producer with a release timeout and a consumer attach" \
	"$(cat "$dir/rpeer.err")"
expect_exit 0 "pool-info of a queue with a release timeout" "$ctl" pool-info rq
has_line "$dir/out" '^release: +within 100 ms or cut off; 0 consumers cut off$'
result $? "pool-info shows the release timeout, nobody cut off yet" "$(cat "$dir/out")"
echo "hold" >&6
wait_for has_line "$dir/rpeer.out" '^ready posted=1 '
result $? "the consumer keeps a frame and is cut off" \
	"$(cat "$dir/rpeer.out" "$dir/rpeer.err")"
expect_exit 0 "pool-info after the cut-off" "$ctl" pool-info rq
has_line "$dir/out" '^release: +within 100 ms or cut off; 1 consumers cut off$'
result $? "pool-info counts the consumer cut off" "$(cat "$dir/out")"
exec 6>&-
wait "$rpeer_pid"
result $? "the producer and the cut-off consumer leave cleanly" \
	"$(cat "$dir/rpeer.err")"
expect_exit 0 "the owner removes that pool" "$ctl" remove rq

# Images: the broker lays out each buffer of the pool alike.
expect_json "pool-alloc auto --format lays out every buffer" \
	'.count == 2 and .layout.format == "NV12" and .buffer_size == 12288 and ([.buffers[].layout.planes[1].offset] == [6400, 6400])' \
	"$ctl" --json pool-alloc auto --count 2 --format NV12 --width 100 --height 50 --name nvpool
expect_exit 0 "the owner removes it by name" "$ctl" remove nvpool

# A held pool has client lifetime: it goes with dmabuf-ctl; watch sees
# it come and go.
"$ctl" --json watch >"$dir/events" 2>/dev/null &
watch_pid=$!
# Subscribed once a buffer made after it started shows up.
watching() {
	"$ctl" alloc 4K --name evsync >/dev/null 2>&1
	"$ctl" remove evsync >/dev/null 2>&1
	has_line "$dir/events" '"name": ?"evsync"'
}
wait_for watching
result $? "watch is subscribed" "$(head -c 300 "$dir/events")"
held_listed() {
	"$ctl" pools 2>/dev/null | grep -Eq ' held +2 .* client '
}
held_gone() {
	"$ctl" pool-info held >/dev/null 2>&1
	[ "$?" -eq 3 ]
}
"$ctl" pool-alloc 4K --count 2 --name held --hold >/dev/null 2>&1 &
hold_pid=$!
wait_for held_listed
result $? "pool-alloc --hold makes a client-lifetime pool" "$("$ctl" pools 2>&1)"
kill "$hold_pid"
wait "$hold_pid"
rc=$?
[ "$rc" -eq 0 ]
result $? "pool-alloc --hold exits 0 on SIGTERM" "exit $rc"
wait_for held_gone
result $? "and the pool goes with it" "$("$ctl" pools 2>&1)"
held_events() {
	json_lines_match "$dir/events" \
		'[.[] | select(.pool.name == "held") | .event] == ["pool-created", "pool-destroyed"]'
}
wait_for held_events
result $? "watch reports the pool created then destroyed" "$(tail -c 600 "$dir/events")"
json_lines_match "$dir/events" \
	'[.[] | select(.pool.name == "held") | .pool.count] == [2, 2]'
result $? "pool events carry the pool" "$(tail -c 600 "$dir/events")"
kill "$watch_pid"
wait "$watch_pid" 2>/dev/null

kill -TERM "$daemon_pid"
wait "$daemon_pid"
rc=$?
daemon_pid=
result "$rc" "broker exits 0 on SIGTERM" "exit $rc"

[ "$n" -eq "$plan" ] || echo "# ran $n of $plan"
