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
    if (this.closed || this.cancelled || view.byteLength === 0) return;
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
// padded base64 only, as the core (and the server) require: anything else throws.
export function decodeBase64(text) {
  const body = text.length > 1 ? text.slice(1) : "";
  if (typeof Uint8Array.fromBase64 === "function") {
    return Uint8Array.fromBase64(body, { lastChunkHandling: "strict" });
  }
  if (body.length % 4 !== 0 || /[^A-Za-z0-9+/=]/.test(body)) throw new SyntaxError("bad base64");
  const bin = atob(body);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// Stdin writes are handed to the core in pieces of at most this many bytes, and wait while the
// socket holds more than STDIN_HIGH_WATER bytes not yet sent (polled every DRAIN_POLL_MS).
const STDIN_PIECE_MAX = 256 * 1024;
const STDIN_HIGH_WATER = 1 << 20;
const DRAIN_POLL_MS = 2;
const encoder = new TextEncoder();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The bytes of a stdin chunk: a string (UTF-8), any ArrayBufferView, or an ArrayBuffer;
// null for anything else.
function bytesOf(chunk) {
  if (typeof chunk === "string") return encoder.encode(chunk);
  if (chunk instanceof Uint8Array) return chunk;
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  return null;
}

// The preflight GET of the pod with the same credentials; calls `onAnswer` exactly once with
// `{ status, body }`, or null when no answer came (network, CORS, certificate, abort).
export function preflight(url, token, signal, onAnswer) {
  const init = { cache: "no-store", signal };
  if (token !== undefined) init.headers = { Authorization: `Bearer ${token}` };
  fetch(url, init)
    .then(
      (r) =>
        r.arrayBuffer().then(
          (b) => ({ status: r.status, body: new Uint8Array(b) }),
          () => ({ status: r.status, body: new Uint8Array(0) }),
        ),
      () => null,
    )
    .then(onAnswer);
}

// Input: a WritableStream whose sink is implemented in Rust. For stdin (`ws` given), a write
// hands the chunk's bytes to `sink.send(piece)` (Rust: frames and sends one piece, returns an
// error or undefined) piece by piece, each time waiting while the socket is backed up; it
// resolves once everything is handed to the socket. Elsewhere `sink.write(chunk)` does it all.
// `fail` errors the stream so that no later write reaches the (then released) sink.
export class Input {
  constructor(sink, ws) {
    this.ctrl = null;
    this.error = null;
    this.stream = new WritableStream(
      {
        start: (c) => {
          this.ctrl = c;
        },
        write: (chunk) => (ws ? this.writeStdin(ws, sink, chunk) : sink.write(chunk)),
        close: () => sink.close(),
        abort: () => sink.abort(),
      },
      { highWaterMark: 1 },
    );
  }

  async writeStdin(ws, sink, chunk) {
    const bytes = bytesOf(chunk);
    for (let at = 0; ; ) {
      if (this.error !== null) throw this.error;
      const piece = bytes === null ? null : bytes.subarray(at, at + STDIN_PIECE_MAX);
      const error = sink.send(piece);
      if (error !== undefined) throw error;
      at += piece.length;
      while (this.error === null && ws.readyState === 1 && ws.bufferedAmount > STDIN_HIGH_WATER) {
        await sleep(DRAIN_POLL_MS);
      }
      if (at >= bytes.length) return;
    }
  }

  fail(error) {
    this.error = error;
    try {
      this.ctrl.error(error);
    } catch (_) {
      // already errored
    }
  }
}

// Live sessions, so that a panic in the wasm code (after which the module must not be
// entered again) still ends every session: sockets closed, streams ended, promises rejected.
const live = new Set();

export function track(ws, outputs, inputs, rejects) {
  const entry = { ws, outputs, inputs, rejects };
  live.add(entry);
  return entry;
}

export function untrack(entry) {
  live.delete(entry);
}

export function failAll(message) {
  const error = Object.assign(new Error(`Internal: kube-exec-wasm panicked: ${message}`), {
    name: "ExecError",
    code: "Internal",
    hint: "a bug in kube-exec-wasm (the panic is logged in the console); reload the page to use it again",
  });
  for (const e of live) {
    try {
      e.ws.onopen = e.ws.onmessage = e.ws.onclose = e.ws.onerror = null;
      e.ws.close();
    } catch (_) {
      // already closed
    }
    for (const o of e.outputs) o.end();
    for (const i of e.inputs) i.fail(error);
    for (const r of e.rejects) r(error);
  }
  live.clear();
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
// (kind 0 binary, 1 text; answer 0 ignore, 1 stdout, 2 stderr, 3 deliver): one call into wasm
// with numbers only; stdout/stderr payloads stay views of the received buffer (or, in base64,
// are decoded here) and never enter wasm memory. `deliver` hands a whole message to the core.
export function listen(ws, stdout, stderr, route, deliver) {
  ws.onmessage = (e) => {
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
  };
}

// Type checks of the option bag of exec()/attach(), for src/web/options.rs: returns the values
// in a fixed order (see there), or a message for an InvalidOptions error. The values
// themselves (names, URLs, sizes, subprotocols) are checked by the core.
export function readOptions(o, attach) {
  if (typeof o !== "object" || o === null) return "options must be an object";
  const get = (k) => (o[k] === undefined || o[k] === null ? undefined : o[k]);
  const typed = (k, type, what) => {
    const v = get(k);
    if (v !== undefined && typeof v !== type) throw `\`${k}\` must be ${what}`;
    return v;
  };
  const str = (k) => typed(k, "string", "a string");
  const required = (k) => {
    if (get(k) === undefined) throw `\`${k}\` is required`;
    return str(k);
  };
  const bool = (k, dflt) => {
    const v = typed(k, "boolean", "a boolean");
    return v === undefined ? dflt : v;
  };
  const ms = (k) => {
    const v = typed(k, "number", "a number of milliseconds");
    if (v !== undefined && !(v >= 0 && Number.isFinite(v))) throw `\`${k}\` must be a number of milliseconds`;
    return v;
  };
  const strings = (k) => {
    const v = get(k);
    if (v !== undefined && !(Array.isArray(v) && v.every((s) => typeof s === "string")))
      throw `\`${k}\` must be an array of strings`;
    return v;
  };
  try {
    const tty = bool("tty", false);
    let command = [];
    if (attach) {
      if (get("command") !== undefined) throw "attach takes no `command`";
    } else {
      command = strings("command");
      if (command === undefined) throw "`command` is required";
    }
    const signal = get("signal");
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw "`signal` must be an AbortSignal";
    const size = get("terminalSize");
    if (size !== undefined && (typeof size !== "object" || typeof size.cols !== "number" || typeof size.rows !== "number"))
      throw "`terminalSize` must be { cols, rows } numbers";
    return [
      str("server"), required("namespace"), required("pod"), str("container"), command,
      bool("stdin", false), bool("stdout", true), bool("stderr", !tty), tty,
      str("token"), strings("protocols"), size && size.cols, size && size.rows, signal,
      bool("allowInsecureToken", false), bool("preflight", true),
      ms("readyTimeout"), ms("keepalive"), ms("connectTimeout"),
    ];
  } catch (message) {
    if (typeof message === "string") return message;
    throw message;
  }
}
