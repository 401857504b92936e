// File transfer in a terminal tab: drop files on the terminal to upload them into a directory
// the user confirms; "Download…" saves a file (as itself) or a directory (as a .zip). One
// transfer at a time per tab, shown in a bar with bytes, rate and a Cancel button.

import { download, toFile, upload, type TransferTarget } from 'kube-exec-wasm';
import { toZip } from 'kube-exec-wasm/zip';

export interface TransferHost {
  /** Where the tab's sessions go (server, namespace, pod, container, token). */
  target(): Promise<TransferTarget>;
  /** Tell the user how it went. */
  notice(text: string, kind: 'info' | 'error'): void;
  /** Turn an SDK error into words. */
  explain(err: unknown): string;
}

/** What the console hook reports about a tab's transfer (for tests). */
export interface TransferState {
  kind: 'upload' | 'download' | null;
  bytes: number;
  total: number | null;
  last: string;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatRate(bytes: number, ms: number): string {
  return ms <= 0 ? '' : `${(bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s`;
}

/** Saves a Blob as a file through a temporary link. */
function save(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export class TransferBar {
  readonly el = document.createElement('div');
  private readonly text = document.createElement('span');
  private readonly bar = document.createElement('progress');
  private readonly cancel = document.createElement('button');
  private abort: AbortController | null = null;
  state: TransferState = { kind: null, bytes: 0, total: null, last: '' };

  constructor(private readonly host: TransferHost) {
    this.el.className = 'transfer';
    this.el.hidden = true;
    this.text.className = 'what';
    this.cancel.type = 'button';
    this.cancel.textContent = 'Cancel';
    this.cancel.addEventListener('click', () => this.abort?.abort());
    this.el.append(this.text, this.bar, this.cancel);
  }

  /** Cancels a running transfer (the tab is closing). */
  stop() {
    this.abort?.abort();
  }

  get busy(): boolean {
    return this.abort !== null;
  }

  /** Shows `bytes` (of `total`) moved since `started`. */
  private show(what: string, bytes: number, total: number | null, started: number) {
    this.state = { ...this.state, bytes, total };
    const rate = formatRate(bytes, performance.now() - started);
    this.text.textContent = `${what}: ${formatBytes(bytes)}${total !== null ? ` of ${formatBytes(total)}` : ''}${rate ? ` · ${rate}` : ''}`;
    if (total !== null && total > 0) {
      this.bar.max = total;
      this.bar.value = bytes;
    } else if (total === 0) {
      this.bar.max = 1;
      this.bar.value = 1;
    } else {
      this.bar.removeAttribute('value'); // indeterminate: a download's size is not known ahead
    }
  }

  private async run(kind: 'upload' | 'download', what: string, total: number | null, job: (signal: AbortSignal, progress: (bytes: number) => void) => Promise<string>) {
    if (this.busy) {
      this.host.notice('A transfer is already running in this tab: wait for it or cancel it.', 'error');
      return;
    }
    const abort = new AbortController();
    this.abort = abort;
    this.state = { kind, bytes: 0, total, last: '' };
    const started = performance.now();
    this.el.hidden = false;
    this.show(what, 0, total, started);
    let last = 0;
    const progress = (bytes: number) => {
      const now = performance.now();
      if (now - last < 100 && bytes !== total) return; // at most 10 repaints a second
      last = now;
      this.show(what, bytes, total, started);
    };
    try {
      const done = await job(abort.signal, progress);
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      this.state.last = `${done} in ${secs} s`;
      this.host.notice(this.state.last, 'info');
    } catch (err) {
      const code = (err as { code?: unknown })?.code;
      this.state.last = code === 'Aborted' ? `${what}: cancelled` : `${what} failed: ${this.host.explain(err)}`;
      this.host.notice(this.state.last, code === 'Aborted' ? 'info' : 'error');
    } finally {
      this.abort = null;
      this.state.kind = null;
      this.el.hidden = true;
    }
  }

  /** Uploads dropped files into a directory the user confirms (default: the working directory). */
  async uploadFiles(files: File[]) {
    if (files.length === 0) return;
    const names = files.length === 1 ? `"${files[0].name}"` : `${files.length} files`;
    const dir = window.prompt(`Upload ${names} into this directory in the container (. = its working directory):`, '.');
    if (dir === null || dir.trim() === '') return;
    const destDir = dir.trim() === '.' ? '' : dir.trim();
    const total = files.reduce((n, f) => n + f.size, 0);
    const where = destDir || 'the working directory';
    await this.run('upload', `Uploading ${names} to ${where}`, total, async (signal, progress) => {
      const res = await upload(await this.host.target(), files, { destDir, signal, onProgress: (p) => progress(p.bytes) });
      return `Uploaded ${res.files} file${res.files === 1 ? '' : 's'} (${formatBytes(res.bytes)}) to ${where}`;
    });
  }

  /** Asks for a path and saves it: a file as itself, a directory as a .zip. */
  async downloadPath() {
    const path = window.prompt('Download which file or directory from the container?', '');
    if (path === null || path.trim() === '') return;
    const p = path.trim();
    const name = p.replace(/\/+$/, '').split('/').pop() || 'download';
    await this.run('download', `Downloading ${p}`, null, async (signal, progress) => {
      const target = await this.host.target();
      // The first entry says what it is: a single file is saved as itself, anything else as a zip.
      const entries = await download(target, p, { signal, onProgress: (q) => progress(q.bytes) });
      const [peek, rest] = entries.tee();
      const reader = peek.getReader();
      const first = await reader.read();
      const single = !first.done && first.value.type === 'file';
      reader.cancel().catch(() => {});
      if (single) {
        const file = await toFile(rest);
        save(file, file.name);
        return `Saved ${file.name} (${formatBytes(file.size)})`;
      }
      const zip = await toZip(rest);
      save(zip, `${name}.zip`);
      return `Saved ${name}.zip (${formatBytes(zip.size)})`;
    });
  }
}
