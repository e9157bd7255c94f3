#!/bin/sh
# ready = notify: a worker is RUNNING once READY=1 comes from it or from a
# process of its tree (a child, a grandchild; by cgroup, and by ancestry
# without cgroups), not before; late readiness within ready_timeout is
# fine, none at all is a failed start (killed, BACKOFF, FATAL).  STATUS=
# text shows in leashctl status and --json.  A stranger's READY=1 (a
# process leashd did not start) is dropped.  A reload whose replacement
# never sends READY=1 leaves the old process serving.  watchdog_sec: a
# worker that keeps sending WATCHDOG=1 stays, one that stops is replaced
# with reason "watchdog"; both get WATCHDOG_USEC and WATCHDOG_PID.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" &&
    . "$here/sd_lib.sh"

# rel says READY=1, unless $DIR/no-ready exists: then it never does.
cat >"$DIR/rel.sh" <<EOF
#!/bin/sh
[ -e "$DIR/no-ready" ] && exec "$NOTIFIER"
exec "$NOTIFIER" READY=1
EOF
# wdbad records its environment, says READY=1 and WATCHDOG=1 once, and
# then nothing.
cat >"$DIR/wdbad.sh" <<EOF
#!/bin/sh
echo "pid=\$\$ WATCHDOG_USEC=\${WATCHDOG_USEC-unset} WATCHDOG_PID=\${WATCHDOG_PID-unset}" >>"$DIR/wdbad.env"
exec "$NOTIFIER" READY=1 WATCHDOG=1
EOF
# The READY=1 of grandchild comes from a grandchild of the worker.
cat >"$DIR/grandchild.sh" <<EOF
#!/bin/sh
"$NOTIFIER" --from-child --stay 60 READY=1
EOF
# The documented way for a script: systemd-notify --ready, then exec.
cat >"$DIR/script.sh" <<EOF
#!/bin/sh
systemd-notify --ready --status="ready from a script" || exit 1
exec "$WORKER"
EOF
chmod +x "$DIR/rel.sh" "$DIR/wdbad.sh" "$DIR/grandchild.sh" "$DIR/script.sh"
have_systemd_notify=
command -v systemd-notify >/dev/null 2>&1 && have_systemd_notify=yes

esc=$(printf '\033')
tab=$(printf '\t')
long="x$(printf '\303\251%.0s' $(seq 150))"
badbyte=$(printf '\377')
common="ready = notify
startsecs = 0
stopwaitsecs = 2
stdout_logfile = NONE
stderr_logfile = NONE"

LOGLEVEL=debug
{
	leashd_section
	cat <<EOF

[program:self]
command = $NOTIFIER --delay 1 READY=1
ready_timeout = 20
$common

[program:gated]
command = $NOTIFIER --wait $DIR/go READY=1
ready_timeout = 30
$common

[program:child]
command = $NOTIFIER --from-child --stay 60 --delay 0.2 READY=1
ready_timeout = 20
$common

[program:late]
command = $NOTIFIER --delay 2 READY=1
ready_timeout = 4
$common

[program:never]
command = $WORKER
ready_timeout = 1
startretries = 1
$common

[program:status]
command = $NOTIFIER READY=1 "STATUS=serving 3 requests"
ready_timeout = 20
$common

; A terminal escape and a tab in STATUS= (they would reach leashctl's
; terminal); 301 bytes of which 300 are 2-byte characters (cut at 200
; bytes, between characters).
[program:escape]
command = $NOTIFIER READY=1 "STATUS=red${esc}[31mtext${tab}end"
ready_timeout = 20
$common

[program:long]
command = $NOTIFIER READY=1 "STATUS=$long"
ready_timeout = 20
$common

; Bytes that are not UTF-8 in STATUS=: JSON replies stay valid.
[program:badutf]
command = $NOTIFIER READY=1 "STATUS=a${badbyte}b"
ready_timeout = 20
$common

[program:rel]
command = $DIR/rel.sh
ready_timeout = 2
$common

[program:wdgood]
command = $NOTIFIER --every 0.2 READY=1 WATCHDOG=1
watchdog_sec = 1
ready_timeout = 20
$common

[program:wdbad]
command = $DIR/wdbad.sh
watchdog_sec = 1
ready_timeout = 20
$common
EOF
	[ -n "$have_systemd_notify" ] && cat <<EOF

[program:script]
command = $DIR/script.sh
ready_timeout = 10
$common
EOF
} >"$DIR/leash.ini"

start_leashd "$DIR/leash.ini"

# ---------------------------------------------------------------- self
# READY=1 a second after the start: STARTING until then.
wait_for "self is spawned" 10 log_has ' program: self:self spawned with pid '
self_pid=$(worker_pid self:self)
ctl --json status self:self >"$DIR/self.json" 2>/dev/null
if log_has " notify: self:self: pid $self_pid sent READY=1\$"; then
	skip "self's READY=1 came before leashctl status could look (slow machine)"
else
	check "self is STARTING while it has not sent READY=1" \
	    grep -q '"state":"STARTING"' "$DIR/self.json"
fi
wait_for "self is RUNNING after its READY=1" 10 in_state self:self RUNNING
check "self went RUNNING only after leashd got its READY=1 (log order)" \
    test "$(log_line " notify: self:self: pid $self_pid sent READY=1\$")" -lt \
    "$(log_line ' program: self:self STARTING -> RUNNING$')"
took=$(ms_between "$(log_ms ' program: self:self spawned with pid ')" \
    "$(log_ms ' program: self:self STARTING -> RUNNING$')")
check "self was STARTING for its --delay 1 (${took} ms)" test "$took" -ge 900

# ---------------------------------------------------------------- stranger
# stranger_test NAME GOFILE: a notifier the test starts itself, with
# leashd's NOTIFY_SOCKET, sends READY=1 while NAME waits for GOFILE.
stranger_test() {
	_n=$1
	wait_for "$_n is spawned" 10 log_has " program: $_n:$_n spawned with pid "
	check "$_n is STARTING" in_state "$_n:$_n" STARTING
	NOTIFY_SOCKET=${CTL_SOCK%.sock}.notify "$NOTIFIER" READY=1 \
	    "STATUS=from a stranger" >/dev/null 2>&1 &
	_s=$!
	bg_track $_s
	wait_for "a stranger's (pid $_s) READY=1 is dropped: \"no worker's\"" 10 \
	    log_has " notify: dropped a message from pid $_s, which is no worker's\$"
	check "$_n is still STARTING" in_state "$_n:$_n" STARTING
	jstatus "$_n:$_n"
	check "leashctl says STARTING too" test "$(jfield state)" = '"STARTING"'
	check "the stranger's STATUS= is not $_n's" test "$(jfield status_text)" = null
	kill -TERM "$_s" 2>/dev/null
	touch "$2"
	wait_for "$_n is RUNNING once it sends READY=1 itself" 10 \
	    in_state "$_n:$_n" RUNNING
	check "that READY=1 is logged as $_n's own" \
	    log_has " notify: $_n:$_n: pid $(worker_pid "$_n:$_n") sent READY=1\$"
}
stranger_test gated "$DIR/go"

# ---------------------------------------------------------------- child, late
wait_for "child is RUNNING: READY=1 from a child of the worker" 10 \
    in_state child:child RUNNING
check "child's main process never sent anything: it was attributed" \
    test "$(spawn_count child:child)" -eq 1

wait_for "late is RUNNING: READY=1 2 s after start, ready_timeout 4 s" 10 \
    in_state late:late RUNNING
took=$(ms_between "$(log_ms ' program: late:late spawned with pid ')" \
    "$(log_ms ' program: late:late STARTING -> RUNNING$')")
check "late was STARTING for 2 s (${took} ms) and started once" \
    test "$took" -ge 1900 -a "$(spawn_count late:late)" -eq 1
check "late was not killed for ready_timeout" \
    test "$(count_log ' late:late: pid [0-9]+ did not send READY=1')" -eq 0

# ---------------------------------------------------------------- never
wait_for "never (no READY=1, ready_timeout 1 s) ends FATAL" 15 \
    in_state never:never FATAL
check "it was drained for ready_timeout at each of its 2 starts" \
    test "$(count_log ' program: never:never: pid [0-9]+ did not send READY=1 within ready_timeout \(1\.0 s\)$')" -eq 2
check "it went through BACKOFF" log_has ' program: never:never STARTING -> BACKOFF$'
check "it was spawned startretries + 1 = 2 times" \
    test "$(spawn_count never:never)" -eq 2
check "it was never RUNNING" \
    test "$(count_log ' program: never:never [A-Z]+ -> RUNNING$')" -eq 0
check "its last pid is gone" dead "$(worker_pid never:never)"

# ---------------------------------------------------------------- STATUS=
wait_for "status is RUNNING" 10 in_state status:status RUNNING
status_info() {
	ctl status status:status 2>/dev/null >"$DIR/status.txt"
	grep -E -q '^status:status +RUNNING .*  serving 3 requests$' "$DIR/status.txt"
}
wait_for "leashctl status shows STATUS= text in INFO" 10 status_info
status_json() {
	jstatus status:status && [ "$(jfield status_text)" = '"serving 3 requests"' ]
}
wait_for "leashctl --json status: status_text" 10 status_json
check "and the description has it too" \
    test "$(jfield description)" = '"serving 3 requests"'
wait_for "escape is RUNNING" 10 in_state escape:escape RUNNING
escape_json() {
	jstatus escape:escape && [ "$(jfield status_text)" = '"red [31mtext end"' ]
}
wait_for "control characters of STATUS= are shown as spaces" 10 escape_json
wait_for "long is RUNNING" 10 in_state long:long RUNNING
long_json() {
	jstatus long:long &&
	    [ "$(jfield status_text)" = "\"x$(printf '\303\251%.0s' $(seq 99))\"" ]
}
wait_for "a long STATUS= is cut at 200 bytes, between characters" 10 long_json
wait_for "badutf is RUNNING" 10 in_state badutf:badutf RUNNING
badutf_json() {
	jstatus badutf:badutf &&
	    [ "$(jfield status_text)" = '"a\ufffdb"' ]
}
wait_for "a byte that is not UTF-8 is sent as \\ufffd in JSON" 10 badutf_json
if command -v python3 >/dev/null 2>&1; then
	check "the --json status reply is one valid JSON document" \
	    python3 -c 'import json, sys; json.load(open(sys.argv[1], encoding="utf-8"))' "$JSON"
else
	skip "no python3 to validate the JSON"
fi

# ---------------------------------------------------------------- script
if [ -n "$have_systemd_notify" ]; then
	wait_for "script (systemd-notify --ready, then exec) is RUNNING" 10 \
	    in_state script:script RUNNING
	script_status() {
		jstatus script:script &&
		    [ "$(jfield status_text)" = '"ready from a script"' ]
	}
	wait_for "its systemd-notify --status= text is shown" 10 script_status
else
	skip "no systemd-notify here"
	skip "no systemd-notify here"
fi

# ---------------------------------------------------------------- reload
wait_for "rel is RUNNING" 10 in_state rel:rel RUNNING
rel_old=$(worker_pid rel:rel)
touch "$DIR/no-ready"
ctl reload rel:rel >"$DIR/reload.out" 2>&1
rc=$?
diag "leashctl reload: exit $rc:" "$(cat "$DIR/reload.out")"
check "leashctl reload fails: the replacement never sent READY=1" \
    test "$rc" -ne 0
check "it says the old process keeps serving" \
    grep -q '^rel:rel: ERROR (the replacement did not become ready; the old process keeps serving)$' \
    "$DIR/reload.out"
check "leashd says why: no READY=1 within ready_timeout" \
    log_has " program: rel:rel: replacement failed \\(it did not send READY=1 within ready_timeout\\); pid $rel_old keeps serving"
cand=$(sed -n 's/.* program: rel:rel spawned with pid \([0-9]*\) (replacement)$/\1/p' \
    "$LEASHD_LOG" | tail -n 1)
check "a replacement was started (pid ${cand:-none})" test -n "$cand"
wait_for "the replacement is gone" 10 dead "$cand"
check "the old pid $rel_old still serves" alive "$rel_old"
jstatus rel:rel
check "leashctl: rel is RUNNING with pid $rel_old" \
    test "$(jfield state) $(jfield pid)" = "\"RUNNING\" $rel_old"
check "no reload counted, 1 failed replacement" \
    test "$(jfield reload)/$(jfield replace_failures)" = 0/1
check "the log never had rel leave RUNNING" \
    test "$(count_log ' program: rel:rel RUNNING -> ')" -eq 0
rm -f "$DIR/no-ready"
ctl reload rel:rel >"$DIR/reload.out" 2>&1
rc=$?
check "with READY=1 again, a reload succeeds (exit $rc)" \
    grep -q '^rel:rel: reloaded$' "$DIR/reload.out"
rel_new=$(sed -n 's/.* program: rel:rel: replacement pid \([0-9]*\) is ready (reload)$/\1/p' \
    "$LEASHD_LOG" | tail -n 1)
check "rel has a new pid (${rel_new:-none})" \
    test -n "$rel_new" -a "$rel_new" != "$rel_old"
wait_for "the old one is drained" 10 dead "$rel_old"

# ---------------------------------------------------------------- watchdog
# wdbad stops sending WATCHDOG=1 right away: replaced every second or so.
# Three replacements are a window of 3 s and more for wdgood.
three_replaced() {
	[ "$(count_log ' program: wdbad:wdbad: replacement pid [0-9]+ is ready \(watchdog\)$')" -ge 3 ]
}
wait_for "wdbad (silent after one WATCHDOG=1) is replaced 3 times" 20 \
    three_replaced
check "leashd says: no WATCHDOG=1 for watchdog_sec" \
    log_has ' program: wdbad:wdbad: no WATCHDOG=1 from pid [0-9]+ for [0-9.]+ s \(watchdog_sec\): replacing it$'
first=$(sed -n 's/.* program: wdbad:wdbad spawned with pid \([0-9]*\)$/\1/p' \
    "$LEASHD_LOG" | head -n 1)
check "its first pid $first was the one found silent" \
    log_has " program: wdbad:wdbad: no WATCHDOG=1 from pid $first for "
wait_for "and is drained away" 10 dead "$first"
jstatus wdbad:wdbad
wd=$(jfield watchdog)
check "--json: restarts_by_reason.watchdog = $wd >= 3" test "${wd:-0}" -ge 3
check "--json: last_reason is watchdog" test "$(jfield last_reason)" = '"watchdog"'
check "--json: still RUNNING" test "$(jfield state)" = '"RUNNING"'
diag "wdbad's environments:" "$(cat "$DIR/wdbad.env")"
check "its first process had WATCHDOG_USEC=1000000 and WATCHDOG_PID=$first" \
    grep -q "^pid=$first WATCHDOG_USEC=1000000 WATCHDOG_PID=$first\$" \
    "$DIR/wdbad.env"
check "every one of them had WATCHDOG_PID = its own pid" \
    test "$(grep -c -v '^pid=\([0-9]*\) WATCHDOG_USEC=1000000 WATCHDOG_PID=\1$' "$DIR/wdbad.env")" -eq 0

check "wdgood (WATCHDOG=1 every 0.2 s) was never found silent" \
    test "$(count_log ' wdgood:wdgood: no WATCHDOG=1')" -eq 0
check "nor replaced, nor restarted" \
    test "$(count_log ' wdgood:wdgood: replac')" -eq 0 -a \
    "$(spawn_count wdgood:wdgood)" -eq 1
jstatus wdgood:wdgood
check "--json: wdgood RUNNING, watchdog 0, restarts 0" \
    test "$(jfield state) $(jfield watchdog) $(jfield restarts)" = \
    '"RUNNING" 0 0'

signal_leashd TERM
wait_leashd_exit 15
check "leashd exits 0 (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0
check "none of its workers is left" \
    test -z "$(pids_of_token_owners "$LEASHD_PID")"

# ---------------------------------------------------------------- no cgroups
# Without cgroups a sender is found through its ancestry.
{
	leashd_section
	cat <<EOF
use_cgroups = false

[program:child]
command = $NOTIFIER --from-child --stay 60 --delay 0.2 READY=1
ready_timeout = 20
$common

[program:grandchild]
command = $DIR/grandchild.sh
ready_timeout = 20
$common

[program:gated]
command = $NOTIFIER --wait $DIR/go2 READY=1
ready_timeout = 30
$common
EOF
} >"$DIR/nocg.ini"
start_leashd "$DIR/nocg.ini" "$DIR/nocg.log"
wait_for "use_cgroups = false: leashd tracks trees through /proc" 10 \
    log_has ' cgroup: not using cgroups: use_cgroups = false'
wait_for "child is RUNNING: READY=1 from its child, by ancestry" 10 \
    in_state child:child RUNNING
wait_for "grandchild is RUNNING: READY=1 from its grandchild" 10 \
    in_state grandchild:grandchild RUNNING
stranger_test gated "$DIR/go2"
signal_leashd TERM
wait_leashd_exit 15
check "leashd exits 0 (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0
