"""Requests to a Service from outside the cluster, through the API server's service proxy.

`cluster.request("web", "/api")` sends an HTTP request to
`/api/v1/namespaces/<ns>/services/web[:port]/proxy/api` with the official client, so it
works against the embedded cluster and against kind alike: the API server picks one of
the Service's ready endpoints and relays the Pod's answer.  `cluster.answers("web", 10)`
sends ten and counts which Pods answered (whoami's `Hostname:` line), which shows a
Service spreading requests over its ready Pods.

The ingress controller is a Service too: on the embedded cluster (and on kind with the
course's Traefik) `cluster.request("traefik", "/api/account/1", namespace="traefik",
port="web")` goes through the Ingress and HTTPRoute rules, as a browser's request would.
A NetworkPolicy that admits only the ingress controller keeps the API server's proxy out
too: on a real cluster its requests come from the control plane node.

Errors: a Service the API server cannot reach (no ready endpoint, the Pod refuses, a
policy drops it) raises the facade's `ApiError` with the API server's message (`503 ...
no endpoints available for service "web"`); whatever the Pod answers, errors included
(`404 page not found`), is returned as a `Reply`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from kubernetes import client as k8s

from kubecourse.client.apierrors import translated_errors
from kubecourse.errors import api_error_from_status

_HOSTNAME = re.compile(r"^Hostname: (\S+)$", re.M)


@dataclass
class Reply:
    """What the Pod answered, as the API server relayed it."""

    status: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def pod(self) -> str | None:
        """The answering Pod's name, when the server says it (whoami, hello-app)."""
        found = _HOSTNAME.search(self.text)
        if found is not None:
            return found.group(1)
        try:
            data = json.loads(self.text)
        except ValueError:
            return None
        return (
            str(data["hostname"])
            if isinstance(data, dict) and "hostname" in data
            else None
        )

    def __str__(self) -> str:
        return self.text


class Traffic:
    """The request helpers of `Cluster` (a mixin: it needs `api_client` and `namespace`)."""

    api_client: k8s.ApiClient
    namespace: str

    def request(
        self,
        service: str,
        path: str = "/",
        *,
        port: int | str | None = None,
        namespace: str | None = None,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: str | bytes | None = None,
    ) -> Reply:
        """One HTTP request to `service` through the API server's service proxy."""
        if not path.startswith("/"):
            raise ValueError(f"the path must start with '/': {path!r}")
        name = f"{service}:{port}" if port is not None else service
        resource = (f"/api/v1/namespaces/{quote(namespace or self.namespace, safe='')}/services/"
                    f"{quote(name, safe=':')}/proxy{path}")  # fmt: skip
        return self._call(resource, method.upper(), headers or {}, body)

    def answers(
        self, service: str, count: int = 10, path: str = "/", **options: Any
    ) -> Counter[str]:
        """How many of `count` requests each Pod answered (`?` when a reply names none)."""
        if count < 1:
            raise ValueError(f"count must be at least 1, not {count!r}")
        tally: Counter[str] = Counter()
        for _ in range(count):
            tally[self.request(service, path, **options).pod or "?"] += 1
        return tally

    def _call(
        self,
        resource: str,
        method: str,
        headers: dict[str, str],
        body: str | bytes | None,
    ) -> Reply:
        payload = body.encode() if isinstance(body, str) else body
        request = self.api_client.param_serialize(
            method, resource, header_params={"Accept": "*/*", **headers},
            body=payload, auth_settings=["BearerToken"],
        )  # fmt: skip
        with translated_errors():  # not connected, and the like
            response = self.api_client.call_api(*request).response  # urllib3's
            data = bytes(response.data or b"")
        text = data.decode("utf-8", "replace")
        reply = Reply(int(response.status), text, dict(response.headers))
        if reply.status >= 400:
            _raise_for_status(reply)
        return reply


def _raise_for_status(reply: Reply) -> None:
    """The API server's own Status is the facade's error; a Pod's error answer is a Reply."""
    try:
        status = json.loads(reply.text)
    except ValueError:
        return
    if (
        isinstance(status, dict)
        and status.get("kind") == "Status"
        and status.get("status") == "Failure"
    ):
        raise api_error_from_status(status)
