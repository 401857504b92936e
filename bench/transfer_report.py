#!/usr/bin/env python3
"""The file-transfer figures of a bench run (kind "transfer" in results.jsonl): upload/download
MB/s beside the plain exec byte stream (cat), their ratio, and memory over the big runs. Prints a
markdown block; with --markdown FILE, replaces the block between <!-- transfer:begin --> and
<!-- transfer:end --> in FILE."""
import argparse
import json
import os
import statistics
import sys


def mib(n):
    return f"{n / (1 << 20):.1f} MiB" if n is not None else "—"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--command", default="bash scripts/bench.sh --only transfer")
    ap.add_argument("--machine", default="")
    ap.add_argument("--markdown")
    a = ap.parse_args()
    result = None
    with open(os.path.join(a.run, "results.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            if r.get("kind") == "transfer":
                result = r
    if result is None:
        print("no transfer results in this run", file=sys.stderr)
        return 0
    runs = [r for r in result["runs"] if not r.get("error")]
    errors = [r for r in result["runs"] if r.get("error")]
    by = {(r["op"], r["rep"]): r for r in runs}
    reps = sorted({r["rep"] for r in runs})
    n = result["params"]["bytes"]
    lines = [
        f"Run: `{a.command}`; {len(reps)} interleaved repetitions of {mib(n)} per figure (the order of the two alternates)."
        + (f"  \nMachine: {a.machine}." if a.machine else ""),
        "",
        "| figure | kube-exec-wasm | plain exec byte stream | ratio (median of per-repetition ratios) | browser CPU (transfer / plain) |",
        "|---|---|---|---|---|",
    ]
    ok = True
    for kind, plain in (("upload", "`cat > FILE`, stdin written in 65,535-byte pieces, then `closeStdin()`"), ("download", "`cat FILE`, stdout read")):
        t = [by[(f"{kind} tar", r)] for r in reps if (f"{kind} tar", r) in by and (f"{kind} cat", r) in by]
        c = [by[(f"{kind} cat", r["rep"])] for r in t]
        if not t:
            lines.append(f"| {kind} | no successful runs | | | |")
            ok = False
            continue
        ratio = statistics.median(x["value"] / y["value"] for x, y in zip(t, c))
        cpu = lambda xs: statistics.median(x["browserCpu"] / x["seconds"] * 100 for x in xs)
        what = "`upload()` of a `File`, `tar -xmf -` in the pod" if kind == "upload" else "`download()`, every body read, `tar cf -` in the pod"
        lines.append(
            f"| {kind}, {mib(n)} ({what}) | {statistics.median(x['value'] for x in t):.0f} MB/s | {statistics.median(x['value'] for x in c):.0f} MB/s ({plain}) "
            f"| **{ratio:.2f}×** | {cpu(t):.0f} % / {cpu(c):.0f} % |"
        )
        ok = ok and ratio >= 0.8
    mem = result.get("memory") or []
    if mem:
        lines += [
            "",
            "| memory while it runs | bytes | JS heap before → peak (garbage included) → after | JS heap after `gc()`, every 64 MiB: min – max | wasm memory before → peak → after | MB/s |",
            "|---|---|---|---|---|---|",
        ]
        for m in mem:
            b, af = m["before"], m["after"]
            r = m.get("retained") or []
            kept = f"{mib(min(r))} – {mib(max(r))} ({len(r)} samples)" if r else "—"
            rate = f"{m['bytes'] / m['seconds'] / 1e6:.0f}" if m.get("seconds") and not m.get("error") else m.get("error") or "—"
            lines.append(
                f"| {m['op']} | {mib(m['bytes'])} | {mib(b.get('jsHeap'))} → {mib(m.get('peakHeap'))} → {mib(af.get('jsHeap'))} "
                f"| {kept} "
                f"| {mib(b.get('wasm'))} → {mib(m.get('peakWasm'))} → {mib(af.get('wasm'))} | {rate} |"
            )
    if errors:
        lines += ["", "Errors: " + "; ".join(f"{e['op']} rep {e['rep']}: {e['error']}" for e in errors)]
    block = "\n".join(lines)
    print(block)
    if a.markdown:
        text = open(a.markdown).read()
        start, end = "<!-- transfer:begin -->", "<!-- transfer:end -->"
        i, j = text.find(start), text.find(end)
        if i < 0 or j < 0:
            print(f"{a.markdown} has no {start} … {end} block", file=sys.stderr)
            return 1
        open(a.markdown, "w").write(text[: i + len(start)] + "\n" + block + "\n" + text[j:])
    return 0 if ok else 2


if __name__ == "__main__":
    sys.exit(main())
