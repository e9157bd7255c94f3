#!/bin/sh
# The control socket's protection: it is created 0600; a uid that is not
# allowed is refused by leashd (exit 4, logged) even when the file mode lets
# it connect; with control_group the socket is 0660 in that group and a
# member of the group (primary or supplementary) is let in.  A second
# leashd on a live socket refuses to start, while the socket file a
# SIGKILLed leashd left behind is replaced by the next one.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" && . "$here/ctl_lib.sh"

conf=$DIR/leash.ini
program="[program:api]
command = $WORKER --print api
startsecs = 0.2
stopwaitsecs = 2"

write_config "$conf" <<EOF
$program
EOF
start_leashd "$conf"
wait_for "leashd answers on its socket" 10 leashd_answers ||
	bail_out "leashd did not start"
wait_for "api reaches RUNNING" 10 in_state api:api RUNNING

check "the socket is a socket" test -S "$SOCK"
mode=$(stat -c %a "$SOCK")
check "the socket file is mode 0600 (is $mode)" test "$mode" = 600
check "the socket belongs to leashd's user" \
    test "$(stat -c %u "$SOCK")" = "$(id -u)"
ctl status
ctl_expect "leashd's own user may use it" 0 '^api:api +RUNNING '

# ---------------------------------------------------------------- another uid

why=
if [ "$(id -u)" != 0 ]; then
	why="not root: cannot run a client as another uid"
elif ! command -v setpriv >/dev/null 2>&1; then
	why="setpriv (util-linux) is not installed"
elif ! getent passwd nobody >/dev/null 2>&1 ||
    ! getent group nogroup >/dev/null 2>&1; then
	why="no user nobody or no group nogroup"
fi
NOGROUP_GID=$(getent group nogroup 2>/dev/null | cut -d: -f3)
# A gid that is neither nogroup nor root's, for a client outside the group.
OTHER_GID=54321

# run_as UID GID GROUPS CMD...: CMD as that uid/gid with those supplementary
# groups ("-" for none); its output in $CTL_OUT/$CTL_ERR, status in CTL_RC.
run_as() {
	_u=$1 _g=$2 _gs=$3
	shift 3
	if [ "$_gs" = - ]; then
		set -- setpriv --reuid="$_u" --regid="$_g" --clear-groups "$@"
	else
		set -- setpriv --reuid="$_u" --regid="$_g" --groups="$_gs" "$@"
	fi
	CTL_CMD="$*"
	$CTL_WRAP "$@" >"$CTL_OUT" 2>"$CTL_ERR"
	CTL_RC=$?
	return 0
}

if [ -z "$why" ]; then
	# Let the file mode allow anyone: only leashd's check is left.
	chmod 0755 "$DIR"
	chmod 0666 "$SOCK"
	run_as nobody nogroup - test -w "$SOCK" && [ "$CTL_RC" = 0 ] ||
	    why="nobody cannot reach $SOCK (a parent directory is closed)"
	run_as nobody nogroup - test -x "$LEASHCTL" && [ "$CTL_RC" = 0 ] ||
	    why="nobody cannot run $LEASHCTL (a parent directory is closed)"
fi

if [ -n "$why" ]; then
	skip "a uid that is not allowed is refused: $why"
else
	# leashd refuses at accept; leashctl must report it (4) however the
	# race with its own write goes, so try it a number of times.
	tries=20 refused=0 others=
	for i in $(seq 1 $tries); do
		run_as nobody nogroup - "$LEASHCTL" -s "$SOCK" status
		cp "$CTL_OUT" "$DIR/refused.$i.out"
		cp "$CTL_ERR" "$DIR/refused.$i.err"
		if [ "$CTL_RC" = 4 ]; then
			refused=$((refused + 1))
		else
			others="$others $CTL_RC"
		fi
	done
	[ -n "$others" ] && diag "other exit statuses:$others (141 is SIGPIPE)"
	check "uid nobody is refused, leashctl exits 4 ($refused of $tries times)" \
	    test "$refused" = "$tries"
	check "the refused client was told: ERROR (permission denied)" \
	    grep -q -h 'permission denied' "$DIR"/refused.*.out "$DIR"/refused.*.err
	check "the refused client saw no status" \
	    eval '! grep -q -h "api:api" "$DIR"/refused.*.out'
	wait_for "leashd logs that it refused uid $(id -u nobody)" 5 \
	    log_has "refused a client with uid $(id -u nobody) "
	ctl status
	ctl_expect "leashd still serves its own user" 0 '^api:api +RUNNING '
fi

# ---------------------------------------------------------------- control_group

want_mode=600
if [ -n "$why" ]; then
	skip "control_group: $why"
elif [ -z "$NOGROUP_GID" ]; then
	skip "control_group: there is no group nogroup"
else
	ctl shutdown
	wait_leashd_exit 10
	check "leashd is shut down (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0
	write_config "$conf" <<EOF
$program
EOF
	sed -i "/^control_socket/a control_group = nogroup" "$conf"
	start_leashd "$conf"
	wait_for "leashd with control_group = nogroup answers" 10 leashd_answers ||
		bail_out "leashd did not start with control_group"
	wait_for "api reaches RUNNING" 10 in_state api:api RUNNING
	want_mode=660
	check "with control_group the socket is mode 0660 (is $(stat -c %a "$SOCK"))" \
	    test "$(stat -c %a "$SOCK")" = 660
	check "with control_group the socket's group is nogroup (is $(stat -c %G "$SOCK"))" \
	    test "$(stat -c %g "$SOCK")" = "$NOGROUP_GID"

	run_as nobody nogroup - "$LEASHCTL" -s "$SOCK" status
	ctl_expect "nobody with primary group nogroup is allowed: status works" 0 \
	    '^api:api +RUNNING '
	run_as nobody "$OTHER_GID" "$NOGROUP_GID" "$LEASHCTL" -s "$SOCK" pid api
	ctl_expect "nobody with nogroup as a supplementary group is allowed" 0 \
	    "^$(worker_pid api:api)\$"
	run_as nobody "$OTHER_GID" - "$LEASHCTL" -s "$SOCK" status
	ctl_expect "nobody outside the group cannot connect: exit 4" 4
	check "and is not given any status" eval '! out_has "api:api"'
fi

# ---------------------------------------------------------------- a second leashd

first=$LEASHD_PID first_log=$LEASHD_LOG
api=$(worker_pid api:api)
start_leashd "$conf" "$DIR/second.log"
second=$LEASHD_PID
wait_leashd_exit 10
check "a second leashd on the same socket exits (status $LEASHD_STATUS)" \
    eval '[ "$LEASHD_STATUS" != timeout ] && [ "$LEASHD_STATUS" != 0 ]'
check "it says another leashd is running" \
    log_has 'another leashd is running' "$DIR/second.log"
check "it started no worker" eval '! log_has "spawned" "$DIR/second.log"'
LEASHD_PID=$first LEASHD_LOG=$first_log
check "the first leashd is still running" alive "$first"
check "the socket is still there" test -S "$SOCK"
ctl pid
ctl_expect "the first leashd still answers on it" 0 "^$first\$"
check "its worker is untouched" \
    eval '[ "$(worker_pid api:api)" = "$api" ] && alive "$api"'

# ---------------------------------------------------------------- a stale socket

kill -KILL "$first"
wait_leashd_exit 10
check "leashd is SIGKILLed" test "$LEASHD_STATUS" != timeout
check "it left its socket file behind" test -S "$SOCK"
ctl status
ctl_expect "leashctl on the stale socket: exit 7" 7
check "leashctl says leashd is not running" err_has 'not running'
# leashd is gone, not its worker: the worker's pid is still there.
kill -TERM "$api" 2>/dev/null
start_leashd "$conf" "$DIR/third.log"
wait_for "the next leashd starts and answers on the same path" 10 leashd_answers
check "it logs that it removed the stale socket" \
    log_has "removed stale socket $SOCK"
ctl pid
ctl_expect "the answer is the new leashd's" 0 "^$LEASHD_PID\$"
check "the new socket has the configured mode $want_mode again" \
    test "$(stat -c %a "$SOCK")" = "$want_mode"
wait_for "its api reaches RUNNING" 10 in_state api:api RUNNING
ctl shutdown
wait_leashd_exit 10
check "the new leashd shuts down cleanly (status $LEASHD_STATUS)" \
    test "$LEASHD_STATUS" = 0
check "and removes its socket" test ! -e "$SOCK"
