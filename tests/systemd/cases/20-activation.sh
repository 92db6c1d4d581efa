#!/bin/bash
# Socket activation: the service is not running until a client connects,
# and the first connect (of an unprivileged user, through the installed
# dmabuf-ctl) starts it and is served.

source "$PROJECT/tests/systemd/lib.sh"

tap_check "socket listening" test "$(unit_prop "$SOCKET_UNIT" SubState)" = listening
tap_check "service inactive before the first connect" \
	test "$(unit_prop "$SERVICE" ActiveState)" = inactive
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
	/usr/bin/dmabuf-ctl status 2>&1)
rc=$?
sed 's/^/# /' <<<"$out"
tap_check "dmabuf-ctl status as nobody succeeds" test "$rc" -eq 0
tap_check "the reply names the socket" grep -q "up at $BROKER_SOCKET" <<<"$out"
tap_check "service active after it" test "$(unit_prop "$SERVICE" ActiveState)" = active
