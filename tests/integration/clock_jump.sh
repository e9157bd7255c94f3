#!/bin/sh
# The wall clock jumps (date -s, an NTP step) and leashd's durations and
# deadlines do not: they run on the monotonic clock.  An hour forward
# while a worker is STARTING: startsecs still counts from its spawn and
# its uptime is seconds, not an hour.  An hour back while a worker drains:
# it is still killed at drain_timeout, not an hour later.  An hour forward
# while one drains: it is not killed before drain_timeout.  An hour back
# while a worker backs off: it is retried on time.  A reload still works.
# It sets the machine's clock, so it runs only where told to, in the VM.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh"

if [ "${LEASH_TEST_CLOCK_JUMP:-}" != 1 ]; then
	skip "changing the wall clock needs a machine of its own: tests/vm/run runs this test (LEASH_TEST_CLOCK_JUMP=1)"
	exit 0
fi
LEASHCTL=$top_builddir/src/leashctl
ctl() {
	"$LEASHCTL" -s "$DIR/leash.sock" "$@"
}
jumped=0
# jump SECS: the wall clock SECS (may be negative) from where it is.
jump() {
	date -s "@$(($(date +%s) + $1))" >/dev/null && jumped=$((jumped + $1))
}
restore_clock() {
	[ "$jumped" = 0 ] || date -s "@$(($(date +%s) - jumped))" >/dev/null
	jumped=0
}

conf=$DIR/leash.ini
write_conf() {
	cat >"$conf" <<EOF
[leashd]
childlogdir = $DIR/logs

[program:slow]
command = $WORKER
startsecs = 3
autostart = false

[program:web]
command = $WORKER --events $DIR/web.events --ignore-term
startsecs = 0.2
drain_timeout = 3s

[program:crashy]
command = $WORKER --exit 1
startsecs = 1
startretries = 100
autostart = false
$1
EOF
}
write_conf ""
start_leashd "$conf"
wait_for "web is RUNNING" 10 in_state web:web RUNNING

# ---- an hour forward while STARTING
t0=$(now_ms)
ctl start slow >"$DIR/slow.out" 2>&1 &
startpid=$!
wait_for "slow is STARTING" 5 in_state slow:slow STARTING
jump 3600
wait_for "slow reaches RUNNING" 10 in_state slow:slow RUNNING
t1=$(now_ms)
wait_for "leashctl start answers" 5 dead "$startpid"
check "startsecs (3 s) still counted from the spawn ($((t1 - t0)) ms)" \
    test $((t1 - t0)) -ge 2900
uptime_of() {
	ctl status "$1" 2>/dev/null | awk 'NR > 1 { print $4 }'
}
check "its uptime is seconds, not an hour ($(uptime_of slow:slow))" \
    sh -c "case '$(uptime_of slow:slow)' in 0:00:0[0-9]) true ;; *) false ;; esac"

# ---- an hour back while draining
# drained WEB_PID: it has received its drain signal (ignored).
drained() {
	grep -q " $1 term\$" "$DIR/web.events" 2>/dev/null
}
old=$(ctl pid web:web)
ctl reload web >"$DIR/reload1.out" 2>&1 &
reloadpid=$!
wait_for "web (pid $old) is being drained" 10 drained "$old"
jump -7200
wait_for "it is killed at drain_timeout (3 s), not an hour later" 8 dead "$old"
wait_for "leashctl reload answers" 5 dead "$reloadpid"
wait_for "its replacement runs" 5 in_state web:web RUNNING

# ---- an hour forward while draining
old=$(ctl pid web:web)
ctl reload web >"$DIR/reload2.out" 2>&1 &
reloadpid=$!
wait_for "web (pid $old) is being drained again" 10 drained "$old"
t0=$(now_ms)
jump 3600
wait_for "it is killed" 8 dead "$old"
t1=$(now_ms)
check "not before drain_timeout, though the wall clock passed it ($((t1 - t0)) ms)" \
    test $((t1 - t0)) -ge 2500
wait_for "leashctl reload answers" 5 dead "$reloadpid"

# ---- an hour back while backing off
# (leashctl start waits for RUNNING or FATAL: in the background)
ctl start crashy >/dev/null 2>&1 &
startpid=$!
wait_for "crashy backs off" 10 in_state crashy:crashy BACKOFF
n=$(spawn_count crashy:crashy)
jump -3600
more_spawns() {
	[ "$(spawn_count crashy:crashy)" -ge $((n + 2)) ]
}
wait_for "it is retried on time (two more spawns)" 15 more_spawns
ctl stop crashy >/dev/null 2>&1
wait_for "leashctl start answers once it is stopped" 5 dead "$startpid"

# ---- a reload after the jumps
write_conf "
[program:added]
command = $WORKER
startsecs = 0.2"
signal_leashd HUP
wait_for "a reload still applies: the added program runs" 10 \
    in_state added:added RUNNING
check "leashd ($LEASHD_PID) is alive" alive "$LEASHD_PID"
restore_clock
ctl shutdown >/dev/null 2>&1
wait_leashd_exit 15
check "leashd exits 0 (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0
exit 0
