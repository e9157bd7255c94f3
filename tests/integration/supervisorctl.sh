#!/bin/sh
# Debian's supervisorctl cannot tell leashd from supervisord: one file, one
# sequence of commands (status, start, stop, restart, GROUP:*, a [group:x]
# of two programs, all, pid,
# signal, tail, tail -f, clear, avail, reread, update, add, remove, an
# unknown command, names that do not exist, wrong credentials, shutdown),
# run against Debian's supervisord and then against leashd, over a UNIX
# socket with a username and password; the transcripts, pids and times
# aside, must be the same line for line, exit codes and the socket's mode
# included.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh"

if ! command -v supervisorctl >/dev/null || ! command -v supervisord >/dev/null; then
	skip "Debian's supervisor package is not installed (contrib/install-deps --tests)"
	exit 0
fi

conf=$DIR/supervisord.conf
sock=$DIR/rpc.sock
# write_conf NUMPROCS BAD EXTRA: web's numprocs, and whether [program:bad]
# and [program:extra] are in the file.
write_conf() {
	bad=
	[ "$2" = yes ] && bad="[program:bad]
command = $WORKER --exit 3
autostart = false
startretries = 0"
	extra=
	[ "$3" = yes ] && extra="[program:extra]
command = $WORKER --print extra"
	cat >"$conf" <<EOF
[unix_http_server]
file = $sock
username = ops
password = pa55

[supervisord]
logfile = $DIR/supervisord.log
pidfile = $DIR/supervisord.pid
childlogdir = $DIR/logs

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl = unix://$sock
username = ops
password = pa55

[leashd]
childlogdir = $DIR/logs

[program:one]
command = $WORKER --print one
stopwaitsecs = 5

[program:web]
command = $WORKER --print web
process_name = %(program_name)s_%(process_num)02d
numprocs = $1

[group:pair]
programs = left,right
priority = 10

[program:left]
command = $WORKER --print left

[program:right]
command = $WORKER --print right

$bad

$extra
EOF
}
mkdir -p "$DIR/logs"

ctl() {
	supervisorctl -c "$conf" "$@"
}

# run CMD...: one step of the transcript in $out.
run() {
	printf '$ supervisorctl %s\n' "$*" >>"$out"
	ctl "$@" >>"$out" 2>&1
	echo "exit $?" >>"$out"
}

running() {
	ctl status "$1" 2>/dev/null | grep -q RUNNING
}

following() {
	[ "$(grep -c "^one\$" "$1" 2>/dev/null)" -ge "$2" ]
}

# The sequence, against whatever serves $sock; $1 names the transcript.
sequence() {
	out=$DIR/$1.transcript
	: >"$out"
	poll 15 running one && poll 15 running web:web_01 &&
	    poll 15 running pair:right ||
	    echo "not every process reached RUNNING" >>"$out"
	mode=$(stat -c %a "$sock")
	echo "socket mode $mode" >>"$out"
	run status
	run -u ops -p wrong status
	run -u nobody -p pa55 pid
	run status one
	run status nosuch
	run status 'web:*'
	run status one nosuch
	run pid one
	run pid nosuch
	run stop one
	run stop one
	run status one
	run start one
	run start one
	run start nosuch
	run restart 'web:*'
	run stop web:web_00
	run start 'web:*'
	run status 'pair:*'
	run stop 'pair:*'
	run start pair:left
	run status pair
	run status pair:left left
	run restart 'pair:*'
	run stop pair:nosuch
	run start bad
	run status bad
	run signal HUP one
	run signal BOGUS one
	run signal HUP nosuch
	run signal HUP bad
	run tail one
	run tail one stderr
	run tail nosuch
	# tail -f follows: what one printed, then what it prints once restarted.
	ctl tail -f one >"$DIR/$1.follow" 2>&1 &
	tailpid=$!
	poll 10 following "$DIR/$1.follow" 1
	run restart one
	poll 10 following "$DIR/$1.follow" 2 &&
	    echo "tail -f: followed the restart" >>"$out"
	kill "$tailpid" 2>/dev/null
	wait "$tailpid" 2>/dev/null
	run clear one
	run tail one
	run avail
	run reread
	# The file changes: a program added, one changed, one removed.
	write_conf 3 no yes
	run reread
	run avail
	run update
	run status
	run add nosuch
	run add extra
	run remove extra
	run stop extra
	run remove extra
	run remove extra
	run status
	run add extra
	run bogus
	poll 15 running extra
	run stop all
	run status
	run start all
	run shutdown
	write_conf 2 yes no
}

# Times and pids are the only things allowed to differ, and the order in
# which processes of "all" or "GROUP:*" report, which is the order they
# happen to get there: those lines are sorted.
normalise() {
	sed -E 's/pid [0-9]+, uptime [0-9:]+( days?, [0-9:]+)?/pid PID, uptime TIME/;
	    s/[A-Z][a-z]{2} [0-9]{2} [0-9]{2}:[0-9]{2} [AP]M/DATE/;
	    s/^[0-9]+$/PID/' "$1" | awk '
	function flush(   i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
				t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
			}
		for (i = 1; i <= n; i++)
			print v[i]
		n = 0
	}
	/^\$ / { flush(); print; many = / all$/ || /\*/; next }
	/^exit [0-9]+$/ { flush(); print; next }
	many { v[++n] = $0; next }
	{ print }
	END { flush() }'
}

write_conf 2 yes no
supervisord -c "$conf"
sequence supervisord
poll 15 sh -c "! [ -e '$DIR/supervisord.pid' ]" ||
	bail_out "supervisord did not shut down"

start_leashd "$conf"
sequence leashd
wait_leashd_exit 15
check "leashd exits 0 after supervisorctl shutdown (status $LEASHD_STATUS)" \
	test "$LEASHD_STATUS" = 0

normalise "$DIR/supervisord.transcript" >"$DIR/want"
normalise "$DIR/leashd.transcript" >"$DIR/got"
TAP_DIAG_FILE=$DIR/diff
diff -u "$DIR/want" "$DIR/got" >"$DIR/diff"
check "supervisorctl prints the same against leashd as against supervisord ($(grep -c '^\$' "$DIR/want") commands)" \
	cmp -s "$DIR/want" "$DIR/got"
check "tail -f followed a restart on both" \
	test "$(grep -c 'followed the restart' "$DIR/want" "$DIR/got" | grep -c ':1$')" = 2
TAP_DIAG_FILE=
[ -n "${LEASH_KEEP_TRANSCRIPTS:-}" ] && cp "$DIR/want" "$DIR/got" "$DIR/diff" "$LEASH_KEEP_TRANSCRIPTS"/
exit 0
