// The few pieces of the browser glue that are plain JavaScript, imported by src/web/*.rs.
// They hold no protocol knowledge: the Rust core decides which channel a message belongs to;
// these only move views of received buffers into WHATWG streams.

// Views no larger than this that arrive close together are merged into one chunk (fewer, larger
// chunks: the per-chunk cost of a ReadableStream dominates at small frames). Bigger views are
// always handed over as they are, never copied.
const COALESCE_MAX = 16384;
// A merged chunk holds at most this many bytes: small fresh buffers are cheaper to allocate
// (and to reuse after GC) than one large zeroed buffer per flush.
const MERGE_MAX = 32768;
// A message that arrives less than this many ms after the previous one is part of a burst:
// only then is a flush task scheduled to merge what follows (a keystroke's echo, arriving on
// its own, costs no extra task).
const BURST_GAP_MS = 0.1;

// Output: a ReadableStream<Uint8Array> fed with views of the received ArrayBuffers.
// At most one chunk waits in the stream's own queue (highWaterMark 1). A view that finds the
// queue empty is enqueued at once (no added latency: a keystroke's echo goes straight to the
// reader); inside a burst, the views that arrive after it before the next task
// (MessageChannel) are merged into one chunk. What arrives while the reader is busy waits
// in `pending` and is flushed, merged, when the stream pulls. Large views are never copied.
export class Output {
  constructor() {
    this.pending = [];
    this.pendingBytes = 0;
    this.closed = false;
    this.cancelled = false;
    this.scheduled = false;
    this.chan = null;
    this.last = -Infinity;
    this.ctrl = null;
    // Recorders (see `Recorder`): each sees every view received, read or not.
    this.taps = [];
    this.stream = new ReadableStream(
      {
        start: (c) => {
          this.ctrl = c;
        },
        pull: () => {
          if (!this.scheduled) this.flush();
        },
        cancel: () => {
          this.cancelled = true;
          this.pending = [];
          this.pendingBytes = 0;
          this.release();
        },
      },
      { highWaterMark: 1 },
    );
  }

  // Bytes received and not yet handed to the stream's queue.
  get buffered() {
    return this.pendingBytes;
  }

  push(view) {
    if (this.closed || view.byteLength === 0) return;
    if (this.taps.length !== 0) for (let i = 0; i < this.taps.length; i++) this.taps[i](view);
    if (this.cancelled) return;
    const now = performance.now();
    const burst = now - this.last < BURST_GAP_MS;
    this.last = now;
    if (!this.scheduled && this.pending.length === 0 && this.ctrl.desiredSize > 0) {
      this.ctrl.enqueue(view);
      if (burst && view.byteLength <= COALESCE_MAX) this.schedule();
      return;
    }
    this.pending.push(view);
    this.pendingBytes += view.byteLength;
  }

  // Ends the burst at the next task: what came in meanwhile is flushed as one chunk.
  schedule() {
    this.scheduled = true;
    if (this.chan === null) {
      this.chan = new MessageChannel();
      this.chan.port1.onmessage = () => {
        this.scheduled = false;
        if (!this.closed && this.ctrl.desiredSize > 0) this.flush();
      };
    }
    this.chan.port2.postMessage(0);
  }

  release() {
    if (this.chan !== null) {
      this.chan.port1.onmessage = null;
      this.chan.port1.close();
      this.chan = null;
    }
    this.scheduled = false;
  }

  // Decodes a base64 text frame (channel digit first) and pushes the bytes.
  // Throws on malformed base64.
  pushBase64(text) {
    this.push(decodeBase64(text));
  }

  flush() {
    const p = this.pending;
    if (p.length === 0) return;
    this.pending = [];
    this.pendingBytes = 0;
    let run = [];
    let runBytes = 0;
    const emitRun = () => {
      if (run.length === 1) {
        this.ctrl.enqueue(run[0]);
      } else if (run.length > 1) {
        const out = new Uint8Array(runBytes);
        let at = 0;
        for (const v of run) {
          out.set(v, at);
          at += v.byteLength;
        }
        this.ctrl.enqueue(out);
      }
      run = [];
      runBytes = 0;
    };
    for (const v of p) {
      if (v.byteLength > COALESCE_MAX) {
        emitRun();
        this.ctrl.enqueue(v);
      } else {
        if (runBytes + v.byteLength > MERGE_MAX) emitRun();
        run.push(v);
        runBytes += v.byteLength;
      }
    }
    emitRun();
  }

  // The session ended: everything received stays readable, then the stream closes.
  end() {
    if (this.closed) return;
    this.closed = true;
    this.release();
    if (this.cancelled) return;
    this.flush();
    try {
      this.ctrl.close();
    } catch (_) {
      // already closed or errored by the consumer
    }
  }
}

// Decodes the payload of a base64 text frame: `text[0]` is the channel digit. Standard,
// padded base64 only, as the core (and the server) require: anything else (whitespace
// included, which the browser's decoder would skip) throws. The bytes are decoded straight
// into a buffer of their exact size (`setFromBase64`): `Uint8Array.fromBase64` decodes into
// a buffer of its own and copies, about 10 % slower per 64 KiB frame and 3x per byte-sized
// one (BENCHMARKS.md, "base64").
export function decodeBase64(text) {
  const n = text.length - 1;
  if (n <= 0) return new Uint8Array(0);
  if ((n & 3) !== 0) throw new SyntaxError("bad base64");
  const pad = text.charCodeAt(n) === 61 ? (text.charCodeAt(n - 1) === 61 ? 2 : 1) : 0;
  const out = new Uint8Array((n >> 2) * 3 - pad);
  const body = text.substring(1);
  if (typeof out.setFromBase64 === "function") {
    const r = out.setFromBase64(body, STRICT);
    if (r.read !== n || r.written !== out.length) throw new SyntaxError("bad base64");
    return out;
  }
  if (/[^A-Za-z0-9+/=]/.test(body)) throw new SyntaxError("bad base64");
  const bin = atob(body);
  if (bin.length !== out.length) throw new SyntaxError("bad base64");
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
const STRICT = { lastChunkHandling: "strict" };

// Stdin writes are handed to the core in pieces of at most this many bytes, and wait while the
// socket holds more than STDIN_HIGH_WATER bytes not yet sent (polled every DRAIN_POLL_MS).
const STDIN_PIECE_MAX = 256 * 1024;
const STDIN_HIGH_WATER = 1 << 20;
const DRAIN_POLL_MS = 2;
const encoder = new TextEncoder();
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The bytes of a stdin chunk: a string (UTF-8), any ArrayBufferView, or an ArrayBuffer;
// null for anything else.
function bytesOf(chunk) {
  if (typeof chunk === "string") return encoder.encode(chunk);
  if (chunk instanceof Uint8Array) return chunk;
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  return null;
}

// A recording of a session as asciicast v2 (record() in src/web/record.rs): a header line,
// then one event per line, `[seconds, "o" | "i" | "r", data]`. Output is decoded as UTF-8
// with one streaming decoder per stream, so a character split across frames stays whole.
export class Recorder {
  constructor(cols, rows, o) {
    const header = { version: 2, width: cols, height: rows, timestamp: Math.floor(Date.now() / 1000) };
    if (typeof o.title === "string") header.title = o.title;
    if (o.env !== null && typeof o.env === "object") header.env = o.env;
    this.header = header;
    this.input = o.input === true;
    this.inputDecoder = new TextDecoder();
    this.t0 = performance.now();
    this.lines = [JSON.stringify(header) + "\n"];
    this.readers = new Set();
    this.ended = false;
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  // A tap for an Output (see `Output.taps`): its own decoder.
  tap() {
    const decoder = new TextDecoder();
    return (view) => this.event("o", decoder.decode(view, { stream: true }));
  }

  event(kind, data) {
    if (this.ended || data === "") return;
    const t = Math.round(performance.now() - this.t0) / 1000;
    const line = JSON.stringify([t, kind, data]) + "\n";
    this.lines.push(line);
    for (const c of this.readers) c.enqueue(line);
  }

  resized(cols, rows) {
    this.event("r", `${cols}x${rows}`);
  }

  typed(bytes) {
    if (this.input) this.event("i", this.inputDecoder.decode(bytes, { stream: true }));
  }

  text() {
    return this.lines.join("");
  }

  blob() {
    return new Blob(this.lines, { type: "application/x-asciicast" });
  }

  // Every line so far, then each new one, until the recording ends.
  stream() {
    let ctrl;
    return new ReadableStream({
      start: (c) => {
        ctrl = c;
        for (const line of this.lines) c.enqueue(line);
        if (this.ended) c.close();
        else this.readers.add(c);
      },
      cancel: () => this.readers.delete(ctrl),
    });
  }

  stop() {
    if (this.ended) return;
    this.ended = true;
    for (const c of this.readers) c.close();
    this.readers.clear();
    this.finish();
  }
}

// Input: a WritableStream whose sink is the session in Rust, reached through the methods of
// its `SessionHandle` (set by `Link.listen`). For stdin (`ws` given), a write either takes the
// fast path (see writeStdin) or hands the chunk's bytes to the core piece by piece
// (`handle.stdin`: frames and sends one piece, or throws the write's error), each time
// waiting while the socket is backed up; it resolves once everything is handed to the socket.
// For resizes (`ws` null), a write is `handle.resize`. `fail` errors the stream so that no
// later write reaches the (then released) session.
export class Input {
  constructor(ws) {
    this.ws = ws;
    this.ctrl = null;
    this.error = null;
    this.handle = null;
    // The write under way in the sink (a promise), and how many writes reached the sink: see
    // `settled`.
    this.busy = null;
    this.writes = 0;
    this.stream = new WritableStream(
      ws
        ? {
            start: (c) => {
              this.ctrl = c;
            },
            write: (chunk) => this.during(this.writeStdin(ws, chunk)),
            close: () => this.closeAfterWrites(),
            abort: () => {
              if (this.error === null) this.handle.abortStdin();
            },
          }
        : {
            start: (c) => {
              this.ctrl = c;
            },
            write: (size) => {
              if (this.error !== null) throw this.error;
              this.handle.resize(size);
            },
          },
      { highWaterMark: 1 },
    );
  }

  // Notes a write that reached the sink, and keeps its promise (if it has one) until it ends.
  during(pending) {
    this.writes++;
    if (pending === undefined) return undefined;
    const done = () => {
      if (this.busy === tracked) this.busy = null;
    };
    const tracked = pending.then(done, done);
    this.busy = tracked;
    return pending;
  }

  // Resolves once no write is under way and none is waiting in the stream's queue: a queued
  // chunk reaches the sink in the microtasks right after the write before it ends, so a
  // whole task that passes with no new write means the queue is empty.
  async settled() {
    for (;;) {
      const seen = this.writes;
      if (this.busy !== null) await this.busy;
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (this.busy === null && this.writes === seen) return;
    }
  }

  // `closeStdin()` and the stream's close: the CLOSE signal goes to the socket only after
  // every write made before it, and the promise resolves once the socket has sent it all
  // (or has closed). The browser keeps the order of `send` calls; the wait makes "resolved"
  // mean "left this page".
  async closeAfterWrites() {
    await this.settled();
    if (this.error !== null) throw this.error;
    this.handle.closeStdin();
    const ws = this.ws;
    while (this.error === null && ws.readyState === 1 && ws.bufferedAmount > 0) {
      await sleep(DRAIN_POLL_MS);
    }
  }

  // The fast path (a keystroke, a line): when the core says the bytes may go out now as one
  // frame (`claimStdin`: open, binary protocol, nothing queued), the frame `[0, ...bytes]`
  // is built here and sent at once; no promise unless the socket backs up.
  writeStdin(ws, chunk) {
    const bytes = bytesOf(chunk);
    const n = bytes === null ? 0 : bytes.length;
    if (
      n > 0 &&
      n <= STDIN_PIECE_MAX &&
      this.error === null &&
      ws.readyState === 1 &&
      ws.bufferedAmount <= STDIN_HIGH_WATER &&
      this.handle.claimStdin(n)
    ) {
      const frame = new Uint8Array(n + 1);
      frame.set(bytes, 1);
      ws.send(frame);
      if (ws.bufferedAmount > STDIN_HIGH_WATER) return this.drain(ws);
      return;
    }
    return this.writePieces(ws, bytes);
  }

  async drain(ws) {
    while (this.error === null && ws.readyState === 1 && ws.bufferedAmount > STDIN_HIGH_WATER) {
      await sleep(DRAIN_POLL_MS);
    }
  }

  async writePieces(ws, bytes) {
    for (let at = 0; ; ) {
      if (this.error !== null) throw this.error;
      const piece = bytes === null ? null : bytes.subarray(at, at + STDIN_PIECE_MAX);
      this.handle.stdin(piece);
      at += piece.length;
      await this.drain(ws);
      if (at >= bytes.length) return;
    }
  }

  fail(error) {
    this.error = error;
    this.handle = null;
    try {
      this.ctrl.error(error);
    } catch (_) {
      // already errored
    }
  }
}

// A listener as a disposable (cf. xterm.js addon-attach's `addSocketListener`).
function addListener(target, type, handler) {
  target.addEventListener(type, handler);
  return { dispose: () => target.removeEventListener(type, handler) };
}

// Live sessions, so that a panic in the wasm code (after which the module must not be
// entered again) still ends every session: sockets closed, streams ended, promises rejected.
const live = new Set();
let panicked = null;

// The JavaScript side of one session (src/web/session.rs): its output and input streams, its
// `exit` promise, the listeners of its socket and abort signal, and its one timer. Everything
// reaches Rust through the named methods of `handle` (a `SessionHandle`); per message that is
// one call with numbers only (see `listen`).
export class Link {
  constructor(ws) {
    this.ws = ws;
    this.handle = null;
    this.stdout = new Output();
    this.stderr = new Output();
    this.stdin = new Input(ws);
    this.resizes = new Input(null);
    this.listeners = [];
    this.timer = undefined;
    this.exit = new Promise((resolve, reject) => {
      this.exited = resolve;
      this.failed = reject;
    });
    // Marks `exit` as handled, so a session nobody awaits does not log an unhandled rejection.
    this.exit.catch(() => {});
  }

  listen(handle, signal) {
    this.handle = this.stdin.handle = this.resizes.handle = handle;
    const ws = this.ws;
    this.listeners = [
      addListener(ws, "open", () => handle.onOpen()),
      addListener(ws, "close", (e) => handle.onClose(e.code, e.reason)),
      // An `error` event is always followed by `close` (1006), which carries the code.
      addListener(ws, "error", () => handle.onError()),
      listen(
        ws,
        this.stdout,
        this.stderr,
        (kind, first, len) => handle.route(kind, first, len),
        (m) => (typeof m === "string" ? handle.onText(m) : handle.onBinary(m)),
      ),
    ];
    if (signal !== undefined && signal !== null) {
      this.listeners.push(addListener(signal, "abort", () => handle.onAbort()));
    }
    live.add(this);
  }

  // The session's one timer: `handle.onTimer()` in `ms` milliseconds (replacing any armed one).
  setTimer(ms) {
    this.clearTimer();
    const handle = this.handle;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      handle.onTimer();
    }, ms);
  }

  clearTimer() {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  // The session ended: no more events reach it, and the handle is let go.
  dispose() {
    live.delete(this);
    for (const l of this.listeners) l.dispose();
    this.listeners = [];
    this.clearTimer();
    this.handle = null;
  }
}

function internalError(message) {
  return Object.assign(new Error(`Internal: ${message}`), {
    name: "ExecError",
    code: "Internal",
    hint: "a bug in kube-exec-wasm (the panic is logged in the console); reload the page to use it again",
  });
}

export function failAll(message) {
  const error = internalError(`kube-exec-wasm panicked: ${message}`);
  panicked = error;
  const links = [...live];
  live.clear();
  for (const link of links) {
    const handle = link.handle;
    link.dispose();
    try {
      link.ws.close();
    } catch (_) {
      // already closed
    }
    link.stdout.end();
    link.stderr.end();
    link.stdin.fail(error);
    link.resizes.fail(error);
    link.failed(error);
    // A promise still waiting for the session to open (exec(), openShell()) is Rust's.
    try {
      handle.onPanic();
    } catch (_) {
      // the panic left it borrowed
    }
  }
}

// The error of `failAll`, for a promise that learns of the panic in Rust.
export function panicError() {
  return panicked ?? internalError("the session ended without a word");
}

// The callback adapter: reads `stream` to its end, calling `callback` with every chunk.
export async function forEachChunk(stream, callback) {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      callback(value);
    }
  } finally {
    reader.releaseLock();
  }
}

// The per-message hot path. `route(kind, firstByte, length)` is the core's decision
// (`SessionHandle.route`: kind 0 binary, 1 text; answer a `Route`: 0 Ignore, 1 Stdout,
// 2 Stderr, 3 Deliver): one call into wasm with numbers only; stdout/stderr payloads stay
// views of the received buffer (or, in base64, are decoded here) and never enter wasm memory.
// `deliver` hands a whole message to the core. Returns the listener as a disposable.
function listen(ws, stdout, stderr, route, deliver) {
  return addListener(ws, "message", (e) => {
    const d = e.data;
    if (typeof d === "string") {
      const n = d.length;
      const r = route(1, n > 0 ? Math.min(d.charCodeAt(0), 255) : 0, n);
      if (r === 1 || r === 2) {
        try {
          (r === 1 ? stdout : stderr).pushBase64(d);
        } catch (_) {
          deliver(d); // the core's decoder fails the session with a protocol error
        }
      } else if (r === 3) {
        deliver(d);
      }
    } else {
      const n = d.byteLength;
      const r = route(0, n > 0 ? new Uint8Array(d, 0, 1)[0] : 0, n);
      if (r === 1) stdout.push(new Uint8Array(d, 1));
      else if (r === 2) stderr.push(new Uint8Array(d, 1));
      else if (r === 3) deliver(new Uint8Array(d));
    }
  });
}
