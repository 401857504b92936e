#!/usr/bin/env python3
"""The benchmark's local collector: serves the bench page (with COOP/COEP, so the page is
cross-origin isolated and gets precise timers), hands it its configuration, reports the CPU time
of the devserver and of the browser, and receives the results the page POSTs between its timed
windows. Loopback only; it stops by itself after the page reports "done" or after --timeout.

  collector.py --root DIR --config FILE --out DIR [--timeout SECONDS]

First stdout line: `collector on http://127.0.0.1:PORT`. The config file (JSON, read at every
request so it can be written after the collector started) holds
{"server", "token", "quick", "only", "devserver_pid", "browser_pid"}.
"""
import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".ts": "text/plain; charset=utf-8",
}
HZ = os.sysconf("SC_CLK_TCK")


def ticks(pid):
    """utime + stime of one process, in clock ticks (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, ValueError, IndexError):
        return 0


def tree_ticks(root):
    """CPU ticks of a process and all its descendants (the browser's renderer, GPU, network...)."""
    if not root:
        return 0
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += ticks(pid)
        todo.extend(children.get(pid, []))
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--timeout", type=float, default=900)
    args = ap.parse_args()
    root = os.path.realpath(args.root)
    os.makedirs(args.out, exist_ok=True)
    results = open(os.path.join(args.out, "results.jsonl"), "a")
    lock = threading.Lock()
    stop = threading.Event()

    def config():
        with open(args.config) as f:
            return json.load(f)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def reply(self, code, body, ctype="application/json"):
            if isinstance(body, str):
                body = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            self.send_header("Cross-Origin-Resource-Policy", "same-origin")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/config":
                c = config()
                page = {k: c.get(k) for k in ("server", "token", "quick", "only", "experiments", "reps", "clients", "variants")}
                return self.reply(200, json.dumps(page))
            if path == "/cpu":
                c = config()
                return self.reply(200, json.dumps({
                    "t": time.monotonic(), "hz": HZ,
                    "server": ticks(c.get("devserver_pid") or 0),
                    "browser": tree_ticks(c.get("browser_pid") or 0),
                }))
            if path == "/":
                path = "/index.html"
            f = os.path.realpath(os.path.join(root, path.lstrip("/")))
            if not f.startswith(root + os.sep) or not os.path.isfile(f):
                return self.reply(404, "not found", "text/plain")
            with open(f, "rb") as fh:
                data = fh.read()
            self.reply(200, data, TYPES.get(os.path.splitext(f)[1], "application/octet-stream"))

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n)
            path = self.path
            try:
                msg = json.loads(body or b"{}")
            except ValueError:
                return self.reply(400, '{"error":"bad json"}')
            if path == "/log":
                print(f"[page] {msg.get('msg')}", file=sys.stderr, flush=True)
            elif path == "/result":
                with lock:
                    results.write(json.dumps(msg) + "\n")
                    results.flush()
            elif path == "/done":
                with open(os.path.join(args.out, "done.json"), "w") as f:
                    json.dump(msg, f)
                print(f"[page] done: {json.dumps(msg)[:2000]}", file=sys.stderr, flush=True)
                stop.set()
            else:
                return self.reply(404, '{"error":"unknown"}')
            self.reply(200, "{}")

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print(f"collector on http://127.0.0.1:{srv.server_address[1]}", flush=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    stop.wait(args.timeout)
    time.sleep(0.2)
    srv.shutdown()
    results.close()


if __name__ == "__main__":
    main()
