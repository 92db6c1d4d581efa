#!/bin/bash
# The watchdog: a broker that stops answering (SIGSTOP) is killed by
# systemd and started again, and the new process serves clients.
# case-timeout: 180

source "$PROJECT/tests/systemd/lib.sh"

# A short interval for this case only; the abort is bounded too.
add_dropin "$SERVICE" watchdog $'[Service]\nWatchdogSec=5s\nTimeoutAbortSec=20s'
systemctl start "$SERVICE"
old=$(main_pid)
restarts=$(unit_prop "$SERVICE" NRestarts)
since=$(date '+%Y-%m-%d %H:%M:%S')
echo "before: MainPID=$old NRestarts=$restarts"
tap_check "running with WatchdogSec=5s" test "$(unit_prop "$SERVICE" WatchdogUSec)" = 5s

restarted() {
	local pid

	pid=$(main_pid)
	[[ $pid -ne 0 && $pid -ne $old &&
		$(unit_prop "$SERVICE" ActiveState) == active ]]
}

kill -STOP "$old"
tap_check "a new process runs after the hang" sd_wait 120 restarted
echo "after: MainPID=$(main_pid) NRestarts=$(unit_prop "$SERVICE" NRestarts)"
tap_check "NRestarts grew by one" \
	test "$(unit_prop "$SERVICE" NRestarts)" -eq $((restarts + 1))
tap_check "the hung process is gone" sh -c "! kill -0 $old 2>/dev/null"
tap_check "systemd logged the watchdog timeout" \
	grep -q "Watchdog timeout" <(journalctl -u "$SERVICE" --since "$since" -o cat)
tap_check "the new process serves dmabuf-ctl status" /usr/bin/dmabuf-ctl status
