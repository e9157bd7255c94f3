#!/bin/sh
# Prometheus metrics: [leashd] metrics = tcp:HOST:PORT (and unix:PATH)
# serves GET /metrics in the text format, checked by promtool; the series
# follow the pool (memory, limit, state, restarts by reason, the
# replacement, drain and detection histograms once a leaking worker was
# replaced); the metrics socket answers nothing else and needs no
# password, while supervisord's [inet_http_server] serves /metrics behind
# its own; and a real Prometheus server scrapes leashd, its query API
# returning the series.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" && . "$here/ctl_lib.sh"

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
command -v curl >/dev/null || bail_out "curl is needed"
mport=$(free_port)
rport=$(free_port)

# The leak is replaced about every half second (ctl_lib.sh's leak_and_pool).
write_config "$DIR/m.ini" <<EOF
metrics = tcp:127.0.0.1:$mport

[inet_http_server]
port = 127.0.0.1:$rport
username = alice
password = s3cret

$(leak_and_pool)
EOF
start_leashd "$DIR/m.ini"

scrape() {
	curl -sf -o "$DIR/metrics.txt" "http://127.0.0.1:$mport/metrics"
}
# has LINE-REGEX: the last scrape has a line matching it.
has() {
	grep -Eq "$1" "$DIR/metrics.txt"
}
scrape_has() {
	scrape && has "$1"
}

wait_for "GET /metrics answers on the metrics socket" 10 scrape
check "it is Prometheus' text format, version 0.0.4" sh -c \
    "curl -s -D - -o /dev/null http://127.0.0.1:$mport/metrics | grep -qi '^content-type: text/plain; version=0.0.4'"
wait_for "every process has its memory" 10 sh -c "
    curl -sf http://127.0.0.1:$mport/metrics >'$DIR/metrics.txt' &&
    grep -q '^leash_process_memory_bytes{program=\"pool\",process=\"pool_0\",source=\"[a-z]*\"} [0-9]' '$DIR/metrics.txt' &&
    grep -q '^leash_process_memory_bytes{program=\"pool\",process=\"pool_1\",' '$DIR/metrics.txt'"
check "and its limit" has '^leash_process_memory_limit_bytes\{program="pool",process="pool_1"\} 536870912$'
check "the state is one-hot: RUNNING is 1" has '^leash_process_state\{program="pool",process="pool_0",state="RUNNING"\} 1$'
check "and STOPPED is 0" has '^leash_process_state\{program="pool",process="pool_0",state="STOPPED"\} 0$'
check "leashd's own RSS, CPU and fds, as Prometheus' process collector names them" \
    sh -c "grep -q '^process_resident_memory_bytes [1-9]' '$DIR/metrics.txt' &&
    grep -q '^process_cpu_seconds_total [0-9.]*$' '$DIR/metrics.txt' &&
    grep -q '^process_open_fds [1-9]' '$DIR/metrics.txt' &&
    grep -q '^process_start_time_seconds [1-9]' '$DIR/metrics.txt'"
check "the version is in leash_build_info" has '^leash_build_info\{version="[^"]+"\} 1$'

wait_for "the leaking worker's replacements are counted by reason" 20 \
    scrape_has '^leash_process_restarts_total\{program="leak",process="leak",reason="memory"\} [1-9]'
check "exits are counted apart (none)" has '^leash_process_restarts_total\{program="leak",process="leak",reason="exit"\} 0$'
wait_for "the replacement time histogram has observations" 10 \
    scrape_has '^leash_replacement_duration_seconds_count\{program="leak"\} [1-9]'
wait_for "so has the drain time histogram" 10 \
    scrape_has '^leash_drain_duration_seconds_count\{program="leak"\} [1-9]'
check "and the detection delay histogram" has '^leash_detection_delay_seconds_count\{program="leak"\} [1-9]'
check "buckets are cumulative and end in +Inf = count" python3 - "$DIR/metrics.txt" <<'EOF'
import re, sys
b, c = [], None
for line in open(sys.argv[1]):
    m = re.match(r'leash_replacement_duration_seconds_bucket\{program="leak",le="([^"]+)"\} (\d+)', line)
    if m:
        b.append((m.group(1), int(m.group(2))))
    m = re.match(r'leash_replacement_duration_seconds_count\{program="leak"\} (\d+)', line)
    if m:
        c = int(m.group(1))
assert b and b[-1][0] == "+Inf" and b[-1][1] == c, (b, c)
assert all(x[1] <= y[1] for x, y in zip(b, b[1:])), b
EOF
if command -v promtool >/dev/null; then
	scrape
	check "promtool check metrics finds nothing wrong" sh -c \
	    "promtool check metrics <'$DIR/metrics.txt' >'$DIR/promtool.out' 2>&1 && ! test -s '$DIR/promtool.out'"
else
	skip "promtool is not installed (Debian: prometheus)"
fi

check "the metrics socket serves no XML-RPC" sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' -d x http://127.0.0.1:$mport/RPC2)\" = 404"
check "nor log tails" sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$mport/logtail/leak)\" = 404"
check "[inet_http_server] serves /metrics too, behind its password" sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$rport/metrics)\" = 401 &&
    curl -sf http://alice:s3cret@127.0.0.1:$rport/metrics | grep -q '^leash_process_memory_bytes{program=\"pool\"'"

# ---------------------------------------------------------------- Prometheus

if command -v prometheus >/dev/null; then
	pport=$(free_port)
	cat >"$DIR/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: leash
    static_configs:
      - targets: ['127.0.0.1:$mport']
EOF
	prometheus --config.file="$DIR/prometheus.yml" \
	    --storage.tsdb.path="$DIR/tsdb" \
	    --web.listen-address="127.0.0.1:$pport" >"$DIR/prometheus.log" 2>&1 &
	prom=$!
	# query EXPR MIN: the instant query returns MIN series or more.
	query() {
		curl -sf --data-urlencode "query=$1" \
		    "http://127.0.0.1:$pport/api/v1/query" >"$DIR/query.json" &&
		python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["status"] == "success" and len(d["data"]["result"]) >= int(sys.argv[2]) else 1)' "$DIR/query.json" "$2"
	}
	TAP_DIAG_FILE=$DIR/prometheus.log
	wait_for "a real Prometheus scrapes leashd: up is 1" 30 query 'up{job="leash"} == 1' 1
	wait_for "its query API returns every process's memory" 15 \
	    query 'leash_process_memory_bytes{job="leash"}' 3
	wait_for "and the replacements by reason" 15 \
	    query 'leash_process_restarts_total{program="leak",reason="memory"} > 0' 1
	wait_for "and the histograms, as quantiles" 15 \
	    query 'histogram_quantile(0.9, leash_replacement_duration_seconds_bucket{program="leak"}) > 0' 1
	TAP_DIAG_FILE=
	kill "$prom" 2>/dev/null
	wait "$prom" 2>/dev/null
else
	skip "prometheus is not installed (Debian: prometheus): no real scrape"
fi

# ---------------------------------------------------------------- unix, errors

stop_leashd() {
	kill -TERM "$LEASHD_PID"
	wait_leashd_exit 20
}
stop_leashd
SOCK=$DIR/u.sock
write_config "$DIR/u.ini" <<EOF
metrics = unix:$DIR/metrics.sock

[program:one]
command = $WORKER
startsecs = 0
EOF
start_leashd "$DIR/u.ini" "$DIR/u.log"
wait_for "metrics = unix:PATH serves /metrics on a UNIX socket" 10 sh -c \
    "curl -sf --unix-socket '$DIR/metrics.sock' http://localhost/metrics | grep -q '^leash_process_state{program=\"one\",process=\"one\",state=\"RUNNING\"} 1'"
stop_leashd
check "the socket is removed at exit" test ! -e "$DIR/metrics.sock"

write_config "$DIR/bad.ini" <<EOF
metrics = 127.0.0.1:9731

[program:one]
command = $WORKER
EOF
"$LEASHD" -t -c "$DIR/bad.ini" >"$DIR/bad.out" 2>&1
check "a bad metrics value names file, line, key and the forms expected" \
    grep -q "bad.ini:6: \[leashd\] metrics: \"127.0.0.1:9731\": expected tcp:HOST:PORT or unix:/PATH" "$DIR/bad.out"

# A port that is taken: leashd says so and does not start.
write_config "$DIR/taken.ini" <<EOF
metrics = tcp:127.0.0.1:$rport

[inet_http_server]
port = 127.0.0.1:$rport

[program:one]
command = $WORKER
EOF
"$LEASHD" -n -c "$DIR/taken.ini" >"$DIR/taken.out" 2>&1
check "a metrics port in use is an error at start, naming the line" \
    grep -q "taken.ini:6: \[leashd\] metrics: " "$DIR/taken.out"
