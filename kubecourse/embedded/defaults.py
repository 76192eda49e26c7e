"""Defaulting as a real API server applies it on create (and to templates on update).

These are the values `kubectl get -o yaml` shows on a real cluster for the same input,
so `describe` output and learners' diffs look right: pod restart/DNS/scheduler
defaults, the two 300 s NoExecute tolerations, container pull policy, Deployment
strategy 25%/25%, Service protocol/targetPort/sessionAffinity, Namespace finalizers;
Job (completions/parallelism/backoffLimit, the generated `controller-uid` selector and
labels), CronJob, DaemonSet, autoscaling/v2 HPA (min 1, CPU 80%, behavior rules when
given), the status integers PDB and DaemonSet show from creation, and the defaults the
Gateway API CRDs declare (route match `PathPrefix /`, backend `Service` weight 1,
listener routes from `Same`, "Waiting for controller" conditions).
"""

from __future__ import annotations

import base64
from typing import Any

from kubecourse.embedded.storage import default_storage_class

DEFAULT_TOLERATIONS = [
    {
        "key": "node.kubernetes.io/not-ready",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    },
    {
        "key": "node.kubernetes.io/unreachable",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    },
]


def default_container(container: dict[str, Any]) -> None:
    image = str(container.get("image") or "")
    tagless = ":" not in image.rpartition("/")[2] and "@" not in image
    policy = "Always" if tagless or image.endswith(":latest") else "IfNotPresent"
    container.setdefault("imagePullPolicy", policy)
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    resources = container.setdefault("resources", {})
    limits = resources.get("limits") or {}
    if limits:
        # As upstream: a limit with no request requests the limit.
        requests = resources.setdefault("requests", {})
        for name, value in limits.items():
            requests.setdefault(name, value)
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for var in container.get("env") or []:
        field_ref = (var.get("valueFrom") or {}).get("fieldRef")
        if isinstance(field_ref, dict):
            field_ref.setdefault("apiVersion", "v1")
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        if probe in container:
            default_probe(container[probe])


def default_probe(probe: dict[str, Any]) -> None:
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)


def default_pod_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for container in spec.get("initContainers") or []:
        default_container(container)
    for container in spec.get("containers") or []:
        default_container(container)
    for volume in spec.get("volumes") or []:
        if isinstance(volume, dict):
            default_volume(volume)


# Volume sources whose files get mode 0644 (420) unless told otherwise.
MODE_DEFAULTED = ("configMap", "secret", "projected", "downwardAPI")


def default_volume(volume: dict[str, Any]) -> None:
    """`SetDefaults_*VolumeSource`: defaultMode 420, a hostPath type of ""."""
    for source in MODE_DEFAULTED:
        if isinstance(volume.get(source), dict):
            volume[source].setdefault("defaultMode", 420)
    if isinstance(volume.get("hostPath"), dict):
        volume["hostPath"].setdefault("type", "")


def default_pod(pod: dict[str, Any]) -> None:
    """Admission on Pod create: spec defaults, service account, default tolerations."""
    spec = pod.setdefault("spec", {})
    default_pod_spec(spec)
    if not _is_mirror(
        pod
    ):  # ServiceAccount admission leaves a kubelet's mirror pod alone
        spec.setdefault("serviceAccountName", "default")
        spec["serviceAccount"] = spec["serviceAccountName"]
    spec.setdefault("enableServiceLinks", True)
    # priority and preemptionPolicy come from the Priority admission plugin (priority.py)
    tolerations = spec.setdefault("tolerations", [])
    for toleration in DEFAULT_TOLERATIONS:
        if not any(_covers(t, toleration) for t in tolerations):
            tolerations.append(dict(toleration))
    pod["status"] = {"phase": "Pending", "qosClass": qos_class(spec)}


def _is_mirror(pod: dict[str, Any]) -> bool:
    return "kubernetes.io/config.mirror" in (
        (pod.get("metadata") or {}).get("annotations") or {}
    )


def _covers(toleration: dict[str, Any], default: dict[str, Any]) -> bool:
    """DefaultTolerationSeconds adds nothing a toleration already covers: the same key,
    or no key at all (`operator: Exists`), for NoExecute or any effect."""
    key_covers = toleration.get("key") in (default["key"], None, "")
    return key_covers and toleration.get("effect") in ("NoExecute", None, "")


def qos_class(spec: dict[str, Any]) -> str:
    """`GetPodQOS`, over the app and the init containers alike."""
    containers = [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    guaranteed = all(
        (r.get("limits") or {}).get(k) is not None
        and (r.get("requests") or r.get("limits") or {}).get(k)
        == (r.get("limits") or {}).get(k)
        for r in resources
        for k in ("cpu", "memory")
    )
    return "Guaranteed" if guaranteed else "Burstable"


def default_template(template: dict[str, Any]) -> None:
    template.setdefault("metadata", {})
    default_pod_spec(template.setdefault("spec", {}))


def default_deployment(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    default_template(spec.setdefault("template", {}))


def default_replicaset(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    default_template(spec.setdefault("template", {}))


def default_statefulset(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault(
        "updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    )
    spec.setdefault(
        "persistentVolumeClaimRetentionPolicy",
        {"whenDeleted": "Retain", "whenScaled": "Retain"},
    )
    default_template(spec.setdefault("template", {}))
    for claim in spec.get("volumeClaimTemplates") or []:
        claim.setdefault("apiVersion", "v1")
        claim.setdefault("kind", "PersistentVolumeClaim")
        claim_spec = claim.setdefault("spec", {})
        claim_spec.setdefault("volumeMode", "Filesystem")


def default_service(obj: dict[str, Any]) -> None:
    default_service_spec(obj.setdefault("spec", {}))
    obj["status"] = {"loadBalancer": {}}


def default_service_spec(spec: dict[str, Any]) -> None:
    """`SetDefaults_Service` (every decode: create and update), with the IP family
    fields the registry's allocator sets."""
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["sessionAffinity"] == "ClientIP":
        config = spec.setdefault("sessionAffinityConfig", {})
        if isinstance(config, dict):
            client_ip = config.setdefault("clientIP", {})
            if isinstance(client_ip, dict):
                client_ip.setdefault("timeoutSeconds", 10800)
    if spec["type"] != "ExternalName":
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))


def default_namespace(obj: dict[str, Any]) -> None:
    meta = obj["metadata"]
    labels = meta.setdefault("labels", {})
    labels["kubernetes.io/metadata.name"] = meta["name"]
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj["status"] = {"phase": "Active"}


def default_pvc(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("volumeMode", "Filesystem")
    obj["status"] = {"phase": "Pending"}


def redefault_pvc(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("volumeMode", "Filesystem")


def default_pv(obj: dict[str, Any]) -> None:
    """`SetDefaults_PersistentVolume`: reclaim policy Retain, volume mode Filesystem;
    a hostPath source gets its `type` ("", no check)."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
    spec.setdefault("volumeMode", "Filesystem")
    host_path = spec.get("hostPath")
    if isinstance(host_path, dict):
        host_path.setdefault("type", "")


def default_endpoints(obj: dict[str, Any]) -> None:
    """`SetDefaults_EndpointPort`: protocol TCP."""
    for subset in obj.get("subsets") or []:
        for port in (subset or {}).get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")


def default_secret(obj: dict[str, Any]) -> None:
    """Secret create/update: type Opaque; `stringData` is written into `data` (base64),
    overriding the same keys there, and is not stored."""
    obj.setdefault("type", "Opaque")
    plain = obj.pop("stringData", None)
    if isinstance(plain, dict) and plain:
        data = obj.setdefault("data", {}) or {}
        for key, value in plain.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data


# ---------------------------------------------------------------- batch, apps, autoscaling

JOB_UID_LABELS = ("batch.kubernetes.io/controller-uid", "controller-uid")
JOB_NAME_LABELS = ("batch.kubernetes.io/job-name", "job-name")


def default_job_spec(spec: dict[str, Any]) -> None:
    """`SetDefaults_Job` on a spec: completions/parallelism 1, backoffLimit 6, ..."""
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    per_index = spec.get("backoffLimitPerIndex") is not None
    spec.setdefault("backoffLimit", 2147483647 if per_index else 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    failed_only = spec.get("podFailurePolicy") is not None
    spec.setdefault(
        "podReplacementPolicy", "Failed" if failed_only else "TerminatingOrFailed"
    )
    spec.setdefault("manualSelector", False)
    default_template(spec.setdefault("template", {}))


def default_job(obj: dict[str, Any]) -> None:
    """Job create: spec defaults, the generated selector and labels, empty status.

    A Job without labels takes its template's, generated ones included: upstream
    defaults again when the stored object is read back, after the selector was made."""
    spec = obj.setdefault("spec", {})
    default_job_spec(spec)
    meta = obj["metadata"]
    if not spec.get("manualSelector"):
        _generate_job_selector(spec, str(meta["uid"]), str(meta["name"]))
    _labels_from_template(obj)
    obj["status"] = {}


def _labels_from_template(obj: dict[str, Any]) -> None:
    template_labels = obj["spec"]["template"]["metadata"].get("labels")
    if template_labels and not obj["metadata"].get("labels"):
        obj["metadata"]["labels"] = dict(template_labels)


def _generate_job_selector(spec: dict[str, Any], uid: str, name: str) -> None:
    labels = spec["template"]["metadata"].setdefault("labels", {})
    for key in JOB_UID_LABELS:
        labels[key] = uid
    for key in JOB_NAME_LABELS:
        labels[key] = name
    spec["selector"] = {"matchLabels": {JOB_UID_LABELS[0]: uid}}


def redefault_job(obj: dict[str, Any]) -> None:
    default_job_spec(obj.setdefault("spec", {}))
    _labels_from_template(obj)


def default_cronjob(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_template = spec.setdefault("jobTemplate", {})
    job_template.setdefault("metadata", {})
    default_template(job_template.setdefault("spec", {}).setdefault("template", {}))


def default_new_cronjob(obj: dict[str, Any]) -> None:
    default_cronjob(obj)
    obj["status"] = {}


def default_daemonset(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    strategy = spec.setdefault("updateStrategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    default_template(spec.setdefault("template", {}))


DS_TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"


def default_new_daemonset(obj: dict[str, Any]) -> None:
    """DaemonSet create: defaults, templateGeneration 1 (kept in apps/v1 as an
    annotation), the status integers."""
    default_daemonset(obj)
    obj["metadata"].setdefault("annotations", {})[DS_TEMPLATE_GENERATION] = "1"
    obj["status"] = {
        "currentNumberScheduled": 0,
        "desiredNumberScheduled": 0,
        "numberMisscheduled": 0,
        "numberReady": 0,
    }


DEFAULT_CPU_UTILIZATION = 80


def cpu_metric(utilization: int) -> dict[str, Any]:
    target = {"type": "Utilization", "averageUtilization": utilization}
    return {"type": "Resource", "resource": {"name": "cpu", "target": target}}


def default_hpa(obj: dict[str, Any]) -> None:
    """autoscaling/v2 `SetDefaults_HorizontalPodAutoscaler` (the storage version)."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [cpu_metric(DEFAULT_CPU_UTILIZATION)]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        _default_scaling_rules(behavior.setdefault("scaleUp", {}), up=True)
        _default_scaling_rules(behavior.setdefault("scaleDown", {}), up=False)


def _default_scaling_rules(rules: dict[str, Any], *, up: bool) -> None:
    if up:
        # Scale-down's window is left unset: the controller's
        # --horizontal-pod-autoscaler-downscale-stabilization applies.
        rules.setdefault("stabilizationWindowSeconds", 0)
    rules.setdefault("selectPolicy", "Max")
    policies = [{"type": "Percent", "value": 100, "periodSeconds": 15}]
    if up:
        policies.insert(0, {"type": "Pods", "value": 4, "periodSeconds": 15})
    rules.setdefault("policies", policies)


def default_new_hpa(obj: dict[str, Any]) -> None:
    default_hpa(obj)
    obj["status"] = {"currentMetrics": None, "desiredReplicas": 0}


def default_pdb(obj: dict[str, Any]) -> None:
    """PodDisruptionBudget create: no spec defaults; the status integers at zero."""
    obj.setdefault("spec", {})
    obj["status"] = {
        "currentHealthy": 0,
        "desiredHealthy": 0,
        "disruptionsAllowed": 0,
        "expectedPods": 0,
    }


# ---------------------------------------------------------------- Gateway API (CRD defaults)

_EPOCH = "1970-01-01T00:00:00Z"
_ROOT_MATCH = {"path": {"type": "PathPrefix", "value": "/"}}


def _waiting(type_: str) -> dict[str, Any]:
    return {
        "type": type_,
        "status": "Unknown",
        "reason": "Pending",
        "message": "Waiting for controller",
        "lastTransitionTime": _EPOCH,
    }


def default_gateway_class(obj: dict[str, Any]) -> None:
    obj.setdefault("status", {"conditions": [_waiting("Accepted")]})


def default_gateway(obj: dict[str, Any]) -> None:
    for listener in obj.setdefault("spec", {}).get("listeners") or []:
        if isinstance(listener, dict):
            routes = listener.setdefault("allowedRoutes", {})
            routes.setdefault("namespaces", {}).setdefault("from", "Same")
    conditions = [_waiting("Accepted"), _waiting("Programmed")]
    obj.setdefault("status", {"conditions": conditions})


def default_http_route(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    for ref in spec.get("parentRefs") or []:
        ref.setdefault("group", "gateway.networking.k8s.io")
        ref.setdefault("kind", "Gateway")
    rules = spec.setdefault("rules", [{"matches": [_copy(_ROOT_MATCH)]}])
    for rule in rules:
        _default_rule(rule)


def _default_rule(rule: dict[str, Any]) -> None:
    matches = rule.setdefault("matches", [_copy(_ROOT_MATCH)])
    for match in matches:
        path = match.setdefault("path", {})
        path.setdefault("type", "PathPrefix")
        path.setdefault("value", "/")
        for header in match.get("headers") or []:
            header.setdefault("type", "Exact")
    for backend in rule.get("backendRefs") or []:
        backend.setdefault("group", "")
        backend.setdefault("kind", "Service")
        backend.setdefault("weight", 1)


def _copy(value: dict[str, Any]) -> dict[str, Any]:
    return {k: _copy(v) if isinstance(v, dict) else v for k, v in value.items()}


def default_event(event: dict[str, Any]) -> None:
    """A core v1 Event's struct-valued and required-string fields are never absent in
    upstream's JSON: an empty `source`, null timestamps, empty reporting fields."""
    event.setdefault("involvedObject", {})
    event.setdefault("source", {})
    for stamp in ("firstTimestamp", "lastTimestamp", "eventTime"):
        event.setdefault(stamp, None)
    event.setdefault("reportingComponent", "")
    event.setdefault("reportingInstance", "")


DEFAULTERS = {
    "Event": default_event,
    "Pod": default_pod,
    "Deployment": default_deployment,
    "ReplicaSet": default_replicaset,
    "StatefulSet": default_statefulset,
    "Service": default_service,
    "Namespace": default_namespace,
    "PersistentVolumeClaim": default_pvc,
    "PersistentVolume": default_pv,
    "Endpoints": default_endpoints,
    "StorageClass": default_storage_class,
    "Secret": default_secret,
    "Job": default_job,
    "CronJob": default_new_cronjob,
    "DaemonSet": default_new_daemonset,
    "HorizontalPodAutoscaler": default_new_hpa,
    "PodDisruptionBudget": default_pdb,
    "GatewayClass": default_gateway_class,
    "Gateway": default_gateway,
    "HTTPRoute": default_http_route,
}


def bump_template_generation(old: dict[str, Any], new: dict[str, Any]) -> None:
    """DaemonSet update: a changed template is a new templateGeneration (the pods'
    `pod-template-generation` label); the annotation cannot be edited by hand."""
    before = (old.get("metadata") or {}).get("annotations") or {}
    generation = int(before.get(DS_TEMPLATE_GENERATION) or "1")
    if (old.get("spec") or {}).get("template") != (new.get("spec") or {}).get(
        "template"
    ):
        generation += 1
    new["metadata"].setdefault("annotations", {})[DS_TEMPLATE_GENERATION] = str(
        generation
    )


# On update only templates are re-defaulted (a real server defaults every decode).
UPDATE_DEFAULTERS = {
    "Secret": default_secret,
    "PersistentVolumeClaim": redefault_pvc,
    "PersistentVolume": default_pv,
    "Endpoints": default_endpoints,
    "Deployment": default_deployment,
    "ReplicaSet": default_replicaset,
    "StatefulSet": default_statefulset,
    "Job": redefault_job,
    "CronJob": default_cronjob,
    "DaemonSet": default_daemonset,
    "HorizontalPodAutoscaler": default_hpa,
    "Gateway": default_gateway,
    "HTTPRoute": default_http_route,
}
