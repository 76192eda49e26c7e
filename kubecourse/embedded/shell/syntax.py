"""Reading shell scripts: words (with what was quoted), operators, commands.

The subset `kubecourse.embedded.shell` runs: words with single and double quotes and
backslashes, `$NAME` / `${NAME}` / `${NAME:-default}` / `$?`, `$(command)` and
backticks, `NAME=value` prefixes, `;` / `&&` / `||` / newlines between commands,
`# comments`, redirections, arithmetic `$((...))`, and the compound commands
`while` / `until LIST; do LIST; done`, `for NAME [in WORDS]; do LIST; done` and
`if LIST; then LIST; [elif ...;] [else LIST;] fi`.  Pipes, background jobs, subshells,
`case` and functions are recognised only to be refused with a clear message.
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
SIMPLE = (
    "the embedded cluster's shell runs simple commands joined by ;, && and ||, "
    "and if, for, while and until"
)
COMPOUND = {"if", "for", "while", "until"}


class ShellError(Exception):
    """A script the shell cannot run (syntax, or a construct not simulated); exit 2."""


@dataclass
class Part:
    """A piece of a word: literal text, a `$variable` or a `$(command)`."""

    kind: str  # "text" | "var" | "cmd" | "arith"
    value: str
    quoted: bool


Word = list[Part]


@dataclass
class Command:
    """A simple command (`kind` "simple"), or a compound one: `while` / `until`
    (`condition`, `body`), `for` (`variable`, `words`, `body`), `if` (`condition`,
    `body`, `otherwise`: an `elif` is an `if` alone in `otherwise`)."""

    words: list[Word] = field(default_factory=list)
    redirects: list[tuple[str, Word | None]] = field(default_factory=list)
    connector: str = ";"  # the operator before it: ";", "&&" or "||"
    kind: str = "simple"
    condition: list[Command] = field(default_factory=list)
    body: list[Command] = field(default_factory=list)
    otherwise: list[Command] = field(default_factory=list)
    variable: str = ""


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
            end = _closing(text, i + 3)
            if text[end : end + 2] != "))":
                raise ShellError("syntax error: unterminated $((...))")
            self.i = end + 2
            return Part("arith", text[i + 3 : end], quoted)
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
    """A script as a list of commands, each knowing its connector."""
    parser = _Parser(Lexer(text).tokens())
    commands = parser.commands(stops=set())
    if parser.index < len(parser.tokens):
        raise ShellError(f'syntax error: unexpected "{parser.keyword()}"')
    return commands


class _Parser:
    """Recursive descent over the lexer's tokens; keywords count only where a
    command starts, as in sh (`echo done` is an echo)."""

    def __init__(self, tokens: list[Word | str]) -> None:
        self.tokens, self.index = tokens, 0

    def keyword(self) -> str:
        token = self.tokens[self.index] if self.index < len(self.tokens) else ""
        if isinstance(token, str):
            return token
        if len(token) == 1 and token[0].kind == "text" and not token[0].quoted:
            return token[0].value if token[0].value in KEYWORDS else ""
        return ""

    def commands(self, stops: set[str]) -> list[Command]:
        commands: list[Command] = []
        connector = ";"
        while self.index < len(self.tokens) and self.keyword() not in stops:
            token = self.tokens[self.index]
            if token in (";", "\n", "&&", "||"):
                self.index += 1
                if token in ("&&", "||") and (not commands or connector != ";"):
                    raise ShellError(f'syntax error: unexpected "{token}"')
                if token == ";" and (not commands or connector != ";"):
                    raise ShellError(f'syntax error: unexpected "{token}"')
                if token != "\n" or connector == ";":  # `a &&` NEWLINE `b` goes on
                    connector = token if token in ("&&", "||") else ";"
                continue
            command = self.command()
            command.connector = connector
            commands.append(command)
            connector = ";"
        if connector in ("&&", "||"):
            raise ShellError("syntax error: unexpected end of file")
        return commands

    def expect(self, word: str) -> None:
        if self.keyword() != word:
            found = self.keyword() or "end of file"
            raise ShellError(f'syntax error: unexpected "{found}" (expecting "{word}")')
        self.index += 1

    def command(self) -> Command:
        keyword = self.keyword()
        if keyword in ("while", "until"):
            self.index += 1
            condition = self.commands({"do"})
            self.expect("do")
            body = self.commands({"done"})
            self.expect("done")
            return Command(kind=keyword, condition=condition, body=body)
        if keyword == "for":
            return self._for()
        if keyword == "if":
            return self._if()
        if keyword and keyword not in OPERATORS and keyword not in REDIRECTS:
            if keyword in COMPOUND or keyword in (
                "case",
                "function",
                "select",
                "{",
                "[[",
            ):
                raise ShellError(
                    f"{keyword}: shell keywords (case, functions, {{ }}) are not "
                    f"simulated: {SIMPLE}"
                )
            raise ShellError(f'syntax error: unexpected "{keyword}"')
        return self._simple()

    def _for(self) -> Command:
        self.index += 1
        token = self.tokens[self.index] if self.index < len(self.tokens) else ""
        name = token[0].value if not isinstance(token, str) and len(token) == 1 else ""
        if not NAME.fullmatch(name):
            raise ShellError("syntax error: bad for loop variable")
        self.index += 1
        words: list[Word] | None = None
        if self.keyword() == "" and self._word_is("in"):
            self.index += 1
            words = []
            while self.index < len(self.tokens) and not isinstance(
                self.tokens[self.index], str
            ):
                words.append(self.tokens[self.index])  # type: ignore[arg-type]
                self.index += 1
        while self.keyword() in (";", "\n"):
            self.index += 1
        self.expect("do")
        body = self.commands({"done"})
        self.expect("done")
        loop = Command(kind="for", body=body, variable=name)
        loop.words = words or []  # without `in`: "$@", none in a container's shell
        return loop

    def _word_is(self, text: str) -> bool:
        token = self.tokens[self.index] if self.index < len(self.tokens) else ""
        return (
            not isinstance(token, str)
            and len(token) == 1
            and (
                token[0].kind == "text"
                and token[0].value == text
                and not token[0].quoted
            )
        )

    def _if(self) -> Command:
        self.index += 1
        condition = self.commands({"then"})
        self.expect("then")
        body = self.commands({"elif", "else", "fi"})
        otherwise: list[Command] = []
        if self.keyword() == "elif":
            otherwise = [self._if()]
            return Command(
                kind="if", condition=condition, body=body, otherwise=otherwise
            )
        if self.keyword() == "else":
            self.index += 1
            otherwise = self.commands({"fi"})
        self.expect("fi")
        return Command(kind="if", condition=condition, body=body, otherwise=otherwise)

    def _simple(self) -> Command:
        current = Command()
        while self.index < len(self.tokens):
            token = self.tokens[self.index]
            if not isinstance(token, str):
                current.words.append(token)
                self.index += 1
            elif token in REDIRECTS:
                self.index += 1
                current.redirects.append((token, self._target(token)))
            elif token in (";", "\n", "&&", "||"):
                break
            else:
                raise ShellError(f"{_describe(token)} not simulated: {SIMPLE}")
        return current

    def _target(self, token: str) -> Word | None:
        if token in ("2>&1", ">&2", "1>&2"):
            return None
        target = self.tokens[self.index] if self.index < len(self.tokens) else ";"
        if isinstance(target, str):
            raise ShellError(f'syntax error: unexpected "{token}"')
        self.index += 1
        return target


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
