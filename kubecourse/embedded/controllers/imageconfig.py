"""Each known image's ENTRYPOINT and CMD, and the process a container therefore runs.

The runtime starts `command` (or the image's ENTRYPOINT) followed by `args` (or, when
`command` is not given, the image's CMD), Docker's rule as Kubernetes documents it:

| container gives | the process |
|---|---|
| neither | ENTRYPOINT + CMD |
| `args` only | ENTRYPOINT + args (they replace CMD) |
| `command` only | command (CMD is dropped) |
| both | command + args |

So `kubectl run once --image=busybox --restart=Never -- echo hello` runs `echo hello`,
and a bare `busybox` runs `sh`, which ends at once without a terminal.  The official
images' entrypoint scripts (`docker-entrypoint.sh`, nginx's `/docker-entrypoint.sh`,
traefik's `/entrypoint.sh`) run the image's own program when the first argument is a
flag (`-c`, `--port`), and otherwise exec the arguments, as those scripts do.

| image | ENTRYPOINT | CMD |
|---|---|---|
| `busybox` | | `sh` |
| `alpine` | | `/bin/sh` |
| `debian`, `ubuntu`, `fedora`, `centos`, `rockylinux`, `almalinux`, `amazonlinux`, `oraclelinux` | | `bash` (`/bin/bash`) |
| `python`, `pypy` | | `python3` (`pypy3`) |
| `node` | `docker-entrypoint.sh` | `node` |
| `ruby` | | `irb` |
| `nginx` | `/docker-entrypoint.sh` | `nginx -g daemon off;` |
| `httpd` | | `httpd-foreground` |
| `redis`, `valkey/valkey` | `docker-entrypoint.sh` | `redis-server` (`valkey-server`) |
| `postgres` | `docker-entrypoint.sh` | `postgres` |
| `mysql`, `mariadb`, `mongo`, `rabbitmq`, `memcached` | `docker-entrypoint.sh` | `mysqld`, `mariadbd`, `mongod`, `rabbitmq-server`, `memcached` |
| `traefik` | `/entrypoint.sh` | `traefik` |
| `traefik/whoami` | `/whoami` | |
| `hello-world` | | `/hello` |
| `registry.k8s.io/pause` | `/pause` | |

Faithful: Docker's override rule and the entrypoint scripts' flag handling.
Simplified: an image not in the table is taken to have no ENTRYPOINT and a long-running
CMD; image configuration is by repository, the same for every tag.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class ImageConfig:
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()


_BASH = ImageConfig(cmd=("bash",))
_SLASH_BASH = ImageConfig(cmd=("/bin/bash",))
_ENTRY = "docker-entrypoint.sh"

CONFIGS: dict[str, ImageConfig] = {
    "busybox": ImageConfig(cmd=("sh",)),
    "alpine": ImageConfig(cmd=("/bin/sh",)),
    "debian": _BASH,
    "ubuntu": _SLASH_BASH,
    "fedora": _SLASH_BASH,
    "centos": _SLASH_BASH,
    "rockylinux": _SLASH_BASH,
    "almalinux": _SLASH_BASH,
    "amazonlinux": _SLASH_BASH,
    "oraclelinux": _SLASH_BASH,
    "python": ImageConfig(cmd=("python3",)),
    "pypy": ImageConfig(cmd=("pypy3",)),
    "node": ImageConfig((_ENTRY,), ("node",)),
    "ruby": ImageConfig(cmd=("irb",)),
    "nginx": ImageConfig(("/docker-entrypoint.sh",), ("nginx", "-g", "daemon off;")),
    "httpd": ImageConfig(cmd=("httpd-foreground",)),
    "redis": ImageConfig((_ENTRY,), ("redis-server",)),
    "valkey/valkey": ImageConfig((_ENTRY,), ("valkey-server",)),
    "postgres": ImageConfig((_ENTRY,), ("postgres",)),
    "mysql": ImageConfig((_ENTRY,), ("mysqld",)),
    "mariadb": ImageConfig((_ENTRY,), ("mariadbd",)),
    "mongo": ImageConfig((_ENTRY,), ("mongod",)),
    "rabbitmq": ImageConfig((_ENTRY,), ("rabbitmq-server",)),
    "memcached": ImageConfig((_ENTRY,), ("memcached",)),
    "traefik": ImageConfig(("/entrypoint.sh",), ("traefik",)),
    "traefik/whoami": ImageConfig(entrypoint=("/whoami",)),
    "hello-world": ImageConfig(cmd=("/hello",)),
    "pause": ImageConfig(entrypoint=("/pause",)),
}
ENTRYPOINT_SCRIPTS = ("docker-entrypoint.sh", "entrypoint.sh")


def config(repository: str) -> ImageConfig | None:
    """The image's configuration by repository (`registry.k8s.io/pause` is `pause`)."""
    found = CONFIGS.get(repository)
    if found is None and repository.endswith("/pause"):
        found = CONFIGS["pause"]
    return found


def process(container: Obj, repository: str) -> list[str]:
    """The argv the runtime starts, entrypoint scripts resolved; [] when unknown."""
    command = [str(w) for w in container.get("command") or []]
    args = [str(w) for w in container.get("args") or []]
    if command:
        return command + args
    image = config(repository)
    if image is None:
        return args  # an unknown image: taken to have no ENTRYPOINT
    argv = list(image.entrypoint) + (args if args else list(image.cmd))
    return _through_entrypoint_script(argv, image)


def _through_entrypoint_script(argv: list[str], image: ImageConfig) -> list[str]:
    if not argv or posixpath.basename(argv[0]) not in ENTRYPOINT_SCRIPTS:
        return argv
    rest = argv[1:]
    if rest and rest[0].startswith("-") and image.cmd:
        return [image.cmd[0], *rest]  # `redis --port 1` runs redis-server --port 1
    return rest


def default_program(repository: str) -> str | None:
    """The program the image runs by default (its server), by base name."""
    image = config(repository)
    if image is None:
        return None
    argv = _through_entrypoint_script(list(image.entrypoint) + list(image.cmd), image)
    return posixpath.basename(argv[0]) if argv else None
