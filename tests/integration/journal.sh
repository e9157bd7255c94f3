#!/bin/sh
# stdout_logfile / stderr_logfile = journal.  Without a journal (no
# /run/systemd/journal/stdout: sd_journal_stream_fd fails) leashd warns
# "no journal", once per worker, and the output goes to the file AUTO
# would give (redirect_stderr merges stderr into it as usual).  With a
# journal the output lands there, under the program's name (checked with
# journalctl when there is one, else skipped).
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" &&
    . "$here/sd_lib.sh"

JOURNAL_SOCKET=/run/systemd/journal/stdout
logs=$DIR/logs
tok=t$$x$(now_ms)
common="startsecs = 0.2
stopwaitsecs = 2"

{
	leashd_section
	cat <<EOF

[program:jout]
command = $WORKER --print OUT-$tok --eprint ERR-$tok
stdout_logfile = journal
stderr_logfile = journal
$common

[program:jmerged]
command = $WORKER --print MOUT-$tok --eprint MERR-$tok
redirect_stderr = true
stdout_logfile = journal
$common

[program:jerr]
command = $WORKER --print EOUT-$tok --eprint EERR-$tok
stdout_logfile = $DIR/jerr.out
stderr_logfile = journal
$common

; Restarts every 0.3 s: one warning, not one per start.
[program:jagain]
command = $WORKER --print AGAIN-$tok --after 0.3 --exit 0
autorestart = true
startsecs = 0
stdout_logfile = journal
stderr_logfile = NONE
stopwaitsecs = 2
EOF
} >"$DIR/leash.ini"

start_leashd "$DIR/leash.ini"
all_up() {
	in_state jout:jout RUNNING && in_state jmerged:jmerged RUNNING &&
	    in_state jerr:jerr RUNNING
}
wait_for "the journal programs are RUNNING" 10 all_up

if [ ! -S "$JOURNAL_SOCKET" ]; then
	# ------------------------------------------------------- no journal
	diag "no $JOURNAL_SOCKET: the output must go to the AUTO files"
	check "leashd warns: no journal, jout's output goes to its AUTO file" \
	    log_has " program: jout:jout: no journal to write to \\(.*\\); output goes to $logs/jout-stdout\\.log\$"
	wait_for "jout's stdout is in $logs/jout-stdout.log" 10 \
	    file_has "$logs/jout-stdout.log" "^OUT-$tok\$"
	wait_for "jout's stderr is in $logs/jout-stderr.log" 10 \
	    file_has "$logs/jout-stderr.log" "^ERR-$tok\$"
	check "and not mixed up" \
	    eval '! file_has "$logs/jout-stdout.log" ERR- && ! file_has "$logs/jout-stderr.log" OUT-'

	check "jmerged (redirect_stderr): warned too" \
	    log_has " program: jmerged:jmerged: no journal to write to \\(.*\\); output goes to $logs/jmerged-stdout\\.log\$"
	merged_both() {
		file_has "$logs/jmerged-stdout.log" "^MOUT-$tok\$" &&
		    file_has "$logs/jmerged-stdout.log" "^MERR-$tok\$"
	}
	wait_for "jmerged's stdout and stderr are both in its stdout AUTO file" 10 \
	    merged_both

	check "jerr (stderr only to the journal): warned with its stderr file" \
	    log_has " program: jerr:jerr: no journal to write to \\(.*\\); output goes to $logs/jerr-stderr\\.log\$"
	wait_for "jerr's stderr is in $logs/jerr-stderr.log" 10 \
	    file_has "$logs/jerr-stderr.log" "^EERR-$tok\$"
	wait_for "its stdout is in its own file as configured" 10 \
	    file_has "$DIR/jerr.out" "^EOUT-$tok\$"

	three_starts() {
		[ "$(grep -c "^AGAIN-$tok\$" "$logs/jagain-stdout.log" 2>/dev/null)" -ge 3 ]
	}
	wait_for "jagain's 3 starts each wrote to its AUTO file" 10 three_starts
	check "jagain was warned about once, not at every start" \
	    test "$(count_log ' program: jagain:jagain: no journal to write to ')" -eq 1

	ctl tail jout:jout >"$DIR/tail.out" 2>&1
	check "leashctl tail shows the AUTO file" grep -q "^OUT-$tok\$" "$DIR/tail.out"
	skip "$JOURNAL_SOCKET does not exist: no journal to check"
else
	# ------------------------------------------------------- a journal
	skip "$JOURNAL_SOCKET exists: the no-journal fallback cannot be checked"
	check "leashd does not warn about the journal" \
	    test "$(count_log 'no journal to write to')" -eq 0
	if command -v journalctl >/dev/null 2>&1; then
		in_journal() {
			journalctl -q -o cat -t "$1" 2>/dev/null | grep -q -- "$2"
		}
		wait_for "jout's stdout is in the journal (identifier jout)" 15 \
		    in_journal jout "^OUT-$tok\$"
		wait_for "jout's stderr is in the journal too" 15 \
		    in_journal jout "^ERR-$tok\$"
		wait_for "jmerged's stderr is in the journal" 15 \
		    in_journal jmerged "^MERR-$tok\$"
		check "no AUTO file for jout's stdout" \
		    eval '! file_has "$logs/jout-stdout.log" "^OUT-$tok\$"'
	else
		skip "no journalctl to read the journal with"
	fi
fi

check "leashd is still running" alive "$LEASHD_PID"
signal_leashd TERM
wait_leashd_exit 15
check "leashd exits 0 (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0

# ---------------------------------------------------------------- stand-in
# A mount namespace where /run is a fresh tmpfs and a notifylisten --stream
# is journald's stdout socket (unshare execs sh, which execs it: $! is its
# pid); leashd runs in that namespace (nsenter execs it: one pid).
fake_journal_possible() {
	[ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1 &&
	    command -v nsenter >/dev/null 2>&1 &&
	    unshare -m sh -c 'mount -t tmpfs tmpfs /run' >/dev/null 2>&1
}
if ! fake_journal_possible; then
	skip "no stand-in journal: needs root, unshare -m and nsenter"
	exit 0
fi
unshare -m sh -c "mount -t tmpfs tmpfs /run &&
    mkdir -p /run/systemd/journal &&
    exec \"$NOTIFYLISTEN\" --stream $JOURNAL_SOCKET" \
    >"$DIR/journal.out" 2>&1 &
fakej=$!
bg_track $fakej
poll 5 nsenter -t "$fakej" -m test -S "$JOURNAL_SOCKET" ||
    bail_out "the stand-in journal did not start"
cat >"$DIR/leashd-journal" <<EOF
#!/bin/sh
exec nsenter -t $fakej -m "$LEASHD" "\$@"
EOF
chmod +x "$DIR/leashd-journal"
rm -rf "$logs" "$DIR/jerr.out"
real_leashd=$LEASHD
LEASHD=$DIR/leashd-journal
start_leashd "$DIR/leash.ini" "$DIR/journal-leashd.log"
LEASHD=$real_leashd
wait_for "stand-in journal: the programs are RUNNING" 10 all_up
jout=$DIR/journal.out
TAP_DIAG_FILE=$jout
wait_for "jout's stdout is in the journal as jout, priority info (6)" 10 \
    file_has "$jout" "^jout<6>: OUT-$tok\$"
wait_for "jout's stderr is in the journal as jout, priority err (3)" 10 \
    file_has "$jout" "^jout<3>: ERR-$tok\$"
merged() {
	file_has "$jout" "^jmerged<6>: MOUT-$tok\$" &&
	    file_has "$jout" "^jmerged<6>: MERR-$tok\$"
}
wait_for "jmerged's stdout and stderr (redirect_stderr) are in its stream" 10 \
    merged
wait_for "jerr's stderr is in the journal, priority err" 10 \
    file_has "$jout" "^jerr<3>: EERR-$tok\$"
TAP_DIAG_FILE=
wait_for "jerr's stdout is in its own file as configured" 10 \
    file_has "$DIR/jerr.out" "^EOUT-$tok\$"
again3() {
	[ "$(grep -c "^jagain<6>: AGAIN-$tok\$" "$jout")" -ge 3 ]
}
wait_for "each start of jagain writes to the journal" 10 again3
check "no warning about the journal" \
    test "$(count_log 'no journal to write to')" -eq 0
check "no AUTO file got any of it" \
    test -z "$(cat "$logs"/*.log 2>/dev/null)"
signal_leashd TERM
wait_leashd_exit 15
check "leashd exits 0 (status $LEASHD_STATUS)" test "$LEASHD_STATUS" = 0
