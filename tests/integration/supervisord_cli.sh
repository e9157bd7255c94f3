#!/bin/sh
# leashd in supervisord's place: run through a link named "supervisord"
# it takes supervisord's command line and does what supervisord does with
# it.  With no -c it finds supervisord.conf where supervisord looks (here
# beside the link's directory), goes to the background and returns once
# it serves, writes [supervisord] pidfile and logfile, sets its umask,
# hands [supervisord] environment to the workers and answers
# getIdentification with identifier; -n keeps it in front, -t is
# strip_ansi, -i overrides identifier, and a shutdown removes the pid file.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh"

need_supervisor_python

mkdir -p "$DIR/bin" "$DIR/logs"
ln -s "$LEASHD" "$DIR/bin/supervisord"
sock=$DIR/rpc.sock
esc=$(printf '\033')
conf=$DIR/supervisord.conf
printf '%s\n' \
    "[unix_http_server]" \
    "file = $sock" \
    "[supervisord]" \
    "logfile = $DIR/supervisord.log" \
    "pidfile = $DIR/supervisord.pid" \
    "childlogdir = $DIR/logs" \
    "environment = FROM_SUPERVISORD=\"yes\"" \
    "identifier = drop-in" \
    "umask = 027" \
    "[rpcinterface:supervisor]" \
    "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface" \
    "[supervisorctl]" \
    "serverurl = unix://$sock" \
    "[program:app]" \
    "command = $WORKER --env FROM_SUPERVISORD --print ${esc}[31mred${esc}[0m" \
    "stdout_logfile = $DIR/app.log" \
    "startsecs = 0" >"$conf"

# rpc METHOD: what the server on $sock answers, through supervisord's own
# transport.
rpc() {
	"$py" -c '
import sys, xmlrpc.client
from supervisor.xmlrpc import SupervisorTransport
t = SupervisorTransport(None, None, "unix://" + sys.argv[1])
s = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=t)
print(getattr(s.supervisor, sys.argv[2])())' "$sock" "$1" 2>&1
}
serving() {
	[ "$(rpc getState 2>/dev/null)" = "{'statecode': 1, 'statename': 'RUNNING'}" ]
}
identified_as() {
	[ "$(rpc getIdentification 2>/dev/null)" = "$1" ]
}
is_leashd() {
	[ -n "$1" ] && [ "$(readlink "/proc/$1/exe")" = "$(readlink -f "$LEASHD")" ]
}

# In the background: the command returns once the daemon serves.
(cd / && "$DIR/bin/supervisord") >"$DIR/bg.out" 2>&1
rc=$?
TAP_DIAG_FILE=$DIR/bg.out
check "supervisord with no -c finds ../supervisord.conf, goes to the background and returns 0 (got $rc)" \
    test "$rc" = 0
pid=$(read_pidfile "$DIR/supervisord.pid")
LEASHD_PIDS="$LEASHD_PIDS $pid"
check "the pid file names the daemon, which is leashd" is_leashd "$pid"
check "it serves once the command has returned" serving
check "it leads its own session" \
    test "$(awk '{print $6}' "/proc/$pid/stat" 2>/dev/null)" = "$pid"
check "its umask is [supervisord] umask = 027" \
    grep -q "^Umask:[[:space:]]*0027$" "/proc/$pid/status"
TAP_DIAG_FILE=$DIR/supervisord.log
wait_for "the worker runs and logs" 10 file_has "$DIR/app.log" red
check "[supervisord] environment reaches the worker" \
    grep -q '^FROM_SUPERVISORD=yes$' "$DIR/app.log"
check "without -t the escapes stay in the log" grep -q "$esc" "$DIR/app.log"
check "[supervisord] logfile gets leashd's log" \
    file_has "$DIR/supervisord.log" "leashd .* started"
check "getIdentification answers [supervisord] identifier" \
    test "$(rpc getIdentification)" = drop-in
TAP_DIAG_FILE=$DIR/ctl.out
supervisorctl -c "$conf" shutdown >"$DIR/ctl.out" 2>&1
wait_for "supervisorctl shutdown stops it" 15 dead "$pid"
check "and the pid file goes with it" test ! -e "$DIR/supervisord.pid"

# In front, with supervisord's flags.
rm -f "$DIR/app.log"
"$DIR/bin/supervisord" -n -t -i cli -c "$conf" >"$DIR/fg.out" 2>&1 &
LEASHD_PID=$!
LEASHD_PIDS="$LEASHD_PIDS $LEASHD_PID"
LEASHD_LOG=$DIR/fg.out
TAP_DIAG_FILE=
wait_for "-n: it serves in front" 10 serving
check "-n: the pid file names the foreground process" \
    test "$(read_pidfile "$DIR/supervisord.pid")" = "$LEASHD_PID"
check "-i overrides [supervisord] identifier" \
    test "$(rpc getIdentification)" = cli
wait_for "the worker logs again" 10 file_has "$DIR/app.log" red
check "-t (strip_ansi): the log has no escapes" \
    sh -c "! grep -q '$esc' '$DIR/app.log'"
check "-t: the text around the escapes is kept" grep -q '^red$' "$DIR/app.log"

# A reload applies [supervisord] pidfile, logfile and umask at once, and
# names what only a start applies.
cp "$conf" "$DIR/orig.conf"
sed -i "s|^logfile = .*|logfile = $DIR/second.log|; s|^pidfile = .*|pidfile = $DIR/second.pid|; s|^umask = .*|umask = 077\\ndirectory = /|" "$conf"
signal_leashd HUP
TAP_DIAG_FILE=$DIR/fg.out
wait_for "SIGHUP: the new pid file is written" 10 \
    sh -c "[ \"\$(cat '$DIR/second.pid' 2>/dev/null)\" = $LEASHD_PID ]"
check "and the old one removed" test ! -e "$DIR/supervisord.pid"
check "the new umask applies at once" \
    grep -q "^Umask:[[:space:]]*0077$" "/proc/$LEASHD_PID/status"
check "leashd's log goes to the new logfile" \
    file_has "$DIR/second.log" "reloaded: "
check "a directory change is named as applying at the next start" \
    file_has "$DIR/fg.out" "user, directory, .* take effect at the next start"
cp "$DIR/orig.conf" "$conf"
signal_leashd TERM
wait_leashd_exit 15
check "SIGTERM: exits 0 (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0

# Errors come out where the command was run, before it goes away.
"$DIR/bin/supervisord" -c "$DIR/nosuch.conf" >"$DIR/err.out" 2>&1
rc=$?
TAP_DIAG_FILE=$DIR/err.out
check "a missing -c file: a failure status naming it (got $rc)" \
    sh -c "[ $rc -ne 0 ] && grep -q nosuch.conf '$DIR/err.out'"
"$DIR/bin/supervisord" -c "$conf" -u nosuchuser >"$DIR/user.out" 2>&1
rc=$?
TAP_DIAG_FILE=$DIR/user.out
check "-u with no such user: refused before it starts (got $rc)" \
    sh -c "[ $rc -ne 0 ] && grep -q nosuchuser '$DIR/user.out'"
mkdir -p "$DIR/empty/bin" "$DIR/cwd"
ln -s "$LEASHD" "$DIR/empty/bin/supervisord"
sed 's/^identifier = .*/identifier = from-cwd/' "$conf" >"$DIR/cwd/supervisord.conf"
(cd "$DIR/cwd" && exec "$DIR/empty/bin/supervisord" -n) >"$DIR/cwd.out" 2>&1 &
LEASHD_PID=$!
LEASHD_PIDS="$LEASHD_PIDS $LEASHD_PID"
LEASHD_LOG=$DIR/cwd.out
TAP_DIAG_FILE=
wait_for "no -c, nothing beside the link: ./supervisord.conf is found" 10 \
    identified_as from-cwd
signal_leashd TERM
wait_leashd_exit 15
if [ -e /etc/supervisord.conf ] || [ -e /etc/supervisor/supervisord.conf ]; then
	skip "/etc holds a supervisord.conf: a search with nothing else finds it"
else
	(cd "$DIR/empty" && ./bin/supervisord) >"$DIR/none.out" 2>&1
	rc=$?
	TAP_DIAG_FILE=$DIR/none.out
	check "no file at any default path: exit 2, naming the paths searched (got $rc)" \
	    sh -c "[ $rc = 2 ] && grep -q 'No config file found at default paths' '$DIR/none.out'"
fi
