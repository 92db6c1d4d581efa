#!/bin/bash
# Type=notify: systemd saw READY (the start job completed and the unit is
# running) and the STATUS= line the broker keeps up to date.

source "$PROJECT/tests/systemd/lib.sh"

status_text() {
	unit_prop "$SERVICE" StatusText
}

status_counts() {	# clients buffers
	[[ $(status_text) =~ ^[0-9]+\ clients,\ $1\ buffers,\ [0-9]+\ bytes$ ]]
}

tap_check "Type=notify" test "$(unit_prop "$SERVICE" Type)" = notify
tap_check "start job completes (READY=1)" systemctl start "$SERVICE"
tap_check "active/running after READY" \
	test "$(unit_prop "$SERVICE" ActiveState)/$(unit_prop "$SERVICE" SubState)" = active/running
echo "StatusText=$(status_text)"
tap_check "StatusText counts clients, buffers and bytes" status_counts 0
# A buffer the broker keeps (persistent) shows in the next STATUS=.
id=$(/usr/bin/dmabuf-ctl --json alloc 64K --backend memfd | jq -r .id)
tap_check "StatusText follows the registry (one buffer)" sd_wait 60 status_counts 1
echo "StatusText=$(status_text)"
[[ $id =~ ^[0-9]+$ ]] && /usr/bin/dmabuf-ctl remove "$id" >/dev/null
tap_check "StatusText after the free" sd_wait 60 status_counts 0
