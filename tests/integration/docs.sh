#!/bin/sh
# Docs move with code: every key leashd reads, every leashctl command and
# leashd option is documented (README, etc/leash.ini, the manual pages,
# linted by mandoc), and the shipped example configurations are valid.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh"

LEASHCTL=$top_builddir/src/leashctl

for f in etc/leash.ini etc/demo.ini contrib/kubernetes/leash.ini; do
	"$LEASHD" -t -c "$top_srcdir/$f" >"$DIR/t.out" 2>&1
	TAP_DIAG_FILE=$DIR/t.out
	check "$f is a valid configuration, without a warning" sh -c \
	    "grep -q 'configuration ok' '$DIR/t.out' && ! grep -q warning '$DIR/t.out'"
	TAP_DIAG_FILE=
done

# The [program:x] keys, from config.c's table; the [leashd] and
# [socket:x] keys, from their parsers.
keys=$(sed -n '/program_keys\[\] = {/,/^};/p' "$top_srcdir/src/config.c" |
    sed -n 's/^[[:space:]]*{ "\([a-z_]*\)".*/\1/p')
[ -n "$keys" ] || bail_out "no keys found in src/config.c"
for k in $keys control_socket control_group loglevel childlogdir include \
    use_cgroups metrics listen backlog mode owner file chmod chown username \
    password port; do
	check "key $k is documented in etc/leash.ini" \
	    grep -q "^;*$k[[:space:]]*=" "$top_srcdir/etc/leash.ini"
	check "key $k is named in README" \
	    grep -qw "$k" "$top_srcdir/README"
done

# supervisord's XML-RPC methods, from rpc.c's table.
methods=$(sed -n 's/^[[:space:]]*{ "\([a-zA-Z]*\.[a-zA-Z]*\)", .*/\1/p' "$top_srcdir/src/rpc.c")
[ -n "$methods" ] || bail_out "no methods found in src/rpc.c"
for m in $methods; do
	check "method $m is in docs/protocol.md" \
	    grep -q "\`$m\`" "$top_srcdir/docs/protocol.md"
done

cmds=$("$LEASHCTL" help | sed -n 's/^  \([a-z]*\) .*/\1/p; s/^  \([a-z]*\)$/\1/p')
[ -n "$cmds" ] || bail_out "leashctl help listed no commands"
for c in $cmds; do
	check "leashctl $c is in README" grep -qw "$c" "$top_srcdir/README"
	check "leashctl $c is in docs/protocol.md" \
	    grep -q "\`$c" "$top_srcdir/docs/protocol.md"
done

# The manual pages: linted clean by mandoc, and naming every key, command
# and option the code has.
man=$top_srcdir/man
for k in $keys control_socket control_group loglevel childlogdir include use_cgroups \
    metrics listen backlog mode owner file chmod chown username password port \
    files serverurl; do
	check "key $k is in leash.ini(5)" \
	    grep -q "^\.It Cm $k\( \|$\)" "$man/leash.ini.5"
done
for c in $cmds; do
	check "leashctl $c is in leashctl(1)" \
	    grep -q "^\.It Cm $c\( \|$\)" "$man/leashctl.1"
done
opts=$(sed -n '/longopts\[\] = {/,/^	};/p' "$top_srcdir/src/daemon.c" |
    sed -n 's/^[[:space:]]*{ "\([a-z_-]*\)",.*/\1/p')
[ -n "$opts" ] || bail_out "no options found in src/daemon.c"
for o in $opts; do
	_o=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
	check "leashd --$o is in leashd(8)" \
	    grep -q "Fl \\\\-$_o\( \|$\)" "$man/leashd.8"
done
# Every Prometheus metric, from metrics.c.
metrics=$(grep -o '"\(leash\|process\)_[a-z_]*' "$top_srcdir/src/metrics.c" |
    tr -d '"' | sort -u)
[ -n "$metrics" ] || bail_out "no metrics found in src/metrics.c"
for m in $metrics; do
	check "metric $m is in docs/metrics.md" \
	    grep -q "\`$m\`" "$top_srcdir/docs/metrics.md"
done
if command -v mandoc >/dev/null; then
	for p in leashd.8 leashctl.1 leash.ini.5; do
		mandoc -Tlint -W warning "$man/$p" >"$DIR/lint.out" 2>&1
		TAP_DIAG_FILE=$DIR/lint.out
		check "mandoc -Tlint finds nothing in $p" test ! -s "$DIR/lint.out"
		TAP_DIAG_FILE=
	done
else
	skip "no mandoc to lint the manual pages (Debian's mandoc)"
fi
