// Unit tests of the console's own logic in node (no browser): the command-line splitter, deep
// links, messages, the container picker's choices, and the package's xterm addon
// (www/src/xterm-adapter.ts, shipped as `kube-exec-wasm/xterm`): its byte paths and flow control
// against a scripted terminal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTs } from './load-ts.mjs';

const { splitCommand, joinCommand, CommandSyntaxError } = await loadTs('command.ts');
const { parseDeepLink, urlWithoutToken, deepLink } = await loadTs('settings.ts');
const { ExecAddon } = await loadTs('xterm-adapter.ts');
const { describeError, describeExit } = await loadTs('messages.ts');
const { containerChoices } = await loadTs('containers.ts');

/** The addon loaded the way xterm's `term.loadAddon` does it: `activate(term)`. */
function attachTerminal(term, session, options) {
  const addon = new ExecAddon(session, options);
  term.loadAddon(addon);
  return addon;
}

test('the command field splits like a shell', () => {
  const cases = [
    ['sh', ['sh']],
    ['  ls   -la\t/tmp  ', ['ls', '-la', '/tmp']],
    [`sh -c 'echo $HOME; id'`, ['sh', '-c', 'echo $HOME; id']],
    [`printf "a\\"b\\\\c\\n" x\\ y`, ['printf', 'a"b\\c\\n', 'x y']],
    [`echo ''`, ['echo', '']],
    [`a'b'"c"d`, ['abcd']],
    ['', []],
    ['héllo €', ['héllo', '€']],
  ];
  for (const [line, argv] of cases) assert.deepEqual(splitCommand(line), argv, line);
  for (const bad of [`echo 'x`, `echo "x`, 'echo x\\']) {
    assert.throws(() => splitCommand(bad), CommandSyntaxError, bad);
  }
});

test('joinCommand quotes so that splitCommand gives the argv back', () => {
  for (const argv of [['sh'], ['sh', '-c', "echo 'hi' $X; id"], ['', 'a b', "it's"], ['ls', '-la', '/tmp']]) {
    assert.deepEqual(splitCommand(joinCommand(argv)), argv);
  }
  assert.equal(joinCommand(['ls', '-la', '/tmp']), 'ls -la /tmp');
});

test('deep links: fields, command once or repeated, tty, token ignored', () => {
  let d = parseDeepLink('?namespace=prod&pod=web-1&container=app&command=ls%20-la&tty=0');
  assert.deepEqual(d.settings, { namespace: 'prod', pod: 'web-1', container: 'app', command: 'ls -la', tty: false, mode: 'exec' });
  assert.equal(d.connect, true);
  assert.equal(d.tokenStripped, false);

  d = parseDeepLink('?pod=p&command=sh&command=-c&command=echo%20hi%3B%20id');
  assert.deepEqual(splitCommand(d.settings.command), ['sh', '-c', 'echo hi; id']);

  d = parseDeepLink('?token=secret&access_token=x');
  assert.equal(d.connect, false);
  assert.equal(d.tokenStripped, true);
  assert.equal(JSON.stringify(d).includes('secret'), false);
  assert.equal(d.settings.namespace, 'default');
  assert.equal(d.settings.command, '', 'no command: a shell (openShell)');
  assert.equal(d.settings.tty, true);

  d = parseDeepLink('?pod=p&tty=maybe&mode=attach');
  assert.equal(d.settings.tty, true);
  assert.equal(d.settings.mode, 'attach');
  assert.equal(d.warnings.length, 1);

  assert.equal(urlWithoutToken('http://h/?pod=p'), null);
  assert.equal(urlWithoutToken('http://h/x/?pod=p&token=s#frag'), 'http://h/x/?pod=p#frag');
  const link = deepLink('http://h/c/?token=s', { namespace: 'default', pod: 'p', container: '', command: 'sh -c "id"', tty: true, mode: 'exec' });
  assert.equal(link, 'http://h/c/?pod=p&command=sh+-c+%22id%22');
  assert.deepEqual(parseDeepLink(new URL(link).search).settings.command, 'sh -c "id"');
});

test('messages: exit codes and error codes in words', () => {
  assert.equal(describeExit({ success: true, exitCode: 0 }).title, 'Process exited with code 0');
  assert.equal(describeExit({ success: false, exitCode: 3, reason: 'NonZeroExitCode' }).title, 'Process exited with code 3');
  assert.equal(describeExit({ success: false, exitCode: null, reason: 'InternalError', message: 'boom' }).title, 'The cluster could not run the command (InternalError)');
  const oci = 'Internal error occurred: error executing command in container: failed to exec in container: OCI runtime exec failed: exec failed: unable to start container process: exec: "bash": executable file not found in $PATH: unknown';
  assert.equal(describeExit({ success: false, exitCode: null, reason: 'InternalError', message: oci }).title, 'Command not found in the container: "bash"');
  assert.match(describeExit({ success: false, exitCode: null, message: 'unable to upgrade connection: container not found ("main")' }).title, /container is not running/);
  const t = { namespace: 'ns', pod: 'p', container: '', server: '' };
  const e = Object.assign(new Error('pods "p" not found'), { code: 'NotFound', hint: 'check the name', httpStatus: 404 });
  const m = describeError(e, t);
  assert.match(m.title, /^Pod not found \(HTTP 404\): there is no pod "p" in namespace "ns"/);
  assert.equal(m.hint, 'check the name');
  assert.equal(m.code, 'NotFound');
  assert.match(describeError({ code: 'Unauthorized' }, t).title, /Unauthorized \(HTTP 401\)/);
  assert.match(describeError({ code: 'Forbidden' }, t).title, /may not open a terminal/);
  assert.match(describeError({ code: 'ConnectionLost' }, t).title, /Connection lost/);
  assert.match(describeError(new Error('weird'), t).title, /Error: weird/);
  const required = describeError({ code: 'ContainerRequired', containers: ['proxy', 'app'], hint: 'name one' }, t);
  assert.equal(required.title, 'Pod "p" has several containers: choose one of "proxy", "app" in Container.');
  assert.equal(required.hint, 'name one');
  assert.equal(describeError({ code: 'NoShell', tried: ['bash', 'sh'] }, t).title, 'No shell in the container: tried "bash", "sh".');
  assert.equal(describeError({ code: 'Internal' }, t).title, 'kube-exec-wasm hit a bug and ended every session: reload the page.');
  assert.equal(
    describeError({ code: 'NotFound', containers: ['a', 'b'] }, { ...t, container: 'zzz' }).title,
    'Pod "p" has no container "zzz". Its containers: "a", "b".',
  );
});

// That every error code of the SDK has words in the console (messages.ts), and no other code
// does, is tests/error_codes.rs (part 20): it checks them against the core's one table of codes.

test('container picker: default first, every kind of container, the stopped ones marked', () => {
  const c = (name, state, reason) => ({ name, image: 'i', state, reason, ready: state === 'running', stdin: false, tty: false });
  const pod = {
    name: 'web', namespace: 'ns', phase: 'Running', defaultContainer: 'app',
    containers: [c('proxy', 'running'), c('app', 'running'), c('metrics', 'waiting', 'CrashLoopBackOff')],
    initContainers: [c('migrate', 'terminated', 'Completed')],
    ephemeralContainers: [c('debugger', 'running')],
  };
  assert.deepEqual(
    containerChoices(pod, '').map((x) => [x.value, x.label, x.notRunning]),
    [
      ['', 'default (app)', false],
      ['proxy', 'proxy', false],
      ['app', 'app', false],
      ['metrics', 'metrics — not running (CrashLoopBackOff)', true],
      ['migrate', 'migrate (init) — not running (Completed)', true],
      ['debugger', 'debugger (ephemeral)', false],
    ],
  );
  // Unknown pod: only the default, and a chosen container is kept.
  assert.deepEqual(containerChoices(null, 'x').map((x) => x.value), ['', 'x']);
});

// ---- the adapter, against a scripted terminal ------------------------------------------------

class FakeTerm {
  cols = 80;
  loadAddon(addon) {
    addon.activate(this);
  }
  rows = 24;
  options = {};
  writes = []; // { data, cb }
  listeners = { data: new Set(), binary: new Set(), resize: new Set() };
  on(kind) {
    return (fn) => {
      this.listeners[kind].add(fn);
      return { dispose: () => this.listeners[kind].delete(fn) };
    };
  }
  onData = this.on('data');
  onBinary = this.on('binary');
  onResize = this.on('resize');
  emit(kind, v) {
    for (const fn of this.listeners[kind]) fn(v);
  }
  write(data, cb) {
    this.writes.push({ data, cb });
  }
  /** xterm parsed everything written so far. */
  flush() {
    const w = this.writes.splice(0);
    for (const x of w) x.cb?.();
  }
  pendingBytes() {
    return this.writes.reduce((n, x) => n + (typeof x.data === 'string' ? 0 : x.data.byteLength), 0);
  }
  text() {
    return this.writes.map((x) => (typeof x.data === 'string' ? x.data : new TextDecoder().decode(x.data))).join('');
  }
}

function fakeSession() {
  const s = { stdinChunks: [], resizes: [], closedStdin: 0, pulls: 0 };
  let out;
  s.stdout = new ReadableStream(
    {
      start: (c) => (out = c),
      pull: () => {
        s.pulls++;
      },
    },
    { highWaterMark: 0 },
  );
  s.out = () => out;
  let err;
  s.stderr = new ReadableStream({ start: (c) => (err = c) });
  s.err = () => err;
  s.stdin = new WritableStream({ write: (chunk) => void s.stdinChunks.push(chunk) });
  s.resize = (cols, rows) => s.resizes.push([cols, rows]);
  s.closeStdin = async () => void s.closedStdin++;
  return s;
}

const tick = () => new Promise((r) => setTimeout(r, 5));
const bytes = (arr) => Array.from(arr, (c) => Array.from(c)).flat();

test('adapter: output bytes reach the terminal unchanged, as the same Uint8Array views', async () => {
  const term = new FakeTerm();
  const s = fakeSession();
  const h = attachTerminal(term, s);
  const buf = new Uint8Array([0x41, 0xc3, 0xa9, 0xe2, 0x82]).buffer; // "Aé" + half of "€"
  const view = new Uint8Array(buf, 1);
  s.out().enqueue(view);
  s.err().enqueue(new Uint8Array([0xac]));
  await tick();
  assert.equal(term.writes[0].data, view, 'not the same view: bytes were copied or decoded');
  assert.deepEqual(Array.from(term.writes[1].data), [0xac]);
  assert.deepEqual(s.resizes, [[80, 24]], 'the initial size is sent once');
  s.out().close();
  s.err().close();
  let drained = false;
  h.drained.then(() => (drained = true));
  await tick();
  assert.equal(drained, false, 'drained before xterm parsed the bytes');
  term.flush();
  await tick();
  assert.equal(drained, true);
  assert.equal(h.stats.bytesOut, 5);
  h.dispose();
});

test('adapter: reading pauses above the high watermark and resumes below the low one', async () => {
  const term = new FakeTerm();
  const s = fakeSession();
  const h = attachTerminal(term, s, { highWatermark: 1000, lowWatermark: 100, sendInitialSize: false });
  for (let i = 0; i < 30; i++) s.out().enqueue(new Uint8Array(100));
  await tick();
  // It reads past 1000 bytes once (the check is before each read), then stops.
  assert.equal(term.pendingBytes(), 1100);
  assert.equal(h.stats.pauses, 1);
  // xterm parses half: 500 pending > low watermark, still paused.
  for (const w of term.writes.splice(0, 6)) w.cb();
  await tick();
  assert.equal(term.pendingBytes(), 500);
  // Below the low watermark: reading resumes until over the high one again.
  for (const w of term.writes.splice(0, 5)) w.cb();
  await tick();
  assert.equal(term.pendingBytes(), 1100);
  assert.equal(h.stats.pauses, 2);
  term.flush();
  await tick();
  term.flush();
  await tick();
  assert.equal(h.stats.bytesOut, 3000);
  h.dispose();
});

test('adapter: keystrokes go to stdin as UTF-8 bytes in order; onBinary bytes as is; resize forwarded', async () => {
  const term = new FakeTerm();
  const s = fakeSession();
  const h = attachTerminal(term, s);
  term.emit('data', 'ls\r');
  term.emit('data', 'é€\x1b[A');
  term.emit('binary', '\x1b[M\xff\x80');
  term.emit('resize', { cols: 100, rows: 30 });
  await tick();
  assert.deepEqual(bytes(s.stdinChunks), [...new TextEncoder().encode('ls\ré€\x1b[A'), 0x1b, 0x5b, 0x4d, 0xff, 0x80]);
  assert.deepEqual(s.resizes, [[80, 24], [100, 30]]);
  assert.equal(h.stats.bytesIn, 16);
  h.dispose();
  term.emit('data', 'after');
  term.emit('resize', { cols: 10, rows: 10 });
  await tick();
  assert.equal(bytes(s.stdinChunks).length, 16, 'input after dispose');
  assert.equal(s.resizes.length, 2);
  for (const k of ['data', 'binary', 'resize']) assert.equal(term.listeners[k].size, 0, `${k} listener left`);
  // The streams are released: the owner can read them again.
  s.stdout.getReader().releaseLock();
  s.stdin.getWriter().releaseLock();
});

test('adapter line mode: local echo and editing, Enter sends the line, Ctrl-D ends stdin', async () => {
  const term = new FakeTerm();
  const s = fakeSession();
  const h = attachTerminal(term, s, { lineMode: true });
  assert.equal(term.options.convertEol, true);
  term.emit('data', 'héx');
  term.emit('data', '\x7f');
  term.emit('data', 'llo\r');
  await tick();
  assert.equal(new TextDecoder().decode(new Uint8Array(bytes(s.stdinChunks))), 'héllo\n');
  assert.equal(term.text(), 'héx\b \bllo\r\n');
  term.emit('data', 'part\x04');
  term.emit('data', '\x04');
  await tick();
  assert.equal(new TextDecoder().decode(new Uint8Array(bytes(s.stdinChunks))), 'héllo\npart');
  assert.equal(s.closedStdin, 1);
  h.dispose();
});

test('addon: dispose() before activate settles drained; line mode restores convertEol', async () => {
  const s = fakeSession();
  const addon = new ExecAddon(s);
  addon.dispose();
  await addon.drained; // resolves without a terminal
  const term = new FakeTerm();
  term.options.convertEol = false;
  const h = attachTerminal(term, fakeSession(), { lineMode: true });
  assert.equal(term.options.convertEol, true);
  h.dispose();
  assert.equal(term.options.convertEol, false);
  h.dispose(); // idempotent
});
