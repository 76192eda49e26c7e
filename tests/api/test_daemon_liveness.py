"""A daemon that lives but does not answer is reported, waited for and stoppable, and
never replaced or forgotten."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubecourse import cli
from kubecourse.embedded import daemon


@pytest.fixture
def stopped_daemon(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A real daemon in a temporary home, frozen with SIGSTOP."""
    home = tmp_path / "home"
    pid = daemon.ensure_running(home).pid
    os.kill(pid, signal.SIGSTOP)
    try:
        yield home, pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
        daemon.stop(home)


def test_a_frozen_daemon_is_running_but_not_answering_and_is_not_replaced(
    stopped_daemon: tuple[Path, int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home, pid = stopped_daemon
    monkeypatch.setattr(daemon, "ANSWER_PATIENCE", 1.0)

    assert daemon.running(home) is None
    assert daemon.holder(home) == pid
    assert cli.main(["--home", str(home), "up"]) == 1
    up = capsys.readouterr().err
    assert cli.main(["--home", str(home), "status"]) == 1
    status = capsys.readouterr().err

    for said in (up, status):
        assert f"is running (pid {pid}) but has not answered /readyz for" in said
        assert "kubecourse down" in said
    assert json.loads((home / "server.json").read_text())["pid"] == pid
    os.kill(pid, signal.SIGCONT)
    assert daemon.ensure_running(home).pid == pid  # the same daemon, answering again


def test_down_stops_a_frozen_daemon_and_up_then_starts_a_new_one(
    stopped_daemon: tuple[Path, int], capsys: pytest.CaptureFixture[str]
) -> None:
    home, pid = stopped_daemon

    assert cli.main(["--home", str(home), "down"]) == 0

    assert "embedded cluster stopped" in capsys.readouterr().out
    assert daemon.holder(home) is None
    assert not (home / "server.json").exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert daemon.ensure_running(home).pid != pid


def test_down_kills_a_daemon_that_ignores_sigterm_after_the_grace(
    tmp_path: Path,
) -> None:
    lock = tmp_path / "daemon.lock"
    stubborn = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK_IGNORING_SIGTERM, str(lock)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert stubborn.stdout is not None
    try:
        assert stubborn.stdout.readline() == "holding\n"
        assert daemon.holder(tmp_path) == stubborn.pid

        assert daemon.stop(tmp_path, timeout=0.5)

        assert stubborn.poll() is not None  # killed (and reaped by stop())
    finally:
        stubborn.kill()
        stubborn.wait()
        stubborn.stdout.close()


def test_a_stale_server_json_naming_another_program_is_not_signalled(
    tmp_path: Path,
) -> None:
    (tmp_path / "server.json").write_text(json.dumps({"pid": os.getpid(), "port": 1}))

    assert daemon.stop(tmp_path) is False

    assert not (tmp_path / "server.json").exists()


_HOLD_LOCK_IGNORING_SIGTERM = """
import fcntl, os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, str(os.getpid()).encode())
print("holding", flush=True)
time.sleep(60)
"""
