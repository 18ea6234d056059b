#!/usr/bin/env bash
# Runs every benchmark once, in order, with the settings of the README table, then prints the
# markdown results (benchmarks/report.py). About 35-45 minutes on a 2-core machine; every row of the
# benchmarks/README.md table comes from this one run.
#   benchmarks/run_all.sh            # from the repository root
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
uptime
$PY benchmarks/full_sync.py --sizes 10k,100k,1M --sides ours,dlt,fetch,fetch-raw --name full_sync
$PY benchmarks/rate_limited_backfill.py --creators 20 --items 15000 --name rate_limited_backfill
$PY benchmarks/cron_tick.py --models 500 --name cron_tick
$PY benchmarks/cold_start.py --runs 5 --name cold_start
$PY benchmarks/diagnose_latency.py --rows 1000000
$PY benchmarks/overview_latency.py --models 200 --rows-per-model 2000 --requests 100
$PY benchmarks/freshness.py --sales 30 --burst 100
uptime
$PY benchmarks/report.py
