"""The kubelet's image manager: pulls that fail, back-off, fixes, and images on the node."""

from __future__ import annotations

from typing import Any

from kubecourse.embedded.controllers import podutil


def pod(name: str, image: str, **container: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "app", "image": image, **container}]},
    }


def waiting(kube: Any, ns: str, name: str) -> str | None:
    found = kube.get("pods", ns, name)
    statuses = ((found or {}).get("status") or {}).get("containerStatuses") or []
    state = statuses[0].get("state", {}) if statuses else {}
    return (state.get("waiting") or {}).get("reason")


def events(kube: Any, ns: str, name: str) -> list[dict[str, Any]]:
    found = [e for e in kube.items("events", ns) if e["involvedObject"]["name"] == name]
    return sorted(found, key=lambda e: e["metadata"]["name"])  # names grow with time


def test_a_missing_image_goes_err_image_pull_then_image_pull_back_off(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("typo")
    kube.create("pods", ns, pod("typo", "ngnix"))

    eventually(lambda: waiting(kube, ns, "typo") == "ErrImagePull", what="ErrImagePull")
    eventually(lambda: waiting(kube, ns, "typo") == "ImagePullBackOff", what="back-off")
    eventually(
        lambda: any(e.get("count", 1) > 1 and e["reason"] == "Pulling"
                    for e in events(kube, ns, "typo")),
        what="a second pull",
    )  # fmt: skip

    found = kube.get("pods", ns, "typo")
    assert found["status"]["phase"] == "Pending"
    assert found["status"]["podIP"]  # the sandbox is up
    kubelet = [
        e for e in events(kube, ns, "typo") if e["reportingComponent"] == "kubelet"
    ]
    first = [(e["reason"], e["message"], e["type"]) for e in kubelet][:5]
    assert first == [
        ("Pulling", 'Pulling image "ngnix"', "Normal"),
        (
            "Failed",
            'Failed to pull image "ngnix": failed to pull and unpack image '
            '"docker.io/library/ngnix:latest": failed to resolve reference '
            '"docker.io/library/ngnix:latest": pull access denied, repository does '
            "not exist or may require authorization: server message: "
            "insufficient_scope: authorization failed",
            "Warning",
        ),
        ("Failed", "Error: ErrImagePull", "Warning"),
        ("BackOff", 'Back-off pulling image "ngnix"', "Normal"),
        ("Failed", "Error: ImagePullBackOff", "Warning"),
    ]
    assert {e["involvedObject"]["fieldPath"] for e in kubelet} == {
        "spec.containers{app}"
    }


def test_fixing_the_image_of_a_waiting_pod_pulls_it_at_once(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("fixed")
    kube.create("pods", ns, pod("web", "nginx:doesnotexist-9999"))
    eventually(lambda: waiting(kube, ns, "web") in ("ErrImagePull", "ImagePullBackOff"))

    fix = {"spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}
    pods = kube.cluster.api.registry.get("pods")
    kube.cluster.call(lambda: kube.cluster.api.patch(pods, ns, "web", "strategic", fix))

    found = eventually(
        lambda: (p := kube.get("pods", ns, "web")) and podutil.is_ready(p) and p,
        what="the fixed pod ready",
    )
    assert (
        found["status"]["containerStatuses"][0]["image"]
        == "docker.io/library/nginx:1.27"
    )
    pulled = [e["message"] for e in events(kube, ns, "web") if e["reason"] == "Pulled"]
    assert pulled and pulled[-1].startswith(
        'Successfully pulled image "nginx:1.27" in '
    )


def test_never_pull_waits_for_an_image_loaded_into_the_node(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("loaded")
    node = "kubecourse-worker"
    local = pod("local", "shop-api:1", imagePullPolicy="Never")
    local["spec"]["nodeName"] = node  # bound by hand, like `kind load` into one node
    kube.create("pods", ns, local)
    eventually(lambda: waiting(kube, ns, "local") == "ErrImageNeverPull")
    reasons = [e["reason"] for e in events(kube, ns, "local")]
    assert "ErrImageNeverPull" in reasons and "Pulling" not in reasons

    annotation = {"kubecourse.io/loaded-images": "shop-api:1"}
    kube.patch("nodes", None, node, {"metadata": {"annotations": annotation}})

    eventually(
        lambda: (p := kube.get("pods", ns, "local")) and podutil.is_ready(p),
        what="the pod running its loaded image",
    )
    pulled = [
        e["message"] for e in events(kube, ns, "local") if e["reason"] == "Pulled"
    ]
    assert pulled == ['Container image "shop-api:1" already present on machine']
    unloaded = {"kubecourse.io/loaded-images": None}
    kube.patch("nodes", None, node, {"metadata": {"annotations": unloaded}})


def test_an_unparsable_image_name_is_invalid_image_name(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("invalid")
    kube.create("pods", ns, pod("spaced", "nginx latest"))

    eventually(lambda: waiting(kube, ns, "spaced") == "InvalidImageName")

    status = kube.get("pods", ns, "spaced")["status"]["containerStatuses"][0]
    assert status["image"] == "nginx latest"
    assert status["state"]["waiting"]["message"] == (
        'Failed to apply default image tag "nginx latest": couldn\'t parse image name '
        '"nginx latest": invalid reference format'
    )
    assert [e["reason"] for e in events(kube, ns, "spaced")][-2:] == [
        "InspectFailed",
        "Failed",
    ]


def test_kind_node_images_are_already_present(kube: Any, eventually: Any) -> None:
    ns = kube.namespace("preloaded")
    kube.create("pods", ns, pod("proxy", "registry.k8s.io/kube-proxy:v1.37.0"))

    eventually(lambda: (p := kube.get("pods", ns, "proxy")) and podutil.is_ready(p))

    pulled = [
        e["message"] for e in events(kube, ns, "proxy") if e["reason"] == "Pulled"
    ]
    assert pulled == [
        'Container image "registry.k8s.io/kube-proxy:v1.37.0" already present on machine'
    ]
