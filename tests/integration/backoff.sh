#!/bin/sh
# A worker that exits at once goes STARTING -> BACKOFF (1 s, 2 s ...) and
# ends FATAL after startretries retries: startretries + 1 spawns in all.  A
# missing executable is a spawn error and ends FATAL the same way.  leashd
# and its other workers carry on.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh"

cat >"$DIR/leash.ini" <<EOF
[leashd]
childlogdir = $DIR/logs

[program:crasher]
command = $WORKER --exit 1
startsecs = 1
startretries = 2
stdout_logfile = NONE
stderr_logfile = NONE

[program:missing]
command = $DIR/no-such-program --flag
startsecs = 0.2
startretries = 1
stdout_logfile = NONE
stderr_logfile = NONE

[program:steady]
command = $WORKER
startsecs = 0.2
stopwaitsecs = 2
stdout_logfile = NONE
stderr_logfile = NONE
EOF

start_leashd "$DIR/leash.ini"

wait_for "steady reaches RUNNING" 10 in_state steady:steady RUNNING
steady=$(worker_pid steady:steady)

wait_for "crasher goes into BACKOFF" 10 \
    log_has ' program: crasher:crasher STARTING -> BACKOFF$'
# Backoffs of 1 s and 2 s: FATAL comes after about 3 s.
wait_for "crasher ends FATAL" 15 in_state crasher:crasher FATAL
n=$(spawn_count crasher:crasher)
check "crasher was spawned startretries + 1 = 3 times (got $n)" test "$n" -eq 3
n=$(count_log ' program: crasher:crasher STARTING -> BACKOFF$')
check "crasher went into BACKOFF startretries = 2 times (got $n)" test "$n" -eq 2
check "crasher's exits are logged as not expected" \
    test "$(count_log ' program: crasher:crasher exited: exit status 1 \(not expected\)')" -eq 3
check "crasher never reached RUNNING" \
    test "$(count_log ' program: crasher:crasher [A-Z]+ -> RUNNING$')" -eq 0
check "leashd says it gave up on crasher" \
    log_has ' program: crasher:crasher gave up: entered FATAL state'

# The backoff grows: at least 1 s before the 2nd spawn, 2 s before the 3rd.
# (Only lower bounds: a slow machine may take longer.)
spawn_times=$(grep ' program: crasher:crasher spawned with pid ' "$LEASHD_LOG" |
    awk '{ split($2, t, ":"); printf "%.3f\n", t[1] * 3600 + t[2] * 60 + t[3] }')
gaps=$(echo "$spawn_times" | awk 'NR > 1 { d = $1 - p; if (d < 0) d += 86400;
    printf "%.3f ", d } { p = $1 }')
diag "crasher: gaps between spawns: $gaps"
gap_ok() {
	echo "$gaps" | awk -v i="$1" -v min="$2" '{ exit !($i >= min) }'
}
check "1st backoff lasts about 1 s (>= 0.9 s)" gap_ok 1 0.9
check "2nd backoff lasts about 2 s (>= 1.9 s)" gap_ok 2 1.9

wait_for "missing ends FATAL" 10 in_state missing:missing FATAL
check "the missing executable is logged as a spawn error" \
    log_has " program: missing:missing: spawn error: cannot execute $DIR/no-such-program: No such file or directory"
n=$(count_log ' program: missing:missing: spawn error: ')
check "missing had startretries + 1 = 2 spawn attempts (got $n)" test "$n" -eq 2
check "missing went through BACKOFF" \
    log_has ' program: missing:missing STARTING -> BACKOFF$'
check "missing never got a pid" test "$(spawn_count missing:missing)" -eq 0
check "leashd says it gave up on missing" \
    log_has ' program: missing:missing gave up: entered FATAL state'

check "leashd is still running" alive "$LEASHD_PID"
check "steady kept running with the same pid" alive "$steady"
check "steady was spawned once only" test "$(spawn_count steady:steady)" -eq 1
check "steady is still RUNNING" in_state steady:steady RUNNING
# FATAL is final: no retry is scheduled after it (a 3rd backoff would have
# been logged as STARTING -> BACKOFF before FATAL could be reached).
check "crasher stays FATAL, no 4th spawn" test "$(spawn_count crasher:crasher)" -eq 3

signal_leashd TERM
wait_leashd_exit 10
check "leashd exits 0 on SIGTERM (status $LEASHD_STATUS)" \
    test "$LEASHD_STATUS" = 0
check "crasher and missing stay FATAL through the shutdown" \
    test "$(state_of crasher:crasher)$(state_of missing:missing)" = FATALFATAL
check "steady is gone" dead "$steady"
