"""Every real-world compose file in ../shared/cases translates, or fails naming its problems.

The files are read-only and unmodified; tests that need env files or variables supply
them in a temporary copy. Every emitted manifest is checked against the upstream
Kubernetes JSON schema (bundled by kubernetes-validate).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from kubecourse.compose import ComposeValidationError, TranslationResult, translate

CASES = Path(__file__).resolve().parents[2].parent / "shared" / "cases" / "compose"
pytestmark = pytest.mark.skipif(
    not CASES.is_dir(),
    reason=f"the shared compose cases are not checked out at {CASES}",
)
AUTHENTIK_REQUIRED = ["POSTGRES_PASSWORD", "AUTHENTIK_SECRET_KEY", "EMAIL_HOST",
                      "EMAIL_USERNAME", "EMAIL_PASSWORD", "EMAIL_FROM"]  # fmt: skip


def valid(result: TranslationResult) -> TranslationResult:
    for manifest in result.objects:
        kubernetes_validate.validate(manifest, "1.37.0", strict=True)
    return result


def kinds(result: TranslationResult) -> dict[str, str]:
    workloads = ("Deployment", "StatefulSet", "DaemonSet", "Job")
    return {
        o["metadata"]["name"]: o["kind"]
        for o in result.objects
        if o["kind"] in workloads
    }


def get(result: TranslationResult, kind: str, name: str) -> dict[str, Any]:
    (found,) = [
        o for o in result.objects if o["kind"] == kind and o["metadata"]["name"] == name
    ]
    return found


def test_voting_app_needs_images_for_its_build_only_services() -> None:
    with pytest.raises(ComposeValidationError) as excinfo:
        translate(CASES / "voting-app.yml", environ={})
    assert {p.key_path for p in excinfo.value.problems} == {
        "services.vote.build", "services.result.build", "services.worker.build",
    }  # fmt: skip


def test_voting_app_translates_with_an_image_prefix_and_the_seed_profile() -> None:
    result = valid(translate(CASES / "voting-app.yml", environ={},
                             image_prefix="registry.example/vote", profiles=["seed"]))  # fmt: skip
    assert kinds(result) == {"vote": "Deployment", "result": "Deployment", "worker": "Deployment",
                             "redis": "Deployment", "db": "StatefulSet", "seed": "Job"}  # fmt: skip
    assert get(result, "Deployment", "worker")["spec"]["strategy"]["type"] == "Recreate"
    probe = get(result, "Deployment", "redis")["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert probe["readinessProbe"]["exec"]["command"] == [
        "sh",
        "-c",
        "/healthchecks/redis.sh",
    ]


def test_voting_app_without_the_profile_skips_the_seeder() -> None:
    result = translate(CASES / "voting-app.yml", environ={}, image_prefix="r.example")
    assert "seed" not in kinds(result) and result.skipped == {"seed": ["seed"]}


def test_eshop_base_and_override_merge_into_services_on_container_ports() -> None:
    result = valid(
        translate(
            [CASES / "eshop-compose.yml", CASES / "eshop-override.yml"], environ={}
        )
    )
    assert len(kinds(result)) == 21
    assert kinds(result)["nosqldata"] == "StatefulSet"
    ports = [p["port"] for p in get(result, "Service", "basket-api")["spec"]["ports"]]
    assert ports == [
        80,
        81,
    ]  # callers use http://basket-api and basket-api:81, not 5103/9103
    image = get(result, "Deployment", "basket-api")["spec"]["template"]["spec"][
        "containers"
    ][0]["image"]
    assert image == "eshop/basket.api:linux-latest"


def test_authentik_fails_naming_every_required_variable() -> None:
    with pytest.raises(ComposeValidationError) as excinfo:
        translate(CASES / "boilerplates-authentik.yml", environ={})
    message = str(excinfo.value)
    for variable in AUTHENTIK_REQUIRED:
        assert f"required variable {variable}" in message


def test_authentik_translates_once_variables_are_given(tmp_path: Path) -> None:
    env = tmp_path / "authentik.env"
    env.write_text(
        "".join(f"{name}=value-{name.lower()}\n" for name in AUTHENTIK_REQUIRED)
    )
    result = valid(
        translate(CASES / "boilerplates-authentik.yml", env_file=env, environ={})
    )
    assert kinds(result)["postgres"] == "StatefulSet"
    (rule,) = get(result, "Ingress", result.project)["spec"]["rules"]
    assert rule["host"] == "your-authentik-fqdn"
    assert rule["http"]["paths"][0]["backend"]["service"] == {
        "name": "server",
        "port": {"number": 9000},
    }
    redis = get(result, "Deployment", "redis")["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert redis["readinessProbe"]["exec"]["command"] == [
        "sh",
        "-c",
        "redis-cli ping | grep PONG",
    ]


def test_netbox_fails_naming_each_missing_env_file() -> None:
    with pytest.raises(ComposeValidationError) as excinfo:
        translate(CASES / "netbox-docker.yml", environ={})
    messages = [p.message for p in excinfo.value.problems]
    assert len(messages) == 6 and all("env file `env/" in m for m in messages)


def test_netbox_translates_with_env_files_beside_a_copy(tmp_path: Path) -> None:
    shutil.copy(CASES / "netbox-docker.yml", tmp_path / "compose.yml")
    (tmp_path / "env").mkdir()
    for name in ("netbox", "postgres", "redis", "redis-cache"):
        (tmp_path / "env" / f"{name}.env").write_text(
            f"FROM_{name.upper().replace('-', '_')}=1\n"
        )
    result = valid(translate(tmp_path / "compose.yml", environ={}))
    assert kinds(result)["postgres"] == "StatefulSet"
    assert get(result, "ConfigMap", "redis-cache-env")["data"] == {
        "FROM_REDIS_CACHE": "1"
    }
    media = get(result, "PersistentVolumeClaim", "netbox-media-files")
    annotation = media["metadata"]["annotations"]["kubecourse.io/compose-service"]
    assert annotation == "netbox,netbox-worker,netbox-housekeeping"
    redis = get(result, "Deployment", "redis")["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert redis["args"][2].startswith(
        "valkey-server --appendonly yes --requirepass $REDIS_PASSWORD"
    )


def test_atsea_renames_underscored_services_and_scales_the_appserver() -> None:
    result = valid(translate(CASES / "atsea-stack.yml", environ={}))
    assert result.renames == {
        "reverse_proxy": "reverse-proxy",
        "payment_gateway": "payment-gateway",
    }
    assert get(result, "Deployment", "appserver")["spec"]["replicas"] == 2
    keys = {(w.service, w.compose_key) for w in result.warnings}
    assert ("database,appserver", "secrets.postgres_password") in keys
    assert ("database", "deploy.placement") in keys
    pod = get(result, "Deployment", "payment-gateway")["spec"]["template"]["spec"]
    assert pod["volumes"][0]["secret"] == {
        "secretName": "staging-token", "optional": True,
        "items": [{"key": "staging_token", "path": "staging_token"}],
    }  # fmt: skip
    assert (
        pod["containers"][0]["volumeMounts"][0]["mountPath"]
        == "/run/secrets/payment_token"
    )


def test_petclinic_memory_limits_are_mebibytes() -> None:
    result = valid(
        translate(
            CASES / "petclinic.yml", environ={}, image_prefix="r.example/petclinic"
        )
    )
    server = get(result, "Deployment", "config-server")["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert server["resources"] == {"limits": {"memory": "512Mi"}}
    assert [
        p["port"] for p in get(result, "Service", "config-server")["spec"]["ports"]
    ] == [8888]
