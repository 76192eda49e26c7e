"""The shell process itself: running commands, builtins, programs, a REPL.

See the package's docstring for what runs.
"""

from __future__ import annotations

import asyncio
import posixpath
import re

from kubecourse.embedded.shell.arithmetic import evaluate
from kubecourse.embedded.shell.curl import curl
from kubecourse.embedded.shell.nettools import has_tool, nc
from kubecourse.embedded.shell.programs import (
    BUSYBOX,
    DEBIAN,
    NETWORK_TOOLS,
    NO_SHELL,
    PROGRAMS,
    Call,
    Program,
    Sandbox,
    Terminal,
    glob,
)
from kubecourse.embedded.shell.syntax import (
    KEYWORDS,
    NAME,
    SIMPLE,
    Command,
    Part,
    ShellError,
    Word,
    assignment,
    parse,
)
from kubecourse.embedded.shell.terminals import Capture, LineEditor, Redirected
from kubecourse.embedded.shell.wget import wget

SHELLS = {BUSYBOX: ("sh", "ash"), DEBIAN: ("sh", "dash", "bash"), NO_SHELL: ()}
ALL_SHELLS = {"sh", "ash", "dash", "bash"}
BUILTINS = {
    "exit", "cd", "pwd", "export", "unset", ":", "exec", "source", ".", "break",
    "continue",
}  # fmt: skip
BIN_DIRS = {
    "/bin",
    "/sbin",
    "/usr/bin",
    "/usr/sbin",
    "/usr/local/bin",
    "/usr/local/sbin",
}
RUNS = (
    "cat, cd, date, echo, env, exit, export, false, getent, hostname, id, ls, nslookup, "
    "printenv, pwd, sh, sleep, true, and the network tools the image has (busybox: wget, "
    "nc; Debian: curl)"
)
# The network tools, present in an image or not (`nettools.has_tool`).
NETWORK_PROGRAMS: dict[str, Program] = {"wget": wget, "curl": curl, "nc": nc}
# What `$$` shows: the exec'd shell's pid in a container whose pid 1 is the app.
_PID = 7


class RuntimeFailure(Exception):
    """The container runtime cannot start the process (no such executable)."""


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _LoopJump(Exception):
    """`break N` / `continue N`: leave (or go on with) the Nth enclosing loop."""

    def __init__(self, kind: str, levels: int) -> None:
        super().__init__(kind)
        self.kind, self.levels = kind, levels


def not_found(name: str) -> str:
    """containerd's reason when the executable is not in the image."""
    if "/" in name:
        return f'exec: "{name}": stat {name}: no such file or directory'
    return f'exec: "{name}": executable file not found in $PATH'


def not_simulated(name: str) -> str:
    text = (
        f"{name}: not simulated: the embedded cluster runs no processes; "
        f"its containers run only {RUNS}"
    )
    if posixpath.basename(name) in NETWORK_TOOLS:
        text += "; to reach Pods and Services use wget, curl or nc"
    return text


async def execute(argv: list[str], sandbox: Sandbox, term: Terminal) -> int:
    """Run `argv` as the container runtime would exec it; its exit code."""
    name = argv[0]
    base = posixpath.basename(name)
    shells = SHELLS.get(sandbox.flavour, ())
    missing = base in BUILTINS or (base in ALL_SHELLS and base not in shells)
    if sandbox.flavour == NO_SHELL or missing or not _plausible_path(name):
        raise RuntimeFailure(not_found(name))
    shell = Shell(sandbox, term, base if base in shells else "sh")
    try:
        if base in shells:
            return await shell.main(argv[1:])
        return await shell.run(argv, shell.environment(), term, direct=True)
    except _Exit as done:
        return done.code


def _plausible_path(name: str) -> bool:
    return "/" not in name or posixpath.dirname(name) in BIN_DIRS


class Shell:
    """One shell process: its variables, working directory and last exit code."""

    def __init__(self, sandbox: Sandbox, term: Terminal, name: str = "sh") -> None:
        self.sandbox, self.term, self.name = sandbox, term, name
        self.vars = dict(sandbox.env)
        self.exported = set(self.vars)
        self.cwd = sandbox.workdir
        self.status = 0
        self.interactive = False

    def environment(self) -> dict[str, str]:
        return {k: v for k, v in self.vars.items() if k in self.exported}

    def prefix(self) -> str:
        """How this shell starts its error messages."""
        if self.name == "bash":
            return "bash: " if self.interactive else "bash: line 1: "
        if self.sandbox.flavour == DEBIAN:
            return f"{self.name}: 1: "
        return f"{self.name}: "

    async def main(self, args: list[str]) -> int:
        """`sh [-c SCRIPT | FILE]`: the shell as the exec'd process."""
        while args and args[0] in ("-l", "-i", "-e", "-x", "-s", "--login", "-"):
            args = args[1:]
        if args and args[0] == "-c":
            if len(args) < 2:
                await self.term.write(
                    f"{self.name}: -c: option requires an argument\n", True
                )
                return 2
            return await self.script(args[1], self.term)
        if args:
            return await self._source_file(
                args[0], self.term, exit_code=127 if self.name == "bash" else 2
            )
        if self.term.tty:
            return await self.repl()
        return await self.from_stdin()

    async def script(self, text: str, term: Terminal) -> int:
        try:
            await self._commands(parse(text), term)
        except ShellError as err:
            await term.write(f"{self.prefix()}{err}\n", True)
            self.status = 2
        except _LoopJump:
            pass  # `break` outside a loop ends nothing but itself
        return self.status

    async def _commands(self, commands: list[Command], term: Terminal) -> int:
        for command in commands:
            if command.connector == "&&" and self.status != 0:
                continue
            if command.connector == "||" and self.status == 0:
                continue
            self.status = await self._command(command, term)
        return self.status

    async def from_stdin(self) -> int:
        """`kubectl exec -i pod -- sh` with piped input: each line as it comes."""
        pending = ""
        try:
            while (chunk := await self.term.read()) is not None:
                pending += chunk
                while "\n" in pending:
                    line, pending = pending.split("\n", 1)
                    await self.script(line, self.term)
            if pending.strip():
                await self.script(pending, self.term)
        except _Exit as done:
            return done.code
        return self.status

    async def repl(self) -> int:
        """An interactive shell on a TTY: echo, line editing, a prompt."""
        self.interactive = True
        editor = LineEditor()
        await self.term.write(self.prompt())
        try:
            while (chunk := await self.term.read()) is not None:
                for line in await editor.feed(chunk, self.term):
                    if line is None:
                        return self.status
                    if line.strip():
                        await self.script(line, self.term)
                    await self.term.write(self.prompt())
        except _Exit as done:
            return done.code
        return self.status

    def prompt(self) -> str:
        root = self.sandbox.uid == 0
        if self.name == "bash":
            where = "~" if self.cwd == self.vars.get("HOME") else self.cwd
            who = "root" if root else "I have no name!"
            return f"{who}@{self.sandbox.hostname}:{where}{'#' if root else '$'} "
        if self.sandbox.flavour == BUSYBOX:
            where = "~" if self.cwd == self.vars.get("HOME") else self.cwd
            return f"{where} {'#' if root else '$'} "
        return "# " if root else "$ "

    # -- one command ---------------------------------------------------------------------

    async def _command(self, command: Command, term: Terminal) -> int:
        if command.kind in ("while", "until"):
            return await self._loop(command, term)
        if command.kind == "for":
            return await self._for(command, term)
        if command.kind == "if":
            if await self._commands(command.condition, term) == 0:
                return await self._commands(command.body, term) if command.body else 0
            return (
                await self._commands(command.otherwise, term)
                if command.otherwise
                else 0
            )
        first = command.words[0] if command.words else []
        if len(first) == 1 and first[0].kind == "text" and not first[0].quoted:
            if first[0].value in KEYWORDS:
                raise ShellError(f"{first[0].value}: not simulated: {SIMPLE}")
        term = await self._redirected(command.redirects, term)
        assignments, fields = await self._split_assignments(command.words, term)
        if not fields:
            self.vars.update(assignments)
            return 0
        return await self.run(fields, {**self.environment(), **assignments}, term)

    async def _loop(self, command: Command, term: Terminal) -> int:
        """`while` / `until`: the body's last status, 0 when it never ran."""
        status = 0
        while True:
            passed = await self._commands(command.condition, term) == 0
            if passed != (command.kind == "while"):
                return status
            jump = await self._iteration(command.body, term)
            status = self.status
            if jump == "break":
                return status

    async def _for(self, command: Command, term: Terminal) -> int:
        values: list[str] = []
        for word in command.words:
            values.extend(await self._fields(word, term))
        status = 0
        for value in values:
            self.vars[command.variable] = value
            jump = await self._iteration(command.body, term)
            status = self.status
            if jump == "break":
                break
        return status

    async def _iteration(self, body: list[Command], term: Terminal) -> str:
        """One pass of a loop body; "break" when it broke out.  Each pass yields to
        the event loop, so a loop without `sleep` does not hold the cluster."""
        await asyncio.sleep(0)
        try:
            await self._commands(body, term)
        except _LoopJump as jump:
            if jump.levels > 1:
                raise _LoopJump(jump.kind, jump.levels - 1) from None
            return jump.kind
        return ""

    async def _split_assignments(
        self, words: list[Word], term: Terminal
    ) -> tuple[dict[str, str], list[str]]:
        assignments: dict[str, str] = {}
        index = 0
        for word in words:
            split = assignment(word)
            if split is None:
                break
            variable, rest = split
            assignments[variable] = "".join(await self._fields(rest, term, split=False))
            index += 1
        fields: list[str] = []
        for word in words[index:]:
            fields.extend(await self._fields(word, term))
        return assignments, fields

    async def _fields(
        self, word: Word, term: Terminal, split: bool = True
    ) -> list[str]:
        """A word after expansion: variables, commands, field splitting and globs."""
        fields: list[str] = []
        current, started, wildcard = "", False, False
        for index, part in enumerate(word):
            if part.kind == "text":
                value = part.value
                if (
                    index == 0
                    and not part.quoted
                    and (value == "~" or value.startswith("~/"))
                ):
                    value = self.vars.get("HOME", "/root") + value[1:]
                current += value
                started = True
                wildcard |= not part.quoted and any(c in value for c in "*?[")
                continue
            value = await self._expand(part, term)
            if part.quoted or not split:
                current, started = current + value, True
                continue
            pieces = value.split()
            if value[:1].isspace() and started:
                fields.append(current)
                current, started = "", False
            for number, piece in enumerate(pieces):
                if number:
                    fields.append(current)
                current, started = current + piece if not number else piece, True
            if value[-1:].isspace() and started:
                fields.append(current)
                current, started = "", False
        if started:
            fields.append(current)
        if wildcard and split:
            fields = [
                hit for f in fields for hit in (glob(f, self.cwd, self.sandbox) or [f])
            ]
        return fields

    async def _expand(self, part: Part, term: Terminal) -> str:
        if part.kind == "cmd":
            return await self._substitute(part.value, term)
        if part.kind == "arith":
            return str(evaluate(part.value, self.vars, self.status))
        match = re.fullmatch(r"([^:-]*)(:?-)?(.*)", part.value, re.S)
        assert match is not None  # the pattern matches any text
        name, operator, default = match.group(1), match.group(2) or "", match.group(3)
        special = {"?": str(self.status), "$": str(_PID), "#": "0", "0": self.name}
        if name in special:
            return special[name]
        if (not NAME.fullmatch(name) and not name.isdigit() and name not in "@*") or (
            default and not operator
        ):
            raise ShellError(f"syntax error: bad substitution: ${{{part.value}}}")
        value = self.vars.get(name)
        if (operator == ":-" and not value) or (operator == "-" and value is None):
            return default
        return value or ""

    async def _substitute(self, script: str, term: Terminal) -> str:
        child = Shell(self.sandbox, term, self.name)
        child.vars, child.exported, child.cwd = (
            dict(self.vars),
            set(self.exported),
            self.cwd,
        )
        capture = Capture(term)
        try:
            await child.script(script, capture)
        except _Exit:
            pass
        return "".join(capture.text).rstrip("\n")

    async def _redirected(
        self, redirects: list[tuple[str, Word | None]], term: Terminal
    ) -> Terminal:
        if not redirects:
            return term
        targets = {"out": "out", "err": "err"}
        for op, word in redirects:
            if op == "<":
                raise ShellError("reading stdin from a file (< FILE) is not simulated")
            if op == "2>&1":
                targets["err"] = targets["out"]
                continue
            if op in (">&2", "1>&2"):
                targets["out"] = targets["err"]
                continue
            path = "".join(await self._fields(word or [], term, split=False))
            sink = {
                "/dev/null": "null",
                "/dev/stderr": "err",
                "/dev/stdout": "out",
            }.get(path)
            if sink is None:
                raise ShellError(f"writing to files (> {path}) is not simulated")
            for stream in (
                ("out", "err")
                if op == "&>"
                else ("err",)
                if op.startswith("2")
                else ("out",)
            ):
                targets[stream] = sink
        return Redirected(term, targets["out"], targets["err"])

    async def run(
        self, argv: list[str], env: dict[str, str], term: Terminal, direct: bool = False
    ) -> int:
        """Run one program or builtin; `direct`: exec'd by the runtime, not by a shell."""
        name = argv[0]
        base = posixpath.basename(name)
        if not direct and base in BUILTINS and "/" not in name:
            return await self._builtin(base, argv[1:], env, term)
        if base in SHELLS.get(self.sandbox.flavour, ()) and _plausible_path(name):
            child = Shell(self.sandbox, term, base)
            child.vars, child.exported, child.cwd = dict(env), set(env), self.cwd
            return await child.main(argv[1:])
        program = PROGRAMS.get(base) if _plausible_path(name) else None
        if program is None and base in NETWORK_PROGRAMS and _plausible_path(name):
            if not has_tool(self.sandbox, base):
                return await self._missing(name, term, direct)
            program = NETWORK_PROGRAMS[base]
        if program is None:
            where = "" if direct else self.prefix()
            await term.write(f"{where}{not_simulated(name)}\n", True)
            return 127
        call = Call(
            argv[1:],
            base,
            env,
            self.sandbox,
            term,
            self.cwd,
            lambda a, e: self.run(a, e, term),
        )
        return await program(call)

    async def _missing(self, name: str, term: Terminal, direct: bool) -> int:
        """A program the image does not have, as its shell (or the runtime) says."""
        if direct:
            raise RuntimeFailure(not_found(name))
        missing = "command not found" if self.name == "bash" else "not found"
        await term.write(f"{self.prefix()}{name}: {missing}\n", True)
        return 127

    async def _builtin(
        self, name: str, args: list[str], env: dict[str, str], term: Terminal
    ) -> int:
        if name == "exit":
            code = args[0] if args else str(self.status)
            if not code.lstrip("-").isdigit():
                await term.write(f"{self.prefix()}exit: Illegal number: {code}\n", True)
                raise _Exit(2)
            raise _Exit(int(code) & 0xFF)
        if name in ("break", "continue"):
            levels = args[0] if args else "1"
            if not levels.isdigit() or int(levels) < 1:
                await term.write(
                    f"{self.prefix()}{name}: Illegal number: {levels}\n", True
                )
                return 2
            raise _LoopJump(name, int(levels))
        if name == "exec":
            raise _Exit(await self.run(args, env, term) if args else 0)
        if name in ("source", "."):
            return await self._source_file(args[0], term, exit_code=1) if args else 0
        if name == "cd":
            return await self._cd(args, term)
        if name == "pwd":
            await term.write(self.cwd + "\n")
        elif name == "export":
            await self._export(args, term)
        elif name == "unset":
            for variable in args:
                self.vars.pop(variable, None)
                self.exported.discard(variable)
        return 0

    async def _export(self, args: list[str], term: Terminal) -> None:
        if not args:
            lines = [
                f"export {k}='{v}'\n" for k, v in sorted(self.environment().items())
            ]
            await term.write("".join(lines))
        for arg in args:
            variable, eq, value = arg.partition("=")
            if eq:
                self.vars[variable] = value
            self.exported.add(variable)

    async def _cd(self, args: list[str], term: Terminal) -> int:
        target = args[0] if args else self.vars.get("HOME", "/")
        path = posixpath.normpath(posixpath.join(self.cwd, target))
        known = self.sandbox.known(path)
        if known and path not in self.sandbox.directories:
            if self.name == "bash":
                await term.write(
                    f"bash: cd: {target}: No such file or directory\n", True
                )
                return 1
            await term.write(f"{self.prefix()}cd: can't cd to {target}\n", True)
            return 2
        self.cwd = path
        self.vars["PWD"] = path
        return 0

    async def _source_file(self, given: str, term: Terminal, exit_code: int) -> int:
        path = posixpath.normpath(posixpath.join(self.cwd, given))
        text = self.sandbox.files.get(path)
        if text is not None:
            return await self.script(text, term)
        if self.name == "bash":
            message = f"bash: {given}: No such file or directory"
        elif self.sandbox.flavour == DEBIAN:
            message = f"{self.name}: 0: cannot open {given}: No such file"
        else:
            message = f"{self.name}: can't open '{given}': No such file or directory"
        if not self.sandbox.known(path):
            message = f"{self.name}: {given}: not simulated: only mounted volumes hold scripts here"
        await term.write(message + "\n", True)
        return exit_code
