"""Peak memory of a full-history backfill must not grow with N: runs full_sync.py for 100k and 1M
items (each side in its own child process, RSS sampled over its whole process tree plus getrusage)
and prints peak RSS per size and the 1M / 100k ratio.

    .venv/bin/python benchmarks/memory_1m.py                  # ours only
    .venv/bin/python benchmarks/memory_1m.py --sides ours,dlt # with the peer (dlt at 1M takes minutes)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import full_sync
from _common import RESULTS, table


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="100k,1M")
    p.add_argument("--sides", default="ours")
    p.add_argument("--name", default="memory_1m")
    a = p.parse_args(argv)
    rc = full_sync.main(["--sizes", a.sizes, "--sides", a.sides, "--name", a.name])
    rows = json.loads((RESULTS / f"{a.name}.json").read_text())["rows"]
    sizes = full_sync.parse_sizes(a.sizes)
    out = []
    for side in [s.strip() for s in a.sides.split(",")]:
        peaks = {r["n"]: r.get("peak_rss_mb") for r in rows if r["side"] == side and r["ok"]}
        lo, hi = peaks.get(sizes[0]), peaks.get(sizes[-1])
        ratio = f"{hi / lo:.2f}x" if lo and hi else ""
        out.append([side, *[peaks.get(n) for n in sizes], ratio, "yes" if hi is not None and hi < 100 else "no"])
    print()
    print(table(["side", *[f"peak RSS MB @ {n:,}" for n in sizes], f"{sizes[-1]:,} / {sizes[0]:,}", "< 100 MB"], out))
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
