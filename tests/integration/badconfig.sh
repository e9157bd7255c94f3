#!/bin/sh
# A bad configuration: leashd prints FILE:LINE and the key, exits 78 (EX_CONFIG)
# and starts nothing.  An unknown key is a warning with its file and line and
# leashd runs.  leashd -t checks a file: 0 when good, 78 when bad.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh"

# leashd_fg ARGS...: runs leashd to its end (killed after 10 s), with
# stdout in $DIR/fg.out and stderr in $DIR/fg.err; FG_STATUS is its status.
# Failures from then on show fg.err.
leashd_fg() {
	TAP_DIAG_FILE=$DIR/fg.err
	"$LEASHD" "$@" >"$DIR/fg.out" 2>"$DIR/fg.err" &
	_fg=$!
	LEASHD_PIDS="$LEASHD_PIDS $_fg"
	if poll 10 dead "$_fg"; then
		wait "$_fg"
		FG_STATUS=$?
	else
		kill -KILL "$_fg" 2>/dev/null
		wait "$_fg"
		FG_STATUS=timeout
	fi
}

# line_of FILE TEXT: the number of the line of FILE that is exactly TEXT.
line_of() {
	grep -n -x -F -- "$2" "$1" | head -n 1 | cut -d: -f1
}

# procs_with TEXT: pids whose command line contains TEXT.
procs_with() {
	# The pattern comes on stdin: in grep's arguments it would match grep.
	printf '%s\n' "$1" | grep -l -s -F -f - /proc/[0-9]*/cmdline |
	    sed -n 's|^/proc/\([0-9]*\)/cmdline$|\1|p'
}

no_worker_of() {
	[ -z "$(procs_with "$1")" ]
}

# ---- a bad value: exit 78, FILE:LINE and key, nothing started
bad=$DIR/bad.ini
cat >"$bad" <<EOF
[leashd]
childlogdir = $DIR/logs

; A good program, sorted first: it must not be started either.
[program:good]
command = $WORKER --pidfile $DIR/good.pid
startsecs = 0

[program:bad]
command = $WORKER --pidfile $DIR/bad.pid
startsecs = banana
EOF
bad_line=$(line_of "$bad" 'startsecs = banana')

start_leashd "$bad"
wait_leashd_exit 10
check "leashd exits 78 on a bad value (got $LEASHD_STATUS)" \
    test "$LEASHD_STATUS" = 78
check "stderr gives FILE:LINE, the section and the key" \
    log_has "^leashd: error: $bad:$bad_line: \\[program:bad\\] startsecs: "
check "stderr quotes the bad value" log_has 'startsecs: "banana": '
check "stderr says nothing was started" \
    log_has "^leashd: $bad: configuration has errors, nothing started\$"
check "no spawn is logged" test "$(count_log 'spawned with pid|STARTING')" -eq 0
# spawn() only returns once the worker has exec'd, and a started worker
# sleeps for ever: had one been started, it would be found now.
check "no worker process exists (good nor bad)" no_worker_of "$DIR/"
check "the good program's pid file never appeared" test ! -e "$DIR/good.pid"
check "the bad program's pid file never appeared" test ! -e "$DIR/bad.pid"

# ---- an unknown key and section: warnings with file:line, leashd runs
warn=$DIR/warn.ini
cat >"$warn" <<EOF
[leashd]
childlogdir = $DIR/logs

[frobnicator]
speed = 11

[program:p]
command = $WORKER --pidfile $DIR/p.pid
startsecs = 0.2
stopwaitsecs = 2
no_such_key = 1
stdout_logfile = NONE
stderr_logfile = NONE
EOF
key_line=$(line_of "$warn" 'no_such_key = 1')
sect_line=$(line_of "$warn" '[frobnicator]')

start_leashd "$warn"
wait_for "with an unknown key the worker reaches RUNNING" 10 in_state p:p RUNNING
check "the unknown key is a warning with file:line and key" \
    log_has "^leashd: warning: $warn:$key_line: \\[program:p\\] no_such_key: unknown key, ignored\$"
check "the unknown section is a warning with file:line" \
    log_has "^leashd: warning: $warn:$sect_line: \\[frobnicator\\]: section not used by leash, ignored\$"
check "no error is reported" test "$(count_log 'error')" -eq 0
p=$(worker_pid p:p)
wait_for "the worker's pid file appears" 10 test -s "$DIR/p.pid"
check "it holds the logged pid, alive" \
    test "$(read_pidfile "$DIR/p.pid")" = "$p" -a -n "$p"
check "the check for worker processes used above does find this one" \
    test "$(procs_with "$DIR/p.pid")" = "$p"
check "leashd is running" alive "$LEASHD_PID"
signal_leashd TERM
wait_leashd_exit 10
check "leashd exits 0 on SIGTERM (status $LEASHD_STATUS)" \
    test "$LEASHD_STATUS" = 0

# ---- leashd -t
good=$DIR/good.ini
cat >"$good" <<EOF
[leashd]
childlogdir = $DIR/logs

[program:t]
command = $WORKER --pidfile $DIR/t.pid
EOF
leashd_fg -t -c "$good"
check "leashd -t: a good file gives 0 (got $FG_STATUS)" test "$FG_STATUS" = 0
check "leashd -t: says the configuration is ok" \
    grep -q "^leashd: $good: configuration ok (1 programs)\$" "$DIR/fg.out"
check "leashd -t: starts nothing" test ! -e "$DIR/t.pid"
check "leashd -t: no worker of it exists" no_worker_of "$DIR/t.pid"

leashd_fg -t -c "$bad"
check "leashd -t: a bad file gives 78 (got $FG_STATUS)" test "$FG_STATUS" = 78
check "leashd -t: the error gives FILE:LINE and the key" \
    grep -q "^leashd: error: $bad:$bad_line: \\[program:bad\\] startsecs: " \
    "$DIR/fg.err"

leashd_fg -t -c "$warn"
check "leashd -t: warnings only give 0 (got $FG_STATUS)" test "$FG_STATUS" = 0
check "leashd -t: the warning is printed" \
    grep -q "^leashd: warning: $warn:$key_line: \\[program:p\\] no_such_key: " \
    "$DIR/fg.err"

leashd_fg -t -c "$DIR/does-not-exist.ini"
check "leashd -t: a missing file gives 78 (got $FG_STATUS)" \
    test "$FG_STATUS" = 78
check "leashd -t: the missing file is named" \
    grep -q "^leashd: error: $DIR/does-not-exist.ini:0: cannot open: " \
    "$DIR/fg.err"

# More errors, each "SECTION|KEY|LINE1|LINE2": the error must be on LINE2,
# else on LINE1, else (LINE1 "-") on the section header.
n=0
while IFS='|' read -r section key line1 line2; do
	n=$((n + 1))
	f=$DIR/err$n.ini
	{
		echo "[leashd]"
		echo "childlogdir = $DIR/logs"
		echo
		echo "[$section]"
		[ "$key" = command ] || echo "command = $WORKER"
		[ "$line1" = - ] || echo "$line1"
		[ -z "$line2" ] || echo "$line2"
	} >"$f"
	if [ "$line1" = - ]; then
		l=$(line_of "$f" "[$section]")
	else
		l=$(line_of "$f" "${line2:-$line1}")
	fi
	leashd_fg -t -c "$f"
	check "leashd -t: [$section] $key: bad, gives 78 (got $FG_STATUS)" \
	    test "$FG_STATUS" = 78
	check "leashd -t: [$section] $key: the error is at $f:$l" \
	    grep -q -F "leashd: error: $f:$l: [$section] $key" "$DIR/fg.err"
done <<EOF
program:a|command|-|
program:b|autorestart|autorestart = sometimes|
program:c|stopsignal|stopsignal = NOPE|
program:d|stdout_logfile_maxbytes|stdout_logfile_maxbytes = lots|
program:e|exitcodes|exitcodes = 0,300|
program:f|numprocs|numprocs = 0|
program:g|process_name|numprocs = 2|process_name = %(program_name)s_x
program:h|startsecs|startsecs = 1|startsecs = banana
program:i|environment|environment = =oops|
EOF

# At most 64 sockets go to a process (LISTEN_FDS): more is an error, not a
# silent cut.
f=$DIR/sockets.ini
{
	echo "[leashd]"
	echo "childlogdir = $DIR/logs"
	echo
	echo "[program:many]"
	echo "command = $WORKER"
	printf 'sockets = s0'
	i=1
	while [ "$i" -le 64 ]; do printf ',s%d' "$i"; i=$((i + 1)); done
	echo
	i=0
	while [ "$i" -le 64 ]; do
		printf '[socket:s%d]\nlisten = unix:%s/s%d.sock\n' "$i" "$DIR" "$i"
		i=$((i + 1))
	done
} >"$f"
leashd_fg -t -c "$f"
check "leashd -t: 65 sockets for one program gives 78 (got $FG_STATUS)" \
    test "$FG_STATUS" = 78
check "leashd -t: the error names the line and the limit" \
    grep -q -F "leashd: error: $f:6: [program:many] sockets: 65 sockets; at most 64 are passed to a process" "$DIR/fg.err"
sed -i 's/^sockets = s0,.*/sockets = s0,s1,s2/' "$f"
leashd_fg -t -c "$f"
check "leashd -t: 3 of them is good (got $FG_STATUS)" test "$FG_STATUS" = 0
