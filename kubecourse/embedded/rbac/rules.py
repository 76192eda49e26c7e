"""PolicyRules: what a request asks for, whether a rule allows it, and whether one set
of rules covers another (the escalation check).

Faithful to `k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac` and
`pkg/registry/rbac/validation`: a rule allows a request when its verbs, apiGroups,
resources (`pods/log`, `*`, `*/scale`) and resourceNames match a resource request, or
its verbs and nonResourceURLs (exact, `*`, or a `/prefix/*`) match a non-resource one;
`covers` breaks the wanted rules down to one verb, group, resource and name each and
looks for an owned rule holding each piece; missing pieces are compacted (same group,
resource and name, verbs merged) and printed as upstream's `CompactString`
(`{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Rule = Mapping[str, Any]
Obj = dict[str, Any]

ALL = "*"
RESOURCE_FIELDS = (
    "verbs",
    "apiGroups",
    "resources",
    "resourceNames",
    "nonResourceURLs",
)


@dataclass(frozen=True)
class Attributes:
    """What a request asks to do, as kube-apiserver's RequestInfo names it."""

    verb: str
    path: str = ""
    resource: str = ""
    subresource: str = ""
    group: str = ""
    namespace: str = ""
    name: str = ""

    @property
    def is_resource(self) -> bool:
        return bool(self.resource)

    @property
    def combined_resource(self) -> str:
        """`pods/log` for a subresource, else `pods`."""
        if self.subresource:
            return f"{self.resource}/{self.subresource}"
        return self.resource


def _values(rule: Rule, field: str) -> list[str]:
    found = rule.get(field)
    return [str(v) for v in found] if isinstance(found, list) else []


def _has(values: Sequence[str], wanted: str) -> bool:
    return ALL in values or wanted in values


def _resource_matches(rule: Rule, attrs: Attributes) -> bool:
    wanted = attrs.combined_resource
    for resource in _values(rule, "resources"):
        if resource in (ALL, wanted):
            return True
        if attrs.subresource and resource == f"*/{attrs.subresource}":
            return True
    return False


def url_matches(pattern: str, path: str) -> bool:
    """A nonResourceURL: `*`, the path itself, or a prefix ending in `*`."""
    if pattern in (ALL, path):
        return True
    return pattern.endswith("*") and path.startswith(pattern.rstrip("*"))


def rule_allows(attrs: Attributes, rule: Rule) -> bool:
    """`RuleAllows`."""
    if not _has(_values(rule, "verbs"), attrs.verb):
        return False
    if not attrs.is_resource:
        return any(url_matches(u, attrs.path) for u in _values(rule, "nonResourceURLs"))
    names = _values(rule, "resourceNames")
    return (
        _has(_values(rule, "apiGroups"), attrs.group)
        and _resource_matches(rule, attrs)
        and (not names or attrs.name in names)
    )


# ---------------------------------------------------------------- covers


def breakdown(rule: Rule) -> list[Obj]:
    """`BreakdownRule`: one verb, group, resource and resource name per rule."""
    verbs, names = _values(rule, "verbs"), _values(rule, "resourceNames")
    pieces: list[Obj] = []
    for group in _values(rule, "apiGroups"):
        for resource in _values(rule, "resources"):
            for verb in verbs:
                base = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
                if names:
                    pieces += [{**base, "resourceNames": [n]} for n in names]
                else:
                    pieces.append(base)
    for url in _values(rule, "nonResourceURLs"):
        pieces += [{"nonResourceURLs": [url], "verbs": [verb]} for verb in verbs]
    return pieces


def _has_all(owned: Sequence[str], wanted: Sequence[str]) -> bool:
    return set(wanted) <= set(owned)


def _resources_cover(owned: Sequence[str], wanted: Sequence[str]) -> bool:
    if ALL in owned or _has_all(owned, wanted):
        return True
    for resource in wanted:
        if resource in owned:
            continue
        if "/" not in resource or f"*/{resource.split('/', 1)[1]}" not in owned:
            return False
    return True


def _urls_cover(owned: Sequence[str], wanted: Sequence[str]) -> bool:
    return all(any(url_matches(o, w) for o in owned) for w in wanted)


def rule_covers(owner: Rule, piece: Rule) -> bool:
    """`ruleCovers`: does one owned rule hold a broken-down piece?"""
    verbs, groups = _values(owner, "verbs"), _values(owner, "apiGroups")
    owned_names, names = (
        _values(owner, "resourceNames"),
        _values(piece, "resourceNames"),
    )
    if names:
        names_ok = not owned_names or _has_all(owned_names, names)
    else:
        names_ok = not owned_names
    return (
        (ALL in verbs or _has_all(verbs, _values(piece, "verbs")))
        and (ALL in groups or _has_all(groups, _values(piece, "apiGroups")))
        and _resources_cover(_values(owner, "resources"), _values(piece, "resources"))
        and _urls_cover(
            _values(owner, "nonResourceURLs"), _values(piece, "nonResourceURLs")
        )
        and names_ok
    )


def covers(owned: Iterable[Rule], wanted: Iterable[Rule]) -> tuple[bool, list[Obj]]:
    """`Covers`: (whether every piece of `wanted` is held, the pieces that are not)."""
    owned = list(owned)
    missing = [
        piece
        for rule in wanted
        for piece in breakdown(rule)
        if not any(rule_covers(o, piece) for o in owned)
    ]
    return not missing, missing


def compact(rules: Iterable[Rule]) -> list[Obj]:
    """`CompactRules`: rules of one group and resource (and at most one name) that
    differ only in their verbs become one rule."""
    compacted: list[Obj] = []
    simple: dict[tuple[str, str, str | None], Obj] = {}
    for rule in rules:
        key = _simple_key(rule)
        if key is None:
            compacted.append(dict(rule))
        elif key in simple:
            verbs = simple[key]["verbs"]
            verbs += [v for v in _values(rule, "verbs") if v not in verbs]
        else:
            simple[key] = {
                f: list(_values(rule, f)) for f in RESOURCE_FIELDS if rule.get(f)
            }
            simple[key].setdefault("verbs", [])
    return compacted + list(simple.values())


def _simple_key(rule: Rule) -> tuple[str, str, str | None] | None:
    groups, resources = _values(rule, "apiGroups"), _values(rule, "resources")
    names = _values(rule, "resourceNames")
    if len(groups) != 1 or len(resources) != 1 or len(names) > 1:
        return None
    if _values(rule, "nonResourceURLs") or set(rule) - set(RESOURCE_FIELDS):
        return None
    return groups[0], resources[0], names[0] if names else None


def compact_string(rule: Rule) -> str:
    """`CompactString`: `{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}`."""
    parts = []
    for label, field in (
        ("APIGroups", "apiGroups"),
        ("Resources", "resources"),
        ("NonResourceURLs", "nonResourceURLs"),
        ("ResourceNames", "resourceNames"),
        ("Verbs", "verbs"),
    ):
        values = _values(rule, field)
        if values:
            parts.append(f"{label}:[{' '.join(json.dumps(v) for v in values)}]")
    return "{" + ", ".join(parts) + "}"


def same_rule(a: Rule, b: Rule) -> bool:
    """Semantic equality of two rules (absent and empty lists alike)."""
    return all(_values(a, f) == _values(b, f) for f in RESOURCE_FIELDS)
