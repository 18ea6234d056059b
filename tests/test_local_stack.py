"""The README's run command: `python -m lib.dev` reaches the table with every demo creator equal to the
sandbox's ground truth, every printed curl works as printed, and Ctrl-C leaves no process behind."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_command_end_to_end(tmp_path):
    port, sandbox_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FANVUE_", "SUPABASE_", "CRON_", "TOKEN_"))}
    env.pop("DATABASE_URL", None)
    env["LOCAL_DATA_DIR"] = str(tmp_path / "data")
    env["PYTHONUNBUFFERED"] = "1"
    env["COLUMNS"] = "200"
    proc = subprocess.Popen([sys.executable, "-m", "lib.dev", "--port", str(port), "--sandbox-port", str(sandbox_port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    lines: list[str] = []
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C stops everything" in line:
                break
        output = "".join(lines)
        assert "every creator equals the sandbox: True" in output, output[-3000:]
        curls = [l.strip() for l in lines if l.strip().startswith("curl ")]
        assert len(curls) >= 6
        if shutil.which("curl"):
            for line in curls:
                result = subprocess.run(shlex.split(line) + ["-o", "/dev/null", "-w", "%{http_code}"],
                                        capture_output=True, text=True, timeout=120)
                assert result.stdout.strip() == "200", (line[:120], result.stdout)
        children = psutil.Process(proc.pid).children(recursive=True)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("lib.dev did not stop on Ctrl-C")
    time.sleep(1)
    survivors = [p for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    data_dir = str(tmp_path / "data")
    postgres_left = [p for p in psutil.process_iter(["cmdline"])
                     if any(data_dir in part for part in (p.info["cmdline"] or []))]
    assert not survivors and not postgres_left, (survivors, postgres_left)
    assert "stopped" in proc.stdout.read()
