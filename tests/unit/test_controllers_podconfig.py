"""ConfigMaps and Secrets as a kubelet uses them: env, volumes, and what is missing."""

from __future__ import annotations

import base64
from typing import Any

from kubecourse.embedded.controllers import podconfig, podutil


def pod(
    name: str, script: str = "sleep 600", restart: str = "Never", **container: Any
) -> dict[str, Any]:
    volumes = container.pop("volumes", None)
    spec: dict[str, Any] = {
        "restartPolicy": restart,
        "containers": [
            {
                "name": "main",
                "image": "busybox:1.36",
                "command": ["sh", "-c", script],
                **container,
            }
        ],
    }
    if volumes:
        spec["volumes"] = volumes
    return {"metadata": {"name": name}, "spec": spec}


def config_map(name: str, **data: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "data": data}


def secret(name: str, **data: str) -> dict[str, Any]:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return {"metadata": {"name": name}, "data": encoded}


def waiting(kube: Any, ns: str, name: str) -> dict[str, Any] | None:
    found = kube.get("pods", ns, name)
    statuses = ((found or {}).get("status") or {}).get("containerStatuses") or [{}]
    return statuses[0].get("state", {}).get("waiting")


def messages(kube: Any, ns: str, name: str) -> list[tuple[str, str]]:
    found = [e for e in kube.items("events", ns) if e["involvedObject"]["name"] == name]
    return [(e["reason"], e["message"]) for e in found]


def test_env_from_config_maps_and_secrets_reaches_the_script(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("envfrom")
    kube.create("configmaps", ns, config_map("settings", GREETING="hello", who="world"))
    kube.create("secrets", ns, secret("creds", password="s3cret"))
    env = [
        {
            "name": "WHO",
            "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "who"}},
        },
        {
            "name": "PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}},
        },
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "BANNER", "value": "$(GREETING)-$(WHO)"},
    ]
    script = "echo $GREETING $WHO; echo $(PASSWORD) $S_password; echo $BANNER on $NODE; sleep 600"
    envs = [
        {"configMapRef": {"name": "settings"}},
        {"secretRef": {"name": "creds"}, "prefix": "S_"},
    ]
    kube.create("pods", ns, pod("app", script, env=env, envFrom=envs))

    found = eventually(
        lambda: (p := kube.get("pods", ns, "app")) and podutil.is_ready(p) and p,
        what="running",
    )

    log = list(kube.cluster.ctx.logbook[(ns, "app", "main")])
    assert log == [
        "hello world",
        "s3cret s3cret",
        f"hello-world on {found['spec']['nodeName']}",
    ]
    env_spec = found["spec"]["containers"][0]["env"]
    assert env_spec[2]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"  # defaulted


def test_a_missing_config_map_holds_the_container_in_create_container_config_error(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("missingcm")
    env = [
        {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "later", "key": "x"}}}
    ]
    kube.create("pods", ns, pod("wait", "echo $X; sleep 600", env=env))

    state = eventually(lambda: waiting(kube, ns, "wait"), what="a waiting container")
    state = eventually(
        lambda: (
            (s := waiting(kube, ns, "wait"))
            and s.get("reason") == "CreateContainerConfigError"
            and s
        ),
        what="config error",
    )

    assert state["message"] == 'configmap "later" not found'
    stuck = kube.get("pods", ns, "wait")
    assert stuck["status"]["phase"] == "Pending" and stuck["status"]["podIP"]
    assert ("Failed", 'Error: configmap "later" not found') in messages(
        kube, ns, "wait"
    )

    kube.create("configmaps", ns, config_map("later", y="1"))
    eventually(
        lambda: (
            (waiting(kube, ns, "wait") or {}).get("message")
            == "couldn't find key x in ConfigMap missingcm/later"
        ),
        what="the missing key named",
    )
    kube.patch("configmaps", ns, "later", {"data": {"x": "found"}})
    eventually(
        lambda: podutil.is_ready(kube.get("pods", ns, "wait")),
        what="started once the key exists",
    )
    assert list(kube.cluster.ctx.logbook[(ns, "wait", "main")]) == ["found"]


def test_optional_references_to_missing_objects_are_skipped(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("optional")
    env = [
        {
            "name": "X",
            "valueFrom": {
                "secretKeyRef": {"name": "absent", "key": "x", "optional": True}
            },
        }
    ]
    volumes = [{"name": "cfg", "configMap": {"name": "absent", "optional": True}}]
    kube.create(
        "pods",
        ns,
        pod(
            "relaxed",
            "echo [$X]; sleep 600",
            env=env,
            envFrom=[{"configMapRef": {"name": "absent", "optional": True}}],
            volumes=volumes,
        ),
    )

    eventually(
        lambda: podutil.is_ready(kube.get("pods", ns, "relaxed")),
        what="running without them",
    )

    assert list(kube.cluster.ctx.logbook[(ns, "relaxed", "main")]) == ["[]"]


def test_a_missing_config_map_volume_keeps_the_pod_creating_with_failed_mount(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("mount")
    volumes = [{"name": "cfg", "configMap": {"name": "files"}}]
    mounts = [{"name": "cfg", "mountPath": "/etc/files"}]
    kube.create("pods", ns, pod("mounted", volumes=volumes, volumeMounts=mounts))

    message = 'MountVolume.SetUp failed for volume "cfg" : configmap "files" not found'
    eventually(
        lambda: ("FailedMount", message) in messages(kube, ns, "mounted"),
        what="FailedMount",
    )

    stuck = kube.get("pods", ns, "mounted")
    assert waiting(kube, ns, "mounted") == {"reason": "ContainerCreating"}
    assert "podIP" not in stuck["status"]
    assert stuck["spec"]["volumes"][0]["configMap"]["defaultMode"] == 420
    kube.create("configmaps", ns, config_map("files", app="x"))
    eventually(
        lambda: podutil.is_ready(kube.get("pods", ns, "mounted")),
        what="mounted once it exists",
    )


def test_every_container_mounts_the_service_account_token_read_only(kube: Any) -> None:
    ns = kube.namespace("token")
    created = kube.create("pods", ns, pod("tokened"))
    opted_out = pod("plain")
    opted_out["spec"]["automountServiceAccountToken"] = False
    plain = kube.create("pods", ns, opted_out)

    volume = created["spec"]["volumes"][-1]
    assert volume["name"].startswith("kube-api-access-") and len(volume["name"]) == 21
    sources = volume["projected"]["sources"]
    assert sources[0] == {
        "serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}
    }
    assert sources[1]["configMap"]["name"] == "kube-root-ca.crt"
    mount = created["spec"]["containers"][0]["volumeMounts"][-1]
    assert mount == {
        "name": volume["name"],
        "readOnly": True,
        "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
    }
    assert "volumes" not in plain["spec"]


def test_secret_string_data_is_stored_as_base64_data(kube: Any) -> None:
    ns = kube.namespace("stringdata")
    created = kube.create(
        "secrets", ns, {"metadata": {"name": "s"}, "stringData": {"token": "abc"}}
    )

    assert created["data"] == {"token": "YWJj"} and "stringData" not in created


def test_a_failing_on_failure_container_restarts_with_crash_loop_back_off(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("crashloop")
    kube.create("pods", ns, pod("crash", "echo boom; exit 2", restart="OnFailure"))

    backoff = eventually(
        lambda: (
            (s := waiting(kube, ns, "crash"))
            and s.get("reason") == "CrashLoopBackOff"
            and kube.get("pods", ns, "crash")
        ),
        what="CrashLoopBackOff",
    )

    (status,) = backoff["status"]["containerStatuses"]
    assert status["restartCount"] >= 1 and backoff["status"]["phase"] == "Running"
    assert status["lastState"]["terminated"]["exitCode"] == 2
    uid = backoff["metadata"]["uid"]
    assert status["state"]["waiting"]["message"].endswith(
        f"restarting failed container=main pod=crash_{ns}({uid})"
    )
    warning = f"Back-off restarting failed container main in pod crash_{ns}({uid})"
    assert ("BackOff", warning) in messages(kube, ns, "crash")
    eventually(
        lambda: podutil.restart_count(kube.get("pods", ns, "crash")) >= 3,
        what="more restarts",
    )


def test_a_pod_with_a_finalizer_stays_terminating_until_it_is_removed(
    kube: Any, eventually: Any
) -> None:
    ns = kube.namespace("finalizer")
    body = pod("kept")
    body["metadata"]["finalizers"] = ["example.com/keep"]
    kube.create("pods", ns, body)
    eventually(lambda: podutil.is_ready(kube.get("pods", ns, "kept")), what="running")

    kube.delete("pods", ns, "kept")
    eventually(
        lambda: (
            kube.get("pods", ns, "kept")["metadata"].get("deletionGracePeriodSeconds")
            == 0
        ),
        what="stopped",
    )

    assert kube.get("pods", ns, "kept")["metadata"]["deletionTimestamp"]
    kube.patch("pods", ns, "kept", {"metadata": {"finalizers": None}})
    eventually(lambda: kube.get("pods", ns, "kept") is None, what="gone once released")


def test_dollar_parens_expand_known_variables_and_keep_the_rest() -> None:
    env = {"A": "1", "B": "two"}
    assert podconfig.expand("$(A)-$(B)-$(C)-$$(A)", env) == "1-two-$(C)-$(A)"
