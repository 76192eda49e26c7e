"""StorageClasses (storage.k8s.io/v1) and the DefaultStorageClass admission plugin.

Faithful: defaults `reclaimPolicy: Delete` and `volumeBindingMode: Immediate`;
validation as `ValidateStorageClass` (`provisioner` required and a qualified name,
`reclaimPolicy` Delete or Retain, `volumeBindingMode` Immediate or
WaitForFirstConsumer) and `ValidateStorageClassUpdate` (updates to parameters,
provisioner and reclaimPolicy are forbidden, volumeBindingMode is immutable); a
PersistentVolumeClaim created without `spec.storageClassName` (nor the beta
annotation) gets the default class's name: the class annotated
`storageclass.kubernetes.io/is-default-class: "true"` (the newest when several are),
none when there is no default.  `storageClassName: ""` asks for no class and stays.
The PersistentVolumeClaimResize admission plugin: a larger storage request is refused
(403) unless the claim is Bound and its class sets `allowVolumeExpansion: true`.
"""

from __future__ import annotations

import re
from typing import Any

from kubecourse.embedded import quantity, status
from kubecourse.embedded.store import Store
from kubecourse.embedded.validation import (
    forbidden,
    immutable,
    invalid_value,
    not_supported,
    required,
)

Obj = dict[str, Any]
Causes = list[dict[str, str]]
STORAGE_CLASSES = "storageclasses.storage.k8s.io"
DEFAULT_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
BETA_DEFAULT_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class"
BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"
RECLAIM_POLICIES = ("Delete", "Retain")
BINDING_MODES = ("Immediate", "WaitForFirstConsumer")
_QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_PREFIX = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
QUALIFIED_NAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
    "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


def default_storage_class(obj: Obj) -> None:
    obj.setdefault("reclaimPolicy", "Delete")
    obj.setdefault("volumeBindingMode", "Immediate")


def validate_storage_class(obj: Obj) -> Causes:
    causes: Causes = []
    provisioner = obj.get("provisioner")
    if not provisioner:
        causes.append(required("provisioner"))
    elif not _qualified_name(str(provisioner)):
        causes.append(invalid_value("provisioner", provisioner, QUALIFIED_NAME_MSG))
    policy = obj.get("reclaimPolicy")
    if policy not in RECLAIM_POLICIES:
        causes.append(not_supported("reclaimPolicy", policy, RECLAIM_POLICIES))
    mode = obj.get("volumeBindingMode")
    if mode not in BINDING_MODES:
        causes.append(not_supported("volumeBindingMode", mode, BINDING_MODES))
    return causes


def validate_storage_class_update(old: Obj, new: Obj) -> Causes:
    causes: Causes = []
    for field in ("parameters", "provisioner", "reclaimPolicy"):
        if old.get(field) != new.get(field):
            causes.append(forbidden(field, f"updates to {field} are forbidden."))
    causes += immutable(
        "volumeBindingMode", old.get("volumeBindingMode"), new.get("volumeBindingMode")
    )
    return causes


def _qualified_name(name: str) -> bool:
    prefix, slash, rest = name.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _PREFIX.match(prefix)):
        return False
    return len(rest) <= 63 and bool(_QUALIFIED.match(rest))


# -- DefaultStorageClass admission --------------------------------------------------------


def is_default(storage_class: Obj) -> bool:
    annotations = (storage_class.get("metadata") or {}).get("annotations") or {}
    return "true" in (
        annotations.get(DEFAULT_ANNOTATION),
        annotations.get(BETA_DEFAULT_ANNOTATION),
    )


def default_class_name(store: Store) -> str | None:
    defaults = [c for c in store.items(STORAGE_CLASSES) if is_default(c)]
    if not defaults:
        return None
    newest = max(
        defaults,
        key=lambda c: (
            c["metadata"].get("creationTimestamp") or "",
            c["metadata"]["name"],
        ),
    )
    return str(newest["metadata"]["name"])


def admit_claim(store: Store, claim: Obj) -> None:
    """Give a new claim that names no class the default class."""
    spec = claim.setdefault("spec", {})
    annotations = claim["metadata"].get("annotations") or {}
    if "storageClassName" in spec and spec["storageClassName"] is not None:
        return
    if BETA_CLASS_ANNOTATION in annotations:
        return
    name = default_class_name(store)
    if name is not None:
        spec["storageClassName"] = name


def class_of(claim: Obj) -> str:
    """The class a claim asks for ("" for none), the beta annotation first."""
    annotations = claim["metadata"].get("annotations") or {}
    if BETA_CLASS_ANNOTATION in annotations:
        return str(annotations[BETA_CLASS_ANNOTATION])
    return str((claim.get("spec") or {}).get("storageClassName") or "")


RESIZE_FORBIDDEN = (
    "only dynamically provisioned pvc can be resized and the storageclass that "
    "provisions the pvc must support resize"
)


def check_claim_resize(store: Store, old: Obj, new: Obj) -> None:
    """`PersistentVolumeClaimResize`: who may ask for more storage."""
    if not _grows(old, new):
        return
    name = new["metadata"]["name"]
    if (old.get("status") or {}).get("phase") != "Bound":
        raise _forbidden(name, "Only bound persistent volume claims can be expanded")
    if not _allows_resize(store, class_of(old), class_of(new)):
        raise _forbidden(name, RESIZE_FORBIDDEN)


def _grows(old: Obj, new: Obj) -> bool:
    def size(claim: Obj) -> Any:
        requests = ((claim.get("spec") or {}).get("resources") or {}).get("requests")
        try:
            return quantity.parse((requests or {}).get("storage") or "0")
        except ValueError:
            return 0

    return bool(size(new) > size(old))


def _allows_resize(store: Store, old_class: str, new_class: str) -> bool:
    if not new_class or new_class != old_class:
        return False
    storage_class = store.get(STORAGE_CLASSES, "", new_class)
    return bool((storage_class or {}).get("allowVolumeExpansion"))


def _forbidden(name: str, detail: str) -> status.StatusError:
    return status.forbidden(
        f'persistentvolumeclaims "{name}" is forbidden: {detail}',
        {"name": name, "kind": "persistentvolumeclaims"},
    )
