"""The embedded cluster as a background process under `$KUBECOURSE_HOME`.

`kubecourse up` calls `ensure_running()`: it starts `python -m kubecourse.embedded.daemon`
detached from the terminal (or notebook kernel), which writes, with mode 0600:

    $KUBECOURSE_HOME/state.sqlite   the store (a restart loses nothing)
    $KUBECOURSE_HOME/kubeconfig     cluster URL and token (KUBECONFIG=$(kubecourse kubeconfig))
    $KUBECOURSE_HOME/server.json    pid and port of the running server
    $KUBECOURSE_HOME/server.log     its log (never the token)

The daemon keeps its previous port when it is free, so a kubeconfig or an open kubectl
session stays valid across `kubecourse down` / `up`.

A daemon holds an exclusive lock on `$KUBECOURSE_HOME/daemon.lock` (with its pid in it)
for as long as it lives.  That lock, not an answer on /readyz, says whether one runs: a
daemon that is alive but does not answer (stopped with SIGSTOP, or its loop busy with a
huge request) is reported as running but not answering, is never replaced by a second
one, keeps its `server.json`, and `kubecourse down` still stops it (SIGTERM, then SIGKILL
after a grace period).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import logging
import os
import secrets
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

START_TIMEOUT = 60.0
READY_TIMEOUT = 2.0  # one /readyz probe
ANSWER_PATIENCE = 10.0  # how long `up` waits for a live daemon that does not answer
# A daemon retries its state lock this long: `holder()` may be probing it.
LOCK_RETRY = 1.0
KUBECONFIG_CHECK_INTERVAL = 1.0  # how often the daemon looks for a deleted kubeconfig


_DETACHED: list[subprocess.Popen[bytes]] = []


class NotAnswering(RuntimeError):
    """A daemon holds this home's state but did not answer /readyz in time."""

    def __init__(self, state: Path, pid: int, waited: float) -> None:
        self.pid = pid
        self.waited = waited
        super().__init__(
            f"the embedded cluster of {state} is running (pid {pid}) but has not answered "
            f"/readyz for {waited:.0f} s; it may be busy (wait and try again), or stop it "
            f"with `kubecourse down` (see {state / 'server.log'})"
        )


def home(path: str | os.PathLike[str] | None = None) -> Path:
    if path is not None:
        return Path(path).expanduser()
    return Path(os.environ.get("KUBECOURSE_HOME") or "~/.kubecourse").expanduser()


@dataclass
class ServerInfo:
    home: Path
    pid: int
    port: int
    started: bool = False  # by the call that returned it

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def kubeconfig(self) -> Path:
        return self.home / "kubeconfig"


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, atomically."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def read_info(state: Path) -> ServerInfo | None:
    try:
        data = json.loads((state / "server.json").read_text())
        return ServerInfo(state, int(data["pid"]), int(data["port"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _alive(pid: int) -> bool:
    for proc in _DETACHED:
        if proc.pid == pid:
            return proc.poll() is None  # our own child: reaped through its Popen
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False  # our own child (started by ensure_running) has exited: reaped
    except ChildProcessError:
        pass  # not our child; ask the kernel below
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _answers(state: Path, port: int) -> bool:
    try:
        context = ssl.create_default_context(cafile=str(state / "pki" / "ca.crt"))
        url = f"https://127.0.0.1:{port}/readyz"
        with urllib.request.urlopen(
            url, timeout=READY_TIMEOUT, context=context
        ) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError, ssl.SSLError):
        return False


def running(path: str | os.PathLike[str] | None = None) -> ServerInfo | None:
    """The running server of this home, if there is one that answers."""
    state = home(path)
    info = read_info(state)
    if info is None or not _alive(info.pid) or not _answers(state, info.port):
        return None
    return info


def holder(path: str | os.PathLike[str] | None = None) -> int | None:
    """The pid of the live daemon holding this home's state lock, answering or not."""
    state = home(path)
    try:
        fd = os.open(state / "daemon.lock", os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder_pid(state, fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _holder_pid(state: Path, fd: int) -> int | None:
    """The pid the lock holder wrote in the lock file (a daemon of an older kubecourse
    wrote none: then server.json's)."""
    try:
        pid = int(os.pread(fd, 32, 0).decode().strip())
    except (OSError, ValueError):
        info = read_info(state)
        pid = info.pid if info is not None else 0
    return pid if pid > 0 and _alive(pid) else None


def wait_answering(state: Path, pid: int, patience: float) -> ServerInfo:
    """Wait up to `patience` seconds for the live daemon `pid` to answer /readyz."""
    started = time.monotonic()
    while True:
        info = read_info(state)
        if info is not None and info.pid == pid and _answers(state, info.port):
            return info
        waited = time.monotonic() - started
        if waited >= patience or not _alive(pid):
            break
        time.sleep(0.2)
    if _alive(pid):
        raise NotAnswering(state, pid, max(waited, READY_TIMEOUT))
    raise RuntimeError(
        f"the embedded cluster (pid {pid}) exited; see {state / 'server.log'}"
    )


def ensure_running(
    path: str | os.PathLike[str] | None = None, patience: float | None = None
) -> ServerInfo:
    """Start the embedded cluster for this home unless it is already up; wait for it.

    Safe to call from several processes at once (two notebook kernels, `make lab` and a
    terminal): they take turns on a lock file, so only one cluster ever starts.  A daemon
    that lives but does not answer is waited for `patience` seconds (ANSWER_PATIENCE),
    then reported (NotAnswering); it is never replaced."""
    state = home(path)
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)
    with _locked(state / "start.lock"):
        info = running(state)
        if info is not None:
            _await_kubeconfig(info)
            return info
        pid = holder(state)
        if pid is not None:
            return wait_answering(
                state, pid, ANSWER_PATIENCE if patience is None else patience
            )
        return _start(state)


def _await_kubeconfig(info: ServerInfo) -> None:
    """A kubeconfig deleted while the daemon runs is written again by the daemon."""
    deadline = time.monotonic() + 3 * KUBECONFIG_CHECK_INTERVAL
    while not info.kubeconfig.exists() and time.monotonic() < deadline:
        time.sleep(0.1)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _start(state: Path) -> ServerInfo:
    """Start a daemon; only called when none holds the state lock, so server.json is stale."""
    from kubecourse.embedded.store import check_integrity

    check_integrity(state / "state.sqlite")  # say so here, not in server.log
    (state / "server.json").unlink(missing_ok=True)
    log_fd = os.open(
        state / "server.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600
    )
    os.chmod(state / "server.log", 0o600)
    with os.fdopen(log_fd, "ab") as logfile:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kubecourse.embedded.daemon", "--home", str(state)],
            stdin=subprocess.DEVNULL,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    # It outlives this call by design: kept so that Python does not warn it still runs.
    _DETACHED.append(proc)
    info = _wait_started(state, proc)
    info.started = True
    return info


def _wait_started(state: Path, proc: subprocess.Popen[bytes]) -> ServerInfo:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"the embedded cluster exited at start (code {proc.returncode}); "
                f"see {state / 'server.log'}"
            )
        info = read_info(state)
        if info is not None and info.pid == proc.pid and _answers(state, info.port):
            return info
        time.sleep(0.05)
    proc.terminate()
    raise RuntimeError(
        f"the embedded cluster did not start within {START_TIMEOUT:.0f} s; see {state / 'server.log'}"
    )


def stop(path: str | os.PathLike[str] | None = None, timeout: float = 15.0) -> bool:
    """Stop the daemon of this home, answering or not; True when one was running.

    SIGTERM (and SIGCONT, so a stopped one can act on it), then SIGKILL after
    `timeout` seconds.  Only the pid holding the state lock is signalled: a stale
    server.json may name a pid that now belongs to another program."""
    state = home(path)
    pid = holder(state)
    if pid is None:
        (state / "server.json").unlink(missing_ok=True)
        return False
    _signal(pid, signal.SIGTERM)
    _signal(pid, signal.SIGCONT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    if _alive(pid):
        log.warning(
            "the embedded cluster (pid %d) did not stop within %g s; killing it",
            pid,
            timeout,
        )
        _signal(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)
    (state / "server.json").unlink(missing_ok=True)
    return True


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _previous(state: Path) -> tuple[int, str]:
    """Port and token of the last run, so kubeconfigs and connected kernels stay valid."""
    try:
        config = yaml.safe_load((state / "kubeconfig").read_text())
        server = str(config["clusters"][0]["cluster"]["server"])
        token = str(config["users"][0]["user"]["token"])
        return int(server.rsplit(":", 1)[1]), token
    except (
        OSError,
        ValueError,
        KeyError,
        TypeError,
        IndexError,
        AttributeError,
        yaml.YAMLError,
    ):
        return 0, secrets.token_urlsafe(32)


def _hold_state_lock(state: Path) -> int:
    """Keep an exclusive lock on the state folder for this daemon's lifetime: a second
    daemon on the same state (started by hand, or by an old kubecourse) refuses to run."""
    fd = os.open(state / "daemon.lock", os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + LOCK_RETRY
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise SystemExit(
                    f"another embedded cluster is already using {state}; stop it with `kubecourse down`"
                ) from None
            time.sleep(0.05)
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


async def _serve(state: Path) -> None:
    from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster

    port, token = _previous(state)
    cluster = EmbeddedCluster(ClusterOptions(state_dir=state, token=token, port=port))
    try:
        await cluster.start_async()
    except OSError:
        cluster.options.port = 0
        await cluster.start_async()
    kubeconfig = yaml.safe_dump(cluster.kubeconfig(), sort_keys=False)
    write_private(state / "kubeconfig", kubeconfig)
    write_private(
        state / "server.json", json.dumps({"pid": os.getpid(), "port": cluster.port})
    )
    log.info("embedded cluster listening on %s (state in %s)", cluster.url, state)
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    keeper = asyncio.create_task(_keep_kubeconfig(state / "kubeconfig", kubeconfig, done))
    await done.wait()
    await keeper
    await cluster.stop_async()
    log.info("embedded cluster stopped")


async def _keep_kubeconfig(path: Path, text: str, done: asyncio.Event) -> None:
    """Write the kubeconfig again if it goes while the cluster runs: only this process
    knows the token, so nothing else could."""
    while not done.is_set():
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(done.wait(), KUBECONFIG_CHECK_INTERVAL)
        if not done.is_set() and not path.exists():
            write_private(path, text)
            log.warning("the kubeconfig was missing; written again at %s", path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kubecourse.embedded.daemon")
    parser.add_argument("--home", required=True, help="state folder ($KUBECOURSE_HOME)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    state = home(args.home)
    os.umask(0o077)  # the store, certificates and log are the user's alone
    _hold_state_lock(state)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(state))
    return 0


def describe(info: ServerInfo) -> dict[str, Any]:
    return {
        "url": info.url,
        "pid": info.pid,
        "kubeconfig": str(info.kubeconfig),
        "home": str(info.home),
    }


if __name__ == "__main__":
    raise SystemExit(main())
