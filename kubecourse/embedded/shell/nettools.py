"""The network programs of a simulated container: what they share, and busybox `nc`.

`wget` (`shell.wget`), `curl` (`shell.curl`) and `nc` resolve names with the container's
resolver (the Sandbox's search list, cluster DNS), connect through the Pod's view of the
simulated network (`Sandbox.dialer`: Services, Pod IPs, NetworkPolicies) and speak real
HTTP/1.1 to the simulated servers, so their output and their failures are those of the
real tools.  A connection that the network drops takes its time, as on a node: the
client's own timeout (`wget -T`, `curl --connect-timeout` / `-m`, `nc -w`) or the
kernel's (`Timings.tcp_connect_timeout`, 127 s), interrupted by Ctrl-C on a TTY.

Which tools an image has follows its name: busybox images (`busybox`, `alpine`,
`*-alpine`, `traefik`) have busybox's `wget` and `nc` but no `curl`; Debian-based
images have `curl` but neither `wget` nor `nc`; images without a shell have none.  A
missing tool is `sh: curl: not found` (127), as in the real image; addresses outside the
cluster are never connected to (the tools say so and exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from kubecourse.embedded.network.wire import Connection, NetError
from kubecourse.embedded.shell.programs import BUSYBOX, DEBIAN, Call, Sandbox

ARP_TIMEOUT = 3.0  # seconds before "No route to host": the neighbour is never found
TOOLS = {BUSYBOX: frozenset({"wget", "nc"}), DEBIAN: frozenset({"curl"})}


def has_tool(sandbox: Sandbox, name: str) -> bool:
    return name in TOOLS.get(sandbox.flavour, frozenset())


OUTSIDE = (
    "names and addresses outside the cluster are not simulated: "
    "the embedded cluster reaches only its own Services and Pods"
)


def outside(program: str, what: str) -> str:
    return f"{program}: {what}: {OUTSIDE}\n"


@dataclass
class Url:
    scheme: str
    host: str
    port: int
    target: str  # path and query, as sent in the request line
    explicit_port: bool

    @property
    def authority(self) -> str:
        """`host[:port]` as given (what wget prints, and Host: carries)."""
        return f"{self.host}:{self.port}" if self.explicit_port else self.host


def parse_url(text: str) -> Url | None:
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "http", text
    scheme = scheme.lower()
    if scheme not in ("http", "https"):
        return None
    cut = min(
        (i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0),
        default=len(rest),
    )
    authority, target = rest[:cut], rest[cut:].split("#", 1)[0]
    authority = authority.rsplit("@", 1)[-1]
    host, colon, port = (
        authority.rpartition(":") if ":" in authority else (authority, "", "")
    )
    if colon and not port.isdigit():
        return None
    if not target.startswith("/"):
        target = "/" + target
    default = 443 if scheme == "https" else 80
    return Url(scheme, host, int(port) if colon else default, target, bool(colon))


@dataclass
class Resolved:
    ip: str | None
    outside: bool = False  # the name is not the cluster's (nor is the address)


def resolve(call: Call, host: str) -> Resolved:
    """The first address of `host` (an IP address stands for itself): `/etc/hosts`
    first (`localhost`, the Pod's hostname, hostAliases), then cluster DNS."""
    parts = host.split(".")
    if len(parts) == 4 and all(p.isdigit() and int(p) < 256 for p in parts):
        return Resolved(host)
    box = call.sandbox
    listed = box.from_hosts(host)
    if listed is not None and "." in listed[0]:  # an IPv4 line (tools here dial IPv4)
        return Resolved(listed[0])
    answer = box.resolve(host)
    if answer is not None and answer.canonical and not answer.addresses:
        target = box.resolve(answer.canonical)
        if target is None:
            return Resolved(None, outside=not box.internal(answer.canonical))
        answer = target
    if answer is None or not answer.addresses:
        return Resolved(None, outside=answer is None and not box.internal(host))
    return Resolved(answer.addresses[0])


@dataclass
class Dialed:
    """A connection, or how connecting failed: `refused`, `unreachable`, `timeout`
    (the kernel gave up), `deadline` (the client's own timeout), `outside`,
    `interrupted` (Ctrl-C)."""

    conn: Connection | None
    failure: str = ""
    waited: float = 0.0  # seconds it took


async def dial(call: Call, ip: str, port: int, timeout: float | None) -> Dialed:
    dialer = call.sandbox.dialer
    if dialer is None:
        return Dialed(None, "outside")
    try:
        return Dialed(dialer.connect(ip, port))
    except NetError as err:
        if err.kind in ("refused", "outside"):
            return Dialed(None, err.kind)
        kernel = dialer.connect_timeout if err.kind == "timeout" else ARP_TIMEOUT
        wait = kernel if timeout is None else min(timeout, kernel)
        if not await call.term.sleep(wait):
            return Dialed(None, "interrupted", wait)
        failure = err.kind if timeout is None or timeout >= kernel else "deadline"
        return Dialed(None, failure, wait)


STRERROR = {
    "refused": "Connection refused",
    "unreachable": "No route to host",
    "timeout": "Connection timed out",
    "deadline": "Connection timed out",
}


def seconds(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value >= 0 else None


# -- nc (busybox) ------------------------------------------------------------------------


async def nc(call: Call) -> int:
    """busybox nc: `nc [-v[v]] [-z] [-w SEC] HOST PORT`, connect and relay stdin."""
    options, words = _nc_options(call.args)
    if options is None or len(words) != 2:
        await call.err("BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\n"
                       "Usage: nc [OPTIONS] HOST PORT  - connect\n"
                       "nc [OPTIONS] -l -p PORT [HOST] [PORT]  - listen\n")  # fmt: skip
        return 1
    host, port_text = words
    if not port_text.isdigit():
        await call.err(f"nc: bad port '{port_text}'\n")
        return 1
    verbose, zero, wait = options
    found = resolve(call, host)
    if found.ip is None:
        await call.err(
            outside("nc", host) if found.outside else f"nc: bad address '{host}'\n"
        )
        return 1
    shown = f"{host} ({found.ip}:{port_text})"
    dialed = await dial(call, found.ip, int(port_text), wait)
    if dialed.conn is None:
        return await _nc_failed(call, dialed, shown, verbose, found.ip)
    if verbose:
        await call.err(f"{shown} open\n")
    if zero:
        await dialed.conn.close()
        return 0
    return await _relay(call, dialed.conn, verbose)


def _nc_options(
    args: list[str],
) -> tuple[tuple[int, bool, float | None] | None, list[str]]:
    verbose, zero, wait, words = 0, False, None, []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg.startswith("-") and len(arg) > 1:
            for position, flag in enumerate(arg[1:]):
                if flag == "v":
                    verbose += 1
                elif flag == "z":
                    zero = True
                elif flag == "n":
                    continue
                elif flag == "w":
                    value = arg[position + 2 :] or (
                        args[index + 1] if index + 1 < len(args) else ""
                    )
                    if not arg[position + 2 :]:
                        index += 1
                    wait = seconds(value)
                    if wait is None:
                        return None, []
                    break
                else:
                    return None, []
        else:
            words.append(arg)
        index += 1
    return (verbose, zero, wait), words


async def _nc_failed(
    call: Call, dialed: Dialed, shown: str, verbose: int, ip: str
) -> int:
    if dialed.failure == "interrupted":
        await call.err("punt!\n")
        return 130
    if dialed.failure == "outside":
        await call.err(outside("nc", ip))
        return 1
    if verbose > 1 or (verbose and dialed.failure != "refused"):
        await call.err(f"nc: {shown}: {STRERROR[dialed.failure]}\n")
    return 1


async def _relay(call: Call, conn: Connection, verbose: int) -> int:
    sent = received = 0
    while not conn.closed and (chunk := await call.term.read()) is not None:
        data = chunk.encode()
        sent += len(data)
        answer = await conn.send(data)
        received += len(answer)
        await call.out(answer.decode("utf-8", "replace"))
    answer = await conn.close()
    received += len(answer)
    await call.out(answer.decode("utf-8", "replace"))
    if verbose > 1:
        await call.err(f"sent {sent}, rcvd {received}\n")
    return 0
