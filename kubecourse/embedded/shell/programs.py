"""The programs a simulated container can run, answered from its simulated state.

`shell` interprets what `kubectl exec` asks for; the programs it finds live here, each
an async function of one `Call` that writes to the session's `Terminal` and returns an
exit code.  What they read is a `Sandbox`: the container as the kubelet set it up (its
environment, `/etc/hosts`, `/etc/resolv.conf`, mounted ConfigMap / Secret / downwardAPI
files, cluster DNS answers), built by `kubecourse.embedded.streams.sandbox` from the
API objects.  The table of what runs is in `shell`'s docstring.

Output follows the images' own tools where they differ: busybox (`busybox`, `alpine`,
`*-alpine`, `traefik`) or Debian's coreutils / dash / bash (every other image); the
messages of failures (`cat: can't open 'x': No such file or directory` against
`cat: x: No such file or directory`) are theirs.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from kubecourse.embedded.network.wire import Dialer

BUSYBOX = "busybox"
DEBIAN = "debian"
NO_SHELL = "none"  # built FROM scratch or distroless: no shell, no utilities
NETWORK_TOOLS = frozenset(
    "wget curl nc netcat ncat telnet ping ping6 ssh scp dig host traceroute "
    "http httpie socat".split()
)


class Terminal(Protocol):
    """The session a program runs in: its stdin, stdout and stderr, and the clock."""

    tty: bool

    async def write(self, text: str, stderr: bool = False) -> None: ...

    async def read(self) -> str | None:
        """The next chunk of stdin; None at its end."""
        ...

    async def sleep(self, seconds: float) -> bool:
        """Wait; False when interrupted (Ctrl-C on a TTY)."""
        ...


@dataclass
class Answer:
    """A cluster DNS answer for one fully qualified name."""

    name: str
    addresses: list[str] = field(default_factory=list)
    canonical: str | None = None  # an ExternalName Service's CNAME target


@dataclass
class Sandbox:
    """What one container sees: set up by the kubelet, read by its programs."""

    hostname: str
    pod_ip: str
    env: list[tuple[str, str]]
    files: dict[str, str] = field(default_factory=dict)
    directories: dict[str, list[str]] = field(default_factory=dict)
    mounts: list[str] = field(default_factory=list)  # volume mount paths
    lookup: Callable[[str], Answer | None] = lambda name: None
    # Whether a name that does not resolve is still the cluster's to answer (its zone,
    # or `<service>.<namespace>` of an existing namespace), not the Internet's.
    internal: Callable[[str], bool] = lambda name: "." not in name
    search: list[str] = field(default_factory=list)
    ndots: int = 5
    nameserver: str = "10.96.0.10"
    uid: int = 0
    gid: int = 0
    groups: list[int] = field(default_factory=list)
    workdir: str = "/"
    flavour: str = BUSYBOX
    dialer: Dialer | None = None  # the Pod's network (wget, curl, nc)

    def known(self, path: str) -> bool:
        """Whether the simulation knows what is at `path` (a kubelet file or a volume)."""
        inside = any(
            path == m or path.startswith(m.rstrip("/") + "/") for m in self.mounts
        )
        return inside or path in self.files

    def from_hosts(self, name: str) -> tuple[str, list[str]] | None:
        """(address, names) of the first `/etc/hosts` line naming `name`, as the C
        library's resolver (`files` before `dns`) finds `localhost` or the Pod's own
        hostname."""
        wanted = name.rstrip(".").lower()
        for line in self.files.get("/etc/hosts", "").splitlines():
            fields = line.split("#", 1)[0].split()
            if len(fields) > 1 and wanted in (f.lower() for f in fields[1:]):
                return fields[0], fields[1:]
        return None

    def resolve(self, name: str) -> Answer | None:
        """`name` as the container's resolver looks it up: search list, then as is."""
        name = name.rstrip(".") if name.endswith(".") else name
        candidates = [name] if name.count(".") >= self.ndots else []
        candidates += [f"{name}.{domain}" for domain in self.search]
        candidates += [] if name.count(".") >= self.ndots else [name]
        for candidate in candidates:
            found = self.lookup(candidate)
            if found is not None:
                return found
        return None


@dataclass
class Call:
    """One program invocation: its arguments, environment and where it runs."""

    args: list[str]  # without the program's name
    name: str
    env: dict[str, str]
    sandbox: Sandbox
    term: Terminal
    cwd: str
    run: Callable[[list[str], dict[str, str]], Awaitable[int]]  # `env CMD` runs CMD

    async def out(self, text: str) -> None:
        await self.term.write(text)

    async def err(self, text: str) -> None:
        await self.term.write(text, stderr=True)

    def path(self, given: str) -> str:
        return posixpath.normpath(posixpath.join(self.cwd, given))

    @property
    def busybox(self) -> bool:
        return self.sandbox.flavour == BUSYBOX


Program = Callable[[Call], Awaitable[int]]


# -- identity and environment ------------------------------------------------------------


async def hostname(call: Call) -> int:
    if call.args[:1] == ["-i"]:
        await call.out(call.sandbox.pod_ip + "\n")
    else:
        await call.out(call.sandbox.hostname + "\n")
    return 0


async def env(call: Call) -> int:
    args, extra = list(call.args), {}
    while args and "=" in args[0] and not args[0].startswith("="):
        key, _, value = args.pop(0).partition("=")
        extra[key] = value
    if args:
        return await call.run(args, {**call.env, **extra})
    await call.out("".join(f"{k}={v}\n" for k, v in {**call.env, **extra}.items()))
    return 0


async def printenv(call: Call) -> int:
    if not call.args:
        return await env(call)
    missing = False
    for name in call.args:
        if name in call.env:
            await call.out(call.env[name] + "\n")
        else:
            missing = True
    return 1 if missing else 0


async def id_(call: Call) -> int:
    box = call.sandbox
    groups = [box.gid] + [g for g in box.groups if g != box.gid]
    text = f"uid={_named(box.uid)} gid={_named(box.gid)} groups="
    await call.out(text + ",".join(_named(g) for g in groups) + "\n")
    return 0


def _named(number: int) -> str:
    return f"{number}(root)" if number == 0 else str(number)


async def date(call: Call) -> int:
    formats = [a[1:] for a in call.args if a.startswith("+")]
    stamp = time.gmtime()
    text = time.strftime(formats[0], stamp) if formats else _date(stamp)
    await call.out(text + "\n")
    return 0


def _date(stamp: time.struct_time) -> str:
    day = time.strftime("%d", stamp).lstrip("0").rjust(2)
    return time.strftime(f"%a %b {day} %H:%M:%S UTC %Y", stamp)


# -- simple programs ---------------------------------------------------------------------


async def echo(call: Call) -> int:
    args, newline, escapes = list(call.args), True, False
    while args and re.fullmatch(r"-[neE]+", args[0]):
        flags = args.pop(0)
        newline = newline and "n" not in flags
        escapes = "e" in flags or (escapes and "E" not in flags)
    text = " ".join(args)
    if escapes:
        text = re.sub(r"\\([\\abefnrtv])", lambda m: _ESCAPES[m.group(1)], text)
    await call.out(text + ("\n" if newline else ""))
    return 0


_ESCAPES = {
    "\\": "\\",
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}


async def true(call: Call) -> int:
    return 0


async def false(call: Call) -> int:
    return 1


async def sleep(call: Call) -> int:
    if not call.args:
        await call.err("sleep: missing operand\n")
        return 1
    seconds = 0.0
    for arg in call.args:
        value = _seconds(arg)
        if value is None:
            await call.err(f"sleep: invalid number '{arg}'\n")
            return 1
        seconds += value
    return 0 if await call.term.sleep(seconds) else 130


def _seconds(text: str) -> float | None:
    if text == "infinity":
        return float("inf")
    match = re.fullmatch(r"([0-9]*\.?[0-9]+)([smhd]?)", text)
    if match is None:
        return None
    scale = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return float(match.group(1)) * scale


# -- files -------------------------------------------------------------------------------


async def cat(call: Call) -> int:
    if not call.args or call.args == ["-"]:
        return await _copy_stdin(call)
    status = 0
    for given in call.args:
        path, box = call.path(given), call.sandbox
        if path in box.files:
            await call.out(box.files[path])
            continue
        status = 1
        if path in box.directories:
            await call.err(
                f"cat: {'read error' if call.busybox else given}: Is a directory\n"
            )
        elif box.known(path):
            await call.err(_missing(call, "cat", given))
        else:
            await call.err(_unknown_path("cat", given))
    return status


async def _copy_stdin(call: Call) -> int:
    while (chunk := await call.term.read()) is not None:
        await call.out(chunk)
    return 0


async def ls(call: Call) -> int:
    flags = "".join(a[1:] for a in call.args if a.startswith("-") and a != "-")
    unknown = sorted(set(flags) - set("1aA"))
    if unknown:
        await call.err(
            f"ls: option -{unknown[0]} is not simulated (ls here takes -1 and -a)\n"
        )
        return 2
    paths = [a for a in call.args if not a.startswith("-") or a == "-"] or ["."]
    status = 0
    for index, given in enumerate(paths):
        if len(paths) > 1 and call.path(given) in call.sandbox.directories:
            await call.out(("\n" if index else "") + f"{given}:\n")
        status = max(status, await _list(call, given, "a" in flags))
    return status


async def _list(call: Call, given: str, hidden: bool) -> int:
    path, box = call.path(given), call.sandbox
    if path in box.files:
        await call.out(given + "\n")
        return 0
    if path not in box.directories:
        known = box.known(path)
        await call.err(
            _missing(call, "ls", given) if known else _unknown_path("ls", given)
        )
        return 1 if call.busybox and known else 2
    entries = sorted(box.directories[path])
    if hidden:
        entries = [".", "..", *entries]
    separator = "  " if call.term.tty else "\n"
    if entries:
        await call.out(separator.join(entries) + "\n")
    return 0


def _missing(call: Call, program: str, given: str) -> str:
    """The image's own message for a file that is not there."""
    if call.busybox and program == "cat":
        return f"cat: can't open '{given}': No such file or directory\n"
    if program == "ls" and not call.busybox:
        return f"ls: cannot access '{given}': No such file or directory\n"
    return f"{program}: {given}: No such file or directory\n"


def _unknown_path(program: str, given: str) -> str:
    return (
        f"{program}: {given}: not simulated: the embedded cluster's containers have only "
        "/etc/hostname, /etc/hosts, /etc/resolv.conf and their mounted volumes\n"
    )


def glob(pattern: str, cwd: str, sandbox: Sandbox) -> list[str]:
    """Paths `pattern` (with `*`, `?`, `[...]`) matches among the known files, sorted."""
    absolute = posixpath.normpath(posixpath.join(cwd, pattern))
    folder, leaf = posixpath.split(absolute)
    names = sandbox.directories.get(folder, [])
    hits = sorted(
        n for n in names if fnmatch.fnmatchcase(n, leaf) and not n.startswith(".")
    )
    if pattern.startswith("/"):
        return [posixpath.join(folder, n) for n in hits]
    prefix = posixpath.dirname(pattern)
    return [posixpath.join(prefix, n) if prefix else n for n in hits]


# -- cluster DNS -------------------------------------------------------------------------


async def nslookup(call: Call) -> int:
    names = [a for a in call.args if not a.startswith("-")]
    if not names:
        await call.err(
            "Usage: nslookup [-type=QUERY_TYPE] [-debug] HOST [DNS_SERVER]\n"
        )
        return 1
    box, name = call.sandbox, names[0]
    await call.out(f"Server:\t\t{box.nameserver}\nAddress:\t{box.nameserver}:53\n\n")
    answer = box.resolve(name)
    if answer is None and not box.internal(name):
        await call.err(_outside("nslookup", name))
        return 1
    if answer is None:
        await call.out(f"** server can't find {_fqdn(name, box)}: NXDOMAIN\n\n")
        return 1
    if answer.canonical:
        await call.out(f"{answer.name}\tcanonical name = {answer.canonical}\n")
        await call.err(_outside("nslookup", answer.canonical))
        return 1
    for address in answer.addresses:
        await call.out(f"Name:\t{answer.name}\nAddress: {address}\n")
    await call.out("\n")
    return 0


async def getent(call: Call) -> int:
    if call.args[:1] != ["hosts"] or len(call.args) < 2:
        await call.err("getent: only `getent hosts NAME` is simulated\n")
        return 1
    status = 0
    for name in call.args[1:]:
        lines = _hosts_lines(name, call.sandbox)
        if lines is None and not call.sandbox.internal(name):
            await call.err(_outside("getent", name))
        if lines is None:
            status = 2
        else:
            await call.out(lines)
    return status


def _hosts_lines(name: str, box: Sandbox) -> str | None:
    """glibc's `getent hosts`: /etc/hosts first, then DNS."""
    found = box.from_hosts(name)
    if found is not None:
        return f"{found[0]:<15} {' '.join(found[1])}\n"
    answer = box.resolve(name)
    if answer is None or not answer.addresses:
        return None
    return "".join(f"{ip:<15} {answer.name}\n" for ip in answer.addresses)


def _fqdn(name: str, box: Sandbox) -> str:
    if box.search and name.count(".") < box.ndots and not name.endswith("."):
        return f"{name}.{box.search[0]}"
    return name.rstrip(".")


def _outside(program: str, name: str) -> str:
    return (
        f"{program}: {name}: names outside the cluster are not simulated: "
        "the embedded cluster answers only its own DNS (Services, Pods)\n"
    )


async def test(call: Call) -> int:
    """`test EXPR` and `[ EXPR ]`: strings, integers, known files; 0 true, 1 false."""
    args = list(call.args)
    if call.name == "[":
        if args[-1:] != ["]"]:
            await call.err("[: missing ]\n")
            return 2
        args = args[:-1]
    try:
        return 0 if _test(args, call) else 1
    except ValueError as err:
        await call.err(f"{call.name}: {err}\n")
        return 2


_INTEGER = {"-eq": "==", "-ne": "!=", "-lt": "<", "-le": "<=", "-gt": ">", "-ge": ">="}


def _test(args: list[str], call: Call) -> bool:
    if args[:1] == ["!"]:
        return not _test(args[1:], call)
    if len(args) == 0:
        return False
    if len(args) == 1:
        return args[0] != ""
    if len(args) == 2:
        flag, operand = args
        if flag in ("-z", "-n"):
            return (operand == "") == (flag == "-z")
        if flag in ("-e", "-f", "-d", "-r", "-s"):
            path = call.path(operand)
            box = call.sandbox
            if flag == "-d":
                return path in box.directories
            return path in box.files and (flag != "-s" or bool(box.files[path]))
        raise ValueError(f"{flag}: unary operator expected")
    if len(args) == 3:
        left, op, right = args
        if op in ("=", "=="):
            return left == right
        if op == "!=":
            return left != right
        if op in _INTEGER:
            numbers = []
            for value in (left, right):
                if not re.fullmatch(r"\s*-?[0-9]+\s*", value):
                    raise ValueError(f"{value}: bad number")
                numbers.append(int(value))
            a, b = numbers
            return {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b,
                    ">": a > b, ">=": a >= b}[_INTEGER[op]]  # fmt: skip
    raise ValueError(
        "only simple tests (-z, -n, -e, -f, -d, =, !=, -eq, -lt ...) are simulated"
    )


async def printf(call: Call) -> int:
    """`printf FORMAT [ARG...]`: `%s`, `%d` / `%i`, `%%` and backslash escapes; the
    format is used again while arguments remain, as in coreutils and busybox."""
    if not call.args:
        await call.err("printf: missing operand\n" if not call.busybox else
                       "Usage: printf FORMAT [ARG]...\n")  # fmt: skip
        return 1
    fmt, args = call.args[0], list(call.args[1:])
    text, bad = "", False
    while True:
        once, used, wrong = _format_once(fmt, args)
        text, bad, args = text + once, bad or wrong, args[used:]
        if not args or not used:
            break
    await call.out(text)
    return 1 if bad else 0


def _format_once(fmt: str, args: list[str]) -> tuple[str, int, bool]:
    """The format filled once: (text, arguments used, whether a number was bad)."""
    used, bad = 0, False

    def field(match: re.Match[str]) -> str:
        nonlocal used, bad
        kind = match.group(1)
        if kind == "%":
            return "%"
        value = args[used] if used < len(args) else ""
        used += 1
        if kind == "s":
            return value
        if value and not re.fullmatch(r"[-+]?[0-9]+", value):
            bad = True
            return "0"
        return str(int(value or 0))

    return _escapes(re.sub(r"%([sdi%])", field, fmt)), used, bad


def _escapes(text: str) -> str:
    table = {"n": "\n", "t": "\t", "\\": "\\", "r": "\r", "a": "\a", "b": "\b"}
    return re.sub(r"\\([ntr\\ab])", lambda m: table[m.group(1)], text)


PROGRAMS: dict[str, Program] = {
    "printf": printf,
    "[": test,
    "test": test,
    "cat": cat,
    "date": date,
    "echo": echo,
    "env": env,
    "false": false,
    "getent": getent,
    "hostname": hostname,
    "id": id_,
    "ls": ls,
    "nslookup": nslookup,
    "printenv": printenv,
    "sleep": sleep,
    "true": true,
}
