"""nginx: static files, `return` and `proxy_pass`, from the image's or a mounted config.

Faithful, as far as it goes: without a mounted config nginx listens on 80 (8080 for
`nginxinc/nginx-unprivileged`) and serves `/usr/share/nginx/html` with `index.html` and
`50x.html`; a ConfigMap mounted over `/etc/nginx/conf.d/default.conf` (or the whole
`/etc/nginx/nginx.conf`) is read: `server` blocks with `listen`, `server_name`, `root`,
`index`, `location` (`=`, prefix with `^~`, `~` / `~*` regular expressions, longest
prefix otherwise) holding `root`, `alias`, `index`, `return CODE [TEXT|URL]`,
`try_files`, `add_header`, `proxy_pass http://NAME[:PORT][/URI]` and
`proxy_set_header`.  Files mounted under the root (a ConfigMap's `index.html`) are
served with the Content-Type of their extension; a directory without its slash is
redirected (301); a missing file is nginx's 404 page, any method but GET and HEAD on a
file 405; a proxied upstream that refuses is 502, one that does not answer 504.

Simplified: variables only `$host`, `$http_host`, `$remote_addr`, `$scheme`,
`$request_uri`, `$uri` and `$proxy_add_x_forwarded_for`; no `upstream` blocks, `rewrite`,
`if`, caching, gzip or TLS; the welcome page keeps nginx's title and heading, its text
is our own.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from kubecourse.embedded.controllers import images
from kubecourse.embedded.network.http import Request, Response, http_date, without
from kubecourse.embedded.network.servers import Host, HttpServer
from kubecourse.embedded.network.wire import EmptyReply, NetError, Peer, exchange

HTML_ROOT = "/usr/share/nginx/html"
DEFAULT_CONF = "/etc/nginx/conf.d/default.conf"
MAIN_CONF = "/etc/nginx/nginx.conf"
WELCOME = """<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>nginx's default page, as the kubecourse embedded cluster serves it: no nginx
process runs here, this page stands in for the one the image ships.</p>
</body>
</html>
"""
ERROR_PAGE = """<!DOCTYPE html>
<html>
<head>
<title>Error</title>
</head>
<body>
<h1>An error occurred.</h1>
<p>The upstream server did not answer (the kubecourse embedded cluster's stand-in for
nginx's 50x.html).</p>
</body>
</html>
"""
TYPES = {
    "html": "text/html", "htm": "text/html", "css": "text/css", "txt": "text/plain",
    "js": "application/javascript", "json": "application/json", "xml": "text/xml",
    "png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "svg": "image/svg+xml",
    "ico": "image/x-icon",
}  # fmt: skip
PROXY_CONNECT_TIMEOUT = 60.0  # nginx's proxy_connect_timeout default


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None

    def all(self, name: str) -> list[Directive]:
        return [d for d in self.block or [] if d.name == name]

    def first(self, name: str) -> list[str] | None:
        found = self.all(name)
        return found[0].args if found else None


@dataclass
class Site:
    """One `server` block."""

    ports: set[int]
    names: list[str]
    config: Directive
    default: bool = False
    locations: list[Directive] = field(default_factory=list)


def parse(text: str) -> list[Directive]:
    """nginx's configuration syntax: directives ending in `;` or holding a `{ }` block."""
    tokens = re.findall(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|#[^\n]*|[{};]|[^\s{};]+', text)
    stack: list[list[Directive]] = [[]]
    words: list[str] = []
    for token in tokens:
        if token.startswith("#"):
            continue
        if token == ";":
            if words:
                stack[-1].append(Directive(words[0], words[1:]))
            words = []
        elif token == "{":
            directive = Directive(words[0] if words else "", words[1:], [])
            stack[-1].append(directive)
            assert directive.block is not None
            stack.append(directive.block)
            words = []
        elif token == "}":
            if len(stack) > 1:
                stack.pop()
            words = []
        else:
            words.append(token[1:-1] if token[:1] in "\"'" else token)
    return stack[0]


def _sites(config: list[Directive], default_port: int) -> list[Site]:
    servers = [d for d in config if d.name == "server"]
    for http in (d for d in config if d.name == "http"):
        servers += http.all("server")
    sites = []
    for server in servers:
        ports, default = set(), False
        for listen in server.all("listen"):
            address = listen.args[0] if listen.args else "80"
            port = address.rsplit(":", 1)[-1] if not address.isdigit() else address
            if port.isdigit():
                ports.add(int(port))
            default = default or "default_server" in listen.args
        names = server.first("server_name") or [""]
        sites.append(
            Site(
                ports or {default_port}, names, server, default, server.all("location")
            )
        )
    return sites


class Nginx(HttpServer):
    def __init__(self, host: Host) -> None:
        self.unprivileged = (
            images.repository(host.image) == "nginxinc/nginx-unprivileged"
        )
        port = 8080 if self.unprivileged else 80
        files, mounts = host.volumes()
        self.files = _image_files(files, mounts)
        config = self.files.get(MAIN_CONF)
        if config is None:
            config = self.files.get(DEFAULT_CONF, _default_conf(port))
        self.sites = _sites(parse(config), port)
        super().__init__(host, {p for site in self.sites for p in site.ports})
        version = images.tag(host.image).split("-")[0]
        self.server = "nginx" + (
            f"/{version}" if re.match(r"^\d+\.\d+", version) else ""
        )

    async def handle(
        self, request: Request, client: Peer, port: int
    ) -> Response | None:
        site = self._site(request, port)
        location = _location(site.locations, request.path)
        scope = location or site.config
        answer = scope.first("return")
        if answer is not None:
            return self._return(request, answer, client)
        if scope.first("proxy_pass") is not None:
            return await self._proxy(request, scope, location, client, port)
        return self._static(request, site, location)

    def _site(self, request: Request, port: int) -> Site:
        candidates = [s for s in self.sites if port in s.ports]
        name = (request.header("Host") or "").split(":")[0]
        for site in candidates:
            if name and name in site.names:
                return site
        defaults = [s for s in candidates if s.default]
        return (defaults or candidates or self.sites)[0]

    # -- answers ------------------------------------------------------------------------

    def _return(self, request: Request, args: list[str], client: Peer) -> Response:
        code = int(args[0]) if args and args[0].isdigit() else 302
        text = _expand(args[1] if len(args) > 1 else "", request, client)
        if 300 <= code < 400 and text:
            return self._error(code, request, [("Location", text)])
        if len(args) == 1 and code >= 400:
            return self._error(code, request)
        return self.reply(code, text.encode(), "application/octet-stream", request)

    def _static(
        self, request: Request, site: Site, location: Directive | None
    ) -> Response:
        path = self._file(request.path, site, location)
        if path is None:
            return self._error(404, request)
        if path.endswith("/"):
            return self._error(301, request, [("Location", request.path + "/")])
        if request.method not in ("GET", "HEAD"):
            return self._error(405, request)
        body = self.files[path].encode()
        extension = path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else ""
        extra = [("Last-Modified", http_date(0)), ("ETag", f'"0-{len(body):x}"'),
                 ("Accept-Ranges", "bytes")]  # fmt: skip
        return self.reply(200, body, TYPES.get(extension, "application/octet-stream"),
                          request, extra)  # fmt: skip

    def _file(self, uri: str, site: Site, location: Directive | None) -> str | None:
        """The file a URI names, `<dir>/` for a directory without its slash, or None."""
        root = _values(site, location, "root")[:1] or [HTML_ROOT]
        base = self._base(uri, root[0], location)
        for option in _values(site, location, "try_files")[:-1]:
            candidate = posixpath.normpath(root[0] + option.replace("$uri", uri))
            if candidate in self.files:
                return candidate
        if base.endswith("/"):
            indexes = _values(site, location, "index") or ["index.html", "index.htm"]
            return next((base + i for i in indexes if base + i in self.files), None)
        if base in self.files:
            return base
        if any(p.startswith(base + "/") for p in self.files):
            return base + "/"
        return None

    @staticmethod
    def _base(uri: str, root: str, location: Directive | None) -> str:
        """The path a URI maps to: under `alias` (the location's prefix replaced) or `root`."""
        alias = location.first("alias") if location is not None else None
        if alias and location is not None:
            path = alias[0] + uri[len(location.args[-1]) :]
        else:
            path = root + uri
        return posixpath.normpath(path) + ("/" if uri.endswith("/") else "")

    def _error(
        self, code: int, request: Request, extra: list[tuple[str, str]] | None = None
    ) -> Response:
        title = f"{code} {_REASON.get(code, 'Error')}"
        page = (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
                f"<center><h1>{title}</h1></center>\r\n<hr><center>{self.server}</center>\r\n"
                "</body>\r\n</html>\r\n")  # fmt: skip
        if code >= 500 and posixpath.join(HTML_ROOT, "50x.html") in self.files:
            page = self.files[posixpath.join(HTML_ROOT, "50x.html")]
        return self.reply(code, page.encode(), "text/html", request, extra)

    def reply(
        self, code: int, body: bytes, content_type: str, request: Request,
        extra: list[tuple[str, str]] | None = None,
    ) -> Response:  # fmt: skip
        """nginx's header order: Server, Date, Content-Type, Content-Length, the rest."""
        headers = [("Server", self.server), ("Date", http_date()),
                   ("Content-Type", content_type), ("Content-Length", str(len(body)))]  # fmt: skip
        location = [h for h in extra or [] if h[0] == "Location"]
        headers += [h for h in extra or [] if h[0] == "Last-Modified"]
        headers.append(("Connection", "keep-alive" if request.keep_alive else "close"))
        headers += location + [
            h for h in extra or [] if h[0] not in ("Location", "Last-Modified")
        ]
        return Response(code, headers, b"" if request.method == "HEAD" else body)

    # -- proxy_pass ---------------------------------------------------------------------

    async def _proxy(
        self, request: Request, scope: Directive, location: Directive | None,
        client: Peer, port: int,
    ) -> Response:  # fmt: skip
        target = (scope.first("proxy_pass") or [""])[0]
        match = re.fullmatch(r"http://([^/:]+)(?::(\d+))?(/.*)?", target)
        network = self.host.network
        if match is None or network is None:
            return self._error(502, request)
        name, upstream_port = match.group(1), int(match.group(2) or 80)
        uri = request.target
        if (
            match.group(3) is not None
            and location is not None
            and not location.args[0].startswith("~")
        ):
            uri = match.group(3) + request.target[len(location.args[-1]) :]
        proxy_host = (
            name if upstream_port == 80 else f"{name}:{upstream_port}"
        )  # $proxy_host
        headers = self._proxy_headers(request, scope, client, proxy_host)
        upstream = Request(request.method, uri, "HTTP/1.0", headers, request.body)
        return await self._forward(upstream, name, upstream_port, request)

    def _proxy_headers(
        self, request: Request, scope: Directive, client: Peer, proxy_host: str
    ) -> list[tuple[str, str]]:
        values = {"Host": proxy_host, "Connection": "close"}
        for directive in scope.all("proxy_set_header"):
            if len(directive.args) == 2:
                values[directive.args[0]] = _expand(directive.args[1], request, client)
        headers = [(k, v) for k, v in values.items() if v]
        return headers + without(request.headers, "Host", "Connection", *values)

    async def _forward(
        self, upstream: Request, name: str, port: int, request: Request
    ) -> Response:
        network = self.host.network
        addresses = network.resolve(self.host.pod, name)
        if not addresses:
            return self._error(502, request)
        try:
            conn = network.connect(network.source_of(self.host.pod), addresses[0], port)
            answer = await exchange(conn, upstream)
        except NetError as err:
            if err.kind == "timeout":
                await network.wait(
                    min(PROXY_CONNECT_TIMEOUT, network.timings.tcp_connect_timeout)
                )
                return self._error(504, request)
            return self._error(502, request)
        except EmptyReply:
            return self._error(502, request)
        return self._relayed(answer, request)

    def _relayed(self, answer: Response, request: Request) -> Response:
        """The upstream's answer with nginx's own Server, Date, length and Connection."""
        own = ("Connection", "Server", "Date", "Content-Length", "Transfer-Encoding")
        kept = without(answer.headers, *own, "Keep-Alive")
        headers = [("Server", self.server), ("Date", http_date()),
                   ("Content-Length", str(len(answer.body))),
                   ("Connection", "keep-alive" if request.keep_alive else "close")]  # fmt: skip
        return Response(
            answer.status or 502, headers + kept, answer.body, reason=answer.reason
        )


_REASON = {301: "Moved Permanently", 302: "Found", 400: "Bad Request", 403: "Forbidden",
           404: "Not Found", 405: "Not Allowed", 500: "Internal Server Error",
           502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}  # fmt: skip


def _default_conf(port: int) -> str:
    return (
        f"server {{ listen {port}; server_name localhost;\n"
        f"  location / {{ root {HTML_ROOT}; index index.html index.htm; }}\n"
        f"  error_page 500 502 503 504 /50x.html;\n"
        f"  location = /50x.html {{ root {HTML_ROOT}; }} }}\n"
    )


def _image_files(mounted: dict[str, str], mounts: list[str]) -> dict[str, str]:
    """The image's own files, unless a volume is mounted over them, plus the volumes'."""
    files = {f"{HTML_ROOT}/index.html": WELCOME, f"{HTML_ROOT}/50x.html": ERROR_PAGE}
    hidden = [m.rstrip("/") for m in mounts]
    kept = {p: v for p, v in files.items()
            if not any(p == m or p.startswith(m + "/") for m in hidden)}  # fmt: skip
    return {**kept, **mounted}


def _location(locations: list[Directive], path: str) -> Directive | None:
    """nginx's choice: an exact match, else the longest prefix (`^~` stops there), else
    the first matching regular expression, else that longest prefix."""
    exact = [loc for loc in locations if loc.args[:1] == ["="] and loc.args[-1] == path]
    if exact:
        return exact[0]
    prefixes = [loc for loc in locations if (not loc.args or loc.args[0] in ("^~",) or
                not loc.args[0].startswith(("=", "~"))) and path.startswith(loc.args[-1] if loc.args else "/")]  # fmt: skip
    best = max(prefixes, key=lambda loc: len(loc.args[-1]), default=None)
    if best is not None and best.args[0] == "^~":
        return best
    for loc in locations:
        if loc.args[:1] in (["~"], ["~*"]) and len(loc.args) > 1:
            flags = re.IGNORECASE if loc.args[0] == "~*" else 0
            if re.search(loc.args[1], path, flags):
                return loc
    return best


def _values(site: Site, location: Directive | None, name: str) -> list[str]:
    """A directive's arguments, from the location, else from its server block."""
    for scope in (location, site.config):
        found = scope.first(name) if scope is not None else None
        if found is not None:
            return found
    return []


def _expand(text: str, request: Request, client: Peer) -> str:
    host = (request.header("Host") or "").split(":")[0]
    forwarded = request.header("X-Forwarded-For")
    values = {
        "host": host, "http_host": request.header("Host") or "", "remote_addr": client.ip,
        "scheme": "http", "request_uri": request.target, "uri": request.path,
        "proxy_add_x_forwarded_for": f"{forwarded}, {client.ip}" if forwarded else client.ip,
    }  # fmt: skip
    return re.sub(r"\$([a-z_]+)", lambda m: values.get(m.group(1), ""), text)
