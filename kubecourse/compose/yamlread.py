"""Read one compose file safely, remembering the line of every key path.

Compose implementations parse YAML 1.2, where `no`, `on` and `22:22` are strings; PyYAML
speaks YAML 1.1, where they are `False`, `True` and the integer 1342. `ComposeLoader`
swaps the implicit scalar rules for YAML 1.2's so `restart: no` and `- 8080:8080` mean
what the compose author meant. Inputs are bounded (size, node count after alias
expansion, nesting depth) so a hostile file fails fast with a clear message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kubecourse.compose.errors import ComposeError, ComposeValidationError, Problem
from kubecourse.compose.model import Location

MAX_BYTES = 1_000_000
MAX_NODES = 50_000
MAX_DEPTH = 64

_YAML11_TAGS = {
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
}
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


# libyaml's parser is about ten times faster than PyYAML's pure-Python one, which keeps
# a 1 MB file well under a second; the resolver and constructor stay in Python.
_BaseLoader: Any = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader


class ComposeLoader(_BaseLoader):  # type: ignore[misc]
    """SafeLoader with YAML 1.2 core-schema booleans, integers and floats."""


ComposeLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _YAML11_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ComposeLoader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
ComposeLoader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
ComposeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", _FLOAT, list("-+.0123456789")
)


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    """YAML 1.2 integers: a leading zero is decimal, not octal."""
    text = str(loader.construct_scalar(node))
    if text.startswith(("0o", "0x")):
        return int(text, 0)
    return int(text, 10)


def _construct_bool(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> bool:
    return str(loader.construct_scalar(node)).lower() == "true"


ComposeLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
ComposeLoader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)


@dataclass
class YamlDocument:
    """The parsed content of one file and the line of each key path in it."""

    path: Path
    data: dict[str, Any]
    locations: dict[str, Location]


def key_path(parent: str, key: object) -> str:
    """`services.web` + 1 -> `services.web[1]`; + `ports` -> `services.web.ports`."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)


def read_yaml(path: Path) -> YamlDocument:
    """Parse one compose file; raise a located error for anything unusable."""
    text = _read_text(path)
    _check_nesting(text, path)
    loader = _loader(text, path)
    try:
        node = _compose(loader, path)
        if node is None:
            raise ComposeError(f"{path}: the file is empty; expected a compose mapping")
        duplicates = _check_tree(node, path)
        data = _construct(loader, node, path)
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise ComposeError(
            f"{path}: the document is a {kind}, not a mapping; a compose file starts "
            "with keys such as `services:`"
        )
    if duplicates:
        raise ComposeValidationError(duplicates)
    locations: dict[str, Location] = {}
    _index(node, "", str(path), locations)
    return YamlDocument(path, data, locations)


def _read_text(path: Path) -> str:
    """At most MAX_BYTES, whatever the file claims to be (a FIFO or /dev/zero too)."""
    if not path.is_file():
        raise ComposeError(f"cannot read compose file {path}: not a regular file")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ComposeError(f"cannot read compose file {path}: {exc.strerror}") from exc
    if len(data) > MAX_BYTES:
        raise ComposeError(
            f"{path} is over {MAX_BYTES} bytes; compose files over {MAX_BYTES} bytes are refused "
            "(a real compose file is a few kilobytes)"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ComposeError(f"cannot read compose file {path}: {exc}") from exc


def _loader(text: str, path: Path) -> ComposeLoader:
    try:
        return ComposeLoader(text)
    except yaml.YAMLError as exc:  # the reader refuses control characters up front
        raise ComposeValidationError([Problem(str(path), None, "", str(exc))]) from exc


def _check_nesting(text: str, path: Path) -> None:
    """Walk the parser's events (no recursion) and refuse deep nesting before composing.

    The composer recurses once per level; without this check a file of `[[[[...` would
    exhaust the stack (and, in libyaml's composer, the C stack) instead of failing.
    """
    loader = _loader(text, path)
    depth = events = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            events += 1
            if events > 2 * MAX_NODES:  # about one start and one end event per node
                raise ComposeError(_too_many(path))
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise ComposeError(
                        f"{path}: the YAML is nested more than {MAX_DEPTH} deep"
                    )
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        raise ComposeValidationError([_yaml_problem(exc, path)]) from exc
    except yaml.YAMLError as exc:
        raise ComposeValidationError([Problem(str(path), None, "", str(exc))]) from exc
    finally:
        loader.dispose()


def _compose(loader: ComposeLoader, path: Path) -> yaml.Node | None:
    try:
        node: yaml.Node | None = loader.get_single_node()
        return node
    except yaml.MarkedYAMLError as exc:
        raise ComposeValidationError([_yaml_problem(exc, path)]) from exc
    except yaml.YAMLError as exc:
        raise ComposeValidationError([Problem(str(path), None, "", str(exc))]) from exc
    except RecursionError as exc:
        raise ComposeError(f"{path}: the YAML is nested too deeply") from exc


def _construct(loader: ComposeLoader, node: yaml.Node, path: Path) -> Any:
    try:
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        raise ComposeValidationError([_yaml_problem(exc, path)]) from exc


def _yaml_problem(exc: yaml.MarkedYAMLError, path: Path) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    message = " ".join(str(part) for part in (exc.context, exc.problem) if part)
    return Problem(str(path), line, "", f"invalid YAML: {message}")


def _check_tree(root: yaml.Node, path: Path) -> list[Problem]:
    """Bound the expanded size and depth; report duplicate keys (compose refuses them)."""
    problems: list[Problem] = []
    budget = MAX_NODES
    stack: list[tuple[yaml.Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        budget -= 1
        if budget < 0:
            raise ComposeError(_too_many(path))
        if depth > MAX_DEPTH:
            raise ComposeError(f"{path}: the YAML is nested more than {MAX_DEPTH} deep")
        if isinstance(node, yaml.MappingNode):
            problems += _duplicates(node, path)
            stack += [(child, depth + 1) for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            stack += [(child, depth + 1) for child in node.value]
    return problems


def _too_many(path: Path) -> str:
    return (f"{path}: the YAML expands to more than {MAX_NODES} nodes (anchors and "
            "aliases repeated too often, or a generated file?); refusing to load it")  # fmt: skip


def _duplicates(node: yaml.MappingNode, path: Path) -> list[Problem]:
    seen: set[str] = set()
    problems = []
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.value == "<<":
            continue
        if key.value in seen:
            message = f"duplicate key `{key.value}` (compose refuses duplicates)"
            problems.append(Problem(str(path), key.start_mark.line + 1, "", message))
        seen.add(key.value)
    return problems


def _index(node: yaml.Node, parent: str, file: str, out: dict[str, Location]) -> None:
    """Record the line of every key path; merge keys were already flattened."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            child = key_path(parent, key.value)
            out[child] = (file, key.start_mark.line + 1)
            _index(value, child, file, out)
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            child = key_path(parent, position)
            out[child] = (file, item.start_mark.line + 1)
            _index(item, child, file, out)
