#!/usr/bin/env python3
"""How browsers frame the WebSocket messages a page sends: a raw WebSocket server on loopback
logs the FIN bit, opcode and length of every frame it receives while a page sends 48 binary
messages of each of several sizes (65,535, 65,536 and 65,537 bytes by default).

The Kubernetes servers read every frame as a message of its own (golang.org/x/net/websocket
Codec.Receive), so a message a browser splits into a first frame and continuations loses
bytes there. This is why the SDK never sends a message over 65,536 bytes.

    python3 bench/fragments.py                 # Debian's chromium, then firefox-esr
    python3 bench/fragments.py chromium 100000 # one browser, other sizes

Prints, per browser and message size, how many messages arrived whole and how many split.
"""
import base64
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
COPIES = 48

PAGE = """<!doctype html><script>
const ws = new WebSocket(`ws://${location.host}/ws`);
ws.onopen = async () => {
  for (const size of %s) {
    for (let i = 0; i < %d; i++) ws.send(new Uint8Array(size));
    while (ws.bufferedAmount > 0) await new Promise((r) => setTimeout(r, 5));
  }
  ws.close();
};
</script>"""


def recv_exact(conn, n):
    out = b""
    while len(out) < n:
        more = conn.recv(n - len(out))
        if not more:
            raise EOFError
        out += more
    return out


def serve(listener, page, messages, done):
    """Serves the page, then records each received message as the list of its frame lengths."""
    while not done.is_set():
        conn, _ = listener.accept()
        request = b""
        while b"\r\n\r\n" not in request:
            request += conn.recv(4096)
        head = request.decode("latin1")
        if "upgrade: websocket" not in head.lower():
            body = page.encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n"
                         b"Connection: close\r\n\r\n" % len(body) + body)
            conn.close()
            continue
        key = next(l.split(":", 1)[1].strip() for l in head.split("\r\n")
                   if l.lower().startswith("sec-websocket-key"))
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n" % accept).encode())
        frames = []
        try:
            while True:
                b0, b1 = recv_exact(conn, 2)
                fin, opcode, length = b0 >> 7, b0 & 15, b1 & 127
                if length == 126:
                    length = struct.unpack(">H", recv_exact(conn, 2))[0]
                elif length == 127:
                    length = struct.unpack(">Q", recv_exact(conn, 8))[0]
                recv_exact(conn, 4 + length)
                if opcode == 8:
                    break
                frames.append(length)
                if fin:
                    messages.append(frames)
                    frames = []
        except EOFError:
            pass
        conn.close()
        done.set()


def run(browser, sizes):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    messages, done = [], threading.Event()
    page = PAGE % (list(sizes), COPIES)
    threading.Thread(target=serve, args=(listener, page, messages, done), daemon=True).start()
    profile = tempfile.mkdtemp(prefix="kew-fragments-")
    url = "http://127.0.0.1:%d/" % port
    if "firefox" in browser:
        cmd = [browser, "--headless", "--no-remote", "--profile", profile, url]
        env = dict(os.environ, HOME=profile)
    else:
        cmd = [browser, "--headless=new", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--user-data-dir=" + profile, url]
        env = os.environ
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    done.wait(60)
    proc.kill()
    proc.wait()
    shutil.rmtree(profile, ignore_errors=True)
    for size in sizes:
        mine = [m for m in messages if sum(m) == size]
        split = [m for m in mine if len(m) > 1]
        print("%-12s %7d-byte messages: %2d received, %2d whole, %2d split into frames"
              % (os.path.basename(browser), size, len(mine), len(mine) - len(split), len(split)))


def main():
    args = sys.argv[1:]
    browsers = [a for a in args if not a.isdigit()] or ["chromium", "firefox-esr"]
    sizes = [int(a) for a in args if a.isdigit()] or [65535, 65536, 65537]
    for browser in browsers:
        if shutil.which(browser):
            run(shutil.which(browser), sizes)
        else:
            print("%s: not installed" % browser)


if __name__ == "__main__":
    main()
