"""resourceVersion and UID semantics through the official client: consistent paged
lists, Exact lists, future resourceVersions, UID preconditions, the final write."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.api.conftest import deployment, eventually
from tests.api.rawhttp import request

NS = "default"


def _status(err: ApiException) -> Any:
    return json.loads(err.body)


def _cm(name: str, **data: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "data": data}


# -- UID preconditions ---------------------------------------------------------------


def test_a_stale_uid_in_a_replace_is_a_conflict(core: k8s.CoreV1Api) -> None:
    kept = core.create_namespaced_config_map(NS, _cm("uidtest", a="1"))
    core.delete_namespaced_config_map("uidtest", NS)
    fresh = core.create_namespaced_config_map(NS, _cm("uidtest", a="2"))
    kept.metadata.resource_version = None
    kept.data = {"a": "stale"}

    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("uidtest", NS, kept)

    assert err.value.status == 409
    body = _status(err.value)
    assert body["reason"] == "Conflict"
    assert body["message"] == (
        'Operation cannot be fulfilled on configmaps "uidtest": Precondition failed: '
        f"UID in precondition: {kept.metadata.uid}, UID in object meta: {fresh.metadata.uid}"
    )
    assert body["details"] == {"name": "uidtest", "kind": "configmaps"}
    assert core.read_namespaced_config_map("uidtest", NS).data == {"a": "2"}


def test_a_replace_with_the_stored_uid_or_none_goes_through(
    core: k8s.CoreV1Api,
) -> None:
    made = core.create_namespaced_config_map(NS, _cm("uidsame", a="1"))
    made.metadata.resource_version = None
    made.data = {"a": "2"}
    assert core.replace_namespaced_config_map("uidsame", NS, made).data == {"a": "2"}
    replaced = core.replace_namespaced_config_map("uidsame", NS, _cm("uidsame", a="3"))
    assert replaced.metadata.uid == made.metadata.uid


def test_a_patch_that_changes_the_uid_is_invalid(core: k8s.CoreV1Api) -> None:
    made = core.create_namespaced_config_map(NS, _cm("uidpatch", a="1"))
    other = "6f1c1a8e-0000-4000-8000-000000000000"

    with pytest.raises(ApiException) as err:
        core.patch_namespaced_config_map("uidpatch", NS, {"metadata": {"uid": other}})

    assert err.value.status == 422
    assert _status(err.value)["message"] == (
        f'ConfigMap "uidpatch" is invalid: metadata.uid: Invalid value: "{other}": '
        "field is immutable"
    )
    assert (
        core.read_namespaced_config_map("uidpatch", NS).metadata.uid
        == made.metadata.uid
    )


def test_a_server_side_apply_that_changes_the_uid_is_invalid(
    core: k8s.CoreV1Api,
) -> None:
    core.create_namespaced_config_map(NS, _cm("uidapply", a="1"))
    other = "6f1c1a8e-0000-4000-8000-000000000001"
    intent = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "uidapply", "uid": other},
    }

    with pytest.raises(ApiException) as err:
        core.patch_namespaced_config_map(
            "uidapply",
            NS,
            intent,
            field_manager="test",
            _content_type="application/apply-patch+yaml",
        )

    assert err.value.status == 422
    assert "metadata.uid: Invalid value" in _status(err.value)["message"]


def test_a_stale_uid_in_a_status_replace_is_a_conflict(apps: k8s.AppsV1Api) -> None:
    kept = apps.create_namespaced_deployment(NS, deployment("uidstatus", replicas=0))
    apps.delete_namespaced_deployment("uidstatus", NS)
    fresh = apps.create_namespaced_deployment(NS, deployment("uidstatus", replicas=0))
    kept.metadata.resource_version = None

    with pytest.raises(ApiException) as err:
        apps.replace_namespaced_deployment_status("uidstatus", NS, kept)

    assert err.value.status == 409
    assert _status(err.value)["message"] == (
        'Operation cannot be fulfilled on deployments.apps "uidstatus": Precondition failed: '
        f"UID in precondition: {kept.metadata.uid}, UID in object meta: {fresh.metadata.uid}"
    )


def test_a_stale_uid_in_a_scale_is_a_conflict(apps: k8s.AppsV1Api) -> None:
    apps.create_namespaced_deployment(NS, deployment("uidscale", replicas=0))
    made = apps.read_namespaced_deployment("uidscale", NS)
    other = "6f1c1a8e-0000-4000-8000-000000000002"
    scale = {"metadata": {"name": "uidscale", "uid": other}, "spec": {"replicas": 1}}

    with pytest.raises(ApiException) as put:
        apps.replace_namespaced_deployment_scale("uidscale", NS, scale)
    with pytest.raises(ApiException) as patch:
        apps.patch_namespaced_deployment_scale(
            "uidscale", NS, {"metadata": {"uid": other}}
        )

    tail = f"Precondition failed: UID in precondition: {other}, UID in object meta: {made.metadata.uid}"
    assert put.value.status == patch.value.status == 409
    assert _status(put.value)["message"] == (
        f'Operation cannot be fulfilled on deployments.apps "uidscale": {tail}'
    )
    assert _status(patch.value)["message"] == (
        f'Operation cannot be fulfilled on deployments/scale.apps "uidscale": {tail}'
    )
    assert apps.read_namespaced_deployment("uidscale", NS).spec.replicas == 0


# -- consistent paged lists ------------------------------------------------------------

PAGED = "rv-pages"


@pytest.fixture(scope="module")
def paged(core: k8s.CoreV1Api) -> str:
    core.create_namespace({"metadata": {"name": PAGED}})
    for name in "abcde":
        core.create_namespaced_config_map(PAGED, _cm(f"p-{name}", v="1"))
    eventually(
        lambda: core.read_namespaced_config_map(ROOT_CA, PAGED),
        what="the root CA ConfigMap",
    )
    return PAGED


ROOT_CA = "kube-root-ca.crt"  # published in every namespace; sorts before the p-* ones


def _names(page: Any) -> list[str]:
    return [item.metadata.name for item in page.items]


def _data(page: Any, name: str) -> Any:
    return next(item.data for item in page.items if item.metadata.name == name)


def _restore(core: k8s.CoreV1Api, ns: str) -> None:
    for name in "abcdef":
        try:
            core.delete_namespaced_config_map(f"p-{name}", ns)
        except ApiException:
            pass
    for name in "abcde":
        core.create_namespaced_config_map(ns, _cm(f"p-{name}", v="1"))


def test_every_page_of_a_list_is_read_at_the_first_pages_revision(
    core: k8s.CoreV1Api, paged: str
) -> None:
    first = core.list_namespaced_config_map(paged, limit=2)
    core.delete_namespaced_config_map("p-d", paged)
    core.create_namespaced_config_map(paged, _cm("p-f", v="1"))
    core.patch_namespaced_config_map("p-c", paged, {"data": {"v": "2"}})

    second = core.list_namespaced_config_map(
        paged, limit=2, _continue=first.metadata._continue
    )
    third = core.list_namespaced_config_map(
        paged, limit=2, _continue=second.metadata._continue
    )

    revision = int(first.metadata.resource_version)
    assert _names(first) + _names(second) + _names(third) == [ROOT_CA] + [
        f"p-{n}" for n in "abcde"
    ]
    assert _data(second, "p-c") == {"v": "1"}
    assert (
        second.metadata.resource_version
        == third.metadata.resource_version
        == str(revision)
    )
    assert all(
        int(i.metadata.resource_version) <= revision for i in second.items + third.items
    )
    assert third.metadata._continue is None
    _restore(core, paged)


def test_a_page_with_more_counts_the_items_left_unless_a_selector_filters(
    core: k8s.CoreV1Api, paged: str
) -> None:
    first = core.list_namespaced_config_map(paged, limit=2)
    last = core.list_namespaced_config_map(paged, limit=6)
    selected = core.list_namespaced_config_map(
        paged, limit=2, field_selector="metadata.namespace=" + paged
    )

    assert first.metadata.remaining_item_count == 4
    assert (
        last.metadata.remaining_item_count is None and last.metadata._continue is None
    )
    assert selected.metadata._continue is not None
    assert selected.metadata.remaining_item_count is None


def test_a_compacted_continue_token_is_expired_and_offers_one_at_the_newest_state(
    cluster: Any, core: k8s.CoreV1Api, paged: str
) -> None:
    first = core.list_namespaced_config_map(paged, limit=2)
    core.delete_namespaced_config_map("p-d", paged)
    core.create_namespaced_config_map(paged, _cm("p-f", v="1"))
    cluster.call(lambda: cluster.store.compact(cluster.store.rv))

    with pytest.raises(ApiException) as err:
        core.list_namespaced_config_map(
            paged, limit=2, _continue=first.metadata._continue
        )

    body = _status(err.value)
    assert err.value.status == 410
    assert body["reason"] == "Expired"
    assert body["message"].startswith(
        "The provided continue parameter is too old to display a consistent list result. "
        "You can start a new list without the continue parameter, or use the continue token "
        "in this response to retrieve the remainder of the results."
    )
    rest = core.list_namespaced_config_map(
        paged, limit=10, _continue=body["metadata"]["continue"]
    )
    assert _names(rest) == ["p-b", "p-c", "p-e", "p-f"]
    assert int(rest.metadata.resource_version) > int(first.metadata.resource_version)
    _restore(core, paged)


# -- resourceVersionMatch ----------------------------------------------------------------


def test_an_exact_list_reads_the_state_at_that_revision(
    core: k8s.CoreV1Api, paged: str
) -> None:
    before = core.list_namespaced_config_map(paged)
    core.patch_namespaced_config_map("p-a", paged, {"data": {"v": "2"}})
    core.delete_namespaced_config_map("p-b", paged)

    exact = core.list_namespaced_config_map(
        paged,
        resource_version=before.metadata.resource_version,
        resource_version_match="Exact",
    )
    newest = core.list_namespaced_config_map(
        paged,
        resource_version=before.metadata.resource_version,
        resource_version_match="NotOlderThan",
    )

    assert exact.metadata.resource_version == before.metadata.resource_version
    assert _names(exact) == _names(before)
    assert _data(exact, "p-a") == {"v": "1"}
    assert "p-b" not in _names(newest)
    assert _data(newest, "p-a") == {"v": "2"}
    _restore(core, paged)


def test_a_resource_version_with_a_limit_alone_is_read_exactly(
    core: k8s.CoreV1Api, paged: str
) -> None:
    before = core.list_namespaced_config_map(paged)
    core.delete_namespaced_config_map("p-a", paged)

    legacy = core.list_namespaced_config_map(
        paged, resource_version=before.metadata.resource_version, limit=2
    )

    assert _names(legacy) == [ROOT_CA, "p-a"]
    assert legacy.metadata.resource_version == before.metadata.resource_version
    _restore(core, paged)


def test_an_exact_list_at_a_compacted_revision_is_expired(
    cluster: Any, core: k8s.CoreV1Api, paged: str
) -> None:
    before = core.list_namespaced_config_map(paged)
    core.patch_namespaced_config_map("p-a", paged, {"data": {"v": "3"}})
    cluster.call(lambda: cluster.store.compact(cluster.store.rv))

    with pytest.raises(ApiException) as err:
        core.list_namespaced_config_map(
            paged,
            resource_version=before.metadata.resource_version,
            resource_version_match="Exact",
        )

    assert err.value.status == 410
    assert _status(err.value)["reason"] == "Expired"
    assert (
        _status(err.value)["message"]
        == "The resourceVersion for the provided list is too old."
    )


# -- a resourceVersion from the future -------------------------------------------------------


def _assert_too_large(err: ApiException, wanted: int) -> None:
    _assert_too_large_status(err.status, _status(err), wanted)


def _assert_too_large_status(code: int, body: Any, wanted: int) -> None:
    assert code == 504
    assert body["reason"] == "Timeout"
    assert body["message"].startswith(
        f"Timeout: Too large resource version: {wanted}, current: "
    )
    assert body["details"] == {
        "causes": [
            {
                "reason": "ResourceVersionTooLarge",
                "message": "Too large resource version",
            }
        ],
        "retryAfterSeconds": 1,
    }


def test_a_list_at_a_future_resource_version_is_too_large(
    core: k8s.CoreV1Api, paged: str
) -> None:
    with pytest.raises(ApiException) as err:
        core.list_namespaced_config_map(
            paged, resource_version="99999999", resource_version_match="NotOlderThan"
        )

    _assert_too_large(err.value, 99999999)


def test_a_get_at_a_future_resource_version_is_too_large(
    cluster: Any, paged: str
) -> None:
    # The official client's read_* take no resourceVersion; kubectl's get --raw does.
    reply = request(
        cluster,
        "GET",
        f"/api/v1/namespaces/{paged}/configmaps/p-a?resourceVersion=99999999",
    )

    _assert_too_large_status(reply.status, reply.json(), 99999999)
    assert reply.header("Retry-After") == ["1"]


def test_a_get_at_a_reached_resource_version_answers_the_newest_object(
    cluster: Any, paged: str
) -> None:
    reply = request(
        cluster, "GET", f"/api/v1/namespaces/{paged}/configmaps/p-a?resourceVersion=1"
    )

    assert reply.status == 200
    assert reply.json()["metadata"]["name"] == "p-a"


def test_a_watch_list_from_a_future_resource_version_ends_in_an_error_event(
    core: k8s.CoreV1Api, paged: str
) -> None:
    response = core.list_namespaced_config_map(
        paged,
        watch=True,
        send_initial_events=True,
        allow_watch_bookmarks=True,
        resource_version="99999999",
        resource_version_match="NotOlderThan",
        timeout_seconds=10,
        _preload_content=False,
    )
    events = [json.loads(line) for line in response.data.splitlines() if line.strip()]

    assert [e["type"] for e in events] == ["ERROR"]
    assert events[0]["object"]["code"] == 504
    assert (
        events[0]["object"]["details"]["causes"][0]["reason"]
        == "ResourceVersionTooLarge"
    )


# -- the write that removes the last finalizer --------------------------------------------


def _deleting_config_map(core: k8s.CoreV1Api, name: str) -> Any:
    body = {
        "metadata": {"name": name, "finalizers": ["example.com/keep"]},
        "data": {"a": "1"},
    }
    core.create_namespaced_config_map(NS, body)
    core.delete_namespaced_config_map(name, NS)
    return core.read_namespaced_config_map(name, NS)


def test_a_patch_removing_the_last_finalizer_answers_the_patched_object(
    core: k8s.CoreV1Api,
) -> None:
    deleting = _deleting_config_map(core, "lastfinalizer")

    answer = core.patch_namespaced_config_map(
        "lastfinalizer", NS, {"metadata": {"finalizers": None}}
    )

    assert isinstance(answer, k8s.V1ConfigMap)
    assert answer.metadata.finalizers is None
    assert answer.metadata.deletion_timestamp == deleting.metadata.deletion_timestamp
    assert answer.metadata.resource_version == deleting.metadata.resource_version
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("lastfinalizer", NS)
    assert err.value.status == 404


def test_a_replace_removing_the_last_finalizer_answers_the_replaced_object(
    core: k8s.CoreV1Api,
) -> None:
    deleting = _deleting_config_map(core, "lastreplace")
    deleting.metadata.finalizers = []
    deleting.data = {"a": "2"}

    answer = core.replace_namespaced_config_map("lastreplace", NS, deleting)

    assert not answer.metadata.finalizers
    assert answer.data == {"a": "2"}
    assert answer.metadata.resource_version == deleting.metadata.resource_version
    assert (
        core.list_namespaced_config_map(
            NS, field_selector="metadata.name=lastreplace"
        ).items
        == []
    )


def test_no_finalizer_may_be_added_to_an_object_being_deleted(core: k8s.CoreV1Api) -> None:
    core.create_namespaced_config_map(
        "default", {"metadata": {"name": "held", "finalizers": ["a.example.com/x"]}}
    )
    core.delete_namespaced_config_map("held", "default")

    with pytest.raises(ApiException) as refused:
        core.patch_namespaced_config_map(
            "held", "default", {"metadata": {"finalizers": ["a.example.com/x", "b.example.com/y"]}}
        )

    assert refused.value.status == 422
    assert json.loads(refused.value.body)["message"] == (
        'ConfigMap "held" is invalid: metadata.finalizers: Forbidden: no new finalizers can be '
        'added if the object is being deleted, found new finalizers []string{"b.example.com/y"}'
    )
    core.patch_namespaced_config_map("held", "default", {"metadata": {"finalizers": None}})
