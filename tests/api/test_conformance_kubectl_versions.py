"""Core kubectl scenarios run with each kubectl the reference asks for: the course's
kubectl 1.37 (protobuf request bodies) and kubectl 1.31 (JSON bodies) when one is
installed; the 1.31 runs are skipped, with the reason, when it is not (see the
`kubectl_131` fixture in conftest.py)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable

import pytest
import yaml

from tests.api.conftest import deployment, eventually

pytestmark = pytest.mark.kubectl

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
VERSIONS = pytest.mark.parametrize("which", ["kubectl", "kubectl_131"])


@pytest.fixture
def run(request: pytest.FixtureRequest, which: str) -> Kubectl:
    chosen: Kubectl = request.getfixturevalue(which)
    return chosen


def suffix(which: str) -> str:
    return "v137" if which == "kubectl" else "v131"


def running_rows(run: Kubectl, app: str) -> list[str]:
    out = run("get", "pods", "-l", f"app={app}", "-o", "wide").stdout
    return [
        line for line in out.splitlines()[1:] if re.search(r"\s1/1\s+Running\s", line)
    ]


@VERSIONS
def test_apply_creates_then_configures_without_warnings(
    run: Kubectl, which: str
) -> None:
    name = f"apply-{suffix(which)}"
    first = run("apply", "-f", "-", input=yaml.safe_dump(deployment(name, replicas=2)))
    assert (
        f"deployment.apps/{name} created" in first.stdout
        and "warning" not in first.stderr.lower()
    )
    second = run("apply", "-f", "-", input=yaml.safe_dump(deployment(name, replicas=3)))
    assert (
        f"deployment.apps/{name} configured" in second.stdout
        and "warning" not in second.stderr.lower()
    )


@VERSIONS
def test_get_pods_wide_shows_ip_node_and_readiness_gates(
    run: Kubectl, which: str
) -> None:
    name = f"wide-{suffix(which)}"
    run("apply", "-f", "-", input=yaml.safe_dump(deployment(name, replicas=2)))
    found = eventually(
        lambda: len(running_rows(run, name)) == 2 and running_rows(run, name),
        what="2 running pods",
    )
    header = run("get", "pods", "-l", f"app={name}", "-o", "wide").stdout.splitlines()[
        0
    ]
    assert re.match(
        r"NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$",
        header,
    )
    for row in found:
        assert re.search(
            r"\s10\.244\.\d+\.\d+\s+kubecourse-worker\d?\s+<none>\s+<none>$", row
        )


@VERSIONS
def test_scale_then_get_endpoints_follow(run: Kubectl, which: str) -> None:
    name = f"scale-{suffix(which)}"
    run("apply", "-f", "-", input=yaml.safe_dump(deployment(name, replicas=1)))
    run("expose", "deployment", name, "--port=80")
    assert (
        f"deployment.apps/{name} scaled"
        in run("scale", f"deployment/{name}", "--replicas=4").stdout
    )

    def addresses() -> int:
        line = run("get", "endpoints", name).stdout.splitlines()[1]
        more = re.search(r"\+ (\d+) more", line)
        return len(re.findall(r"10\.244\.\d+\.\d+:80", line)) + (
            int(more.group(1)) if more else 0
        )

    eventually(lambda: addresses() == 4, what="4 endpoint addresses")


@VERSIONS
def test_create_deployment_generator_makes_a_defaulted_deployment(
    run: Kubectl, which: str
) -> None:
    name = f"gen-{suffix(which)}"
    done = run(
        "create", "deployment", name, "--image=nginx:1.27", "--replicas=2", "--port=80"
    )
    assert f"deployment.apps/{name} created" in done.stdout
    made = yaml.safe_load(run("get", "deployment", name, "-o", "yaml").stdout)
    assert made["spec"]["selector"] == {"matchLabels": {"app": name}}
    container = made["spec"]["template"]["spec"]["containers"][0]
    assert (
        container["image"],
        container["imagePullPolicy"],
        container["ports"][0]["containerPort"],
    ) == ("nginx:1.27", "IfNotPresent", 80)
    eventually(lambda: len(running_rows(run, name)) == 2, what="2 running pods")
