#!/bin/sh
# leashctl top under a real terminal (tmux, 80x24): the screen shows
# leashd's own cost, restarts by reason and every process with its memory
# bar against the limit, growth and time to the limit; it refreshes in
# place (a leaking worker's replacements count up, DRAINING shows while an
# old process finishes), fits 80x24, follows a resize, and q quits,
# leaving the terminal as it was.  Off a terminal it prints one screen.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" && . "$here/ctl_lib.sh"

command -v tmux >/dev/null || { skip "tmux is not installed (Debian: tmux)"; exit 0; }

# The leak is replaced about every half second; its old process ignores
# the drain signal, so it drains for drain_timeout: DRAINING for 2 s.
write_config "$DIR/top.ini" <<EOF
$(leak_and_pool --ignore-term)
EOF
start_leashd "$DIR/top.ini"
wait_for "leashd is up" 10 leashd_answers

T="tmux -S $DIR/tmux.sock -f /dev/null"
cleanup_tmux() {
	$T kill-server 2>/dev/null
}
trap 'cleanup_tmux; lib_cleanup' EXIT
# After top quits, the pane keeps a line saying how it ended.
$T new-session -d -s top -x 80 -y 24 \
    "$LEASHCTL -s $SOCK top; echo \"top-exited rc=\$?\" >$DIR/top.rc; echo top-exited; exec cat"
screen() {
	$T capture-pane -p -t top >"$DIR/screen.txt"
}
shows() {
	screen && grep -Eq "$1" "$DIR/screen.txt"
}
TAP_DIAG_FILE=$DIR/screen.txt
wait_for "the screen shows leashd's pid, CPU, RSS and fds" 10 \
    shows "^leashd [^ ]+  pid $LEASHD_PID  up <?[0-9]+s  cpu [0-9.]+%  rss [0-9.]+[KM]  fds [0-9]+/[0-9]+"
check "a header names the columns" grep -Eq '^NAME +STATE +PID +MEMORY / LIMIT +GROWTH +TO LIMIT +RST$' "$DIR/screen.txt"
check "every process has a line" sh -c "grep -q '^pool:pool_0 ' '$DIR/screen.txt' &&
    grep -q '^pool:pool_1 ' '$DIR/screen.txt' && grep -q '^leak:leak ' '$DIR/screen.txt'"
check "the last line says q quits" sh -c "tail -n 1 '$DIR/screen.txt' | grep -q '^q quits'"
wait_for "the leaking worker's bar fills against its limit, with its growth" 10 \
    shows '^leak:leak +[A-Z]+ +[0-9]+ \[#+\.*\] +[0-9.]+M/24\.0M +\+[0-9.]+[KM]/s +(<?[0-9]+s|over) '
wait_for "it refreshes in place: memory replacements count up" 20 \
    shows '^restarts: exit [0-9]+ manual 0 reload 0 memory [2-9]'
wait_for "an old process finishing shows as DRAINING" 15 \
    shows '^leak:leak +DRAINING '
check "nearest the limit first: the leak is the first process" sh -c \
    "sed -n 6p '$DIR/screen.txt' | grep -q '^leak:leak '"
# 80x24 exactly: no line wider, no more lines.
check "it fits 80x24" sh -c "test \$(wc -l <'$DIR/screen.txt') -le 24 &&
    test \$(awk '{ if (length(\$0) > m) m = length(\$0) } END { print m + 0 }' '$DIR/screen.txt') -le 80"
cp "$DIR/screen.txt" "$DIR/screen-80x24.txt"
[ -n "${LEASH_TOP_CAPTURE:-}" ] && cp "$DIR/screen.txt" "$LEASH_TOP_CAPTURE"

$T resize-window -t top -x 100 -y 30 2>/dev/null
wait_for "a resize to 100x30 is followed: q quits moves to line 30" 10 sh -c \
    "$T capture-pane -p -t top >'$DIR/screen.txt' && sed -n 30p '$DIR/screen.txt' | grep -q '^q quits'"

$T send-keys -t top q
wait_for "q quits, exit status 0" 10 grep -q '^top-exited rc=0$' "$DIR/top.rc"
wait_for "the terminal is left as it was (off the alternate screen)" 5 \
    shows '^top-exited$'
check "and top's screen is gone from it" sh -c "! grep -q '^NAME ' '$DIR/screen.txt'"
TAP_DIAG_FILE=

ctl top
ctl_expect "off a terminal, top prints one screen of 24 lines" 0 '^leashd ' '^q quits'
check "24 lines exactly" test "$(out_lines)" -eq 24
ctl top 120 10
ctl_expect "top COLUMNS ROWS sizes it" 0 '^q quits'
check "10 lines" test "$(out_lines)" -eq 10
ctl top 20 5
ctl_expect "a screen too small is a usage error" 2 'at least 72x8'
ctl --json top
ctl_expect "top has no JSON form" 2
