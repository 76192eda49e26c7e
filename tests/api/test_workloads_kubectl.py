"""Item 46 through real kubectl and the official client: Jobs, CronJobs, DaemonSets that
run, and ConfigMaps / Secrets as env and volumes in `kubectl describe pod`."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client as k8s

from tests.api.conftest import eventually

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()[1:]]


def header(text: str) -> list[str]:
    return text.strip().splitlines()[0].split()


def apply(kubectl: Kubectl, manifest: dict[str, Any]) -> str:
    return kubectl("apply", "-f", "-", input=json.dumps(manifest)).stdout


def daemonset(name: str, image: str = "nginx:1.27") -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "agent", "image": image}]},
            },
        },
    }


# ---- Jobs ---------------------------------------------------------------------------------


def test_kubectl_create_job_runs_and_wait_get_logs_and_describe_show_it(
    kubectl: Kubectl,
) -> None:
    created = kubectl(
        "create", "job", "hello", "--image=busybox", "--", "sh", "-c", "echo hi"
    )

    assert created.stdout.strip() == "job.batch/hello created"
    waited = kubectl("wait", "--for=condition=complete", "job/hello", "--timeout=30s")
    assert waited.stdout.strip() == "job.batch/hello condition met"
    listing = kubectl("get", "jobs").stdout
    assert header(listing) == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert rows(listing)[0][:3] == ["hello", "Complete", "1/1"]
    assert kubectl("logs", "job/hello").stdout == "hi\n"
    described = kubectl("describe", "job", "hello").stdout
    assert "Pods Statuses:    0 Active (0 Ready) / 1 Succeeded / 0 Failed" in described
    assert "Completed At:" in described and "Duration:" in described
    assert "job-controller  Created pod: hello-" in described
    assert "job-controller  Job completed" in described
    pods = kubectl("get", "pods", "-l", "job-name=hello").stdout
    assert rows(pods)[0][1:3] == ["0/1", "Completed"]


def test_a_job_that_fails_shows_failed_and_the_backoff_warning(
    kubectl: Kubectl,
) -> None:
    apply(
        kubectl,
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "broken"},
            "spec": {
                "backoffLimit": 1,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [
                            {
                                "name": "c",
                                "image": "busybox",
                                "command": ["sh", "-c", "exit 1"],
                            }
                        ],
                    }
                },
            },
        },
    )

    waited = kubectl("wait", "--for=condition=failed", "job/broken", "--timeout=30s")

    assert waited.stdout.strip() == "job.batch/broken condition met"
    assert rows(kubectl("get", "job", "broken").stdout)[0][:3] == [
        "broken",
        "Failed",
        "0/1",
    ]
    described = kubectl("describe", "job", "broken").stdout
    assert "Pods Statuses:    0 Active (0 Ready) / 0 Succeeded / 2 Failed" in described
    assert (
        "BackoffLimitExceeded  " in described
        and "Job has reached the specified backoff limit" in described
    )
    assert [
        r[2] for r in rows(kubectl("get", "pods", "-l", "job-name=broken").stdout)
    ] == ["Error", "Error"]


def test_typed_client_reads_job_status_and_conditions(
    api_client: k8s.ApiClient, kubectl: Kubectl
) -> None:
    kubectl("create", "job", "typed", "--image=busybox", "--", "sh", "-c", "echo typed")
    batch = k8s.BatchV1Api(api_client)

    job = eventually(
        lambda: (
            (j := batch.read_namespaced_job("typed", "default")).status.completion_time
            and j
        ),
        what="done",
    )

    assert [c.type for c in job.status.conditions] == ["SuccessCriteriaMet", "Complete"]
    assert (
        job.status.succeeded == 1
        and job.status.ready == 0
        and job.status.terminating == 0
    )
    assert job.status.uncounted_terminated_pods.succeeded is None
    assert job.spec.manual_selector is False


# ---- CronJobs -----------------------------------------------------------------------------


def test_kubectl_create_job_from_a_cronjob_runs_its_template(kubectl: Kubectl) -> None:
    kubectl(
        "create",
        "cronjob",
        "nightly",
        "--image=busybox",
        "--schedule=0 3 * * *",
        "--",
        "sh",
        "-c",
        "echo nightly",
    )
    listing = kubectl("get", "cronjobs").stdout
    assert header(listing) == [
        "NAME",
        "SCHEDULE",
        "TIMEZONE",
        "SUSPEND",
        "ACTIVE",
        "LAST",
        "SCHEDULE",
        "AGE",
    ]
    assert rows(listing)[0][:7] == ["nightly", "0", "3", "*", "*", "*", "<none>"]

    kubectl("create", "job", "manual", "--from=cronjob/nightly")

    kubectl("wait", "--for=condition=complete", "job/manual", "--timeout=30s")
    job = json.loads(kubectl("get", "job", "manual", "-o", "json").stdout)
    assert (
        job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    )
    assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    assert kubectl("logs", "job/manual").stdout == "nightly\n"


def test_a_bad_schedule_is_422_naming_spec_schedule(
    api_client: k8s.ApiClient, kubectl: Kubectl
) -> None:
    body = {
        "metadata": {"name": "bad"},
        "spec": {
            "schedule": "61 * * * *",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "c", "image": "busybox"}],
                        }
                    }
                }
            },
        },
    }

    with pytest.raises(k8s.ApiException) as raised:
        k8s.BatchV1Api(api_client).create_namespaced_cron_job("default", body)

    assert raised.value.status == 422
    status = json.loads(raised.value.body)
    assert status["reason"] == "Invalid" and status["details"]["kind"] == "CronJob"
    assert status["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: "61 * * * *": end of range (61) above maximum (59): 61',
            "field": "spec.schedule",
        }
    ]
    refused = kubectl(
        "create", "cronjob", "bad", "--image=busybox", "--schedule=* * *", check=False
    )
    assert refused.returncode == 1
    assert (
        'error: failed to create cronjob: CronJob.batch "bad" is invalid: spec.schedule: '
        'Invalid value: "* * *": expected exactly 5 fields, found 3: [* * *]'
        in refused.stderr
    )
    assert "bad" not in kubectl("get", "cronjobs").stdout


# ---- DaemonSets ---------------------------------------------------------------------------


def test_daemonset_rolls_out_prints_its_columns_and_keeps_history(
    kubectl: Kubectl,
) -> None:
    apply(kubectl, daemonset("agent"))

    status = kubectl("rollout", "status", "ds/agent", "--timeout=60s").stdout
    assert (
        status.strip().splitlines()[-1] == 'daemon set "agent" successfully rolled out'
    )
    listing = kubectl("get", "ds").stdout
    assert header(listing) == [
        "NAME",
        "DESIRED",
        "CURRENT",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "NODE",
        "SELECTOR",
        "AGE",
    ]
    assert rows(listing)[0][:7] == ["agent", "3", "3", "3", "3", "3", "<none>"]
    kubectl("set", "image", "ds/agent", "agent=nginx:1.28")
    kubectl("rollout", "status", "ds/agent", "--timeout=60s")
    history = kubectl("rollout", "history", "ds/agent").stdout
    assert [r[0] for r in rows(history.split("\n", 1)[1])] == ["1", "2"]
    revisions = kubectl("get", "controllerrevisions").stdout
    assert header(revisions) == ["NAME", "CONTROLLER", "REVISION", "AGE"]
    assert sorted(r[1:3] for r in rows(revisions)) == [
        ["daemonset.apps/agent", "1"],
        ["daemonset.apps/agent", "2"],
    ]
    kubectl("rollout", "undo", "ds/agent")
    kubectl("rollout", "status", "ds/agent", "--timeout=60s")
    image = kubectl(
        "get", "ds", "agent", "-o", "jsonpath={.spec.template.spec.containers[0].image}"
    ).stdout
    assert image == "nginx:1.27"


def test_drain_refuses_daemon_pods_without_ignore_daemonsets(kubectl: Kubectl) -> None:
    node = "kubecourse-worker3"
    kubectl("create", "namespace", "daemons")
    manifest = daemonset("watcher")
    manifest["metadata"]["namespace"] = "daemons"
    apply(kubectl, manifest)
    kubectl("rollout", "status", "ds/watcher", "-n", "daemons", "--timeout=60s")
    pod = kubectl(
        "get",
        "pods",
        "-n",
        "daemons",
        "--field-selector",
        f"spec.nodeName={node}",
        "-o",
        "jsonpath={.items[0].metadata.name}",
    ).stdout
    try:
        refused = kubectl(
            "drain", node, "--pod-selector=app=watcher", "--timeout=20s", check=False
        )
        assert refused.returncode != 0
        assert (
            f"cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): daemons/{pod}"
            in refused.stderr
        )
        done = kubectl(
            "drain",
            node,
            "--pod-selector=app=watcher",
            "--ignore-daemonsets",
            "--timeout=20s",
        )
        assert f"Warning: ignoring DaemonSet-managed Pods: daemons/{pod}" in done.stderr
        assert done.stdout.rstrip().endswith(f"node/{node} drained")
        assert (
            kubectl(
                "get", "pod", pod, "-n", "daemons", "-o", "jsonpath={.status.phase}"
            ).stdout
            == "Running"
        )
    finally:
        kubectl("uncordon", node)


def test_typed_client_lists_controller_revisions_and_daemonset_status(
    api_client: k8s.ApiClient, kubectl: Kubectl
) -> None:
    apply(kubectl, daemonset("typed-ds"))
    kubectl("rollout", "status", "ds/typed-ds", "--timeout=60s")
    apps = k8s.AppsV1Api(api_client)

    status = apps.read_namespaced_daemon_set("typed-ds", "default").status
    revisions = apps.list_namespaced_controller_revision(
        "default", label_selector="app=typed-ds"
    ).items

    assert (
        status.desired_number_scheduled,
        status.number_available,
        status.number_misscheduled,
    ) == (3, 3, 0)
    assert [r.revision for r in revisions] == [1]
    assert revisions[0].data["spec"]["template"]["$patch"] == "replace"


# ---- ConfigMaps and Secrets in describe -------------------------------------------------------


def test_describe_pod_shows_config_map_and_secret_env_mounts_and_volumes(
    kubectl: Kubectl,
) -> None:
    kubectl(
        "create",
        "configmap",
        "settings",
        "--from-literal=GREETING=hello",
        "--from-literal=who=world",
    )
    kubectl("create", "secret", "generic", "creds", "--from-literal=password=s3cret")
    container = {
        "name": "app",
        "image": "busybox:1.36",
        "command": ["sh", "-c", "echo $GREETING $WHO $PASSWORD; sleep 600"],
        "envFrom": [{"configMapRef": {"name": "settings"}}],
        "env": [
            {
                "name": "WHO",
                "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "who"}},
            },
            {
                "name": "PASSWORD",
                "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}},
            },
        ],
        "volumeMounts": [
            {"name": "conf", "mountPath": "/etc/conf", "readOnly": True},
            {"name": "sec", "mountPath": "/etc/sec"},
        ],
    }
    volumes = [
        {"name": "conf", "configMap": {"name": "settings"}},
        {"name": "sec", "secret": {"secretName": "creds"}},
    ]
    apply(
        kubectl,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "configured"},
            "spec": {"containers": [container], "volumes": volumes},
        },
    )
    kubectl("wait", "--for=condition=Ready", "pod/configured", "--timeout=30s")

    described = kubectl("describe", "pod", "configured").stdout

    assert (
        "    Environment Variables from:\n      settings  ConfigMap  Optional: false\n"
        in described
    )
    assert (
        "WHO:       <set to the key 'who' of config map 'settings'>  Optional: false"
        in described
    )
    assert (
        "PASSWORD:  <set to the key 'password' in secret 'creds'>    Optional: false"
        in described
    )
    assert "      /etc/conf from conf (ro)\n      /etc/sec from sec (rw)\n" in described
    assert (
        "/var/run/secrets/kubernetes.io/serviceaccount from kube-api-access-"
        in described
    )
    assert (
        "    Type:      ConfigMap (a volume populated by a ConfigMap)\n    Name:      settings\n"
        in described
    )
    assert (
        "    Type:        Secret (a volume populated by a Secret)\n    SecretName:  creds\n"
        in described
    )
    assert "ConfigMapName:           kube-root-ca.crt" in described
    assert kubectl("logs", "configured").stdout == "hello world s3cret\n"


def test_a_missing_config_map_shows_create_container_config_error(
    kubectl: Kubectl,
) -> None:
    env = [
        {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "nowhere", "key": "x"}}}
    ]
    container = {
        "name": "app",
        "image": "busybox:1.36",
        "command": ["sh", "-c", "sleep 600"],
        "env": env,
    }
    apply(
        kubectl,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "unconfigured"},
            "spec": {"containers": [container]},
        },
    )

    listed = eventually(
        lambda: (
            (r := rows(kubectl("get", "pod", "unconfigured").stdout))
            and r[0][2] == "CreateContainerConfigError"
            and r
        ),
        what="CreateContainerConfigError",
    )

    assert listed[0][1] == "0/1"
    described = kubectl("describe", "pod", "unconfigured").stdout
    assert "      Reason:       CreateContainerConfigError" in described
    # kubectl 1.37 prefixes a container event's message with its fieldPath
    assert 'kubelet            spec.containers{app}: Error: configmap "nowhere" not found' in described
