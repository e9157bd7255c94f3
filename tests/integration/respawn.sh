#!/bin/sh
# A RUNNING worker killed with SIGKILL is respawned with a new pid
# (autorestart = unexpected); a worker whose exit is expected and that must
# not be restarted stays EXITED.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh"

cat >"$DIR/leash.ini" <<EOF
[leashd]
childlogdir = $DIR/logs

[program:victim]
command = $WORKER
autorestart = unexpected
startsecs = 0.2
stopwaitsecs = 2
stdout_logfile = NONE
stderr_logfile = NONE

; Its children ignore SIGTERM: when the worker is killed they are left
; behind, and leashd must get rid of them (SIGTERM, then SIGKILL).
[program:parent]
command = $WORKER --ignore-term --children 2 --tree $DIR/parent.tree
autorestart = unexpected
startsecs = 0.2
stopwaitsecs = 0.5
stdout_logfile = NONE
stderr_logfile = NONE

; Runs past startsecs, then exits 0: expected, and autorestart = false.
[program:once]
command = $WORKER --after 0.4 --exit 0
autorestart = false
startsecs = 0.2
stdout_logfile = NONE
stderr_logfile = NONE

; Exits 3, which exitcodes lists: expected, so unexpected-only restarts
; leave it alone.
[program:done3]
command = $WORKER --after 0.4 --exit 3
autorestart = unexpected
exitcodes = 0,3
startsecs = 0.2
stdout_logfile = NONE
stderr_logfile = NONE

; Exits 4 after RUNNING, which exitcodes does not list: restarted.
[program:odd]
command = $WORKER --after 0.4 --exit 4
autorestart = unexpected
exitcodes = 0,3
startsecs = 0.2
stdout_logfile = NONE
stderr_logfile = NONE
EOF

start_leashd "$DIR/leash.ini"

wait_for "victim reaches RUNNING" 10 in_state victim:victim RUNNING
old=$(worker_pid victim:victim)
check "victim's pid $old is alive" alive "$old"

kill -KILL "$old"

new_pid() {
	_np=$(worker_pid victim:victim)
	[ -n "$_np" ] && [ "$_np" != "$old" ]
}
wait_for "victim is respawned after SIGKILL" 10 new_pid
new=$(worker_pid victim:victim)
diag "victim: old pid $old, new pid $new"
check "the exit is logged as killed by SIGKILL, not expected" \
    log_has ' program: victim:victim exited: terminated by SIGKILL \(not expected\)'
check "the exit goes through EXITED" \
    log_has ' program: victim:victim RUNNING -> EXITED'
wait_for "the respawned victim reaches RUNNING" 10 in_state victim:victim RUNNING
check "the new pid differs from the old one" test "$new" != "$old"
check "the new pid is alive" alive "$new"
check "the old pid is gone" dead "$old"
check "victim was spawned exactly twice" test "$(spawn_count victim:victim)" -eq 2

wait_for "once (exit 0, autorestart=false) ends EXITED" 10 \
    in_state once:once EXITED
check "once's exit is logged as expected" \
    log_has ' program: once:once exited: exit status 0 \(expected\)'
wait_for "done3 (exit 3 in exitcodes, autorestart=unexpected) ends EXITED" 10 \
    in_state done3:done3 EXITED
check "done3's exit is logged as expected" \
    log_has ' program: done3:done3 exited: exit status 3 \(expected\)'
two_spawns() {
	[ "$(spawn_count odd:odd)" -ge 2 ]
}
wait_for "odd (exit 4 not in exitcodes) is restarted" 10 two_spawns
check "odd's exit is logged as not expected" \
    log_has ' program: odd:odd exited: exit status 4 \(not expected\)'

# A restart would follow the exit at once (same event); odd's restart, which
# comes later than the exits of once and done3, has been seen, so a restart
# of those would be in the log by now.
check "once was spawned once only" test "$(spawn_count once:once)" -eq 1
check "once is still EXITED" in_state once:once EXITED
check "done3 was spawned once only" test "$(spawn_count done3:done3)" -eq 1
check "done3 is still EXITED" in_state done3:done3 EXITED
# ---- a killed worker's orphans do not outlive it
wait_for "parent reaches RUNNING with its 2 children" 10 \
    eval 'in_state parent:parent RUNNING && [ "$(count_of_lines "$DIR/parent.tree")" -ge 2 ]'
pmain=$(worker_pid parent:parent)
kids=$(head -n 2 "$DIR/parent.tree")
diag "parent: $pmain, children: $(echo $kids)"
check "parent's children are alive" all_alive $kids
kill -KILL "$pmain"
wait_for "parent is respawned" 10 eval '[ "$(spawn_count parent:parent)" -ge 2 ]'
for k in $kids; do
	check "leashd reports the left-behind child $k" \
	    log_has " leashd: pid $k was left behind by its worker: signalling it\$"
done
wait_for "the left-behind children are killed" 10 none_alive $kids
check "the TERM-proof children needed a SIGKILL" \
    log_has ' leashd: pid [0-9]+ left behind by a worker is still alive: SIGKILL$'
wait_for "parent's new worker is RUNNING" 10 in_state parent:parent RUNNING
check "parent's new worker is alive" alive "$(worker_pid parent:parent)"

check "leashd is still running" alive "$LEASHD_PID"

signal_leashd TERM
wait_leashd_exit 10
check "leashd exits 0 on SIGTERM (status $LEASHD_STATUS)" \
    test "$LEASHD_STATUS" = 0
check "the respawned victim is gone" dead "$new"
