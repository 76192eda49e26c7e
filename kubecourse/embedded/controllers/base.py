"""Reconcile loops, as kube-controller-manager runs them, in the API server's event loop.

A controller names the resources it watches and maps each change to the keys it must
reconcile; a de-duplicating work queue feeds `reconcile(key)`, which reads the current
state from the store and writes desired state through `Api` (the same code path as an
HTTP client).  `reconcile` may ask to be called again later (timed transitions such as
a container starting).  A reconcile that fails is retried as upstream's work queue
retries a key whose sync returned an error (`AddRateLimited`): after the larger of a
per-key delay of 5 ms doubling on every consecutive failure up to 1000 s, and the
whole queue's token bucket (10 per second, burst 100) -- `DefaultControllerRateLimiter`.
A success forgets the key's failures.  A `StatusError` (the API refused a write: an
exceeded quota, a missing ServiceAccount) is the ordinary case and logged at DEBUG, as
the controller has already reported it with an event; anything else is a bug, logged
with its traceback.  Neither is ever fatal to the cluster.
"""

from __future__ import annotations

import abc
import asyncio
import copy
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from kubecourse.embedded.api import ACTING_MANAGER, Api, now_iso
from kubecourse.embedded.controllers.correlator import COMBINED_PREFIX, EventCorrelator
from kubecourse.embedded.metrics import ResourceMetrics
from kubecourse.embedded.resources import REGISTRY, ResourceType
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.store import Change, Store

if TYPE_CHECKING:
    from kubecourse.embedded.shell.programs import Sandbox

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name)


@dataclass
class Timings:
    """Every delay of the simulation, in seconds.  Defaults are a real cluster's, but for
    image pulls and container start, which are quick here (a lesson may slow them)."""

    schedule_delay: float = 0.05
    container_create_delay: float = 0.4
    container_start_delay: float = 0.3
    pod_termination_delay: float = 0.5
    node_lease_renew: float = 10.0  # kubelet: Lease renewal (renewInterval, a quarter of the 40 s lease)
    node_status_update: float = 300.0  # kubelet: unchanged node status re-posted (nodeStatusReportFrequency)
    node_monitor_grace_period: float = 40.0  # node lifecycle controller: lease age before NotReady
    # metrics-server's --metric-resolution and the HPA controller's kube-controller-manager flags
    metrics_resolution: float = 15.0  # one scrape of every kubelet per resolution
    hpa_sync_period: float = 15.0  # --horizontal-pod-autoscaler-sync-period
    hpa_downscale_stabilization: float = 300.0  # --horizontal-pod-autoscaler-downscale-stabilization
    hpa_cpu_initialization_period: float = 300.0  # --horizontal-pod-autoscaler-cpu-initialization-period
    hpa_initial_readiness_delay: float = 30.0  # --horizontal-pod-autoscaler-initial-readiness-delay
    bookmark_interval: float = 30.0
    job_backoff: float = 10.0  # job controller: delay before re-creating after the first failure, doubling
    job_backoff_max: float = 600.0  # ... up to MaxJobPodFailureBackOff (10 min; older docs say 6 min)
    container_restart_backoff: float = 10.0  # kubelet: CrashLoopBackOff after the first restart, doubling
    container_restart_backoff_max: float = 300.0  # ... up to the kubelet's 5 min
    config_retry: float = 10.0  # kubelet: retry a container whose ConfigMap/Secret is missing
    image_pull_backoff: float = 10.0  # kubelet: back-off after a failed image pull, doubling
    image_pull_backoff_max: float = 300.0  # ... up to the kubelet's 5 min (ImagePullBackOff)
    daemon_failed_backoff: float = 1.0  # daemonset controller: failed-pod replacement, doubling to 15 min
    # kube-apiserver's bootstrap controller: the `kubernetes` Service and its endpoints
    # (EndpointInterval), and the system namespaces (SystemNamespacesInterval)
    apiserver_endpoint_interval: float = 10.0
    system_namespaces_interval: float = 60.0
    # client-go's DefaultControllerRateLimiter: a failed sync is retried after 5 ms, doubling
    # per consecutive failure up to 1000 s (and at most 10 retries a second, burst 100)
    workqueue_base_delay: float = 0.005
    workqueue_max_delay: float = 1000.0
    podgc_period: float = 20.0  # pod GC: gcCheckPeriod
    podgc_quarantine: float = 40.0  # pod GC: how long a Node is missing before its Pods go
    pv_sync_period: float = 15.0  # --pvclaimbinder-sync-period: a waiting claim is looked at again
    # The simulated network (kubecourse.embedded.network): how long a dropped connection
    # takes to fail.
    tcp_connect_timeout: float = 127.0  # Linux gives up after its 6 SYN retries
    proxy_dial_timeout: float = 30.0  # kube-apiserver's and Traefik's dialers


class Clock:
    """The controllers' wall clock (upstream's injectable `clock.Clock`).

    CronJob schedules, Job deadlines and back-off, and TTL-after-finished read
    `now()`.  `advance(seconds)` moves it forward without waiting and wakes the
    controllers that read it (call it in the cluster's loop:
    `cluster.call(lambda: cluster.ctx.clock.advance(60))`).  Timestamps the API
    server writes (creationTimestamp, events) stay real time.
    """

    def __init__(self) -> None:
        self.offset = 0.0
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> float:
        return time.time() + self.offset

    def iso(self, moment: float | None = None) -> str:
        value = datetime.fromtimestamp(self.now() if moment is None else moment, timezone.utc)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")

    def on_advance(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def advance(self, seconds: float) -> None:
        self.offset += seconds
        for listener in list(self._listeners):
            listener()


@dataclass
class Context:
    api: Api
    store: Store
    timings: Timings = field(default_factory=Timings)
    clock: Clock = field(default_factory=Clock)
    logbook: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    # Each container's previous run's log, as the kubelet keeps one (`logs --previous`).
    previous_logs: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    metrics: ResourceMetrics = field(default_factory=ResourceMetrics)  # metrics-server's last scrape
    # Each running container's environment, as the kubelet set it at start (for exec).
    environ: dict[tuple[str, str, str], list[tuple[str, str]]] = field(default_factory=dict)
    # Containers whose process ended from outside the kubelet's own timeline (an attached
    # shell left with `exit`): (when, exit code), and who wants to know (the kubelet).
    exits: dict[tuple[str, str, str], tuple[float, int]] = field(default_factory=dict)
    exit_listeners: list[Callable[[Key], None]] = field(default_factory=list)
    # What a container sees (pod, container -> shell Sandbox), set by the stream server
    # that owns the simulated network; the kubelet runs containers' commands in it.
    sandboxes: Callable[[Obj, Obj], Sandbox] | None = None
    # False: started without kind's system workloads (ClusterOptions.system_workloads),
    # so the volume provisioner runs without its local-path-provisioner pod.
    system_workloads: bool = True
    _event_names: dict[tuple[str, str, str, str, str], str] = field(default_factory=dict)
    events: EventCorrelator = field(default_factory=EventCorrelator)

    def _expire_events(self, namespace: str) -> None:
        if self.store.count("events") % 100 == 0:  # cheap enough: once per hundred events
            _expire_events_impl(self, namespace)

    def rt(self, key: str) -> ResourceType:
        return REGISTRY.get(key)

    def container_exited(self, namespace: str, pod: str, container: str, code: int) -> None:
        """A container's process ended with `code` (its kubelet then reports it)."""
        self.exits[(namespace, pod, container)] = (time.time(), code)
        for listener in self.exit_listeners:
            listener((namespace, pod))

    def record_event(
        self,
        obj: Obj,
        reason: str,
        message: str,
        *,
        component: str,
        host: str | None = None,
        type: str = "Normal",
        field_path: str | None = None,
        action: str | None = None,
    ) -> None:
        """An Event about `obj` (or its part `field_path`, `spec.containers{web}`);
        repeats of the same reason and message bump `count`, and similar ones are
        combined or dropped as client-go's recorder does (see `correlator`).  With
        `action` it is written as an `events.k8s.io/v1` recorder writes it (the
        scheduler's)."""
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        if action is None:
            source = (component, host or "", namespace, str(meta.get("uid")))
            similar = (*source, type, reason, field_path or "")
            message = self.events.aggregate(similar, message) or message
            if not self.events.allow(source):
                return
        key = (namespace, str(meta.get("uid")), reason, _local_key(message), field_path or "")
        name = self._event_names.get(key)
        existing = self.store.get("events", namespace, name) if name else None
        if existing is not None:
            self.store.write("events", _repeated(existing, message))
            return
        self._expire_events(namespace)
        event = _new_event(obj, reason, message, component, host, type, field_path)
        if action is not None:
            _as_events_api(event, action, host)
        try:
            self.api.create(self.rt("events"), namespace, event)
            self._event_names[key] = event["metadata"]["name"]
        except StatusError as err:  # the namespace may be going away; an event is not worth failing for
            log.debug("event %s for %s dropped: %s", reason, meta["name"], err.message)


def _new_event(
    obj: Obj,
    reason: str,
    message: str,
    component: str,
    host: str | None,
    type_: str,
    field_path: str | None,
) -> Obj:
    """A core v1 Event as the legacy recorders (kubelet, controllers) write it."""
    meta = obj["metadata"]
    involved: Obj = {
        "kind": obj.get("kind"),
        "namespace": meta.get("namespace"),
        "name": meta["name"],
        "uid": meta.get("uid"),
        "apiVersion": obj.get("apiVersion"),
        "resourceVersion": meta.get("resourceVersion"),
    }
    if field_path:
        involved["fieldPath"] = field_path
    source: Obj = {"component": component}
    if host:
        source["host"] = host
    return {
        "metadata": {
            "name": _event_name(meta["name"]),
            "namespace": meta.get("namespace") or "default",
        },
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "source": source,
        "firstTimestamp": now_iso(),
        "lastTimestamp": now_iso(),
        "count": 1,
        "type": type_,
        "eventTime": None,
        "reportingComponent": component,
        "reportingInstance": host or "",
    }


def _as_events_api(event: Obj, action: str, host: str | None) -> None:
    """The shape an events.k8s.io/v1 recorder gives an Event, read as core v1: a
    MicroTime `eventTime`, an `action`, the reporting controller and instance
    (`<controller>-<hostname>`), and no legacy source, timestamps or count."""
    component = event["reportingComponent"]
    event.update(
        {
            "eventTime": micro_now(),
            "action": action,
            "reportingInstance": f"{component}-{host}" if host else component,
            "source": {},
            "firstTimestamp": None,
            "lastTimestamp": None,
        }
    )
    event.pop("count", None)


def _local_key(message: str) -> str:
    """Combined events are one Event whatever their latest message."""
    return COMBINED_PREFIX if message.startswith(COMBINED_PREFIX) else message


def _repeated(existing: Obj, message: str) -> Obj:
    """The same Event once more: `count` and `lastTimestamp`, or its `series` (and the
    latest message, which differs for combined events)."""
    updated = copy.deepcopy(existing)
    updated["message"] = message
    if updated.get("action") is not None and not updated.get("firstTimestamp"):
        series = updated.get("series") or {"count": 1}
        updated["series"] = {
            "count": int(series.get("count", 1)) + 1,
            "lastObservedTime": micro_now(),
        }
        return updated
    updated["count"] = int(updated.get("count", 1)) + 1
    updated["lastTimestamp"] = now_iso()
    return updated


def micro_now() -> str:
    """Now as a MicroTime: `2025-01-01T12:00:00.123456Z`."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_last_event_ns = 0


def _event_name(involved: str) -> str:
    """`<object>.<hex nanoseconds>`, as upstream: names sort in the order events happened."""
    global _last_event_ns
    _last_event_ns = max(time.time_ns(), _last_event_ns + 1)
    return f"{involved}.{_last_event_ns:x}"


EVENT_TTL = 3600.0  # kube-apiserver's --event-ttl default
EVENTS_PER_NAMESPACE = 2000


def _expire_events_impl(ctx: Context, namespace: str) -> None:
    """Drop events older than an hour, and the oldest beyond a cap, as etcd's TTL would."""
    events = sorted(ctx.store.items("events", namespace), key=lambda e: int(e["metadata"]["resourceVersion"]))
    cutoff = time.time() - EVENT_TTL
    excess = len(events) - EVENTS_PER_NAMESPACE
    for i, event in enumerate(events):
        stamp = parse_time(event.get("lastTimestamp"))
        if i < excess or (stamp is not None and stamp.timestamp() < cutoff):
            ctx.store.remove("events", namespace, event["metadata"]["name"])
        elif stamp is not None:
            break


class RateLimiter:
    """client-go's `DefaultControllerRateLimiter`: the larger of an exponential per-item
    failure delay and an overall token bucket shared by the queue's keys."""

    QPS = 10.0
    BURST = 100.0

    def __init__(
        self,
        base_delay: float,
        max_delay: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._clock = clock
        self._failures: dict[Key, int] = {}
        self._tokens = self.BURST
        self._last = clock()

    def when(self, key: Key) -> float:
        """The delay before retrying `key`, counting this failure."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        item = min(self.base_delay * 2.0**failures, self.max_delay)
        return max(item, self._bucket_delay())

    def forget(self, key: Key) -> None:
        self._failures.pop(key, None)

    def requeues(self, key: Key) -> int:
        """How many times `key` failed in a row (upstream `NumRequeues`)."""
        return self._failures.get(key, 0)

    def _bucket_delay(self) -> float:
        now = self._clock()
        self._tokens = min(self.BURST, self._tokens + (now - self._last) * self.QPS)
        self._last = now
        self._tokens -= 1.0
        return max(-self._tokens / self.QPS, 0.0)


# The field manager each controller's writes are recorded under in managedFields (operation
# Update), as the upstream component that runs it: kube-controller-manager unless named here.
FIELD_MANAGERS = {
    "kubelet": "kubelet",
    "kubelet-static-pods": "kubelet",
    "scheduler": "kube-scheduler",
    "bootstrap": "kube-apiserver",
    "local-path-provisioner": "local-path-provisioner",
    "metrics-server": "metrics-server",
}


class Controller(abc.ABC):
    """Subclasses set `name` and `watches`, and implement `keys_for` and `reconcile`."""

    name = "controller"
    watches: tuple[str, ...] = ()

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.api = ctx.api
        self.store = ctx.store
        self._queue: asyncio.Queue[Key] = asyncio.Queue()
        self._queued: set[Key] = set()
        self.rate_limiter = RateLimiter(
            ctx.timings.workqueue_base_delay, ctx.timings.workqueue_max_delay
        )
        self._task: asyncio.Task[None] | None = None
        self._timers: set[asyncio.TimerHandle] = set()

    # -- what to reconcile ----------------------------------------------------------------

    def keys_for(self, change: Change) -> Iterable[Key]:
        """Keys to reconcile after a change to one of `watches` (default: the object)."""
        meta = change.obj["metadata"]
        return [(meta.get("namespace") or "", meta["name"])]

    def initial_keys(self) -> Iterable[Key]:
        for resource in self.watches:
            for obj in list(self.store.items(resource)):
                yield from self.keys_for(Change(0, resource, "ADDED", obj))

    def resync(self) -> None:
        """Reconcile every key again (upstream's periodic resync; after the clock moved)."""
        if self._task is None:
            return
        for key in list(self.initial_keys()):
            self.enqueue(key)

    @abc.abstractmethod
    async def reconcile(self, key: Key) -> float | None:
        """Bring `key` towards its desired state; return seconds to wait before the next
        reconcile of the same key, or None."""

    # -- machinery -------------------------------------------------------------------------

    def on_change(self, change: Change) -> None:
        if change.resource in self.watches:
            for key in self.keys_for(change):
                self.enqueue(key)

    def enqueue(self, key: Key) -> None:
        if key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    def enqueue_after(self, key: Key, delay: float) -> None:
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle

        def fire() -> None:
            self._timers.discard(handle)
            self.enqueue(key)

        handle = loop.call_later(max(delay, 0.0), fire)
        self._timers.add(handle)

    def start(self) -> None:
        for key in self.initial_keys():
            self.enqueue(key)
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        for handle in self._timers:
            handle.cancel()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        ACTING_MANAGER.set(FIELD_MANAGERS.get(self.name, "kube-controller-manager"))
        while True:
            key = await self._queue.get()
            self._queued.discard(key)
            try:
                again = await self.reconcile(key)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self._requeue(key, err)
                continue
            self.rate_limiter.forget(key)
            if again is not None:
                self.enqueue_after(key, again)

    def _requeue(self, key: Key, err: Exception) -> None:
        """Upstream `handleErr`: log the failed sync and retry the key with back-off."""
        delay = self.rate_limiter.when(key)
        attempt = self.rate_limiter.requeues(key)
        if isinstance(err, StatusError):
            log.debug("%s: error syncing %s (attempt %d): %s", self.name, key, attempt, err.message)
        else:
            log.error("%s: reconcile of %s failed (attempt %d)", self.name, key, attempt, exc_info=err)
        self.enqueue_after(key, delay)


def owner_reference(owner: Obj) -> Obj:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller_of(obj: Obj) -> Obj | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def set_condition(conditions: list[Obj], type_: str, status_: str, reason: str | None = None, message: str | None = None) -> bool:
    """Set a condition in place; returns True when anything changed.  The transition
    time moves only when the status does, as upstream."""
    for condition in conditions:
        if condition["type"] == type_:
            changed = condition.get("status") != status_
            if changed:
                condition["lastTransitionTime"] = now_iso()
            condition["status"] = status_
            for k, v in (("reason", reason), ("message", message)):
                if v is None:
                    changed |= condition.pop(k, None) is not None
                elif condition.get(k) != v:
                    condition[k] = v
                    changed = True
            return changed
    entry: Obj = {"type": type_, "status": status_, "lastProbeTime": None, "lastTransitionTime": now_iso()}
    if reason is not None:
        entry["reason"] = reason
    if message is not None:
        entry["message"] = message
    conditions.append(entry)
    return True
