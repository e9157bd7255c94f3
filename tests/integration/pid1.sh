#!/bin/sh
# leashd as a container's entrypoint: PID 1 of a new PID namespace
# (unshare --pid --fork --mount-proc, as Docker and Kubernetes start it).
# It reaps every orphan re-parented to it (no zombie is left), SIGTERM
# stops every process in it, and its exit status tells a clean stop (0)
# from a failure (78 for a bad configuration).
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh"

command -v unshare >/dev/null || { skip "unshare (util-linux) is not installed"; exit 0; }
if ! unshare --pid --fork --mount-proc true 2>"$DIR/unshare.err"; then
	skip "cannot make a PID namespace here: $(cat "$DIR/unshare.err")"
	exit 0
fi

conf=$DIR/pid1.ini
cat >"$conf" <<EOF
[leashd]
control_socket = $DIR/leash.sock
childlogdir = $DIR/logs
loglevel = debug

[program:orphans]
; Twice a second a child that outlives its parent, then exits: it is
; re-parented to PID 1, which must reap it.
command = /bin/sh -c "while :; do (sleep 0.1 &); sleep 0.5; done"
startsecs = 0.3

[program:app]
command = $WORKER --children 2
startsecs = 0.3
EOF
mkdir -p "$DIR/logs"

# pid1: the pid, outside, of the namespace's PID 1 (unshare's child).
pid1() {
	pgrep -P "$LEASHD_PID" | head -n 1
}
# zombies: processes of the namespace in state Z.
zombies() {
	_p=$(pid1)
	[ -n "$_p" ] || { echo 0; return; }
	for _c in $(pgrep -P "$_p"); do
		awk '{ print $3 }' "/proc/$_c/stat" 2>/dev/null
	done | grep -c Z
}
no_zombies_for_a_while() {
	[ "$(zombies)" = 0 ] && [ "$(count_log 'reaped pid')" -ge 3 ]
}
in_namespace() {
	_p=$(pid1)
	[ -n "$_p" ] && [ "$(sed -n 's/^NSpid:[[:space:]]*[0-9]*[[:space:]]*//p' "/proc/$_p/status")" = 1 ]
}

LEASHD_LOG=$DIR/leashd.log
unshare --pid --fork --mount-proc "$LEASHD" -c "$conf" >"$LEASHD_LOG" 2>&1 &
LEASHD_PID=$!
LEASHD_PIDS="$LEASHD_PIDS $LEASHD_PID"
wait_for "leashd runs as PID 1 of its namespace" 10 in_namespace
wait_for "its workers run" 10 in_state app:app RUNNING
outside=$(pid1)
wait_for "orphans re-parented to PID 1 are reaped" 15 no_zombies_for_a_while
check "no zombie in the namespace" test "$(zombies)" = 0
kill -TERM "$outside"
wait_leashd_exit 20
check "SIGTERM: every process stopped, exit status 0 (got $LEASHD_STATUS)" \
    test "$LEASHD_STATUS" = 0
check "it said so" log_has "all workers stopped, exiting"

# A bad configuration is a failure the orchestrator sees.
printf '[program:x]\ncommand =\n' >"$DIR/bad.ini"
unshare --pid --fork --mount-proc "$LEASHD" -c "$DIR/bad.ini" >"$DIR/bad.log" 2>&1
rc=$?
check "a bad configuration exits 78, not 0 (got $rc)" test "$rc" = 78
