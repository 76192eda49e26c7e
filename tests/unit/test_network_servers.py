"""The simulated servers: whoami, nginx, databases, and HTTP/1.1 on the wire."""

from __future__ import annotations

import asyncio
import json

import pytest

from kubecourse.embedded.network.http import (
    MalformedMessage,
    Request,
    read_request,
    read_response,
)
from kubecourse.embedded.network.wire import EmptyReply, exchange
from tests.unit.networld import World


@pytest.fixture
def world() -> World:
    return World()


def test_whoami_answers_with_its_name_ips_and_the_request_as_go_writes_it(
    world: World,
) -> None:
    world.pod("whoami-7d9f", "10.244.1.10")
    client = world.pod("box", "10.244.2.5", image="busybox", node="kubecourse-worker2")
    conn = world.network.connect(world.network.source_of(client), "10.244.1.10", 80)
    request = Request("GET", "/path?q=1", "HTTP/1.1",
                      [("Host", "web"), ("user-agent", "Wget"), ("connection", "close"), ("Accept", "*/*")])  # fmt: skip

    reply = asyncio.run(exchange(conn, request))

    head = [k for k, _ in reply.headers]
    assert head == ["Date", "Content-Length", "Content-Type", "Connection"]
    lines = reply.body.decode().split("\n")
    assert lines[:3] == ["Hostname: whoami-7d9f", "IP: 127.0.0.1", "IP: 10.244.1.10"]
    assert lines[3].startswith("RemoteAddr: 10.244.2.5:")
    assert reply.body.decode().split("\n", 4)[4] == (
        "GET /path?q=1 HTTP/1.1\r\nHost: web\r\nUser-Agent: Wget\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    )


def test_whoami_api_health_and_name_flag(world: World) -> None:
    world.pod("whoami", "10.244.1.10", args=["--name", "blue", "--port=8080"])

    api = world.answer(None, "10.244.1.10", 8080, "/api")
    data = json.loads(api.body)
    assert (data["hostname"], data["name"], data["url"], data["ip"]) == (
        "whoami", "blue", "/api", ["127.0.0.1", "10.244.1.10"])  # fmt: skip
    assert api.header("Content-Type") == "application/json"
    health = world.answer(None, "10.244.1.10", 8080, "/health")
    assert (health.status, health.body) == (200, b"")
    assert world.answer(None, "10.244.1.10", 8080).body.startswith(
        b"Name: blue\nHostname: whoami\n"
    )


def test_http_messages_are_read_once_complete_chunked_bodies_included() -> None:
    buffer = bytearray(b"GET / HTTP/1.1\r\nHost: a\r\n")
    assert read_request(buffer) is None
    buffer.extend(b"\r\nPOST /x HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi")
    assert read_request(buffer).target == "/"  # type: ignore[union-attr]
    post = read_request(buffer)
    assert post is not None and (post.method, post.body, bytes(buffer)) == (
        "POST",
        b"hi",
        b"",
    )
    chunked = read_response(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n"
    )
    assert chunked.body == b"abc"
    with pytest.raises(MalformedMessage):
        read_request(bytearray(b"NONSENSE\r\n\r\n"))


def test_nginx_serves_its_welcome_page_and_its_own_404(world: World) -> None:
    world.pod("web", "10.244.1.10", image="nginx:1.27-alpine")

    page = world.answer(None, "10.244.1.10")
    missing = world.answer(None, "10.244.1.10", path="/nope")

    assert page.status == 200 and b"<title>Welcome to nginx!</title>" in page.body
    assert [k for k, _ in page.headers][:5] == [
        "Server",
        "Date",
        "Content-Type",
        "Content-Length",
        "Last-Modified",
    ]
    assert page.header("Server") == "nginx/1.27"
    assert (
        missing.status == 404
        and b"<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.27</center>"
        in missing.body
    )


def test_nginx_serves_a_mounted_index_and_reads_a_mounted_default_conf(
    world: World,
) -> None:
    files = {
        "/usr/share/nginx/html/index.html": "<h1>the shop</h1>\n",
        "/etc/nginx/conf.d/default.conf": (
            "server {\n  listen 8080;\n  location = /healthz { return 200 'ok'; }\n"
            "  location / { root /usr/share/nginx/html; index index.html; }\n}\n"
        ),
    }
    world.network.volumes = lambda pod, container: (
        files,
        ["/usr/share/nginx/html", "/etc/nginx/conf.d"],
    )
    world.pod("web", "10.244.1.10", image="nginx:1.27")

    assert world.answer(None, "10.244.1.10", 8080).body == b"<h1>the shop</h1>\n"
    assert world.answer(None, "10.244.1.10", 8080, "/healthz").body == b"ok"
    assert (
        world.answer(None, "10.244.1.10", 8080, "/50x.html").status == 404
    )  # the mount hides it


def test_nginx_proxy_pass_forwards_to_another_pod(world: World) -> None:
    files = {
        "/etc/nginx/conf.d/default.conf": "server { listen 80; location /api/ { proxy_pass http://10.244.2.9:80/; } }"
    }
    world.network.volumes = lambda pod, container: (files, ["/etc/nginx/conf.d"])
    world.pod("front", "10.244.1.10", image="nginx:1.27")
    world.pod("back", "10.244.2.9", node="kubecourse-worker2")

    reply = world.answer(None, "10.244.1.10", path="/api/orders")

    text = reply.body.decode()
    assert (
        text.startswith("Hostname: back\n")
        and "GET /orders HTTP/1.1\r\nHost: 10.244.2.9\r\n" in text
    )
    assert reply.header("Server") == "nginx/1.27"


def test_a_database_closes_an_http_request_without_a_reply(world: World) -> None:
    world.pod("db", "10.244.1.20", image="redis:7")
    conn = world.network.connect(world.network.control_plane(), "10.244.1.20", 6379)

    with pytest.raises(EmptyReply):
        asyncio.run(exchange(conn, Request("GET", "/", "HTTP/1.1", [("Host", "db")])))
    assert conn.closed
