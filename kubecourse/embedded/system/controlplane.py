"""The control plane's static pods, as kubeadm writes them to /etc/kubernetes/manifests,
and the mirror pods the kubelet posts for them.

Faithful: kubeadm's four manifests (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler) with their commands, named `probe-port`s, liveness / readiness /
startup probes, hostPath volumes, `hostNetwork: true`, `priorityClassName:
system-node-critical`, the RuntimeDefault seccomp profile and kubeadm's requests
(apiserver 250m, controller-manager 200m, scheduler 100m, etcd 100m cpu and 100Mi);
the mirror pod as the kubelet creates it: named `<component>-<node>`, annotations
`kubernetes.io/config.hash` / `config.mirror` (the manifest's hash), `config.seen`,
`config.source: file`, an ownerReference to its Node, `nodeName` set, the kubelet's
`:NoExecute op=Exists` toleration, `hostPort` equal to each `containerPort`.

Simplified: the flags are those of kind's kubeadm configuration with the course's
service range (10.96.0.0/12); the hash is a stable digest of our manifest, not of the
kubelet's internal object.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from kubecourse.embedded.system import (
    CONTROL_PLANE_PORT,
    IMAGES,
    POD_SUBNET,
    PRIORITIES,
    SERVICE_SUBNET,
)

Obj = dict[str, Any]
MIRROR = "kubernetes.io/config.mirror"
HASH = "kubernetes.io/config.hash"
SEEN = "kubernetes.io/config.seen"
SOURCE = "kubernetes.io/config.source"
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
PKI = "/etc/kubernetes/pki"
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
# The kubelet starts the static pods before the API server they run can record them
# (kubeadm init takes about half a minute), so their containers have been running that
# long when the mirror pods first appear: their startup probes have already passed.
STARTED_BEFORE_MIRROR = 30.0


def is_mirror(pod: Obj) -> bool:
    return MIRROR in ((pod.get("metadata") or {}).get("annotations") or {})


def is_control_plane(node: Obj) -> bool:
    return CONTROL_PLANE_LABEL in ((node.get("metadata") or {}).get("labels") or {})


def internal_ip(node: Obj) -> str:
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP":
            return str(address["address"])
    return ""


def static_pods(node: Obj, cluster_name: str) -> list[Obj]:
    """The manifests in the node's /etc/kubernetes/manifests (none on a worker)."""
    if not is_control_plane(node):
        return []
    name, ip = node["metadata"]["name"], internal_ip(node)
    return [
        _etcd(name, ip),
        _apiserver(ip),
        _controller_manager(cluster_name),
        _scheduler(),
    ]


def config_hash(manifest: Obj) -> str:
    """What the kubelet names a static pod by: a digest of its manifest (32 hex)."""
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def mirror_pod(manifest: Obj, node: Obj, seen: str) -> Obj:
    """The API object the kubelet posts for a static pod it runs."""
    pod = copy.deepcopy(manifest)
    meta = pod["metadata"]
    node_name = node["metadata"]["name"]
    digest = config_hash(manifest)
    meta["name"] = f"{meta['name']}-{node_name}"
    meta.setdefault("annotations", {}).update(
        {HASH: digest, MIRROR: digest, SEEN: seen, SOURCE: "file"}
    )
    meta["ownerReferences"] = [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "name": node_name,
            "uid": node["metadata"]["uid"],
            "controller": True,
        }
    ]
    spec = pod["spec"]
    spec["nodeName"] = node_name
    spec["tolerations"] = [{"operator": "Exists", "effect": "NoExecute"}]
    spec["priority"] = PRIORITIES[spec["priorityClassName"]]
    for container in spec["containers"]:
        for port in container.get("ports") or []:
            port.setdefault("hostPort", port["containerPort"])
    return pod


# -- the manifests ----------------------------------------------------------------------


def _static_pod(
    component: str, container: Obj, volumes: list[Obj], annotations: Obj | None = None
) -> Obj:
    metadata: Obj = {
        "name": component,
        "namespace": "kube-system",
        "labels": {"component": component, "tier": "control-plane"},
    }
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {
            "containers": [container],
            "hostNetwork": True,
            "priorityClassName": "system-node-critical",
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "volumes": volumes,
        },
    }


def _container(
    component: str,
    command: list[str],
    cpu: str,
    port: int,
    probes: Obj,
    mounts: list[Obj],
    memory: str | None = None,
) -> Obj:
    requests = {"cpu": cpu} if memory is None else {"cpu": cpu, "memory": memory}
    return {
        "name": component,
        "image": IMAGES[component],
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "ports": [{"name": "probe-port", "containerPort": port, "protocol": "TCP"}],
        "resources": {"requests": requests},
        "volumeMounts": mounts,
        **probes,
    }


def _probe(
    path: str, host: str, scheme: str, *, delay: int, period: int, failures: int
) -> Obj:
    probe: Obj = {
        "httpGet": {"host": host, "path": path, "port": "probe-port", "scheme": scheme},
        "periodSeconds": period,
        "timeoutSeconds": 15,
        "failureThreshold": failures,
    }
    if delay:
        probe["initialDelaySeconds"] = delay
    return probe


def _probes(host: str, scheme: str, live: str, ready: str | None, start: str) -> Obj:
    probes = {
        "livenessProbe": _probe(live, host, scheme, delay=10, period=10, failures=8),
        "startupProbe": _probe(start, host, scheme, delay=10, period=10, failures=24),
    }
    if ready is not None:
        probes["readinessProbe"] = _probe(
            ready, host, scheme, delay=0, period=1, failures=3
        )
    return probes


def _host_path(name: str, path: str, type_: str = "DirectoryOrCreate") -> Obj:
    return {"name": name, "hostPath": {"path": path, "type": type_}}


def _mount(name: str, path: str, read_only: bool = True) -> Obj:
    mount: Obj = {"name": name, "mountPath": path}
    if read_only:
        mount["readOnly"] = True
    return mount


# The CA bundles kubeadm mounts into apiserver and controller-manager on Debian nodes.
_CERT_DIRS = (
    ("ca-certs", "/etc/ssl/certs"),
    ("etc-ca-certificates", "/etc/ca-certificates"),
    ("usr-local-share-ca-certificates", "/usr/local/share/ca-certificates"),
    ("usr-share-ca-certificates", "/usr/share/ca-certificates"),
)


def _etcd(node_name: str, ip: str) -> Obj:
    etcd_pki = f"{PKI}/etcd"
    command = [
        "etcd",
        f"--advertise-client-urls=https://{ip}:2379",
        f"--cert-file={etcd_pki}/server.crt",
        "--client-cert-auth=true",
        "--data-dir=/var/lib/etcd",
        "--feature-gates=InitialCorruptCheck=true",
        f"--initial-advertise-peer-urls=https://{ip}:2380",
        f"--initial-cluster={node_name}=https://{ip}:2380",
        f"--key-file={etcd_pki}/server.key",
        f"--listen-client-urls=https://127.0.0.1:2379,https://{ip}:2379",
        "--listen-metrics-urls=http://127.0.0.1:2381",
        f"--listen-peer-urls=https://{ip}:2380",
        f"--name={node_name}",
        f"--peer-cert-file={etcd_pki}/peer.crt",
        "--peer-client-cert-auth=true",
        f"--peer-key-file={etcd_pki}/peer.key",
        f"--peer-trusted-ca-file={etcd_pki}/ca.crt",
        "--snapshot-count=10000",
        f"--trusted-ca-file={etcd_pki}/ca.crt",
        "--watch-progress-notify-interval=5s",
    ]
    probes = _probes("127.0.0.1", "HTTP", "/livez", "/readyz", "/readyz")
    mounts = [
        _mount("etcd-data", "/var/lib/etcd", False),
        _mount("etcd-certs", etcd_pki, False),
    ]
    container = _container(
        "etcd", command, "100m", 2381, probes, mounts, memory="100Mi"
    )
    volumes = [
        _host_path("etcd-certs", etcd_pki),
        _host_path("etcd-data", "/var/lib/etcd"),
    ]
    annotations = {
        "kubeadm.kubernetes.io/etcd.advertise-client-urls": f"https://{ip}:2379"
    }
    return _static_pod("etcd", container, volumes, annotations)


def _apiserver(ip: str) -> Obj:
    command = [
        "kube-apiserver",
        f"--advertise-address={ip}",
        "--allow-privileged=true",
        "--authorization-mode=Node,RBAC",
        f"--client-ca-file={PKI}/ca.crt",
        "--enable-admission-plugins=NodeRestriction",
        "--enable-bootstrap-token-auth=true",
        f"--etcd-cafile={PKI}/etcd/ca.crt",
        f"--etcd-certfile={PKI}/apiserver-etcd-client.crt",
        f"--etcd-keyfile={PKI}/apiserver-etcd-client.key",
        "--etcd-servers=https://127.0.0.1:2379",
        f"--kubelet-client-certificate={PKI}/apiserver-kubelet-client.crt",
        f"--kubelet-client-key={PKI}/apiserver-kubelet-client.key",
        "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
        f"--proxy-client-cert-file={PKI}/front-proxy-client.crt",
        f"--proxy-client-key-file={PKI}/front-proxy-client.key",
        "--requestheader-allowed-names=front-proxy-client",
        f"--requestheader-client-ca-file={PKI}/front-proxy-ca.crt",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-username-headers=X-Remote-User",
        "--runtime-config=",
        f"--secure-port={CONTROL_PLANE_PORT}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={PKI}/sa.pub",
        f"--service-account-signing-key-file={PKI}/sa.key",
        f"--service-cluster-ip-range={SERVICE_SUBNET}",
        f"--tls-cert-file={PKI}/apiserver.crt",
        f"--tls-private-key-file={PKI}/apiserver.key",
    ]
    probes = _probes(ip, "HTTPS", "/livez", "/readyz", "/livez")
    mounts = [_mount(name, path) for name, path in _CERT_DIRS] + [
        _mount("k8s-certs", PKI)
    ]
    mounts.sort(key=lambda m: m["mountPath"])
    container = _container(
        "kube-apiserver", command, "250m", CONTROL_PLANE_PORT, probes, mounts
    )
    volumes = sorted(
        [_host_path(name, path) for name, path in _CERT_DIRS]
        + [_host_path("k8s-certs", PKI)],
        key=lambda v: v["name"],
    )
    endpoint = f"{ip}:{CONTROL_PLANE_PORT}"
    annotations = {
        "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": endpoint
    }
    return _static_pod("kube-apiserver", container, volumes, annotations)


def _controller_manager(cluster_name: str) -> Obj:
    kubeconfig = "/etc/kubernetes/controller-manager.conf"
    flex = "/usr/libexec/kubernetes/kubelet-plugins/volume/exec"
    command = [
        "kube-controller-manager",
        "--allocate-node-cidrs=true",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--client-ca-file={PKI}/ca.crt",
        f"--cluster-cidr={POD_SUBNET}",
        f"--cluster-name={cluster_name}",
        f"--cluster-signing-cert-file={PKI}/ca.crt",
        f"--cluster-signing-key-file={PKI}/ca.key",
        "--controllers=*,bootstrapsigner,tokencleaner",
        "--enable-hostpath-provisioner=true",
        f"--kubeconfig={kubeconfig}",
        "--leader-elect=true",
        f"--requestheader-client-ca-file={PKI}/front-proxy-ca.crt",
        f"--root-ca-file={PKI}/ca.crt",
        f"--service-account-private-key-file={PKI}/sa.key",
        f"--service-cluster-ip-range={SERVICE_SUBNET}",
        "--use-service-account-credentials=true",
    ]
    probes = _probes("127.0.0.1", "HTTPS", "/healthz", None, "/healthz")
    pairs = [
        *_CERT_DIRS,
        ("flexvolume-dir", flex),
        ("k8s-certs", PKI),
        ("kubeconfig", kubeconfig),
    ]
    mounts = sorted(
        (_mount(name, path, name != "flexvolume-dir") for name, path in pairs),
        key=lambda m: m["mountPath"],
    )
    container = _container(
        "kube-controller-manager", command, "200m", 10257, probes, mounts
    )
    volumes = sorted(
        (
            _host_path(
                name,
                path,
                "FileOrCreate" if name == "kubeconfig" else "DirectoryOrCreate",
            )
            for name, path in pairs
        ),
        key=lambda v: v["name"],
    )
    return _static_pod("kube-controller-manager", container, volumes)


def _scheduler() -> Obj:
    kubeconfig = "/etc/kubernetes/scheduler.conf"
    command = [
        "kube-scheduler",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--kubeconfig={kubeconfig}",
        "--leader-elect=true",
    ]
    probes = _probes("127.0.0.1", "HTTPS", "/livez", "/readyz", "/livez")
    mounts = [_mount("kubeconfig", kubeconfig)]
    container = _container("kube-scheduler", command, "100m", 10259, probes, mounts)
    volumes = [_host_path("kubeconfig", kubeconfig, "FileOrCreate")]
    return _static_pod("kube-scheduler", container, volumes)
