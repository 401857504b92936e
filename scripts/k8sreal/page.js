// The keepalive cases of scripts/verify-k8sreal.sh, run with the release package against the
// Kubernetes v1.35.7 streaming code (idle timeouts cut to 2 s): `v5` is the API server's
// translator path, `v4` the kubelet's code.
import init, { exec } from "./pkg/kube_exec_wasm.js";
import { v4, v5 } from "./config.js";

const results = [];
async function text(stream) {
  const d = new TextDecoder();
  let s = "";
  for (const r = stream.getReader(); ;) {
    const { done, value } = await r.read();
    if (done) return s + d.decode();
    s += d.decode(value, { stream: true });
  }
}
async function run(name, want, options, feed) {
  let got;
  try {
    const s = await exec({ namespace: "default", pod: "demo", ...options });
    const out = text(s.stdout);
    if (feed) await feed(s);
    const status = await s.exit;
    got = `${JSON.stringify(await out)} exit ${status.exitCode}`;
  } catch (e) {
    got = `${e.code}`;
  }
  results.push({ name, ok: got === want, detail: got === want ? got : `got ${got}, want ${want}` });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const quiet = ["sh", "-c", "sleep 4; echo survived"];

await init();
for (const [path, server, protocols] of [
  ["v5 translator", v5, ["v5.channel.k8s.io"]],
  ["kubelet v4", v4, ["v4.channel.k8s.io"]],
  ["kubelet v4.base64", v4, ["v4.base64.channel.k8s.io"]],
  ["kubelet channel.k8s.io", v4, ["channel.k8s.io"]],
]) {
  const o = { server, protocols, command: quiet };
  await run(`${path}: quiet 4 s, keepalive off: cut by the 2 s idle timeout`, "ConnectionLost", { ...o, keepalive: 0 });
  await run(`${path}: quiet 4 s, no stdin, keepalive 500 ms: survives`, '"survived\\n" exit 0', { ...o, keepalive: 500 });
  // With stdin: nothing of the keepalive reaches the process (od shows every byte it read).
  const withStdin = { server, protocols, stdin: true, keepalive: 500 };
  if (protocols[0].startsWith("v5")) {
    await run(`${path}: stdin open 2 s then closed, 4 s more: od reads only "ab"`, '"0000000   a   b\\n0000002\\nafter\\n" exit 0',
      { ...withStdin, command: ["sh", "-c", "od -c; sleep 4; echo after"] },
      async (s) => {
        const w = s.stdin.getWriter();
        await w.write("ab");
        await sleep(2000);
        await w.close();
      });
  } else {
    await run(`${path}: stdin open, 2 bytes then 4 s quiet: head reads only "ab"`, '"0000000   a   b\\n0000002\\nafter\\n" exit 0',
      { ...withStdin, command: ["sh", "-c", "head -c 2 | od -c; sleep 4; echo after"] },
      async (s) => {
        const w = s.stdin.getWriter();
        await w.write("ab");
        w.releaseLock();
      });
  }
}

// For comparison, the frame the SDK used to send: an empty *stdin frame* [0x00] after the v5
// CLOSE of stdin reaches the closed pipe; the server logs an error for each (see the log).
await new Promise((resolve) => {
  const ws = new WebSocket(`${v5.replace("http", "ws")}/api/v1/namespaces/default/pods/demo/exec?command=sleep&command=1&stdin=true&stdout=true`, ["v5.channel.k8s.io"]);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => {
    ws.send(new Uint8Array([255, 0]));
    ws.send(new Uint8Array([0]));
    ws.send(new Uint8Array(0));
  };
  ws.onclose = resolve;
});
results.push({ name: "comparison: [0xff,0x00], [0x00], then an empty message on v5 (see the v5 log)", ok: true });

await fetch("/result", { method: "POST", body: JSON.stringify(results) });
