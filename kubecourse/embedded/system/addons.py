"""The objects `kubeadm init` and kind install once, when a cluster is created.

Faithful to kubeadm's addon phases and kind's manifests: CoreDNS (ServiceAccount, the
`coredns` ConfigMap with kubeadm's Corefile, a Deployment of 2 replicas with
`maxUnavailable: 1`, `priorityClassName: system-cluster-critical`, requests 100m / 70Mi,
a 170Mi memory limit, the control-plane toleration and `CriticalAddonsOnly`, and the
`kube-dns` Service at 10.96.0.10 with ports dns 53/UDP, dns-tcp 53/TCP, metrics
9153/TCP and the `kubernetes.io/cluster-service` / `kubernetes.io/name: CoreDNS`
labels that `kubectl cluster-info` looks for); kube-proxy (ServiceAccount, ConfigMap
with its KubeProxyConfiguration, a privileged hostNetwork DaemonSet tolerating every
taint); kindnet (ServiceAccount, hostNetwork DaemonSet tolerating every taint,
requests and limits 100m / 50Mi); the `local-path-storage` namespace with its
ServiceAccount, `local-path-config` ConfigMap and `local-path-provisioner` Deployment;
the default StorageClass `standard` (`rancher.io/local-path`, WaitForFirstConsumer,
Delete); and kubeadm's `kubeadm-config` / `kubelet-config` ConfigMaps.

Nobody re-creates these when they are deleted (as on kind).  `kubeadm-config` is
written last and marks the installation done: a cluster whose store lacks it (one
created before these objects existed) gets them on its next start, and a restarted
cluster is left as it is.

The manifests' RBAC objects come with them (`_RBAC`): CoreDNS's `system:coredns`
ClusterRole and binding, kube-proxy's Role and RoleBinding for its ConfigMap (its
`kubeadm:node-proxier` ClusterRoleBinding is among kubeadm's in rbac/bootstrap.py),
kindnet's and the local-path provisioner's roles and bindings.  Simplified: their rules
are those of recent kubeadm and kind manifests as far as known, not checked against
kind's v1.37 node image.
"""

from __future__ import annotations

import logging
from string import Template
from typing import Any

import yaml

from kubecourse.embedded.api import Api
from kubecourse.embedded.resources import REGISTRY
from kubecourse.embedded.status import StatusError
from kubecourse.embedded.system import (
    CLUSTER_DNS_IP,
    CLUSTER_DOMAIN,
    CONTROL_PLANE_PORT,
    IMAGES,
    KUBERNETES_VERSION,
    POD_SUBNET,
    SERVICE_SUBNET,
)

log = logging.getLogger(__name__)

Obj = dict[str, Any]
MARKER = ("configmaps", "kube-system", "kubeadm-config")
STORAGE_CLASS = "standard"
LOCAL_PATH_NAMESPACE = "local-path-storage"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


def installed(api: Api) -> bool:
    return api.store.get(*MARKER) is not None


def install(api: Api, cluster_name: str, *, workloads: bool = True) -> None:
    """Create what is missing of kind's installation (the StorageClass alone when the
    cluster runs without system workloads); mark it done once everything is there."""
    for resource, obj in objects(cluster_name, workloads=workloads):
        _create_missing(api, resource, obj)


def objects(cluster_name: str, *, workloads: bool = True) -> list[tuple[str, Obj]]:
    """(store key, object) in creation order: namespaces and accounts before workloads."""
    found = [("storageclasses.storage.k8s.io", storage_class())]
    if not workloads:
        return found
    values = _values(cluster_name)
    for text in (_COREDNS, _KUBE_PROXY, _KINDNET, _LOCAL_PATH, _RBAC, _KUBEADM):
        for doc in yaml.safe_load_all(Template(text).substitute(values)):
            found.append((_store_key(doc), doc))
    return found


def storage_class() -> Obj:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": STORAGE_CLASS,
            "annotations": {DEFAULT_CLASS_ANNOTATION: "true"},
        },
        "provisioner": "rancher.io/local-path",
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
    }


def _create_missing(api: Api, resource: str, obj: Obj) -> None:
    rt = REGISTRY.get(resource)
    meta = obj["metadata"]
    namespace = meta.get("namespace") if rt.namespaced else None
    if api.store.get(rt.key, namespace or "", meta["name"]) is not None:
        return
    try:
        api.create(rt, namespace, obj)
    except StatusError as err:  # e.g. 10.96.0.10 taken by a learner's Service
        log.warning("could not create %s %s: %s", rt.kind, meta["name"], err.message)


def _store_key(doc: Obj) -> str:
    rt = REGISTRY.by_kind(doc["apiVersion"], doc["kind"])
    assert rt is not None, doc["kind"]
    return rt.key


def _values(cluster_name: str) -> dict[str, str]:
    return {
        "cluster": cluster_name,
        "endpoint": f"{cluster_name}-control-plane:{CONTROL_PLANE_PORT}",
        "version": KUBERNETES_VERSION,
        "dns_ip": CLUSTER_DNS_IP,
        "domain": CLUSTER_DOMAIN,
        "pod_subnet": POD_SUBNET,
        "service_subnet": SERVICE_SUBNET,
        **{key.replace("-", "_"): image for key, image in IMAGES.items()},
    }


_COREDNS = """
apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
    .:53 {
        errors
        health {
           lameduck 5s
        }
        ready
        kubernetes $domain in-addr.arpa ip6.arpa {
           pods insecure
           fallthrough in-addr.arpa ip6.arpa
           ttl 30
        }
        prometheus :9153
        forward . /etc/resolv.conf {
           max_concurrent 1000
        }
        cache 30 {
           disable success $domain
           disable denial $domain
        }
        loop
        reload
        loadbalance
    }
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels: {k8s-app: kube-dns}
spec:
  replicas: 2
  strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 1}}
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      priorityClassName: system-cluster-critical
      serviceAccountName: coredns
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm:
              labelSelector:
                matchExpressions: [{key: k8s-app, operator: In, values: [kube-dns]}]
              topologyKey: kubernetes.io/hostname
      tolerations:
      - {key: CriticalAddonsOnly, operator: Exists}
      - {key: node-role.kubernetes.io/control-plane, effect: NoSchedule}
      nodeSelector: {kubernetes.io/os: linux}
      dnsPolicy: Default
      containers:
      - name: coredns
        image: $coredns
        imagePullPolicy: IfNotPresent
        args: [-conf, /etc/coredns/Corefile]
        resources:
          limits: {memory: 170Mi}
          requests: {cpu: 100m, memory: 70Mi}
        volumeMounts:
        - {name: config-volume, mountPath: /etc/coredns, readOnly: true}
        ports:
        - {name: dns, containerPort: 53, protocol: UDP}
        - {name: dns-tcp, containerPort: 53, protocol: TCP}
        - {name: metrics, containerPort: 9153, protocol: TCP}
        - {name: liveness-probe, containerPort: 8080, protocol: TCP}
        - {name: readiness-probe, containerPort: 8181, protocol: TCP}
        livenessProbe:
          httpGet: {path: /health, port: liveness-probe, scheme: HTTP}
          initialDelaySeconds: 60
          timeoutSeconds: 5
          successThreshold: 1
          failureThreshold: 5
        readinessProbe:
          httpGet: {path: /ready, port: readiness-probe, scheme: HTTP}
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {add: [NET_BIND_SERVICE], drop: [ALL]}
          readOnlyRootFilesystem: true
      volumes:
      - name: config-volume
        configMap:
          name: coredns
          items: [{key: Corefile, path: Corefile}]
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels:
    k8s-app: kube-dns
    kubernetes.io/cluster-service: "true"
    kubernetes.io/name: CoreDNS
  annotations:
    prometheus.io/port: "9153"
    prometheus.io/scrape: "true"
spec:
  clusterIP: $dns_ip
  selector: {k8s-app: kube-dns}
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: 53}
  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}
  - {name: metrics, port: 9153, protocol: TCP, targetPort: 9153}
"""

_KUBE_PROXY = """
apiVersion: v1
kind: ServiceAccount
metadata: {name: kube-proxy, namespace: kube-system}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: kube-proxy
  namespace: kube-system
  labels: {app: kube-proxy}
data:
  config.conf: |-
    apiVersion: kubeproxy.config.k8s.io/v1alpha1
    bindAddress: 0.0.0.0
    clientConnection:
      kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
    clusterCIDR: $pod_subnet
    conntrack:
      maxPerCore: 0
    iptables:
      minSyncPeriod: 1s
    kind: KubeProxyConfiguration
    mode: iptables
  kubeconfig.conf: |-
    apiVersion: v1
    kind: Config
    clusters:
    - cluster:
        certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
        server: https://$endpoint
      name: default
    contexts:
    - context:
        cluster: default
        namespace: default
        user: default
      name: default
    current-context: default
    users:
    - name: default
      user:
        tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: kube-proxy
  namespace: kube-system
  labels: {k8s-app: kube-proxy}
spec:
  selector: {matchLabels: {k8s-app: kube-proxy}}
  updateStrategy: {type: RollingUpdate}
  template:
    metadata: {labels: {k8s-app: kube-proxy}}
    spec:
      priorityClassName: system-node-critical
      hostNetwork: true
      serviceAccountName: kube-proxy
      nodeSelector: {kubernetes.io/os: linux}
      tolerations:
      - {key: CriticalAddonsOnly, operator: Exists}
      - {operator: Exists}
      containers:
      - name: kube-proxy
        image: $kube_proxy
        imagePullPolicy: IfNotPresent
        command:
        - /usr/local/bin/kube-proxy
        - --config=/var/lib/kube-proxy/config.conf
        - --hostname-override=$$(NODE_NAME)
        env:
        - name: NODE_NAME
          valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
        securityContext: {privileged: true}
        volumeMounts:
        - {name: kube-proxy, mountPath: /var/lib/kube-proxy}
        - {name: xtables-lock, mountPath: /run/xtables.lock}
        - {name: lib-modules, mountPath: /lib/modules, readOnly: true}
      volumes:
      - {name: kube-proxy, configMap: {name: kube-proxy}}
      - {name: xtables-lock, hostPath: {path: /run/xtables.lock, type: FileOrCreate}}
      - {name: lib-modules, hostPath: {path: /lib/modules}}
"""

_KINDNET = """
apiVersion: v1
kind: ServiceAccount
metadata: {name: kindnet, namespace: kube-system}
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: kindnet
  namespace: kube-system
  labels: {app: kindnet, k8s-app: kindnet, tier: node}
spec:
  selector: {matchLabels: {app: kindnet}}
  template:
    metadata: {labels: {app: kindnet, k8s-app: kindnet, tier: node}}
    spec:
      hostNetwork: true
      serviceAccountName: kindnet
      tolerations: [{operator: Exists}]
      containers:
      - name: kindnet-cni
        image: $kindnetd
        env:
        - name: HOST_IP
          valueFrom: {fieldRef: {fieldPath: status.hostIP}}
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        - {name: POD_SUBNET, value: $pod_subnet}
        - {name: CONTROL_PLANE_ENDPOINT, value: "$endpoint"}
        resources:
          requests: {cpu: 100m, memory: 50Mi}
          limits: {cpu: 100m, memory: 50Mi}
        securityContext:
          privileged: false
          capabilities: {add: [NET_RAW, NET_ADMIN]}
        volumeMounts:
        - {name: cni-cfg, mountPath: /etc/cni/net.d}
        - {name: xtables-lock, mountPath: /run/xtables.lock, readOnly: false}
        - {name: lib-modules, mountPath: /lib/modules, readOnly: true}
      volumes:
      - {name: cni-cfg, hostPath: {path: /etc/cni/net.d}}
      - {name: xtables-lock, hostPath: {path: /run/xtables.lock, type: FileOrCreate}}
      - {name: lib-modules, hostPath: {path: /lib/modules}}
"""

_LOCAL_PATH = """
apiVersion: v1
kind: Namespace
metadata: {name: local-path-storage}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: local-path-provisioner-service-account, namespace: local-path-storage}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: local-path-config, namespace: local-path-storage}
data:
  config.json: |-
    {
            "nodePathMap":[
            {
                    "node":"DEFAULT_PATH_FOR_NON_LISTED_NODES",
                    "paths":["/var/local-path-provisioner"]
            }
            ]
    }
  setup: |-
    #!/bin/sh
    set -eu
    mkdir -m 0777 -p "$$VOL_DIR"
  teardown: |-
    #!/bin/sh
    set -eu
    rm -rf "$$VOL_DIR"
  helperPod.yaml: |-
    apiVersion: v1
    kind: Pod
    metadata:
      name: helper-pod
    spec:
      containers:
      - name: helper-pod
        image: $local_path_helper
        imagePullPolicy: IfNotPresent
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: local-path-provisioner, namespace: local-path-storage}
spec:
  replicas: 1
  selector: {matchLabels: {app: local-path-provisioner}}
  template:
    metadata: {labels: {app: local-path-provisioner}}
    spec:
      nodeSelector: {kubernetes.io/os: linux}
      tolerations:
      - {key: node-role.kubernetes.io/control-plane, operator: Equal, effect: NoSchedule}
      - {key: node-role.kubernetes.io/master, operator: Equal, effect: NoSchedule}
      serviceAccountName: local-path-provisioner-service-account
      containers:
      - name: local-path-provisioner
        image: $local_path_provisioner
        imagePullPolicy: IfNotPresent
        command:
        - local-path-provisioner
        - --debug
        - start
        - --helper-image
        - $local_path_helper
        - --config
        - /etc/config/config.json
        env:
        - name: POD_NAMESPACE
          valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
        volumeMounts:
        - {name: config-volume, mountPath: /etc/config/}
      volumes:
      - {name: config-volume, configMap: {name: local-path-config}}
"""

_RBAC = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects:
- {kind: ServiceAccount, name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: kube-proxy, namespace: kube-system}
rules:
- apiGroups: [""]
  resources: [configmaps]
  resourceNames: [kube-proxy]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: kube-proxy, namespace: kube-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: kube-proxy}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: "system:bootstrappers:kubeadm:default-node-token"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kindnet}
rules:
- apiGroups: [""]
  resources: [nodes]
  verbs: [list, watch, patch]
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get]
- apiGroups: [""]
  resources: [pods, namespaces]
  verbs: [list, watch]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: kindnet}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kindnet}
subjects:
- {kind: ServiceAccount, name: kindnet, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: local-path-provisioner-role, namespace: local-path-storage}
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch, create, patch, update, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: local-path-provisioner-role}
rules:
- apiGroups: [""]
  resources: [nodes, persistentvolumeclaims, configmaps, pods, pods/log]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [persistentvolumes]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [storage.k8s.io]
  resources: [storageclasses]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: local-path-provisioner-bind, namespace: local-path-storage}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: local-path-provisioner-role}
subjects:
- {kind: ServiceAccount, name: local-path-provisioner-service-account, namespace: local-path-storage}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: local-path-provisioner-bind}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: local-path-provisioner-role}
subjects:
- {kind: ServiceAccount, name: local-path-provisioner-service-account, namespace: local-path-storage}
"""

_KUBEADM = """
apiVersion: v1
kind: ConfigMap
metadata: {name: kubelet-config, namespace: kube-system}
data:
  kubelet: |
    apiVersion: kubelet.config.k8s.io/v1beta1
    authentication:
      anonymous:
        enabled: false
      webhook:
        cacheTTL: 0s
        enabled: true
      x509:
        clientCAFile: /etc/kubernetes/pki/ca.crt
    authorization:
      mode: Webhook
    cgroupDriver: systemd
    cgroupRoot: /kubelet
    clusterDNS:
    - $dns_ip
    clusterDomain: $domain
    containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
    evictionHard:
      imagefs.available: 0%
      nodefs.available: 0%
      nodefs.inodesFree: 0%
    failSwapOn: false
    imageGCHighThresholdPercent: 100
    kind: KubeletConfiguration
    nodeStatusReportFrequency: 0s
    nodeStatusUpdateFrequency: 0s
    rotateCertificates: true
    staticPodPath: /etc/kubernetes/manifests
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kubeadm-config, namespace: kube-system}
data:
  ClusterConfiguration: |
    apiServer:
      certSANs:
      - localhost
      - 127.0.0.1
      extraArgs:
      - name: runtime-config
        value: ""
    apiVersion: kubeadm.k8s.io/v1beta4
    caCertificateValidityPeriod: 87600h0m0s
    certificateValidityPeriod: 8760h0m0s
    certificatesDir: /etc/kubernetes/pki
    clusterName: $cluster
    controlPlaneEndpoint: $endpoint
    controllerManager:
      extraArgs:
      - name: enable-hostpath-provisioner
        value: "true"
    dns: {}
    encryptionAlgorithm: RSA-2048
    etcd:
      local:
        dataDir: /var/lib/etcd
    imageRepository: registry.k8s.io
    kind: ClusterConfiguration
    kubernetesVersion: $version
    networking:
      dnsDomain: $domain
      podSubnet: $pod_subnet
      serviceSubnet: $service_subnet
    proxy: {}
    scheduler: {}
"""
