# shellcheck shell=bash
# TAP output for tests/vm/run.sh (sourced).  One numbering for the whole
# run, so results from several kernels form a single valid TAP stream; the
# plan is printed at the end.

TAP_N=0
TAP_PASSED=0
TAP_FAILED=0
TAP_SKIPPED=0

tap_comment() {
	local line
	for line in "$@"; do
		echo "# $line"
	done
}

# tap_indent: stdin as indented TAP comment lines (logs, offending lines).
tap_indent() {
	sed -e 's/\r$//' -e 's/^/#   /'
}

# tap_result ok|"not ok" description  (description may carry "# SKIP ...")
tap_result() {
	local status=$1 desc=$2 directive=""

	TAP_N=$((TAP_N + 1))
	echo "$status $TAP_N - $desc"
	[[ $desc =~ \#[[:space:]]*([A-Za-z]+) ]] && directive=${BASH_REMATCH[1],,}
	if [[ $directive == skip* ]]; then
		TAP_SKIPPED=$((TAP_SKIPPED + 1))
	elif [[ $status == ok ]]; then
		TAP_PASSED=$((TAP_PASSED + 1))
	else
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}

tap_ok() { tap_result ok "$1"; }
tap_not_ok() { tap_result "not ok" "$1"; }
tap_skip() { tap_result ok "$1 # SKIP $2"; }

# Re-emits a guest's TAP stream under our numbering with every test name
# prefixed by $1 (e.g. "[6.12.117+deb12-amd64]").  Anything that is not a
# test line becomes a comment.  Prints the guest's own plan count (or -1)
# and the number of test lines seen to fd 3 as "planned seen".
tap_relay() {
	local prefix=$1 line status desc planned=-1 seen=0
	local re='^(not ok|ok)([[:space:]]+[0-9]+)?([[:space:]]*-)?[[:space:]]*(.*)$'

	while IFS= read -r line || [[ -n $line ]]; do
		line=${line%$'\r'}
		if [[ $line =~ $re ]]; then
			status=${BASH_REMATCH[1]}
			desc=${BASH_REMATCH[4]}
			tap_result "$status" "$prefix ${desc:-unnamed}"
			seen=$((seen + 1))
		elif [[ $line =~ ^1\.\.([0-9]+) ]]; then
			planned=${BASH_REMATCH[1]}
		elif [[ $line =~ ^Bail\ out!(.*)$ ]]; then
			tap_not_ok "$prefix guest bailed out:${BASH_REMATCH[1]}"
		elif [[ $line =~ ^#[[:space:]]?(.*)$ ]]; then
			tap_comment "$prefix ${BASH_REMATCH[1]}"
		else
			tap_comment "$prefix | $line"
		fi
	done
	echo "$planned $seen" >&3
}

tap_finish() {
	echo "1..$TAP_N"
	tap_comment "vm: $TAP_PASSED passed, $TAP_FAILED failed, $TAP_SKIPPED skipped"
	[[ $TAP_FAILED -eq 0 ]]
}
