// The file-transfer browser tests (tests/web_transfer.rs runs each by name): upload and
// download against the devserver's real processes (real GNU tar on the other side), checked
// by what a user sees — bytes and hashes, modes, names, typed errors.

const MiB = 1 << 20;
const enc = new TextEncoder();
const dec = new TextDecoder();

function fail(message) {
  throw new Error(message);
}

function eq(got, want, what) {
  if (got !== want) fail(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

function target(cfg, pod = "demo") {
  return { server: cfg.server, token: cfg.token, namespace: "default", pod, protocols: cfg.protocols };
}

async function bytesOf(stream) {
  const chunks = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  return new Uint8Array(await new Blob(chunks).arrayBuffer());
}

// Runs a shell script in `pod`: its stdout as text; fails unless it exits 0.
async function sh(sdk, cfg, script, pod = "demo") {
  const s = await sdk.exec({ ...target(cfg, pod), command: ["sh", "-c", script] });
  const [out, err] = await Promise.all([bytesOf(s.stdout), bytesOf(s.stderr)]);
  const st = await s.exit;
  if (!st.success) fail(`${script}: exit ${st.exitCode}: ${dec.decode(err)}`);
  return dec.decode(out);
}

async function sha256(bytes) {
  const d = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function random(n) {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

let dirs = 0;
async function tmpdir(sdk, cfg) {
  const d = `/tmp/kew-transfer-${Date.now()}-${dirs++}-${Math.random().toString(36).slice(2, 8)}`;
  await sh(sdk, cfg, `mkdir -p ${d}`);
  return d;
}

// Every entry of a download with its body bytes, or the error that ended the stream (with the
// entries yielded before it).
async function entries(stream) {
  const all = [];
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { all, error: null };
      all.push({ ...value, bytes: await bytesOf(value.body) });
    }
  } catch (error) {
    return { all, error };
  }
}

async function rejects(promise, code, what) {
  try {
    await promise;
  } catch (e) {
    if (!(e instanceof Error)) fail(`${what}: rejected with a non-Error ${e}`);
    eq(e.code, code, `${what}: error code (message: ${e.message})`);
    if (typeof e.hint !== "string" || e.hint.length < 20) fail(`${what}: no hint`);
    return e;
  }
  fail(`${what}: resolved, expected ${code}`);
}

// 100 MiB of random bytes up and down, compared by SHA-256 here and in the container.
async function bigRoundTrip(sdk, cfg) {
  const data = random(100 * MiB);
  const want = await sha256(data);
  const dir = await tmpdir(sdk, cfg);
  let last = null;
  const res = await sdk.upload(target(cfg), [new File([data], "big.bin")], { destDir: dir, onProgress: (p) => (last = p) });
  eq(res.files, 1, "files");
  eq(res.bytes, 100 * MiB, "bytes");
  eq(last && last.bytes, 100 * MiB, "last progress");
  eq(last.total, 100 * MiB, "progress total");
  eq((await sh(sdk, cfg, `sha256sum ${dir}/big.bin`)).slice(0, 64), want, "sha256 in the container");
  let down = null;
  const got = await entries(await sdk.download(target(cfg), `${dir}/big.bin`, { onProgress: (p) => (down = p) }));
  eq(down && down.bytes, 100 * MiB, "download progress bytes");
  eq(down.path, "big.bin", "download progress path");
  if (got.error) throw got.error;
  eq(got.all.length, 1, "entries");
  eq(got.all[0].path, "big.bin", "path");
  eq(got.all[0].size, 100 * MiB, "size");
  eq(await sha256(got.all[0].bytes), want, "sha256 of the download");
  await sh(sdk, cfg, `rm -rf ${dir}`);
}

// The tree of the many-files test: paths, types, modes, bodies.
function tree() {
  const files = [];
  const modes = [0o644, 0o600, 0o755, 0o640];
  for (let i = 0; i < 1000; i++) {
    const size = i % 10 === 0 ? 0 : (i * 7919) % 3000;
    files.push({ path: `t/many/f${String(i).padStart(4, "0")}.txt`, data: random(size), mode: modes[i % 4] });
  }
  const long100 = "n".repeat(150);
  const deep = ["a".repeat(100), "b".repeat(100), "c".repeat(100)].join("/");
  files.push({ path: `t/${long100}`, data: enc.encode("over 100 bytes\n"), mode: 0o644 });
  files.push({ path: `t/${deep}/f.txt`, data: enc.encode("over 255 bytes\n"), mode: 0o600 });
  files.push({ path: "t/grüße ✓/日本語.txt", data: enc.encode("non-ASCII ✓\n"), mode: 0o644 });
  files.push({ path: "t/emoji 🎉.bin", data: random(777), mode: 0o755 });
  files.push({ path: "t/empty.txt", data: new Uint8Array(0), mode: 0o644 });
  const dirsList = [
    { path: "t/empty-dir", type: "directory", mode: 0o700 },
    { path: "t/sub/empty-too", type: "directory", mode: 0o750 },
  ];
  return { files, dirs: dirsList };
}

async function manyFiles(sdk, cfg) {
  const { files, dirs: dirList } = tree();
  const dir = await tmpdir(sdk, cfg);
  const res = await sdk.upload(target(cfg), [...dirList, ...files], { destDir: dir });
  eq(res.files, files.length, "files uploaded");
  eq(res.bytes, files.reduce((n, f) => n + f.data.length, 0), "bytes uploaded");
  // In the container: every file with its mode, size and hash; every listed directory's mode.
  const listing = await sh(sdk, cfg, `cd ${dir} && find t -type f -printf '%m %s %p\\n' -o -type d -printf 'd %m %p\\n'`);
  const seen = new Map(listing.trim().split("\n").map((l) => {
    const parts = l.split(" ");
    return parts[0] === "d" ? [parts.slice(2).join(" "), { dir: true, mode: parseInt(parts[1], 8) }]
      : [parts.slice(2).join(" "), { mode: parseInt(parts[0], 8), size: Number(parts[1]) }];
  }));
  for (const f of files) {
    const s = seen.get(f.path) || fail(`${f.path} missing in the container`);
    eq(s.mode, f.mode, `${f.path} mode`);
    eq(s.size, f.data.length, `${f.path} size`);
  }
  for (const d of dirList) eq(seen.get(d.path) && seen.get(d.path).mode, d.mode, `${d.path} mode`);
  const sums = await sh(sdk, cfg, `cd ${dir} && find t -type f -exec sha256sum {} +`);
  const hashes = new Map(sums.trim().split("\n").map((l) => [l.slice(66), l.slice(0, 64)]));
  for (const f of files) eq(hashes.get(f.path), await sha256(f.data), `${f.path} sha256`);
  // Down again: the same paths, types, modes, sizes and bytes.
  const got = await entries(await sdk.download(target(cfg), `${dir}/t`));
  if (got.error) throw got.error;
  const byPath = new Map(got.all.map((e) => [e.path, e]));
  for (const f of files) {
    const e = byPath.get(f.path) || fail(`${f.path} not downloaded`);
    eq(e.type, "file", `${f.path} type`);
    eq(e.mode, f.mode, `${f.path} mode`);
    eq(e.size, f.data.length, `${f.path} size`);
    eq(await sha256(e.bytes), await sha256(f.data), `${f.path} bytes`);
  }
  for (const d of dirList) {
    const e = byPath.get(d.path) || fail(`${d.path} not downloaded`);
    eq(e.type, "directory", `${d.path} type`);
    eq(e.mode, d.mode, `${d.path} mode`);
  }
  eq(got.all.filter((e) => e.type === "file").length, files.length, "file entries");
  // The collectors: one file into a File, a directory into a .tar that GNU tar lists.
  const one = await sdk.toFile(await sdk.download(target(cfg), `${dir}/t/grüße ✓/日本語.txt`));
  eq(one.name, "日本語.txt", "toFile name");
  eq(dec.decode(await one.arrayBuffer()), "non-ASCII ✓\n", "toFile bytes");
  await rejects(sdk.toFile(await sdk.download(target(cfg), `${dir}/t/sub`)), "InvalidOptions", "toFile of a directory");
  const tar = await sdk.toTar(await sdk.download(target(cfg), `${dir}/t/grüße ✓`));
  await sdk.upload(target(cfg), [{ path: "copy.tar", data: tar }], { destDir: dir });
  eq(await sh(sdk, cfg, `cd ${dir} && tar tf copy.tar`), "grüße ✓/\ngrüße ✓/日本語.txt\n", "toTar listed by GNU tar");
  await sh(sdk, cfg, `rm -rf ${dir}`);
}

async function noTar(sdk, cfg) {
  const up = await rejects(sdk.upload(target(cfg, "notar"), [{ path: "x", data: "x" }]), "NoTar", "upload");
  if (!/tar/.test(up.message)) fail(`upload message does not name tar: ${up.message}`);
  if (!/ephemeral debug container/.test(up.hint)) fail(`hint: ${up.hint}`);
  const got = await entries(await sdk.download(target(cfg, "notar"), "/etc/hostname"));
  eq(got.all.length, 0, "entries");
  eq(got.error && got.error.code, "NoTar", `download error (${got.error && got.error.message})`);
}

async function badDestination(sdk, cfg) {
  const e = await rejects(sdk.upload(target(cfg), [{ path: "x", data: "x" }], { destDir: "/nonexistent/kew" }), "TarFailed", "upload");
  if (!/\/nonexistent\/kew: Cannot (open|chdir): No such file or directory/.test(e.message)) fail(`message: ${e.message}`);
  const d = await entries(await sdk.download(target(cfg), "/nonexistent/kew"));
  eq(d.error && d.error.code, "TarFailed", "download of a missing path");
  if (!/No such file or directory/.test(d.error.message)) fail(`message: ${d.error.message}`);
}

async function malicious(sdk, cfg) {
  const cases = [
    ["dotdot", '"../x"', ["safe/ok.txt"]],
    ["absolute", '"/etc/x"', ["safe/ok.txt"]],
    ["symlink_root", '"evil"', ["safe/ok.txt"]],
    ["symlink_then_file", '"safe/in/x"', ["safe", "safe/in"]],
  ];
  for (const [name, entry, safe] of cases) {
    const got = await entries(await sdk.download(target(cfg, "evil-tar"), name));
    eq(got.error && got.error.code, "UnsafeEntry", `${name}: error (${got.error && got.error.message})`);
    if (!got.error.message.includes(`refused entry ${entry}`)) fail(`${name}: message ${got.error.message}`);
    eq(JSON.stringify(got.all.map((e) => e.path)), JSON.stringify(safe), `${name}: what was yielded`);
    const ok = got.all.find((e) => e.path === "safe/ok.txt");
    if (ok) eq(dec.decode(ok.bytes), "ok\n", `${name}: the safe file's bytes`);
  }
}

// Aborting mid-upload rejects with Aborted and ends the remote process.
async function abortUpload(sdk, cfg) {
  const dir = await tmpdir(sdk, cfg);
  const ac = new AbortController();
  const big = new Blob([random(64 * MiB)]);
  const up = sdk.upload(target(cfg), [{ path: "big", data: big }], {
    destDir: dir,
    signal: ac.signal,
    onProgress: (p) => {
      if (p.bytes >= 4 * MiB) ac.abort();
    },
  });
  await rejects(up, "Aborted", "aborted upload");
  // The remote tar is gone (the [x] keeps this grep from matching itself).
  const tag = dir.slice(-6);
  let left = "";
  for (let i = 0; i < 50; i++) {
    left = await sh(sdk, cfg, `grep -l '${tag.slice(0, -1)}[${tag.slice(-1)}]' /proc/[0-9]*/cmdline 2>/dev/null | wc -l`);
    if (left.trim() === "0") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  eq(left.trim(), "0", "remote processes left after the abort");
  const ac2 = new AbortController();
  const stream = await sdk.download(target(cfg), "/usr/bin", { signal: ac2.signal, onProgress: () => ac2.abort() });
  const got = await entries(stream);
  eq(got.error && got.error.code, "Aborted", "aborted download");
  await sh(sdk, cfg, `rm -rf ${dir}`);
}

async function badInput(sdk, cfg) {
  await rejects(sdk.upload(target(cfg), [{ path: "../x", data: "x" }]), "InvalidOptions", "upload of ../x");
  await rejects(sdk.upload(target(cfg), [{ path: "/etc/x", data: "x" }]), "InvalidOptions", "upload of /etc/x");
  await rejects(sdk.upload(target(cfg), [new Blob(["x"])]), "InvalidOptions", "a Blob without a name");
  await rejects(sdk.upload(target(cfg), "x"), "InvalidOptions", "files not an array");
  await rejects(sdk.upload({ ...target(cfg), command: ["x"] }, []), "InvalidOptions", "a target with a command");
  await rejects(sdk.download(target(cfg), ""), "InvalidOptions", "download of an empty path");
}

const TESTS = { bigRoundTrip, manyFiles, noTar, badDestination, malicious, abortUpload, badInput };

export async function run(name, sdk, cfg) {
  await TESTS[name](sdk, cfg);
}
