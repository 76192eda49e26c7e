"""Pods in protobuf, as kubectl 1.37 sends them for `kubectl debug`.

The bodies were captured on loopback from the real kubectl 1.37 (`kubectl debug
node/kubecourse-worker --image=busybox:1.36` and `kubectl debug web --copy-to=...`
against the embedded cluster); the expected dicts are the JSON of the same Pods.
"""

from __future__ import annotations

from kubecourse.embedded.protobuf import decode_message, decode_request_body

NODE_DEBUG = (
    "6b3873000a090a0276311203506f6412a1020a640a256e6f64652d64656275676765722d6b756265"
    "636f757273652d776f726b65722d786777777a12001a0022002a003200380042005a2d0a1c617070"
    "2e6b756265726e657465732e696f2f6d616e616765642d6279120d6b75626563746c2d6465627567"
    "12a3010a120a09686f73742d726f6f7412050a030a012f124a0a086465627567676572120c627573"
    "79626f783a312e33362a0042004a180a09686f73742d726f6f7410001a052f686f73742200320"
    "06a007200800100880100900100a2010446696c651a054e65766572320042004a0052116b756265"
    "636f757273652d776f726b65725801600168018201008a01009a0100b2010e0a0012064578697374"
    "731a002200c201001a130a001a0022002a0032004a005a0072008801001a002200"
)


def test_a_node_debugging_pod_decodes_to_its_json() -> None:
    body = decode_request_body(bytes.fromhex(NODE_DEBUG))

    assert body == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "node-debugger-kubecourse-worker-xgwwz",
            "labels": {"app.kubernetes.io/managed-by": "kubectl-debug"},
        },
        "spec": {
            "volumes": [{"name": "host-root", "hostPath": {"path": "/"}}],
            "containers": [
                {
                    "name": "debugger",
                    "image": "busybox:1.36",
                    "resources": {},
                    "volumeMounts": [{"name": "host-root", "mountPath": "/host"}],
                    "terminationMessagePolicy": "File",
                }
            ],
            "restartPolicy": "Never",
            "nodeName": "kubecourse-worker",
            "hostNetwork": True,
            "hostPID": True,
            "hostIPC": True,
            "tolerations": [{"operator": "Exists"}],
        },
        # An empty PodStatus is on the wire; the API server discards it on create.
        "status": {},
    }


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (payloads here are under 128 bytes)."""
    return bytes([number << 3 | 2, len(payload)]) + payload


def test_an_ephemeral_container_is_inlined_with_its_target() -> None:
    stdin = bytes([0x80, 0x01, 0x01])  # field 16 (key 128 as a varint), true
    common = _field(1, b"debugger-abcde") + _field(2, b"busybox") + stdin
    raw = _field(1, common) + _field(2, b"web")

    decoded = decode_message("k8s.io.api.core.v1.EphemeralContainer", raw)

    assert decoded == {
        "name": "debugger-abcde",
        "image": "busybox",
        "stdin": True,
        "targetContainerName": "web",
    }
