#!/bin/sh
# Worker output: stdout and stderr each to their file, redirect_stderr
# merges them, AUTO puts files in childlogdir, NONE drops the output;
# rotation at stdout_logfile_maxbytes keeps stdout_logfile_backups files;
# SIGUSR2 reopens the files after they were moved away.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh"

logs=$DIR/logs
cat >"$DIR/leash.ini" <<EOF
[leashd]
childlogdir = $logs

[program:both]
command = $WORKER --print OUT-LINE --eprint ERR-LINE
startsecs = 0.2
stopwaitsecs = 2
stdout_logfile = $DIR/both.out
stderr_logfile = $DIR/both.err

[program:merged]
command = $WORKER --print MERGED-OUT --eprint MERGED-ERR
startsecs = 0.2
stopwaitsecs = 2
redirect_stderr = true
stdout_logfile = $DIR/merged.out
stderr_logfile = $DIR/merged.err

[program:auto]
command = $WORKER --print AUTO-OUT --eprint AUTO-ERR
startsecs = 0.2
stopwaitsecs = 2

[program:silent]
command = $WORKER --print SILENT-OUT --eprint SILENT-ERR
startsecs = 0.2
stopwaitsecs = 2
stdout_logfile = NONE
stderr_logfile = NONE

; 10000 bytes in 64-byte lines, then an exit: its output is complete once
; its exit is logged (leashd drains the pipe first).
[program:spew]
command = $WORKER --spew 10000 --exit 0
startsecs = 0
autorestart = false
stdout_logfile = $DIR/spew.out
stdout_logfile_maxbytes = 1KB
stdout_logfile_backups = 2
stderr_logfile = NONE

; Prints a line at every start, and restarts every 0.3 s.
[program:again]
command = $WORKER --print AGAIN --after 0.3 --exit 0
startsecs = 0
autorestart = true
stdout_logfile = $DIR/again.out
stderr_logfile = NONE
EOF

start_leashd "$DIR/leash.ini"

# ---- separate files, redirect_stderr, AUTO, NONE
wait_for "stdout goes to stdout_logfile" 10 file_has "$DIR/both.out" '^OUT-LINE$'
wait_for "stderr goes to stderr_logfile" 10 file_has "$DIR/both.err" '^ERR-LINE$'
check "stdout_logfile has only stdout" \
    test "$(cat "$DIR/both.out")" = OUT-LINE
check "stderr_logfile has only stderr" \
    test "$(cat "$DIR/both.err")" = ERR-LINE

merged_has_both() {
	file_has "$DIR/merged.out" '^MERGED-OUT$' &&
	    file_has "$DIR/merged.out" '^MERGED-ERR$'
}
wait_for "redirect_stderr: stdout and stderr both in stdout_logfile" 10 \
    merged_has_both
check "redirect_stderr: nothing else in it" \
    test "$(count_of_lines "$DIR/merged.out")" -eq 2
check "redirect_stderr: no stderr_logfile is written" test ! -e "$DIR/merged.err"

wait_for "AUTO: stdout in childlogdir/auto-stdout.log" 10 \
    file_has "$logs/auto-stdout.log" '^AUTO-OUT$'
wait_for "AUTO: stderr in childlogdir/auto-stderr.log" 10 \
    file_has "$logs/auto-stderr.log" '^AUTO-ERR$'

wait_for "silent reaches RUNNING" 10 in_state silent:silent RUNNING
check "NONE: no file of silent's in childlogdir" \
    test -z "$(ls "$logs" | grep silent)"
check "NONE: silent's output is nowhere in the test directory" \
    test -z "$(grep -r -l -s SILENT "$DIR" --exclude=leash.ini --exclude=leashd.log)"

# ---- rotation
wait_for "spew exits (all its output is written)" 10 \
    log_has ' program: spew:spew exited: exit status 0 '
ls -l "$DIR"/spew.out* | sed 's/^/# /'
check "spew.out exists" test -s "$DIR/spew.out"
check "spew.out.1 exists" test -s "$DIR/spew.out.1"
check "spew.out.2 exists" test -s "$DIR/spew.out.2"
check "there is no spew.out.3 (backups = 2)" test ! -e "$DIR/spew.out.3"
for f in spew.out spew.out.1 spew.out.2; do
	size=$(file_size "$DIR/$f")
	check "$f is no larger than 1KB = 1024 bytes ($size)" test "$size" -le 1024
done
check "the files hold nothing but the worker's output" \
    test -z "$(cat "$DIR/spew.out.2" "$DIR/spew.out.1" "$DIR/spew.out" 2>/dev/null |
    tr -d 'x\n')"
check "the current file ends with the worker's last full line" \
    test "$(tail -n 1 "$DIR/spew.out")" = \
    "$(printf '%063d' 0 | tr 0 x)"
total=$(($(file_size "$DIR/spew.out") + $(file_size "$DIR/spew.out.1") + \
    $(file_size "$DIR/spew.out.2")))
check "the backups are full: the 3 files hold more than 2KB ($total)" \
    test "$total" -gt 2048

# ---- SIGUSR2 reopens
wait_for "again has written to again.out" 10 file_has "$DIR/again.out" AGAIN
mv "$DIR/again.out" "$DIR/again.moved"
signal_leashd USR2
wait_for "leashd logs the reopening" 10 log_has ' leashd: reopening log files$'
spawns=$(spawn_count again:again)
wait_for "a new again.out is created and gets the output" 10 \
    file_has "$DIR/again.out" '^AGAIN$'
# Output reaches the new file only once the old one is closed: from now on
# the moved file must not grow, while the new one gets every start's line.
moved_lines=$(count_of_lines "$DIR/again.moved")
new_lines=$(count_of_lines "$DIR/again.out")
two_more() {
	[ "$(count_of_lines "$DIR/again.out")" -ge $((new_lines + 2)) ]
}
wait_for "the next worker starts write to the new file" 10 two_more
check "the moved file keeps what it had, and gets nothing more" \
    test "$(count_of_lines "$DIR/again.moved")" -eq "$moved_lines" -a \
    "$moved_lines" -ge 1
check "again restarted since the reopen (spawns $spawns -> $(spawn_count again:again))" \
    test "$(spawn_count again:again)" -gt "$spawns"
check "the new file is a regular file written by leashd" \
    test -f "$DIR/again.out" -a ! -L "$DIR/again.out"

check "leashd is still running" alive "$LEASHD_PID"
signal_leashd TERM
wait_leashd_exit 10
check "leashd exits 0 on SIGTERM (status $LEASHD_STATUS)" \
    test "$LEASHD_STATUS" = 0
