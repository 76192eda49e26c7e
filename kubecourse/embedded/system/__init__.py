"""What a fresh kind cluster (Kubernetes v1.37, kind's node image) holds besides the API.

The embedded cluster runs its control plane inside one Python process, yet from the
inside it looks like kind's: the objects kubeadm and kind create, driven by the
embedded controllers like any workload.

| object | made by | module |
|---|---|---|
| namespaces `default`, `kube-system`, `kube-public`, `kube-node-lease`; Service, Endpoints and EndpointSlice `default/kubernetes` | kube-apiserver's bootstrap controller | `controllers.bootstrap` |
| mirror pods `etcd-`, `kube-apiserver-`, `kube-controller-manager-`, `kube-scheduler-kubecourse-control-plane` | the control plane's kubelet, from kubeadm's static pod manifests | `controlplane`, `controllers.staticpods` |
| `coredns` (Deployment, ConfigMap, ServiceAccount, Service `kube-dns` 10.96.0.10), `kube-proxy` (DaemonSet, ConfigMap, ServiceAccount), ConfigMaps `kubeadm-config` and `kubelet-config` | `kubeadm init`'s addon phases | `addons` |
| `kindnet` DaemonSet, namespace `local-path-storage` with the `local-path-provisioner` Deployment, StorageClass `standard` | kind, after `kubeadm init` | `addons` |

The images are those kind's v1.37 node image ships (below); each has a behaviour (a
few start-up log lines, idle usage) in `controllers.images` / `controllers.usage`, and
they are already present on every node, as kind preloads them.

Simplified: no process runs behind these pods (the RBAC bootstrap policy is
`kubecourse.embedded.rbac`; the addons' roles come with the addons); the control-plane
components' leader-election
Leases and the bootstrap token Secret are absent.
"""

from __future__ import annotations

KUBERNETES_VERSION = "v1.37.0"
CONTROL_PLANE_PORT = 6443  # kube-apiserver's --secure-port on the control-plane node
CLUSTER_DNS_IP = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"
POD_SUBNET = "10.244.0.0/16"
SERVICE_SUBNET = "10.96.0.0/12"  # the course keeps kubeadm's default; kind's is a /16
KIND_TAG = "v20260820-69b56db7"  # kind's own images in its v1.37 node image

IMAGES = {
    "etcd": "registry.k8s.io/etcd:3.7.0-0",
    "kube-apiserver": f"registry.k8s.io/kube-apiserver:{KUBERNETES_VERSION}",
    "kube-controller-manager": f"registry.k8s.io/kube-controller-manager:{KUBERNETES_VERSION}",
    "kube-scheduler": f"registry.k8s.io/kube-scheduler:{KUBERNETES_VERSION}",
    "kube-proxy": f"registry.k8s.io/kube-proxy:{KUBERNETES_VERSION}",
    "coredns": "registry.k8s.io/coredns/coredns:v1.14.6",
    "pause": "registry.k8s.io/pause:3.10.2",
    "kindnetd": f"docker.io/kindest/kindnetd:{KIND_TAG}",
    "local-path-provisioner": f"docker.io/kindest/local-path-provisioner:{KIND_TAG}",
    "local-path-helper": f"docker.io/kindest/local-path-helper:{KIND_TAG}",
}

# Images every kind node has before anything is pulled (the kubelet reports them as
# "already present on machine").
PRELOADED_IMAGES = tuple(IMAGES.values())

# Priority classes kube-apiserver creates, by name (PriorityClass objects themselves
# are served elsewhere; system pods carry the value directly, as admission sets it).
PRIORITIES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}
