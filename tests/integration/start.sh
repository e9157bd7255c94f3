#!/bin/sh
# numprocs = 3 workers all reach RUNNING with distinct live pids, and each
# sees its own LEASH_PROCESS_NAME/SUPERVISOR_PROCESS_NAME and the values of
# environment=, whatever leashd's own environment says.  leashd raises its
# own soft open-files limit to the hard one; its workers get the limit
# leashd was started with.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh"

# A soft limit under the hard one, for leashd to raise.
hard_nofile=$(ulimit -Hn)
soft_nofile=
if [ "$hard_nofile" = unlimited ] || [ "$hard_nofile" -gt 512 ]; then
	ulimit -Sn 512 && soft_nofile=512
fi

cat >"$DIR/leash.ini" <<EOF
[leashd]
childlogdir = $DIR/logs

[program:sleeper]
command = $WORKER --env LEASH_PROCESS_NAME --env SUPERVISOR_PROCESS_NAME
    --env LEASH_PROCESS_NUM --env GREETING --env ANSWER
    --pidfile $DIR/sleeper_%(process_num)d.pid
process_name = %(program_name)s_%(process_num)d
numprocs = 3
startsecs = 0.2
stopwaitsecs = 2
environment = GREETING="hello world",ANSWER=%(process_num)d
stdout_logfile = $DIR/sleeper_%(process_num)d.out
stderr_logfile = NONE
EOF

# leashd's own values of the variables it sets for workers must not leak.
LEASH_PROCESS_NAME=outer SUPERVISOR_PROCESS_NAME=outer
export LEASH_PROCESS_NAME SUPERVISOR_PROCESS_NAME

start_leashd "$DIR/leash.ini"

all_running() {
	for i in 0 1 2; do
		in_state "sleeper:sleeper_$i" RUNNING || return 1
	done
}
wait_for "all 3 workers reach RUNNING" 10 all_running

p0=$(worker_pid sleeper:sleeper_0)
p1=$(worker_pid sleeper:sleeper_1)
p2=$(worker_pid sleeper:sleeper_2)
diag "pids: $p0 $p1 $p2"
check "each worker has a pid in the log" test -n "$p0" -a -n "$p1" -a -n "$p2"
check "the 3 worker pids are alive" all_alive $p0 $p1 $p2
check "the 3 worker pids are distinct" distinct $p0 $p1 $p2
check "no worker pid is leashd's" distinct $LEASHD_PID $p0 $p1 $p2

# nofile PID soft|hard: "Max open files" of /proc/PID/limits.
nofile() {
	awk -v f="$2" '/^Max open files/ { print f == "soft" ? $4 : $5 }' \
	    "/proc/$1/limits"
}
if [ -n "$soft_nofile" ] && [ -r "/proc/$LEASHD_PID/limits" ]; then
	check "leashd raised its soft open-files limit to the hard one ($(nofile "$LEASHD_PID" soft))" \
	    test "$(nofile "$LEASHD_PID" soft)" = "$(nofile "$LEASHD_PID" hard)"
	check "the workers have the limit leashd was started with (512)" \
	    eval '[ "$(nofile "$p0" soft)" = 512 ] && [ "$(nofile "$p2" soft)" = 512 ]'
else
	skip "open-files limits: the hard limit is 512 or less, or no /proc"
	skip "open-files limits: the hard limit is 512 or less, or no /proc"
fi

pidfiles_match() {
	[ "$(read_pidfile "$DIR/sleeper_0.pid")" = "$p0" ] &&
	    [ "$(read_pidfile "$DIR/sleeper_1.pid")" = "$p1" ] &&
	    [ "$(read_pidfile "$DIR/sleeper_2.pid")" = "$p2" ]
}
wait_for "the pids leashd logged are the workers' own (pid files)" 10 \
    pidfiles_match

for i in 0 1 2; do
	out=$DIR/sleeper_$i.out
	# The worker prints its environment at start; wait for all of it.
	wait_for "sleeper_$i wrote its environment to stdout_logfile" 10 \
	    file_has "$out" '^ANSWER='
	check "sleeper_$i: LEASH_PROCESS_NAME=sleeper_$i" \
	    file_has "$out" "^LEASH_PROCESS_NAME=sleeper_$i\$"
	check "sleeper_$i: SUPERVISOR_PROCESS_NAME=sleeper_$i" \
	    file_has "$out" "^SUPERVISOR_PROCESS_NAME=sleeper_$i\$"
	check "sleeper_$i: LEASH_PROCESS_NUM=$i" \
	    file_has "$out" "^LEASH_PROCESS_NUM=$i\$"
	check "sleeper_$i: environment= quoted value with a space" \
	    file_has "$out" '^GREETING=hello world$'
	check "sleeper_$i: environment= value with %(process_num)d expanded" \
	    file_has "$out" "^ANSWER=$i\$"
done

check "each worker was spawned exactly once" \
    test "$(count_log ' program: sleeper:sleeper_[0-9] spawned with pid ')" -eq 3
check "no worker left RUNNING" \
    test "$(count_log ' program: sleeper:sleeper_[0-9] RUNNING -> ')" -eq 0
check "leashd is still running" alive "$LEASHD_PID"

signal_leashd TERM
wait_leashd_exit 10
check "leashd exits 0 on SIGTERM (status $LEASHD_STATUS)" \
    test "$LEASHD_STATUS" = 0
check "the workers are gone after leashd exits" none_alive $p0 $p1 $p2
