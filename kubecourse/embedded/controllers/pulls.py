"""The kubelet's image manager, simulated: pulls that succeed or fail, with back-off.

Faithful (`pkg/kubelet/images/image_manager.go`): an image whose reference does not
parse is `InvalidImageName` (Warning InspectFailed `Failed to apply default image tag
...`, Warning Failed `Error: InvalidImageName`); `imagePullPolicy: Never` with the
image absent from the node is `ErrImageNeverPull` (Warning ErrImageNeverPull
`Container image "x" is not present with pull policy of Never`); IfNotPresent with the
image on the node is Normal Pulled `Container image "x" already present on machine`;
otherwise the image is pulled (Normal Pulling `Pulling image "x"`).  Whether a pull
succeeds is `registry.pull_error`.  A failed pull is Warning Failed `Failed to pull
image "x": <containerd's error>` and Warning Failed `Error: ErrImagePull`, the container
`waiting: ErrImagePull` with that error; then the kubelet backs off (10 s doubling to
5 minutes: `Timings.image_pull_backoff`, `image_pull_backoff_max`), the container
`waiting: ImagePullBackOff` (`Back-off pulling image "x"`) with Normal BackOff
`Back-off pulling image "x"` and Warning Failed `Error: ImagePullBackOff`; after the
back-off it pulls again.  The back-off belongs to the pod and the image: a changed image
(`kubectl set image`) is pulled at once.  Successful pulls add the image to the node.

Simplified: a pull takes `Timings.container_create_delay`; the kubelet's next sync
after a failed pull is taken to come halfway through the back-off, so ErrImagePull
shows for the first half and ImagePullBackOff for the second; events are not repeated
on every sync (their `count` grows with each attempt).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from kubecourse.embedded.controllers import registry
from kubecourse.embedded.controllers.base import Context, Obj

Event = tuple[str, str, str]  # reason, message, type
Waiting = tuple[str, str]  # reason, message
LOADED_IMAGES_ANNOTATION = "kubecourse.io/loaded-images"


@dataclass
class Pull:
    """One container's image as the image manager tracks it for one pod."""

    image: str
    attempt: float | None = None  # when the pull under way began
    failures: int = 0
    failed_at: float = 0.0
    error: str = ""
    backing_off: bool = False  # BackOff recorded for the current back-off
    done: bool = False
    refused: bool = False  # InvalidImageName / ErrImageNeverPull recorded


@dataclass
class Outcome:
    ready: bool = False
    waiting: Waiting | None = None
    wait: float | None = None
    events: list[Event] = field(default_factory=list)


@dataclass(frozen=True)
class PullTimings:
    duration: float  # how long a pull takes
    backoff: float
    backoff_max: float


def backoff(failures: int, timings: PullTimings) -> float:
    """The back-off after `failures` failed pulls (flowcontrol.Backoff: 10 s doubling)."""
    return min(timings.backoff * 2.0 ** max(failures - 1, 0), timings.backoff_max)


def advance(
    pull: Pull, policy: str, present: bool, now: float, timings: PullTimings
) -> Outcome:
    """Where the container's image stands at `now`, moving `pull` through any
    attempts due; `present` says whether the node has the image."""
    image = pull.image
    refusal = _refusal(image, policy, present)
    if refusal is not None:
        return _refused(pull, refusal)
    if pull.done or (present and policy != "Always" and pull.attempt is None):
        return _ready(pull)

    out = Outcome()
    while True:
        if pull.attempt is None and not pull.failures:
            pull.attempt = now
            out.events.append(_pulling(image))
        if pull.attempt is not None:
            end = pull.attempt + timings.duration
            if now < end:
                out.waiting = _pending(pull)
                out.wait = end - now
                return out
            if _finish(pull, end, out):
                out.ready = True
                return out
        retry = pull.failed_at + backoff(pull.failures, timings)
        if now < retry:
            return _backing_off(pull, now, retry, timings, out)
        pull.attempt = retry
        out.events.append(_pulling(image))


def _refusal(image: str, policy: str, present: bool) -> tuple[str, str, str] | None:
    """(waiting reason, event reason, message) when the kubelet will not pull."""
    try:
        registry.parse(image)
    except registry.InvalidReference as err:
        return "InvalidImageName", "InspectFailed", str(err)
    if policy == "Never" and not present:
        message = f'Container image "{image}" is not present with pull policy of Never'
        return "ErrImageNeverPull", "ErrImageNeverPull", message
    return None


def _refused(pull: Pull, refusal: tuple[str, str, str]) -> Outcome:
    reason, event, message = refusal
    out = Outcome(waiting=(reason, message))
    if not pull.refused:
        pull.refused = True
        out.events += [(event, message, "Warning"), _error(reason)]
    return out


def _ready(pull: Pull) -> Outcome:
    out = Outcome(ready=True)
    if not pull.done:
        pull.done = True
        message = f'Container image "{pull.image}" already present on machine'
        out.events.append(("Pulled", message, "Normal"))
    return out


def _finish(pull: Pull, end: float, out: Outcome) -> bool:
    """The pull under way ends: True when it succeeded."""
    assert pull.attempt is not None
    took = end - pull.attempt
    pull.attempt = None
    error = registry.pull_error(pull.image)
    if error is None:
        pull.done = True
        out.events.append(("Pulled", pulled_message(pull.image, took), "Normal"))
        return True
    pull.failures += 1
    pull.failed_at = end
    pull.error = error
    pull.backing_off = False
    out.events += [
        ("Failed", f'Failed to pull image "{pull.image}": {error}', "Warning"),
        _error("ErrImagePull"),
    ]
    return False


def _backing_off(
    pull: Pull, now: float, retry: float, timings: PullTimings, out: Outcome
) -> Outcome:
    """Between attempts: ErrImagePull until the next sync, then ImagePullBackOff."""
    resync = pull.failed_at + backoff(pull.failures, timings) / 2
    if now < resync:
        out.waiting = ("ErrImagePull", pull.error)
        out.wait = resync - now
        return out
    if not pull.backing_off:
        pull.backing_off = True
        message = f'Back-off pulling image "{pull.image}"'
        out.events += [("BackOff", message, "Normal"), _error("ImagePullBackOff")]
    out.waiting = ("ImagePullBackOff", f'Back-off pulling image "{pull.image}"')
    out.wait = retry - now
    return out


def _pending(pull: Pull) -> Waiting:
    """What the status shows while a pull is under way: the last verdict stays."""
    if pull.failures:
        return ("ImagePullBackOff", f'Back-off pulling image "{pull.image}"')
    return ("ContainerCreating", "")


def _pulling(image: str) -> Event:
    return ("Pulling", f'Pulling image "{image}"', "Normal")


def _error(reason: str) -> Event:
    return ("Failed", f"Error: {reason}", "Warning")


def pulled_message(image: str, took: float) -> str:
    """The kubelet's `Successfully pulled image` line, with a stable made-up size."""
    duration = _go_duration(took)
    size = 10_000_000 + int(hashlib.sha256(image.encode()).hexdigest()[:6], 16) * 4
    return (
        f'Successfully pulled image "{image}" in {duration} ({duration} including '
        f"waiting). Image size: {size} bytes."
    )


def _go_duration(seconds: float) -> str:
    """Go's Duration.String() truncated to milliseconds: `412ms`, `1.5s`, `2m3.1s`."""
    millis = int(seconds * 1000)
    if millis < 1000:
        return f"{millis}ms"
    minutes, rest = divmod(millis, 60_000)
    text = f"{rest / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    return f"{minutes}m{text}" if minutes else text


class ImageManager:
    """One cluster's image managers, node by node: what each node has, and the pulls."""

    def __init__(self, ctx: Context, event: Callable[[Obj, Event, str], None]) -> None:
        self.ctx = ctx
        self._event = event  # (pod, event, container name)
        self._pulled: dict[str, set[str]] = {}

    def ensure(self, pod: Obj, container: Obj, book: dict[str, Pull], now: float) -> Outcome:
        """The container's image at `now` (monotonic), its events recorded."""
        name, image = container["name"], str(container.get("image") or "")
        pull = book.get(name)
        if pull is None or pull.image != image:
            pull = book[name] = Pull(image=image)
        node = pod["spec"]["nodeName"]
        policy = str(container.get("imagePullPolicy") or "IfNotPresent")
        out = advance(pull, policy, present(image, self.images(node)), now, self._timings())
        for event in out.events:
            self._event(pod, event, name)
        if out.ready:
            self._pulled.setdefault(node, set()).add(registry.normalised(image))
        return out

    def images(self, node_name: str) -> set[str]:
        """The images the node has: those it pulled and those loaded into it."""
        node = self.ctx.store.get("nodes", "", node_name) or {}
        annotations = (node.get("metadata") or {}).get("annotations") or {}
        listed = registry.loaded_images(annotations.get(LOADED_IMAGES_ANNOTATION))
        return self._pulled.get(node_name, set()) | listed

    def _timings(self) -> PullTimings:
        timings = self.ctx.timings
        return PullTimings(
            timings.container_create_delay,
            timings.image_pull_backoff,
            timings.image_pull_backoff_max,
        )


def present(image: str, node_images: set[str]) -> bool:
    """Whether the node has the image: pulled before, loaded, or part of kind's node."""
    if registry.normalised(image) in node_images:
        return True
    try:
        ref = registry.parse(image)
    except registry.InvalidReference:
        return False
    return ref.path in PRELOADED.get(ref.domain, ())


# kind's node image ships these (the control plane, CNI, storage and pause images), so
# a kind node never pulls them: any tag counts as present.
PRELOADED: dict[str, frozenset[str]] = {
    "registry.k8s.io": frozenset(
        {
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
            "kube-proxy",
            "coredns/coredns",
            "pause",
        }
    ),
    "docker.io": frozenset(
        {
            "kindest/kindnetd",
            "kindest/local-path-provisioner",
            "kindest/local-path-helper",
        }
    ),
}
