"""The ingress controller a new embedded cluster starts with: Traefik, as kind users add it.

A fresh kind cluster has no ingress controller; the course installs one (Traefik, the
reverse proxy the shop's compose file already uses), and a new embedded cluster is
created with the same objects, so that the translated shop's Ingress and HTTPRoutes
are served on either:

- Namespace `traefik` (a name the translator's `<project>-from-ingress` NetworkPolicy
  admits);
- Deployment `traefik/traefik`: one `traefik:v3.1.2` Pod with the `kubernetesingress`
  and `kubernetesgateway` providers and the entrypoint `web` on `:80`, pinned to the
  control plane (its taint tolerated) with `hostPort: 80`, as kind's ingress guide places
  its controller, so the workers keep their capacity for the lessons;
- Service `traefik/traefik`, NodePort `30080` -> `web`, the entry from outside:
  `kubectl port-forward -n traefik svc/traefik 8080:80`, the API server's service proxy
  (`/api/v1/namespaces/traefik/services/traefik:web/proxy/`), a node's address on port
  30080, or the control plane's on port 80;
- IngressClass `traefik` (controller `traefik.io/ingress-controller`), the default class;
- GatewayClass `kubecourse` (controller `traefik.io/gateway-controller`), the class the
  translator's Gateway names.

What the Traefik Pod does with requests is `network.ingress`.  The objects are ordinary
API objects: a lesson may scale, delete or replace them.
"""

from __future__ import annotations

from typing import Any

from kubecourse.embedded.api import Api
from kubecourse.embedded.network.ingress import GATEWAY_CONTROLLER, INGRESS_CONTROLLER
from kubecourse.embedded.resources import REGISTRY

Obj = dict[str, Any]
NAMESPACE = "traefik"
IMAGE = "traefik:v3.1.2"
NODE_PORT = 30080
LABELS = {
    "app.kubernetes.io/name": "traefik",
    "app.kubernetes.io/instance": "traefik-traefik",
}
GATEWAY_CLASS = "kubecourse"


def install(api: Api) -> None:
    """Create the ingress controller's objects (a new cluster's bootstrap)."""
    api.create(REGISTRY.get("namespaces"), None, {"metadata": {"name": NAMESPACE}})
    api.create(REGISTRY.get("deployments.apps"), NAMESPACE, deployment())
    api.create(REGISTRY.get("services"), NAMESPACE, service())
    api.create(REGISTRY.get("ingressclasses.networking.k8s.io"), None, ingress_class())
    api.create(
        REGISTRY.get("gatewayclasses.gateway.networking.k8s.io"), None, gateway_class()
    )


def deployment() -> Obj:
    container = {
        "name": "traefik",
        "image": IMAGE,
        "args": [
            "--entrypoints.web.address=:80",
            "--providers.kubernetesingress",
            "--providers.kubernetesgateway",
            "--ping",
        ],
        "ports": [
            {"name": "web", "containerPort": 80, "hostPort": 80, "protocol": "TCP"}
        ],
    }
    spec = {
        "containers": [container],
        "nodeSelector": {"node-role.kubernetes.io/control-plane": ""},
        "tolerations": [
            {
                "key": "node-role.kubernetes.io/control-plane",
                "operator": "Exists",
                "effect": "NoSchedule",
            }
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "traefik", "labels": dict(LABELS)},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": dict(LABELS)},
            "template": {"metadata": {"labels": dict(LABELS)}, "spec": spec},
        },
    }


def service() -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "traefik", "labels": dict(LABELS)},
        "spec": {
            "type": "NodePort",
            "selector": dict(LABELS),
            "ports": [
                {
                    "name": "web",
                    "port": 80,
                    "targetPort": "web",
                    "nodePort": NODE_PORT,
                    "protocol": "TCP",
                }
            ],
        },
    }


def ingress_class() -> Obj:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {
            "name": "traefik",
            "labels": dict(LABELS),
            "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"},
        },
        "spec": {"controller": INGRESS_CONTROLLER},
    }


def gateway_class() -> Obj:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "GatewayClass",
        "metadata": {"name": GATEWAY_CLASS},
        "spec": {"controllerName": GATEWAY_CONTROLLER},
    }
