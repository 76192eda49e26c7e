"""Translating compose services into Kubernetes objects, decision by decision."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from kubecourse.compose import ComposeValidationError, TranslationResult, translate
from kubecourse.errors import TranslationWarning

SHOP = Path(__file__).resolve().parents[2] / "shop" / "compose.yaml"
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


def translate_text(tmp_path: Path, text: str, **options: Any) -> TranslationResult:
    path = tmp_path / "compose.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    options.setdefault("environ", {})
    return translate(path, **options)


def get(result: TranslationResult, kind: str, name: str) -> dict[str, Any]:
    matches = [
        o for o in result.objects if o["kind"] == kind and o["metadata"]["name"] == name
    ]
    assert len(matches) == 1, f"expected one {kind}/{name}"
    return matches[0]


def container(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]["containers"][0]


@pytest.fixture(scope="module")
def shop() -> TranslationResult:
    return translate(SHOP, environ={})


# --- the shop ------------------------------------------------------------------------


def test_shop_becomes_nine_workloads_six_services_and_one_ingress(
    shop: TranslationResult,
) -> None:
    kinds = [(o["kind"], o["metadata"]["name"]) for o in shop.objects]
    workloads = sorted(name for kind, name in kinds if kind in WORKLOADS)
    assert workloads == sorted([
        "web", "account-api", "orders-api", "catalog-api", "account-worker",
        "orders-worker", "catalog-worker", "db", "queue",
    ])  # fmt: skip
    services = sorted(name for kind, name in kinds if kind == "Service")
    assert services == sorted(
        ["web", "account-api", "orders-api", "catalog-api", "db", "queue"]
    )
    assert [name for kind, name in kinds if kind == "Ingress"] == ["shop"]
    policies = sorted(name for kind, name in kinds if kind == "NetworkPolicy")
    assert policies == [
        "network-backend", "network-frontend", "shop-default-deny", "shop-from-ingress",
    ]  # fmt: skip
    assert len(kinds) == 20


def test_shop_apis_are_rolling_update_deployments(shop: TranslationResult) -> None:
    for name in ("account-api", "orders-api", "catalog-api"):
        spec = get(shop, "Deployment", name)["spec"]
        assert spec["strategy"] == {"type": "RollingUpdate"}
        assert spec["replicas"] == 1
        assert container(get(shop, "Deployment", name))["image"].startswith(
            "traefik/whoami:"
        )


def test_shop_workers_are_recreate_singletons_without_services(
    shop: TranslationResult,
) -> None:
    for name in ("account-worker", "orders-worker", "catalog-worker"):
        spec = get(shop, "Deployment", name)["spec"]
        assert (spec["replicas"], spec["strategy"]) == (1, {"type": "Recreate"})
        assert not any(
            o["kind"] == "Service" and o["metadata"]["name"] == name
            for o in shop.objects
        )
        why = [
            d
            for d in shop.decisions
            if d.service == name and d.target == f"Deployment/{name}"
        ]
        assert "two copies" in why[0].explanation and "Recreate" in why[0].explanation


def test_worker_command_keeps_its_dollar_for_the_shell(shop: TranslationResult) -> None:
    args = container(get(shop, "Deployment", "orders-worker"))["args"]
    assert args[:2] == ["sh", "-c"]
    assert (
        "$$(date)" in args[2]
    )  # Kubernetes turns $$( back into $(, the shell runs date


def test_shop_db_is_a_statefulset_with_a_claim_template_and_headless_service(
    shop: TranslationResult,
) -> None:
    spec = get(shop, "StatefulSet", "db")["spec"]
    assert spec["serviceName"] == "db"
    claim = spec["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "db-data"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
    mounts = container(get(shop, "StatefulSet", "db"))["volumeMounts"]
    assert mounts == [{"name": "db-data", "mountPath": "/var/lib/postgresql/data"}]
    service = get(shop, "Service", "db")["spec"]
    assert service["clusterIP"] == "None"
    assert [(p["port"], p["name"]) for p in service["ports"]] == [(5432, "tcp-5432")]


def test_shop_db_password_default_and_pg_isready_probe(shop: TranslationResult) -> None:
    db = container(get(shop, "StatefulSet", "db"))
    assert {"name": "POSTGRES_PASSWORD", "value": "shop"} in db["env"]
    probe = db["readinessProbe"]
    assert probe["exec"]["command"] == ["sh", "-c", "pg_isready -U shop -d shop"]
    assert (
        probe["periodSeconds"],
        probe["timeoutSeconds"],
        probe["failureThreshold"],
    ) == (5, 3, 5)
    assert probe["initialDelaySeconds"] == 10


def test_shop_queue_gets_the_rabbitmq_port_from_the_image(
    shop: TranslationResult,
) -> None:
    assert get(shop, "Deployment", "queue")["spec"]["strategy"] == {
        "type": "RollingUpdate"
    }
    assert [p["port"] for p in get(shop, "Service", "queue")["spec"]["ports"]] == [5672]
    notes = [
        d for d in shop.decisions if d.service == "queue" and "EXPOSE" in d.explanation
    ]
    assert notes


def test_shop_ingress_routes_four_paths_and_records_prefix_stripping(
    shop: TranslationResult,
) -> None:
    ingress = get(shop, "Ingress", "shop")
    (rule,) = ingress["spec"]["rules"]
    routes = {
        p["path"]: (
            p["pathType"],
            p["backend"]["service"]["name"],
            p["backend"]["service"]["port"]["number"],
        )
        for p in rule["http"]["paths"]
    }
    assert routes == {
        "/api/account": ("Prefix", "account-api", 80),
        "/api/orders": ("Prefix", "orders-api", 80),
        "/api/catalog": ("Prefix", "catalog-api", 80),
        "/": ("Prefix", "web", 80),
    }
    strip = json.loads(ingress["metadata"]["annotations"]["kubecourse.io/strip-prefix"])
    assert strip == {
        "/api/account": "/api",
        "/api/orders": "/api",
        "/api/catalog": "/api",
    }
    assert any("arrives as /account/1" in d.explanation for d in shop.decisions)


def test_shop_proxy_is_not_deployed_and_explained(shop: TranslationResult) -> None:
    assert shop.by_service["proxy"] == []
    explained = {
        d.compose_key: d.explanation for d in shop.decisions if d.service == "proxy"
    }
    assert "ingress controller" in explained["image"]
    assert "Docker socket" in explained["volumes[0]"]
    assert "--providers.docker" in explained["command"]


def test_shop_networks_and_depends_on_are_explained_not_dropped(
    shop: TranslationResult,
) -> None:
    networks = [d for d in shop.decisions if d.compose_key.startswith("networks.")]
    assert {(d.service, d.compose_key) for d in networks} >= {
        ("", "networks.frontend"), ("", "networks.backend"),
        ("web", "networks.frontend"), ("db", "networks.backend"),
    }  # fmt: skip
    assert all("NetworkPolicy" in d.target for d in networks)
    waits = [
        d
        for d in shop.decisions
        if d.service == "orders-worker" and d.compose_key == "depends_on.db"
    ]
    assert "no start order" in waits[0].explanation


def test_shop_warns_only_that_the_ingress_alone_does_not_strip_api(
    shop: TranslationResult,
) -> None:
    warned = {(w.service, w.compose_key): w.explanation for w in shop.warnings}
    assert set(warned) == {
        ("account-api", "labels.traefik.http.routers.account.middlewares"),
        ("orders-api", "labels.traefik.http.routers.orders.middlewares"),
        ("catalog-api", "labels.traefik.http.routers.catalog.middlewares"),
    }
    why = warned[("orders-api", "labels.traefik.http.routers.orders.middlewares")]
    assert "will not strip the prefix `/api` on a real ingress controller" in why
    assert "/api/orders/1 reaches orders-api unchanged" in why
    assert "`--gateway` (or `gateway=True` in Python)" in why
    assert "Middleware" in why
    # the decision explaining the rewrite is kept as it was
    assert any("arrives as /orders/1" in d.explanation for d in shop.decisions)
    assert "3 warnings." in shop.report_markdown().splitlines()[2]


def test_rewrite_warning_points_at_the_httproute_when_gateway_is_on() -> None:
    result = translate(SHOP, environ={}, gateway=True)
    rewrites = [w for w in result.warnings if w.compose_key.endswith(".middlewares")]
    assert len(rewrites) == 3
    assert all(
        "HTTPRoute generated with `--gateway`" in w.explanation for w in rewrites
    )


def test_report_summary_pluralises_kinds_ending_in_y(shop: TranslationResult) -> None:
    summary = shop.report_markdown().splitlines()[2]
    assert "4 NetworkPolicies" in summary and "Policys" not in summary


def test_every_object_carries_labels_and_explanation(shop: TranslationResult) -> None:
    for manifest in shop.objects:
        metadata = manifest["metadata"]
        assert metadata["labels"]["app.kubernetes.io/part-of"] == "shop"
        assert metadata["labels"]["app.kubernetes.io/name"]
        assert metadata["annotations"]["kubecourse.io/compose-service"]
        assert metadata["annotations"]["kubecourse.io/explanation"]


def test_objects_are_in_apply_order(tmp_path: Path) -> None:
    (tmp_path / "app.env").write_text("A=1\n")
    result = translate_text(
        tmp_path,
        """
        services:
          app:
            image: example/app
            ports: ["80"]
            env_file: app.env
            volumes: [data:/data]
            labels: {traefik.http.routers.app.rule: "PathPrefix(`/`)"}
        volumes: {data: {}}
    """,
    )
    assert [o["kind"] for o in result.objects] == [
        "PersistentVolumeClaim", "ConfigMap", "Deployment", "Service", "Ingress",
    ]  # fmt: skip


# --- names ------------------------------------------------------------------------------


def test_service_names_are_cleaned_and_renames_reported(tmp_path: Path) -> None:
    result = translate_text(
        tmp_path,
        """
        services:
          Order_API.v2: {image: example/orders, ports: ["8000:8000"]}
    """,
    )
    assert result.renames == {"Order_API.v2": "order-api-v2"}
    assert get(result, "Service", "order-api-v2")["spec"]["selector"] == {
        "app.kubernetes.io/name": "order-api-v2"
    }
    assert "Renamed" in result.report_markdown()


def test_names_longer_than_63_characters_are_trimmed(tmp_path: Path) -> None:
    long = "reporting-service-background-worker-" * 3
    result = translate_text(tmp_path, f"services:\n  {long}x: {{image: example/w}}\n")
    (name,) = result.renames.values()
    assert len(name) <= 63 and not name.endswith("-")


DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def test_names_starting_with_a_digit_get_a_letter_prefix_and_a_decision(
    tmp_path: Path,
) -> None:
    result = translate_text(
        tmp_path,
        """
        services:
          "123": {image: example/a, ports: ["8080:80"]}
          3d_render: {image: example/r, expose: ["9000"]}
          web:
            image: example/web
            expose: ["80"]
            networks: {default: {aliases: ["9lives"]}}
    """,
    )
    assert result.renames == {"123": "svc-123", "3d_render": "svc-3d-render"}
    services = [o["metadata"]["name"] for o in result.objects if o["kind"] == "Service"]
    assert sorted(services) == ["svc-123", "svc-3d-render", "svc-9lives", "web"]
    assert all(DNS_1035.match(name) for name in services)
    assert get(result, "Deployment", "svc-123")["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "svc-123"
    }
    (why,) = [
        d for d in result.decisions if d.service == "123" and d.compose_key == "(name)"
    ]
    assert why.target == "name svc-123"
    assert "must start with a letter" in why.explanation
    assert "| `123` | `svc-123` |" in result.report_markdown()


def test_a_letter_prefixed_name_collides_like_any_other(tmp_path: Path) -> None:
    with pytest.raises(
        ComposeValidationError, match="`123` and `svc-123` both become `svc-123`"
    ):
        translate_text(
            tmp_path,
            """
            services:
              "123": {image: example/a}
              svc-123: {image: example/b}
        """,
        )


def test_names_that_collide_after_cleaning_fail_naming_both(tmp_path: Path) -> None:
    with pytest.raises(
        ComposeValidationError, match="`webApp` and `webapp` both become `webapp`"
    ):
        translate_text(
            tmp_path,
            """
            services:
              webApp: {image: example/a}
              webapp: {image: example/b}
        """,
        )


# --- workload kinds -----------------------------------------------------------------------


def test_worker_without_ports_becomes_a_recreate_singleton(tmp_path: Path) -> None:
    result = translate_text(tmp_path, "services:\n  jobs: {image: example/jobs}\n")
    spec = get(result, "Deployment", "jobs")["spec"]
    assert (spec["replicas"], spec["strategy"]["type"]) == (1, "Recreate")
    assert "Service" not in [o["kind"] for o in result.objects]


def test_restart_no_becomes_a_job(tmp_path: Path) -> None:
    result = translate_text(
        tmp_path,
        """
        services:
          migrate: {image: example/app, command: ["migrate"], restart: "no"}
    """,
    )
    job = get(result, "Job", "migrate")
    assert job["apiVersion"] == "batch/v1"
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] == 0


def test_global_mode_becomes_a_daemonset(tmp_path: Path) -> None:
    result = translate_text(
        tmp_path,
        """
        services:
          agent: {image: example/agent, deploy: {mode: global}}
    """,
    )
    assert (
        get(result, "DaemonSet", "agent")["spec"]["updateStrategy"]["type"]
        == "RollingUpdate"
    )


def test_replicas_come_from_deploy(tmp_path: Path) -> None:
    result = translate_text(
        tmp_path,
        """
        services:
          api: {image: example/api, expose: ["8080"], deploy: {replicas: 3}}
    """,
    )
    assert get(result, "Deployment", "api")["spec"]["replicas"] == 3


@pytest.mark.parametrize(
    ("label", "kind", "strategy"),
    [
        ("deployment", "Deployment", "RollingUpdate"),
        ("singleton", "Deployment", "Recreate"),
        ("statefulset", "StatefulSet", None),
        ("job", "Job", None),
        ("daemonset", "DaemonSet", None),
    ],
)
def test_workload_label_overrides_the_choice(
    tmp_path: Path, label: str, kind: str, strategy: str | None
) -> None:
    result = translate_text(
        tmp_path,
        f"""
        services:
          svc:
            image: example/svc
            ports: ["80"]
            labels: {{kubecourse.io/workload: {label}}}
    """,
    )
    workload = get(result, kind, "svc")
    assert workload["spec"].get("strategy", {}).get("type") == strategy
    assert any("kubecourse.io/workload" in d.explanation for d in result.decisions)


def test_singleton_label_caps_replicas_at_one_with_a_warning(tmp_path: Path) -> None:
    result = translate_text(
        tmp_path,
        """
        services:
          svc:
            image: example/svc
            deploy: {replicas: 3}
            labels: [kubecourse.io/workload=singleton]
    """,
    )
    assert get(result, "Deployment", "svc")["spec"]["replicas"] == 1
    assert [w.compose_key for w in result.warnings] == ["deploy.replicas"]


# --- ports ----------------------------------------------------------------------------------


def test_service_port_is_the_container_port_not_the_host_port(tmp_path: Path) -> None:
    result = translate_text(
        tmp_path,
        """
        services:
          web: {image: example/web, ports: ["8081:80", "127.0.0.1:9229:9229", "53:53/udp"]}
    """,
    )
    ports = get(result, "Service", "web")["spec"]["ports"]
    assert [(p["name"], p["port"], p["protocol"]) for p in ports] == [
        ("http", 80, "TCP"), ("tcp-9229", 9229, "TCP"), ("udp-53", 53, "UDP"),
    ]  # fmt: skip
    explained = " ".join(d.explanation for d in result.decisions if d.service == "web")
    assert "host port 8081" in explained and "port-forward" in explained


def test_well_known_images_without_ports_get_a_service(tmp_path: Path) -> None:
    result = translate_text(
        tmp_path,
        """
        services:
          cache: {image: "docker.io/library/redis:7"}
          broker: {image: "rabbitmq:3-management-alpine"}
          db: {image: "mariadb:11"}
    """,
    )
    ports = {o["metadata"]["name"]: [p["port"] for p in o["spec"]["ports"]]
             for o in result.objects if o["kind"] == "Service"}  # fmt: skip
    assert ports == {"cache": [6379], "broker": [5672, 15672], "db": [3306]}


# --- environment, env_file ------------------------------------------------------------------------


def test_environment_values_become_strings_and_valueless_ones_are_not_leaked(
    tmp_path: Path,
) -> None:
    result = translate_text(
        tmp_path,
        """
        services:
          app:
            image: example/app
            environment: {COUNT: 3, DEBUG: true, FROM_SHELL: null, TEXT: "$$(not a ref)"}
    """,
        environ={"FROM_SHELL": "secret"},
    )
    env = container(get(result, "Deployment", "app"))["env"]
    assert env == [
        {"name": "COUNT", "value": "3"}, {"name": "DEBUG", "value": "true"},
        {"name": "TEXT", "value": "$$(not a ref)"},
    ]  # fmt: skip
    assert [w.compose_key for w in result.warnings] == ["environment.FROM_SHELL"]


def test_env_file_becomes_a_config_map_loaded_with_env_from(tmp_path: Path) -> None:
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / ".app").write_text("A=1\nB=2\n")
    result = translate_text(
        tmp_path,
        """
        services:
          app: {image: example/app, env_file: [./envs/.app]}
    """,
    )
    assert get(result, "ConfigMap", "app-env")["data"] == {"A": "1", "B": "2"}
    assert container(get(result, "Deployment", "app"))["envFrom"] == [
        {"configMapRef": {"name": "app-env"}}
    ]


# --- healthcheck, resources, command ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("test", "command"),
    [
        (
            '["CMD-SHELL", "curl -f http://localhost || exit 1"]',
            ["sh", "-c", "curl -f http://localhost || exit 1"],
        ),
        (
            '"curl -f http://localhost || exit 1"',
            ["sh", "-c", "curl -f http://localhost || exit 1"],
        ),
        (
            '["CMD", "curl", "-f", "http://localhost"]',
            ["curl", "-f", "http://localhost"],
        ),
    ],
)
def test_healthcheck_becomes_an_exec_readiness_probe(
    tmp_path: Path, test: str, command: list[str]
) -> None:
    result = translate_text(
        tmp_path,
        f"""
        services:
          api:
            image: example/api
            expose: ["80"]
            healthcheck: {{test: {test}, interval: 1m30s, timeout: 500ms}}
    """,
    )
    probe = container(get(result, "Deployment", "api"))["readinessProbe"]
    assert probe == {"exec": {"command": command}, "periodSeconds": 90, "timeoutSeconds": 1,
                     "failureThreshold": 3}  # fmt: skip
    assert "livenessProbe" not in container(get(result, "Deployment", "api"))


def test_disabled_or_testless_healthchecks_give_no_probe(tmp_path: Path) -> None:
    result = translate_text(
        tmp_path,
        """
        services:
          off: {image: example/a, healthcheck: {disable: true}}
          timing: {image: example/b, healthcheck: {interval: 30s, retries: 3}}
    """,
    )
    for name in ("off", "timing"):
        assert "readinessProbe" not in container(get(result, "Deployment", name))
    assert [(w.service, w.compose_key) for w in result.warnings] == [
        ("timing", "healthcheck")
    ]


def test_resources_become_readable_quantities(tmp_path: Path) -> None:
    result = translate_text(
        tmp_path,
        """
        services:
          api:
            image: example/api
            deploy:
              resources:
                limits: {cpus: "0.50", memory: 512M}
                reservations: {cpus: "1", memory: 1.5g, pids: 10}
    """,
    )
    resources = container(get(result, "Deployment", "api"))["resources"]
    assert resources == {"limits": {"cpu": "500m", "memory": "512Mi"},
                         "requests": {"cpu": "1", "memory": "1536Mi"}}  # fmt: skip
    assert [w.compose_key for w in result.warnings] == [
        "deploy.resources.reservations.pids"
    ]


def test_entrypoint_is_command_and_command_is_args(tmp_path: Path) -> None:
    result = translate_text(
        tmp_path,
        """
        services:
          app: {image: example/app, entrypoint: nodemon --inspect server.js, command: [a, b]}
    """,
    )
    app = container(get(result, "Deployment", "app"))
    assert (app["command"], app["args"]) == (
        ["nodemon", "--inspect", "server.js"],
        ["a", "b"],
    )


# --- volumes -----------------------------------------------------------------------------------------


def test_named_volume_shared_by_two_services_is_one_claim(tmp_path: Path) -> None:
    result = translate_text(
        tmp_path,
        """
        services:
          writer: {image: example/writer, volumes: [shared:/out]}
          reader: {image: example/reader, volumes: ["shared:/in:ro"]}
        volumes: {shared: {}}
    """,
    )
    claims = [o for o in result.objects if o["kind"] == "PersistentVolumeClaim"]
    assert [c["metadata"]["name"] for c in claims] == ["shared"]
    assert (
        claims[0]["metadata"]["annotations"]["kubecourse.io/compose-service"]
        == "writer,reader"
    )
    reader = get(result, "Deployment", "reader")["spec"]["template"]["spec"]
    assert reader["volumes"] == [
        {"name": "shared", "persistentVolumeClaim": {"claimName": "shared"}}
    ]
    assert reader["containers"][0]["volumeMounts"] == [
        {"name": "shared", "mountPath": "/in", "readOnly": True}
    ]
    assert any("share one claim" in w.explanation for w in result.warnings)


def test_server_with_a_claim_uses_recreate(tmp_path: Path) -> None:
    result = translate_text(
        tmp_path,
        """
        services:
          cache: {image: redis:7, ports: ["6379:6379"], volumes: [cache:/data]}
        volumes: {cache: {}}
    """,
    )
    assert get(result, "Deployment", "cache")["spec"]["strategy"]["type"] == "Recreate"


def test_bind_mounts_and_docker_socket_become_empty_dirs_with_warnings(
    tmp_path: Path,
) -> None:
    result = translate_text(
        tmp_path,
        """
        services:
          ui:
            image: example/ui
            volumes: ["./site:/usr/share/nginx/html:ro", "/var/run/docker.sock:/var/run/docker.sock"]
            tmpfs: [/tmp]
    """,
    )
    volumes = get(result, "Deployment", "ui")["spec"]["template"]["spec"]["volumes"]
    assert [v.get("emptyDir") for v in volumes] == [{}, {}, {"medium": "Memory"}]
    reasons = {w.compose_key: w.explanation for w in result.warnings}
    assert "does not exist inside the cluster" in reasons["volumes[0]"]
    assert "Docker socket" in reasons["volumes[1]"]


# --- ingress -------------------------------------------------------------------------------------


def test_traefik_host_and_path_rule_becomes_a_host_rule(tmp_path: Path) -> None:
    result = translate_text(
        tmp_path,
        """
        services:
          web:
            image: example/web
            ports: ["80:80"]
            labels:
              traefik.http.routers.web.rule: Host(`shop.example.com`) && PathPrefix(`/api`)
    """,
    )
    (rule,) = get(result, "Ingress", result.project)["spec"]["rules"]
    assert rule["host"] == "shop.example.com"
    assert rule["http"]["paths"][0]["path"] == "/api"


def test_unsupported_traefik_rules_and_middlewares_are_warned(tmp_path: Path) -> None:
    result = translate_text(
        tmp_path,
        """
        services:
          web:
            image: example/web
            expose: ["80"]
            labels:
              traefik.http.routers.a.rule: Method(`GET`)
              traefik.http.routers.b.rule: PathPrefix(`/b`)
              traefik.http.routers.b.middlewares: auth@docker
              traefik.http.middlewares.auth.basicauth.users: "x:y"
    """,
    )
    keys = {w.compose_key for w in result.warnings}
    assert "labels.traefik.http.routers.a.rule" in keys
    assert "labels.traefik.http.routers.b.middlewares" in keys
    assert "labels" in keys  # the basicauth label itself has no Ingress equivalent


# --- build, warnings, leftovers -----------------------------------------------------------------


def test_build_only_service_needs_an_image_prefix(tmp_path: Path) -> None:
    text = "services:\n  api: {build: ./api, ports: ['8000:8000']}\n"
    with pytest.raises(ComposeValidationError, match="image_prefix"):
        translate_text(tmp_path, text)
    result = translate_text(tmp_path, text, image_prefix="registry.example/shop/")
    assert (
        container(get(result, "Deployment", "api"))["image"]
        == "registry.example/shop/api:latest"
    )
    assert [w.compose_key for w in result.warnings] == ["build"]


def test_messages_name_the_cli_flag_and_the_python_keyword(tmp_path: Path) -> None:
    text = """
    services:
      api: {build: ./api, ports: ['8000:8000'], depends_on: [db]}
      db: {image: redis}
    """
    with pytest.raises(ComposeValidationError) as excinfo:
        translate_text(tmp_path, text)
    (problem,) = excinfo.value.problems
    assert (
        "`--image-prefix <registry>` (or `image_prefix=` in Python)" in problem.message
    )
    assert "to translate()" not in problem.message
    result = translate_text(tmp_path, text, image_prefix="registry.example")
    build = next(w for w in result.warnings if w.compose_key == "build")
    assert "`--image-prefix` (`image_prefix=` in Python)" in build.explanation
    waits = next(d for d in result.decisions if d.compose_key == "depends_on.db")
    assert (
        "`--wait-for-dependencies` (or `wait_for_dependencies=True` in Python)"
        in waits.explanation
    )


def test_depends_on_says_whether_the_dependency_has_a_readiness_probe(
    tmp_path: Path,
) -> None:
    result = translate_text(
        tmp_path,
        """
        services:
          a: {image: x, depends_on: [b, c, d]}
          b: {image: redis}
          c:
            image: postgres
            healthcheck: {test: ["CMD", "pg_isready"]}
          d: {image: example/worker}
    """,
    )
    why = {d.compose_key: d.explanation for d in result.decisions if d.service == "a"}
    assert "readiness probe keeps it" not in why["depends_on.b"]
    assert "b has no healthcheck" in why["depends_on.b"]
    assert "ready as soon as its container runs" in why["depends_on.b"]
    assert "may start before b accepts connections" in why["depends_on.b"]
    assert "--wait-for-dependencies" in why["depends_on.b"]
    assert (
        "c's readiness probe (from its healthcheck) keeps it out" in why["depends_on.c"]
    )
    assert "no port to wait for" in why["depends_on.d"]
    assert "--wait-for-dependencies" not in why["depends_on.d"]
    probes = [
        container(get(result, "Deployment", n)).get("readinessProbe") for n in "bc"
    ]
    assert probes[0] is None and probes[1] is not None


def test_unhandled_keys_are_warnings_naming_service_and_key(tmp_path: Path) -> None:
    result = translate_text(
        tmp_path,
        """
        services:
          app: {image: example/app, extra_hosts: ["a:1.2.3.4"], ulimits: {nofile: 1024}}
    """,
    )
    assert {(w.service, w.compose_key) for w in result.warnings} == {
        ("app", "extra_hosts"), ("app", "ulimits"),
    }  # fmt: skip


def test_warnings_are_emitted_only_when_asked(tmp_path: Path) -> None:
    text = "services:\n  app: {image: example/app, ulimits: {nofile: 1024}}\n"
    translate_text(tmp_path, text)  # silent: -W error would fail the test otherwise
    with pytest.warns(TranslationWarning, match="ulimits"):
        translate_text(tmp_path, text, warn=True)
