"""The rules of the simulated runtime: which images exist, and what process a container runs."""

from __future__ import annotations

from typing import Any

import pytest

from kubecourse.embedded.controllers import imageconfig, images, pulls, registry
from kubecourse.embedded.controllers.interpreters import NOT_SIMULATED, python_output

DENIED = (
    "pull access denied, repository does not exist or may require authorization: "
    "server message: insufficient_scope: authorization failed"
)


def test_a_typo_of_an_official_image_is_denied_with_containerds_words() -> None:
    assert registry.pull_error("ngnix") == (
        'failed to pull and unpack image "docker.io/library/ngnix:latest": failed to '
        'resolve reference "docker.io/library/ngnix:latest": ' + DENIED
    )


def test_a_tag_that_is_no_tag_of_an_official_image_is_not_found() -> None:
    assert registry.pull_error("nginx:doesnotexist-9999") == (
        "rpc error: code = NotFound desc = failed to pull and unpack image "
        '"docker.io/library/nginx:doesnotexist-9999": failed to resolve reference '
        '"docker.io/library/nginx:doesnotexist-9999": '
        "docker.io/library/nginx:doesnotexist-9999: not found"
    )


@pytest.mark.parametrize(
    "tag",
    [
        "1.27",
        "1.27-alpine",
        "v3.1.2",
        "3-management-alpine",
        "16-alpine3.20",
        "3.12-slim-bookworm",
        "21-jdk",
        "stable-perl",
        "lts",
        "3.13.0rc1",
        "windowsservercore-ltsc2022",
    ],
)
def test_version_like_tags_and_the_usual_variant_words_pull(tag: str) -> None:
    assert registry.tag_exists(tag)
    assert registry.pull_error(f"nginx:{tag}") is None


@pytest.mark.parametrize("tag", ["doesnotexist-9999", "latset", "my-feature"])
def test_words_no_official_tag_uses_do_not(tag: str) -> None:
    assert not registry.tag_exists(tag)


@pytest.mark.parametrize(
    "image",
    [
        "docker.io/library/postgres:17.6",
        "library/redis:8.2.1",
        "example/api:1",  # a Docker Hub user's repository, with any tag
        "docker.io/netboxcommunity/netbox:v4.1-3.0.2",
        "dockersamples/visualizer:stable",
        "mcr.microsoft.com/mssql/server:2019-latest",
        "ghcr.io/goauthentik/server:2025.6.3",
        "registry.k8s.io/etcd:3.6.4-0",
        "registry.k8s.io/coredns/coredns:v1.12.1",
        "docker.io/kindest/kindnetd:v20250512-df8de77b",
        "quay.io/prometheus/prometheus:v2.54.1",
        "us-docker.pkg.dev/team/repo/app:1",
        "nginx@sha256:" + "a" * 64,
        "registry.company.internal/app:1",  # cannot be known: taken to exist
    ],
)
def test_public_and_unknowable_repositories_pull(image: str) -> None:
    assert registry.pull_error(image) is None


def test_every_image_of_the_cases_and_the_shop_pulls() -> None:
    used = [
        "traefik/whoami:v1.10.1",
        "busybox:1.36",
        "traefik:v3.1.2",
        "nginx:1.27-alpine",
        "postgres:16-alpine",
        "rabbitmq:3.13-alpine",
        "datalust/seq:latest",
        "docker.io/postgres:16-alpine",
        "docker.io/valkey/valkey:8.0-alpine",
        "envoyproxy/envoy:v1.11.1",
        "mongo",
        "openzipkin/zipkin",
        "postgres:15-alpine",
        "rabbitmq:3-management-alpine",
        "redis:alpine",
        "eshop/basket.api:linux-latest",
        "springcommunity/spring-petclinic-api-gateway",
    ]
    assert {image: registry.pull_error(image) for image in used} == dict.fromkeys(used)


def test_a_reserved_domain_has_no_such_host_and_loopback_refuses() -> None:
    assert registry.pull_error("myregistry.example/nope/app:v1") == (
        'failed to pull and unpack image "myregistry.example/nope/app:v1": failed to '
        'resolve reference "myregistry.example/nope/app:v1": failed to do request: '
        'Head "https://myregistry.example/v2/nope/app/manifests/v1": dial tcp: '
        "lookup myregistry.example on 172.18.0.1:53: no such host"
    )
    refused = registry.pull_error("localhost:5000/app")
    assert refused is not None and refused.endswith(
        'Head "http://localhost:5000/v2/app/manifests/latest": '
        "dial tcp 127.0.0.1:5000: connect: connection refused"
    )
    for image in ("x.invalid/a", "shop.test/a:1", "printer.local/a"):
        assert "no such host" in str(registry.pull_error(image))


def test_names_the_kubelet_cannot_parse_are_refused_with_its_message() -> None:
    with pytest.raises(registry.InvalidReference) as space:
        registry.parse("nginx latest")
    assert str(space.value) == (
        'Failed to apply default image tag "nginx latest": couldn\'t parse image name '
        '"nginx latest": invalid reference format'
    )
    with pytest.raises(registry.InvalidReference) as upper:
        registry.parse("Nginx:1.27")
    assert str(upper.value).endswith(
        "invalid reference format: repository name (library/Nginx) must be lowercase"
    )


def test_references_normalise_as_containerd_names_them() -> None:
    assert str(registry.parse("nginx")) == "docker.io/library/nginx:latest"
    assert str(registry.parse("localhost:5000/app:1")) == "localhost:5000/app:1"
    assert (
        str(registry.parse("index.docker.io/user/app")) == "docker.io/user/app:latest"
    )


def test_loaded_and_kind_node_images_are_present_on_the_node() -> None:
    loaded = registry.loaded_images("shop-api:1, registry.example/vote/vote:latest")
    assert loaded == {
        "docker.io/library/shop-api:1",
        "registry.example/vote/vote:latest",
    }
    assert pulls.present("shop-api:1", loaded)
    assert not pulls.present("shop-api:2", loaded)
    assert pulls.present("registry.k8s.io/kube-proxy:v1.37.0", set())
    assert not pulls.present("docker.io/library/etcd:3", set())


def test_pull_back_off_doubles_from_ten_seconds_to_five_minutes() -> None:
    timings = pulls.PullTimings(duration=0.1, backoff=10, backoff_max=300)
    delays = [pulls.backoff(n, timings) for n in range(1, 8)]
    assert delays == [10, 20, 40, 80, 160, 300, 300]


def test_a_failed_pull_shows_err_image_pull_then_image_pull_back_off() -> None:
    timings = pulls.PullTimings(duration=1, backoff=10, backoff_max=300)
    pull = pulls.Pull(image="ngnix")

    started = pulls.advance(pull, "Always", False, 0.0, timings)
    failed = pulls.advance(pull, "Always", False, 1.0, timings)
    backing_off = pulls.advance(pull, "Always", False, 6.0, timings)
    retried = pulls.advance(pull, "Always", False, 12.0, timings)

    assert [e[:1] for e in started.events] == [("Pulling",)]
    assert started.waiting == ("ContainerCreating", "")
    assert [e[0] for e in failed.events] == ["Failed", "Failed"]
    assert failed.events[1][1] == "Error: ErrImagePull"
    assert failed.waiting is not None and failed.waiting[0] == "ErrImagePull"
    assert backing_off.waiting == ("ImagePullBackOff", 'Back-off pulling image "ngnix"')
    assert [(e[0], e[2]) for e in backing_off.events] == [
        ("BackOff", "Normal"),
        ("Failed", "Warning"),
    ]
    assert [e[0] for e in retried.events] == ["Pulling", "Failed", "Failed"]
    assert pull.failures == 2 and retried.wait == pytest.approx(10.0)


def test_never_pull_and_an_unparsable_name_wait_without_pulling() -> None:
    timings = pulls.PullTimings(duration=1, backoff=10, backoff_max=300)
    never = pulls.advance(pulls.Pull(image="nginx:1.27"), "Never", False, 0.0, timings)
    invalid = pulls.advance(
        pulls.Pull(image="nginx latest"), "Always", False, 0, timings
    )
    assert never.waiting is not None and never.waiting[0] == "ErrImageNeverPull"
    assert never.events[0] == (
        "ErrImageNeverPull",
        'Container image "nginx:1.27" is not present with pull policy of Never',
        "Warning",
    )
    assert invalid.waiting is not None and invalid.waiting[0] == "InvalidImageName"
    assert [e[0] for e in invalid.events] == ["InspectFailed", "Failed"]


# -- the process a container runs ---------------------------------------------------


def container(image: str, **fields: Any) -> dict[str, Any]:
    return {"name": "c", "image": image, **fields}


@pytest.mark.parametrize(
    ("fields", "argv"),
    [
        (container("busybox"), ["sh"]),
        (container("busybox", args=["echo", "hello"]), ["echo", "hello"]),
        (container("nginx:1.27"), ["nginx", "-g", "daemon off;"]),
        (container("nginx:1.27", args=["echo", "hi"]), ["echo", "hi"]),
        (container("redis:7", args=["--appendonly", "yes"]), ["redis-server", "--appendonly", "yes"]),
        (container("traefik:v3.1", args=["--api"]), ["traefik", "--api"]),
        (container("python:3.12"), ["python3"]),
        (container("busybox", command=["sleep"], args=["5"]), ["sleep", "5"]),
        (container("traefik/whoami", args=["--port", "8080"]), ["/whoami", "--port", "8080"]),
        (container("example/api:1"), []),
    ],
)  # fmt: skip
def test_args_replace_cmd_and_command_replaces_the_entrypoint(
    fields: dict[str, Any], argv: list[str]
) -> None:
    assert images.process(fields) == argv


def test_what_ends_by_itself_and_what_runs_until_stopped() -> None:
    assert images.finishes(container("busybox")) == (0.0, 0)
    assert images.finishes(container("busybox", stdin=True)) is None  # `run -it`
    assert images.finishes(container("busybox", args=["echo", "hello"])) == (0.0, 0)
    assert images.finishes(container("busybox", args=["sleep", "3"])) == (3.0, 0)
    assert images.finishes(container("busybox", args=["false"])) == (0.0, 1)
    assert images.finishes(container("hello-world")) == (0.0, 0)
    assert images.finishes(container("python:3.12")) == (0.0, 0)
    for server in ("nginx:1.27", "postgres:16", "traefik/whoami", "example/api:1"):
        assert images.finishes(container(server)) is None


def test_a_server_image_with_arguments_still_logs_its_start_up() -> None:
    log = images.container_log(container("redis:7", args=["--port", "7000"]), "p", 0.0)
    assert any("Ready to accept connections" in line for line in log)
    assert list(
        images.container_log(container("busybox", args=["echo", "hi"]), "p", 0)
    ) == ["hi"]


def test_python_dash_c_prints_literals_and_arithmetic_and_says_what_it_cannot_do() -> (
    None
):
    assert python_output("print(1)") == (["1"], 0)
    assert python_output('print("total", 2 + 3 * 4); print(2 ** 10)') == (
        ["total 14", "1024"],
        0,
    )
    assert python_output('print("a", "b", sep="-")') == (["a-b"], 0)
    assert python_output("import os; print(os.getcwd())") == ([NOT_SIMULATED], 1)
    assert python_output("print(9 ** 9 ** 9)") == ([NOT_SIMULATED], 1)
    fields = container("python:3.12", args=["python", "-c", "print('hello')"])
    assert list(images.container_log(fields, "p", 0.0)) == ["hello"]
    assert images.finishes(fields) == (0.0, 0)


def test_known_images_name_their_entrypoint_and_cmd() -> None:
    assert imageconfig.config("busybox") == imageconfig.ImageConfig(cmd=("sh",))
    assert imageconfig.default_program("postgres") == "postgres"
    assert images.process(container("registry.k8s.io/pause:3.10")) == ["/pause"]
