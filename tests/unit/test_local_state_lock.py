"""One local stack per state directory (local/state_lock.py): a second `make run` on the same `.local/` once
started, and its exit wrote its view of the data over what the first stack had acknowledged since. Checked with
a real holder process, killed outright at the end as a crashed stack would be."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.state_lock import StateInUse, check_free, hold

ROOT = Path(__file__).resolve().parents[2]
HOLDER = "import sys, time; from pathlib import Path; from local.state_lock import hold; " \
         "lock = hold(Path(sys.argv[1])); print('held', flush=True); time.sleep(600)"


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "state")], cwd=ROOT, text=True,
                               stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "held"
        yield process
    finally:
        process.kill()
        process.wait(timeout=60)


def test_a_second_holder_is_refused_naming_the_first_until_it_dies(tmp_path: Path, holder) -> None:
    state = tmp_path / "state"
    with pytest.raises(StateInUse) as refused:
        hold(state)
    assert f"(pid {holder.pid})" in str(refused.value)
    with pytest.raises(StateInUse):
        check_free(state)
    os.kill(holder.pid, signal.SIGKILL)  # killed outright: the kernel drops the lock with it
    holder.wait(timeout=60)
    check_free(state)
    lock = hold(state)
    try:
        assert (state / "lock").read_text() == str(os.getpid())
    finally:
        lock.close()


@pytest.mark.parametrize("command", ["run", "reset"])
def test_run_and_reset_refuse_a_state_directory_in_use(tmp_path: Path, holder, command: str) -> None:
    state = tmp_path / "state"
    (state / "aws").mkdir(parents=True)
    ports = ["--aws-port", "1", "--rest-port", "1", "--ws-port", "1", "--tls-port", "1"] if command == "run" else []
    result = subprocess.run([sys.executable, "-m", "local", command, "--state-dir", str(state), *ports], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert f"another local stack is using {state} (pid {holder.pid})" in result.stderr, result.stderr
    assert (state / "aws").is_dir()  # nothing deleted, nothing started
    assert not (state / "runtime.json").exists()
