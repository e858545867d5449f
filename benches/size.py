#!/usr/bin/env python3
"""Size breakdown of the Worker's Wasm by crate and by function (`make size`).

Usage: python3 benches/size.py TWIGGY_CSV [OUT_JSON]
TWIGGY_CSV: `twiggy top -n 1000000 --format csv` of a build that kept its
function names (scripts/size.sh makes one). Items are attributed to the crate
that leads their symbol name (`<T as Trait>::f` to T's crate, else the
trait's); data segments cannot be attributed and are one line. Reports only.
"""

import csv
import collections
import json
import re
import sys

LEAD = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\[[0-9a-f]+\])?::")


def crate(name):
    if name.startswith("data segment"):
        return "(data segments: constants, tables)"
    if name.startswith('"function names"') or name.startswith("custom section"):
        return "(names and custom sections: not in the shipped build)"
    n = name
    while n[:1] in "<&*(" or n.startswith("mut ") or n.startswith("dyn "):
        n = n[4:] if n.startswith(("mut ", "dyn ")) else n[1:]
    m = LEAD.match(n)
    if m:
        return m.group(1)
    m = re.search(r" as ([A-Za-z_][A-Za-z0-9_]*)(\[[0-9a-f]+\])?::", name)
    if m:
        return m.group(1)
    if name.startswith(("func[", "code[", "elem[", "import ", "export ", "global[", "table[", "type[")):
        return "(unnamed: imports, exports, tables, types)"
    return "(other)"


def main():
    rows = list(csv.DictReader(open(sys.argv[1])))
    total = sum(int(r["ShallowSize"]) for r in rows)
    by_crate = collections.Counter()
    for r in rows:
        by_crate[crate(r["Name"])] += int(r["ShallowSize"])
    top = sorted(rows, key=lambda r: -int(r["ShallowSize"]))
    print(f"{total:,} bytes in all (names included)\n\nby crate (bytes, share):")
    for k, v in by_crate.most_common(25):
        print(f"  {v:9,}  {100 * v / total:5.1f}%  {k}")
    print("\nlargest items (bytes):")
    for r in [r for r in top if not r["Name"].startswith('"function names"')][:30]:
        print(f"  {int(r['ShallowSize']):9,}  {r['Name'][:110]}")
    if len(sys.argv) > 2:
        json.dump({"total": total, "by_crate": by_crate.most_common(),
                   "top": [(r["Name"], int(r["ShallowSize"])) for r in top[:60]]},
                  open(sys.argv[2], "w"), indent=1)


if __name__ == "__main__":
    main()
