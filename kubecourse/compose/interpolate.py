"""Compose variable interpolation: `${VAR}`, `${VAR:-d}`, `${VAR:?msg}`, `$$` and friends.

The rules follow the compose specification: `:-`/`:?`/`:+` treat an empty value like an
unset one, the forms without `:` only look at whether the variable is set, defaults may
themselves contain `${...}`, and a lone `$` that starts nothing is an error (compose
asks you to write `$$`). Unset variables without a default become empty strings, as in
compose, and are reported so the learner sees them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubecourse.compose.yamlread import key_path

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


class InterpolationError(ValueError):
    """A template that cannot be expanded; the message says which variable and why."""


@dataclass
class Interpolator:
    """Expands templates against one environment and remembers unset variables."""

    env: Mapping[str, str]
    unset: set[str] = field(default_factory=set)

    def expand(self, text: str) -> str:
        return _Template(text, self).render()

    def lookup(self, name: str) -> str | None:
        return self.env.get(name)


class _Template:
    """A single-pass scanner over one string; nested defaults recurse."""

    def __init__(self, text: str, owner: Interpolator) -> None:
        self.text = text
        self.owner = owner

    def render(self) -> str:
        out: list[str] = []
        position = 0
        while True:
            dollar = self.text.find("$", position)
            if dollar < 0:
                out.append(self.text[position:])
                return "".join(out)
            out.append(self.text[position:dollar])
            value, position = self._at_dollar(dollar)
            out.append(value)

    def _at_dollar(self, dollar: int) -> tuple[str, int]:
        following = self.text[dollar + 1 : dollar + 2]
        if following == "$":
            return "$", dollar + 2
        if following == "{":
            end = self._closing_brace(dollar + 2)
            return self._braced(self.text[dollar + 2 : end]), end + 1
        match = _NAME.match(self.text, dollar + 1)
        if match is None:
            raise InterpolationError(
                f"invalid interpolation in {self.text!r}: a `$` must start a variable "
                "(`$VAR` or `${VAR}`); write `$$` for a literal dollar sign"
            )
        return self._value(match.group()), match.end()

    def _closing_brace(self, start: int) -> int:
        depth = 1
        position = start
        while position < len(self.text):
            if self.text.startswith("${", position):
                depth, position = depth + 1, position + 2
                continue
            if self.text[position] == "}":
                depth -= 1
                if depth == 0:
                    return position
            position += 1
        raise InterpolationError(f"unclosed `${{` in {self.text!r}")

    def _braced(self, body: str) -> str:
        match = _NAME.match(body)
        if match is None:
            raise InterpolationError(f"invalid variable name in `${{{body}}}`")
        name, rest = match.group(), body[match.end() :]
        if not rest:
            return self._value(name)
        operator = next((op for op in _OPERATORS if rest.startswith(op)), None)
        if operator is None:
            raise InterpolationError(f"invalid interpolation `${{{body}}}`")
        return self._apply(name, operator, rest[len(operator) :])

    def _apply(self, name: str, operator: str, word: str) -> str:
        value = self.owner.lookup(name)
        present = value is not None and (value != "" or not operator.startswith(":"))
        if operator.endswith("-"):
            return value if present and value is not None else self._nested(word)
        if operator.endswith("+"):
            return self._nested(word) if present else ""
        if not present or value is None:
            reason = self._nested(word) or "no message given"
            raise InterpolationError(
                f"required variable {name} is missing a value: {reason}"
            )
        return value

    def _nested(self, word: str) -> str:
        return _Template(word, self.owner).render()

    def _value(self, name: str) -> str:
        value = self.owner.lookup(name)
        if value is None:
            self.owner.unset.add(name)
            return ""
        return value


OnError = Callable[[str, str], None]


def interpolate_tree(
    data: Any, interpolator: Interpolator, on_error: OnError, parent: str = ""
) -> Any:
    """Expand every string value (never keys) below `data`; report errors by key path."""
    if isinstance(data, dict):
        return {
            key: value
            if parent == "" and str(key).startswith("x-")
            else interpolate_tree(value, interpolator, on_error, key_path(parent, key))
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [
            interpolate_tree(item, interpolator, on_error, key_path(parent, index))
            for index, item in enumerate(data)
        ]
    if isinstance(data, str):
        try:
            return interpolator.expand(data)
        except InterpolationError as exc:
            on_error(parent, str(exc))
            return data
    return data
