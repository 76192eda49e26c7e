"""Secrets and configs as Kubernetes Secrets and ConfigMaps, mounted where compose put them.

Each compose secret becomes a Secret with one key (the secret's name), mounted as a
single read-only file with `subPath`, so `/run/secrets/db_password` is a file, exactly as
in compose (a directory would break `*_FILE` variables). Configs do the same with
ConfigMaps. An `external` one is referenced, not created, and mounted as `optional` so
the pod still starts until you create it.
"""

from __future__ import annotations

import base64
from typing import Any

from kubecourse.compose.context import Plan, Translation
from kubecourse.compose.filerefs import Definition, Reference, data_key
from kubecourse.compose.names import clean_name, derived_name

_OBJECT = {"secrets": "Secret", "configs": "ConfigMap"}


def object_name(definition: Definition) -> str:
    return clean_name(definition.external_name or definition.name) or "unnamed"


def emit_file_objects(t: Translation, plans: list[Plan]) -> None:
    """One Secret or ConfigMap per definition that a translated service uses."""
    defs = t.project.definitions
    for kind, table in (("secrets", defs.secrets), ("configs", defs.configs)):
        for name, definition in table.items():
            users = tuple(p.service.name for p in plans if p.kind is not None
                          and any(r.source == name for r in getattr(p.service, kind)))  # fmt: skip
            if users:
                _emit(t, definition, users)


def _emit(t: Translation, definition: Definition, users: tuple[str, ...]) -> None:
    kind = _OBJECT[definition.kind]
    name = object_name(definition)
    if definition.data is None:
        t.warn(",".join(users), f"{definition.kind}.{definition.name}",
               f"{kind}/{name} (not created)",
               f"it is external (created outside compose): create the {kind} `{name}` "
               f"with key `{data_key(definition.name)}` before applying; until then it "
               "is mounted as optional, so the pod starts without the file")  # fmt: skip
        return
    key = data_key(definition.name)
    manifest: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": kind,
        "metadata": {"name": name},
    }
    if kind == "Secret":
        manifest["type"] = "Opaque"
        manifest["data"] = {key: base64.b64encode(definition.data).decode("ascii")}
    else:
        manifest["data"] = {key: definition.data.decode("utf-8", errors="replace")}
    why = (f"compose {definition.kind[:-1]} `{definition.name}` ({definition.source}) "
           f"as a {kind} with one key, `{key}`")  # fmt: skip
    if kind == "Secret":
        why += ("; its content was copied in at translation time (base64 is an "
                "encoding, not encryption: do not commit this file)")  # fmt: skip
    t.emit(manifest, users, why)


def file_volumes(
    t: Translation, plan: Plan, used: set[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Volumes and mounts for the service's secrets and configs."""
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    defs = t.project.definitions
    for kind, table in (("secrets", defs.secrets), ("configs", defs.configs)):
        for reference in getattr(plan.service, kind):
            definition = table[reference.source]
            volume, mount = _volume(t, plan, definition, reference, used)
            volumes.append(volume)
            mounts.append(mount)
    return volumes, mounts


def _volume(
    t: Translation, plan: Plan, definition: Definition, ref: Reference, used: set[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    key = data_key(definition.name)
    name = _unique(
        derived_name(definition.kind[:-1], clean_name(ref.source) or "x"), used
    )
    item: dict[str, Any] = {"key": key, "path": key}
    if ref.mode is not None:
        item["mode"] = ref.mode
    field = "secretName" if definition.kind == "secrets" else "name"
    source: dict[str, Any] = {field: object_name(definition), "items": [item]}
    if definition.data is None:
        source["optional"] = True
    volume = {
        "name": name,
        "secret" if definition.kind == "secrets" else "configMap": source,
    }
    mount = {"name": name, "mountPath": ref.target, "subPath": key, "readOnly": True}
    _explain(t, plan, definition, ref)
    return volume, mount


def _unique(name: str, used: set[str]) -> str:
    candidate, counter = name[:63].rstrip("-"), 2
    while candidate in used:
        candidate = derived_name(name, str(counter))
        counter += 1
    used.add(candidate)
    return candidate


def _explain(
    t: Translation, plan: Plan, definition: Definition, ref: Reference
) -> None:
    kind = _OBJECT[definition.kind]
    target = f"{kind}/{object_name(definition)} mounted at {ref.target}"
    why = (f"the file appears at {ref.target}, read-only, as in compose (mounted with "
           "subPath so it is a single file, not a directory)")  # fmt: skip
    if ref.mode is not None:
        why += f"; mode {oct(ref.mode)[2:].zfill(4)} kept"
    t.decide(plan.service.name, ref.key, target, why)
    if ref.owner:
        t.warn(plan.service.name, ref.key, "(dropped)",
               f"{', '.join(ref.owner)}: Kubernetes cannot set the owner of one mounted "
               "file; set the pod's securityContext.fsGroup if the process needs it")  # fmt: skip
