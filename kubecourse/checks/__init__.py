"""Exercise checks: look at the cluster and say, specifically, what is right or missing.

    from kubecourse.checks import check
    check("orders-api-scaled", cluster)            # raises CheckFailed with a hint
    check("orders-api-scaled", cluster, quiet=True) # returns the CheckResult instead

Each check is an ordinary function of the cluster (read through the facade only), so
it is unit-tested like any other code; exercises call it after each task.
"""

from __future__ import annotations

from kubecourse.checks import lesson01 as _lesson01  # noqa: F401  (registers its checks)
from kubecourse.checks.base import CHECKS, CheckResult, check
from kubecourse.errors import CheckFailed

__all__ = ["CHECKS", "CheckFailed", "CheckResult", "check"]
