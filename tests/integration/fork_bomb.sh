#!/bin/sh
# A fork-bombing worker: a shell that ignores SIGTERM and whose subshells
# fork as fast as they can (each exits when fork fails, so the tree churns
# at the limit), held to a pids cgroup (a unit's TasksMax=) that leashd and its
# workers share.  leashd keeps serving while the bomb holds every pid, the
# other worker keeps its pid, a stop ends the whole tree (SIGTERM is
# ignored, so SIGKILL at stopwaitsecs, to processes still forking), leashd
# says so, and with the pids back a start works.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh"

LEASHCTL=$top_builddir/src/leashctl
if ! cg=$(pids_cgroup); then
	skip "no writable pids cgroup controller to hold a fork bomb"
	exit 0
fi

conf=$DIR/leash.ini
cat >"$conf" <<EOF
[leashd]
childlogdir = $DIR/logs

[program:a]
command = $WORKER
startsecs = 0.2

[program:bomb]
command = /bin/sh -c 'trap "" TERM; (b() { b & b & wait; }; b) & wait; exec $WORKER --ignore-term'
startsecs = 0
autostart = false
stopwaitsecs = 1
stdout_logfile = NONE
stderr_logfile = NONE

[program:late]
command = $WORKER
startsecs = 0.2
autostart = false
EOF
ctl() {
	"$LEASHCTL" -s "$DIR/leash.sock" "$@"
}
pids_now() {
	cat "$cg/pids.current"
}

LEASHD_CGROUP=$cg start_leashd "$conf"
wait_for "a is RUNNING" 10 in_state a:a RUNNING
apid=$(worker_pid a:a)
base=$(pids_now)
echo $((base + 200)) >"$cg/pids.max"

ctl start bomb >"$DIR/start.out" 2>&1
bomb_full() {
	[ "$(pids_now)" -ge $((base + 190)) ]
}
wait_for "the bomb takes the cgroup's pids ($base + 200)" 20 bomb_full
check "leashd ($LEASHD_PID) is alive" alive "$LEASHD_PID"
check "leashd answers status while the bomb holds every pid" \
    eval 'ctl status a >/dev/null'
check "a kept its pid ($apid)" test "$(worker_pid a:a)" = "$apid"
check "the bomb's own process still runs" in_state bomb:bomb RUNNING

ctl stop bomb >"$DIR/stop.out" 2>&1
TAP_DIAG_FILE=$DIR/stop.out
check "leashctl stop bomb says stopped" grep -q "bomb:bomb: stopped" "$DIR/stop.out"
TAP_DIAG_FILE=
bomb_gone() {
	[ "$(pids_now)" -le "$base" ]
}
wait_for "the whole bomb is gone: the pids are back at $base" 10 bomb_gone
check "leashd logged the stop (SIGKILL, as SIGTERM was ignored)" \
    log_has "bomb:bomb: stopped \(terminated by SIGKILL\)|bomb:bomb stopped \(terminated by SIGKILL\)"
check "a kept its pid ($apid) through it all" test "$(worker_pid a:a)" = "$apid"
ctl start late >"$DIR/late2.out" 2>&1
check "with the pids back, start late works" \
    grep -q "late:late: started" "$DIR/late2.out"

ctl shutdown >/dev/null 2>&1
wait_leashd_exit 15
check "leashd exits 0 (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0
check "its cgroup can be removed: nothing was left in it" \
    poll 5 remove_cgroup "$cg"
exit 0
