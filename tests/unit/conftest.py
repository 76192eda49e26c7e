"""What the API-level unit tests share: a bare `Api` over an in-memory store."""

from __future__ import annotations

import pytest

from kubecourse.embedded.conversion import ConvertingApi
from kubecourse.embedded.store import Store


@pytest.fixture
def api() -> ConvertingApi:
    """An `Api` with the `default` namespace and nothing else: no controllers run."""
    api = ConvertingApi(Store())
    api.ensure_namespace("default")
    return api
