#!/bin/sh
# Crash safety and hot upgrade.  leashd is killed with SIGKILL -- in
# steady state, during a drain-then-replace, during a reload and during a
# mass start -- and a new leashd on the same file takes the processes
# over: the pool is never doubled, the [socket:] is served throughout (its
# socket recovered from a worker), the workers are supervised (a stop
# reaches every process, a worker that exits is restarted) and nothing is
# left after the new leashd stops.  A state file that is truncated, stale
# or names a reused pid takes over nothing and kills nothing of others'.
# leashctl upgrade (and SIGUSR1) under HTTP load: the same leashd and
# worker pids, every request answered; a binary that cannot start is
# refused, so is one that cannot read the state, and leashd runs on.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" &&
    . "$here/sd_lib.sh"

mkdir -p "$DIR/bin" "$DIR/logs"
cp "$LEASHD" "$DIR/bin/leashd"
LEASHD=$DIR/bin/leashd
STATE=$DIR/leash.state

# count_tokens LEASHD_PID: processes carrying a token of that leashd.
count_tokens() {
	pids_of_token_owners "$1" | wc -w | tr -d ' '
}
# workers_of PROGRAM: this test's processes (other tests run programs of
# the same names) whose environment names that program, sorted.
workers_of() {
	for _f in $(grep -l -s -z -F -x "TAKEOVER_TEST=$DIR" /proc/[0-9]*/environ); do
		grep -q -s -z -x "LEASH_PROGRAM_NAME=$1" "$_f" &&
		    echo "$_f" | sed 's|/proc/\([0-9]*\)/environ|\1|'
	done | sort -n | tr '\n' ' '
}
web_is() {
	[ "$(count_workers web)" = "$1" ]
}
bg_is() {
	[ "$(count_workers bg)" = "$1" ]
}
count_workers() {
	set -- $(workers_of "$1")
	echo $#
}
serves() {
	"$HTTPWORKER" --get "127.0.0.1:$PORT" >/dev/null 2>&1
}
web_running_pids() {
	ctl status web 2>/dev/null | awk '$2 == "RUNNING" { print $3 }' |
	    sort -n | tr '\n' ' '
}
# ctl_pid_of_state NAME: NAME's pid as the state file has it.
ctl_pid_of_state() {
	awk -v n="$1" '$1 == "process" && $12 == n { print $2 }' "$STATE"
}
# upgrade_says RC REGEX DESC: one check that leashctl upgrade exits RC and
# prints a line matching REGEX.
upgrade_says() {
	ctl upgrade >"$DIR/upgrade.out" 2>&1
	_rc=$?
	TAP_DIAG_FILE=$DIR/upgrade.out
	check "$3 (exit $_rc)" \
	    sh -c "[ $_rc = $1 ] && grep -q '$2' '$DIR/upgrade.out'"
	TAP_DIAG_FILE=
}
upgraded_twice() {
	[ "$(count_log 'upgraded: leashd' "$DIR/truncated.log")" = 2 ]
}
all_running() {
	[ "$(ctl status 2>/dev/null | awk '$2 == "RUNNING"' | wc -l)" = "$1" ]
}
# crash: SIGKILL to leashd; its processes run on as orphans.
crash() {
	kill -KILL "$LEASHD_PID"
	wait "$LEASHD_PID" 2>/dev/null
	poll 5 dead "$LEASHD_PID"
}

PORT=$(free_port) || bail_out "no free port found"
conf=$DIR/leash.ini
write_conf() {
	leashd_section >"$conf"
	cat >>"$conf" <<EOF

[socket:web]
listen = tcp:127.0.0.1:$PORT

[program:web]
command = $HTTPWORKER ${LEAK:+--leak $LEAK}
environment = TAKEOVER_TEST="$DIR"
sockets = web
numprocs = 3
process_name = web_%(process_num)d
startsecs = 0.3
stdout_logfile = $DIR/web.log
${LIMIT:+memory_limit = $LIMIT}
${LIMIT:+memory_interval = 100ms}
drain_timeout = 5s

[program:bg]
command = $WORKER --children 2${BG_SLOW_STOP:+ --ignore-term}
environment = TAKEOVER_TEST="$DIR"
numprocs = 2
process_name = bg_%(process_num)d
startsecs = 0.3
stdout_logfile = $DIR/bg.log
stopwaitsecs = 2
EOF
}
write_conf

# 1. Steady state.
start_leashd "$conf" "$DIR/first.log"
wait_for "the pool runs" 10 all_running 5
first=$LEASHD_PID
web_before=$(workers_of web)
check "the state file names leashd and its 5 processes" \
    sh -c "grep -q '^leashd $first ' '$STATE' && [ \$(grep -c '^process ' '$STATE') = 5 ]"
crash
check "after SIGKILL its workers still serve" serves
start_leashd "$conf" "$DIR/second.log"
wait_for "a new leashd takes the 5 processes over" 10 \
    log_has "took over 5 of 5 processes"
check "the socket was recovered from a worker, not bound afresh" \
    log_has "\[socket:web\] .* recovered from a process that serves it"
check "the same web workers, not a second pool (got $(workers_of web))" \
    test "$(workers_of web)" = "$web_before"
check "3 web and 2 bg workers (and their children), no more" \
    sh -c "[ $(count_workers web) = 3 ] && [ $(count_workers bg) = 6 ]"
check "it serves" serves
check "status shows the web workers RUNNING with their pids" \
    test "$(web_running_pids)" = "$web_before"
# An adopted worker that exits is seen (through its pidfd) and restarted.
victim=$(ctl pid web:web_1)
kill -KILL "$victim"
wait_for "an adopted worker that dies is restarted" 10 \
    sh -c "[ -n \"\$($LEASHCTL -s $CTL_SOCK pid web:web_1)\" ] && [ \"\$($LEASHCTL -s $CTL_SOCK pid web:web_1)\" != $victim ]"
check "its exit status is unknown (leashd was not its parent)" \
    log_has "web:web_1 exited: exit status unknown"
# A stop reaches the whole tree of an adopted worker.
ctl_quiet stop bg:bg_0
check "stop of an adopted worker with children leaves none" \
    test "$(count_workers bg)" = 3
signal_leashd TERM
wait_leashd_exit 15
check "the new leashd stops cleanly (status $LEASHD_STATUS)" \
    test "$LEASHD_STATUS" = 0
check "nothing is left of either leashd's processes" \
    sh -c "[ $(count_tokens $first) = 0 ] && [ $(count_workers web) = 0 ] && [ $(count_workers bg) = 0 ]"
check "the state file goes with a clean stop" test ! -e "$STATE"

# 1b. A worker spawned after the last write of the state file: the crash
# comes before the file names it.  Found by its token and killed before
# the socket it holds is bound, so the new pool is not doubled.
start_leashd "$conf" "$DIR/unlisted.log"
wait_for "the pool runs for the unlisted case" 10 all_running 5
crash
unlisted=$(ctl_pid_of_state web:web_2)
sed -i '/ web:web_2$/d' "$STATE"
start_leashd "$conf" "$DIR/unlisted2.log"
wait_for "the new leashd runs every slot" 10 all_running 5
check "the process the state file does not name is killed" \
    log_has "pid $unlisted \(token [0-9-]*\) of leashd pid [0-9]+ is not in its state file: SIGKILL"
check "and gone" dead "$unlisted"
check "3 web workers, not 4 (got $(count_workers web))" \
    test "$(count_workers web)" = 3
signal_leashd TERM
wait_leashd_exit 15

# 2. During a drain-then-replace: old, candidate and new processes.
LEAK=64
LIMIT=24M
write_conf
LEAK=
LIMIT=
start_leashd "$conf" "$DIR/replace.log"
wait_for "the leaking pool runs" 10 all_running 5
"$HTTPWORKER" --get "127.0.0.1:$PORT" --count 100000 --rate 400 \
    >"$DIR/load.out" 2>&1 &
load=$!
bg_track $load
wait_for "a replacement is under way" 20 \
    log_has "web:web_[0-9] spawned with pid [0-9]+ \(replacement\)"
crash
start_leashd "$conf" "$DIR/replace2.log"
wait_for "a new leashd takes over during the replace" 10 \
    log_has "took over [0-9]+ of [0-9]+ processes"
wait_for "every slot runs once more" 15 all_running 5
check "never more than 3 web workers beside a replace's (got $(count_workers web))" \
    test "$(count_workers web)" -le 5
kill -TERM $load 2>/dev/null
wait $load 2>/dev/null
check "the load saw no failed request across the crash" \
    sh -c "! grep -q '^fail' '$DIR/load.out'"
wait_for "then exactly 3 web workers" 15 web_is 3
signal_leashd TERM
wait_leashd_exit 15
check "nothing left after a crash during a replace" \
    sh -c "[ $(count_workers web) = 0 ] && [ $(count_workers bg) = 0 ]"

# 3. During a reload that changes a program's command: the old command's
# processes are not taken over, but stopped, and the new ones start.  They
# ignore SIGTERM, so the reload is still stopping them when leashd dies
# (were they quick, the reload could finish first and the new leashd
# would rightly take the new command's processes over).
BG_SLOW_STOP=1 write_conf
start_leashd "$conf" "$DIR/reload.log"
wait_for "the pool runs again" 10 all_running 5
sed -i "s|^command = $WORKER --children 2|command = $WORKER --children 1|" "$conf"
signal_leashd HUP
crash
start_leashd "$conf" "$DIR/reload2.log"
wait_for "the new leashd comes up" 10 log_has "took over"
check "a changed command is not taken over" \
    log_has "bg:bg_[01]: pid [0-9]+ is not taken over \(its command changed\)"
wait_for "the new command runs, one child each: 2 + 2 bg processes" 15 \
    bg_is 4
check "the web workers were taken over" \
    log_has "web:web_2: took over pid"
signal_leashd TERM
wait_leashd_exit 15

# 4. During a mass start.
sed -i "s|^numprocs = 3|numprocs = 40|" "$conf"
start_leashd "$conf" "$DIR/mass.log"
wait_for "the mass start is under way" 10 log_has "web:web_5 spawned"
crash
start_leashd "$conf" "$DIR/mass2.log"
wait_for "all 42 slots run after the crash" 30 all_running 42
check "exactly 40 web workers, never a doubled slot (got $(count_workers web))" \
    test "$(count_workers web)" = 40
signal_leashd TERM
wait_leashd_exit 20
check "nothing left after a crash during a mass start" \
    test "$(count_workers web)" = 0
sed -i "s|^numprocs = 40|numprocs = 3|" "$conf"

# 5. State files that must take nothing over.
"$WORKER" >/dev/null 2>&1 &
innocent=$!
bg_track $innocent
printf 'leash-state 1\nleashd 1 1\nprocess %d %d 1 0 0 -1 -1 0 x-1 - web:web_0\n' \
    "$innocent" "$innocent" >"$STATE"
start_leashd "$conf" "$DIR/stale.log"
wait_for "a state naming a reused pid: it starts fresh" 10 all_running 5
check "the reused pid is not taken over" log_has "web:web_0: pid $innocent is gone"
check "and not killed" alive "$innocent"
signal_leashd TERM
wait_leashd_exit 15
printf 'leash-state 1\n' >"$STATE"
start_leashd "$conf" "$DIR/truncated.log"
wait_for "a truncated state file: it starts fresh" 10 all_running 5
check "and says why" log_has "no leashd line \(truncated\?\): nothing to take over"
check "a leashd that runs keeps its state: a second one is refused" \
    sh -c "! '$LEASHD' -c '$conf' >'$DIR/second-run.log' 2>&1"

# 6. Upgrade in place, under load.
pid_before=$LEASHD_PID
web_before=$(workers_of web)
"$HTTPWORKER" --get "127.0.0.1:$PORT" --count 3000 --rate 1000 \
    >"$DIR/upgrade-load.out" 2>&1 &
load=$!
bg_track $load
upgrade_says 0 "^upgraded: leashd .* -> .* (pid $pid_before)" \
    "leashctl upgrade answers once the new image serves"
check "the same leashd pid" test "$(ctl pid)" = "$pid_before"
check "the same worker pids" test "$(workers_of web)" = "$web_before"
check "its control socket was carried over" \
    log_has "listening on .* \(carried over\)" "$DIR/truncated.log"
wait $load
check "every request during the upgrade was answered ($(grep -c ' 200$' "$DIR/upgrade-load.out") of 3000)" \
    test "$(grep -c ' 200$' "$DIR/upgrade-load.out")" = 3000
signal_leashd USR1
wait_for "SIGUSR1 upgrades too" 10 upgraded_twice
check "still the same workers" test "$(workers_of web)" = "$web_before"
# Binaries an upgrade must refuse, each installed the way a package
# upgrade does (a new file renamed over leashd's): nothing changes.
# refused_upgrade DESC REGEX SCRIPT: SCRIPT (printf format, %s the good
# binary) is installed, leashctl upgrade exits 1 saying REGEX, and the
# same leashd pid and workers run on.
cp "$LEASHD" "$LEASHD.good"
refused_upgrade() {
	printf "$3" "$LEASHD.good" >"$LEASHD.new"
	chmod +x "$LEASHD.new"
	mv "$LEASHD.new" "$LEASHD"
	upgrade_says 1 "$2" "an upgrade to a binary that $1 fails and says why"
	check "leashd runs on after it: the same pid, the same workers" \
	    sh -c "[ \"\$($LEASHCTL -s $CTL_SOCK pid)\" = $pid_before ] && [ '$(workers_of web)' = '$web_before' ]"
}
refused_upgrade "cannot start" 'does not start as leashd: broken' \
    '#!/bin/sh\necho broken >&2\nexit 1\n'
# One that starts but cannot read this leashd's state (an older version):
# refused after the state is written, before the exec.
refused_upgrade "cannot read the state" \
    'cannot take this leashd.s processes over: state file version 1' \
    '#!/bin/sh\nif [ "$1" = --check-state ]; then echo "state file version 1, this leashd reads 0" >&2; exit 1; fi\nexec "%s" "$@"\n'
check "and serves" serves
mv "$LEASHD.good" "$LEASHD"
signal_leashd TERM
wait_leashd_exit 15
check "after upgrades a stop leaves nothing" \
    sh -c "[ $(count_workers web) = 0 ] && [ $(count_workers bg) = 0 ]"
