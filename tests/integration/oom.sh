#!/bin/sh
# leashd's own cgroup under memory pressure: leashd runs in a memory cgroup
# of its own with a 96 MiB limit (a unit's MemoryMax=, which its workers
# share), and a worker with no memory_limit of leash's asks for 200 MiB.
# The kernel's OOM killer takes the worker, not leashd; leashd says so
# (the log and status name the OOM killer), keeps serving, and the other
# worker keeps its pid.  Needs root and a memory cgroup (v1, or v2 with the
# memory controller); tests/vm/run runs it on cgroup v2.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" && . "$here/mem_lib.sh"

if [ "$(id -u)" != 0 ]; then
	skip "not root: cannot make a memory cgroup for leashd"
	exit 0
fi
V=$(memcg_version)
mybase=$(memcg_of $$)
cg=$mybase/leash-test-$$
case $V in
1) limit_file=memory.limit_in_bytes swap_file=memory.memsw.limit_in_bytes ;;
2)
	grep -qw memory "$mybase/cgroup.subtree_control" 2>/dev/null ||
	    echo +memory >"$mybase/cgroup.subtree_control" 2>/dev/null
	limit_file=memory.max swap_file=memory.swap.max
	;;
*)
	skip "no memory cgroup for this process (neither v1 nor v2 with memory)"
	exit 0
	;;
esac
if ! mkdir "$cg" 2>/dev/null || ! echo $((96 << 20)) >"$cg/$limit_file"; then
	rmdir "$cg" 2>/dev/null
	skip "cannot make a memory cgroup with a limit in $mybase"
	exit 0
fi
# No swap to escape to: the limit is what the kernel enforces.
if [ -e "$cg/$swap_file" ]; then
	[ "$V" = 2 ] && echo 0 >"$cg/$swap_file"
	[ "$V" = 1 ] && echo $((96 << 20)) >"$cg/$swap_file" 2>/dev/null
fi

cat >"$DIR/oom.ini" <<EOF
$(leashd_section)

[program:small]
command = $WORKER --hold 8M
startsecs = 0.2
stdout_logfile = NONE
stderr_logfile = NONE

[program:hog]
command = $WORKER --hold 200M
startsecs = 0
autostart = false
autorestart = false
stdout_logfile = NONE
stderr_logfile = NONE
EOF
LEASHD_CGROUP=$cg start_leashd "$DIR/oom.ini"
wait_for "small reaches RUNNING in leashd's 96 MiB cgroup" 10 \
    in_state small:small RUNNING
small=$(worker_pid small:small)
ctl start hog >"$DIR/start.out" 2>&1
wait_for "hog is killed by the kernel's OOM killer, and leashd says so" 20 \
    log_has " program: hog:hog exited: terminated by SIGKILL from the kernel's OOM killer \(not expected\)\$"
check "leashd ($LEASHD_PID) is alive" alive "$LEASHD_PID"
ctl status >"$DIR/status.out" 2>&1
TAP_DIAG_FILE=$DIR/status.out
check "leashctl status answers and names the OOM killer for hog" \
    grep -q "^hog:hog  *EXITED .*killed by SIGKILL (the kernel's OOM killer)" "$DIR/status.out"
TAP_DIAG_FILE=
check "small kept its pid $small" test "$(worker_pid small:small)" = "$small"
check "small is RUNNING" in_state small:small RUNNING
check "leashd is still in the 96 MiB cgroup" \
    eval 'case $(memcg_of "$LEASHD_PID") in "$cg"|"$cg"/*) true ;; *) false ;; esac'
ctl shutdown >/dev/null 2>&1
wait_leashd_exit 15
check "leashd exits 0 (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0
check "its cgroup can be removed: nothing was left in it" poll 5 remove_cgroup "$cg"
