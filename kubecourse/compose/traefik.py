"""Read Traefik's docker-provider labels: routers, their rules, middlewares, services.

Only the parts an Ingress can express are understood: `Host(...)`, `PathPrefix(...)`,
`Path(...)`, joined by `&&` and `||` with parentheses. Anything else raises `RuleError`
so the caller can warn about that router instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_ALTERNATIVES = 32
_TOKEN = re.compile(r"\s*(?:(&&)|(\|\|)|([()!,])|`([^`]*)`|\"([^\"]*)\"|([A-Za-z]+))")
_ROUTER = re.compile(r"^traefik\.http\.routers\.([^.]+)\.(.+)$")
_SERVICE_PORT = re.compile(
    r"^traefik\.http\.services\.([^.]+)\.loadbalancer\.server\.port$"
)
_MIDDLEWARE = re.compile(r"^traefik\.http\.middlewares\.([^.]+)\.([^.]+)(?:\.(.+))?$")

Matcher = tuple[str, tuple[str, ...]]
Conjunction = list[Matcher]


class RuleError(ValueError):
    """A router rule uses something an Ingress cannot express."""


@dataclass(frozen=True)
class Match:
    """One alternative of a rule: an optional host and a path."""

    host: str | None
    path: str
    path_type: str


@dataclass
class Router:
    """The labels of one `traefik.http.routers.<name>` on one service."""

    name: str
    attributes: dict[str, str] = field(default_factory=dict)


def routers(labels: dict[str, str]) -> list[Router]:
    found: dict[str, Router] = {}
    for key, value in labels.items():
        match = _ROUTER.match(key)
        if match:
            router = found.setdefault(match.group(1), Router(match.group(1)))
            router.attributes[match.group(2)] = value
    return list(found.values())


def service_ports(labels: dict[str, str]) -> dict[str, str]:
    """Traefik service name -> the container port it targets."""
    return {m.group(1): v for k, v in labels.items() if (m := _SERVICE_PORT.match(k))}


def middlewares(labels: dict[str, str]) -> dict[str, dict[str, str]]:
    """Middleware name -> {`type`: stripprefix, `prefixes`: ..., ...}."""
    found: dict[str, dict[str, str]] = {}
    for key, value in labels.items():
        match = _MIDDLEWARE.match(key)
        if match:
            entry = found.setdefault(match.group(1), {"type": match.group(2).lower()})
            entry[(match.group(3) or "").lower()] = value
    return found


def parse_rule(rule: str) -> list[Match]:
    """Every (host, path) alternative the rule matches."""
    parser = _Parser(_tokens(rule), rule)
    alternatives = parser.expression()
    parser.expect_end()
    matches: list[Match] = []
    for conjunction in alternatives:
        matches += _matches(conjunction, rule)
    return matches


def _tokens(rule: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(rule.rstrip()):
        match = _TOKEN.match(rule, position)
        if match is None or match.end() == position:
            raise RuleError(f"cannot read the rule at `{rule[position:]}`")
        position = match.end()
        kinds = ("op", "op", "punct", "string", "string", "name")
        index = next(i for i, group in enumerate(match.groups()) if group is not None)
        tokens.append((kinds[index], match.groups()[index]))
    return tokens


class _Parser:
    """Recursive descent to disjunctive normal form: a list of AND-ed matchers."""

    def __init__(self, tokens: list[tuple[str, str]], rule: str) -> None:
        self.tokens = tokens
        self.position = 0
        self.rule = rule

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise RuleError(f"the rule `{self.rule}` ends too early")
        self.position += 1
        return token

    def expect_end(self) -> None:
        token = self.peek()
        if token is not None:
            raise RuleError(f"unexpected `{token[1]}` in `{self.rule}`")

    def expression(self) -> list[Conjunction]:
        alternatives = self.term()
        while self.peek() == ("op", "||"):
            self.take()
            alternatives = alternatives + self.term()
        return alternatives

    def term(self) -> list[Conjunction]:
        alternatives = self.factor()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.factor()
            alternatives = [left + other for left in alternatives for other in right]
            if len(alternatives) > MAX_ALTERNATIVES:
                raise RuleError(f"the rule `{self.rule}` has too many combinations")
        return alternatives

    def factor(self) -> list[Conjunction]:
        kind, value = self.take()
        if (kind, value) == ("punct", "("):
            inner = self.expression()
            if self.take() != ("punct", ")"):
                raise RuleError(f"missing `)` in `{self.rule}`")
            return inner
        if (kind, value) == ("punct", "!"):
            raise RuleError("negation (`!`) cannot be expressed in an Ingress")
        if kind != "name":
            raise RuleError(f"expected a matcher such as PathPrefix, got `{value}`")
        return [[(value, self.arguments())]]

    def arguments(self) -> tuple[str, ...]:
        if self.take() != ("punct", "("):
            raise RuleError(f"expected `(` after a matcher in `{self.rule}`")
        values: list[str] = []
        while True:
            kind, value = self.take()
            if kind == "string":
                values.append(value)
            elif (kind, value) == ("punct", ")"):
                return tuple(values)
            elif (kind, value) != ("punct", ","):
                raise RuleError(f"unexpected `{value}` in matcher arguments")


def _matches(conjunction: Conjunction, rule: str) -> list[Match]:
    hosts: tuple[str | None, ...] = (None,)
    paths: tuple[str, ...] = ("/",)
    path_type = "Prefix"
    for name, args in conjunction:
        if name == "Host" and hosts == (None,) and args:
            hosts = tuple(args)
        elif name in ("PathPrefix", "Path") and paths == ("/",) and args:
            paths, path_type = args, "Prefix" if name == "PathPrefix" else "Exact"
        else:
            raise RuleError(f"`{name}(...)` in `{rule}` has no Ingress equivalent")
    return [Match(host, path, path_type) for host in hosts for path in paths]
