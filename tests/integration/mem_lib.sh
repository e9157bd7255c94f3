# mem_lib.sh -- helpers of the memory and drain-then-replace tests
# (replace.sh, memory_limits.sh, replace_cgroup.sh).  Source it after lib.sh:
#
#   here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" &&
#       . "$here/mem_lib.sh"
#
# Gives the script:
#   $LEASHCTL, ctl ARGS...       leashctl on this test's control socket
#   leashd_section [LOGLEVEL]     the [leashd] section every test starts with
#   have_python                   python3 is there (--json checks need it);
#                    $py is "yes" when it is, else empty (and said once)
#   jcheck DESC EXPR              a test that EXPR holds for the last $JSON
#   jwait DESC SECS EXPR          a test that EXPR comes to hold within SECS
#                    (both are skipped, with the reason, without python3)
#   jstatus                       `leashctl --json status` into $JSON
#   jval EXPR / jtrue EXPR        evaluate a Python expression over $JSON:
#                    d (the whole reply), procs (its processes), p(NAME)
#                    (one process), replacing(x) (x has a replacement
#                    starting or old pids draining), running(x) (RUNNING
#                    with a pid); jval prints the value (JSON for
#                    non-strings), jtrue succeeds when it is true
#   jnow EXPR                     jstatus, then jtrue EXPR
#   json_watch MAX UNTIL EXPR [BAD]   samples `leashctl --json status` up to
#                    MAX times, some fifty a second, printing EXPR
#                    for each sample, until UNTIL holds (first is the first
#                    sample, for "restarts went up by 6"); samples where BAD
#                    holds are summed up in $DIR/watch.bad
#   log_time REGEX                seconds (of the day, ms) of the first log
#                    line matching
#   secs_between A B / at_least X Y   B - A for log times / X >= Y
#   ev_time FILE PID EVENT        CLOCK_MONOTONIC time of PID's first EVENT
#                    line in a testworker --events FILE (empty if none)
#   replaced_pairs NAME           "OLD NEW" per completed replacement of
#                    NAME, from the log (NEW became ready, OLD drained)
#   memcg_version                 1 (v1 memory hierarchy), 2 (cgroup v2
#                    with memory) or empty, for this process
#   memcg_of PID                  the directory of PID's memory cgroup
#   leash_base LEASHD_PID         where that leashd makes workers' cgroups
#   leash_cgroups LEASHD_PID      the leash-LEASHD_PID-* cgroup directories
#   no_leash_cgroups BASE LEASHD_PID   BASE has no leash-LEASHD_PID-* left

: "${top_builddir:?}"
LEASHCTL=$top_builddir/src/leashctl
JSON=$DIR/status.json

ctl() {
	"$LEASHCTL" -s "$DIR/leash.sock" "$@"
}

# The [leashd] section: our own socket and log directory, said explicitly;
# loglevel $1 (default info).
leashd_section() {
	cat <<EOF
[leashd]
control_socket = $DIR/leash.sock
childlogdir = $DIR/logs
loglevel = ${1:-info}
EOF
}

have_python() {
	command -v python3 >/dev/null 2>&1
}

if have_python; then
	py=yes
else
	py=
	diag "python3 not found: the leashctl --json checks are skipped"
fi

jcheck() {
	if [ -z "$py" ]; then
		skip "$1 (no python3 to read --json)"
		return 0
	fi
	check "$1" jtrue "$2"
}

jwait() {
	if [ -z "$py" ]; then
		skip "$1 (no python3 to read --json)"
		return 0
	fi
	wait_for "$1" "$2" jnow "$3"
}

# jstatus: the --json status in $JSON; fails when leashd did not answer
# with a JSON document (exit status 3, "not all RUNNING", is an answer).
jstatus() {
	ctl --json status >"$JSON.new" 2>/dev/null
	case $? in
	0 | 3) ;;
	*) return 1 ;;
	esac
	[ -s "$JSON.new" ] && mv "$JSON.new" "$JSON"
}

_mem_py='
import json, sys
d = json.load(open(sys.argv[1]))
procs = d.get("processes", [])
P = {x["name"]: x for x in procs}
def p(n):
    return P[n]
def replacing(x):
    return x["replacement_pid"] is not None or len(x["draining_pids"]) > 0
def running(x):
    return x["state"] == "RUNNING" and x["pid"] is not None
try:
    r = eval(sys.argv[2])
except (KeyError, IndexError, TypeError) as e:
    sys.stderr.write("jval: %s: %r\n" % (sys.argv[2], e))
    sys.exit(2)
if sys.argv[3] == "print":
    print(r if isinstance(r, str) else json.dumps(r))
else:
    sys.exit(0 if r else 1)
'

jval() {
	python3 -c "$_mem_py" "$JSON" "$1" print
}

jtrue() {
	python3 -c "$_mem_py" "$JSON" "$1" test
}

_mem_watch_py='
import json, subprocess, sys, time
ctl, sock, mx, until, expr, bad, badfile = sys.argv[1:8]
def replacing(x):
    return x["replacement_pid"] is not None or len(x["draining_pids"]) > 0
def running(x):
    return x["state"] == "RUNNING" and x["pid"] is not None
first = None
out = open(badfile, "a")
for i in range(int(mx)):
    r = subprocess.run([ctl, "-s", sock, "--json", "status"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        d = json.loads(r.stdout)
    except ValueError:
        continue
    procs = d["processes"]
    P = {x["name"]: x for x in procs}
    p = P.__getitem__
    if first is None:
        first = d
    print(json.dumps(eval(expr)), flush=True)
    if bad and eval(bad):
        out.write(json.dumps([(x["name"], x["state"], x["pid"],
            x["replacement_pid"], x["draining_pids"]) for x in procs]) + "\n")
    if eval(until):
        break
    time.sleep(0.02)	# many samples, but not all of the machine
'

json_watch() {
	python3 -c "$_mem_watch_py" "$LEASHCTL" "$DIR/leash.sock" "$1" "$2" \
	    "$3" "${4:-}" "$DIR/watch.bad"
}

jnow() {
	jstatus && jtrue "$1"
}

# Log lines start "YYYY-MM-DD HH:MM:SS.mmm": seconds since midnight.
_log_secs() {
	awk '{ split($2, t, ":"); printf "%.3f\n", t[1] * 3600 + t[2] * 60 + t[3] }'
}

log_time() {
	grep -E -- "$1" "$LEASHD_LOG" | head -n 1 | _log_secs
}

# secs_between A B: B - A (log times; a midnight in between is allowed for).
secs_between() {
	awk -v a="$1" -v b="$2" 'BEGIN { d = b - a; if (d < -43200) d += 86400;
	    printf "%.3f\n", d }'
}

# at_least X Y: X >= Y, as numbers.
at_least() {
	awk -v x="$1" -v y="$2" 'BEGIN { exit !(x + 0 >= y + 0) }'
}

ev_time() {
	[ -f "$1" ] && awk -v pid="$2" -v ev="$3" \
	    '$2 == pid && $3 == ev { print $1; exit }' "$1"
}

# replaced_pairs NAME: for each "draining pid OLD" of NAME, OLD and the pid
# that had just been announced ready.
replaced_pairs() {
	sed -n -e "s/.* program: $1: replacement pid \([0-9]*\) is ready .*/R \1/p" \
	    -e "s/.* program: $1: draining pid \([0-9]*\) with .*/D \1/p" \
	    "$LEASHD_LOG" |
	    awk '$1 == "R" { n = $2 } $1 == "D" && n != "" { print $2, n; n = "" }'
}

# memcg_version: 1 when this process's memory cgroup is on a v1 memory
# hierarchy, 2 when it is on cgroup v2 with the memory controller there,
# empty when neither.
memcg_version() {
	if grep -E -q '^[0-9]+:([^:]*,)?memory(,[^:]*)?:' /proc/self/cgroup; then
		echo 1
	elif _d=$(memcg_of $$) && [ -n "$_d" ] &&
	    grep -qw memory "$_d/cgroup.controllers" 2>/dev/null; then
		echo 2
	fi
}

# memcg_of PID: the directory of PID's memory cgroup: on the v1 memory
# hierarchy when there is one (/sys/fs/cgroup/memory/...), else on cgroup2;
# fails when PID has neither.
memcg_of() {
	_rel=$(sed -n 's/^[0-9]*:\([^:]*,\)\{0,1\}memory\(,[^:]*\)\{0,1\}:\(.*\)$/\3/p' \
	    "/proc/$1/cgroup" 2>/dev/null)
	_fs=cgroup
	if [ -z "$_rel" ]; then
		_rel=$(sed -n 's/^0::\(.*\)$/\1/p' "/proc/$1/cgroup" 2>/dev/null)
		_fs=cgroup2
	fi
	[ -n "$_rel" ] || return 1
	# The mount of the hierarchy, and the part of it it shows (not "/"
	# inside a container's cgroup namespace).
	awk -v rel="$_rel" -v fs="$_fs" '
	    { for (i = 1; i <= NF && $i != "-"; i++) ; }
	    $(i + 1) == fs && (fs == "cgroup2" || ("," $(i + 3) ",") ~ /,memory,/) {
		root = $4; mnt = $5
		if (root != "/" && index(rel, root) == 1)
			rel = substr(rel, length(root) + 1)
		if (rel == "/")
			rel = ""
		print mnt rel
		exit
	    }' "/proc/$1/mountinfo"
}

# leash_base LEASHD_PID: where that leashd makes its workers' cgroups: its
# own memory cgroup on v1; on v2, where it moved itself out of the way
# (<its cgroup>/leashd), the cgroup above.
leash_base() {
	_b=$(memcg_of "$1") || return 1
	case $_b in
	*/leashd) [ "$(memcg_version)" = 2 ] && _b=${_b%/leashd} ;;
	esac
	echo "$_b"
}

leash_cgroups() {
	_base=$(leash_base "$1") || return 0
	for _d in "$_base"/leash-"$1"-*; do
		[ -d "$_d" ] && echo "$_d"
	done
	return 0
}

# no_leash_cgroups BASE LEASHD_PID: no leash-LEASHD_PID-* directory in BASE.
no_leash_cgroups() {
	for _d in "$1"/leash-"$2"-*; do
		[ -d "$_d" ] && return 1
	done
	return 0
}
