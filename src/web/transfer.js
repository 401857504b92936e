// File transfer (upload, download, collectors), imported by src/web/transfer.rs. It moves
// bytes only: file bodies go from Blob.stream() to the stdin writer, and from the stdout
// stream (views of received frames) to each entry's body stream, never through wasm memory.
// Everything else (sessions, commands, the archive plan and headers, the tar parser, typed
// errors) is asked of `t`, the Rust `Transfer` of this call.

const V5 = "v5.channel.k8s.io";
const DEFAULT_OFFER = [V5, "v4.channel.k8s.io"];
// Stdin writes stay within one message the browser never fragments (the core's
// MAX_CLIENT_MESSAGE, channel byte included), which is also the glue's fast path: each piece
// is framed in JS and never copied into wasm memory.
const PIECE = 65535;
// The end of the remote stderr kept for error messages.
const STDERR_KEEP = 8192;
const encoder = new TextEncoder();

// The option bag of exec() for a transfer: the target's connection options, our command.
function execBag(t, target, command, stdin, signal, protocols) {
  if (typeof target !== "object" || target === null) throw t.error("InvalidOptions", "the target must be an object (the options of exec() without `command`)");
  if (target.command !== undefined) throw t.error("InvalidOptions", "the target takes no `command`: the transfer runs tar");
  const bag = { ...target, command, stdin, stdout: true, stderr: true, tty: false, signal };
  if (protocols !== undefined) bag.protocols = protocols;
  return bag;
}

function checkOptions(t, o) {
  if (o === undefined || o === null) return {};
  if (typeof o !== "object") throw t.error("InvalidOptions", "options must be an object");
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw t.error("InvalidOptions", "`signal` must be an AbortSignal");
  if (o.onProgress !== undefined && typeof o.onProgress !== "function") throw t.error("InvalidOptions", "`onProgress` must be a function");
  if (o.destDir !== undefined && typeof o.destDir !== "string") throw t.error("InvalidOptions", "`destDir` must be a string");
  if (o.signal && o.signal.aborted) throw t.error("Aborted", "aborted by the signal");
  return o;
}

// Reads a stderr stream to its end, keeping its last STDERR_KEEP bytes as text.
async function stderrText(stream) {
  const reader = stream.getReader();
  let kept = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    kept.push(value);
    size += value.byteLength;
    while (kept.length > 1 && size - kept[0].byteLength >= STDERR_KEEP) size -= kept.shift().byteLength;
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const v of kept) {
    all.set(v, at);
    at += v.byteLength;
  }
  return new TextDecoder().decode(all.subarray(Math.max(0, size - STDERR_KEEP)));
}

async function drain(stream) {
  const reader = stream.getReader();
  while (!(await reader.read()).done);
}

// One upload entry from a File, a named Blob, { path, data, mode } or { path, type: "directory" }.
function entryOf(t, f, i, now) {
  const where = `files[${i}]`;
  const mode = (v, dflt) => {
    if (v === undefined) return dflt;
    if (!Number.isInteger(v) || v < 0 || v > 0o7777) throw t.error("InvalidOptions", `${where}.mode must be a permission number (0 to 0o7777)`);
    return v;
  };
  if (typeof Blob !== "undefined" && f instanceof Blob) {
    const path = f.webkitRelativePath || f.name;
    if (typeof path !== "string" || path === "") throw t.error("InvalidOptions", `${where}: a Blob needs a name (or pass { path, data })`);
    const mtime = typeof f.lastModified === "number" ? f.lastModified / 1000 : now;
    return { path, kind: 0, size: f.size, mode: 0o644, mtime, data: f };
  }
  if (typeof f !== "object" || f === null || typeof f.path !== "string") {
    throw t.error("InvalidOptions", `${where} must be a File, a Blob with a name, { path, data, mode } or { path, type: "directory" }`);
  }
  if (f.type === "directory") return { path: f.path, kind: 1, size: 0, mode: mode(f.mode, 0o755), mtime: now, data: null };
  let data = f.data;
  if (typeof data === "string") data = encoder.encode(data);
  else if (data instanceof ArrayBuffer) data = new Uint8Array(data);
  else if (ArrayBuffer.isView(data)) data = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  else if (!(typeof Blob !== "undefined" && data instanceof Blob)) {
    throw t.error("InvalidOptions", `${where}.data must be a Blob, an ArrayBuffer, a typed array or a string`);
  }
  const size = data instanceof Uint8Array ? data.byteLength : data.size;
  return { path: f.path, kind: 0, size, mode: mode(f.mode, 0o644), mtime: now, data };
}

// Writes `bytes` in pieces the glue frames in JS.
async function writePieces(writer, bytes, sent) {
  for (let at = 0; at < bytes.byteLength; at += PIECE) {
    const piece = bytes.subarray(at, at + PIECE);
    await writer.write(piece);
    sent(piece.byteLength);
  }
}

export async function upload(t, target, files, options) {
  try {
    const o = checkOptions(t, options);
    if (!Array.isArray(files)) throw t.error("InvalidOptions", "files must be an array");
    const now = Date.now() / 1000;
    const items = files.map((f, i) => entryOf(t, f, i, now));
    const length = t.plan(
      items.map((e) => e.path),
      new Uint8Array(items.map((e) => e.kind)),
      new Float64Array(items.map((e) => e.size)),
      new Uint32Array(items.map((e) => e.mode)),
      new Float64Array(items.map((e) => e.mtime)),
      [],
    );
    const total = items.reduce((n, e) => n + e.size, 0);
    const destDir = o.destDir ?? "";
    const offer = target && Array.isArray(target.protocols) ? target.protocols : DEFAULT_OFFER;
    let session = null;
    if (offer.includes(V5)) {
      session = await t.exec(execBag(t, target, t.uploadCommand(destDir, undefined), true, o.signal));
      if (session.protocol !== V5) {
        // An older cluster: stdin cannot be ended there, so start again with the exact length.
        session.close();
        session = null;
      }
    }
    if (session === null) {
      const older = offer.filter((p) => p !== V5);
      session = await t.exec(execBag(t, target, t.uploadCommand(destDir, length), true, o.signal, older));
    }
    const v5 = session.protocol === V5;
    const stderr = stderrText(session.stderr);
    drain(session.stdout);
    let ended = false;
    session.exit.then(() => (ended = true), () => (ended = true));
    const writer = session.stdin.getWriter();
    let bytes = 0;
    const progress = (path) => (n) => {
      bytes += n;
      if (o.onProgress) o.onProgress({ bytes, total, path });
    };
    let failure = null;
    try {
      for (let i = 0; i < items.length && !ended; i++) {
        const e = items[i];
        await writer.write(t.head(i));
        if (e.kind !== 0 || e.size === 0) continue;
        const sent = progress(e.path);
        if (e.data instanceof Uint8Array) {
          await writePieces(writer, e.data, sent);
          continue;
        }
        const reader = e.data.stream().getReader();
        let got = 0;
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            got += value.byteLength;
            if (got > e.size) break;
            await writePieces(writer, value, sent);
          }
        } finally {
          reader.cancel().catch(() => {});
        }
        if (got !== e.size) {
          throw t.error("InvalidOptions", `${e.path}: the Blob changed size during the upload (${e.size} bytes planned)`);
        }
      }
      if (!ended) {
        await writer.write(t.tail());
        // v5: the CLOSE signal after every byte; older protocols: `head -c N` ends tar's input.
        if (v5) await writer.close();
      }
    } catch (e) {
      failure = e;
    }
    let status;
    try {
      status = await session.exit;
    } catch (e) {
      // The session ended without a status (aborted, connection lost): that is the error.
      throw e;
    }
    if (!status.success) throw t.classify(status, await stderr);
    if (failure !== null) {
      session.close();
      throw failure;
    }
    return { files: items.filter((e) => e.kind === 0).length, bytes: total };
  } finally {
    t.free();
  }
}

// A stream of the entries of the archive on the session's stdout (see download()).
function entryStream(t, session, onProgress) {
  const stderr = stderrText(session.stderr);
  let out = null;
  let body = null; // the current file's body: { ctrl, cancelled }
  let failed = false;
  let pending = null; // an error waiting for the queued entries to be read
  let bytes = 0;
  const fail = (e) => {
    if (failed) return;
    failed = true;
    if (body !== null) {
      try {
        body.ctrl.error(e);
      } catch (_) {
        // the consumer cancelled it
      }
    }
    session.close();
    // Entries already queued stay readable: the stream errors once the reader took them
    // (erroring it now would drop them).
    if (out.desiredSize > 0) out.error(e);
    else pending = e;
  };
  const emit = (e) => {
    let ctrl = null;
    const cur = { ctrl: null, cancelled: false, path: e.path };
    e.body = new ReadableStream(
      {
        start: (c) => {
          ctrl = c;
        },
        cancel: () => {
          cur.cancelled = true;
        },
      },
      { highWaterMark: 0 },
    );
    cur.ctrl = ctrl;
    if (e.type === "file" && e.size > 0) body = cur;
    else ctrl.close();
    out.enqueue(e);
  };
  const pump = async () => {
    const reader = session.stdout.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let v = value;
      while (v.byteLength > 0 && !failed) {
        const want = t.want();
        if (want > 0) {
          const n = Math.min(want, v.byteLength);
          if (!body.cancelled) body.ctrl.enqueue(n === v.byteLength ? v : v.subarray(0, n));
          t.advance(n);
          v = v.subarray(n);
          bytes += n;
          if (onProgress) onProgress({ bytes, path: body.path });
          if (n === want) {
            if (!body.cancelled) body.ctrl.close();
            body = null;
          }
        } else if (want < 0) {
          const n = Math.min(-want, v.byteLength);
          t.advance(n);
          v = v.subarray(n);
        } else {
          const need = t.need();
          if (need === 0) break; // after the end marker: ignored
          v = v.subarray(t.feed(v.subarray(0, Math.min(need, v.byteLength))));
          for (let e; (e = t.nextEntry()) !== undefined; ) emit(e);
        }
      }
      if (failed) return;
    }
    // stdout ends with the session: its status says how tar ended.
    const status = await session.exit;
    if (!status.success) throw t.classify(status, await stderr);
    t.finish();
    out.close();
  };
  return new ReadableStream(
    {
      start: (c) => {
        out = c;
        pump()
          .catch(fail)
          .finally(() => t.free());
      },
      pull: () => {
        if (pending !== null) out.error(pending);
      },
      cancel: () => {
        failed = true;
        session.close();
      },
    },
    { highWaterMark: 1 },
  );
}

export async function download(t, target, path, options) {
  let session;
  let onProgress;
  try {
    const o = checkOptions(t, options);
    onProgress = o.onProgress;
    session = await t.exec(execBag(t, target, t.downloadCommand(path), false, o.signal));
  } catch (e) {
    t.free();
    throw e;
  }
  return entryStream(t, session, onProgress);
}

// Reads every entry, with its body chunks (views).
async function collect(t, entries) {
  if (!(entries instanceof ReadableStream)) throw t.error("InvalidOptions", "expected the stream that download() resolved with");
  const all = [];
  const reader = entries.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return all;
    const chunks = [];
    const br = value.body.getReader();
    for (;;) {
      const r = await br.read();
      if (r.done) break;
      chunks.push(r.value);
    }
    all.push({ entry: value, chunks });
  }
}

export async function toFile(t, entries) {
  try {
    const all = await collect(t, entries);
    const files = all.filter((x) => x.entry.type === "file");
    if (all.length !== 1 || files.length !== 1) {
      throw t.error("InvalidOptions", `toFile needs a download of exactly one file; it held ${all.length} entries`);
    }
    const { entry, chunks } = files[0];
    const name = entry.path.slice(entry.path.lastIndexOf("/") + 1);
    return new File(chunks, name, { lastModified: entry.mtime * 1000 });
  } finally {
    t.free();
  }
}

export async function toTar(t, entries) {
  try {
    const all = await collect(t, entries);
    const kinds = { file: 0, directory: 1, symlink: 2, link: 3 };
    const es = all.map((x) => x.entry);
    t.plan(
      es.map((e) => e.path),
      new Uint8Array(es.map((e) => kinds[e.type])),
      new Float64Array(es.map((e) => e.size)),
      new Uint32Array(es.map((e) => e.mode)),
      new Float64Array(es.map((e) => e.mtime)),
      es.map((e) => e.linkTarget ?? ""),
    );
    const parts = [];
    all.forEach((x, i) => {
      parts.push(t.head(i));
      for (const c of x.chunks) parts.push(c);
    });
    parts.push(t.tail());
    return new Blob(parts, { type: "application/x-tar" });
  } finally {
    t.free();
  }
}
