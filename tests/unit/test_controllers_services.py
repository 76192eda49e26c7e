"""Endpoints and EndpointSlices follow the ready pods a Service selects."""

from __future__ import annotations

from typing import Any

from kubecourse.embedded.controllers import podutil

SLICES = "endpointslices.discovery.k8s.io"
FAIL = {"kubecourse.io/readiness": "fail"}


def web_pod(
    name: str, annotations: dict[str, str] | None = None, app: str = "web"
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": {"app": app}}
    if annotations:
        meta["annotations"] = annotations
    container = {
        "name": "main",
        "image": "traefik/whoami",
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}},
    }
    return {"metadata": meta, "spec": {"containers": [container]}}


def service(name: str = "web", **spec: Any) -> dict[str, Any]:
    ports = [{"name": "http", "port": 80, "targetPort": "http"}]
    return {
        "metadata": {"name": name, "labels": {"tier": "front"}},
        "spec": {"selector": {"app": "web"}, "ports": ports, **spec},
    }


def running(kube: Any, ns: str, *names: str) -> bool:
    pods = [kube.get("pods", ns, n) for n in names]
    return all(
        p and p["status"].get("phase") == "Running" and p["status"].get("podIP")
        for p in pods
    )


def addresses(kube: Any, ns: str, field: str = "addresses") -> list[str] | None:
    endpoints = kube.get("endpoints", ns, "web")
    if endpoints is None:
        return None
    return sorted(
        a["targetRef"]["name"]
        for s in endpoints.get("subsets") or []
        for a in s.get(field) or []
    )


def slice_of(kube: Any, ns: str) -> dict[str, Any] | None:
    slices = [
        s
        for s in kube.items(SLICES, ns)
        if s["metadata"]["labels"].get("kubernetes.io/service-name") == "web"
    ]
    return slices[0] if len(slices) == 1 else None


def test_endpoints_list_ready_pods_and_keep_a_failing_one_apart(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("ep")
    kube.create("services", ns, service())
    for name in ("a", "b"):
        kube.create("pods", ns, web_pod(name))
    kube.create("pods", ns, web_pod("sick", annotations=FAIL))
    kube.create("pods", ns, web_pod("other", app="db"))

    eventually(lambda: addresses(kube, ns) == ["a", "b"], what="ready addresses")
    eventually(
        lambda: addresses(kube, ns, "notReadyAddresses") == ["sick"],
        what="not-ready address",
    )

    endpoints = kube.get("endpoints", ns, "web")
    (subset,) = endpoints["subsets"]
    assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    pod_a = kube.get("pods", ns, "a")
    (entry,) = [a for a in subset["addresses"] if a["targetRef"]["name"] == "a"]
    assert entry == {
        "ip": pod_a["status"]["podIP"],
        "nodeName": pod_a["spec"]["nodeName"],
        "targetRef": {
            "kind": "Pod",
            "namespace": ns,
            "name": "a",
            "uid": pod_a["metadata"]["uid"],
        },
    }
    assert (
        "endpoints.kubernetes.io/last-change-trigger-time"
        in endpoints["metadata"]["annotations"]
    )
    assert endpoints["metadata"]["labels"] == {
        "tier": "front",
        "endpoints.kubernetes.io/managed-by": "endpoint-controller",
    }


def test_endpoint_slice_marks_readiness_per_endpoint_and_is_owned_by_the_service(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("slice")
    svc = kube.create("services", ns, service())
    kube.create("pods", ns, web_pod("a"))
    kube.create("pods", ns, web_pod("sick", annotations=FAIL))

    def both_listed() -> dict[str, Any] | None:
        found = slice_of(kube, ns)
        return (
            found
            if found
            and len(found.get("endpoints") or []) == 2
            and running(kube, ns, "a", "sick")
            else None
        )

    found = eventually(both_listed, what="a slice with two endpoints")
    eventually(lambda: podutil.is_ready(kube.get("pods", ns, "a")))
    found = eventually(
        lambda: (
            (s := slice_of(kube, ns))
            and any(e["conditions"]["ready"] for e in s["endpoints"])
            and s
        )
    )

    assert found["metadata"]["name"].startswith("web-")
    assert found["addressType"] == "IPv4"
    assert (
        found["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"]
        == "endpointslice-controller.k8s.io"
    )
    assert found["metadata"]["ownerReferences"][0]["uid"] == svc["metadata"]["uid"]
    assert found["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    conditions = {e["targetRef"]["name"]: e["conditions"] for e in found["endpoints"]}
    assert conditions["a"] == {"ready": True, "serving": True, "terminating": False}
    assert conditions["sick"] == {
        "ready": False,
        "serving": False,
        "terminating": False,
    }


def test_endpoints_drop_a_pod_once_it_starts_terminating(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("leave")
    kube.create("services", ns, service())
    kube.create("pods", ns, web_pod("a"))
    kube.create("pods", ns, web_pod("b"))
    eventually(lambda: addresses(kube, ns) == ["a", "b"], what="both ready")
    seen: list[list[str]] = []

    def watch(change: Any) -> None:
        if change.resource == "endpoints" and change.obj["metadata"]["namespace"] == ns:
            subsets = change.obj.get("subsets") or []
            seen.append(
                sorted(
                    a["targetRef"]["name"]
                    for s in subsets
                    for a in s.get("addresses") or []
                )
            )

    kube.cluster.call(lambda: kube.cluster.store.add_listener(watch))
    kube.delete("pods", ns, "b")
    eventually(lambda: kube.get("pods", ns, "b") is None, what="b removed")

    assert seen and seen[0] == ["a"]  # dropped while terminating, before removal


def test_endpoints_are_not_rewritten_when_nothing_relevant_changes(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("churn")
    kube.create("services", ns, service())
    kube.create("pods", ns, web_pod("a"))
    eventually(lambda: addresses(kube, ns) == ["a"], what="a ready")
    eventually(
        lambda: (
            slice_of(kube, ns)
            and slice_of(kube, ns)["endpoints"][0]["conditions"]["ready"]
        )
    )
    before = (
        kube.get("endpoints", ns, "web")["metadata"]["resourceVersion"],
        slice_of(kube, ns)["metadata"]["resourceVersion"],
    )

    kube.patch("pods", ns, "a", {"metadata": {"annotations": {"note": "hello"}}})
    kube.create("pods", ns, web_pod("unrelated", app="db"))
    eventually(lambda: running(kube, ns, "unrelated"))

    after = (
        kube.get("endpoints", ns, "web")["metadata"]["resourceVersion"],
        slice_of(kube, ns)["metadata"]["resourceVersion"],
    )
    assert after == before


def test_deleting_the_service_removes_its_endpoints_and_slices(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("gone")
    kube.create("services", ns, service())
    kube.create("pods", ns, web_pod("a"))
    eventually(
        lambda: addresses(kube, ns) == ["a"] and slice_of(kube, ns), what="endpoints"
    )

    kube.delete("services", ns, "web")

    eventually(
        lambda: kube.get("endpoints", ns, "web") is None and not kube.items(SLICES, ns),
        what="cleanup",
    )


def test_service_selecting_nothing_has_empty_endpoints_and_a_placeholder_slice(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("empty")
    kube.create("services", ns, service())

    endpoints = eventually(lambda: kube.get("endpoints", ns, "web"), what="endpoints")
    placeholder = eventually(lambda: slice_of(kube, ns), what="slice")

    assert "subsets" not in endpoints
    assert placeholder["endpoints"] == []


def test_service_without_selector_gets_no_managed_endpoints(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("manual")
    kube.create(
        "services", ns, {"metadata": {"name": "ext"}, "spec": {"ports": [{"port": 80}]}}
    )
    kube.create("services", ns, service())

    eventually(
        lambda: kube.get("endpoints", ns, "web"),
        what="the selecting service's endpoints",
    )
    assert kube.get("endpoints", ns, "ext") is None


MIRROR = "endpointslicemirroring-controller.k8s.io"


def external(name: str, *ips: str, **labels: str) -> dict[str, Any]:
    """Hand-written Endpoints for a Service without a selector."""
    subset = {
        "addresses": [{"ip": ip} for ip in ips],
        "notReadyAddresses": [{"ip": "10.0.9.9", "hostname": "spare"}],
        "ports": [{"name": "pg", "port": 5432}],
    }
    return {"metadata": {"name": name, "labels": labels}, "subsets": [subset]}


def mirrored(kube: Any, ns: str, name: str) -> list[dict[str, Any]]:
    return [
        s
        for s in kube.items(SLICES, ns)
        if s["metadata"]["labels"].get("kubernetes.io/service-name") == name
        and s["metadata"]["labels"].get("endpointslice.kubernetes.io/managed-by")
        == MIRROR
    ]


def bare_service(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"ports": [{"port": 5432}]}}


def test_endpoints_written_before_their_selectorless_service_stay(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("ext-first")
    kube.create("endpoints", ns, external("db", "10.0.0.5"))
    kube.create("services", ns, bare_service("db"))
    kube.create("services", ns, service())  # a sync of another key in the namespace

    eventually(lambda: mirrored(kube, ns, "db"), what="the mirrored slice")
    eventually(lambda: kube.get("endpoints", ns, "web"), what="web's endpoints")
    assert kube.get("endpoints", ns, "db")["subsets"][0]["addresses"] == [
        {"ip": "10.0.0.5"}
    ]


def test_endpoints_of_a_selectorless_service_are_mirrored_into_a_slice(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("ext-mirror")
    kube.create("services", ns, bare_service("db"))
    endpoints = kube.create("endpoints", ns, external("db", "10.0.0.5", tier="data"))

    (found,) = eventually(lambda: mirrored(kube, ns, "db"), what="the mirrored slice")

    assert found["metadata"]["name"].startswith("db-")
    assert len(found["metadata"]["name"]) == len("db-") + 5
    assert found["metadata"]["labels"] == {
        "tier": "data",
        "kubernetes.io/service-name": "db",
        "endpointslice.kubernetes.io/managed-by": MIRROR,
    }
    (owner,) = found["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == (
        "Endpoints",
        "db",
        endpoints["metadata"]["uid"],
    )
    assert found["addressType"] == "IPv4"
    assert found["ports"] == [{"name": "pg", "port": 5432, "protocol": "TCP"}]
    assert found["endpoints"] == [
        {"addresses": ["10.0.0.5"], "conditions": {"ready": True}},
        {
            "addresses": ["10.0.9.9"],
            "conditions": {"ready": False},
            "hostname": "spare",
        },
    ]


def test_mirrored_slices_follow_the_endpoints_and_go_with_them(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("ext-follow")
    kube.create("services", ns, bare_service("db"))
    kube.create("endpoints", ns, external("db", "10.0.0.5"))
    eventually(lambda: mirrored(kube, ns, "db"), what="the mirrored slice")

    kube.patch(
        "endpoints",
        ns,
        "db",
        {"subsets": [{"addresses": [{"ip": "10.0.0.6"}], "ports": [{"port": 5432}]}]},
    )
    eventually(
        lambda: (
            [e["addresses"] for s in mirrored(kube, ns, "db") for e in s["endpoints"]]
            == [["10.0.0.6"]]
        ),
        what="the slice following the new address",
    )
    kube.delete("endpoints", ns, "db")

    eventually(lambda: not mirrored(kube, ns, "db"), what="the slice gone")
    assert kube.get("services", ns, "db") is not None


def test_skip_mirror_and_a_selector_keep_endpoints_unmirrored(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("ext-skip")
    kube.create("services", ns, bare_service("db"))
    kube.create("services", ns, bare_service("cache"))
    kube.create(
        "endpoints",
        ns,
        external(
            "cache", "10.0.0.7", **{"endpointslice.kubernetes.io/skip-mirror": "true"}
        ),
    )
    kube.create("endpoints", ns, external("db", "10.0.0.5"))
    eventually(lambda: mirrored(kube, ns, "db"), what="db mirrored")

    kube.patch("services", ns, "db", {"spec": {"selector": {"app": "db"}}})

    eventually(lambda: not mirrored(kube, ns, "db"), what="db's mirror removed")
    assert not mirrored(kube, ns, "cache")


def test_deleting_a_selectorless_service_deletes_its_endpoints_and_slices(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("ext-gone")
    kube.create("services", ns, bare_service("db"))
    kube.create("endpoints", ns, external("db", "10.0.0.5"))
    eventually(lambda: mirrored(kube, ns, "db"), what="the mirrored slice")

    kube.delete("services", ns, "db")

    eventually(
        lambda: (
            kube.get("endpoints", ns, "db") is None and not mirrored(kube, ns, "db")
        ),
        what="endpoints and slice gone",
    )


def test_at_its_start_the_controller_deletes_only_its_own_leftover_endpoints(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("leftover")
    managed = {"endpoints.kubernetes.io/managed-by": "endpoint-controller"}
    kube.create("endpoints", ns, {"metadata": {"name": "old", "labels": managed}})
    kube.create("endpoints", ns, external("hand", "10.0.0.5"))
    (controller,) = [c for c in kube.cluster.controllers if c.name == "endpoints"]

    kube.cluster.call(controller.resync)  # what a restart enqueues

    eventually(lambda: kube.get("endpoints", ns, "old") is None, what="leftover gone")
    assert kube.get("endpoints", ns, "hand") is not None
