"""The course never takes over a learner's objects, and its helpers name bad input.

`Cluster.apply` is server-side apply without force: an object the learner made with
kubectl is refused with the fields and their manager; an object the course applied
before is the course's own and comes back to the lesson's version.  Every helper given
a wrong value raises an error of kubecourse's tree that names it.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from kubecourse.checks import check
from kubecourse.client import Cluster
from kubecourse.client.applying import ApplyError
from kubecourse.errors import (
    ApiError,
    ArgumentError,
    ClusterError,
    FieldConflictError,
    KubecourseError,
    NotConnectedError,
    NotFoundError,
    WaitTimeout,
)
from kubecourse.widgets import mermaid, scaler


def web(name: str, replicas: int = 1) -> list[dict[str, Any]]:
    """The course's Deployment and Service `name`, as a lesson would apply them."""
    labels = {"app.kubernetes.io/name": name}
    container = {
        "name": "web",
        "image": "nginx:1.27-alpine",
        "ports": [{"name": "http", "containerPort": 80}],
    }
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
         "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
         "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}},
    ]  # fmt: skip


# -- apply and ownership -------------------------------------------------------------


def test_apply_refuses_a_service_the_learner_exposed_and_names_fields_and_manager(
    cluster: Cluster,
) -> None:
    cluster.kubectl("create", "deployment", "mine", "--image=nginx:1.27-alpine")
    cluster.kubectl("expose", "deployment", "mine", "--port=80")

    with pytest.raises(FieldConflictError) as refused:
        cluster.apply(web("mine")[1])

    message = str(refused.value)
    assert (
        'Service "mine" in namespace "default" already exists and was not made by the course'
        in message
    )
    assert ".spec.selector" in message and '(owned by "kubectl-expose")' in message
    assert "kubectl delete service mine -n default" in message
    assert ("kubectl-expose", ".spec.selector") in refused.value.conflicts
    assert refused.value.code == 409 and refused.value.__cause__ is not None
    assert cluster.get("service", "mine")["spec"]["selector"] == {
        "app": "mine"
    }  # untouched


def test_a_whole_apply_goes_on_past_the_learners_object_and_lists_it(
    cluster: Cluster,
) -> None:
    cluster.kubectl("create", "deployment", "theirs", "--image=nginx:1.27-alpine")
    cluster.kubectl("expose", "deployment", "theirs", "--port=80")

    with pytest.raises(ApplyError) as partly:
        cluster.apply(web("theirs"))

    assert len(partly.value.failures) == 2  # the Deployment's selector is theirs too
    assert all("was not made by the course" in f for f in partly.value.failures)
    assert partly.value.applied == []
    assert cluster.get("deployment", "theirs")["spec"]["selector"]["matchLabels"] == {
        "app": "theirs"
    }


def test_reapplying_restores_an_object_the_course_applied_even_after_kubectl_scale(
    cluster: Cluster,
) -> None:
    assert cluster.apply(web("ours")) == [
        "deployment.apps/ours created",
        "service/ours created",
    ]
    cluster.scale("ours", 3)
    cluster.kubectl("scale", "deployment", "ours", "--replicas=4")
    cluster.kubectl("label", "service", "ours", "learner=was-here")

    again = cluster.apply(web("ours"))

    assert again == ["deployment.apps/ours configured", "service/ours unchanged"]
    assert cluster.get("deployment", "ours")["spec"]["replicas"] == 1
    assert cluster.get("service", "ours")["metadata"]["labels"] == {
        "learner": "was-here"
    }  # merged, not lost
    cluster.delete("deployment", "ours")
    cluster.delete("service", "ours")


def test_scaling_through_the_facade_is_recorded_as_the_course(cluster: Cluster) -> None:
    cluster.apply(web("scaled"))
    cluster.scale("scaled", 2)

    entries = cluster.get("deployment", "scaled")["metadata"]["managedFields"]

    owners = {(e["manager"], e["operation"], e.get("subresource")) for e in entries}
    assert ("kubecourse", "Update", "scale") in owners
    cluster.delete("deployment", "scaled")
    cluster.delete("service", "scaled")


# -- bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda c: c.get("deployment", "nope"), NotFoundError, 'Deployment "nope" does not exist in namespace "default"'),
        (lambda c: c.get("deployment", "x", namespace="no-such-ns"), NotFoundError, 'namespace "no-such-ns" does not exist'),
        (lambda c: c.get("deployment", 3), ArgumentError, "name must be the name of an object (a string), not 3"),
        (lambda c: c.get(None, "x"), ArgumentError, "kind must be the name of a kind"),
        (lambda c: c.list("pods", namespace="no-such-ns"), NotFoundError, 'namespace "no-such-ns" does not exist'),
        (lambda c: c.list("pods", selector=["app=web"]), ArgumentError, "selector must be label text"),
        (lambda c: c.pods(namespace="no-such-ns"), NotFoundError, 'namespace "no-such-ns" does not exist'),
        (lambda c: c.pods({"app": 1}), ArgumentError, "selector must be label text"),
        (lambda c: c.delete("configmap", "nope"), NotFoundError, 'ConfigMap "nope" does not exist in namespace "default"'),
        (lambda c: c.scale("nope", 2), NotFoundError, 'Deployment "nope" does not exist'),
        (lambda c: c.scale("facade-web", -1), ArgumentError, "replicas must be a whole number of 0 or more, not -1"),
        (lambda c: c.scale("facade-web", "2"), ArgumentError, "replicas must be a whole number"),
        (lambda c: c.scale("facade-web", True), ArgumentError, "replicas must be a whole number"),
        (lambda c: c.scale("facade-web", 1, kind="service"), ArgumentError, "a Service has no replicas to scale"),
        (lambda c: c.logs("nope"), NotFoundError, 'pod=\'nope\': Pod "nope" does not exist'),
        (lambda c: c.logs("facade-web", tail=-5), ArgumentError, "tail must be a whole number"),
        (lambda c: c.endpoints("nope"), NotFoundError, 'service=\'nope\': Service "nope" does not exist in namespace "default"'),
        (lambda c: c.request("nope", "/"), NotFoundError, 'Service "nope" does not exist in namespace "default"'),
        (lambda c: c.request("facade-web", "/", namespace="no-such-ns"), NotFoundError, 'namespace "no-such-ns" does not exist'),
        (lambda c: c.request("facade-web", "api"), ArgumentError, "the path must start with '/'"),
        (lambda c: c.request("facade-web", "/", port=1.5), ArgumentError, "port must be a port number or name"),
        (lambda c: c.request("facade-web", "/", headers={"a": 1}), ArgumentError, "headers must be a dict of strings"),
        (lambda c: c.answers("facade-web", 0), ArgumentError, "count must be a whole number of 1 or more"),
        (lambda c: c.send("nope"), NotFoundError, 'Service "nope" does not exist'),
        (lambda c: c.send("facade-web", -3), ArgumentError, "count must be a whole number"),
        (lambda c: c.route(42), ArgumentError, "service must be the name of a Service"),
        (lambda c: c.wait_for("not a function"), ArgumentError, "predicate must be a function"),
        (lambda c: c.wait_for(lambda: False, timeout=-1), ArgumentError, "timeout must be a number of seconds"),
        (lambda c: c.wait_for(lambda: False, timeout=0.3, what="Godot"), WaitTimeout, "waiting for Godot"),
        (lambda c: c.wait_ready("nope", timeout=5), NotFoundError, 'deployment=\'nope\': Deployment "nope" does not exist'),
        (lambda c: c.wait_workloads_ready(namespace="no-such-ns"), NotFoundError, 'namespace "no-such-ns" does not exist'),
        (lambda c: c.stream("Pod", stop=None, on_event=print), ArgumentError, "stop must be a threading.Event"),
        (lambda c: c.stream("Secret", stop=threading.Event(), on_event=print), ClusterError, "streaming Secret is not supported"),
        (lambda c: c.kubectl("get", 3), ArgumentError, "kubectl's arguments must be strings"),
        (lambda c: c.apply(42), ClusterError, "cannot apply a int"),
        (lambda c: c.ensure_namespace(""), ArgumentError, "name must be the name of a namespace"),
        (lambda c: scaler(c, "nope"), NotFoundError, 'deployment: Deployment "nope" does not exist in namespace "default"'),
        (lambda c: scaler(c, "facade-web", "Bogus"), NotFoundError, 'service=\'Bogus\': Service "Bogus" does not exist in namespace "default"; the Services there are: facade-web, kubernetes'),
        (lambda c: scaler(c, "facade-web", "kubernetes"), ArgumentError, "service='kubernetes': the Service kubernetes selects nothing"),
        (lambda c: scaler(c, "facade-web", namespace="no-such-ns"), NotFoundError, 'namespace "no-such-ns" does not exist'),
        (lambda c: scaler(c, "facade-web", max_replicas=0), ArgumentError, "max_replicas must be a whole number from 1 to 100"),
        (lambda c: scaler(c, "facade-web", requests={"svc": "x"}), ArgumentError, "requests must be a dict with some of the keys"),
        (lambda c: scaler("not a cluster", "facade-web"), ArgumentError, "cluster must be what kubecourse.connect() returns"),
        (lambda c: check("no-such-check", c), ArgumentError, "no check named 'no-such-check'; the checks are: orders-api-scaled"),
        (lambda c: check("orders-api-scaled", c, replica=3), ArgumentError, "check 'orders-api-scaled' takes replicas=, not replica"),
        (lambda c: check("shop-applied", "cluster"), ArgumentError, "cluster must be what kubecourse.connect() returns"),
        (lambda c: check("shop-applied", c, wait=-1), ArgumentError, "wait must be a number of seconds"),
        (lambda c: c.logs(c.pods({"app.kubernetes.io/name": "facade-web"})[0].name, container="nope"), ApiError, "is not valid for pod facade-web-"),
        (lambda c: c.logs(c.pods({"app.kubernetes.io/name": "facade-web"})[0].name, container="nope"), ApiError, "; its containers are: web"),
        (lambda c: c.request("facade-web", "/"), ApiError, 'no endpoints available for service "facade-web"; its ports are named (http): pass port="http"'),
        (lambda c: c.answers("facade-web", 2, bogus=1), ArgumentError, "answers() passes on only port, namespace, method, headers, body to request(), not bogus"),
        (lambda c: scaler(c, "facade-web", maxreplicas=3), ArgumentError, "scaler() takes the options max_replicas, namespace, requests, not maxreplicas"),
        (lambda c: mermaid(None), ArgumentError, "diagram must be Mermaid text"),
    ],
)  # fmt: skip
def test_bad_input_names_what_is_wrong(
    facade_web: Cluster, call: Any, error: type[Exception], words: str
) -> None:
    with pytest.raises(error) as raised:
        call(facade_web)

    assert words in str(raised.value)
    assert isinstance(raised.value, KubecourseError)


def test_a_missing_object_keeps_the_api_servers_404_chained(
    facade_web: Cluster,
) -> None:
    with pytest.raises(NotFoundError) as missing:
        facade_web.request("nope", "/")

    assert missing.value.code == 404 and missing.value.reason == "NotFound"
    assert isinstance(missing.value.__cause__, NotFoundError)


def test_kinds_are_found_by_any_name_kubectl_knows(facade_web: Cluster) -> None:
    assert facade_web.resource("networkpolicy").kind == "NetworkPolicy"
    assert facade_web.resource("NetworkPolicies").kind == "NetworkPolicy"
    assert facade_web.resource("netpol").kind == "NetworkPolicy"
    assert facade_web.resource("hpa").kind == "HorizontalPodAutoscaler"


def test_every_helper_says_the_cluster_is_down(tmp_path: Path) -> None:
    down = Cluster(
        _client_of_a_closed_port(), name="gone", flavor="embedded", namespace="default"
    )
    calls = [
        down.server_version, down.nodes, down.pods, lambda: down.get("pod", "x"),
        lambda: down.list("deployments"), lambda: down.apply(web("x")[1]),
        lambda: down.scale("x", 1), lambda: down.delete("pod", "x"), lambda: down.logs("x"),
        lambda: down.endpoints("x"), lambda: down.request("x"), lambda: down.send("x"),
        lambda: down.wait_ready("x", timeout=1), lambda: down.ensure_namespace("x"),
        lambda: scaler(down, "x"), lambda: check("shop-applied", down),
    ]  # fmt: skip

    for call in calls:
        with pytest.raises(NotConnectedError, match="the cluster did not answer"):
            call()


@pytest.fixture(scope="module")
def facade_web(cluster: Cluster) -> Cluster:
    cluster.apply([{**web("facade-web")[0]}, web("facade-web")[1]])
    cluster.wait_ready("facade-web", timeout=60)
    return cluster


def _client_of_a_closed_port() -> k8s.ApiClient:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = k8s.Configuration(host=f"https://127.0.0.1:{port}")
    config.verify_ssl = False
    config.retries = 0
    return k8s.ApiClient(config)
