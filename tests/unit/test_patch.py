"""The three PATCH formats behave as on a real API server."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubecourse.embedded.patch import (
    JSONPATCH_REJECTED,
    PatchError,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
)


def smp(doc: dict[str, Any], patch: dict[str, Any], kind: str = "Deployment") -> Any:
    group = "apps" if kind in ("Deployment", "ReplicaSet") else ""
    if kind == "Scale":
        group = "autoscaling"
    return apply_strategic_merge_patch(doc, patch, group=group, version="v1", kind=kind)


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "labels": {"app": "web"},
            "finalizers": ["a", "b"],
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "nginx",
                            "image": "nginx:1.25",
                            "env": [
                                {"name": "A", "value": "1"},
                                {"name": "B", "value": "2"},
                            ],
                            "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                            "args": ["--a", "--b"],
                        },
                        {"name": "sidecar", "image": "busybox"},
                    ],
                    "tolerations": [{"key": "x", "operator": "Exists"}],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                },
            },
        },
    }


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = doc["spec"]["template"]["spec"]
    return spec


def container(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in pod_spec(doc)["containers"] if c["name"] == name)


# ---------------------------------------------------------------- JSON patch


def test_json_patch_add_replace_remove() -> None:
    doc = {"spec": {"replicas": 1, "paused": True}}
    result = apply_json_patch(
        doc,
        [
            {"op": "replace", "path": "/spec/replicas", "value": 3},
            {"op": "remove", "path": "/spec/paused"},
            {"op": "add", "path": "/metadata", "value": {"name": "web"}},
        ],
    )
    assert result == {"spec": {"replicas": 3}, "metadata": {"name": "web"}}


def test_json_patch_never_mutates_its_input() -> None:
    doc = {"spec": {"items": [1, 2]}}
    before = copy.deepcopy(doc)
    ops = [{"op": "add", "path": "/spec/items/-", "value": {"x": 1}}]
    result = apply_json_patch(doc, ops)
    result["spec"]["items"][-1]["x"] = 99
    assert doc == before
    assert ops[0]["value"] == {"x": 1}


def test_json_patch_dash_appends_and_an_index_inserts() -> None:
    doc = {"a": [1, 3]}
    result = apply_json_patch(
        doc,
        [
            {"op": "add", "path": "/a/-", "value": 4},
            {"op": "add", "path": "/a/1", "value": 2},
            {"op": "add", "path": "/a/4", "value": 5},
        ],
    )
    assert result == {"a": [1, 2, 3, 4, 5]}


def test_json_patch_unescapes_tilde_and_slash_in_keys() -> None:
    doc = {"metadata": {"annotations": {"example.com/a~b": "old"}}}
    result = apply_json_patch(
        doc,
        [
            {
                "op": "replace",
                "path": "/metadata/annotations/example.com~1a~0b",
                "value": "new",
            },
            {"op": "add", "path": "/metadata/labels", "value": {}},
            {
                "op": "add",
                "path": "/metadata/labels/app.kubernetes.io~1name",
                "value": "w",
            },
        ],
    )
    assert result["metadata"]["annotations"] == {"example.com/a~b": "new"}
    assert result["metadata"]["labels"] == {"app.kubernetes.io/name": "w"}


def test_json_patch_replace_in_a_list_keeps_the_position() -> None:
    doc = {"a": ["x", "y", "z"]}
    assert apply_json_patch(doc, [{"op": "replace", "path": "/a/1", "value": "Y"}]) == {
        "a": ["x", "Y", "z"]
    }


def test_json_patch_remove_from_a_list_shifts_later_items() -> None:
    doc = {"a": ["x", "y", "z"]}
    assert apply_json_patch(doc, [{"op": "remove", "path": "/a/0"}]) == {
        "a": ["y", "z"]
    }


def test_json_patch_move_and_copy() -> None:
    doc = {"a": {"x": 1}, "list": [10, 20]}
    result = apply_json_patch(
        doc,
        [
            {"op": "copy", "from": "/a", "path": "/b"},
            {"op": "move", "from": "/a/x", "path": "/c"},
            {"op": "move", "from": "/list/0", "path": "/list/-"},
        ],
    )
    assert result == {"a": {}, "b": {"x": 1}, "c": 1, "list": [20, 10]}


def test_json_patch_copy_is_independent_of_its_source() -> None:
    result = apply_json_patch(
        {"a": {"x": 1}},
        [
            {"op": "copy", "from": "/a", "path": "/b"},
            {"op": "add", "path": "/b/y", "value": 2},
        ],
    )
    assert result == {"a": {"x": 1}, "b": {"x": 1, "y": 2}}


def test_json_patch_move_into_its_own_child_is_rejected() -> None:
    with pytest.raises(PatchError) as caught:
        apply_json_patch(
            {"a": {"b": {}}}, [{"op": "move", "from": "/a", "path": "/a/b/c"}]
        )
    assert caught.value.code == 422


def test_json_patch_passing_test_changes_nothing() -> None:
    doc = {"spec": {"replicas": 3, "flags": [True, {"x": 1.0}]}}
    ops = [
        {"op": "test", "path": "/spec/replicas", "value": 3},
        {"op": "test", "path": "/spec/flags", "value": [True, {"x": 1}]},
    ]
    assert apply_json_patch(doc, ops) == doc


def test_json_patch_failed_test_is_422_invalid() -> None:
    with pytest.raises(PatchError) as caught:
        apply_json_patch(
            {"spec": {"replicas": 3}},
            [{"op": "test", "path": "/spec/replicas", "value": 4}],
        )
    error = caught.value
    assert (error.code, error.reason, error.message) == (
        422,
        "Invalid",
        JSONPATCH_REJECTED,
    )
    assert error.causes == [
        {
            "reason": "UnexpectedServerResponse",
            "message": "testing value /spec/replicas failed: test failed",
        }
    ]


def test_json_patch_test_distinguishes_booleans_from_numbers() -> None:
    with pytest.raises(PatchError):
        apply_json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": True}])
    with pytest.raises(PatchError):
        apply_json_patch({"a": "1"}, [{"op": "test", "path": "/a", "value": 1}])


@pytest.mark.parametrize(
    "op",
    [
        {"op": "remove", "path": "/spec/missing"},
        {"op": "replace", "path": "/spec/missing", "value": 1},
        {"op": "add", "path": "/nothere/x", "value": 1},
        {"op": "add", "path": "/list/5", "value": 1},
        {"op": "add", "path": "/list/01", "value": 1},
        {"op": "add", "path": "spec", "value": 1},
        {"op": "move", "from": "/missing", "path": "/x"},
        {"op": "copy", "from": "/missing", "path": "/x"},
        {"op": "frobnicate", "path": "/spec"},
        {"op": "add", "path": "/spec/x"},
        {"op": "remove", "path": ""},
        {"op": "remove", "path": "/spec/replicas/deeper"},
    ],
)
def test_json_patch_operations_that_cannot_apply_are_422(op: dict[str, Any]) -> None:
    with pytest.raises(PatchError) as caught:
        apply_json_patch({"spec": {"replicas": 1}, "list": [1]}, [op])
    assert caught.value.code == 422
    assert caught.value.reason == "Invalid"


def test_json_patch_that_is_not_a_list_of_operations_is_400() -> None:
    for bad in ({"op": "add"}, ["add"]):
        with pytest.raises(PatchError) as caught:
            apply_json_patch({}, bad)  # type: ignore[arg-type]
        assert (caught.value.code, caught.value.reason) == (400, "BadRequest")


def test_json_patch_replacing_the_root_with_a_non_object_is_rejected() -> None:
    with pytest.raises(PatchError):
        apply_json_patch({}, [{"op": "replace", "path": "", "value": [1]}])


def test_json_patch_replacing_the_root_with_an_object() -> None:
    assert apply_json_patch(
        {"a": 1}, [{"op": "replace", "path": "", "value": {"b": 2}}]
    ) == {"b": 2}


def test_failed_patch_leaves_the_original_untouched() -> None:
    doc = {"a": 1}
    with pytest.raises(PatchError):
        apply_json_patch(
            doc,
            [{"op": "add", "path": "/b", "value": 2}, {"op": "remove", "path": "/zz"}],
        )
    assert doc == {"a": 1}


# ---------------------------------------------------------------- merge patch


def test_merge_patch_merges_objects_and_null_deletes() -> None:
    doc = {
        "metadata": {"labels": {"app": "web", "tier": "fe"}},
        "spec": {"replicas": 1},
    }
    result = apply_merge_patch(
        doc, {"metadata": {"labels": {"tier": None, "new": "x"}}}
    )
    assert result == {
        "metadata": {"labels": {"app": "web", "new": "x"}},
        "spec": {"replicas": 1},
    }


def test_merge_patch_replaces_lists_wholesale() -> None:
    result = apply_merge_patch(
        deployment(),
        {"spec": {"template": {"spec": {"containers": [{"name": "only"}]}}}},
    )
    assert pod_spec(result)["containers"] == [{"name": "only"}]


def test_kubectl_scale_merge_patch_on_a_scale_object() -> None:
    scale = {"spec": {"replicas": 1}, "status": {"replicas": 1}}
    assert apply_merge_patch(scale, {"spec": {"replicas": 5}})["spec"] == {
        "replicas": 5
    }


def test_merge_patch_replaces_scalars_with_objects_and_back() -> None:
    assert apply_merge_patch({"a": 1}, {"a": {"b": None, "c": 2}}) == {"a": {"c": 2}}
    assert apply_merge_patch({"a": {"b": 1}}, {"a": "x"}) == {"a": "x"}


def test_merge_patch_never_mutates_its_inputs() -> None:
    doc = {"a": {"b": 1}}
    patch = {"a": {"c": {"d": 1}}}
    result = apply_merge_patch(doc, patch)
    result["a"]["c"]["d"] = 2
    assert doc == {"a": {"b": 1}}
    assert patch == {"a": {"c": {"d": 1}}}


def test_merge_patch_must_be_an_object() -> None:
    with pytest.raises(PatchError) as caught:
        apply_merge_patch({"a": 1}, [1])  # type: ignore[arg-type]
    assert caught.value.code == 400


# ---------------------------------------------------------------- strategic merge patch


def test_cordon_sets_unschedulable_on_the_node() -> None:
    node = {"metadata": {"name": "n1"}, "spec": {"podCIDR": "10.244.1.0/24"}}
    result = smp(node, {"spec": {"unschedulable": True}}, "Node")
    assert result["spec"] == {"podCIDR": "10.244.1.0/24", "unschedulable": True}


def test_containers_merge_by_name() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}
            }
        }
    }
    result = smp(deployment(), patch)
    assert [c["name"] for c in pod_spec(result)["containers"]] == ["nginx", "sidecar"]
    assert container(result, "nginx")["image"] == "nginx:1.27"
    assert container(result, "nginx")["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "2"},
    ]


def test_new_container_is_added_after_the_existing_ones_without_order_directive() -> (
    None
):
    patch = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "log", "image": "fluentd"}]}}
        }
    }
    result = smp(deployment(), patch)
    assert [c["name"] for c in pod_spec(result)["containers"]] == [
        "log",
        "nginx",
        "sidecar",
    ]


def test_kubectl_apply_patch_with_set_element_order_for_containers() -> None:
    """What client-side apply sends when the manifest reorders containers, changes the
    image, changes one env var, drops another and adds a container."""
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [
                        {"name": "sidecar"},
                        {"name": "nginx"},
                        {"name": "log"},
                    ],
                    "containers": [
                        {
                            "name": "nginx",
                            "image": "nginx:1.27",
                            "$setElementOrder/env": [{"name": "B"}, {"name": "C"}],
                            "env": [
                                {"name": "A", "$patch": "delete"},
                                {"name": "C", "value": "3"},
                            ],
                        },
                        {"name": "log", "image": "fluentd"},
                    ],
                }
            }
        }
    }
    result = smp(deployment(), patch)
    assert [c["name"] for c in pod_spec(result)["containers"]] == [
        "sidecar",
        "nginx",
        "log",
    ]
    nginx = container(result, "nginx")
    assert nginx["image"] == "nginx:1.27"
    assert nginx["env"] == [{"name": "B", "value": "2"}, {"name": "C", "value": "3"}]
    assert nginx["ports"] == [{"containerPort": 80, "protocol": "TCP"}]


def test_deleting_a_container_with_the_patch_directive() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "nginx"}],
                    "containers": [{"name": "sidecar", "$patch": "delete"}],
                }
            }
        }
    }
    result = smp(deployment(), patch)
    assert [c["name"] for c in pod_spec(result)["containers"]] == ["nginx"]


def test_set_element_order_alone_reorders_the_live_list() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [
                        {"name": "sidecar"},
                        {"name": "nginx"},
                    ]
                }
            }
        }
    }
    result = smp(deployment(), patch)
    assert [c["name"] for c in pod_spec(result)["containers"]] == ["sidecar", "nginx"]


def test_live_only_items_keep_their_place_between_ordered_items() -> None:
    doc = deployment()
    pod_spec(doc)["containers"].insert(1, {"name": "injected", "image": "proxy"})
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [
                        {"name": "nginx"},
                        {"name": "sidecar"},
                    ],
                    "containers": [{"name": "nginx", "image": "nginx:2"}],
                }
            }
        }
    }
    result = smp(doc, patch)
    assert [c["name"] for c in pod_spec(result)["containers"]] == [
        "nginx",
        "injected",
        "sidecar",
    ]


def test_container_ports_merge_by_container_port() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "nginx",
                            "ports": [
                                {"containerPort": 80, "name": "http"},
                                {"containerPort": 443},
                            ],
                        }
                    ]
                }
            }
        }
    }
    ports = container(smp(deployment(), patch), "nginx")["ports"]
    assert ports == [
        {"containerPort": 80, "protocol": "TCP", "name": "http"},
        {"containerPort": 443},
    ]


def test_volume_mounts_merge_by_mount_path() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "nginx",
                            "volumeMounts": [
                                {"mountPath": "/data", "readOnly": True},
                                {"name": "c", "mountPath": "/c"},
                            ],
                        }
                    ]
                }
            }
        }
    }
    mounts = container(smp(deployment(), patch), "nginx")["volumeMounts"]
    assert mounts == [
        {"name": "data", "mountPath": "/data", "readOnly": True},
        {"name": "c", "mountPath": "/c"},
    ]


def test_atomic_lists_such_as_args_are_replaced() -> None:
    patch = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "nginx", "args": ["--c"]}]}}
        }
    }
    assert container(smp(deployment(), patch), "nginx")["args"] == ["--c"]


def test_tolerations_have_no_merge_key_and_are_replaced() -> None:
    patch = {
        "spec": {
            "template": {"spec": {"tolerations": [{"key": "y", "operator": "Exists"}]}}
        }
    }
    assert pod_spec(smp(deployment(), patch))["tolerations"] == [
        {"key": "y", "operator": "Exists"}
    ]


def test_volume_source_switch_uses_retain_keys() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "volumes": [
                        {
                            "name": "data",
                            "$retainKeys": ["configMap", "name"],
                            "configMap": {"name": "cm"},
                        }
                    ]
                }
            }
        }
    }
    assert pod_spec(smp(deployment(), patch))["volumes"] == [
        {"name": "data", "configMap": {"name": "cm"}}
    ]


def test_strategy_switch_to_recreate_drops_rolling_update() -> None:
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    assert smp(deployment(), patch)["spec"]["strategy"] == {"type": "Recreate"}


def test_null_deletes_a_field() -> None:
    patch = {
        "spec": {"strategy": {"rollingUpdate": None}},
        "metadata": {"labels": {"app": None}},
    }
    result = smp(deployment(), patch)
    assert result["spec"]["strategy"] == {"type": "RollingUpdate"}
    assert result["metadata"]["labels"] == {}


def test_null_for_a_missing_field_is_ignored() -> None:
    result = smp(deployment(), {"spec": {"paused": None}})
    assert "paused" not in result["spec"]


def test_nulls_inside_a_new_subtree_are_dropped() -> None:
    result = smp(
        deployment(),
        {"spec": {"template": {"spec": {"nodeSelector": {"a": "1", "b": None}}}}},
    )
    assert pod_spec(result)["nodeSelector"] == {"a": "1"}


def test_patch_replace_directive_on_a_map_replaces_it() -> None:
    patch = {"metadata": {"labels": {"$patch": "replace", "only": "this"}}}
    assert smp(deployment(), patch)["metadata"]["labels"] == {"only": "this"}


def test_patch_delete_directive_on_a_map_empties_it() -> None:
    patch = {"spec": {"strategy": {"$patch": "delete"}}}
    assert smp(deployment(), patch)["spec"]["strategy"] == {}


def test_patch_merge_directive_on_a_map_is_rejected_as_upstream() -> None:
    with pytest.raises(PatchError, match="unknown patch type: merge"):
        smp(deployment(), {"spec": {"strategy": {"$patch": "merge"}}})


def test_patch_replace_element_replaces_the_whole_list() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "solo", "image": "x"},
                        {"$patch": "replace"},
                    ]
                }
            }
        }
    }
    assert pod_spec(smp(deployment(), patch))["containers"] == [
        {"name": "solo", "image": "x"}
    ]


def test_patch_merge_element_in_a_list_is_rejected_as_upstream() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"$patch": "merge"}]}}}}
    with pytest.raises(PatchError, match="merging lists cannot yet be specified"):
        smp(deployment(), patch)


def test_unknown_list_element_directive_is_rejected() -> None:
    patch = {
        "spec": {
            "template": {"spec": {"containers": [{"name": "x", "$patch": "frob"}]}}
        }
    }
    with pytest.raises(PatchError, match="unknown patch type: frob"):
        smp(deployment(), patch)


def test_list_element_without_its_merge_key_is_rejected() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}
    with pytest.raises(PatchError) as caught:
        smp(deployment(), patch)
    assert caught.value.code == 400
    assert "does not contain declared merge key: name" in caught.value.message


def test_finalizers_merge_as_a_set() -> None:
    result = smp(deployment(), {"metadata": {"finalizers": ["b", "c"]}})
    assert result["metadata"]["finalizers"] == ["a", "b", "c"]


def test_new_finalizer_goes_first_like_upstream_ordering() -> None:
    result = smp(deployment(), {"metadata": {"finalizers": ["c"]}})
    assert result["metadata"]["finalizers"] == ["c", "a", "b"]


def test_delete_from_primitive_list_removes_finalizers() -> None:
    patch = {
        "metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["c"]}
    }
    result = smp(deployment(), patch)
    assert sorted(result["metadata"]["finalizers"]) == ["b", "c"]


def test_set_element_order_for_a_primitive_list() -> None:
    patch = {
        "metadata": {
            "$setElementOrder/finalizers": ["b", "c", "a"],
            "finalizers": ["c"],
        }
    }
    assert smp(deployment(), patch)["metadata"]["finalizers"] == ["b", "c", "a"]


def test_owner_references_merge_by_uid() -> None:
    doc = {
        "metadata": {
            "ownerReferences": [{"uid": "1", "name": "a", "kind": "ReplicaSet"}]
        }
    }
    patch = {
        "metadata": {
            "ownerReferences": [
                {"uid": "1", "controller": True},
                {"uid": "2", "name": "b"},
            ]
        }
    }
    refs = smp(doc, patch, "Pod")["metadata"]["ownerReferences"]
    assert refs == [
        {"uid": "1", "name": "a", "kind": "ReplicaSet", "controller": True},
        {"uid": "2", "name": "b"},
    ]


def test_pod_status_conditions_merge_by_type() -> None:
    pod = {
        "status": {
            "conditions": [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Ready", "status": "False"},
            ]
        }
    }
    patch = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    conditions = smp(pod, patch, "Pod")["status"]["conditions"]
    assert conditions == [
        {"type": "PodScheduled", "status": "True"},
        {"type": "Ready", "status": "True"},
    ]


def test_service_ports_merge_by_port() -> None:
    svc = {"spec": {"ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}}
    patch = {"spec": {"ports": [{"port": 80, "targetPort": 9090}, {"port": 443}]}}
    ports = smp(svc, patch, "Service")["spec"]["ports"]
    assert ports == [{"port": 80, "targetPort": 9090, "protocol": "TCP"}, {"port": 443}]


def test_node_taints_are_replaced_as_kubectl_taint_sends_them() -> None:
    node = {"spec": {"taints": [{"key": "a", "effect": "NoSchedule"}]}}
    patch = {"spec": {"taints": [{"key": "b", "effect": "NoExecute"}]}}
    assert smp(node, patch, "Node")["spec"]["taints"] == [
        {"key": "b", "effect": "NoExecute"}
    ]


def test_configmap_data_merges_key_by_key() -> None:
    cm = {"data": {"a": "1", "b": "2"}}
    assert smp(cm, {"data": {"b": None, "c": "3"}}, "ConfigMap")["data"] == {
        "a": "1",
        "c": "3",
    }


def test_replicaset_selector_match_labels_merge() -> None:
    rs = {"spec": {"selector": {"matchLabels": {"app": "web"}}}}
    patch = {"spec": {"selector": {"matchLabels": {"pod-template-hash": "abc"}}}}
    assert smp(rs, patch, "ReplicaSet")["spec"]["selector"]["matchLabels"] == {
        "app": "web",
        "pod-template-hash": "abc",
    }


def test_python_client_scale_patch_on_a_scale_object() -> None:
    scale = {"apiVersion": "autoscaling/v1", "kind": "Scale", "spec": {"replicas": 1}}
    assert smp(scale, {"spec": {"replicas": 4}}, "Scale")["spec"] == {"replicas": 4}


def test_rollout_restart_adds_a_template_annotation() -> None:
    patch = {
        "spec": {
            "template": {
                "metadata": {
                    "annotations": {
                        "kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z"
                    }
                }
            }
        }
    }
    result = smp(deployment(), patch)
    assert result["spec"]["template"]["metadata"] == {
        "labels": {"app": "web"},
        "annotations": {"kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z"},
    }


def test_changing_a_value_type_replaces_it() -> None:
    result = smp(
        deployment(), {"spec": {"strategy": {"rollingUpdate": {"maxSurge": 1}}}}
    )
    assert result["spec"]["strategy"]["rollingUpdate"] == {
        "maxSurge": 1,
        "maxUnavailable": "25%",
    }


def test_lists_merge_into_a_missing_field() -> None:
    result = smp(
        deployment(),
        {
            "spec": {
                "template": {
                    "spec": {"initContainers": [{"name": "init", "image": "x"}]}
                }
            }
        },
    )
    assert pod_spec(result)["initContainers"] == [{"name": "init", "image": "x"}]


def test_empty_list_patch_on_a_merge_list_keeps_the_live_items() -> None:
    result = smp(deployment(), {"spec": {"template": {"spec": {"containers": []}}}})
    assert len(pod_spec(result)["containers"]) == 2


def test_unknown_kind_merges_maps_and_replaces_lists() -> None:
    result = apply_strategic_merge_patch(
        {"a": {"b": 1}, "l": [1, 2]},
        {"a": {"c": 2}, "l": [3]},
        group="x.io",
        version="v1",
        kind="Thing",
    )
    assert result == {"a": {"b": 1, "c": 2}, "l": [3]}


def test_fields_the_schema_does_not_know_merge_like_maps() -> None:
    result = smp(
        deployment(), {"spec": {"extra": {"a": [1]}, "template": {"spec": {"foo": 1}}}}
    )
    assert result["spec"]["extra"] == {"a": [1]}
    assert pod_spec(result)["foo"] == 1


def test_strategic_patch_never_mutates_its_inputs() -> None:
    doc = deployment()
    before = copy.deepcopy(doc)
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "nginx"}],
                    "containers": [
                        {
                            "name": "nginx",
                            "image": "x",
                            "$setElementOrder/env": [{"name": "A"}],
                        }
                    ],
                }
            }
        }
    }
    patch_before = copy.deepcopy(patch)
    smp(doc, patch)
    assert doc == before
    assert patch == patch_before


def test_malformed_directives_are_bad_requests() -> None:
    bad_patches = [
        {"spec": {"strategy": {"$retainKeys": "type"}}},
        {"metadata": {"$setElementOrder/finalizers": "a"}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}},
        {
            "spec": {
                "template": {
                    "spec": {"$setElementOrder/containers": [], "containers": {"a": 1}}
                }
            }
        },
        {"metadata": {"finalizers": ["a", {"x": 1}]}},
    ]
    for patch in bad_patches:
        with pytest.raises(PatchError) as caught:
            smp(deployment(), patch)
        assert (caught.value.code, caught.value.reason) == (400, "BadRequest")


def test_strategic_patch_must_be_an_object() -> None:
    with pytest.raises(PatchError) as caught:
        smp(deployment(), [{"op": "add"}])  # type: ignore[arg-type]
    assert caught.value.code == 400


def test_patch_error_message_is_the_status_message() -> None:
    error = PatchError(400, "BadRequest", "bad")
    assert (str(error), error.causes) == ("bad", [])


def test_patch_recorded_from_kubectl_1_37_client_side_apply() -> None:
    """The body kubectl 1.37 sent when a manifest added a container before `nginx`,
    bumped replicas and the image, and swapped env var A for B."""
    live = deployment()
    pod_spec(live)["containers"] = [
        {"name": "nginx", "image": "nginx:1.25", "env": [{"name": "A", "value": "1"}]}
    ]
    patch = {
        "spec": {
            "replicas": 3,
            "template": {
                "spec": {
                    "$setElementOrder/containers": [
                        {"name": "sidecar"},
                        {"name": "nginx"},
                    ],
                    "containers": [
                        {"image": "busybox", "name": "sidecar"},
                        {
                            "$setElementOrder/env": [{"name": "B"}],
                            "env": [
                                {"name": "B", "value": "2"},
                                {"$patch": "delete", "name": "A"},
                            ],
                            "image": "nginx:1.27",
                            "name": "nginx",
                        },
                    ],
                }
            },
        }
    }
    result = smp(live, patch)
    assert result["spec"]["replicas"] == 3
    assert pod_spec(result)["containers"] == [
        {"image": "busybox", "name": "sidecar"},
        {"name": "nginx", "image": "nginx:1.27", "env": [{"name": "B", "value": "2"}]},
    ]


def test_a_json_patch_of_more_than_10000_operations_is_too_large() -> None:
    ops = [
        {"op": "add", "path": f"/metadata/labels/k{i}", "value": "v"}
        for i in range(10001)
    ]

    with pytest.raises(PatchError) as err:
        apply_json_patch({"metadata": {"labels": {}}}, ops)

    assert (err.value.code, err.value.reason) == (413, "RequestEntityTooLarge")
    assert err.value.message == (
        "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001"
    )
    assert (
        apply_json_patch({"metadata": {"labels": {}}}, ops[:10000])["metadata"][
            "labels"
        ]["k9999"]
        == "v"
    )
