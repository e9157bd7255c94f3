#!/usr/bin/env python3
"""leash's benchmark harness: leash against supervisord (+ a memory monitor)
and PM2, in the same run, on this machine.  Run it through bench/run, which
installs the peers, builds the binaries and cleans up; see bench/README.

    harness.py --tmp DIR --leashd PATH --leashctl PATH [--quick]
               [--only FIG,...] [--out FILE]
    harness.py --sweep DIR      stop everything started under DIR

Every process the harness starts has DIR in its command line (binaries are
copied there, configurations and PM2_HOME live there), so a sweep finds
them all and nothing else.
"""
import argparse
import calendar
import hashlib
import json
import os
import platform
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import http.client
import xmlrpc.client

BENCH = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(BENCH)
CLK_TCK = os.sysconf("SC_CLK_TCK")
MiB = 1 << 20
T0 = time.monotonic()
FIGURES = ["rss", "spawn", "status", "sampling", "detect", "http", "churn",
           "load", "scale", "soak"]


def say(msg):
    print(f"[bench {time.monotonic() - T0:6.1f}s] {msg}", flush=True)


# ------------------------------------------------------------------ /proc

def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def cpu_seconds(pid):
    """utime + stime of pid, from /proc/PID/stat."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return (int(rest[11]) + int(rest[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def quantile(xs, q):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    k = (len(xs) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def wait_for(pred, timeout, interval=0.1):
    end = time.monotonic() + timeout
    while True:
        try:
            if pred():
                return True
        except Exception:
            pass
        if time.monotonic() >= end:
            return False
        time.sleep(interval)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def run(cmd, env=None, timeout=120, cwd=None):
    return subprocess.run(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def kill_wait(pid, timeout, sig=signal.SIGTERM):
    """sig, then SIGKILL after timeout; True when it is gone."""
    if not alive(pid):
        return True
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return True
    if wait_for(lambda: not alive(pid), timeout, 0.05):
        return True
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return wait_for(lambda: not alive(pid), 10, 0.05)


def sweep(tmp, quiet=False):
    """SIGKILL every process whose command line mentions tmp (ours only)."""
    me = {os.getpid(), os.getppid()}
    for _ in range(5):
        found = []
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) in me:
                continue
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if tmp in cmd and "--sweep" not in cmd:
                found.append((int(d), cmd))
        if not found:
            return
        for pid, cmd in found:
            if not quiet:
                say(f"sweep: SIGKILL {pid} {cmd[:100]}")
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.2)


# ------------------------------------------------------------------ supervisors

class Bench:
    def __init__(self, a):
        self.a = a
        self.quick = a.quick
        self.tmp = a.tmp
        self.bin = os.path.join(self.tmp, "bin")
        self.leashd = a.leashd
        self.leashctl = a.leashctl
        self.cleanups = []
        self.results = {"figures": {}, "skipped": {}, "errors": {}}
        self.leash_failed = False
        self.pm2 = os.path.join(BENCH, "node_modules", ".bin", "pm2")
        self.serial = 0

    def on_cleanup(self, fn):
        self.cleanups.append(fn)

    def cleanup(self):
        while self.cleanups:
            fn = self.cleanups.pop()
            try:
                fn()
            except Exception as e:
                say(f"cleanup: {e}")
        sweep(self.tmp)

    def workdir(self, tag):
        self.serial += 1
        d = os.path.join(self.tmp, f"{self.serial:02d}-{tag}")
        os.makedirs(d)
        return d


class Leash:
    label = "leash"

    def __init__(self, b, tag, body, leashd_extra="", rpc=False):
        self.b = b
        self.dir = b.workdir(tag)
        self.sock = os.path.join(self.dir, "leash.sock")
        self.ini = os.path.join(self.dir, "leash.ini")
        self.log = os.path.join(self.dir, "leashd.log")
        self.proc = None
        # supervisord's XML-RPC, only where a figure asks for it.
        self.rpc_sock = os.path.join(self.dir, "rpc.sock") if rpc else None
        server = f"[unix_http_server]\nfile = {self.rpc_sock}\n" if rpc else ""
        with open(self.ini, "w") as f:
            f.write(f"[leashd]\ncontrol_socket = {self.sock}\n"
                    f"loglevel = info\n{leashd_extra}\n{server}\n{body}")

    def start(self):
        self.t0 = time.time()
        self.proc = subprocess.Popen(
            [self.b.leashd, "-c", self.ini], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=open(self.log, "w"),
            cwd=self.dir, env=dict(os.environ, TZ="UTC"),
            start_new_session=True)
        self.b.on_cleanup(self.stop)
        if not wait_for(lambda: os.path.exists(self.sock), 10, 0.01):
            raise RuntimeError(f"leashd did not start: {self.tail()}")

    @property
    def pid(self):
        return self.proc.pid

    def tail(self):
        try:
            with open(self.log) as f:
                return " | ".join(f.read().splitlines()[-5:])
        except OSError:
            return "(no log)"

    def ctl(self, *args, timeout=120):
        return run([self.b.leashctl, "-s", self.sock, *args], timeout=timeout)

    def status(self):
        r = self.ctl("--json", "status")
        return json.loads(r.stdout)["processes"]

    def count_running(self):
        return sum(p["state"] == "RUNNING" for p in self.status())

    def status_cmd(self):
        return [self.b.leashctl, "-s", self.sock, "status"], None

    def pids(self):
        return [self.pid]

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_lines(self):
        """(epoch, message) for each line of leashd's log."""
        out = []
        with open(self.log, errors="replace") as f:
            for line in f:
                m = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d{3}) "
                             r"\S+\s+(.*)", line)
                if m:
                    ts = calendar.timegm(time.strptime(m.group(1),
                                                       "%Y-%m-%d %H:%M:%S"))
                    out.append((ts + int(m.group(2)) / 1000, m.group(3)))
        return out

    def last_running_s(self):
        ts = [t for t, m in self.log_lines() if "-> RUNNING" in m]
        return max(ts) - self.t0 if ts else None


class Supervisord:
    label = "supervisord"

    def __init__(self, b, tag, programs):
        self.b = b
        self.dir = b.workdir(tag)
        self.sock = os.path.join(self.dir, "supervisor.sock")
        self.rpc_sock = self.sock
        self.conf = os.path.join(self.dir, "supervisord.conf")
        self.pidfile = os.path.join(self.dir, "supervisord.pid")
        self.log = os.path.join(self.dir, "supervisord.log")
        self.proc = None
        self.monitor = None
        with open(self.conf, "w") as f:
            f.write(f"""[unix_http_server]
file={self.sock}

[supervisord]
logfile={self.log}
pidfile={self.pidfile}
childlogdir={self.dir}
nodaemon=true
minfds=8192
minprocs=4096
loglevel=info
user=root

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{self.sock}

{programs}""")

    def start(self):
        self.t0 = time.time()
        self.proc = subprocess.Popen(
            ["supervisord", "-c", self.conf], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd=self.dir, env=dict(os.environ, TZ="UTC"),
            start_new_session=True)
        self.b.on_cleanup(self.stop)
        if not wait_for(lambda: os.path.exists(self.pidfile) and
                        os.path.exists(self.sock), 20, 0.02):
            raise RuntimeError("supervisord did not start")

    @property
    def pid(self):
        try:
            with open(self.pidfile) as f:
                return int(f.read())
        except (OSError, ValueError):
            return self.proc.pid

    def ctl(self, *args, timeout=120):
        return run(["supervisorctl", "-c", self.conf, *args], timeout=timeout)

    def states(self):
        out = {}
        for line in self.ctl("status").stdout.splitlines():
            w = line.split()
            if len(w) >= 2:
                out[w[0]] = w[1]
        return out

    def count_running(self):
        return sum(s == "RUNNING" for s in self.states().values())

    def status_cmd(self):
        return ["supervisorctl", "-c", self.conf, "status"], None

    def start_monitor(self, limit, interval, restart=True):
        self.monlog = os.path.join(self.dir, "memmon.log")
        cmd = [sys.executable, os.path.join(self.b.bin, "memmon.py"),
               "-c", self.conf, "-s", self.sock, "-l", str(limit),
               "-i", str(interval), "-o", self.monlog]
        if not restart:
            cmd.append("--no-restart")
        self.monitor = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL,
                                        stderr=open(self.monlog + ".err", "w"),
                                        start_new_session=True)
        self.b.on_cleanup(self.stop_monitor)

    def stop_monitor(self):
        if self.monitor is not None and self.monitor.poll() is None:
            self.monitor.terminate()
            try:
                self.monitor.wait(10)
            except subprocess.TimeoutExpired:
                self.monitor.kill()
                self.monitor.wait()

    def monitor_events(self):
        out = []
        try:
            with open(self.monlog) as f:
                for line in f:
                    w = line.split()
                    if len(w) >= 2:
                        out.append((w[0], float(w[1]), w[2:]))
        except OSError:
            pass
        return out

    def pids(self):
        p = [self.pid]
        if self.monitor is not None and self.monitor.poll() is None:
            p.append(self.monitor.pid)
        return p

    def stop(self):
        self.stop_monitor()
        if self.proc is None:
            return
        kill_wait(self.pid, 180)      # via its pidfile: it stops its children
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def log_lines(self):
        out = []
        with open(self.log, errors="replace") as f:
            for line in f:
                m = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) \S+ (.*)",
                             line)
                if m:
                    ts = calendar.timegm(time.strptime(m.group(1),
                                                       "%Y-%m-%d %H:%M:%S"))
                    out.append((ts + int(m.group(2)) / 1000, m.group(3)))
        return out

    def last_running_s(self):
        ts = [t for t, m in self.log_lines() if "entered RUNNING state" in m]
        return max(ts) - self.t0 if ts else None


class PM2:
    label = "pm2"

    def __init__(self, b, tag, env_extra=None):
        self.b = b
        self.dir = b.workdir(tag)
        self.home = os.path.join(self.dir, "pm2home")
        self.env = dict(os.environ, PM2_HOME=self.home,
                        PM2_DISABLE_VERSION_CHECK="true", TZ="UTC")
        self.env.update(env_extra or {})
        self.daemon_pid = None
        self.starter = None

    def cli(self, *args, timeout=300):
        return run([self.b.pm2, *args], env=self.env, timeout=timeout,
                   cwd=self.dir)

    def start_daemon(self):
        self.b.on_cleanup(self.stop)
        r = self.cli("ping", timeout=60)
        pidfile = os.path.join(self.home, "pm2.pid")
        if not wait_for(lambda: os.path.exists(pidfile), 10):
            raise RuntimeError(f"PM2 daemon did not start: {r.stderr[-300:]}")
        with open(pidfile) as f:
            self.daemon_pid = int(f.read())

    def start(self, apps, wait=True):
        """Starts the apps (a list of PM2 app dicts) with `pm2 start`."""
        eco = os.path.join(self.dir, "ecosystem.json")
        with open(eco, "w") as f:
            json.dump({"apps": apps}, f, indent=1)
        self.t0 = time.time()
        self.starter = subprocess.Popen(
            [self.b.pm2, "start", eco], env=self.env, cwd=self.dir,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        if wait:
            self.starter.wait(600)

    @property
    def pid(self):
        return self.daemon_pid

    def jlist(self):
        s = self.cli("jlist", timeout=120).stdout
        return json.loads(s[s.index("["):]) if "[" in s else []

    def count_running(self):
        return sum(p["pm2_env"]["status"] == "online" for p in self.jlist())

    def status_cmd(self):
        return [self.b.pm2, "jlist"], self.env

    def pids(self):
        return [self.daemon_pid]

    def stop(self):
        if self.starter is not None and self.starter.poll() is None:
            self.starter.kill()
            self.starter.wait()
        if self.daemon_pid is None or not alive(self.daemon_pid):
            return
        try:
            self.cli("kill", timeout=300)
        except subprocess.TimeoutExpired:
            pass
        kill_wait(self.daemon_pid, 10)

    def log_lines(self):
        path = os.path.join(self.home, "pm2.log")
        out = []
        try:
            with open(path, errors="replace") as f:
                for line in f:
                    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)", line)
                    if m:
                        out.append((calendar.timegm(time.strptime(
                            m.group(1), "%Y-%m-%dT%H:%M:%S")), line.strip()))
        except OSError:
            pass
        return out


def poll_all_running(sup, n, timeout, interval=0.1):
    """Seconds from sup.t0 until a status poll returned n RUNNING (the
    poll's own latency included: a supervisor that is busy spawning may
    answer late, and the answer is what a user sees)."""
    end = time.monotonic() + timeout
    last = 0
    while time.monotonic() < end:
        try:
            last = sup.count_running()
        except Exception:
            last = 0
        if last >= n:
            return time.time() - sup.t0, last
        time.sleep(interval)
    return None, last


def time_calls(cmd, env, k):
    """Wall-clock milliseconds of k runs of cmd (after one warm-up)."""
    run(cmd, env=env)
    ms = []
    for _ in range(k):
        t = time.perf_counter()
        run(cmd, env=env)
        ms.append((time.perf_counter() - t) * 1000)
    return {"n": k, "median_ms": quantile(ms, 0.5), "p90_ms": quantile(ms, 0.9),
            "min_ms": min(ms), "max_ms": max(ms)}


class _UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=120)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.path)


class _UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def make_connection(self, host):
        return _UnixHTTP(self.path)


def time_rpc(path, k):
    """Milliseconds of k calls of two supervisord XML-RPC methods, by one
    Python client (xmlrpc.client, its parse included) on the UNIX socket,
    a new connection per call as supervisorctl makes them."""
    s = xmlrpc.client.ServerProxy("http://localhost",
                                  transport=_UnixTransport(path))
    out = {}
    for name, fn in (("getAllProcessInfo", s.supervisor.getAllProcessInfo),
                     ("getState", s.supervisor.getState)):
        fn()
        ms = []
        for _ in range(k):
            t = time.perf_counter()
            fn()
            ms.append((time.perf_counter() - t) * 1000)
        out[name] = {"n": k, "median_ms": quantile(ms, 0.5),
                     "p90_ms": quantile(ms, 0.9)}
    return out


def timed_stop(sup, r):
    """Stops sup; r["stop_s"]: seconds until it and its workers are gone."""
    t = time.monotonic()
    sup.stop()
    r["stop_s"] = round(time.monotonic() - t, 3)


def cpu_window(pids, seconds):
    c0 = sum(cpu_seconds(p) or 0 for p in pids)
    t = time.monotonic()
    time.sleep(seconds)
    c1 = sum(cpu_seconds(p) or 0 for p in pids)
    return c1 - c0, time.monotonic() - t


# ------------------------------------------------------------------ workers' configurations

def leash_idle_body(b, n, extra=""):
    return f"""[program:idle]
command = {b.bin}/idle
process_name = idle_%(process_num)d
numprocs = {n}
startsecs = 1
stdout_logfile = NONE
stderr_logfile = NONE
{extra}
"""


def supervisord_idle_programs(b, n):
    return f"""[program:idle]
command={b.bin}/idle
process_name=idle_%(process_num)d
numprocs={n}
startsecs=1
autorestart=true
stdout_logfile=NONE
stderr_logfile=NONE
"""


def pm2_idle_apps(b, n, extra=None):
    app = {"name": "idle", "script": f"{b.bin}/idle", "interpreter": "none",
           "exec_mode": "fork", "instances": n, "autorestart": True,
           "out_file": "/dev/null", "error_file": "/dev/null"}
    app.update(extra or {})
    return [app]


# ------------------------------------------------------------------ figures 1-4

def idle_session(b, sup, n, big, fig):
    """One supervisor with n idle workers: spawn time, RSS; at the big
    size also status latency."""
    r = {"workers": n}
    timeout = 300
    t, seen = poll_all_running(sup, n, timeout, interval=0.5)
    if t is None:
        raise RuntimeError(f"only {seen} of {n} workers RUNNING after "
                           f"{timeout} s")
    r["spawn_s"] = round(t, 3)
    if hasattr(sup, "last_running_s"):
        v = sup.last_running_s()
        r["spawn_log_s"] = round(v, 3) if v is not None else None
    time.sleep(0.5 if b.quick else 2)
    r["rss_kib"] = rss_kib(sup.pid)
    if n == big and "status" in fig:
        cmd, env = sup.status_cmd()
        r["status"] = time_calls(cmd, env, 3 if b.quick else 20)
        rpc = getattr(sup, "rpc_sock", None)
        if rpc:
            r["xmlrpc"] = time_rpc(rpc, 3 if b.quick else 20)
    return r


def fig_idle(b, fig):
    sizes = [10, 50] if b.quick else [10, 100, 1000]
    big = sizes[-1]
    window = 1 if b.quick else 15
    res = b.results["figures"]
    out = {"sizes": sizes, "big": big, "window_s": window,
           "leash": {}, "supervisord": {}, "pm2": {}}

    # leash as deployed with a memory limit: per-worker cgroups (v1 here)
    # with a threshold event each, memory_source auto (cgroup), 1 s.
    limit_cfg = "memory_limit = 64G\nmemory_interval = 1s"
    for n in sizes:
        try:
            say(f"leash: {n} idle workers (cgroups, memory_limit set)")
            L = Leash(b, f"leash-idle-{n}", leash_idle_body(b, n, limit_cfg))
            L.start()
            r = idle_session(b, L, n, big, fig)
            if n == big and "sampling" in fig:
                cpu, wall = cpu_window([L.pid], window)
                r["sampling"] = {"source": "cgroup", "cpu_s": cpu,
                                 "wall_s": wall, "samples": n * wall / 1.0}
            timed_stop(L, r)
            out["leash"][str(n)] = r
        except Exception as e:
            b.leash_failed = True
            out["leash"][str(n)] = {"error": str(e)}
            say(f"leash idle {n}: ERROR {e}")

    # leash variants at the big size: no memory_limit (so no threshold
    # events), and without cgroups for each /proc source, and a baseline
    # that does not sample (memory_interval = 1h).
    variants = [("nolimit", "", "")]
    if "status" in fig:
        variants += [("rpc", "", limit_cfg)]
    if "sampling" in fig:
        variants += [
            ("baseline", "use_cgroups = false",
             "memory_limit = 64G\nmemory_interval = 1h"),
            ("rss", "use_cgroups = false",
             "memory_limit = 64G\nmemory_interval = 1s\nmemory_source = rss"),
            ("pss", "use_cgroups = false",
             "memory_limit = 64G\nmemory_interval = 1s\nmemory_source = pss"),
            ("uss", "use_cgroups = false",
             "memory_limit = 64G\nmemory_interval = 1s\nmemory_source = uss"),
        ]
    for name, lextra, pextra in variants:
        try:
            say(f"leash: {big} idle workers, variant {name}")
            L = Leash(b, f"leash-idle-{name}", leash_idle_body(b, big, pextra),
                      lextra, rpc=name == "rpc")
            L.start()
            r = idle_session(b, L, big, big,
                             ["status"] if name == "rpc" else [])
            if name not in ("nolimit", "rpc"):
                cpu, wall = cpu_window([L.pid], window)
                r["sampling"] = {"source": name, "cpu_s": cpu, "wall_s": wall,
                                 "samples": 0 if name == "baseline" else
                                 big * wall / 1.0}
            timed_stop(L, r)
            out["leash"][name] = r
        except Exception as e:
            b.leash_failed = True
            out["leash"][name] = {"error": str(e)}
            say(f"leash idle {name}: ERROR {e}")

    if "supervisord" not in b.results["skipped"]:
        for n in sizes:
            try:
                say(f"supervisord: {n} idle workers")
                S = Supervisord(b, f"supervisord-idle-{n}",
                                supervisord_idle_programs(b, n))
                S.start()
                r = idle_session(b, S, n, big, fig)
                if n == big and "sampling" in fig:
                    cpu0, wall0 = cpu_window([S.pid], window)
                    S.start_monitor(1 << 50, 1.0, restart=False)
                    time.sleep(1 if b.quick else 2)
                    r["monitor_rss_kib"] = rss_kib(S.monitor.pid)
                    t_a = time.time()
                    cpu, wall = cpu_window([S.pid, S.monitor.pid], window)
                    t_b = time.time()
                    ticks = sum(1 for k, t, _ in S.monitor_events()
                                if k == "tick" and t_a <= t < t_b)
                    r["sampling"] = {"source": "memmon (rss, 1 s)",
                                     "cpu_s": cpu, "wall_s": wall,
                                     "idle_cpu_s": cpu0, "idle_wall_s": wall0,
                                     "samples": ticks * n}
                else:
                    S.start_monitor(1 << 50, 5.0, restart=False)
                    time.sleep(1)
                    r["monitor_rss_kib"] = rss_kib(S.monitor.pid)
                S.stop_monitor()
                timed_stop(S, r)
                out["supervisord"][str(n)] = r
            except Exception as e:
                out["supervisord"][str(n)] = {"error": str(e)}
                say(f"supervisord idle {n}: ERROR {e}")

    if "pm2" not in b.results["skipped"]:
        for n in sizes:
            try:
                say(f"PM2: {n} idle workers")
                P = PM2(b, f"pm2-idle-{n}")
                P.start_daemon()
                P.start(pm2_idle_apps(b, n), wait=False)
                r = idle_session(b, P, n, big, fig)
                timed_stop(P, r)
                out["pm2"][str(n)] = r
            except Exception as e:
                out["pm2"][str(n)] = {"error": str(e)}
                say(f"PM2 idle {n}: ERROR {e}")
        if "sampling" in fig:
            # PM2 reads every process's memory each worker interval (30 s
            # by default; max_memory_restart is checked then).  Here 1 s,
            # like the others.
            try:
                say(f"PM2: {big} idle workers, worker interval 1 s")
                P = PM2(b, "pm2-sampling", {"PM2_WORKER_INTERVAL": "1000"})
                P.start_daemon()
                P.start(pm2_idle_apps(b, big, {"max_memory_restart": "64G"}),
                        wait=False)
                t, seen = poll_all_running(P, big, 300, 0)
                if t is None:
                    raise RuntimeError(f"only {seen} of {big} online")
                time.sleep(1 if b.quick else 3)
                cpu, wall = cpu_window([P.pid], window)
                out["pm2"]["sampling"] = {
                    "source": "pidusage (rss, 1 s)", "cpu_s": cpu,
                    "wall_s": wall, "samples": big * wall / 1.0}
                P.stop()
            except Exception as e:
                out["pm2"]["sampling"] = {"error": str(e)}
                say(f"PM2 sampling: ERROR {e}")
    res["idle"] = out


# ------------------------------------------------------------------ figure 10

SCALE_SIZES = [1000, 5000, 10000]
SCALE_TIMEOUT = 300


def children_named(pid, comm):
    """Pids of pid's children whose comm is comm."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        name = st[st.index("(") + 1:st.rindex(")")]
        if name == comm and int(st[st.rindex(")") + 2:].split()[1]) == pid:
            out.append(int(d))
    return out


def scale_session(b, sup, n, window, sampling):
    """Everything figure 10 asks of one supervisor with n idle workers:
    all RUNNING, own RSS, status latency, sampling CPU, stop."""
    r = {"workers": n}
    t, seen = poll_all_running(sup, n, SCALE_TIMEOUT, interval=0.5)
    if t is None:
        raise RuntimeError(f"only {seen} of {n} workers RUNNING after "
                           f"{SCALE_TIMEOUT} s")
    r["spawn_s"] = round(t, 3)
    time.sleep(0.5 if b.quick else 3)
    r["rss_kib"] = rss_kib(sup.pid)
    cmd, env = sup.status_cmd()
    r["status"] = time_calls(cmd, env, 3 if b.quick else 10)
    if sampling is not None:
        r["sampling"] = sampling(sup, n, window)
    return r


def scale_ladder(b, label, start, sizes, window, sampling, peer):
    """scale_session at each size for one supervisor, start(n) giving it
    started; a peer's ladder ends at the first size it cannot run."""
    out = {}
    for n in sizes:
        sup = None
        try:
            say(f"{label}: {n} idle workers")
            sup = start(n)
            r = scale_session(b, sup, n, window, sampling)
            if isinstance(sup, Leash):
                sp = children_named(sup.pid, "leashd-spawner")
                r["spawner_rss_kib"] = rss_kib(sp[0]) if sp else None
            timed_stop(sup, r)
            out[str(n)] = r
        except Exception as e:
            out[str(n)] = {"error": str(e)}
            say(f"{label} {n}: ERROR {e}")
            if sup is not None:
                sup.stop()
            if peer:
                break
            b.leash_failed = True
    return out


def fig_scale(b, fig):
    """Figure 10: 1000 to 10,000 idle workers, memory_limit set, 1 s
    interval, every memory source; the peers up to the largest pool each
    can run (the first size that fails ends its ladder)."""
    sizes = [100, 300] if b.quick else SCALE_SIZES
    window = 1 if b.quick else 15
    out = {"sizes": sizes, "window_s": window, "timeout_s": SCALE_TIMEOUT,
           "leash": {}, "supervisord": {}, "pm2": {}}

    def own_sampling(sup, n, w):
        cpu, wall = cpu_window([sup.pid], w)
        return {"cpu_s": cpu, "wall_s": wall, "samples": n * wall / 1.0}

    for source, lextra in [("cgroup", ""), ("rss", "use_cgroups = false"),
                           ("pss", "use_cgroups = false"),
                           ("uss", "use_cgroups = false")]:
        def start_leash(n, source=source, lextra=lextra):
            L = Leash(b, f"leash-scale-{source}-{n}", leash_idle_body(
                b, n, "memory_limit = 64G\nmemory_interval = 1s\n"
                f"memory_source = {source}"), lextra)
            L.start()
            return L
        out["leash"][source] = scale_ladder(
            b, f"leash, memory_source = {source}", start_leash,
            sizes if source in ("cgroup", "rss") else sizes[-1:], window,
            own_sampling, peer=False)

    if "supervisord" not in b.results["skipped"]:
        def memmon_sampling(S, n, w):
            S.start_monitor(1 << 50, 1.0, restart=False)
            time.sleep(1 if b.quick else 3)
            t_a = time.time()
            cpu, wall = cpu_window([S.pid, S.monitor.pid], w)
            t_b = time.time()
            ticks = sum(1 for k, t, _ in S.monitor_events()
                        if k == "tick" and t_a <= t < t_b)
            S.stop_monitor()
            return {"cpu_s": cpu, "wall_s": wall, "samples": ticks * n,
                    "ticks": ticks}

        def start_supervisord(n):
            S = Supervisord(b, f"supervisord-scale-{n}",
                            supervisord_idle_programs(b, n))
            S.start()
            return S
        out["supervisord"] = scale_ladder(b, "supervisord", start_supervisord,
                                          sizes, window, memmon_sampling,
                                          peer=True)

    if "pm2" not in b.results["skipped"]:
        def start_pm2(n):
            P = PM2(b, f"pm2-scale-{n}", {"PM2_WORKER_INTERVAL": "1000"})
            P.start_daemon()
            P.start(pm2_idle_apps(b, n, {"max_memory_restart": "64G"}),
                    wait=False)
            return P
        out["pm2"] = scale_ladder(b, "PM2, worker interval 1 s", start_pm2,
                                  sizes, window, own_sampling, peer=True)
    b.results["figures"]["scale"] = out


# ------------------------------------------------------------------ figures 5-6

LEAK_RATE = 40 * MiB
DETECT_LIMIT = 100 * MiB


def read_events(path):
    ev = []
    try:
        with open(path) as f:
            for line in f:
                w = line.split()
                if len(w) >= 3:
                    ev.append((w[0], int(w[1]), float(w[2]), w[3:]))
    except OSError:
        pass
    return ev


def peak_file(events, pid):
    try:
        with open(f"{events}.peak.{pid}") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def analyse_detect(events, t_end, key, log=None):
    """One cycle per worker that crossed the limit and was stopped by its
    supervisor before t_end: latencies from the crossing to the next
    worker's start and to its own drain (stop) signal, and its peak."""
    ev = read_events(events)
    starts = sorted((t, pid) for k, pid, t, _ in ev if k == "start")
    cross = {}
    term = {}
    for k, pid, t, rest in ev:
        if k == key and pid not in cross:
            cross[pid] = t
        if k == "term":
            term[pid] = (t, int(rest[1]))
    spawn_log = drain_log = []
    if log is not None:
        spawn_log = [t for t, m in log if "spawned with pid" in m and
                     "(replacement)" in m]
        drain_log = [(t, m) for t, m in log if "draining pid" in m]
    cycles, censored = [], []
    for pid, tc in sorted(cross.items(), key=lambda x: x[1]):
        if tc >= t_end:
            continue
        if pid not in term or term[pid][0] >= t_end:
            peak = peak_file(events, pid)
            censored.append({"pid": pid, "cross": tc, "peak": peak,
                             "overshoot": peak / DETECT_LIMIT if peak else None})
            continue
        nxt = [t for t, p in starts if t > tc and p != pid and t < t_end]
        c = {"pid": pid, "cross": tc,
             "to_spawn_s": (nxt[0] - tc) if nxt else None,
             "to_drain_s": term[pid][0] - tc,
             "peak": term[pid][1],
             "overshoot": term[pid][1] / DETECT_LIMIT}
        if log is not None:
            s = [t for t in spawn_log if t + 0.001 >= tc]
            d = [t for t, m in drain_log if f"draining pid {pid} " in m]
            c["log_to_spawn_s"] = (s[0] - tc) if s else None
            c["log_to_drain_s"] = (d[0] - tc) if d else None
        cycles.append(c)
    return {"cycles": cycles, "censored": censored}


def summarise_detect(d):
    cy = d["cycles"]

    def q(field, p):
        v = quantile([c.get(field) for c in cy], p)
        return round(v, 4) if v is not None else None

    s = {"n": len(cy), "censored": len(d["censored"])}
    for f in ("to_spawn_s", "to_drain_s", "log_to_spawn_s", "log_to_drain_s",
              "overshoot"):
        s[f] = {"median": q(f, 0.5), "max": q(f, 1.0)}
    cens = [c["overshoot"] for c in d["censored"] if c["overshoot"]]
    s["censored_max_overshoot"] = round(max(cens), 3) if cens else None
    return s


def leaker_cmd(b, events, extra=""):
    return (f"{b.bin}/leaker -r {LEAK_RATE} -l {DETECT_LIMIT} -e {events} "
            f"-d 1000 {extra}").strip()


def fig_detect(b, fig):
    q = b.quick
    out = {"limit": DETECT_LIMIT, "rate": LEAK_RATE, "runs": {}}
    leash_runs = [
        ("leash poll rss 1s", "use_cgroups = false",
         "memory_source = rss\nmemory_interval = 1s", "cross", ""),
        ("leash poll rss 100ms", "use_cgroups = false",
         "memory_source = rss\nmemory_interval = 100ms", "cross", ""),
        ("leash cgroup event", "use_cgroups = true",
         "memory_source = cgroup\nmemory_interval = 1s", "cgcross", "-g"),
        ("leash cgroup event, ready=notify", "use_cgroups = true",
         "memory_source = cgroup\nmemory_interval = 1s\nready = notify",
         "cgcross", "-g -n"),
    ]
    if q:
        leash_runs = leash_runs[2:3]
    duration = 4 if q else 14
    for name, lextra, pextra, key, wextra in leash_runs:
        try:
            say(f"detection: {name}, {duration} s")
            tag = re.sub(r"[^a-z0-9]+", "-", name)
            L = Leash(b, tag, "", lextra)
            events = os.path.join(L.dir, "events")
            with open(L.ini, "a") as f:
                f.write(f"""[program:leak]
command = {leaker_cmd(b, events, wextra)}
startsecs = 1
stdout_logfile = NONE
stderr_logfile = NONE
memory_limit = {DETECT_LIMIT // MiB}M
memory_samples = 1
{pextra}
drain_timeout = 10s
""")
            L.start()
            time.sleep(duration)
            t_end = time.time()
            L.stop()
            d = analyse_detect(events, t_end, key, L.log_lines())
            out["runs"][name] = {"summary": summarise_detect(d), **d,
                                 "duration_s": duration}
        except Exception as e:
            b.leash_failed = True
            out["runs"][name] = {"error": str(e)}
            say(f"{name}: ERROR {e}")

    if "supervisord" not in b.results["skipped"]:
        name = "supervisord + memmon 5s"
        interval, duration = (1.0, 5) if q else (5.0, 30)
        if q:
            name = "supervisord + memmon 1s (quick)"
        try:
            say(f"detection: {name}, {duration} s")
            S = Supervisord(b, "supervisord-detect", "")
            events = os.path.join(S.dir, "events")
            with open(S.conf, "a") as f:
                f.write(f"""[program:leak]
command={leaker_cmd(b, events)}
startsecs=1
autorestart=true
stopsignal=TERM
stopwaitsecs=10
stdout_logfile=NONE
stderr_logfile=NONE
""")
            S.start()
            S.start_monitor(DETECT_LIMIT, interval)
            time.sleep(duration)
            t_end = time.time()
            S.stop()
            d = analyse_detect(events, t_end, "cross")
            out["runs"][name] = {"summary": summarise_detect(d), **d,
                                 "duration_s": duration}
        except Exception as e:
            out["runs"][name] = {"error": str(e)}
            say(f"{name}: ERROR {e}")

    if "pm2" not in b.results["skipped"]:
        name = "pm2 max_memory_restart (30 s)"
        env, duration = {}, 66
        if q:
            name, env, duration = ("pm2 max_memory_restart (1 s, quick)",
                                   {"PM2_WORKER_INTERVAL": "1000"}, 5)
        try:
            say(f"detection: {name}, {duration} s")
            P = PM2(b, "pm2-detect", env)
            events = os.path.join(P.dir, "events")
            P.start_daemon()
            P.start([{"name": "leak", "script": f"{b.bin}/leaker",
                      "args": leaker_cmd(b, events).split()[1:],
                      "interpreter": "none", "exec_mode": "fork",
                      "autorestart": True,
                      "max_memory_restart": f"{DETECT_LIMIT // MiB}M",
                      "out_file": "/dev/null", "error_file": "/dev/null"}])
            time.sleep(duration)
            t_end = time.time()
            P.stop()
            d = analyse_detect(events, t_end, "cross")
            out["runs"][name] = {"summary": summarise_detect(d), **d,
                                 "duration_s": duration}
        except Exception as e:
            out["runs"][name] = {"error": str(e)}
            say(f"{name}: ERROR {e}")
    b.results["figures"]["detect"] = out


# ------------------------------------------------------------------ figure 7

# Bytes leaked per request: each leaking worker crosses its limit every few
# seconds at the request rate of its mode (keep-alive connections serve
# ~6x more requests a second than a new connection per request).
HTTP_LEAK = {"keep-alive": 512, "close": 2048}
HTTP_LIMIT = 64 * MiB      # C worker (starts at ~1.5 MiB)
HTTP_LIMIT_NODE = 120 * MiB  # Node worker (starts at ~52 MiB): the same growth


def parse_wrk(text):
    r = {"raw_tail": text[-600:]}
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
    if m:
        r["requests"] = int(m.group(1))
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m:
        r["rps"] = float(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                  r"timeout (\d+)", text)
    r["socket_errors"] = dict(zip(["connect", "read", "write", "timeout"],
                                  map(int, m.groups()))) if m else \
        {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    r["non2xx"] = int(m.group(1)) if m else 0
    r["failed"] = r["non2xx"] + sum(r["socket_errors"].values())
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    for p in ("50", "90", "99"):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if m:
            r[f"p{p}_ms"] = float(m.group(1)) * units[m.group(2)]
    return r


def run_wrk(port, duration, mode):
    """wrk against 127.0.0.1:port: keep-alive connections, or (close) a new
    connection for every request."""
    cmd = ["wrk", "-t2", "-c32", f"-d{duration}s", "--latency",
           "--timeout", "5s"]
    if mode == "close":
        cmd += ["-H", "Connection: close"]
    cmd.append(f"http://127.0.0.1:{port}/")
    r = run(cmd, timeout=duration + 60)
    out = parse_wrk(r.stdout + r.stderr)
    out["cmd"] = " ".join(cmd)
    return out


def fig_http(b, fig):
    q = b.quick
    out = {"leak_per_request": HTTP_LEAK, "limit_c": HTTP_LIMIT,
           "limit_node": HTTP_LIMIT_NODE, "runs": {}}
    if "wrk" in b.results["skipped"]:
        b.results["figures"]["http"] = out
        return
    # One pool per session; each session runs wrk once per listed mode.
    if q:
        sessions = [(True, [("keep-alive", 2), ("close", 2)])]
    else:
        sessions = [(False, [("keep-alive", 10), ("close", 10)]),
                    (True, [("keep-alive", 20)]),
                    (True, [("close", 20)])]
    out["sessions"] = sessions
    for sup in ("leash", "supervisord", "pm2"):
        if sup in b.results["skipped"]:
            continue
        for leaking, modes in sessions:
            if sup == "pm2" and leaking and not q:
                # PM2 checks max_memory_restart every 30 s from its
                # daemon's start: run long enough for one check.
                modes = [(m, 40) for m, _ in modes]
            tag = f"{sup} {'leak' if leaking else 'no leak'}"
            try:
                say(f"HTTP: {tag}, wrk " +
                    ", ".join(f"{m} {d} s" for m, d in modes))
                r = http_session(b, sup, leaking, modes)
                for mode, _ in modes:
                    out["runs"][f"{tag}, {mode}"] = {
                        "wrk": r["wrk"][mode], **{k: v for k, v in r.items()
                                                  if k != "wrk"}}
            except Exception as e:
                if sup == "leash":
                    b.leash_failed = True
                out["runs"][f"{tag}"] = {"error": str(e)}
                say(f"HTTP {tag}: ERROR {e}")
    b.results["figures"]["http"] = out


def http_session(b, sup, leaking, modes):
    port = free_port()
    leak = HTTP_LEAK[modes[0][0]] if leaking else 0
    r = {"port": port, "leak_per_request": leak, "wrk": {}}
    name = f"{sup}-http-{leak}-{modes[0][0]}"

    def load():
        for mode, duration in modes:
            r["wrk"][mode] = run_wrk(port, duration, mode)

    if sup == "leash":
        L = Leash(b, name, f"""[socket:web]
listen = tcp:127.0.0.1:{port}

[program:web]
command = {b.bin}/httpworker -l {leak} -w 5000
process_name = web_%(process_num)d
numprocs = 4
sockets = web
startsecs = 1
stdout_logfile = NONE
stderr_logfile = NONE
memory_limit = {HTTP_LIMIT // MiB}M
drain_timeout = 10s
""")
        L.start()
        if poll_all_running(L, 4, 30)[0] is None or \
                not wait_for(lambda: port_open(port), 10):
            raise RuntimeError("the pool did not come up")
        load()
        st = L.status()
        r["replaces"] = sum(p["restarts_by_reason"]["memory"] +
                            p["restarts_by_reason"]["memory_max"] for p in st)
        r["other_restarts"] = sum(p["restarts"] for p in st) - r["replaces"]
        L.stop()
    elif sup == "supervisord":
        S = Supervisord(b, name, f"""[program:web]
command={b.bin}/httpworker -p {port} -l {leak} -w 5000
process_name=web_%(process_num)d
numprocs=4
startsecs=1
autorestart=true
stopsignal=TERM
stopwaitsecs=10
stdout_logfile=NONE
stderr_logfile=NONE
""")
        S.start()
        if poll_all_running(S, 4, 30)[0] is None or \
                not wait_for(lambda: port_open(port), 10):
            raise RuntimeError("the pool did not come up")
        S.start_monitor(HTTP_LIMIT, 5.0)
        load()
        S.stop_monitor()
        r["replaces"] = sum(1 for k, _, _ in S.monitor_events()
                            if k == "restarted")
        S.stop()
    else:
        P = PM2(b, name)
        shutil.copy(os.path.join(BENCH, "httpworker.js"), P.dir)
        P.start_daemon()
        P.start([{"name": "web", "script": os.path.join(P.dir, "httpworker.js"),
                  "exec_mode": "cluster", "instances": 4,
                  "env": {"PORT": str(port), "LEAK": str(leak),
                          "DRAIN_WAIT_MS": "5000"},
                  "max_memory_restart": f"{HTTP_LIMIT_NODE // MiB}M",
                  "out_file": "/dev/null", "error_file": "/dev/null"}])
        if poll_all_running(P, 4, 60)[0] is None or \
                not wait_for(lambda: port_open(port), 10):
            raise RuntimeError("the pool did not come up")
        time.sleep(1)
        load()
        jl = P.jlist()
        r["replaces"] = sum(p["pm2_env"].get("restart_time", 0) for p in jl)
        r["memory_at_end_mib"] = [round(p["monit"]["memory"] / MiB, 1)
                                  for p in jl]
        P.stop()
    return r


# ------------------------------------------------------------------ figure 9

# Overshoot under load: the leak grows with traffic.  4 HTTP workers, wrk
# at full speed, a fixed leak per request; the busier a worker, the faster
# it climbs.  Peak memory is each worker process's own VmHWM: recorded by
# the worker at its exit (exact), and polled every 100 ms while it lives
# (for one killed before it could record).
LOAD_LEAKS = [256, 2048, 8192]   # about 6, 45 and 140 MiB/s a worker here
LOAD_LIMIT = 64 * MiB
LOAD_STARTSECS = 1
LOAD_CAP_KIB = 4 << 20        # a worker past 4 GiB is killed: the machine


class PeakWatch:
    """VmHWM of every process whose command line names mark, polled."""

    def __init__(self, mark, peakfile):
        self.mark = mark
        self.peakfile = peakfile
        self.peak = {}
        self.history = {}             # pid -> [(monotonic, VmRSS KiB)]
        self.capped = 0
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def poll(self):
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    if self.mark.encode() not in f.read():
                        continue
                with open(f"/proc/{d}/status") as f:
                    st = f.read()
            except OSError:
                continue
            if "httpworker" not in st.split("\n", 1)[0] and \
                    "node" not in st.split("\n", 1)[0]:
                continue
            m = re.search(r"VmHWM:\s+(\d+) kB", st)
            r = re.search(r"VmRSS:\s+(\d+) kB", st)
            if not m or not r:
                continue
            kib = int(m.group(1))
            self.peak[int(d)] = max(self.peak.get(int(d), 0), kib)
            self.history.setdefault(int(d), []).append(
                (time.monotonic(), int(r.group(1))))
            if kib > LOAD_CAP_KIB:
                self.capped += 1
                try:
                    os.kill(int(d), signal.SIGKILL)
                except OSError:
                    pass

    def loop(self):
        while not self.stop_ev.wait(0.1):
            self.poll()

    def start(self):
        self.thread.start()

    def stop(self):
        self.stop_ev.set()
        self.thread.join()
        self.poll()

    def result(self):
        """pid -> peak KiB, the exit records and the polls together."""
        out = dict(self.peak)
        try:
            with open(self.peakfile) as f:
                for line in f:
                    w = line.split()
                    if len(w) == 2:
                        out[int(w[0])] = max(out.get(int(w[0]), 0), int(w[1]))
        except OSError:
            pass
        return out

    def rss_before_end(self, pid, seconds):
        """pid's RSS (KiB) at its last poll minus seconds, or None."""
        h = self.history.get(pid)
        if not h or h[-1][0] - h[0][0] < seconds:
            return None
        t = h[-1][0] - seconds
        return max(k for ts, k in h if ts <= t)


def size_label(n):
    """256 B, 1 KiB, 4 KiB."""
    return f"{n // 1024} KiB" if n >= 1024 and n % 1024 == 0 else f"{n} B"


def load_variants(b):
    """(leak, peer, variant) of each run, in the order they run."""
    if b.quick:
        return [(1024, "leash", v) for v in ("shared notify",
                                             "shared startsecs")]
    runs = []
    for leak in LOAD_LEAKS:
        for v in ("shared notify", "shared startsecs", "reuseport notify",
                  "reuseport startsecs"):
            runs.append((leak, "leash", v))
        runs.append((leak, "supervisord", "reuseport startsecs"))
        runs.append((leak, "pm2", "reuseport fork"))
    return runs


def fig_load(b, fig):
    duration = 4 if b.quick else 20
    out = {"limit": LOAD_LIMIT, "duration_s": duration,
           "startsecs": LOAD_STARTSECS, "runs": []}
    b.results["figures"]["load"] = out
    if "wrk" in b.results["skipped"]:
        return
    for leak, sup, variant in load_variants(b):
        if sup in b.results["skipped"]:
            continue
        tag = f"{sup} {variant}, {size_label(leak)}/request"
        say(f"load: {tag}, wrk {duration} s")
        try:
            r = load_session(b, sup, variant, leak, duration)
        except Exception as e:
            if sup == "leash":
                b.leash_failed = True
            r = {"error": str(e)}
            say(f"load {tag}: ERROR {e}")
        r.update({"supervisor": sup, "variant": variant,
                  "leak_per_request": leak})
        out["runs"].append(r)


def load_session(b, sup, variant, leak, duration):
    port = free_port()
    name = f"{sup}-load-{leak}-{variant.replace(' ', '-')}"
    limit = LOAD_LIMIT
    r = {"port": port, "limit": limit}

    def measure(mark, peakfile):
        if not wait_for(lambda: port_open(port), 10):
            raise RuntimeError("the pool did not come up")
        w = PeakWatch(mark, peakfile)
        w.start()
        try:
            r["wrk"] = run_wrk(port, duration, "keep-alive")
        finally:
            w.stop()
        return w

    if sup == "leash":
        shared = variant.startswith("shared")
        notify = variant.endswith("notify")
        L = Leash(b, name, "")
        peakfile = os.path.join(L.dir, "peaks")
        with open(L.ini, "a") as f:
            if shared:
                f.write(f"[socket:web]\nlisten = tcp:127.0.0.1:{port}\n\n")
            f.write(f"""[program:web]
command = {b.bin}/httpworker {'' if shared else f'-p {port} '}-l {leak} -w 5000 {'-n ' if notify else ''}-e {peakfile}
process_name = web_%(process_num)d
numprocs = 4
{'sockets = web' if shared else ''}
ready = {'notify' if notify else 'startsecs'}
startsecs = {LOAD_STARTSECS}
stdout_logfile = NONE
stderr_logfile = NONE
memory_limit = {LOAD_LIMIT // MiB}M
drain_timeout = 10s
""")
        L.start()
        if poll_all_running(L, 4, 30)[0] is None:
            raise RuntimeError("the pool did not come up")
        w = measure(L.dir, peakfile)
        st = L.status()
        r["replaces"] = sum(p["restarts_by_reason"]["memory"] +
                            p["restarts_by_reason"]["memory_max"] for p in st)
        r["ahead"] = sum(1 for t, m in L.log_lines()
                         if "replacing it ahead of the limit" in m)
        L.stop()
    elif sup == "supervisord":
        S = Supervisord(b, name, "")
        peakfile = os.path.join(S.dir, "peaks")
        with open(S.conf, "a") as f:
            f.write(f"""[program:web]
command={b.bin}/httpworker -p {port} -l {leak} -w 5000 -e {peakfile}
process_name=web_%(process_num)d
numprocs=4
startsecs={LOAD_STARTSECS}
autorestart=true
stopsignal=TERM
stopwaitsecs=10
stdout_logfile=NONE
stderr_logfile=NONE
""")
        S.start()
        if poll_all_running(S, 4, 30)[0] is None:
            raise RuntimeError("the pool did not come up")
        S.start_monitor(LOAD_LIMIT, 5.0)
        w = measure(S.dir, peakfile)
        S.stop_monitor()
        r["replaces"] = sum(1 for k, _, _ in S.monitor_events()
                            if k == "restarted")
        S.stop()
    else:
        # The same C worker in PM2's fork mode (its cluster mode shares a
        # port only among Node programs): each binds SO_REUSEPORT, and PM2
        # restarts one over max_memory_restart by stopping it (SIGINT: the
        # worker drains), then starting it again.
        P = PM2(b, name)
        peakfile = os.path.join(P.dir, "peaks")
        P.start_daemon()
        P.start([{"name": f"web_{i}",
                  "script": os.path.join(b.bin, "httpworker"),
                  "args": ["-p", str(port), "-l", str(leak), "-w", "5000",
                           "-e", peakfile],
                  "exec_interpreter": "none", "exec_mode": "fork",
                  "kill_timeout": 10000,
                  "max_memory_restart": f"{LOAD_LIMIT // MiB}M",
                  "out_file": "/dev/null", "error_file": "/dev/null"}
                 for i in range(4)])
        if poll_all_running(P, 4, 60)[0] is None:
            raise RuntimeError("the pool did not come up")
        w = measure(P.dir, peakfile)
        r["replaces"] = sum(p["pm2_env"].get("restart_time", 0)
                            for p in P.jlist())
        P.stop()
    peaks = w.result()
    r["processes"] = len(peaks)
    r["capped"] = w.capped
    r["peak_kib"] = max(peaks.values()) if peaks else None
    r["peak_ratio"] = (round(r["peak_kib"] * 1024 / limit, 2)
                       if peaks else None)
    rps = r["wrk"].get("rps") or 0
    r["leak_mib_s_per_worker"] = round(leak * rps / 4 / MiB, 1)
    if variant.endswith("startsecs") and peaks:
        # The old worker serves, and leaks, until the new one has lived
        # startsecs: the limit plus what it leaks meanwhile is where
        # physics puts it -- at the pool's average pace, and at the pace
        # of the process that peaked (its own share of the connections):
        # the limit plus its growth over its last startsecs.
        r["bound_ratio"] = round(1 + leak * rps / 4 * LOAD_STARTSECS /
                                 limit, 2)
        top = max(peaks, key=peaks.get)
        before = w.rss_before_end(top, LOAD_STARTSECS)
        if before is not None:
            r["bound_own_ratio"] = round(
                (limit + (peaks[top] - before) * 1024) / limit, 2)
    r["replaces_per_s"] = round(r["replaces"] / duration, 2)
    return r


# ------------------------------------------------------------------ figure 8

def fig_churn(b, fig):
    q = b.quick
    target = 1000 if q else 10000
    cap = 20 if q else 90
    peer_cap = 3 if q else 30
    probe_cap = 3 if q else 30
    out = {"target": target, "runs": {}}

    def session(sup, count, probe=None):
        """Restart counts until target or the cap; RSS along the way.
        probe: a status command timed once while the restarts go on."""
        r = {}
        time.sleep(1)
        r["rss_start_kib"] = rss_kib(sup.pid)
        t0 = time.monotonic()
        warm = None
        n = 0
        pr = None
        limit = cap if sup.label == "leash" else peer_cap
        while time.monotonic() - t0 < limit:
            n = count()
            if warm is None and n >= min(1000, target // 10):
                warm = (n, rss_kib(sup.pid))
                if probe:
                    pr = (time.monotonic(), subprocess.Popen(
                        probe, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL))
            if pr and pr[1].poll() is not None and "status_during_s" not in r:
                r["status_during_s"] = round(time.monotonic() - pr[0], 2)
            if n >= target:
                break
            time.sleep(0.1)
        r["restarts"] = n
        r["seconds"] = round(time.monotonic() - t0, 1)
        r["rss_after_kib"] = rss_kib(sup.pid)
        if pr:
            try:
                pr[1].wait(max(1, probe_cap - (time.monotonic() - pr[0])))
                r.setdefault("status_during_s",
                             round(time.monotonic() - pr[0], 2))
            except subprocess.TimeoutExpired:
                pr[1].kill()
                pr[1].wait()
                r["status_during_s"] = f"> {probe_cap} (killed)"
        if warm:
            r["rss_warm_kib"] = warm[1]
            r["restarts_at_warm"] = warm[0]
            r["growth_kib_per_1000"] = round(
                (r["rss_after_kib"] - warm[1]) * 1000 / max(n - warm[0], 1), 2)
        return r

    class LogCounter:
        """Counts a string in a growing log file, reading only what is new."""
        def __init__(self, path, needle, minus):
            self.path, self.needle, self.minus = path, needle, minus
            self.off, self.n, self.rest = 0, 0, ""

        def __call__(self):
            with open(self.path, errors="replace") as f:
                f.seek(self.off)
                data = self.rest + f.read()
                self.off = f.tell()
            cut = data.rfind("\n") + 1
            self.n += data[:cut].count(self.needle)
            self.rest = data[cut:]
            return max(self.n - self.minus, 0)

    try:
        say(f"churn: leash, up to {target} restarts")
        L = Leash(b, "leash-churn", f"""[program:quit]
command = {b.bin}/quitter
process_name = quit_%(process_num)d
numprocs = 4
autorestart = true
startsecs = 0
stdout_logfile = NONE
stderr_logfile = NONE
""")
        L.start()
        # Counted from its log: leashctl may answer late during a restart
        # storm (measured once, as status_during_s).
        out["runs"]["leash"] = session(
            L, LogCounter(L.log, " spawned with pid ", 4),
            L.status_cmd()[0])
        L.stop()
    except Exception as e:
        b.leash_failed = True
        out["runs"]["leash"] = {"error": str(e)}
        say(f"churn leash: ERROR {e}")

    if "supervisord" not in b.results["skipped"]:
        try:
            say(f"churn: supervisord, {peer_cap} s")
            S = Supervisord(b, "supervisord-churn", f"""[program:quit]
command={b.bin}/quitter
process_name=quit_%(process_num)d
numprocs=4
autorestart=true
startsecs=0
startretries=1000000
stdout_logfile=NONE
stderr_logfile=NONE
""")
            S.start()

            out["runs"]["supervisord"] = session(
                S, LogCounter(S.log, "spawned:", 4), S.status_cmd()[0])
            S.stop()
        except Exception as e:
            out["runs"]["supervisord"] = {"error": str(e)}
            say(f"churn supervisord: ERROR {e}")

    if "pm2" not in b.results["skipped"]:
        try:
            say(f"churn: PM2, {peer_cap} s")
            P = PM2(b, "pm2-churn")
            P.start_daemon()
            P.start([{"name": "quit", "script": f"{b.bin}/quitter",
                      "interpreter": "none", "exec_mode": "fork",
                      "instances": 4, "autorestart": True,
                      "min_uptime": 0, "max_restarts": 100000000,
                      "restart_delay": 0,
                      "out_file": "/dev/null", "error_file": "/dev/null"}])
            out["runs"]["pm2"] = session(
                P, lambda: sum(p["pm2_env"].get("restart_time", 0)
                               for p in P.jlist()))
            P.stop()
        except Exception as e:
            out["runs"]["pm2"] = {"error": str(e)}
            say(f"churn PM2: ERROR {e}")
    b.results["figures"]["churn"] = out


def fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def zombie_children(pid):
    """leashd's children that have exited and not been reaped."""
    n = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if st[0] == "Z" and int(st[1]) == pid:
            n += 1
    return n


def worker_cgroups(pid):
    """The per-worker cgroups (leash-*) beside leashd's own: leashd's
    memory cgroup (v1), or cgroup2's, and the directories in it."""
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        _, ctrl, path = line.split(":", 2)
        base = ("/sys/fs/cgroup/memory" if "memory" in ctrl.split(",")
                else "/sys/fs/cgroup" if ctrl == "" else None)
        if base is None or not os.path.isdir(base + path):
            continue
        root = base + path
        if ctrl == "" and os.path.basename(root) == "leashd":
            root = os.path.dirname(root)
        return root, [d for d in os.listdir(root) if d.startswith("leash-")]
    return None


def fig_soak(b, fig):
    """leashd over a long run: drain-then-replace, one `reload NAME` per
    replacement on four connections at once, and a `status` on a fifth
    for each; leashd's RSS and fds from a warm point to the end, zombies
    and cgroups left."""
    target = 2000 if b.quick else 100000
    slots = 4
    out = {"target": target}
    L = Leash(b, "leash-soak", f"""[program:soak]
command = {b.bin}/idle
process_name = soak_%(process_num)d
numprocs = {slots}
startsecs = 0
memory_limit = 1G
memory_interval = 1s
stdout_logfile = NONE
stderr_logfile = NONE
""")
    try:
        say(f"soak: leash, {target} replacements and {target} status requests")
        L.start()
        if not wait_for(lambda: L.count_running() == slots, 30):
            raise RuntimeError(f"the pool did not start: {L.tail()}")
        rss_idle, fds_idle = rss_kib(L.pid), fd_count(L.pid)
        conns = []
        for i in range(slots + 1):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.connect(L.sock)
            conns.append(c)
        reqs = [f"reload soak:soak_{i}\n".encode() for i in range(slots)]
        reqs.append(b"status\n")
        counts = [0] * (slots + 1)
        bufs = [b""] * (slots + 1)
        errors = 0
        samples = []

        def sample(n):
            samples.append({"replacements": n, "rss_kib": rss_kib(L.pid),
                            "fds": fd_count(L.pid)})
        t0 = time.monotonic()
        for i, c in enumerate(conns):
            c.sendall(reqs[i])
        next_sample = 1000
        done = 0
        while True:
            done = sum(counts[:slots])
            if done >= next_sample:
                sample(done)
                next_sample += max(target // 10, 1000)
            if done >= target and counts[slots] >= target:
                break
            r, _, _ = select.select(conns, [], [], 60)
            if not r:
                raise RuntimeError(f"no reply in 60 s: {L.tail()}")
            for c in r:
                i = conns.index(c)
                data = c.recv(65536)
                if not data:
                    raise RuntimeError(f"leashd closed connection {i}")
                bufs[i] += data
                while True:
                    m = re.search(rb"(?m)^%end (\d+)\n", bufs[i])
                    if not m:
                        break
                    if m.group(1) != b"0" and i < slots:
                        errors += 1
                    bufs[i] = bufs[i][m.end():]
                    counts[i] += 1
                    want = target if i == slots else target // slots
                    if counts[i] < want:
                        c.sendall(reqs[i])
        secs = time.monotonic() - t0
        if samples[-1]["replacements"] != done:
            sample(done)
        for c in conns:
            c.close()
        wait_for(lambda: L.count_running() == slots, 30)
        time.sleep(1)
        out["idle_before"] = {"rss_kib": rss_idle, "fds": fds_idle}
        out["idle_after"] = {"rss_kib": rss_kib(L.pid),
                             "fds": fd_count(L.pid)}
        cg = worker_cgroups(L.pid)
        out.update({
            "replacements": done, "status_requests": counts[slots],
            "errors": errors, "seconds": round(secs, 1),
            "replacements_per_s": round(done / secs, 1),
            "samples": samples,
            "zombies": zombie_children(L.pid),
            "cgroups_running": len(cg[1]) if cg else None,
            "replaced_logged": open(L.log, errors="replace").read().count(
                "(replacement)")})
        warm, end = samples[0], samples[-1]
        out["rss_growth_pct"] = round(
            (end["rss_kib"] - warm["rss_kib"]) * 100 / warm["rss_kib"], 2)
        out["fd_growth_idle"] = (out["idle_after"]["fds"] -
                                 out["idle_before"]["fds"])
        L.stop()
        out["cgroups_left"] = (len([d for d in os.listdir(cg[0])
                                    if d.startswith("leash-")])
                               if cg and os.path.isdir(cg[0]) else None)
    except Exception as e:
        b.leash_failed = True
        out["error"] = str(e)
        say(f"soak: ERROR {e}")
        L.stop()
    b.results["figures"]["soak"] = out


# ------------------------------------------------------------------ report

def machine(b):
    m = {"cores": os.cpu_count(), "kernel": platform.release(),
         "loadavg_start": loadavg()}
    try:
        with open("/etc/debian_version") as f:
            m["debian"] = f.read().strip()
    except OSError:
        pass
    with open("/proc/meminfo") as f:
        m["mem_total_kib"] = int(f.readline().split()[1])
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                m["cpu"] = line.split(":", 1)[1].strip()
                break
    v1, v2 = [], []
    with open("/proc/self/mounts") as f:
        for line in f:
            w = line.split()
            if w[2] == "cgroup2":
                v2.append(w[1])
            elif w[2] == "cgroup":
                opts = [o for o in w[3].split(",") if o not in
                        ("rw", "ro", "relatime", "nosuid", "nodev", "noexec")]
                v1.append(",".join(opts))
    with open("/proc/self/cgroup") as f:
        memline = [l.strip() for l in f if ":memory:" in l]
    if v1 and v2:
        layout = "hybrid"
    elif v1:
        layout = "legacy (v1 only)"
    else:
        layout = "unified (v2 only)"
    m["cgroup"] = {"layout": layout, "v1_controllers": v1, "v2_mounts": v2,
                   "memory_cgroup": memline[0] if memline else None}
    vers = {}
    for name, cmd, env in [
            ("supervisord", ["supervisord", "--version"], None),
            ("node", ["node", "--version"], None),
            ("wrk", ["wrk", "-v"], None)]:
        try:
            r = run(cmd, env=env, timeout=30)
            vers[name] = (r.stdout + r.stderr).strip().splitlines()[0]
        except Exception:
            vers[name] = None
    try:
        with open(os.path.join(BENCH, "node_modules", "pm2",
                               "package.json")) as f:
            vers["pm2"] = json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        vers["pm2"] = None
    vers["leash"] = os.environ.get("LEASH_VERSION")
    if not vers["leash"]:
        try:
            vers["leash"] = "git " + run(["git", "-C", TOP, "describe",
                                          "--always", "--dirty"]).stdout.strip()
        except Exception:
            vers["leash"] = None
    m["versions"] = vers
    return m


def cpu_hogs(seconds=1.0, top=6):
    """The processes that used the most CPU over a short window: what else
    was running on the machine (other engineers' test suites)."""
    def snap():
        out = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    head, rest = f.read().rsplit(")", 1)
                w = rest.split()
                out[int(d)] = (head.split("(", 1)[1],
                               (int(w[11]) + int(w[12])) / CLK_TCK)
            except (OSError, IndexError, ValueError):
                pass
        return out
    a = snap()
    time.sleep(seconds)
    b = snap()
    use = []
    for pid, (comm, c) in b.items():
        if pid in a:
            use.append((c - a[pid][1], comm))
    use.sort(reverse=True)
    total = sum(u for u, _ in use)
    return {"cpu_busy_of_cores": round(total / seconds, 2),
            "top": [f"{comm} {u / seconds * 100:.0f}%" for u, comm in
                    use[:top] if u > 0]}


def fmt(v, unit="", nd=2):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{nd}f}{unit}"
    return f"{v}{unit}"


def ratio(peer, leash):
    if peer is None or leash is None or leash == 0:
        return "–"
    return f"{peer / leash:.1f}×"


def report(b):
    """Markdown tables, one per figure, and the headline ratios."""
    R = b.results
    F = R["figures"]
    md = []
    head = {}
    mc = R["machine"]
    md.append(f"Run: {R['started']} – {R['finished']} "
              f"({'quick' if b.quick else 'full'}), {mc['cores']} cores, "
              f"kernel {mc['kernel']}, cgroup {mc['cgroup']['layout']}, "
              f"load average {mc['loadavg_start']} at start, "
              f"{R['loadavg_end']} at the end.")
    v = mc.get("versions", {})
    md.append(f"Versions: leash {v.get('leash')} (leashd sha256 "
              f"{R.get('leash_binaries', {}).get('leashd_sha256')}…), "
              f"supervisor {v.get('supervisord')} (Debian), PM2 {v.get('pm2')} "
              f"on Node {v.get('node')}, {v.get('wrk')}.")
    ld = R.get("load", {})
    for k in ("start", "end"):
        if k in ld:
            md.append(f"Other load at the {k}: {ld[k]['cpu_busy_of_cores']} "
                      f"cores busy ({', '.join(ld[k]['top'])}).")
    md.append("Load average when each part began: " + ", ".join(
        f"{k} {v['loadavg'][0]}" for k, v in ld.items()
        if k not in ("start", "end")) + ".\n")
    idle = F.get("idle")
    if idle:
        sizes = idle["sizes"]
        big = str(idle["big"])
        md.append("### 1. Supervisor's own RSS with idle workers (KiB)\n")
        md.append("| supervisor | " + " | ".join(f"{n} workers" for n in sizes)
                  + f" | ratio to leash at {big} |")
        md.append("|---|" + "---|" * (len(sizes) + 1))
        lr = (idle["leash"].get(big) or {}).get("rss_kib")

        def row(label, d, key="rss_kib", extra=None):
            vals = []
            for n in sizes:
                e = d.get(str(n)) or {}
                v = e.get(key)
                if v is not None and extra:
                    v = v + (e.get(extra) or 0)
                vals.append(fmt(v) if "error" not in e else "error")
            last = (d.get(big) or {})
            lv = last.get(key)
            if lv is not None and extra:
                lv += last.get(extra) or 0
            md.append(f"| {label} | " + " | ".join(vals) +
                      f" | {ratio(lv, lr)} |")
            return lv
        row("leash (cgroups, memory_limit)", idle["leash"])
        nl = idle["leash"].get("nolimit", {}).get("rss_kib")
        if nl:
            md.append("| leash, no memory_limit | " +
                      "– | " * (len(sizes) - 1) + f"{nl} | {ratio(nl, lr)} |")
        if idle["supervisord"]:
            sv = row("supervisord", idle["supervisord"])
            svm = row("supervisord + memory monitor", idle["supervisord"],
                      "rss_kib", "monitor_rss_kib")
            head["rss_supervisord"] = ratio(sv, lr)
            head["rss_supervisord_monitor"] = ratio(svm, lr)
        if idle["pm2"]:
            pv = row("PM2 (God daemon)", {k: v for k, v in idle["pm2"].items()
                                          if k != "sampling"})
            head["rss_pm2"] = ratio(pv, lr)
        md.append("")

        md.append(f"### 2. Spawn: seconds until {big} workers are RUNNING\n")
        md.append("| supervisor | by status polls | by its log | "
                  "ratio to leash (no memory_limit) | stopping them all (s) |")
        md.append("|---|---|---|---|---|")
        ref = idle["leash"].get("nolimit", {}).get("spawn_s")
        rows = [("leash, no memory_limit (cgroups)", idle["leash"].get("nolimit")),
                ("leash, memory_limit (cgroups + v1 threshold events)",
                 idle["leash"].get(big)),
                ("leash, memory_limit, use_cgroups = false",
                 idle["leash"].get("rss")),
                ("supervisord", idle["supervisord"].get(big)),
                ("PM2", idle["pm2"].get(big))]
        for label, e in rows:
            if not e:
                continue
            if "error" in e:
                md.append(f"| {label} | error: {e['error'][:60]} | | | |")
                continue
            md.append(f"| {label} | {fmt(e.get('spawn_s'))} | "
                      f"{fmt(e.get('spawn_log_s'))} | "
                      f"{ratio(e.get('spawn_s'), ref)} | "
                      f"{fmt(e.get('stop_s'))} |")
        head["spawn_supervisord"] = ratio(
            (idle["supervisord"].get(big) or {}).get("spawn_s"), ref)
        head["spawn_pm2"] = ratio((idle["pm2"].get(big) or {}).get("spawn_s"),
                                  ref)
        lim = (idle["leash"].get(big) or {}).get("spawn_s")
        head["spawn_leash_limit_vs_nolimit"] = ratio(lim, ref)
        head["spawn_supervisord_vs_leash_limit"] = ratio(
            (idle["supervisord"].get(big) or {}).get("spawn_s"), lim)
        head["spawn_pm2_vs_leash_limit"] = ratio(
            (idle["pm2"].get(big) or {}).get("spawn_s"), lim)
        md.append("")

        md.append(f"### 3. `status` latency at {big} workers (ms, "
                  f"wall clock of the whole command)\n")
        md.append("| command | median | p90 | min | max | ratio (median) |")
        md.append("|---|---|---|---|---|---|")
        lst = ((idle["leash"].get(big) or {}).get("status") or {})
        for label, e in [("leashctl status", idle["leash"].get(big)),
                         ("supervisorctl status", idle["supervisord"].get(big)),
                         ("pm2 jlist", idle["pm2"].get(big))]:
            s = (e or {}).get("status")
            if not s:
                continue
            md.append(f"| {label} | {fmt(s['median_ms'], '', 1)} | "
                      f"{fmt(s['p90_ms'], '', 1)} | {fmt(s['min_ms'], '', 1)} | "
                      f"{fmt(s['max_ms'], '', 1)} | "
                      f"{ratio(s['median_ms'], lst.get('median_ms'))} |")
        head["status_supervisorctl"] = ratio(
            ((idle["supervisord"].get(big) or {}).get("status") or {})
            .get("median_ms"), lst.get("median_ms"))
        head["status_pm2"] = ratio(
            ((idle["pm2"].get(big) or {}).get("status") or {})
            .get("median_ms"), lst.get("median_ms"))
        md.append("")

        lr = idle["leash"].get("rpc") or {}
        sr = idle["supervisord"].get(big) or {}
        if lr.get("xmlrpc") and sr.get("xmlrpc"):
            md.append(f"### 3b. supervisord's XML-RPC at {big} workers "
                      f"(ms per call, one Python xmlrpc.client on the UNIX "
                      f"socket, its parse included)\n")
            md.append("| method | leashd median | leashd p90 | supervisord "
                      "median | supervisord p90 | ratio (median) |")
            md.append("|---|---|---|---|---|---|")
            for m in ("getAllProcessInfo", "getState"):
                a, s = lr["xmlrpc"][m], sr["xmlrpc"][m]
                md.append(f"| {m} | {fmt(a['median_ms'], '', 2)} | "
                          f"{fmt(a['p90_ms'], '', 2)} | "
                          f"{fmt(s['median_ms'], '', 2)} | "
                          f"{fmt(s['p90_ms'], '', 2)} | "
                          f"{ratio(s['median_ms'], a['median_ms'])} |")
                head[f"xmlrpc_{m}_supervisord"] = ratio(s["median_ms"],
                                                        a["median_ms"])
            md.append(f"\nleashd's RSS with the XML-RPC server on: "
                      f"{fmt((lr.get('rss_kib') or 0) / 1024, ' MiB', 1)}.\n")

        md.append(f"### 4. Memory-sampling cost at {big} workers "
                  f"(supervisor CPU, utime+stime, over {idle['window_s']} s)\n")
        md.append("| sampler | CPU s | worker-samples | µs per worker-sample |"
                  " ratio to leash cgroup |")
        md.append("|---|---|---|---|---|")
        samp = []
        e = idle["leash"].get(big) or {}
        if e.get("sampling"):
            samp.append(("leash, memory_source = cgroup (per-worker cgroups)",
                         e["sampling"]))
        for v in ("rss", "pss", "uss", "baseline"):
            s = (idle["leash"].get(v) or {}).get("sampling")
            if s:
                lab = (f"leash, memory_source = {v} (use_cgroups = false)"
                       if v != "baseline" else
                       "leash, no sampling (memory_interval = 1h)")
                samp.append((lab, s))
        s = (idle["supervisord"].get(big) or {}).get("sampling")
        if s:
            samp.append(("supervisord + memmon-style monitor (1 s)", s))
        s = idle["pm2"].get("sampling")
        if s and "error" not in s:
            samp.append(("PM2 daemon, PM2_WORKER_INTERVAL = 1000", s))
        ref = None
        for label, s in samp:
            us = (s["cpu_s"] / s["samples"] * 1e6) if s.get("samples") else None
            if label.startswith("leash, memory_source = cgroup"):
                ref = us
            s["us_per_sample"] = us
        for label, s in samp:
            us = s["us_per_sample"]
            extra = ""
            if "idle_cpu_s" in s:
                extra = f" (supervisord alone: {s['idle_cpu_s']:.2f} s)"
            md.append(f"| {label} | {s['cpu_s']:.2f}{extra} | "
                      f"{int(s['samples'])} | {fmt(us, '', 1)} | "
                      f"{ratio(us, ref) if us is not None else '–'} |")
            if label.startswith("supervisord"):
                head["sampling_supervisord"] = ratio(us, ref)
            if label.startswith("PM2"):
                head["sampling_pm2"] = ratio(us, ref)
        md.append("")

    det = F.get("detect")
    if det:
        md.append(f"### 5. Detection latency (worker leaking "
                  f"{det['rate'] // MiB} MiB/s, limit {det['limit'] // MiB} "
                  f"MiB): seconds from the crossing\n")
        md.append("| supervisor | cycles | to replacement spawn (median / max)"
                  " | to drain signal (median / max) | leashd log: spawn / "
                  "drain (median) |")
        md.append("|---|---|---|---|---|")
        best = None
        for name, e in det["runs"].items():
            if "error" in e:
                md.append(f"| {name} | error: {e['error'][:80]} | | | |")
                continue
            s = e["summary"]
            logc = (f"{fmt(s['log_to_spawn_s']['median'], '', 3)} / "
                    f"{fmt(s['log_to_drain_s']['median'], '', 3)}"
                    if name.startswith("leash") else "–")
            cens = (f" (+{s['censored']} not acted on by the end, up to "
                    f"{fmt(s['censored_max_overshoot'])}× the limit)"
                    if s["censored"] else "")
            md.append(f"| {name} | {s['n']}{cens} | "
                      f"{fmt(s['to_spawn_s']['median'], '', 3)} / "
                      f"{fmt(s['to_spawn_s']['max'], '', 3)} | "
                      f"{fmt(s['to_drain_s']['median'], '', 3)} / "
                      f"{fmt(s['to_drain_s']['max'], '', 3)} | {logc} |")
            if name.startswith("leash cgroup event") and "notify" not in name:
                best = s["to_spawn_s"]["median"]
        for name, e in det["runs"].items():
            if "error" in e or name.startswith("leash"):
                continue
            k = "detect_" + name.split()[0]
            head[k] = ratio(e["summary"]["to_spawn_s"]["median"], best)
        md.append("")
        md.append("### 6. Overshoot: peak worker memory / limit\n")
        md.append("| supervisor | median | max |")
        md.append("|---|---|---|")
        for name, e in det["runs"].items():
            if "error" in e:
                continue
            s = e["summary"]
            mx = s["overshoot"]["max"]
            if s["censored_max_overshoot"] and (mx is None or
                                                s["censored_max_overshoot"] > mx):
                mx = s["censored_max_overshoot"]
            md.append(f"| {name} | {fmt(s['overshoot']['median'])} | "
                      f"{fmt(mx)} |")
        md.append("")

    http = F.get("http")
    if http and http["runs"]:
        md.append("### 7. Availability under load (4 workers, wrk -t2 -c32; "
                  "keep-alive connections, or a new connection per request)\n")
        md.append("| pool | wrk | requests | req/s | failed (non-2xx + socket "
                  "errors) | p50 ms | p99 ms | replaces |")
        md.append("|---|---|---|---|---|---|---|---|")
        for name, e in http["runs"].items():
            if "error" in e:
                md.append(f"| {name} | error: {e['error'][:80]} | | | | | | |")
                continue
            w = e["wrk"]
            se = w["socket_errors"]
            errs = (f"**{w['failed']}** ({w['non2xx']} non-2xx; connect "
                    f"{se['connect']}, read {se['read']}, write {se['write']}, "
                    f"timeout {se['timeout']})")
            dur = re.search(r"-d(\d+)s", w["cmd"]).group(1)
            md.append(f"| {name} | {dur} s | {w.get('requests')} | "
                      f"{fmt(w.get('rps'), '', 0)} | {errs} | "
                      f"{fmt(w.get('p50_ms'), '', 2)} | "
                      f"{fmt(w.get('p99_ms'), '', 2)} | "
                      f"{e.get('replaces', '–') if e.get('leak_per_request') else '–'} |")
        md.append("")

    ch = F.get("churn")
    if ch:
        md.append("### 8. Supervisor RSS across worker restarts (KiB)\n")
        md.append("| supervisor | restarts | seconds | RSS at start | "
                  "RSS warm | RSS after | growth per 1000 restarts | "
                  "one status call meanwhile (s) |")
        md.append("|---|---|---|---|---|---|---|---|")
        for name, e in ch["runs"].items():
            if "error" in e:
                md.append(f"| {name} | error: {e['error'][:80]} | | | | | | |")
                continue
            md.append(f"| {name} | {e['restarts']} | {e['seconds']} | "
                      f"{fmt(e['rss_start_kib'])} | "
                      f"{fmt(e.get('rss_warm_kib'))} | "
                      f"{fmt(e['rss_after_kib'])} | "
                      f"{fmt(e.get('growth_kib_per_1000'))} | "
                      f"{fmt(e.get('status_during_s'))} |")
        md.append("")
    sk = F.get("soak")
    if sk:
        md.append(f"### 11. Soak: drain-then-replace on demand (`reload NAME`, "
                  f"4 workers, 4 connections) and a `status` beside each\n")
        if "error" in sk:
            md.append(f"error: {sk['error']}\n")
        else:
            md.append("| replacements | status requests | errors | seconds | "
                      "replacements/s | RSS warm → end (KiB) | RSS growth | "
                      "fds warm → end | zombies | worker cgroups running / "
                      "left after stop |")
            md.append("|---|---|---|---|---|---|---|---|---|---|")
            w, e = sk["samples"][0], sk["samples"][-1]
            md.append(f"| {sk['replacements']} | {sk['status_requests']} | "
                      f"{sk['errors']} | {sk['seconds']} | "
                      f"{sk['replacements_per_s']} | {w['rss_kib']} → "
                      f"{e['rss_kib']} | {sk['rss_growth_pct']} % | "
                      f"{w['fds']} → {e['fds']} | {sk['zombies']} | "
                      f"{sk['cgroups_running']} / {sk['cgroups_left']} |")
            md.append("")
            ib, ia = sk["idle_before"], sk["idle_after"]
            md.append(f"Idle before and after: RSS {ib['rss_kib']} → "
                      f"{ia['rss_kib']} KiB, fds {ib['fds']} → {ia['fds']}; "
                      f"{sk['replaced_logged']} replacements logged.\n")
            md.append("RSS (KiB) and fds along the way: " + ", ".join(
                f"{x['replacements']}: {x['rss_kib']}/{x['fds']}"
                for x in sk["samples"]) + "\n")
    ld = F.get("load")
    if ld and ld["runs"]:
        md.append(f"### 9. Overshoot under load (4 HTTP workers, the same C "
                  f"worker for every pool, wrk -t2 -c32 keep-alive at full "
                  f"speed for {ld['duration_s']} s, a leak per request; "
                  f"limit {ld['limit'] // MiB} MiB)\n")
        md.append("| leak / request | pool | req/s | leak per worker (MiB/s) "
                  "| peak / limit | bound (startsecs): average pace / the "
                  "peak process's own | failed requests | replacements (/s) |")
        md.append("|---|---|---|---|---|---|---|---|")
        for e in ld["runs"]:
            pool = f"{e['supervisor']} {e['variant']}"
            if "error" in e:
                md.append(f"| {size_label(e['leak_per_request'])} | {pool} | "
                          f"error: {e['error'][:80]} | | | | | |")
                continue
            w = e["wrk"]
            cap = f" ({e['capped']} killed at 4 GiB)" if e["capped"] else ""
            md.append(f"| {size_label(e['leak_per_request'])} | {pool} | "
                      f"{fmt(w.get('rps'), '', 0)} | "
                      f"{e['leak_mib_s_per_worker']} | "
                      f"**{fmt(e['peak_ratio'])}**{cap} | "
                      f"{fmt(e.get('bound_ratio'))} / "
                      f"{fmt(e.get('bound_own_ratio'))} | {w['failed']} | "
                      f"{e['replaces']} ({e['replaces_per_s']}) |")
        md.append("")
        # Headline: each peer's peak against leash's (shared socket,
        # ready = notify) at the same leak.
        best = {e["leak_per_request"]: e["peak_ratio"] for e in ld["runs"]
                if e["supervisor"] == "leash" and
                e["variant"] == "shared notify" and "error" not in e}
        for e in ld["runs"]:
            if e["supervisor"] != "leash" and "error" not in e:
                head[f"load_peak_{e['supervisor']}_"
                     f"{size_label(e['leak_per_request']).replace(' ', '')}"] = \
                    ratio(e["peak_ratio"], best.get(e["leak_per_request"]))
    sc = F.get("scale")
    if sc:
        md.append("### 10. Scale: idle workers against the supervisor's cost "
                  f"(memory_limit set, 1 s interval, {sc['window_s']} s "
                  "windows)\n")
        md.append("| supervisor, source | workers | all RUNNING (s) | "
                  "CPU (% of a core) | per worker-sample (µs) | RSS (MiB) | "
                  "status median (ms) | stop (s) |")
        md.append("|---|---|---|---|---|---|---|---|")

        def scale_rows(label, by_size):
            for n, r in by_size.items():
                if "error" in r:
                    md.append(f"| {label} | {n} | stops here: "
                              f"{r['error'][:70]} | | | | | |")
                    continue
                sm = r.get("sampling") or {}
                pct = 100 * sm["cpu_s"] / sm["wall_s"] if sm else None
                us = (1e6 * sm["cpu_s"] / sm["samples"]
                      if sm and sm.get("samples") else None)
                rss = r["rss_kib"] / 1024 if r.get("rss_kib") else None
                if r.get("spawner_rss_kib"):
                    rss_s = (f"{rss:.1f} (+ spawner "
                             f"{r['spawner_rss_kib'] / 1024:.1f})")
                else:
                    rss_s = fmt(rss, "", 1)
                md.append(f"| {label} | {n} | {fmt(r['spawn_s'])} | "
                          f"{fmt(pct)} | {fmt(us)} | {rss_s} | "
                          f"{fmt(r['status']['median_ms'], '', 1)} | "
                          f"{fmt(r.get('stop_s'))} |")
        for source, by_size in sc["leash"].items():
            scale_rows(f"leash, {source}", by_size)
        if sc["supervisord"]:
            scale_rows("supervisord + memmon (rss, 1 s)", sc["supervisord"])
        if sc["pm2"]:
            scale_rows("PM2 (pidusage, 1 s)", sc["pm2"])
        md.append("")
        big = str(sc["sizes"][-1])
        lr = sc["leash"].get("cgroup", {}).get(big, {}).get("spawn_s")
        for peer in ("supervisord", "pm2"):
            pr = sc[peer].get(big, {}).get("spawn_s")
            if lr and pr:
                head[f"scale_spawn_{peer}"] = ratio(pr, lr)
    if R["skipped"]:
        md.append("Skipped: " + "; ".join(f"{k}: {v}" for k, v in
                                           R["skipped"].items()))
    R["headline"] = head
    return "\n".join(md) + "\n"


# ------------------------------------------------------------------ main

def prepare(b):
    os.makedirs(b.bin, exist_ok=True)
    for src in ("idle", "quitter", "leaker", "httpworker"):
        r = run(["cc", "-O2", "-Wall", "-o", os.path.join(b.bin, src),
                 os.path.join(BENCH, f"{src}.c")])
        if r.returncode != 0:
            raise RuntimeError(f"cc {src}.c: {r.stderr}")
    shutil.copy(os.path.join(BENCH, "memmon.py"), b.bin)
    # A snapshot of leash's binaries: a rebuild of the tree during the run
    # (other people's make) must not change what is measured halfway.
    info = {"build": os.path.dirname(os.path.dirname(b.leashd))}
    for name in ("leashd", "leashctl"):
        src = getattr(b, name)
        dst = os.path.join(b.bin, name)
        shutil.copy2(src, dst)
        setattr(b, name, dst)
        with open(dst, "rb") as f:
            info[name + "_sha256"] = hashlib.sha256(f.read()).hexdigest()[:16]
    b.results["leash_binaries"] = info
    sk = b.results["skipped"]
    if not (shutil.which("supervisord") and shutil.which("supervisorctl")):
        sk["supervisord"] = "supervisord is not installed (apt-get install " \
                            "supervisor failed or was not possible)"
    if not shutil.which("node"):
        sk["pm2"] = "node is not installed"
    elif not os.access(b.pm2, os.X_OK):
        sk["pm2"] = "PM2 is not installed in bench/node_modules (npm failed)"
    if not shutil.which("wrk"):
        sk["wrk"] = "wrk is not installed: figures 7 and 9 skipped"
    if b.a.no_peers:
        sk["supervisord"] = sk["pm2"] = "not asked for (--no-peers)"
    for k, v in sk.items():
        say(f"skipping {k}: {v}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tmp")
    ap.add_argument("--leashd")
    ap.add_argument("--leashctl")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default=",".join(FIGURES),
                    help="comma-separated: " + ",".join(FIGURES))
    ap.add_argument("--out")
    ap.add_argument("--no-peers", action="store_true",
                    help="leash alone (say, an older build of it)")
    ap.add_argument("--sweep")
    a = ap.parse_args()
    if a.sweep:
        sweep(a.sweep, quiet=True)
        return 0
    if not (a.tmp and a.leashd and a.leashctl):
        ap.error("--tmp, --leashd and --leashctl are required")
    fig = a.only.split(",")
    b = Bench(a)

    def on_term(sig, frame):
        raise SystemExit(128 + sig)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)

    b.results["started"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    b.results["mode"] = "quick" if b.quick else "full"
    try:
        prepare(b)
        b.results["machine"] = machine(b)
        b.results["load"] = {"start": {"loadavg": loadavg(), **cpu_hogs()}}
        steps = [("idle", {"rss", "spawn", "status", "sampling"}, fig_idle),
                 ("detect", {"detect"}, fig_detect),
                 ("http", {"http"}, fig_http),
                 ("churn", {"churn"}, fig_churn),
                 ("load", {"load"}, fig_load),
                 ("scale", {"scale"}, fig_scale),
                 ("soak", {"soak"}, fig_soak)]
        for name, keys, fn in steps:
            if set(fig) & keys:
                b.results["load"][name] = {"loadavg": loadavg()}
                fn(b, fig)
        b.results["load"]["end"] = {"loadavg": loadavg(), **cpu_hogs()}
    finally:
        b.cleanup()
    b.results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    b.results["loadavg_end"] = loadavg()
    b.results["elapsed_s"] = round(time.monotonic() - T0, 1)
    try:
        md = report(b)
    except Exception as e:       # the raw figures are still worth keeping
        md = f"report failed: {e!r}\n"
        b.results.setdefault("headline", {})
    resdir = os.path.join(BENCH, "results")
    os.makedirs(resdir, exist_ok=True)
    # A partial run (--only) does not overwrite the full run's results.
    base = a.out or os.path.join(
        resdir, "quick" if b.quick else
        "latest" if set(fig) == set(FIGURES) else "-".join(fig))
    with open(base + ".json", "w") as f:
        json.dump(b.results, f, indent=1, default=str)
    with open(base + ".md", "w") as f:
        f.write(md)
    print()
    print(md)
    print("headline ratios (peer / leash):")
    for k, v in b.results["headline"].items():
        print(f"  {k}: {v}")
    print(f"\nresults: {base}.json, {base}.md "
          f"({b.results['elapsed_s']} s)")
    if b.leash_failed:
        print("leash's own figures are incomplete: see the errors above")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
