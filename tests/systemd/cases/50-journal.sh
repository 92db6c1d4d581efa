#!/bin/bash
# The broker logs to the journal with its own fields: a client that sends
# a malformed frame is disconnected with a NOTICE that names it
# (DBB_CLIENT_ID, DBB_UID, DBB_PID; daemon/log.c).

source "$PROJECT/tests/systemd/lib.sh"

systemctl start "$SERVICE"
# A datagram that is no protocol frame, from a process of uid nobody
# that prints its pid.
pid=$(setpriv --reuid=nobody --regid=nogroup --clear-groups python3 - "$BROKER_SOCKET" <<'PY'
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
print(os.getpid(), flush=True)
s.send(b"\xff" * 64)
s.settimeout(60)
try:
    while s.recv(65536):
        pass
except OSError:
    pass
PY
)
uid=$(id -u nobody)

# The record of that client: fields as the daemon sent them.
record() {
	journalctl -u "$SERVICE" -o json --no-pager |
		jq -c --arg pid "$pid" 'select(.DBB_PID == $pid)' | tail -n 1
}

tap_check "the disconnect is in the journal" sd_wait 60 test -n "$(record)"
rec=$(record)
echo "$rec"
field() { jq -r ".$1 // empty" <<<"$rec"; }
tap_check "DBB_UID is the client's uid" test "$(field DBB_UID)" = "$uid"
tap_check "DBB_CLIENT_ID is a number" grep -qE '^[0-9]+$' <<<"$(field DBB_CLIENT_ID)"
tap_check "PRIORITY is notice (5)" test "$(field PRIORITY)" = 5
tap_check "MESSAGE says why" grep -q "disconnecting client" <<<"$(field MESSAGE)"
tap_check "_SYSTEMD_UNIT is the service" test "$(field _SYSTEMD_UNIT)" = "$SERVICE"
tap_check "_COMM is the daemon" test "$(field _COMM)" = dmabuf-brokerd
