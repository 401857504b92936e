// The fresh Vite app of scripts/test.d/57-consumer.sh (test/consumer-app), built against the packed
// package, in Debian's Chromium: every step of its story must succeed, and its recording must
// download as asciicast v2 holding what was typed and shown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';

const APP = process.env.APP_URL;
if (!APP) throw new Error('APP_URL is not set (run scripts/test.d/57-consumer.sh)');

test('a fresh app with only the tarball and @xterm/xterm: getPod, openShell, the addon, record, download', async (t) => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  t.after(() => browser.close());
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(APP);
  await page.waitForFunction(() => window.done === true, null, { timeout: 60000 });
  const results = await page.evaluate(() => window.results);
  const by = Object.fromEntries(results.map((r) => [r.step, r]));
  for (const r of results) assert.ok(r.ok, `${r.step}: ${JSON.stringify(r.detail)}`);
  assert.deepEqual(
    results.map((r) => r.step),
    ['init', 'getPod', 'openShell', 'type in the terminal', 'download the recording', 'term.dispose() releases the session'],
  );
  const pod = by.getPod.detail;
  assert.equal(pod.defaultContainer, 'app');
  assert.deepEqual(
    pod.containers.map((c) => [c.name, c.state, c.reason ?? null]),
    [['proxy', 'running', null], ['app', 'running', null], ['metrics', 'waiting', 'CrashLoopBackOff']],
  );
  assert.equal(by.openShell.detail.shell, 'sh', 'nobash has no bash: openShell fell back to sh');
  assert.equal(by['type in the terminal'].detail.exitCode, 5);
  assert.deepEqual(by['term.dispose() releases the session'].detail, { stdinLocked: false, stdoutLocked: false });

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  assert.equal(download.suggestedFilename(), 'session.cast');
  const lines = (await readFile(await download.path(), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l));
  const [header, ...events] = lines;
  assert.deepEqual([header.version, header.width, header.height, header.title], [2, 100, 30, 'consumer app']);
  const out = events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
  const typed = events.filter((e) => e[1] === 'i').map((e) => e[2]).join('');
  assert.match(out, /^consumer ok\r?$/m);
  assert.match(out, /^30 100\r?$/m);
  assert.equal(typed, 'echo "consumer ""ok"; stty size\rexit 5\r');
  assert.deepEqual(errors, []);
});
