"""The peer: dlt's rest_api source loading the sandbox's earnings into Postgres with merge.

Runs in the dlt virtualenv (benchmarks/.work/venv-dlt), never in the app's. Imports only dlt and
the standard library. Prints one result line (see _common.RESULT_PREFIX) with its timings.

    python benchmarks/_dlt_child.py --base URL --token T --creator UUID --db URL --dataset S --dir D
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

RESULT_PREFIX = "BENCH-RESULT "


def _credentials(url: str) -> str:
    """dlt insists on a host: a unix-socket URL (postgresql://u:@/db?host=/dir) gets host=localhost
    in the authority, and libpq lets the ?host= query parameter (the socket directory) win."""
    from urllib.parse import parse_qs, urlsplit

    u = urlsplit(url)
    if u.hostname or "host" not in parse_qs(u.query):
        return url
    user = u.username or "postgres"
    return f"{u.scheme}://{user}:{u.password or 'unused'}@localhost{u.path}?{u.query}"


def _vm_hwm_mb() -> float:
    """This process's own peak RSS since exec (getrusage's ru_maxrss also counts the parent at fork)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True, help="sandbox base URL")
    p.add_argument("--token", required=True, help="agency bearer token")
    p.add_argument("--creator", required=True, help="creator uuid (agency route)")
    p.add_argument("--db", required=True, help="Postgres URL")
    p.add_argument("--dataset", default="dlt_bench", help="schema dlt loads into")
    p.add_argument("--dir", required=True, help="dlt pipelines_dir (fresh per run)")
    p.add_argument("--initial", default="2019-01-01T00:00:00.000Z", help="incremental initial_value")
    p.add_argument("--api-version", default="2025-06-26")
    a = p.parse_args()

    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    t_import = time.perf_counter()
    import dlt
    from dlt.sources.rest_api import rest_api_source

    import_s = time.perf_counter() - t_import

    source = rest_api_source(
        {
            "client": {
                "base_url": a.base,
                "auth": {"type": "bearer", "token": a.token},
                "headers": {"X-Fanvue-API-Version": a.api_version},
                "paginator": {"type": "cursor", "cursor_path": "nextCursor", "cursor_param": "cursor"},
            },
            "resources": [
                {
                    "name": "earnings",
                    "primary_key": "transactionOrderId",
                    "write_disposition": "merge",
                    "endpoint": {
                        "path": f"creators/{a.creator}/insights/earnings",
                        "data_selector": "data",
                        "params": {"size": 50},
                        "incremental": {
                            "start_param": "startDate",
                            "end_param": "endDate",
                            "cursor_path": "date",
                            "initial_value": a.initial,
                        },
                    },
                }
            ],
        }
    )
    pipeline = dlt.pipeline(
        pipeline_name="fanvue_bench",
        pipelines_dir=a.dir,
        destination=dlt.destinations.postgres(credentials=_credentials(a.db)),
        dataset_name=a.dataset,
    )
    started = time.perf_counter()
    info = pipeline.run(source)
    elapsed = time.perf_counter() - started
    trace = pipeline.last_trace
    steps = {
        s.step: round((s.finished_at - s.started_at).total_seconds(), 3)
        for s in trace.steps
        if s.finished_at and s.started_at
    }
    rows = 0
    try:
        rows = int(pipeline.last_trace.last_normalize_info.row_counts.get("earnings", 0))
    except Exception:
        pass
    out = {
        "side": "dlt",
        "elapsed_s": round(elapsed, 3),
        "import_s": round(import_s, 3),
        "steps": steps,
        "normalized_rows": rows,
        "has_failed_jobs": bool(info.has_failed_jobs),
        "dlt": dlt.__version__,
    }
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    out["vm_hwm_mb"] = round(_vm_hwm_mb(), 1)
    out["cpu_s"] = round(me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime, 2)
    print(RESULT_PREFIX + json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
