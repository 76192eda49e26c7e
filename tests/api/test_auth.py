"""Only loopback, only with the token."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request

import pytest

from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster


def _status(url: str, token: str | None, ca: str | None = None) -> int:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    context = ssl.create_default_context(cafile=ca or _CA[0])
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


_CA: list[str] = [""]


@pytest.fixture(autouse=True)
def _trust(cluster: EmbeddedCluster) -> None:
    _CA[0] = str(cluster.ca_file)


def test_requests_without_a_token_are_401(cluster: EmbeddedCluster) -> None:
    assert _status(cluster.url + "/api/v1/namespaces", None) == 401


def test_requests_with_a_wrong_token_are_403(cluster: EmbeddedCluster) -> None:
    assert _status(cluster.url + "/api/v1/namespaces", "not-the-token") == 403


def test_the_right_token_is_served(cluster: EmbeddedCluster) -> None:
    assert _status(cluster.url + "/api/v1/namespaces", cluster.token) == 200


def test_health_and_version_are_public_as_upstream(cluster: EmbeddedCluster) -> None:
    assert _status(cluster.url + "/readyz", None) == 200
    assert _status(cluster.url + "/version", None) == 200


def test_server_listens_on_loopback_only(cluster: EmbeddedCluster) -> None:
    # Read the listening sockets from the kernel rather than probing other addresses.
    port_hex = f"{cluster.port:04X}"
    listening = []
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A" and local.endswith(":" + port_hex):
                listening.append(local.split(":")[0])
    assert listening == ["0100007F"]  # 127.0.0.1, little-endian hex


def test_a_non_loopback_host_is_refused() -> None:
    with pytest.raises(ValueError, match="loopback"):
        EmbeddedCluster(ClusterOptions(host="0.0.0.0"))


def test_token_never_appears_in_the_log(cluster: EmbeddedCluster, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    _status(cluster.url + "/api/v1/pods", cluster.token)
    _status(cluster.url + "/api/v1/pods", "wrong")
    assert cluster.token not in caplog.text
