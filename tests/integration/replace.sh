#!/bin/sh
# Drain-then-replace.  A leaking worker is replaced: its replacement starts
# first and is ready before the old one is sent the drain signal, and the
# old one exits on its own (a graceful drain).  A worker that ignores the
# drain signal is killed, children and all, after drain_timeout.  While
# leaking workers are replaced over and over, as many as numprocs are
# RUNNING at every moment.  leashctl reload replaces every worker the same
# way, one slot at a time.  A replacement that fails to start leaves the
# old worker serving.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" && . "$here/mem_lib.sh"


quiet="stdout_logfile = NONE
stderr_logfile = NONE"
# A leak of 40 MiB/s that stops at 48 MiB, so nothing grows without bound
# even when a test fails; memory_limit 32M is crossed about 0.8 s after a
# start, well after startsecs.
leak="--grow 2M --tick 0.05 --plateau 48M"
limits="memory_limit = 32M
memory_interval = 100ms
memory_samples = 2"

# ================================================================ leaks

cat >"$DIR/leak.ini" <<EOF
$(leashd_section)

[program:web]
command = $WORKER $leak --events $DIR/web.%(process_num)d
process_name = web_%(process_num)d
numprocs = 2
startsecs = 0.3
$limits
drain_timeout = 2s
max_replacing = 2
$quiet

; Ignores the drain signal: SIGKILL after drain_timeout.
[program:stubborn]
command = $WORKER $leak --ignore-term --events $DIR/stubborn.ev
startsecs = 0.3
$limits
drain_timeout = 1s
$quiet

; Ignores it too, and has two children in its process group and a
; double-forked setsid() grandchild that ignores SIGTERM.
[program:kids]
command = $WORKER $leak --ignore-term --children 2 --daemon --tree $DIR/kids.tree
    --events $DIR/kids.ev
startsecs = 0.3
$limits
drain_timeout = 1s
$quiet
EOF

start_leashd "$DIR/leak.ini" "$DIR/leak.log"

wait_for "web_0 and web_1 reach RUNNING" 10 eval \
    'in_state web:web_0 RUNNING && in_state web:web_1 RUNNING'
w0=$(worker_pid web:web_0)
w1=$(worker_pid web:web_1)
diag "web_0: pid $w0, web_1: pid $w1"

# The first stubborn and kids workers, before anything replaces them.
wait_for "stubborn and kids reach RUNNING, kids with its 2 children and grandchild" 10 eval \
    'in_state stubborn:stubborn RUNNING && in_state kids:kids RUNNING &&
    [ "$(count_of_lines "$DIR/kids.tree")" -ge 3 ]'
s0=$(worker_pid stubborn:stubborn)
k0=$(worker_pid kids:kids)
kchildren=$(head -n 3 "$DIR/kids.tree")
diag "stubborn: pid $s0; kids: pid $k0, children and grandchild $(echo $kchildren)"

# ---- a leaking worker is replaced

# Over the limit for memory_samples samples, or heading for it within the
# time a replacement takes to be ready (replaced ahead of the limit).
over_re='(over memory_limit 32\.0M for [0-9]+ samples|heading for memory_limit 32\.0M in [0-9.]+ s: replacing it ahead of the limit)'
wait_for "web_0's pid $w0 is reported over (or heading for) memory_limit" 10 \
    log_has " memory: web:web_0: pid $w0 uses [0-9.]+M, $over_re\$"
wait_for "web_0's first replacement is complete (old pid $w0 gone)" 15 \
    log_has " program: web:web_0: old pid $w0 is gone "
new0=$(replaced_pairs web:web_0 | awk -v o="$w0" '$1 == o { print $2 }')
diag "web_0: pid $w0 replaced by pid ${new0:-?}"
check "web_0's replacement pid differs from $w0" \
    eval '[ -n "$new0" ] && [ "$new0" != "$w0" ]'

# In the log, in this order: over the limit, replacing, the replacement
# spawned, ready, the old one drained, gone.
check "the log shows over limit, replacing, spawned, ready, draining, gone, in order" \
    log_in_order \
    " memory: web:web_0: pid $w0 uses [0-9.]+M, $over_re\$" \
    " program: web:web_0: replacing pid $w0 \(memory\): starting its replacement first\$" \
    " program: web:web_0 spawned with pid $new0 \(replacement\)\$" \
    " program: web:web_0: replacement pid $new0 is ready \(memory\)\$" \
    " program: web:web_0: draining pid $w0 with SIGTERM \(SIGKILL in 2\.0 s\)\$" \
    " program: web:web_0: old pid $w0 is gone \(exit status 0\)\$"
check "the old pid $w0 drained gracefully (exit status 0)" \
    log_has " program: web:web_0: old pid $w0 is gone \(exit status 0\)\$"
check "the old pid $w0 is gone" dead "$w0"
# It leaks too: it may be replaced in its turn already, but only by a drain.
check "the replacement $new0 is alive, or was drained in its turn" \
    eval 'alive "$new0" || log_has " program: web:web_0: old pid $new0 is gone \(exit status 0\)\$"'

wait_for "web_1 is replaced too" 15 eval \
    '[ -n "$(replaced_pairs web:web_1)" ]'

jwait "json: web_0 restarts_by_reason.memory >= 1, last_reason memory" 10 \
    'p("web:web_0")["restarts_by_reason"]["memory"] >= 1 and p("web:web_0")["last_reason"] == "memory"'
jwait "json: web_1 restarts_by_reason.memory >= 1, last_reason memory" 10 \
    'p("web:web_1")["restarts_by_reason"]["memory"] >= 1 and p("web:web_1")["last_reason"] == "memory"'
jcheck "json: no restart of web for another reason" \
    'all(x["restarts_by_reason"]["exit"] == 0 and x["restarts_by_reason"]["memory_max"] == 0 for x in procs if x["group"] == "web")'
jcheck "json: the memory source is named and the limit is 32M" \
    'p("web:web_0")["memory"]["source"] in ("cgroup", "rss") and p("web:web_0")["memory"]["limit"] == 32 * 1024 * 1024'

# ---- ordering: the replacement was ready before the drain signal

wait_for "web_0 has been replaced at least twice" 15 eval \
    '[ "$(replaced_pairs web:web_0 | wc -l)" -ge 2 ]'
order_ok() {
	_n=0
	for _s in 0 1; do
		replaced_pairs "web:web_$_s" >"$DIR/pairs"
		while read -r _old _new; do
			_st=$(ev_time "$DIR/web.$_s" "$_new" start)
			_te=$(ev_time "$DIR/web.$_s" "$_old" term)
			_rl=$(log_line " program: web:web_$_s: replacement pid $_new is ready ")
			_dl=$(log_line " program: web:web_$_s: draining pid $_old with ")
			if [ -z "$_st" ] || [ -z "$_te" ]; then
				diag "web_$_s: no start of $_new ($_st) or term of $_old ($_te) in the events file"
				return 1
			fi
			if ! awk -v a="$_st" -v b="$_te" 'BEGIN { exit !(a < b) }'; then
				diag "web_$_s: replacement $_new started at $_st, not before old $_old got its drain signal at $_te"
				return 1
			fi
			if [ "$_rl" -ge "$_dl" ]; then
				diag "web_$_s: 'is ready' of $_new (line $_rl) is not before 'draining pid $_old' (line $_dl)"
				return 1
			fi
			_n=$((_n + 1))
		done <"$DIR/pairs"
	done
	diag "$_n replacements checked"
	[ "$_n" -ge 3 ]
}
check "events: every replacement started before its old pid got the drain signal; log: ready before draining" \
    order_ok
# Each drained pid was sent the drain signal once, not once per attempt.
terms_once() {
	for _s in 0 1; do
		[ -z "$(awk '$3 == "term" { print $2 }' "$DIR/web.$_s" | sort | uniq -d)" ] ||
			return 1
	done
}
check "every drained web pid got the drain signal once" terms_once

# ---- a worker that ignores the drain signal is killed after drain_timeout

wait_for "stubborn's pid $s0 is drained" 15 \
    log_has " program: stubborn:stubborn: draining pid $s0 with SIGTERM \(SIGKILL in 1\.0 s\)\$"
wait_for "stubborn's pid $s0 is killed after drain_timeout" 10 \
    log_has " program: stubborn:stubborn: pid $s0 did not exit in time: SIGKILL to its tree\$"
wait_for "stubborn's pid $s0 is gone" 5 dead "$s0"
wait_for "it was killed by SIGKILL (its exit is reaped and logged)" 5 \
    log_has " program: stubborn:stubborn: old pid $s0 is gone \(terminated by SIGKILL\)\$"
waited() {
	_a=$(log_time " program: $1: draining pid $2 with ")
	_b=$(log_time " program: $1: pid $2 did not exit in time")
	_d=$(secs_between "$_a" "$_b")
	diag "$1: SIGKILL $_d s after the drain signal"
	at_least "$_d" 0.95
}
check "leashd waited drain_timeout (1 s) before the SIGKILL" \
    waited stubborn:stubborn "$s0"
check "stubborn's pid $s0 received the drain signal (events: term)" \
    test -n "$(ev_time "$DIR/stubborn.ev" "$s0" term)"
check "stubborn's pid $s0 did not exit by itself (events: no exit)" \
    test -z "$(ev_time "$DIR/stubborn.ev" "$s0" exit)"

wait_for "kids' pid $k0 is killed after drain_timeout" 15 \
    log_has " program: kids:kids: pid $k0 did not exit in time: SIGKILL to its tree\$"
check "leashd waited drain_timeout (1 s) before the SIGKILL" \
    waited kids:kids "$k0"
wait_for "kids' pid $k0, its children and grandchild $(echo $kchildren) are all gone" 5 \
    none_alive "$k0" $kchildren
wait_for "stubborn and kids are RUNNING with their replacements" 10 eval \
    'in_state stubborn:stubborn RUNNING && in_state kids:kids RUNNING'
check "no left-behind process had to be swept up" \
    eval '! log_has " leashd: pid [0-9]+ was left behind"'
check "leashd is still running" alive "$LEASHD_PID"
signal_leashd TERM
wait_leashd_exit 15
check "leashd exits 0 on SIGTERM (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0
check "no worker of it is left" test -z "$(pids_of_token_owners "$LEASHD_PID")"

# ================================================================ capacity

cat >"$DIR/cap.ini" <<EOF
$(leashd_section)

[program:cap]
command = $WORKER $leak --events $DIR/cap.ev
process_name = cap_%(process_num)d
numprocs = 3
startsecs = 0.3
$limits
drain_timeout = 2s
$quiet
EOF
start_leashd "$DIR/cap.ini" "$DIR/cap.log"

cap_up() {
	in_state cap:cap_0 RUNNING && in_state cap:cap_1 RUNNING &&
	    in_state cap:cap_2 RUNNING
}
wait_for "cap_0, cap_1 and cap_2 reach RUNNING" 10 cap_up
if [ -n "$py" ]; then
	# Sample status until six replacements have completed (bounded).
	: >"$DIR/watch.bad"
	json_watch 2000 \
	    'sum(x["restarts"] for x in procs) - sum(x["restarts"] for x in first["processes"]) >= 6' \
	    '[sum(1 for x in procs if running(x)), sum(x["restarts"] for x in procs), sum(1 for x in procs if replacing(x))]' \
	    'sum(1 for x in procs if running(x)) < 3' >"$DIR/cap.samples"
	tr -d '[],' <"$DIR/cap.samples" >"$DIR/cap.values"
	samples=$(count_of_lines "$DIR/cap.values")
	min=$(awk 'NR == 1 || $1 < m { m = $1 } END { print m + 0 }' "$DIR/cap.values")
	done_n=$(awk 'NR == 1 { a = $2 } { b = $2 } END { print b - a }' "$DIR/cap.values")
	during=$(awk '$3 > 0' "$DIR/cap.values" | wc -l | tr -d ' ')
	diag "$samples status samples ($during during a replacement), $done_n replacements meanwhile, fewest RUNNING: $min"
	[ -s "$DIR/watch.bad" ] && diag "below capacity: $(head -n 3 "$DIR/watch.bad")"
	check "replacements happened while sampling ($done_n >= 6)" \
	    test "$done_n" -ge 6
	check "many samples were taken during a replacement ($during >= 20)" \
	    test "$during" -ge 20
	check "at every sample 3 workers were RUNNING with a pid (fewest: $min)" \
	    test "$min" -ge 3
else
	for i in 1 2 3; do
		skip "capacity during replacements (no python3 to read --json)"
	done
fi
check "no worker of cap exited unexpectedly" \
    eval '! log_has " program: cap:cap_[0-9] exited: "'
signal_leashd TERM
wait_leashd_exit 15
check "leashd exits 0 on SIGTERM (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0

# ================================================================ max_replacing

# Four workers of each program leak at once; q1 replaces one slot at a
# time, q2 two.  They level off at 36M, well under the 25% past the limit that
# lets a queued worker start beyond max_replacing.
for q in 1 2; do
	cat <<EOF
[program:q$q]
command = $WORKER --grow 2M --tick 0.05 --plateau 36M --events $DIR/q$q.ev
process_name = q${q}_%(process_num)d
numprocs = 4
startsecs = 0.3
$limits
drain_timeout = 2s
max_replacing = $q
$quiet

EOF
done >"$DIR/queue.part"
{ leashd_section; echo; cat "$DIR/queue.part"; } >"$DIR/queue.ini"
start_leashd "$DIR/queue.ini" "$DIR/queue.log"

all_eight_up() {
	for _q in q1 q2; do
		for _n in 0 1 2 3; do
			in_state "$_q:${_q}_$_n" RUNNING || return 1
		done
	done
}
wait_for "the 4 workers of q1 and of q2 reach RUNNING" 10 all_eight_up
if [ -n "$py" ]; then
	json_watch 3000 \
	    'all(sum(x["restarts"] for x in procs if x["group"] == g) - sum(x["restarts"] for x in first["processes"] if x["group"] == g) >= 8 for g in ("q1", "q2"))' \
	    '[sum(1 for x in procs if x["group"] == g and x["replacement_pid"] is not None) for g in ("q1", "q2")] + [sum(x["restarts"] for x in procs if x["group"] == g) for g in ("q1", "q2")]' \
	    >"$DIR/queue.samples"
	tr -d '[],' <"$DIR/queue.samples" >"$DIR/queue.values"
	q1max=$(awk '$1 > m { m = $1 } END { print m + 0 }' "$DIR/queue.values")
	q2max=$(awk '$2 > m { m = $2 } END { print m + 0 }' "$DIR/queue.values")
	q1n=$(awk 'NR == 1 { a = $3 } { b = $3 } END { print b - a }' "$DIR/queue.values")
	q2n=$(awk 'NR == 1 { a = $4 } { b = $4 } END { print b - a }' "$DIR/queue.values")
	diag "$(count_of_lines "$DIR/queue.values") samples; q1: $q1n replacements, at most $q1max slots replacing at once; q2: $q2n, at most $q2max"
	check "q1 and q2 were each replaced 8 times or more while sampling" \
	    eval '[ "$q1n" -ge 8 ] && [ "$q2n" -ge 8 ]'
	check "max_replacing = 1: never more than one slot replacing at once ($q1max)" \
	    test "$q1max" -eq 1
	check "max_replacing = 2: never more than two slots replacing at once ($q2max)" \
	    test "$q2max" -le 2
	check "max_replacing = 2: two slots were replacing at once at some sample" \
	    test "$q2max" -eq 2
else
	for i in 1 2 3 4; do
		skip "max_replacing checks (no python3 to read --json)"
	done
fi
check "no q1/q2 worker exited unexpectedly" \
    eval '! log_has " program: q[12]:q[12]_[0-9] exited: "'
signal_leashd TERM
wait_leashd_exit 15
check "leashd exits 0 on SIGTERM (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0

# ================================================================ reload

cat >"$DIR/reload.ini" <<EOF
$(leashd_section)

[program:calm]
command = $WORKER --events $DIR/calm.ev
process_name = calm_%(process_num)d
numprocs = 3
startsecs = 0.5
drain_timeout = 2s
$quiet
EOF
start_leashd "$DIR/reload.ini" "$DIR/reload.log"

calm_up() {
	in_state calm:calm_0 RUNNING && in_state calm:calm_1 RUNNING &&
	    in_state calm:calm_2 RUNNING
}
wait_for "calm_0, calm_1 and calm_2 reach RUNNING" 10 calm_up
c0=$(worker_pid calm:calm_0)
c1=$(worker_pid calm:calm_1)
c2=$(worker_pid calm:calm_2)
diag "before the reload: $c0 $c1 $c2"

# was_replaced NAME OLD: OLD was drained once a replacement was ready.
was_replaced() {
	[ -n "$(replaced_pairs "$1" | awk -v o="$2" '$1 == o')" ]
}
# While it runs: never two slots with a replacement starting at once.  The
# watcher is sampling before the reload begins, however slow its start.
most=0
if [ -n "$py" ]; then
	json_watch 3000 \
	    'all(x["restarts_by_reason"]["reload"] >= 1 and not replacing(x) for x in procs)' \
	    'sum(1 for x in procs if x["replacement_pid"] is not None)' \
	    >"$DIR/reload.samples" &
	wpid=$!
	poll 10 test -s "$DIR/reload.samples"
fi
ctl reload >"$DIR/reload.out" 2>&1 &
rpid=$!
if [ -n "$py" ]; then
	poll 30 dead "$wpid"
	wait "$wpid"
	most=$(sort -n "$DIR/reload.samples" | tail -n 1)
	diag "$(count_of_lines "$DIR/reload.samples") status samples during the reload"
fi
poll 20 dead "$rpid"
wait "$rpid"
rstatus=$?
diag "leashctl reload said: $(cat "$DIR/reload.out")"
check "leashctl reload exits 0 (status $rstatus)" test "$rstatus" = 0
check "leashctl reload reports the 3 workers reloaded" \
    test "$(grep -c ': reloaded$' "$DIR/reload.out")" -eq 3
for pair in "0 $c0" "1 $c1" "2 $c2"; do
	set -- $pair
	check "calm_$1: the log says replacing pid $2 (reload)" \
	    log_has " program: calm:calm_$1: replacing pid $2 \(reload\): starting its replacement first\$"
	check "calm_$1: pid $2 drained after its replacement was ready" \
	    was_replaced "calm:calm_$1" "$2"
	wait_for "calm_$1: old pid $2 is gone" 5 dead "$2"
done
# One slot at a time: "replacing" and "is ready" alternate, slot by slot.
one_at_a_time() {
	sed -n -e 's/.* program: \(calm:calm_[0-9]\): replacing pid .*(reload).*/R \1/p' \
	    -e 's/.* program: \(calm:calm_[0-9]\): replacement pid .* is ready (reload)$/D \1/p' \
	    "$LEASHD_LOG" | awk '
		$1 == "R" { if (open != "") bad = 1; open = $2; n++ }
		$1 == "D" { if (open != $2) bad = 1; open = "" }
		END { exit bad || n != 3 || open != "" }'
}
check "the log shows one slot replaced at a time" one_at_a_time
if [ -n "$py" ]; then
	check "json: exactly one slot had a replacement starting at the busiest sample ($most)" \
	    test "$most" -eq 1
else
	skip "one replacement at a time in --json (no python3)"
fi
jwait "json: every calm worker has restarts_by_reason.reload 1, last_reason reload" 5 \
    'all(x["restarts_by_reason"]["reload"] == 1 and x["last_reason"] == "reload" and x["restarts"] == 1 for x in procs)'
jcheck "json: the 3 calm workers are RUNNING with new pids" \
    "all(running(x) for x in procs) and not {x['pid'] for x in procs} & {$c0, $c1, $c2}"
signal_leashd TERM
wait_leashd_exit 15
check "leashd exits 0 on SIGTERM (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0

# ================================================================ a failed replacement

# The first start makes the marker; every later start sees it and exits 1,
# so each replacement fails while the first worker goes on.
cat >"$DIR/fragile.sh" <<EOF
#!/bin/sh
[ -e "$DIR/marker" ] && exit 1
: >"$DIR/marker"
exec $WORKER "\$@"
EOF
chmod +x "$DIR/fragile.sh"
cat >"$DIR/fragile.ini" <<EOF
$(leashd_section)

[program:fragile]
command = $DIR/fragile.sh $leak
startsecs = 0.3
$limits
drain_timeout = 2s
$quiet
EOF
start_leashd "$DIR/fragile.ini" "$DIR/fragile.log"

wait_for "fragile reaches RUNNING" 10 in_state fragile:fragile RUNNING
f0=$(worker_pid fragile:fragile)
wait_for "a replacement of pid $f0 is attempted" 10 \
    log_has " program: fragile:fragile: replacing pid $f0 \(memory\): starting its replacement first\$"
wait_for "the replacement fails and pid $f0 keeps serving" 10 \
    log_has " program: fragile:fragile: replacement failed \(exit status 1\); pid $f0 keeps serving, next attempt in 1 s\$"
wait_for "a second attempt fails too, with a longer back-off" 10 \
    log_has " program: fragile:fragile: replacement failed \(exit status 1\); pid $f0 keeps serving, next attempt in 2 s\$"
check "pid $f0 is still alive" alive "$f0"
check "fragile is still RUNNING" in_state fragile:fragile RUNNING
check "pid $f0 was never sent the drain signal" \
    eval '! log_has " program: fragile:fragile: draining pid $f0 "'
jwait "json: fragile is RUNNING with pid $f0, replace_failures >= 2, restarts 0" 5 \
    "p('fragile:fragile')['state'] == 'RUNNING' and p('fragile:fragile')['pid'] == $f0 and p('fragile:fragile')['replace_failures'] >= 2 and p('fragile:fragile')['restarts'] == 0"
# Once starts work again, a later attempt replaces it.
rm -f "$DIR/marker"
wait_for "with starts working again, pid $f0 is replaced" 15 \
    log_has " program: fragile:fragile: draining pid $f0 with SIGTERM "
wait_for "pid $f0 is gone" 5 dead "$f0"
check "the replacement was ready before the drain" \
    log_has " program: fragile:fragile: replacement pid [0-9]+ is ready \(memory\)\$"
jwait "json: the replacement counts as a memory restart" 5 \
    "p('fragile:fragile')['restarts_by_reason']['memory'] == 1 and p('fragile:fragile')['last_reason'] == 'memory'"
signal_leashd TERM
wait_leashd_exit 15
check "leashd exits 0 on SIGTERM (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0
