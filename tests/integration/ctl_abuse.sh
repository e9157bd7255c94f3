#!/bin/sh
# Garbage and hostile clients on the control socket leave leashd running
# and answering: binary noise, oversized and malformed requests (and the
# 4096-byte boundary), clients that hang up in the middle of a long reply,
# a client that half-closes after its request (it still gets the whole
# reply), a connection flood past the client limit, and 50 concurrent
# `leashctl status` loops while workers keep exiting and being restarted.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" && . "$here/ctl_lib.sh"

MANY=40
FLAP=2
conf=$DIR/leash.ini
write_config "$conf" <<EOF
[program:many]
command = $WORKER
process_name = %(program_name)s_%(process_num)d
numprocs = $MANY
startsecs = 0.2
stopwaitsecs = 2
stdout_logfile = NONE
stderr_logfile = NONE

[program:flap]
command = $WORKER --after 0.3 --exit 1
process_name = %(program_name)s_%(process_num)d
numprocs = $FLAP
startsecs = 0.1
autorestart = true
startretries = 1000
stdout_logfile = NONE
stderr_logfile = NONE

[program:spew]
command = $WORKER --spew 4000000
startsecs = 0.2
stdout_logfile = $DIR/spew.out
stdout_logfile_maxbytes = 0
stderr_logfile = NONE
EOF
NPROCS=$((MANY + FLAP + 1))

start_leashd "$conf"
many_up() {
	[ "$(count_log ' program: many:many_[0-9]+ STARTING -> RUNNING$')" -ge "$MANY" ]
}
wait_for "the $MANY 'many' workers reach RUNNING" 20 many_up ||
	bail_out "leashd did not start its workers"
wait_for "spew wrote its 4 MB" 20 eval '[ "$(file_size "$DIR/spew.out")" -ge 4000000 ]'
wait_for "leashd answers" 10 leashd_answers

fds() {
	ls "/proc/$LEASHD_PID/fd" 2>/dev/null | wc -l
}
fds_before=$(fds)

RAW=$(raw_client)
if [ -z "$RAW" ]; then
	why="neither python3 nor perl (IO::Socket::UNIX) can open a UNIX socket"
else
	diag "raw socket client: $RAW"
	why=
fi

# answered_ok: leashd is alive and `leashctl version` works.
answered_ok() {
	alive "$LEASHD_PID" && leashd_answers
}

RAW_OUT=$DIR/raw.out
# rawc MODE [N] <input: raw, output in $RAW_OUT, exit in RAW_RC.
rawc() {
	RAW_ARGS="$*"
	raw "$@" >"$RAW_OUT" 2>"$DIR/raw.err"
	RAW_RC=$?
	return 0
}
show_raw() {
	diag "raw $RAW_ARGS -> exit $RAW_RC, $(file_size "$RAW_OUT") bytes:"
	head -c 400 "$RAW_OUT" | head -n 5 | sed 's/^/#   /'
	sed 's/^/#   stderr: /' "$DIR/raw.err" | head -n 3
}
# raw_is DESC RC CONTENT: the last raw exited RC and printed CONTENT exactly.
raw_is() {
	if [ "$RAW_RC" = "$2" ] && [ "$(cat "$RAW_OUT")" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		show_raw
	fi
}

ver=$("$LEASHD" -v | sed 's/^leashd //')

if [ -n "$why" ]; then
	skip "raw protocol abuse: $why"
else
	# ------------------------------------------------------------ noise
	bad=0
	for i in 1 2 3 4 5 6 7 8 9 10; do
		head -c 10000 /dev/urandom >"$DIR/noise"
		rawc ask 1 <"$DIR/noise"
		tail -n 1 "$RAW_OUT" | grep -q '^%end 2$' || {
			bad=$((bad + 1))
			cp "$DIR/noise" "$DIR/noise.bad"
			show_raw
		}
	done
	check "10000 bytes of binary noise get %end 2 (10 tries, $bad wrong)" \
	    test "$bad" = 0
	check "leashd survives the noise and answers" answered_ok

	# noise without a single newline, and NULs
	head -c 10000 /dev/urandom | tr -d '\n' | rawc eof
	check "noise without a newline: %end 2, and leashd closes the connection" \
	    eval '[ "$RAW_RC" = 0 ] && tail -n 1 "$RAW_OUT" | grep -q "^%end 2\$"'
	{ head -c 3000 /dev/zero; echo; } | rawc eof
	raw_is "a line of 3000 NUL bytes: ERROR (malformed request), %end 2, closed" 0 \
	    'ERROR (malformed request)
%end 2'
	printf 'stat\001us\n' | rawc eof
	raw_is "a control character: ERROR (malformed request), %end 2, closed" 0 \
	    'ERROR (malformed request)
%end 2'

	# ------------------------------------------------------------ size
	{ head -c 10000 /dev/zero | tr '\0' a; echo; } | rawc eof
	raw_is "a 10000-byte line: ERROR (request longer than 4096 bytes), %end 2, closed" 0 \
	    'ERROR (request longer than 4096 bytes)
%end 2'
	{ printf status; head -c 10000 /dev/zero | tr '\0' ' '; echo; } | rawc eof
	raw_is "\"status\" padded to 10007 bytes is refused the same way" 0 \
	    'ERROR (request longer than 4096 bytes)
%end 2'
	# 4096 bytes with the newline is the largest request: answered, and
	# the connection stays open for the next one.
	{ printf version; head -c 4088 /dev/zero | tr '\0' ' '; printf '\nversion\n'; } >"$DIR/req4096"
	check "(the request is 4096 + 8 bytes)" test "$(file_size "$DIR/req4096")" = 4104
	rawc ask 2 <"$DIR/req4096"
	raw_is "a 4096-byte request is answered and the next one too" 0 "$ver
%end 0
$ver
%end 0"
	{ printf version; head -c 4089 /dev/zero | tr '\0' ' '; printf '\nversion\n'; } | rawc eof
	raw_is "a 4097-byte request: %end 2, closed, the next one not read" 0 \
	    'ERROR (request longer than 4096 bytes)
%end 2'

	# ------------------------------------------------------------ odd requests
	printf '\nversion\n' | rawc ask 2
	raw_is "an empty line: ERROR (empty request), %end 2; the connection goes on" 0 \
	    "ERROR (empty request)
%end 2
$ver
%end 0"
	printf 'json\nfrobnicate\nstart\nversion\n' | rawc ask 4
	raw_is "\"json\" alone (a JSON error), an unknown command, a missing argument: %end 2 each" 0 \
	    "{\"error\":\"ERROR (empty request)\"}
%end 2
ERROR (unknown command frobnicate; try help)
%end 2
ERROR (usage: start NAME...)
%end 2
$ver
%end 0"
	words=$(for i in $(seq 1 300); do printf ' x'; done)
	printf 'status%s\nversion\n' "$words" | rawc ask 2
	raw_is "300 words: ERROR (too many words), %end 2" 0 "ERROR (too many words)
%end 2
$ver
%end 0"
	printf 'version\r\n\tversion \n' | rawc ask 2
	raw_is "CR and tabs are blanks" 0 "$ver
%end 0
$ver
%end 0"
	for i in $(seq 1 200); do echo version; done | rawc ask 200
	check "200 pipelined requests in one write: 200 replies" \
	    eval '[ "$RAW_RC" = 0 ] && [ "$(grep -c "^%end 0\$" "$RAW_OUT")" = 200 ]'
	check "leashd answers after the odd requests" answered_ok

	# ------------------------------------------------------------ hanging up
	# status of $NPROCS processes, 100 times in one connection, and hang
	# up after 100 bytes of the replies: 20 such clients.
	for i in $(seq 1 100); do echo status; done >"$DIR/status100"
	for i in $(seq 1 20); do
		rawc hangup 100 <"$DIR/status100"
	done
	check "20 clients that hang up in the middle of 100 status replies: leashd answers" \
	    answered_ok
	# a reply much larger than the socket's buffer, abandoned
	for i in 1 2 3 4 5; do
		echo 'tail -4000000 spew' | rawc hangup 65536
	done
	check "5 clients that hang up in the middle of a 4 MB tail: leashd answers" \
	    answered_ok
	for i in 1 2 3; do
		echo 'tail -4000000 spew' | rawc hangup 0
	done
	check "3 clients that hang up at once after asking a 4 MB tail: leashd answers" \
	    answered_ok
	# leashctl itself, killed while reading a long reply
	"$LEASHCTL" -s "$SOCK" tail -4000000 spew >/dev/null 2>&1 &
	tp=$!
	kill -KILL "$tp" 2>/dev/null
	wait "$tp" 2>/dev/null
	check "a leashctl killed while reading: leashd answers" answered_ok

	# ------------------------------------------------------------ half-close
	printf 'status\n' | rawc halfclose
	check "a client that half-closes after 'status' gets the whole status" \
	    eval '[ "$RAW_RC" = 0 ] && [ "$(grep -c "^many:" "$RAW_OUT")" = "$MANY" ] &&
		tail -n 1 "$RAW_OUT" | grep -q "^%end [03]\$"'
	echo 'tail -3000000 spew' | rawc halfclose
	got=$(file_size "$RAW_OUT")
	check "a client that half-closes after 'tail -3000000' gets all of it ($got bytes of 3000021)" \
	    eval '[ "$got" = 3000021 ] && tail -c 7 "$RAW_OUT" | grep -q "^%end 0\$"'

	# ------------------------------------------------------------ flood
	if [ "$RAW" = python3 ]; then
		n=$((512 + 40))
		raw flood "$n" >"$DIR/flood.out" 2>"$DIR/flood.err"
		diag "flood of $n connections: $(cat "$DIR/flood.out" "$DIR/flood.err")"
		# 512 at most at once (a client of an earlier test that leashd
		# has not yet seen go may hold a slot); every one answered.
		read -r w1 served w2 busy w3 other w4 nofds <"$DIR/flood.out"
		check "a flood of $n connections: ~512 served ($served), the rest told too many clients ($busy), none unanswered ($other)" \
		    eval '[ "$w1 $w2 $w3" = "ok busy other" ] &&
			[ "$served" -le 512 ] && [ "$served" -ge 500 ] &&
			[ $((served + busy)) = "$n" ] && [ "$other" = 0 ]'
		check "leashd answers after the flood" answered_ok
		# 10,000 at once, as many as this machine's limits allow.
		hard=$(ulimit -H -n)
		if [ "$hard" = unlimited ] || [ "$hard" -ge 10100 ]; then
			n=10000
			raw flood "$n" >"$DIR/flood.out" 2>"$DIR/flood.err"
			diag "flood of $n connections: $(cat "$DIR/flood.out" "$DIR/flood.err")"
			read -r w1 served w2 busy w3 other w4 nofds <"$DIR/flood.out"
			check "a flood of 10,000 connections: ~512 served ($served), the rest told too many clients ($busy) or out of fds ($nofds), none unanswered ($other)" \
			    eval '[ "$w1 $w2 $w3" = "ok busy other" ] &&
				[ "$served" -le 512 ] && [ "$served" -ge 1 ] &&
				[ $((served + busy + other)) = "$n" ] &&
				[ "$other" = "$nofds" ]'
			check "leashd answers after 10,000 connections" answered_ok
		else
			skip "a flood of 10,000 connections: the hard open-files limit is $hard"
		fi
	else
		skip "connection flood: needs python3"
	fi
fi

# ---------------------------------------------------------------- concurrency

CLIENTS=50
ROUNDS=20
flaps0=$(count_log ' program: flap:flap_[0-9]+ spawned with pid ')
pids=
for k in $(seq 1 $CLIENTS); do
	(
		for r in $(seq 1 $ROUNDS); do
			$CTL_WRAP "$LEASHCTL" -s "$SOCK" status >"$DIR/st.$k" 2>"$DIR/st.$k.err"
			echo $? >>"$DIR/rc.$k"
		done
	) &
	pids="$pids $!"
done
wait_for "$CLIENTS clients x $ROUNDS status calls finish" 45 none_alive $pids
wait $pids 2>/dev/null
flaps1=$(count_log ' program: flap:flap_[0-9]+ spawned with pid ')
diag "flap workers spawned $((flaps1 - flaps0)) times during the calls"
check "the flap workers were restarting meanwhile" test $((flaps1 - flaps0)) -ge 1
cat "$DIR"/rc.* >"$DIR/rcs" 2>/dev/null
diag "exit statuses: $(sort "$DIR/rcs" | uniq -c | tr '\n' ' ' | tr -s ' ')"
check "all $((CLIENTS * ROUNDS)) status calls ended" \
    test "$(count_of_lines "$DIR/rcs")" = $((CLIENTS * ROUNDS))
check "every status call exited 0 or 3 (never 1, 4, 7 or a signal)" \
    eval '! grep -v -q -E "^(0|3)\$" "$DIR/rcs"'
check "some status calls saw a flap worker between runs (exit 3)" \
    grep -q '^3$' "$DIR/rcs"
short=0
for k in $(seq 1 $CLIENTS); do
	[ "$(count_of_lines "$DIR/st.$k")" = $((NPROCS + 1)) ] || short=$((short + 1))
done
check "every client's last status listed all $NPROCS processes ($short did not)" \
    test "$short" = 0

# ---------------------------------------------------------------- after

check "leashd is still running" alive "$LEASHD_PID"
ctl version
ctl_expect "leashd still answers version" 0 "^$ver\$"
ctl status 'many:*'
ctl_expect "and status: all the 'many' workers RUNNING" 0
check "status many:* lists $MANY processes" test "$(grep -c '^many:' "$CTL_OUT")" = "$MANY"
settled_fds() {
	[ "$(fds)" -le $((fds_before + 8)) ]
}
poll 5 settled_fds
diag "leashd's descriptors: $fds_before before, $(fds) after"
check "leashd holds no descriptors of the clients that went away" settled_fds
check "leashd logged no error" eval '! log_has "^[0-9-]+ [0-9:.]+ error "'
ctl shutdown
wait_leashd_exit 15
check "leashd shuts down cleanly after all that (status $LEASHD_STATUS)" \
    test "$LEASHD_STATUS" = 0
