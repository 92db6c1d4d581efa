#!/bin/bash
# systemctl stop: the broker exits cleanly on SIGTERM (status 0, no
# signal, no core), and the socket stays to start it again.

source "$PROJECT/tests/systemd/lib.sh"

/usr/bin/dmabuf-ctl status >/dev/null
pid=$(main_pid)
tap_check "running after a connect" test "$pid" -ne 0
since=$(date '+%Y-%m-%d %H:%M:%S')
tap_check "systemctl stop succeeds" systemctl stop "$SERVICE"
tap_check "Result=success" test "$(unit_prop "$SERVICE" Result)" = success
tap_check "exited with status 0, not by a signal" \
	test "$(unit_prop "$SERVICE" ExecMainCode)/$(unit_prop "$SERVICE" ExecMainStatus)" = 1/0
tap_check "no core dumped" sh -c \
	"! journalctl -u '$SERVICE' --since '$since' -o cat | grep -qi 'dumped core\|core-dump'"
tap_check "the process is gone" sh -c "! kill -0 $pid 2>/dev/null"
tap_check "socket still listening" test "$(unit_prop "$SOCKET_UNIT" SubState)" = listening
tap_check "a connect starts it again" /usr/bin/dmabuf-ctl status
tap_check "active again" test "$(unit_prop "$SERVICE" ActiveState)" = active
