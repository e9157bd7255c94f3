#!/bin/sh
# leashd out of file descriptors (RLIMIT_NOFILE, hard as well as soft, so
# that it cannot raise it): a flood of control clients takes what is left.
# leashd keeps serving its workers, tells the clients it turns away why,
# says so once (not once per accept: it used to spin on the listening
# socket, logging each failed accept), and answers again once the clients
# are gone.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" &&
    . "$here/ctl_lib.sh"

[ "$(raw_client)" = python3 ] || { skip "the flood needs python3"; exit 0; }

write_config "$DIR/leash.ini" <<EOF2
[program:w]
command = $WORKER
process_name = w%(process_num)d
numprocs = 8
startsecs = 0.2
memory_limit = 1G
EOF2

(ulimit -n 64 && exec "$LEASHD" -c "$DIR/leash.ini") >"$DIR/leashd.log" 2>&1 &
LEASHD_PID=$!
LEASHD_PIDS="$LEASHD_PIDS $LEASHD_PID"
LEASHD_LOG=$DIR/leashd.log
all_running() {
	ctl status && [ "$(grep -c ' RUNNING ' "$CTL_OUT")" -eq 8 ]
}
wait_for "8 workers RUNNING with 64 open files at most" 15 all_running

raw flood 100 >"$DIR/flood.out" 2>"$DIR/flood.err"
diag "flood of 100 connections: $(cat "$DIR/flood.out" "$DIR/flood.err")"
read -r w1 served w2 busy w3 other w4 nofds <"$DIR/flood.out"
check "some clients were served ($served), the others told leashd is out of file descriptors ($nofds of $other)" \
    eval '[ "$w4" = nofds ] && [ "$served" -gt 0 ] && [ "$nofds" -gt 0 ] &&
	[ $((served + nofds)) = 100 ]'
episodes=$(count_log ' control: out of file descriptors ')
check "it is said once per shortage, not per accept ($episodes)" \
    test "$episodes" -ge 1 -a "$episodes" -le 5
check "leashd is still running" alive "$LEASHD_PID"
wait_for "leashd answers once the clients are gone" 10 leashd_answers
check "the 8 workers are still RUNNING" all_running

signal_leashd TERM
wait_leashd_exit 10
check "leashd exits 0 on SIGTERM (status $LEASHD_STATUS)" \
    test "$LEASHD_STATUS" = 0

# ---- out of fds while spawning: a worker whose output would be lost is a
# spawn error, and leashctl is still served (on the reserved descriptor),
# so stopping workers can free fds for the others.
write_config "$DIR/many.ini" <<EOF2
[program:m]
command = $WORKER
process_name = m%(process_num)d
numprocs = 30
startsecs = 0.2
startretries = 0
EOF2
(ulimit -n 64 && exec "$LEASHD" -c "$DIR/many.ini") >"$DIR/many.log" 2>&1 &
LEASHD_PID=$!
LEASHD_PIDS="$LEASHD_PIDS $LEASHD_PID"
LEASHD_LOG=$DIR/many.log
settled() {
	ctl status
	[ "$(grep -c -E ' (RUNNING|FATAL) ' "$CTL_OUT")" -eq 30 ]
}
wait_for "30 workers settle, RUNNING or FATAL, with 64 files" 20 settled
running=$(grep -c ' RUNNING ' "$CTL_OUT")
fatal=$(grep -c ' FATAL ' "$CTL_OUT")
check "leashctl status is answered with the fds used up ($running RUNNING, $fatal FATAL)" \
    test "$running" -gt 0 -a "$fatal" -gt 0
check "the ones that could not start say why (status INFO)" \
    grep -q 'spawn error: cannot make its std\(out\|err\) pipe: Too many open files' "$CTL_OUT"
first_fatal=$(grep ' FATAL ' "$CTL_OUT" | head -n 1 | awk '{print $1}')
stop_these=$(grep ' RUNNING ' "$CTL_OUT" | head -n 5 | awk '{print $1}')
ctl stop $stop_these
check "5 RUNNING workers are stopped over the reserved descriptor" \
    test "$(grep -c ': stopped$' "$CTL_OUT")" -eq 5
ctl start "$first_fatal"
check "with their fds free, $first_fatal starts" grep -q ': started$' "$CTL_OUT"
signal_leashd TERM
wait_leashd_exit 15
check "leashd exits 0 on SIGTERM (status $LEASHD_STATUS)" \
    test "$LEASHD_STATUS" = 0
