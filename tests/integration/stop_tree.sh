#!/bin/sh
# Stopping a worker that ignores SIGTERM, has two children in its process
# group and a double-forked setsid() grandchild that ignores SIGTERM too:
# after stopwaitsecs leashd SIGKILLs the whole tree.  First a program
# removed by a reload (leashd runs on, so its exit-time sweep cannot help);
# that one dies of SIGTERM itself and leaves its TERM-proof grandchild
# behind.  Then leashd's own SIGTERM: once leashd has exited nothing of the
# tree is alive.  stop_tree_proc.sh runs the same with use_cgroups = false,
# where the tree is found in /proc (process group, descendants, token).
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh"

tree=$DIR/tree.pids
rtree=$DIR/removed.pids
cat >"$DIR/stubborn.part" <<EOF
[leashd]
childlogdir = $DIR/logs
${STOP_TREE_LEASHD:-}

[program:stubborn]
command = $WORKER --ignore-term --children 2 --daemon --tree $tree
    --pidfile $DIR/stubborn.pid
startsecs = 0.2
stopwaitsecs = 1
stdout_logfile = NONE
stderr_logfile = NONE
EOF
cat >"$DIR/removed.part" <<EOF

[program:removed]
command = $WORKER --children 2 --daemon --tree $rtree
startsecs = 0.2
stopwaitsecs = 1
stdout_logfile = NONE
stderr_logfile = NONE
EOF
cat "$DIR/stubborn.part" "$DIR/removed.part" >"$DIR/leash.ini"

start_leashd "$DIR/leash.ini"

# ---- a stop while leashd runs on: the program is removed by a reload

wait_for "removed reaches RUNNING" 10 in_state removed:removed RUNNING
rthree() {
	[ "$(count_of_lines "$rtree")" -ge 3 ]
}
wait_for "removed's tree file lists 2 children and the daemon grandchild" 10 \
    rthree
rmain=$(worker_pid removed:removed)
rpids=$(cat "$rtree")
diag "removed: worker $rmain, tree: $(echo $rpids)"
check "removed's worker and tree are alive" all_alive $rmain $rpids

cp "$DIR/stubborn.part" "$DIR/leash.ini"
signal_leashd HUP
wait_for "the reload removes the program" 10 \
    log_has ' leashd: reloaded: 0 added, 0 changed, 1 removed$'
wait_for "removed goes STOPPING -> STOPPED" 10 \
    log_has ' program: removed:removed STOPPING -> STOPPED$'
check "removed's worker died of the SIGTERM" \
    log_has ' program: removed:removed stopped \(terminated by SIGTERM\)$'
check "removed's SIGKILL escalation for what it left is logged" \
    log_has ' program: removed:removed: processes it started are still alive 1\.0 s after the stop signal: SIGKILL to the whole tree$'
check "removed is STOPPED only after the SIGKILL" \
    test "$(log_line 'removed:removed: .*SIGKILL to the whole tree')" -lt \
    "$(log_line 'removed:removed STOPPING -> STOPPED')"
check "leashd is still running" alive "$LEASHD_PID"
check "removed's worker $rmain is gone" dead "$rmain"
for p in $rpids; do
	check "removed's tree member $p is gone at STOPPED, leashd running" \
	    dead "$p"
done

# ---- leashd's own shutdown

wait_for "stubborn reaches RUNNING" 10 in_state stubborn:stubborn RUNNING
three_pids() {
	[ "$(count_of_lines "$tree")" -ge 3 ] && [ -s "$DIR/stubborn.pid" ]
}
wait_for "the tree file lists 2 children and the daemon grandchild" 10 three_pids

main=$(worker_pid stubborn:stubborn)
pids=$(cat "$tree")
diag "stubborn: worker $main, tree: $(echo $pids)"
check "the pid file holds the pid leashd logged" \
    test "$(read_pidfile "$DIR/stubborn.pid")" = "$main"
check "the worker and its whole tree are alive before the stop" \
    all_alive $main $pids

# The grandchild (written last) left the worker's session: only leashd's
# own bookkeeping (subreaper, worker token) can find it.
gc=$(tail -n 1 "$tree")
sid_of() {
	awk '{ sub(/.*\) /, ""); print $4 }' "/proc/$1/stat" 2>/dev/null
}
gc_sid=$(sid_of "$gc")
main_sid=$(sid_of "$main")
if [ -r "/proc/$gc/stat" ]; then
	check "the daemon grandchild $gc has a session of its own ($gc_sid, worker's $main_sid)" \
	    test -n "$gc_sid" -a "$gc_sid" != "$main_sid"
else
	skip "no /proc/$gc/stat to read the grandchild's session from"
fi

signal_leashd TERM
wait_leashd_exit 15
check "leashd exits 0 on SIGTERM (status $LEASHD_STATUS)" \
    test "$LEASHD_STATUS" = 0
check "the worker $main is gone" dead "$main"
for p in $pids; do
	check "tree member $p is gone" dead "$p"
done
check "the double-forked setsid grandchild $gc is gone" dead "$gc"
check "the log mentions SIGKILL" log_has 'SIGKILL'
check "the SIGKILL is the stopwaitsecs escalation" \
    log_has ' program: stubborn:stubborn: it is still alive 1\.0 s after the stop signal: SIGKILL to the whole tree$'
check "the worker went STOPPING -> STOPPED" \
    log_has ' program: stubborn:stubborn STOPPING -> STOPPED$'
check "STOPPED is logged after the SIGKILL" \
    test "$(log_line 'stubborn:stubborn: .*SIGKILL to the whole tree')" -lt \
    "$(log_line 'stubborn:stubborn STOPPING -> STOPPED')"
check "leashd logged its exit" log_has ' leashd: all workers stopped, exiting$'
check "the stops got the whole trees: the exit sweep found nothing left" \
    test "$(count_log 'leftover processes')" -eq 0
