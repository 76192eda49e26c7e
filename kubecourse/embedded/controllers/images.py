"""What a simulated container does: image names, digests, and the logs it writes.

No image is pulled and no process runs; the kubelet asks this module what a container
of a given image and command would show.  The behaviours:

| image (repository)                   | logs at start                                     | runs until |
|--------------------------------------|---------------------------------------------------|------------|
| `traefik/whoami`                     | `Starting up on port 80` (or `--port N`)          | deleted    |
| `nginx`                              | the entrypoint's notices, `start worker processes` | deleted    |
| `traefik`                            | `Configuration loaded from flags.`                | deleted    |
| `postgres`                           | `database system is ready to accept connections`  | deleted    |
| `mysql`, `mariadb`                   | `ready for connections`                           | deleted    |
| `redis`, `valkey/valkey`             | `Ready to accept connections tcp`                 | deleted    |
| `rabbitmq`                           | `Server startup complete; N plugins started.`     | deleted    |
| `mongo`                              | `Waiting for connections`                         | deleted    |
| `busybox`, `alpine`, `debian`, `ubuntu`, `python`, `node` without command or args | nothing (their default `sh`, `bash` or REPL reads end-of-file without a terminal) | exits 0 at once |
| `hello-world`                        | `Hello from Docker!`                              | exits 0 at once |
| any image whose process is a shell script or a program of the simulated shell | what it writes, as it runs (see below) | it exits (its code) |
| `python -c 'print(...)'`             | what it prints (`interpreters`)                   | exits 0 at once |
| kind's system images (`etcd`, `kube-apiserver`, `coredns/coredns`, `kindest/kindnetd`, ...) | their components' start-up lines (`systemlogs`), whatever the command | deleted |

The process is the image's ENTRYPOINT and CMD as `command` and `args` override them
(`imageconfig`), so `--image=busybox -- echo hello` runs `echo hello`.  A shell script
(`sh -c "…"`) or a program of the simulated shell run directly (`echo`, `sleep 5`,
`nslookup db`, `false`) in an image that has a shell really runs, on the same shell as
`kubectl exec` (`processes`): its output is the log, written as time passes, and its
exit code ends it.  What follows here is the fallback for containers that cannot run
there (a script with a program the shell does not simulate, such as `tail -f
/dev/null`; an image without a shell): such a script is read, not run:
`echo`/`printf` statements before a `while true; do …; done` loop are logged once, the
loop's lines once per iteration (the sum of its `sleep N`), `$HOSTNAME`, `$(hostname)`,
`$(date)` and the environment substituted; a script without a loop finishes after its
sleeps with the code of its last `exit N`.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import shlex
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, SupportsIndex, overload

from kubecourse.embedded.controllers import (
    imageconfig,
    interpreters,
    registry,
    systemlogs,
)

Obj = dict[str, Any]
MAX_LOG_LINES = 10_000
_LOOP = re.compile(
    r"while\s+(?:true|:|\[\s*1\s*\])\s*;?\s*do\b(?P<body>.*?)\bdone", re.S
)
_SHELLS = ("sh", "bash", "ash", "dash", "zsh")


# -- names ------------------------------------------------------------------------------


def normalise(image: str) -> str:
    """`nginx:1.27-alpine` -> `docker.io/library/nginx:1.27-alpine`, as containerd shows
    it; a reference that does not parse is kept as written (the kubelet reports it so)."""
    try:
        registry.parse(image)
    except registry.InvalidReference:
        return image
    name, at, digest = image.partition("@")
    parts = name.split("/")
    if len(parts) == 1 or not (
        "." in parts[0] or ":" in parts[0] or parts[0] == "localhost"
    ):
        parts = ["docker.io", *(["library"] if len(parts) == 1 else []), *parts]
    full = "/".join(parts)
    if not at and ":" not in parts[-1]:
        full += ":latest"
    return full + (at + digest if at else "")


def repository(image: str) -> str:
    """`docker.io/library/postgres:16` -> `postgres`; `traefik/whoami` -> `traefik/whoami`."""
    name = normalise(image).split("@", 1)[0]
    name = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
    parts = name.split("/")[1:]
    if parts and parts[0] == "library":
        parts = parts[1:]
    return "/".join(parts)


def tag(image: str) -> str:
    last = normalise(image).split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def image_id(image: str) -> str:
    """`docker.io/library/nginx@sha256:<64 hex>`, stable for the same image."""
    full = normalise(image)
    name = full.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    if "@sha256:" in full:
        return f"{name}@{full.split('@', 1)[1]}"
    return f"{name}@sha256:{hashlib.sha256(full.encode()).hexdigest()}"


def container_id(pod_uid: str, container: str, restarts: int = 0) -> str:
    digest = hashlib.sha256(f"{pod_uid}/{container}/{restarts}".encode()).hexdigest()
    return f"containerd://{digest}"


# -- start-up lines by image --------------------------------------------------------------


def _stamp(fmt: str) -> Callable[[float], str]:
    return lambda t: time.strftime(fmt, time.gmtime(t))


_GO = _stamp("%Y/%m/%d %H:%M:%S")
_PG = _stamp("%Y-%m-%d %H:%M:%S.000 UTC")
_REDIS = _stamp("%d %b %Y %H:%M:%S.000")
_ISO = _stamp("%Y-%m-%dT%H:%M:%SZ")


def _whoami(container: Obj, t: float) -> list[str]:
    words = [str(a) for a in container.get("args") or []]
    port = "80"
    for i, word in enumerate(words):
        if word.lstrip("-") == "port" and i + 1 < len(words):
            port = words[i + 1]
        elif word.lstrip("-").startswith("port="):
            port = word.split("=", 1)[1]
    return [f"{_GO(t)} Starting up on port {port}"]


def _nginx(container: Obj, t: float) -> list[str]:
    entry = "/docker-entrypoint.sh:"
    version = tag(str(container.get("image", "")))
    lines = [
        f"{entry} /docker-entrypoint.d/ is not empty, will attempt to perform configuration",
        f"{entry} Looking for shell scripts in /docker-entrypoint.d/",
        f"{entry} Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh",
        "10-listen-on-ipv6-by-default.sh: info: Enabled listen on IPv6 in /etc/nginx/conf.d/default.conf",
        f"{entry} Launching /docker-entrypoint.d/20-envsubst-on-templates.sh",
        f"{entry} Launching /docker-entrypoint.d/30-tune-worker-processes.sh",
        f"{entry} Configuration complete; ready for start up",
        f'{_GO(t)} [notice] 1#1: using the "epoll" event method',
    ]
    if re.match(r"^\d+\.\d+", version):
        lines.append(f"{_GO(t)} [notice] 1#1: nginx/{version.split('-')[0]}")
    lines += [
        f"{_GO(t)} [notice] 1#1: start worker processes",
        f"{_GO(t)} [notice] 1#1: start worker process 29",
    ]
    return lines


def _fixed(
    *templates: str, stamp: Callable[[float], str] = _ISO
) -> Callable[[Obj, float], list[str]]:
    return lambda container, t: [line.format(t=stamp(t)) for line in templates]


STARTUP: dict[str, Callable[[Obj, float], list[str]]] = {
    "traefik/whoami": _whoami,
    "nginx": _nginx,
    "traefik": _fixed('time="{t}" level=info msg="Configuration loaded from flags."'),
    "postgres": _fixed(
        '{t} [1] LOG:  listening on IPv4 address "0.0.0.0", port 5432',
        "{t} [1] LOG:  database system is ready to accept connections",
        stamp=_PG,
    ),
    "mysql": _fixed(
        "{t} 0 [System] [MY-010931] [Server] /usr/sbin/mysqld: ready for connections."
    ),
    "mariadb": _fixed("{t} 0 [Note] mariadbd: ready for connections."),
    "redis": _fixed(
        "1:M {t} * Server initialized",
        "1:M {t} * Ready to accept connections tcp",
        stamp=_REDIS,
    ),
    "valkey/valkey": _fixed(
        "1:M {t} * Server initialized",
        "1:M {t} * Ready to accept connections tcp",
        stamp=_REDIS,
    ),
    "rabbitmq": _fixed(
        "{t} [info] <0.9.0> Time to start RabbitMQ: 4201 ms",
        "{t} [info] <0.230.0> Server startup complete; 4 plugins started.",
    ),
    "mongo": _fixed(
        '{{"t":{{"$date":"{t}"}},"s":"I","c":"NETWORK","msg":"Waiting for connections"}}'
    ),
}


# -- shell scripts ---------------------------------------------------------------------------


@dataclass
class Script:
    """What a container's process would print: lines once, then lines per loop
    iteration; `finite` when it ends by itself after `runtime` with `exit_code`."""

    once: list[str] = field(default_factory=list)
    loop: list[str] = field(default_factory=list)
    period: float = 0.0
    looping: bool = False
    runtime: float = 0.0
    exit_code: int = 0
    finite: bool = False
    substitute: bool = True  # shell scripts expand $VAR in what they echo


def process(container: Obj) -> list[str]:
    """The argv the container runs (`imageconfig.process`)."""
    image = str(container.get("image", ""))
    return imageconfig.process(container, repository(image))


def script_of(container: Obj) -> str | None:
    """The shell text a container's process runs: `sh -c "..."`, or a simple command
    (`echo hello`, `sleep 3600`) run directly."""
    return _shell_text(process(container))


def _shell_text(argv: list[str]) -> str | None:
    if not argv:
        return None
    program = posixpath.basename(argv[0])
    if program in _SHELLS:
        if "-c" in argv[1:]:
            index = argv.index("-c", 1)
            return argv[index + 1] if index + 1 < len(argv) else ""
        return None
    if program in _FINITE:
        return " ".join(shlex.quote(w) if " " in w or not w else w for w in argv)
    return None


def script_for(container: Obj) -> Script | None:
    """What the container's process prints and whether it ends, when it is one the
    simulation reads (a shell script, a simple command, `python -c`, an interactive
    program); None for a server or an unknown program, which runs until stopped."""
    argv = process(container)
    text = _shell_text(argv)
    if text is not None:
        script = parse_script(text)
        script.finite = (
            not script.looping and script.runtime != float("inf") and _only_simple(text)
        )
        return script
    program = posixpath.basename(argv[0]) if argv else ""
    if interpreters.is_python(program) and argv[1:2] == ["-c"]:
        lines, code = interpreters.python_output(argv[2] if len(argv) > 2 else "")
        return Script(once=lines, exit_code=code, finite=True, substitute=False)
    if program == "hello":
        return Script(once=["", "Hello from Docker!"], finite=True, substitute=False)
    if _reads_stdin(program, argv[1:]):
        # Without stdin (no `kubectl run -i`) it reads end-of-file and exits 0.
        return Script(finite=not container.get("stdin"), substitute=False)
    return None


def _reads_stdin(program: str, args: list[str]) -> bool:
    """A shell or a REPL started with nothing to run: it reads commands from stdin."""
    if program in _SHELLS:
        return all(a.startswith("-") for a in args)
    return not args and (program in _REPLS or interpreters.is_python(program))


def parse_script(text: str) -> Script:
    script = Script()
    match = _LOOP.search(text)
    head = text[: match.start()] if match else text
    for statement in _statements(head):
        _apply(statement, script, script.once)
    if match:
        script.looping = True
        body = Script()
        for statement in _statements(match.group("body")):
            _apply(statement, body, script.loop)
        script.period = body.runtime if body.runtime > 0 else 1.0
    return script


def _statements(text: str) -> Iterator[str]:
    for part in re.split(r";|\n|&&|\|\|", text):
        part = part.strip()
        if part and part not in ("do", "done"):
            yield part


def _apply(statement: str, script: Script, lines: list[str]) -> None:
    try:
        words = shlex.split(statement)
    except ValueError:
        words = statement.split()
    if not words:
        return
    verb, rest = words[0], words[1:]
    if verb in ("echo", "printf"):
        while rest and rest[0] in ("-n", "-e", "-ne", "-en"):
            rest = rest[1:]
        lines.append(" ".join(rest).replace("\\n", ""))
    elif verb == "sleep" and rest:
        script.runtime += _seconds(rest[0])
    elif verb == "exit":
        script.exit_code = int(rest[0]) if rest and rest[0].isdigit() else 0
    elif verb == "false":
        script.exit_code = 1
    elif verb == "true":
        script.exit_code = 0


def _seconds(text: str) -> float:
    if text == "infinity":
        return float("inf")
    match = re.match(r"^([0-9.]+)([smhd]?)$", text)
    if not match:
        return 0.0
    scale = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return float(match.group(1)) * scale


# -- a container's log ----------------------------------------------------------------------


class ContainerLog(list[str]):
    """Log lines that grow with time: a shell loop's lines appear as time passes.

    The kubelet stores one of these in `Context.logbook`; whoever reads it (iterating,
    `len`, indexing) sees the lines the container has written by now.
    """

    def __init__(
        self,
        lines: list[str],
        script: Script | None,
        started: float,
        env: dict[str, str],
    ) -> None:
        super().__init__(
            _substitute(line, env, started) if script and script.substitute else line
            for line in lines
        )
        # When each line was written: start-up lines a tenth of a millisecond apart
        # from the start, each loop line at its iteration.
        self._stamps = [started + i * 1e-4 for i in range(len(lines))]
        self._script = script
        self._started = started
        self._env = env
        self._emitted = 0
        self._until: float | None = None

    def end(self, until: float) -> None:
        """The process ended at `until` (a previous run): no line is written later."""
        self._until = until

    def refresh(self, now: float | None = None) -> None:
        script = self._script
        if script is None or not script.looping or not script.loop:
            return
        moment = time.time() if now is None else now
        if self._until is not None:
            moment = min(moment, self._until)
        elapsed = moment - self._started - script.runtime
        iterations = int(elapsed // script.period) + 1 if elapsed >= 0 else 0
        while self._emitted < iterations and super().__len__() < MAX_LOG_LINES:
            moment = self._started + script.runtime + self._emitted * script.period
            super().extend(_substitute(line, self._env, moment) for line in script.loop)
            self._stamps.extend(moment + i * 1e-4 for i in range(len(script.loop)))
            self._emitted += 1

    def noted(self, line: str) -> None:
        """A first line from the simulator itself, before what the script writes."""
        super().insert(0, line)
        self._stamps.insert(0, self._started)

    def written(self, moment: float, line: str) -> None:
        """A line the container's running process wrote (`processes`)."""
        if super().__len__() < MAX_LOG_LINES:
            super().append(line)
            self._stamps.append(moment)

    def full(self) -> bool:
        return super().__len__() >= MAX_LOG_LINES

    def stamped(self) -> list[tuple[float, str]]:
        """Every line written by now, with the time it was written."""
        self.refresh()
        return list(zip(self._stamps, super().__iter__(), strict=True))

    def __iter__(self) -> Iterator[str]:
        self.refresh()
        return super().__iter__()

    def __len__(self) -> int:
        self.refresh()
        return super().__len__()

    @overload
    def __getitem__(self, index: SupportsIndex) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: SupportsIndex | slice) -> str | list[str]:
        self.refresh()
        return super().__getitem__(index)


def _substitute(line: str, env: dict[str, str], moment: float) -> str:
    date = time.strftime("%a %b %e %H:%M:%S UTC %Y", time.gmtime(moment))
    line = line.replace("$(date)", date).replace("`date`", date)
    line = line.replace("$(hostname)", env.get("HOSTNAME", "")).replace(
        "`hostname`", env.get("HOSTNAME", "")
    )
    return re.sub(
        r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: env.get(m.group(1), ""), line
    )


def container_log(
    container: Obj, pod_name: str, started: float, env: dict[str, str] | None = None
) -> ContainerLog:
    """The log of a container started at `started`; `env` is its resolved environment
    (the kubelet's, ConfigMap and Secret values included), else its literal values."""
    if env is None:
        env = {"HOSTNAME": pod_name}
        for var in container.get("env") or []:
            if "value" in var:
                env[str(var["name"])] = str(var["value"])
    env = {"HOSTNAME": pod_name, **env}
    system = systemlogs.STARTUP.get(repository(str(container.get("image", ""))))
    if system is not None:  # a component's binary, not a script, whatever its command
        return ContainerLog(system(container, started), None, started, {})
    script = script_for(container)
    if script is not None:
        return ContainerLog(script.once, script, started, env)
    repo = repository(str(container.get("image", "")))
    argv = process(container)
    default = imageconfig.default_program(repo)
    own = not argv or posixpath.basename(argv[0]) == default
    startup = STARTUP.get(repo) if own else None
    lines = startup(container, started) if startup else []
    return ContainerLog(lines, None, started, {})


def system_image(container: Obj) -> bool:
    """One of kind's components: its binary runs, whatever the command says."""
    return repository(str(container.get("image", ""))) in systemlogs.STARTUP


def finishes(container: Obj) -> tuple[float, int] | None:
    """(seconds it runs, exit code) for a process that ends by itself, else None."""
    script = script_for(container)
    if script is None or not script.finite:
        return None
    return script.runtime, script.exit_code


def _only_simple(text: str) -> bool:
    """Only statements whose end we can foresee (echo, sleep, exit, true, ...)."""
    for statement in _statements(text):
        verb = statement.split()[0] if statement.split() else ""
        if verb not in _FINITE:
            return False
    return True


_REPLS = ("node", "irb")
_FINITE = (
    "echo",
    "printf",
    "sleep",
    "exit",
    "true",
    "false",
    "date",
    "hostname",
    "env",
    "ls",
    "cat",
    ":",
)
