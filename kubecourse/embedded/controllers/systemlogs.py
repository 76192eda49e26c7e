"""The start-up lines of kind's system images, as `kubectl logs -n kube-system` shows them.

| image (repository) | logs at start |
|---|---|
| `etcd` | etcd's JSON lines: starting, member published, serving client traffic |
| `kube-apiserver` | klog lines: version, serving securely on 6443 |
| `kube-controller-manager`, `kube-scheduler` | klog lines: version, serving, leader lease acquired |
| `kube-proxy` | klog lines: iptables proxier, config controllers started |
| `coredns/coredns` | `.:53`, the configuration digest, `CoreDNS-1.14.6` |
| `kindest/kindnetd` | kindnetd connecting to the API server, its pod subnet |
| `kindest/local-path-provisioner` | the applied config, provisioner started |

A few plausible lines, written at the container's start; nothing more is logged later
(the real components log little when nothing happens).  Values come from the
container's command, args and literal env (node names, addresses, the endpoint).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]
Lines = Callable[[Obj, float], list[str]]


def _klog(t: float, source: str, message: str) -> str:
    """klog's header: `I1204 19:16:37.123456       1 server.go:150] message`."""
    stamp = time.strftime("%m%d %H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e6):06d}"
    return f"I{stamp}       1 {source}] {message}"


def _flag(container: Obj, name: str, default: str = "") -> str:
    for word in (container.get("command") or []) + (container.get("args") or []):
        if str(word).startswith(f"--{name}="):
            return str(word).split("=", 1)[1]
    return default


def _env(container: Obj, name: str, default: str = "") -> str:
    for var in container.get("env") or []:
        if var.get("name") == name and "value" in var:
            return str(var["value"])
    return default


def _version(container: Obj) -> str:
    image = str(container.get("image", ""))
    return image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else "v1.37.0"


def _etcd(container: Obj, t: float) -> list[str]:
    stamp = (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e6):06d}Z"
    )
    name = _flag(container, "name", "kubecourse-control-plane")
    client = _flag(container, "advertise-client-urls")

    def line(caller: str, msg: str, **extra: str) -> str:
        record = {"level": "info", "ts": stamp, "caller": caller, "msg": msg, **extra}
        return json.dumps(record, separators=(",", ":"))

    return [
        line(
            "embed/etcd.go:140",
            "configuring peer listeners",
            **{"listen-peer-urls": _flag(container, "listen-peer-urls")},
        ),
        line(
            "embed/etcd.go:311",
            "starting an etcd server",
            **{"etcd-version": _version(container).split("-")[0], "name": name},
        ),
        line(
            "etcdserver/server.go:2064",
            "published local member to cluster through raft",
            **{"local-member-attributes": f"{{Name:{name} ClientURLs:[{client}]}}"},
        ),
        line(
            "embed/serve.go:275",
            "serving client traffic securely",
            traffic="grpc+http",
            address=client.removeprefix("https://"),
        ),
    ]


def _apiserver(container: Obj, t: float) -> list[str]:
    address = _flag(container, "advertise-address")
    port = _flag(container, "secure-port", "6443")
    return [
        _klog(t, "options.go:249", f"external host was not specified, using {address}"),
        _klog(t, "server.go:162", f'"Starting" version="{_version(container)}"'),
        _klog(t, "secure_serving.go:211", f"Serving securely on [::]:{port}"),
        _klog(
            t, "controller.go:667", "quota admission added evaluator for: namespaces"
        ),
    ]


def _leader(component: str, port: str) -> Lines:
    def lines(container: Obj, t: float) -> list[str]:
        lease = f"kube-system/{component}"
        return [
            _klog(t, "serving.go:386", "Generated self-signed cert in-memory"),
            _klog(t, "server.go:183", f'"Starting" version="{_version(container)}"'),
            _klog(t, "secure_serving.go:211", f"Serving securely on 127.0.0.1:{port}"),
            _klog(
                t,
                "leaderelection.go:257",
                f"attempting to acquire leader lease {lease}...",
            ),
            _klog(t, "leaderelection.go:271", f"successfully acquired lease {lease}"),
        ]

    return lines


def _kube_proxy(container: Obj, t: float) -> list[str]:
    node = _flag(container, "hostname-override")
    return [
        _klog(t, "server_linux.go:66", '"Using iptables proxy"'),
        _klog(t, "server.go:175", f'"Successfully retrieved node IP(s)" node="{node}"'),
        _klog(t, "server_linux.go:140", '"Using iptables Proxier"'),
        _klog(t, "config.go:199", '"Starting service config controller"'),
        _klog(t, "config.go:105", '"Starting endpoint slice config controller"'),
        _klog(
            t,
            "shared_informer.go:356",
            '"Caches are synced" controller="service config"',
        ),
    ]


def _coredns(container: Obj, t: float) -> list[str]:
    digest = hashlib.sha512(b"kubecourse Corefile").hexdigest()
    return [
        ".:53",
        f"[INFO] plugin/reload: Running configuration SHA512 = {digest}",
        f"CoreDNS-{_version(container).lstrip('v')}",
        "linux/amd64, go1.26.5, 424d125",
    ]


def _kindnetd(container: Obj, t: float) -> list[str]:
    endpoint = _env(
        container, "CONTROL_PLANE_ENDPOINT", "kubecourse-control-plane:6443"
    )
    subnet = _env(container, "POD_SUBNET", "10.244.0.0/16")
    return [
        _klog(t, "main.go:109", f"connected to apiserver: https://{endpoint}"),
        _klog(t, "main.go:148", "setting mtu 1500 for CNI "),
        _klog(t, "main.go:178", 'kindnetd IP family: "ipv4"'),
        _klog(t, "main.go:182", f"noMask IPv4 subnets: [{subnet}]"),
    ]


def _local_path(container: Obj, t: float) -> list[str]:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    config = '{"nodePathMap":[{"node":"DEFAULT_PATH_FOR_NON_LISTED_NODES","paths":["/var/local-path-provisioner"]}]}'
    return [
        f'time="{stamp}" level=debug msg="Applied config: {config}"',
        f'time="{stamp}" level=debug msg="Provisioner started"',
    ]


STARTUP: dict[str, Lines] = {
    "etcd": _etcd,
    "kube-apiserver": _apiserver,
    "kube-controller-manager": _leader("kube-controller-manager", "10257"),
    "kube-scheduler": _leader("kube-scheduler", "10259"),
    "kube-proxy": _kube_proxy,
    "coredns/coredns": _coredns,
    "kindest/kindnetd": _kindnetd,
    "kindest/local-path-provisioner": _local_path,
}
