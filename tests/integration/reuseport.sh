#!/bin/sh
# Workers that bind SO_REUSEPORT themselves (webman's reusePort, gunicorn
# --reuse-port) lose the connections queued on a drained worker's listener
# unless net.ipv4.tcp_migrate_req = 1.  leashd tells, once its workers are
# all RUNNING: with the setting off it warns, naming the address; with it
# on, or with a shared [socket:] section, it says nothing.  Each leashd
# runs in a network namespace of its own (unshare -n), where the test sets
# tcp_migrate_req as it needs.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" &&
    . "$here/sd_lib.sh"

warn_re=' program: web: its workers bind SO_REUSEPORT themselves \(each has its own listener on 127\.0\.0\.1:8080\) and net\.ipv4\.tcp_migrate_req is 0: '

netns_ok() {
	[ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
	    command -v ip >/dev/null &&
	    unshare -n sh -c 'ip link set lo up &&
	    sysctl -qw net.ipv4.tcp_migrate_req=1' 2>/dev/null
}
if ! netns_ok; then
	skip "needs root, unshare and ip, and net.ipv4.tcp_migrate_req (Linux 5.14+) in a network namespace"
	exit 0
fi

# conf SHARED: two workers, each binding 127.0.0.1:8080 (a private network
# namespace: any port is free), or sharing a [socket:].
conf() {
	leashd_section "$2"
	if [ "$1" = shared ]; then
		cat <<EOF

[socket:web]
listen = tcp:127.0.0.1:8080

[program:web]
command = $HTTPWORKER
sockets = web
EOF
	else
		cat <<EOF

[program:web]
command = $HTTPWORKER --bind 127.0.0.1:8080 --reuseport
EOF
	fi
	cat <<EOF
process_name = web_%(process_num)d
numprocs = 2
startsecs = 0.3
memory_limit = 512M
memory_interval = 100ms
stdout_logfile = NONE
stderr_logfile = NONE
EOF
}

# run_in_netns MIGRATE CONF LOG: leashd (the same pid) in a network
# namespace of its own with tcp_migrate_req = MIGRATE.
run_in_netns() {
	LEASHD_LOG=$3
	: >"$LEASHD_LOG"
	unshare -n sh -c 'ip link set lo up && sysctl -qw \
	    net.ipv4.tcp_migrate_req="$1" && exec "$2" -c "$3"' sh "$1" \
	    "$LEASHD" "$2" >>"$LEASHD_LOG" 2>&1 &
	LEASHD_PID=$!
	LEASHD_PIDS="$LEASHD_PIDS $LEASHD_PID"
}

both_running() {
	in_state web:web_0 RUNNING && in_state web:web_1 RUNNING
}
# After both are RUNNING, leashd's next sample (100 ms) checks.
checked() {
	both_running && poll 1 false
}

for case in "reuseport 0 warns" "reuseport 1 quiet" "shared 0 quiet"; do
	set -- $case
	conf "$1" "$1$2" >"$DIR/$1$2.ini"
	run_in_netns "$2" "$DIR/$1$2.ini" "$DIR/$1$2.log"
	wait_for "$1, tcp_migrate_req = $2: both workers are RUNNING" 10 both_running
	if [ "$3" = warns ]; then
		wait_for "SO_REUSEPORT workers, tcp_migrate_req = 0: leashd warns once" 5 \
		    log_has "$warn_re"
		check "the warning comes once" test "$(count_log "$warn_re")" -eq 1
	else
		checked
		check "$1, tcp_migrate_req = $2: no SO_REUSEPORT warning" \
		    eval '! log_has " its workers bind SO_REUSEPORT "'
	fi
	signal_leashd TERM
	wait_leashd_exit 15
	check "$1, tcp_migrate_req = $2: leashd exits 0 (status $LEASHD_STATUS)" \
	    test "$LEASHD_STATUS" = 0
done
