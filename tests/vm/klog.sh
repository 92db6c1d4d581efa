# shellcheck shell=bash
# Kernel log checks for tests/vm/run.sh (sourced).
#
# A guest run fails when its kernel log holds a splat.  The patterns match
# the message text (after the "[ seconds]" stamp) the way the kernel prints
# it, case-sensitively, and whole words only, so that "X86_BUG_", "DEBUG",
# "[Firmware Bug]" or a mitigation notice such as "RETBleed: WARNING: ..."
# do not count, while every form of the real thing does:
#
#   WARNING: CPU: 1 PID: 42 at mm/gup.c:123 ...     WARN*(), dev_WARN*()
#   WARNING: possible circular locking dependency   lockdep, RCU checks
#   ------------[ cut here ]------------            any WARN/BUG preamble
#   BUG: kernel NULL pointer dereference, ...       BUG: ... of every kind
#   kernel BUG at mm/slub.c:123!                    BUG_ON()
#   watchdog: BUG: soft lockup - CPU#0 stuck ...
#   BUG kmalloc-64 (Tainted: G): Object already free   SLUB debugging
#   Oops: 0002 [#1] PREEMPT SMP NOPTI
#   general protection fault, probably for ...      (6.1 prints no "Oops")
#   BUG: Bad page state in process ..., Bad page map ...
#   UBSAN: array-index-out-of-bounds in ...
#   Kernel panic - not syncing: ...

KLOG_PATTERNS=(
	'^WARNING:'
	'^-+\[ cut here \]-+$'
	'(^|[^[:alnum:]_])BUG([^[:alnum:]_]|$)'
	'(^|[^[:alnum:]_])Oops([^[:alnum:]_]|$)'
	'[Bb]ad page'
	'general protection fault'
	'^UBSAN:'
	'Kernel panic'
)

# klog_message: strips the time stamp (and a caller id, if printed) from
# each line of a dmesg or console log on stdin.
klog_message() {
	sed -E -e 's/\r$//' \
		-e 's/^\[[[:space:]]*[0-9]+\.[0-9]+\][[:space:]]?//' \
		-e 's/^\[[[:space:]]*[TC][0-9]+\][[:space:]]?//'
}

# klog_problems FILE: prints the offending lines of FILE (at most 40);
# succeeds when there are any.
klog_problems() {
	local args=() p found

	for p in "${KLOG_PATTERNS[@]}"; do
		args+=(-e "$p")
	done
	found=$(klog_message <"$1" | grep -E "${args[@]}" || true)
	[[ -n $found ]] || return 1
	sed -n 1,40p <<<"$found"
}
