# Before/after figures of a `BENCH_VARIANTS="before=DIR" bash scripts/bench.sh` run, pooled over runs:
# per figure, the median of each client ÷ raw and the median of kube-exec-wasm ÷ kube-exec-wasm@before
# paired by repetition (same page, same moment), and the round trip p50.
#   python3 bench/paired.py bench/results/raw/*/results.jsonl
import json, sys, statistics as st, collections
pairs=collections.defaultdict(list); ratios=collections.defaultdict(lambda: collections.defaultdict(list)); rtt=collections.defaultdict(list)
for path in sys.argv[1:]:
    for line in open(path):
        d=json.loads(line)
        if d["kind"]=="env": continue
        by=collections.defaultdict(dict)
        for r in d["runs"]:
            if r.get("error"): continue
            by[r["rep"]][r["client"]] = (sorted(r["samples"])[len(r["samples"])//2] if d["kind"]=="rtt" else r["value"])
        for x in by.values():
            if d["kind"]=="rtt":
                for c,v in x.items(): rtt[c].append(v)
                continue
            for c in x:
                if c!="raw" and "raw" in x: ratios[d["id"]][c].append(x[c]/x["raw"])
            if "kube-exec-wasm" in x and "kube-exec-wasm@before" in x: pairs[d["id"]].append(x["kube-exec-wasm"]/x["kube-exec-wasm@before"])
for k in pairs:
    r=ratios[k]; print(f"{k:9s} n={len(pairs[k])} after/raw {st.median(r['kube-exec-wasm']):.3f} before/raw {st.median(r['kube-exec-wasm@before']):.3f} js-ref/raw {st.median(r['js-reference']):.3f} | after/before paired median {st.median(pairs[k]):.3f}")
for c,v in rtt.items(): print(f"rtt p50 median of reps {c}: {st.median(v)*1000:.0f} µs (n={len(v)})")
