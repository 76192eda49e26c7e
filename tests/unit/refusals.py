"""Reading a 422 refusal in the unit tests of validation."""

from __future__ import annotations

from typing import Any

import pytest

from kubecourse.embedded import status


def causes_of(call: Any) -> list[tuple[str, str, str]]:
    """The (reason, field, message) of each cause of the 422 that `call()` raises."""
    with pytest.raises(status.StatusError) as raised:
        call()
    assert raised.value.code == 422
    return [
        (c["reason"], c.get("field", ""), c["message"])
        for c in raised.value.details["causes"]
    ]
