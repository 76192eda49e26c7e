"""What the translator knows about well-known public images.

Compose users rarely list the ports of a database or broker: the image's `EXPOSE` does
it, and other services reach `db:5432` on the compose network anyway. Kubernetes needs
the port in a Service, so the translator supplies it for images it knows (and says so).
"""

from __future__ import annotations

WELL_KNOWN_PORTS: dict[str, tuple[int, ...]] = {
    "postgres": (5432,),
    "mysql": (3306,),
    "mariadb": (3306,),
    "redis": (6379,),
    "valkey/valkey": (6379,),
    "rabbitmq": (5672,),
    "mongo": (27017,),
    "memcached": (11211,),
    "nginx": (80,),
    "traefik/whoami": (80,),
}
DATABASES = frozenset({"postgres", "mysql", "mariadb", "mongo"})
RABBITMQ_MANAGEMENT_PORT = 15672


def repository(image: str) -> str:
    """`docker.io/library/postgres:16-alpine` -> `postgres`; `traefik/whoami:v1` -> `traefik/whoami`."""
    name = image.split("@", 1)[0]
    last_slash = name.rfind("/")
    if ":" in name[last_slash + 1 :]:
        name = name[: name.rfind(":")]
    parts = name.split("/")
    if len(parts) > 1 and (
        "." in parts[0] or ":" in parts[0] or parts[0] == "localhost"
    ):
        parts = parts[1:]
    if len(parts) > 1 and parts[0] == "library":
        parts = parts[1:]
    return "/".join(parts).lower()


def tag(image: str) -> str:
    """The tag of an image reference, `latest` when none is given."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def well_known_ports(image: str | None) -> tuple[int, ...]:
    if image is None:
        return ()
    repo = repository(image)
    ports = WELL_KNOWN_PORTS.get(repo, ())
    if repo == "rabbitmq" and "management" in tag(image):
        ports = (*ports, RABBITMQ_MANAGEMENT_PORT)
    return ports


def is_database(image: str | None) -> bool:
    return image is not None and repository(image) in DATABASES


def is_traefik_proxy(image: str | None) -> bool:
    """The Traefik reverse proxy itself (not `traefik/whoami`, its demo backend)."""
    return image is not None and repository(image) == "traefik"
