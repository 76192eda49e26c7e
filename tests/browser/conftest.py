"""Registers the `browser` marker (pyproject's marker list is kept by the maintainer)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "browser: drives JupyterLab in headless Chromium (needs /usr/bin/chromium and playwright)",
    )
