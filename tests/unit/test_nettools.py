"""wget, curl and nc in a simulated container, over the simulated network."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kubecourse.embedded import shell
from kubecourse.embedded.shell.programs import DEBIAN, Answer, Sandbox
from tests.unit.networld import World
from tests.unit.test_shell import FakeTerminal, sandbox

DNS = {
    "web.default.svc.cluster.local": Answer(
        "web.default.svc.cluster.local", ["10.96.0.20"]
    ),
    "db.default.svc.cluster.local": Answer(
        "db.default.svc.cluster.local", ["10.96.0.30"]
    ),
    "empty.default.svc.cluster.local": Answer(
        "empty.default.svc.cluster.local", ["10.96.0.40"]
    ),
}


@pytest.fixture
def world() -> World:
    world = World()
    web = world.pod("web-0", "10.244.1.10", labels={"app": "web"})
    world.service("web", "10.96.0.20", [web])
    db = world.pod("db-0", "10.244.1.20", image="postgres:16", labels={"app": "db"})
    world.service("db", "10.96.0.30", [db], port=5432, target=5432)
    world.service("empty", "10.96.0.40", [])
    world.pod("client", "10.244.2.5", image="busybox:1.36", node="kubecourse-worker2")
    return world


def box(world: World, **changes: Any) -> Sandbox:
    client = world.store.get("pods", "default", "client")
    assert client is not None
    changes.setdefault("dialer", world.network.dialer(client))
    return sandbox(lookup=DNS.get, **changes)


def run(world: World, script: str, **changes: Any) -> tuple[int, str, str, list[float]]:
    term = FakeTerminal()
    code = asyncio.run(shell.execute(["sh", "-c", script], box(world, **changes), term))
    return code, "".join(term.out), "".join(term.err), term.slept


def test_wget_prints_the_page_a_service_answers(world: World) -> None:
    code, out, err, _ = run(world, "wget -qO- http://web/hello")

    assert (code, err) == (0, "")
    assert out.startswith(
        "Hostname: web-0\nIP: 127.0.0.1\nIP: 10.244.1.10\nRemoteAddr: 10.244.2.5:"
    )
    assert (
        "GET /hello HTTP/1.1\r\nHost: web\r\nUser-Agent: Wget\r\nConnection: close\r\n"
        in out
    )


def test_wget_without_quiet_says_where_it_connects_and_what_it_wrote(
    world: World,
) -> None:
    code, _, err, _ = run(world, "wget -O- http://web.default.svc.cluster.local:80/")

    lines = err.splitlines()
    assert code == 0
    assert lines[0] == "Connecting to web.default.svc.cluster.local:80 (10.96.0.20:80)"
    assert lines[1] == "writing to stdout" and lines[-1] == "written to stdout"
    assert lines[2].startswith(
        "-                   100% |********************************|"
    )


def test_wget_failures_read_as_busybox_writes_them(world: World) -> None:
    assert run(world, "wget -qO- http://nope")[:3] == (
        1,
        "",
        "wget: bad address 'nope'\n",
    )
    assert run(world, "wget -qO- http://empty")[:3] == (
        1, "", "wget: can't connect to remote host (10.96.0.40): Connection refused\n")  # fmt: skip
    code, _, err, slept = run(world, "wget -T 2 -qO- http://web:81")
    assert (code, err, slept) == (1, "wget: download timed out\n", [2.0])
    assert run(world, "wget -qO- http://db:5432")[2] == "wget: error getting response\n"
    assert run(world, "wget -qO- http://web/x -O index.html")[0] == 1


def test_wget_reports_a_server_error_status(world: World) -> None:
    world.pod(
        "api", "10.244.1.30", image="example/api:1", ports=[{"containerPort": 80}]
    )

    code, _, err, _ = run(world, "wget -qO- http://10.244.1.30/")

    assert (code, err) == (
        1,
        "wget: server returned error: HTTP/1.1 501 Not Implemented\n",
    )


def test_curl_prints_the_body_and_with_dash_i_the_headers(world: World) -> None:
    debian = {"flavour": DEBIAN}
    code, out, _, _ = run(world, "curl -s http://web/api", **debian)
    assert code == 0 and out.startswith('{"hostname":"web-0"')
    code, out, _, _ = run(world, "curl -si http://web/", **debian)
    assert (
        out.startswith("HTTP/1.1 200 OK\r\nDate: ")
        and "\r\n\r\nHostname: web-0\n" in out
    )
    assert "User-Agent: curl/7.88.1\r\nAccept: */*\r\n" in out
    assert (
        run(world, "curl -s -o /dev/null -w '%{http_code}' http://web/", **debian)[1]
        == "200"
    )


def test_curl_failures_carry_curls_codes_and_messages(world: World) -> None:
    debian = {"flavour": DEBIAN}
    assert run(world, "curl -sS http://nope", **debian)[:3] == (
        6,
        "",
        "curl: (6) Could not resolve host: nope\n",
    )
    code, _, err, _ = run(world, "curl -sS http://empty/", **debian)
    assert code == 7 and err.startswith(
        "curl: (7) Failed to connect to empty port 80 after "
    )
    assert err.endswith(" ms: Couldn't connect to server\n")
    assert run(world, "curl -s http://db:5432/", **debian)[:3] == (52, "", "")
    assert (
        run(world, "curl -sS http://db:5432/", **debian)[2]
        == "curl: (52) Empty reply from server\n"
    )
    code, _, err, _ = run(
        world, "curl -sS --connect-timeout 3 http://web:81/", **debian
    )
    assert (code, err) == (
        28,
        "curl: (28) Failed to connect to web port 81 after 3001 ms: Timeout was reached\n",
    )
    code, _, err, slept = run(world, "curl -sS http://web:81/", **debian)
    assert (code, slept) == (28, [127.0])  # the kernel's SYN retries
    assert (
        err
        == "curl: (28) Failed to connect to web port 81 after 127000 ms: Couldn't connect to server\n"
    )


def test_curl_fail_flag_turns_an_error_status_into_exit_22(world: World) -> None:
    world.pod(
        "api", "10.244.1.30", image="example/api:1", ports=[{"containerPort": 80}]
    )

    assert run(world, "curl -sSf http://10.244.1.30/", flavour=DEBIAN)[:3] == (
        22, "", "curl: (22) The requested URL returned error: 501\n")  # fmt: skip


def test_nc_checks_ports_as_busybox_nc_does(world: World) -> None:
    assert run(world, "nc -z db 5432")[:3] == (0, "", "")
    assert run(world, "nc -zv db 5432")[2] == "db (10.96.0.30:5432) open\n"
    assert run(world, "nc -zv empty 80")[:3] == (1, "", "")  # one -v hides refusals
    assert (
        run(world, "nc -zvv empty 80")[2]
        == "nc: empty (10.96.0.40:80): Connection refused\n"
    )
    assert (
        run(world, "nc -zv -w 1 web 81")[2]
        == "nc: web (10.96.0.20:81): Connection timed out\n"
    )
    assert run(world, "nc -z nope 80")[2] == "nc: bad address 'nope'\n"


def test_a_network_policy_makes_the_client_wait_then_time_out(world: World) -> None:
    world.policy("deny-web", podSelector={"matchLabels": {"app": "web"}})

    code, _, err, slept = run(world, "wget -qO- http://web/")

    assert (code, slept) == (1, [127.0])
    assert (
        err == "wget: can't connect to remote host (10.96.0.20): Connection timed out\n"
    )


def test_localhost_and_the_own_hostname_resolve_from_etc_hosts_to_the_pod_itself(
    world: World,
) -> None:
    web = world.store.get("pods", "default", "web-0")
    assert web is not None
    hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n10.244.1.10\tweb-0\n"
    inside = {"dialer": world.network.dialer(web), "files": {"/etc/hosts": hosts}}

    for url in ("localhost", "http://localhost/", "web-0"):
        code, out, err, _ = run(world, f"wget -qO- {url}", **inside)
        assert (code, err) == (0, ""), url
        assert out.startswith("Hostname: web-0\n")
    code, out, _, _ = run(world, "curl -s localhost", flavour=DEBIAN, **inside)
    assert code == 0 and out.startswith("Hostname: web-0\n")
    assert run(world, "nc -z localhost 80", **inside)[0] == 0
