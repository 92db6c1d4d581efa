#!/bin/bash
# Runs every case of tests/systemd/cases/ in the systemd guest, in file
# name order, each in the state and with the environment README.md
# describes, and prints their results as one TAP stream (plan last).
#
# Environment: PROJECT, BUILD, KVER, KMOD_DIR, RESULTS, INSTALL_ROOT (see
# README.md); CASES selects cases by a glob on their names (default *).

set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR
source "$HERE/lib.sh"

export PREFIX=/usr SERVICE=dmabuf-brokerd.service \
	SOCKET_UNIT=dmabuf-brokerd.socket BROKER_SOCKET=/run/dmabuf-broker/socket \
	BROKER_USER=dmabuf-broker
DEFAULT_CASE_TIMEOUT=${CASE_TIMEOUT:-120}
N=0

result() {	# ok|"not ok" description
	N=$((N + 1))
	echo "$1 $N - $2"
}

# reset_broker: the state every case starts from.  A reload only when a
# case left drop-ins: under TCG each takes seconds.
reset_broker() {
	local dropins=("/run/systemd/system/$SERVICE.d" "/run/systemd/system/$SOCKET_UNIT.d")

	if [[ -e ${dropins[0]} || -e ${dropins[1]} ]]; then
		rm -rf "${dropins[@]}"
		systemctl daemon-reload
	fi
	systemctl stop "$SERVICE"
	systemctl reset-failed "$SERVICE" "$SOCKET_UNIT" 2>/dev/null
	systemctl start "$SOCKET_UNIT"
}

# case_timeout FILE: the case's own "# case-timeout: N", or the default.
case_timeout() {
	local t

	t=$(sed -nE 's/^# case-timeout: *([0-9]+) *$/\1/p' "$1" | head -n 1)
	echo "${t:-$DEFAULT_CASE_TIMEOUT}"
}

# relay NAME: a case's output as results named "NAME ...", or comments.
# Prints "results failures last-line" to fd 3.
relay() {
	local name=$1 line results=0 failures=0 last=""
	local re='^(not ok|ok)([[:space:]]+[0-9]+)?[[:space:]]*-?[[:space:]]*(.*)$'

	while IFS= read -r line; do
		if [[ $line =~ $re ]]; then
			result "${BASH_REMATCH[1]}" "$name: ${BASH_REMATCH[3]}"
			results=$((results + 1))
			[[ ${BASH_REMATCH[1]} == ok ]] || failures=$((failures + 1))
		else
			echo "# $name: $line"
			[[ -n $line ]] && last=$line
		fi
	done
	echo "$results $failures $last" >&3
}

run_case() {
	local file=$1 name limit rc results failures last

	name=$(basename "$file" .sh)
	limit=$(case_timeout "$file")
	export CASE_TIMEOUT=$limit
	CASE_TMP=$(mktemp -d "/tmp/case.$name.XXXXXX")
	export CASE_TMP
	reset_broker >/dev/null 2>&1
	# timeout signals its whole process group: a case's children too.
	timeout -k 10 "$limit" "$file" >"$CASE_TMP.out" 2>&1 </dev/null
	rc=$?
	relay "$name" <"$CASE_TMP.out" 3>"$CASE_TMP.counts"
	read -r results failures last <"$CASE_TMP.counts"
	case $rc in
	0) ;;
	124 | 137) result "not ok" "$name: timed out after $limit s" ;;
	77) [[ $results -ne 0 ]] || result ok "$name # SKIP ${last:-no reason given}" ;;
	*) [[ $failures -ne 0 ]] || result "not ok" "$name: exited with $rc" ;;
	esac
	[[ $failures -eq 0 && ($rc -eq 0 || $rc -eq 77) ]] || show_broker "$name"
	rm -rf "$CASE_TMP" "$CASE_TMP.out" "$CASE_TMP.counts"
}

# show_broker NAME: after a failed case, the units' state and the
# service's journal, as comments.
show_broker() {
	{
		systemctl status --no-pager "$SOCKET_UNIT" "$SERVICE"
		journalctl --no-pager -o short-monotonic -n 40 -u "$SERVICE"
	} 2>&1 | sed "s/^/# $1: | /"
}

main() {
	local file

	for file in "$HERE"/cases/${CASES:-*}.sh; do
		[[ -x $file ]] || continue
		run_case "$file"
	done
	reset_broker >/dev/null 2>&1
	echo "1..$N"
}

main "$@"
