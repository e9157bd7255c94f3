#!/bin/sh
# Fork fails (a pids cgroup at its limit, as RLIMIT_NPROC does not bind
# root): the start is a spawn error that says so, the worker backs off and
# gives up as supervisord's rules say, leashd keeps serving and loses no
# running worker; with room again the start works.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh"

LEASHCTL=$top_builddir/src/leashctl
if ! cg=$(pids_cgroup); then
	skip "no writable pids cgroup controller to make fork fail"
	exit 0
fi

conf=$DIR/leash.ini
cat >"$conf" <<EOF
[leashd]
childlogdir = $DIR/logs

[program:a]
command = $WORKER
startsecs = 0.2

[program:b]
command = $WORKER
startsecs = 0.2
autostart = false
startretries = 1
EOF

# leashd inside the cgroup: it and what it forks count against pids.max.
LEASHD_CGROUP=$cg start_leashd "$conf"
ctl() {
	"$LEASHCTL" -s "$DIR/leash.sock" "$@"
}
wait_for "a is RUNNING" 10 in_state a:a RUNNING
apid=$(worker_pid a:a)
echo "$(cat "$cg/pids.current")" >"$cg/pids.max"
check "pids.max is at what leashd and a use ($(cat "$cg/pids.max"))" \
    test "$(cat "$cg/pids.max")" = "$(cat "$cg/pids.current")"

ctl start b >"$DIR/start.out" 2>&1
check "start b fails: ERROR (spawn error), exit 1" \
    grep -q "b:b: ERROR (spawn error)" "$DIR/start.out"
wait_for "b gives up: FATAL after startretries" 10 in_state b:b FATAL
check "status says why: fork: Resource temporarily unavailable" \
    sh -c "'$LEASHCTL' -s '$DIR/leash.sock' status b | grep -q 'spawn error: fork: Resource temporarily unavailable'"
check "leashd logged the spawn error" log_has "b:b: spawn error: fork: "
check "leashd is alive and serving" ctl status a
check "a kept its pid ($apid)" test "$(worker_pid a:a)" = "$apid"

echo max >"$cg/pids.max"
ctl start b >"$DIR/start2.out" 2>&1
check "with room again, start b works" grep -q "b:b: started" "$DIR/start2.out"
ctl shutdown >/dev/null 2>&1
wait_leashd_exit 15
check "leashd exits 0 (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0
poll 5 remove_cgroup "$cg"
exit 0
