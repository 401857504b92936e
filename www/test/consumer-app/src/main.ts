// A console as an outside team would write it, with nothing but the packed kube-exec-wasm
// tarball and @xterm/xterm: getPod for the container list, openShell for a shell, the xterm
// addon for the terminal, record for a recording the user downloads. It runs that story once
// against the server in config.json and shows each step's outcome in `window.results`.
import '@xterm/xterm/css/xterm.css';
import { Terminal } from '@xterm/xterm';
import init, { getPod, openShell, record, type ExecError, type PodInfo } from 'kube-exec-wasm';
import { ExecAddon } from 'kube-exec-wasm/xterm';

interface Config {
  server: string;
  token: string;
}
interface Result {
  step: string;
  ok: boolean;
  detail: unknown;
}
declare global {
  interface Window {
    results: Result[];
    done: boolean;
  }
}
window.results = [];
window.done = false;

async function step<T>(name: string, f: () => Promise<T>): Promise<T> {
  try {
    const detail = await f();
    window.results.push({ step: name, ok: true, detail });
    return detail;
  } catch (err) {
    const e = err as ExecError;
    window.results.push({ step: name, ok: false, detail: `${e.code ?? ''} ${e.message ?? String(err)}` });
    throw err;
  }
}

function screen(term: Terminal): string {
  const b = term.buffer.active;
  const lines: string[] = [];
  for (let i = 0; i < b.length; i++) lines.push(b.getLine(i)?.translateToString(true) ?? '');
  return lines.join('\n');
}

async function until(what: () => boolean, ms = 15000) {
  const end = performance.now() + ms;
  while (!what()) {
    if (performance.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function main() {
  const { server, token } = (await (await fetch('config.json', { cache: 'no-store' })).json()) as Config;
  const where = { server, token, namespace: 'default' };
  await step('init', async () => void (await init()));

  const pod: PodInfo = await step('getPod', () => getPod({ ...where, pod: 'sidecar' }));

  const term = new Terminal({ cols: 100, rows: 30 });
  term.open(document.getElementById('terminal')!);
  const { session, shell } = await step('openShell', () =>
    openShell({ ...where, pod: 'nobash', terminalSize: { cols: term.cols, rows: term.rows } }),
  );
  const recording = record(session, { input: true, title: 'consumer app' });
  const addon = new ExecAddon(session);
  term.loadAddon(addon);

  await step('type in the terminal', async () => {
    await until(() => /\S/.test(screen(term))); // the prompt
    term.input('echo "consumer ""ok"; stty size\r', true);
    await until(() => /^consumer ok$/m.test(screen(term)) && /^30 100$/m.test(screen(term)));
    term.input('exit 5\r', true);
    const status = await session.exit;
    await addon.drained;
    return { shell, exitCode: status.exitCode, containers: pod.containers.map((c) => [c.name, c.state]), defaultContainer: pod.defaultContainer };
  });

  await step('download the recording', async () => {
    await recording.done;
    const a = document.getElementById('download') as HTMLAnchorElement;
    a.href = URL.createObjectURL(recording.blob());
    a.download = 'session.cast';
    a.hidden = false;
    return recording.header;
  });

  await step('term.dispose() releases the session', async () => {
    term.dispose();
    return { stdinLocked: session.stdin.locked, stdoutLocked: session.stdout.locked };
  });
}

main()
  .catch(() => {})
  .finally(() => (window.done = true));
