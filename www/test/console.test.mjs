// End-to-end tests of the console in Debian's Chromium, driven by playwright-core, against a
// kube-exec-devserver that serves www/dist and the demo pods on one origin.
//   CONSOLE_URL=http://127.0.0.1:PORT ARTIFACTS_DIR=… node --test test/
// (scripts/test.d/60-www-e2e.sh builds everything, starts the devserver and sets these.)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const BASE = process.env.CONSOLE_URL;
if (!BASE) throw new Error('CONSOLE_URL is not set (run scripts/test.d/60-www-e2e.sh)');
const ARTIFACTS = process.env.ARTIFACTS_DIR ?? fileURLToPath(new URL('../../artifacts/www', import.meta.url));
mkdirSync(ARTIFACTS, { recursive: true });

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
});
after(async () => {
  await browser?.close();
});

/** A fresh page (own context: no shared storage) at BASE + path; page errors fail the test. */
async function open(t, path = '/', url = BASE + path) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 600 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  t.after(async () => {
    await context.close();
    assert.deepEqual(errors.map(String), [], 'uncaught errors in the page');
  });
  await page.goto(url);
  await page.waitForFunction(() => window.kubeConsole !== undefined);
  return page;
}

const tabs = (page) => page.evaluate(() => window.kubeConsole.tabs());
const activeTab = async (page) => (await tabs(page)).find((x) => x.active);
const termText = (page, id) => page.evaluate((id) => window.kubeConsole.text(id), id);

/** Polls the active (or given) tab's terminal text until `re` matches; returns the match. */
async function waitText(page, re, { id, timeout = 15000 } = {}) {
  const deadline = Date.now() + timeout;
  let text = '';
  while (Date.now() < deadline) {
    text = await termText(page, id);
    const m = text.match(re);
    if (m) return m;
    await page.waitForTimeout(50);
  }
  assert.fail(`terminal never showed ${re}; it shows:\n${text}`);
}

async function waitState(page, want, { timeout = 15000 } = {}) {
  const deadline = Date.now() + timeout;
  let tab;
  while (Date.now() < deadline) {
    tab = await activeTab(page);
    if (tab && (Array.isArray(want) ? want.includes(tab.state) : tab.state === want)) return tab;
    await page.waitForTimeout(50);
  }
  assert.fail(`active tab never reached state ${want}; it is ${JSON.stringify(tab)}`);
}

/** The visible status line of the active tab's pane. */
const statusText = (page) => page.locator('.pane:not([hidden]) .status').innerText();

async function connect(page, { pod = 'demo', command, tty, token, namespace, container } = {}) {
  if (namespace !== undefined) await page.fill('input[name=namespace]', namespace);
  await page.fill('input[name=pod]', pod);
  if (container !== undefined) {
    // The picker is filled from getPod() once the pod field changes.
    await page.dispatchEvent('input[name=pod]', 'change');
    await page.waitForSelector(`select[name=container] option[value="${container}"]`, { state: 'attached' });
    await page.selectOption('select[name=container]', container);
  }
  if (command !== undefined) await page.fill('input[name=command]', command);
  if (tty !== undefined) await page.setChecked('input[name=tty]', tty);
  if (token !== undefined) {
    if (await page.locator('#cluster').isHidden()) await page.click('#toggle-cluster');
    await page.fill('input[name=token]', token);
  }
  await page.click('#connect-btn');
}

/** Types a line into the active terminal (xterm has the focus after connecting). */
async function typeLine(page, line) {
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

/** Waits for the shell's first prompt, so that typing does not race the shell's start. */
const waitPrompt = (page, id) => waitText(page, /\S/, { id });

async function shell(t, path = '/') {
  const page = await open(t, path);
  if (path === '/') await connect(page);
  const tab = await waitState(page, 'open');
  await waitPrompt(page, tab.id);
  return { page, tab };
}

test('connect to the demo pod, type `echo hello`, see hello', async (t) => {
  const { page, tab } = await shell(t);
  assert.match(tab.protocol, /^v5\.channel\.k8s\.io$/);
  assert.equal(tab.shell, 'bash', 'no command: openShell found bash');
  assert.match(await statusText(page), /Connected/);
  await typeLine(page, 'echo hello');
  await waitText(page, /^hello$/m);
  // The README's screenshot: the pod's own working directory, not this machine's /.
  await typeLine(
    page,
    'clear; pwd; echo "notes of $HOSTNAME" > notes.txt; ls -l; printf "\\033[1;32m%s\\033[0m\\n" "colours come through as sent"',
  );
  await waitText(page, /notes\.txt\ncolours come through as sent\n\S.*[#$]/);
  await page.screenshot({ path: join(ARTIFACTS, 'session.png') });
});

test('stty size matches the terminal and follows a viewport resize', async (t) => {
  const { page, tab } = await shell(t);
  assert.ok(tab.rows > 5 && tab.cols > 20, JSON.stringify(tab));
  await typeLine(page, 'stty size');
  await waitText(page, new RegExp(`^${tab.rows} ${tab.cols}$`, 'm'));

  await page.setViewportSize({ width: 640, height: 400 });
  const deadline = Date.now() + 5000;
  let now = tab;
  while (Date.now() < deadline && now.rows === tab.rows && now.cols === tab.cols) {
    await page.waitForTimeout(50);
    now = await activeTab(page);
  }
  assert.ok(now.rows < tab.rows && now.cols < tab.cols, `terminal did not shrink: ${JSON.stringify(now)}`);
  await typeLine(page, 'clear; stty size');
  await waitText(page, new RegExp(`^${now.rows} ${now.cols}$`, 'm'));
});

test('`exit 3` shows exit code 3', async (t) => {
  const { page } = await shell(t);
  await typeLine(page, 'exit 3');
  const tab = await waitState(page, 'exited');
  assert.equal(tab.exitCode, 3);
  assert.match(await statusText(page), /Process exited with code 3/);
  await waitText(page, /\[Process exited with code 3\]/);
});

test('a wrong token shows an unauthorized message', async (t) => {
  const page = await open(t);
  await connect(page, { token: 'not-the-token' });
  const tab = await waitState(page, 'failed');
  assert.equal(tab.errorCode, 'Unauthorized');
  const status = await statusText(page);
  assert.match(status, /Unauthorized/);
  assert.match(status, /did not accept the token/);
  assert.doesNotMatch(status, /not-the-token/, 'the token must not be shown');
});

test('a second tab runs its own session; switching tabs keeps each one', async (t) => {
  const { page } = await shell(t);
  await typeLine(page, 'echo "pid=$$"');
  const pid1 = (await waitText(page, /^pid=(\d+)$/m))[1];
  const first = (await activeTab(page)).id;

  await connect(page);
  const second = await waitState(page, 'open');
  await waitPrompt(page, second.id);
  assert.notEqual(second.id, first);
  assert.equal((await tabs(page)).length, 2);
  await typeLine(page, 'echo "pid=$$"');
  const pid2 = (await waitText(page, /^pid=(\d+)$/m, { id: second.id }))[1];
  assert.notEqual(pid1, pid2, 'both tabs ran in the same shell');

  await page.click(`.tab[data-id="${first}"]`);
  assert.equal((await activeTab(page)).id, first);
  await typeLine(page, 'echo "again=$$"');
  await waitText(page, new RegExp(`^again=${pid1}$`, 'm'), { id: first });
  assert.doesNotMatch(await termText(page, second.id), /again=/);
});

test('closing a tab ends its session', async (t) => {
  const { page } = await shell(t);
  await typeLine(page, 'echo "pid=$$"');
  const pid = (await waitText(page, /^pid=(\d+)$/m))[1];
  const doomed = (await activeTab(page)).id;

  await connect(page);
  const watcher = await waitState(page, 'open');
  await waitPrompt(page, watcher.id);
  await typeLine(page, `kill -0 ${pid} && echo "A""live"`);
  await waitText(page, /^Alive$/m, { id: watcher.id });

  await page.click(`.tab[data-id="${doomed}"] .close`);
  assert.deepEqual((await tabs(page)).map((x) => x.id), [watcher.id]);
  const deadline = Date.now() + 10000;
  for (let i = 1; ; i++) {
    await typeLine(page, `echo "r${i}""-$(kill -0 ${pid} 2>/dev/null && echo still || echo gone)"`);
    const m = await waitText(page, new RegExp(`^r${i}-(still|gone)$`, 'm'), { id: watcher.id });
    if (m[1] === 'gone') break;
    assert.ok(Date.now() < deadline, `the closed tab's shell (pid ${pid}) is still running`);
    await page.waitForTimeout(200);
  }
});

test('a deep link connects at once; a token in it is removed and ignored', async (t) => {
  const page = await open(t, '/?namespace=default&pod=demo&command=sh&tty=1&token=bogus-from-link');
  const tab = await waitState(page, 'open'); // bogus-from-link would have been Unauthorized
  assert.equal((await tabs(page)).length, 1);
  assert.doesNotMatch(page.url(), /token|bogus/);
  assert.match(await page.locator('#notice').innerText(), /token.*removed/);
  assert.equal(await page.inputValue('input[name=token]'), '');
  await waitPrompt(page, tab.id);
  await typeLine(page, 'echo "deep""link"');
  await waitText(page, /^deeplink$/m, { id: tab.id });
});

test('a deep link with a repeated command param passes the argv verbatim', async (t) => {
  const q = new URLSearchParams([
    ['pod', 'demo'],
    ['command', 'sh'],
    ['command', '-c'],
    ['command', 'echo "argv:$0:$1"; exit 4'],
    ['command', 'one word'],
    ['command', 'two words'],
  ]);
  const page = await open(t, `/?${q}`);
  const tab = await waitState(page, 'exited');
  assert.equal(tab.exitCode, 4);
  await waitText(page, /^argv:one word:two words$/m);
});

test('UTF-8 shows correctly, also when split across frames', async (t) => {
  const { page } = await shell(t);
  await typeLine(page, "printf 'h\\303\\251llo \\342\\202\\254\\n'");
  await waitText(page, /^héllo €$/m);

  // One byte per WebSocket frame: only an undecoded byte stream to xterm gets this right.
  const split = await open(t, '/?pod=fault-split-utf8&command=x&tty=0');
  await waitState(split, 'exited');
  await waitText(split, /^héllo wörld € 𝄞$/m);
});

test('without a TTY: local line editing, Ctrl-D ends stdin, stderr shown', async (t) => {
  const page = await open(t, `/?pod=demo&tty=0&command=${encodeURIComponent("sh -c 'cat; echo done-$? >&2'")}`);
  await waitState(page, 'open');
  await page.keyboard.type('abx');
  await page.keyboard.press('Backspace');
  await page.keyboard.type('c');
  await page.keyboard.press('Enter');
  await waitText(page, /^abc\nabc$/m); // the local echo, then cat's output
  await page.keyboard.press('Control+d');
  const tab = await waitState(page, 'exited');
  assert.equal(tab.exitCode, 0);
  await waitText(page, /^done-0$/m);
});

test('a pod with two containers: the default one like kubectl, or the one chosen', async (t) => {
  const page = await open(t, '/?pod=two&command=sh');
  const tab = await waitState(page, ['open', 'failed']);
  assert.equal(tab.state, 'open', await statusText(page));
  assert.match(await statusText(page), /Defaulted container "a" out of: a, b/);
  assert.match(await page.locator('.tab[aria-selected=true] .title').innerText(), /^two\/a: sh$/);

  await connect(page, { pod: 'two', container: 'b', command: 'sh' });
  const b = await waitState(page, 'open');
  assert.notEqual(b.id, tab.id);
  assert.doesNotMatch(await statusText(page), /Defaulted/);
  assert.match(await page.locator('.tab[aria-selected=true] .title').innerText(), /^two\/b: sh$/);
});

test('errors are shown in words: pod not found, container not running, connection lost', async (t) => {
  const cases = [
    ['/?pod=no-such-pod', 'NotFound', /Pod not found.*no-such-pod/],
    ['/?pod=demo&namespace=no-such-namespace', 'NotFound', /Pod not found.*no-such-namespace/],
    ['/?pod=fault-drop&command=x', 'ConnectionLost', /Connection lost/],
  ];
  for (const [path, code, words] of cases) {
    const page = await open(t, path);
    const tab = await waitState(page, ['failed', 'exited']);
    assert.equal(tab.state, 'failed', `${path}: ${JSON.stringify(tab)}`);
    assert.equal(tab.errorCode, code, path);
    assert.match(await statusText(page), words, path);
  }
  // Ends with a failure Status from the cluster: its words, and ours on top.
  const exits = [
    ['/?pod=stopped', /The container is not running[\s\S]*container not found/],
    ['/?pod=demo&command=no-such-binary', /Command not found in the container: "no-such-binary"[\s\S]*executable file not found/],
  ];
  for (const [path, words] of exits) {
    const page = await open(t, path);
    const tab = await waitState(page, ['failed', 'exited']);
    assert.equal(tab.state, 'exited', `${path}: ${JSON.stringify(tab)}`);
    assert.equal(tab.exitCode, null);
    assert.match(await statusText(page), words, path);
  }
  // A container the pod does not have: the pod's own container list says so.
  const page = await open(t, '/?pod=two&container=zzz');
  const tab = await waitState(page, ['failed', 'exited']);
  assert.equal(tab.state, 'failed');
  assert.equal(tab.errorCode, 'NotFound');
  assert.match(await statusText(page), /Pod "two" has no container "zzz"\. Its containers: "a", "b"/);
});

test('behind kubectl proxy --www: no token needed with the exec filter lifted; refused by default', async (t) => {
  if (!process.env.PROXY_URL) return t.skip('no kubectl on this machine');
  const page = await open(t, '', `${process.env.PROXY_URL}?pod=demo`);
  const tab = await waitState(page, ['open', 'failed']);
  assert.equal(tab.state, 'open', await statusText(page));
  await waitPrompt(page, tab.id);
  await typeLine(page, 'echo "via""proxy"');
  await waitText(page, /^viaproxy$/m);

  const refused = await open(t, '', `${process.env.PROXY_FILTERED_URL}?pod=demo`);
  const r = await waitState(refused, ['open', 'failed']);
  assert.equal(r.state, 'failed');
  assert.match(await statusText(refused), /kubectl proxy.*--reject-paths/s);
});

test('flow control: output xterm parses slowly arrives whole, and the exit is shown after it', async (t) => {
  // The bench pod sends 4 MiB of bytes i % 251 at once, then its exit status: control characters
  // are xterm's slowest input (seconds of parsing), so reading pauses, most of the output still
  // waits in the SDK when the exit arrives, and all of it must reach xterm before the exit shows.
  const page = await open(t, '/?pod=bench&tty=0&command=bulk%204194304%2065536');
  const tab = await waitState(page, ['exited', 'failed'], { timeout: 120000 });
  assert.equal(tab.state, 'exited', await statusText(page));
  assert.equal(tab.exitCode, 0);
  const stats = await page.evaluate(() => window.kubeConsole.stats());
  assert.equal(stats.bytesOut, 4194304, 'output lost before the exit was shown');
  assert.ok(stats.pauses > 0, 'reading never paused although xterm was behind');
});

test('attach joins the main process: the echo pod (no TTY) sends back what is typed', async (t) => {
  const page = await open(t, '/?pod=echo&mode=attach&tty=0');
  const tab = await waitState(page, 'open');
  assert.match(await page.locator('.tab[aria-selected=true] .title').innerText(), /^echo: attach$/);
  await page.keyboard.type('ping €');
  await page.keyboard.press('Enter');
  await waitText(page, /^ping €\nping €$/m, { id: tab.id }); // local echo, then cat's answer
});

test('a tab hidden during a resize takes the new size when shown', async (t) => {
  const { page, tab: first } = await shell(t);
  await connect(page);
  const second = await waitState(page, 'open');
  await waitPrompt(page, second.id);
  await page.setViewportSize({ width: 700, height: 450 });
  const deadline = Date.now() + 5000;
  let now = second;
  while (Date.now() < deadline && now.cols === second.cols) {
    await page.waitForTimeout(50);
    now = await activeTab(page);
  }
  assert.ok(now.cols < second.cols, JSON.stringify(now));
  await page.click(`.tab[data-id="${first.id}"]`);
  const shown = await activeTab(page);
  assert.equal(shown.id, first.id);
  assert.deepEqual([shown.rows, shown.cols], [now.rows, now.cols]);
  await typeLine(page, 'stty size');
  await waitText(page, new RegExp(`^${now.rows} ${now.cols}$`, 'm'), { id: first.id });
});

test('throughput: 16 MiB of base64 through xterm, with and without a TTY', async (t) => {
  const cmd = 'head -c 16777216 /dev/urandom | base64';
  // Without a TTY the process's output arrives in big chunks: xterm's parser is the limit.
  const q = new URLSearchParams({ pod: 'demo', tty: '0', command: `sh -c '${cmd}; echo "fin""ished"'` });
  const page = await open(t, `/?${q}`);
  await waitState(page, 'open');
  let t0 = Date.now();
  await waitState(page, 'exited', { timeout: 180000 });
  let secs = (Date.now() - t0) / 1000;
  await waitText(page, /^finished$/m);
  let stats = await page.evaluate(() => window.kubeConsole.stats());
  let mib = stats.bytesOut / 1048576;
  // base64 of 16 MiB: 22369624 characters in lines of 76, then 'finished' and a newline.
  assert.equal(stats.bytesOut, 22369624 + Math.ceil(22369624 / 76) + 9);
  assert.ok(stats.pauses > 0, 'reading never paused although xterm parses slower than this arrives');
  const figures = [`no tty: ${mib.toFixed(1)} MiB in ${secs.toFixed(1)} s = ${(mib / secs).toFixed(1)} MiB/s (${stats.pauses} flow-control pauses)`];

  // With a TTY, through the shell and the devserver's PTY.
  const { page: tty } = await shell(t);
  t0 = Date.now();
  await typeLine(tty, `${cmd}; echo "fin""ished"`);
  await waitText(tty, /^finished$/m, { timeout: 180000 });
  secs = (Date.now() - t0) / 1000;
  stats = await tty.evaluate(() => window.kubeConsole.stats());
  mib = stats.bytesOut / 1048576;
  assert.ok(mib > 21.6, `only ${mib.toFixed(1)} MiB reached xterm`);
  figures.push(`tty: ${mib.toFixed(1)} MiB in ${secs.toFixed(1)} s = ${(mib / secs).toFixed(1)} MiB/s (${stats.pauses} pauses)`);
  for (const f of figures) {
    t.diagnostic(`figure: ${f}; under playwright's DevTools client`);
    console.log(`# figure: ${f}`);
  }
  // Still responsive afterwards.
  await typeLine(tty, 'echo "after""wards"');
  await waitText(tty, /^afterwards$/m);
});

test('no command: a shell, bash where the image has it, else sh', async (t) => {
  const page = await open(t, '/?pod=nobash');
  const tab = await waitState(page, 'open');
  assert.equal(tab.shell, 'sh');
  assert.match(await page.locator('.tab[aria-selected=true] .title').innerText(), /^nobash: sh$/);
  await waitPrompt(page, tab.id);
  await typeLine(page, 'command -v bash || echo "no ""bash here"');
  await waitText(page, /^no bash here$/m);
});

test('the container picker lists the pod\'s containers, the stopped one marked; the default like kubectl', async (t) => {
  const page = await open(t);
  await page.fill('input[name=pod]', 'sidecar');
  await page.dispatchEvent('input[name=pod]', 'change');
  await page.waitForSelector('select[name=container] option[value="metrics"]', { state: 'attached' });
  const options = await page.$$eval('select[name=container] option', (os) => os.map((o) => [o.value, o.textContent, o.className]));
  assert.deepEqual(options, [
    ['', 'default (app)', ''],
    ['proxy', 'proxy', ''],
    ['app', 'app', ''],
    ['metrics', 'metrics — not running (CrashLoopBackOff)', 'not-running'],
  ]);
  // No container chosen: the annotation's ("app"), not the first.
  await page.click('#connect-btn');
  const tab = await waitState(page, 'open');
  assert.equal(tab.container, 'app');
  assert.match(await statusText(page), /Defaulted container "app" out of: proxy, app, metrics/);
});

test('a session is recorded: Download recording gives asciicast v2, Replay plays it', async (t) => {
  const { page, tab } = await shell(t);
  await typeLine(page, 'echo "recorded ""line"');
  await waitText(page, /^recorded line$/m);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('.pane:not([hidden]) button.download-recording')]);
  assert.match(download.suggestedFilename(), /^default_demo_\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.cast$/);
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(await download.path(), 'utf8');
  const [header, ...events] = text.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.equal(header.version, 2);
  assert.deepEqual([header.width, header.height], [tab.cols, tab.rows]);
  assert.equal(header.env.SHELL, 'bash');
  const output = events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
  assert.match(output, /recorded line/);
  assert.ok(events.every((e, i) => i === 0 || e[0] >= events[i - 1][0]), 'times go forward');

  await page.click('.pane:not([hidden]) button.replay');
  await page.waitForSelector('dialog#player .ap-player', { timeout: 15000 });
  await page.waitForFunction(() => document.querySelector('dialog#player')?.textContent?.includes('recorded line'), null, {
    timeout: 20000,
  });
  await page.click('dialog#player .player-head button');
  assert.equal(await page.locator('dialog#player').isVisible(), false);
});

test('the API reference is served at /docs/ and documents every export of the package', async (t) => {
  const { readFileSync } = await import('node:fs');
  const page = await open(t);
  const exported = [];
  for (const f of ['kube_exec_wasm.d.ts', 'xterm.d.ts', 'zip.d.ts']) {
    const dts = readFileSync(new URL(`../../pkg/${f}`, import.meta.url), 'utf8');
    for (const m of dts.matchAll(/^export (?:declare )?(default )?(?:function|class|interface|type) (\w+)/gm)) {
      exported.push(m[1] ? 'default' : m[2]); // init() is the default export
    }
  }
  for (const name of ['exec', 'attach', 'openShell', 'getPod', 'record', 'ExecAddon', 'ExecSession', 'PodInfo', 'Recording']) {
    assert.ok(exported.includes(name), `${name} is not exported by the package`);
  }
  const res = await page.request.get(`${BASE}/docs/`);
  assert.equal(res.status(), 200);
  await page.goto(`${BASE}/docs/modules.html`);
  const linked = new Set();
  for (const module of await page.$$eval('a', (as) => as.map((a) => a.href).filter((h) => /\/modules\/[^/]+\.html$/.test(h)))) {
    const r = await page.request.get(module);
    for (const m of (await r.text()).matchAll(/href="[^"]*\/(?:functions|classes|interfaces|types)\/[^".]+\.(\w+)\.html"/g)) linked.add(m[1]);
  }
  const missing = exported.filter((n) => !linked.has(n));
  assert.deepEqual(missing, [], 'exports without a page in the API reference');
  const shell = await page.request.get(`${BASE}/docs/functions/kube_exec_wasm.openShell.html`);
  assert.equal(shell.status(), 200);
  assert.match(await shell.text(), /NoShell/);
});

// ---- file transfer ------------------------------------------------------------------------

/** Drops files made in the page (name → text, or name → size of random bytes) on the terminal. */
async function dropFiles(page, files) {
  await page.evaluate((files) => {
    const dt = new DataTransfer();
    for (const [name, content] of Object.entries(files)) {
      const data = typeof content === 'number' ? new Uint8Array(content) : content;
      dt.items.add(new File([data], name));
    }
    const term = document.querySelector('.pane:not([hidden]) .term');
    term.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    term.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, files);
}

const transferState = (page) => page.evaluate(() => window.kubeConsole.transfer());

async function waitTransferDone(page, re, timeout = 30000) {
  const deadline = Date.now() + timeout;
  let st;
  while (Date.now() < deadline) {
    st = await transferState(page);
    if (st.kind === null && st.last) {
      assert.match(st.last, re);
      return st;
    }
    await page.waitForTimeout(50);
  }
  assert.fail(`transfer never ended: ${JSON.stringify(st)}`);
}

test('drop a file on the terminal: it lands in the confirmed directory; Download… saves it back', async (t) => {
  const { page } = await shell(t);
  const dir = `/tmp/kew-e2e-${Date.now()}`;
  await typeLine(page, `mkdir -p ${dir}`);
  page.once('dialog', (d) => {
    assert.match(d.message(), /Upload "grüße ✓.txt" into this directory/);
    void d.accept(dir);
  });
  await dropFiles(page, { 'grüße ✓.txt': 'dropped on the terminal\n' });
  await waitTransferDone(page, /^Uploaded 1 file \(24 B\) to \/tmp\/kew-e2e-\d+ in [\d.]+ s$/);
  await typeLine(page, `cat '${dir}/grüße ✓.txt'`);
  await waitText(page, /^dropped on the terminal$/m);
  // Download… the same file: saved under its own name, byte for byte.
  page.once('dialog', (d) => void d.accept(`${dir}/grüße ✓.txt`));
  const saved = page.waitForEvent('download');
  await page.locator('.pane:not([hidden]) .status button.download').click();
  const file = await saved;
  assert.equal(file.suggestedFilename(), 'grüße ✓.txt');
  const { readFile } = await import('node:fs/promises');
  assert.equal(await readFile(await file.path(), 'utf8'), 'dropped on the terminal\n');
  // A directory comes as a zip.
  page.once('dialog', (d) => void d.accept(dir));
  const zipped = page.waitForEvent('download');
  await page.locator('.pane:not([hidden]) .status button.download').click();
  const zip = await zipped;
  assert.equal(zip.suggestedFilename(), `${dir.split('/').pop()}.zip`);
  const bytes = await readFile(await zip.path());
  assert.equal(bytes.subarray(0, 4).toString('latin1'), 'PK\x03\x04');
  assert.ok(bytes.includes(Buffer.from('grüße ✓.txt')), 'the file is in the zip');
  await typeLine(page, `rm -rf ${dir}`);
});

test('a transfer shows bytes and rate, and Cancel stops it', async (t) => {
  const { page } = await shell(t);
  page.once('dialog', (d) => void d.accept('/tmp'));
  await dropFiles(page, { [`kew-e2e-big-${Date.now()}.bin`]: 512 * 1024 * 1024 });
  const bar = page.locator('.pane:not([hidden]) .transfer');
  await bar.waitFor({ state: 'visible' });
  const deadline = Date.now() + 15000;
  let text = '';
  while (Date.now() < deadline) {
    text = await bar.locator('.what').innerText();
    if (/ of 512 MiB · [\d.]+ MB\/s$/.test(text) && !/: 0 B of/.test(text)) break;
    await page.waitForTimeout(50);
  }
  assert.match(text, /^Uploading "kew-e2e-big-\d+\.bin" to \/tmp: [\d.]+ [KMG]iB of 512 MiB · [\d.]+ MB\/s$/);
  await bar.locator('button').click();
  const st = await waitTransferDone(page, /cancelled$/);
  assert.ok(st.bytes > 0 && st.bytes < 512 * 1024 * 1024, JSON.stringify(st));
  assert.ok(await bar.isHidden());
});

test('NoTar: the pod without tar says so, with the debug-container hint', async (t) => {
  const { page } = await shell(t);
  // The demo tab's target with another pod: open a tab on the notar pod (exec sh there works).
  await connect(page, { pod: 'notar', command: 'sh' });
  await waitState(page, 'open');
  page.once('dialog', (d) => void d.accept('.'));
  await dropFiles(page, { 'x.txt': 'x' });
  await waitTransferDone(page, /failed: The container has no tar.*ephemeral debug container/);
  assert.match(await page.locator('#notice').innerText(), /no tar/);
});
