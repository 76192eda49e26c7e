"""`v1 ComponentStatus` (`kubectl get cs`), computed on each read as kube-apiserver does.

kube-apiserver answers `GET /api/v1/componentstatuses` by probing the scheduler, the
controller-manager and each etcd member there and then; nothing is stored.  On a kind
cluster all three answer `ok`, so every read here reports them Healthy with the
message `ok`, as 1.28+ servers word it.  The kind is deprecated since v1.19, so every
request carries `Warning: v1 ComponentStatus is deprecated in v1.19+`
(deprecation.py).  Only get and list are served (writes and watch are 405).

Faithful: the object shape (`metadata` with only a name and a null creationTimestamp,
one `Healthy` condition), label and field selectors on list, `componentstatuses "x"
not found` for another name.  Simplified: the order is fixed (scheduler,
controller-manager, etcd-0); upstream lists them in the order the probes answer.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

COMPONENTS = ("scheduler", "controller-manager", "etcd-0")


def component_status(name: str) -> Obj:
    return {
        "kind": "ComponentStatus",
        "apiVersion": "v1",
        "metadata": {"name": name, "creationTimestamp": None},
        "conditions": [{"type": "Healthy", "status": "True", "message": "ok"}],
    }


def component_statuses() -> list[Obj]:
    return [component_status(name) for name in COMPONENTS]


def find(name: str) -> Obj | None:
    return component_status(name) if name in COMPONENTS else None
