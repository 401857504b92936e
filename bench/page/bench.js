// The benchmark plan, run by the page itself (no DevTools client attached): every figure for the
// three clients on the same sessions, repetitions interleaved (the order rotates each
// repetition), results POSTed to the collector between timed windows.
import * as raw from './raw.js';
import * as jsref from './js-reference.js';
import { coalescer } from './experiments.js';

const MiB = 1 << 20;
const $log = document.getElementById('log');
const post = (path, body) => fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const log = (msg) => { $log.textContent += msg + '\n'; return post('/log', { msg }).catch(() => {}); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const settle = async () => { if (globalThis.gc) { gc(); gc(); } await sleep(30); };
const cpu = async () => (await fetch('/cpu')).json();

const cfg = await (await fetch('/config')).json();
const server = cfg.server, token = cfg.token;
const P = cfg.quick
  ? { reps: 1, bulk: 16 * MiB, small: 20000, rtt: 300, rttWarm: 30, b64: 16 * MiB, memBytes: 64 * MiB, memSessions: 10 }
  : { reps: 7, bulk: 256 * MiB, small: 100000, rtt: 2000, rttWarm: 200, b64: 128 * MiB, memBytes: 1024 * MiB, memSessions: 100 };
// File transfer: bytes per upload/download, and the size of the memory runs.
Object.assign(P, cfg.quick ? { transfer: 32 * MiB, transferMem: 128 * MiB } : { transfer: 256 * MiB, transferMem: 1024 * MiB });
if (cfg.reps) P.reps = cfg.reps;

// EXPERIMENT (--experiments): timestamps of the last WebSocket send and message event, to split
// a round trip into write → send, send → message event, message event → read.
const TRACE = { send: 0, recv: 0, on: !!cfg.experiments };
if (TRACE.on) {
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (d) { TRACE.send = performance.now(); return send.call(this, d); };
  const Orig = WebSocket;
  globalThis.WebSocket = class extends Orig {
    constructor(u, p) { super(u, p); this.addEventListener('message', () => { TRACE.recv = performance.now(); }); }
  };
}

// ---- the clients -----------------------------------------------------------------------------
let wasm = null, wasmExports = null, wasmError = null;
try {
  const pkg = await import('/pkg/kube_exec_wasm.js');
  wasmExports = await pkg.default();
  wasm = pkg;
} catch (e) { wasmError = String(e && e.stack || e); }
const wasmMemory = () => {
  if (!wasm) return null;
  if (typeof wasm.wasmMemoryBytes === 'function') return wasm.wasmMemoryBytes();
  return wasmExports && wasmExports.memory ? wasmExports.memory.buffer.byteLength : null;
};

// A stream client: exec, read stdout through its ReadableStream counting bytes.
async function streamReceive(execFn, o, bytes, onChunk) {
  const s = await execFn(o);
  const r = s.stdout.getReader();
  let n = 0, chunks = 0, tEnd = 0;
  for (;;) {
    const { value, done } = await r.read();
    if (done) break;
    n += value.byteLength;
    chunks++;
    if (onChunk && (chunks & 1023) === 0) onChunk();
    if (n >= bytes && !tEnd) tEnd = performance.now();
  }
  const status = await s.exit;
  if (!status.success) throw new Error('exit ' + JSON.stringify(status));
  return { n, chunks, tEnd };
}

async function streamEcho(execFn, o) {
  const s = await execFn({ ...o, stdin: true });
  const w = s.stdin.getWriter();
  const r = s.stdout.getReader();
  const b = new Uint8Array([0x61]);
  const parts = TRACE.on ? [[], [], []] : null;
  return {
    async rt() {
      const t0 = performance.now();
      const wp = w.write(b);
      const { value, done } = await r.read();
      const t1 = performance.now();
      if (done || value.byteLength !== 1) throw new Error('echo: unexpected ' + (done ? 'end' : value.byteLength + ' bytes'));
      await wp;
      if (parts) { parts[0].push(TRACE.send - t0); parts[1].push(TRACE.recv - TRACE.send); parts[2].push(t1 - TRACE.recv); }
      return t1 - t0;
    },
    async close() {
      w.releaseLock();
      await s.closeStdin();
      const status = await s.exit;
      r.releaseLock();
      if (!status.success) throw new Error('exit ' + JSON.stringify(status));
      if (!parts) return null;
      const m = (a) => { const x = [...a].sort((p, q) => p - q); return Math.round(x[x.length >> 1] * 1000); };
      return `write→send ${m(parts[0])} µs, send→message ${m(parts[1])} µs, message→read ${m(parts[2])} µs (medians)`;
    },
  };
}

const base = { server, token, namespace: 'default', pod: 'bench', stdout: true, stderr: true, stdin: false };
const CLIENTS = {
  raw: {
    receive: (o, bytes) => raw.receive(o, bytes),
    echo: (o) => raw.echo(o),
  },
  'js-reference': {
    receive: (o, bytes, onChunk) => streamReceive(jsref.exec, o, bytes, onChunk),
    echo: (o) => streamEcho(jsref.exec, o),
  },
};
if (cfg.experiments) {
  CLIENTS['js-coalesce-nocopy'] = {
    receive: (o, bytes, onChunk) => streamReceive(jsref.exec, { ...o, wrapStdout: (enq) => coalescer(enq, true) }, bytes, onChunk),
    echo: (o) => streamEcho(jsref.exec, { ...o, wrapStdout: (enq) => coalescer(enq, true) }),
  };
  CLIENTS['raw-retain'] = {
    receive: (o, bytes) => raw.receive({ ...o, retain: true }, bytes),
    echo: (o) => raw.echo(o),
  };
  CLIENTS['raw-view'] = {
    receive: (o, bytes) => raw.receive({ ...o, view: true }, bytes),
    echo: (o) => raw.echo(o),
  };
  CLIENTS['js-coalesce'] = {
    receive: (o, bytes, onChunk) => streamReceive(jsref.exec, { ...o, wrapStdout: (enq) => coalescer(enq, false) }, bytes, onChunk),
    echo: (o) => streamEcho(jsref.exec, { ...o, wrapStdout: (enq) => coalescer(enq, false) }),
  };
}
if (wasm) {
  CLIENTS['kube-exec-wasm'] = {
    receive: (o, bytes, onChunk) => streamReceive(wasm.exec, o, bytes, onChunk),
    echo: (o) => streamEcho(wasm.exec, o),
  };
}
for (const v of cfg.variants ? cfg.variants.split(',') : []) {
  try {
    const m = await import(`/pkg-${v}/kube_exec_wasm.js`);
    await m.default();
    CLIENTS[`kube-exec-wasm@${v}`] = {
      receive: (o, bytes, onChunk) => streamReceive(m.exec, o, bytes, onChunk),
      echo: (o) => streamEcho(m.exec, o),
    };
  } catch (e) { await log(`variant ${v}: ${e}`); }
}
if (cfg.clients) for (const k of Object.keys(CLIENTS)) if (!cfg.clients.split(',').includes(k)) delete CLIENTS[k];
const names = Object.keys(CLIENTS);
const orderFor = (rep) => names.map((_, i) => names[(i + rep) % names.length]);

// ---- workloads -------------------------------------------------------------------------------
// Throughput: bytes (or frames) per second from the exec call to the last payload byte.
async function throughput(id, { bytes, frame, protocols, unit }) {
  const o = { ...base, command: frame ? ['bulk', String(bytes), String(frame)] : ['small', String(bytes)], protocols };
  const runs = [];
  for (let rep = 0; rep < P.reps; rep++) {
    for (const name of orderFor(rep)) {
      await settle();
      const c0 = await cpu();
      const t0 = performance.now();
      let res, error = null;
      try { res = await CLIENTS[name].receive(o, bytes); } catch (e) { error = String(e); }
      const c1 = await cpu();
      const run = { workload: id, client: name, rep, bytes, frame, error };
      if (res) {
        if (res.n < bytes || !res.tEnd) run.error = `short: ${res.n} of ${bytes} bytes`;
        const s = (res.tEnd - t0) / 1000;
        Object.assign(run, { seconds: s, chunks: res.chunks, received: res.n,
          value: unit === 'MB/s' ? bytes / s / 1e6 : bytes / s, unit });
      }
      run.serverCpu = (c1.server - c0.server) / c1.hz;
      run.browserCpu = (c1.browser - c0.browser) / c1.hz;
      run.wall = (c1.t - c0.t);
      runs.push(run);
      await log(`${id} rep ${rep} ${name}: ${run.error ?? run.value.toFixed(1) + ' ' + unit} (server cpu ${(run.serverCpu / run.wall * 100).toFixed(0)}%)`);
    }
  }
  await post('/result', { kind: 'throughput', id, params: { bytes, frame, protocols }, runs });
}

// Round trips: each repetition opens one echo session per client, then alternates blocks of
// round trips between them (so that drift on the machine hits every client alike).
async function roundTrip(id) {
  const o = { ...base, command: ['echo'], protocols: ['v5.channel.k8s.io'] };
  const BLOCKS = 10, per = Math.ceil(P.rtt / BLOCKS);
  const runs = [];
  for (let rep = 0; rep < P.reps; rep++) {
    const order = orderFor(rep);
    const sess = {}, samples = {}, errors = {};
    await settle();
    for (const name of order) {
      samples[name] = [];
      try {
        sess[name] = await CLIENTS[name].echo(o);
        for (let i = 0; i < P.rttWarm; i++) await sess[name].rt();
      } catch (e) { errors[name] = String(e); delete sess[name]; }
    }
    for (let b = 0; b < BLOCKS; b++) {
      for (const name of order) {
        if (!sess[name]) continue;
        try { for (let i = 0; i < per; i++) samples[name].push(await sess[name].rt()); } catch (e) { errors[name] = String(e); delete sess[name]; }
      }
    }
    for (const name of order) {
      let trace = null;
      if (sess[name]) { try { trace = await sess[name].close(); } catch (e) { errors[name] = String(e); } }
      const err = errors[name] ?? null;
      runs.push({ workload: id, client: name, rep, error: err, samples: err ? null : samples[name], trace });
      const x = [...samples[name]].sort((a, b) => a - b);
      await log(`${id} rep ${rep} ${name}: ${err ?? `p50 ${(x[x.length >> 1] * 1000).toFixed(0)} µs`}${trace ? ' — ' + trace : ''}`);
    }
  }
  await post('/result', { kind: 'rtt', id, params: { count: BLOCKS * per, warmup: P.rttWarm, blocks: BLOCKS }, runs });
}

async function measureMemory() {
  await settle();
  const m = { jsHeap: performance.memory ? performance.memory.usedJSHeapSize : null, wasm: wasmMemory(), ua: null };
  if (globalThis.crossOriginIsolated && performance.measureUserAgentSpecificMemory) {
    try {
      const r = await Promise.race([performance.measureUserAgentSpecificMemory(), sleep(10000).then(() => null)]);
      m.ua = r ? r.bytes : null;
    } catch (e) { m.uaError = String(e); }
  }
  return m;
}

async function memory(id) {
  const runs = [];
  const frame = 64 * 1024;
  for (const name of names) {
    // One long session of memBytes.
    const before = await measureMemory();
    let peakHeap = null, peakWasm = before.wasm;
    const sample = () => {
      if (performance.memory) peakHeap = Math.max(peakHeap ?? 0, performance.memory.usedJSHeapSize);
      const w = wasmMemory(); if (w !== null) peakWasm = Math.max(peakWasm, w);
    };
    let error = null;
    const o = { ...base, command: ['bulk', String(P.memBytes), String(frame)], protocols: ['v5.channel.k8s.io'] };
    const t0 = performance.now();
    let res = null;
    try {
      res = name === 'raw' ? await CLIENTS.raw.receive(o, P.memBytes) : await CLIENTS[name].receive(o, P.memBytes, sample);
    } catch (e) { error = String(e); }
    const seconds = res ? (res.tEnd - t0) / 1000 : null;
    const after = await measureMemory();
    // Many short sessions (a leak per session would show here).
    const o2 = { ...base, command: ['bulk', String(MiB), String(frame)], protocols: ['v5.channel.k8s.io'] };
    let error2 = null;
    try { for (let i = 0; i < P.memSessions; i++) await CLIENTS[name].receive(o2, MiB); } catch (e) { error2 = String(e); }
    const afterSessions = await measureMemory();
    runs.push({ client: name, bytes: P.memBytes, seconds, error, before, after, peakHeap, peakWasm, sessions: P.memSessions, error2, afterSessions });
    await log(`${id} ${name}: heap ${before.jsHeap} -> ${after.jsHeap} (peak ${peakHeap}) -> ${afterSessions.jsHeap} after ${P.memSessions} sessions; wasm ${before.wasm} -> ${after.wasm} -> ${afterSessions.wasm}; ua ${before.ua} -> ${after.ua} -> ${afterSessions.ua} ${error ?? ''} ${error2 ?? ''}`);
  }
  await post('/result', { kind: 'memory', id, runs });
}

// File transfer (kube-exec-wasm only): upload() and download() of one file against the plain
// exec byte stream of the same bytes in the same page and the same pod — `cat > FILE` fed through
// session.stdin in 65,535-byte writes (as upload writes), and `cat FILE` read from stdout —
// alternating which goes first. Files live on /dev/shm (tmpfs), so the disk is not measured.
async function transfer(id) {
  if (!wasm || typeof wasm.upload !== 'function') { await log(`${id}: kube-exec-wasm has no upload()`); return; }
  const N = P.transfer;
  const tgt = { server, token, namespace: 'default', pod: 'demo' };
  const run = async (command, feed) => {
    const s = await wasm.exec({ ...tgt, command, stdin: !!feed });
    const out = s.stdout.getReader();
    let n = 0;
    const reading = (async () => { for (;;) { const { done, value } = await out.read(); if (done) return; n += value.byteLength; } })();
    if (feed) { const w = s.stdin.getWriter(); await feed(w); w.releaseLock(); await s.closeStdin(); }
    await reading;
    const st = await s.exit;
    if (!st.success) throw new Error(`${command.join(' ')}: ${JSON.stringify(st)}`);
    return n;
  };
  const dir = `/dev/shm/kew-bench-${Date.now()}`;
  await run(['mkdir', '-p', dir]);
  const chunk = new Uint8Array(MiB);
  for (let i = 0; i < MiB; i += 65536) crypto.getRandomValues(chunk.subarray(i, i + 65536));
  const blobOf = (n) => new Blob(Array.from({ length: n / MiB }, () => chunk));
  const src = blobOf(N);
  const feedBlob = (blob) => async (w) => {
    const r = blob.stream().getReader();
    for (;;) {
      const { done, value } = await r.read();
      if (done) return;
      for (let at = 0; at < value.byteLength; at += 65535) await w.write(value.subarray(at, at + 65535));
    }
  };
  const readEntries = async (entries, sample) => {
    let n = 0;
    for (const r = entries.getReader(); ;) {
      const { done, value } = await r.read();
      if (done) return n;
      for (const b = value.body.getReader(); ;) { const x = await b.read(); if (x.done) break; n += x.value.byteLength; if (sample) sample(n); }
    }
  };
  const ops = {
    'upload tar': async () => { const r = await wasm.upload(tgt, [new File([src], 'up.bin')], { destDir: dir }); return r.bytes; },
    'upload cat': () => run(['sh', '-c', `cat > ${dir}/cat.bin`], feedBlob(src)).then(() => N),
    'download tar': async () => readEntries(await wasm.download(tgt, `${dir}/up.bin`)),
    'download cat': () => run(['cat', `${dir}/up.bin`]),
  };
  await ops['upload tar'](); // the file the downloads read
  const runs = [];
  for (let rep = 0; rep < P.reps; rep++) {
    for (const pair of [['upload tar', 'upload cat'], ['download tar', 'download cat']]) {
      for (const op of rep % 2 ? [...pair].reverse() : pair) {
        await settle();
        const c0 = await cpu();
        const t0 = performance.now();
        let n = 0, error = null;
        try { n = await ops[op](); } catch (e) { error = String(e); }
        const seconds = (performance.now() - t0) / 1000;
        const c1 = await cpu();
        if (!error && n !== N) error = `moved ${n} of ${N} bytes`;
        const r = { op, rep, bytes: N, seconds, value: N / seconds / 1e6, error,
          serverCpu: (c1.server - c0.server) / c1.hz, browserCpu: (c1.browser - c0.browser) / c1.hz, wall: c1.t - c0.t };
        runs.push(r);
        await log(`${id} rep ${rep} ${op}: ${error ?? r.value.toFixed(1) + ' MB/s'}`);
      }
    }
  }
  // Memory while transferMem bytes go up and then down (JS heap sampled during the runs).
  const M = P.transferMem;
  const memory = [];
  // A Blob of Blobs (Chromium keeps references, no copy): Chromium never finished building a
  // 1 GiB Blob of 1,024 parts, or of one 1 GiB buffer, here (the stream's first read did not
  // resolve within minutes).
  const part = blobOf(Math.min(M, 64 * MiB));
  const big = new Blob(Array.from({ length: M / part.size }, () => part));
  for (const op of ['upload', 'download']) {
    const before = await measureMemory();
    let peakHeap = before.jsHeap, peakWasm = before.wasm, retained = [], error = null, moved = 0, nextGc = 64 * MiB;
    // Every chunk: the heap (garbage included) and the wasm memory; every 64 MiB: the heap
    // right after gc(), i.e. what the transfer really holds on to.
    const sample = (bytes) => {
      moved = bytes ?? moved;
      if (performance.memory) peakHeap = Math.max(peakHeap ?? 0, performance.memory.usedJSHeapSize);
      const w = wasmMemory(); if (w !== null) peakWasm = Math.max(peakWasm ?? 0, w);
      if (moved >= nextGc && globalThis.gc && performance.memory) {
        nextGc += 64 * MiB;
        gc();
        retained.push(performance.memory.usedJSHeapSize);
      }
    };
    const t0 = performance.now();
    try {
      if (op === 'upload') await wasm.upload(tgt, [new File([big], 'mem.bin')], { destDir: dir, onProgress: (p) => sample(p.bytes) });
      else if ((await readEntries(await wasm.download(tgt, `${dir}/mem.bin`), sample)) !== M) error = 'short download';
    } catch (e) { error = String(e); }
    const seconds = (performance.now() - t0) / 1000;
    const after = await measureMemory();
    memory.push({ op, bytes: M, seconds, error, before, after, peakHeap, peakWasm, retained });
    await log(`${id} memory ${op} ${M} B: heap ${before.jsHeap} -> peak ${peakHeap} -> ${after.jsHeap}; after gc() every 64 MiB: ${retained.join(' ')}; wasm ${before.wasm} -> ${peakWasm} -> ${after.wasm} ${error ?? ''}`);
  }
  await run(['rm', '-rf', dir]);
  await post('/result', { kind: 'transfer', id, params: { bytes: N, memBytes: M }, runs, memory });
}

// ---- the plan --------------------------------------------------------------------------------
try {
  const env = {
    userAgent: navigator.userAgent, crossOriginIsolated: globalThis.crossOriginIsolated,
    fromBase64: typeof Uint8Array.fromBase64 === 'function', gc: !!globalThis.gc,
    preciseMemory: !!performance.memory, clients: names, wasmError, params: P,
  };
  // Timer resolution as the page sees it.
  let res = Infinity, last = performance.now();
  for (let i = 0; i < 100000 && res > 0.001; i++) { const t = performance.now(); if (t > last) { res = Math.min(res, t - last); last = t; } }
  env.timerResolutionMs = res;
  await post('/result', { kind: 'env', env });
  await log(`clients: ${names.join(', ')}${wasmError ? ' (kube-exec-wasm unavailable: ' + wasmError.split('\n')[0] + ')' : ''}; timer ${res} ms; isolated ${env.crossOriginIsolated}`);

  const only = cfg.only ? cfg.only.split(',') : null;
  const want = (id) => !only || only.includes(id);
  if (want('bulk-64k')) await throughput('bulk-64k', { bytes: P.bulk, frame: 64 * 1024, protocols: ['v5.channel.k8s.io'], unit: 'MB/s' });
  if (want('bulk-4k')) await throughput('bulk-4k', { bytes: P.bulk, frame: 4 * 1024, protocols: ['v5.channel.k8s.io'], unit: 'MB/s' });
  if (want('small')) await throughput('small', { bytes: P.small, frame: 0, protocols: ['v5.channel.k8s.io'], unit: 'frames/s' });
  if (want('rtt')) await roundTrip('rtt');
  if (want('base64')) await throughput('base64', { bytes: P.b64, frame: 64 * 1024, protocols: ['v4.base64.channel.k8s.io'], unit: 'MB/s' });
  if (want('memory')) await memory('memory');
  if (want('transfer')) await transfer('transfer');
  await post('/done', { ok: true });
  $log.textContent += 'done\n';
} catch (e) {
  await post('/done', { ok: false, error: String(e && e.stack || e) });
}
