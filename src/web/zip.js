// kube-exec-wasm/zip: collects a download() into a .zip Blob with fflate's streaming Zip
// (stored, not compressed: container files are often compressed already, and storing keeps
// the CPU free). A separate entry point, so the main package imports nothing.
import { Zip, ZipPassThrough } from "fflate";

// fflate writes no Zip64 records: each entry must stay under 4 GiB.
const ZIP32_MAX = 0xffffffff;

function zipError(message) {
  return Object.assign(new Error(`InvalidOptions: ${message}`), {
    name: "ExecError",
    code: "InvalidOptions",
    hint: "toZip takes the stream download() resolved with; entries over 4 GiB need toTar",
  });
}

// Adds one entry (Unix mode and mtime kept) with its chunks.
function add(zip, name, mode, mtime, chunks) {
  const f = new ZipPassThrough(name);
  f.os = 3;
  f.attrs = mode << 16;
  f.mtime = new Date(Math.max(mtime, 315532800) * 1000); // zip times start in 1980
  zip.add(f);
  chunks.forEach((c) => f.push(c));
  f.push(new Uint8Array(0), true);
}

export async function toZip(entries) {
  if (!(entries instanceof ReadableStream)) throw zipError("expected the stream that download() resolved with");
  const out = [];
  let failed = null;
  const zip = new Zip((err, chunk) => {
    if (err) failed = err;
    else out.push(chunk);
  });
  const files = new Map();
  const reader = entries.getReader();
  for (;;) {
    const { done, value: e } = await reader.read();
    if (done) break;
    if (e.size > ZIP32_MAX) {
      reader.cancel().catch(() => {});
      throw zipError(`${e.path} has ${e.size} bytes, over the 4 GiB a zip entry holds here`);
    }
    const chunks = [];
    const br = e.body.getReader();
    for (;;) {
      const r = await br.read();
      if (r.done) break;
      chunks.push(r.value);
    }
    if (e.type === "file") {
      files.set(e.path, chunks);
      add(zip, e.path, 0o100000 | e.mode, e.mtime, chunks);
    } else if (e.type === "directory") {
      add(zip, `${e.path}/`, 0o040000 | e.mode, e.mtime, []);
    } else if (e.type === "symlink") {
      add(zip, e.path, 0o120777, e.mtime, [new TextEncoder().encode(e.linkTarget)]);
    } else if (e.type === "link") {
      // Zip has no hard links: a copy of the earlier file.
      add(zip, e.path, 0o100000 | e.mode, e.mtime, files.get(e.linkTarget) || []);
    }
  }
  zip.end();
  if (failed) throw failed;
  return new Blob(out, { type: "application/zip" });
}
