"""Named volumes as PersistentVolumeClaims (one claim per volume, however many users).

Several compose services mounting one named volume share the same files, so they get
one claim, not one each (Kompose's mistake). A claim is ReadWriteOnce by default: pods
on different nodes cannot mount it together, which the decision says plainly.
A database's volume instead becomes a claim template of its StatefulSet.
"""

from __future__ import annotations

from typing import Any

from kubecourse.compose.context import Plan, Translation
from kubecourse.compose.names import clean_name
from kubecourse.compose.podspec import ClaimLookup

DEFAULT_SIZE = "1Gi"


def claim_template(volume: str) -> dict[str, Any]:
    return {"metadata": {"name": clean_name(volume)}, "spec": _claim_spec()}


def _claim_spec() -> dict[str, Any]:
    return {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": DEFAULT_SIZE}},
    }


def plan_claims(t: Translation, plans: list[Plan]) -> dict[str, ClaimLookup]:
    """Emit the PVCs and return, per service, how its named volumes are claimed."""
    users: dict[str, list[str]] = {}
    for plan in plans:
        if plan.kind is None or plan.kind == "StatefulSet":
            continue
        for mount in plan.service.mounts:
            if mount.kind == "volume" and mount.source:
                users.setdefault(mount.source, [])
                if plan.service.name not in users[mount.source]:
                    users[mount.source].append(plan.service.name)
    for volume, services in users.items():
        _emit_claim(t, volume, services)
    return {plan.service.name: _lookup(plan) for plan in plans}


def _lookup(plan: Plan) -> ClaimLookup:
    in_template = plan.kind == "StatefulSet"

    def claim(volume: str) -> tuple[str, bool]:
        return clean_name(volume), in_template

    return claim


def _emit_claim(t: Translation, volume: str, services: list[str]) -> None:
    name = clean_name(volume)
    options = t.project.volumes.get(volume, {})
    if options.get("external"):
        t.warn(",".join(services), f"volumes.{volume}", f"PersistentVolumeClaim/{name} (not created)",
               "the volume is external (made outside compose); create a claim with this "
               "name in the cluster before applying")  # fmt: skip
        return
    manifest = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": name}, "spec": _claim_spec()}  # fmt: skip
    why = (f"named volume {volume}: a claim for {DEFAULT_SIZE} of storage that outlives "
           "the pods using it")  # fmt: skip
    t.emit(manifest, tuple(services), why)
    for service in services:
        t.decide(service, f"volumes ({volume})", f"PersistentVolumeClaim/{name}", why)
    if len(services) > 1:
        t.warn(",".join(services), f"volumes.{volume}", f"PersistentVolumeClaim/{name}",
               f"{', '.join(services)} share this volume, so they share one claim; it is "
               "ReadWriteOnce, so their pods must run on the same node (or use a "
               "storage class that offers ReadWriteMany)")  # fmt: skip
    if options.get("driver") not in (None, "local") or options.get("driver_opts"):
        t.warn(",".join(services), f"volumes.{volume}.driver", "(dropped)",
               "volume drivers are replaced by the cluster's storage class")  # fmt: skip
