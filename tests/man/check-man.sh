#!/bin/bash
# The manual pages build and render cleanly, and document everything the
# programs accept: every config key the daemon parses, every dmabuf-ctl
# command and option, every dmabuf-brokerd option, every symbol the library
# exports.  The lists are taken from the sources and the built programs, so
# that a key, command, option or symbol added without its documentation
# makes this test fail.  The example programs of libdmabuf-broker(3), as
# the page shows them, are compiled and run against a broker.  Prints TAP.
# Environment: DBB_BUILD, the build tree holding man/, daemon/, ctl/ and
# libclient/.
set -uo pipefail

build=${DBB_BUILD:?DBB_BUILD not set}
src=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d /tmp/dbb-man.XXXXXX)
broker_pid=

cleanup() {
	if [ -n "$broker_pid" ]; then
		kill "$broker_pid" 2>/dev/null
		wait "$broker_pid" 2>/dev/null
	fi
	rm -rf "$dir"
}
trap cleanup EXIT

pages=("$src"/man/*.scd)
n=0
echo "1..$((2 * ${#pages[@]} + 10))"

# Records one result: $1 is 0 for a pass, $2 the name; the lines of
# $dir/why, if any, follow a failure as TAP diagnostics.
result() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		[ -s "$dir/why" ] && sed 's/^/# /' "$dir/why"
	fi
	: >"$dir/why"
}

# Renders built page $1 as plain text, wide, without hyphenation or
# justification, so that every term starts a line whole; warnings go to
# stderr.
render() {
	LC_ALL=C MANWIDTH=200 man --warnings --nh --nj -l "$1"
}

# Checks that every word on stdin appears in rendered page $1 on a line
# that matches the regex $2, the word (escaped), then the regex $3; the
# missing ones go to $dir/why.  Fails on an empty list too: the extraction
# that made it no longer matches the sources.
all_documented() {
	local page=$1 before=$2 after=$3 word re text count=0

	text=$dir/$(basename "$page").txt

	if ! render "$page" >"$text" 2>/dev/null; then
		echo "$page does not render" >>"$dir/why"
		return 1
	fi
	while read -r word; do
		count=$((count + 1))
		re=$(printf '%s' "$word" | sed 's/[].[*^$\/]/\\&/g')
		grep -Eq -- "$before$re$after" "$text" ||
			echo "$word is not documented in $(basename "$page")" \
				>>"$dir/why"
	done
	if [ "$count" -eq 0 ]; then
		echo "found nothing to look for: the sources changed shape," \
			"update tests/man/check-man.sh" >>"$dir/why"
		return 1
	fi
	[ ! -s "$dir/why" ]
}

: >"$dir/why"

for scd in "${pages[@]}"; do
	page=$(basename "$scd" .scd)
	scdoc <"$scd" >/dev/null 2>"$dir/why"
	rc=$?
	[ "$rc" -ne 0 ] && echo "scdoc exited $rc" >>"$dir/why"
	[ "$rc" -eq 0 ] && [ ! -s "$dir/why" ]
	result $? "$page: scdoc builds it without messages"

	if [ ! -f "$build/man/$page" ]; then
		echo "$build/man/$page not built" >"$dir/why"
		result 1 "$page: man renders it without warnings"
		continue
	fi
	render "$build/man/$page" >"$dir/out" 2>"$dir/why"
	rc=$?
	[ "$rc" -ne 0 ] && echo "man exited $rc" >>"$dir/why"
	[ "$rc" -eq 0 ] && [ ! -s "$dir/why" ] && grep -q '^NAME$' "$dir/out"
	result $? "$page: man renders it without warnings"
done

# Config keys: the parser's key table ({ "section", "key", ... }) and the
# keys compared by name, plus every key the sample file sets (commented
# examples too).  Each is a "key = " term of dmabuf-broker.conf(5).
{
	grep -Eo '\{ *"[a-z_.]+", *"[a-z_]+"' "$src/daemon/config.c" |
		sed -E 's/.*"([a-z_]+)"$/\1/'
	grep -Eo 'strcmp\(name, *"[a-z_]+"\)' "$src/daemon/config.c" |
		sed -E 's/.*"([a-z_]+)".*/\1/'
	grep -Eo '^;?[a-z_]+ *=' "$src/daemon/broker.conf" |
		sed -E 's/^;?([a-z_]+).*/\1/'
} | sort -u >"$dir/keys"
all_documented "$build/man/dmabuf-broker.conf.5" '^ +' ' = ' <"$dir/keys"
result $? "dmabuf-broker.conf.5: every key the daemon accepts"

# Sections: those the sample file has, and those the parser compares;
# [quota.1000] stands for [quota.UID].  Each is a heading.
{
	grep -Eo '^;?\[[a-z.0-9]+\]' "$src/daemon/broker.conf" |
		sed -E 's/^;?\[([a-z.0-9]+)\]/\1/; s/^quota\.[0-9]+$/quota.UID/'
	grep -Eo 'strcmp\(section, *"[a-z]+"\)' "$src/daemon/config.c" |
		sed -E 's/.*"([a-z]+)".*/\1/'
} | sort -u >"$dir/sections"
all_documented "$build/man/dmabuf-broker.conf.5" '^\[' '\]$' \
	<"$dir/sections"
result $? "dmabuf-broker.conf.5: every section the daemon accepts"

# dmabuf-ctl commands: the "Commands:" block of its --help (entries start
# two blanks in) and the rows of its command table.  Each starts a line
# of COMMANDS.
{
	"$build/ctl/dmabuf-ctl" --help |
		sed -n '/^Commands:/,/^$/p' | grep -Eo '^  [a-z][a-z-]*' |
		tr -d ' '
	sed -n '/ctl_commands\[\] = {/,/^};/p' "$src/ctl/main.c" |
		grep -Eo '\{ "[a-z-]+",' | sed -E 's/.*"([a-z-]+)".*/\1/'
} | sort -u >"$dir/commands"
all_documented "$build/man/dmabuf-ctl.1" '^ {7}' '( |$)' <"$dir/commands"
result $? "dmabuf-ctl.1: every command of dmabuf-ctl"

# dmabuf-ctl options: every --long option its --help names.
"$build/ctl/dmabuf-ctl" --help | grep -Eo -- '--[a-z][a-z-]*' | sort -u \
	>"$dir/ctl-options"
all_documented "$build/man/dmabuf-ctl.1" '(^|[ [])' '( |]|$)' \
	<"$dir/ctl-options"
result $? "dmabuf-ctl.1: every option of dmabuf-ctl --help"

# dmabuf-brokerd options: every --long option its --help names, and
# --help; each starts a line of OPTIONS ("-s, --socket PATH").
{
	"$build/daemon/dmabuf-brokerd" --help | grep -Eo -- '--[a-z][a-z-]*'
	echo --help
} | sort -u >"$dir/daemon-options"
all_documented "$build/man/dmabuf-brokerd.8" '^ {7}(-[a-zA-Z], )?' '( |$)' \
	<"$dir/daemon-options"
result $? "dmabuf-brokerd.8: every option of dmabuf-brokerd --help"

# Library symbols: what the version script lets the built library export
# (functions and data; not the version node itself).
nm -D --defined-only "$build/libclient/libdmabuf-broker.so.1" |
	awk '$2 ~ /^[TDBR]$/ { sub(/@.*/, "", $3); print $3 }' | sort -u \
	>"$dir/symbols"
all_documented "$build/man/libdmabuf-broker.3" \
	'(^|[^a-z0-9_])' '([^a-z0-9_]|$)' \
	<"$dir/symbols"
result $? "libdmabuf-broker.3: every symbol the library exports"

# The examples of libdmabuf-broker(3) as a reader sees them: each
# section's rendered text from its first #include to the next section.
# A library built with sanitizers (make SANITIZE=1) needs them in the
# programs too.
lib=$build/libclient/libdmabuf-broker.so.1
sanitize=
nm -D "$lib" >"$dir/lib-symbols" 2>&1
grep -q ' U __asan_' "$dir/lib-symbols" &&
	sanitize=-fsanitize=address,undefined
render "$build/man/libdmabuf-broker.3" >"$dir/lib3.txt" 2>/dev/null

# compile_example SECTION NAME: compiles the program of SECTION to $dir/NAME.
compile_example() {
	sed -n "/^$1\$/,/^[A-Z][A-Z ]*\$/p" "$dir/lib3.txt" | sed '1d;$d' |
		sed -n '/#include/,$p' >"$dir/$2.c"
	if [ ! -s "$dir/$2.c" ]; then
		echo "no program found in $1 of libdmabuf-broker.3" >"$dir/why"
		return 1
	fi
	${CC:-cc} -std=c11 -Wall -Wextra -Werror $sanitize \
		-I"$src/include" -o "$dir/$2" "$dir/$2.c" \
		-L"$build/libclient" -Wl,-rpath,"$build/libclient" \
		-ldmabuf-broker >"$dir/why" 2>&1
}
compile_example EXAMPLE example
result $? "libdmabuf-broker.3: the example compiles and links"
compile_example "QUEUE EXAMPLE" queue-example
result $? "libdmabuf-broker.3: the queue example compiles and links"

# ... and run against a broker of this tree on a private socket, with
# the memfd backend, which every kernel has.
# Not under systemd: no socket activation, no fd store.
start_broker() {
	local i

	: >"$dir/empty.conf"
	env -u NOTIFY_SOCKET -u LISTEN_FDS -u LISTEN_PID -u LISTEN_FDNAMES \
		"$build/daemon/dmabuf-brokerd" --socket "$dir/sock" \
		--config "$dir/empty.conf" --backends memfd \
		>"$dir/broker.out" 2>"$dir/broker.err" &
	broker_pid=$!
	# Up to 60 s for the broker to say it listens (or to die).
	for ((i = 0; i < 600; i++)); do
		grep -q '^listening on' "$dir/broker.out" && break
		kill -0 "$broker_pid" 2>/dev/null || break
		sleep 0.1
	done
	grep -q '^listening on' "$dir/broker.out"
}

# run_example NAME REGEX: program $dir/NAME exits 0 and prints a line
# matching REGEX.
run_example() {
	local ret

	if [ ! -x "$dir/$1" ]; then
		echo "no program $1" >"$dir/why"
		return 1
	fi
	if [ -z "$broker_pid" ] || ! kill -0 "$broker_pid" 2>/dev/null; then
		{ echo "the broker did not start:"; cat "$dir/broker.err"; } \
			>"$dir/why"
		return 1
	fi
	DMABUF_BROKER_SOCKET=$dir/sock timeout 120 "$dir/$1" \
		>"$dir/$1.out" 2>&1
	ret=$?
	if [ "$ret" -ne 0 ] || ! grep -Eq "$2" "$dir/$1.out"; then
		{ echo "exit status $ret:"; cat "$dir/$1.out"; } >"$dir/why"
		return 1
	fi
}
start_broker
run_example example '^buffer [0-9]+ from memfd, fd [0-9]+$'
result $? "libdmabuf-broker.3: the example runs against a broker"
run_example queue-example '^received 8 frames in order$'
result $? "libdmabuf-broker.3: the queue example runs against a broker"
