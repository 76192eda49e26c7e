"""The simulated cluster network: requests really travel from client to Pod.

No process runs in the embedded cluster and no packet leaves the Python process: a
request is bytes handed from a simulated client to a simulated server, along the path
it would take on kind.

| module | what it does |
|---|---|
| `router` | `Network.connect(source, ip, port)`: ClusterIPs and kube-proxy's choice of endpoint (random, `sessionAffinity: ClientIP`), NodePorts, hostPorts, Pod IPs, loopback; how connecting fails |
| `policy` | NetworkPolicy enforcement, as kindnet (kube-network-policies) does it |
| `catalog` | which server an image runs: **the table of HTTP and TCP behaviours** |
| `servers`, `nginx`, `ingress` | the servers: whoami, http-echo, hello-app, databases, nginx, Traefik as the ingress controller (Ingress and HTTPRoute rules) |
| `proxy` | the API server's `pods/proxy` and `services/proxy` subresources |
| `controller` | the Traefik ingress controller the cluster is created with, its IngressClass and GatewayClass |
| `http`, `wire` | HTTP/1.1 messages, connections and their failures |

The entry points that use it: the API server's proxy subresources (`kubectl proxy`,
`kubectl get --raw .../services/web:80/proxy/`), `kubectl port-forward`
(`streams.portforward`), `wget`, `curl` and `nc` in `kubectl exec` (`shell.nettools`),
and through the API server the course facade's `Cluster.request()`.
"""

from kubecourse.embedded.network.router import Network, Source

__all__ = ["Network", "Source"]
