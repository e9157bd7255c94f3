# ctl_lib.sh -- helpers for the leashctl / control socket tests (ctl_*.sh).
# Sourced after lib.sh:
#
#   here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" &&
#       . "$here/ctl_lib.sh"
#
# Gives the script:
#   $LEASHCTL $SOCK    the client under test and this test's socket
#   ctl ARGS...        leashctl -s $SOCK ARGS...; stdout in $CTL_OUT,
#                      stderr in $CTL_ERR, exit status in $CTL_RC (ctl
#                      itself always returns 0)
#   ctl_expect DESC RC [REGEX...]   one test: the last ctl exited RC and its
#                      stdout matches every REGEX (ERE, one line each)
#   out_has / err_has REGEX, out_lines, show_ctl
#   status_field FILE NAME COLUMN   a column of `leashctl status` output
#   ctl_state NAME / ctl_in_state NAME STATE / ctl_pid NAME
#   leashd_answers     `leashctl version` works
#   have_python, json_valid FILE    one JSON document (python3, $PYTHON)
#   raw MODE ARGS...   a raw client on $SOCK (python3, else perl):
#       raw ask N          send stdin, print the reply until N "%end" lines
#                          (exit 1 when fewer came)
#       raw eof            send stdin, print until leashd closes (exit 3
#                          when it has not within 8 s)
#       raw halfclose      the same, after shutting down our writing side
#       raw hangup BYTES   send stdin, read BYTES bytes, close at once
#       raw flood N        N connections at once, "version" on each; prints
#                          "ok A busy B other C nofds D" (python3 only; D of
#                          the C were told leashd is out of fds)
#   raw_client         python3 / perl / empty: what raw uses
#   write_config FILE  stdin after a [leashd] section with control_socket,
#                      childlogdir and loglevel set for this test
#   leak_and_pool [ARGS]  [program:leak] (40 MiB/s up to 48 MiB, over its
#                      memory_limit 24M about half a second after each
#                      start; ARGS added to its command) and [program:pool]
#                      (two idle processes, memory_limit 512M)

LEASHCTL=$top_builddir/src/leashctl
SOCK=$DIR/leash.sock
CTL_OUT=$DIR/ctl.out
CTL_ERR=$DIR/ctl.err
CTL_RC=
CTL_CMD=
export LEASHCTL SOCK

[ -x "$LEASHCTL" ] || bail_out "$LEASHCTL is not built (run make)"

# ---------------------------------------------------------------- leashctl

# A leashctl that hangs (a reply that never comes) must not hang the test:
# it is cut off after CTL_TIMEOUT seconds (exit 124) when timeout(1) exists.
CTL_TIMEOUT=${CTL_TIMEOUT:-20}
if command -v timeout >/dev/null 2>&1; then
	CTL_WRAP="timeout $CTL_TIMEOUT"
else
	CTL_WRAP=
fi

ctl() {
	CTL_CMD="leashctl $*"
	$CTL_WRAP "$LEASHCTL" -s "$SOCK" "$@" >"$CTL_OUT" 2>"$CTL_ERR"
	CTL_RC=$?
	return 0
}

out_has() {
	grep -E -q -- "$1" "$CTL_OUT"
}

err_has() {
	grep -E -q -- "$1" "$CTL_ERR"
}

# out_lines: how many lines stdout had.
out_lines() {
	wc -l <"$CTL_OUT" | tr -d ' '
}

# show_ctl: the last command, its status and output, as TAP diagnostics.
show_ctl() {
	diag "$CTL_CMD -> exit $CTL_RC"
	if [ -s "$CTL_OUT" ]; then
		diag "stdout:"
		head -n 20 "$CTL_OUT" | sed 's/^/#   /'
	fi
	if [ -s "$CTL_ERR" ]; then
		diag "stderr:"
		head -n 10 "$CTL_ERR" | sed 's/^/#   /'
	fi
}

# ctl_expect DESC RC [REGEX...]
ctl_expect() {
	_cdesc=$1
	_crc=$2
	shift 2
	_cgood=true
	[ "$CTL_RC" = "$_crc" ] || _cgood=false
	for _re in "$@"; do
		out_has "$_re" || { _cgood=false; diag "no line matches: $_re"; }
	done
	if $_cgood; then
		ok "$_cdesc"
	else
		not_ok "$_cdesc"
		show_ctl
	fi
}

# status_field FILE NAME COLUMN: the value under COLUMN (a header word:
# NAME STATE PID UPTIME MEMORY RESTARTS LAST INFO) on NAME's line, taken by
# the header's character positions (MEMORY and UPTIME may hold spaces).
status_field() {
	awk -v name="$2" -v col="$3" '
	/^NAME  / { hdr = $0; next }
	hdr != "" && $1 == name {
		s = index(hdr, col)
		if (s == 0)
			exit 1
		rest = substr(hdr, s + length(col))
		if (match(rest, /^ +[^ ]/))
			v = substr($0, s, length(col) + RLENGTH - 1)
		else
			v = substr($0, s)
		gsub(/^ +| +$/, "", v)
		print v
		found = 1
		exit
	}
	END { exit !found }' "$1"
}

# ctl_state NAME: NAME's STATE as `leashctl status NAME` shows it.
ctl_state() {
	"$LEASHCTL" -s "$SOCK" status "$1" >"$DIR/ctl_state.out" 2>/dev/null
	status_field "$DIR/ctl_state.out" "$1" STATE
}

ctl_in_state() {
	[ "$(ctl_state "$1")" = "$2" ]
}

# ctl_pid NAME: NAME's PID column ("-" when it has none).
ctl_pid() {
	"$LEASHCTL" -s "$SOCK" status "$1" >"$DIR/ctl_pid.out" 2>/dev/null
	status_field "$DIR/ctl_pid.out" "$1" PID
}

leashd_answers() {
	"$LEASHCTL" -s "$SOCK" version >/dev/null 2>&1
}

# ---------------------------------------------------------------- config

leak_and_pool() {
	cat <<EOF
[program:leak]
command = $WORKER --grow 2M --tick 0.05 --plateau 48M${1:+ $1}
startsecs = 0.2
memory_limit = 24M
memory_interval = 100ms
memory_samples = 2
drain_timeout = 2s

[program:pool]
command = $WORKER
process_name = pool_%(process_num)d
numprocs = 2
startsecs = 0
memory_limit = 512M
EOF
}

# write_config FILE: [leashd] for this test, then stdin (the programs).
write_config() {
	{
		printf '[leashd]\n'
		printf 'control_socket = %s\n' "$SOCK"
		printf 'childlogdir = %s/logs\n' "$DIR"
		printf 'loglevel = %s\n\n' "${LEASH_TEST_LOGLEVEL:-info}"
		cat
	} >"$1"
}

# ---------------------------------------------------------------- JSON

# The interpreter itself, not a wrapper script (pyenv's shims take a tenth
# of a second to start, and the raw client is started many times).
PYTHON=
if command -v python3 >/dev/null 2>&1; then
	PYTHON=$(python3 -c 'import sys, json, socket, select
print(sys.executable)' 2>/dev/null)
	[ -n "$PYTHON" ] && [ -x "$PYTHON" ] || PYTHON=
fi

have_python() {
	[ -n "$PYTHON" ]
}

# json_valid FILE: FILE is one JSON document, nothing before or after it.
json_valid() {
	"$PYTHON" -c 'import json, sys; json.load(sys.stdin)' <"$1" 2>/dev/null
}

# ---------------------------------------------------------------- raw clients

raw_client() {
	# LEASH_TEST_RAW=perl (or none) tries the fallbacks.
	case ${LEASH_TEST_RAW:-} in
	perl) PYTHON= ;;
	none) return 0 ;;
	esac
	if have_python; then
		echo python3
	elif command -v perl >/dev/null 2>&1 &&
	    perl -MIO::Socket::UNIX -MIO::Select -e 1 2>/dev/null; then
		echo perl
	fi
}

RAW_PY='
import os, select, socket, sys, time
path, mode = sys.argv[1], sys.argv[2]
arg = int(sys.argv[3]) if len(sys.argv) > 3 else 0
out = sys.stdout.buffer

def ends(data):
    return sum(1 for l in data.split(b"\n")[:-1] if l.startswith(b"%end "))

if mode == "flood":
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and soft < arg + 64:
            want = arg + 64 if hard == resource.RLIM_INFINITY else min(hard, arg + 64)
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except Exception:
        pass
    conns = []
    for i in range(arg):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        conns.append(s)
    got = {}
    for s in conns:
        try:
            s.sendall(b"version\n")
        except OSError:
            pass
        got[s] = b""
    # epoll (selectors), not select: a flood may hold 10,000 fds.
    import selectors
    sel = selectors.DefaultSelector()
    for s in conns:
        sel.register(s, selectors.EVENT_READ)
    pending = len(conns)
    deadline = time.time() + 30
    while pending and time.time() < deadline:
        for key, _ in sel.select(0.5):
            s = key.fileobj
            try:
                b = s.recv(4096)
            except OSError:
                b = b""
            got[s] += b
            if not b or ends(got[s]) >= 1:
                sel.unregister(s)
                pending -= 1
    okn = sum(1 for s in conns if b"%end 0\n" in got[s])
    busy = sum(1 for s in conns if b"too many clients" in got[s])
    nofds = sum(1 for s in conns if b"out of file descriptors" in got[s])
    out.write(b"ok %d busy %d other %d nofds %d\n" % (okn, busy,
        len(conns) - okn - busy, nofds))
    for s in conns:
        s.close()
    sys.exit(0)

data = sys.stdin.buffer.read()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
try:
    s.sendall(data)
except OSError as e:
    sys.stderr.write("raw: send: %s\n" % e)
if mode == "halfclose":
    s.shutdown(socket.SHUT_WR)
got = b""
how = "timeout"
deadline = time.time() + (8 if mode in ("eof", "halfclose") else 15)
while time.time() < deadline:
    if mode == "hangup" and len(got) >= arg:
        how = "done"
        break
    if mode == "ask" and ends(got) >= arg:
        how = "done"
        break
    r, _, _ = select.select([s], [], [], 0.2)
    if not r:
        continue
    try:
        b = s.recv(65536)
    except OSError as e:
        how = "reset"
        break
    if not b:
        how = "eof"
        break
    got += b
s.close()
out.write(got)
if mode == "ask":
    sys.exit(0 if ends(got) >= arg else 1)
if mode in ("eof", "halfclose"):
    sys.exit(0 if how in ("eof", "reset") else 3)
sys.exit(0)
'

RAW_PL='
use strict; use warnings;
use IO::Socket::UNIX; use IO::Select; use Socket;
my ($path, $mode, $arg) = @ARGV; $arg = 0 unless defined $arg;
binmode STDIN; binmode STDOUT;
my $data = do { local $/; <STDIN> }; $data = "" unless defined $data;
my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $path)
    or die "raw: connect $path: $!\n";
$SIG{PIPE} = "IGNORE";
my $off = 0;
while ($off < length $data) {
	my $n = syswrite($s, $data, length($data) - $off, $off);
	if (!defined $n) { warn "raw: send: $!\n"; last; }
	$off += $n;
}
shutdown($s, 1) if $mode eq "halfclose";
sub ends { my $n = 0; $n++ while $_[0] =~ /(?<![^\n])%end [0-9]+\n/g; $n }
my $got = ""; my $sel = IO::Select->new($s); my $how = "timeout";
my $until = time + ($mode eq "eof" || $mode eq "halfclose" ? 8 : 15);
while (time < $until) {
	if ($mode eq "hangup" && length($got) >= $arg) { $how = "done"; last; }
	if ($mode eq "ask" && ends($got) >= $arg) { $how = "done"; last; }
	next unless $sel->can_read(0.2);
	my $n = sysread($s, my $b, 65536);
	if (!defined $n) { $how = "reset"; last; }
	if ($n == 0) { $how = "eof"; last; }
	$got .= $b;
}
close $s;
print $got;
exit(ends($got) >= $arg ? 0 : 1) if $mode eq "ask";
exit($how eq "eof" || $how eq "reset" ? 0 : 3)
    if $mode eq "eof" || $mode eq "halfclose";
exit 0;
'

# raw MODE [N]: see the top of this file.
raw() {
	case $(raw_client) in
	python3) "$PYTHON" -S -c "$RAW_PY" "$SOCK" "$@" ;;
	perl)
		[ "$1" = flood ] && { echo "raw: flood needs python3" >&2; return 2; }
		perl -e "$RAW_PL" "$SOCK" "$@" ;;
	*) echo "raw: no python3 or perl to open a UNIX socket" >&2; return 2 ;;
	esac
}
