"""What a simulated container sees, from the API objects: env, /etc files, volumes, DNS."""

from __future__ import annotations

import base64
from typing import Any

from kubecourse.embedded.controllers import environment
from kubecourse.embedded.controllers.base import Context
from kubecourse.embedded.shell.programs import BUSYBOX, DEBIAN, NO_SHELL
from kubecourse.embedded.store import Store
from kubecourse.embedded.streams import sandbox as sb

Obj = dict[str, Any]


def store_with(*objects: tuple[str, Obj]) -> Store:
    store = Store()
    store.write("namespaces", {"metadata": {"name": "default"}})
    store.write(
        "services",
        {
            "metadata": {"name": "kubernetes", "namespace": "default"},
            "spec": {
                "clusterIP": "10.96.0.1",
                "ports": [{"name": "https", "port": 443, "protocol": "TCP"}],
            },
        },
    )
    for resource, obj in objects:
        store.write(resource, obj)
    return store


def pod(spec: Obj | None = None, **container: Any) -> Obj:
    return {
        "metadata": {
            "name": "web-0",
            "namespace": "default",
            "uid": "u-1",
            "labels": {"app": "web", "tier": "front"},
        },
        "spec": {
            "nodeName": "kubecourse-worker",
            "serviceAccountName": "default",
            "containers": [{"name": "web", "image": "nginx", **container}],
            **(spec or {}),
        },
        "status": {
            "podIP": "10.244.1.7",
            "podIPs": [{"ip": "10.244.1.7"}],
            "hostIP": "172.18.0.3",
        },
    }


def cm(name: str, data: dict[str, str]) -> tuple[str, Obj]:
    return "configmaps", {
        "metadata": {"name": name, "namespace": "default"},
        "data": data,
    }


def secret(name: str, data: dict[str, str]) -> tuple[str, Obj]:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return "secrets", {
        "metadata": {"name": name, "namespace": "default"},
        "data": encoded,
    }


def svc(name: str, ip: str, *ports: Obj, **spec: Any) -> tuple[str, Obj]:
    return "services", {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"clusterIP": ip, "ports": list(ports), **spec},
    }


def env_of(store: Store, p: Obj) -> dict[str, str]:
    return dict(environment.container_env(store, p, p["spec"]["containers"][0]))


def test_env_values_expand_references_to_earlier_variables() -> None:
    p = pod(env=[
        {"name": "HOST", "value": "db"},
        {"name": "URL", "value": "postgres://$(HOST):$(DB_SERVICE_PORT)/$(NOPE)"},
        {"name": "ESCAPED", "value": "$$(HOST)"},
    ])  # fmt: skip
    env = env_of(store_with(svc("db", "10.96.5.5", {"port": 5432})), p)
    assert env["URL"] == "postgres://db:5432/$(NOPE)"
    assert env["ESCAPED"] == "$(HOST)"


def test_env_value_from_configmaps_secrets_and_the_downward_api() -> None:
    p = pod(
        env=[
            {
                "name": "GREETING",
                "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "greeting"}},
            },
            {
                "name": "PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}},
            },
            {
                "name": "POD_IP",
                "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}},
            },
            {
                "name": "TIER",
                "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['tier']"}},
            },
            {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            {
                "name": "GONE",
                "valueFrom": {
                    "configMapKeyRef": {"name": "nope", "key": "x", "optional": True}
                },
            },
        ],
        envFrom=[{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
    )
    store = store_with(
        cm("cfg", {"greeting": "hello", "bad=key": "x"}),
        secret("creds", {"password": "s3cret"}),
    )
    env = env_of(store, p)
    assert (
        env["GREETING"],
        env["PASSWORD"],
        env["POD_IP"],
        env["TIER"],
        env["NODE"],
    ) == (
        "hello",
        "s3cret",
        "10.244.1.7",
        "front",
        "kubecourse-worker",
    )
    assert (
        env["CFG_greeting"] == "hello"
        and "CFG_bad=key" not in env
        and "GONE" not in env
    )


def test_resource_field_refs_divide_and_round_up_and_default_to_the_node() -> None:
    p = pod(
        resources={"limits": {"cpu": "500m", "memory": "128Mi"}},
        env=[
            {
                "name": "CPU",
                "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}},
            },
            {
                "name": "MILLI",
                "valueFrom": {
                    "resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}
                },
            },
            {
                "name": "MEM_MI",
                "valueFrom": {
                    "resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}
                },
            },
        ],
    )
    env = env_of(store_with(), p)
    assert (env["CPU"], env["MILLI"], env["MEM_MI"]) == ("1", "500", "128")


def test_services_give_docker_link_variables_for_every_port() -> None:
    store = store_with(
        svc(
            "web-api",
            "10.96.7.7",
            {"name": "http", "port": 80, "protocol": "TCP"},
            {"name": "metrics", "port": 9090},
        ),
        svc("headless", "None", {"port": 80}),
    )
    env = env_of(store, pod())
    assert {k: v for k, v in env.items() if k.startswith("WEB_API_")} == {
        "WEB_API_SERVICE_HOST": "10.96.7.7",
        "WEB_API_SERVICE_PORT": "80",
        "WEB_API_SERVICE_PORT_HTTP": "80",
        "WEB_API_SERVICE_PORT_METRICS": "9090",
        "WEB_API_PORT": "tcp://10.96.7.7:80",
        "WEB_API_PORT_80_TCP": "tcp://10.96.7.7:80",
        "WEB_API_PORT_80_TCP_PROTO": "tcp",
        "WEB_API_PORT_80_TCP_PORT": "80",
        "WEB_API_PORT_80_TCP_ADDR": "10.96.7.7",
        "WEB_API_PORT_9090_TCP": "tcp://10.96.7.7:9090",
        "WEB_API_PORT_9090_TCP_PROTO": "tcp",
        "WEB_API_PORT_9090_TCP_PORT": "9090",
        "WEB_API_PORT_9090_TCP_ADDR": "10.96.7.7",
    }
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1" and not any(
        k.startswith("HEADLESS_") for k in env
    )
    assert list(env)[:2] == ["PATH", "HOSTNAME"] and list(env)[-1] == "HOME"


def test_without_service_links_only_the_kubernetes_service_is_linked() -> None:
    store = store_with(svc("db", "10.96.5.5", {"port": 5432}))
    env = env_of(store, pod({"enableServiceLinks": False}))
    assert (
        "DB_SERVICE_HOST" not in env and env["KUBERNETES_SERVICE_PORT_HTTPS"] == "443"
    )


def test_hosts_file_is_kubelet_managed_with_the_pod_ip_subdomain_and_aliases() -> None:
    p = pod(
        {
            "hostname": "web-0",
            "subdomain": "web",
            "hostAliases": [
                {"ip": "10.1.2.3", "hostnames": ["foo.local", "bar.local"]}
            ],
        }
    )
    text = sb.hosts_file(p)
    assert text.startswith("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n")
    assert "10.244.1.7\tweb-0.web.default.svc.cluster.local\tweb-0\n" in text
    assert text.endswith(
        "\n# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local\n"
    )


def test_resolv_conf_follows_the_dns_policy_and_dns_config() -> None:
    first = sb.resolv_conf(*sb.resolver(pod()))
    assert (
        first
        == "search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n"
    )
    none = pod(
        {
            "dnsPolicy": "None",
            "dnsConfig": {
                "nameservers": ["1.1.1.1"],
                "searches": ["corp"],
                "options": [{"name": "ndots", "value": "2"}],
            },
        }
    )
    assert (
        sb.resolv_conf(*sb.resolver(none))
        == "search corp\nnameserver 1.1.1.1\noptions ndots:2\n"
    )
    assert (
        sb.resolv_conf(*sb.resolver(pod({"dnsPolicy": "Default"})))
        == "nameserver 172.18.0.1\n"
    )


def test_volumes_show_configmap_secret_and_downward_api_files_at_their_mounts() -> None:
    store = store_with(
        cm("cfg", {"app.conf": "mode=prod\n", "other": "x"}),
        secret("creds", {"password": "s3cret"}),
    )
    p = pod(
        {
            "volumes": [
                {
                    "name": "config",
                    "configMap": {
                        "name": "cfg",
                        "items": [{"key": "app.conf", "path": "conf/app.conf"}],
                    },
                },
                {"name": "creds", "secret": {"secretName": "creds"}},
                {
                    "name": "info",
                    "downwardAPI": {
                        "items": [
                            {
                                "path": "labels",
                                "fieldRef": {"fieldPath": "metadata.labels"},
                            }
                        ]
                    },
                },
                {"name": "scratch", "emptyDir": {}},
            ]
        },
        volumeMounts=[
            {"name": "config", "mountPath": "/etc/app"},
            {"name": "creds", "mountPath": "/run/creds"},
            {"name": "creds", "mountPath": "/password", "subPath": "password"},
            {"name": "info", "mountPath": "/info/"},
            {"name": "scratch", "mountPath": "/tmp/work"},
        ],
    )
    files, dirs, mounts = sb.volume_files(store, p, p["spec"]["containers"][0])
    assert files["/etc/app/conf/app.conf"] == "mode=prod\n" and dirs["/etc/app"] == [
        "conf"
    ]
    assert files["/run/creds/password"] == "s3cret" and files["/password"] == "s3cret"
    assert files["/info/labels"] == 'app="web"\ntier="front"'
    assert dirs["/tmp/work"] == [] and mounts == [
        "/etc/app",
        "/run/creds",
        "/password",
        "/info",
        "/tmp/work",
    ]


def test_cluster_dns_answers_cluster_ips_headless_endpoints_pods_and_external_names() -> (
    None
):
    ready = {"conditions": [{"type": "Ready", "status": "True"}], "podIP": "10.244.2.9"}
    member = {
        "metadata": {"name": "db-0", "namespace": "default"},
        "spec": {"hostname": "db-0", "subdomain": "db"},
        "status": ready,
    }
    endpoints = {
        "metadata": {"name": "db", "namespace": "default"},
        "subsets": [{"addresses": [{"ip": "10.244.2.9"}, {"ip": "10.244.1.3"}]}],
    }
    store = store_with(
        svc("web", "10.96.3.3", {"port": 80}),
        svc("db", "None", {"port": 5432}),
        (
            "services",
            {
                "metadata": {"name": "ext", "namespace": "default"},
                "spec": {"type": "ExternalName", "externalName": "example.com"},
            },
        ),
        ("endpoints", endpoints),
        ("pods", member),
    )
    look = sb.lookup
    assert look(store, "web.default.svc.cluster.local").addresses == ["10.96.3.3"]  # type: ignore[union-attr]
    assert look(store, "db.default.svc.cluster.local").addresses == [
        "10.244.1.3",
        "10.244.2.9",
    ]  # type: ignore[union-attr]
    assert look(store, "db-0.db.default.svc.cluster.local").addresses == ["10.244.2.9"]  # type: ignore[union-attr]
    assert look(store, "ext.default.svc.cluster.local").canonical == "example.com"  # type: ignore[union-attr]
    assert look(store, "10-244-2-9.default.pod.cluster.local").addresses == [
        "10.244.2.9"
    ]  # type: ignore[union-attr]
    assert look(store, "nope.default.svc.cluster.local") is None
    assert sb.internal(store, "nope.default") and not sb.internal(store, "example.com")


def test_the_sandbox_uses_the_environment_fixed_when_the_container_started() -> None:
    store = store_with(cm("cfg", {"greeting": "hello"}))
    p = pod(
        env=[
            {
                "name": "GREETING",
                "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "greeting"}},
            }
        ]
    )
    ctx = Context(api=None, store=store)  # type: ignore[arg-type]
    ctx.environ[("default", "web-0", "web")] = [("GREETING", "from start")]
    box = sb.container_sandbox(ctx, p, p["spec"]["containers"][0])
    assert box.env == [("GREETING", "from start")]
    assert box.files["/etc/hostname"] == "web-0\n" and box.flavour == DEBIAN


def test_an_images_name_decides_its_tools() -> None:
    assert [
        sb.flavour(i)
        for i in ("busybox:1.36", "alpine", "nginx:1.27-alpine", "traefik:v3")
    ] == [BUSYBOX] * 4
    assert [
        sb.flavour(i) for i in ("traefik/whoami:v1.10", "gcr.io/distroless/static")
    ] == [NO_SHELL] * 2
    assert [sb.flavour(i) for i in ("nginx", "postgres:16", "redis")] == [DEBIAN] * 3
