"""What a translation hands back: valid manifests, files written atomically, a report."""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from kubecourse.compose import ComposeValidationError, TranslationResult, translate
from kubecourse.errors import ComposeError

SHOP = Path(__file__).resolve().parents[2] / "shop" / "compose.yaml"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@pytest.fixture(scope="module")
def shop() -> TranslationResult:
    return translate(SHOP, environ={})


def test_every_shop_manifest_is_valid_against_the_kubernetes_schema(
    shop: TranslationResult,
) -> None:
    for manifest in shop.objects:
        kubernetes_validate.validate(manifest, "1.37.0", strict=True)
        assert DNS_LABEL.match(manifest["metadata"]["name"])


def test_write_puts_one_file_per_service_and_shared_objects_apart(
    shop: TranslationResult, tmp_path: Path
) -> None:
    written = shop.write(tmp_path / "out")
    names = sorted(path.name for path in written)
    assert "shared.yaml" in names and "db.yaml" in names and "proxy.yaml" not in names
    assert len(names) == 10  # nine deployed services plus shared.yaml
    db = list(yaml.safe_load_all((tmp_path / "out" / "db.yaml").read_text()))
    assert [o["kind"] for o in db] == ["StatefulSet", "Service"]
    shared = list(yaml.safe_load_all((tmp_path / "out" / "shared.yaml").read_text()))
    assert [o["kind"] for o in shared] == ["Ingress"] + ["NetworkPolicy"] * 3
    web = list(yaml.safe_load_all((tmp_path / "out" / "web.yaml").read_text()))
    assert [o["kind"] for o in web] == ["Deployment", "Service", "NetworkPolicy"]


def test_write_single_file_is_one_stream_in_apply_order(
    shop: TranslationResult, tmp_path: Path
) -> None:
    (path,) = shop.write(tmp_path, single_file=True)
    assert path.name == "shop.yaml"
    assert list(yaml.safe_load_all(path.read_text())) == shop.objects


def test_write_into_an_existing_directory_keeps_other_files(
    shop: TranslationResult, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    shop.write(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert not [
        p for p in tmp_path.parent.iterdir() if p.name.startswith(f".{tmp_path.name}-")
    ]


def test_write_to_a_file_path_fails_and_writes_nothing(
    shop: TranslationResult, tmp_path: Path
) -> None:
    target = tmp_path / "taken"
    target.write_text("x")
    with pytest.raises(ComposeError, match="not a directory"):
        shop.write(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_write_that_fails_midway_leaves_no_files(
    shop: TranslationResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"count": 0}
    original = Path.write_text

    def flaky(self: Path, *args: object, **kwargs: object) -> int:
        calls["count"] += 1
        if calls["count"] == 3:
            raise OSError("disk full")
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", flaky)
    with pytest.raises(OSError, match="disk full"):
        shop.write(tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_a_failing_translation_writes_nothing(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  api: {build: ./api}\n")
    out = tmp_path / "out"
    with pytest.raises(ComposeValidationError):
        translate(compose, environ={}).write(out)
    assert not out.exists()


def test_report_groups_decisions_by_service_in_tables(shop: TranslationResult) -> None:
    report = shop.report_markdown()
    assert report.startswith("# Translation of `shop`")
    assert "## Service `orders-worker`" in report
    assert "| compose | Kubernetes | why |" in report
    assert "Deployment/orders-worker" in report
    assert report == shop._repr_markdown_()


def test_report_lists_dropped_things_under_their_service(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  app: {image: example/app, ulimits: {nofile: 1}}\n")
    report = translate(compose, environ={}).report_markdown()
    section = report.split("## Service `app`")[1]
    assert "**Dropped or approximated:**" in section and "`ulimits`" in section


def test_mermaid_draws_ingress_services_and_workers_apart(
    shop: TranslationResult,
) -> None:
    chart = shop.mermaid()
    assert chart.startswith("flowchart LR\n")
    assert 'ingress_shop -- "/api/orders" --> service_orders_api' in chart
    assert 'service_db(["Service db :5432"]) --> statefulset_db' in chart
    workers = chart.split('subgraph workers["background work (no Service)"]')[1].split(
        "end"
    )[0]
    assert "deployment_orders_worker" in workers and "deployment_web" not in workers
    assert "proxy" not in chart
