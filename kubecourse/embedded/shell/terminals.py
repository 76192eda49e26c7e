"""Terminals around a session's terminal: `$(...)` capture, redirections, a TTY's line editing."""

from __future__ import annotations

from kubecourse.embedded.shell.programs import Terminal


class Capture:
    """`$(command)`: stdout collected, stderr passed on, no stdin."""

    def __init__(self, inner: Terminal) -> None:
        self.inner, self.text, self.tty = inner, list[str](), False

    async def write(self, text: str, stderr: bool = False) -> None:
        if stderr:
            await self.inner.write(text, True)
        else:
            self.text.append(text)

    async def read(self) -> str | None:
        return None

    async def sleep(self, seconds: float) -> bool:
        return await self.inner.sleep(seconds)


class Redirected:
    """`> /dev/null`, `2>&1` and friends: each stream sent to out, err or nowhere."""

    def __init__(self, inner: Terminal, out: str, err: str) -> None:
        self.inner, self.targets, self.tty = inner, {False: out, True: err}, inner.tty

    async def write(self, text: str, stderr: bool = False) -> None:
        target = self.targets[stderr]
        if target != "null":
            await self.inner.write(text, target == "err")

    async def read(self) -> str | None:
        return await self.inner.read()

    async def sleep(self, seconds: float) -> bool:
        return await self.inner.sleep(seconds)


class LineEditor:
    """A TTY's line discipline in canonical mode: echo, erase, Ctrl-C, Ctrl-D."""

    def __init__(self) -> None:
        self.line = ""
        self.escape = False

    async def feed(self, chunk: str, term: Terminal) -> list[str | None]:
        """Complete lines typed in `chunk`; None for end of input (Ctrl-D)."""
        lines: list[str | None] = []
        for char in chunk:
            if self.escape:  # arrow keys and the like: ignored
                self.escape = not (char.isalpha() or char == "~")
            elif char == "\x1b":
                self.escape = True
            elif char in "\r\n":
                await term.write("\n")
                lines.append(self.line)
                self.line = ""
            elif char in "\x7f\x08":
                if self.line:
                    self.line = self.line[:-1]
                    await term.write("\b \b")
            elif char == "\x03":
                await term.write("^C\n")
                self.line = ""
                lines.append("")
            elif char == "\x04":
                if not self.line:
                    lines.append(None)
                    return lines
            elif char.isprintable() or char == "\t":
                self.line += char
                await term.write(char)
        return lines
