#!/bin/sh
# [socket:NAME]: leashd binds tcp: and unix: sockets (mode applied) and
# passes them as fds 3, 4 ... in the order of sockets =, with LISTEN_FDS,
# LISTEN_PID (the worker's own pid) and LISTEN_FDNAMES.  A socket stays
# bound -- the same one -- across worker restarts and reloads that do not
# change it.  A bad listen value or a port in use is a configuration error
# (exit 78, FILE:LINE and [socket:x]); a reload adding a socket on a port
# in use is rejected and changes nothing.  Availability: HTTP workers on a
# shared socket, drain-then-replaced every second or so for leaking memory,
# answer every one of 1500 requests.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" &&
    . "$here/sd_lib.sh"

# A port that is in use for the whole test, by a process of our own.
"$HTTPWORKER" --bind 127.0.0.1:0 --portfile "$DIR/held.port" \
    >"$DIR/holder.log" 2>&1 &
holder=$!
bg_track $holder
poll 5 test -s "$DIR/held.port" || bail_out "the port holder did not start"
HELD=$(cat "$DIR/held.port")
diag "port $HELD is held by pid $holder"

# start_on_free_port GENERATOR CONF [LOG]: PORT is a free port, GENERATOR
# writes the configuration for it; another process taking PORT first
# makes leashd exit 78 with EADDRINUSE: then again with another port.
start_on_free_port() {
	for _try in 1 2 3 4 5; do
		PORT=$(free_port) || bail_out "no free port found"
		"$1" >"$2"
		start_leashd "$2" "$3"
		poll 10 started_or_dead
		if alive "$LEASHD_PID"; then
			return 0
		fi
		wait_leashd_exit 5
		log_has 'Address already in use' || return 1
		diag "port $PORT was taken meanwhile: another one"
	done
	return 1
}
started_or_dead() {
	log_has ' leashd: leashd .* started ' || dead "$LEASHD_PID"
}

# srv reports what it was given, one line per start, then lives on.
cat >"$DIR/report.sh" <<EOF
#!/bin/sh
s3=no
[ -S /proc/\$\$/fd/3 ] && s3=yes
s4=no
[ -S /proc/\$\$/fd/4 ] && s4=yes
printf 'pid=%s fds=%s lpid=%s names=%s fd3=%s fd4=%s s3=%s s4=%s\n' \\
    "\$\$" "\${LISTEN_FDS-unset}" "\${LISTEN_PID-unset}" \\
    "\${LISTEN_FDNAMES-unset}" "\$(readlink /proc/\$\$/fd/3)" \\
    "\$(readlink /proc/\$\$/fd/4)" "\$s3" "\$s4" >>"$DIR/report"
exec "$WORKER"
EOF
chmod +x "$DIR/report.sh"

# report_get N KEY: KEY's value in the Nth report line ("last": the last).
report_get() {
	if [ "$1" = last ]; then
		tail -n 1 "$DIR/report"
	else
		sed -n "${1}p" "$DIR/report"
	fi | tr ' ' '\n' | sed -n "s/^$2=//p"
}
reports() {
	count_of_lines "$DIR/report"
}

srv_env=1
web_backlog=64
extra=
conf=$DIR/leash.ini
gen_main() {
	leashd_section
	cat <<EOF

; declared before web: the order that counts is sockets = web,other
[socket:other]
listen = unix:$DIR/other.sock
mode = 0660

[socket:web]
listen = tcp:127.0.0.1:$PORT
backlog = $web_backlog

[program:srv]
command = $DIR/report.sh
sockets = web,other
environment = GENERATION="$srv_env"
startsecs = 0.2
stopwaitsecs = 2

[program:idle]
command = $WORKER --env LISTEN_FDS --env LISTEN_PID --env LISTEN_FDNAMES
startsecs = 0.2
stopwaitsecs = 2
$extra
EOF
}

start_on_free_port gen_main "$conf" ||
    bail_out "leashd did not start with [socket:web] on a free port"
WEB=$PORT
main_pid=$LEASHD_PID
main_log=$LEASHD_LOG
diag "web is on port $WEB"
srv_up() {
	in_state srv:srv RUNNING && [ "$(reports)" -ge 1 ]
}
wait_for "srv is RUNNING and has reported" 10 srv_up
srv1=$(worker_pid srv:srv)
diag "srv's report:" "$(cat "$DIR/report")"
check "the report is srv's (pid $srv1)" test "$(report_get 1 pid)" = "$srv1"
check "LISTEN_FDS=2" test "$(report_get 1 fds)" = 2
check "LISTEN_PID is srv's own pid" test "$(report_get 1 lpid)" = "$srv1"
check "LISTEN_FDNAMES=web:other, the order of sockets =" \
    test "$(report_get 1 names)" = web:other
check "fd 3 and fd 4 are sockets" \
    test "$(report_get 1 s3)$(report_get 1 s4)" = yesyes
web_ino=$(tcp_listen_inode "$WEB")
other_ino=$(unix_inode "$DIR/other.sock")
diag "web: inode $web_ino, other: inode $other_ino"
check "fd 3 is the socket listening on 127.0.0.1:$WEB" \
    test -n "$web_ino" -a "$(report_get 1 fd3)" = "socket:[$web_ino]"
check "fd 4 is the unix socket $DIR/other.sock" \
    test -n "$other_ino" -a "$(report_get 1 fd4)" = "socket:[$other_ino]"
check "leashd holds both" \
    eval 'holds_inode "$LEASHD_PID" "$web_ino" && holds_inode "$LEASHD_PID" "$other_ino"'
check "srv has fds 0-4 only: nothing of leashd's leaks into it" \
    test "$(ls "/proc/$srv1/fd" | sort -n | tr '\n' ' ')" = "0 1 2 3 4 "
check "other.sock has mode 0660" \
    test "$(ls -l "$DIR/other.sock" | cut -c 1-10)" = srw-rw----
wait_for "idle has written its environment" 10 \
    file_has "$DIR/logs/idle-stdout.log" '^LISTEN_FDNAMES='
check "a program without sockets = gets no LISTEN_* at all" \
    test "$(grep -c '^LISTEN_[A-Z]*=(unset)$' "$DIR/logs/idle-stdout.log")" -eq 3

# ---------------------------------------------------------------- restart
ctl_quiet restart srv:srv
srv2_up() {
	in_state srv:srv RUNNING && [ "$(reports)" -ge 2 ]
}
wait_for "leashctl restart srv: RUNNING again, reported again" 10 srv2_up
srv2=$(worker_pid srv:srv)
check "srv has a new pid ($srv1 -> $srv2)" test "$srv2" != "$srv1"
check "its LISTEN_PID is its own again" test "$(report_get 2 lpid)" = "$srv2"
check "fd 3 and fd 4 are the same sockets as before" \
    test "$(report_get 2 fd3) $(report_get 2 fd4)" = \
    "socket:[$web_ino] socket:[$other_ino]"
check "leashd holds them still" \
    eval 'holds_inode "$LEASHD_PID" "$web_ino" && holds_inode "$LEASHD_PID" "$other_ino"'
check "each was bound once" \
    test "$(count_log ' sockets: \[socket:(web|other)\] listening on ')" -eq 2

# ---------------------------------------------------------------- reload
srv_env=2
gen_main >"$conf"
signal_leashd HUP
wait_for "SIGHUP with srv changed, the sockets not: 1 changed" 10 \
    log_has ' leashd: reloaded: 0 added, 1 changed, 0 removed$'
srv3_up() {
	in_state srv:srv RUNNING && [ "$(reports)" -ge 3 ] &&
	    [ "$(worker_pid srv:srv)" != "$srv2" ]
}
wait_for "srv restarted and reported" 10 srv3_up
check "the restarted srv got the same sockets" \
    test "$(report_get 3 fd3) $(report_get 3 fd4)" = \
    "socket:[$web_ino] socket:[$other_ino]"
check "127.0.0.1:$WEB is still the same socket" \
    test "$(tcp_listen_inode "$WEB")" = "$web_ino"
check "other.sock is still the same socket" \
    test "$(unix_inode "$DIR/other.sock")" = "$other_ino"
check "nothing was closed or bound again" \
    test "$(count_log ' sockets: ')" -eq 2
srv3=$(worker_pid srv:srv)

# ---------------------------------------------------------------- rejected
# A reload that adds a socket on a port in use (and a program): rejected,
# nothing changes.
cp "$conf" "$DIR/good.ini"
extra="
[socket:extra]
listen = tcp:127.0.0.1:$HELD

[program:newprog]
command = $WORKER
sockets = extra
startsecs = 0.2"
gen_main >"$conf"
extra_line=$(grep -n '^\[socket:extra\]$' "$conf" | cut -d: -f1)
spawns=$(count_log ' spawned with pid ')
signal_leashd HUP
wait_for "SIGHUP adding [socket:extra] on port $HELD (in use): rejected" 10 \
    log_has ' leashd: reload rejected: '
check "the error names $conf:$extra_line, [socket:extra] and the cause" \
    log_has " config: error: $conf:$extra_line: \\[socket:extra\\] listen: cannot bind 127\\.0\\.0\\.1:$HELD: Address already in use\$"
ctl update >"$DIR/update.out" 2>&1
rc=$?
diag "leashctl update (exit $rc):" "$(cat "$DIR/update.out")"
check "leashctl update: rejected too, exit status not 0" test "$rc" -ne 0
check "and it says why, with the file and line" \
    grep -q "ERROR: $conf:$extra_line: \\[socket:extra\\] listen: cannot bind" \
    "$DIR/update.out"
check "newprog was not started, nothing was" \
    test "$(count_log ' spawned with pid ')" -eq "$spawns"
check "extra was never listening" \
    test "$(count_log '\[socket:extra\] listening')" -eq 0
check "srv kept its pid" test "$(worker_pid srv:srv)" = "$srv3"
check "srv is alive" alive "$srv3"
check "web is still the same socket, held by leashd" \
    eval 'test "$(tcp_listen_inode "$WEB")" = "$web_ino" && holds_inode "$LEASHD_PID" "$web_ino"'
cp "$DIR/good.ini" "$conf"
signal_leashd HUP
wait_for "the good file again: nothing to change (it was still in force)" 10 \
    log_has ' leashd: reloaded: 0 added, 0 changed, 0 removed$'

# Only web's backlog changes: the same address, which leashd itself holds.
mark=$(count_of_lines "$LEASHD_LOG")
extra=
web_backlog=128
gen_main >"$conf"
signal_leashd HUP
reload_done() {
	log_has_after "$mark" ' leashd: (reloaded|reload rejected): '
}
wait_for "SIGHUP with web's backlog 64 -> 128: the reload is done" 10 \
    reload_done
check "a reload changing only web's backlog is applied to the bound socket" \
    log_has_after "$mark" ' leashd: reloaded: '
check "web still listens on port $WEB" test -n "$(tcp_listen_inode "$WEB")"
check "srv kept its pid" test "$(worker_pid srv:srv)" = "$srv3"

# ---------------------------------------------------------------- exit 78
# bad_start NAME LISTEN: a leashd with [socket:NAME] listen = LISTEN; sets
# BAD_CONF and BAD_LINE (the line of the section).
bad_start() {
	BAD_CONF=$DIR/bad-$1.ini
	{
		leashd_section leash2
		cat <<EOF

[socket:$1]
listen = $2

[program:p]
command = $WORKER
sockets = $1
EOF
	} >"$BAD_CONF"
	BAD_LINE=$(grep -n "^\\[socket:$1\\]\$" "$BAD_CONF" | cut -d: -f1)
	start_leashd "$BAD_CONF" "$DIR/bad-$1.log"
	wait_leashd_exit 10
}
bad_start bogus bogus:8080
check "listen = bogus:8080: leashd exits 78 (status $LEASHD_STATUS)" \
    test "$LEASHD_STATUS" = 78
check "the error names file:line and [socket:bogus]" \
    log_has "$BAD_CONF:$((BAD_LINE + 1)): \\[socket:bogus\\] listen: \"bogus:8080\": expected"
check "nothing was started" test "$(count_log ' spawned with pid ')" -eq 0

bad_start noport tcp:127.0.0.1:notaport
check "listen = tcp:127.0.0.1:notaport: leashd exits 78 (status $LEASHD_STATUS)" \
    test "$LEASHD_STATUS" = 78
check "the error names file:line and [socket:noport]" \
    log_has "$BAD_CONF:$BAD_LINE: \\[socket:noport\\] listen: 127\\.0\\.0\\.1:notaport: "

bad_start busy "tcp:127.0.0.1:$HELD"
check "a port in use ($HELD): leashd exits 78 (status $LEASHD_STATUS)" \
    test "$LEASHD_STATUS" = 78
check "the error names file:line, [socket:busy] and the cause" \
    log_has "$BAD_CONF:$BAD_LINE: \\[socket:busy\\] listen: cannot bind 127\\.0\\.0\\.1:$HELD: Address already in use"
check "nothing was started" test "$(count_log ' spawned with pid ')" -eq 0

bad_start web "tcp:127.0.0.1:$WEB"
check "the port of another leashd's socket: exit 78 too (status $LEASHD_STATUS)" \
    test "$LEASHD_STATUS" = 78
check "the holder still listens on $HELD" alive "$holder"

# ---------------------------------------------------------------- the end
LEASHD_PID=$main_pid
LEASHD_LOG=$main_log
signal_leashd TERM
wait_leashd_exit 15
check "leashd exits 0 (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0
check "the unix socket file is removed" test ! -e "$DIR/other.sock"
check "port $WEB is free again" test -z "$(tcp_listen_inode "$WEB")"

# ---------------------------------------------------------------- availability
# Two HTTP workers leaking 64 KiB per request under memory_limit 8M: each is
# drain-then-replaced every second or so while 1500 requests come in, at
# most 250 a second (at least 6 s of load).
REQUESTS=1500
RATE=250
gen_http() {
	leashd_section
	cat <<EOF

[socket:http]
listen = tcp:127.0.0.1:$PORT

[program:http]
command = $HTTPWORKER --leak 64
sockets = http
numprocs = 2
process_name = http_%(process_num)d
startsecs = 0.3
stopwaitsecs = 5
memory_limit = 8M
memory_interval = 0.2s
memory_samples = 2
drain_timeout = 10s
max_replacing = 1
stdout_logfile = NONE
stderr_logfile = $DIR/http.err
EOF
}
start_on_free_port gen_http "$DIR/http.ini" "$DIR/http.log" ||
    bail_out "leashd did not start with [socket:http] on a free port"
HTTP=$PORT
both_up() {
	in_state http:http_0 RUNNING && in_state http:http_1 RUNNING
}
wait_for "two HTTP workers RUNNING on port $HTTP" 10 both_up
mark=$(count_of_lines "$LEASHD_LOG")

url=http://127.0.0.1:$HTTP
if command -v curl >/dev/null 2>&1 && [ -z "${SD_NO_CURL:-}" ] &&
    curl --help all 2>/dev/null | grep -q -- '--rate'; then
	client="curl --rate $RATE/s"
	curl -sS --max-time 10 --rate "$RATE/s" -w ' %{http_code}\n' \
	    "$url/[1-$REQUESTS]" >"$DIR/client.out" 2>"$DIR/client.err"
else
	client="httpworker --get --rate $RATE"
	"$HTTPWORKER" --get "127.0.0.1:$HTTP" --count "$REQUESTS" \
	    --rate "$RATE" >"$DIR/client.out" 2>"$DIR/client.err"
fi
client_tally "$DIR/client.out"
after=$(sed -n "$((mark + 1)),\$p" "$LEASHD_LOG")
replaced=$(printf '%s\n' "$after" |
    grep -E -c ' program: http:http_[01]: replacement pid [0-9]+ is ready \(memory\)$')
diag "$client: $answered answered 200, $failed otherwise; $replaced memory replacements; $servers pids served"
TAP_DIAG_FILE=$DIR/client.err
check "all $REQUESTS requests were answered 200 (got $answered)" \
    test "$answered" -eq "$REQUESTS"
check "no request failed (got $failed)" test "$failed" -eq 0
TAP_DIAG_FILE=
check "at least 2 memory replacements happened meanwhile (got $replaced)" \
    test "$replaced" -ge 2
check "more than 2 processes served ($servers)" test "$servers" -gt 2
drained() {
	[ "$(count_log ' program: http:http_[01]: old pid [0-9]+ is gone ')" -ge \
	    "$(count_log ' program: http:http_[01]: replacement pid [0-9]+ is ready ')" ]
}
wait_for "every replaced worker is gone" 15 drained
check "each drained away on SIGTERM with exit status 0" \
    test "$(count_log ' program: http:http_[01]: old pid [0-9]+ is gone \(exit status 0\)$')" -eq \
    "$(count_log ' program: http:http_[01]: old pid [0-9]+ is gone ')"
check "none had to be killed" \
    test "$(count_log ' did not exit in time: SIGKILL')" -eq 0
signal_leashd TERM
wait_leashd_exit 15
check "leashd exits 0 (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0
