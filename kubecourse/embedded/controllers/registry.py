"""Which images exist: the rule the simulated runtime pulls by, and its error texts.

No registry is contacted.  An image reference is first parsed as the kubelet parses it
(the docker reference grammar of `distribution/reference`); one that does not parse
never reaches the runtime (`InvalidImageName`).  Then the pull succeeds or fails by
this deterministic rule, with the words containerd uses in a kind node:

| reference | pull |
|---|---|
| `nginx`, `library/nginx`, `docker.io/library/nginx` | the name must be a Docker Official Image (`data/official_images.txt`), else `pull access denied, repository does not exist or may require authorization` |
| an official image's tag | must look like a tag: every `-` / `_` / `.` part is version-like (`1`, `27`, `v3`, `0rc1`) or a usual variant word (`alpine`, `slim`, `bookworm`, `lts`, `management`, ...), optionally followed by digits (`alpine3.20`, `jdk21`); else `... not found` (so `nginx:doesnotexist-9999` fails) |
| `<user>/<repo>` on Docker Hub, and any repository of registry.k8s.io, quay.io, ghcr.io, gcr.io (and `*.gcr.io`, `*.pkg.dev`), mcr.microsoft.com, public.ecr.aws, ... | pulls, with any tag |
| a host under a reserved TLD (`.example`, `.invalid`, `.test`, `.local`, `.localhost`) | `dial tcp: lookup <host> on 172.18.0.1:53: no such host` |
| `localhost[:port]`, `127.0.0.1[:port]` | `connect: connection refused` (no registry listens in the node) |
| any other registry host | pulls (it cannot be known; say so in a lesson) |
| a digest `@sha256:<64 hex>` | pulls when its repository does |

Faithful: the kubelet's parse errors (`couldn't parse image name "Nginx": invalid
reference format: repository name (library/Nginx) must be lowercase`, `... invalid
reference format` for a space) and containerd's pull errors, including the
`rpc error: code = NotFound desc =` prefix the kubelet keeps for NotFound and drops
for Unknown errors.  Simplified: which repositories exist is this rule, not a registry;
no authentication (imagePullSecrets are not consulted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

NODE_DNS = "172.18.0.1"  # the kind network's gateway, a kind node's resolver
DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")
PUBLIC_REGISTRIES = (
    "registry.k8s.io",
    "k8s.gcr.io",
    "quay.io",
    "ghcr.io",
    "gcr.io",
    "mcr.microsoft.com",
    "public.ecr.aws",
    "docker.elastic.co",
    "registry.gitlab.com",
    "nvcr.io",
    "cgr.dev",
    "lscr.io",
    "registry.access.redhat.com",
    "registry.redhat.io",
    "container-registry.oracle.com",
)
PUBLIC_SUFFIXES = (".gcr.io", ".pkg.dev", ".azurecr.io", ".amazonaws.com")
RESERVED_TLDS = (".example", ".invalid", ".test", ".local", ".localhost")
LOOPBACK = ("localhost", "127.0.0.1", "[::1]")

# Tag words an official image's tags are made of (Debian and Ubuntu codenames, base
# variants, runtimes); a part may add digits (`alpine3.20`, `jdk21`, `ltsc2022`).
TAG_WORDS = frozenset(
    """latest stable mainline lts edge current alpine slim bookworm bullseye buster
    stretch jessie wheezy trixie forky sid unstable testing experimental focal jammy
    noble bionic xenial trusty oracular plucky windowsservercore nanoserver ltsc jdk
    jre management fpm apache cli zts onbuild perl otel debian ubuntu oracle ol ubi
    minimal full openjdk temurin corretto graalvm eclipse semeru sapmachine community
    enterprise server rc beta alpha dev nightly canary preview git dind rootless
    windows linux amd amd64 arm arm64 arm32v5 arm32v6 arm32v7 arm64v8 i386 ppc64le
    s390x riscv64 musl glibc uclibc centos rockylinux almalinux python php node ruby
    golang go bash zulu nonroot distroless debug lite core base runtime sdk aspnet
    devel cuda headless standalone oraclelinux fedora amazonlinux hotspot openj9
    ibmjava busybox bookworm trixie""".split()
)
_VERSION = re.compile(r"^v?\d+[a-z0-9]*$")
_WORD = re.compile(r"^([a-z]+?)(\d*)$")

# distribution/reference's grammar.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[0-9A-Fa-f:.]+\])"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(
    rf"^(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$"
)
_HEX64 = re.compile(r"^[a-f0-9]{64}$")


@dataclass(frozen=True)
class Reference:
    """A parsed image reference, normalised as containerd shows it."""

    domain: str
    path: str
    tag: str
    digest: str

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        if self.digest:
            return f"{self.name}@{self.digest}"
        return f"{self.name}:{self.tag}"


class InvalidReference(ValueError):
    """The kubelet could not parse the image name; the message is its own."""


def parse(image: str) -> Reference:
    """`nginx` -> docker.io/library/nginx:latest, or InvalidReference as the kubelet says."""
    problem = _parse_problem(image)
    if problem is not None:
        raise InvalidReference(
            f"Failed to apply default image tag {_go_quote(image)}: couldn't parse "
            f"image name {_go_quote(image)}: {problem}"
        )
    domain, remainder = _split_domain(image)
    found = _REFERENCE.match(f"{domain}/{remainder}")
    assert found is not None  # _parse_problem checked it
    return Reference(
        domain=domain,
        path=found.group("path"),
        tag=found.group("tag") or ("" if found.group("digest") else "latest"),
        digest=found.group("digest") or "",
    )


def _parse_problem(image: str) -> str | None:
    """distribution/reference's `ParseNormalizedNamed` error, or None."""
    if _HEX64.match(image):
        return (
            f"invalid repository name ({image}), cannot specify 64-byte hexadecimal "
            "strings"
        )
    domain, remainder = _split_domain(image)
    remote = remainder.split(":", 1)[0].split("@", 1)[0]
    if remote.lower() != remote:
        return f"invalid reference format: repository name ({remote}) must be lowercase"
    if not image:
        return "repository name must have at least one component"
    found = _REFERENCE.match(f"{domain}/{remainder}")
    if found is None:
        return "invalid reference format"
    if len(f"{domain}/{found.group('path')}") > 255:
        return "repository name must not be more than 255 characters"
    return None


def _split_domain(image: str) -> tuple[str, str]:
    """`splitDockerDomain`: the first part is a registry when it looks like a host."""
    first, slash, rest = image.partition("/")
    looks_like_host = (
        any(c in first for c in ".:") or first == "localhost" or first.lower() != first
    )
    if not slash or not looks_like_host:
        domain, remainder = "docker.io", image
    else:
        domain, remainder = first, rest
    if domain == "index.docker.io":
        domain = "docker.io"
    if domain == "docker.io" and "/" not in remainder:
        remainder = "library/" + remainder
    return domain, remainder


def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- the pull rule ------------------------------------------------------------------


@lru_cache(maxsize=1)
def official_images() -> frozenset[str]:
    """The Docker Official Images, from data/official_images.txt."""
    text = resources.files("kubecourse.embedded").joinpath("data/official_images.txt")
    lines = text.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip() for line in lines if line.strip() and not line.startswith("#")
    )


def tag_exists(tag: str) -> bool:
    """Whether an official image's tag looks like one of its tags (see the table)."""
    for part in re.split(r"[-_.]", tag.lower()):
        if _VERSION.match(part):
            continue
        word = _WORD.match(part)
        if word is None or word.group(1) not in TAG_WORDS:
            return False
    return True


def pull_error(image: str) -> str | None:
    """containerd's error for pulling `image` from its registry, or None if it pulls."""
    ref = parse(image)
    host = (
        ref.domain.rsplit(":", 1)[0] if not ref.domain.startswith("[") else ref.domain
    )
    if host in LOOPBACK:
        return _unreachable(ref, "connect: connection refused", loopback=True)
    if host.endswith(RESERVED_TLDS):
        return _unreachable(ref, f"lookup {host} on {NODE_DNS}:53: no such host")
    if ref.domain in DOCKER_HUB:
        return _docker_hub_error(ref)
    return None


def _docker_hub_error(ref: Reference) -> str | None:
    namespace, _, name = ref.path.partition("/")
    if namespace != "library":
        return None  # a user's repository: cannot be known, taken to exist
    if name not in official_images():
        return (
            f"{_failed(ref)}pull access denied, repository does not exist or may "
            "require authorization: server message: insufficient_scope: "
            "authorization failed"
        )
    if ref.digest or tag_exists(ref.tag):
        return None
    return f"rpc error: code = NotFound desc = {_failed(ref)}{ref}: not found"


def _failed(ref: Reference) -> str:
    return (
        f'failed to pull and unpack image "{ref}": failed to resolve reference '
        f'"{ref}": '
    )


def _unreachable(ref: Reference, reason: str, loopback: bool = False) -> str:
    scheme = "http" if loopback else "https"
    where = ref.digest or ref.tag
    url = f"{scheme}://{ref.domain}/v2/{ref.path}/manifests/{where}"
    port = ref.domain.rsplit(":", 1)[1] if ":" in ref.domain else "443"
    dial = f"dial tcp 127.0.0.1:{port}: {reason}" if loopback else f"dial tcp: {reason}"
    return f'{_failed(ref)}failed to do request: Head "{url}": {dial}'


def normalised(image: str) -> str:
    """The containerd name of `image`, or the text itself when it does not parse."""
    try:
        return str(parse(image))
    except InvalidReference:
        return image


def loaded_images(annotation: str | None) -> set[str]:
    """The images a Node annotation lists as loaded (`kind load docker-image`)."""
    words = re.split(r"[\s,]+", annotation or "")
    return {normalised(word) for word in words if word}
