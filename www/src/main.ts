// The console: a connect form, one tab per session, each tab an xterm.js terminal wired to a
// kube-exec-wasm session. Every piece around the session comes from the package, as an outside
// console would use it: the xterm addon (`kube-exec-wasm/xterm`), `openShell` (bash, else sh),
// `getPod` (the container picker and the default container), `record` (Download recording, and
// Replay with asciinema-player).

import '@xterm/xterm/css/xterm.css';
import './style.css';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import init, { attach, exec, getPod, openShell, record } from 'kube-exec-wasm';
import type { ExecSession, PodInfo, Recording } from 'kube-exec-wasm';
import { ExecAddon, type ExecAddonStats } from 'kube-exec-wasm/xterm';
import { CommandSyntaxError, joinCommand, splitCommand } from './command';
import { containerChoices } from './containers';
import { castFileName, playCast } from './player';
import { describeError, describeExit, type Explained, type Target } from './messages';
import { deepLink, parseDeepLink, urlWithoutToken, DEFAULTS, type Settings } from './settings';
import { TransferBar, type TransferState } from './transfer';

const $ = <T extends HTMLElement>(sel: string) => document.querySelector(sel) as T;
const form = $<HTMLFormElement>('#connect');
const field = <T extends HTMLInputElement | HTMLSelectElement = HTMLInputElement>(name: string) =>
  form.elements.namedItem(name) as T;
const tabsEl = $<HTMLElement>('#tabs');
const panesEl = $<HTMLElement>('#panes');
const emptyEl = $<HTMLElement>('#empty');
const noticeEl = $<HTMLElement>('#notice');

const wasmReady = init();
wasmReady.catch((err: unknown) =>
  notice(`The terminal's WebAssembly module did not load: ${err instanceof Error ? err.message : String(err)}`, 'error'),
);

// ---- notices ---------------------------------------------------------------------------------
function notice(text: string, kind: 'info' | 'error' = 'info') {
  noticeEl.textContent = text;
  noticeEl.className = kind === 'error' ? 'error' : '';
  noticeEl.hidden = text === '';
}

// ---- the form --------------------------------------------------------------------------------
function readForm(): Settings {
  return {
    namespace: field('namespace').value.trim() || DEFAULTS.namespace,
    pod: field('pod').value.trim(),
    container: field<HTMLSelectElement>('container').value,
    command: field('command').value.trim(),
    tty: field('tty').checked,
    mode: field<HTMLSelectElement>('mode').value === 'attach' ? 'attach' : 'exec',
  };
}

function fillForm(s: Settings) {
  field('namespace').value = s.namespace;
  field('pod').value = s.pod;
  fillContainers(null, s.container);
  field('command').value = s.command;
  field('tty').checked = s.tty;
  field<HTMLSelectElement>('mode').value = s.mode;
  syncMode();
}

function syncMode() {
  const attachMode = field<HTMLSelectElement>('mode').value === 'attach';
  field('command').disabled = attachMode;
  field('command').title = attachMode ? 'attach joins the container’s main process: no command' : '';
}

const clusterRow = $<HTMLElement>('#cluster');
const clusterBtn = $<HTMLButtonElement>('#toggle-cluster');
function showCluster(show: boolean) {
  clusterRow.hidden = !show;
  clusterBtn.setAttribute('aria-expanded', String(show));
  for (const t of tabs) t.fitSoon();
}
clusterBtn.addEventListener('click', () => showCluster(clusterRow.hidden));
field<HTMLSelectElement>('mode').addEventListener('change', syncMode);

/**
 * The bearer token: typed in, or on the local devserver's origin fetched from it. `local` is
 * false when neither applies and the page's own origin gets no token (e.g. behind kubectl proxy,
 * which adds its own credentials).
 */
async function resolveToken(server: string, typed: string): Promise<{ token?: string; local: boolean }> {
  if (typed) return { token: typed, local: false };
  // Another origin: only a typed token is ever sent there.
  if (server && new URL(server).origin !== location.origin) return { local: false };
  try {
    const res = await fetch('.devserver/token', { cache: 'no-store', credentials: 'same-origin' });
    const type = res.headers.get('content-type') ?? '';
    if (!res.ok || !type.startsWith('text/plain')) return { local: false };
    const token = (await res.text()).trim();
    return { token: token || undefined, local: token !== '' };
  } catch {
    return { local: false };
  }
}

/**
 * The pod, read with getPod() (same server and credentials as the session), or null when it
 * cannot be read (RBAC, CORS, timeout): the console then lets the API server decide.
 */
async function loadPod(server: string, namespace: string, pod: string, token: string | undefined): Promise<PodInfo | null> {
  try {
    return await getPod({ server: server || undefined, namespace, pod, token, signal: AbortSignal.timeout(3000) });
  } catch {
    return null;
  }
}

// ---- the container picker: filled from getPod() when the pod is known --------------------------
const containerSelect = field<HTMLSelectElement>('container');

/** Fills the picker from `pod` (or leaves only `keep`), keeping `keep` selected. */
function fillContainers(pod: PodInfo | null, keep: string) {
  const choices = containerChoices(pod, keep);
  containerSelect.replaceChildren(
    ...choices.map((c) => {
      const o = document.createElement('option');
      o.value = c.value;
      o.textContent = c.label;
      if (c.state) o.dataset.state = c.state;
      if (c.notRunning) o.className = 'not-running';
      return o;
    }),
  );
  containerSelect.value = keep;
}

let podLookup = 0;
/** Reads the pod named in the form and fills the picker; quietly does nothing if it cannot. */
async function refreshContainers() {
  const id = ++podLookup;
  const namespace = field('namespace').value.trim() || DEFAULTS.namespace;
  const pod = field('pod').value.trim();
  const keep = containerSelect.value;
  if (!pod) return fillContainers(null, keep);
  const server = field('server').value.trim().replace(/\/+$/, '');
  await wasmReady;
  const { token } = await resolveToken(server, field('token').value.trim());
  const info = await loadPod(server, namespace, pod, token);
  if (id === podLookup) fillContainers(info, keep);
}
for (const name of ['pod', 'namespace', 'server', 'token']) field(name).addEventListener('change', () => void refreshContainers());

// ---- tabs --------------------------------------------------------------------------------------
type State = 'connecting' | 'open' | 'exited' | 'failed' | 'closed';

let nextId = 1;
const tabs: Tab[] = [];
let active: Tab | null = null;

class Tab {
  readonly id = nextId++;
  readonly tabEl = document.createElement('div');
  readonly paneEl = document.createElement('div');
  readonly termEl = document.createElement('div');
  readonly statusEl = document.createElement('div');
  readonly term: Terminal;
  readonly fit = new FitAddon();
  state: State = 'connecting';
  exitCode: number | null = null;
  errorCode: string | null = null;
  protocol = '';
  /** Output/input counters of the current or last session. */
  stats: Readonly<ExecAddonStats> = { bytesOut: 0, bytesIn: 0, pauses: 0 };
  /** The shell openShell() started ('' for a command, attach, or before it is known). */
  shell = '';
  /** The recording of the current or last session (record()). */
  recording: Recording | null = null;
  private session: ExecSession | null = null;
  private adapter: ExecAddon | null = null;
  private abort: AbortController | null = null;
  private generation = 0;
  private resizeObserver: ResizeObserver;
  private titleEl = document.createElement('span');
  /** The container in use: the chosen one, or the pod's default (see loadPod). */
  private container: string;
  private defaulted = '';
  private sameOriginNoToken = false;
  private fitQueued = false;
  /** Uploads dropped on the terminal and "Download…", with their progress bar. */
  readonly transfer = new TransferBar({
    target: async () => {
      const { token } = await resolveToken(this.server, this.typedToken);
      return {
        server: this.server || undefined,
        namespace: this.settings.namespace,
        pod: this.settings.pod,
        container: this.container || undefined,
        token,
      };
    },
    notice,
    explain: (err) => {
      const m = describeError(err, this.target());
      return [m.title, m.detail, m.hint].filter(Boolean).join(' ');
    },
  });

  constructor(
    readonly settings: Settings,
    readonly argv: string[],
    readonly server: string,
    /** The token typed in when the tab was opened (kept for Reconnect, sent only to `server`). */
    private readonly typedToken: string,
  ) {
    this.container = settings.container;
    const name = this.name();
    const what = this.what();
    this.tabEl.className = 'tab';
    this.tabEl.setAttribute('role', 'tab');
    this.tabEl.tabIndex = 0;
    this.tabEl.dataset.id = String(this.id);
    this.tabEl.title = `${settings.namespace}/${name}: ${what}${server ? ` on ${server}` : ''}`;
    const dot = document.createElement('span');
    dot.className = 'dot';
    const title = this.titleEl;
    title.className = 'title';
    title.textContent = `${name}: ${what}`;
    const close = document.createElement('button');
    close.className = 'close';
    close.type = 'button';
    close.title = 'Close this tab and end its session';
    close.setAttribute('aria-label', `Close ${name}`);
    close.textContent = '×';
    close.addEventListener('click', (e) => {
      e.stopPropagation();
      closeTab(this);
    });
    this.tabEl.append(dot, title, close);
    this.tabEl.addEventListener('click', () => activate(this));
    this.tabEl.addEventListener('auxclick', (e) => {
      if (e.button === 1) closeTab(this);
    });
    this.tabEl.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') activate(this);
    });

    this.paneEl.className = 'pane';
    this.paneEl.setAttribute('role', 'tabpanel');
    this.paneEl.dataset.id = String(this.id);
    this.termEl.className = 'term';
    this.statusEl.className = 'status';
    this.paneEl.append(this.termEl, this.transfer.el, this.statusEl);
    // Files dropped on the terminal are uploaded into a directory the user confirms.
    this.termEl.addEventListener('dragover', (e) => {
      if (!e.dataTransfer?.types.includes('Files')) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
      this.termEl.classList.add('dropping');
    });
    this.termEl.addEventListener('dragleave', () => this.termEl.classList.remove('dropping'));
    this.termEl.addEventListener('drop', (e) => {
      this.termEl.classList.remove('dropping');
      const files = [...(e.dataTransfer?.files ?? [])];
      if (files.length === 0) return;
      e.preventDefault();
      void this.transfer.uploadFiles(files);
    });

    this.term = new Terminal({
      cursorBlink: true,
      fontFamily: "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace",
      fontSize: 14,
      scrollback: 5000,
      theme: { background: '#000000' },
    });
    this.term.loadAddon(this.fit);
    this.resizeObserver = new ResizeObserver(() => this.fitSoon());
  }

  private name(): string {
    return `${this.settings.pod}${this.container ? '/' + this.container : ''}`;
  }

  /** The container the session runs in ('' = the pod's only one). */
  containerInUse(): string {
    return this.container;
  }

  /** What runs in the tab: attach, the command, or the shell (once known). */
  private what(): string {
    if (this.settings.mode === 'attach') return 'attach';
    if (this.argv.length > 0) return joinCommand(this.argv);
    return this.shell || 'shell';
  }

  /** Called once the pane is in the document and visible. */
  mount() {
    this.term.open(this.termEl);
    this.fitNow();
    this.resizeObserver.observe(this.termEl);
  }

  fitNow() {
    if (this.paneEl.hidden || !this.termEl.isConnected) return;
    try {
      this.fit.fit(); // term.resize → onResize → the adapter sends session.resize
    } catch {
      /* not measurable yet */
    }
  }

  fitSoon() {
    if (this.fitQueued) return;
    this.fitQueued = true;
    requestAnimationFrame(() => {
      this.fitQueued = false;
      this.fitNow();
    });
  }

  private setState(state: State, message: Explained, tone: string) {
    this.state = state;
    this.tabEl.dataset.state = state;
    this.statusEl.dataset.state = tone;
    this.statusEl.replaceChildren();
    const text = document.createElement('div');
    text.className = 'text';
    const title = document.createElement('div');
    title.className = 'title';
    title.textContent = message.title;
    if (message.code) {
      const code = document.createElement('span');
      code.className = 'code';
      code.textContent = message.code;
      title.append(code);
    }
    text.append(title);
    for (const k of ['detail', 'hint'] as const) {
      if (!message[k]) continue;
      const el = document.createElement('div');
      el.className = k;
      el.textContent = message[k]!;
      text.append(el);
    }
    const actions = document.createElement('div');
    actions.className = 'actions';
    if (state === 'exited' || state === 'failed') {
      const again = document.createElement('button');
      again.type = 'button';
      again.className = 'reconnect';
      again.textContent = 'Reconnect';
      again.addEventListener('click', () => void this.connect());
      actions.append(again);
    }
    if (this.recording) {
      const rec = this.recording;
      const download = document.createElement('button');
      download.type = 'button';
      download.className = 'download-recording';
      download.textContent = 'Download recording';
      download.title = 'This session so far, as an asciicast v2 file (asciinema)';
      download.addEventListener('click', () => {
        const a = document.createElement('a');
        a.href = URL.createObjectURL(rec.blob());
        a.download = castFileName(this.settings, rec.header.timestamp);
        a.click();
        setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
      });
      const replay = document.createElement('button');
      replay.type = 'button';
      replay.className = 'replay';
      replay.textContent = 'Replay';
      replay.title = 'Play this session back (asciinema-player)';
      replay.addEventListener('click', () => void playCast(rec.text(), this.tabEl.title));
      actions.append(download, replay);
    }
    const fetchBtn = document.createElement('button');
    fetchBtn.type = 'button';
    fetchBtn.className = 'download';
    fetchBtn.textContent = 'Download…';
    fetchBtn.title = 'Save a file (or a directory, as .zip) from the container; drop files on the terminal to upload';
    fetchBtn.addEventListener('click', () => void this.transfer.downloadPath());
    actions.append(fetchBtn);
    const link = document.createElement('button');
    link.type = 'button';
    link.textContent = 'Copy link';
    link.title = 'A link that opens this terminal (without any token)';
    link.addEventListener('click', () => {
      const url = deepLink(location.href, this.settings);
      navigator.clipboard.writeText(url).then(
        () => notice(`Link copied: ${url}`),
        () => notice(`Link: ${url}`),
      );
    });
    actions.append(link);
    this.statusEl.append(text, actions);
  }

  private target(): Target {
    return { ...this.settings, container: this.container, server: this.server };
  }

  async connect(): Promise<void> {
    const gen = ++this.generation;
    this.endSession();
    this.exitCode = null;
    this.errorCode = null;
    this.protocol = '';
    this.shell = '';
    this.recording = null;
    const where = this.server || 'this origin';
    this.term.write('\x1b[?25h');
    this.setState('connecting', { title: `Connecting to ${this.settings.namespace}/${this.settings.pod} on ${where}…` }, 'connecting');
    const abort = new AbortController();
    this.abort = abort;
    try {
      await wasmReady;
      const { token, local } = await resolveToken(this.server, this.typedToken);
      this.sameOriginNoToken = !this.server && !token && !local;
      if (gen !== this.generation) return;
      if (!this.settings.container) {
        // Like kubectl: with several containers and none chosen, the pod's default one.
        const pod = await loadPod(this.server, this.settings.namespace, this.settings.pod, token);
        if (gen !== this.generation) return;
        const several = pod !== null && pod.containers.length > 1 && pod.defaultContainer !== null;
        this.container = several ? pod.defaultContainer! : '';
        this.defaulted = several
          ? `Defaulted container "${pod.defaultContainer}" out of: ${pod.containers.map((c) => c.name).join(', ')} (choose one in Container).`
          : '';
        this.titleEl.textContent = `${this.name()}: ${this.what()}`;
      }
      this.fitNow();
      const s = this.settings;
      const options = {
        server: this.server || undefined,
        namespace: s.namespace,
        pod: s.pod,
        container: this.container || undefined,
        stdin: true,
        stdout: true,
        stderr: !s.tty, // with a TTY the process's stderr arrives on stdout
        tty: s.tty,
        token,
        terminalSize: s.tty ? { cols: this.term.cols, rows: this.term.rows } : undefined,
        signal: abort.signal,
      };
      let session: ExecSession;
      if (s.mode === 'attach') {
        session = await attach(options);
      } else if (this.argv.length === 0) {
        // No command: a shell, bash if the image has it, else sh.
        const opened = await openShell({ ...options, stdin: true });
        session = opened.session;
        this.shell = opened.shell;
        this.titleEl.textContent = `${this.name()}: ${this.what()}`;
      } else {
        session = await exec({ ...options, command: this.argv });
      }
      if (gen !== this.generation) {
        session.close();
        return;
      }
      this.session = session;
      this.protocol = session.protocol;
      this.recording = record(session, { title: this.tabEl.title, env: { TERM: 'xterm-256color', ...(this.shell ? { SHELL: this.shell } : {}) } });
      this.adapter = new ExecAddon(session, {
        lineMode: !s.tty,
        onInputError: () => {
          /* the session ended while typing: `exit` says why */
        },
      });
      this.term.loadAddon(this.adapter);
      this.stats = this.adapter.stats;
      this.setState('open', { title: `Connected · ${session.protocol}`, detail: this.defaulted || undefined }, 'open');
      this.term.focus();
      const status = await session.exit;
      await this.drained();
      if (gen !== this.generation) return;
      this.exitCode = status.exitCode;
      const msg = describeExit(status);
      this.setState('exited', msg, status.success ? 'exited-ok' : 'exited-bad');
      this.term.write(`\r\n\x1b[2m[${msg.title}]\x1b[0m\r\n\x1b[?25l`);
    } catch (err) {
      if (gen !== this.generation) return;
      await this.drained();
      const msg = describeError(err, this.target());
      this.errorCode = msg.code ?? 'Error';
      if (msg.code === 'ConnectFailed' && this.server.startsWith('https:')) {
        msg.hint = `${msg.hint ? msg.hint + ' ' : ''}If ${this.server} uses a certificate this browser does not trust, open ${this.server} once in a new tab and accept it, then reconnect.`;
      }
      if (msg.code === 'ConnectFailed' && this.sameOriginNoToken) {
        msg.hint = `If this console is served by kubectl proxy: it refuses exec and attach unless started with --reject-paths='^$' (read the security warning in the console's README first). ${msg.hint ?? ''}`.trim();
      }
      this.setState('failed', msg, 'failed');
      this.term.write(`\r\n\x1b[31m[${msg.title}]\x1b[0m\r\n\x1b[?25l`);
    } finally {
      if (gen === this.generation) {
        this.adapter?.dispose();
        this.adapter = null;
      }
    }
  }

  /**
   * Output that arrived before the end is shown before the end message: waits until xterm has
   * parsed all of it, however long that takes, as long as it makes progress (a stream that never
   * ends, which would be an SDK bug, is given up after 5 s without any).
   */
  private async drained() {
    const a = this.adapter;
    if (!a) return;
    let done = false;
    void a.drained.then(() => (done = true));
    while (!done) {
      const before = a.stats.bytesOut;
      await Promise.race([a.drained, new Promise((r) => setTimeout(r, 5000))]);
      if (!done && a.stats.bytesOut === before) return;
    }
  }

  private endSession() {
    this.abort?.abort();
    this.abort = null;
    this.adapter?.dispose();
    this.adapter = null;
    if (this.session) {
      try {
        this.session.close();
      } catch {
        /* already ended */
      }
      this.session = null;
    }
  }

  dispose() {
    this.generation++;
    this.transfer.stop();
    this.endSession();
    this.state = 'closed';
    this.resizeObserver.disconnect();
    this.term.dispose();
    this.tabEl.remove();
    this.paneEl.remove();
  }

  /** The terminal's text, for tests and for copying: every line of the buffer, right-trimmed. */
  text(): string {
    const buf = this.term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i)?.translateToString(true) ?? '');
    while (lines.length && lines[lines.length - 1] === '') lines.pop();
    return lines.join('\n');
  }
}

function activate(tab: Tab) {
  active = tab;
  for (const t of tabs) {
    const on = t === tab;
    t.tabEl.setAttribute('aria-selected', String(on));
    t.paneEl.hidden = !on;
  }
  tab.fitNow();
  tab.term.focus();
}

function closeTab(tab: Tab) {
  const i = tabs.indexOf(tab);
  if (i < 0) return;
  tabs.splice(i, 1);
  tab.dispose();
  if (active === tab) {
    active = null;
    const next = tabs[i] ?? tabs[i - 1];
    if (next) activate(next);
  } else {
    active?.term.focus(); // the × button had the focus and is gone
  }
  emptyEl.hidden = tabs.length > 0;
}

function openTab(settings: Settings): Tab | null {
  if (!settings.pod) {
    notice('Enter the name of a pod.', 'error');
    field('pod').focus();
    return null;
  }
  let argv: string[] = [];
  if (settings.mode === 'exec') {
    try {
      argv = splitCommand(settings.command);
    } catch (e) {
      if (!(e instanceof CommandSyntaxError)) throw e;
      notice(`Command: ${e.message}.`, 'error');
      field('command').focus();
      return null;
    }
    if (argv.length === 0) argv = splitCommand(DEFAULTS.command);
  }
  const server = field('server').value.trim().replace(/\/+$/, '');
  if (server && (!/^https?:\/\//i.test(server) || !URL.canParse(server))) {
    notice('The API server URL must start with https:// or http://.', 'error');
    showCluster(true);
    field('server').focus();
    return null;
  }
  notice('');
  const tab = new Tab(settings, argv, server, field('token').value.trim());
  tabs.push(tab);
  tabsEl.append(tab.tabEl);
  panesEl.append(tab.paneEl);
  emptyEl.hidden = true;
  activate(tab);
  tab.mount();
  void tab.connect();
  return tab;
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  openTab(readForm());
});

window.addEventListener('resize', () => active?.fitSoon());

// ---- start: deep link ------------------------------------------------------------------------
const link = parseDeepLink(location.search);
const clean = urlWithoutToken(location.href);
if (clean) history.replaceState(history.state, '', clean);
fillForm(link.settings);
const warnings = [...link.warnings];
if (link.tokenStripped) warnings.unshift('The link carried a token: it was removed from the address bar and ignored (tokens are never taken from URLs).');
if (link.connect) openTab(link.settings);
else field('pod').focus();
if (warnings.length) notice(warnings.join(' '));

// ---- a small hook for tests and for people poking around in DevTools -------------------------
declare global {
  interface Window {
    kubeConsole: {
      tabs(): {
        id: number;
        state: State;
        active: boolean;
        rows: number;
        cols: number;
        exitCode: number | null;
        errorCode: string | null;
        protocol: string;
        shell: string;
        container: string;
      }[];
      text(id?: number): string;
      stats(id?: number): ExecAddonStats | null;
      /** The tab's recording so far (asciicast v2 text), or null. */
      recording(id?: number): string | null;
      transfer(id?: number): TransferState | null;
      active(): number | null;
    };
  }
}
const find = (id?: number) => (id === undefined ? active : tabs.find((t) => t.id === id) ?? null);
window.kubeConsole = {
  tabs: () =>
    tabs.map((t) => ({
      id: t.id,
      state: t.state,
      active: t === active,
      rows: t.term.rows,
      cols: t.term.cols,
      exitCode: t.exitCode,
      errorCode: t.errorCode,
      protocol: t.protocol,
      shell: t.shell,
      container: t.containerInUse(),
    })),
  text: (id) => find(id)?.text() ?? '',
  stats: (id) => {
    const t = find(id);
    return t ? { ...t.stats } : null;
  },
  transfer: (id) => {
    const t = find(id);
    return t ? { ...t.transfer.state } : null;
  },
  active: () => active?.id ?? null,
  recording: (id) => find(id)?.recording?.text() ?? null,
};

// ---- playing a recording from a file ---------------------------------------------------------
const playFile = $<HTMLInputElement>('#play-file');
playFile.addEventListener('change', async () => {
  const file = playFile.files?.[0];
  playFile.value = '';
  if (!file) return;
  try {
    await playCast(await file.text(), file.name);
  } catch (err) {
    notice(`Cannot play ${file.name}: ${err instanceof Error ? err.message : String(err)}`, 'error');
  }
});
