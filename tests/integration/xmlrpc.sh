#!/bin/sh
# Python's xmlrpc.client as a second client of leashd's XML-RPC, on
# [inet_http_server] with basic authentication: supervisord's fault codes,
# process-info fields and state codes, system.multicall (with a call that
# waits), leash.getProcessInfo; then bad input -- wrong credentials,
# malformed XML, a DOCTYPE, a body over the limit, unknown methods, wrong
# argument types, clients that hold connections open -- each answered with
# a fault or an HTTP error while leashd keeps serving.
here=$(cd "$(dirname "$0")" && pwd) && . "$here/lib.sh"

command -v python3 >/dev/null || { skip "python3 is not installed"; exit 0; }

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
conf=$DIR/leash.ini
cat >"$conf" <<EOF
[leashd]
childlogdir = $DIR/logs
logfile = $DIR/main.log

[inet_http_server]
port = 127.0.0.1:$port
username = alice
password = s3cret

[program:one]
command = $WORKER --print one
startsecs = 0.3

[program:web]
command = $WORKER --print web
process_name = %(program_name)s_%(process_num)d
numprocs = 2
startsecs = 0.3

[program:lazy]
command = $WORKER --print lazy
autostart = false
startsecs = 0.3
EOF

# Open to the network without a password: accepted, as supervisord does,
# with a warning (the logfile line goes too: the warning names line 4).
sed 's/^port = 127.0.0.1:/port = *:/; /^username/d; /^password/d; /^logfile/d' "$conf" >"$DIR/open.ini"
"$LEASHD" -t -c "$DIR/open.ini" >"$DIR/t.out" 2>&1
trc=$?
check "-t accepts an open [inet_http_server] (exit $trc)" test "$trc" = 0
check "-t warns: anyone who can reach it controls every process" \
    grep -q "warning: .*open.ini:4: \[inet_http_server\] port = \*:$port: anyone who can reach this address controls every process" "$DIR/t.out"

start_leashd "$conf"
wait_for "the workers reach RUNNING" 10 in_state web:web_1 RUNNING

cat >"$DIR/client.py" <<'EOF'
import http.client, socket, sys, time, xmlrpc.client

port = int(sys.argv[1])
url = "http://alice:s3cret@127.0.0.1:%d/RPC2" % port
s = xmlrpc.client.ServerProxy(url)

def check(desc, cond):
    print(("PASS " if cond else "FAIL ") + desc, flush=True)

def fault(fn, *args):
    try:
        fn(*args)
    except xmlrpc.client.Fault as f:
        return f.faultCode, f.faultString
    return None

def post(body, auth=True, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    h = {"Content-Type": "text/xml"}
    if auth:
        h["Authorization"] = "Basic YWxpY2U6czNjcmV0"
    h.update(headers or {})
    c.request("POST", "/RPC2", body, h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data

check("getAPIVersion is 3.0", s.supervisor.getAPIVersion() == "3.0")
check("getState is RUNNING (1)",
      s.supervisor.getState() == {"statecode": 1, "statename": "RUNNING"})
info = s.supervisor.getProcessInfo("web:web_0")
check("getProcessInfo has supervisord's fields",
      set(info) == {"name", "group", "start", "stop", "now", "state",
                    "statename", "spawnerr", "exitstatus", "logfile",
                    "stdout_logfile", "stderr_logfile", "pid", "description"})
check("RUNNING is state 20 with a pid and a description",
      info["state"] == 20 and info["statename"] == "RUNNING" and
      info["pid"] > 0 and info["description"].startswith("pid %d, uptime " % info["pid"]))
lazy = s.supervisor.getProcessInfo("lazy")
check("a process never started is STOPPED (0), 'Not started'",
      lazy["state"] == 0 and lazy["description"] == "Not started" and lazy["pid"] == 0)
names = [(p["group"], p["name"]) for p in s.supervisor.getAllProcessInfo()]
check("getAllProcessInfo in lexical order",
      names == [("lazy", "lazy"), ("one", "one"), ("web", "web_0"), ("web", "web_1")])
check("an unknown process: BAD_NAME (10)",
      fault(s.supervisor.getProcessInfo, "nosuch") == (10, "BAD_NAME: nosuch"))
check("a group name alone is not a process: BAD_NAME",
      fault(s.supervisor.getProcessInfo, "web")[0] == 10)
check("an unknown method: UNKNOWN_METHOD (1)",
      fault(s.supervisor.frobnicate) == (1, "UNKNOWN_METHOD"))
check("too many arguments: SIGNATURE_UNSUPPORTED (4)",
      fault(s.supervisor.getPID, 1)[0] == 4)
check("a wrong argument type: INCORRECT_PARAMETERS (2)",
      fault(s.supervisor.getProcessInfo, 5)[0] == 2)
check("starting a running process: ALREADY_STARTED (60)",
      fault(s.supervisor.startProcess, "one") == (60, "ALREADY_STARTED: one"))
check("stopping a stopped process: NOT_RUNNING (70)",
      fault(s.supervisor.stopProcess, "lazy")[0] == 70)
check("a bad signal: BAD_SIGNAL (11)",
      fault(s.supervisor.signalProcess, "one", "NOSUCH")[0] == 11)
check("startProcess waits until RUNNING", s.supervisor.startProcess("lazy") is True and
      s.supervisor.getProcessInfo("lazy")["state"] == 20)
res = s.supervisor.stopProcessGroup("web")
check("stopProcessGroup: a result per process, SUCCESS (80)",
      sorted((r["name"], r["status"], r["description"]) for r in res) ==
      [("web_0", 80, "OK"), ("web_1", 80, "OK")])
check("signalProcessGroup skips stopped processes",
      s.supervisor.signalProcessGroup("web", "HUP") == [])
# supervisord's multicall returns each value as it is, not in a one-element
# array as the spec (and xmlrpc.client.MultiCall) would have it.
vals = s.system.multicall([
    {"methodName": "supervisor.getAPIVersion", "params": []},
    {"methodName": "supervisor.startProcess", "params": ["web:web_0"]},
    {"methodName": "supervisor.getProcessInfo", "params": ["web:web_0"]},
    {"methodName": "supervisor.getProcessInfo", "params": ["nosuch"]}])
check("multicall runs in order and waits for a start before the next call",
      vals[:2] == ["3.0", True] and vals[2]["state"] == 20 and
      vals[3] == {"faultCode": 10, "faultString": "BAD_NAME: nosuch"})
raw = s.system.multicall([{"methodName": "system.multicall", "params": []},
                          {"params": []}])
check("multicall refuses recursion and a call without a name",
      [r["faultCode"] for r in raw] == [2, 2])
check("listMethods lists supervisord's and leash's methods",
      {"supervisor.startProcess", "system.multicall",
       "leash.getProcessInfo"} <= set(s.system.listMethods()))
check("methodSignature", s.system.methodSignature("supervisor.getPID") == ["int"])
li = s.leash.getProcessInfo("one")
check("leash.getProcessInfo adds memory and restarts by reason",
      {"memory", "memory_limit", "memory_trend", "restarts",
       "replace_state"} <= set(li) and "memory" in li["restarts"])
old = s.supervisor.getProcessInfo("one")["pid"]
check("leash.reloadProcess: True once replaced", s.leash.reloadProcess("one") is True)
new = s.leash.getProcessInfo("one")
check("leash.reloadProcess: a new pid, counted as a reload",
      new["pid"] not in (0, old) and new["state"] == 20 and
      new["restarts"]["reload"] == 1 and new["last_reason"] == "reload")
check("leash.reloadProcess of a stopped process: NOT_RUNNING",
      fault(s.leash.reloadProcess, "web:web_1")[0] == 70)
tail = s.supervisor.tailProcessStdoutLog("one", 0, 100)
check("tailProcessStdoutLog: [bytes, offset, overflow]",
      tail[0] == "one\none\n" and tail[1] == 8 and tail[2] is False)
check("readProcessStdoutLog with a negative offset reads the tail",
      s.supervisor.readProcessStdoutLog("one", -2, 0) == "e\n")
check("readProcessStdoutLog: a negative offset with a length is BAD_ARGUMENTS",
      fault(s.supervisor.readProcessStdoutLog, "one", -2, 1)[0] == 3)
main = s.supervisor.readLog(0, 0)
check("readLog reads [supervisord] logfile from the start",
      main.startswith(time.strftime("%Y-")) and
      "started (pid %d," % s.supervisor.getPID() in main)
check("readLog with a negative offset reads the last bytes",
      s.supervisor.readLog(-10, 0) == main[-10:])
check("readLog: a negative offset with a length is BAD_ARGUMENTS",
      fault(s.supervisor.readLog, -2, 1)[0] == 3)
check("clearLog empties the main log", s.supervisor.clearLog() is True and
      len(s.supervisor.readLog(0, 0)) < len(main))

# Bad input.
bad = xmlrpc.client.ServerProxy("http://alice:wrong@127.0.0.1:%d/RPC2" % port)
try:
    bad.supervisor.getPID()
    check("a wrong password is refused with 401", False)
except xmlrpc.client.ProtocolError as e:
    check("a wrong password is refused with 401", e.errcode == 401)
st, _ = post("<?xml version='1.0'?><methodCall><methodName>supervisor.getPID"
             "</methodName></methodCall>", auth=False)
check("no credentials: 401", st == 401)
st, body = post("<methodCall><methodName>x</methodName><params><param>"
                "<value><int>1</int></value>")
check("truncated XML: a fault, not a crash", st == 200 and b"<fault>" in body)
st, body = post("""<?xml version="1.0"?>
<!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<methodCall><methodName>&b;</methodName></methodCall>""")
check("a DOCTYPE (entity expansion) is refused with a fault",
      st == 200 and b"DOCTYPE" in body)
st, body = post("<methodCall><methodName>x</methodName><params><param>" +
                "<value><array><data>" * 40 + "</data></array></value>" * 40 +
                "</param></params></methodCall>")
check("values nested too deep: a fault", st == 200 and b"deep" in body)
st, body = post("<methodCall><methodName>supervisor.getPID</methodName>"
                "<params><param><value><int>99999999999999999999</int></value>"
                "</param></params></methodCall>")
check("an int out of range: a fault", st == 200 and b"<fault>" in body)
st, body = post("x" * (5 << 20))
check("a body over 4 MiB: 413", st == 413)
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
c.request("GET", "/nosuch", headers={"Authorization": "Basic YWxpY2U6czNjcmV0"})
check("an unknown path: 404", c.getresponse().status == 404)
c.close()

# Clients that connect and say nothing, or half a request, hold no one up.
idle = []
for i in range(50):
    k = socket.create_connection(("127.0.0.1", port))
    if i % 2:
        k.sendall(b"POST /RPC2 HTTP/1.1\r\nContent-Length: 1000\r\n\r\n<met")
    idle.append(k)
t = time.monotonic()
check("with 50 stalled clients others are served",
      s.supervisor.getPID() > 0 and time.monotonic() - t < 5)
for k in idle:
    k.close()
check("leashd serves after all of it", s.supervisor.getState()["statecode"] == 1)

# Shut down with a follower of /logtail attached: the stream ends.
f = socket.create_connection(("127.0.0.1", port))
f.sendall(b"GET /logtail/one HTTP/1.1\r\nHost: x\r\n"
          b"Authorization: Basic YWxpY2U6czNjcmV0\r\n\r\n")
f.settimeout(10)
got = b""
while b"one\n" not in got:
    got += f.recv(4096)
check("GET /logtail/one streams the log (chunked)",
      b"200 OK" in got and b"chunked" in got.lower())
check("shutdown returns True", s.supervisor.shutdown() is True)
try:
    while f.recv(4096):
        pass
    check("the follower's stream ends at shutdown", True)
except OSError as e:
    check("the follower's stream ends at shutdown (%s)" % e, False)
EOF

TAP_DIAG_FILE=$DIR/client.err
python3 "$DIR/client.py" "$port" >"$DIR/client.out" 2>"$DIR/client.err"
rc=$?
while IFS= read -r line; do
	case $line in
	"PASS "*) ok "${line#PASS }" ;;
	"FAIL "*) not_ok "${line#FAIL }" ;;
	esac
done <"$DIR/client.out"
check "the client ran to its end (status $rc)" test "$rc" = 0
TAP_DIAG_FILE=
wait_leashd_exit 15
check "leashd exits 0 after shutdown (status $LEASHD_STATUS)" \
	test "$LEASHD_STATUS" = 0
exit 0
