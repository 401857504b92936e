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

// Input: a WritableStream whose sink is implemented in Rust. `fail` errors the stream so
// that no later write reaches the (then released) sink.
export class Input {
  constructor(sink) {
    this.ctrl = null;
    this.stream = new WritableStream(
      {
        start: (c) => {
          this.ctrl = c;
        },
        write: (chunk) => sink.write(chunk),
        close: () => sink.close(),
        abort: () => sink.abort(),
      },
      { highWaterMark: 1 },
    );
  }

  fail(error) {
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
