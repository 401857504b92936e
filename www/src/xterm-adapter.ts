// xterm-adapter.ts — the xterm.js addon of kube-exec-wasm, shipped in the package as
// `kube-exec-wasm/xterm` (scripts/build-pkg.sh compiles this file into pkg/xterm.js and
// pkg/xterm.d.ts). It imports only xterm's *types* (`@xterm/xterm` is a peer dependency,
// never bundled), and describes the session by the few members it uses (`SessionLike`), so a
// test can drive it with plain streams.
//
//   term.loadAddon(new ExecAddon(session, options))
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
// `addon.dispose()` — and `term.dispose()`, which disposes its addons — removes the listeners and
// releases the stream locks without ending the session: the owner calls session.close() for that.

import type { IDisposable, ITerminalAddon, Terminal } from '@xterm/xterm';

/** The members of kube-exec-wasm's `ExecSession` the addon uses. */
export interface SessionLike {
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly stdin: WritableStream<Uint8Array | string>;
  resize(cols: number, rows: number): void;
  closeStdin(): Promise<void>;
}

/** Options of {@link ExecAddon}. */
export interface ExecAddonOptions {
  /** Stop reading output while more than this many bytes wait in xterm's queue. Default 256 KiB. */
  highWatermark?: number;
  /** Resume reading once fewer than this many bytes wait. Default 32 KiB. */
  lowWatermark?: number;
  /**
   * Local line editing and echo, for sessions without a TTY (nothing on the other side echoes or
   * edits). Also turns on xterm's `convertEol` so "\n" from the process starts a new line (and
   * restores the previous value on dispose). Default false (a TTY session: every keystroke goes
   * straight to the process).
   */
  lineMode?: boolean;
  /** Send term.cols/term.rows once at start. Default true. */
  sendInitialSize?: boolean;
  /** Stdin or resize failed (e.g. the session ended while typing). Default: ignored. */
  onInputError?: (err: unknown) => void;
}

/** What the addon has moved so far. */
export interface ExecAddonStats {
  /** Output bytes handed to xterm (stdout + stderr). */
  bytesOut: number;
  /** Input bytes sent to stdin (UTF-8). */
  bytesIn: number;
  /** How often reading paused because xterm's queue was over the high watermark. */
  pauses: number;
}

const encoder = new TextEncoder();

/**
 * Connects an xterm.js `Terminal` to a kube-exec-wasm session, as an xterm addon:
 * `term.loadAddon(new ExecAddon(session))`. Keys go to stdin, output to the terminal (with flow
 * control), and size changes to `session.resize`.
 */
export class ExecAddon implements ITerminalAddon {
  /** Counters, updated as bytes move. */
  readonly stats: Readonly<ExecAddonStats>;
  /**
   * Resolves when stdout and stderr have ended and xterm has parsed every byte of them (or the
   * addon was disposed).
   */
  readonly drained: Promise<void>;

  private readonly session: SessionLike;
  private readonly options: ExecAddonOptions;
  private readonly counters: ExecAddonStats = { bytesOut: 0, bytesIn: 0, pauses: 0 };
  private readonly disposables: IDisposable[] = [];
  private readonly readers: ReadableStreamDefaultReader<Uint8Array>[] = [];
  private writer: WritableStreamDefaultWriter<Uint8Array | string> | null = null;
  private term: Terminal | null = null;
  private disposed = false;
  private restoreEol: (() => void) | null = null;
  /** Bytes given to term.write whose callback has not fired yet. */
  private pending = 0;
  private high = 0;
  private low = 0;
  private resume: (() => void) | null = null;
  /** Fires when `pending` reaches 0 (for `drained`). */
  private idle: (() => void) | null = null;
  private settleDrained: () => void = () => {};

  constructor(session: SessionLike, options: ExecAddonOptions = {}) {
    this.session = session;
    this.options = options;
    this.stats = this.counters;
    this.drained = new Promise<void>((resolve) => (this.settleDrained = resolve));
  }

  /** Called by `term.loadAddon(this)`. */
  activate(term: Terminal): void {
    if (this.term || this.disposed) return;
    this.term = term;
    this.high = this.options.highWatermark ?? 256 * 1024;
    this.low = Math.min(this.options.lowWatermark ?? 32 * 1024, this.high);
    Promise.all([this.pump(this.session.stdout), this.pump(this.session.stderr)])
      .then(
        () =>
          new Promise<void>((r) => {
            if (this.pending === 0 || this.disposed) r();
            else this.idle = r;
          }),
      )
      .then(this.settleDrained);
    this.listenInput(term);
    this.disposables.push(term.onResize(({ cols, rows }) => this.resize(cols, rows)));
    if (this.options.sendInitialSize ?? true) this.resize(term.cols, term.rows);
  }

  /** Removes listeners and releases the streams; does not close the session. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.disposables) d.dispose();
    this.disposables.length = 0;
    for (const r of this.readers) {
      try {
        r.releaseLock(); // a pending read() rejects, its pump ends
      } catch {
        /* already released */
      }
    }
    try {
      this.writer?.releaseLock();
    } catch {
      /* already released */
    }
    this.restoreEol?.();
    this.restoreEol = null;
    this.wake('resume');
    this.wake('idle');
    if (!this.term) this.settleDrained();
  }

  private wake(which: 'resume' | 'idle') {
    const f = this[which];
    this[which] = null;
    f?.();
  }

  // ---- output: streams → xterm, with write-callback flow control -----------------------------
  private written(n: number) {
    this.pending -= n;
    if (this.resume && this.pending <= this.low) this.wake('resume');
    if (this.idle && this.pending === 0) this.wake('idle');
  }

  private async pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const term = this.term!;
    const reader = stream.getReader();
    this.readers.push(reader);
    try {
      for (;;) {
        if (this.pending > this.high) {
          this.counters.pauses++;
          await new Promise<void>((r) => (this.resume = r));
        }
        if (this.disposed) return;
        const { value, done } = await reader.read();
        if (done || this.disposed) return;
        if (value.byteLength === 0) continue;
        const n = value.byteLength;
        this.pending += n;
        this.counters.bytesOut += n;
        term.write(value, () => this.written(n));
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
  }

  // ---- input: xterm → stdin ----------------------------------------------------------------------
  private send(data: Uint8Array) {
    if (this.disposed || data.byteLength === 0 || !this.writer) return;
    this.counters.bytesIn += data.byteLength;
    // The writer queues in order; no need to await each write.
    this.writer.write(data).catch(this.options.onInputError ?? (() => {}));
  }

  private listenInput(term: Terminal) {
    const onInputError = this.options.onInputError ?? (() => {});
    this.writer = this.session.stdin.getWriter();
    if (!this.options.lineMode) {
      this.disposables.push(term.onData((data) => this.send(encoder.encode(data))));
      // onBinary carries byte strings (one char per byte, e.g. some mouse reports): no UTF-8 encoding.
      this.disposables.push(
        term.onBinary((data) => {
          const bytes = new Uint8Array(data.length);
          for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 0xff;
          this.send(bytes);
        }),
      );
      return;
    }
    const before = term.options.convertEol;
    term.options.convertEol = true;
    this.restoreEol = () => {
      term.options.convertEol = before;
    };
    let line = '';
    const onKey = (data: string) => {
      for (const ch of data) {
        if (ch === '\r' || ch === '\n') {
          term.write('\r\n');
          this.send(encoder.encode(line + '\n'));
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
            this.send(encoder.encode(line));
            line = '';
          } else {
            this.session.closeStdin().catch(onInputError);
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
    this.disposables.push(term.onData(onKey));
  }

  // ---- size ----------------------------------------------------------------------------------------
  private resize(cols: number, rows: number) {
    if (this.disposed || cols < 1 || rows < 1) return;
    try {
      this.session.resize(cols, rows);
    } catch (err) {
      (this.options.onInputError ?? (() => {}))(err);
    }
  }
}
