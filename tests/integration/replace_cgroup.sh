#!/bin/sh
# Per-worker cgroups: each worker process, with its children, lives in a
# leash-LEASHDPID-N cgroup of its own inside leashd's memory cgroup (v1),
# or inside the cgroup leashd was started in (v2, where leashd moves
# itself to <cgroup>/leashd, as under systemd's Delegate=yes); memory
# figures come from that cgroup; memory_max sets the kernel's backstop
# limit; a replaced (reloaded) worker's cgroup goes with it; after
# "leashctl stop all", and after leashd exits, no leash-LEASHDPID-* cgroup
# is left.  Needs root and a memory cgroup (v1, or v2 with the memory
# controller): skipped otherwise.  tests/vm/run runs it on cgroup v2.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" && . "$here/mem_lib.sh"

if [ "$(id -u)" != 0 ]; then
	skip "not root: leashd cannot make cgroups"
	exit 0
fi
V=$(memcg_version)
mybase=$(memcg_of $$)
case $V in
1)
	if [ -z "$mybase" ] || [ ! -d "$mybase" ] || [ ! -w "$mybase" ]; then
		skip "the v1 memory cgroup ${mybase:-?} is not there or not writable"
		exit 0
	fi
	limit_file=memory.limit_in_bytes usage_file=memory.usage_in_bytes
	inactive_key=total_inactive_file
	;;
2)
	# leashd alone in a cgroup of its own with memory enabled above it,
	# as systemd starts a unit with Delegate=yes.
	svc=$mybase/leash-test-$$
	if ! grep -qw memory "$mybase/cgroup.subtree_control" 2>/dev/null &&
	    ! echo +memory >"$mybase/cgroup.subtree_control" 2>/dev/null; then
		skip "cannot enable memory for the cgroups under $mybase"
		exit 0
	fi
	if ! mkdir "$svc"; then
		skip "cannot make a cgroup in $mybase"
		exit 0
	fi
	LEASHD_CGROUP=$svc
	limit_file=memory.max usage_file=memory.current
	inactive_key=inactive_file
	;;
*)
	skip "no memory cgroup for this process (neither v1 nor v2 with memory)"
	exit 0
	;;
esac

quiet="stdout_logfile = NONE
stderr_logfile = NONE"
cat >"$DIR/cg.ini" <<EOF
$(leashd_section)

; Two workers, each with two children, holding 16 MiB.
[program:cg]
command = $WORKER --hold 16M --children 2 --tree $DIR/cg.%(process_num)d.tree
process_name = cg_%(process_num)d
numprocs = 2
startsecs = 0.3
memory_limit = 64M
memory_max = 96M
; (slow enough that no sample sees the 16 MiB being allocated at the start,
; whose growth would look like a leak heading for the limit)
memory_interval = 500ms
$quiet

; Replaced by leashctl reload.
[program:calm]
command = $WORKER --children 1 --tree $DIR/calm.tree
startsecs = 0.3
drain_timeout = 1s
$quiet
EOF
start_leashd "$DIR/cg.ini" "$DIR/cg.log"

wait_for "leashd says it puts each worker in a cgroup (v$V)" 5 \
    log_has " cgroup: one cgroup per worker, in /.* \(cgroup v$V\)\$"
if ! log_has " cgroup: one cgroup per worker, in /.* \(cgroup v$V\)\$"; then
	diag "$(grep ' cgroup: ' "$LEASHD_LOG")"
	skip "leashd does not use v$V cgroups here: nothing more to check"
	exit 0
fi
base=$(leash_base "$LEASHD_PID")
diag "leashd $LEASHD_PID is in $(memcg_of "$LEASHD_PID")"
if [ "$V" = 2 ]; then
	check "leashd moved itself to $svc/leashd, out of its workers' way" \
	    test "$(memcg_of "$LEASHD_PID")" = "$svc/leashd"
	check "memory is enabled for the cgroups under $svc" \
	    grep -qw memory "$svc/cgroup.subtree_control"
fi
check "the logged cgroup base is leashd's own memory cgroup" \
    log_has " cgroup: one cgroup per worker, in $base \(cgroup v$V\)\$"

wait_for "cg_0, cg_1 and calm reach RUNNING, cg_0 and cg_1 with 2 children" 10 eval \
    'in_state cg:cg_0 RUNNING && in_state cg:cg_1 RUNNING &&
    in_state calm:calm RUNNING && [ "$(count_of_lines "$DIR/calm.tree")" -ge 1 ] &&
    [ "$(count_of_lines "$DIR/cg.0.tree")" -ge 2 ] &&
    [ "$(count_of_lines "$DIR/cg.1.tree")" -ge 2 ]'

# token_of PID: the LEASH_WORKER_TOKEN leashd gave it.
token_of() {
	tr '\0' '\n' <"/proc/$1/environ" | sed -n 's/^LEASH_WORKER_TOKEN=//p'
}
# in_procs DIR PID...: every PID is listed in DIR/cgroup.procs.
in_procs() {
	_dir=$1
	shift
	for _p in "$@"; do
		grep -q -x "$_p" "$_dir/cgroup.procs" 2>/dev/null || return 1
	done
}

# all_in_cgroup DIR PID...: /proc/PID/cgroup puts every PID in DIR.
all_in_cgroup() {
	_dir=$1
	shift
	for _p in "$@"; do
		[ "$(memcg_of "$_p")" = "$_dir" ] || return 1
	done
}

cgs=
for n in 0 1; do
	pid=$(worker_pid "cg:cg_$n")
	kids=$(head -n 2 "$DIR/cg.$n.tree")
	tok=$(token_of "$pid")
	cg=$(memcg_of "$pid")
	diag "cg_$n: pid $pid, children $(echo $kids), token $tok, cgroup $cg"
	check "cg_$n: its token is $LEASHD_PID-N" \
	    eval 'case $tok in "$LEASHD_PID"-[0-9]*) true ;; *) false ;; esac'
	check "cg_$n: pid $pid is in $base/leash-$tok" \
	    test "$cg" = "$base/leash-$tok"
	check "cg_$n: that cgroup lists the pid and its 2 children, and only them" \
	    eval 'in_procs "$cg" $pid $kids && [ "$(count_of_lines "$cg/cgroup.procs")" -eq 3 ]'
	check "cg_$n: its children are in the same cgroup" \
	    all_in_cgroup "$cg" $kids
	check "cg_$n: memory_max 96M set the kernel's backstop at 96M + 16M ($limit_file)" \
	    test "$(cat "$cg/$limit_file")" = $((112 * 1024 * 1024))
	cgs="$cgs $cg"
done
check "the two workers have different cgroups" distinct $cgs

# The figure leashd shows is the cgroup's: usage minus inactive file.
close_to_cgroup() {
	jstatus || return 1
	_cur=$(jval "p('cg:cg_$1')['memory']['current']")
	_use=$(cat "$2/$usage_file")
	_ina=$(sed -n "s/^$inactive_key //p" "$2/memory.stat")
	awk -v c="$_cur" -v u="$_use" -v i="${_ina:-0}" \
	    'BEGIN { d = c - (u - i); if (d < 0) d = -d; exit !(d <= 4 * 2^20) }'
}
if [ -n "$py" ]; then
	set -- $cgs
	jwait "json: cg's memory source is cgroup, 16M or more" 5 \
	    'all(x["memory"]["source"] == "cgroup" and x["memory"]["current"] is not None and x["memory"]["current"] >= 16 * 2**20 for x in procs if x["group"] == "cg")'
	wait_for "json: cg_0's memory is its cgroup's working set (within 4M)" 5 \
	    close_to_cgroup 0 "$1"
	wait_for "json: cg_1's memory is its cgroup's working set (within 4M)" 5 \
	    close_to_cgroup 1 "$2"
else
	skip "memory from the cgroup (no python3 to read --json)"
	skip "memory from the cgroup (no python3 to read --json)"
	skip "memory from the cgroup (no python3 to read --json)"
fi

# ---- a replaced worker's cgroup goes with it

calm=$(worker_pid calm:calm)
calm_kid=$(head -n 1 "$DIR/calm.tree")
calm_cg=$(memcg_of "$calm")
diag "calm: pid $calm, child $calm_kid, in $calm_cg"
check "calm's pid $calm and its child have their own leash cgroup" \
    eval '[ "$calm_cg" = "$base/leash-$(token_of "$calm")" ] && all_in_cgroup "$calm_cg" "$calm_kid"'
check "leashctl reload calm exits 0" eval 'ctl reload calm >"$DIR/reload.out" 2>&1'
wait_for "calm's pid $calm and its child are gone" 5 none_alive "$calm" "$calm_kid"
new=$(replaced_pairs calm:calm | awk -v o="$calm" '$1 == o { print $2 }')
check "its replacement ${new:-?} is alive in a leash cgroup of its own" \
    eval '[ -n "$new" ] && alive "$new" && [ "$(memcg_of "$new")" = "$base/leash-$(token_of "$new")" ] &&
    [ "$(memcg_of "$new")" != "$calm_cg" ]'
wait_for "the old pid's cgroup is removed" 5 test ! -d "$calm_cg"

# ---- nothing is left after a stop, or after leashd exits

check "leashctl stop all exits 0" eval 'ctl stop all >"$DIR/stop.out" 2>&1'
wait_for "after stop all, no leash-$LEASHD_PID-* cgroup is left" 5 \
    no_leash_cgroups "$base" "$LEASHD_PID"
check "leashctl start all exits 0" eval 'ctl start all >"$DIR/start.out" 2>&1'
wait_for "after start all, the 3 workers have cgroups again" 5 eval \
    '[ "$(leash_cgroups "$LEASHD_PID" | wc -l)" -ge 3 ]'
pid0=$(worker_pid cg:cg_0)
check "cg_0's new pid $pid0 is in a leash cgroup" \
    test "$(memcg_of "$pid0")" = "$base/leash-$(token_of "$pid0")"
leashd=$LEASHD_PID
signal_leashd TERM
wait_leashd_exit 15
check "leashd exits 0 on SIGTERM (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0
wait_for "after leashd exits, no leash-$leashd-* cgroup is left" 5 \
    no_leash_cgroups "$base" "$leashd"
check "nor its probe cgroup" test ! -d "$base/leash-probe-$leashd"
check "leashd did not fail to remove a cgroup" \
    eval '! log_has " cgroup: could not remove "'
if [ "$V" = 2 ]; then
	check "$svc can be removed: only leashd's own cgroup was left in it" \
	    eval 'rmdir "$svc/leashd" && rmdir "$svc"'
fi
