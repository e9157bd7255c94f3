#!/bin/sh
# leashd -> systemd: with NOTIFY_SOCKET set (here a notifylisten standing in
# for systemd) leashd sends READY=1 with STATUS= and MAINPID= once its
# autostart programs are RUNNING, STATUS= summaries as things change,
# RELOADING=1 + MONOTONIC_USEC= then READY=1 around a SIGHUP reload and
# STOPPING=1 at shutdown; with WATCHDOG_USEC (and WATCHDOG_PID unset or
# leashd's own) WATCHDOG=1 every WATCHDOG_USEC/2.  Its own NOTIFY_SOCKET and
# WATCHDOG_* never reach its workers.  Without NOTIFY_SOCKET, or with one
# nobody listens on, leashd just works.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" &&
    . "$here/sd_lib.sh"

READY='(^|\|)READY=1(\||$)'
SUMMARY='[0-9]+ running, [0-9]+ replacing, [0-9]+ memory restarts? in the last hour'

# slow sends READY=1 a second after it starts: leashd's READY=1 must wait.
programs() {
	cat <<EOF

[program:slow]
command = $NOTIFIER --delay 1 READY=1 "STATUS=worker-private"
ready = notify
ready_timeout = 20
startsecs = 0
stopwaitsecs = 2

[program:quick]
command = $WORKER --env NOTIFY_SOCKET --env WATCHDOG_USEC --env WATCHDOG_PID
startsecs = 0.2
stopwaitsecs = 2
EOF
}

# ---------------------------------------------------------------- READY=1
listen_notify sd
out=$DIR/sd.out
{
	leashd_section
	programs
	cat <<EOF

; Gives up at once: FATAL counts as settled for READY=1.
[program:broken]
command = $WORKER --exit 1
startsecs = 1
startretries = 0

[program:later]
command = $WORKER
autostart = false
startsecs = 0.2
stopwaitsecs = 2
EOF
} >"$DIR/leash.ini"

NOTIFY_SOCKET=$DIR/sd.sock
export NOTIFY_SOCKET
start_leashd "$DIR/leash.ini"
unset NOTIFY_SOCKET
TAP_DIAG_FILE=$out

wait_for "READY=1 reaches leashd's NOTIFY_SOCKET" 15 sd_at_least "$out" "$READY" 1
r=$(sd_first "$out" "$READY")
ready_msg=$(sd_messages "$out" | sed -n "${r}p")
diag "datagrams up to READY=1:" "$(sd_messages "$out" | sed -n "1,${r}p")"
check "the READY=1 datagram carries MAINPID=$LEASHD_PID (leashd's pid)" \
    str_has "$ready_msg" "(^|\\|)MAINPID=$LEASHD_PID(\\||\$)"
check "the READY=1 datagram carries a STATUS= summary: 2 running, 1 fatal" \
    str_has "$ready_msg" \
    "(^|\\|)STATUS=2 running, 0 replacing, 0 memory restarts in the last hour, 1 fatal(\\||\$)"
before_ready_ok() {
	[ "$r" -eq 1 ] && return 0
	sd_messages "$out" | sed -n "1,$((r - 1))p" |
	    grep -E -v -q "^STATUS=$SUMMARY, [0-9]+ starting(, [0-9]+ fatal)?\$" &&
	    return 1
	return 0
}
check "everything before READY=1 is a STATUS= summary with workers starting" \
    before_ready_ok
TAP_DIAG_FILE=
check "slow was RUNNING before leashd sent READY=1 (log order)" \
    test "$(log_line ' program: slow:slow STARTING -> RUNNING$')" -lt \
    "$(log_line ' systemd: READY=1$')"
check "broken was FATAL before leashd sent READY=1 (log order)" \
    test "$(log_line ' program: broken:broken [A-Z]+ -> FATAL$')" -lt \
    "$(log_line ' systemd: READY=1$')"
check "quick was RUNNING before leashd sent READY=1 (log order)" \
    test "$(log_line ' program: quick:quick STARTING -> RUNNING$')" -lt \
    "$(log_line ' systemd: READY=1$')"
waited=$(ms_between "$(log_ms ' program: slow:slow spawned with pid ')" \
    "$(log_ms ' systemd: READY=1$')")
check "READY=1 waited for slow's own READY=1 (${waited} ms after its spawn)" \
    test "$waited" -ge 900
check "slow's READY=1 came from slow, through leashd's own socket" \
    log_has ' notify: slow:slow: pid [0-9]+ sent READY=1$'
check "a worker's own messages never reach leashd's NOTIFY_SOCKET" \
    test "$(sd_count "$out" worker-private)" -eq 0
wait_for "quick has written its environment" 10 \
    file_has "$DIR/logs/quick-stdout.log" '^WATCHDOG_PID='
check "quick's NOTIFY_SOCKET is leashd's own, a path beside its control socket ($DIR/leash.notify)" \
    file_has "$DIR/logs/quick-stdout.log" "^NOTIFY_SOCKET=$DIR/leash\\.notify\$"

# ---------------------------------------------------------------- STATUS=
n=$(sd_messages "$out" | wc -l)
ctl start later >/dev/null
three() {
	[ -n "$(sd_first "$out" \
	    '^STATUS=3 running, 0 replacing, 0 memory restarts in the last hour, 1 fatal$' "$n")" ]
}
TAP_DIAG_FILE=$out
wait_for "starting a third program sends STATUS=3 running, ..." 10 three
check "STATUS= updates come alone, without READY=1" \
    test "$(sd_messages "$out" | sed -n "$((n + 1)),\$p" | grep -E -c "$READY")" -eq 0

# 11 changes in quick succession: at most one STATUS= a second, and the
# last one says how things ended.  (The bound comes from the time the test
# measured, so a slow machine only makes it looser.)
n=$(sd_messages "$out" | wc -l)
t0=$(now_ms)
for i in 1 2 3 4 5; do
	ctl_quiet stop later
	ctl_quiet start later
done
ctl_quiet stop later
last_is_two() {
	[ "$(sd_messages "$out" | tail -n 1)" = \
	    'STATUS=2 running, 0 replacing, 0 memory restarts in the last hour, 1 fatal' ]
}
wait_for "after stopping later 5 times and starting it 5 times: STATUS=2 running" \
    10 last_is_two
t1=$(now_ms)
sent=$(sd_messages "$out" | sed -n "$((n + 1)),\$p" | grep -c '^STATUS=')
check "$sent STATUS= updates in $((t1 - t0)) ms: at most one a second" \
    test "$sent" -le $(((t1 - t0) / 1000 + 2))

# ---------------------------------------------------------------- SIGHUP
# MONOTONIC_USEC must be CLOCK_MONOTONIC at the reload: between two readings
# taken before and after (testworker --events writes that clock).
mono() {
	rm -f "$DIR/mono"
	"$WORKER" --events "$DIR/mono" --after 0 --exit 0 >/dev/null 2>&1
	awk 'NR == 1 { printf "%.0f\n", $1 * 1000000 }' "$DIR/mono" 2>/dev/null
}
n=$(sd_messages "$out" | wc -l)
t0=$(mono)
signal_leashd HUP
reloading() {
	[ -n "$(sd_first "$out" '(^|\|)RELOADING=1(\||$)' "$n")" ]
}
wait_for "SIGHUP: RELOADING=1 arrives" 10 reloading
t1=$(mono)
i_rel=$(sd_first "$out" '(^|\|)RELOADING=1(\||$)' "$n")
rel_msg=$(sd_messages "$out" | sed -n "${i_rel}p")
diag "reload datagram: $rel_msg"
usec=$(printf '%s\n' "$rel_msg" | tr '|' '\n' | sed -n 's/^MONOTONIC_USEC=\([0-9][0-9]*\)$/\1/p')
check "RELOADING=1 comes with MONOTONIC_USEC= in the same datagram" \
    test -n "$usec"
if [ -n "$t0" ] && [ -n "$t1" ] && [ -n "$usec" ]; then
	check "MONOTONIC_USEC=$usec is CLOCK_MONOTONIC at the reload ($t0 .. $t1)" \
	    test "$usec" -ge "$((t0 - 1000))" -a "$usec" -le "$((t1 + 1000))"
else
	skip "no CLOCK_MONOTONIC readings to compare MONOTONIC_USEC with"
fi
ready_again() {
	[ -n "$(sd_first "$out" "$READY" "$i_rel")" ]
}
wait_for "then READY=1 again" 10 ready_again
i_r2=$(sd_first "$out" "$READY" "$i_rel")
check "nothing but STATUS= between RELOADING=1 and READY=1" \
    test "$(sd_messages "$out" |
    awk -v a="$i_rel" -v b="${i_r2:-0}" 'NR > a && NR < b' |
    grep -E -v -c "^STATUS=")" -eq 0
check "the READY=1 after a reload is READY=1 alone" \
    test "$(sd_messages "$out" | sed -n "${i_r2}p")" = READY=1
TAP_DIAG_FILE=
check "the reload happened in between (log)" \
    log_has ' leashd: reloaded: 0 added, 0 changed, 0 removed$'

# ---------------------------------------------------------------- SIGTERM
n=$(sd_messages "$out" | wc -l)
signal_leashd TERM
wait_leashd_exit 15
check "leashd exits 0 on SIGTERM (status $LEASHD_STATUS)" \
    test "$LEASHD_STATUS" = 0
TAP_DIAG_FILE=$out
check "every datagram leashd sent has been received" sd_flush sd
i_stop=$(sd_first "$out" '(^|\|)STOPPING=1(\||$)' "$n")
check "SIGTERM: STOPPING=1 was sent" test -n "$i_stop"
last=$(sd_messages "$out" | grep -v '^SENTINEL=' | tail -n 1)
check "STOPPING=1 is the last thing leashd sent (got \"$last\")" \
    test "$last" = STOPPING=1
check "leashd sent READY=1 exactly twice (start and reload)" \
    test "$(sd_count "$out" "$READY")" -eq 2
TAP_DIAG_FILE=

# ---------------------------------------------------------------- early SIGHUP
# A SIGHUP (logrotate, an admin) while an autostart program is still
# STARTING must not make leashd tell systemd READY=1: that READY=1 is only
# due once the program is RUNNING.
listen_notify early
out=$DIR/early.out
{
	leashd_section
	cat <<EOF

[program:gated]
command = $NOTIFIER --wait $DIR/go READY=1
ready = notify
ready_timeout = 30
startsecs = 0
stopwaitsecs = 2
EOF
} >"$DIR/early.ini"
NOTIFY_SOCKET=$DIR/early.sock
export NOTIFY_SOCKET
start_leashd "$DIR/early.ini" "$DIR/early.log"
unset NOTIFY_SOCKET
wait_for "gated is STARTING (waiting for $DIR/go)" 10 \
    in_state gated:gated STARTING
TAP_DIAG_FILE=$out
wait_for "leashd told systemd it is starting (STATUS=..., 1 starting)" 10 \
    sd_at_least "$out" "^STATUS=$SUMMARY, 1 starting\$" 1
signal_leashd HUP
TAP_DIAG_FILE=
wait_for "a SIGHUP now: the reload is done" 10 \
    log_has ' leashd: reloaded: 0 added, 0 changed, 0 removed$'
TAP_DIAG_FILE=$out
check "every datagram leashd sent so far has been received" sd_flush early
check "gated is still STARTING" in_state gated:gated STARTING
check "so leashd has not sent READY=1 (got $(sd_count "$out" "$READY"))" \
    test "$(sd_count "$out" "$READY")" -eq 0
touch "$DIR/go"
wait_for "gated is RUNNING once it sends READY=1" 10 in_state gated:gated RUNNING
wait_for "then leashd's READY=1 with MAINPID= arrives" 10 \
    sd_at_least "$out" "(^|\\|)MAINPID=$LEASHD_PID(\\||\$)" 1
check "and it is the first READY=1 leashd sent" \
    test "$(sd_first "$out" "$READY")" = \
    "$(sd_first "$out" "(^|\\|)MAINPID=$LEASHD_PID(\\||\$)")"
TAP_DIAG_FILE=
signal_leashd TERM
wait_leashd_exit 15
check "leashd exits 0 (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0

# ---------------------------------------------------------------- WATCHDOG
# WATCHDOG_USEC=400000, WATCHDOG_PID unset: WATCHDOG=1 every 0.2 s.
listen_notify wd
out=$DIR/wd.out
rm -f "$DIR/logs/quick-stdout.log"
{
	leashd_section
	programs
} >"$DIR/wd.ini"
NOTIFY_SOCKET=$DIR/wd.sock
WATCHDOG_USEC=400000
export NOTIFY_SOCKET WATCHDOG_USEC
start_leashd "$DIR/wd.ini" "$DIR/wd.log"
unset NOTIFY_SOCKET WATCHDOG_USEC
TAP_DIAG_FILE=$out
wait_for "WATCHDOG=1 arrives again and again (3 times)" 10 \
    sd_at_least "$out" '^WATCHDOG=1$' 3
n3=$(sd_count "$out" '^WATCHDOG=1$')
wait_for "and keeps coming (3 more after $n3)" 10 \
    sd_at_least "$out" '^WATCHDOG=1$' $((n3 + 3))
TAP_DIAG_FILE=
check "leashd says it sends WATCHDOG=1 every 0.200 s" \
    log_has ' systemd: watchdog: WATCHDOG=1 every 0\.200 s$'
wait_for "quick has written its environment" 10 \
    file_has "$DIR/logs/quick-stdout.log" '^WATCHDOG_PID='
env_file=$DIR/logs/quick-stdout.log
check "leashd's WATCHDOG_USEC does not reach its workers" \
    file_has "$env_file" '^WATCHDOG_USEC=\(unset\)$'
check "nor does a WATCHDOG_PID" \
    file_has "$env_file" '^WATCHDOG_PID=\(unset\)$'
signal_leashd TERM
wait_leashd_exit 15
check "leashd exits 0 (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0

# WATCHDOG_PID = leashd's own pid: a wrapper that sets it and execs leashd.
listen_notify wdpid
out=$DIR/wdpid.out
cat >"$DIR/leashd-wdpid" <<EOF
#!/bin/sh
WATCHDOG_PID=\$\$
export WATCHDOG_PID
exec "$LEASHD" "\$@"
EOF
chmod +x "$DIR/leashd-wdpid"
real_leashd=$LEASHD
LEASHD=$DIR/leashd-wdpid
NOTIFY_SOCKET=$DIR/wdpid.sock
WATCHDOG_USEC=400000
export NOTIFY_SOCKET WATCHDOG_USEC
start_leashd "$DIR/wd.ini" "$DIR/wdpid.log"
unset NOTIFY_SOCKET WATCHDOG_USEC
LEASHD=$real_leashd
TAP_DIAG_FILE=$out
wait_for "WATCHDOG_PID=<leashd's pid>: WATCHDOG=1 arrives 3 times" 10 \
    sd_at_least "$out" '^WATCHDOG=1$' 3
TAP_DIAG_FILE=
signal_leashd TERM
wait_leashd_exit 15
check "leashd exits 0 (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0

# WATCHDOG_PID = another process's pid: the watchdog is not leashd's.
# slow makes READY=1 wait a second, 5 periods: WATCHDOG=1 would be there.
listen_notify wdother
out=$DIR/wdother.out
NOTIFY_SOCKET=$DIR/wdother.sock
WATCHDOG_USEC=400000
WATCHDOG_PID=1
export NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID
start_leashd "$DIR/wd.ini" "$DIR/wdother.log"
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID
TAP_DIAG_FILE=$out
wait_for "WATCHDOG_PID=1: READY=1 arrives" 15 sd_at_least "$out" "$READY" 1
check "but no WATCHDOG=1 before it" \
    test "$(sd_count "$out" '^WATCHDOG=1$')" -eq 0
TAP_DIAG_FILE=
check "and leashd does not set up a watchdog" \
    test "$(count_log ' systemd: watchdog: ')" -eq 0
signal_leashd TERM
wait_leashd_exit 15
check "leashd exits 0 (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0

# ---------------------------------------------------------------- no systemd
# No NOTIFY_SOCKET: nothing to tell, everything else as usual.
{
	leashd_section
	programs
} >"$DIR/plain.ini"
start_leashd "$DIR/plain.ini" "$DIR/plain.log"
both_running() {
	in_state slow:slow RUNNING && in_state quick:quick RUNNING
}
wait_for "without NOTIFY_SOCKET: slow (ready = notify) and quick are RUNNING" \
    15 both_running
check "leashctl status answers, all RUNNING" ctl_quiet status
check "leashd reports nothing to systemd" \
    test "$(count_log ' systemd: ')" -eq 0
signal_leashd TERM
wait_leashd_exit 15
check "leashd exits 0 (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0

# A NOTIFY_SOCKET nobody listens on (systemd gone): the same.
NOTIFY_SOCKET=$DIR/nobody.sock
WATCHDOG_USEC=400000
export NOTIFY_SOCKET WATCHDOG_USEC
start_leashd "$DIR/plain.ini" "$DIR/nobody.log"
unset NOTIFY_SOCKET WATCHDOG_USEC
wait_for "with a NOTIFY_SOCKET nobody reads: both RUNNING" 15 both_running
check "leashctl status answers, all RUNNING" ctl_quiet status
check "leashd is still running" alive "$LEASHD_PID"
signal_leashd TERM
wait_leashd_exit 15
check "leashd exits 0 (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0
