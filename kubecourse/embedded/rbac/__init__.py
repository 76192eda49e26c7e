"""RBAC as a kind cluster has it (rbac.authorization.k8s.io/v1).

| module | what |
|---|---|
| `rules` | PolicyRule matching, `covers` / `compact` for escalation checks |
| `requestinfo` | a request's verb, resource, subresource, namespace and name |
| `authorizer` | the RBAC authorizer over the stored Roles and bindings; 403 messages |
| `impersonation` | the `Impersonate-*` headers |
| `filters` | authentication, impersonation, authorization, per request |
| `context` | the request's user, for the registry's escalation checks |
| `escalation` | a user may grant only what it holds (unless `escalate` / `bind`) |
| `validation` | defaulting and validation of the four kinds |
| `policy`, `controller_policy`, `bootstrap` | the bootstrap policy and kubeadm's objects |
| `reconcile` | the policy re-created and completed at every start |

The ClusterRole aggregation controller is `controllers/clusterroleaggregation.py`; the
review APIs are `reviews.py`.
"""
