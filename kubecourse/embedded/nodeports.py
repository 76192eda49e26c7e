"""NodePorts as kube-apiserver's service node-port allocator hands them out.

Faithful:
- the range is 30000-32767 (`--service-node-port-range`'s default, kind's too);
- a port asked for explicitly must be in the range (`provided port is not in the valid
  range. The range of valid ports is 30000-32767`) and held by no other Service, nor by
  another port of the same Service (`provided port is already allocated`); both are a
  422 on `spec.ports[i].nodePort`, raised before the Service's validation, as the
  registry allocates before it validates;
- a port chosen by the server is random, seeded from the operating system: the range
  is split at an offset computed from its size (`min(max(16, size/32), 128)`, 86 for
  the default range), the ports below it are kept for explicit requests, and a chosen
  port comes from the upper band while it has one free (a random start, then the next
  free port after it), from the lower band only when the upper one is full;
- a full range is a 500 `failed to allocate a nodePort: range is full`.

Simplified: the allocation is not a bitmap kept in storage with a repair loop, as
upstream's is; the ports held are read from the stored Services at each allocation, so
a restart rebuilds it by construction, a deleted or re-typed Service frees its ports at
once, and a dry run holds nothing.  Two stored Services that share a port (which
upstream's repair loop reports as an event) are not detected.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable
from typing import Any

from kubecourse.embedded.store import Store

Obj = dict[str, Any]

FIRST, LAST = 30000, 32767
SIZE = LAST - FIRST + 1
RANGE_TEXT = f"{FIRST}-{LAST}"
NOT_IN_RANGE = (
    f"provided port is not in the valid range. The range of valid ports is {RANGE_TEXT}"
)
ALLOCATED = "provided port is already allocated"
FULL = "range is full"

# One generator for the process, seeded from the operating system (upstream seeds
# math/rand from the clock); tests pass their own.
_RANDOM = random.Random(os.urandom(16))


class PortError(Exception):
    """An explicit port that cannot be given, or a full range; `str()` is upstream's."""


def range_offset(size: int = SIZE) -> int:
    """Upstream's `calculateRangeOffset`: how many ports at the bottom of the range are
    kept for explicit requests."""
    if size <= 16:
        return 0
    return min(max(16, size // 32), 128)


def held(store: Store, *, but: Obj | None = None) -> set[int]:
    """The nodePorts stored Services hold, leaving out `but` (a Service being updated)."""
    skip = _key(but) if but is not None else None
    return {
        port
        for service in store.items("services")
        if _key(service) != skip
        for port in ports_of(service)
    }


def ports_of(service: Obj) -> list[int]:
    entries = (service.get("spec") or {}).get("ports") or []
    return [
        int(p["nodePort"]) for p in entries if isinstance(p, dict) and p.get("nodePort")
    ]


def _key(service: Obj) -> tuple[str, str]:
    meta = service.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


class Allocation:
    """One create's or update's allocations: the ports in use, plus those it takes."""

    def __init__(self, used: Iterable[int], rand: random.Random | None = None) -> None:
        self.used = set(used)
        self.rand = rand or _RANDOM

    def allocate(self, port: int) -> None:
        if not FIRST <= port <= LAST:
            raise PortError(NOT_IN_RANGE)
        if port in self.used:
            raise PortError(ALLOCATED)
        self.used.add(port)

    def allocate_next(self) -> int:
        offset = range_offset()
        for start, size in ((offset, SIZE - offset), (0, offset)):
            found = self._free_in(start, size)
            if found is not None:
                self.used.add(found)
                return found
        raise PortError(FULL)

    def _free_in(self, start: int, size: int) -> int | None:
        """A random place in the band, then the first free port from there on."""
        if size <= 0:
            return None
        first = self.rand.randrange(size)
        for step in range(size):
            port = FIRST + start + (first + step) % size
            if port not in self.used:
                return port
        return None
