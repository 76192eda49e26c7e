"""Read `.env` and `env_file` files the way compose does (a practical subset).

Lines are `KEY=VALUE`, optionally prefixed by `export `; `#` starts a comment line;
values may be single-quoted (literal) or double-quoted (with `\\n`-style escapes); an
unquoted value loses a trailing ` # comment`. A bare `KEY` line means "take it from the
shell" in compose; the translator refuses to leak the translating shell into manifests,
so such keys are returned separately for the caller to report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


@dataclass
class EnvFile:
    """The variables of one env file, problems by line, and value-less keys."""

    path: Path
    values: dict[str, str] = field(default_factory=dict)
    bare: list[str] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)


def read_env_file(path: Path) -> EnvFile:
    """Parse `path`; the caller has already checked that it exists."""
    result = EnvFile(path)
    text = path.read_text(encoding="utf-8")
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        _parse_line(line, number, result)
    return result


def _parse_line(line: str, number: int, result: EnvFile) -> None:
    key, sep, value = line.partition("=")
    key = key.strip()
    if not _KEY.match(key):
        result.problems.append((number, f"`{key}` is not a valid variable name"))
        return
    if not sep:
        result.bare.append(key)
        return
    result.values[key] = _unquote(value.strip())


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(
            r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), value[1:-1]
        )
    return re.sub(r"\s+#.*$", "", value)
