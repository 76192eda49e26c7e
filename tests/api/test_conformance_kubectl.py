"""Conformance checklist (shared reference §4), the kubectl items: the real kubectl 1.37
against an embedded cluster running the product's default timings, so that Pending and
ContainerCreating last as long as a user would see them.

Each test names the checklist item(s) it proves; docs/conformance.md maps them back.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import watch

from kubecourse.embedded.cluster import ClusterOptions, EmbeddedCluster
from kubecourse.embedded.controllers.base import Timings
from tests.api.conftest import deployment, eventually, kubectl_binary

pytestmark = pytest.mark.kubectl

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
# pod-name suffix alphabet of k8s.io/apimachinery/pkg/util/rand (no vowels, no 0/1/3)
POD_NAME = r"{name}-[{alnum}]{{6,10}}-[bcdfghjklmnpqrstvwxz2456789]{{5}}"
ALNUM = "bcdfghjklmnpqrstvwxz2456789"


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    """The product's own default timings (not the fast test timings)."""
    with EmbeddedCluster(ClusterOptions(timings=Timings())) as running:
        yield running


@pytest.fixture(scope="module")
def kubectl_env(
    cluster: EmbeddedCluster, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("kube-watch")
    (folder / "config").write_text(yaml.safe_dump(cluster.kubeconfig()))
    return {
        **os.environ,
        "KUBECONFIG": str(folder / "config"),
        "HOME": str(folder),
        "KUBECACHEDIR": str(folder / "cache"),
    }


@contextmanager
def kubectl_watching(env: dict[str, str], *args: str) -> Iterator[Callable[[], str]]:
    """Run `kubectl <args>` (a -w command) in the background; yield a reader of its output
    so far; end it with SIGINT, as Ctrl-C does, and check that it ended cleanly."""
    binary = kubectl_binary()
    assert binary is not None
    proc = subprocess.Popen(
        [binary, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    chunks: list[str] = []
    reader = threading.Thread(
        target=lambda: chunks.extend(iter(proc.stdout.readline, "")), daemon=True
    )  # type: ignore[union-attr]
    reader.start()
    time.sleep(1.0)  # let kubectl list and open its watch
    try:
        yield lambda: "".join(chunks)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError("kubectl -w did not stop on SIGINT") from None
        reader.join(timeout=5)
        assert err == "", f"kubectl -w wrote to stderr: {err}"


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines()[1:] if line.strip()]


def running_pods(
    kubectl: Kubectl, app: str, namespace: str = "default"
) -> list[list[str]]:
    out = kubectl(
        "get", "pods", "-n", namespace, "-l", f"app={app}", "-o", "wide"
    ).stdout
    return [r for r in rows(out) if r[2] == "Running" and r[1] == "1/1"]


def apply_web(
    kubectl: Kubectl,
    name: str,
    replicas: int,
    image: str = "nginx:1.26",
    namespace: str = "default",
) -> None:
    manifest = deployment(name, replicas=replicas, image=image)
    kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(manifest))
    eventually(
        lambda: len(running_pods(kubectl, name, namespace)) == replicas,
        timeout=30,
        what=f"{replicas} running {name} pods",
    )


# ---- item 1: discovery through kubectl ----------------------------------------------


def test_api_resources_lists_the_core_kinds_with_their_short_names(
    kubectl: Kubectl,
) -> None:
    out = kubectl("api-resources").stdout
    header, *lines = out.splitlines()
    assert header.split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    table: dict[tuple[str, str], list[str]] = {}
    for line in lines:
        cells = line.split()
        # a row without short names has four cells
        name, short = (cells[0], cells[1]) if len(cells) == 5 else (cells[0], "")
        table[(name, cells[-3])] = [short, cells[-2], cells[-1]]
    expected = {
        ("pods", "v1"): ["po", "true", "Pod"],
        ("services", "v1"): ["svc", "true", "Service"],
        ("endpoints", "v1"): ["ep", "true", "Endpoints"],
        ("nodes", "v1"): ["no", "false", "Node"],
        ("namespaces", "v1"): ["ns", "false", "Namespace"],
        ("events", "v1"): ["ev", "true", "Event"],
        ("configmaps", "v1"): ["cm", "true", "ConfigMap"],
        ("deployments", "apps/v1"): ["deploy", "true", "Deployment"],
        ("replicasets", "apps/v1"): ["rs", "true", "ReplicaSet"],
        ("endpointslices", "discovery.k8s.io/v1"): ["", "true", "EndpointSlice"],
        ("poddisruptionbudgets", "policy/v1"): ["pdb", "true", "PodDisruptionBudget"],
    }
    for key, want in expected.items():
        assert table.get(key) == want, f"api-resources row {key}: {table.get(key)}"
    assert kubectl("get", "no").stdout.startswith("NAME")  # a short name resolves


# ---- item 4: kubectl explain ----------------------------------------------------------


def test_explain_prints_the_upstream_description_of_deployment_spec_replicas(
    kubectl: Kubectl,
) -> None:
    out = kubectl("explain", "deployment.spec.replicas").stdout
    assert re.search(r"GROUP:\s+apps", out) and re.search(r"KIND:\s+Deployment", out)
    assert "FIELD: replicas <integer>" in out
    assert "Number of desired pods." in out and "Defaults to 1." in out


# ---- item 5: tables ---------------------------------------------------------------------


def test_get_prints_the_upstream_columns_for_each_kind_and_get_all_groups_by_kind(
    kubectl: Kubectl,
) -> None:
    apply_web(kubectl, "cols", 2)
    kubectl("expose", "deployment", "cols", "--port=80")

    def header(*what: str) -> list[str]:
        return kubectl("get", *what).stdout.splitlines()[0].split()

    assert header("deploy", "cols") == [
        "NAME",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "AGE",
    ]
    assert rows(kubectl("get", "deploy", "cols").stdout)[0][:4] == [
        "cols",
        "2/2",
        "2",
        "2",
    ]
    assert header("rs", "-l", "app=cols") == [
        "NAME",
        "DESIRED",
        "CURRENT",
        "READY",
        "AGE",
    ]
    assert rows(kubectl("get", "rs", "-l", "app=cols").stdout)[0][1:4] == [
        "2",
        "2",
        "2",
    ]
    assert header("svc", "cols") == [
        "NAME",
        "TYPE",
        "CLUSTER-IP",
        "EXTERNAL-IP",
        "PORT(S)",
        "AGE",
    ]
    assert header("pods", "-l", "app=cols") == [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
    ]
    assert header("nodes") == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert header("ns") == ["NAME", "STATUS", "AGE"]
    assert header("endpoints", "cols") == ["NAME", "ENDPOINTS", "AGE"]

    everything = kubectl("get", "all").stdout
    sections = [block.splitlines() for block in everything.strip().split("\n\n")]
    kinds = [section[1].split()[0].split("/")[0] for section in sections]
    assert kinds == ["pod", "service", "deployment.apps", "replicaset.apps"]
    assert all(section[0].startswith("NAME ") for section in sections)


# ---- item 6: -o yaml ---------------------------------------------------------------------


def test_get_pod_yaml_carries_defaults_status_identity_and_owner(
    kubectl: Kubectl,
) -> None:
    apply_web(kubectl, "yamlweb", 1)
    listed = yaml.safe_load(
        kubectl("get", "pods", "-l", "app=yamlweb", "-o", "yaml").stdout
    )
    assert listed["kind"] == "List"
    pod = listed["items"][0]
    meta, spec, status = pod["metadata"], pod["spec"], pod["status"]
    assert (
        meta["uid"]
        and int(meta["resourceVersion"]) > 0
        and meta["creationTimestamp"].endswith("Z")
    )
    owner = meta["ownerReferences"][0]
    assert (owner["kind"], owner["controller"], owner["blockOwnerDeletion"]) == (
        "ReplicaSet",
        True,
        True,
    )
    assert owner["name"].startswith("yamlweb-")
    assert spec["restartPolicy"] == "Always" and spec["dnsPolicy"] == "ClusterFirst"
    assert (
        spec["schedulerName"] == "default-scheduler"
        and spec["terminationGracePeriodSeconds"] == 30
    )
    assert spec["serviceAccountName"] == "default"
    container = spec["containers"][0]
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["ports"][0]["protocol"] == "TCP"
    assert status["phase"] == "Running" and status["qosClass"] == "BestEffort"
    assert {c["type"]: c["status"] for c in status["conditions"]}["Ready"] == "True"
    assert status["containerStatuses"][0]["state"]["running"]["startedAt"]


# ---- item 7: kubectl get -w ------------------------------------------------------------


def test_get_pods_watch_prints_pending_then_container_creating_then_running(
    kubectl: Kubectl, kubectl_env: dict[str, str]
) -> None:
    with kubectl_watching(
        kubectl_env, "get", "pods", "-w", "-l", "app=watched"
    ) as output:
        kubectl("create", "deployment", "watched", "--image=nginx:1.26")
        eventually(
            lambda: re.search(r"1/1\s+Running", output()),
            timeout=20,
            what="a Running row in kubectl get -w",
        )
    statuses = [r[2] for r in rows(output()) if r[0].startswith("watched-")]
    assert (
        "Pending" in statuses
        and "ContainerCreating" in statuses
        and "Running" in statuses
    )
    assert (
        statuses.index("Pending")
        < statuses.index("ContainerCreating")
        < statuses.index("Running")
    )


# ---- item 9: scale -------------------------------------------------------------------------


def test_scale_patches_the_scale_subresource_and_names_pods_like_upstream(
    kubectl: Kubectl,
) -> None:
    apply_web(kubectl, "scaler", 1)
    done = kubectl("scale", "deploy", "scaler", "--replicas=5", "-v=6")
    assert "deployment.apps/scaler scaled" in done.stdout
    assert re.search(
        r'verb="PATCH" url="[^"]+/apis/apps/v1/namespaces/default/deployments/scaler/scale" status="200 OK"',
        done.stderr,
    )
    pods = eventually(
        lambda: (
            len(running_pods(kubectl, "scaler")) == 5
            and running_pods(kubectl, "scaler")
        ),
        timeout=20,
        what="5 running pods",
    )
    pattern = re.compile(POD_NAME.format(name="scaler", alnum=ALNUM))
    for row in pods:
        assert pattern.fullmatch(row[0]), row[0]


def test_get_subresource_scale_prints_desired_and_available(kubectl: Kubectl) -> None:
    apply_web(kubectl, "scaled", 2)
    eventually(lambda: len(running_pods(kubectl, "scaled")) == 2, what="2 running pods")

    printed = kubectl("get", "deploy", "scaled", "--subresource=scale").stdout.split()

    assert printed == ["NAME", "DESIRED", "AVAILABLE", "scaled", "2", "2"]


# ---- items 10, 11: rollouts -------------------------------------------------------------


def test_rollout_status_follows_an_applied_image_change_to_success(
    kubectl: Kubectl,
) -> None:
    apply_web(kubectl, "roller", 3)
    changed = deployment("roller", replicas=3, image="nginx:1.27")
    assert (
        "deployment.apps/roller configured"
        in kubectl("apply", "-f", "-", input=yaml.safe_dump(changed)).stdout
    )
    done = kubectl("rollout", "status", "deploy", "roller", "--timeout=60s")
    assert done.returncode == 0
    assert 'Waiting for deployment "roller" rollout to finish: ' in done.stdout
    assert done.stdout.rstrip().endswith('deployment "roller" successfully rolled out')


def record_rollout(
    kubectl: Kubectl, core: k8s.CoreV1Api, apps: k8s.AppsV1Api, app: str, *change: str
) -> dict[str, int]:
    """Run `kubectl <change>` and `rollout status`, following ReplicaSets and Pods by watch
    (every event, in resourceVersion order) to find the extremes of the rollout."""
    pods = core.list_namespaced_pod("default", label_selector=f"app={app}")
    sets = apps.list_namespaced_replica_set("default", label_selector=f"app={app}")
    live: dict[str, bool] = {p.metadata.name: True for p in pods.items}
    specs: dict[str, int] = {rs.metadata.name: rs.spec.replicas for rs in sets.items}
    extremes = {
        "most_live_pods": len(live),
        "fewest_ready_pods": len(live),
        "largest_spec_total": sum(specs.values()),
    }
    lock = threading.Lock()

    def on_pod(event: dict[str, Any]) -> None:
        pod = event["object"]
        if event["type"] == "DELETED" or pod.metadata.deletion_timestamp:
            live.pop(pod.metadata.name, None)
        else:
            conditions = {c.type: c.status for c in pod.status.conditions or []}
            live[pod.metadata.name] = conditions.get("Ready") == "True"
        extremes["most_live_pods"] = max(extremes["most_live_pods"], len(live))
        extremes["fewest_ready_pods"] = min(
            extremes["fewest_ready_pods"], sum(live.values())
        )

    def on_set(event: dict[str, Any]) -> None:
        rs = event["object"]
        specs[rs.metadata.name] = 0 if event["type"] == "DELETED" else rs.spec.replicas
        extremes["largest_spec_total"] = max(
            extremes["largest_spec_total"], sum(specs.values())
        )

    def follow(
        lister: Any, since: str, handle: Callable[[dict[str, Any]], None]
    ) -> None:
        for event in watch.Watch().stream(
            lister,
            "default",
            label_selector=f"app={app}",
            resource_version=since,
            timeout_seconds=8,
        ):
            with lock:
                handle(event)

    followers = [
        threading.Thread(
            target=follow,
            args=(core.list_namespaced_pod, pods.metadata.resource_version, on_pod),
            daemon=True,
        ),
        threading.Thread(
            target=follow,
            args=(
                apps.list_namespaced_replica_set,
                sets.metadata.resource_version,
                on_set,
            ),
            daemon=True,
        ),
    ]
    for follower in followers:
        follower.start()
    kubectl(*change)
    kubectl("rollout", "status", "deploy", app, "--timeout=60s")
    for follower in followers:
        follower.join(timeout=15)  # each watch ends at its 8 s timeoutSeconds
    assert not any(f.is_alive() for f in followers)
    return extremes


def test_set_image_rolls_a_new_replicaset_within_surge_and_availability(
    kubectl: Kubectl, core: k8s.CoreV1Api, apps: k8s.AppsV1Api
) -> None:
    apply_web(kubectl, "surge", 4)
    (old_hash,) = {r[0].split("-")[1] for r in running_pods(kubectl, "surge")}
    extremes = record_rollout(
        kubectl, core, apps, "surge", "set", "image", "deploy/surge", "app=nginx:1.27"
    )
    sets = {
        r[0]: r
        for r in rows(
            kubectl("get", "rs", "-l", "app=surge", "-L", "pod-template-hash").stdout
        )
    }
    new = [r for r in sets.values() if r[-1] != old_hash]
    assert len(sets) == 2 and len(new) == 1 and new[0][1:4] == ["4", "4", "4"]
    assert sets[f"surge-{old_hash}"][1:4] == ["0", "0", "0"]
    # 4 replicas: maxSurge 25% rounds up to 1, maxUnavailable 25% rounds down to 1
    assert extremes["largest_spec_total"] <= 5, extremes
    assert extremes["fewest_ready_pods"] >= 3, extremes


def test_pods_alive_at_once_never_exceed_replicas_plus_max_surge(
    kubectl: Kubectl, core: k8s.CoreV1Api, apps: k8s.AppsV1Api
) -> None:
    apply_web(kubectl, "overlap", 4)
    extremes = record_rollout(
        kubectl,
        core,
        apps,
        "overlap",
        "set",
        "image",
        "deploy/overlap",
        "app=nginx:1.27",
    )
    assert extremes["most_live_pods"] <= 5, extremes


# ---- items 12, 13, 39: deletion ------------------------------------------------------


def test_delete_deployment_returns_at_once_and_its_pods_terminate_then_vanish(
    kubectl: Kubectl, kubectl_env: dict[str, str]
) -> None:
    apply_web(kubectl, "doomed", 2)
    with kubectl_watching(
        kubectl_env, "get", "pods", "-w", "-l", "app=doomed"
    ) as output:
        started = time.monotonic()
        assert (
            'deployment.apps "doomed" deleted'
            in kubectl("delete", "deploy", "doomed").stdout
        )
        assert time.monotonic() - started < 5
        eventually(
            lambda: (
                "No resources found"
                in kubectl("get", "pods", "-l", "app=doomed").stderr
            ),
            timeout=20,
            what="doomed pods gone",
        )
    assert re.search(r"doomed-\S+\s+1/1\s+Terminating", output())
    assert "No resources found" in kubectl("get", "rs", "-l", "app=doomed").stderr


def test_deleting_a_replicaset_pod_brings_a_replacement_with_a_new_name(
    kubectl: Kubectl,
) -> None:
    apply_web(kubectl, "phoenix", 2)
    before = {r[0] for r in running_pods(kubectl, "phoenix")}
    victim = sorted(before)[0]
    kubectl("delete", "pod", victim)
    after = eventually(
        lambda: (names := {r[0] for r in running_pods(kubectl, "phoenix")}) and len(names) == 2 and victim not in names and names,
        timeout=20, what="a replacement pod",
    )  # fmt: skip
    (replacement,) = after - before
    assert re.fullmatch(POD_NAME.format(name="phoenix", alnum=ALNUM), replacement)


def test_a_deleted_pod_shows_terminating_and_a_forced_delete_is_immediate(
    kubectl: Kubectl, kubectl_env: dict[str, str]
) -> None:
    for name in ("graceful", "forced"):
        kubectl("run", name, "--image=nginx:1.26")
    eventually(
        lambda: all(
            kubectl("get", "pod", n, "-o", "jsonpath={.status.phase}").stdout
            == "Running"
            for n in ("graceful", "forced")
        ),
        timeout=20,
        what="both pods Running",
    )
    with kubectl_watching(
        kubectl_env, "get", "pods", "-w", "--field-selector=metadata.name=graceful"
    ) as output:
        assert (
            'pod "graceful" deleted' in kubectl("delete", "pod", "graceful").stdout
        )  # waits until it is gone
        eventually(lambda: "Terminating" in output(), what="a Terminating row")
    assert re.search(r"graceful\s+\S+\s+Terminating", output())
    forced = kubectl("delete", "pod", "forced", "--grace-period=0", "--force")
    assert 'pod "forced" force deleted' in forced.stdout
    gone = kubectl("get", "pod", "forced", check=False)
    assert 'Error from server (NotFound): pods "forced" not found' in gone.stderr


def test_a_gracefully_deleted_pod_stays_terminating_for_the_termination_delay(
    core: k8s.CoreV1Api, cluster: EmbeddedCluster
) -> None:
    core.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": "lingers"},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.26"}]},
        },
    )
    eventually(
        lambda: (
            core.read_namespaced_pod("lingers", "default").status.phase == "Running"
        ),
        what="lingers Running",
    )
    delay = cluster.options.timings.pod_termination_delay
    started = time.monotonic()
    core.delete_namespaced_pod("lingers", "default")
    time.sleep(delay / 2)
    assert time.monotonic() - started < delay
    still = core.read_namespaced_pod("lingers", "default")  # 404 here is the bug
    assert still.metadata.deletion_timestamp is not None
    assert still.metadata.deletion_grace_period_seconds == 30


# ---- items 14, 15, 16: describe and logs ------------------------------------------------


def test_describe_pod_shows_node_ip_running_state_conditions_tolerations_and_events(
    kubectl: Kubectl,
) -> None:
    apply_web(kubectl, "described", 1)
    (row,) = running_pods(kubectl, "described")
    name, ip, node = row[0], row[5], row[6]
    eventually(
        lambda: "Started" in kubectl("describe", "pod", name).stdout,
        what="the Started event",
    )
    out = kubectl("describe", "pod", name).stdout
    assert re.search(rf"^Node:\s+{node}/\d+\.\d+\.\d+\.\d+$", out, re.M)
    assert re.search(rf"^IP:\s+{re.escape(ip)}$", out, re.M)
    assert re.search(r"^Status:\s+Running$", out, re.M)
    assert re.search(r"State:\s+Running\n\s+Started:\s+\w{3}, \d{2} \w{3} \d{4}", out)
    assert re.search(r"^\s+Ready:\s+True$", out, re.M)
    assert re.search(r"^Conditions:\n\s+Type\s+Status\n", out, re.M)
    for condition in ("Initialized", "Ready", "ContainersReady", "PodScheduled"):
        assert re.search(rf"^\s+{condition}\s+True", out, re.M)
    assert "node.kubernetes.io/not-ready:NoExecute op=Exists for 300s" in out
    assert "node.kubernetes.io/unreachable:NoExecute op=Exists for 300s" in out
    reasons = re.findall(r"^\s+Normal\s+(\w+)\s", out.split("Events:")[1], re.M)
    # Pulling appears only when the node did not have the image yet, as on a real node
    assert [r for r in reasons if r != "Pulling"] == [
        "Scheduled",
        "Pulled",
        "Created",
        "Started",
    ]
    assert f"Successfully assigned default/{name} to {node}" in out


def test_describe_deployment_shows_strategy_replicasets_and_scaling_events(
    kubectl: Kubectl,
) -> None:
    apply_web(kubectl, "descdeploy", 2)
    out = kubectl("describe", "deploy", "descdeploy").stdout
    assert re.search(r"^StrategyType:\s+RollingUpdate$", out, re.M)
    assert re.search(
        r"^RollingUpdateStrategy:\s+25% max unavailable, 25% max surge$", out, re.M
    )
    assert re.search(
        r"^Replicas:\s+2 desired \| 2 updated \| 2 total \| 2 available \| 0 unavailable$",
        out,
        re.M,
    )
    assert re.search(r"^OldReplicaSets:\s+<none>$", out, re.M)
    assert re.search(
        r"^NewReplicaSet:\s+descdeploy-\w+ \(2/2 replicas created\)$", out, re.M
    )
    assert re.search(
        r"Normal\s+ScalingReplicaSet\s+.*deployment-controller\s+Scaled up replica set descdeploy-\w+ from 0 to 2",
        out,
    )


def test_logs_of_a_pod_and_of_a_deployment_are_the_image_start_up_lines(
    kubectl: Kubectl,
) -> None:
    apply_web(kubectl, "logged", 1)
    (row,) = running_pods(kubectl, "logged")
    pod_logs = kubectl("logs", row[0]).stdout
    assert "Configuration complete; ready for start up" in pod_logs
    deploy_logs = kubectl("logs", "deploy/logged")
    assert deploy_logs.stdout == pod_logs


# ---- item 17: errors --------------------------------------------------------------------


def test_errors_print_like_a_real_server_for_missing_and_duplicate_objects(
    kubectl: Kubectl,
) -> None:
    missing = kubectl("get", "pod", "nope", check=False)
    assert missing.returncode == 1
    assert (
        missing.stderr.strip() == 'Error from server (NotFound): pods "nope" not found'
    )
    kubectl("create", "configmap", "twice")
    again = kubectl("create", "configmap", "twice", check=False)
    assert again.returncode == 1
    assert (
        again.stderr.strip()
        == 'error: failed to create configmap: configmaps "twice" already exists'
    )
    apply_twice = kubectl(
        "create",
        "-f",
        "-",
        check=False,
        input=yaml.safe_dump(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "twice"}}
        ),
    )
    assert (
        'Error from server (AlreadyExists): error when creating "STDIN": configmaps "twice" already exists'
        in apply_twice.stderr
    )


# ---- items 24, 25: services, endpoints and namespaces ---------------------------------------


def test_get_svc_endpoints_and_endpointslices_show_one_address_per_ready_pod(
    kubectl: Kubectl,
) -> None:
    apply_web(kubectl, "svcweb", 3)
    kubectl("expose", "deployment", "svcweb", "--port=80")
    ips = sorted(r[5] for r in running_pods(kubectl, "svcweb"))

    def listing() -> dict[str, list[str]]:
        out = kubectl("get", "svc,endpoints,endpointslices", "-l", "app=svcweb").stdout
        return {
            line.split()[0]: line.split()
            for line in out.splitlines()
            if line and not line.startswith("NAME")
        }

    found = eventually(
        lambda: (seen := listing()) and len(seen) == 3 and seen,
        what="a service, endpoints and a slice",
    )
    # A 1.33+ server deprecates v1 Endpoints: kubectl prints its warning, once.
    assert kubectl("get", "svc,endpoints,endpointslices", "-l", "app=svcweb").stderr == (
        "Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice\n"
    )
    svc = found["service/svcweb"]
    assert (
        svc[1] == "ClusterIP"
        and re.fullmatch(r"10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+", svc[2])
        and svc[2] != "10.96.0.1"
    )
    assert sorted(found["endpoints/svcweb"][1].split(",")) == sorted(
        f"{ip}:80" for ip in ips
    )
    (slice_name,) = (
        name
        for name in found
        if name.startswith("endpointslice.discovery.k8s.io/svcweb-")
    )
    assert found[slice_name][1:3] == ["IPv4", "80"]
    assert sorted(found[slice_name][3].split(",")) == ips


def test_namespaces_flag_default_namespaces_and_the_kubernetes_service_exist(
    kubectl: Kubectl,
) -> None:
    names = [r[0] for r in rows(kubectl("get", "ns").stdout)]
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= set(names)
    assert rows(kubectl("get", "svc", "kubernetes", "-n", "default").stdout)[0][:5] == [
        "kubernetes",
        "ClusterIP",
        "10.96.0.1",
        "<none>",
        "443/TCP",
    ]
    kubectl("create", "namespace", "other")
    apply_web(kubectl, "elsewhere", 1, namespace="other")
    assert (
        kubectl("get", "deploy", "elsewhere", "-n", "default", check=False).returncode
        == 1
    )  # not in default
    assert rows(kubectl("get", "deploy", "-n", "other").stdout)[0][:2] == [
        "elsewhere",
        "1/1",
    ]
    ghost = kubectl("create", "configmap", "x", "-n", "ghost", check=False)
    assert 'namespaces "ghost" not found' in ghost.stderr


# ---- items 27, 28, 29: cordon, drain and disruption budgets --------------------------------


def test_cordon_marks_the_node_unschedulable_and_uncordon_reverses_it(
    kubectl: Kubectl,
) -> None:
    node = "kubecourse-worker"
    assert f"node/{node} cordoned" in kubectl("cordon", node).stdout
    try:
        (row,) = rows(kubectl("get", "node", node).stdout)
        assert row[1] == "Ready,SchedulingDisabled"
        apply_web(kubectl, "avoider", 6)
        assert all(r[6] != node for r in running_pods(kubectl, "avoider"))
    finally:
        assert f"node/{node} uncordoned" in kubectl("uncordon", node).stdout
    assert rows(kubectl("get", "node", node).stdout)[0][1] == "Ready"
    kubectl("delete", "deploy", "avoider")


def test_drain_evicts_owned_pods_to_other_nodes_and_refuses_an_unowned_one(
    kubectl: Kubectl,
) -> None:
    node = "kubecourse-worker2"
    apply_web(kubectl, "drained", 6)
    kubectl(
        "run",
        "loner",
        "--image=nginx:1.26",
        "--overrides",
        json.dumps({"spec": {"nodeName": node}}),
    )
    eventually(
        lambda: (
            kubectl("get", "pod", "loner", "-o", "jsonpath={.status.phase}").stdout
            == "Running"
        ),
        what="loner Running",
    )
    try:
        refused = kubectl(
            "drain", node, "--ignore-daemonsets", "--timeout=30s", check=False
        )
        assert refused.returncode != 0
        assert (
            "cannot delete Pods that declare no controller (use --force to override): default/loner"
            in refused.stderr
        )
        kubectl("delete", "pod", "loner", "--grace-period=0", "--force")
        on_node = {r[0] for r in running_pods(kubectl, "drained") if r[6] == node}
        assert on_node, "the spread should have put a drained pod on the node"
        done = kubectl("drain", node, "--ignore-daemonsets", "--timeout=60s")
        for name in on_node:
            assert (
                f"evicting pod default/{name}" in done.stdout
                and f"pod/{name} evicted" in done.stdout
            )
        assert done.stdout.rstrip().endswith(f"node/{node} drained")
        after = eventually(
            lambda: (r := running_pods(kubectl, "drained")) and len(r) == 6 and r,
            timeout=30,
            what="6 pods again",
        )
        assert all(r[6] != node for r in after)
    finally:
        kubectl("uncordon", node)
        kubectl("delete", "deploy", "drained")


def test_a_disruption_budget_makes_drain_retry_and_report_the_429(
    kubectl: Kubectl,
) -> None:
    node = "kubecourse-worker3"
    apply_web(kubectl, "budgeted", 3)
    kubectl("create", "pdb", "budgeted", "--selector=app=budgeted", "--min-available=3")
    eventually(
        lambda: (
            rows(kubectl("get", "pdb", "budgeted").stdout)[0][1:4] == ["3", "N/A", "0"]
        ),
        what="the budget to allow no disruption",
    )
    try:
        blocked = kubectl(
            "drain",
            node,
            "--ignore-daemonsets",
            "--pod-selector=app=budgeted",
            "--timeout=7s",
            check=False,
        )
        text = blocked.stdout + blocked.stderr
        assert (
            "Cannot evict pod as it would violate the pod's disruption budget." in text
        )
        assert "(will retry after 5s)" in text
        assert "global timeout reached: 7s" in text
        assert len(running_pods(kubectl, "budgeted")) == 3
    finally:
        kubectl("uncordon", node)
        kubectl("delete", "pdb", "budgeted")


# ---- items 34, 40, 41, 42, 43 -----------------------------------------------------------------


def test_rollout_history_undo_restart_pause_and_resume(kubectl: Kubectl) -> None:
    apply_web(kubectl, "hist", 2)
    kubectl("set", "image", "deploy/hist", "app=nginx:1.27")
    kubectl("rollout", "status", "deploy/hist", "--timeout=60s")
    history = kubectl("rollout", "history", "deploy/hist").stdout
    assert [r[0] for r in rows(history.split("\n", 1)[1])] == ["1", "2"]
    assert (
        "deployment.apps/hist rolled back"
        in kubectl("rollout", "undo", "deploy/hist").stdout
    )
    kubectl("rollout", "status", "deploy/hist", "--timeout=60s")
    assert (
        kubectl(
            "get",
            "deploy",
            "hist",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ).stdout
        == "nginx:1.26"
    )
    assert [
        r[0]
        for r in rows(
            kubectl("rollout", "history", "deploy/hist").stdout.split("\n", 1)[1]
        )
    ] == ["2", "3"]

    def replica_sets() -> int:
        return len(rows(kubectl("get", "rs", "-l", "app=hist").stdout))

    assert replica_sets() == 2
    assert (
        "deployment.apps/hist restarted"
        in kubectl("rollout", "restart", "deploy/hist").stdout
    )
    kubectl("rollout", "status", "deploy/hist", "--timeout=60s")
    assert replica_sets() == 3
    kubectl("rollout", "pause", "deploy/hist")
    kubectl("set", "image", "deploy/hist", "app=nginx:1.28")
    time.sleep(1.0)
    assert replica_sets() == 3  # paused: no new ReplicaSet
    kubectl("rollout", "resume", "deploy/hist")
    kubectl("rollout", "status", "deploy/hist", "--timeout=60s")
    assert replica_sets() == 4


def test_events_are_listed_by_get_events_and_kubectl_events(kubectl: Kubectl) -> None:
    apply_web(kubectl, "eventful", 1)
    listed = kubectl("get", "events").stdout
    assert listed.splitlines()[0].split() == [
        "LAST",
        "SEEN",
        "TYPE",
        "REASON",
        "OBJECT",
        "MESSAGE",
    ]
    reasons = {r[2] for r in rows(listed) if len(r) > 3}
    assert {
        "Scheduled",
        "Pulling",
        "Pulled",
        "Created",
        "Started",
        "SuccessfulCreate",
        "ScalingReplicaSet",
    } <= reasons
    mine = kubectl("events", "--for", "deployment/eventful").stdout
    assert re.search(
        r"Normal\s+ScalingReplicaSet\s+Deployment/eventful\s+Scaled up replica set eventful-\w+ from 0 to 1",
        mine,
    )


def test_wait_for_ready_and_for_delete_use_a_name_field_selector_watch(
    kubectl: Kubectl, kubectl_env: dict[str, str]
) -> None:
    apply_web(kubectl, "waited", 2)
    ready = kubectl(
        "wait", "--for=condition=Ready", "pod", "-l", "app=waited", "--timeout=30s"
    )
    assert len(re.findall(r"pod/waited-\S+ condition met", ready.stdout)) == 2
    victim = running_pods(kubectl, "waited")[0][0]
    binary = kubectl_binary()
    assert binary is not None
    waiting = subprocess.Popen(
        [binary, "wait", "--for=delete", f"pod/{victim}", "--timeout=30s", "-v=6"],
        env=kubectl_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)  # kubectl is watching the live pod
    assert waiting.poll() is None
    kubectl("delete", "pod", victim, "--wait=false")
    out, err = waiting.communicate(timeout=30)
    assert waiting.returncode == 0, err
    assert f"pod/{victim} condition met" in out
    assert f"fieldSelector=metadata.name%3D{victim}" in err
    assert "NotFound" in kubectl("get", "pod", victim, check=False).stderr


def test_show_labels_label_columns_and_sort_by_creation(kubectl: Kubectl) -> None:
    for name in ("sort-a", "sort-b", "sort-c"):
        kubectl(
            "run", name, "--image=nginx:1.26", "--labels=group=sorted,tier=" + name[-1]
        )
        time.sleep(1.1)  # creationTimestamp has one-second resolution
    shown = kubectl("get", "pods", "-l", "group=sorted", "--show-labels").stdout
    assert shown.splitlines()[0].split()[-1] == "LABELS"
    assert {r[0]: r[-1] for r in rows(shown)}[
        "sort-b"
    ] == "group=sorted,tier=b"  # --labels replaces the run label
    columns = kubectl("get", "pods", "-l", "group=sorted", "-L", "tier,group").stdout
    assert columns.splitlines()[0].split()[-2:] == ["TIER", "GROUP"]
    assert {r[0]: r[-2:] for r in rows(columns)}["sort-c"] == ["c", "sorted"]
    ordered = kubectl(
        "get",
        "pods",
        "-l",
        "group=sorted",
        "--sort-by=.metadata.creationTimestamp",
        "-v=6",
    )
    assert [r[0] for r in rows(ordered.stdout)] == ["sort-a", "sort-b", "sort-c"]
    assert "includeObject=Object" in ordered.stderr
    by_tier = kubectl(
        "get", "pods", "-l", "group=sorted", "--sort-by=.metadata.labels.tier"
    ).stdout
    assert [r[0] for r in rows(by_tier)] == ["sort-a", "sort-b", "sort-c"]


def test_label_annotate_and_taint_change_the_objects(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    kubectl("run", "marked", "--image=nginx:1.26")
    assert (
        "pod/marked labeled" in kubectl("label", "pod", "marked", "color=blue").stdout
    )
    assert (
        "pod/marked annotated"
        in kubectl("annotate", "pod", "marked", "note=hello world").stdout
    )
    pod = core.read_namespaced_pod("marked", "default")
    assert (
        pod.metadata.labels["color"] == "blue"
        and pod.metadata.annotations["note"] == "hello world"
    )
    kubectl("label", "pod", "marked", "color-")
    assert "color" not in core.read_namespaced_pod("marked", "default").metadata.labels
    node = "kubecourse-worker3"
    assert (
        f"node/{node} tainted"
        in kubectl("taint", "node", node, "dedicated=gpu:NoSchedule").stdout
    )
    try:
        taints = [(t.key, t.value, t.effect) for t in core.read_node(node).spec.taints]
        assert taints == [("dedicated", "gpu", "NoSchedule")]
        assert re.search(
            r"^Taints:\s+dedicated=gpu:NoSchedule$",
            kubectl("describe", "node", node).stdout,
            re.M,
        )
    finally:
        assert (
            f"node/{node} untainted"
            in kubectl("taint", "node", node, "dedicated-").stdout
        )
    assert not core.read_node(node).spec.taints


def test_describe_node_lists_its_pods_and_allocated_resources(
    kubectl: Kubectl, core: k8s.CoreV1Api
) -> None:
    out = kubectl("describe", "node", "kubecourse-worker").stdout
    assert re.search(r"^PodCIDR:\s+10\.244\.1\.0/24$", out, re.M)
    assert "Non-terminated Pods:" in out and "Allocated resources:" in out
    assert re.search(r"^\s+Ready\s+True\s", out, re.M)
