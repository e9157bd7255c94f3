#!/bin/sh
# With a cgroup v1 threshold event armed, a worker far from its limit is
# sampled only every 8th tick of memory_interval (program.c): the event
# still makes leashd see its crossing at once.  A worker that sits flat,
# then jumps past memory_limit 6 s after its start, is replaced within
# 3 s; sampling alone would find it up to 8 intervals (8 s) late.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" && . "$here/mem_lib.sh"

cat >"$DIR/leash.ini" <<EOF2
$(leashd_section)

[program:jump]
command = $WORKER --spike 96M --spike-at 6 --spike-for 600 --events $DIR/jump.ev
startsecs = 0.2
memory_limit = 48M
memory_interval = 1s
drain_timeout = 2s
stdout_logfile = NONE
stderr_logfile = NONE
EOF2

start_leashd "$DIR/leash.ini"
wait_for "jump reaches RUNNING" 10 in_state jump:jump RUNNING
if ! log_has " cgroup: one cgroup per worker, .*\(cgroup v1\)"; then
	for i in 1 2 3; do
		skip "no cgroup v1 memory controller for leashd here: without the event every worker is sampled at every tick"
	done
	exit 0
fi
p=$(worker_pid jump:jump)
wait_for "pid $p jumped past its limit" 10 file_has "$DIR/jump.ev" " $p spike\$"
wait_for "leashd starts its replacement within 3 s of the jump" 3 \
    log_has " program: jump:jump: replacing pid $p "
wait_for "the replacement takes over" 10 \
    log_has " program: jump:jump: replacement pid [0-9]+ is ready"
