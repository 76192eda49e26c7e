"""The sources of the course notebooks.  `python tools/lessons.py` rewrites notebooks/
and solutions/ from here; `python tools/make_exercises.py` derives exercises/.

Prose carries the lesson, one sentence per source line; code cells stay short and call
one helper each; every claim shown is also asserted, so CI catches a regression.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from nbbuild import code, exercise_cells, md, solution_cells, write  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

CONNECT = """
import kubecourse

cluster = kubecourse.connect()
print(cluster.summary())
"""

SETUP = [
    md("""
    # 00 · Setup and a tour

    You know docker-compose: images, containers, services, networks, ports, a reverse proxy.
    This course shows what those become on Kubernetes, on a live cluster, one claim at a time.

    **In this lesson you will**
    - connect to the course's cluster and see which one it is;
    - meet its Nodes, the machines Pods run on;
    - use `kubectl` beside the notebook, against the same cluster.
    """),
    md("""
    ## 1. Connect

    The first cell of every lesson connects and prints which cluster and which versions you are on.
    By default that is the course's *embedded* cluster: a Kubernetes API server and its controllers, running inside this Python environment, with no Docker needed.
    If you run kind or minikube, set `KUBECOURSE_CONTEXT` (for example `kind-kubecourse`) before starting JupyterLab, and the same lessons run there.
    """),
    code(CONNECT),
    md("""
    The line names the cluster, the Kubernetes version its API server reports, the official Python client the course uses, and the namespace your work goes into.
    Everything the notebooks do goes through that client, over HTTP, exactly as it would against any cluster.
    """),
    md("""
    ## 2. Meet the Nodes

    A Node is a machine (a VM, a server, or a container in kind) running a kubelet and a container runtime.
    Compose ran every container on one Docker host; a cluster has several Nodes and a scheduler that decides where each Pod runs.
    """),
    code("""
    nodes = cluster.nodes()
    nodes
    """),
    md("""
    One Node has the `control-plane` role: it runs the cluster's own components and carries a taint that keeps ordinary Pods off it.
    The others are workers, with no role.
    Each Node owns a slice of the Pod network (`pod_cidr`): every Pod on it gets an IP from that range.
    """),
    code("""
    workers = [n for n in nodes if "control-plane" not in n.roles]
    assert len(workers) >= 1 and len(nodes) > len(workers)
    assert all(n.status.startswith("Ready") for n in nodes), nodes
    """),
    md("""
    ## 3. kubectl beside the notebook

    Open a terminal (*File → New → Terminal*) and type `kubectl get nodes -o wide`.
    `make lab` already pointed `KUBECONFIG` at the course cluster; in another shell run `export KUBECONFIG=$(kubecourse kubeconfig)` first.
    The cell below runs the same command from the notebook, with the real `kubectl` binary.
    """),
    code("""
    print(cluster.kubectl("get", "nodes", "-o", "wide"))
    """),
    md("""
    The columns (`STATUS`, `ROLES`, `INTERNAL-IP`, …) are computed by the API server, not by kubectl: that is how every cluster answers `kubectl get`.
    kubectl also knows every kind of object the server serves:
    """),
    code("""
    print(cluster.kubectl("api-resources", "--api-group=apps"))
    """),
    md("""
    The cluster's own Pods live in the namespace `kube-system`: try `kubectl get pods -A` in a terminal.
    The control plane's components (etcd, the API server, the controller manager and the scheduler) run on the control-plane Node, CoreDNS answers the cluster's DNS names, and kindnet and kube-proxy run on every Node, as on kind.
    On the embedded cluster they are simulated like your own Pods; on kind they are real processes.

    ## Recap

    - `kubecourse.connect()` gives you a `cluster`; the first cell of each lesson shows which one.
    - A Node is a machine with a kubelet; the control-plane Node is tainted so your Pods go to the workers.
    - `kubectl` in a terminal and the notebook talk to the same API server.

    Next: **01 · Compose and Kubernetes side by side** — the shop, translated and running.
    """),
]

SIDE_BY_SIDE = [
    md("""
    # 01 · Compose and Kubernetes side by side

    **In this lesson you will**
    - translate the shop's compose file and read why each service became what it became;
    - run the result on the cluster and see where its Pods landed;
    - scale a web API with a slider and watch Pod IPs and Service endpoints follow.
    """),
    code(CONNECT),
    md("""
    ## 1. The shop, as you know it

    The course's application is a shop with ten compose services on two networks.
    A Traefik proxy routes `/api/account`, `/api/orders` and `/api/catalog` to three web APIs (with `/api` stripped) and `/` to a single-page web app.
    Three background workers must never run twice; a database and a message queue complete the backend.
    """),
    code("""
    shop = kubecourse.compose.load("../shop/compose.yaml")
    {name: service.image for name, service in shop.services.items()}
    """),
    md("""
    ## 2. Translate it

    `kubecourse.translate` reads the compose file like `docker compose` does and turns every service into Kubernetes objects.
    It explains each decision; nothing is dropped silently.
    """),
    code("""
    result = kubecourse.translate("../shop/compose.yaml")
    result
    """),
    md("""
    The summary below lists what each compose service became.
    Notice three things:
    a compose service becomes a **Deployment** plus a **Service**, not a Node;
    the workers become Deployments with `replicas: 1` and the **Recreate** strategy, so an update never runs two copies;
    and the proxy is not deployed at all: its routing rules became an **Ingress**, which the cluster's ingress controller serves.
    The report's warnings are about that Ingress: a plain Ingress has no standard way to strip `/api`, so lesson 06 uses a Gateway API route, which has one.
    """),
    code("""
    for service, objects in result.by_service.items():
        made = ", ".join(f"{o['kind']}/{o['metadata']['name']}" for o in objects)
        print(f"{service:15} -> {made or '(not deployed: the cluster ingress does its job)'}")
    """),
    code("""
    kinds = {o["metadata"]["name"]: o for o in result.objects if o["kind"] == "Deployment"}
    assert kinds["orders-worker"]["spec"]["strategy"]["type"] == "Recreate"
    assert kinds["orders-api"]["spec"]["strategy"]["type"] == "RollingUpdate"
    assert "proxy" not in kinds
    """),
    md("""
    ## 3. The picture

    Requests enter through the Ingress, reach a Service by name, and the Service spreads them over the Pods of a Deployment.
    """),
    code("""
    kubecourse.widgets.mermaid(result.mermaid())
    """),
    md("""
    ## 4. Run it

    `cluster.apply` sends every object to the API server (server-side apply, like `kubectl apply --server-side`).
    Controllers then do the work: Deployments create ReplicaSets, ReplicaSets create Pods, the scheduler places each Pod on a Node, and the kubelet there starts it.
    If you already made an object of the same name yourself (say with `kubectl expose`), apply leaves it alone and says which fields it would have changed: delete yours, or connect to another namespace with `kubecourse.connect(namespace=...)`.
    """),
    code("""
    for line in cluster.apply(result):
        print(line)
    """),
    code("""
    cluster.wait_workloads_ready(timeout=180)
    print(cluster.kubectl("get", "deployments,statefulsets"))
    """),
    md("""
    ## 5. Pods, Nodes and who decides

    Each Pod has its own IP, from the range of the Node it runs on.
    You did not choose those Nodes: the scheduler did, spreading Pods over the workers.
    Many Pods share a Node; that is normal.
    """),
    code("""
    pods = cluster.pods()
    pods
    """),
    code("""
    nodes_used = {p.node for p in pods}
    assert all(p.ip for p in pods) and len({p.ip for p in pods}) == len(pods)
    assert not any(n.endswith("control-plane") for n in nodes_used)
    assert len(nodes_used) < len(pods), "several Pods share a Node"
    """),
    md("""
    ## 6. Scale a web API with the slider

    Start `account-api` at one replica, then drag the slider.
    The left table shows the Deployment's Pods (name, IP, Node, status); the right one shows the addresses the `account-api` Service sends traffic to.
    New Pods appear as `Pending`, then `ContainerCreating`, then `Running`; only when they are Ready do their IPs join the endpoints.
    """),
    code("""
    cluster.scale("account-api", 1)
    view = kubecourse.widgets.scaler(cluster, "account-api")
    view
    """),
    md("""
    The next cell does what dragging the slider to 3 does, and waits until the view has settled.
    Run it, or drag the slider yourself and skip it.
    """),
    code("""
    view.scale_to(3)
    view.wait_until(lambda v: v.settled(3))
    ips = {p.ip for p in view.pods}
    assert len(ips) == 3, "every replica has its own IP"
    assert set(view.ready_addresses) == ips, "the Service sends traffic to exactly the ready Pods"
    """),
    md("""
    Now press **send 10 requests**.
    The shop's NetworkPolicies keep the backend private, as its compose network did: nothing from outside reaches `account-api` directly, not even the API server.
    So the button sends the requests the way a browser's travel: to the ingress controller, whose Ingress rule routes `/api/account` to the `account-api` Service, which spreads them over its ready Pods.
    The readout says which way they went and how many each Pod answered.
    The next cell does what the button does until every replica has answered (on kind the ingress controller may take a second to see new Pods).
    """),
    code("""
    cluster.wait_for(lambda: set(view.send_requests()) == {p.name for p in view.pods}, 30, "every replica to answer")
    print(view.answered.value)
    assert view.last.route.via == "ingress", "through the Ingress, as a browser's request"
    """),
    md("""
    You scaled a workload by its replicas, not by adding Nodes: three Pods, possibly on three Nodes, all behind one Service name, each answering its share of the requests.

    ## 7. Pods are mortal

    Delete one Pod.
    Its ReplicaSet notices that two are left where three are wanted and creates a replacement, with a new name and a new IP.
    The Service's endpoints follow, so clients that use the name `account-api` never notice.
    """),
    code("""
    victim = view.pods[0]
    cluster.delete("pod", victim.name)
    view.wait_until(lambda v: v.settled(3) and victim.name not in {p.name for p in v.pods})
    replacement = {p.ip for p in view.pods} - ips
    print(f"deleted {victim.name} ({victim.ip}); new Pod IP(s): {replacement}")
    assert victim.ip not in view.ready_addresses
    """),
    md("""
    ## 8. Back to one

    Scaling down removes Pods and their endpoints; the survivors keep their IPs.
    """),
    code("""
    view.scale_to(1)
    view.wait_until(lambda v: v.settled(1))
    """),
    md("""
    The slider above is still live: drag it again and watch.
    When you are done with it, `view.close()` stops its watches.
    """),
    md("""
    ## Recap

    - A compose service becomes a Deployment (plus a Service when it has ports), never a Node.
    - The scheduler places Pods on Nodes; many Pods share a Node.
    - You scale by replicas; each replica is a Pod with its own IP.
    - Pods are mortal and replaced with new names and IPs; a Service's endpoints follow the Ready Pods, so use the Service name.
    - Requests from outside come in through the ingress, as through compose's Traefik; the backend's NetworkPolicies keep everything else out.
    - Web APIs use `RollingUpdate` and may scale out; workers use `Recreate`, so an *update* never runs two of them.
      A deleted or evicted worker Pod is still replaced at once while the old one may be terminating, so for a hard "never twice" you need a StatefulSet: lesson 03 shows both.

    Practise it in **exercises/01-run-the-shop.ipynb**.
    """),
]

EXERCISE_01 = [
    md("""
    # Exercise 01 · Run the shop and scale an API

    Three tasks, each followed by a check that looks at the cluster and tells you what is right or missing.
    Write your code where it says `# your code here`, then run the check cell.
    The exercise works in its own namespace, `exercise-01`, so the lessons' objects do not count; in a terminal, add `-n exercise-01` to your kubectl commands.
    """),
    code("""
    import kubecourse

    cluster = kubecourse.connect(namespace="exercise-01")
    print(cluster.summary())
    """),
    code("""
    from kubecourse.checks import check
    """),
    md("""
    ## Task 1 · Run the shop

    Translate `../shop/compose.yaml` and apply the result to the cluster.
    *Hint:* lesson 01, sections 2 and 4.
    """),
    code("""
    ### BEGIN SOLUTION
    result = kubecourse.translate("../shop/compose.yaml")
    cluster.apply(result)
    ### END SOLUTION
    """),
    code("""
    check("shop-applied", cluster, wait=120)
    """, tags=["check"]),
    md("""
    ## Task 2 · Scale `orders-api` to three replicas

    Orders are piling up: run three `orders-api` Pods.
    Use `cluster.scale` or a slider from `kubecourse.widgets.scaler`.
    The check also verifies that the `orders-api` Service sends traffic to exactly those three Pods.
    """),
    code("""
    ### BEGIN SOLUTION
    cluster.scale("orders-api", 3)
    ### END SOLUTION
    """),
    code("""
    check("orders-api-scaled", cluster, replicas=3, wait=60)
    """, tags=["check"]),
    md("""
    ## Task 3 · Why the worker never runs twice

    Look at the `orders-worker` Deployment and set `answer` to the name of its update strategy.
    *Hint:* `cluster.get("Deployment", "orders-worker")["spec"]`.
    """),
    code("""
    ### BEGIN SOLUTION
    answer = cluster.get("Deployment", "orders-worker")["spec"]["strategy"]["type"]
    ### END SOLUTION
    """),
    code("""
    check("worker-strategy", cluster, answer=answer)
    """, tags=["check"]),
    md("""
    ## Done

    Put `orders-api` back to one replica when you have finished, so the next lesson starts from the same place:
    """),
    code("""
    cluster.scale("orders-api", 1)
    """),
]


def main() -> None:
    write(ROOT / "notebooks" / "00-setup.ipynb", SETUP)
    write(ROOT / "notebooks" / "01-compose-and-kubernetes.ipynb", SIDE_BY_SIDE)
    write(ROOT / "solutions" / "01-run-the-shop.ipynb", solution_cells(EXERCISE_01))
    write(ROOT / "exercises" / "01-run-the-shop.ipynb", exercise_cells(EXERCISE_01))


if __name__ == "__main__":
    main()
