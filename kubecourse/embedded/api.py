"""The API server's semantics, independent of HTTP: what kube-apiserver's registry does.

`Api` is called by the HTTP layer (server.py) and, in-process, by the controllers, so
both go through one path: defaulting, validation, resourceVersion checks, generation,
status/spec separation, graceful deletion, garbage-collection hand-off and watch.
Failures raise `StatusError` carrying the exact Status body a real server would send.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import dataclasses
import random
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, ClassVar

from kubecourse.embedded import (
    admission,
    decoding,
    defaults,
    deletion,
    ephemeralcontainers,
    generation,
    listing,
    metrics,
    plugins,
    queryparams,
    services,
    ssa,
    status,
    storage,
    validation,
)
from kubecourse.embedded.listing import ListPage
from kubecourse.embedded.patch import (
    PatchError,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
)
from kubecourse.embedded.resources import REGISTRY, Registry, ResourceType
from kubecourse.embedded.selectors import (
    label_selector_from_spec,
    parse_field_selector,
    parse_label_selector,
    selector_spec_to_string,
)
from kubecourse.embedded.store import Change, Store

Obj = dict[str, Any]
# Module-level aliases: inside `Api`, whose method `list` shadows the builtin, a bare
# `list[...]` annotation would name that method.
Causes = list[dict[str, str]]
WatchEvent = tuple[str, Obj]
Backlog = list[WatchEvent]
Texts = list[str]

NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
# Kinds whose DELETE answers with the deleted object rather than a Status, as upstream
# (the official client's return types say which: V1Service, V1PersistentVolumeClaim, ...).
RETURNS_DELETED_OBJECT = {
    "Service", "ServiceAccount", "PersistentVolumeClaim", "PersistentVolume", "ResourceQuota", "PodTemplate",
}
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# NamespaceLifecycle admission's namespaces that may not be deleted (kube-node-lease may).
IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def random_suffix(n: int = 5) -> str:
    return "".join(random.choice(NAME_ALPHABET) for _ in range(n))


def check_apply_version(rt: ResourceType, intent: Obj) -> None:
    """The field manager's first check of an apply intent (400 upstream)."""
    if intent.get("apiVersion") != rt.api_version:
        raise status.bad_request(
            "Incorrect version specified in apply patch. Specified patch version: "
            f"{intent.get('apiVersion') or ''}, expected: {rt.api_version}"
        )


# Who writes when a request names no fieldManager: every in-process controller runs in an
# asyncio task of its own with the name its upstream component writes under
# (`kube-controller-manager`, `kubelet`, ...) set here; HTTP requests leave it unset.
ACTING_MANAGER: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "acting_manager", default=None
)


@dataclass
class WriteOptions:
    dry_run: bool = False
    field_manager: str | None = None
    field_validation: str = "Warn"  # Strict | Warn | Ignore, as the query parameter
    warnings: list[str] = dataclasses.field(default_factory=list)  # sent back as `Warning:` headers
    operation: str = "Update"  # "Apply" while server-side apply creates or updates
    default_manager: str | None = None  # the User-Agent's product, when no fieldManager is sent
    # Set while a PATCH is applied: its type and document, which decide how a decoding
    # error of the patched result is worded (decoding.py).
    patch_type: str | None = None
    patch: Any = None


class Api:
    def __init__(self, store: Store, registry: Registry = REGISTRY, max_pods_per_namespace: int = 500) -> None:
        self.store = store
        self.registry = registry
        self.max_pods_per_namespace = max_pods_per_namespace

    # -- reads -------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        return copy.deepcopy(self._existing(rt, namespace, name))

    def _existing(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        if plugins.is_computed(rt):
            obj = plugins.computed_get(rt, name)
        else:
            obj = self.store.get(rt.key, self._ns(rt, namespace), name)
        if obj is None:
            raise status.not_found(rt, name)
        return obj

    def list(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
        resource_version: str | None = None,
        resource_version_match: str | None = None,
    ) -> ListPage:
        """One page of matching objects (read-only) at the revision the options ask
        for (listing.py): the list's resourceVersion, a continue token, a count left."""
        labels = self._label_selector(label_selector)
        fields = self._field_selector(field_selector, rt)
        ns = self._ns(rt, namespace) if namespace else None
        countable = not label_selector and not field_selector
        if plugins.is_computed(rt):  # computed lists keep their own order, at no revision
            computed = [o for o in plugins.computed_list(rt) or [] if _selected(o, labels, fields)]
            point = listing.read_point(
                self.store, continue_token=continue_token, resource_version=None,
                match=None, limit=limit,
            )
            return listing.page(computed, point, limit, self.store.rv, countable)

        point = listing.read_point(
            self.store, continue_token=continue_token, resource_version=resource_version,
            match=resource_version_match, limit=limit,
        )
        revision = self.store.rv if point.revision is None else point.revision
        stored = self.store.items_at(rt.key, ns, revision)
        if stored is None:  # compacted since read_point looked: as etcd, expired
            raise status.expired(status.EXPIRED_LIST)
        if not countable:  # without selectors everything matches, as `pred.Empty()`
            stored = [o for o in stored if _selected(o, labels, fields)]
        keys, items = listing.in_key_order(stored)
        return listing.page(items, point, limit, revision, countable, keys)

    def _label_selector(self, text: str | None) -> Any:
        try:
            return parse_label_selector(text)
        except ValueError as err:
            raise status.bad_request(str(err)) from err

    def _field_selector(self, text: str | None, rt: ResourceType) -> Any:
        try:
            return parse_field_selector(text, rt.kind)
        except ValueError as err:
            raise status.bad_request(str(err)) from err

    def _ns(self, rt: ResourceType, namespace: str | None) -> str:
        return (namespace or "") if rt.namespaced else ""

    # -- create ------------------------------------------------------------------------

    def create(
        self,
        rt: ResourceType,
        namespace: str | None,
        body: Obj,
        options: WriteOptions | None = None,
    ) -> Obj:
        options = options or WriteOptions()
        decoded = self._decoded(rt, body, options)
        obj = self._prepare_new(rt, namespace, decoded)
        self._check_namespace(rt, obj["metadata"].get("namespace"), obj["metadata"].get("name") or "")
        self._admit_create(rt, obj)
        causes = self._validate(rt, obj)
        if causes:
            raise status.invalid(rt, obj["metadata"].get("name") or "", causes)
        plugins.validate_create(self.store, rt, obj)
        key_ns = obj["metadata"].get("namespace") or ""
        if self.store.get(rt.key, key_ns, obj["metadata"]["name"]) is not None:
            raise status.already_exists(rt, obj["metadata"]["name"])
        self._record_manager(rt, None, obj, options)
        if options.dry_run:
            obj["metadata"].pop("resourceVersion", None)
            return obj
        stored = copy.deepcopy(self.store.write(rt.key, obj))
        plugins.after_create(self, rt, stored)
        return stored

    def _prepare_new(self, rt: ResourceType, namespace: str | None, body: Obj) -> Obj:
        obj = copy.deepcopy(body)
        self._check_type(rt, obj)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise status.bad_request("metadata must be an object")
        self._apply_namespace(rt, meta, namespace)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = self._generate_name(rt, meta)
        for field in ("resourceVersion", "uid", "creationTimestamp", "deletionTimestamp"):
            meta.pop(field, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_iso()
        generation.on_create(rt, meta)
        obj["apiVersion"] = rt.api_version
        obj["kind"] = rt.kind
        defaulter = defaults.DEFAULTERS.get(rt.kind)
        if defaulter is not None:
            defaulter(obj)
        plugins.default_create(rt, obj)
        return obj

    def _decoded(self, rt: ResourceType, body: Any, options: WriteOptions) -> Obj:
        """A copy of the body as decoding into the kind's Go type leaves it."""
        if not isinstance(body, dict):
            raise status.bad_request("the request body must be a JSON or YAML object")
        obj = copy.deepcopy(body)
        self._check_fields(rt, obj, options)
        return obj

    def _check_fields(self, rt: ResourceType, obj: Obj, options: WriteOptions) -> None:
        """Typed decoding first: a field of the wrong type refuses the request, as the
        Go decoder does (decoding.py).  Then fieldValidation: unknown fields are an
        error (Strict), a warning (Warn) or nothing (Ignore); either way they are
        dropped, as decoding into types drops them."""
        unknown = decoding.check(rt, obj, options.patch_type, options.patch)
        if not unknown:
            return
        if options.field_validation == "Strict":
            raise decoding.strict_error(rt, unknown, options.patch_type, obj, options.patch)
        if options.field_validation != "Ignore":
            options.warnings += [f'unknown field "{path}"' for path in unknown]
        for path in unknown:
            _prune(obj, path)

    def _check_type(self, rt: ResourceType, obj: Any) -> None:
        if not isinstance(obj, dict):
            raise status.bad_request("the request body must be a JSON or YAML object")
        kind = obj.get("kind")
        api_version = obj.get("apiVersion")
        if kind and kind != rt.kind:
            raise status.bad_request(
                f"the server could not process a {kind} at the {rt.qualified} endpoint "
                f"(expected kind {rt.kind})"
            )
        if api_version and api_version != rt.api_version:
            raise status.bad_request(
                f"the API version in the data ({api_version}) does not match the expected "
                f"API version ({rt.api_version})"
            )

    def _apply_namespace(self, rt: ResourceType, meta: Obj, namespace: str | None) -> None:
        if not rt.namespaced:
            meta.pop("namespace", None)
            return
        given = meta.get("namespace")
        if namespace and given and given != namespace:
            raise status.bad_request(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        meta["namespace"] = namespace or given or "default"

    def _generate_name(self, rt: ResourceType, meta: Obj) -> str:
        base = str(meta["generateName"])[:58]
        ns = meta.get("namespace") or ""
        for _ in range(10):
            name = base + random_suffix()
            if self.store.get(rt.key, ns, name) is None:
                return name
        raise status.StatusError(500, "AlreadyExists", "could not generate a unique name")

    def _check_namespace(self, rt: ResourceType, namespace: str | None, name: str = "") -> None:
        if not rt.namespaced or namespace is None:
            return
        ns = self.store.get("namespaces", "", namespace)
        if ns is None:
            raise status.namespace_not_found(namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise status.namespace_terminating(rt, name, namespace)

    def _admit_create(self, rt: ResourceType, obj: Obj) -> None:
        plugins.mutate_create(self.store, rt, obj)
        if rt.kind == "Service":
            services.allocate_create(self.store, obj)
        if rt.kind == "Pod":
            meta = obj["metadata"]
            admission.check_service_account(self.store, obj, plugins.shown_name(meta))
            self._check_pod_quota(meta["namespace"], meta.get("name") or meta.get("generateName") or "")
            admission.mount_service_account_token(self.store, obj)
        if rt.kind == "PersistentVolumeClaim":
            storage.admit_claim(self.store, obj)
        if rt.kind == "Ingress":
            admission.default_ingress_class(self.store, obj)

    def _check_pod_quota(self, namespace: str, name: str) -> None:
        """A guard, not an object: every namespace holds at most `max_pods_per_namespace`
        Pods, so a slip of the slider or a `--replicas=100000` cannot drown a laptop.
        The extra Pods are refused with a 403 shaped like a quota refusal (requested /
        used / limited) that names the embedded cluster's limit rather than a
        ResourceQuota, since none exists (`kubectl describe ns` says "No resource
        quota.", as on kind); the ReplicaSet reports FailedCreate events.  Real
        ResourceQuotas (quota.py) are checked as well, after validation."""
        used = self.store.count("pods", namespace)
        if used >= self.max_pods_per_namespace:
            limit = self.max_pods_per_namespace
            raise status.forbidden(
                f'pods "{name}" is forbidden: exceeded the embedded cluster\'s limit of '
                f"{limit} pods per namespace, requested: pods=1, used: pods={used}, "
                f"limited: pods={limit}",
                {"name": name, "kind": "pods"},
            )

    def _validate(self, rt: ResourceType, obj: Obj) -> Causes:
        causes = validation.validate_metadata(rt, obj)
        causes += metrics.load_annotation_causes(obj["metadata"].get("annotations"))
        spec = obj.get("spec") or {}
        if rt.kind == "Pod":
            causes += validation.validate_pod_spec(spec, "spec")
        elif rt.kind in ("Deployment", "ReplicaSet", "StatefulSet"):
            causes += validation.validate_replicas(spec)
            selects = "statefulset" if rt.kind == "StatefulSet" else "deployment"
            causes += validation.validate_selector_matches_template(spec, _selector_matches, selects)
            claims = {str(c.get("metadata", {}).get("name")) for c in spec.get("volumeClaimTemplates") or [] if isinstance(c, dict)}
            causes += validation.validate_pod_spec(
                (spec.get("template") or {}).get("spec"), "spec.template.spec", claims
            )
        elif rt.kind == "Service":
            causes += validation.validate_service_spec(spec)
        elif rt.kind == "StorageClass":
            causes += storage.validate_storage_class(obj)
        return causes + plugins.kind_causes(rt, obj)

    def _record_manager(
        self,
        rt: ResourceType,
        old: Obj | None,
        obj: Obj,
        options: WriteOptions,
        subresource: str | None = None,
    ) -> None:
        manager = options.field_manager or options.default_manager or ACTING_MANAGER.get()
        if options.operation == "Apply" or not manager:
            return  # apply wrote managedFields itself
        entries = ssa.record_update(
            old, obj, manager=manager, subresource=subresource,
            group=rt.group, version=rt.version, kind=rt.kind, now=now_iso(),
        )
        if entries:
            obj["metadata"]["managedFields"] = entries
        else:
            obj["metadata"].pop("managedFields", None)

    # -- update ------------------------------------------------------------------------

    def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: Obj,
        options: WriteOptions | None = None,
        *,
        subresource: str | None = None,
    ) -> Obj:
        options = options or WriteOptions()
        old = self._existing(rt, namespace, name)
        new = self._decoded(rt, body, options)
        self._check_type(rt, new)
        meta = new.get("metadata")
        if not isinstance(meta, dict):
            raise status.bad_request("metadata must be an object")
        if meta.get("name") not in (None, name):
            raise status.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on "
                f"the URL ({name})"
            )
        self._apply_namespace(rt, meta, namespace or old["metadata"].get("namespace"))
        if options.patch_type is None:
            _check_uid_precondition(rt, old, meta)
        given_rv = meta.get("resourceVersion")
        if given_rv and given_rv != old["metadata"]["resourceVersion"]:
            raise status.conflict(rt, name)
        sent_uid = meta.get("uid")
        merged = self._merge_update(rt, old, new, subresource)
        if sent_uid:  # upstream keeps the stored UID only when none is sent
            merged["metadata"]["uid"] = sent_uid
        return self._commit_update(rt, old, merged, options, subresource)

    def _merge_update(
        self, rt: ResourceType, old: Obj, new: Obj, subresource: str | None
    ) -> Obj:
        if subresource == "ephemeralcontainers":
            return ephemeralcontainers.merge(old, new)
        if subresource == "status":
            merged = copy.deepcopy(old)
            merged["status"] = new.get("status", {})
            if rt.kind == "Deployment":
                # Its status strategy resets only spec and labels: the deployment
                # controller records the revision annotation with a status write,
                # which therefore does not bump the generation.
                _keep_annotations(merged, new)
            return merged
        meta = new["metadata"]
        for field in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "name"):
            if field in old["metadata"]:
                meta[field] = old["metadata"][field]
            else:
                meta.pop(field, None)
        new["apiVersion"], new["kind"] = rt.api_version, rt.kind
        if rt.has_status and rt.kind != "Namespace":
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        if rt.kind == "Namespace":
            new["status"] = copy.deepcopy(old.get("status", {}))
        redefault = defaults.UPDATE_DEFAULTERS.get(rt.kind)
        if redefault is not None:
            redefault(new)
        plugins.default_update(rt, new)
        if rt.kind == "Service":
            services.prepare_update(self.store, old, new)
        if rt.kind == "Pod":
            defaults.default_pod_spec(new.setdefault("spec", {}))
            ephemeralcontainers.keep(old, new)
        if rt.kind == "DaemonSet":
            defaults.bump_template_generation(old, new)
        generation.on_update(rt, old, new)
        return new

    def _commit_update(
        self,
        rt: ResourceType,
        old: Obj,
        new: Obj,
        options: WriteOptions,
        subresource: str | None = None,
    ) -> Obj:
        causes = validation.immutable(
            "metadata.uid", old["metadata"].get("uid"), new["metadata"].get("uid")
        ) + validation.no_new_finalizers(old["metadata"], new["metadata"])
        causes += self._validate(rt, new) + self._validate_update(rt, old, new)
        if causes:
            raise status.invalid(rt, old["metadata"]["name"], causes)
        plugins.validate_update(self.store, rt, old, new)
        self._record_manager(rt, old, new, options, subresource)
        if _same_content(old, new):
            return copy.deepcopy(old)  # a no-op write keeps its resourceVersion, as upstream
        if options.dry_run:
            return new
        if self._finalized(old, new):
            return self._delete_during_update(rt, old, new)
        stored = copy.deepcopy(self.store.write(rt.key, new))
        plugins.after_update(self, rt, old, stored)
        return stored

    def _delete_during_update(self, rt: ResourceType, old: Obj, new: Obj) -> Obj:
        """Upstream's `deleteWithoutFinalizers`: the object goes (watchers see it as last
        stored, finalizers and all), and the writer gets the object it wrote, at the
        revision it was written against, whatever the kind's DELETE answers: "clients
        are expecting an updated object if a PUT succeeded"."""
        self._remove(rt, old)
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        return new

    def _validate_update(self, rt: ResourceType, old: Obj, new: Obj) -> Causes:
        causes: Causes = []
        if rt.kind == "Pod":
            causes += ephemeralcontainers.validate(old, new)
            unchanged = ephemeralcontainers.with_old_ones(old, new)
            causes += validation.validate_pod_update(old, unchanged)
        if rt.kind in ("Deployment", "ReplicaSet"):  # a StatefulSet's: validation_update.py
            causes += validation.immutable(
                "spec.selector", old["spec"].get("selector"), new["spec"].get("selector")
            )
        if rt.kind == "StorageClass":
            causes += storage.validate_storage_class_update(old, new)
        if rt.kind == "Service" and _keeps_its_cluster_ip(old, new):
            causes += validation.immutable(
                "spec.clusterIPs[0]", old["spec"].get("clusterIP"), new["spec"].get("clusterIP")
            )
        return causes + plugins.kind_update_causes(rt, old, new)

    def _finalized(self, old: Obj, new: Obj) -> bool:
        """The write that removes the last finalizer of a deleting object deletes it, once
        its grace period is over (upstream's `shouldDeleteDuringUpdate`).  A Terminating
        Pod without finalizers waits for its kubelet (finalize_delete)."""
        meta = new["metadata"]
        had = bool(old["metadata"].get("finalizers"))
        grace_over = not meta.get("deletionGracePeriodSeconds")
        return had and bool(meta.get("deletionTimestamp")) and not meta.get("finalizers") and grace_over

    # -- patch -------------------------------------------------------------------------

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        patch_type: str,
        patch: Any,
        options: WriteOptions | None = None,
        *,
        subresource: str | None = None,
        force: bool = False,
    ) -> Obj:
        """All four patch types; server-side apply creates a missing object (201 upstream)."""
        options = dataclasses.replace(options or WriteOptions(), patch_type=patch_type, patch=patch)
        if patch_type == "apply":
            return self._apply(rt, namespace, name, patch, options, force)
        if subresource == "scale":
            scale = self._patched(self.get_scale(rt, namespace, name), patch_type, patch, _SCALE)
            return self.update_scale(rt, namespace, name, scale, options)
        old = self._existing(rt, namespace, name)
        new = self._patched(copy.deepcopy(old), patch_type, patch, rt)
        new_rv = (new.get("metadata") or {}).get("resourceVersion")
        if new_rv != old["metadata"]["resourceVersion"] and new_rv:
            raise status.conflict(rt, name)
        return self.update(rt, namespace, name, new, options, subresource=subresource)

    def _patched(self, doc: Obj, patch_type: str, patch: Any, rt: Any) -> Obj:
        try:
            if patch_type == "json":
                if not isinstance(patch, list):
                    raise status.bad_request("json patch must be a list of operations")
                return apply_json_patch(doc, patch)
            if not isinstance(patch, dict):
                raise status.bad_request(f"{patch_type} patch must be a JSON object")
            if patch_type == "merge":
                return apply_merge_patch(doc, patch)
            return apply_strategic_merge_patch(
                doc, patch, group=rt.group, version=rt.version, kind=rt.kind
            )
        except PatchError as err:
            raise status.StatusError(err.code, err.reason, err.message) from err

    def _apply(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        intent: Any,
        options: WriteOptions,
        force: bool,
    ) -> Obj:
        # Server-side apply: ownership per field manager (ssa.py), conflicts unless forced.
        if not options.field_manager:
            raise status.bad_request(
                "PATCH, application/apply-patch+yaml: fieldManager is required for apply requests"
            )
        if not isinstance(intent, dict):
            raise status.bad_request("apply patch must be a YAML or JSON object")
        check_apply_version(rt, intent)
        self._check_type(rt, intent)
        meta = intent.setdefault("metadata", {})
        if meta.get("name") not in (None, name):
            raise status.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on "
                f"the URL ({name})"
            )
        meta["name"] = name
        if rt.namespaced:
            meta.setdefault("namespace", namespace or "default")
        self._check_fields(rt, intent, options)  # drop or refuse unknown fields before ownership
        existing = self.store.get(rt.key, self._ns(rt, namespace), name)
        try:
            result = ssa.apply(
                existing, intent, manager=options.field_manager, force=force,
                group=rt.group, version=rt.version, kind=rt.kind, now=now_iso(),
            )
        except ssa.SSAError as err:
            raise status.StatusError(500, "InternalError", f"failed to create typed patch object: {err}") from err
        if result.obj is None:
            message, details = ssa.conflict_error(result.conflicts)
            raise status.StatusError(409, "Conflict", message, details)
        applying = dataclasses.replace(options, operation="Apply")
        if existing is None:
            return self.create(rt, namespace, result.obj, applying)
        return self.update(rt, namespace, name, result.obj, applying)

    # -- binding subresource -----------------------------------------------------------

    def bind(self, namespace: str, name: str, node: str) -> Obj:
        """What POST pods/{name}/binding does: set spec.nodeName (once) and the
        PodScheduled condition in one write."""
        pods = self.registry.get("pods")
        pod = self._existing(pods, namespace, name)
        if pod["spec"].get("nodeName"):
            raise status.StatusError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} is '
                f'already assigned to node "{pod["spec"]["nodeName"]}"',
                {"name": name, "kind": "pods/binding"},
            )
        if pod["metadata"].get("deletionTimestamp"):
            raise status.StatusError(409, "Conflict", f'pod "{name}" is being deleted, cannot be assigned to a host')
        bound = copy.deepcopy(pod)
        bound["spec"]["nodeName"] = node
        conditions = bound.setdefault("status", {}).setdefault("conditions", [])
        conditions[:] = [c for c in conditions if c.get("type") != "PodScheduled"]
        conditions.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now_iso()})
        return copy.deepcopy(self.store.write(pods.key, bound))

    # -- scale subresource -------------------------------------------------------------

    def get_scale(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        obj = self._existing(rt, namespace, name)
        meta = obj["metadata"]
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                "name": meta["name"],
                "namespace": meta.get("namespace"),
                "uid": meta["uid"],
                "resourceVersion": meta["resourceVersion"],
                "creationTimestamp": meta["creationTimestamp"],
            },
            "spec": {"replicas": obj["spec"].get("replicas", 1)},
            "status": {
                "replicas": (obj.get("status") or {}).get("replicas", 0),
                "selector": _scale_selector(rt, obj["spec"].get("selector")),
            },
        }

    def update_scale(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        scale: Obj,
        options: WriteOptions | None = None,
    ) -> Obj:
        old = self._existing(rt, namespace, name)
        options = options or WriteOptions()
        if not isinstance(scale, dict):
            raise status.bad_request("the request body must be a JSON or YAML object")
        decoding.check(decoding.SCALE, scale, options.patch_type, options.patch)
        _check_scale_uid(rt, old, scale, patched=options.patch_type is not None)
        given_rv = (scale.get("metadata") or {}).get("resourceVersion")
        if given_rv and given_rv != old["metadata"]["resourceVersion"]:
            raise status.conflict(rt, name)
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise status.invalid(
                rt,
                name,
                [validation.invalid_value("spec.replicas", replicas, "must be greater than or equal to 0")],
            )
        new = copy.deepcopy(old)
        new["spec"]["replicas"] = replicas
        generation.on_update(rt, old, new)
        self._commit_update(rt, old, new, options, "scale")
        return self.get_scale(rt, namespace, name)

    # -- delete ------------------------------------------------------------------------

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        *,
        grace_period_seconds: int | None = None,
        propagation_policy: str | None = None,
        preconditions: Obj | None = None,
        dry_run: bool = False,
        orphan_dependents: bool | None = None,
        warnings: Texts | None = None,
    ) -> Obj:
        """DELETE: the propagation policy becomes a finalizer (deletion.py) that the
        garbage collector honours; an object left with finalizers only gets its
        deletionTimestamp, and the answer is then the object itself."""
        deletion.check_options(propagation_policy, orphan_dependents)
        obj = self._existing(rt, namespace, name)
        if rt.kind == "Namespace" and name in IMMORTAL_NAMESPACES:
            raise status.forbidden(
                f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                {"name": name, "kind": "namespaces"},
            )
        self._check_preconditions(rt, obj, preconditions or {})
        plugins.check_delete(rt, obj)
        if dry_run:
            return deletion.dry_run_answer(
                rt, obj, grace_period_seconds, propagation_policy, orphan_dependents,
                now=now_iso(), returns_object=rt.kind in RETURNS_DELETED_OBJECT,
            )
        if warnings is not None:
            warnings += deletion.warnings_for(rt, propagation_policy, orphan_dependents)

        if rt.kind == "Namespace":
            return self._start_termination(rt, obj, phase="Terminating")
        if rt.kind == "Pod":
            return self._delete_pod(rt, obj, grace_period_seconds, propagation_policy, orphan_dependents)
        finalizers = deletion.finalizers_after_delete(rt, obj, propagation_policy, orphan_dependents)
        if finalizers:
            return self._mark_deleting(rt, obj, finalizers)

        final = self._remove(rt, obj)
        if rt.kind in RETURNS_DELETED_OBJECT:
            return final
        return self._success(rt, obj)

    def _mark_deleting(self, rt: ResourceType, obj: Obj, finalizers: Texts) -> Obj:
        new = copy.deepcopy(obj)
        deletion.mark_deleting(new, finalizers, now_iso())
        if new == obj:
            return copy.deepcopy(obj)  # already marked: no write, as upstream
        return copy.deepcopy(self.store.write(rt.key, new))

    def _check_preconditions(self, rt: ResourceType, obj: Obj, pre: Obj) -> None:
        """`rest.BeforeDelete`'s early check: a 409 naming the Kind (as upstream does)."""
        meta = obj["metadata"]
        if pre.get("uid") and pre["uid"] != meta["uid"]:
            detail = (
                f"the UID in the precondition ({pre['uid']}) does not match the UID in record "
                f"({meta['uid']}). The object might have been deleted and then recreated"
            )
            raise status.precondition_conflict(rt, meta["name"], detail)
        if pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]:
            detail = (
                f"the ResourceVersion in the precondition ({pre['resourceVersion']}) does not match "
                f"the ResourceVersion in record ({meta['resourceVersion']}). The object might have been modified"
            )
            raise status.precondition_conflict(rt, meta["name"], detail)

    def _delete_pod(
        self, rt: ResourceType, pod: Obj, grace: int | None, policy: str | None, orphan: bool | None
    ) -> Obj:
        """Graceful deletion: a deadline the kubelet honours; immediate when the pod
        never ran, has finished, or no grace is asked for (unless finalizers remain)."""
        meta = pod["metadata"]
        if meta.get("deletionTimestamp") and (grace is None or grace > 0):
            return copy.deepcopy(pod)  # already pending: neither grace nor policy change
        if grace is None:
            grace = int(pod["spec"].get("terminationGracePeriodSeconds", 30))
        scheduled = bool(pod["spec"].get("nodeName"))
        terminal = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
        finalizers = deletion.finalizers_after_delete(rt, pod, policy, orphan)
        immediate = grace <= 0 or not scheduled or terminal
        if immediate and not finalizers:
            return self._remove(rt, pod)
        if immediate:
            return self._mark_deleting(rt, pod, finalizers)

        new = copy.deepcopy(pod)
        deadline = datetime.fromtimestamp(time.time() + grace, timezone.utc)
        new["metadata"]["deletionTimestamp"] = deadline.strftime("%Y-%m-%dT%H:%M:%SZ")
        generation.on_deletion(new)
        new["metadata"]["deletionGracePeriodSeconds"] = grace
        deletion.set_finalizers(new, finalizers)
        return copy.deepcopy(self.store.write(rt.key, new))

    def _start_termination(self, rt: ResourceType, obj: Obj, phase: str | None = None) -> Obj:
        if obj["metadata"].get("deletionTimestamp"):
            return copy.deepcopy(obj)
        new = copy.deepcopy(obj)
        new["metadata"]["deletionTimestamp"] = now_iso()
        generation.on_deletion(new)
        new["metadata"]["deletionGracePeriodSeconds"] = 0
        if phase:
            new.setdefault("status", {})["phase"] = phase
        return copy.deepcopy(self.store.write(rt.key, new))

    def _remove(self, rt: ResourceType, obj: Obj) -> Obj:
        meta = obj["metadata"]
        final = self.store.remove(rt.key, meta.get("namespace") or "", meta["name"])
        plugins.after_remove(self, rt, final or obj)
        return copy.deepcopy(final or obj)

    def _success(self, rt: ResourceType, obj: Obj) -> Obj:
        details: Obj = {"name": obj["metadata"]["name"], "kind": rt.plural, "uid": obj["metadata"]["uid"]}
        if rt.group:
            details["group"] = rt.group
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}

    def finalize_delete(self, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
        """Remove an object now (the kubelet confirming a pod is gone; a drained
        namespace).  An object that still has finalizers only gets a zero grace period,
        as a forced DELETE would give it, and goes when its last finalizer does."""
        obj = self.store.get(rt.key, self._ns(rt, namespace), name)
        if obj is None:
            return None
        if obj["metadata"].get("finalizers") and rt.kind != "Namespace":
            return self._mark_deleting(rt, obj, list(obj["metadata"]["finalizers"]))
        return self._remove(rt, obj)

    # -- watch -------------------------------------------------------------------------

    def watch(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        send_initial_events: bool = False,
    ) -> WatchStream:
        """A stream of (type, object) events: synthetic ADDED for the current state when
        no resourceVersion (or "0") is given, otherwise every change after it; then live.
        Raises StatusError 410 when the resourceVersion is older than the history.

        A resourceVersion the store has not reached yet is waited for, as the watch
        cache does (events after it only), except by a WatchList (sendInitialEvents),
        which the watch cache refuses as too large after waiting (the HTTP layer waits)."""
        labels = self._label_selector(label_selector)
        fields = self._field_selector(field_selector, rt)
        ns = self._ns(rt, namespace) if namespace else None
        sub = self.store.subscribe(rt.key, ns)
        try:
            start_from = None if send_initial_events else resource_version
            if send_initial_events and listing.wanted_revision(resource_version) is not None:
                listing.check_not_too_large(self.store, int(str(resource_version)))
            last_rv, backlog = self._watch_start(rt, ns, start_from, labels, fields)
            if send_initial_events:
                backlog.append(("BOOKMARK", _initial_events_end(rt, last_rv)))
        except BaseException:
            self.store.unsubscribe(sub)
            raise
        return WatchStream(self.store, sub, last_rv, backlog, labels, fields)

    def _watch_start(
        self, rt: ResourceType, ns: str | None, rv: str | None, labels: Any, fields: Any
    ) -> tuple[int, Backlog]:
        if rv in (None, "", "0"):
            items = [
                ("ADDED", o)
                for o in self.store.items(rt.key, ns)
                if labels.matches(o["metadata"].get("labels")) and fields.matches(o)
            ]
            return self.store.rv, items
        since = queryparams.resource_version(rv) or 0
        if since < self.store.oldest_rv:
            raise status.StatusError(
                410, "Expired", f"too old resource version: {since} ({self.store.oldest_rv})"
            )
        backlog: Backlog = []
        for change in self.store.changes_since(since):
            if change.resource != rt.key:
                continue
            if ns is not None and (change.obj["metadata"].get("namespace") or "") != ns:
                continue
            event = _filter_change(change, labels, fields)
            if event is not None:
                backlog.append(event)
        return max(since, self.store.rv), backlog

    # -- helpers for controllers -------------------------------------------------------

    def ensure_namespace(self, name: str) -> None:
        if self.store.get("namespaces", "", name) is None:
            self.create(self.registry.get("namespaces"), None, {"metadata": {"name": name}})


class _ScaleType:
    group, version, kind = "autoscaling", "v1", "Scale"


_SCALE = _ScaleType()


class WatchStream:
    """One watcher's events.  `next()` waits at most `timeout` seconds and returns None
    when nothing happened; CLOSED when the cluster is shutting down."""

    CLOSED: ClassVar[WatchEvent] = ("CLOSED", {})

    def __init__(
        self,
        store: Store,
        sub: Any,
        last_rv: int,
        backlog: list[tuple[str, Obj]],
        labels: Any,
        fields: Any,
    ) -> None:
        self._store = store
        self._sub = sub
        self._last_rv = last_rv
        self._backlog = deque(backlog)
        self._labels = labels
        self._fields = fields

    async def next(self, timeout: float) -> tuple[str, Obj] | None:
        if self._backlog:
            return self._backlog.popleft()
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                change = await asyncio.wait_for(self._sub.queue.get(), remaining)
            except asyncio.TimeoutError:
                return None
            if change is None:
                return self.CLOSED
            if change.rv <= self._last_rv:
                continue
            self._last_rv = change.rv
            event = _filter_change(change, self._labels, self._fields)
            if event is not None:
                return event

    def close(self) -> None:
        self._store.unsubscribe(self._sub)


def _check_uid_precondition(rt: ResourceType, old: Obj, meta: Obj) -> None:
    """A PUT body's `metadata.uid` is a precondition (`rest.DefaultUpdatedObjectInfo`'s
    Preconditions), checked against the stored object before anything else: a client
    holding an object that was deleted and re-created under the same name gets a 409
    instead of overwriting the new one.  A patch carries no precondition; a UID it
    changes fails validation instead (`metadata.uid: field is immutable`)."""
    given = meta.get("uid")
    if given and given != old["metadata"]["uid"]:
        raise status.uid_precondition_failed(
            rt, old["metadata"]["name"], str(given), old["metadata"]["uid"]
        )


def _check_scale_uid(rt: ResourceType, old: Obj, scale: Obj, patched: bool) -> None:
    """A Scale's UID must be its object's: a PUT fails the storage precondition
    (naming the resource), a patch fails the scale registry's own check (naming
    `<resource>/scale`), both with the same words."""
    given = (scale.get("metadata") or {}).get("uid")
    if given and given != old["metadata"]["uid"]:
        raise status.uid_precondition_failed(
            rt,
            old["metadata"]["name"],
            str(given),
            old["metadata"]["uid"],
            resource=f"{rt.plural}/scale" if patched else None,
        )


def _initial_events_end(rt: ResourceType, rv: int) -> Obj:
    """The bookmark that ends the initial events of a WatchList (sendInitialEvents)."""
    return {
        "kind": rt.kind,
        "apiVersion": rt.api_version,
        "metadata": {
            "resourceVersion": str(rv),
            "annotations": {"k8s.io/initial-events-end": "true"},
        },
    }


def _scale_selector(rt: ResourceType, selector: Any) -> str:
    """A ReplicationController's selector is a plain label map."""
    if rt.kind == "ReplicationController":
        return selector_spec_to_string({"matchLabels": selector or {}})
    return selector_spec_to_string(selector)


def _selector_matches(selector: Obj, labels: dict[str, str]) -> bool:
    try:
        return bool(label_selector_from_spec(selector).matches(labels))
    except ValueError:
        return False


def _selected(obj: Obj, labels: Any, fields: Any) -> bool:
    return bool(labels.matches(obj["metadata"].get("labels")) and fields.matches(obj))


def _filter_change(change: Change, labels: Any, fields: Any) -> tuple[str, Obj] | None:
    def matches(obj: Obj | None) -> bool:
        return obj is not None and labels.matches(obj["metadata"].get("labels")) and fields.matches(obj)

    now_matches = matches(change.obj)
    if change.type == "DELETED":
        return ("DELETED", change.obj) if matches(change.old) or now_matches else None
    was_matching = matches(change.old) if change.old is not None else False
    if now_matches and not was_matching:
        return ("ADDED", change.obj)
    if now_matches:
        return ("MODIFIED", change.obj)
    if was_matching:
        return ("DELETED", change.obj)
    return None


def _prune(obj: Obj, path: str) -> None:
    """Delete the field at a dotted path like `spec.containers[0].imagee`."""
    steps: list[str | int] = []
    for part in path.split("."):
        name, _, rest = part.partition("[")
        if name:
            steps.append(name)
        for index in rest.split("[") if rest else []:
            steps.append(int(index.rstrip("]")))
    node: Any = obj
    for step in steps[:-1]:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(node, dict):
        node.pop(steps[-1], None)


def _keep_annotations(merged: Obj, sent: Obj) -> None:
    annotations = (sent.get("metadata") or {}).get("annotations")
    if annotations:
        merged["metadata"]["annotations"] = copy.deepcopy(annotations)
    else:
        merged["metadata"].pop("annotations", None)


def _keeps_its_cluster_ip(old: Obj, new: Obj) -> bool:
    """A Service's address is immutable, unless it is headless or the Service is
    changed from or to ExternalName (upstream's validateUpgradeDowngradeClusterIPs)."""
    types = {old["spec"].get("type"), (new.get("spec") or {}).get("type")}
    return old["spec"].get("clusterIP") != "None" and "ExternalName" not in types


def _same_content(old: Obj, new: Obj) -> bool:
    def strip(obj: Obj) -> Obj:
        meta = {k: v for k, v in obj["metadata"].items() if k not in ("resourceVersion", "managedFields")}
        return {**obj, "metadata": meta}

    return strip(old) == strip(new) and ssa.same_ownership(old, new)
