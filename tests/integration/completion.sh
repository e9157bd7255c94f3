#!/bin/sh
# contrib/leashctl.bash-completion against a real leashd: bash sources the
# file and calls _leashctl with COMP_WORDS and COMP_CWORD as bash would set
# them (a colon is a word of its own), and COMPREPLY is compared with what
# leashctl accepts: options, the commands of "leashctl help", file names
# after -s, "all", GROUP, GROUP:*, GROUP:PROCESS and program names from the
# running leashd (through -s and through -c), signal names after signal,
# -f and stdout|stderr for tail; nothing, and no message, once leashd is
# gone.  Then again with bash-completion's own library loaded, when it is
# installed.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" && . "$here/ctl_lib.sh"

COMPLETION=$top_srcdir/contrib/leashctl.bash-completion
command -v bash >/dev/null 2>&1 || { skip "no bash"; exit 0; }
[ -r "$COMPLETION" ] || bail_out "$COMPLETION is missing"

conf=$DIR/leash.ini
write_config "$conf" <<EOF
[program:web]
command = $WORKER
process_name = %(program_name)s_%(process_num)d
numprocs = 2
startsecs = 0.2
stopwaitsecs = 2

[program:api]
command = $WORKER
startsecs = 0.2
stopwaitsecs = 2
EOF

start_leashd "$conf"
all_running() {
	in_state web:web_0 RUNNING && in_state web:web_1 RUNNING &&
	    in_state api:api RUNNING
}
wait_for "leashd runs web (numprocs = 2) and api" 10 all_running ||
	bail_out "leashd did not start its workers"

# comp.bash WORD...: sets COMP_WORDS to the words (the last is the one
# being completed), calls _leashctl as bash does, prints COMPREPLY sorted,
# one per line.  With BC=1, bash-completion's library is loaded first.
cat >"$DIR/comp.bash" <<'EOF'
if [ "${BC:-}" = 1 ]; then
	. /usr/share/bash-completion/bash_completion || exit 9
fi
. "$1" || exit 9
shift
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
_leashctl "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" \
    "${COMP_WORDS[COMP_CWORD - 1]}"
((${#COMPREPLY[@]} == 0)) || printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort
EOF

# comp WORD...: the completions, on one line, in $DIR/comp.out; bash's
# stderr in $DIR/comp.err, which a failure shows.
TAP_DIAG_FILE=$DIR/comp.err
comp() {
	bash --norc --noprofile "$DIR/comp.bash" "$COMPLETION" "$LEASHCTL" "$@" \
	    2>"$DIR/comp.err" | tr '\n' ' ' | sed 's/ $//' >"$DIR/comp.out"
}

# comp_is DESC EXPECTED WORD...: one test, the completions of WORD... are
# exactly EXPECTED (space-separated, in C sort order), and bash said nothing.
comp_is() {
	_desc=$1
	_want=$2
	shift 2
	comp "$@"
	_got=$(cat "$DIR/comp.out")
	if [ "$_got" = "$_want" ] && [ ! -s "$DIR/comp.err" ]; then
		ok "$_desc"
	else
		not_ok "$_desc"
		diag "leashctl $*<TAB>"
		diag "expected: [$_want]"
		diag "got:      [$_got]"
	fi
}

# comp_has DESC EXPECTED WORD...: the completions include each word of
# EXPECTED.
comp_has() {
	_desc=$1
	_want=$2
	shift 2
	comp "$@"
	_miss=
	for _w in $_want; do
		tr ' ' '\n' <"$DIR/comp.out" | grep -F -x -q -- "$_w" ||
		    _miss="$_miss $_w"
	done
	if [ -z "$_miss" ] && [ ! -s "$DIR/comp.err" ]; then
		ok "$_desc"
	else
		not_ok "$_desc"
		diag "leashctl $*<TAB>: missing:$_miss"
		diag "got: [$(cat "$DIR/comp.out")]"
	fi
}

NAMES="all api api:* api:api web web:* web:web_0 web:web_1"
CMDS=$("$LEASHCTL" help | sed -n 's/^  \([a-z][a-z]*\).*/\1/p' | LC_ALL=C sort |
    tr '\n' ' ' | sed 's/ $//')

completions() {
	comp_is "commands: every command of leashctl help" "$CMDS" -s "$SOCK" ""
	comp_is "commands: st -> start, status, stop" "start status stop" \
	    -s "$SOCK" st
	comp_has "options: - -> -c -s --json ..." \
	    "-c -s --configuration --socket --json --help" -

	comp_is "a file name after -s" "$DIR/leash.ini" -s "$DIR/leash.i"
	comp_is "a file name after --socket =" "$DIR/leash.ini" \
	    --socket = "$DIR/leash.i"
	comp_is "restart: all, GROUP, GROUP:*, GROUP:PROCESS" "$NAMES" \
	    -s "$SOCK" restart ""
	comp_is "restart w -> web, web:*, web:web_0, web:web_1" \
	    "web web:* web:web_0 web:web_1" -s "$SOCK" restart w
	comp_is "restart web:w (split at the colon) -> the part after it" \
	    "web_0 web_1" -s "$SOCK" restart web : w
	comp_is "restart web: -> *, web_0, web_1" "* web_0 web_1" \
	    -s "$SOCK" restart web :
	comp_is "a second name: stop api web:web_0 w" \
	    "web web:* web:web_0 web:web_1" -s "$SOCK" stop api web : web_0 w
	comp_is "names through -c CONFIG (its control_socket)" "all api api:* api:api" \
	    -c "$conf" status a
	comp_is "names through --socket=SOCK and --json" "all api api:* api:api" \
	    "--socket=$SOCK" --json pid a
	comp_has "signal: signal names first" "HUP INT KILL TERM USR1 USR2" \
	    -s "$SOCK" signal ""
	check "signal: no process names in place of the signal" \
	    sh -c "! grep -q web '$DIR/comp.out'"
	comp_is "signal T -> TERM TRAP TSTP TTIN TTOU" "TERM TRAP TSTP TTIN TTOU" \
	    -s "$SOCK" signal T
	comp_is "signal TERM w -> process names" "web web:* web:web_0 web:web_1" \
	    -s "$SOCK" signal TERM w
	comp_is "tail: names" "$NAMES" -s "$SOCK" tail ""
	comp_is "tail -: -f" "-f" -s "$SOCK" tail -
	comp_is "tail -f api: stdout, stderr" "stderr stdout" -s "$SOCK" tail -f api ""
	comp_is "tail web:web_0 std: stdout, stderr" "stderr stdout" \
	    -s "$SOCK" tail web : web_0 std
	comp_is "tail api stderr: nothing more" "" -s "$SOCK" tail api stderr ""
	comp_is "version takes nothing" "" -s "$SOCK" version ""
}

completions

if [ -r /usr/share/bash-completion/bash_completion ]; then
	BC=1
	export BC
	diag "again with bash-completion's library loaded"
	completions
	BC=
else
	skip "bash-completion is not installed: the file was tested on its own"
fi

# ---------------------------------------------------------------- no leashd

ctl shutdown
ctl_expect "leashctl shutdown" 0
wait_leashd_exit 15
check "leashd has exited" test "$LEASHD_STATUS" = 0
comp_is "leashd gone: restart offers nothing, says nothing" "" \
    -s "$SOCK" restart ""
comp_is "leashd gone: commands still come from leashctl help" \
    "start status stop" -s "$SOCK" st
comp_is "a socket nothing listens on: nothing, quietly" "" \
    -s "$DIR/nosuch.sock" signal TERM ""
