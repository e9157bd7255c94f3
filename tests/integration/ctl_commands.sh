#!/bin/sh
# Every leashctl command through the real client against a real leashd:
# status (columns, exit 0/3), pid, start/stop/restart by NAME, GROUP:*,
# GROUP:PROCESS, program name and "all", signal, tail (-BYTES, stderr, -f
# following a restart), reload (one worker at a time), reread/update after
# editing the file, avail, version, help (with and without leashd), unknown
# commands, no socket, interactive mode, and shutdown.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" && . "$here/ctl_lib.sh"

conf=$DIR/leash.ini
common="startsecs = 0.2
stopwaitsecs = 2"

write_config "$conf" <<EOF
[program:web]
command = $WORKER --print out-web-%(process_num)d --eprint err-web-%(process_num)d
process_name = %(program_name)s_%(process_num)d
numprocs = 2
$common

[program:api]
command = $WORKER --print api-v1
$common

[program:spew]
command = $WORKER --print spew-start --spew 5000
stdout_logfile = $DIR/spew.out
stderr_logfile = NONE
$common
EOF

start_leashd "$conf"

ALL="api:api spew:spew web:web_0 web:web_1"
all_running() {
	for _n in $ALL; do
		in_state "$_n" RUNNING || return 1
	done
}
wait_for "the 4 workers reach RUNNING" 10 all_running || bail_out "leashd did not start its workers"

# ---------------------------------------------------------------- status

ctl status
ctl_expect "status exits 0 when every process is RUNNING" 0
check "status header: NAME STATE PID UPTIME [MEMORY] RESTARTS LAST INFO" \
    sh -c "head -n 1 '$CTL_OUT' | grep -E -q '^NAME +STATE +PID +UPTIME +(MEMORY +)?RESTARTS +LAST +INFO *\$'"
check "status lists the 4 processes, sorted by name" \
    test "$(sed 1d "$CTL_OUT" | awk '{ print $1 }' | tr '\n' ' ')" = "$ALL "
cp "$CTL_OUT" "$DIR/status1.out"
bad=
for n in $ALL; do
	st=$(status_field "$DIR/status1.out" "$n" STATE)
	pid=$(status_field "$DIR/status1.out" "$n" PID)
	up=$(status_field "$DIR/status1.out" "$n" UPTIME)
	rs=$(status_field "$DIR/status1.out" "$n" RESTARTS)
	last=$(status_field "$DIR/status1.out" "$n" LAST)
	[ "$st" = RUNNING ] || bad="$bad $n:state=$st"
	[ "$pid" = "$(worker_pid "$n")" ] || bad="$bad $n:pid=$pid/$(worker_pid "$n")"
	echo "$up" | grep -E -q '^[0-9]+:[0-5][0-9]:[0-5][0-9]$' || bad="$bad $n:uptime=$up"
	[ "$rs" = 0 ] || bad="$bad $n:restarts=$rs"
	[ "$last" = - ] || bad="$bad $n:last=$last"
done
[ -n "$bad" ] && diag "wrong:$bad"
check "each line: RUNNING, the pid leashd logged, H:MM:SS uptime, 0 restarts, LAST -" \
    test -z "$bad"

ctl status 'web:*'
ctl_expect "status web:* shows the group's 2 processes" 0 '^web:web_0 ' '^web:web_1 '
check "status web:* shows nothing else" test "$(out_lines)" -eq 3
ctl status web_1
ctl_expect "status web_1 (process name) shows that process" 0 '^web:web_1 +RUNNING '
check "status web_1 shows one process" test "$(out_lines)" -eq 2
ctl status api nosuch
ctl_expect "status with an unknown name exits 1 with ERROR (no such process)" 1 \
    '^nosuch: ERROR \(no such process\)$' '^api:api +RUNNING '

# ---------------------------------------------------------------- pid

ctl pid
ctl_expect "pid with no argument is leashd's pid" 0 "^$LEASHD_PID\$"
check "pid prints one line" test "$(out_lines)" -eq 1
w0=$(worker_pid web:web_0)
w1=$(worker_pid web:web_1)
ctl pid 'web:*'
ctl_expect "pid web:* prints the workers' pids" 0
check "pid web:* is web_0's then web_1's pid ($w0 $w1)" \
    test "$(tr '\n' ' ' <"$CTL_OUT")" = "$w0 $w1 "
ctl pid all
ctl_expect "pid all prints 4 pids" 0
check "pid all: the 4 logged pids" test "$(sort "$CTL_OUT" | tr '\n' ' ')" = \
    "$(for n in $ALL; do worker_pid "$n"; done | sort | tr '\n' ' ')"

# ---------------------------------------------------------------- stop / start / restart

ctl stop 'web:*'
ctl_expect "stop web:* replies stopped for each, exit 0" 0 \
    '^web:web_0: stopped$' '^web:web_1: stopped$'
check "the stopped workers' pids are gone when stop returns" none_alive $w0 $w1
ctl status
ctl_expect "status exits 3 when a process is not RUNNING" 3 \
    '^web:web_0 +STOPPED +- ' '^web:web_1 +STOPPED +- ' '^api:api +RUNNING '
ctl pid web_0
ctl_expect "pid of a stopped process prints 0 and exits 1" 1 '^0$'
ctl stop web_0
ctl_expect "stop of a stopped process: ERROR (not running), exit 1" 1 \
    '^web:web_0: ERROR \(not running\)$'

ctl start 'web:*'
ctl_expect "start web:* replies started for each, exit 0" 0 \
    '^web:web_0: started$' '^web:web_1: started$'
n0=$(ctl_pid web:web_0)
n1=$(ctl_pid web:web_1)
diag "web pids: $w0 $w1 -> $n0 $n1"
check "web_0 and web_1 have new, live, distinct pids" \
    eval 'all_alive $n0 $n1 && distinct $w0 $w1 $n0 $n1'
ctl status 'web:*'
ctl_expect "status web:* after start: both RUNNING, exit 0" 0 \
    '^web:web_0 +RUNNING ' '^web:web_1 +RUNNING '

ctl start api
ctl_expect "start of a running process: ERROR (already started), exit 1" 1 \
    '^api:api: ERROR \(already started\)$'

ctl restart web_0
ctl_expect "restart web_0 (process name): started, exit 0" 0 '^web:web_0: started$'
r0=$(ctl_pid web:web_0)
check "restart gives web_0 a new live pid ($n0 -> $r0)" \
    eval '[ -n "$r0" ] && [ "$r0" != "$n0" ] && alive $r0 && dead $n0'
ctl status web_0
check "restart is counted: RESTARTS 1, LAST manual" \
    eval '[ "$(status_field "$CTL_OUT" web:web_0 RESTARTS)" = 1 ] &&
	[ "$(status_field "$CTL_OUT" web:web_0 LAST)" = manual ]'

ctl restart web:web_1
ctl_expect "restart web:web_1 (GROUP:PROCESS): started" 0 '^web:web_1: started$'
check "web_1 has a new pid" test "$(ctl_pid web:web_1)" != "$n1"

before=
for n in $ALL; do before="$before $(ctl_pid "$n")"; done
ctl restart all
ctl_expect "restart all: started for every process, exit 0" 0 \
    '^api:api: started$' '^spew:spew: started$' '^web:web_0: started$' \
    '^web:web_1: started$'
after=
for n in $ALL; do after="$after $(ctl_pid "$n")"; done
diag "pids before restart all:$before, after:$after"
check "restart all: every pid changed and the old ones are gone" \
    eval 'distinct $before $after && none_alive $before && all_alive $after'

ctl start nosuch
ctl_expect "start of an unknown name: ERROR (no such process), exit 1" 1 \
    '^nosuch: ERROR \(no such process\)$'
ctl stop nosuch
ctl_expect "stop of an unknown name: ERROR (no such process), exit 1" 1 \
    '^nosuch: ERROR \(no such process\)$'
ctl restart nosuch
ctl_expect "restart of an unknown name: ERROR (no such process), exit 1" 1 \
    '^nosuch: ERROR \(no such process\)$'

a0=$(ctl_pid api:api)
ctl restart api nosuch
rc=$CTL_RC
ctl_expect "restart api nosuch: both replies (api started, nosuch ERROR)" "$rc" \
    '^nosuch: ERROR \(no such process\)$' '^api:api: started$'
check "restart api nosuch: api was restarted anyway" test "$(ctl_pid api:api)" != "$a0"
ctl_expect "restart api nosuch exits 1: an unknown name is an error even when another name waits" 1

ctl stop api
ctl_expect "stop api (program name): stopped" 0 '^api:api: stopped$'
ctl start api
ctl_expect "start api (program name): started" 0 '^api:api: started$'
ctl start
ctl_expect "start with no name: usage, exit 2" 2
check "start with no name: leashctl says usage" err_has 'usage: start NAME'

# ---------------------------------------------------------------- signal

apid=$(ctl_pid api:api)
ctl signal USR1 api
ctl_expect "signal USR1 api: signalled, exit 0" 0 '^api:api: signalled$'
# testworker has no USR1 handler: the default action ends it.
wait_for "api (pid $apid) was ended by the SIGUSR1 leashd sent" 10 \
    log_has " program: api:api exited: terminated by SIGUSR1"
check "api's old pid is gone" dead "$apid"
wait_for "api is restarted (autorestart) and RUNNING again" 10 \
    eval 'ctl_in_state api:api RUNNING && [ "$(ctl_pid api:api)" != "$apid" ]'
hw0=$(ctl_pid web:web_0)
hw1=$(ctl_pid web:web_1)
ctl signal HUP 'web:*'
# a HUP ends the test workers too; the point is the reply for a group
ctl_expect "signal HUP web:*: signalled for each" 0 '^web:web_0: signalled$' \
    '^web:web_1: signalled$'
ctl signal BOGUS api
ctl_expect "signal with a bad signal name: exit 2 with an ERROR" 2 '^ERROR \(BOGUS'
ctl signal SIGTERMX api
ctl_expect "signal SIGTERMX: exit 2" 2 'ERROR'
ctl signal HUP nosuch
ctl_expect "signal to an unknown name: exit 1" 1 '^nosuch: ERROR \(no such process\)$'
ctl signal USR1
ctl_expect "signal with no name: usage, exit 2" 2
ctl stop spew
ctl signal TERM spew
ctl_expect "signal to a stopped process: ERROR (not running), exit 1" 1 \
    '^spew:spew: ERROR \(not running\)$'
ctl start spew
web_back() {
	ctl_in_state web:web_0 RUNNING && ctl_in_state web:web_1 RUNNING &&
	    [ "$(ctl_pid web:web_0)" != "$hw0" ] &&
	    [ "$(ctl_pid web:web_1)" != "$hw1" ]
}
wait_for "web:* ended by the HUP, restarted and RUNNING again" 10 web_back

# ---------------------------------------------------------------- tail

ctl tail web_0
ctl_expect "tail web_0 shows its stdout" 0 '^out-web-0$'
check "tail web_0 shows no stderr and no other worker's output" \
    eval '! out_has "err-web|out-web-1"'
ctl tail web_1 stderr
ctl_expect "tail web_1 stderr shows its stderr" 0 '^err-web-1$'
check "tail web_1 stderr shows no stdout" eval '! out_has "out-web"'
ctl tail spew
ctl_expect "tail spew exits 0" 0
check "tail spew: the last 1600 bytes of the log by default" \
    eval 'tail -c 1600 "$DIR/spew.out" | cmp -s - "$CTL_OUT"'
ctl tail -100 spew
check "tail -100 spew: exactly the last 100 bytes ($(file_size "$CTL_OUT"))" \
    eval 'test "$CTL_RC" = 0 && tail -c 100 "$DIR/spew.out" | cmp -s - "$CTL_OUT"'
ctl tail -100000 spew
check "tail -100000 spew: the whole file when it is smaller" \
    eval 'test "$CTL_RC" = 0 && cmp -s "$DIR/spew.out" "$CTL_OUT"'
ctl tail web
ctl_expect "tail of a name with 2 processes: exit 1" 1 'names more than one process'
ctl tail nosuch
ctl_expect "tail of an unknown name: exit 1" 1 '^nosuch: ERROR \(no such process\)$'
ctl tail -x web_0
ctl_expect "tail with a bad option: exit 2" 2 'ERROR \(bad option -x\)'
ctl tail web_0 stdin
ctl_expect "tail with a bad stream: exit 2" 2 'ERROR'

# tail -f: what web_1 prints after a restart arrives while following.
follow=$DIR/follow.out
printed=$(spawn_count web:web_1)
"$LEASHCTL" -s "$SOCK" tail -f web_1 >"$follow" 2>"$DIR/follow.err" &
tailpid=$!
lines_are() {
	[ "$(grep -c '^out-web-1$' "$follow")" -eq "$1" ]
}
wait_for "tail -f web_1 prints the $printed lines web_1 wrote so far" 10 \
    lines_are "$printed"
ctl restart web_1
ctl_expect "restart web_1 while it is followed" 0 '^web:web_1: started$'
wait_for "tail -f web_1 prints the new process's output" 10 \
    lines_are $((printed + 1))
check "tail -f is still following after the restart" alive "$tailpid"
ctl restart web_1
wait_for "and again after a second restart" 10 lines_are $((printed + 2))
check "tail -f of web_1 shows nothing of web_0" \
    eval '! grep -q web-0 "$follow"'
kill "$tailpid" 2>/dev/null
wait_for "tail -f ends when killed" 5 dead "$tailpid"
wait "$tailpid" 2>/dev/null
check "leashd answers after the follower went away" leashd_answers

# ---------------------------------------------------------------- reload

old=
for n in $ALL; do old="$old $(ctl_pid "$n")"; done
relstart=$(count_of_lines "$LEASHD_LOG")
ctl reload
ctl_expect "reload: each process reloaded, exit 0" 0 '^api:api: reloaded$' \
    '^spew:spew: reloaded$' '^web:web_0: reloaded$' '^web:web_1: reloaded$'
new=
for n in $ALL; do new="$new $(ctl_pid "$n")"; done
diag "pids before reload:$old, after:$new"
check "reload: every process has a new live pid" \
    eval 'distinct $old $new && all_alive $new'
wait_for "reload: the old pids are gone" 10 none_alive $old
# One at a time: the next worker's replacement starts, and its old pid is
# stopped, only after the previous replacement is ready (RUNNING).
sed -n "$((relstart + 1)),\$p" "$LEASHD_LOG" >"$DIR/reload.log"
rl() {
	grep -n -E -- "$1" "$DIR/reload.log" | head -n 1 | cut -d: -f1
}
bad=
prev=
for n in $ALL; do
	if [ -n "$prev" ]; then
		ready=$(rl " program: $prev: replacement pid [0-9]+ is ready")
		begin=$(rl " program: $n: replacing pid ")
		drain=$(rl " program: $n: draining pid ")
		diag "$prev ready at line $ready; $n replaced at $begin, old stopped at $drain"
		[ -n "$ready" ] && [ -n "$begin" ] && [ -n "$drain" ] &&
		    [ "$begin" -gt "$ready" ] && [ "$drain" -gt "$ready" ] ||
		    bad="$bad $n"
	fi
	prev=$n
done
TAP_DIAG_FILE=$DIR/reload.log
check "reload: each worker is replaced, and its old pid stopped, after the previous one's replacement is RUNNING" \
    test -z "$bad"
TAP_DIAG_FILE=

# Progress: each worker is told as it goes, not all at the end.  When
# api's line arrives, web_1's replacement has not begun (spew's and
# web_0's, 0.2 s each at least, come first).
before=$(grep -c ' program: web:web_1: replacing pid ' "$LEASHD_LOG")
"$LEASHCTL" -s "$SOCK" reload | while IFS= read -r line; do
	printf '%s\n' "$line" >>"$DIR/live.out"
	[ "$line" = "api:api: reloaded" ] &&
	    grep -c ' program: web:web_1: replacing pid ' "$LEASHD_LOG" >"$DIR/live.at"
done
TAP_DIAG_FILE=$DIR/live.out
check "reload tells each worker as it is replaced: replacing, then reloaded, in turn" \
    sh -c "tr '\n' '|' <'$DIR/live.out' | grep -Eq '^api:api: replacing pid [0-9]+\|api:api: reloaded\|spew:spew: replacing pid [0-9]+\|spew:spew: reloaded\|web:web_0: replacing pid [0-9]+\|web:web_0: reloaded\|web:web_1: replacing pid [0-9]+\|web:web_1: reloaded\|\$'"
TAP_DIAG_FILE=
check "api's line came before web_1's replacement began" \
    test "$(cat "$DIR/live.at" 2>/dev/null)" = "$before"

w1=$(ctl_pid web:web_1)
ctl reload web_1
ctl_expect "reload web_1: only web_1 reloaded" 0 '^web:web_1: replacing pid [0-9]+$' \
    '^web:web_1: reloaded$'
check "reload web_1 prints two lines" test "$(out_lines)" -eq 2
check "reload web_1: new pid" test "$(ctl_pid web:web_1)" != "$w1"
ctl stop spew
ctl reload spew
ctl_expect "reload of a stopped process: left alone, exit 0" 0 \
    '^spew:spew: not running, left alone$'
check "the stopped process stays stopped" ctl_in_state spew:spew STOPPED
ctl start spew
ctl reload nosuch
ctl_expect "reload of an unknown name: exit 1" 1 '^nosuch: ERROR \(no such process\)$'

# ---------------------------------------------------------------- avail, reread, update

ctl avail
ctl_expect "avail lists the 3 programs, in use, auto" 0 '^api +in use +auto ' \
    '^spew +in use +auto ' '^web +in use +auto '
check "avail: 3 lines" test "$(out_lines)" -eq 3

ctl reread
ctl_expect "reread with an unchanged file: no updates" 0 '^No config updates to processes$'

spew_pid=$(ctl_pid spew:spew)
api_pid=$(ctl_pid api:api)
web_pids="$(ctl_pid web:web_0) $(ctl_pid web:web_1)"
write_config "$conf" <<EOF
[program:web]
command = $WORKER --print out-web-%(process_num)d --eprint err-web-%(process_num)d
process_name = %(program_name)s_%(process_num)d
numprocs = 2
$common

[program:api]
command = $WORKER --print api-v2
$common

[program:extra]
command = $WORKER --print extra
$common

[program:idle]
command = $WORKER --print idle
autostart = false
$common
EOF
ctl reread
ctl_expect "reread after editing: removed, changed and added programs" 0 \
    '^spew: disappeared$' '^api: changed$' '^extra: available$' '^idle: available$'
check "reread: web (unchanged) is not mentioned" eval '! out_has "^web"'
check "reread: exactly 4 lines" test "$(out_lines)" -eq 4
check "reread changes nothing: spew and api keep their pids" \
    eval '[ "$(ctl_pid spew:spew)" = "$spew_pid" ] && [ "$(ctl_pid api:api)" = "$api_pid" ]'

ctl update
ctl_expect "update applies them" 0 '^spew: removed process group$' \
    '^api: updated process group$' '^extra: added process group$' \
    '^idle: added process group$'
check "update: exactly 4 lines" test "$(out_lines)" -eq 4
wait_for "update: extra is RUNNING" 10 ctl_in_state extra:extra RUNNING
wait_for "update: api is RUNNING with a new pid" 10 \
    eval 'ctl_in_state api:api RUNNING && [ "$(ctl_pid api:api)" != "$api_pid" ]'
wait_for "update: spew's pid $spew_pid is gone" 10 dead "$spew_pid"
removed_gone() {
	ctl status spew
	[ "$CTL_RC" = 1 ] && out_has '^spew: ERROR \(no such process\)$'
}
wait_for "update: spew is no longer a process" 10 removed_gone
ctl status idle
ctl_expect "update: idle (autostart = false) is STOPPED, not started" 3 \
    '^idle:idle +STOPPED +- .*not started'
check "update: web kept its pids" test "$(ctl_pid web:web_0) $(ctl_pid web:web_1)" = "$web_pids"
ctl tail api
ctl_expect "update: api runs the new command" 0 '^api-v2$'
ctl avail
ctl_expect "avail after update: idle manual, extra auto, spew gone" 0 \
    '^idle +in use +manual ' '^extra +in use +auto ' '^api +in use +auto '
check "avail after update: 4 programs" test "$(out_lines)" -eq 4
ctl reread
ctl_expect "reread after update: no updates" 0 '^No config updates to processes$'
ctl status
ctl_expect "status exits 3 while idle is stopped" 3 '^idle:idle +STOPPED '

# ---------------------------------------------------------------- version, help, errors

ver=$("$LEASHD" -v | sed 's/^leashd //')
ctl version
ctl_expect "version is leashd's version ($ver)" 0 "^$ver\$"
check "version prints one line" test "$(out_lines)" -eq 1
ctl help
ctl_expect "help exits 0" 0 '^ *status' '^ *shutdown'
missing=
for c in status start stop restart signal pid tail reread update reload avail \
    shutdown version help; do
	out_has "^ *$c( |\$)" || missing="$missing $c"
done
check "help lists every command${missing:+ (missing:$missing)}" test -z "$missing"
ctl frobnicate
ctl_expect "an unknown command exits 2" 2
check "an unknown command: leashctl says so" err_has 'unknown command: frobnicate'
"$LEASHCTL" -s "$DIR/nothing.sock" status >"$CTL_OUT" 2>"$CTL_ERR"
CTL_RC=$? CTL_CMD="leashctl -s $DIR/nothing.sock status"
ctl_expect "no socket: exit 7" 7
check "no socket: leashctl says leashd is not running" err_has 'not running'
"$LEASHCTL" -s "$DIR/nothing.sock" --bogus >"$CTL_OUT" 2>"$CTL_ERR"
CTL_RC=$? CTL_CMD="leashctl --bogus"
ctl_expect "an unknown option exits 2" 2

# ---------------------------------------------------------------- interactive

printf 'status\nversion\n' | $CTL_WRAP "$LEASHCTL" -s "$SOCK" >"$CTL_OUT" 2>"$CTL_ERR"
CTL_RC=$? CTL_CMD="printf 'status\\nversion\\n' | leashctl"
ctl_expect "interactive: status then version on stdin, exit of the last (0)" 0 \
    '^NAME +STATE ' '^api:api +RUNNING ' "^$ver\$"
check "interactive: no prompt when stdin is not a terminal" eval '! out_has "leash>"'
check "interactive: the status reply comes before the version" \
    test "$(grep -n -E "^$ver\$" "$CTL_OUT" | cut -d: -f1)" -gt 5
printf 'version\nquit\nstatus\n' | $CTL_WRAP "$LEASHCTL" -s "$SOCK" >"$CTL_OUT" 2>"$CTL_ERR"
CTL_RC=$? CTL_CMD="printf 'version\\nquit\\nstatus\\n' | leashctl"
ctl_expect "interactive: quit ends the session" 0 "^$ver\$"
check "interactive: nothing after quit" eval '! out_has "^NAME"'
printf 'version\nfrobnicate\n\nstatus idle\n' | $CTL_WRAP "$LEASHCTL" -s "$SOCK" >"$CTL_OUT" 2>"$CTL_ERR"
CTL_RC=$? CTL_CMD="printf 'version\\nfrobnicate\\n\\nstatus idle\\n' | leashctl"
ctl_expect "interactive: an unknown command does not end the session; exit of the last (3)" 3 \
    "^$ver\$" '^idle:idle +STOPPED'

# ---------------------------------------------------------------- shutdown

pids=
for n in api:api extra:extra web:web_0 web:web_1; do pids="$pids $(ctl_pid "$n")"; done
ctl shutdown
ctl_expect "shutdown: Shut down, exit 0" 0 '^Shut down$'
wait_leashd_exit 15
check "leashd exits 0 after shutdown (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0
check "the workers are gone" none_alive $pids
check "the socket file is removed" test ! -e "$SOCK"
ctl status
ctl_expect "status after shutdown: exit 7" 7
check "status after shutdown: leashctl says leashd is not running" err_has 'not running'
ctl help
ctl_expect "help works without leashd" 0 '^ *status' '^ *shutdown' '^ *reload'
"$LEASHCTL" --help >"$CTL_OUT" 2>"$CTL_ERR"
CTL_RC=$? CTL_CMD="leashctl --help"
ctl_expect "leashctl --help works without leashd" 0 '^usage: leashctl' '^ *tail'
