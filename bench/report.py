#!/usr/bin/env python3
"""Turns one benchmark run (the page's results.jsonl, criterion's estimates, the package sizes)
into a JSON summary and the results block of BENCHMARKS.md (between the bench:begin/end markers).
Every figure is the median over repetitions of a per-repetition ratio to raw within the run."""
import argparse
import datetime
import glob
import gzip
import json
import os
import statistics
import sys

CLIENTS = ["raw", "js-reference", "kube-exec-wasm", "js-coalesce", "raw-view", "js-coalesce-nocopy", "raw-retain"]
TABLE = ["raw", "js-reference", "kube-exec-wasm"]
KiB, MiB = 1024, 1024 * 1024
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def pct(sorted_xs, q):
    if not sorted_xs:
        return None
    i = min(len(sorted_xs) - 1, max(0, int(round(q * (len(sorted_xs) - 1)))))
    return sorted_xs[i]


def load(run):
    out = {"throughput": {}, "rtt": {}, "memory": None, "env": None, "done": None}
    with open(os.path.join(run, "results.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            if r["kind"] == "env":
                out["env"] = r["env"]
            elif r["kind"] == "throughput":
                out["throughput"][r["id"]] = r
            elif r["kind"] == "rtt":
                out["rtt"][r["id"]] = r
            elif r["kind"] == "memory":
                out["memory"] = r
    done = os.path.join(run, "done.json")
    if os.path.exists(done):
        out["done"] = json.load(open(done))
    return out


def summarize_throughput(r):
    runs = r["runs"]
    reps = sorted({x["rep"] for x in runs})
    by = {(x["client"], x["rep"]): x for x in runs}
    clients = [c for c in CLIENTS if any(x["client"] == c for x in runs)]
    clients += sorted({x["client"] for x in runs} - set(clients))
    s = {"params": r["params"], "unit": None, "clients": {}, "errors": [x for x in runs if x.get("error")]}
    for c in clients:
        vals, ratios, vs_js, scpu, bcpu, bsec, chunks = [], [], [], [], [], [], []
        for rep in reps:
            x = by.get((c, rep))
            if not x or x.get("error") or x.get("value") is None:
                continue
            s["unit"] = x["unit"]
            vals.append(x["value"])
            chunks.append(x.get("chunks"))
            if x.get("wall"):
                scpu.append(x["serverCpu"] / x["wall"])
                bcpu.append(x["browserCpu"] / x["wall"])
                bsec.append(x["browserCpu"])
            rw = by.get(("raw", rep))
            if rw and not rw.get("error") and rw.get("value"):
                ratios.append(x["value"] / rw["value"])
            js = by.get(("js-reference", rep))
            if js and not js.get("error") and js.get("value"):
                vs_js.append(x["value"] / js["value"])
        s["clients"][c] = {
            "median": med(vals), "values": vals, "ratio_to_raw": med(ratios), "ratios": ratios,
            "ratio_to_js_reference": med(vs_js), "server_cpu": med(scpu), "browser_cpu": med(bcpu), "browser_cpu_seconds": med(bsec), "chunks": med(chunks),
            "ok_reps": len(vals),
        }
    return s


def summarize_rtt(r):
    runs = r["runs"]
    reps = sorted({x["rep"] for x in runs})
    by = {(x["client"], x["rep"]): x for x in runs}
    clients = [c for c in CLIENTS if any(x["client"] == c for x in runs)]
    clients += sorted({x["client"] for x in runs} - set(clients))
    s = {"params": r["params"], "clients": {}, "errors": [{k: v for k, v in x.items() if k != "samples"} for x in runs if x.get("error")]}
    per = {}
    for c in clients:
        for rep in reps:
            x = by.get((c, rep))
            if x and x.get("samples"):
                xs = sorted(x["samples"])
                per[(c, rep)] = (pct(xs, 0.5), pct(xs, 0.99))
    for c in clients:
        p50s = [per[(c, rep)][0] for rep in reps if (c, rep) in per]
        p99s = [per[(c, rep)][1] for rep in reps if (c, rep) in per]
        add50 = [per[(c, rep)][0] - per[("raw", rep)][0] for rep in reps if (c, rep) in per and ("raw", rep) in per]
        add99 = [per[(c, rep)][1] - per[("raw", rep)][1] for rep in reps if (c, rep) in per and ("raw", rep) in per]
        vs_js = [per[(c, rep)][0] - per[("js-reference", rep)][0] for rep in reps if (c, rep) in per and ("js-reference", rep) in per]
        s["clients"][c] = {"p50_ms": med(p50s), "p99_ms": med(p99s), "added_p50_ms": med(add50),
                           "added_p99_ms": med(add99), "p50_minus_js_reference_ms": med(vs_js), "ok_reps": len(p50s)}
    return s


def gz(path):
    data = open(path, "rb").read()
    return len(data), len(gzip.compress(data, 9, mtime=0))


def sizes(pkg, jsref, jsref_min=None):
    out = {}
    w = os.path.join(pkg, "kube_exec_wasm_bg.wasm")
    j = os.path.join(pkg, "kube_exec_wasm.js")
    if os.path.exists(w) and os.path.exists(j):
        out["wasm"] = dict(zip(("raw", "gzip"), gz(w)))
        out["glue"] = dict(zip(("raw", "gzip"), gz(j)))
        # wasm-bindgen snippets (the package's own JS modules, imported by the glue) are glue too.
        snippets = sorted(glob.glob(os.path.join(pkg, "snippets", "**", "*.js"), recursive=True))
        out["snippets"] = [dict(zip(("path", "raw", "gzip"), (os.path.relpath(f, pkg), *gz(f)))) for f in snippets]
        out["total_raw"] = out["wasm"]["raw"] + out["glue"]["raw"] + sum(x["raw"] for x in out["snippets"])
        out["total_gzip"] = out["wasm"]["gzip"] + out["glue"]["gzip"] + sum(x["gzip"] for x in out["snippets"])
    out["js_reference"] = dict(zip(("raw", "gzip"), gz(jsref)))
    if jsref_min and os.path.exists(jsref_min):
        out["js_reference_min"] = dict(zip(("raw", "gzip"), gz(jsref_min)))
    return out


def criterion(root):
    out = {}
    if not root or not os.path.isdir(root):
        return out
    for est in glob.glob(os.path.join(root, "**", "new", "estimates.json"), recursive=True):
        d = os.path.dirname(est)
        bj = os.path.join(d, "benchmark.json")
        if not os.path.exists(bj):
            continue
        b = json.load(open(bj))
        e = json.load(open(est))
        ns = e["median"]["point_estimate"]
        thr = b.get("throughput") or {}
        nbytes = thr.get("Bytes") or thr.get("BytesDecimal")
        elems = thr.get("Elements")
        out[b["full_id"]] = {"median_ns": ns, "bytes": nbytes, "gb_s": (nbytes / ns) if nbytes else None,
                             "elements": elems, "ns_per_element": (ns / elems) if elems else None}
    return out


def fmt_v(v, unit):
    if v is None:
        return "—"
    if unit == "frames/s":
        return f"{v / 1000:,.0f} k/s"
    return f"{v:,.0f} MB/s"


def fmt_r(r):
    return "—" if r is None else f"{r:.2f}×"


def verdict(ok):
    return "—" if ok is None else ("**met**" if ok else "**not met**")


def run_date(run):
    """The run's start, from its folder name (bench/results/raw/YYYYmmddTHHMMSSZ)."""
    try:
        t = datetime.datetime.strptime(os.path.basename(os.path.normpath(run)), "%Y%m%dT%H%M%SZ")
        return t.strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def build(args):
    data = load(args.run)
    env = data["env"] or {}
    S = {
        "date": run_date(args.run),
        "command": args.command, "machine": args.machine, "env": env, "done": data["done"],
        "throughput": {k: summarize_throughput(v) for k, v in data["throughput"].items()},
        "rtt": {k: summarize_rtt(v) for k, v in data["rtt"].items()},
        "memory": data["memory"], "sizes": sizes(args.pkg, args.jsref, args.jsref_min), "native": criterion(args.criterion),
    }
    S["goals"] = goals(S)
    return S


def goals(S):
    G = []
    T, R = S["throughput"], S["rtt"].get("rtt")

    def w(id_):
        return (T.get(id_) or {}).get("clients", {}).get("kube-exec-wasm")

    for id_, lim, name in (("bulk-64k", 0.95, "bulk 64 KiB frames ≥ 0.95× raw"),
                           ("bulk-4k", 0.85, "bulk 4 KiB frames ≥ 0.85× raw"),
                           ("small", 0.90, "1-byte frames ≥ 0.9× raw"),
                           ("base64", 0.90, "base64 ≥ 0.9× base64 raw")):
        c = w(id_)
        r = c and c["ratio_to_raw"]
        G.append({"goal": name, "value": "—" if r is None else f"{r:.3f}×", "met": None if r is None else r >= lim})
    if R and "kube-exec-wasm" in R["clients"]:
        a = R["clients"]["kube-exec-wasm"]["added_p50_ms"]
        G.append({"goal": "added round trip ≤ 0.02 ms at p50", "value": "—" if a is None else f"{a * 1000:+.0f} µs",
                  "met": None if a is None else a <= 0.02})
    else:
        G.append({"goal": "added round trip ≤ 0.02 ms at p50", "value": "—", "met": None})
    # At least as fast as js-reference, on every figure.
    worst, parts = None, []
    for id_ in ("bulk-64k", "bulk-4k", "small", "base64"):
        c = w(id_)
        if c and c["ratio_to_js_reference"] is not None:
            parts.append(f"{id_} {c['ratio_to_js_reference']:.2f}×")
            worst = c["ratio_to_js_reference"] if worst is None else min(worst, c["ratio_to_js_reference"])
    rtt_ok = True
    if R and "kube-exec-wasm" in R["clients"]:
        d = R["clients"]["kube-exec-wasm"]["p50_minus_js_reference_ms"]
        if d is not None:
            # One step of the page's 5 µs timer is below what the round trip can resolve.
            rtt_ok = d <= 0.005
            parts.append(f"rtt p50 {d * 1000:+.0f} µs" + (" (within the 5 µs timer step)" if 0 < d <= 0.005 else ""))
    G.append({"goal": "at least as fast as js-reference on every figure", "value": ", ".join(parts) or "—",
              "met": None if worst is None else (worst >= 1.0 and rtt_ok)})
    M = S["memory"]
    flat = None
    if M:
        m = next((x for x in M["runs"] if x["client"] == "kube-exec-wasm"), None)
        if m and not m.get("error"):
            b, a, z = m["before"], m["after"], m["afterSessions"]
            dh = max((a["jsHeap"] or 0) - (b["jsHeap"] or 0), (z["jsHeap"] or 0) - (b["jsHeap"] or 0))
            dw = max((a["wasm"] or 0) - (b["wasm"] or 0), (z["wasm"] or 0) - (b["wasm"] or 0))
            flat = dh < 2 * MiB and dw == 0
            G.append({"goal": "memory flat (long session, then many sessions)",
                      "value": f"JS heap {dh / MiB:+.1f} MiB, wasm {dw / KiB:+.0f} KiB", "met": flat})
    if flat is None:
        G.append({"goal": "memory flat (long session, then many sessions)", "value": "—", "met": None})
    z = S["sizes"].get("total_gzip")
    G.append({"goal": "wasm + glue ≤ 30 KiB gzipped", "value": "—" if z is None else f"{z / KiB:.1f} KiB",
              "met": None if z is None else z <= 30 * KiB})
    return G


def markdown(S):
    L = []
    env = S["env"] or {}
    P = env.get("params") or {}
    L.append(f"Run: `{S['command']}` on {S['date']}.  ")
    L.append(f"Machine: {S['machine']}.  ")
    L.append(f"Page: cross-origin isolated {env.get('crossOriginIsolated')}, timer resolution "
             f"{(env.get('timerResolutionMs') or 0) * 1000:.0f} µs, `Uint8Array.fromBase64` {env.get('fromBase64')}; "
             f"{P.get('reps')} interleaved repetitions per figure.")
    if env.get("wasmError"):
        L.append("")
        L.append(f"**kube-exec-wasm was not available in this run**: `{env['wasmError'].splitlines()[0]}`")
    L.append("")
    L.append("### Browser (headless Chromium, loopback WebSocket, the devserver's bench pod)")
    L.append("")
    L.append("| figure | raw | js-reference | kube-exec-wasm | wasm ÷ js-reference | devserver CPU (browser, raw run) |")
    L.append("|---|---|---|---|---|---|")
    names = {"bulk-64k": "bulk stdout, 64 KiB frames", "bulk-4k": "bulk stdout, 4 KiB frames",
             "small": "1-byte frames", "base64": "base64 (`v4.base64`), 64 KiB frames"}
    for id_ in ("bulk-64k", "bulk-4k", "small", "base64"):
        t = S["throughput"].get(id_)
        if not t:
            continue
        u = t["unit"]
        size = t["params"]["bytes"]
        label = names[id_] + (f", {size / MiB:.0f} MiB" if u == "MB/s" else f", {size:,} frames")
        cells = []
        for c in TABLE:
            x = t["clients"].get(c)
            if not x or x["median"] is None:
                cells.append("—")
            elif c == "raw":
                cells.append(fmt_v(x["median"], u))
            else:
                cells.append(f"{fmt_v(x['median'], u)} ({fmt_r(x['ratio_to_raw'])})")
        wj = t["clients"].get("kube-exec-wasm", {}).get("ratio_to_js_reference")
        cpu = [t["clients"][c]["server_cpu"] for c in t["clients"] if t["clients"][c]["server_cpu"] is not None]
        bc = (t["clients"].get("raw") or {}).get("browser_cpu")
        cpus = "—" if not cpu else f"≤ {max(cpu) * 100:.0f} %" + ("" if bc is None else f" (browser {bc * 100:.0f} %)")
        L.append(f"| {label} | {' | '.join(cells)} | {fmt_r(wj)} | {cpus} |")
    R = S["rtt"].get("rtt")
    if R:
        cells = []
        for c in TABLE:
            x = R["clients"].get(c)
            if not x or x["p50_ms"] is None:
                cells.append("—")
            elif c == "raw":
                cells.append(f"{x['p50_ms'] * 1000:.0f} / {x['p99_ms'] * 1000:.0f} µs")
            else:
                cells.append(f"{x['p50_ms'] * 1000:.0f} / {x['p99_ms'] * 1000:.0f} µs (added {x['added_p50_ms'] * 1000:+.0f} / {x['added_p99_ms'] * 1000:+.0f})")
        wx = R["clients"].get("kube-exec-wasm")
        d = wx and wx["p50_minus_js_reference_ms"]
        L.append(f"| echo round trip p50 / p99, {R['params']['count']} × 1 byte | {' | '.join(cells)} | "
                 f"{'—' if d is None else f'{d * 1000:+.0f} µs at p50'} | — |")
    L.append("")
    L.append("Ratios are medians of per-repetition ratios to raw (raw = a `WebSocket` that only counts "
             "`byteLength`; for base64, one that only counts the text's decoded length). Throughput is "
             "payload bytes from the `exec` call to the last byte read from the stdout stream. CPU: share of "
             "one core over the run (devserver: the largest median of the three clients; browser: all "
             "Chromium processes during the raw run), from /proc/<pid>/stat.")
    L.append("")
    L.append("CPU time the browser spent per run (all Chromium processes, median; less sensitive to other load "
             "on the machine than wall-clock throughput), and the number of chunks the stdout stream delivered:")
    L.append("")
    L.append("| figure | " + " | ".join(TABLE) + " |")
    L.append("|---|" + "---|" * len(TABLE))
    for id_ in ("bulk-64k", "bulk-4k", "small", "base64"):
        t = S["throughput"].get(id_)
        if not t:
            continue
        cells = []
        for c in TABLE:
            x = t["clients"].get(c)
            if not x or x["browser_cpu_seconds"] is None:
                cells.append("—")
            else:
                cells.append(f"{x['browser_cpu_seconds']:.2f} s, {x['chunks']:,.0f} {'messages' if c == 'raw' else 'chunks'}")
        L.append(f"| {id_} | " + " | ".join(cells) + " |")
    M = S["memory"]
    if M:
        L.append("")
        L.append("### Memory")
        L.append("")
        L.append("| client | JS heap before → after the long session (peak while reading, garbage included) | JS heap after more sessions | wasm linear memory: before → after → after more sessions |")
        L.append("|---|---|---|---|")
        def mb(v):
            return "—" if v is None else f"{v / MiB:.1f} MiB"

        for m in M["runs"]:
            b, a, z = m["before"], m["after"], m["afterSessions"]
            err = "".join(f" ({e})" for e in (m.get("error"), m.get("error2")) if e)
            wasm_cell = f"{mb(b['wasm'])} → {mb(a['wasm'])} → {mb(z['wasm'])}" if m["client"] == "kube-exec-wasm" else "—"
            L.append(f"| {m['client']}{err} | {mb(b['jsHeap'])} → {mb(a['jsHeap'])} (peak {mb(m['peakHeap'])}) | "
                     f"{mb(z['jsHeap'])} | {wasm_cell} |")
        big = M["runs"][0]["bytes"] if M["runs"] else 0
        L.append("")
        L.append(f"Long session: {big / MiB:.0f} MiB of stdout in 64 KiB frames; then {M['runs'][0]['sessions'] if M['runs'] else 0} sessions of 1 MiB each. "
                 "Heap figures are `performance.memory.usedJSHeapSize` after a forced GC (`gc()`); the peak is sampled every 1024 chunks.")
    Z = S["sizes"]
    L.append("")
    L.append("### Bundle")
    L.append("")
    L.append("| file | raw | gzip -9 |")
    L.append("|---|---|---|")
    if "wasm" in Z:
        L.append(f"| pkg/kube_exec_wasm_bg.wasm | {Z['wasm']['raw']:,} B | {Z['wasm']['gzip']:,} B |")
        L.append(f"| pkg/kube_exec_wasm.js (glue) | {Z['glue']['raw']:,} B | {Z['glue']['gzip']:,} B |")
        for x in Z.get("snippets", []):
            L.append(f"| pkg/{x['path']} (glue, wasm-bindgen snippet) | {x['raw']:,} B | {x['gzip']:,} B |")
        L.append(f"| **kube-exec-wasm total** | {Z['total_raw']:,} B | **{Z['total_gzip']:,} B ({Z['total_gzip'] / KiB:.1f} KiB)** |")
    L.append(f"| bench/page/js-reference.js (as written) | {Z['js_reference']['raw']:,} B | {Z['js_reference']['gzip']:,} B |")
    if "js_reference_min" in Z:
        L.append(f"| js-reference.js minified (terser, as build-pkg.sh does the glue) | {Z['js_reference_min']['raw']:,} B | {Z['js_reference_min']['gzip']:,} B |")
    N = S["native"]
    if N:
        L.append("")
        L.append("### Native core (criterion, `cargo bench --manifest-path bench/native/Cargo.toml`)")
        L.append("")
        ops = ["memcpy", "decode_binary", "encode_binary", "decode_base64", "encode_base64"]
        L.append("| stream of frames | " + " | ".join(f"`{o}`" for o in ops) + " |")
        L.append("|---|" + "---|" * len(ops))
        for size, fbytes in (("64 KiB", 64 * KiB), ("4 KiB", 4 * KiB), ("1 B", 1)):
            cells = []
            for o in ops:
                v = N.get(f"frames {size}/{o}")
                if not v or not v["bytes"]:
                    cells.append("—")
                    continue
                per = v["median_ns"] / (v["bytes"] / fbytes)
                cells.append(f"{v['gb_s']:,.2f} GB/s ({per:,.1f} ns/frame)")
            L.append(f"| {size} payloads | " + " | ".join(cells) + " |")
        L.append("")
        sess = {k.split("/", 1)[1]: v for k, v in N.items() if k.startswith("session/") and v.get("ns_per_element")}
        if sess:
            L.append("| session, per 4 KiB stdout message | " + " | ".join(f"`{k}`" for k in sorted(sess, reverse=True)) + " |")
            L.append("|---|" + "---|" * len(sess))
            L.append("| time | " + " | ".join(f"{sess[k]['ns_per_element']:,.1f} ns" for k in sorted(sess, reverse=True)) + " |")
        pend = {int(k.split("/", 1)[1]): v for k, v in N.items()
                if k.startswith("stdin before open/") and v.get("ns_per_element")}
        if pend:
            L.append("")
            L.append("| one-byte stdin writes before open, then the open | " + " | ".join(f"{n:,}" for n in sorted(pend)) + " |")
            L.append("|---|" + "---|" * len(pend))
            L.append("| writes/s | " + " | ".join(f"{1e9 / pend[n]['ns_per_element']:,.0f}" for n in sorted(pend)) + " |")
        L.append("")
        L.append("Payload bytes per second over a 4 MiB stream (256 KiB for 1-byte frames) held in memory. "
                 "`memcpy` copies every payload into a reused buffer; `decode_binary` borrows the payload "
                 "(no copy), so its figure is per-frame overhead only; the base64 rows use the `base64` crate. "
                 "`route` is what the browser glue calls per message (numbers in, a route out; the payload "
                 "stays in JS); `handle_binary+poll_event` is the copying path (payload into the core and out "
                 "as an `Event::Output`), used only for what the core must read.")
    L.append("")
    L.append("### Goals (issue 6)")
    L.append("")
    L.append("| goal | measured | |")
    L.append("|---|---|---|")
    for g in S["goals"]:
        L.append(f"| {g['goal']} | {g['value']} | {verdict(g['met'])} |")
    errs = []
    for id_, t in S["throughput"].items():
        for e in t["errors"]:
            errs.append(f"{id_} rep {e['rep']} {e['client']}: {e['error']}")
    for id_, t in S["rtt"].items():
        for e in t["errors"]:
            errs.append(f"{id_} rep {e['rep']} {e['client']}: {e['error']}")
    if errs:
        L.append("")
        L.append("Errors in this run (left out of the medians):")
        L.append("")
        for e in errs[:20]:
            L.append(f"- {e}")
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--machine", required=True)
    ap.add_argument("--pkg", required=True)
    ap.add_argument("--jsref", required=True)
    ap.add_argument("--jsref-min")
    ap.add_argument("--criterion")
    ap.add_argument("--json", required=True)
    ap.add_argument("--markdown")
    ap.add_argument("--history")
    args = ap.parse_args()
    S = build(args)
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    slim = json.loads(json.dumps(S))
    with open(args.json, "w") as f:
        json.dump(slim, f, indent=1)
        f.write("\n")
    md = markdown(S)
    if args.history:
        T = S["throughput"]

        def ratio(id_):
            c = (T.get(id_) or {}).get("clients", {}).get("kube-exec-wasm") or {}
            r = c.get("ratio_to_raw")
            return None if r is None else round(r, 3)

        R = (S["rtt"].get("rtt") or {}).get("clients", {}).get("kube-exec-wasm") or {}
        line = {"date": S["date"], "command": S["command"],
                "ratios": {k: ratio(k) for k in ("bulk-64k", "bulk-4k", "small", "base64")},
                "added_rtt_p50_us": None if R.get("added_p50_ms") is None else round(R["added_p50_ms"] * 1000),
                "size_gzip": S["sizes"].get("total_gzip"),
                "goals_met": sum(1 for g in S["goals"] if g["met"]), "goals": len(S["goals"])}
        with open(args.history, "a") as f:
            f.write(json.dumps(line) + "\n")
    if args.markdown:
        text = open(args.markdown).read() if os.path.exists(args.markdown) else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
        if BEGIN not in text or END not in text:
            text += f"\n{BEGIN}\n{END}\n"
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        with open(args.markdown, "w") as f:
            f.write(head + BEGIN + "\n" + md + END + tail)
    sys.stdout.write(md)
    if S["done"] and not S["done"].get("ok"):
        print(f"\nthe page reported an error: {S['done'].get('error')}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
