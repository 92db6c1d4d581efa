# shellcheck shell=bash
# Helpers for the cases of tests/systemd/cases/ (sourced).  See README.md.

tap_ok() { echo "ok - $1"; }
tap_not_ok() { echo "not ok - $1"; }
tap_skip() { echo "ok - $1 # SKIP $2"; }

# tap_check NAME CMD...: one result, ok when CMD succeeds.
tap_check() {
	local name=$1

	shift
	if "$@"; then tap_ok "$name"; else tap_not_ok "$name"; fi
}

# sd_wait SECONDS CMD...: polls CMD until it succeeds or SECONDS pass.
sd_wait() {
	local deadline=$((SECONDS + $1))

	shift
	until "$@"; do
		[[ $SECONDS -lt $deadline ]] || return 1
		sleep 0.2
	done
}

# unit_prop UNIT PROPERTY: one property's value as systemctl shows it.
unit_prop() {
	systemctl show -P "$2" "$1"
}

# main_pid: the broker's MainPID, 0 when it is not running.
main_pid() {
	unit_prop "${SERVICE:-dmabuf-brokerd.service}" MainPID
}

# add_dropin UNIT NAME TEXT: a runtime drop-in (removed by the runner after
# the case), then a reload so that systemd reads it.
add_dropin() {
	local dir=/run/systemd/system/$1.d

	mkdir -p "$dir"
	printf '%s\n' "$3" >"$dir/$2.conf"
	systemctl daemon-reload
}
