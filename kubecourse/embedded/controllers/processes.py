"""A container's own command, run on the same shell as `kubectl exec` (`shell`).

Faithful: the process is the container's ENTRYPOINT and CMD as `command` and `args`
override them (`images.process`, `$(VAR)` expanded by the kubelet); when it is a shell
script (`sh -c '...'`) or a program the simulated shell has (`nslookup`, `nc`, `wget`,
`echo`, `sleep` ...), it runs in an asyncio task against the container's `Sandbox`
(environment, `/etc/hosts`, cluster DNS, the Pod's view of the simulated network), so
`until nc -z db 5432; do sleep 1; done` waits until the Service really answers.  What it
writes on stdout and stderr becomes the container's log line by line, stamped with the
moment it was written; `sleep` takes real time; the exit code is reported to the kubelet
through `Context.container_exited`, which ends the run (Completed / Error).

Simplified: stdin is empty (end-of-file); a process that writes lines with no sleep in
between is slowed down once its log holds `images.MAX_LOG_LINES` lines (a real
runtime rotates the file instead).  Other programs (servers, unknown binaries) are not
run here: `images` says what they log and whether they end.
"""

from __future__ import annotations

import asyncio
import logging
import posixpath
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kubecourse.embedded.controllers import images
from kubecourse.embedded.controllers.base import Context, Obj

if TYPE_CHECKING:  # the shell imports the network, which imports the controllers
    from kubecourse.embedded.shell.programs import Sandbox
    from kubecourse.embedded.shell.syntax import Command

log = logging.getLogger(__name__)
_NAP = 86_400.0  # `sleep infinity` sleeps a day at a time
_SLOW = 0.05  # seconds per line once the log is full


class LogTerminal:
    """The container's stdout and stderr, written to its log as lines."""

    tty = False

    def __init__(self, book: images.ContainerLog) -> None:
        self.book, self.pending = book, ""

    async def write(self, text: str, stderr: bool = False) -> None:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            self.book.written(time.time(), line)
        if self.book.full():
            await asyncio.sleep(_SLOW)

    async def read(self) -> str | None:
        return None

    async def sleep(self, seconds: float) -> bool:
        while seconds > 0:
            nap = min(seconds, _NAP)
            await asyncio.sleep(nap)
            seconds -= nap
        return True

    def flush(self) -> None:
        if self.pending:
            self.book.written(time.time(), self.pending)
            self.pending = ""


@dataclass
class Process:
    """One run of a container's command."""

    task: asyncio.Task[None]
    book: images.ContainerLog

    def stop(self) -> None:
        self.task.cancel()


def runs_on_shell(argv: list[str], sandbox: Sandbox) -> bool:
    """Whether the simulated shell can run this process: a shell script made only of
    what the shell simulates, or one of its programs that the image has.  Anything
    else (`tail -f /dev/null`, `python app.py`, a pipe) is left to `images`, which
    keeps such a container running rather than failing it for want of a program."""
    from kubecourse.embedded.shell.interpreter import ALL_SHELLS
    from kubecourse.embedded.shell.programs import NO_SHELL

    if not argv or sandbox.flavour == NO_SHELL:
        return False
    program = posixpath.basename(argv[0])
    if program in ALL_SHELLS:
        if "-c" not in argv[1:-1]:
            return False
        return _simulated(argv[argv.index("-c", 1) + 1], sandbox)
    return _known(program, sandbox)


def unsimulated(argv: list[str], sandbox: Sandbox) -> str | None:
    """For a `sh -c` script the shell cannot run, the log line that says so (the
    container is then left to `images`, whose lines are the script's echoes as written)."""
    from kubecourse.embedded.shell.interpreter import ALL_SHELLS, not_simulated
    from kubecourse.embedded.shell.syntax import ShellError, parse

    if len(argv) < 3 or posixpath.basename(argv[0]) not in ALL_SHELLS:
        return None
    if "-c" not in argv[1:-1]:
        return None
    script = argv[argv.index("-c", 1) + 1]
    try:
        commands = parse(script)
    except ShellError as err:
        return f"sh: {err} {UNSIMULATED}"
    for program in _programs(commands):
        if program not in WAIT_ONLY and not _known(program, sandbox):
            return f"sh: {not_simulated(program)} {UNSIMULATED}"
    return None


UNSIMULATED = "(so the embedded cluster shows this script's echo lines as written)"
# Programs scripts use only to keep a container alive (`tail -f /dev/null`): not running
# them looks the same, so they are not worth a note.
WAIT_ONLY = frozenset({"tail"})


def _programs(commands: list[Command]) -> Iterator[str]:
    from kubecourse.embedded.shell.syntax import assignment

    for command in commands:
        yield from _programs(command.condition + command.body + command.otherwise)
        words = [w for w in command.words if assignment(w) is None]
        if command.kind == "simple" and words and len(words[0]) == 1:
            yield posixpath.basename(words[0][0].value)


def _known(program: str, sandbox: Sandbox) -> bool:
    from kubecourse.embedded.shell.interpreter import (
        ALL_SHELLS,
        BUILTINS,
        NETWORK_PROGRAMS,
    )
    from kubecourse.embedded.shell.nettools import has_tool
    from kubecourse.embedded.shell.programs import PROGRAMS

    if program in NETWORK_PROGRAMS:
        return has_tool(sandbox, program)
    return program in PROGRAMS or program in BUILTINS or program in ALL_SHELLS


def _simulated(script: str, sandbox: Sandbox) -> bool:
    from kubecourse.embedded.shell.syntax import ShellError, parse

    try:
        commands = parse(script)
    except ShellError:
        return False
    return all(_command_simulated(c, sandbox) for c in commands)


def _command_simulated(command: Command, sandbox: Sandbox) -> bool:
    from kubecourse.embedded.shell.syntax import assignment

    nested = command.condition + command.body + command.otherwise
    if not all(_command_simulated(c, sandbox) for c in nested):
        return False
    for word in command.words:
        for part in word:
            if part.kind == "cmd" and not _simulated(part.value, sandbox):
                return False
    if command.kind != "simple":
        return True
    words = [w for w in command.words if assignment(w) is None]
    if not words:
        return True
    first = words[0]
    if len(first) != 1 or first[0].kind != "text":
        return False  # a program named by a variable: not foreseeable
    return _known(posixpath.basename(first[0].value), sandbox)


def start(
    ctx: Context,
    pod: Obj,
    container: Obj,
    started: float,
    on_exit: Callable[[int], None],
) -> Process | None:
    """Start `container` (its command already expanded) as a process, if the shell
    can run it; None when it cannot (the caller falls back to `images`)."""
    if ctx.sandboxes is None:
        return None
    sandbox = ctx.sandboxes(pod, container)
    argv = images.process(container)
    if images.system_image(container) or not runs_on_shell(argv, sandbox):
        return None
    book = images.ContainerLog([], None, started, {})
    term = LogTerminal(book)
    task = asyncio.get_running_loop().create_task(_main(argv, sandbox, term, on_exit))
    return Process(task, book)


async def _main(
    argv: list[str], sandbox: Sandbox, term: LogTerminal, on_exit: Callable[[int], None]
) -> None:
    from kubecourse.embedded import shell

    try:
        code = await shell.execute(argv, sandbox, term)
    except shell.RuntimeFailure as err:
        term.book.written(time.time(), str(err))
        code = 128
    except Exception:  # a bug of ours must not leave the container running forever
        log.exception("process %s failed", argv)
        code = 1
    term.flush()
    on_exit(code)
