#!/bin/sh
# A real PHP worker (Debian's php-cli, tests/helpers/leaky_worker.php) with
# the leak of webman's documentation -- a static array in the request
# handler that grows by 64 KiB with every request -- and ready = notify,
# drain-then-replaced under steady HTTP traffic without one failed request.
#
# How PHP accepts: on fd 3, leashd's shared [socket:http] listener (systemd's
# LISTEN_FDS protocol).  PHP can: fopen('php://fd/3') + socket_import_stream()
# gives a Socket that socket_select() and socket_accept() work on.  The
# workers and their replacements share that one listener and its accept
# queue, so nothing queued on a drained worker is lost: no SO_REUSEPORT, no
# network namespace, no tcp_migrate_req needed.
#
# READY=1: the PHP worker itself sends it, socket_create(AF_UNIX, SOCK_DGRAM)
# + socket_sendto() to $NOTIFY_SOCKET, a path beside the control socket
# (PHP's socket_sendto() cannot reach an abstract "@name").
#
# Drain: a pcntl_signal() handler (pcntl is in Debian's php-cli), as
# Workerman and webman have: it stops accepting, finishes the request in
# hand, exits 0.  PHP puts SIG_DFL back at its shutdown, so a second drain
# signal arriving then would kill it, "terminated by SIGTERM" instead of
# exit status 0: leashd must send it once.
#
# Without php-cli (or its sockets and pcntl extensions) the test is skipped.
# sd_lib.sh for free_port, holds_inode and the rest; mem_lib.sh after it
# for jwait/jcheck over the whole status (its ctl, jstatus and
# leashd_section win: the same control socket, $DIR/leash.sock).
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" &&
    . "$here/sd_lib.sh" && . "$here/mem_lib.sh"

PHP_WORKER=$top_srcdir/tests/helpers/leaky_worker.php
# 2400 requests, at most 300 a second (8 s and more): some 1200 a worker,
# 75 MiB of leak each, so memory_limit 32M is crossed again and again
# (a fresh PHP worker is some 5M by cgroup, 18M by RSS).
REQUESTS=2400
RATE=300
LIMIT=32M

if ! command -v php >/dev/null 2>&1; then
	skip "no php (Debian's php-cli: apt-get install php-cli, or contrib/install-deps)"
	exit 0
fi
php_mods=$(php -m 2>/dev/null)
for m in sockets pcntl; do
	if ! str_has "$php_mods" "^$m\$"; then
		skip "php has no $m extension"
		exit 0
	fi
done
if [ ! -r "$PHP_WORKER" ]; then
	bail_out "$PHP_WORKER is missing"
fi
diag "$(php -r 'echo "PHP ", PHP_VERSION, " (", PHP_BINARY, ")";')"

gen() {
	leashd_section
	cat <<EOF

[socket:http]
listen = tcp:127.0.0.1:$PORT

[program:php]
command = php -d memory_limit=-1 -d display_errors=stderr $PHP_WORKER 64
sockets = http
numprocs = 2
process_name = php_%(process_num)d
ready = notify
ready_timeout = 10s
memory_limit = $LIMIT
drain_timeout = 5s
stopwaitsecs = 5
stdout_logfile = NONE
stderr_logfile = $DIR/php.err
EOF
}

started_or_dead() {
	log_has ' leashd: leashd .* started ' || dead "$LEASHD_PID"
}
# A free port, bound by leashd: another process taking it first makes
# leashd exit 78 with EADDRINUSE: then again with another one.
started=
for try in 1 2 3 4 5; do
	PORT=$(free_port) || bail_out "no free port found"
	gen >"$DIR/php.ini"
	start_leashd "$DIR/php.ini"
	poll 10 started_or_dead
	if alive "$LEASHD_PID"; then
		started=yes
		break
	fi
	wait_leashd_exit 5
	log_has 'Address already in use' || break
	diag "port $PORT was taken meanwhile: another one"
done
[ -n "$started" ] || bail_out "leashd did not start with [socket:http] on a free port"
diag "[socket:http] is 127.0.0.1:$PORT"

both_up() {
	in_state php:php_0 RUNNING && in_state php:php_1 RUNNING
}
wait_for "two PHP workers RUNNING (ready = notify)" 15 both_up
p0=$(worker_pid php:php_0)
p1=$(worker_pid php:php_1)
diag "php_0: pid $p0, php_1: pid $p1"

is_php_worker() {
	tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null |
	    grep -q "^php .*leaky_worker\.php 64 \$"
}
check "both are the PHP script itself (their command lines)" \
    eval 'is_php_worker "$p0" && is_php_worker "$p1"'
check "each sent READY=1 itself, from PHP's socket_sendto()" \
    eval 'log_has " notify: php:php_0: pid $p0 sent READY=1\$" &&
    log_has " notify: php:php_1: pid $p1 sent READY=1\$"'
check "NOTIFY_SOCKET is a path beside the control socket" \
    eval 'tr "\\0" "\\n" <"/proc/$p0/environ" | grep -q -x "NOTIFY_SOCKET=$DIR/leash.notify"'
check "fd 3 of php_0 is leashd's listener on port $PORT" \
    eval 'ino=$(tcp_listen_inode "$PORT") && [ -n "$ino" ] &&
    holds_inode "$p0" "$ino" && holds_inode "$LEASHD_PID" "$ino"'

# The footprint of a fresh PHP worker, as leashd measures it.
base=
if [ -n "$py" ] && poll 5 jnow 'p("php:php_0")["memory"]["current"] is not None'; then
	base=$(jval 'max(x["memory"]["current"] for x in procs)')
	diag "a fresh PHP worker: $((base / 1024)) KiB by $(jval 'p("php:php_0")["memory"]["source"]')"
fi
jcheck "a fresh PHP worker (under 24M) leaves room to leak under memory_limit $LIMIT" \
    'all(x["memory"]["current"] < 24 * 1024 * 1024 for x in procs)'

# ---------------------------------------------------------------- traffic
mark=$(count_of_lines "$LEASHD_LOG")
t0=$(now_ms)
"$HTTPWORKER" --get "127.0.0.1:$PORT" --count "$REQUESTS" --rate "$RATE" \
    >"$DIR/client.out" 2>"$DIR/client.err"
t1=$(now_ms)
client_tally "$DIR/client.out"
after() {
	sed -n "$((mark + 1)),\$p" "$LEASHD_LOG"
}
replaced=$(after | grep -E -c ' program: php:php_[01]: replacement pid [0-9]+ is ready \(memory\)$')
peak=$(after | sed -n 's/.* memory: php:php_[01]: pid [0-9]* uses \([0-9.]*\)M, .*/\1/p' |
    sort -n | tail -n 1)
diag "$REQUESTS requests in $((t1 - t0)) ms: $answered answered 200, $failed failed; $replaced memory replacements meanwhile; $servers PHP pids served; the most a worker was seen using: ${peak:-?}M"
check "leashd is still running after the traffic" alive "$LEASHD_PID"
TAP_DIAG_FILE=$DIR/client.err
check "all $REQUESTS requests were answered 200 (got $answered)" \
    test "$answered" -eq "$REQUESTS"
check "no request failed (got $failed)" test "$failed" -eq 0
TAP_DIAG_FILE=
check "at least 2 memory replacements happened under the traffic (got $replaced)" \
    test "$replaced" -ge 2
check "more than 2 PHP processes served ($servers)" test "$servers" -gt 2

drained() {
	[ "$(count_log ' program: php:php_[01]: old pid [0-9]+ is gone ')" -ge \
	    "$(count_log ' program: php:php_[01]: replacement pid [0-9]+ is ready ')" ]
}
wait_for "every replaced PHP worker is gone" 15 drained

jwait "json: restarts_by_reason.memory adds up to 2 or more" 10 \
    'sum(x["restarts_by_reason"]["memory"] for x in procs) >= 2'
jcheck "json: no restart for another reason, last_reason memory" \
    'all(x["restarts_by_reason"]["exit"] == 0 and x["restarts_by_reason"]["memory_max"] == 0 and x["last_reason"] in (None, "memory") for x in procs)'
jcheck "json: memory source named, limit $LIMIT" \
    'all(x["memory"]["source"] in ("cgroup", "rss") and x["memory"]["limit"] == 32 * 1024 * 1024 for x in procs)'

# Each replacement, in the log: its replacement spawned, READY=1 from it
# (PHP), ready, then the old one drained and gone with exit status 0.
: >"$DIR/pairs"
for s in 0 1; do
	replaced_pairs "php:php_$s" | sed "s/^/$s /" >>"$DIR/pairs"
done
pairs_ok() {
	_n=0
	while read -r _s _old _new; do
		if ! log_in_order \
		    " program: php:php_$_s: replacing pid $_old \(memory\): starting its replacement first\$" \
		    " program: php:php_$_s spawned with pid $_new \(replacement\)\$" \
		    " notify: php:php_$_s: replacement pid $_new sent READY=1\$" \
		    " program: php:php_$_s: replacement pid $_new is ready \(memory\)\$" \
		    " program: php:php_$_s: draining pid $_old with SIGTERM \(SIGKILL in 5\.0 s\)\$" \
		    " program: php:php_$_s: old pid $_old is gone \(exit status 0\)\$"; then
			diag "php_$_s, $_old -> $_new"
			return 1
		fi
		if ! file_has "$DIR/php.err" "^leaky_worker\\[$_old\\]: drained after [0-9]+ requests, exit 0\$"; then
			diag "php_$_s: pid $_old did not say it drained"
			return 1
		fi
		_n=$((_n + 1))
	done <"$DIR/pairs"
	diag "$_n replacements checked"
	[ "$_n" -ge 2 ]
}
check "every replacement: spawned, READY=1 from PHP, ready, and only then the old pid drained, gone with exit status 0" \
    pairs_ok
check "every drained worker exited 0, none was killed" \
    eval '[ "$(count_log " program: php:php_[01]: old pid [0-9]+ is gone \\(exit status 0\\)\$")" -eq \
    "$(count_log " program: php:php_[01]: old pid [0-9]+ is gone ")" ] &&
    ! log_has " did not exit in time: SIGKILL"'
check "no PHP worker exited unexpectedly or failed to start" \
    eval '! log_has " program: php:php_[01] (exited: |[A-Z]+ -> (BACKOFF|FATAL))" &&
    ! log_has " program: php:php_[01]: replacement failed"'
check "PHP wrote no error or warning" \
    eval '[ ! -f "$DIR/php.err" ] ||
    ! grep -v "^leaky_worker\\[[0-9]*\\]: drained after [0-9]* requests, exit 0\$" "$DIR/php.err" | grep -q .'

# ---------------------------------------------------------------- the end
spawned=$(sed -n 's/.* program: php:php_[01] spawned with pid \([0-9]*\).*/\1/p' \
    "$LEASHD_LOG")
signal_leashd TERM
wait_leashd_exit 15
check "leashd exits 0 on SIGTERM (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0
check "no PHP process is left (of $(echo $spawned | wc -w) spawned)" \
    eval 'none_alive $spawned && test -z "$(pids_of_token_owners "$LEASHD_PID")"'
check "port $PORT is free again" test -z "$(tcp_listen_inode "$PORT")"
