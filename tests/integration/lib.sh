# lib.sh -- sourced by every integration test script (POSIX sh).
#
#   here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh"
#
# Gives the script:
#   $DIR             a private temporary directory, removed on exit
#   $LEASHD $WORKER  the binaries under test
#   ok/not_ok/check/skip/diag   TAP output; the plan "1..N" is printed at
#                    exit, and the exit status is 1 if any test failed;
#                    not_ok shows the tail of $TAP_DIAG_FILE, else of the
#                    leashd log
#   start_leashd CONFIG [LOG]   leashd in the background, output in LOG
#                    (default $DIR/leashd.log); sets LEASHD_PID, LEASHD_LOG;
#                    with LEASHD_CGROUP set, leashd starts in that cgroup
#   wait_for DESC SECS CMD...   one test: polls CMD until it succeeds or
#                    SECS pass
#   poll SECS CMD...            the same without a test line
#   wait_leashd_exit SECS       waits for LEASHD_PID to end, sets
#                    LEASHD_STATUS (the exit status, or "timeout")
#   log_has REGEX / count_log REGEX / alive PID / worker_pid NAME /
#   spawn_count NAME / state_of NAME / in_state NAME STATE
# Each test has its own control socket: RUNTIME_DIRECTORY is $DIR.
# Nothing started by a test outlives it: at exit every leashd it started
# is stopped (SIGTERM, then SIGKILL) and every process carrying one of
# their worker tokens is killed.

: "${here:=$(cd "$(dirname "$0")" && pwd)}"
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"

LEASHD=$top_builddir/src/leashd
WORKER=$top_builddir/tests/helpers/testworker
export LEASHD WORKER

tap_n=0
tap_failed=0
LEASHD_PID=
LEASHD_PIDS=
LEASHD_LOG=
LEASHD_STATUS=

# ---------------------------------------------------------------- TAP

diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

ok() {
	tap_n=$((tap_n + 1))
	printf 'ok %d - %s\n' "$tap_n" "$*"
}

not_ok() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	printf 'not ok %d - %s\n' "$tap_n" "$*"
	# The output that explains it: TAP_DIAG_FILE when a test sets it.
	_df=${TAP_DIAG_FILE:-$LEASHD_LOG}
	if [ -n "$_df" ] && [ -f "$_df" ]; then
		diag "last lines of $_df:"
		tail -n 15 "$_df" | sed 's/^/#   /'
	fi
}

# check DESC CMD...: one test, passing when CMD succeeds.
check() {
	_desc=$1
	shift
	if "$@"; then
		ok "$_desc"
	else
		not_ok "$_desc"
	fi
}

# skip REASON
skip() {
	tap_n=$((tap_n + 1))
	printf 'ok %d # SKIP %s\n' "$tap_n" "$*"
}

bail_out() {
	printf 'Bail out! %s\n' "$*"
	exit 99
}

# ---------------------------------------------------------------- polling

# now_ms: milliseconds since boot, from /proc/uptime: a clock that a step
# of the wall clock does not move (clock_jump.sh makes one), with no fork.
now_ms() {
	read -r _up _idle </proc/uptime
	_cs=${_up#*.}
	echo $((${_up%.*} * 1000 + ${_cs#0} * 10))
}

# poll SECS CMD...: runs CMD every 0.05 s until it succeeds (0) or SECS
# (may be fractional) have passed (1).
poll() {
	_ms=$(awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }')
	shift
	_deadline=$(($(now_ms) + _ms))
	while :; do
		if "$@"; then
			return 0
		fi
		[ "$(now_ms)" -ge "$_deadline" ] && break
		sleep 0.05
	done
	# One last try: the deadline may have passed while CMD ran.
	"$@"
}

# wait_for DESC SECS CMD...: a test that CMD succeeds within SECS.
wait_for() {
	_wdesc=$1
	_wsecs=$2
	shift 2
	if poll "$_wsecs" "$@"; then
		ok "$_wdesc"
		return 0
	fi
	not_ok "$_wdesc (not within $_wsecs s)"
	return 1
}

# ---------------------------------------------------------------- processes

# alive PID: the process exists and is not a zombie.
alive() {
	[ -n "$1" ] || return 1
	if [ -d /proc/self ]; then
		[ -r "/proc/$1/stat" ] || return 1
		_st=$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) ||
			return 1
		[ -n "$_st" ] && [ "$_st" != Z ] && [ "$_st" != X ]
	else
		kill -0 "$1" 2>/dev/null
	fi
}

dead() {
	! alive "$1"
}

# none_alive PID...: no listed process is alive.
none_alive() {
	for _p in "$@"; do
		alive "$_p" && return 1
	done
	return 0
}

# all_alive PID...
all_alive() {
	[ $# -gt 0 ] || return 1
	for _p in "$@"; do
		alive "$_p" || return 1
	done
	return 0
}

# distinct WORD...: no word is repeated.
distinct() {
	[ "$(printf '%s\n' "$@" | sort | uniq -d | wc -l)" -eq 0 ]
}

# read_pidfile FILE: the pid in FILE (empty when it does not exist yet).
read_pidfile() {
	[ -s "$1" ] && head -n 1 "$1"
}

# pids_of_token_owners LEASHD_PID: processes whose environment carries a
# worker token issued by that leashd ("LEASH_WORKER_TOKEN=PID-N").
pids_of_token_owners() {
	[ -d /proc/self ] || return 0
	grep -l -s -z -E "^LEASH_WORKER_TOKEN=$1-[0-9]+\$" /proc/[0-9]*/environ |
	    sed -n 's|^/proc/\([0-9]*\)/environ$|\1|p'
}

# need_supervisor_python: sets py to the Python Debian's supervisor
# package is installed for (a python3 earlier on PATH may not have it), or
# skips the script when there is none.
need_supervisor_python() {
	py=$(command -v supervisorctl 2>/dev/null) &&
	    py=$(sed -n '1s/^#! *\([^ ]*\).*/\1/p' "$py")
	if [ -z "$py" ] || ! "$py" -c 'import supervisor.childutils' 2>/dev/null; then
		skip "Debian's supervisor package is not installed (contrib/install-deps --tests)"
		exit 0
	fi
}

# ---------------------------------------------------------------- leashd

# start_leashd CONFIG [LOGFILE]
start_leashd() {
	LEASHD_LOG=${2:-$DIR/leashd.log}
	TAP_DIAG_FILE=
	: >"$LEASHD_LOG"
	if [ -n "${LEASHD_CGROUP:-}" ]; then
		sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ \
		    "$LEASHD_CGROUP" "$LEASHD" -c "$1" >>"$LEASHD_LOG" 2>&1 &
	else
		"$LEASHD" -c "$1" >>"$LEASHD_LOG" 2>&1 &
	fi
	LEASHD_PID=$!
	LEASHD_PIDS="$LEASHD_PIDS $LEASHD_PID"
	LEASHD_STATUS=
}

# wait_leashd_exit SECS: waits for LEASHD_PID to end; LEASHD_STATUS is its
# exit status, or "timeout" when it is still running after SECS.
wait_leashd_exit() {
	if poll "$1" dead "$LEASHD_PID"; then
		wait "$LEASHD_PID"
		LEASHD_STATUS=$?
		return 0
	fi
	LEASHD_STATUS=timeout
	return 1
}

# signal_leashd SIG
signal_leashd() {
	kill -s "$1" "$LEASHD_PID"
}

# log_has REGEX (an extended regular expression) [LOGFILE]
log_has() {
	grep -E -q -- "$1" "${2:-$LEASHD_LOG}"
}

# count_log REGEX [LOGFILE]: how many lines match.
count_log() {
	grep -E -c -- "$1" "${2:-$LEASHD_LOG}"
}

# log_line REGEX [LOGFILE]: the number of the first line matching (empty
# when none does).
log_line() {
	grep -E -n -- "$1" "${2:-$LEASHD_LOG}" | head -n 1 | cut -d: -f1
}

# log_in_order REGEX...: each REGEX matches a line of the log after the
# line the one before it matched (first matches); else says which not.
log_in_order() {
	_prev=0
	for _re in "$@"; do
		_l=$(log_line "$_re")
		if [ -z "$_l" ] || [ "$_l" -le "$_prev" ]; then
			diag "missing or out of order: $_re"
			return 1
		fi
		_prev=$_l
	done
}

# last_log_line REGEX [LOGFILE]: the number of the last line matching.
last_log_line() {
	grep -E -n -- "$1" "${2:-$LEASHD_LOG}" | tail -n 1 | cut -d: -f1
}

# worker_pid NAME: the pid of the latest spawn of NAME ("program:process").
worker_pid() {
	sed -n "s/.* program: $1 spawned with pid \([0-9][0-9]*\)\$/\1/p" \
	    "$LEASHD_LOG" | tail -n 1
}

# spawn_count NAME
spawn_count() {
	grep -c -- " program: $1 spawned with pid " "$LEASHD_LOG"
}

# state_of NAME: the state NAME last moved to, as logged.
state_of() {
	sed -n "s/.* program: $1 [A-Z]* -> \([A-Z]*\)\$/\1/p" "$LEASHD_LOG" |
	    tail -n 1
}

# in_state NAME STATE
in_state() {
	[ "$(state_of "$1")" = "$2" ]
}

# count_of_lines FILE: lines in FILE, 0 when it does not exist.
count_of_lines() {
	if [ -f "$1" ]; then
		wc -l <"$1" | tr -d ' '
	else
		echo 0
	fi
}

# file_has FILE REGEX
file_has() {
	[ -f "$1" ] && grep -E -q -- "$2" "$1"
}

# file_size FILE (0 when it does not exist)
file_size() {
	if [ -f "$1" ]; then
		wc -c <"$1" | tr -d ' '
	else
		echo 0
	fi
}

# pids_cgroup: makes an empty cgroup with the pids controller for this
# test and prints its path (v1: in the pids hierarchy; v2: in a cgroup
# whose children have pids, as the root has no pids.max of its own), or
# fails when there is none to be had.  Remove it with remove_cgroup.
pids_cgroup() {
	for _d in /sys/fs/cgroup/pids /sys/fs/cgroup; do
		[ -w "$_d" ] && [ -e "$_d/cgroup.procs" ] &&
		    { [ -e "$_d/pids.max" ] || [ "$_d" = /sys/fs/cgroup/pids ] ||
		    grep -qw pids "$_d/cgroup.subtree_control" 2>/dev/null; } ||
		    continue
		mkdir "$_d/leash-test-$$" 2>/dev/null || return 1
		if [ ! -e "$_d/leash-test-$$/pids.max" ]; then
			rmdir "$_d/leash-test-$$"
			return 1
		fi
		echo "$_d/leash-test-$$"
		return 0
	done
	return 1
}

# remove_cgroup DIR: DIR and the cgroups leashd made in it, once empty
# (on cgroup v2 leashd moves itself to DIR/leashd).
remove_cgroup() {
	find "$1" -depth -type d -exec rmdir {} + 2>/dev/null
	[ ! -d "$1" ]
}

# ---------------------------------------------------------------- cleanup

lib_cleanup() {
	_status=$?
	trap - EXIT INT TERM HUP PIPE
	for _lp in $LEASHD_PIDS; do
		if alive "$_lp"; then
			kill -TERM "$_lp" 2>/dev/null
			poll 5 dead "$_lp" || kill -KILL "$_lp" 2>/dev/null
		fi
		# Whatever survived it (a bug being tested for) goes too.
		_left=$(pids_of_token_owners "$_lp")
		[ -n "$_left" ] && kill -KILL $_left 2>/dev/null
	done
	wait 2>/dev/null
	if [ -n "${DIR:-}" ] && [ -d "$DIR" ]; then
		if [ -n "${LEASH_TEST_KEEP:-}" ]; then
			diag "kept $DIR"
		else
			rm -rf "$DIR"
		fi
	fi
	echo "1..$tap_n"
	if [ "$tap_failed" -gt 0 ]; then
		diag "$tap_failed of $tap_n tests failed"
		exit 1
	fi
	# 1 is what a failing last command (a wait_for, a check) leaves, and it
	# has been reported; 2 and up are shell errors, signals, bail outs.
	if [ "$_status" -gt 1 ]; then
		diag "the script ended early with status $_status"
		exit "$_status"
	fi
	exit 0
}

trap lib_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

[ -x "$LEASHD" ] || bail_out "$LEASHD is not built (run make)"
[ -x "$WORKER" ] || bail_out "$WORKER is not built (run make check TESTS=)"

DIR=$(mktemp -d "${TMPDIR:-/tmp}/leash-test.XXXXXX") ||
	bail_out "cannot create a temporary directory"
# The directory must survive %(...)s expansion and command splitting.
case $DIR in
*[!A-Za-z0-9_./-]*) bail_out "temporary directory $DIR has odd characters" ;;
esac

# leashd's control socket defaults to $RUNTIME_DIRECTORY/leash.sock (else
# /run/leash/leash.sock as root): each test gets its own, so that tests run
# in parallel, or next to a real leashd, do not collide.
RUNTIME_DIRECTORY=$DIR
export RUNTIME_DIRECTORY
