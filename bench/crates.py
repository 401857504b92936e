import csv, sys, re, collections
# Sums twiggy's shallow sizes by the crate a function belongs to (first path segment of its
# demangled name; generic impls `<a::B as c::D>::f` count for the trait's crate c when the
# type is a primitive, otherwise for the type's crate a).
tot = collections.Counter()
for row in csv.DictReader(open(sys.argv[1])):
    n, s = row["Name"], int(row["ShallowSize"])
    m = re.match(r"<?&?(?:mut )?(?:dyn )?([A-Za-z_][A-Za-z0-9_]*)(?:\[[0-9a-f]+\])?::", n)
    if m:
        k = m.group(1)
        if k in ("core", "alloc", "std"):
            m2 = re.search(r" as ([A-Za-z_][A-Za-z0-9_]*)(?:\[[0-9a-f]+\])?::", n)
            if m2 and m2.group(1) not in ("core", "alloc", "std"): k = m2.group(1)
    elif n.startswith("data segment"): k = "(data)"
    elif "custom section" in n or "subsection" in n: k = "(custom)"
    else: k = "(other)"
    tot[k] += s
for k, v in tot.most_common(): print(f"{v:9d} {k}")
