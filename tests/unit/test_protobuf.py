"""Decode real protobuf request bodies captured from kubectl 1.37.

Each body was captured on loopback from the real kubectl (its typed `create`
generators, `autoscale`, `auth can-i`); each expected dict equals what the same
kubectl prints with `--dry-run=client -o json` (the JSON it would have sent),
except where a comment says otherwise.
"""

from __future__ import annotations

from typing import Any

import pytest

from kubecourse.embedded.protobuf import (
    MAGIC,
    decode_message,
    decode_request_body,
    iter_fields,
    table,
)

Obj = dict[str, Any]

CAPTURED: dict[str, tuple[str, str, Obj]] = {
    "namespace": (
        "kubectl create namespace team-a",
        "6b3873000a0f0a02763112094e616d657370616365121e0a160a067465616d2d"
        "6112001a0022002a0032003800420012001a020a001a002200",
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "team-a"},
            "spec": {},
            "status": {},
        },
    ),
    "deployment": (
        "kubectl create deployment web2 --image=nginx:1.27 --replicas=3 --port=80",
        "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412c1010a21"
        "0a047765623212001a0022002a003200380042005a0b0a036170701204776562"
        "32128d010803120d0a0b0a036170701204776562321a720a1d0a0012001a0022"
        "002a003200380042005a0b0a03617070120477656232125112330a056e67696e"
        "78120a6e67696e783a312e32372a00320a0a001000185022002a0042006a0072"
        "00800100880100900100a201001a00320042004a005200580060006800820100"
        "8a01009a0100c2010022020a00280038001a0c0800100018002000280038001a"
        "002200",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web2", "labels": {"app": "web2"}},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web2"}},
                "template": {
                    "metadata": {"labels": {"app": "web2"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "nginx",
                                "image": "nginx:1.27",
                                "ports": [{"containerPort": 80}],
                                "resources": {},
                            }
                        ]
                    },
                },
                "strategy": {},
            },
            "status": {},
        },
    ),
    "deployment_zero": (
        "kubectl create deployment idle --image=nginx:1.27 --replicas=0",
        "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412b5010a21"
        "0a0469646c6512001a0022002a003200380042005a0b0a03617070120469646c"
        "651281010800120d0a0b0a03617070120469646c651a660a1d0a0012001a0022"
        "002a003200380042005a0b0a03617070120469646c65124512270a056e67696e"
        "78120a6e67696e783a312e32372a0042006a007200800100880100900100a201"
        "001a00320042004a0052005800600068008201008a01009a0100c2010022020a"
        "00280038001a0c0800100018002000280038001a002200",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "idle", "labels": {"app": "idle"}},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": "idle"}},
                "template": {
                    "metadata": {"labels": {"app": "idle"}},
                    "spec": {
                        "containers": [
                            {"name": "nginx", "image": "nginx:1.27", "resources": {}}
                        ]
                    },
                },
                "strategy": {},
            },
            "status": {},
        },
    ),
    "svc_clusterip": (
        "kubectl create service clusterip web2 --tcp=80:8080",
        "6b3873000a0d0a027631120753657276696365126c0a210a047765623212001a"
        "0022002a003200380042005a0b0a0361707012047765623212430a1b0a073830"
        "2d38303830120354435018502207080010903f1a002800120b0a036170701204"
        "776562321a002209436c757374657249503a00420052005a00600068001a020a"
        "001a002200",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web2", "labels": {"app": "web2"}},
            "spec": {
                "ports": [
                    {
                        "name": "80-8080",
                        "protocol": "TCP",
                        "port": 80,
                        "targetPort": 8080,
                    }
                ],
                "selector": {"app": "web2"},
                "type": "ClusterIP",
            },
            "status": {"loadBalancer": {}},
        },
    ),
    "svc_headless": (
        "kubectl create service clusterip headless --clusterip=None",
        "6b3873000a0d0a027631120753657276696365125f0a290a08686561646c6573"
        "7312001a0022002a003200380042005a0f0a036170701208686561646c657373"
        "122e120f0a036170701208686561646c6573731a044e6f6e652209436c757374"
        "657249503a00420052005a00600068001a020a001a002200",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "headless", "labels": {"app": "headless"}},
            "spec": {
                "selector": {"app": "headless"},
                "clusterIP": "None",
                "type": "ClusterIP",
            },
            "status": {"loadBalancer": {}},
        },
    ),
    "svc_nodeport": (
        "kubectl create service nodeport np --tcp=80:8080 --node-port=30080",
        "6b3873000a0d0a02763112075365727669636512670a1d0a026e7012001a0022"
        "002a003200380042005a090a0361707012026e7012420a1d0a0738302d383038"
        "30120354435018502207080010903f1a002880eb0112090a0361707012026e70"
        "1a0022084e6f6465506f72743a00420052005a00600068001a020a001a002200",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "np", "labels": {"app": "np"}},
            "spec": {
                "ports": [
                    {
                        "name": "80-8080",
                        "protocol": "TCP",
                        "port": 80,
                        "targetPort": 8080,
                        "nodePort": 30080,
                    }
                ],
                "selector": {"app": "np"},
                "type": "NodePort",
            },
            "status": {"loadBalancer": {}},
        },
    ),
    "svc_lb": (
        "kubectl create service loadbalancer lb --tcp=443:8443",
        "6b3873000a0d0a027631120753657276696365126b0a1d0a026c6212001a0022"
        "002a003200380042005a090a0361707012026c6212460a1d0a083434332d3834"
        "3433120354435018bb032207080010fb411a00280012090a0361707012026c62"
        "1a00220c4c6f616442616c616e6365723a00420052005a00600068001a020a00"
        "1a002200",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "lb", "labels": {"app": "lb"}},
            "spec": {
                "ports": [
                    {
                        "name": "443-8443",
                        "protocol": "TCP",
                        "port": 443,
                        "targetPort": 8443,
                    }
                ],
                "selector": {"app": "lb"},
                "type": "LoadBalancer",
            },
            "status": {"loadBalancer": {}},
        },
    ),
    "svc_external": (
        "kubectl create service externalname ext --external-name=example.com",
        "6b3873000a0d0a027631120753657276696365125a0a1f0a0365787412001a00"
        "22002a003200380042005a0a0a0361707012036578741233120a0a0361707012"
        "036578741a00220c45787465726e616c4e616d653a004200520b6578616d706c"
        "652e636f6d5a00600068001a020a001a002200",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "ext", "labels": {"app": "ext"}},
            "spec": {
                "selector": {"app": "ext"},
                "type": "ExternalName",
                "externalName": "example.com",
            },
            "status": {"loadBalancer": {}},
        },
    ),
    "configmap": (
        "kubectl create configmap cfg --from-literal=a=1 --from-literal=b='two words'",
        "6b3873000a0f0a0276311209436f6e6669674d6170122d0a130a036366671200"
        "1a0022002a0032003800420012060a0161120131120e0a0162120974776f2077"
        "6f7264731a002200",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cfg"},
            "data": {"a": "1", "b": "two words"},
        },
    ),
    "secret_generic": (
        "kubectl create secret generic sec --from-literal=user=admin"
        " --from-literal=pass='s3cr3t!'",
        "6b3873000a0c0a027631120653656372657412370a130a0373656312001a0022"
        "002a00320038004200120f0a0470617373120773336372337421120d0a047573"
        "6572120561646d696e1a001a002200",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "sec"},
            "data": {"pass": "czNjcjN0IQ==", "user": "YWRtaW4="},
        },
    ),
    "secret_binary": (
        "kubectl create secret generic bin --from-literal=x=$'\\xff\\x00'",
        "6b3873000a0c0a0276311206536563726574121f0a130a0362696e12001a0022"
        "002a0032003800420012060a01781201ff1a001a002200",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "bin"},
            "data": {"x": "/w=="},
        },
    ),
    "secret_docker": (
        "kubectl create secret docker-registry reg --docker-server=r.example ...",
        "6b3873000a0c0a02763112065365637265741291010a130a0372656712001a00"
        "22002a00320038004200125a0a112e646f636b6572636f6e6669676a736f6e12"
        "457b226175746873223a7b22722e6578616d706c65223a7b22757365726e616d"
        "65223a2275222c2270617373776f7264223a2270222c2261757468223a226454"
        "7077227d7d7d1a1e6b756265726e657465732e696f2f646f636b6572636f6e66"
        "69676a736f6e1a002200",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "reg"},
            "data": {
                ".dockerconfigjson": "eyJhdXRocyI6eyJyLmV4YW1wbGUiOnsidXNl"
                "cm5hbWUiOiJ1Iiwi"
                "cGFzc3dvcmQiOiJwIiwiYXV0aCI6ImRUcHcifX19"
            },
            "type": "kubernetes.io/dockerconfigjson",
        },
    ),
    "serviceaccount": (
        "kubectl create serviceaccount robot",
        "6b3873000a140a027631120e536572766963654163636f756e7412170a150a05"
        "726f626f7412001a0022002a003200380042001a002200",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}},
    ),
    "ingress": (
        "kubectl create ingress ing --class=nginx"
        " --rule=foo.com/bar*=svc1:8080,tls=my-cert --rule=/path=svc2:http"
        " --default-backend=defsvc:80 --annotation=a=b",
        "6b3873000a1f0a146e6574776f726b696e672e6b38732e696f2f76311207496e"
        "677265737312ad010a1b0a03696e6712001a0022002a0032003800420062060a"
        "01611201621289010a10220e0a0664656673766312040a00105012120a07666f"
        "6f2e636f6d12076d792d636572741a2e0a07666f6f2e636f6d12230a210a1f0a"
        "042f626172120f220d0a047376633112050a0010903f1a065072656669781a2a"
        "0a0012260a240a220a052f70617468121222100a047376633212080a04687474"
        "7010001a05457861637422056e67696e781a020a001a002200",
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "ing", "annotations": {"a": "b"}},
            "spec": {
                "defaultBackend": {
                    "service": {"name": "defsvc", "port": {"number": 80}}
                },
                "tls": [{"hosts": ["foo.com"], "secretName": "my-cert"}],
                "rules": [
                    {
                        "host": "foo.com",
                        "http": {
                            "paths": [
                                {
                                    "path": "/bar",
                                    "backend": {
                                        "service": {
                                            "name": "svc1",
                                            "port": {"number": 8080},
                                        }
                                    },
                                    "pathType": "Prefix",
                                }
                            ]
                        },
                    },
                    {
                        "http": {
                            "paths": [
                                {
                                    "path": "/path",
                                    "backend": {
                                        "service": {
                                            "name": "svc2",
                                            "port": {"name": "http"},
                                        }
                                    },
                                    "pathType": "Exact",
                                }
                            ]
                        }
                    },
                ],
                "ingressClassName": "nginx",
            },
            "status": {"loadBalancer": {}},
        },
    ),
    "job": (
        "kubectl create job once2 --image=busybox:1.36 -- echo hi",
        "6b3873000a0f0a0862617463682f763112034a6f62128f010a150a056f6e6365"
        "3212001a0022002a00320038004200126c326a0a100a0012001a0022002a0032"
        "0038004200125612330a056f6e636532120c62757379626f783a312e33361a04"
        "6563686f1a0268692a0042006a007200800100880100900100a201001a054e65"
        "766572320042004a0052005800600068008201008a01009a0100c201001a0820"
        "00280030003a001a002200",
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "once2"},
            "spec": {
                "template": {
                    "metadata": {},
                    "spec": {
                        "containers": [
                            {
                                "name": "once2",
                                "image": "busybox:1.36",
                                "command": ["echo", "hi"],
                                "resources": {},
                            }
                        ],
                        "restartPolicy": "Never",
                    },
                }
            },
            "status": {},
        },
    ),
    "cronjob": (
        "kubectl create cronjob nightly2 --image=busybox:1.36"
        " --schedule='0 3 * * *' --restart=OnFailure -- date",
        "6b3873000a130a0862617463682f7631120743726f6e4a6f6212ba010a180a08"
        "6e696768746c793212001a0022002a00320038004200129b010a09302033202a"
        "202a202a1a002a8b010a180a086e696768746c793212001a0022002a00320038"
        "004200126f326d0a100a0012001a0022002a00320038004200125912320a086e"
        "696768746c7932120c62757379626f783a312e33361a04646174652a0042006a"
        "007200800100880100900100a201001a094f6e4661696c757265320042004a00"
        "52005800600068008201008a01009a0100c201001a001a002200",
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "nightly2"},
            "spec": {
                "schedule": "0 3 * * *",
                "jobTemplate": {
                    "metadata": {"name": "nightly2"},
                    "spec": {
                        "template": {
                            "metadata": {},
                            "spec": {
                                "containers": [
                                    {
                                        "name": "nightly2",
                                        "image": "busybox:1.36",
                                        "command": ["date"],
                                        "resources": {},
                                    }
                                ],
                                "restartPolicy": "OnFailure",
                            },
                        }
                    },
                },
            },
            "status": {},
        },
    ),
    "pdb": (
        "kubectl create poddisruptionbudget pdb --selector=app=web --min-available=50%",
        "6b3873000a200a09706f6c6963792f76311213506f6444697372757074696f6e"
        "427564676574123c0a130a0370646212001a0022002a0032003800420012190a"
        "09080110001a03353025120c0a0a0a0361707012037765621a0a080018002000"
        "280030001a002200",
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "pdb"},
            "spec": {
                "minAvailable": "50%",
                "selector": {"matchLabels": {"app": "web"}},
            },
            "status": {
                "disruptionsAllowed": 0,
                "currentHealthy": 0,
                "desiredHealthy": 0,
                "expectedPods": 0,
            },
        },
    ),
    "pdb_int": (
        "kubectl create poddisruptionbudget pdb2 --selector=app=web"
        " --max-unavailable=1",
        "6b3873000a200a09706f6c6963792f76311213506f6444697372757074696f6e"
        "427564676574123a0a140a047064623212001a0022002a003200380042001216"
        "120c0a0a0a0361707012037765621a06080010011a001a0a0800180020002800"
        "30001a002200",
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "pdb2"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "maxUnavailable": 1},
            "status": {
                "disruptionsAllowed": 0,
                "currentHealthy": 0,
                "desiredHealthy": 0,
                "expectedPods": 0,
            },
        },
    ),
    "quota": (
        "kubectl create quota q --hard=pods=10,cpu=2",
        "6b3873000a130a027631120d5265736f7572636551756f746112310a110a0171"
        "12001a0022002a00320038004200121a0a0a0a0363707512030a01320a0c0a04"
        "706f647312040a0231301a001a002200",
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "q"},
            "spec": {"hard": {"cpu": "2", "pods": "10"}},
            "status": {},
        },
    ),
    "token": (
        "kubectl create token robot --duration=10m --audience=api",
        "6b3873000a280a1861757468656e7469636174696f6e2e6b38732e696f2f7631"
        "120c546f6b656e5265717565737412220a100a0012001a0022002a0032003800"
        "420012080a0361706920d8041a040a0012001a002200",
        {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "metadata": {},
            "spec": {"audiences": ["api"], "expirationSeconds": 600},
            "status": {"token": "", "expirationTimestamp": None},
        },
    ),
    "autoscale_v2": (
        "kubectl autoscale deployment web --min=2 --max=5 --cpu=80%",
        "6b3873000a290a0e6175746f7363616c696e672f76321217486f72697a6f6e74"
        "616c506f644175746f7363616c657212610a130a0377656212001a0022002a00"
        "32003800420012440a1a0a0a4465706c6f796d656e7412037765621a07617070"
        "732f76311002180522220a085265736f7572636522160a03637075120f0a0b55"
        "74696c697a6174696f6e20501a04180020001a002200",
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"},
            "spec": {
                "scaleTargetRef": {
                    "kind": "Deployment",
                    "name": "web",
                    "apiVersion": "apps/v1",
                },
                "minReplicas": 2,
                "maxReplicas": 5,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 80},
                        },
                    }
                ],
            },
            "status": {"desiredReplicas": 0},
        },
    ),
    "cani": (
        "kubectl auth can-i create pods --namespace=team-a",
        "6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f763112"
        "1753656c665375626a656374416363657373526576696577123e0a100a001200"
        "1a0022002a0032003800420012200a1e0a067465616d2d611206637265617465"
        "1a0022002a04706f647332003a001a08080012001a0020001a002200",
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "metadata": {},
            "spec": {
                "resourceAttributes": {
                    "namespace": "team-a",
                    "verb": "create",
                    "resource": "pods",
                }
            },
            "status": {"allowed": False},
        },
    ),
    "cani_sub": (
        "kubectl auth can-i get pods/log",
        "6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f763112"
        "1753656c665375626a656374416363657373526576696577123f0a100a001200"
        "1a0022002a0032003800420012210a1f0a0764656661756c7412036765741a00"
        "22002a04706f647332003a036c6f671a08080012001a0020001a002200",
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "metadata": {},
            "spec": {
                "resourceAttributes": {
                    "namespace": "default",
                    "verb": "get",
                    "resource": "pods",
                    "name": "log",
                }
            },
            "status": {"allowed": False},
        },
    ),
    "priorityclass": (
        "kubectl create priorityclass high --value=1000 --description='for web' "
        "--preemption-policy=Never",
        "6b3873000a250a147363686564756c696e672e6b38732e696f2f7631120d5072696f72697479"
        "436c617373122b0a140a046869676812001a0022002a0032003800420010e80718002207666f"
        "72207765622a054e657665721a002200",
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": "high"},
            "value": 1000,
            "description": "for web",
            "preemptionPolicy": "Never",
        },
    ),
    # A zero value is on the wire and kept (the JSON field has no omitempty).
    "priorityclass_zero": (
        "kubectl create priorityclass zero --value=0",
        "6b3873000a250a147363686564756c696e672e6b38732e696f2f7631120d5072696f72697479"
        "436c61737312320a140a047a65726f12001a0022002a003200380042001000180022002a1450"
        "7265656d70744c6f7765725072696f726974791a002200",
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": "zero"},
            "value": 0,
            "preemptionPolicy": "PreemptLowerPriority",
        },
    ),
    "quota_scoped": (
        "kubectl create quota q --hard=pods=2,requests.cpu=1 --scopes=NotTerminating",
        "6b3873000a130a027631120d5265736f7572636551756f746112490a110a017112001a002200"
        "2a0032003800420012320a0b0a04706f647312030a01320a130a0c72657175657374732e6370"
        "7512030a0131120e4e6f745465726d696e6174696e671a001a002200",
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "q"},
            "spec": {
                "hard": {"pods": "2", "requests.cpu": "1"},
                "scopes": ["NotTerminating"],
            },
            "status": {},
        },
    ),
}


@pytest.mark.parametrize("name", sorted(CAPTURED))
def test_captured_body_decodes_to_kubectl_json(name: str) -> None:
    _command, hex_body, expected = CAPTURED[name]
    assert decode_request_body(bytes.fromhex(hex_body)) == expected


def test_every_listed_generator_is_covered() -> None:
    kinds = {(v[2]["apiVersion"], v[2]["kind"]) for v in CAPTURED.values()}
    assert kinds >= {
        ("v1", "Namespace"),
        ("v1", "Service"),
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("v1", "ServiceAccount"),
        ("apps/v1", "Deployment"),
        ("batch/v1", "Job"),
        ("batch/v1", "CronJob"),
        ("policy/v1", "PodDisruptionBudget"),
        ("networking.k8s.io/v1", "Ingress"),
        ("autoscaling/v2", "HorizontalPodAutoscaler"),
        ("authentication.k8s.io/v1", "TokenRequest"),
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview"),
        ("v1", "ResourceQuota"),
        ("scheduling.k8s.io/v1", "PriorityClass"),
    }


def test_explicit_zero_replicas_is_kept() -> None:
    body = decode_request_body(bytes.fromhex(CAPTURED["deployment_zero"][1]))
    assert body["spec"]["replicas"] == 0


def test_secret_bytes_are_base64_as_in_json() -> None:
    body = decode_request_body(bytes.fromhex(CAPTURED["secret_binary"][1]))
    assert body["data"] == {"x": "/w=="}  # the byte 0xff (argv stops at the NUL)


# -- a tiny encoder, only to build the hand-made cases below ------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _len(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _int(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = _len(1, api_version.encode()) + _len(2, kind.encode())
    return MAGIC + _len(1, type_meta) + _len(2, raw)


def test_autoscaling_v1_fallback_body() -> None:
    # kubectl falls back to autoscaling/v1 when v2 is not served.
    target = _len(1, b"Deployment") + _len(2, b"web") + _len(3, b"apps/v1")
    spec = _len(1, target) + _int(2, 2) + _int(3, 5) + _int(4, 80)
    raw = _len(1, _len(1, b"web")) + _len(2, spec) + _len(3, b"")
    assert decode_request_body(
        _envelope("autoscaling/v1", "HorizontalPodAutoscaler", raw)
    ) == {
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {
            "scaleTargetRef": {
                "kind": "Deployment",
                "name": "web",
                "apiVersion": "apps/v1",
            },
            "minReplicas": 2,
            "maxReplicas": 5,
            "targetCPUUtilizationPercentage": 80,
        },
        "status": {},
    }


def test_time_negative_ints_packed_repeated_and_inline() -> None:
    meta = _len(1, b"p") + _len(8, _int(1, 1700000000))
    probe = _len(
        1, _len(2, _len(2, _int(1, 1) + _len(3, b"http")) + _len(1, b"/healthz"))
    )
    container = _len(1, b"c") + _len(10, probe + _int(2, 0))
    groups = _varint(1) + _varint(2) + _varint(300)
    pod_security = _len(4, groups) + _int(2, (1 << 64) - 1)  # runAsUser -1
    env_from = _len(2, _len(1, _len(1, b"cm")) + _int(2, 0))
    container += _len(19, env_from)
    spec = _len(2, container) + _len(14, pod_security) + _int(21, 0)
    template = _len(1, meta) + _len(2, spec)
    raw = _len(2, _len(6, template))
    body = decode_request_body(_envelope("batch/v1", "Job", raw))
    pod = body["spec"]["template"]
    assert pod["metadata"] == {"name": "p", "creationTimestamp": "2023-11-14T22:13:20Z"}
    c = pod["spec"]["containers"][0]
    assert c["livenessProbe"] == {"httpGet": {"port": "http", "path": "/healthz"}}
    assert c["envFrom"] == [{"configMapRef": {"name": "cm", "optional": False}}]
    assert pod["spec"]["securityContext"] == {
        "supplementalGroups": [1, 2, 300],
        "runAsUser": -1,
    }
    assert pod["spec"]["automountServiceAccountToken"] is False


def test_unknown_field_numbers_are_skipped() -> None:
    raw = _len(1, _len(1, b"ns") + _len(99, b"future")) + _int(77, 5) + _len(2, b"")
    assert decode_request_body(_envelope("v1", "Namespace", raw)) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "ns"},
        "spec": {},
    }


def test_fixed_width_unknown_fields_are_skipped() -> None:
    raw = _varint(50 << 3 | 1) + bytes(8) + _varint(51 << 3 | 5) + bytes(4)
    assert decode_message("k8s.io.api.core.v1.Namespace", raw) == {}


MALFORMED = {
    "empty": b"",
    "wrong magic": b"k8x\x00" + _len(2, b""),
    "json": b'{"kind": "Namespace"}',
    "truncated varint": MAGIC + b"\x0a\x80",
    "truncated length": MAGIC + b"\x0a\x05ab",
    "varint too long": MAGIC + b"\x08" + b"\xff" * 11,
    "field number zero": MAGIC + b"\x00\x01",
    "group wire type": MAGIC + b"\x0b",
    "unknown kind": _envelope("v1", "Pod", b""),
    "no type meta": MAGIC + _len(2, b""),
    "wrong wire type for name": _envelope("v1", "Namespace", _len(1, _int(1, 7))),
    "wrong wire type for message": _envelope("v1", "Namespace", _int(1, 7)),
    "wrong wire type for int": _envelope(
        "apps/v1", "Deployment", _len(2, _len(1, b"x"))
    ),
    "bad utf8": _envelope("v1", "Namespace", _len(1, _len(1, b"\xff\xfe"))),
    "wrong wire type for map": _envelope("v1", "Namespace", _len(1, _int(11, 1))),
    "encoded raw": MAGIC + _len(3, b"gzip"),
    "envelope wire type": MAGIC + _int(2, 1),
    "time wire type": _envelope("v1", "Namespace", _len(1, _len(8, _len(1, b"x")))),
    "trailing key without value": _envelope("v1", "Namespace", b"") + b"\x0a",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_input_raises_value_error(name: str) -> None:
    with pytest.raises(ValueError):
        decode_request_body(MALFORMED[name])


def test_every_truncation_of_real_bodies_raises_only_value_error() -> None:
    for _command, hex_body, _expected in CAPTURED.values():
        body = bytes.fromhex(hex_body)
        for cut in range(len(body)):
            try:
                decode_request_body(body[:cut])
            except ValueError:
                pass


def test_flipped_bytes_raise_only_value_error() -> None:
    body = bytes.fromhex(CAPTURED["deployment"][1])
    for i in range(len(body)):
        for flip in (0x01, 0x80, 0xFF):
            mutated = body[:i] + bytes([body[i] ^ flip]) + body[i + 1 :]
            try:
                decode_request_body(mutated)
            except ValueError:
                pass


def test_table_lists_its_source_and_licence() -> None:
    data = table()
    assert "Apache License 2.0" in data["_source"]
    assert "k8s.io.api.core.v1.PodSpec" in data["messages"]


def test_iter_fields_reads_all_wire_types() -> None:
    raw = _int(1, 5) + _varint(2 << 3 | 1) + bytes(8) + _len(3, b"ab")
    raw += _varint(4 << 3 | 5) + b"\x01\x00\x00\x00"
    assert iter_fields(raw) == [(1, 0, 5), (2, 1, 0), (3, 2, b"ab"), (4, 5, 1)]
