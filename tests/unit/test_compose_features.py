"""Behaviour of issue 4's translator features, beyond the golden files' exact text."""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path
from typing import Any

import pytest

from kubecourse.compose import ComposeValidationError, TranslationResult, translate

GOLDEN = Path(__file__).parent / "golden"
SHOP = Path(__file__).resolve().parents[2] / "shop" / "compose.yaml"


def translate_text(tmp: Path, text: str, **options: Any) -> TranslationResult:
    path = tmp / "compose.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return translate(path, environ={}, **options)


def of_kind(result: TranslationResult, kind: str) -> list[dict[str, Any]]:
    return [o for o in result.objects if o["kind"] == kind]


def pod_labels(result: TranslationResult) -> dict[str, dict[str, str]]:
    kinds = ("Deployment", "StatefulSet", "Job", "DaemonSet")
    return {o["metadata"]["name"]: o["spec"]["template"]["metadata"]["labels"]
            for o in result.objects if o["kind"] in kinds}  # fmt: skip


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def may_reach(
    policies: list[dict[str, Any]], source: dict[str, str], target: dict[str, str]
) -> bool:
    """NetworkPolicy semantics for two pods of one namespace (ingress only)."""
    applying = [p for p in policies if selects(p["spec"]["podSelector"], target)]
    if not applying:
        return True
    return any(
        "podSelector" in peer and selects(peer["podSelector"], source)
        for policy in applying for rule in policy["spec"]["ingress"] for peer in rule["from"]
    )  # fmt: skip


def test_network_policies_allow_exactly_the_pairs_that_share_a_compose_network() -> (
    None
):
    result = translate(GOLDEN / "networks" / "compose.yaml", environ={})
    networks = {"web": {"frontend"}, "api": {"frontend", "backend"}, "db": {"backend"},
                "lonely": {"default"}}  # fmt: skip
    labels, policies = pod_labels(result), of_kind(result, "NetworkPolicy")
    for source, target in itertools.permutations(networks, 2):
        expected = bool(networks[source] & networks[target])
        assert may_reach(policies, labels[source], labels[target]) == expected, (
            source,
            target,
        )


def test_the_ingress_controller_may_reach_only_the_routed_services() -> None:
    result = translate(SHOP, environ={})
    (allow,) = [
        p
        for p in of_kind(result, "NetworkPolicy")
        if p["metadata"]["name"] == "shop-from-ingress"
    ]
    labels = pod_labels(result)
    reached = sorted(
        name
        for name, pod in labels.items()
        if selects(allow["spec"]["podSelector"], pod)
    )
    assert reached == ["account-api", "catalog-api", "orders-api", "web"]
    (peer,) = allow["spec"]["ingress"][0]["from"]
    assert "ingress-nginx" in peer["namespaceSelector"]["matchExpressions"][0]["values"]


def test_a_single_network_project_gets_no_network_policies(tmp_path: Path) -> None:
    result = translate_text(tmp_path, "services:\n  a: {image: x}\n  b: {image: y}\n")
    assert of_kind(result, "NetworkPolicy") == []
    assert "kubecourse.io/network-default" not in pod_labels(result)["a"]


def test_network_policies_can_be_turned_off() -> None:
    result = translate(SHOP, environ={}, network_policies=False)
    assert of_kind(result, "NetworkPolicy") == []


def test_gateway_output_is_optional_and_rewrites_like_the_strip_prefix_middleware() -> (
    None
):
    assert of_kind(translate(SHOP, environ={}), "HTTPRoute") == []
    result = translate(SHOP, environ={}, gateway=True)
    (gateway,) = of_kind(result, "Gateway")
    routes = {r["metadata"]["name"]: r for r in of_kind(result, "HTTPRoute")}
    assert sorted(routes) == ["account-api", "catalog-api", "orders-api", "web"]
    (rule,) = routes["orders-api"]["spec"]["rules"]
    assert rule["filters"][0]["urlRewrite"]["path"] == {
        "type": "ReplacePrefixMatch", "replacePrefixMatch": "/orders"}  # fmt: skip
    assert routes["web"]["spec"]["parentRefs"] == [
        {"name": gateway["metadata"]["name"]}
    ]
    assert "filters" not in routes["web"]["spec"]["rules"][0]


def test_sidecar_shares_the_pod_and_gets_no_workload_of_its_own() -> None:
    result = translate(GOLDEN / "sidecar" / "compose.yaml", environ={})
    (app,) = [
        d for d in of_kind(result, "Deployment") if d["metadata"]["name"] == "app"
    ]
    assert [c["name"] for c in app["spec"]["template"]["spec"]["containers"]] == [
        "app",
        "vpn",
    ]
    assert "vpn" not in {o["metadata"]["name"] for o in result.objects}
    assert result.by_service["vpn"] == []


def test_a_sidecar_may_not_publish_ports(tmp_path: Path) -> None:
    with pytest.raises(ComposeValidationError, match="cannot publish ports"):
        translate_text(tmp_path, """
            services:
              app: {image: x}
              vpn: {image: y, network_mode: "service:app", ports: ["1194:1194"]}
        """)  # fmt: skip


def test_extends_cycles_are_problems_not_hangs(tmp_path: Path) -> None:
    with pytest.raises(ComposeValidationError, match="cycle"):
        translate_text(tmp_path, """
            services:
              a: {image: x, extends: b}
              b: {image: x, extends: a}
        """)  # fmt: skip


def test_secret_files_are_mounted_as_files_with_their_content(tmp_path: Path) -> None:
    (tmp_path / "pw.txt").write_text("hunter2")
    result = translate_text(tmp_path, """
        services:
          db: {image: postgres:16, secrets: [pw]}
        secrets:
          pw: {file: ./pw.txt}
    """)  # fmt: skip
    (secret,) = of_kind(result, "Secret")
    assert secret["data"] == {"pw": "aHVudGVyMg=="}
    (mount,) = of_kind(result, "StatefulSet" if of_kind(result, "StatefulSet") else "Deployment")[0][
        "spec"]["template"]["spec"]["containers"][0]["volumeMounts"]  # fmt: skip
    assert mount == {"name": "secret-pw", "mountPath": "/run/secrets/pw", "subPath": "pw",
                     "readOnly": True}  # fmt: skip


def test_a_missing_secret_file_and_an_undeclared_secret_are_reported_together(
    tmp_path: Path,
) -> None:
    with pytest.raises(ComposeValidationError) as excinfo:
        translate_text(tmp_path, """
            services:
              db: {image: x, secrets: [pw, nope]}
            secrets:
              pw: {file: ./missing.txt}
        """)  # fmt: skip
    assert {p.key_path for p in excinfo.value.problems} == {
        "secrets.pw",
        "services.db.secrets[1]",
    }


def test_contradicting_options_are_problems(tmp_path: Path) -> None:
    with pytest.raises(ComposeValidationError, match="contradicts"):
        translate_text(tmp_path, """
            services:
              w:
                image: x
                labels: {kubecourse.io/workload: job}
                x-kubecourse: {workload: singleton}
        """)  # fmt: skip
