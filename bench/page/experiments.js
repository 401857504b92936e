// Diagnostic variants for `bash scripts/bench.sh --experiments` (not part of any figure in the
// table): they isolate what a cost is made of. js-reference.js takes them through `wrapStdout`.

// js-coalesce: output that arrives
// in a burst (less than 1 ms after the previous message) is held and handed over in the next
// task, merged into one chunk (views over 16 KiB pass as they are): fewer stream chunks.
export function coalescer(enqueue, nocopy) {
  let pending = [], bytes = 0, scheduled = false, last = -1e9;
  const ch = new MessageChannel();
  const flush = () => {
    scheduled = false;
    if (pending.length === 1) enqueue(pending[0]);
    else if (pending.length > 1 && nocopy) enqueue({ byteLength: bytes });
    else if (pending.length > 1) {
      const all = new Uint8Array(bytes); let at = 0;
      for (const v of pending) { all.set(v, at); at += v.length; }
      enqueue(all);
    }
    pending = []; bytes = 0;
  };
  ch.port1.onmessage = flush;
  const push = (v) => {
    const now = performance.now();
    const burst = now - last < 1; last = now;
    if (!scheduled && (!burst || v.length > 16384)) { enqueue(v); return; }
    if (v.length > 16384) { flush(); enqueue(v); return; }
    pending.push(v); bytes += v.length;
    if (!scheduled) { scheduled = true; ch.port2.postMessage(0); }
  };
  push.flush = () => { flush(); ch.port1.close(); };
  return push;
}

