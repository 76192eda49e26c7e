"""Server-side apply tracks field ownership and merges as a real API server does."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubecourse.embedded import ssa

Obj = dict[str, Any]
DEPLOY = {"group": "apps", "version": "v1", "kind": "Deployment"}
T0, T1, T2, T3 = (f"2025-01-01T00:00:0{i}Z" for i in range(4))


def deployment(replicas: int | None = 2, **container: Any) -> Obj:
    spec: Obj = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {
                        "name": "app",
                        "image": "nginx:1.27",
                        "ports": [{"containerPort": 80}],
                        **container,
                    }
                ]
            },
        },
    }
    if replicas is not None:
        spec = {"replicas": replicas, **spec}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": spec,
    }


def apply(live: Obj | None, intent: Obj, manager: str = "kubectl", **kw: Any) -> Any:
    options = {"force": False, "now": T1, **kw}
    return ssa.apply(live, intent, manager=manager, **DEPLOY, **options)


def applied(live: Obj | None, intent: Obj, manager: str = "kubectl", **kw: Any) -> Obj:
    result = apply(live, intent, manager, **kw)
    assert result.obj is not None, result.conflicts
    return stored(result.obj)


def stored(obj: Obj) -> Obj:
    """What the server adds to what it stores: identity and a defaulted field."""
    out = copy.deepcopy(obj)
    out["metadata"].update(uid="u-1", resourceVersion="7", creationTimestamp=T0)
    out["spec"].setdefault("strategy", {"type": "RollingUpdate"})
    out.setdefault("status", {"replicas": 0})
    return out


def updated(old: Obj | None, new: Obj, manager: str, sub: str | None = None) -> Obj:
    out = copy.deepcopy(new)
    out["metadata"]["managedFields"] = ssa.record_update(
        old, out, manager=manager, subresource=sub, now=T2, **DEPLOY
    )
    return out


def entry(obj: Obj, manager: str, operation: str | None = None) -> Obj:
    entries = obj["metadata"].get("managedFields") or []
    found = [
        e
        for e in entries
        if e["manager"] == manager and operation in (None, e["operation"])
    ]
    assert len(found) == 1, entries
    return found[0]


def owned(obj: Obj, manager: str, operation: str | None = None) -> set[str]:
    fields = ssa.from_fields_v1(entry(obj, manager, operation)["fieldsV1"])
    return {ssa.path_string(path) for path in fields}


def managers(obj: Obj) -> list[str]:
    return [e["manager"] for e in obj["metadata"].get("managedFields") or []]


def container(obj: Obj) -> Obj:
    containers: list[Obj] = obj["spec"]["template"]["spec"]["containers"]
    return containers[0]


# ---------------------------------------------------------------- field sets


def test_an_applied_deployment_owns_its_leaves_items_and_keys_but_not_metadata_name() -> (
    None
):
    fields = ssa.fields_of(deployment(), **DEPLOY)
    names = {ssa.path_string(p) for p in fields}
    assert names == {
        ".metadata.labels.app",
        ".spec.replicas",
        ".spec.selector",
        ".spec.template.metadata.labels.app",
        '.spec.template.spec.containers[name="app"]',
        '.spec.template.spec.containers[name="app"].name',
        '.spec.template.spec.containers[name="app"].image',
        '.spec.template.spec.containers[name="app"].ports[containerPort=80,protocol="TCP"]',
        '.spec.template.spec.containers[name="app"].ports[containerPort=80,protocol="TCP"].containerPort',
    }


def test_fields_v1_has_the_upstream_shape_with_dot_for_items_that_have_children() -> (
    None
):
    doc = ssa.to_fields_v1(ssa.fields_of(deployment(), **DEPLOY))
    containers = doc["f:spec"]["f:template"]["f:spec"]["f:containers"]
    item = containers['k:{"name":"app"}']
    assert list(item) == [".", "f:image", "f:name", "f:ports"]
    assert item["f:ports"] == {
        'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}
    }
    assert doc["f:spec"]["f:selector"] == {}
    assert list(doc["f:spec"]) == ["f:replicas", "f:selector", "f:template"]
    assert "f:name" not in doc["f:metadata"]


def test_fields_v1_round_trips_and_canonicalises_key_elements() -> None:
    fields = ssa.fields_of(deployment(), **DEPLOY)
    assert ssa.from_fields_v1(ssa.to_fields_v1(fields)) == fields
    loose = {"f:spec": {"f:ports": {'k:{"protocol": "TCP", "port": 80}': {}}}}
    parsed = ssa.from_fields_v1(loose)
    assert parsed == {("f:spec", "f:ports", 'k:{"port":80,"protocol":"TCP"}')}


def test_set_lists_own_each_value_and_atomic_lists_are_one_leaf() -> None:
    obj = deployment(command=["sh", "-c"], args=["run"])
    obj["metadata"]["finalizers"] = ["example.com/keep"]
    names = {ssa.path_string(p) for p in ssa.fields_of(obj, **DEPLOY)}
    assert '.metadata.finalizers[="example.com/keep"]' in names
    app = '.spec.template.spec.containers[name="app"]'
    assert {app + ".command", app + ".args"} <= names
    assert not any(n.startswith(app + ".command[") for n in names)


def test_status_is_never_owned_on_the_main_resource_but_is_on_the_status_subresource() -> (
    None
):
    obj = {**deployment(), "status": {"replicas": 3}}
    assert not any(p[0] == "f:status" for p in ssa.fields_of(obj, **DEPLOY))
    status_fields = ssa.fields_of(obj, **DEPLOY, subresource="status")
    assert status_fields == {("f:status", "f:replicas")}


def test_a_map_list_item_without_its_keys_cannot_be_applied() -> None:
    intent = deployment()
    container(intent).pop("name")
    with pytest.raises(ssa.SSAError, match="omits all key fields"):
        apply(None, intent)


# ---------------------------------------------------------------- apply


def test_apply_creates_with_one_apply_entry_for_the_manager() -> None:
    result = apply(None, deployment())
    assert result.conflicts == []
    assert result.obj is not None
    (only,) = result.obj["metadata"]["managedFields"]
    assert list(only) == [
        "manager",
        "operation",
        "apiVersion",
        "time",
        "fieldsType",
        "fieldsV1",
    ]
    assert (only["manager"], only["operation"], only["apiVersion"]) == (
        "kubectl",
        "Apply",
        "apps/v1",
    )
    assert only["time"] == T1


def test_reapplying_changes_values_and_keeps_unowned_live_fields() -> None:
    live = applied(None, deployment())
    again = applied(live, deployment(replicas=4, image="nginx:1.28"), now=T2)
    assert again["spec"]["replicas"] == 4
    assert container(again)["image"] == "nginx:1.28"
    assert again["spec"]["strategy"] == {"type": "RollingUpdate"}
    assert again["status"] == {"replicas": 0}
    assert again["metadata"]["uid"] == "u-1"
    assert entry(again, "kubectl")["time"] == T2


def test_a_field_dropped_from_the_manifest_is_removed() -> None:
    live = applied(None, deployment(env=[{"name": "A", "value": "1"}]))
    again = applied(live, deployment(replicas=None))
    assert "replicas" not in again["spec"]
    assert "env" not in container(again)
    assert ".spec.replicas" not in owned(again, "kubectl")


def test_a_dropped_field_that_another_manager_also_owns_stays() -> None:
    live = applied(None, deployment(replicas=3))
    shared = applied(live, deployment(replicas=3), manager="ci")
    assert ".spec.replicas" in owned(shared, "kubectl")
    assert ".spec.replicas" in owned(shared, "ci")
    again = applied(shared, deployment(replicas=None))
    assert again["spec"]["replicas"] == 3
    assert ".spec.replicas" not in owned(again, "kubectl")
    assert ".spec.replicas" in owned(again, "ci")


def test_a_dropped_container_goes_whole_with_its_defaulted_fields() -> None:
    two = deployment()
    two["spec"]["template"]["spec"]["containers"].append(
        {"name": "side", "image": "busybox"}
    )
    live = applied(None, two)
    live["spec"]["template"]["spec"]["containers"][1]["imagePullPolicy"] = "Always"
    again = applied(live, deployment())
    assert [c["name"] for c in again["spec"]["template"]["spec"]["containers"]] == [
        "app"
    ]


def test_containers_merge_by_name_and_keep_other_managers_containers() -> None:
    live = applied(None, deployment())
    other = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "log", "image": "fluentbit"}]}
            }
        },
    }
    both = applied(live, other, manager="sidecar-injector")
    names = [c["name"] for c in both["spec"]["template"]["spec"]["containers"]]
    assert names == ["app", "log"]
    again = applied(both, deployment(image="nginx:1.28"))
    names = [c["name"] for c in again["spec"]["template"]["spec"]["containers"]]
    assert names == ["app", "log"]
    assert container(again)["image"] == "nginx:1.28"


def test_ports_merge_by_container_port_and_defaulted_protocol() -> None:
    live = applied(None, deployment())
    container(live)["ports"][0]["protocol"] = "TCP"  # defaulted by the server
    intent = deployment(ports=[{"containerPort": 80, "name": "http"}])
    again = applied(live, intent)
    assert container(again)["ports"] == [
        {"containerPort": 80, "protocol": "TCP", "name": "http"}
    ]
    udp = deployment(
        ports=[{"containerPort": 80}, {"containerPort": 80, "protocol": "UDP"}]
    )
    both = applied(again, udp)
    assert [p.get("protocol") for p in container(both)["ports"]] == ["TCP", "UDP"]
    assert "name" not in container(both)["ports"][0]


def test_finalizers_are_a_set_unioned_across_managers() -> None:
    first = deployment()
    first["metadata"]["finalizers"] = ["a.example/one"]
    live = applied(None, first)
    second: Obj = {"metadata": {"name": "web", "finalizers": ["b.example/two"]}}
    second.update(apiVersion="apps/v1", kind="Deployment")
    both = applied(live, second, manager="guard")
    assert both["metadata"]["finalizers"] == ["a.example/one", "b.example/two"]
    dropped = applied(both, deployment())
    assert dropped["metadata"]["finalizers"] == ["b.example/two"]


def test_atomic_command_is_replaced_not_merged() -> None:
    live = applied(None, deployment(command=["sh", "-c", "sleep 1"]))
    again = applied(live, deployment(command=["python"]))
    assert container(again)["command"] == ["python"]


def test_labels_merge_per_key_between_managers() -> None:
    live = applied(None, deployment())
    tagger: Obj = {"apiVersion": "apps/v1", "kind": "Deployment"}
    tagger["metadata"] = {"name": "web", "labels": {"team": "a"}}
    tagged = applied(live, tagger, manager="tagger")
    assert tagged["metadata"]["labels"] == {"app": "web", "team": "a"}
    assert owned(tagged, "tagger") == {".metadata.labels.team"}


def test_another_managers_field_with_a_different_value_conflicts() -> None:
    live = applied(None, deployment(replicas=2))
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 5
    scaled = updated(live, scaled, "kubectl-scale", "scale")
    result = apply(scaled, deployment(replicas=3))
    assert result.obj is None
    assert [(c.manager, c.field) for c in result.conflicts] == [
        ('"kubectl-scale" with subresource "scale" using apps/v1', ".spec.replicas")
    ]


def test_the_same_value_does_not_conflict_and_ownership_is_shared() -> None:
    live = applied(None, deployment(replicas=2))
    edited = updated(live, {**live, "spec": {**live["spec"], "replicas": 5}}, "editor")
    result = apply(edited, deployment(replicas=5))
    assert result.conflicts == []
    assert result.obj is not None
    assert ".spec.replicas" in owned(result.obj, "editor")
    assert ".spec.replicas" in owned(result.obj, "kubectl")


def test_force_takes_ownership_and_drops_the_emptied_manager() -> None:
    live = applied(None, deployment(replicas=2))
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 5
    scaled = updated(live, scaled, "kubectl-scale", "scale")
    result = apply(scaled, deployment(replicas=3), force=True)
    assert result.obj is not None
    assert len(result.conflicts) == 1
    assert result.obj["spec"]["replicas"] == 3
    assert managers(result.obj) == ["kubectl"]
    assert ".spec.replicas" in owned(result.obj, "kubectl")


def test_conflicts_with_another_applier_print_without_an_api_version() -> None:
    live = applied(None, deployment(replicas=2), manager="flux")
    result = apply(live, deployment(replicas=3, image="nginx:1.28"))
    assert ssa.conflict_message(result.conflicts) == (
        'Apply failed with 2 conflicts: conflicts with "flux":\n'
        "- .spec.replicas\n"
        '- .spec.template.spec.containers[name="app"].image'
    )


def test_one_conflict_reads_and_carries_causes_as_upstream() -> None:
    live = updated(None, stored(deployment(replicas=2)), "kubectl-client-side-apply")
    result = apply(live, deployment(replicas=3))
    message, details = ssa.conflict_error(result.conflicts)
    assert message == (
        "Apply failed with 1 conflict: conflict with "
        '"kubectl-client-side-apply" using apps/v1: .spec.replicas'
    )
    assert details == {
        "causes": [
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "kubectl-client-side-apply" using apps/v1',
                "field": ".spec.replicas",
            }
        ]
    }


def test_conflicts_group_by_manager_in_identifier_order() -> None:
    live = applied(None, deployment(replicas=2), manager="b-applier")
    edited = copy.deepcopy(live)
    container(edited)["image"] = "nginx:9"
    edited = updated(live, edited, "a-editor")
    result = apply(edited, deployment(replicas=3, image="nginx:1.28"))
    assert ssa.conflict_message(result.conflicts) == (
        "Apply failed with 2 conflicts: "
        'conflicts with "a-editor" using apps/v1:\n'
        '- .spec.template.spec.containers[name="app"].image\n'
        'conflicts with "b-applier":\n'
        "- .spec.replicas"
    )


def test_status_in_an_intent_is_ignored() -> None:
    live = applied(None, deployment())
    intent = {**deployment(), "status": {"replicas": 99}}
    again = applied(live, intent)
    assert again["status"] == {"replicas": 0}


def test_a_no_op_reapply_keeps_the_entry_time() -> None:
    live = applied(None, deployment(), now=T1)
    again = applied(live, deployment(), now=T3)
    assert entry(again, "kubectl")["time"] == T1


def test_apply_does_not_mutate_its_inputs() -> None:
    live = applied(None, deployment())
    intent = deployment(replicas=None)
    before_live, before_intent = copy.deepcopy(live), copy.deepcopy(intent)
    apply(live, intent)
    assert (live, intent) == (before_live, before_intent)


# ---------------------------------------------------------------- updates


def test_create_by_update_owns_everything_set_with_dots_for_maps_and_items() -> None:
    created = updated(None, stored(deployment()), "kubectl-create")
    only = entry(created, "kubectl-create", "Update")
    assert only["apiVersion"] == "apps/v1" and "subresource" not in only
    labels = only["fieldsV1"]["f:metadata"]["f:labels"]
    assert labels == {".": {}, "f:app": {}}
    assert "f:status" not in only["fieldsV1"]
    assert only["fieldsV1"]["f:spec"]["f:strategy"] == {"f:type": {}}


def test_an_update_takes_changed_fields_from_the_applier() -> None:
    live = applied(None, deployment())
    edited = copy.deepcopy(live)
    container(edited)["image"] = "nginx:2"
    edited = updated(live, edited, "kubectl-edit")
    image = '.spec.template.spec.containers[name="app"].image'
    assert owned(edited, "kubectl-edit") == {image}
    assert image not in owned(edited, "kubectl")
    assert entry(edited, "kubectl-edit")["time"] == T2


def test_a_no_op_update_adds_no_entry() -> None:
    live = applied(None, deployment())
    same = updated(live, copy.deepcopy(live), "kubectl-edit")
    assert managers(same) == ["kubectl"]


def test_create_update_apply_sequence_moves_ownership_step_by_step() -> None:
    created = updated(None, stored(deployment(replicas=1)), "kubectl-create")
    scaled = copy.deepcopy(created)
    scaled["spec"]["replicas"] = 4
    scaled = updated(created, scaled, "kubectl-scale", "scale")
    assert ".spec.replicas" not in owned(scaled, "kubectl-create")
    blocked = apply(scaled, deployment(replicas=2))
    assert [c.field for c in blocked.conflicts] == [".spec.replicas"]
    forced = applied(scaled, deployment(replicas=2), force=True)
    assert managers(forced) == ["kubectl", "kubectl-create"]
    assert ".spec.replicas" in owned(forced, "kubectl")
    assert '.spec.template.spec.containers[name="app"].image' in owned(
        forced, "kubectl-create"
    )


def test_removed_fields_leave_every_managers_set() -> None:
    live = applied(None, deployment(env=[{"name": "A", "value": "1"}]))
    edited = copy.deepcopy(live)
    del container(edited)["env"]
    edited = updated(live, edited, "kubectl-edit")
    assert not any(".env" in f for f in owned(edited, "kubectl"))
    assert "kubectl-edit" not in managers(edited)


def test_managed_fields_sent_in_a_request_replace_the_stored_ones() -> None:
    live = applied(None, deployment())
    reset = copy.deepcopy(live)
    reset["metadata"]["managedFields"] = []
    assert (
        ssa.record_update(live, reset, manager="x", subresource=None, now=T2, **DEPLOY)
        == []
    )
    kept = copy.deepcopy(live)
    del kept["metadata"]["managedFields"]
    entries = ssa.record_update(
        live, kept, manager="x", subresource=None, now=T2, **DEPLOY
    )
    assert [e["manager"] for e in entries] == ["kubectl"]


def test_entries_sort_apply_first_then_by_time() -> None:
    live = applied(None, deployment())
    edited = copy.deepcopy(live)
    edited["metadata"]["labels"]["tier"] = "web"
    edited = updated(live, edited, "aaa")
    again = applied(edited, deployment(replicas=7), now=T3)
    assert [
        (e["operation"], e["manager"]) for e in again["metadata"]["managedFields"]
    ] == [
        ("Apply", "kubectl"),
        ("Update", "aaa"),
    ]


def test_same_ownership_ignores_times_but_sees_moved_fields() -> None:
    live = applied(None, deployment(), now=T1)
    later = copy.deepcopy(live)
    later["metadata"]["managedFields"][0]["time"] = T3
    assert ssa.same_ownership(live, later)
    shared = applied(live, deployment(), manager="ci")
    assert not ssa.same_ownership(live, shared)
