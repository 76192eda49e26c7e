"""Loading compose files: merge, interpolation, anchors, profiles, env files, validation."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kubecourse.compose import ComposeValidationError, load
from kubecourse.compose.interpolate import InterpolationError, Interpolator
from kubecourse.errors import ComposeError


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(
    excinfo: pytest.ExceptionInfo[ComposeValidationError],
) -> dict[str, str]:
    return {p.key_path: p.message for p in excinfo.value.problems}


# --- merging several files -------------------------------------------------------


def test_later_file_overrides_scalars_and_merges_mappings(tmp_path: Path) -> None:
    base = write(
        tmp_path,
        "compose.yaml",
        """
        services:
          api:
            image: example/api:1
            environment: [MODE=prod, LEVEL=info]
            ports: ["8080:80"]
    """,
    )
    override = write(
        tmp_path,
        "override.yaml",
        """
        services:
          api:
            image: example/api:2
            environment: {LEVEL: debug, EXTRA: "1"}
            ports: ["8080:80", "9090:90"]
    """,
    )
    api = load([base, override], environ={}).services["api"]
    assert api.image == "example/api:2"
    assert api.environment == {"MODE": "prod", "LEVEL": "debug", "EXTRA": "1"}
    assert [p.container for p in api.ports] == [80, 90]


def test_override_file_can_add_a_service_and_volumes_merge_by_target(
    tmp_path: Path,
) -> None:
    base = write(
        tmp_path,
        "a.yaml",
        """
        services:
          web: {image: nginx, volumes: ["./a:/site", "./logs:/logs"]}
    """,
    )
    override = write(
        tmp_path,
        "b.yaml",
        """
        services:
          web: {volumes: ["./b:/site"]}
          extra: {image: busybox}
    """,
    )
    project = load([base, override], environ={})
    assert list(project.services) == ["web", "extra"]
    sources = {m.target: m.source for m in project.services["web"].mounts}
    assert sources == {"/site": "./b", "/logs": "./logs"}


# --- interpolation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("${SET}", "value"),
        ("$SET-suffix", "value-suffix"),
        ("${UNSET:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${EMPTY-fallback}", ""),
        ("${UNSET-fallback}", "fallback"),
        ("${SET:+alternative}", "alternative"),
        ("${EMPTY:+alternative}", ""),
        ("${EMPTY+alternative}", "alternative"),
        ("${UNSET+alternative}", ""),
        ("${UNSET:-${SET}}", "value"),
        ("$${SET} costs $$5", "${SET} costs $5"),
        ("${SET:?must be set}", "value"),
        ("${EMPTY?only unset fails}", ""),
    ],
)
def test_interpolation_follows_compose_rules(template: str, expected: str) -> None:
    interpolator = Interpolator({"SET": "value", "EMPTY": ""})
    assert interpolator.expand(template) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            "${UNSET:?give a password}",
            "required variable UNSET is missing a value: give a password",
        ),
        ("${EMPTY:?nope}", "required variable EMPTY"),
        ("${UNSET?x}", "required variable UNSET"),
        ("$(date)", "write `$$` for a literal dollar sign"),
        ("${OPEN", "unclosed"),
        ("${1BAD}", "invalid variable name"),
        ("${SET/x}", "invalid interpolation"),
    ],
)
def test_bad_or_unsatisfied_templates_raise_a_clear_error(
    template: str, message: str
) -> None:
    with pytest.raises(
        InterpolationError, match=message.replace("$", r"\$").replace("(", r"\(")
    ):
        Interpolator({"SET": "value", "EMPTY": ""}).expand(template)


def test_unset_variable_becomes_empty_and_is_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "compose.yaml",
        """
        services:
          api: {image: "example/api:${TAG}"}
    """,
    )
    project = load(path, environ={})
    assert project.services["api"].image == "example/api:"
    assert any("TAG" in w.compose_key for w in project.warnings)


def test_dot_env_beside_the_file_and_env_file_argument_fill_variables(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "compose.yaml",
        """
        services:
          api: {image: "example/api:${TAG}", environment: {LEVEL: "${LEVEL}"}}
    """,
    )
    write(tmp_path, ".env", "TAG=1.0\nLEVEL=info\n")
    extra = write(tmp_path, "prod.env", "export LEVEL='warn'  \n# comment\n")
    api = load(path, env_file=extra, environ={}).services["api"]
    assert (api.image, api.environment["LEVEL"]) == ("example/api:1.0", "warn")


def test_process_environment_wins_over_dot_env(tmp_path: Path) -> None:
    path = write(tmp_path, "compose.yaml", "services: {api: {image: 'a:${TAG}'}}\n")
    write(tmp_path, ".env", "TAG=from-file\n")
    assert (
        load(path, environ={"TAG": "from-shell"}).services["api"].image
        == "a:from-shell"
    )


def test_missing_required_variables_are_all_reported_with_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "compose.yaml",
        """
        services:
          db:
            image: postgres:16
            environment:
              - POSTGRES_PASSWORD=${DB_PASSWORD:?set DB_PASSWORD}
              - OTHER=${OTHER:?set OTHER}
    """,
    )
    with pytest.raises(ComposeValidationError) as excinfo:
        load(path, environ={})
    found = {(p.key_path, p.line) for p in excinfo.value.problems}
    assert found == {
        ("services.db.environment[0]", 6),
        ("services.db.environment[1]", 7),
    }
    assert "set DB_PASSWORD" in str(excinfo.value)


def test_extension_fields_are_not_interpolated_or_validated(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "compose.yaml",
        """
        x-notes: {text: "${WOULD_FAIL:?not needed}"}
        services:
          api: {image: example/api}
    """,
    )
    assert list(load(path, environ={}).services) == ["api"]


# --- YAML features -------------------------------------------------------------------


def test_anchors_and_merge_keys_share_settings_between_services(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "compose.yaml",
        """
        x-common: &common
          image: example/app
          environment: {LOG_LEVEL: info}
        services:
          web:
            <<: *common
            ports: ["8080:8080"]
          worker:
            <<: *common
            command: ["worker"]
    """,
    )
    services = load(path, environ={}).services
    assert services["web"].image == services["worker"].image == "example/app"
    assert services["worker"].environment == {"LOG_LEVEL": "info"}
    assert services["worker"].command == ["worker"]


def test_yaml_1_2_scalars_keep_no_and_port_pairs_as_strings(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "compose.yaml",
        """
        services:
          job:
            image: busybox
            restart: no
            environment: {ENABLED: yes, COUNT: 010}
            ports:
              - 22:22
    """,
    )
    job = load(path, environ={}).services["job"]
    assert job.restart == "no"
    assert job.environment == {"ENABLED": "yes", "COUNT": "10"}
    assert [(p.published, p.container) for p in job.ports] == [("22", 22)]


# --- profiles ------------------------------------------------------------------------


def test_services_with_profiles_are_skipped_unless_selected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "compose.yaml",
        """
        services:
          app: {image: example/app}
          seed: {image: example/seed, profiles: [seed]}
    """,
    )
    default = load(path, environ={})
    assert list(default.services) == ["app"]
    assert default.skipped == {"seed": ["seed"]}
    assert any(
        d.service == "seed" and "profile seed" in d.explanation
        for d in default.decisions
    )
    assert list(load(path, profiles=["seed"], environ={}).services) == ["app", "seed"]


def test_a_profile_no_service_uses_is_a_warning_naming_it(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "compose.yaml",
        """
        services:
          app: {image: example/app}
          seed: {image: example/seed, profiles: [seed]}
    """,
    )
    project = load(path, profiles=["nope", "seed"], environ={})
    assert list(project.services) == ["app", "seed"]
    (warning,) = project.warnings
    assert warning.compose_key == "--profile nope"
    assert "profile `nope`" in warning.explanation
    assert "no service lists it" in warning.explanation
    assert "the profiles in this project are: seed" in warning.explanation
    assert load(path, profiles=["*"], environ={}).warnings == []


def test_skipped_service_names_the_profile_flag(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "compose.yaml",
        "services:\n  app: {image: a}\n  seed: {image: s, profiles: [seed]}\n",
    )
    (note,) = [d for d in load(path, environ={}).decisions if d.service == "seed"]
    assert "`--profile seed` (or `profiles=['seed']` in Python)" in note.explanation


# --- env files -----------------------------------------------------------------------


def test_service_env_file_is_read_relative_to_the_compose_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "compose.yaml",
        """
        services:
          app: {image: example/app, env_file: [./env/app.env]}
    """,
    )
    write(tmp_path, "env/app.env", 'A=1\nB="two words"\nSECRET\n')
    project = load(path, environ={"SECRET": "leaked?"})
    assert project.services["app"].env_from_files == {"A": "1", "B": "two words"}
    assert any("SECRET" in w.explanation for w in project.warnings)


def test_missing_env_file_is_a_problem_naming_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "compose.yaml",
        """
        services:
          app: {image: example/app, env_file: env/app.env}
          opt:
            image: example/opt
            env_file: [{path: ./missing.env, required: false}]
    """,
    )
    with pytest.raises(ComposeValidationError) as excinfo:
        load(path, environ={})
    assert problems_of(excinfo) == {
        "services.app.env_file": f"env file `env/app.env` not found (looked for {tmp_path / 'env/app.env'})"
    }


# --- validation ------------------------------------------------------------------------


def test_validation_collects_every_problem_with_key_path_and_line(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "compose.yaml",
        """
        services:
          web:
            image: nginx
            ports:
              - "8080:80"
              - "80:abc"
            restart: sometimes
            healthcheck: {test: ["CMD", "true"], interval: soon}
          nothing:
            environment: {A: 1}
          typo:
            image: busybox
            comand: ["sleep"]
          builder:
            build: ./src
    """,
    )
    with pytest.raises(ComposeValidationError) as excinfo:
        load(path, environ={})
    located = {(p.key_path, p.line) for p in excinfo.value.problems}
    assert located == {
        ("services.web.ports[1]", 7),
        ("services.web.restart", 8),
        ("services.web.healthcheck.interval", 9),
        ("services.nothing", 10),
        ("services.typo.comand", 14),
        ("services.builder.build", 16),
    }
    message = str(excinfo.value)
    assert message.startswith("6 problems in the compose input:")
    assert (
        f"{path}:7 services.web.ports[1]: `80:abc` is not valid port syntax" in message
    )


def test_ports_above_65535_are_problems_with_key_path_and_line(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "compose.yaml",
        """
        services:
          x:
            image: nginx
            ports: ["99999:80"]
          y:
            image: nginx
            expose: ["70000"]
          z:
            image: nginx
            ports:
              - {target: 80, published: 70000}
              - "8000-8001:80-81"
              - "65536-65537:90-91"
    """,
    )
    with pytest.raises(ComposeValidationError) as excinfo:
        load(path, environ={})
    located = {(p.key_path, p.line): p.message for p in excinfo.value.problems}
    assert located == {
        ("services.x.ports[0]", 5): "host (published) port 99999 is outside 1-65535",
        ("services.y.expose[0]", 8): "port 70000 is outside 1-65535",
        ("services.z.ports[0]", 12): "host (published) port 70000 is outside 1-65535",
        ("services.z.ports[2]", 14): "host (published) port 65536 is outside 1-65535",
    }


def test_undeclared_volumes_networks_and_dependencies_are_problems(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "compose.yaml",
        """
        services:
          api:
            image: example/api
            volumes: [data:/data]
            networks: [backend]
            depends_on: [db]
    """,
    )
    with pytest.raises(ComposeValidationError) as excinfo:
        load(path, environ={})
    assert set(problems_of(excinfo)) == {
        "services.api.volumes[0]", "services.api.networks.backend", "services.api.depends_on.db",
    }  # fmt: skip


def test_unknown_top_level_key_and_bad_workload_label_are_problems(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "compose.yaml",
        """
        servces: {}
        services:
          api:
            image: example/api
            labels: {kubecourse.io/workload: pet}
    """,
    )
    with pytest.raises(ComposeValidationError) as excinfo:
        load(path, environ={})
    assert set(problems_of(excinfo)) == {
        "servces",
        "services.api.labels.kubecourse.io/workload",
    }


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path, "compose.yaml", "services:\n  a: {image: x}\n  a: {image: y}\n"
    )
    with pytest.raises(ComposeValidationError, match="duplicate key `a`"):
        load(path, environ={})


def test_invalid_yaml_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "compose.yaml", "services:\n  web:\n    image: [unclosed\n")
    with pytest.raises(ComposeValidationError) as excinfo:
        load(path, environ={})
    assert excinfo.value.problems[0].line is not None
    assert "invalid YAML" in excinfo.value.problems[0].message


# --- hostile input -----------------------------------------------------------------------


def test_a_list_document_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = write(tmp_path, "compose.yaml", "- services\n- web\n")
    with pytest.raises(ComposeError, match="not a mapping"):
        load(path, environ={})


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "compose.yaml", "# nothing\n")
    with pytest.raises(ComposeError, match="empty"):
        load(path, environ={})


def test_files_over_a_megabyte_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text("services: {}\n" + "#" * 1_100_000 + "\n")
    with pytest.raises(ComposeError, match="bytes are refused"):
        load(path, environ={})


def test_alias_expansion_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    lines.append("services: {web: {image: nginx, command: *a8}}")
    path = write(tmp_path, "compose.yaml", "\n".join(lines) + "\n")
    with pytest.raises(ComposeError, match="expands to more than"):
        load(path, environ={})


def test_deeply_nested_yaml_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "compose.yaml",
        "x-deep: " + "[" * 200 + "]" * 200 + "\nservices: {}\n",
    )
    with pytest.raises(ComposeError, match="nested"):
        load(path, environ={})


def test_python_tags_are_refused_as_invalid_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "compose.yaml", "services: !!python/object:os.system {}\n")
    with pytest.raises(ComposeValidationError, match="invalid YAML"):
        load(path, environ={})


def test_missing_compose_file_is_a_compose_error(tmp_path: Path) -> None:
    with pytest.raises(ComposeError, match="cannot read compose file"):
        load(tmp_path / "nope.yaml", environ={})
