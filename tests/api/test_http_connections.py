"""The server's limits and its connection layer: Go's header limit, unreadable requests
answered without echo, watches whose client went away, bodies nested too deep, JSON
patches of too many operations."""

from __future__ import annotations

import json
import logging
import socket
import ssl
from collections.abc import Iterator

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from kubecourse.embedded.connections import MAX_HEADER_BYTES
from tests.api import rawhttp
from tests.api.conftest import eventually


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(
        ClusterOptions(run_controllers=False, system_workloads=False)
    ) as running:
        yield running


def tls_socket(cluster: EmbeddedCluster) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    raw = socket.create_connection(("127.0.0.1", cluster.port), timeout=10)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


def exchange(cluster: EmbeddedCluster, data: bytes) -> bytes:
    """Send `data` on a fresh connection and read until the server closes it."""
    with tls_socket(cluster) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def get(path: str, *headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_9_kb_label_selector_is_served(core: k8s.CoreV1Api) -> None:
    labels = {"app": "value-0899"}
    core.create_namespaced_config_map(
        "default", {"metadata": {"name": "selected", "labels": labels}}
    )
    selector = "app in (" + ",".join(f"value-{i:04d}" for i in range(900)) + ")"
    assert len(selector) > 9000

    found = core.list_namespaced_config_map("default", label_selector=selector).items

    assert [c.metadata.name for c in found] == ["selected"]


def test_a_9_kb_authorization_header_is_read_and_judged(
    cluster: EmbeddedCluster,
) -> None:
    answer = exchange(
        cluster,
        get("/api/v1/namespaces", f"Authorization: Bearer {cluster.token}{'x' * 9000}"),
    )

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(
        b"HTTP/1.1 40"
    )  # refused as a wrong token, not as unreadable
    assert b'"kind":"Status"' in body


@pytest.mark.parametrize("where", ["header", "request line"])
def test_a_request_over_1_mib_is_a_431_that_repeats_nothing_it_was_sent(
    cluster: EmbeddedCluster, caplog: pytest.LogCaptureFixture, where: str
) -> None:
    padding = "x" * (MAX_HEADER_BYTES + 100)
    auth = f"Authorization: Bearer {cluster.token}"
    if where == "header":
        request = get("/api/v1/namespaces", f"{auth}{padding}")
    else:
        request = get(f"/api/v1/namespaces?{cluster.token}={padding}", auth)

    with caplog.at_level(logging.DEBUG):
        answer = exchange(cluster, request)

    head, _, body = answer.partition(b"\r\n\r\n")
    assert b" 431 Request Header Fields Too Large\r\n" in head
    assert body == b"431 Request Header Fields Too Large"
    assert cluster.token.encode() not in answer
    assert cluster.token not in caplog.text
    assert "refused an unreadable request" in caplog.text


def test_a_request_that_is_not_http_is_a_plain_400_that_repeats_nothing(
    cluster: EmbeddedCluster, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        answer = exchange(
            cluster, f"GET /api/v1 HTTP/1.1\r\nBearer {cluster.token}\r\n\r\n".encode()
        )

    assert answer.endswith(b"\r\n\r\n400 Bad Request")
    assert cluster.token.encode() not in answer
    assert cluster.token not in caplog.text


def test_watches_whose_client_left_a_quiet_namespace_are_released(
    cluster: EmbeddedCluster,
) -> None:
    before = cluster.call(lambda: cluster.store.watchers)
    path = "/api/v1/namespaces/quiet/configmaps?watch=true"
    auth = f"Authorization: Bearer {cluster.token}"
    sockets = [tls_socket(cluster) for _ in range(5)]
    for sock in sockets:
        sock.sendall(
            (
                "\r\n".join([f"GET {path} HTTP/1.1", "Host: 127.0.0.1", auth])
                + "\r\n\r\n"
            ).encode()
        )
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 OK")
    assert cluster.call(lambda: cluster.store.watchers) == before + 5

    for sock in sockets:
        sock.close()

    eventually(
        lambda: cluster.call(lambda: cluster.store.watchers) == before,
        what="watchers released",
    )


@pytest.mark.parametrize(
    ("ctype", "head", "problem"),
    [
        (
            "application/json",
            b'{"metadata":{"name":"deep"},"x":',
            "json parse error: invalid character '[' exceeded max depth",
        ),
        (
            "application/yaml",
            b"metadata: {name: deep}\nx: ",
            "error converting YAML to JSON: yaml: exceeded max depth of 10000",
        ),
    ],
)
def test_a_body_nested_100000_deep_is_a_bad_request_not_an_internal_error(
    cluster: EmbeddedCluster, ctype: str, head: bytes, problem: str
) -> None:
    body = (
        head + b"[" * 100000 + b"]" * 100000 + (b"}" if ctype.endswith("json") else b"")
    )

    answer = rawhttp.request(
        cluster,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        body,
        {"Content-Type": ctype},
    )

    status = answer.json()
    assert (answer.status, status["reason"]) == (400, "BadRequest")
    assert status["message"].startswith(
        "the object provided is unrecognized (must be of type ConfigMap): "
    )
    assert problem in status["message"]


def test_a_json_patch_of_10001_operations_is_413_and_changes_nothing(
    core: k8s.CoreV1Api,
) -> None:
    core.create_namespaced_config_map(
        "default", {"metadata": {"name": "patched"}, "data": {}}
    )
    ops = [{"op": "add", "path": f"/data/k{i}", "value": "v"} for i in range(10001)]

    with pytest.raises(ApiException) as err:
        core.patch_namespaced_config_map("patched", "default", ops)

    status = json.loads(err.value.body)
    assert (err.value.status, status["reason"]) == (413, "RequestEntityTooLarge")
    assert status["message"] == (
        "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001"
    )
    assert not core.read_namespaced_config_map("patched", "default").data


@pytest.mark.parametrize(
    ("query", "code", "message"),
    [
        ("timeoutSeconds=abc", 400, 'strconv.ParseInt: parsing "abc": invalid syntax'),
        ("limit=1.5", 400, 'strconv.ParseInt: parsing "1.5": invalid syntax'),
        (
            "resourceVersion=abc",
            500,
            'resourceVersion: Invalid value: "abc": strconv.ParseUint: parsing "abc": invalid syntax',
        ),
        (
            "watch=true&resourceVersion=abc",
            500,
            'resourceVersion: Invalid value: "abc": strconv.ParseUint: parsing "abc": invalid syntax',
        ),
    ],
)
def test_list_parameters_that_do_not_convert_are_refused_as_upstream_refuses_them(
    cluster: EmbeddedCluster, query: str, code: int, message: str
) -> None:
    answer = rawhttp.request(
        cluster, "GET", f"/api/v1/namespaces/default/configmaps?{query}"
    )

    assert (answer.status, answer.json()["message"]) == (code, message)


@pytest.mark.parametrize("name", ["..", "..%2f"])
def test_a_get_of_the_name_dot_dot_is_a_bad_request(
    cluster: EmbeddedCluster, name: str
) -> None:
    answer = rawhttp.request(
        cluster, "GET", f"/api/v1/namespaces/default/configmaps/{name}"
    )

    assert answer.status == 400
    assert (
        answer.json()["message"] == """Name parameter invalid: "..": may not be '..'"""
    )


def test_the_api_still_answers_after_refused_requests(core: k8s.CoreV1Api) -> None:
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("absent", "default")
    assert err.value.status == 404
