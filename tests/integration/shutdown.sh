#!/bin/sh
# SIGTERM and SIGINT each make leashd stop every worker and exit 0.  The
# programs stop in reverse priority, one priority at a time: priority 2
# is STOPPED before priority 1 is even signalled (and priority 1 started
# first).
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh"

# run SIG: one leashd life ending with SIG, in its own log.
run() {
	sig=$1
	tree=$DIR/$sig.tree
	cat >"$DIR/$sig.ini" <<EOF
[leashd]
childlogdir = $DIR/logs

; Named so that by name alone it would come first: only priority orders.
[program:a_late]
command = $WORKER --ignore-term --children 1 --tree $tree
process_name = %(program_name)s_%(process_num)d
numprocs = 2
priority = 2
startsecs = 0.2
stopwaitsecs = 0.5
stdout_logfile = NONE
stderr_logfile = NONE

[program:b_early]
command = $WORKER --children 1 --tree $tree
priority = 1
startsecs = 0.2
stopwaitsecs = 2
stdout_logfile = NONE
stderr_logfile = NONE
EOF
	start_leashd "$DIR/$sig.ini" "$DIR/$sig.log"

	all_up() {
		in_state a_late:a_late_0 RUNNING &&
		    in_state a_late:a_late_1 RUNNING &&
		    in_state b_early:b_early RUNNING &&
		    [ "$(count_of_lines "$tree")" -ge 3 ]
	}
	wait_for "$sig: all workers and their children are up" 10 all_up
	pids="$(worker_pid a_late:a_late_0) $(worker_pid a_late:a_late_1)"
	pids="$pids $(worker_pid b_early:b_early) $(cat "$tree")"
	diag "$sig: worker and child pids: $(echo $pids)"
	check "$sig: they are alive" all_alive $pids
	check "$sig: priority 1 started before priority 2" \
	    test "$(log_line 'b_early:b_early STOPPED -> STARTING')" -lt \
	    "$(log_line 'a_late:a_late_0 STOPPED -> STARTING')"

	signal_leashd "$sig"
	wait_leashd_exit 15
	check "$sig: leashd exits with status 0 (got $LEASHD_STATUS)" \
	    test "$LEASHD_STATUS" = 0
	check "$sig: leashd logged receiving SIG$sig" \
	    log_has " leashd: received SIG$sig: stopping all workers\$"
	check "$sig: leashd logged its exit" \
	    log_has ' leashd: all workers stopped, exiting$'
	check "$sig: no worker nor child of one is left" none_alive $pids
	check "$sig: every worker went STOPPING -> STOPPED" \
	    test "$(count_log ' STOPPING -> STOPPED$')" -eq 3

	late0=$(log_line 'a_late:a_late_0 STOPPING -> STOPPED$')
	late1=$(log_line 'a_late:a_late_1 STOPPING -> STOPPED$')
	early=$(log_line 'b_early:b_early STOPPING -> STOPPED$')
	early_sig=$(log_line 'b_early:b_early: sending SIGTERM')
	diag "$sig: lines: a_late_0 STOPPED $late0, a_late_1 STOPPED $late1, b_early signalled $early_sig, STOPPED $early"
	check "$sig: priority 2 is STOPPED before priority 1 (-> STOPPED order)" \
	    test -n "$late0" -a -n "$late1" -a -n "$early" -a \
	    "${late0:-0}" -lt "${early:-0}" -a "${late1:-0}" -lt "${early:-0}"
	check "$sig: priority 1 is only signalled once priority 2 is STOPPED" \
	    test -n "$early_sig" -a "${late0:-0}" -lt "${early_sig:-0}" -a \
	    "${late1:-0}" -lt "${early_sig:-0}"
	check "$sig: no worker was restarted during the shutdown" \
	    test "$(count_log ' spawned with pid ')" -eq 3
}

run TERM
run INT
