"""The ClusterRole aggregation controller: a ClusterRole with an `aggregationRule` gets
the rules of the ClusterRoles its selectors match, as `admin`, `edit` and `view` are
built from the `system:aggregate-to-*` roles (and `admin` from `edit`, `edit` from
`view`, through their labels).

Faithful (`pkg/controller/clusterroleaggregation`): the rules are those of every
matching ClusterRole but the aggregated one itself, role by role in name order, each
rule once; the role is rewritten only when its rules differ; any ClusterRole change
re-aggregates every aggregated role, so a chain (`view` into `edit` into `admin`)
settles within a few passes, and a role losing its label or being deleted takes its
rules away.  The write records the field manager `clusterrole-aggregation-controller`.

Simplified: upstream applies the rules with server-side apply; here it is an update.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from kubecourse.embedded.api import WriteOptions
from kubecourse.embedded.controllers.base import Controller, Key
from kubecourse.embedded.rbac.authorizer import CLUSTER_ROLES
from kubecourse.embedded.rbac.rules import Rule, same_rule
from kubecourse.embedded.selectors import SelectorError, label_selector_from_spec
from kubecourse.embedded.store import Change

MANAGER = "clusterrole-aggregation-controller"


class ClusterRoleAggregationController(Controller):
    name = "clusterrole-aggregation"
    watches = (CLUSTER_ROLES,)

    def keys_for(self, change: Change) -> Iterable[Key]:
        return [
            ("", role["metadata"]["name"])
            for role in self.store.items(CLUSTER_ROLES)
            if role.get("aggregationRule") is not None
        ]

    async def reconcile(self, key: Key) -> float | None:
        role = self.store.get(CLUSTER_ROLES, "", key[1])
        if role is None or role.get("aggregationRule") is None:
            return None
        wanted = self._aggregated_rules(role)
        current = role.get("rules") or []
        if len(wanted) == len(current) and all(map(same_rule, wanted, current)):
            return None
        updated = copy.deepcopy(role)
        updated["rules"] = wanted
        options = WriteOptions(field_manager=MANAGER)
        self.api.update(self.ctx.rt(CLUSTER_ROLES), None, key[1], updated, options)
        return None

    def _aggregated_rules(self, role: Rule) -> list[Rule]:
        rules: list[Rule] = []
        selectors = (role.get("aggregationRule") or {}).get(
            "clusterRoleSelectors"
        ) or []
        for spec in selectors:
            try:
                selector = label_selector_from_spec(spec)
            except (SelectorError, ValueError):
                continue
            matching = sorted(
                (
                    r
                    for r in self.store.items(CLUSTER_ROLES)
                    if selector.matches(r["metadata"].get("labels") or {})
                    and r["metadata"]["name"] != role["metadata"]["name"]
                ),
                key=lambda r: str(r["metadata"]["name"]),
            )
            for other in matching:
                for rule in other.get("rules") or []:
                    if not any(same_rule(rule, seen) for seen in rules):
                        rules.append(copy.deepcopy(rule))
        return rules
