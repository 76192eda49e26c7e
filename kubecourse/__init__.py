"""kubecourse: learn Kubernetes from docker-compose, by doing it.

    import kubecourse
    cluster = kubecourse.connect()          # the embedded cluster, or a kubeconfig context
    result = kubecourse.translate("shop/compose.yaml")
    cluster.apply(result.objects)
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "connect", "translate"]


def __getattr__(name: str) -> Any:
    # Lazy, so `import kubecourse` stays cheap and the translator never imports a client.
    if name == "connect":
        from kubecourse.client import connect

        return connect
    if name == "translate":
        from kubecourse.compose import translate

        return translate
    if name in ("compose", "widgets", "checks", "client"):
        import importlib

        return importlib.import_module(f"kubecourse.{name}")
    raise AttributeError(f"module 'kubecourse' has no attribute {name!r}")
