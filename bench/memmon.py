#!/usr/bin/env python3
"""The memory monitor that supervisord needs, as superlance's memmon does it.

    memmon.py -c SUPERVISORD_CONF -s SOCKET -l LIMIT_BYTES [-i SECONDS]
              [-o LOG] [--no-restart]

Every SECONDS (default 5, memmon's TICK_5) it asks supervisord for its
processes (XML-RPC supervisor.getAllProcessInfo over the UNIX socket, as
memmon does), reads each RUNNING process's RSS (/proc/PID/statm; memmon
runs `ps -orss=`, which reads the same figure at the cost of a fork), and
restarts every process over LIMIT_BYTES with `supervisorctl restart`, one
after the other (memmon also restarts one at a time, stop then start).

The log has one line per event, each with a CLOCK_REALTIME timestamp:

    tick TS NPROCS                  a round of samples began
    over TS NAME PID RSS            NAME is over the limit: restarting it
    restarted TS NAME RC            supervisorctl restart NAME returned RC
"""
import argparse
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import xmlrpc.client

PAGE = os.sysconf("SC_PAGE_SIZE")


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.unix_path)
        self.sock = s


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.unix_path = path

    def make_connection(self, host):
        return UnixConnection(self.unix_path)


def rss(pid):
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-c", "--conf", required=True)
    ap.add_argument("-s", "--socket", required=True)
    ap.add_argument("-l", "--limit", type=int, required=True)
    ap.add_argument("-i", "--interval", type=float, default=5.0)
    ap.add_argument("-o", "--log", default="-")
    ap.add_argument("--no-restart", action="store_true")
    a = ap.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    out = sys.stdout if a.log == "-" else open(a.log, "a", buffering=1)
    rpc = xmlrpc.client.ServerProxy("http://localhost/RPC2",
                                    transport=UnixTransport(a.socket))
    next_tick = time.monotonic()
    while True:
        now = time.monotonic()
        if now < next_tick:
            time.sleep(next_tick - now)
        next_tick += a.interval
        try:
            infos = rpc.supervisor.getAllProcessInfo()
        except (OSError, xmlrpc.client.Error) as e:
            print(f"error {time.time():.6f} {e}", file=out)
            continue
        print(f"tick {time.time():.6f} {len(infos)}", file=out)
        for p in infos:
            if p["statename"] != "RUNNING" or not p["pid"]:
                continue
            b = rss(p["pid"])
            if b is None or b <= a.limit:
                continue
            name = f"{p['group']}:{p['name']}"
            print(f"over {time.time():.6f} {name} {p['pid']} {b}", file=out)
            if a.no_restart:
                continue
            rc = subprocess.run(["supervisorctl", "-c", a.conf, "restart",
                                 name], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL).returncode
            print(f"restarted {time.time():.6f} {name} {rc}", file=out)


if __name__ == "__main__":
    main()
