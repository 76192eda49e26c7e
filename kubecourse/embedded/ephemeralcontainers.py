"""The `ephemeralcontainers` subresource of Pods, as kube-apiserver serves it.

`kubectl debug -it web --image=busybox --target=web` sends a strategic merge patch of
the Pod to `pods/web/ephemeralcontainers`; the answer, and a GET, is the whole Pod.

Faithful (upstream's ephemeralContainersStrategy and
`ValidatePodEphemeralContainersUpdate`): only `spec.ephemeralContainers` is taken from
the request, defaulted as containers are (imagePullPolicy, terminationMessagePath and
-Policy); a change bumps `metadata.generation`; existing ephemeral containers may be
neither changed nor removed (`Forbidden: existing ephemeral containers "x" may not be
changed`); each new one needs a DNS label name unique among all the Pod's containers
(`Duplicate value`), an image (`Required value`), a `targetContainerName` naming one of
the Pod's containers (`Not found`), and none of the fields ephemeral containers may not
have (ports, resources, resizePolicy, restartPolicy, restartPolicyRules, the probes,
lifecycle; `Forbidden: cannot be set for an Ephemeral Container`), nor a `subPath`
mount.  A regular update of the Pod keeps its ephemeral containers as they are.
"""

from __future__ import annotations

import copy
from typing import Any

from kubecourse.embedded import defaults
from kubecourse.embedded.status import cause
from kubecourse.embedded.validation import (
    DNS1123_LABEL,
    LABEL_MSG,
    Causes,
    forbidden,
    go_repr,
    invalid_value,
    required,
)

Obj = dict[str, Any]
FIELD = "spec.ephemeralContainers"
NOT_ALLOWED = (
    "ports",
    "resources",
    "resizePolicy",
    "restartPolicy",
    "restartPolicyRules",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle",
)
CANNOT = "cannot be set for an Ephemeral Container"


def merge(old: Obj, new: Obj) -> Obj:
    """The Pod after an update through the subresource: its ephemeral containers are
    the request's, everything else stays."""
    merged = copy.deepcopy(old)
    wanted = copy.deepcopy((new.get("spec") or {}).get("ephemeralContainers") or [])
    for container in wanted:
        if isinstance(container, dict):
            defaults.default_container(container)
    if wanted:
        merged["spec"]["ephemeralContainers"] = wanted
    else:
        merged["spec"].pop("ephemeralContainers", None)
    if wanted != (old["spec"].get("ephemeralContainers") or []):
        meta = merged["metadata"]
        meta["generation"] = int(meta.get("generation") or 1) + 1
    return merged


def keep(old: Obj, new: Obj) -> None:
    """A regular update of a Pod cannot add or drop ephemeral containers."""
    spec = new.setdefault("spec", {})
    spec.pop("ephemeralContainers", None)
    if old["spec"].get("ephemeralContainers"):
        spec["ephemeralContainers"] = copy.deepcopy(old["spec"]["ephemeralContainers"])


def with_old_ones(old: Obj, new: Obj) -> Obj:
    """`new` with `old`'s ephemeral containers (for the checks of the rest of the spec)."""
    if new["spec"].get("ephemeralContainers") == old["spec"].get("ephemeralContainers"):
        return new
    same = copy.deepcopy(new)
    keep(old, same)
    return same


def validate(old: Obj, new: Obj) -> Causes:
    """The causes of a refused change to the Pod's ephemeral containers."""
    before = {c.get("name"): c for c in old["spec"].get("ephemeralContainers") or []}
    after = [c for c in new["spec"].get("ephemeralContainers") or []]
    causes = _unchanged(before, after)
    if causes:
        return causes
    taken = {c.get("name") for c in _regular(new)}
    seen = set(taken)
    for index, container in enumerate(after):
        if container.get("name") in before:
            seen.add(container.get("name"))
            continue
        causes += _new_container(container, f"{FIELD}[{index}]", seen, taken)
    return causes


def _unchanged(before: dict[Any, Obj], after: list[Obj]) -> Causes:
    now = {c.get("name"): c for c in after}
    causes: Causes = []
    for name, container in before.items():
        if name not in now:
            detail = (
                f"existing ephemeral containers {go_repr(name)} may not be removed\n"
            )
            causes.append(forbidden(FIELD, detail))
        elif now[name] != container:
            detail = (
                f"existing ephemeral containers {go_repr(name)} may not be changed\n"
            )
            causes.append(forbidden(FIELD, detail))
    return causes


def _regular(pod: Obj) -> list[Obj]:
    spec = pod["spec"]
    return [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]


def _new_container(
    container: Obj, here: str, seen: set[Any], taken: set[Any]
) -> Causes:
    causes: Causes = []
    name = container.get("name")
    if not name:
        causes.append(required(f"{here}.name"))
    elif not DNS1123_LABEL.match(str(name)):
        causes.append(invalid_value(f"{here}.name", name, LABEL_MSG))
    elif name in seen:
        duplicate = f"Duplicate value: {go_repr(name)}"
        causes.append(cause(f"{here}.name", duplicate, "FieldValueDuplicate"))
    seen.add(name)
    if not container.get("image"):
        causes.append(required(f"{here}.image"))
    target = container.get("targetContainerName")
    if target and target not in taken:
        missing = f"Not found: {go_repr(target)}"
        causes.append(
            cause(f"{here}.targetContainerName", missing, "FieldValueNotFound")
        )
    for field in NOT_ALLOWED:
        if container.get(field) not in (None, [], {}):
            causes.append(forbidden(f"{here}.{field}", CANNOT))
    for i, mount in enumerate(container.get("volumeMounts") or []):
        if mount.get("subPath"):
            causes.append(forbidden(f"{here}.volumeMounts[{i}].subPath", CANNOT))
    return causes
