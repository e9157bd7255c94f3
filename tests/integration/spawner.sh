#!/bin/sh
# leashd starts its workers through the spawner, a small child of its own
# (spawn.c): each worker is still leashd's child, gets the groups of its
# user= as initgroups(3) would give them, and when the spawner is killed
# leashd says so and goes on forking workers itself; at exit nothing of
# either is left.  On cgroup v1 the kernel's threshold event for
# memory_limit is registered (in the spawner's threads, or by leashd's own
# child once the spawner is gone) and comes.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" &&
    . "$here/ctl_lib.sh"

# A user with supplementary groups (a member listed in /etc/group).
guser=
for _u in $(cut -d: -f4 /etc/group | tr ',' ' '); do
	if id "$_u" >/dev/null 2>&1; then
		guser=$_u
		break
	fi
done
# grouped runs as that user: it must reach the build (not under a
# directory closed to others, such as root's home).
if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null &&
    ! runuser -u "${guser:-nobody}" -- test -x "$WORKER" 2>/dev/null; then
	skip "user ${guser:-nobody} cannot execute $WORKER (a directory on its way is closed to others)"
	exit 0
fi

LEASH_TEST_LOGLEVEL=debug write_config "$DIR/leash.ini" <<EOF
[program:plain]
command = $WORKER
startsecs = 0.2

[program:grouped]
command = $WORKER --groups
user = ${guser:-nobody}
startsecs = 0.2
stdout_logfile = $DIR/grouped.out

# Only the kernel's event can see it cross: the sampler's interval is an
# hour, and it grows from its first moment, so no look of leashd's finds
# it levelled (autostart off: started for each of the two checks).
[program:leaky]
command = $WORKER --grow 4M --tick 0.1
autostart = false
startsecs = 0.2
memory_limit = 48M
memory_interval = 1h
EOF

start_leashd "$DIR/leash.ini"
wait_for "both programs reach RUNNING" 10 \
    eval 'in_state plain:plain RUNNING && in_state grouped:grouped RUNNING'

ppid_of() {
	awk '/^PPid:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}
spawner_pid() {
	for _p in $(pgrep -P "$LEASHD_PID" -x leashd-spawner); do
		echo "$_p"
		return 0
	done
	return 1
}

p=$(worker_pid plain:plain)
check "the worker is leashd's child (pid $p, ppid $(ppid_of "$p"))" \
    test "$(ppid_of "$p")" = "$LEASHD_PID"
sp=$(spawner_pid)
check "the spawner runs as leashd's child, named leashd-spawner ($sp)" \
    test -n "$sp"
check "the spawner is in a session of its own (not leashd's ^C)" \
    test "$(ps -o sid= -p "$sp" | tr -d ' ')" = "$sp"

if [ -n "$guser" ]; then
	wait_for "grouped printed its groups" 10 file_has "$DIR/grouped.out" .
	want=$(id -G "$guser" | tr ' ' '\n' | sort | tr '\n' ' ')
	got=$(head -n 1 "$DIR/grouped.out" | tr ' ' '\n' | sort | tr '\n' ' ')
	check "user = $guser gets its groups as initgroups gives them ($want; got $got)" \
	    test "$want" = "$got"
else
	skip "no user in /etc/group has supplementary groups to compare"
fi

# threshold_event N: the kernel event came for leaky's Nth process.
threshold_event() {
	[ "$(count_log " memory: leaky:leaky: pid [0-9]+ crossed memory_limit \(kernel event\)")" -ge "$1" ]
}
v1=
log_has " cgroup: one cgroup per worker, .*\(cgroup v1\)" && v1=yes
# leaky_crosses N WHO: leaky's Nth process gets its event (WHO registered).
leaky_crosses() {
	if [ -z "$v1" ]; then
		skip "no cgroup v1 memory controller for leashd here: threshold events are v1's"
		return 0
	fi
	ctl start leaky:leaky
	wait_for "the threshold event came (registered by $2)" 15 \
	    threshold_event "$1"
	ctl stop leaky:leaky
}
leaky_crosses 1 "the spawner"

kill -KILL "$sp"
ctl restart plain:plain
ctl_expect "restart plain works with the spawner gone" 0
wait_for "leashd says the spawner is gone and forks itself" 10 \
    log_has " spawn: the spawner \(pid $sp\) is gone; leashd forks each worker itself"
p2=$(worker_pid plain:plain)
check "the new worker ($p2) is a new pid" test "$p2" != "$p"
wait_for "the new worker reaches RUNNING" 10 in_state plain:plain RUNNING
check "the new worker is leashd's child" \
    test "$(ppid_of "$p2")" = "$LEASHD_PID"
check "leashd is still running" alive "$LEASHD_PID"
leaky_crosses 2 "leashd's child"

g=$(worker_pid grouped:grouped)
signal_leashd TERM
wait_leashd_exit 10
check "leashd exits 0 on SIGTERM (status $LEASHD_STATUS)" \
    test "$LEASHD_STATUS" = 0
check "no leftover process had to be killed at exit" \
    eval '! log_has "killing [0-9]+ leftover processes"'
check "the workers are gone" none_alive "$p2" "$g"
