// xterm-adapter.ts — connects an xterm.js Terminal to a kube-exec-wasm ExecSession.
//
// Self-contained on purpose: it imports only xterm's *types*, and describes the session by the few
// members it uses (`SessionLike`), so another console can copy this one file or import it as is.
//
//   terminal → session   keystrokes (term.onData / term.onBinary) → session.stdin, bytes in order
//   session → terminal   session.stdout / session.stderr → term.write(Uint8Array), unchanged bytes
//                        (xterm decodes UTF-8 itself, across chunk boundaries), with flow control:
//                        reading stops while more than `highWatermark` bytes wait in xterm's write
//                        queue and resumes below `lowWatermark` (xterm's write callback tells);
//                        meanwhile output waits in the session's stream. (xterm itself discards
//                        writes once ~50 MB wait unparsed.)
//   size                 term.onResize → session.resize(cols, rows); the current size is sent once
//                        at start (queued by the SDK if the socket is not open yet).
//   no tty (lineMode)    a local line discipline like a cooked terminal under `kubectl exec -i`:
//                        typed characters echo locally, Backspace edits, Enter sends the line with
//                        "\n", Ctrl-D sends what is typed or, on an empty line, ends stdin.
//
// attachTerminal() returns a handle; dispose() stops it (listeners removed, stream locks released)
// without ending the session: the owner calls session.close() when it wants that.

import type { IDisposable, Terminal } from '@xterm/xterm';

/** The members of kube-exec-wasm's `ExecSession` this adapter uses. */
export interface SessionLike {
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly stdin: WritableStream<Uint8Array | string>;
  resize(cols: number, rows: number): void;
  closeStdin(): Promise<void>;
}

export interface AdapterOptions {
  /** Stop reading output while more than this many bytes wait in xterm's queue. Default 256 KiB. */
  highWatermark?: number;
  /** Resume reading once fewer than this many bytes wait. Default 32 KiB. */
  lowWatermark?: number;
  /**
   * Local line editing and echo, for sessions without a TTY (nothing on the other side echoes or
   * edits). Also turns on xterm's `convertEol` so "\n" from the process starts a new line.
   * Default false (a TTY session: every keystroke goes straight to the process).
   */
  lineMode?: boolean;
  /** Send term.cols/term.rows once at start. Default true. */
  sendInitialSize?: boolean;
  /** Stdin or resize failed (e.g. the session ended while typing). Default: ignored. */
  onInputError?: (err: unknown) => void;
}

export interface AdapterStats {
  /** Output bytes handed to xterm (stdout + stderr). */
  bytesOut: number;
  /** Input bytes sent to stdin (UTF-8). */
  bytesIn: number;
  /** How often reading paused because xterm's queue was over the high watermark. */
  pauses: number;
}

export interface AdapterHandle {
  /** Resolves when stdout and stderr have ended and xterm has parsed every byte of them. */
  readonly drained: Promise<void>;
  readonly stats: Readonly<AdapterStats>;
  /** Removes listeners and releases the streams; does not close the session. Idempotent. */
  dispose(): void;
}

const encoder = new TextEncoder();

export function attachTerminal(
  term: Terminal,
  session: SessionLike,
  options: AdapterOptions = {},
): AdapterHandle {
  const high = options.highWatermark ?? 256 * 1024;
  const low = Math.min(options.lowWatermark ?? 32 * 1024, high);
  const onInputError = options.onInputError ?? (() => {});
  const stats: AdapterStats = { bytesOut: 0, bytesIn: 0, pauses: 0 };
  const disposables: IDisposable[] = [];
  let disposed = false;

  // ---- output: streams → xterm, with write-callback flow control ------------------------------
  let pending = 0; // bytes given to term.write whose callback has not fired yet
  let resume: (() => void) | null = null;
  let idle: (() => void) | null = null; // fires when pending reaches 0 (for `drained`)

  const written = (n: number) => {
    pending -= n;
    if (resume && pending <= low) {
      const r = resume;
      resume = null;
      r();
    }
    if (idle && pending === 0) {
      const i = idle;
      idle = null;
      i();
    }
  };

  const readers: ReadableStreamDefaultReader<Uint8Array>[] = [];
  const pump = async (stream: ReadableStream<Uint8Array>): Promise<void> => {
    const reader = stream.getReader();
    readers.push(reader);
    try {
      for (;;) {
        if (pending > high) {
          stats.pauses++;
          await new Promise<void>((r) => (resume = r));
        }
        if (disposed) return;
        const { value, done } = await reader.read();
        if (done || disposed) return;
        if (value.byteLength === 0) continue;
        const n = value.byteLength;
        pending += n;
        stats.bytesOut += n;
        term.write(value, () => written(n));
      }
    } catch {
      // The stream errored (the session failed or was closed): the owner reports it from `exit`.
    } finally {
      try {
        reader.releaseLock();
      } catch {
        /* already released */
      }
    }
  };

  const drained = Promise.all([pump(session.stdout), pump(session.stderr)]).then(
    () =>
      new Promise<void>((r) => {
        if (pending === 0 || disposed) r();
        else idle = r;
      }),
  );

  // ---- input: xterm → stdin --------------------------------------------------------------------
  const writer = session.stdin.getWriter();
  const send = (data: Uint8Array) => {
    if (disposed || data.byteLength === 0) return;
    stats.bytesIn += data.byteLength;
    // The writer queues in order; no need to await each write.
    writer.write(data).catch(onInputError);
  };

  if (options.lineMode) {
    term.options.convertEol = true;
    let line = '';
    const onKey = (data: string) => {
      for (const ch of data) {
        if (ch === '\r' || ch === '\n') {
          term.write('\r\n');
          send(encoder.encode(line + '\n'));
          line = '';
        } else if (ch === '\x7f' || ch === '\b') {
          if (line.length > 0) {
            const chars = Array.from(line);
            chars.pop();
            line = chars.join('');
            term.write('\b \b');
          }
        } else if (ch === '\x04') {
          // Ctrl-D: like a cooked terminal, send what is typed; on an empty line, end of input.
          if (line.length > 0) {
            send(encoder.encode(line));
            line = '';
          } else {
            session.closeStdin().catch(onInputError);
          }
        } else if (ch === '\x03') {
          term.write('^C\r\n');
          line = '';
        } else if (ch === '\x15') {
          // Ctrl-U: erase the line.
          term.write('\b \b'.repeat(Array.from(line).length));
          line = '';
        } else if (ch === '\x1b' || ch < ' ') {
          // Escape sequences (arrows…) and other control keys have no meaning in line mode.
          if (ch === '\x1b') return; // drop the rest of this sequence
        } else {
          line += ch;
          term.write(ch);
        }
      }
    };
    disposables.push(term.onData(onKey));
  } else {
    disposables.push(term.onData((data) => send(encoder.encode(data))));
    // onBinary carries byte strings (one char per byte, e.g. some mouse reports): no UTF-8 encoding.
    disposables.push(
      term.onBinary((data) => {
        const bytes = new Uint8Array(data.length);
        for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 0xff;
        send(bytes);
      }),
    );
  }

  // ---- size --------------------------------------------------------------------------------------
  const resize = (cols: number, rows: number) => {
    if (disposed || cols < 1 || rows < 1) return;
    try {
      session.resize(cols, rows);
    } catch (err) {
      onInputError(err);
    }
  };
  disposables.push(term.onResize(({ cols, rows }) => resize(cols, rows)));
  if (options.sendInitialSize ?? true) resize(term.cols, term.rows);

  return {
    drained,
    stats,
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const d of disposables) d.dispose();
      disposables.length = 0;
      for (const r of readers) {
        try {
          r.releaseLock(); // a pending read() rejects, its pump ends
        } catch {
          /* already released */
        }
      }
      try {
        writer.releaseLock();
      } catch {
        /* already released */
      }
      if (resume) {
        const r = resume;
        resume = null;
        r();
      }
      if (idle) {
        const i = idle;
        idle = null;
        i();
      }
    },
  };
}
