#!/bin/sh
# The web page on [inet_http_server], with curl as a browser would use it
# and then with a real one (headless Chromium over the DevTools protocol,
# tests/web/cdp.py): every process listed with its state and memory
# against its limit; credentials required for everything; a POST of
# another site (Origin), a GET of /action, an unknown name or action
# refused and nothing changed; restart, replace (the old process seen
# draining), stop and start each done and answered with 303 to a message;
# the tail of a log; every text printed HTML-escaped.  Chromium clicks a
# restart button and the worker's pid changes; its screenshot is checked
# as a 1280x800 PNG and copied to $LEASH_WEB_SCREENSHOT when that is set.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh" && . "$here/ctl_lib.sh"

command -v curl >/dev/null || { skip "curl is not installed"; exit 0; }
have_python || { skip "python3 is not installed"; exit 0; }

port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
conf=$DIR/leash.ini
write_config "$conf" <<EOF
[inet_http_server]
port = 127.0.0.1:$port
username = alice
password = s3cret

[program:fat]
command = $WORKER --print "fat says <b>bold</b> & more" --hold 4M
memory_limit = 256M
startsecs = 0.3
stopwaitsecs = 2

; The old process of a replacement ignores its drain_signal, so that it is
; seen draining until drain_timeout kills it.
[program:web]
command = $WORKER --print web-%(process_num)d
process_name = %(process_num)d
numprocs = 2
startsecs = 0.3
stopwaitsecs = 2
drain_signal = CONT
drain_timeout = 3s

; A leak of 10 MiB/s that stops at 40 MiB, replaced every 3 s or so: the
; page (and its screenshot) shows a bar filling and a trend.
[program:leak]
command = $WORKER --grow 1M --tick 0.1 --plateau 40M
memory_limit = 32M
memory_interval = 200ms
startsecs = 0.3
EOF

start_leashd "$conf"
ALL="fat:fat web:0 web:1"
all_running() {
	for _n in $ALL; do
		in_state "$_n" RUNNING || return 1
	done
}
wait_for "the 3 workers reach RUNNING" 10 all_running ||
	bail_out "leashd did not start its workers"

# get PATH [CURL ARGS]: the body in $DIR/page.html, the status in $code.
get() {
	_path=$1
	shift
	code=$(curl -s -o "$DIR/page.html" -w '%{http_code}' -u alice:s3cret \
	    "$@" "$base$_path")
}

# act NAME WHAT [CURL ARGS]: POST /action; the status in $code, the
# Location in $loc, the body in $DIR/page.html.
act() {
	_name=$1 _what=$2
	shift 2
	code=$(curl -s -o "$DIR/page.html" -D "$DIR/headers" -w '%{http_code}' \
	    -u alice:s3cret --data-urlencode "name=$_name" \
	    --data-urlencode "do=$_what" "$@" "$base/action")
	loc=$(sed -n 's/^[Ll]ocation: //p' "$DIR/headers" | tr -d '\r')
}

# row NAME: NAME's row of the last page fetched.
row() {
	grep -F "<tr data-name=\"$1\">" "$DIR/page.html"
}

# page_state NAME: the state the last page fetched shows for NAME.
page_state() {
	row "$1" | sed -n 's/.*<td class=\([A-Z]*\)>.*/\1/p'
}

# page_has TEXT: the last page fetched holds TEXT (fixed string).
page_has() {
	grep -F -q -- "$1" "$DIR/page.html"
}

# pid_changed NAME OLD: NAME has a pid, and not OLD.
pid_changed() {
	_p=$(ctl_pid "$1")
	[ -n "$_p" ] && [ "$_p" != - ] && [ "$_p" != "$2" ]
}

# untouched NAME: the web page did nothing to NAME (it logs each action).
untouched() {
	! log_has " web: $1: " && [ "$(spawn_count "$1")" = 1 ]
}

# ---------------------------------------------------------------- the page

get /
check "GET / answers 200 (got $code)" test "$code" = 200
bad=
for n in $ALL; do
	[ "$(page_state "$n")" = RUNNING ] || bad="$bad $n"
done
check "GET / lists every process as RUNNING${bad:+ (not:$bad)}" test -z "$bad"
check "the page shows leashd's pid and version" \
    grep -E -q "leashd [^ ]+, pid $LEASHD_PID" "$DIR/page.html"
check "each row shows its pid" \
    sh -c "grep -F '<tr data-name=\"web:0\">' '$DIR/page.html' | grep -F -q '<td class=num>$(ctl_pid web:0)</td>'"
check "a button per action, named for its process" \
    sh -c "grep -F '<tr data-name=\"web:1\">' '$DIR/page.html' | grep -o '<button [^>]*data-name=\"web:1\"' | wc -l | grep -qx 4"
get /index.html
check "GET /index.html is the same page" \
    sh -c "test '$code' = 200 && grep -F -q '<tr data-name=\"fat:fat\">' '$DIR/page.html'"
fat_has_bar() {
	get /
	row fat:fat | grep -F 'class="bar' | grep -E -q '[0-9.]+[KM] / 256M \([0-9]+%\)'
}
wait_for "fat's memory is a bar against its 256M limit, with the numbers" 10 fat_has_bar
check "the page is served as HTML with a content security policy" \
    sh -c "curl -s -D - -o /dev/null -u alice:s3cret $base/ | grep -qi '^content-security-policy: default-src .none.'"

# ---------------------------------------------------------------- refused

code=$(curl -s -o /dev/null -w '%{http_code}' -u alice:wrong "$base/")
check "a wrong password: 401 (got $code)" test "$code" = 401
code=$(curl -s -o /dev/null -w '%{http_code}' "$base/")
check "no credentials: 401 (got $code)" test "$code" = 401
code=$(curl -s -o /dev/null -w '%{http_code}' --data 'name=web:1&do=restart' \
    "$base/action")
check "a POST without credentials: 401 (got $code)" test "$code" = 401
act web:1 restart -H "Origin: http://evil.example"
check "a POST with another site's Origin: 403 (got $code)" test "$code" = 403
act web:1 restart -H "Origin: http://127.0.0.1:1$port"
check "an Origin on another port is another site: 403 (got $code)" test "$code" = 403
get "/action?name=web%3A1&do=restart"
check "GET /action: 405, it changes nothing (got $code)" test "$code" = 405
act nosuch restart
check "an unknown name: 404, the page with an error (got $code)" \
    sh -c "test '$code' = 404 && grep -F -q 'ERROR: no such process: nosuch' '$DIR/page.html'"
act web:1 frobnicate
check "an unknown action: 400 (got $code)" test "$code" = 400
check "none of them touched web:1" untouched web:1

# ---------------------------------------------------------------- actions

old=$(ctl_pid web:1)
act web:1 restart -H "Origin: $base"
check "POST restart (same Origin): 303 to /?msg=restarted%20web%3A1 (got $code $loc)" \
    test "$code" = 303 -a "$loc" = "/?msg=restarted%20web%3A1"
wait_for "web:1 runs again with a new pid (was $old)" 10 pid_changed web:1 "$old"
wait_for "web:1 is RUNNING again" 10 ctl_in_state web:1 RUNNING
get "$loc"
check "the page it leads to says so" \
    grep -F -q '<p class="msg" id=msg>restarted web:1</p>' "$DIR/page.html"
check "restarts by reason: web:1 has manual 1" \
    sh -c "grep -F '<tr data-name=\"web:1\">' '$DIR/page.html' | grep -F -q '(manual 1)'"

old=$(ctl_pid web:0)
act web:0 replace
check "POST replace: 303 (got $code $loc)" \
    sh -c "test '$code' = 303 && echo '$loc' | grep -q '^/?msg=replacing'"
draining_shown() {
	get /
	row web:0 | grep -F -q "draining pid $old"
}
wait_for "the page shows web:0's old process draining (pid $old)" 5 draining_shown
wait_for "web:0's replacement took over with a new pid" 5 pid_changed web:0 "$old"
check "web:0 stayed RUNNING throughout" ctl_in_state web:0 RUNNING
wait_for "the old process is gone after drain_timeout" 10 dead "$old"
get /
check "restarts by reason: web:0 has reload 1" \
    sh -c "grep -F '<tr data-name=\"web:0\">' '$DIR/page.html' | grep -F -q '(reload 1)'"

act fat:fat stop
check "POST stop: 303 (got $code $loc)" test "$code" = 303 -a "$loc" = "/?msg=stopped%20fat%3Afat"
wait_for "fat:fat is STOPPED" 10 ctl_in_state fat:fat STOPPED
get /
check "the page shows it STOPPED" test "$(page_state fat:fat)" = STOPPED
act fat:fat stop
check "stopping it again: an error message, nothing done ($loc)" \
    sh -c "echo '$loc' | grep -q '^/?msg=ERROR%3A%20cannot%20stop%20fat%3Afat'"
act fat:fat start
check "POST start: 303 (got $code $loc)" test "$code" = 303 -a "$loc" = "/?msg=started%20fat%3Afat"
wait_for "fat:fat is RUNNING again" 10 ctl_in_state fat:fat RUNNING

# ---------------------------------------------------------------- escaping, tail

get "/?msg=%3Cscript%3Ealert(1)%3C%2Fscript%3E"
check "a message is escaped" \
    sh -c "grep -F -q '&lt;script&gt;alert(1)&lt;/script&gt;' '$DIR/page.html' && ! grep -F -q '<script>' '$DIR/page.html'"
get "/tail?name=web%3A0"
check "GET /tail shows a line the worker printed (got $code)" \
    sh -c "test '$code' = 200 && grep -q '^web-0\$' '$DIR/page.html'"
get "/tail?name=fat%3Afat"
check "the tail escapes a log line with <b> in it" \
    grep -F -q 'fat says &lt;b&gt;bold&lt;/b&gt; &amp; more' "$DIR/page.html"
check "... and never prints it as markup" sh -c "! grep -F -q '<b>bold' '$DIR/page.html'"
get "/tail?name=fat%3Afat&channel=stderr"
check "GET /tail of stderr: 200 (got $code)" test "$code" = 200
get "/tail?name=nosuch"
check "GET /tail of an unknown process: 404 (got $code)" test "$code" = 404
get "/tail?name=fat%3Afat&channel=%3Cx%3E"
check "an unknown channel: 400, escaped (got $code)" \
    sh -c "test '$code' = 400 && grep -F -q 'no such channel: &lt;x&gt;' '$DIR/page.html'"
check "XML-RPC still answers at /RPC2" \
    sh -c "curl -s -u alice:s3cret -H 'Content-Type: text/xml' --data '<?xml version=\"1.0\"?><methodCall><methodName>supervisor.getPID</methodName><params/></methodCall>' $base/RPC2 | grep -q '<int>$LEASHD_PID</int>'"

# ---------------------------------------------------------------- a browser

# png_ok FILE: a PNG, WIDTHxHEIGHT 1280x800 by its IHDR, and not blank
# (more than 10 KB).
png_ok() {
	"$PYTHON" - "$1" <<'EOF'
import os, struct, sys
with open(sys.argv[1], "rb") as f:
    d = f.read(24)
ok = (d[:8] == b"\x89PNG\r\n\x1a\n" and d[12:16] == b"IHDR" and
      struct.unpack(">II", d[16:24]) == (1280, 800) and
      os.path.getsize(sys.argv[1]) > 10000)
sys.exit(0 if ok else 1)
EOF
}

chromium=$(command -v chromium || command -v chromium-browser)
if [ -z "$chromium" ]; then
	skip "no chromium to click the page with (Debian: chromium)"
else
	old=$(ctl_pid web:0)
	mkdir "$DIR/chrome"
	TAP_DIAG_FILE=$DIR/cdp.err
	$CTL_WRAP "$PYTHON" "$top_srcdir/tests/web/cdp.py" --chromium "$chromium" \
	    --profile "$DIR/chrome" --url "$base/" --user alice --password s3cret \
	    --screenshot "$DIR/web.png" --after "$DIR/web-after.png" \
	    --click 'button[data-name="web:0"][value=restart]' \
	    >"$DIR/cdp.out" 2>"$DIR/cdp.err"
	rc=$?
	cat "$DIR/cdp.out" >>"$DIR/cdp.err"
	check "chromium opened the page, clicked restart of web:0 and came back (exit $rc)" \
	    sh -c "test $rc = 0 && grep -F -q 'message restarted web:0' '$DIR/cdp.out'"
	TAP_DIAG_FILE=
	check "its screenshot is a 1280x800 PNG" png_ok "$DIR/web.png"
	wait_for "the click restarted web:0: a new pid (was $old)" 10 pid_changed web:0 "$old"
	if [ -n "${LEASH_WEB_SCREENSHOT:-}" ] && [ -f "$DIR/web.png" ]; then
		cp "$DIR/web.png" "$LEASH_WEB_SCREENSHOT"
		[ -f "$DIR/web-after.png" ] &&
		    cp "$DIR/web-after.png" "${LEASH_WEB_SCREENSHOT%.png}-after.png"
		diag "screenshot copied to $LEASH_WEB_SCREENSHOT"
	fi
fi
