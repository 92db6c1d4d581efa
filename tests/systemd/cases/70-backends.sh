#!/bin/bash
# The broker runs as its own user with no capability at all and still
# reaches every backend this guest has (through the udev rule's access and
# DeviceAllow=), and allocates on each.

source "$PROJECT/tests/systemd/lib.sh"

systemctl start "$SERVICE"
pid=$(main_pid)
status=$(cat "/proc/$pid/status")
field() { sed -nE "s/^$1:[[:space:]]+//p" <<<"$status" | tr -s '\t' ' '; }
uid=$(id -u "$BROKER_USER")
gid=$(id -g "$BROKER_USER")
grep -E '^(Uid|Gid|Cap|NoNewPrivs|Seccomp)' <<<"$status"

tap_check "runs as $BROKER_USER" test "$(field Uid)" = "$uid $uid $uid $uid"
tap_check "in group $BROKER_USER" test "$(field Gid)" = "$gid $gid $gid $gid"
for cap in CapEff CapPrm CapInh CapBnd CapAmb; do
	tap_check "$cap is empty" test "$(field "$cap")" = 0000000000000000
done
tap_check "NoNewPrivs" test "$(field NoNewPrivs)" = 1
tap_check "seccomp filter" test "$(field Seccomp)" = 2

# expected BACKEND: the device BACKEND needs, when this guest has it.
expected() {
	case $1 in
	kmod) [[ -c /dev/dmabuf_sg ]] && echo /dev/dmabuf_sg ;;
	heap) find /dev/dma_heap -mindepth 1 -maxdepth 1 -type c -printf '%p ' 2>/dev/null ;;
	udmabuf) [[ -c /dev/udmabuf ]] && echo /dev/udmabuf ;;
	drm) find /dev/dri -maxdepth 1 -name 'card*' -printf '%p ' 2>/dev/null ;;
	memfd) echo "(none)" ;;
	esac
}

backends=$(/usr/bin/dmabuf-ctl --json backends)
for be in kmod heap udmabuf drm memfd; do
	devices=$(expected "$be")
	if [[ -z $devices ]]; then
		tap_skip "backend $be available" "no device for it in this kernel"
		tap_skip "backend $be allocates" "no device for it in this kernel"
		continue
	fi
	echo "$be: $(jq -r ".[] | select(.name == \"$be\") | .detail" <<<"$backends") ($devices)"
	tap_check "backend $be available" \
		test "$(jq -r ".[] | select(.name == \"$be\") | .available" <<<"$backends")" = true
	buf=$(/usr/bin/dmabuf-ctl --json alloc 1M --backend "$be" 2>&1)
	got=$(jq -r '.backend // empty' <<<"$buf" 2>/dev/null)
	[[ $got == "$be" ]] || echo "$buf"
	tap_check "backend $be allocates" test "$got" = "$be"
done
# The buffers go with the service, which the runner stops after the case.
