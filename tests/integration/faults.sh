#!/bin/sh
# The world misbehaves and leashd keeps serving, loses no worker and says
# what happened: a worker stopped with SIGSTOP when it must stop (it gets
# SIGCONT after its stop signal, so it leaves gracefully instead of at
# stopwaitsecs), a worker writing to stdout as fast as it can (leashd
# neither blocks nor grows), and the log file system full (one warning,
# the worker unaffected, and a word when writing works again).
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh"

LEASHCTL=$top_builddir/src/leashctl
conf=$DIR/leash.ini
mkdir -p "$DIR/logs" "$DIR/full"
cat >"$conf" <<EOF
[leashd]
childlogdir = $DIR/logs

[program:frozen]
command = $WORKER --events $DIR/frozen.events
startsecs = 0.2
stopwaitsecs = 60
stdout_logfile = NONE
stderr_logfile = NONE

[program:flood]
command = /usr/bin/yes flood
startsecs = 0.2
stdout_logfile = $DIR/logs/flood.log
stdout_logfile_maxbytes = 1MB
stdout_logfile_backups = 1
stderr_logfile = NONE

[program:full]
command = $WORKER --spew 600000
startsecs = 0.2
autostart = false
stdout_logfile = $DIR/full/full.log
stdout_logfile_maxbytes = 0
stderr_logfile = NONE
EOF

ctl() {
	"$LEASHCTL" -s "$DIR/leash.sock" "$@"
}

start_leashd "$conf"
wait_for "frozen is RUNNING" 10 in_state frozen:frozen RUNNING
wait_for "flood is RUNNING" 10 in_state flood:flood RUNNING

# ---- SIGSTOP: a stop still reaches it, through SIGCONT
fpid=$(worker_pid frozen:frozen)
kill -STOP "$fpid"
stopped() { grep -q '^State:[[:space:]]*T' "/proc/$1/status" 2>/dev/null; }
wait_for "frozen (pid $fpid) is stopped (state T)" 5 stopped "$fpid"
ctl stop frozen >"$DIR/stop.out" 2>&1 &
stoppid=$!
wait_for "a stop of a SIGSTOPped worker ends well before stopwaitsecs (60 s)" 10 dead "$fpid"
wait "$stoppid"
check "leashctl stop says stopped" grep -q "frozen:frozen: stopped" "$DIR/stop.out"
check "it left by its SIGTERM handler (a graceful stop), not by SIGKILL" \
    grep -q " $fpid term" "$DIR/frozen.events"

# ---- a flood on stdout
flpid=$(worker_pid flood:flood)
written() {
	_w=$(sed -n 's/^wchar: //p' "/proc/$flpid/io" 2>/dev/null)
	[ "${_w:-0}" -ge $((300 << 20)) ]
}
wait_for "flood (pid $flpid) writes 300 MiB" 60 written
check "leashd answers status during the flood" ctl status flood
rss=$(ps -o rss= -p "$LEASHD_PID" | tr -d ' ')
check "leashd has not grown with the flood (RSS $rss KiB, under 64 MiB)" \
    test "$rss" -lt 65536
# (Between a rotation's rename and the reopen the file is briefly absent.)
log_size_ok() {
	_s=$(stat -c %s "$DIR/logs/flood.log" 2>/dev/null) && [ "$_s" -le 1048576 ] &&
	    _b=$(stat -c %s "$DIR/logs/flood.log.1" 2>/dev/null) && [ "$_b" -le 1048576 ]
}
wait_for "the log is kept to its size: flood.log and flood.log.1 at most 1MB (1048576 bytes)" 5 \
    log_size_ok
check "flood is the same process, RUNNING" test "$(worker_pid flood:flood)" = "$flpid"
ctl stop flood >/dev/null 2>&1

# ---- the log file system is full
if ! mount -t tmpfs -o size=256k tmpfs "$DIR/full" 2>"$DIR/mount.err"; then
	skip "cannot mount a 256 KiB tmpfs for the full-disk test: $(cat "$DIR/mount.err")"
else
	ctl start full >/dev/null 2>&1
	wait_for "full writes 600 KB into 256 KiB and reaches RUNNING" 10 \
	    in_state full:full RUNNING
	wait_for "leashd says the log cannot be written" 10 \
	    log_has "cannot write to $DIR/full/full.log"
	check "... once, not once per write" \
	    test "$(count_log "cannot write to $DIR/full/full.log")" -eq 1
	check "leashd answers status" ctl status full
	: >"$DIR/full/full.log"
	ctl restart full >/dev/null 2>&1
	wait_for "with room again, leashd says it writes again and what was lost" 10 \
	    log_has "writing to $DIR/full/full.log again \\([0-9]+ bytes dropped\\)"
	ctl stop full >/dev/null 2>&1
fi
check "leashd is still running" alive "$LEASHD_PID"
ctl shutdown >/dev/null 2>&1
wait_leashd_exit 15
umount "$DIR/full" 2>/dev/null
exit 0
