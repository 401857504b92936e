// raw: a plain WebSocket that only counts bytes: the browser's own limit for each workload.
import { url, protocols } from './js-reference.js';

function open(o) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url(o), protocols(o));
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => resolve(ws);
    ws.onerror = () => {};
    ws.onclose = (ev) => reject(new Error(`raw: connect failed (${ev.code})`));
  });
}

function closed(ws) {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) resolve();
    else ws.onclose = () => resolve();
  });
}

// Counts payload bytes (message length minus the channel byte) until `bytes` arrived.
// Returns the time at which the last one arrived, then waits for the server's close.
export async function receive(o, bytes) {
  let n = 0, msgs = 0, tEnd = 0;
  let done;
  const reached = new Promise((r) => { done = r; });
  const ws = await open(o);
  const text = o.protocols && o.protocols[0].includes('base64');
  if (text && o.view) {
    // EXPERIMENT (bench --experiments): decode each payload with Uint8Array.fromBase64.
    ws.onmessage = (ev) => {
      const s = ev.data;
      msgs++;
      if (s.length > 1) n += Uint8Array.fromBase64(s.substring(1)).byteLength;
      if (n >= bytes && !tEnd) { tEnd = performance.now(); done(); }
    };
  } else if (text) {
    // base64 raw: count the decoded length from the text length alone (no decoding).
    ws.onmessage = (ev) => {
      const s = ev.data, len = s.length;
      msgs++;
      if (len > 1) n += ((len - 1) >> 2) * 3 - (s.charCodeAt(len - 1) === 61 ? (s.charCodeAt(len - 2) === 61 ? 2 : 1) : 0);
      if (n >= bytes && !tEnd) { tEnd = performance.now(); done(); }
    };
  } else if (o.retain) {
    // EXPERIMENT (bench --experiments): keep each payload view alive until the next task
    // (as a stream consumer does), then drop it.
    let held = [], sched = false;
    const ch = new MessageChannel();
    ch.port1.onmessage = () => { sched = false; held = []; };
    ws.onmessage = (ev) => {
      const d = ev.data;
      msgs++;
      if (new Uint8Array(d, 0, 1)[0] === 1) { const v = new Uint8Array(d, 1); held.push(v); n += v.byteLength; }
      if (!sched) { sched = true; ch.port2.postMessage(0); }
      if (n >= bytes && !tEnd) { tEnd = performance.now(); done(); }
    };
  } else if (o.view) {
    // EXPERIMENT (bench --experiments): also read the channel byte and make the payload view.
    ws.onmessage = (ev) => {
      const d = ev.data;
      msgs++;
      if (new Uint8Array(d, 0, 1)[0] === 1) n += new Uint8Array(d, 1).byteLength;
      if (n >= bytes && !tEnd) { tEnd = performance.now(); done(); }
    };
  } else {
    ws.onmessage = (ev) => {
      msgs++;
      n += ev.data.byteLength - 1;
      if (n >= bytes && !tEnd) { tEnd = performance.now(); done(); }
    };
  }
  const c = closed(ws);
  await Promise.race([reached, c]);
  await c;
  ws.onmessage = null;
  return { n, chunks: msgs, tEnd };
}

// Interactive round trip: an echo session; rt() sends one stdin byte and waits for the echoed
// stdout frame, returning the time it took (ms).
export async function echo(o) {
  const ws = await open(o);
  const frame = new Uint8Array([0, 0x61]);
  let wake = null;
  ws.onmessage = (ev) => { if (ev.data.byteLength > 1 && wake) { const w = wake; wake = null; w(); } };
  const c = closed(ws);
  return {
    async rt() {
      const p = new Promise((r) => { wake = r; });
      const t0 = performance.now();
      ws.send(frame);
      await p;
      return performance.now() - t0;
    },
    async close() {
      ws.send(new Uint8Array([255, 0])); // v5 CLOSE stdin: the echo command ends
      await c;
    },
  };
}
