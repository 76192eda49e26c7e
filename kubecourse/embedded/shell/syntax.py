"""Reading shell scripts: words (with what was quoted), operators, commands.

The subset `kubecourse.embedded.shell` runs: words with single and double quotes and
backslashes, `$NAME` / `${NAME}` / `${NAME:-default}` / `$?`, `$(command)` and
backticks, `NAME=value` prefixes, `;` / `&&` / `||` / newlines between commands,
`# comments`, and redirections.  Pipes, background jobs, subshells, arithmetic and
compound commands are recognised only to be refused with a clear message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

KEYWORDS = {
    "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case",
    "esac", "function", "select", "{", "}", "[[", "]]",
}  # fmt: skip
REDIRECTS = ("2>&1", ">&2", "1>&2", "&>", "2>>", "2>", "1>>", "1>", ">>", ">", "<")
OPERATORS = ("&&", "||", ";", "\n", "|", "&", "(", ")")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SIMPLE = "the embedded cluster's shell runs simple commands joined by ;, && and ||"


class ShellError(Exception):
    """A script the shell cannot run (syntax, or a construct not simulated); exit 2."""


@dataclass
class Part:
    """A piece of a word: literal text, a `$variable` or a `$(command)`."""

    kind: str  # "text" | "var" | "cmd"
    value: str
    quoted: bool


Word = list[Part]


@dataclass
class Command:
    words: list[Word] = field(default_factory=list)
    redirects: list[tuple[str, Word | None]] = field(default_factory=list)
    connector: str = ";"  # the operator before it: ";", "&&" or "||"


class Lexer:
    """Splits a script into words and operators, keeping what was quoted."""

    def __init__(self, text: str) -> None:
        self.text, self.i = text, 0

    def tokens(self) -> list[Word | str]:
        out: list[Word | str] = []
        while self.i < len(self.text):
            char = self.text[self.i]
            if char in " \t":
                self.i += 1
            elif self.text.startswith("\\\n", self.i):
                self.i += 2
            elif char == "#":
                end = self.text.find("\n", self.i)
                self.i = len(self.text) if end < 0 else end
            elif op := self._operator():
                out.append(op)
            else:
                out.append(self._word())
        return out

    def _operator(self) -> str | None:
        for op in (*REDIRECTS, *OPERATORS):
            if self.text.startswith(op, self.i):
                self.i += len(op)
                return op
        return None

    def _word(self) -> Word:
        parts: Word = []
        while self.i < len(self.text) and self.text[self.i] not in " \t\n;&|()<>":
            char = self.text[self.i]
            if char == "\\":
                parts.append(Part("text", self.text[self.i + 1 : self.i + 2], True))
                self.i += 2
            elif char == "'":
                parts.append(Part("text", self._until("'"), True))
            elif char == '"':
                parts.extend(self._double())
            elif char in "$`":
                parts.append(self._expansion(quoted=False))
            else:
                parts.append(Part("text", char, False))
                self.i += 1
        return _merged(parts)

    def _until(self, quote: str) -> str:
        end = self.text.find(quote, self.i + 1)
        if end < 0:
            raise ShellError("syntax error: unterminated quoted string")
        value, self.i = self.text[self.i + 1 : end], end + 1
        return value

    def _double(self) -> Word:
        parts: Word = [Part("text", "", True)]  # `""` is still a word
        self.i += 1
        while self.i < len(self.text) and self.text[self.i] != '"':
            char = self.text[self.i]
            if char == "\\" and self.text[self.i + 1 : self.i + 2] in (
                '"',
                "\\",
                "$",
                "`",
            ):
                parts.append(Part("text", self.text[self.i + 1], True))
                self.i += 2
            elif char in "$`":
                parts.append(self._expansion(quoted=True))
            else:
                parts.append(Part("text", char, True))
                self.i += 1
        if self.i >= len(self.text):
            raise ShellError("syntax error: unterminated quoted string")
        self.i += 1
        return parts

    def _expansion(self, quoted: bool) -> Part:
        text, i = self.text, self.i
        if text[i] == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise ShellError("syntax error: unterminated quoted string")
            self.i = end + 1
            return Part("cmd", text[i + 1 : end], quoted)
        if text.startswith("$((", i):
            raise ShellError("arithmetic $((...)) is not simulated")
        if text.startswith("$(", i):
            end = _closing(text, i + 2)
            self.i = end + 1
            return Part("cmd", text[i + 2 : end], quoted)
        if text.startswith("${", i):
            end = text.find("}", i)
            if end < 0:
                raise ShellError("syntax error: bad substitution")
            self.i = end + 1
            return Part("var", text[i + 2 : end], quoted)
        match = NAME.match(text, i + 1) or re.compile(r"[?$#@*0-9]").match(text, i + 1)
        if match is None:
            self.i += 1
            return Part("text", "$", quoted)
        self.i = match.end()
        return Part("var", match.group(0), quoted)


def _closing(text: str, start: int) -> int:
    depth, i = 1, start
    while i < len(text):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ShellError("syntax error: unterminated $(...)")


def _merged(parts: Word) -> Word:
    merged: Word = []
    for part in parts:
        last = merged[-1] if merged else None
        if last and last.kind == part.kind == "text" and last.quoted == part.quoted:
            last.value += part.value
        else:
            merged.append(Part(part.kind, part.value, part.quoted))
    return merged


def parse(text: str) -> list[Command]:
    """A script as a flat list of commands, each knowing its connector."""
    tokens = Lexer(text).tokens()
    commands: list[Command] = []
    current = Command()
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if not isinstance(token, str):
            current.words.append(token)
        elif token in REDIRECTS:
            target = None
            if token not in ("2>&1", ">&2", "1>&2"):
                if index >= len(tokens) or isinstance(tokens[index], str):
                    raise ShellError(f'syntax error: unexpected "{token}"')
                target = tokens[index]
                index += 1
            current.redirects.append((token, target))  # type: ignore[arg-type]
        elif token in (";", "\n", "&&", "||"):
            if not (current.words or current.redirects):
                if token in ("&&", "||") or (token == ";" and not commands):
                    raise ShellError(f'syntax error: unexpected "{token}"')
                continue
            commands.append(current)
            current = Command(connector=";" if token == "\n" else token)
        else:
            raise ShellError(f"{_describe(token)} not simulated: {SIMPLE}")
    if current.words or current.redirects:
        commands.append(current)
    elif current.connector in ("&&", "||"):
        raise ShellError("syntax error: unexpected end of file")
    return commands


def assignment(word: Word) -> tuple[str, Word] | None:
    """`NAME=value...` as (NAME, the value's parts); None for any other word."""
    head = word[0] if word else None
    if head is None or head.kind != "text" or head.quoted:
        return None
    match = NAME.match(head.value)
    if match is None or head.value[match.end() : match.end() + 1] != "=":
        return None
    return match.group(0), [
        Part("text", head.value[match.end() + 1 :], True),
        *word[1:],
    ]


def _describe(token: str) -> str:
    return {
        "|": "pipes (|) are",
        "&": "background jobs (&) are",
        "(": "subshells ( ... ) are",
        ")": "subshells ( ... ) are",
    }.get(token, f"{token!r} is")
