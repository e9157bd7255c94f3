#!/usr/bin/env python3
"""Drives headless Chromium over the DevTools protocol for web.sh.

    cdp.py --chromium BIN --profile DIR --url URL --user U --password P
           --screenshot OUT.png [--click SELECTOR] [--after OUT.png]
           [--width 1280 --height 800] [--timeout 30]

Chromium runs with --remote-debugging-pipe: the protocol's JSON messages,
each ended by a NUL, go in on its fd 3 and come out on its fd 4, so no
port is opened and no WebSocket library is needed.  It opens URL with the
basic-auth credentials sent as a header on every request
(Network.setExtraHTTPHeaders), takes a screenshot of the viewport
(Page.captureScreenshot), then, with --click, clicks the element SELECTOR
names (a form's submit button: POST, 303, GET) and waits until the page
has loaded again at a URL with "msg=" (and takes --after).  It prints
"loaded URL", "clicked SELECTOR", "reloaded URL" and "message TEXT" lines;
exit 0, or 1 with the reason on stderr.
"""
import argparse
import base64
import fcntl
import json
import os
import select
import subprocess
import sys
import time


class Browser:
    def __init__(self, args):
        self.timeout = args.timeout
        to_r, self.to_w = os.pipe()
        self.from_r, from_w = os.pipe()
        # Above 4, so that moving them to 3 and 4 overwrites neither (and
        # below 10: sh takes one digit).
        to_r, from_w = [self._above(fd, 5) for fd in (to_r, from_w)]
        cmd = [args.chromium, "--headless=new", "--no-sandbox",
               "--disable-gpu", "--disable-dev-shm-usage",
               "--remote-debugging-pipe", "--user-data-dir=" + args.profile,
               "--no-first-run", "--no-default-browser-check",
               "--disable-extensions", "--disable-background-networking",
               "--disable-sync", "--mute-audio", "--hide-scrollbars",
               "--window-size=%d,%d" % (args.width, args.height),
               "about:blank"]
        log = open(os.path.join(args.profile, "chromium.log"), "wb")
        # Chromium wants the pipe on fds 3 and 4: the shell puts it there.
        self.proc = subprocess.Popen(
            ["sh", "-c", 'exec "$0" "$@" 3<&%d 4>&%d %d<&- %d>&-' %
             (to_r, from_w, to_r, from_w)] + cmd,
            stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            pass_fds=(to_r, from_w))
        os.close(to_r)
        os.close(from_w)
        log.close()
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None

    @staticmethod
    def _above(fd, low):
        high = fcntl.fcntl(fd, fcntl.F_DUPFD, low)
        os.close(fd)
        return high

    def _read(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("no answer from chromium in time")
            r, _, _ = select.select([self.from_r], [], [], left)
            if r:
                chunk = os.read(self.from_r, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed its pipe")
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self.to_w, data):]
        deadline = time.monotonic() + self.timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def wait_event(self, name, deadline):
        while True:
            for i, m in enumerate(self.events):
                if m["method"] == name:
                    del self.events[i]
                    return m
            self.events.append(self._read(deadline))

    def evaluate(self, expr):
        r = self.call("Runtime.evaluate", {"expression": expr,
                                           "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError("%s: %s" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def screenshot(self, path):
        r = self.call("Page.captureScreenshot", {"format": "png"})
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))

    def close(self):
        try:
            self.call("Browser.close", session=False)
        except (RuntimeError, OSError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", default="chromium")
    ap.add_argument("--profile", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--user", default="")
    ap.add_argument("--password", default="")
    ap.add_argument("--screenshot", required=True)
    ap.add_argument("--click")
    ap.add_argument("--after")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=800)
    ap.add_argument("--timeout", type=float, default=30)
    args = ap.parse_args()

    b = Browser(args)
    try:
        target = b.call("Target.createTarget", {"url": "about:blank"},
                        session=False)["targetId"]
        b.session = b.call("Target.attachToTarget",
                           {"targetId": target, "flatten": True},
                           session=False)["sessionId"]
        b.call("Page.enable")
        b.call("Network.enable")
        if args.user:
            cred = base64.b64encode(("%s:%s" % (args.user, args.password))
                                    .encode()).decode()
            b.call("Network.setExtraHTTPHeaders",
                   {"headers": {"Authorization": "Basic " + cred}})
        b.call("Emulation.setDeviceMetricsOverride",
               {"width": args.width, "height": args.height,
                "deviceScaleFactor": 1, "mobile": False})
        deadline = time.monotonic() + args.timeout
        b.call("Page.navigate", {"url": args.url})
        b.wait_event("Page.loadEventFired", deadline)
        print("loaded", b.evaluate("location.href"), flush=True)
        b.screenshot(args.screenshot)
        if args.click:
            sel = json.dumps(args.click)
            if not b.evaluate("document.querySelector(%s) !== null" % sel):
                raise RuntimeError("nothing matches " + args.click)
            b.events.clear()
            b.evaluate("document.querySelector(%s).click(), true" % sel)
            print("clicked", args.click, flush=True)
            # The POST's 303 brings the page back at /?msg=...
            while True:
                b.wait_event("Page.loadEventFired", deadline)
                href = b.evaluate("location.href")
                if "msg=" in href:
                    break
            print("reloaded", href, flush=True)
            msg = b.evaluate("(document.getElementById('msg') || {})"
                             ".textContent || ''")
            print("message", msg, flush=True)
            if args.after:
                b.screenshot(args.after)
    except (RuntimeError, OSError, KeyError) as e:
        sys.stderr.write("cdp.py: %s\n" % e)
        return 1
    finally:
        b.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
