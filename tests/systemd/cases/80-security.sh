#!/bin/bash
# systemd's own rating of the running, installed unit's sandbox.

source "$PROJECT/tests/systemd/lib.sh"

MAX_EXPOSURE=1.1

systemctl start "$SERVICE"
level=$(systemd-analyze security --no-pager "$SERVICE" 2>&1 |
	sed -nE 's/.*Overall exposure level for [^:]*: ([0-9.]+).*/\1/p')
echo "exposure level: ${level:-none}"
tap_check "systemd-analyze security $SERVICE <= $MAX_EXPOSURE" \
	awk -v l="${level:-99}" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(l <= m) }'
