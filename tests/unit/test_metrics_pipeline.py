"""The simulated metrics pipeline: usage by image, load sharing, scrapes, API objects."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest

from kubecourse.embedded import metrics, quantity
from kubecourse.embedded.cluster import NodeSpec, node_object
from kubecourse.embedded.controllers import usage
from kubecourse.embedded.controllers.base import Context, Timings
from kubecourse.embedded.controllers.metricsserver import MetricsServer
from kubecourse.embedded.conversion import ConvertingApi
from kubecourse.embedded.resources import REGISTRY
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.store import Store

RESOLUTION = 15.0


def iso(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


class Scene:
    """A store with nodes and pods as a kubelet would have reported them, and a scraper."""

    def __init__(self) -> None:
        self.store = Store()
        self.api = ConvertingApi(self.store, REGISTRY)
        self.ctx = Context(self.api, self.store, Timings(metrics_resolution=RESOLUTION))
        self.server = MetricsServer(self.ctx)
        self.api.create(
            REGISTRY.get("namespaces"), None, {"metadata": {"name": "default"}}
        )
        for spec in (
            NodeSpec("cp", 0, control_plane=True),
            NodeSpec("w1", 1),
            NodeSpec("w2", 2),
        ):
            self.api.create(REGISTRY.get("nodes"), None, node_object(spec))

    def pod(
        self,
        name: str,
        node: str = "w1",
        image: str = "nginx:1.27",
        started: float | None = None,
        **meta: Any,
    ) -> dict[str, Any]:
        body = {
            "metadata": {"name": name, "labels": {"app": name.split("-")[0]}, **meta},
            "spec": {
                "nodeName": node,
                "containers": [{"name": "main", "image": image}],
            },
        }
        pod = self.api.create(REGISTRY.get("pods"), "default", body)
        at = started if started is not None else time.time() - 600
        pod["status"] = {
            "phase": "Running",
            "startTime": iso(at),
            "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": iso(at)}
            ],
            "containerStatuses": [
                {
                    "name": "main",
                    "ready": True,
                    "restartCount": 0,
                    "image": image,
                    "imageID": "",
                    "state": {"running": {"startedAt": iso(at)}},
                }
            ],
        }
        return self.api.update(
            REGISTRY.get("pods"), "default", name, pod, subresource="status"
        )

    def owned_by(self, pod: dict[str, Any], owner: dict[str, Any]) -> None:
        ref = {
            "apiVersion": owner["apiVersion"],
            "kind": owner["kind"],
            "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"],
            "controller": True,
        }
        updated = copy.deepcopy(
            self.store.get("pods", "default", pod["metadata"]["name"])
        )
        updated["metadata"]["ownerReferences"] = [ref]
        self.store.write("pods", updated)


@pytest.fixture
def scene() -> Scene:
    return Scene()


def test_idle_containers_use_what_their_image_suggests(scene: Scene) -> None:
    scene.pod("web", image="nginx:1.27")
    scene.pod("db", image="postgres:16")
    scene.server.scrape(time.time())
    web = scene.ctx.metrics.pod("default", "web")
    db = scene.ctx.metrics.pod("default", "db")
    assert web is not None and db is not None
    web_cpu, db_cpu = web.containers[0].cpu_nanocores, db.containers[0].cpu_nanocores
    # A web server idles at a couple of millicores, a database uses more.
    assert 1_000_000 <= web_cpu <= 3_000_000
    assert (
        db_cpu > web_cpu
        and db.containers[0].memory_bytes > web.containers[0].memory_bytes
    )
    assert web.containers[0].memory_bytes % 4096 == 0


def test_the_same_container_keeps_its_figures_and_replicas_differ(scene: Scene) -> None:
    a, b = scene.pod("web-a"), scene.pod("web-b")
    first = usage.container_usage(a, 0, usage.Load(), scrape=3)
    assert usage.container_usage(a, 0, usage.Load(), scrape=3) == first
    assert usage.container_usage(b, 0, usage.Load(), scrape=3) != first


def test_a_just_started_pod_has_no_metrics_until_a_later_scrape(scene: Scene) -> None:
    now = time.time()
    scene.pod("fresh", started=now - 2)
    scene.server.scrape(now)
    assert scene.ctx.metrics.pod("default", "fresh") is None
    scene.server.scrape(now + RESOLUTION)
    sample = scene.ctx.metrics.pod("default", "fresh")
    assert sample is not None and sample.window == pytest.approx(RESOLUTION, abs=1)


def test_a_fresh_container_reports_the_time_since_it_started_as_its_window(
    scene: Scene,
) -> None:
    now = time.time()
    scene.pod("young", started=now - 12)
    scene.server.scrape(now)
    sample = scene.ctx.metrics.pod("default", "young")
    assert sample is not None and 11 <= sample.window <= 13


def test_deployment_load_is_shared_by_its_ready_pods(scene: Scene) -> None:
    body = {
        "metadata": {"name": "web", "annotations": {metrics.LOAD_CPU: "900m"}},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "main", "image": "nginx"}]},
            },
        },
    }
    deployment = scene.api.create(REGISTRY.get("deployments.apps"), "default", body)
    pods = [scene.pod(f"web-{i}") for i in range(3)]
    for pod in pods:
        scene.owned_by(pod, deployment)
    plan = usage.plan_loads(scene.store, scene.store.items("pods", "default"))
    assert [round(plan[p["metadata"]["uid"]].cpu_millicores) for p in pods] == [
        300,
        300,
        300,
    ]


def test_an_unready_pod_gets_no_share_of_the_load(scene: Scene) -> None:
    body = {
        "metadata": {"name": "rs", "annotations": {metrics.LOAD_CPU: "1"}},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "main", "image": "nginx"}]},
            },
        },
    }
    rs = scene.api.create(REGISTRY.get("replicasets.apps"), "default", body)
    ready, unready = scene.pod("web-1"), scene.pod("web-2")
    for pod in (ready, unready):
        scene.owned_by(pod, rs)
    stored = copy.deepcopy(scene.store.get("pods", "default", "web-2"))
    stored["status"]["conditions"][0]["status"] = "False"
    scene.store.write("pods", stored)
    plan = usage.plan_loads(scene.store, scene.store.items("pods", "default"))
    assert plan[ready["metadata"]["uid"]].cpu_millicores == 1000
    assert plan[unready["metadata"]["uid"]].cpu_millicores == 0


def test_a_pod_annotation_adds_load_to_that_pod_capped_by_its_limit(
    scene: Scene,
) -> None:
    pod = scene.pod("burn", annotations={metrics.LOAD_CPU: "2"})
    pod["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "500m"}}
    loads = usage.plan_loads(scene.store, [pod])
    sample = usage.container_usage(pod, 0, loads[pod["metadata"]["uid"]], scrape=0)
    assert sample.cpu_nanocores == 500_000_000


def test_node_usage_is_its_pods_plus_a_system_baseline_within_capacity(
    scene: Scene,
) -> None:
    scene.pod("hog", annotations={metrics.LOAD_CPU: "10"})
    scene.pod("quiet", node="w2")
    scene.server.scrape(time.time())
    w1, w2 = scene.ctx.metrics.nodes["w1"], scene.ctx.metrics.nodes["w2"]
    assert w1.cpu_nanocores <= 4_000_000_000  # the node's 4 CPUs, not the 10 asked for
    hog = scene.ctx.metrics.pod("default", "hog")
    assert hog is not None and hog.containers[0].cpu_nanocores < 4_000_000_000
    quiet = scene.ctx.metrics.pod("default", "quiet")
    assert quiet is not None and w2.cpu_nanocores > quiet.containers[0].cpu_nanocores
    control_plane = scene.ctx.metrics.nodes[
        "cp"
    ]  # it also runs the control-plane components
    assert control_plane.memory_bytes > w2.memory_bytes


def test_a_powered_off_node_and_its_pods_have_no_metrics(scene: Scene) -> None:
    scene.pod("lost", node="w2")
    node = copy.deepcopy(scene.store.get("nodes", "", "w2"))
    node["metadata"].setdefault("annotations", {})["kubecourse.io/power"] = "off"
    scene.store.write("nodes", node)
    scene.server.scrape(time.time())
    assert (
        "w2" not in scene.ctx.metrics.nodes
        and scene.ctx.metrics.pod("default", "lost") is None
    )


def test_metrics_objects_have_metrics_servers_shape(scene: Scene) -> None:
    pod = scene.pod("web")
    scene.server.scrape(time.time())
    sample = scene.ctx.metrics.pod("default", "web")
    assert sample is not None
    obj = metrics.pod_metrics(sample, pod, time.time())
    assert set(obj) == {
        "kind",
        "apiVersion",
        "metadata",
        "timestamp",
        "window",
        "containers",
    }
    assert obj["metadata"]["labels"] == {"app": "web"} and obj["window"] == "15s"
    cpu = obj["containers"][0]["usage"]["cpu"]
    assert (
        cpu.endswith("n")
        and quantity.parse(cpu) * 10**9 == sample.containers[0].cpu_nanocores
    )
    assert obj["containers"][0]["usage"]["memory"].endswith("Ki")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (15, "15s"),
        (0.5, "500ms"),
        (10.25, "10.25s"),
        (60.5, "1m0.5s"),
        (3600, "1h0m0s"),
        (0, "0s"),
    ],
)
def test_windows_print_as_go_durations(seconds: float, text: str) -> None:
    assert metrics.go_duration(seconds) == text


@pytest.mark.parametrize(
    ("nanos", "text"),
    [
        (12345678, "12345678n"),
        (12_000_000, "12m"),
        (1_500_000_000, "1500m"),
        (2_000_000_000, "2"),
        (0, "0"),
    ],
)
def test_cpu_prints_as_a_canonical_quantity(nanos: int, text: str) -> None:
    assert quantity.from_nano(nanos) == text


def test_memory_prints_with_the_largest_exact_binary_suffix() -> None:
    assert [quantity.from_bytes(n) for n in (512, 3_145_728, 315_392, 3_125_000)] == [
        "512",
        "3Mi",
        "308Ki",
        "3125000",
    ]
    assert quantity.from_milli(5_460_650_666, binary=True) == "5460650666m"


def test_a_load_annotation_that_is_not_a_quantity_is_refused_at_admission(
    scene: Scene,
) -> None:
    with pytest.raises(StatusError) as err:
        scene.pod("bad", annotations={metrics.LOAD_CPU: "lots"})
    assert err.value.code == 422
    cause = err.value.details["causes"][0] if err.value.details else {}
    assert cause["field"] == "metadata.annotations[kubecourse.io/cpu-load]"
    assert scene.store.get("pods", "default", "bad") is None
