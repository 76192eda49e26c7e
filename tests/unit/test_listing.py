"""Reads at a revision (store.items_at), paging and resourceVersion rules (listing.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kubecourse.embedded import listing, status
from kubecourse.embedded.conversion import ConvertingApi
from kubecourse.embedded.resources import REGISTRY
from kubecourse.embedded.store import Store

CMS = REGISTRY.get("configmaps")


@pytest.fixture
def api() -> ConvertingApi:
    api = ConvertingApi(Store(), REGISTRY)
    api.ensure_namespace("default")
    api.ensure_namespace("other")
    return api


def _cm(name: str, value: str = "1") -> dict[str, Any]:
    return {"metadata": {"name": name}, "data": {"v": value}}


def _state(store: Store, rv: int, namespace: str | None = "default") -> dict[str, str]:
    items = store.items_at("configmaps", namespace, rv)
    assert items is not None
    return {o["metadata"]["name"]: o["data"]["v"] for o in items}


def test_the_store_answers_the_objects_as_they_were_at_a_revision(
    api: ConvertingApi,
) -> None:
    api.create(CMS, "default", _cm("a"))
    api.create(CMS, "default", _cm("b"))
    then = api.store.rv
    api.patch(CMS, "default", "a", "merge", {"data": {"v": "2"}})
    api.patch(CMS, "default", "a", "merge", {"data": {"v": "3"}})
    api.delete(CMS, "default", "b")
    api.create(CMS, "default", _cm("c"))
    api.create(CMS, "other", _cm("x"))

    assert _state(api.store, then) == {"a": "1", "b": "1"}
    assert _state(api.store, then + 1) == {"a": "2", "b": "1"}
    assert _state(api.store, api.store.rv) == {"a": "3", "c": "1"}
    assert _state(api.store, then, namespace=None) == {"a": "1", "b": "1"}


def test_a_revision_before_the_history_is_compacted(api: ConvertingApi) -> None:
    api.create(CMS, "default", _cm("a"))
    then = api.store.rv
    api.patch(CMS, "default", "a", "merge", {"data": {"v": "2"}})
    api.store.compact(api.store.rv - 1)

    assert api.store.items_at("configmaps", "default", then - 1) is None
    assert _state(api.store, then) == {"a": "1"}


def test_a_bounded_history_compacts_itself() -> None:
    store = Store(history_limit=3)
    for value in "12345":
        store.write(
            "configmaps",
            {"metadata": {"name": "a", "namespace": "n"}, "data": {"v": value}},
        )

    assert store.oldest_rv == 2
    assert store.items_at("configmaps", "n", 1) is None
    assert _state(store, 2, "n") == {"a": "2"}


def test_a_continue_token_keeps_its_revision_and_its_place() -> None:
    token = listing.encode_continue("default/b", 42)

    assert listing.decode_continue(token) == ("default/b", 42)
    with pytest.raises(status.StatusError) as err:
        listing.decode_continue("not a token")
    assert err.value.code == 400


def test_a_continue_token_with_a_resource_version_is_refused(
    api: ConvertingApi,
) -> None:
    api.create(CMS, "default", _cm("a"))
    api.create(CMS, "default", _cm("b"))
    first = api.list(CMS, "default", limit=1)

    with pytest.raises(status.StatusError) as err:
        api.list(
            CMS,
            "default",
            limit=1,
            continue_token=first.continue_token,
            resource_version="5",
        )

    assert (
        err.value.message
        == "specifying resource version is not allowed when using continue"
    )


def test_lists_follow_etcd_key_order_across_namespaces(api: ConvertingApi) -> None:
    api.ensure_namespace("a-b")
    api.ensure_namespace("a")
    api.create(CMS, "a", _cm("x"))
    api.create(CMS, "a-b", _cm("y"))

    names = [o["metadata"]["namespace"] for o in api.list(CMS).items]

    assert names == ["a-b", "a"]  # "a-b/y" < "a/x" byte-wise, as etcd orders its keys


def test_a_watch_from_a_future_revision_sends_only_what_comes_after_it(
    api: ConvertingApi,
) -> None:
    ahead = api.store.rv + 2
    stream = api.watch(CMS, "default", resource_version=str(ahead))
    for value in "123":
        api.create(CMS, "default", _cm(f"c{value}"))

    event = asyncio.run(stream.next(0.1))
    stream.close()

    assert event is not None
    assert event[1]["metadata"]["name"] == "c3"
