"""The Kubernetes REST API over HTTP (aiohttp), in front of `Api`.

Routing follows the real URL layout (`/api/v1/namespaces/{ns}/pods/{name}/status`,
`/apis/{group}/{version}/...`), content negotiation follows what kubectl and the
official client send (Tables for `kubectl get`, JSON everywhere else, YAML bodies, the
four patch content types), and every failure is a `Status` body.  Every request but
the public health and version endpoints is authenticated (the admin's bearer token or
a service-account token), may impersonate, and is authorized by RBAC (rbac/).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from kubecourse.embedded import (
    deprecation,
    discovery,
    health,
    listing,
    negotiation,
    openapi,
    openapi_v2,
    podlogs,
    queryparams,
    reviews,
    status,
)
from kubecourse.embedded.api import Api, WatchStream, WriteOptions
from kubecourse.embedded.auth import Authenticator, UserInfo
from kubecourse.embedded.connections import peer_gone
from kubecourse.embedded.protobuf import CONTENT_TYPE as PROTOBUF
from kubecourse.embedded.protobuf import decode_request_body
from kubecourse.embedded.rbac import context as rbac_context
from kubecourse.embedded.rbac.authorizer import Authorizer
from kubecourse.embedded.rbac.filters import RequestFilter
from kubecourse.embedded.resources import CONNECT_SUBRESOURCES, Registry, ResourceType
from kubecourse.embedded.streams import StreamServer
from kubecourse.embedded.tables import build_table

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC_PATHS = ("/version", "/healthz", "/livez", "/readyz")
PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
}
BOOKMARK_INTERVAL = 30.0
PEER_CHECK_INTERVAL = 1.0  # how often an idle watch looks whether its client is still there
# The negotiated answer type of a resource request (a typed key where aiohttp has them).
MEDIA: Any = web.RequestKey("media", str) if hasattr(web, "RequestKey") else "media"
LOG_FOLLOW_INTERVAL = 0.2  # how often a followed log looks for new lines
FRESHNESS_POLL = 0.02  # how often a request for a future resourceVersion looks again


@dataclass
class Target:
    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


# The server behind an aggregated APIService (metrics-server for metrics.k8s.io): it
# answers every request of its group itself.
AggregatedHandler = Callable[[web.Request, Target], Awaitable[web.StreamResponse]]


# Go's json.Encoder, which kube-apiserver encodes with, writes UTF-8 as it is but escapes
# these characters inside strings, and ends each value with a newline.
_GO_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def dumps(obj: Any) -> bytes:
    """`obj` as kube-apiserver's JSON serializer writes it."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in _GO_ESCAPES:
        if char in text:
            text = text.replace(char, escaped)
    try:
        return (text + "\n").encode()
    except UnicodeEncodeError:  # a lone surrogate from a "\ud800" escape: keep it escaped
        return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


def json_response(obj: Any, code: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # A bytes body, so that the Content-Type is `application/json` without a charset.
    return web.Response(
        body=dumps(obj), status=code, content_type="application/json", headers=headers
    )


def status_response(err: status.StatusError) -> web.Response:
    # Upstream sends any retryAfterSeconds as Retry-After too; here only a Timeout's
    # (a too-large resourceVersion), which client-go then retries: the eviction API's
    # 429s keep their older answer without the header.
    retry = (err.details or {}).get("retryAfterSeconds")
    headers = {"Retry-After": str(retry)} if retry and err.code == 504 else None
    return json_response(err.body(), err.code, headers)


class ApiHttp:
    """Builds the aiohttp application for one cluster."""

    def __init__(
        self,
        api: Api,
        registry: Registry,
        token: str,
        logs: podlogs.LogSource | None = None,
        on_eviction: Callable[[Target, Obj], Obj] | None = None,
        authn: Authenticator | None = None,
        aggregated: dict[str, AggregatedHandler] | None = None,
        streams: StreamServer | None = None,
    ) -> None:
        self.api = api
        self.registry = registry
        self.token = token
        self.authn = authn or Authenticator(token, api.store)
        self.authz = Authorizer(api.store)
        self.filter = RequestFilter(self.authn, self.authz)
        self.reviews = reviews.Reviews(self.authn, self.authz)
        self.logs = logs
        self.on_eviction = on_eviction
        self.aggregated = dict(aggregated or {})
        self.streams = streams  # exec, attach, portforward (WebSocket)
        self.server_address = "127.0.0.1:0"
        # API Priority and Fairness names the FlowSchema and PriorityLevelConfiguration
        # that admitted each request; one of each serves every request here.
        self.flow_schema_uid = str(uuid.uuid4())
        self.priority_level_uid = str(uuid.uuid4())

    def app(self) -> web.Application:
        app = web.Application(
            middlewares=[self._errors, self._auth], client_max_size=negotiation.MAX_BODY_BYTES
        )
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        app.on_response_prepare.append(self._add_deprecation_warning)
        app.on_response_prepare.append(self._add_standard_headers)
        return app

    # -- middlewares -------------------------------------------------------------------

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return _as_negotiated(request, await handler(request))
        except status.StatusError as err:
            return _as_negotiated(request, status_response(err))
        except web.HTTPException:
            raise
        except Exception:  # a bug of ours must still answer as an API server would
            log.exception("internal error serving %s %s", request.method, request.path)
            return status_response(
                status.StatusError(500, "InternalError", "an error on the server has prevented the request from succeeding")
            )

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in PUBLIC_PATHS:
            return await handler(request)
        # Authentication, impersonation, then RBAC authorization (rbac/filters.py);
        # the registry's escalation checks read the user from the request context.
        headers = list(request.headers.items())
        user, attrs = self.filter.admit(request.method, request.path, request.query, headers)
        with rbac_context.serving(user, attrs):
            return await handler(request)

    async def _add_standard_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        """The headers kube-apiserver's filters add to every answer: an audit id, no
        caching, the APF flow schema and priority level (once authenticated); and no
        `Server` header."""
        response.headers.popall("Server", None)
        response.headers.setdefault("Audit-Id", str(uuid.uuid4()))
        response.headers.setdefault("Cache-Control", "no-cache, private")
        if response.status != 401:
            response.headers.setdefault("X-Kubernetes-Pf-Flowschema-Uid", self.flow_schema_uid)
            response.headers.setdefault("X-Kubernetes-Pf-Prioritylevel-Uid", self.priority_level_uid)

    def _user(self, request: web.Request) -> UserInfo:
        """Who the request being served runs as (set by `_auth`)."""
        serving = rbac_context.current()
        if serving is None:
            raise status.unauthorized()
        return serving.user

    async def _add_deprecation_warning(self, request: web.Request, response: web.StreamResponse) -> None:
        """Every answer on a deprecated kind's routes, errors and watches included, carries
        the deprecation warning first, as kube-apiserver's route wrapper adds it first."""
        parts = [p for p in request.path.split("/") if p]
        if request.path in PUBLIC_PATHS or parts[:1] not in (["api"], ["apis"]):
            return
        try:
            message = deprecation.warning_for(self._target(parts).rt)
        except status.StatusError:
            return  # not a resource route
        if message is None or response.status in (401, 403):
            return
        others = response.headers.getall("Warning", [])
        response.headers.popall("Warning", None)
        response.headers.add("Warning", f"299 - {json.dumps(message)}")
        for other in others:
            response.headers.add("Warning", other)

    # -- routing -----------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        parts = [p for p in path.split("/") if p]
        if health.is_health_path(parts):
            return health.answer(request, parts)
        if path == "/version":
            return health.version()
        if parts and parts[0] == "openapi":
            return self._openapi(request, parts)
        if path in ("/api", "/apis") or (parts[:1] == ["api"] and len(parts) == 2) or (
            parts[:1] == ["apis"] and len(parts) <= 3
        ):
            return self._discovery(request, parts)
        target = self._target(parts)
        return await self._serve(request, target)

    def _discovery(self, request: web.Request, parts: list[str]) -> web.Response:
        accept = request.headers.get("Accept", "")
        if request.method != "GET":
            raise status.method_not_allowed()
        if len(parts) == 1:
            if "as=APIGroupDiscoveryList" in accept and "g=apidiscovery.k8s.io" in accept:
                body = discovery.aggregated_discovery(self.registry, parts[0] == "api")
                ctype = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
                return web.Response(body=dumps(body), headers={"Content-Type": ctype})
            if parts[0] == "api":
                return json_response(discovery.api_versions(self.server_address))
            return json_response(discovery.api_group_list(self.registry))
        group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2] if len(parts) > 2 else "")
        if not self.registry.in_group_version(group, version):
            raise status.path_not_found()
        return json_response(discovery.api_resource_list(self.registry, group, version))

    def _openapi(self, request: web.Request, parts: list[str]) -> web.Response:
        if parts[1:] == ["v2"]:
            return self._openapi_v2(request)
        if parts[1:2] != ["v3"]:
            raise status.path_not_found()
        if len(parts) == 2:
            return json_response(openapi.openapi_v3_root(self.registry))
        rest = parts[2:]
        group, version = ("", rest[1]) if rest[0] == "api" and len(rest) == 2 else (
            (rest[1], rest[2]) if rest[0] == "apis" and len(rest) == 3 else ("", "")
        )
        if not version or not self.registry.in_group_version(group, version):
            raise status.path_not_found()
        body = openapi.openapi_v3_document_bytes(self.registry, group, version)  # serialised once
        return web.Response(body=body, content_type="application/json")

    def _openapi_v2(self, request: web.Request) -> web.Response:
        """One Swagger 2.0 document, JSON or gnostic protobuf, built on first use."""
        if request.method not in ("GET", "HEAD"):
            raise status.method_not_allowed()
        media = openapi_v2.negotiate(request.headers.get("Accept", ""))
        if media is None:
            raise status.StatusError(406, "NotAcceptable", "only the following media types are accepted: "
                                     f"{openapi_v2.JSON}, {openapi_v2.PROTOBUF}", {})
        served = openapi_v2.served(self.registry)
        headers = {"ETag": served.etags[media], "Cache-Control": "no-cache, private", "Vary": "Accept"}
        if request.headers.get("If-None-Match") == served.etags[media]:
            return web.Response(status=304, headers=headers)
        ctype = openapi_v2.PROTOBUF_REPLY if media == openapi_v2.PROTOBUF else media
        return web.Response(body=served.body(media), headers={**headers, "Content-Type": ctype})

    def _target(self, parts: list[str]) -> Target:
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise status.path_not_found()
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
            namespace, rest = rest[1], rest[2:]
        proxied = len(rest) > 3 and rest[2] == "proxy"  # .../pods/web/proxy/<any path>
        if not rest or (len(rest) > 3 and not proxied):
            raise status.path_not_found()
        rt = self.registry.by_path(group, version, rest[0])
        if rt is None or (namespace is not None and not rt.namespaced):
            raise status.path_not_found()
        name = rest[1] if len(rest) > 1 else None
        queryparams.check_name(name)
        sub = rest[2] if len(rest) > 2 else None
        if sub is not None and sub not in rt.subresources:
            raise status.path_not_found()
        return Target(rt, namespace, name, sub)

    async def _serve(self, request: web.Request, t: Target) -> web.StreamResponse:
        aggregated = self.aggregated.get(t.rt.group)
        if aggregated is not None:
            return await aggregated(request, t)
        if t.subresource not in CONNECT_SUBRESOURCES and t.subresource != "log":
            request[MEDIA] = negotiation.negotiate_output(request.headers.get("Accept"))
        method = request.method
        if (t.rt.group, t.rt.plural) in reviews.REVIEWS:
            if method != "POST" or t.name is not None:
                raise status.method_not_allowed()
            body = await self._body(request, t.rt.kind)
            answer = self.reviews.answer(t.rt.group, t.rt.plural, self._user(request), t.namespace, body)
            return json_response(answer, 201)
        _check_verb(t, method, _truthy(request.query.get("watch")))
        if t.name is None:
            if method == "GET":
                if _truthy(request.query.get("watch")):
                    return await self._watch(request, t)
                return await self._list(request, t)
            if method == "POST":
                return await self._create(request, t)
            if method == "DELETE" and "deletecollection" in t.rt.verbs:
                return await self._delete_collection(request, t)
            raise status.method_not_allowed()
        if t.subresource in CONNECT_SUBRESOURCES and self.streams is not None:
            return await self.streams.serve(
                request, t.namespace or "", t.name, t.subresource
            )
        handler = {
            "GET": self._get,
            "PUT": self._put,
            "PATCH": self._patch,
            "DELETE": self._delete,
            "POST": self._post_subresource,
        }.get(method)
        if handler is None:
            raise status.method_not_allowed()
        return await handler(request, t)

    # -- reads -------------------------------------------------------------------------

    async def _list(self, request: web.Request, t: Target) -> web.Response:
        q = request.query
        limit = queryparams.int_param(q.get("limit"))
        queryparams.int_param(q.get("timeoutSeconds"))
        _check_list_options(q, watch=False)
        queryparams.resource_version(q.get("resourceVersion"))
        if not q.get("continue"):
            await self._until_fresh(q.get("resourceVersion"))
        page = self.api.list(
            t.rt,
            t.namespace,
            label_selector=q.get("labelSelector"),
            field_selector=q.get("fieldSelector"),
            limit=limit,
            continue_token=q.get("continue"),
            resource_version=q.get("resourceVersion"),
            resource_version_match=q.get("resourceVersionMatch"),
        )
        if _wants_table(request):
            table = self._table(request, t.rt, page.items, page.resource_version)
            table.setdefault("metadata", {}).update(page.list_meta())
            return json_response(table)
        body = {
            "kind": t.rt.list_kind,
            "apiVersion": t.rt.api_version,
            "metadata": page.list_meta(),
            "items": _bare(page.items),
        }
        return json_response(body)

    async def _until_fresh(self, resource_version: str | None) -> None:
        """The watch cache's `waitUntilFreshAndBlock`: a request naming a revision the
        store has not reached waits (at most `FRESHNESS_WAIT` s) before it is served
        or refused as too large."""
        wanted = listing.wanted_revision(resource_version)
        if wanted is None or wanted <= self.api.store.rv:
            return
        deadline = time.monotonic() + listing.FRESHNESS_WAIT
        while self.api.store.rv < wanted and time.monotonic() < deadline:
            await asyncio.sleep(FRESHNESS_POLL)

    def _table(self, request: web.Request, rt: ResourceType, items: list[Obj], rv: str, headers: bool = True) -> Obj:
        include = request.query.get("includeObject", "Metadata")
        return build_table(rt, items, include_object=include, resource_version=rv, include_headers=headers)

    async def _get(self, request: web.Request, t: Target) -> web.StreamResponse:
        assert t.name is not None
        if t.subresource == "scale":
            scale = self.api.get_scale(t.rt, t.namespace, t.name)
            if _wants_table(request):
                scale_rt = dataclasses.replace(t.rt, group="autoscaling", version="v1", kind="Scale")
                rv = scale["metadata"].get("resourceVersion", "")
                return json_response(self._table(request, scale_rt, [scale], rv))
            return json_response(scale)
        if t.subresource == "log":
            return await self._log(request, t)
        if t.subresource not in (None, "status", "ephemeralcontainers"):
            raise status.method_not_allowed()
        await self._until_fresh(request.query.get("resourceVersion"))
        wanted = listing.wanted_revision(request.query.get("resourceVersion"))
        if wanted is not None:  # a GET at a revision is served not older than it
            listing.check_not_too_large(self.api.store, wanted)
        obj = self.api.get(t.rt, t.namespace, t.name)
        if _wants_table(request):
            rv = obj["metadata"].get("resourceVersion", "")  # computed kinds have none
            return json_response(self._table(request, t.rt, [obj], rv))
        return json_response(obj)

    async def _log(self, request: web.Request, t: Target) -> web.StreamResponse:
        assert t.name is not None
        options = podlogs.parse_options(request.query, t.name)
        pod = self.api.get(t.rt, t.namespace, t.name)
        container = podlogs.choose_container(pod, options.container)
        podlogs.check_readable(pod, container, options.previous)

        entries = self._log_entries(pod, container, options.previous)
        data = podlogs.render(podlogs.select(entries, options), options.timestamps)
        if not options.follow:
            body = podlogs.limit(data, options.limit_bytes)
            return web.Response(body=body, content_type="text/plain")
        return await self._follow_log(request, pod, container, options, (len(entries), data))

    def _log_entries(
        self, pod: Obj, container: str, previous: bool = False
    ) -> list[podlogs.Entry]:
        meta = pod["metadata"]
        if self.logs is None:
            return []
        return self.logs(meta["namespace"], meta["name"], container, previous)

    async def _follow_log(
        self,
        request: web.Request,
        pod: Obj,
        container: str,
        options: podlogs.LogOptions,
        first: tuple[int, bytes],
    ) -> web.StreamResponse:
        """`kubectl logs -f`: what is there, then each new line, until the container ends."""
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        sent, data = first
        budget = options.limit_bytes
        meta = pod["metadata"]
        try:
            while True:
                chunk = podlogs.limit(data, budget)
                if chunk:
                    await response.write(chunk)
                if budget is not None:
                    budget -= len(chunk)
                    if budget <= 0:
                        break
                current = self.api.store.get("pods", meta["namespace"], meta["name"])
                if current is None or current["metadata"].get("uid") != meta["uid"]:
                    break  # the pod is gone (or replaced by one of the same name)
                ended = options.previous or podlogs.has_ended(current, container)
                entries = self._log_entries(pod, container, options.previous)
                data = podlogs.render(entries[sent:], options.timestamps)
                sent = max(sent, len(entries))
                if ended and not data:
                    break
                if not data:
                    await asyncio.sleep(LOG_FOLLOW_INTERVAL)
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return response

    async def _watch(self, request: web.Request, t: Target) -> web.StreamResponse:
        q = request.query
        timeout = queryparams.int_param(q.get("timeoutSeconds"))
        queryparams.int_param(q.get("limit"))
        _check_list_options(q, watch=True)
        bookmarks = _truthy(q.get("allowWatchBookmarks"))
        table = _wants_table(request)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        initial_events = _truthy(q.get("sendInitialEvents"))
        if initial_events:  # only a WatchList waits for its revision (then fails)
            await self._until_fresh(q.get("resourceVersion"))
        try:
            stream = self.api.watch(
                t.rt,
                t.namespace,
                resource_version=q.get("resourceVersion"),
                label_selector=q.get("labelSelector"),
                field_selector=q.get("fieldSelector"),
                send_initial_events=initial_events,
            )
        except status.StatusError as err:
            if err.code not in (410, 504):
                raise
            await response.prepare(request)  # upstream sends these as an ERROR event
            await self._send(response, {"type": "ERROR", "object": err.body()})
            return response
        await response.prepare(request)
        try:
            await self._pump(request, response, t, stream, timeout, bookmarks, table)
        except (ConnectionError, asyncio.CancelledError):
            pass  # the client left: the watch ends quietly
        finally:
            stream.close()
        return response

    async def _pump(
        self,
        request: web.Request,
        response: web.StreamResponse,
        t: Target,
        stream: WatchStream,
        timeout: int | None,
        bookmarks: bool,
        table: bool,
    ) -> None:
        deadline = time.monotonic() + timeout if timeout else None
        last_bookmark = time.monotonic()
        first = True
        while not peer_gone(request):
            # Wake at least every PEER_CHECK_INTERVAL: a client that left a quiet watch
            # releases its watcher then, not at the next event.
            wait = BOOKMARK_INTERVAL if bookmarks else PEER_CHECK_INTERVAL
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    return
            event = await stream.next(min(wait, PEER_CHECK_INTERVAL))
            if event is WatchStream.CLOSED:
                return
            if event is None:
                if bookmarks and time.monotonic() - last_bookmark >= BOOKMARK_INTERVAL:
                    await self._send(response, _bookmark(t.rt, self.api.store.rv))
                    last_bookmark = time.monotonic()
                continue
            await self._send_event(request, response, t, event, table, first)
            first = False
            await asyncio.sleep(0)  # let a lost connection be noticed before the next write

    async def _send_event(
        self,
        request: web.Request,
        response: web.StreamResponse,
        t: Target,
        event: tuple[str, Obj],
        table: bool,
        headers: bool,
    ) -> None:
        kind, obj = event
        if table and kind != "BOOKMARK":
            rv = obj["metadata"].get("resourceVersion", "")
            obj = self._table(request, t.rt, [obj], rv, headers)
        await self._send(response, {"type": kind, "object": obj})

    async def _send(self, response: web.StreamResponse, event: Obj) -> None:
        await response.write(dumps(event))

    # -- writes ------------------------------------------------------------------------

    async def _raw_body(self, request: web.Request) -> bytes:
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge as err:
            raise negotiation.too_large() from err

    async def _body(self, request: web.Request, kind: str, *, custom: bool = False) -> Any:
        """A create / update body: its media type (none means JSON), then decoded into
        the kind, refused in the decoder's words (negotiation.py)."""
        ctype = negotiation.media_type(request.headers.get("Content-Type")) or negotiation.JSON
        accepted = negotiation.CUSTOM_BODY_TYPES if custom else negotiation.BODY_TYPES
        if ctype not in accepted:
            raise negotiation.unsupported_media_type(accepted)
        raw = await self._raw_body(request)
        if ctype == PROTOBUF:
            try:
                return decode_request_body(raw)
            except ValueError as err:
                raise status.bad_request(f"the request body could not be decoded: {err}") from err
        return negotiation.decode_object(raw, ctype, kind)

    def _options(self, request: web.Request, kind: str, patch_type: str | None = None) -> WriteOptions:
        """The write's query options, checked as `Validate{Create,Update,Patch}Options`."""
        q = request.query
        dry_run = q.getall("dryRun", [])
        validation = q.get("fieldValidation", "")
        manager = q.get("fieldManager", "")
        causes = []
        if patch_type == "apply" and not manager:
            causes.append(status.cause("fieldManager", "Required value: is required for apply patch", "FieldValueRequired"))
        if patch_type not in (None, "apply") and "force" in q:
            causes.append(status.cause("force", "Forbidden: may not be specified for non-apply patch", "FieldValueForbidden"))
        causes += negotiation.write_option_causes(manager, dry_run, validation)
        if causes:
            raise negotiation.options_invalid(kind, causes)
        agent = request.headers.get("User-Agent", "")
        return WriteOptions(
            dry_run=bool(dry_run),
            field_manager=manager or None,
            field_validation=validation or "Warn",
            default_manager=agent.split("/", 1)[0][:128] or None,
        )

    async def _create(self, request: web.Request, t: Target) -> web.Response:
        body = await self._body(request, t.rt.kind, custom=t.rt.custom)
        options = self._options(request, "CreateOptions")
        obj = self.api.create(t.rt, t.namespace, body, options)
        return json_response(obj, 201, _warning_headers(options))

    async def _put(self, request: web.Request, t: Target) -> web.Response:
        assert t.name is not None
        kind = "Scale" if t.subresource == "scale" else t.rt.kind
        body = await self._body(request, kind, custom=t.rt.custom)
        options = self._options(request, "UpdateOptions")
        if t.subresource == "scale":
            return json_response(self.api.update_scale(t.rt, t.namespace, t.name, body, options))
        if t.subresource not in (None, "status", "ephemeralcontainers"):
            raise status.method_not_allowed()
        obj = self.api.update(t.rt, t.namespace, t.name, body, options, subresource=t.subresource)
        return json_response(obj, 200, _warning_headers(options))

    async def _patch(self, request: web.Request, t: Target) -> web.Response:
        assert t.name is not None
        ctype = negotiation.media_type(request.headers.get("Content-Type"))
        accepted = negotiation.CUSTOM_PATCH_TYPES if t.rt.custom else negotiation.PATCH_TYPES
        if ctype not in accepted:
            raise negotiation.unsupported_media_type(accepted)
        patch_type = PATCH_TYPES[ctype]
        if t.subresource not in (None, "status", "scale", "ephemeralcontainers"):
            raise status.method_not_allowed()
        options = self._options(request, "PatchOptions", patch_type)
        body = negotiation.decode_patch(await self._raw_body(request), patch_type)
        existed = self.api.store.get(t.rt.key, t.namespace or "", t.name) is not None
        obj = self.api.patch(
            t.rt,
            t.namespace,
            t.name,
            patch_type,
            body,
            options,
            subresource=t.subresource,
            force=_truthy(request.query.get("force")),
        )
        code = 200 if existed or patch_type != "apply" else 201
        return json_response(obj, code, _warning_headers(options))

    async def _delete(self, request: web.Request, t: Target) -> web.Response:
        assert t.name is not None
        if t.subresource is not None:
            raise status.method_not_allowed()
        opts = await self._delete_options(request)
        warnings: list[str] = []
        result = self.api.delete(
            t.rt,
            t.namespace,
            t.name,
            grace_period_seconds=opts.get("gracePeriodSeconds"),
            propagation_policy=opts.get("propagationPolicy"),
            preconditions=opts.get("preconditions"),
            dry_run=bool(opts.get("dryRun")),
            orphan_dependents=opts.get("orphanDependents"),
            warnings=warnings,
        )
        return json_response(result, 200, _warning_headers(WriteOptions(warnings=warnings)))

    async def _delete_options(self, request: web.Request) -> Obj:
        raw = await self._raw_body(request)
        body = await self._body(request, "DeleteOptions") if raw.strip() else {}
        if not isinstance(body, dict):
            raise status.bad_request("DeleteOptions must be an object")
        q = request.query
        if "gracePeriodSeconds" in q:
            body["gracePeriodSeconds"] = queryparams.int_param(q["gracePeriodSeconds"])
        if "propagationPolicy" in q:
            body["propagationPolicy"] = q["propagationPolicy"]
        if "orphanDependents" in q:
            body["orphanDependents"] = _truthy(q["orphanDependents"])
        if q.get("dryRun"):
            body["dryRun"] = [q["dryRun"]]
        return body

    async def _delete_collection(self, request: web.Request, t: Target) -> web.Response:
        opts = await self._delete_options(request)
        items = self.api.list(
            t.rt,
            t.namespace,
            label_selector=request.query.get("labelSelector"),
            field_selector=request.query.get("fieldSelector"),
        ).items
        deleted = []
        warnings: list[str] = []
        for obj in list(items):
            meta = obj["metadata"]
            result = self.api.delete(
                t.rt,
                meta.get("namespace"),
                meta["name"],
                grace_period_seconds=opts.get("gracePeriodSeconds"),
                propagation_policy=opts.get("propagationPolicy"),
                dry_run=bool(opts.get("dryRun")),
                orphan_dependents=opts.get("orphanDependents"),
                warnings=warnings,
            )
            deleted.append(result if result.get("kind") == t.rt.kind else obj)
        deleted = _bare(deleted)
        body = {"kind": t.rt.list_kind, "apiVersion": t.rt.api_version, "metadata": {"resourceVersion": str(self.api.store.rv)}, "items": deleted}
        unique = WriteOptions(warnings=list(dict.fromkeys(warnings)))
        return json_response(body, 200, _warning_headers(unique))

    async def _post_subresource(self, request: web.Request, t: Target) -> web.Response:
        kinds = {"binding": "Binding", "eviction": "Eviction", "token": "TokenRequest"}
        body = await self._body(request, kinds.get(t.subresource or "", t.rt.kind))
        if t.rt.kind == "Pod" and t.subresource == "binding":
            return json_response(self._bind(t, body), 201)
        if t.rt.kind == "Pod" and t.subresource == "eviction" and self.on_eviction is not None:
            return json_response(self.on_eviction(t, body or {}), 201)
        if t.rt.kind == "ServiceAccount" and t.subresource == "token" and t.name is not None:
            return json_response(self.authn.token_request(t.namespace or "default", t.name, body), 201)
        raise status.method_not_allowed()

    def _bind(self, t: Target, body: Any) -> Obj:
        assert t.name is not None
        node = ((body or {}).get("target") or {}).get("name")
        if not node:
            raise status.bad_request("binding target name is required")
        self.api.bind(t.namespace or "default", t.name, node)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


_COLLECTION_VERBS = {"GET": "list", "POST": "create", "DELETE": "deletecollection"}
_ITEM_VERBS = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


def _check_verb(t: Target, method: str, watch: bool) -> None:
    """A verb the resource does not serve is 405, as an uninstalled route is
    (ComponentStatus is get and list only)."""
    if t.subresource is not None:
        return
    verbs = _ITEM_VERBS if t.name is not None else _COLLECTION_VERBS
    verb = "watch" if watch and method == "GET" else verbs.get(method)
    if verb is None or verb in t.rt.verbs:
        return
    if verb == "watch":
        raise status.method_not_allowed(
            f'watch is not supported on resources of kind "{t.rt.qualified}"'
        )
    raise status.method_not_allowed()


def _as_negotiated(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """A JSON answer re-encoded as YAML when the client asked for `application/yaml`."""
    if request.get(MEDIA) != negotiation.YAML or not isinstance(response, web.Response):
        return response
    if response.content_type != "application/json" or response.body is None:
        return response
    assert isinstance(response.body, bytes)
    response.body = negotiation.to_yaml(response.body)
    response.content_type = negotiation.YAML
    return response


def _bare(items: list[Obj]) -> list[Obj]:
    """List items as upstream encodes them: without apiVersion and kind."""
    return [{k: v for k, v in item.items() if k not in ("apiVersion", "kind")} for item in items]


def _check_list_options(query: Any, watch: bool) -> None:
    causes = negotiation.list_option_causes(query, watch)
    if causes:
        raise negotiation.options_invalid("ListOptions", causes)


def _warning_headers(options: WriteOptions) -> dict[str, str] | None:
    if not options.warnings:
        return None
    # One header line per warning would need a multidict; kubectl splits on ", 299 ".
    text = ", ".join(f"299 - {json.dumps(w)}" for w in options.warnings)
    return {"Warning": text}


def _wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


def _truthy(value: str | None) -> bool:
    return value in ("true", "1", "True")


def _bookmark(rt: ResourceType, rv: int) -> Obj:
    return {
        "type": "BOOKMARK",
        "object": {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": {"resourceVersion": str(rv)}},
    }
