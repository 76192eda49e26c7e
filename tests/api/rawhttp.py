"""One HTTPS request to an embedded cluster, every response header line kept."""

from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass
from typing import Any

from kubecourse.embedded.cluster import EmbeddedCluster


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    cluster: EmbeddedCluster,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    token: str | None = None,
) -> Reply:
    """`body` is sent as JSON unless it is bytes; `token` defaults to the cluster's."""
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    connection = http.client.HTTPSConnection(
        "127.0.0.1", cluster.port, context=context, timeout=10
    )
    sent = dict(headers or {})
    sent.setdefault("Authorization", f"Bearer {token or cluster.token}")
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
    try:
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        if response.getheader("Transfer-Encoding") == "chunked" and "watch=" in path:
            first = response.readline()  # a watch: its first event is enough
            return Reply(response.status, response.getheaders(), first)
        return Reply(response.status, response.getheaders(), response.read())
    finally:
        connection.close()
