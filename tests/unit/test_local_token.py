"""`make token` (python -m local token) when the local stack is not there: a clear sentence and exit code 2,
not a traceback, including after a stack killed outright left its runtime.json behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def _token(state_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "local", "token", "--state-dir", str(state_dir), "--user", "alice"],
                          cwd=PROJECT, capture_output=True, text=True, timeout=120)


def test_no_stack_started(tmp_path: Path) -> None:
    answer = _token(tmp_path)
    assert answer.returncode == 2
    assert "no local stack is running" in answer.stderr and "Traceback" not in answer.stderr
    # An outside tester's stack ran on another --state-dir: the answer names the directory looked at, and how
    # to name the other one.
    assert str(tmp_path) in answer.stderr and "STATE_DIR=" in answer.stderr


def test_a_killed_stack_left_its_runtime_file(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that no longer runs
    (tmp_path / "runtime.json").write_text(json.dumps({
        "supervisor_pid": gone.pid, "env": {"KALEXO_AWS_ENDPOINT_URL": "http://127.0.0.1:9"}}))
    answer = _token(tmp_path)
    assert answer.returncode == 2
    assert "no local stack is running" in answer.stderr and "Traceback" not in answer.stderr
