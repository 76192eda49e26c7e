"""kube-apiserver's health endpoints and `/version`.

`/healthz`, `/livez` and `/readyz` answer `ok`; with `?verbose` one `[+]<check> ok` line
per check and `<endpoint> check passed`, and `?exclude=<check>` shows that check as
`[+]<check> excluded: ok` (an unknown one adds the `warn: some health checks cannot be
excluded` line).  `/<endpoint>/<check>` answers that check alone.  The checks are ones a
kind 1.37 control plane reports, under their real names; a real server lists more
post-start hooks (priority-and-fairness, the aggregator's controllers, ...), left out
here.  Every check passes once the server listens: the embedded store is in-process.

`/version` carries the 1.33+ emulation and compatibility versions and, like
`WriteRawJSON`, is indented JSON.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from kubecourse.embedded import status

ENDPOINTS = ("/healthz", "/livez", "/readyz")

_HOOKS = [
    f"poststarthook/{hook}"
    for hook in (
        "start-apiserver-admission-initializer",
        "generic-apiserver-start-informers",
        "start-apiextensions-informers",
        "start-apiextensions-controllers",
        "crd-informer-synced",
        "start-system-namespaces-controller",
        "rbac/bootstrap-roles",
        "scheduling/bootstrap-system-priority-classes",
        "bootstrap-controller",
        "start-kube-aggregator-informers",
        "apiservice-registration-controller",
    )
]
_LIVE = ["ping", "log", "etcd", *_HOOKS, "autoregister-completion"]
CHECKS: dict[str, list[str]] = {
    "healthz": _LIVE,
    "livez": _LIVE,
    "readyz": [
        "ping",
        "log",
        "etcd",
        "etcd-readiness",
        "informer-sync",
        *_HOOKS,
        "autoregister-completion",
        "shutdown",
    ],
}

VERSION_INFO: dict[str, str] = {
    "major": "1",
    "minor": "37",
    "emulationMajor": "1",
    "emulationMinor": "37",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "36",
    "gitVersion": "v1.37.0-kubecourse",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-11-01T00:00:00Z",
    "goVersion": "go1.25.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def is_health_path(parts: list[str]) -> bool:
    return bool(parts) and f"/{parts[0]}" in ENDPOINTS


def answer(request: web.Request, parts: list[str]) -> web.Response:
    """`/readyz`, `/readyz?verbose`, `/readyz/<check>` (and livez, healthz)."""
    endpoint, checks = parts[0], CHECKS[parts[0]]
    if len(parts) > 1:
        if "/".join(parts[1:]) not in checks:
            raise status.path_not_found()
        return _text("ok")
    excluded = set(request.query.getall("exclude", []))
    lines = [f"[+]{c} excluded: ok" if c in excluded else f"[+]{c} ok" for c in checks]
    unknown = sorted(excluded - set(checks))
    if unknown:
        quoted = ",".join(f'"{name}"' for name in unknown)
        lines.append(
            f"warn: some health checks cannot be excluded: no matches for {quoted}"
        )
    if "verbose" not in request.query:
        return _text("ok")
    return _text("".join(line + "\n" for line in lines) + f"{endpoint} check passed\n")


def version() -> web.Response:
    """`/version` as `WriteRawJSON` writes it: indented, no trailing newline."""
    return web.Response(
        body=json.dumps(VERSION_INFO, indent=2).encode(),
        content_type="application/json",
    )


def _text(body: str) -> web.Response:
    headers: dict[str, Any] = {"X-Content-Type-Options": "nosniff"}
    return web.Response(
        text=body, content_type="text/plain", charset="utf-8", headers=headers
    )
