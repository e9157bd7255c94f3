#!/bin/sh
# Docs move with code: every key leashd reads and every leashctl command is
# documented, and the shipped example configurations are valid.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh"

LEASHCTL=$top_builddir/src/leashctl

for f in leash.ini demo.ini; do
	check "etc/$f is a valid configuration" \
	    "$LEASHD" -t -c "$top_srcdir/etc/$f"
done

# The [program:x] keys, from config.c's table; the [leashd] and
# [socket:x] keys, from their parsers.
keys=$(sed -n '/program_keys\[\] = {/,/^};/p' "$top_srcdir/src/config.c" |
    sed -n 's/^[[:space:]]*{ "\([a-z_]*\)".*/\1/p')
[ -n "$keys" ] || bail_out "no keys found in src/config.c"
for k in $keys control_socket control_group loglevel childlogdir include \
    use_cgroups listen backlog mode owner file chmod chown username \
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
