"""Label and field selectors, as the API server parses and matches them.

Faithful: the label selector grammar (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`,
`a`, `!a`, and the numeric `a>1` / `a<1`), key and value validation with the upstream
messages, the canonical string form (requirements sorted by key, set values sorted), the
`matchLabels`/`matchExpressions` conversion (None selects nothing, `{}` selects
everything), and a Service selector that selects nothing when it is empty.  Field
selectors support `=`, `==`, `!=`, backslash escapes, and per kind exactly the field labels
a real server accepts; any other label is `field label not supported: x`.

Not faithful: the wording of a few rare parse errors may differ from the Go parser's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

EXISTS = "exists"
NOT_EXISTS = "!"
SET_OPERATORS = ("in", "notin")
EXACT_OPERATORS = ("=", "==", "!=")
NUMERIC_OPERATORS = (">", "<")
_BINARY_OPERATORS = "in, notin, =, ==, !=, gt, lt"


class SelectorError(ValueError):
    """A selector the API server would reject with 400 BadRequest."""


# ---------------------------------------------------------------- validation

_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_NAME_MESSAGE = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
_PREFIX_MESSAGE = (
    "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
    "characters, '-' or '.', and must start and end with an alphanumeric character "
    "(e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_VALUE_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', "
    "'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  "
    "or 'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


def _invalid(path: str, value: str, message: str) -> SelectorError:
    return SelectorError(f'{path}: Invalid value: "{value}": {message}')


def _key_problems(key: str) -> list[str]:
    prefix, slash, name = key.rpartition("/")
    if slash and "/" in prefix:
        return ["a qualified name " + _NAME_MESSAGE]
    problems: list[str] = []
    if slash and (
        not prefix or len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix)
    ):
        problems.append(
            "prefix part must be non-empty" if not prefix else _PREFIX_MESSAGE
        )
    if not name:
        problems.append("name part must be non-empty")
    elif len(name) > 63:
        problems.append("name part must be no more than 63 characters")
    elif not _NAME.match(name):
        problems.append("name part " + _NAME_MESSAGE)
    return problems


def validate_label_key(key: str) -> None:
    problems = _key_problems(key)
    if problems:
        raise _invalid("key", key, "; ".join(problems))


def validate_label_value(value: str, index: int = 0) -> None:
    if len(value) > 63:
        raise _invalid(f"values[{index}]", value, "must be no more than 63 characters")
    if value and not _NAME.match(value):
        raise _invalid(f"values[{index}]", value, _VALUE_MESSAGE)


# ---------------------------------------------------------------- label selectors


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # "=", "==", "!=", "in", "notin", "exists", "!", ">", "<"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == EXISTS:
            return present
        if self.operator == NOT_EXISTS:
            return not present
        if self.operator in ("=", "==", "in"):
            return present and labels[self.key] in self.values
        if self.operator in ("!=", "notin"):
            return not present or labels[self.key] not in self.values
        return present and _numeric_match(
            labels[self.key], self.operator, self.values[0]
        )

    def __str__(self) -> str:
        if self.operator == EXISTS:
            return self.key
        if self.operator == NOT_EXISTS:
            return f"!{self.key}"
        if self.operator in SET_OPERATORS:
            return f"{self.key} {self.operator} ({','.join(self.values)})"
        return f"{self.key}{self.operator}{self.values[0]}"


def _numeric_match(actual: str, operator: str, wanted: str) -> bool:
    try:
        left, right = int(actual), int(wanted)
    except ValueError:
        return False
    return left > right if operator == ">" else left < right


def new_requirement(
    key: str, operator: str, values: list[str] | tuple[str, ...]
) -> Requirement:
    """A validated requirement, with set values sorted as the API server keeps them."""
    validate_label_key(key)
    if operator in SET_OPERATORS and not values:
        raise SelectorError(
            "values: Invalid value: []string{}: for 'in', 'notin' operators, "
            "values set can't be empty"
        )
    if operator in (EXISTS, NOT_EXISTS) and values:
        raise SelectorError(
            "values: Invalid value: values set must be empty for exists and does not exist"
        )
    if operator in NUMERIC_OPERATORS:
        _check_integer(values)
    for index, value in enumerate(values):
        validate_label_value(value, index)
    return Requirement(key, operator, tuple(sorted(set(values))))


def _check_integer(values: list[str] | tuple[str, ...]) -> None:
    if len(values) != 1 or not re.fullmatch(r"-?\d+", values[0]):
        shown = values[0] if values else ""
        raise _invalid(
            "values[0]", shown, "for 'Gt', 'Lt' operators, the value must be an integer"
        )


class LabelSelector:
    """A parsed label selector: a conjunction of requirements."""

    def __init__(
        self,
        requirements: tuple[Requirement, ...] = (),
        *,
        selects_nothing: bool = False,
    ) -> None:
        self.requirements = tuple(sorted(requirements, key=lambda r: r.key))
        self.selects_nothing = selects_nothing

    @classmethod
    def everything(cls) -> LabelSelector:
        return cls()

    @classmethod
    def nothing(cls) -> LabelSelector:
        return cls(selects_nothing=True)

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.selects_nothing:
            return False
        present = labels or {}
        return all(requirement.matches(present) for requirement in self.requirements)

    def empty(self) -> bool:
        """True for the selector that matches everything (as `labels.Selector.Empty`)."""
        return not self.requirements and not self.selects_nothing

    def __str__(self) -> str:
        return ",".join(str(requirement) for requirement in self.requirements)

    def __repr__(self) -> str:
        if self.selects_nothing:
            return "LabelSelector.nothing()"
        return f"LabelSelector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LabelSelector):
            return NotImplemented
        return (self.requirements, self.selects_nothing) == (
            other.requirements,
            other.selects_nothing,
        )

    def __hash__(self) -> int:
        return hash((self.requirements, self.selects_nothing))


# ---------------------------------------------------------------- the label grammar

_TOKEN = re.compile(r"\s*(?:(?P<op>==|!=|=|\(|\)|,|!|>|<)|(?P<word>[^\s!=(),<>]+))")


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            break
        if match.group("op") or match.group("word"):
            tokens.append(match.group("op") or match.group("word"))
        position = match.end()
    return tokens


class _LabelParser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.position = 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str | None:
        token = self.peek()
        self.position += 1
        return token

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while self.peek() is not None:
            token = self.peek()
            if token != "!" and not _is_word(token):
                raise SelectorError(
                    f"found '{token}', expected: !, identifier, or 'end of string'"
                )
            try:
                requirements.append(self.requirement())
            except SelectorError as error:
                raise SelectorError(f"unable to parse requirement: {error}") from None
            following = self.take()
            if following not in (None, ","):
                raise SelectorError(
                    f"found '{following}', expected: ',' or 'end of string'"
                )
            if following == "," and self.peek() is None:
                raise SelectorError("found '', expected: identifier after ','")
        return requirements

    def requirement(self) -> Requirement:
        if self.peek() == "!":
            self.take()
            key = self.take()
            if not _is_word(key):
                raise SelectorError(f"found '{key or ''}', expected: identifier")
            return new_requirement(str(key), NOT_EXISTS, [])
        key = str(self.take())
        if self.peek() in (None, ","):
            return new_requirement(key, EXISTS, [])
        operator = self.operator()
        values = (
            self.set_values() if operator in SET_OPERATORS else [self.exact_value()]
        )
        return new_requirement(key, operator, values)

    def operator(self) -> str:
        token = self.take()
        if (
            token in EXACT_OPERATORS
            or token in SET_OPERATORS
            or token in NUMERIC_OPERATORS
        ):
            return str(token)
        raise SelectorError(f"found '{token}', expected: {_BINARY_OPERATORS}")

    def exact_value(self) -> str:
        token = self.peek()
        if token in (None, ","):
            return ""
        self.take()
        if not _is_word(token):
            raise SelectorError(f"found '{token}', expected: identifier")
        return str(token)

    def set_values(self) -> list[str]:
        opening = self.take()
        if opening != "(":
            raise SelectorError(f"found '{opening or ''}', expected: '('")
        values: list[str] = []
        expect_value = True
        while True:
            token = self.take()
            if token == ")":
                if expect_value and values:  # "(a,)" holds an empty value
                    values.append("")
                return values
            if token == ",":
                if expect_value:  # "(,a)" and "(a,,b)" hold an empty value
                    values.append("")
                expect_value = True
            elif _is_word(token) and expect_value:
                values.append(str(token))
                expect_value = False
            else:
                wanted = "',', or identifier" if expect_value else "',' or ')'"
                raise SelectorError(f"found '{token or ''}', expected: {wanted}")


def _is_word(token: str | None) -> bool:
    return bool(token) and str(token)[0] not in "!=(),<>"


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse `labelSelector` query text; empty or None selects everything."""
    if not text or not text.strip():
        return LabelSelector.everything()
    return LabelSelector(tuple(_LabelParser(text).parse()))


_EXPRESSION_OPERATORS = {
    "In": "in",
    "NotIn": "notin",
    "Exists": EXISTS,
    "DoesNotExist": NOT_EXISTS,
}


def label_selector_from_spec(spec: Mapping[str, Any] | None) -> LabelSelector:
    """A `metav1.LabelSelector` as a selector: None selects nothing, `{}` everything."""
    if spec is None:
        return LabelSelector.nothing()
    requirements = [
        new_requirement(str(key), "=", [str(value)])
        for key, value in (spec.get("matchLabels") or {}).items()
    ]
    for expression in spec.get("matchExpressions") or ():
        requirements.append(_expression_requirement(expression))
    return LabelSelector(tuple(requirements))


def _expression_requirement(expression: Mapping[str, Any]) -> Requirement:
    operator = _EXPRESSION_OPERATORS.get(str(expression.get("operator")))
    if operator is None:
        raise SelectorError(
            f'"{expression.get("operator")}" is not a valid label selector operator'
        )
    values = [str(value) for value in expression.get("values") or ()]
    return new_requirement(str(expression.get("key", "")), operator, values)


def service_selector(selector: Mapping[str, str] | None) -> LabelSelector:
    """A Service's `spec.selector`: a missing or empty one selects no pods at all."""
    if not selector:
        return LabelSelector.nothing()
    return label_selector_from_set(selector)


def label_selector_from_set(labels: Mapping[str, str]) -> LabelSelector:
    """Equality on every label of a plain map (an empty map selects everything)."""
    return LabelSelector(
        tuple(new_requirement(str(k), "=", [str(v)]) for k, v in labels.items())
    )


def selector_spec_to_string(spec: Mapping[str, Any] | None) -> str:
    """The string form a Scale's `status.selector` carries, e.g. `app=web,tier in (a,b)`."""
    return str(label_selector_from_spec(spec))


def format_labels(labels: Mapping[str, str] | None) -> str:
    """`a=b,c=d` sorted by key, or `<none>`, as kubectl and the Table printers show maps."""
    if not labels:
        return "<none>"
    return ",".join(f"{key}={labels[key]}" for key in sorted(labels))


# ---------------------------------------------------------------- field selectors


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    operator: str  # "=", "==" or "!="
    value: str

    def matches(self, actual: str) -> bool:
        return (actual == self.value) == (self.operator != "!=")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _getter(*path: str, default: Any = None) -> Callable[[Mapping[str, Any]], str]:
    def get(obj: Mapping[str, Any]) -> str:
        current: Any = obj
        for part in path:
            current = current.get(part) if isinstance(current, Mapping) else None
        return _text(default if current is None else current)

    return get


def _pod_ips(obj: Mapping[str, Any]) -> str:
    ips = (obj.get("status") or {}).get("podIPs") or ()
    return ",".join(str(entry.get("ip", "")) for entry in ips)


_COMMON_FIELDS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "metadata.name": _getter("metadata", "name"),
    "metadata.namespace": _getter("metadata", "namespace"),
}

_KIND_FIELDS: dict[str, dict[str, Callable[[Mapping[str, Any]], str]]] = {
    "Pod": {
        "spec.nodeName": _getter("spec", "nodeName"),
        "spec.restartPolicy": _getter("spec", "restartPolicy"),
        "spec.schedulerName": _getter("spec", "schedulerName"),
        "spec.serviceAccountName": _getter("spec", "serviceAccountName"),
        "spec.hostNetwork": _getter("spec", "hostNetwork", default=False),
        "status.phase": _getter("status", "phase"),
        "status.podIP": _getter("status", "podIP"),
        "status.podIPs": _pod_ips,
        "status.nominatedNodeName": _getter("status", "nominatedNodeName"),
    },
    "Event": {
        **{
            f"involvedObject.{name}": _getter("involvedObject", name)
            for name in (
                "kind",
                "namespace",
                "name",
                "uid",
                "apiVersion",
                "resourceVersion",
                "fieldPath",
            )
        },
        "reason": _getter("reason"),
        "reportingComponent": _getter("reportingComponent"),
        "source": _getter("source", "component"),
        "type": _getter("type"),
    },
    "Node": {"spec.unschedulable": _getter("spec", "unschedulable", default=False)},
    "Namespace": {"status.phase": _getter("status", "phase")},
    "Secret": {"type": _getter("type")},
    "ReplicaSet": {"status.replicas": _getter("status", "replicas", default=0)},
    "ReplicationController": {"status.replicas": _getter("status", "replicas", default=0)},
    "Service": {
        "spec.clusterIP": _getter("spec", "clusterIP"),
        "spec.type": _getter("spec", "type"),
    },
    "Job": {"status.successful": _getter("status", "succeeded", default=0)},
    "CertificateSigningRequest": {"spec.signerName": _getter("spec", "signerName")},
}


def supported_fields(kind: str) -> list[str]:
    """The field labels a `fieldSelector` may use for this kind."""
    return [*_COMMON_FIELDS, *_KIND_FIELDS.get(kind, {})]


class FieldSelector:
    """A parsed field selector for one kind."""

    def __init__(self, requirements: tuple[FieldRequirement, ...], kind: str) -> None:
        self.requirements = requirements
        self._getters = {**_COMMON_FIELDS, **_KIND_FIELDS.get(kind, {})}

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all(
            requirement.matches(self._getters[requirement.field](obj))
            for requirement in self.requirements
        )

    def empty(self) -> bool:
        return not self.requirements

    def value_for(self, field: str) -> str | None:
        """The value an `=`/`==` term pins `field` to (e.g. a watch by name), or None."""
        for requirement in self.requirements:
            if requirement.field == field and requirement.operator != "!=":
                return requirement.value
        return None

    def __str__(self) -> str:
        return ",".join(
            f"{r.field}{r.operator}{_escape(r.value)}" for r in self.requirements
        )


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def _split_unescaped(text: str, separator: str) -> Iterator[str]:
    part: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            part.append(char)
            escaped = False
        elif char == "\\":
            part.append(char)
            escaped = True
        elif char == separator:
            yield "".join(part)
            part = []
        else:
            part.append(char)
    yield "".join(part)


def _unescape(text: str, selector: str) -> str:
    out: list[str] = []
    chars = iter(text)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        following = next(chars, "")
        if following not in ("\\", ",", "="):
            raise SelectorError(
                f"invalid field selector: invalid escape sequence: \\{following}"
            )
        out.append(following)
    return "".join(out)


def _parse_term(term: str, selector: str) -> FieldRequirement:
    for operator in ("!=", "==", "="):
        index = _find_unescaped(term, operator)
        if index >= 0:
            field = _unescape(term[:index], selector)
            value = _unescape(term[index + len(operator) :], selector)
            return FieldRequirement(field, operator, value)
    raise SelectorError(f"invalid selector: '{selector}'; can't understand '{term}'")


def _find_unescaped(term: str, operator: str) -> int:
    index = 0
    while index < len(term):
        if term[index] == "\\":
            index += 2
            continue
        if term.startswith(operator, index):
            return index
        index += 1
    return -1


def parse_field_selector(text: str | None, kind: str) -> FieldSelector:
    """Parse `fieldSelector` query text for `kind`; unsupported labels are rejected."""
    if not text or not text.strip():
        return FieldSelector((), kind)
    requirements = tuple(
        _parse_term(term, text) for term in _split_unescaped(text, ",") if term
    )
    allowed = supported_fields(kind)
    for requirement in requirements:
        if requirement.field not in allowed:
            raise SelectorError(f"field label not supported: {requirement.field}")
    return FieldSelector(requirements, kind)
