#!/bin/bash
# case-timeout: 400
# Crash safety through the fd store: persistent buffers on every backend
# the broker has here survive kill -9 of the MainPID (Restart=on-failure)
# and `systemctl restart` with their ids, names, bytes, grants and quota,
# while a client keeps them mapped; ids are not reused.  The checks are
# tests/systemd/crash_check.c's; this script adds the fd store as systemd
# shows it, and what the broker logged about it.

source "$PROJECT/tests/systemd/lib.sh"

prog=$BUILD/tests/systemd/crash_check
if [[ ! -x $prog ]]; then
	echo "crash_check is not built ($prog)"
	exit 77
fi

nstore() {
	unit_prop "$SERVICE" NFileDescriptorStore
}

store_holds() {
	test "$(nstore)" = "$1"
}

tap_check "the unit keeps an fd store (FileDescriptorStoreMax=$(unit_prop "$SERVICE" FileDescriptorStoreMax))" \
	test "$(unit_prop "$SERVICE" FileDescriptorStoreMax)" -gt 2
since=$(date +%s)
"$prog"
rc=$?
# crash_check destroyed its buffers at the end: the two state memfds stay.
echo "fd store after the buffers were destroyed: $(nstore) fds"
tap_check "Destroy takes the buffers out of the fd store" sd_wait 30 store_holds 2
echo "the broker's log about the fd store:"
journalctl -u "$SERVICE" --since "@$since" --no-pager -o cat |
	grep -E "fd store|signal|Scheduled restart" | tail -n 20
systemctl stop "$SERVICE"
tap_check "systemctl stop empties the fd store" store_holds 0
exit $rc
