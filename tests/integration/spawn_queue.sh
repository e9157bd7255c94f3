#!/bin/sh
# Spawns are paced (supervisor.c, SPAWN_SLICE): a pool starting at once is
# spawned a slice at a time, its waiting workers STARTING without a pid,
# and the control socket is served between slices (status says "waiting
# for its turn to spawn").  A worker stopped
# while it waits is never spawned; started again, every worker is spawned
# once; nothing is left at exit.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" &&
    . "$here/ctl_lib.sh"

n=600
write_config "$DIR/leash.ini" <<EOF2
[program:many]
command = $WORKER
process_name = w%(process_num)d
numprocs = $n
startsecs = 0.2
stdout_logfile = NONE
stderr_logfile = NONE
EOF2

spawned() {
	count_log ' program: many:w[0-9]+ spawned with pid '
}
start_leashd "$DIR/leash.ini"
wait_for "leashd answers on its socket" 10 leashd_answers
ctl status
queued=$(grep -c -E '^many:w[0-9]+ +STARTING +- .* waiting for its turn to spawn$' "$CTL_OUT")
diag "the first status answered with $queued workers STARTING without a pid, $(spawned) spawned"
check "leashd answered while workers were still waiting for their turn to spawn" \
    test "$queued" -gt 0
ctl stop all
ctl_expect "stop all during the mass start works" 0
stopped_at=$(spawned)
diag "$stopped_at of $n workers were spawned before the stop"
check "the workers still waiting were never spawned ($stopped_at < $n)" \
    test "$stopped_at" -lt "$n"
ctl status
check "every worker is STOPPED" \
    test "$(grep -c -E '^many:w[0-9]+ +STOPPED' "$CTL_OUT")" -eq "$n"
check "no worker process is left" \
    test -z "$(pids_of_token_owners "$LEASHD_PID")"

ctl start all
ctl_expect "start all works" 0
ctl status
check "every worker is RUNNING" \
    test "$(grep -c -E '^many:w[0-9]+ +RUNNING' "$CTL_OUT")" -eq "$n"
check "start all spawned each worker once ($(spawned) = $stopped_at + $n)" \
    test "$(spawned)" -eq $((stopped_at + n))
check "leashd is still running" alive "$LEASHD_PID"

signal_leashd TERM
wait_leashd_exit 30
check "leashd exits 0 on SIGTERM (status $LEASHD_STATUS)" \
    test "$LEASHD_STATUS" = 0
check "no worker process is left after exit" \
    test -z "$(pids_of_token_owners "$LEASHD_PID")"
