#!/bin/sh
# supervisord's event listeners under leashd, written with supervisord's
# own helpers (supervisor.childutils from Debian's supervisor package):
# a pool of two recorders sees PROCESS_GROUP_ADDED before
# SUPERVISOR_STATE_CHANGE_RUNNING, PROCESS_STATE_* with supervisord's
# fields, PROCESS_COMMUNICATION between the capture markers (kept out of
# the log), PROCESS_LOG_STDERR, REMOTE_COMMUNICATION sent over XML-RPC,
# and leash's LEASH_REPLACE_* for a worker over its memory limit; a
# rejected event comes again; a pool that is not ready keeps buffer_size
# events and says what it dropped; a crashmail-style listener mails
# through a stub sendmail; and the common "kill supervisord on FATAL"
# listener stops leashd and every process with it.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh"

need_supervisor_python
mkdir -p "$DIR/logs"

# recorder.py FILE [reject-first]: every event as "eventname serial
# poolserial pool server | payload" (newlines as "|"), each answered OK;
# with reject-first, the first delivery of each serial answered FAIL.
cat >"$DIR/recorder.py" <<'EOF'
import sys
from supervisor import childutils
out = open(sys.argv[1], "a")
reject = len(sys.argv) > 2
seen = set()
while True:
    h, payload = childutils.listener.wait(sys.stdin, sys.stdout)
    out.write("%s %s %s %s %s | %s\n" % (h["eventname"], h["serial"],
        h["poolserial"], h["pool"], h["server"], payload.replace("\n", "|")))
    out.flush()
    if reject and h["serial"] not in seen:
        seen.add(h["serial"])
        childutils.listener.fail(sys.stdout)
    else:
        childutils.listener.ok(sys.stdout)
EOF
# late.py FILE GATE: READY only once something is written to the FIFO
# GATE (opening it blocks until then), then records.
cat >"$DIR/late.py" <<'EOF'
import sys
from supervisor import childutils
open(sys.argv[2]).read()
out = open(sys.argv[1], "a")
while True:
    h, payload = childutils.listener.wait(sys.stdin, sys.stdout)
    out.write("%s %s\n" % (h["eventname"], payload.replace("\n", "|")))
    out.flush()
    childutils.listener.ok(sys.stdout)
EOF
# crashmail.py: superlance's crashmail, in short: an unexpected exit is
# mailed with sendmail -t.
cat >"$DIR/crashmail.py" <<'EOF'
import os, subprocess, sys
from supervisor import childutils
while True:
    h, payload = childutils.listener.wait(sys.stdin, sys.stdout)
    ph, data = childutils.eventdata(payload + "\n")
    if h["eventname"] == "PROCESS_STATE_EXITED" and not int(ph["expected"]):
        msg = ("To: ops@example.com\nSubject: %s crashed at %s\n\n"
               "Process %s in group %s exited unexpectedly (pid %s) from "
               "state %s\n" % (ph["processname"],
               childutils.get_asctime(), ph["processname"], ph["groupname"],
               ph["pid"], ph["from_state"]))
        p = subprocess.Popen([os.environ["SENDMAIL"], "-t", "-i"],
                             stdin=subprocess.PIPE)
        p.communicate(msg.encode())
    childutils.listener.ok(sys.stdout)
EOF
printf '#!/bin/sh\n# a stub sendmail: the message, appended to $MAILBOX\ncat >>"$MAILBOX"\necho "--" >>"$MAILBOX"\n' >"$DIR/sendmail"
# fatal.py: the pattern from many images: any FATAL process brings the
# whole container down by signalling supervisord (its parent).
cat >"$DIR/fatal.py" <<'EOF'
import os, signal, sys
from supervisor import childutils
while True:
    h, payload = childutils.listener.wait(sys.stdin, sys.stdout)
    childutils.listener.ok(sys.stdout)
    if h["eventname"] == "PROCESS_STATE_FATAL":
        os.kill(os.getppid(), signal.SIGQUIT)
EOF
chmod +x "$DIR/sendmail"

mkfifo "$DIR/late.gate"
sock=$DIR/rpc.sock
cat >"$DIR/events.ini" <<EOF
[supervisord]
identifier = leash-test
childlogdir = $DIR/logs

[unix_http_server]
file = $sock

[eventlistener:rec]
command = $py $DIR/recorder.py $DIR/rec.%(process_num)d
process_name = rec_%(process_num)d
numprocs = 2
events = PROCESS_STATE, PROCESS_GROUP, SUPERVISOR_STATE_CHANGE,
    PROCESS_COMMUNICATION, PROCESS_LOG_STDERR, REMOTE_COMMUNICATION, LEASH
buffer_size = 1000
stderr_logfile = $DIR/rec.err

[eventlistener:flaky]
command = $py $DIR/recorder.py $DIR/flaky reject-first
events = REMOTE_COMMUNICATION
stderr_logfile = $DIR/flaky.err

[eventlistener:late]
command = $py $DIR/late.py $DIR/late $DIR/late.gate
events = REMOTE_COMMUNICATION
buffer_size = 2
stderr_logfile = $DIR/late.err

[eventlistener:crashmail]
command = $py $DIR/crashmail.py
events = PROCESS_STATE_EXITED
environment = SENDMAIL="$DIR/sendmail",MAILBOX="$DIR/mailbox"
stderr_logfile = $DIR/crashmail.err

[program:talker]
command = sh -c 'echo "before <!--XSUPERVISOR:BEGIN-->the captured words<!--XSUPERVISOR:END--> after"; echo "on stderr" >&2; exec sleep 600'
stdout_capture_maxbytes = 1MB
stderr_events_enabled = true
stdout_logfile = $DIR/talker.out
stderr_logfile = $DIR/talker.err
startsecs = 0.3

[program:crasher]
command = sh -c 'sleep 0.5; exit 3'
startsecs = 0
autorestart = false
stdout_logfile = NONE
stderr_logfile = NONE

[program:leaky]
command = $WORKER --grow 1M --tick 0.2 --plateau 48M
startsecs = 0.3
memory_limit = 24M
memory_interval = 100ms
memory_samples = 2
drain_timeout = 2s
stdout_logfile = NONE
stderr_logfile = NONE
EOF

rpc() {
	"$py" -c '
import sys, xmlrpc.client
from supervisor.xmlrpc import SupervisorTransport
t = SupervisorTransport(None, None, "unix://" + sys.argv[1])
s = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=t)
print(getattr(s.supervisor, sys.argv[2])(*sys.argv[3:]))' "$sock" "$@" 2>&1
}
recorded() {
	cat "$DIR/rec.0" "$DIR/rec.1" 2>/dev/null | grep -E -q -- "$1"
}
recorded_line() {
	cat "$DIR/rec.0" "$DIR/rec.1" 2>/dev/null | grep -E -- "$1" | head -n 1
}

start_leashd "$DIR/events.ini"
wait_for "the recorders get SUPERVISOR_STATE_CHANGE_RUNNING" 15 \
    recorded '^SUPERVISOR_STATE_CHANGE_RUNNING '
check "the header is supervisord's: serial, poolserial, pool, server = identifier" \
    recorded '^SUPERVISOR_STATE_CHANGE_RUNNING [0-9]+ [0-9]+ rec leash-test \| $'
# One pool: each event goes to one of its listeners, in serial order.
serial_of() {
	recorded_line "$1" | cut -d' ' -f2
}
for g in rec flaky late crashmail talker crasher leaky; do
	check "PROCESS_GROUP_ADDED $g, before RUNNING" sh -c "
	    [ -n \"\$1\" ] && [ -n \"\$2\" ] && [ \"\$1\" -lt \"\$2\" ]" - \
	    "$(serial_of "^PROCESS_GROUP_ADDED .* \| groupname:$g\|\$")" \
	    "$(serial_of '^SUPERVISOR_STATE_CHANGE_RUNNING ')"
done
wait_for "PROCESS_STATE_RUNNING for talker, with its pid" 15 \
    recorded "^PROCESS_STATE_RUNNING .* \| processname:talker groupname:talker from_state:STARTING pid:[0-9]+\$"
talker_pid=$(worker_pid talker:talker)
check "... the pid leashd spawned ($talker_pid)" \
    recorded "processname:talker groupname:talker from_state:STARTING pid:$talker_pid\$"
check "PROCESS_STATE_STARTING has tries" \
    recorded '^PROCESS_STATE_STARTING .* \| processname:talker groupname:talker from_state:STOPPED tries:0$'
wait_for "PROCESS_COMMUNICATION_STDOUT: what is between the markers" 10 \
    recorded "^PROCESS_COMMUNICATION_STDOUT .* \| processname:talker groupname:talker pid:$talker_pid\|the captured words\$"
check "the log has what is outside the markers, not what is inside" \
    sh -c "grep -q '^before  after\$' '$DIR/talker.out' && ! grep -q captured '$DIR/talker.out'"
wait_for "PROCESS_LOG_STDERR: stderr_events_enabled" 10 \
    recorded "^PROCESS_LOG_STDERR .* \| processname:talker groupname:talker pid:$talker_pid channel:stderr\|on stderr\|\$"
check "stderr is still logged" grep -q '^on stderr$' "$DIR/talker.err"
wait_for "PROCESS_STATE_EXITED for crasher, unexpected" 10 \
    recorded "^PROCESS_STATE_EXITED .* \| processname:crasher groupname:crasher from_state:RUNNING expected:0 pid:[0-9]+\$"
check "the listeners themselves run: PROCESS_STATE_RUNNING rec_1" \
    recorded '\| processname:rec_1 groupname:rec from_state:STARTING pid:[0-9]+$'
check "an event goes to one listener of the pool only" \
    test "$(cat "$DIR/rec.0" "$DIR/rec.1" | cut -d' ' -f2 | sort | uniq -d | wc -l)" = 0

wait_for "crashmail: a mail through the stub sendmail" 10 \
    file_has "$DIR/mailbox" '^Subject: crasher crashed at '
check "the mail says what exited and how" \
    grep -q '^Process crasher in group crasher exited unexpectedly (pid [0-9]*) from state RUNNING$' "$DIR/mailbox"

# REMOTE_COMMUNICATION, to three pools.
check "sendRemoteCommEvent answers True" test "$(rpc sendRemoteCommEvent ping 'hello there')" = True
wait_for "REMOTE_COMMUNICATION reaches the recorders" 10 \
    recorded '^REMOTE_COMMUNICATION .* \| type:ping\|hello there$'
wait_for "a rejected event comes again, the same serial" 10 \
    sh -c "[ \"\$(grep -c '^REMOTE_COMMUNICATION .*type:ping' '$DIR/flaky')\" = 2 ] &&
	[ \"\$(grep '^REMOTE_COMMUNICATION .*type:ping' '$DIR/flaky' | cut -d' ' -f2 | uniq | wc -l)\" = 1 ]"
check "leashd says it was rejected" log_has 'events: flaky:flaky: event [0-9]+ was rejected'
for i in 1 2 3 4; do
	rpc sendRemoteCommEvent n "$i" >/dev/null
done
wait_for "a pool not yet ready keeps buffer_size events and says what it drops" 10 \
    log_has 'pool late event buffer overflowed, discarding event [0-9]+'
timeout 10 sh -c 'echo go >"$1"' - "$DIR/late.gate"
wait_for "once ready it gets the newest two" 10 \
    sh -c "[ \"\$(cut -d' ' -f2- '$DIR/late' 2>/dev/null | tr '\n' ' ')\" = 'type:n|3 type:n|4 ' ]"

# leash's own: a worker over its memory limit, replaced.
wait_for "LEASH_REPLACE_STARTING for leaky, with memory and limit" 20 \
    recorded '^LEASH_REPLACE_STARTING .* \| processname:leaky groupname:leaky pid:[0-9]+ reason:memory memory:[0-9]+ limit:25165824$'
wait_for "LEASH_REPLACE_DONE: the new pid and the old one" 20 \
    recorded '^LEASH_REPLACE_DONE .* \| processname:leaky groupname:leaky pid:[0-9]+ reason:memory old_pid:[0-9]+$'

signal_leashd TERM
wait_leashd_exit 20
check "SIGTERM: leashd exits 0 (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0
check "no listener wrote a traceback" \
    sh -c "! grep -l Traceback '$DIR'/*.err"

# The listener that stops the container when a process goes FATAL.
cat >"$DIR/fatal.ini" <<EOF
[supervisord]
childlogdir = $DIR/logs

[eventlistener:fatal]
command = $py $DIR/fatal.py
events = PROCESS_STATE_FATAL
stderr_logfile = $DIR/fatal.err

[program:doomed]
command = sh -c 'exit 1'
startretries = 1
startsecs = 1
stdout_logfile = NONE
stderr_logfile = NONE

[program:bystander]
command = sleep 600
stdout_logfile = NONE
stderr_logfile = NONE
EOF
start_leashd "$DIR/fatal.ini" "$DIR/fatal.log"
wait_for "doomed goes FATAL" 15 in_state doomed:doomed FATAL
wait_for "the listener's SIGQUIT stops leashd" 15 dead "$LEASHD_PID"
wait_leashd_exit 1
check "SIGQUIT stops it as SIGTERM does: exit 0 (status $LEASHD_STATUS)" \
    test "$LEASHD_STATUS" = 0
check "and every process with it" \
    sh -c "log_has() { grep -E -q -- \"\$1\" '$DIR/fatal.log'; }
	log_has 'received SIGQUIT' && log_has 'bystander:bystander STOPPING -> STOPPED' &&
	log_has 'all workers stopped, exiting'"
