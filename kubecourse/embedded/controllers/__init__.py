"""The embedded cluster's controllers (reconcile loops)."""

from __future__ import annotations

from kubecourse.embedded.controllers.base import Context, Controller


def default_controllers(ctx: Context) -> list[Controller]:
    return []
