#!/bin/sh
# leashctl --json: status, pid, start/stop/restart, reload, avail, version,
# reread and shutdown each print exactly one JSON document (checked with
# python3 when there is one), exit as the text form does, and say the same
# thing as the text form: the same names, states, pids and messages.
# Errors too (an unknown name, a process already started or not running):
# the JSON reply is still one document, and the exit status is still 1.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" && . "$here/ctl_lib.sh"

conf=$DIR/leash.ini
common="startsecs = 0.2
stopwaitsecs = 2"
write_config "$conf" <<EOF
[program:web]
command = $WORKER --print web
process_name = %(program_name)s_%(process_num)d
numprocs = 2
priority = 10
$common

[program:api]
command = $WORKER --print api-v1
$common

[program:idle]
command = $WORKER --print idle
autostart = false
$common
EOF

start_leashd "$conf"
up() {
	in_state web:web_0 RUNNING && in_state web:web_1 RUNNING &&
	    in_state api:api RUNNING
}
wait_for "web_0, web_1 and api reach RUNNING" 10 up || bail_out "leashd did not start its workers"
# A failing test shows the JSON reply, not leashd's log.
TAP_DIAG_FILE=$DIR/j.out

if have_python; then
	PY_REASON=
else
	PY_REASON="python3 is not installed: cannot parse JSON"
fi

# json CMD...: leashctl --json CMD...; its output in $DIR/j.out, exit in JRC.
# The text form of the same command must be run by the caller (ctl).
json() {
	JCMD="leashctl --json $*"
	$CTL_WRAP "$LEASHCTL" -s "$SOCK" --json "$@" >"$DIR/j.out" 2>"$DIR/j.err"
	JRC=$?
	return 0
}

show_json() {
	diag "$JCMD -> exit $JRC"
	[ -s "$DIR/j.err" ] && sed 's/^/#   stderr: /' "$DIR/j.err" | head -n 5
}

# one_document DESC: the last json output is one line holding one JSON
# document.
one_document() {
	if [ "$(wc -l <"$DIR/j.out")" -ne 1 ] ||
	    ! head -c 1 "$DIR/j.out" | grep -q '{'; then
		not_ok "$1: one JSON document on one line"
		show_json
	elif [ -n "$PY_REASON" ]; then
		skip "$1: one JSON document: $PY_REASON"
	elif json_valid "$DIR/j.out"; then
		ok "$1: one JSON document that parses"
	else
		not_ok "$1: one JSON document that parses"
		show_json
	fi
}

# same DESC TEXT_LINES JSON_LINES: one test comparing two lists.
same() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		diag "text: $(echo "$2" | tr '\n' '|')"
		diag "json: $(echo "$3" | tr '\n' '|')"
	fi
}

same_exit() {
	check "$1: --json exits as the text form ($CTL_RC), got $JRC" \
	    test "$JRC" = "$CTL_RC"
}

# Name, state and pid ("-" when none) of each process, from each form.
status_text() {
	sed 1d "$CTL_OUT" | awk '$1 ~ /:/ { print $1, $2, $3 }' | sort
}
status_json() {
	grep -o '{"name":"[^"]*","group":"[^"]*","process":"[^"]*","state":"[^"]*","want":"[^"]*","pid":[0-9a-z]*' "$DIR/j.out" |
	    sed 's/^{"name":"\([^"]*\)".*"state":"\([^"]*\)".*"pid":\([0-9a-z]*\)$/\1 \2 \3/; s/ null$/ -/' |
	    sort
}
# "NAME: MESSAGE" from start/stop/restart/reload results.
results_json() {
	grep -o '{"name":"[^"]*","ok":[a-z]*,"state":[^,]*,"message":"[^"]*"}' "$DIR/j.out" |
	    sed 's/^{"name":"\([^"]*\)".*"message":"\([^"]*\)"}$/\1: \2/'
}
results_states() {
	grep -o '{"name":"[^"]*","ok":[a-z]*,"state":[^,]*' "$DIR/j.out" |
	    sed 's/^{"name":"\([^"]*\)","ok":\([a-z]*\),"state":"*\([^",]*\)"*$/\1 \2 \3/'
}

# ---------------------------------------------------------------- status

ctl status
json status
one_document "status"
same_exit "status (one process STOPPED)"
check "status: exit 3 (idle is STOPPED)" test "$JRC" = 3
same "status: the same names, states and pids" "$(status_text)" "$(status_json)"
check "status: the processes array has the 4 processes" \
    test "$(status_json | wc -l)" -eq 4
check "status: leashd's pid and the protocol version" \
    grep -q "^{\"protocol\":1,\"leashd\":{\"pid\":$LEASHD_PID," "$DIR/j.out"
check "status: idle has pid null and description \"not started\"" \
    grep -q '"name":"idle:idle",[^{]*"pid":null,.*"description":"not started"' "$DIR/j.out"

ctl status 'web:*'
json status 'web:*'
one_document "status web:*"
same_exit "status web:* (all RUNNING)"
check "status web:*: exit 0" test "$JRC" = 0
same "status web:*: the same processes" "$(status_text)" "$(status_json)"

ctl status nosuch
json status nosuch
one_document "status nosuch"
same_exit "status of an unknown name"
check "status nosuch: the error is in the JSON, as in the text" \
    grep -q '"results":\[{"name":"nosuch","ok":false,"state":null,"message":"ERROR (no such process)"}\]' "$DIR/j.out"

# ---------------------------------------------------------------- pid

ctl pid
json pid
one_document "pid"
same_exit "pid"
check "pid: {\"pid\":$(cat "$CTL_OUT")}, leashd's" \
    test "$(cat "$DIR/j.out")" = "{\"pid\":$LEASHD_PID}"
ctl pid 'web:*'
json pid 'web:*'
one_document "pid web:*"
same_exit "pid web:*"
same "pid web:*: the same pids, in the same order" "$(cat "$CTL_OUT")" \
    "$(grep -o '"pid":[0-9a-z]*' "$DIR/j.out" | sed 's/"pid"://')"
check "pid web:*: named web:web_0 and web:web_1" \
    test "$(grep -o '"name":"[^"]*"' "$DIR/j.out" | tr '\n' ' ')" = \
    '"name":"web:web_0" "name":"web:web_1" '
ctl pid idle
json pid idle
one_document "pid idle"
same_exit "pid of a stopped process"
check "pid idle: null" grep -q '"name":"idle:idle","pid":null' "$DIR/j.out"
ctl pid nosuch
json pid nosuch
one_document "pid nosuch"
same_exit "pid of an unknown name"
check "pid nosuch: the error is in the JSON, as in the text" \
    grep -q '"results":\[{"name":"nosuch","ok":false,"state":null,"message":"ERROR (no such process)"}\]' "$DIR/j.out"

# ---------------------------------------------------------------- errors, tail

json reload nosuch
one_document "reload nosuch"
check "reload nosuch: a result, not an empty body" \
    grep -q '"name":"nosuch","ok":false' "$DIR/j.out"
json signal NOSIG web:web_0
one_document "signal NOSIG"
check "signal NOSIG: an error of the same shape as every other ({\"error\"})" \
    grep -q '^{"error":"ERROR (NOSIG: ' "$DIR/j.out"
json tail web:web_0
one_document "tail web:web_0"
check "tail: {\"name\",\"stream\",\"data\"}, not plain text" \
    grep -q '^{"name":"web:web_0","stream":"stdout","data":' "$DIR/j.out"
json tail -f web:web_0
one_document "tail -f"
check "tail -f has no JSON form: an error, exit 2" test "$JRC" = 2

# ---------------------------------------------------------------- start / stop / restart

ctl stop 'web:*'
text_stop=$(cat "$CTL_OUT") text_stop_rc=$CTL_RC
ctl start 'web:*'
text_start=$(cat "$CTL_OUT") text_start_rc=$CTL_RC

CTL_RC=$text_stop_rc
json stop 'web:*'
one_document "stop web:*"
same_exit "stop web:*"
same "stop web:*: the same messages" "$text_stop" "$(results_json)"
same "stop web:*: ok, STOPPED" "web:web_0 true STOPPED
web:web_1 true STOPPED" "$(results_states)"
ctl status 'web:*'
check "after --json stop: status shows both STOPPED" \
    eval 'out_has "^web:web_0 +STOPPED" && out_has "^web:web_1 +STOPPED"'

CTL_RC=$text_start_rc
json start 'web:*'
one_document "start web:*"
same_exit "start web:*"
same "start web:*: the same messages" "$text_start" "$(results_json)"
same "start web:*: ok, RUNNING" "web:web_0 true RUNNING
web:web_1 true RUNNING" "$(results_states)"
ctl status 'web:*'
check "after --json start: status shows both RUNNING" \
    eval 'out_has "^web:web_0 +RUNNING" && out_has "^web:web_1 +RUNNING"'

ctl restart web_0
text=$(cat "$CTL_OUT")
json restart web_0
one_document "restart web_0"
same_exit "restart web_0"
same "restart web_0: the same message" "$text" "$(results_json)"

ctl reload web_1
# The text adds progress ("replacing pid N") before each result.
text=$(grep -v ': replacing pid [0-9]*$' "$CTL_OUT")
json reload web_1
one_document "reload web_1"
same_exit "reload web_1"
same "reload web_1: the same message" "$text" "$(results_json)"

# Errors keep the reply one JSON document and the exit status 1.
ctl start api
json start api
one_document "start of a running process"
same_exit "start of a running process (already started)"
check "start of a running process: the JSON says already started" \
    grep -q '"name":"api:api","ok":false.*already started' "$DIR/j.out"

ctl stop idle
json stop idle
one_document "stop of a stopped process"
same_exit "stop of a stopped process (not running)"

ctl start nosuch
json start nosuch
one_document "start of an unknown name"
same_exit "start of an unknown name"
check "start of an unknown name: the JSON names it" grep -q 'nosuch' "$DIR/j.out"

# ---------------------------------------------------------------- avail

ctl avail
json avail
one_document "avail"
same_exit "avail"
avail_text() {
	awk '{ print $1, ($2 " " $3 == "in use" ? "in_use" : $2),
	    ($2 " " $3 == "in use" ? $4 : $3) }' "$CTL_OUT" | sort
}
avail_json() {
	grep -o '{"name":"[^"]*","in_use":[a-z]*,"autostart":[a-z]*' "$DIR/j.out" |
	    sed 's/^{"name":"\([^"]*\)","in_use":\([a-z]*\),"autostart":\([a-z]*\)$/\1 \2 \3/' |
	    sed 's/ true / in_use /; s/ false / removed /; s/ true$/ auto/; s/ false$/ manual/' |
	    sort
}
same "avail: the same programs, in use, auto/manual" "$(avail_text)" "$(avail_json)"
check "avail: priority and numprocs" \
    eval 'grep -q "\"name\":\"web\",[^}]*\"priority\":10,\"numprocs\":2}" "$DIR/j.out" &&
	grep -q "\"name\":\"api\",[^}]*\"priority\":999,\"numprocs\":1}" "$DIR/j.out" &&
	out_has "^web .* 10:10\$"'

# ---------------------------------------------------------------- version

ctl version
json version
one_document "version"
same_exit "version"
check "version: {\"version\":\"$(cat "$CTL_OUT")\",\"protocol\":1}" \
    test "$(cat "$DIR/j.out")" = "{\"version\":\"$(cat "$CTL_OUT")\",\"protocol\":1}"

# ---------------------------------------------------------------- reread

lines_json() {
	sed 's/^{"ok":[a-z]*,"lines":\[//; s/\]}$//; s/^"//; s/"$//' "$DIR/j.out" |
	    sed 's/","/\n/g' | sed 's/\\"/"/g; s/\\\\/\\/g'
}

ctl reread
json reread
one_document "reread (no change)"
same_exit "reread (no change)"
check "reread (no change): {\"ok\":true,\"lines\":[]}" \
    test "$(cat "$DIR/j.out")" = '{"ok":true,"lines":[]}'

write_config "$conf" <<EOF
[program:web]
command = $WORKER --print web
process_name = %(program_name)s_%(process_num)d
numprocs = 2
priority = 10
$common

[program:api]
command = $WORKER --print api-v2
$common

[program:extra]
command = $WORKER --print extra
$common
EOF
ctl reread
json reread
one_document "reread (changes)"
same_exit "reread (changes)"
check "reread (changes): ok true" grep -q '^{"ok":true,' "$DIR/j.out"
same "reread (changes): the same lines, in the same order" "$(cat "$CTL_OUT")" "$(lines_json)"
check "reread (changes): idle disappeared, api changed, extra available" \
    eval 'out_has "^idle: disappeared\$" && out_has "^api: changed\$" &&
	out_has "^extra: available\$"'

cp "$conf" "$DIR/good.ini"
printf '[program:broken\ncommand = \n' >>"$conf"
ctl reread
json reread
one_document "reread (a broken file)"
same_exit "reread (a broken file)"
check "reread (a broken file): exit 1" test "$JRC" = 1
check "reread (a broken file): ok false" grep -q '^{"ok":false,' "$DIR/j.out"
same "reread (a broken file): the same ERROR lines" "$(cat "$CTL_OUT")" "$(lines_json)"
cp "$DIR/good.ini" "$conf"

# ---------------------------------------------------------------- shutdown

json shutdown
one_document "shutdown"
check "shutdown: {\"ok\":true}, exit 0" \
    eval 'test "$JRC" = 0 && test "$(cat "$DIR/j.out")" = "{\"ok\":true}"'
wait_leashd_exit 15
check "leashd exits 0 after --json shutdown (status $LEASHD_STATUS)" \
    test "$LEASHD_STATUS" = 0
