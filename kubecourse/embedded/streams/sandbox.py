"""What one simulated container sees, built from the API objects for `kubectl exec`.

Faithful, as the kubelet and the runtime set a container up: the hostname
(`spec.hostname`, else the Pod's name; the node's on `hostNetwork`), the environment
fixed at start (`controllers.environment`), the kubelet-managed `/etc/hosts` (localhost
lines, the Pod IP with its hostname, `<hostname>.<subdomain>.<ns>.svc.cluster.local`
when `subdomain` is set, then `hostAliases`), `/etc/resolv.conf` for the `dnsPolicy`
(ClusterFirst: `search <ns>.svc.cluster.local svc.cluster.local cluster.local`,
`nameserver 10.96.0.10`, `options ndots:5`, plus `dnsConfig`), the files of ConfigMap,
Secret, downwardAPI and projected volumes at their `mountPath` (`items`, `subPath`,
Secret data decoded), the user and groups of the `securityContext`, and cluster DNS
as CoreDNS answers it: `<svc>.<ns>.svc.cluster.local` a ClusterIP, a headless Service
its ready endpoints, `<hostname>.<svc>.<ns>.svc.cluster.local` a Pod with that
hostname and subdomain, an ExternalName Service a CNAME, `a-b-c-d.<ns>.pod.cluster.local`
the address in it.

Simplified: volume files are read from the API at each exec (a real kubelet refreshes
them within about a minute), without the `..data` symlinks; emptyDir and claims are
empty; a `Default` DNS policy or `hostNetwork` reads the node's resolver as kind's is
(`nameserver 172.18.0.1`); which tools an image has is decided by its name: busybox and
alpine images have busybox, `traefik/whoami`, `pause` and distroless have nothing,
everything else Debian's tools with bash.
"""

from __future__ import annotations

import posixpath
from typing import Any

from kubecourse.embedded.controllers import environment, images, podconfig, podutil
from kubecourse.embedded.controllers.base import Context
from kubecourse.embedded.network import Network
from kubecourse.embedded.shell.programs import (
    BUSYBOX,
    DEBIAN,
    NO_SHELL,
    Answer,
    Sandbox,
)
from kubecourse.embedded.store import Store

Obj = dict[str, Any]
CLUSTER_DOMAIN = "cluster.local"
CLUSTER_DNS = "10.96.0.10"
NODE_DNS = "172.18.0.1"
NO_SHELL_IMAGES = ("traefik/whoami", "pause", "hashicorp/http-echo")
BUSYBOX_IMAGES = ("busybox", "alpine", "traefik")
_HOSTS_HEAD = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "fe00::0\tip6-mcastprefix\n"
    "fe00::1\tip6-allnodes\n"
    "fe00::2\tip6-allrouters\n"
)


def flavour(image: str) -> str:
    """Which tools an image brings: busybox, Debian's, or none at all."""
    repository, tag = images.repository(image), images.tag(image)
    if repository in NO_SHELL_IMAGES or repository.startswith("distroless/"):
        return NO_SHELL
    if repository.split("/")[-1] in BUSYBOX_IMAGES or "alpine" in tag:
        return BUSYBOX
    return DEBIAN


def container_sandbox(
    ctx: Context, pod: Obj, container: Obj, network: Network | None = None
) -> Sandbox:
    store, meta, spec = ctx.store, pod["metadata"], pod["spec"]
    env = ctx.environ.get((meta["namespace"], meta["name"], container["name"]))
    if env is None:  # started before this process (or without a kubelet): as it would be now
        try:
            env = environment.container_env(store, pod, container)
        except podconfig.ConfigError:
            env = []
    files, directories, mounts = volume_files(store, pod, container)
    name = environment.hostname(pod)
    files["/etc/hostname"] = name + "\n"
    files["/etc/hosts"] = hosts_file(pod)
    search, nameservers, options = resolver(pod)
    files["/etc/resolv.conf"] = resolv_conf(search, nameservers, options)
    ndots = options.get("ndots", "1")  # the resolver's default; ClusterFirst sets 5
    return Sandbox(
        hostname=name,
        pod_ip=str((pod.get("status") or {}).get("podIP") or ""),
        env=env,
        files=files,
        directories=directories,
        mounts=mounts,
        lookup=lambda fqdn: lookup(store, fqdn),
        internal=lambda host: internal(store, host),
        search=search,
        ndots=int(ndots) if ndots.isdigit() else 5,
        nameserver=nameservers[0] if nameservers else CLUSTER_DNS,
        uid=environment.run_as(pod, container, "runAsUser"),
        gid=environment.run_as(pod, container, "runAsGroup"),
        groups=_groups(spec),
        workdir=str(container.get("workingDir") or "/"),
        flavour=flavour(str(container.get("image") or "")),
        dialer=network.dialer(pod) if network is not None else None,
    )


def volume_mounts(store: Store, pod: Obj, container: Obj) -> tuple[dict[str, str], list[str]]:
    """(files, mount paths) of a container's volumes, for the servers that read them."""
    files, _, mounts = volume_files(store, pod, container)
    return files, mounts


def resolve_name(store: Store, pod: Obj, name: str) -> list[str] | None:
    """A name as the Pod's resolver resolves it (a cluster ExternalName followed)."""
    search, _, options = resolver(pod)
    ndots = options.get("ndots", "1")
    box = Sandbox(hostname="", pod_ip="", env=[], lookup=lambda fqdn: lookup(store, fqdn),
                  search=search, ndots=int(ndots) if ndots.isdigit() else 5)  # fmt: skip
    answer = box.resolve(name)
    for _ in range(8):  # CNAME chains end
        if answer is None or not answer.canonical:
            break
        answer = box.lookup(answer.canonical)
    return list(answer.addresses) if answer is not None and answer.addresses else None


def interactive_shell(container: Obj) -> list[str] | None:
    """The command of a container whose process is a shell reading its stdin, or None.

    Such a container (`stdin: true`, a shell without `-c`, or no command in an image
    whose default command is a shell) is what `kubectl run -it` attaches to."""
    if not container.get("stdin"):
        return None
    words = images.process(container)
    if (
        words
        and posixpath.basename(words[0]) in ("sh", "ash", "bash")
        and "-c" not in words
    ):
        return words
    return None


def _groups(spec: Obj) -> list[int]:
    context = spec.get("securityContext") or {}
    groups = [int(context["fsGroup"])] if context.get("fsGroup") is not None else []
    return groups + [int(g) for g in context.get("supplementalGroups") or []]


# -- /etc/hosts and /etc/resolv.conf ---------------------------------------------------------


def hosts_file(pod: Obj) -> str:
    spec, status = pod["spec"], pod.get("status") or {}
    if spec.get("hostNetwork"):
        node = str(spec.get("nodeName") or "")
        own = f"{status.get('hostIP') or ''}\t{node}\n"
        return "# Kubernetes-managed hosts file (host network).\n" + _HOSTS_HEAD + own
    name = environment.hostname(pod)
    text = "# Kubernetes-managed hosts file.\n" + _HOSTS_HEAD
    ip = status.get("podIP")
    if ip and spec.get("subdomain"):
        namespace = pod["metadata"]["namespace"]
        fqdn = f"{name}.{spec['subdomain']}.{namespace}.svc.{CLUSTER_DOMAIN}"
        text += f"{ip}\t{fqdn}\t{name}\n"
    elif ip:
        text += f"{ip}\t{name}\n"
    aliases = spec.get("hostAliases") or []
    if aliases:
        text += "\n# Entries added by HostAliases.\n"
        for alias in aliases:
            text += (
                f"{alias.get('ip')}\t" + "\t".join(alias.get("hostnames") or []) + "\n"
            )
    return text


def resolver(pod: Obj) -> tuple[list[str], list[str], dict[str, str]]:
    """(search, nameservers, options) for the Pod's dnsPolicy and dnsConfig."""
    spec = pod["spec"]
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    host = bool(spec.get("hostNetwork"))
    search: list[str] = []
    nameservers: list[str] = []
    options: dict[str, str] = {}
    if policy == "ClusterFirstWithHostNet" or (policy == "ClusterFirst" and not host):
        namespace = pod["metadata"]["namespace"]
        search = [
            f"{namespace}.svc.{CLUSTER_DOMAIN}",
            f"svc.{CLUSTER_DOMAIN}",
            CLUSTER_DOMAIN,
        ]
        nameservers, options = [CLUSTER_DNS], {"ndots": "5"}
    elif policy != "None":
        nameservers = [NODE_DNS]
    config = spec.get("dnsConfig") or {}
    nameservers = [
        *nameservers,
        *[n for n in config.get("nameservers") or [] if n not in nameservers],
    ][:3]
    search = [*search, *[s for s in config.get("searches") or [] if s not in search]][
        :32
    ]
    for option in config.get("options") or []:
        options[str(option.get("name"))] = str(option.get("value") or "")
    return search, nameservers, options


def resolv_conf(
    search: list[str], nameservers: list[str], options: dict[str, str]
) -> str:
    lines = [f"search {' '.join(search)}"] if search else []
    lines += [f"nameserver {n}" for n in nameservers]
    if options:
        lines.append(
            "options " + " ".join(f"{k}:{v}" if v else k for k, v in options.items())
        )
    return "".join(line + "\n" for line in lines)


# -- cluster DNS -----------------------------------------------------------------------------


def lookup(store: Store, fqdn: str) -> Answer | None:
    """A name in the cluster's zone as CoreDNS's kubernetes plugin answers it."""
    name = fqdn.rstrip(".").lower()
    zone = f".svc.{CLUSTER_DOMAIN}"
    if name.endswith(f".pod.{CLUSTER_DOMAIN}"):
        return _pod_record(store, name)
    if not name.endswith(zone):
        return None
    labels = name[: -len(zone)].split(".")
    if len(labels) == 2:
        return _service_record(store, name, labels[1], labels[0])
    if len(labels) == 3:
        return _hostname_record(store, name, labels[2], labels[1], labels[0])
    return None


def _service_record(
    store: Store, name: str, namespace: str, service: str
) -> Answer | None:
    svc = store.get("services", namespace, service)
    if svc is None:
        return None
    spec = svc.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return Answer(name, canonical=str(spec.get("externalName") or ""))
    if spec.get("clusterIP") not in (None, "", "None"):
        return Answer(name, [str(spec["clusterIP"])])
    endpoints = store.get("endpoints", namespace, service) or {}
    ips = sorted(
        {
            a["ip"]
            for s in endpoints.get("subsets") or []
            for a in s.get("addresses") or []
        }
    )
    return Answer(name, ips) if ips else None


def _hostname_record(
    store: Store, name: str, namespace: str, service: str, host: str
) -> Answer | None:
    svc = store.get("services", namespace, service)
    if svc is None or (svc.get("spec") or {}).get("clusterIP") not in (
        "None",
        None,
        "",
    ):
        return None
    for pod in store.items("pods", namespace):
        spec = pod.get("spec") or {}
        ip = (pod.get("status") or {}).get("podIP")
        if spec.get("hostname") == host and spec.get("subdomain") == service and ip:
            if podutil.is_ready(pod):
                return Answer(name, [str(ip)])
    return None


def _pod_record(store: Store, name: str) -> Answer | None:
    labels = name.split(".")
    if len(labels) != 5 or store.get("namespaces", "", labels[1]) is None:
        return None
    ip = labels[0].replace("-", ".")
    parts = ip.split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
        return None
    return Answer(name, [ip])


def internal(store: Store, host: str) -> bool:
    """Whether a name the cluster cannot resolve is still its own (NXDOMAIN), not the Internet's."""
    name = host.rstrip(".").lower()
    labels = name.split(".")
    if (
        len(labels) == 1
        or name.endswith(CLUSTER_DOMAIN)
        or labels[-1] in ("svc", "pod")
    ):
        return True
    return store.get("namespaces", "", labels[-1]) is not None


# -- volumes ---------------------------------------------------------------------------------


def volume_files(
    store: Store, pod: Obj, container: Obj
) -> tuple[dict[str, str], dict[str, list[str]], list[str]]:
    """(files, directories, mount paths) of the container's volume mounts."""
    volumes = {v.get("name"): v for v in pod["spec"].get("volumes") or []}
    files: dict[str, str] = {}
    directories: dict[str, list[str]] = {}
    mounts: list[str] = []
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount.get("name"))
        if volume is None or not mount.get("mountPath"):
            continue
        path = posixpath.normpath(str(mount["mountPath"]))
        entries = volume_entries(store, pod, volume)
        sub = str(mount.get("subPath") or "").strip("/")
        if sub and sub in entries:
            files[path] = entries[sub]
        else:
            prefix = sub + "/" if sub else ""
            inside = {
                k[len(prefix) :]: v for k, v in entries.items() if k.startswith(prefix)
            }
            _place(path, inside, files, directories)
        mounts.append(path)
    return files, directories, mounts


def _place(
    root: str,
    entries: dict[str, str],
    files: dict[str, str],
    directories: dict[str, list[str]],
) -> None:
    directories.setdefault(root, [])
    for relative, content in entries.items():
        files[posixpath.join(root, relative)] = content
        parent, parts = root, relative.split("/")
        for index, part in enumerate(parts):
            listing = directories.setdefault(parent, [])
            if part not in listing:
                listing.append(part)
            parent = posixpath.join(parent, part)
            if index < len(parts) - 1:
                directories.setdefault(parent, [])


def volume_entries(store: Store, pod: Obj, volume: Obj) -> dict[str, str]:
    """A volume's files, relative path to content (empty for emptyDir, claims, ...)."""
    namespace = pod["metadata"]["namespace"]
    if volume.get("configMap"):
        return _keyed(
            environment.object_data(
                store, "configmaps", namespace, volume["configMap"].get("name")
            ),
            volume["configMap"],
        )
    if volume.get("secret"):
        return _keyed(
            environment.object_data(
                store, "secrets", namespace, volume["secret"].get("secretName")
            ),
            volume["secret"],
        )
    if volume.get("downwardAPI"):
        return _downward(pod, volume["downwardAPI"])
    if volume.get("projected"):
        merged: dict[str, str] = {}
        for source in volume["projected"].get("sources") or []:
            if source.get("configMap"):
                merged.update(
                    _keyed(
                        environment.object_data(
                            store,
                            "configmaps",
                            namespace,
                            source["configMap"].get("name"),
                        ),
                        source["configMap"],
                    )
                )
            elif source.get("secret"):
                merged.update(
                    _keyed(
                        environment.object_data(
                            store, "secrets", namespace, source["secret"].get("name")
                        ),
                        source["secret"],
                    )
                )
            elif source.get("downwardAPI"):
                merged.update(_downward(pod, source["downwardAPI"]))
        return merged
    return {}


def _keyed(data: dict[str, str], source: Obj) -> dict[str, str]:
    items = source.get("items")
    if not items:
        return dict(data)
    return {
        str(i.get("path") or i.get("key")): data[i["key"]]
        for i in items
        if i.get("key") in data
    }


def _downward(pod: Obj, source: Obj) -> dict[str, str]:
    entries: dict[str, str] = {}
    for item in source.get("items") or []:
        value = None
        if item.get("fieldRef"):
            value = podconfig.field_value(
                pod, str(item["fieldRef"].get("fieldPath") or "")
            )
        if value is not None and item.get("path"):
            entries[str(item["path"])] = value
    return entries
