// js-reference: a straightforward hand-written JavaScript exec client, of the kind web consoles
// ship today, written for the benchmark as the bar kube-exec-wasm has to clear.
//
// Per-frame handling as usual (read the channel byte, route the payload), done well: stdout and
// stderr payloads are handed to a ReadableStream as views of the received ArrayBuffer (no copy),
// base64 frames are decoded with Uint8Array.fromBase64 where the browser has it (atob otherwise),
// the error channel is collected and parsed at close. Same shape as the SDK's session
// (stdout/stderr/stdin streams, exit, closeStdin, close), so the benchmark drives both alike.
// It is deliberately small: no preflight, no typed error codes, no queue bounds.

const STDIN = 0, STDOUT = 1, STDERR = 2, ERROR = 3, RESIZE = 4, CLOSE = 255;
const enc = new TextEncoder();
const dec = new TextDecoder();

function b64url(s) {
  return btoa(String.fromCharCode(...enc.encode(s))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const fromBase64 = typeof Uint8Array.fromBase64 === 'function'
  ? (s) => Uint8Array.fromBase64(s)
  : (s) => { const b = atob(s); const u = new Uint8Array(b.length); for (let i = 0; i < b.length; i++) u[i] = b.charCodeAt(i); return u; };
const toBase64 = typeof Uint8Array.prototype.toBase64 === 'function'
  ? (u) => u.toBase64()
  : (u) => { let s = ''; for (let i = 0; i < u.length; i++) s += String.fromCharCode(u[i]); return btoa(s); };

export function url(o) {
  const base = new URL(o.server ?? location.origin);
  base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = new URLSearchParams();
  for (const c of o.command ?? []) q.append('command', c);
  if (o.container) q.set('container', o.container);
  q.set('stdin', String(!!o.stdin));
  q.set('stdout', String(o.stdout ?? true));
  q.set('stderr', String(o.stderr ?? true));
  q.set('tty', String(!!o.tty));
  base.pathname = `/api/v1/namespaces/${encodeURIComponent(o.namespace)}/pods/${encodeURIComponent(o.pod)}/exec`;
  base.search = q.toString();
  return base.toString();
}

export function protocols(o) {
  const p = [...(o.protocols ?? ['v5.channel.k8s.io', 'v4.channel.k8s.io'])];
  if (o.token) p.push('base64url.bearer.authorization.k8s.io.' + b64url(o.token));
  return p;
}

export function exec(o) {
  return new Promise((resolveOpen, rejectOpen) => {
    const ws = new WebSocket(url(o), protocols(o));
    ws.binaryType = 'arraybuffer';
    let out, err, opened = false, base64 = false;
    const status = [];
    const stdout = new ReadableStream({ start(c) { out = c; } });
    const stderr = new ReadableStream({ start(c) { err = c; } });
    let resolveExit, rejectExit;
    const exit = new Promise((res, rej) => { resolveExit = res; rejectExit = rej; });
    exit.catch(() => {});

    const send = (ch, bytes) => {
      if (base64) { ws.send(String.fromCharCode(48 + ch) + toBase64(bytes)); return; }
      const f = new Uint8Array(bytes.length + 1);
      f[0] = ch; f.set(bytes, 1);
      ws.send(f);
    };
    const stdin = new WritableStream({
      write(chunk) { send(STDIN, typeof chunk === 'string' ? enc.encode(chunk) : chunk); },
    });

    const toStdout = o.wrapStdout ? o.wrapStdout((v) => out.enqueue(v)) : (v) => out.enqueue(v); // bench experiments
    const deliver = (ch, payload) => {
      if (payload.length === 0) return; // readiness, or nothing
      if (ch === STDOUT) toStdout(payload);
      else if (ch === STDERR) err.enqueue(payload);
      else if (ch === ERROR) status.push(payload.slice());
    };
    ws.onmessage = (ev) => {
      const d = ev.data;
      if (typeof d === 'string') {
        if (d.length === 0) return;
        deliver(d.charCodeAt(0) - 48, fromBase64(d.substring(1)));
      } else {
        if (d.byteLength === 0) return;
        deliver(new Uint8Array(d, 0, 1)[0], new Uint8Array(d, 1));
      }
    };
    ws.onopen = () => {
      opened = true;
      base64 = ws.protocol.includes('base64');
      resolveOpen(session);
    };
    ws.onerror = () => {};
    ws.onclose = (ev) => {
      if (toStdout.flush) toStdout.flush();
      try { out.close(); } catch {}
      try { err.close(); } catch {}
      if (!opened) { rejectOpen(new Error(`connect failed (${ev.code})`)); return; }
      if (status.length === 0) {
        if (ev.code === 1000 && !ws.protocol.startsWith('v')) resolveExit({ success: true, exitCode: 0 });
        else rejectExit(new Error(`connection lost (${ev.code})`));
        return;
      }
      let len = 0; for (const s of status) len += s.length;
      const all = new Uint8Array(len); let at = 0; for (const s of status) { all.set(s, at); at += s.length; }
      const text = dec.decode(all);
      if (!ws.protocol.startsWith('v')) { resolveExit({ success: false, exitCode: null, message: text }); return; }
      try {
        const st = JSON.parse(text);
        if (st.status === 'Success') { resolveExit({ success: true, exitCode: 0 }); return; }
        const cause = st.details?.causes?.find((c) => c.reason === 'ExitCode');
        resolveExit({ success: false, exitCode: cause ? Number(cause.message) : null, reason: st.reason, message: st.message });
      } catch (e) { rejectExit(e); }
    };

    const session = {
      get protocol() { return ws.protocol; },
      stdout, stderr, stdin, exit,
      resize(cols, rows) { send(RESIZE, enc.encode(JSON.stringify({ Width: cols, Height: rows }))); },
      async closeStdin() {
        if (ws.protocol !== 'v5.channel.k8s.io') throw new Error('half-close needs v5.channel.k8s.io');
        ws.send(new Uint8Array([CLOSE, STDIN]));
      },
      close() { ws.close(1000); },
    };
  });
}
