"""`exec` and `attach` over the remotecommand WebSocket protocol (v5 and v4).

Each binary WebSocket message is one byte of channel then data: 0 stdin, 1 stdout,
2 stderr, 3 the error channel (a JSON `Status` when the command ends), 4 terminal
resizes (`{"Width":..,"Height":..}`), and in v5 (`v5.channel.k8s.io`, what kubectl
1.30+ asks for) 255, the close signal: `[255, 0]` is the client closing stdin.  The
server first sends an empty message on the lowest output channel, and at the end the
`Status`: `Success`, `NonZeroExitCode` with the exit code as the `ExitCode` cause
(kubectl prints `command terminated with exit code N` and exits N), or an
`InternalError` (`error: Internal error occurred: ...`, exit 1); then it sends the close
frame and waits for the client to close, as the API server's stream translator does.

Faithful: the v4 / v5 framing, the statuses and their messages, stdin ending with the
close signal (v5) or the connection (v4), a TTY that merges stderr into stdout, turns
`\\n` into `\\r\\n` and stops a `sleep` on Ctrl-C.  `attach` streams the container's log
lines written from the moment it attaches (the container's stdout), until the client
leaves or the container stops; attached with stdin to a container whose process is an
interactive shell (`kubectl run -it --image=busybox box`, `-- sh`), it gets that shell.
Leaving that shell ends the container's process: under restartPolicy Never the
container terminates with the shell's exit code.  Simplified: resize messages are read
and ignored; what is typed into any other attached container reaches no process.
"""

from __future__ import annotations

import asyncio
import codecs
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from kubecourse.embedded import shell
from kubecourse.embedded.shell.programs import Sandbox

Obj = dict[str, Any]
V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
PROTOCOLS = (V5, V4)
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
ATTACH_POLL = 0.2  # how often an attached session looks for new log lines


@dataclass
class Options:
    """What the client asked for (`PodExecOptions` / `PodAttachOptions`)."""

    container: str | None
    command: list[str]
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool


def success() -> Obj:
    return {"metadata": {}, "status": "Success"}


def exit_code(code: int) -> Obj:
    message = f"command terminated with non-zero exit code: command terminated with exit code {code}"
    return {
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def internal_error(message: str) -> Obj:
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"Internal error occurred: {message}",
        "reason": "InternalError",
        "details": {"causes": [{"message": message}]},
        "code": 500,
    }


class Session:
    """One exec or attach WebSocket: channels out, stdin and signals in."""

    def __init__(self, ws: web.WebSocketResponse, options: Options) -> None:
        self.ws, self.options = ws, options
        self.v5 = ws.ws_protocol == V5
        self.stdin: asyncio.Queue[str | None] = asyncio.Queue()
        self.interrupt = asyncio.Event()
        self.sleeping = False
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    async def open(self) -> None:
        """The empty message on the lowest output channel: the session is up."""
        first = (
            STDOUT if self.options.stdout else STDERR if self.options.stderr else ERROR
        )
        await self.send(first, b"")

    async def send(self, channel: int, data: bytes) -> None:
        if not self.ws.closed:
            await self.ws.send_bytes(bytes([channel]) + data)

    async def finish(self, status: Obj) -> None:
        await self.send(ERROR, json.dumps(status, separators=(",", ":")).encode())
        await self.ws.close()

    async def pump(self) -> None:
        """Read the client until it closes: stdin, the close signal, resizes."""
        async for message in self.ws:
            data = message.data
            if (
                message.type is WSMsgType.TEXT
            ):  # the Python client sends str stdin as text
                data = data.encode("utf-8")
            elif message.type is not WSMsgType.BINARY:
                continue
            if data:
                await self._received(data[0], data[1:])
        await self.stdin.put(None)

    async def _received(self, channel: int, data: bytes) -> None:
        if channel == STDIN and self.options.stdin:
            text = self._decoder.decode(data)
            if self.options.tty and "\x03" in text and self.sleeping:
                self.interrupt.set()  # the foreground command gets SIGINT
                text = text.replace("\x03", "")
            if text:
                await self.stdin.put(text)
        elif channel == CLOSE and self.v5 and data[:1] == bytes([STDIN]):
            await self.stdin.put(None)


class SessionTerminal:
    """The `programs.Terminal` of a session: what a command reads and writes."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.tty = session.options.tty
        self._ended = not session.options.stdin

    async def write(self, text: str, stderr: bool = False) -> None:
        options = self.session.options
        if self.tty:
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
            stderr = False
        if (stderr and options.stderr) or (not stderr and options.stdout):
            await self.session.send(STDERR if stderr else STDOUT, text.encode())

    async def read(self) -> str | None:
        if self._ended:
            return None
        chunk = await self.session.stdin.get()
        self._ended = chunk is None
        return chunk

    async def sleep(self, seconds: float) -> bool:
        session = self.session
        session.interrupt.clear()
        session.sleeping = True
        try:
            timeout = None if seconds == float("inf") else seconds
            await asyncio.wait_for(session.interrupt.wait(), timeout)
        except asyncio.TimeoutError:
            return True
        finally:
            session.sleeping = False
        await self.write("^C\n")
        return False


async def run_exec(
    session: Session, sandbox: Sandbox, exec_id: str, exit_codes: bool = True
) -> int | None:
    """Run the command; report how it ended on the error channel (an attached
    session, `exit_codes=False`, reports only that it ended, as the runtime does)."""
    program = asyncio.ensure_future(
        shell.execute(session.options.command, sandbox, SessionTerminal(session))
    )
    reader = asyncio.ensure_future(session.pump())
    await asyncio.wait({program, reader}, return_when=asyncio.FIRST_COMPLETED)
    if not program.done():  # the client left: the process is killed
        program.cancel()
        await asyncio.gather(program, return_exceptions=True)
        return None
    code: int | None = None
    try:
        code = program.result()
    except shell.RuntimeFailure as failure:
        status = internal_error(oci_failure(exec_id, str(failure)))
    else:
        status = success() if code == 0 or not exit_codes else exit_code(code)
    await session.finish(status)
    await asyncio.gather(reader, return_exceptions=True)
    return code


def oci_failure(exec_id: str, reason: str) -> str:
    """containerd's message when runc cannot start the exec'd process."""
    return (
        "error executing command in container: failed to exec in container: "
        f'failed to start exec "{exec_id}": OCI runtime exec failed: exec failed: '
        f"unable to start container process: {reason}: unknown"
    )


async def run_attach(session: Session, log: list[str], running: Any) -> None:
    """Stream the log lines the container writes from now on, until either side ends.

    `running()` says whether the container still runs (the Pod may be deleted)."""
    seen = len(log)
    terminal = SessionTerminal(session)
    reader = asyncio.ensure_future(session.pump())
    while not reader.done():
        lines = list(log)[seen:]
        seen += len(lines)
        if lines:
            await terminal.write("".join(line + "\n" for line in lines))
        if not running():
            await session.finish(success())
            break
        await asyncio.wait({reader}, timeout=ATTACH_POLL)
    await asyncio.gather(reader, return_exceptions=True)
