# sd_lib.sh -- helpers of the systemd-integration tests (sd_notify.sh,
# worker_notify.sh, sockets.sh, journal.sh).  Source it after lib.sh:
#
#   here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" &&
#       . "$here/sd_lib.sh"
#
# Gives the script:
#   $LEASHCTL $NOTIFIER $NOTIFYLISTEN $HTTPWORKER   the binaries
#   leashd_section [NAME]   a [leashd] section: control_socket
#                    $DIR/NAME.sock (default leash), childlogdir $DIR/logs,
#                    loglevel $LOGLEVEL (default info); sets CTL_SOCK
#   ctl ARGS...      leashctl on $CTL_SOCK (at most 30 s); ctl_quiet: the
#                    same, its output kept in $DIR/ctl.out
#   bg_track PID     a process the test started itself: killed at exit
#   jstatus NAME     `leashctl --json status NAME` (one process) in $JSON
#   jfield KEY       the value of "KEY": in $JSON (the last one: with one
#                    process per document, that process's), as is (strings
#                    keep their quotes and escapes)
#   listen_notify NAME   a notifylisten (systemd's stand-in) bound to
#                    $DIR/NAME.sock, writing $DIR/NAME.out
#   sd_flush NAME    sends a sentinel datagram to $DIR/NAME.sock and waits
#                    for it in $DIR/NAME.out: everything sent before is there
#   sd_messages FILE   the datagrams a notifylisten wrote to FILE, one per
#                    line, the lines of each joined by "|"
#   sd_count FILE REGEX   how many datagrams match (grep -E on that form)
#   sd_first FILE REGEX [AFTER]   the number of the first datagram after
#                    the AFTERth (default 0) that matches (empty: none)
#   sd_at_least FILE REGEX N   at least N datagrams match
#   str_has STRING REGEX   STRING has a line matching (grep -E)
#   log_has_after LINE REGEX   a leashd log line after the LINEth matches
#   todo DESC WHY CMD...   a test of a known bug: "not ok N - DESC # TODO
#                    WHY" while CMD fails (automake: XFAIL), "ok ... # TODO"
#                    once it passes (XPASS: make it a plain check then)
#   log_ms REGEX [FILE]   the time of the first matching leashd log line,
#                    in ms since midnight; ms_between FROM TO: TO - FROM
#   free_port        a TCP port no socket uses, below the ephemeral range
#   port_in_use PORT
#   holds_inode PID INODE   PID has a socket with that inode open
#   tcp_listen_inode PORT   the inode of the socket listening on PORT
#   unix_inode PATH  the inode of the unix socket bound to PATH
# NOTIFY_SOCKET, WATCHDOG_* and LISTEN_* from the test's own environment are
# dropped: a test sets them itself where it means to.

: "${top_builddir:?}"
LEASHCTL=$top_builddir/src/leashctl
NOTIFIER=$top_builddir/tests/helpers/notifier
NOTIFYLISTEN=$top_builddir/tests/helpers/notifylisten
HTTPWORKER=$top_builddir/tests/helpers/httpworker
JSON=$DIR/status.json
CTL_SOCK=$DIR/leash.sock

for _b in "$LEASHCTL" "$NOTIFIER" "$NOTIFYLISTEN" "$HTTPWORKER"; do
	[ -x "$_b" ] || bail_out "$_b is not built (run make check TESTS=)"
done

unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID LISTEN_FDS LISTEN_PID \
    LISTEN_FDNAMES

# ---------------------------------------------------------------- cleanup

SD_BG_PIDS=

bg_track() {
	SD_BG_PIDS="$SD_BG_PIDS $*"
}

# Our own background processes go first, then lib.sh's cleanup (leashds
# and their workers), which sees the exit status the script ended with.
sd_cleanup() {
	_sd_status=$?
	for _p in $SD_BG_PIDS; do
		alive "$_p" && kill -TERM "$_p" 2>/dev/null
	done
	for _p in $SD_BG_PIDS; do
		poll 3 dead "$_p" || kill -KILL "$_p" 2>/dev/null
	done
	(exit "$_sd_status")
	lib_cleanup
}
trap sd_cleanup EXIT

# ---------------------------------------------------------------- leashd

leashd_section() {
	CTL_SOCK=$DIR/${1:-leash}.sock
	cat <<EOF
[leashd]
control_socket = $CTL_SOCK
childlogdir = $DIR/logs
loglevel = ${LOGLEVEL:-info}
EOF
}

ctl() {
	if command -v timeout >/dev/null 2>&1; then
		timeout 30 "$LEASHCTL" -s "$CTL_SOCK" "$@"
	else
		"$LEASHCTL" -s "$CTL_SOCK" "$@"
	fi
}

ctl_quiet() {
	ctl "$@" >"$DIR/ctl.out" 2>&1
}

# jstatus NAME: fails when leashd did not answer with a JSON document
# (exit status 3, "not RUNNING", is an answer).
jstatus() {
	ctl --json status "$1" >"$JSON.new" 2>/dev/null
	case $? in
	0 | 3) ;;
	*) return 1 ;;
	esac
	[ -s "$JSON.new" ] && mv "$JSON.new" "$JSON"
}

# jfield KEY: the last "KEY":VALUE in $JSON; a string keeps its quotes, a
# number or null is bare.
jfield() {
	sed -n "s/.*\"$1\":\(\"\([^\"\\\\]\|\\\\.\)*\"\|[^,}\"]*\).*/\1/p" "$JSON" |
	    head -n 1
}

# ---------------------------------------------------------------- sd_notify

listen_notify() {
	"$NOTIFYLISTEN" "$DIR/$1.sock" >"$DIR/$1.out" 2>&1 &
	bg_track $!
	poll 5 test -S "$DIR/$1.sock" ||
	    bail_out "notifylisten did not bind $DIR/$1.sock"
}

# Datagrams on a unix socket arrive in order: once the sentinel is
# printed, so is everything sent before it.
sd_flush() {
	_tok=SENTINEL=$(now_ms)-$$
	NOTIFY_SOCKET=$DIR/$1.sock "$NOTIFIER" "$_tok" >/dev/null 2>&1 &
	_np=$!
	bg_track $_np
	poll 10 file_has "$DIR/$1.out" "^$_tok\$"
	_rc=$?
	kill -TERM "$_np" 2>/dev/null
	return $_rc
}

sd_messages() {
	[ -f "$1" ] || return 0
	awk '/^--$/ { print m; m = ""; n = 0; next }
	    { m = n++ ? m "|" $0 : $0 }' "$1"
}

sd_count() {
	sd_messages "$1" | grep -E -c -- "$2"
}

sd_first() {
	sd_messages "$1" | awk -v after="${3:-0}" -v re="$2" \
	    'NR > after && $0 ~ re { print NR; exit }'
}

# sd_at_least FILE REGEX N: at least N datagrams match.
sd_at_least() {
	[ "$(sd_count "$1" "$2")" -ge "$3" ]
}

log_has_after() {
	sed -n "$(($1 + 1)),\$p" "$LEASHD_LOG" | grep -E -q -- "$2"
}

todo() {
	_tdesc=$1
	_twhy=$2
	shift 2
	tap_n=$((tap_n + 1))
	if "$@"; then
		printf 'ok %d - %s # TODO %s\n' "$tap_n" "$_tdesc" "$_twhy"
	else
		printf 'not ok %d - %s # TODO %s\n' "$tap_n" "$_tdesc" "$_twhy"
	fi
}

str_has() {
	printf '%s\n' "$1" | grep -E -q -- "$2"
}

# log_ms REGEX [FILE]: "2026-01-02 12:34:56.789 ..." -> ms since midnight.
log_ms() {
	grep -E -m 1 -- "$1" "${2:-$LEASHD_LOG}" |
	    awk '{ split($2, t, /[:.]/);
	        printf "%d\n", ((t[1] * 60 + t[2]) * 60 + t[3]) * 1000 + t[4] }'
}

# ms_between FROM_MS TO_MS: TO - FROM, across midnight too.
ms_between() {
	_d=$(($2 - $1))
	[ "$_d" -lt 0 ] && _d=$((_d + 86400000))
	echo "$_d"
}

# ---------------------------------------------------------------- sockets

port_in_use() {
	_hex=$(printf '%04X' "$1")
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
	    awk -v p=":$_hex" 'substr($2, length($2) - 4) == p { f = 1 }
	        END { exit !f }'
}

# free_port: random, from below the kernel's ephemeral range (ports there
# come and go with every client connection), and unused right now; the
# caller retries when it was taken meanwhile.
free_port() {
	_lo=32768
	[ -r /proc/sys/net/ipv4/ip_local_port_range ] &&
	    _lo=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range)
	[ "$_lo" -gt 12000 ] || _lo=32768
	_ns=$(date +%N 2>/dev/null | tr -dc 0-9)
	for _i in 1 2 3 4 5 6 7 8 9 10; do
		_p=$(awk -v pid=$$ -v ns="${_ns:-0}" -v i="$_i" -v lo="$_lo" \
		    'BEGIN { srand(pid * 7919 + ns % 1000003 + i * 104729);
		        print int(10000 + rand() * (lo - 10001)) }')
		port_in_use "$_p" || {
			echo "$_p"
			return 0
		}
	done
	return 1
}

holds_inode() {
	[ -n "$2" ] || return 1
	for _f in /proc/"$1"/fd/*; do
		[ "$(readlink "$_f" 2>/dev/null)" = "socket:[$2]" ] && return 0
	done
	return 1
}

# tcp_listen_inode PORT: state 0A is LISTEN.
tcp_listen_inode() {
	_hex=$(printf '%04X' "$1")
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
	    awk -v p=":$_hex" 'substr($2, length($2) - 4) == p && $4 == "0A" {
	        print $10; exit }'
}

unix_inode() {
	awk -v path="$1" '$8 == path { print $7; exit }' /proc/net/unix
}

# client_tally FILE: from the output of "httpworker --get", how many
# requests were answered 200 (answered), otherwise (failed), and by how
# many distinct pids (servers); what the failed ones got goes to diag.
client_tally() {
	answered=$(grep -E -c '^ok [0-9]+ 200$' "$1")
	failed=$(grep -E -v -c '^ok [0-9]+ 200$' "$1")
	servers=$(sed -n 's/^ok \([0-9]*\) 200$/\1/p' "$1" | sort -u | wc -l |
	    tr -d ' ')
	# What a failed request got, for the record.
	[ "$failed" -gt 0 ] && diag "failed requests (first 5):
$(grep -E -v '^ok [0-9]+ 200$' "$1" | head -n 5)"
	return 0
}
