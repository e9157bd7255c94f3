#!/bin/sh
# SIGHUP applies only the difference: an added program starts, a removed one
# stops, a changed one restarts with a new pid, an untouched one keeps its
# pid.  A broken file on SIGHUP is rejected and changes nothing; reloading
# the same good file afterwards changes nothing either.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh"

conf=$DIR/leash.ini
common="startsecs = 0.2
stopwaitsecs = 2
stdout_logfile = NONE
stderr_logfile = NONE"

cat >"$conf" <<EOF
[leashd]
childlogdir = $DIR/logs

[program:keep]
command = $WORKER --print keep
$common

[program:change]
command = $WORKER --print v1
$common

[program:remove]
command = $WORKER --print remove
$common
EOF

start_leashd "$conf"

all_up() {
	in_state keep:keep RUNNING && in_state change:change RUNNING &&
	    in_state remove:remove RUNNING
}
wait_for "keep, change and remove reach RUNNING" 10 all_up
keep=$(worker_pid keep:keep)
change_old=$(worker_pid change:change)
remove=$(worker_pid remove:remove)
diag "before the reload: keep $keep, change $change_old, remove $remove"
check "their pids are alive" all_alive $keep $change_old $remove

cat >"$conf" <<EOF
[leashd]
childlogdir = $DIR/logs

; Sections in another order and comments added: not a change.
[program:add]
command = $WORKER --print add
$common

[program:change]
command = $WORKER --print v2
$common

[program:keep]
command = $WORKER --print keep
$common
EOF
signal_leashd HUP

wait_for "the reload is logged as 1 added, 1 changed, 1 removed" 10 \
    log_has ' leashd: reloaded: 1 added, 1 changed, 1 removed$'
wait_for "add reaches RUNNING" 10 in_state add:add RUNNING
add=$(worker_pid add:add)
check "add's pid $add is alive" alive "$add"

wait_for "remove is STOPPED" 10 in_state remove:remove STOPPED
wait_for "remove's pid $remove is gone" 10 dead "$remove"
check "remove was not restarted" test "$(spawn_count remove:remove)" -eq 1

change_restarted() {
	[ "$(spawn_count change:change)" -ge 2 ] &&
	    in_state change:change RUNNING
}
wait_for "change is restarted and RUNNING" 10 change_restarted
change_new=$(worker_pid change:change)
diag "after the reload: keep $(worker_pid keep:keep), change $change_new, add $add"
check "change has a new pid ($change_old -> $change_new)" \
    test -n "$change_new" -a "$change_new" != "$change_old"
check "change's old pid is gone" dead "$change_old"
check "change's new pid is alive" alive "$change_new"
check "change went through STOPPED before starting again" \
    test "$(log_line 'change:change STOPPING -> STOPPED')" -lt \
    "$(last_log_line 'change:change STOPPED -> STARTING')"
check "change was spawned exactly twice" \
    test "$(spawn_count change:change)" -eq 2

check "keep kept its pid" test "$(worker_pid keep:keep)" = "$keep"
check "keep is still alive" alive "$keep"
check "keep was spawned once only" test "$(spawn_count keep:keep)" -eq 1
check "keep never left RUNNING" \
    test "$(count_log ' program: keep:keep RUNNING -> ')" -eq 0
check "leashd is still running" alive "$LEASHD_PID"

# ---- a broken file: rejected, nothing changes
good=$DIR/good.ini
cp "$conf" "$good"
cat >"$conf" <<EOF
[leashd]
childlogdir = $DIR/logs

[program:add]
command = $WORKER --print add
$common

[program:change]
command = $WORKER --print v3
startsecs = soon
EOF
spawns_before=$(count_log ' spawned with pid ')
lines_before=$(count_of_lines "$LEASHD_LOG")
signal_leashd HUP
wait_for "the broken file is rejected" 10 \
    log_has ' leashd: reload rejected: '
bad_line=$(grep -n '^startsecs = soon$' "$conf" | cut -d: -f1)
check "the error names the file, line ($bad_line) and key" \
    log_has " config: error: $conf:$bad_line: \\[program:change\\] startsecs: "
check "leashd is still running" alive "$LEASHD_PID"
check "nothing was stopped or started by the rejected reload" \
    test "$(sed -n "$((lines_before + 1)),\$p" "$LEASHD_LOG" |
    grep -c -E ' -> (STOPPING|STARTING)$')" -eq 0
check "no spawn since the rejected reload" \
    test "$(count_log ' spawned with pid ')" -eq "$spawns_before"
check "keep, change and add keep their pids" \
    test "$(worker_pid keep:keep) $(worker_pid change:change) $(worker_pid add:add)" = \
    "$keep $change_new $add"
check "their pids are all alive" all_alive $keep $change_new $add
check "keep, change and add are still RUNNING" \
    test "$(state_of keep:keep)$(state_of change:change)$(state_of add:add)" = \
    RUNNINGRUNNINGRUNNING

# ---- a value that cannot be expanded (a width of 2^31 once made
# vasprintf fail, and leashd exit): rejected the same way
cat >"$conf" <<EOF
[leashd]
childlogdir = $DIR/logs

[program:change]
command = $WORKER --print %(program_name)2147483648s
EOF
signal_leashd HUP
wait_for "the file with a huge width is rejected" 10 \
    eval '[ "$(count_log " leashd: reload rejected: ")" -ge 2 ]'
bad_line=$(grep -n '^command = ' "$conf" | cut -d: -f1)
check "the error names the file, line ($bad_line), key and the width" \
    log_has " config: error: $conf:$bad_line: \\[program:change\\] command: .*width over 4096"
check "leashd is still running" alive "$LEASHD_PID"
check "no spawn since the rejected reloads" \
    test "$(count_log ' spawned with pid ')" -eq "$spawns_before"

# ---- the good file again: the running set still matches it
cp "$good" "$conf"
signal_leashd HUP
wait_for "reloading the unchanged good file changes nothing" 10 \
    log_has ' leashd: reloaded: 0 added, 0 changed, 0 removed$'
check "still no new spawn" \
    test "$(count_log ' spawned with pid ')" -eq "$spawns_before"
check "the pids are unchanged and alive" all_alive $keep $change_new $add

# ---- use_cgroups applies at a start only: a reload says so
sed 's/^\[leashd\]$/[leashd]\nuse_cgroups = false/' "$good" >"$conf"
signal_leashd HUP
wait_for "use_cgroups = false at a reload: leashd says it waits for its next start" 10 \
    log_has ' leashd: use_cgroups = false takes effect at the next start of leashd; workers keep '
check "and nothing restarts for it" \
    test "$(count_log ' spawned with pid ')" -eq "$spawns_before"

signal_leashd TERM
wait_leashd_exit 10
check "leashd exits 0 on SIGTERM (status $LEASHD_STATUS)" \
    test "$LEASHD_STATUS" = 0
check "every worker is gone" none_alive $keep $change_new $add
