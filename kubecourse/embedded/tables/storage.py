"""The StorageClass printer: NAME (with ` (default)`), PROVISIONER, RECLAIMPOLICY,
VOLUMEBINDINGMODE, ALLOWVOLUMEEXPANSION, AGE, as upstream's `printStorageClass`
(unset policy and mode shown as their defaults, Delete and Immediate)."""

from __future__ import annotations

from datetime import datetime

from kubecourse.embedded.storage import is_default
from kubecourse.embedded.tables.common import (
    AGE,
    NAME,
    Cell,
    Column,
    Obj,
    Printer,
    _get,
    age,
)

_SC = ("storage.k8s.io", "v1", "StorageClass")
_STORAGE_CLASS_COLUMNS = (
    NAME,
    Column("Provisioner", description=(*_SC, "provisioner")),
    Column("ReclaimPolicy", description=(*_SC, "reclaimPolicy")),
    Column("VolumeBindingMode", description=(*_SC, "volumeBindingMode")),
    Column("AllowVolumeExpansion", description=(*_SC, "allowVolumeExpansion")),
    AGE,
)


def _storage_class_cells(obj: Obj, now: datetime) -> list[Cell]:
    name = str(_get(obj, "metadata", "name", default=""))
    return [
        f"{name} (default)" if is_default(dict(obj)) else name,
        str(_get(obj, "provisioner", default="")),
        str(_get(obj, "reclaimPolicy", default="Delete")),
        str(_get(obj, "volumeBindingMode", default="Immediate")),
        bool(_get(obj, "allowVolumeExpansion", default=False)),
        age(_get(obj, "metadata", "creationTimestamp"), now),
    ]


PRINTERS: dict[tuple[str, str], Printer] = {
    ("storage.k8s.io", "StorageClass"): (_STORAGE_CLASS_COLUMNS, _storage_class_cells),
}
