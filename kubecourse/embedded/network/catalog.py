"""What answers on a simulated container's ports: one behaviour per image.

No process runs, so what a container serves follows its image (the repository of
`image`, as `controllers.images` reads it):

| image | listens on | answers |
|---|---|---|
| `traefik/whoami` | 80, or `--port N` / `WHOAMI_PORT_NUMBER` | HTTP as whoami does: `/` (and any other path) the text `Hostname: <pod>`, `IP: 127.0.0.1`, `IP: <pod IP>`, `RemoteAddr: <client ip:port>`, then the request line and headers as Go writes a request (Host, User-Agent, the other headers sorted) and its body; `Name:` first with `--name` / `WHOAMI_NAME`; `/api` the same as JSON; `/health` 200 with an empty body; `/data?size=N&unit=kb` N bytes; `/bench` `1` |
| `nginx`, `nginxinc/nginx-unprivileged` (8080) | 80, or the `listen` of a mounted `default.conf` | static files under the `root` (`/usr/share/nginx/html`): the welcome page (title and heading `Welcome to nginx!`, our own text) and `50x.html`, or the files of a ConfigMap mounted there (`index.html`); `return CODE "text"` in a `location`; nginx's 404 / 405 pages; `Server: nginx/<tag>` |
| `traefik` | its entrypoints (`--entrypoints.<name>.address=:P`; `:80` when none is given) | the ingress controller: requests routed by Ingress rules (class `traefik` or none) and by HTTPRoutes attached to Gateways of a class whose controller is `traefik.io/gateway-controller`, to the Service's ready endpoints (round robin); see `network.ingress` |
| `hashicorp/http-echo` | 5678, or `-listen=:P` | the `-text` argument and a newline |
| `gcr.io/google-samples/hello-app` (`us-docker.pkg.dev/google-samples/...`) | 8080, or `PORT` | `Hello, world!`, `Version: <tag>`, `Hostname: <pod>` |
| `postgres` 5432, `mysql` / `mariadb` 3306, `redis` / `valkey/valkey` 6379, `rabbitmq` 5672 (and 15672 for `-management` tags), `mongo` 27017, `memcached` 11211 | those ports | TCP: a connection is accepted (`nc -z` succeeds); their protocols are not simulated: whatever the client sends (an HTTP request too) the server closes the connection without a reply (`curl: (52) Empty reply from server`) |
| `kube-apiserver` (the control plane's static Pod, on its node's network) | 6443 | TCP: a connection is accepted (`nc -z kubernetes.default 443` succeeds); TLS is not simulated |
| `busybox`, `alpine`, `debian`, `ubuntu`, and any image running a shell `command` | nothing | connection refused |
| any other image | the `containerPort`s it declares | TCP accepted; HTTP answered `501 Not Implemented` with a body saying that the embedded cluster does not know what the image serves |

A container that is not running listens on nothing.  Declaring a `containerPort` does not
open it (as on a real node): only what the image's program listens on counts, except
for the unknown images of the last row, which are taken at their word.
"""

from __future__ import annotations

from collections.abc import Callable

from kubecourse.embedded.controllers import images
from kubecourse.embedded.network.ingress import Traefik
from kubecourse.embedded.network.nginx import Nginx
from kubecourse.embedded.network.servers import (
    HelloApp,
    Host,
    HttpEcho,
    TcpOnly,
    Unknown,
    Whoami,
)
from kubecourse.embedded.network.wire import Server

# -- which server an image runs ----------------------------------------------------------

_TCP_PORTS = {
    "postgres": {5432},
    "mysql": {3306},
    "mariadb": {3306},
    "redis": {6379},
    "valkey/valkey": {6379},
    "mongo": {27017},
    "memcached": {11211},
    "rabbitmq": {5672},
    # the control plane's API server (the `kubernetes` Service's endpoint), on its node
    "kube-apiserver": {6443},
}
_SHELL_IMAGES = {"busybox", "alpine", "debian", "ubuntu"}


def server_for(host: Host) -> Server | None:
    """The server a running container's image runs, or None when nothing listens."""
    repository = images.repository(host.image)
    factory = _FACTORIES.get(repository)
    if factory is not None:
        return factory(host)
    if repository in _TCP_PORTS:
        ports = set(_TCP_PORTS[repository])
        if repository == "rabbitmq" and "management" in images.tag(host.image):
            ports.add(15672)
        return TcpOnly(
            ports, b"AMQP\x00\x00\x09\x01" if repository == "rabbitmq" else b""
        )
    if repository.startswith("google-samples/") and repository.endswith("/hello-app"):
        return HelloApp(host)
    if repository in _SHELL_IMAGES or images.script_of(host.container) is not None:
        return None
    return Unknown(host)


_FACTORIES: dict[str, Callable[[Host], Server]] = {
    "traefik/whoami": Whoami,
    "hashicorp/http-echo": HttpEcho,
    "nginx": Nginx,
    "nginxinc/nginx-unprivileged": Nginx,
    "traefik": Traefik,
}
